/* The POSIX baseline: SCM_RIGHTS over a SOCK_SEQPACKET socketpair, written
 * the way a program would without a library (blocking sendmsg/recvmsg, one
 * call each per message, no checks), plus the driver's OS helpers.  Built
 * for the stream transport (HANDOFF_PX_STREAM), it is a SOCK_STREAM pair
 * whose messages carry a 2-byte length first (the fewest bytes a program
 * would frame with): sockets ride on that prefix, read by one recvmsg of
 * exactly 2 bytes, and data follows it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bench/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef MSG_CMSG_CLOEXEC /* the library asks for it too */
#define RAW_RECV_FLAGS MSG_CMSG_CLOEXEC
#else
#define RAW_RECV_FLAGS 0
#endif
#ifdef MSG_NOSIGNAL
#define RAW_SEND_FLAGS MSG_NOSIGNAL
#else
#define RAW_SEND_FLAGS 0
#endif

/* ---- OS helpers -------------------------------------------------------- */

const char *const bench_os_name = "posix";

void bench_os_init(void) {
  struct rlimit rl;
  /* Descriptors in flight count against the sender's RLIMIT_NOFILE
   * (ETOOMANYREFS); a queue of K=64 messages can exceed 1024. */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
}

double bench_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

long bench_peak_rss_kib(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
#ifdef __APPLE__
  return (long)(ru.ru_maxrss / 1024); /* bytes there */
#else
  return (long)ru.ru_maxrss;
#endif
}

handoff_sock_t bench_udp_socket(void) {
  return socket(AF_INET, SOCK_DGRAM, 0);
}

void bench_close_sock(handoff_sock_t s) { close(s); }

#ifdef __linux__
int bench_pin(int which) {
  static cpu_set_t orig;
  static int saved;
  cpu_set_t one;
  int cpu, seen = 0;
  if (!saved) {
    if (sched_getaffinity(0, sizeof orig, &orig) != 0) return -1;
    saved = 1;
  }
  if (which < 0) return sched_setaffinity(0, sizeof orig, &orig) == 0 ? 0 : -1;
  for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &orig) || seen++ != which) continue;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0 ? 0 : -1;
  }
  return -1;
}
#else
int bench_pin(int which) { return which < 0 ? 0 : -1; }
#endif

/* ---- The baseline ------------------------------------------------------ */

#if HANDOFF_PX_STREAM
#define RAW_SOCKTYPE SOCK_STREAM
#define RAW_PREFIX 2
#else
#define RAW_SOCKTYPE SOCK_SEQPACKET
#define RAW_PREFIX 0
#endif

struct bench_raw {
  int fd;
  pid_t pid; /* the child, in the parent; 0 in the child */
};

int bench_raw_spawn(const char *self, bench_raw_t **out) {
  bench_raw_t *c = malloc(sizeof *c);
  char arg[24];
  int sv[2];
  pid_t pid;

  if (c == NULL) return HANDOFF_ENOMEM;
  if (socketpair(AF_UNIX, RAW_SOCKTYPE, 0, sv) != 0) {
    free(c);
    return HANDOFF_ESYS;
  }
  fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  snprintf(arg, sizeof arg, "%d", sv[1]);
  pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    free(c);
    return HANDOFF_ESYS;
  }
  if (pid == 0) {
    char *argv[5];
    argv[0] = (char *)self;
    argv[1] = (char *)"child";
    argv[2] = (char *)"raw";
    argv[3] = arg;
    argv[4] = NULL;
    close(sv[0]);
    execvp(self, argv);
    _exit(127);
  }
  close(sv[1]);
  c->fd = sv[0];
  c->pid = pid;
  *out = c;
  return 0;
}

int bench_raw_child(const char *arg, bench_raw_t **out) {
  bench_raw_t *c = malloc(sizeof *c);
  if (c == NULL) return HANDOFF_ENOMEM;
  c->fd = atoi(arg);
  c->pid = 0;
  fcntl(c->fd, F_SETFD, FD_CLOEXEC);
  *out = c;
  return 0;
}

int bench_raw_send(bench_raw_t *c, const handoff_sock_t *socks, size_t nsocks,
                   const void *data, size_t len) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAX_SOCKS)];
  } ctl;
  char one = 0;
  unsigned char pre[2];
  struct iovec iov[2];
  struct msghdr msg;

  memset(&msg, 0, sizeof msg);
  iov[1].iov_base = len != 0 ? (void *)data : &one;
  iov[1].iov_len = len != 0 ? len : 1;
  msg.msg_iov = &iov[1];
  msg.msg_iovlen = 1;
  if (RAW_PREFIX != 0) { /* stream: the length (no filler), then the data */
    pre[0] = (unsigned char)(len & 0xff);
    pre[1] = (unsigned char)(len >> 8);
    iov[0].iov_base = pre;
    iov[0].iov_len = 2;
    msg.msg_iov = iov;
    msg.msg_iovlen = len != 0 ? 2 : 1;
  }
  if (nsocks != 0) {
    struct cmsghdr *cm;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nsocks);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nsocks);
    memcpy(CMSG_DATA(cm), socks, sizeof(int) * nsocks);
  }
  while (sendmsg(c->fd, &msg, RAW_SEND_FLAGS) < 0)
    if (errno != EINTR) return errno == EPIPE ? HANDOFF_ECLOSED : HANDOFF_ESYS;
  return 0;
}

int bench_raw_recv(bench_raw_t *c, handoff_sock_t *socks, size_t *nsocks,
                   void *data, size_t *len) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAX_SOCKS)];
  } ctl;
  struct iovec iov;
  struct msghdr msg;
  struct cmsghdr *cm;
  size_t got = 0;
  ssize_t n;

  unsigned char pre[2];
  size_t want = 0;

  memset(&msg, 0, sizeof msg);
  iov.iov_base = RAW_PREFIX != 0 ? (void *)pre : data;
  iov.iov_len = RAW_PREFIX != 0 ? RAW_PREFIX : *len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  while ((n = recvmsg(c->fd, &msg, RAW_RECV_FLAGS)) < 0)
    if (errno != EINTR) return HANDOFF_ESYS;
  if (n == 0) return HANDOFF_ECLOSED;
  for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
    size_t k;
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (got + k > *nsocks) return HANDOFF_ETOOBIG;
    memcpy(socks + got, CMSG_DATA(cm), k * sizeof(int));
    got += k;
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) return HANDOFF_ETRUNC;
  *nsocks = got;
  if (RAW_PREFIX != 0) { /* stream: the rest of the prefix, then the data */
    if (n < 2 && recv(c->fd, pre + 1, 1, MSG_WAITALL) != 1) return HANDOFF_ESYS;
    want = (size_t)pre[0] | (size_t)pre[1] << 8;
    if (want > *len) return HANDOFF_ETOOBIG;
    if (want != 0 && recv(c->fd, data, want, MSG_WAITALL) != (ssize_t)want)
      return HANDOFF_ESYS;
    n = (ssize_t)want;
  }
  *len = got != 0 ? 0 : (size_t)n; /* with sockets: only the filler byte */
  return 0;
}

int bench_raw_close(bench_raw_t *c) {
  int st = 0, r = 0;
  close(c->fd);
  if (c->pid > 0) {
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {
    }
    r = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : HANDOFF_ESYS;
  }
  free(c);
  return r;
}
