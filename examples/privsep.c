/* Privilege separation, POSIX only (it is about user ids).  The parent,
 * run as root, binds a privileged port (80, or the highest free port below
 * 1024) on 127.0.0.1 and starts a worker.  The worker drops to "nobody"
 * before it receives anything, shows that it can no longer bind that port
 * itself, and reports in.  Only then does the parent hand it the listening
 * socket, and keep no copy.  The worker serves the clients the parent
 * drives through the socket it was handed, and exits.  Run as another
 * user, the parent binds an ephemeral port and says so: there is nothing
 * to drop, and only the handoff is shown.
 *
 *   privsep                run the demo (exits 0 when every check held)
 *   privsep worker PORT    (internal) the worker */
#ifdef _WIN32
#error "privsep is POSIX-only (user ids): build it on POSIX systems only"
#endif
#include <handoff.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CLIENTS 5

#ifndef MSG_NOSIGNAL /* macOS: a peer gone mid-reply must not kill us */
#include <signal.h>
#define MSG_NOSIGNAL 0
#define IGNORE_SIGPIPE() signal(SIGPIPE, SIG_IGN)
#else
#define IGNORE_SIGPIPE() ((void)0)
#endif

static int fail(const char *who, const char *what, int r) {
  fprintf(stderr, "privsep %s: %s: %s\n", who, what,
          r ? handoff_strerror(r) : strerror(errno));
  return 1;
}

/* Whom the worker becomes: "nobody" (65534 on most systems). */
static void nobody(long *uid, long *gid) {
  const struct passwd *pw = getpwnam("nobody");
  *uid = pw != NULL ? (long)pw->pw_uid : 65534;
  *gid = pw != NULL ? (long)pw->pw_gid : 65534;
}

static void addr_of(struct sockaddr_in *sa, int port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa->sin_port = htons((unsigned short)port);
}

/* A TCP socket that the worker cannot inherit by accident: handoff_spawn
 * passes the child its channel and nothing else only if our own
 * descriptors are close-on-exec. */
static int tcp_socket(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s >= 0) fcntl(s, F_SETFD, FD_CLOEXEC);
  return s;
}

static void set_timeout(int s, int ms) {
  struct timeval t;
  t.tv_sec = ms / 1000;
  t.tv_usec = (ms % 1000) * 1000;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
}

/* ---- The worker ---------------------------------------------------------- */

static int worker(int port) {
  char status[160], msg[32], line[128], out[200];
  size_t n = 1, mlen = sizeof msg - 1;
  struct sockaddr_in sa;
  handoff_chan_t *c;
  int r, s, ls, i, clients, bind_err = 0;
  long uid, gid;

  if ((r = handoff_inherited(&c)) != 0) return fail("worker", "handoff_inherited", r);

  /* 1. Drop root, for good, before anything arrives. */
  if (geteuid() == 0) {
    nobody(&uid, &gid);
    if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0)
      return fail("worker", "dropping privileges", 0);
    if (setuid(0) == 0) return fail("worker", "root came back", 0);
  }

  /* 2. The port is out of our reach now: bind it ourselves and fail. */
  addr_of(&sa, port);
  if ((s = tcp_socket()) < 0) return fail("worker", "socket", 0);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) bind_err = errno;
  close(s);

  /* 3. Report: who we are, and what bind said. */
  snprintf(status, sizeof status, "uid %ld gid %ld groups %d bind %s",
           (long)getuid(), (long)getgid(), getgroups(0, NULL),
           bind_err == 0            ? "succeeded"
           : bind_err == EACCES     ? "EACCES"
           : bind_err == EADDRINUSE ? "EADDRINUSE"
                                    : "failed");
  if ((r = handoff_send(c, NULL, 0, status, strlen(status), 5000)) != 0)
    return fail("worker", "report", r);

  /* 4. Now the listening socket, and how many clients to serve. */
  r = handoff_recv(c, &ls, &n, msg, &mlen, 5000);
  if (r != 0) return fail("worker", "receiving the listening socket", r);
  msg[mlen] = '\0';
  if (n != 1 || sscanf(msg, "serve %d", &clients) != 1)
    return fail("worker", "unexpected message", HANDOFF_EPROTO);

  for (i = 0; i < clients; i++) {
    struct pollfd p;
    size_t got = 0;
    p.fd = ls;
    p.events = POLLIN;
    if (poll(&p, 1, 5000) != 1 || (s = accept(ls, NULL, NULL)) < 0)
      return fail("worker", "accept", 0);
    set_timeout(s, 5000);
    while (got < sizeof line - 1 && recv(s, &line[got], 1, 0) == 1 && line[got] != '\n')
      got++;
    line[got] = '\0';
    r = snprintf(out, sizeof out, "worker %ld (uid %ld): %s\n", (long)getpid(),
                 (long)getuid(), line);
    send(s, out, (size_t)r, MSG_NOSIGNAL);
    close(s);
  }
  close(ls);
  handoff_close(c);
  return 0;
}

/* ---- The privileged parent ------------------------------------------------ */

#ifdef __linux__
/* The kernel's word, not the worker's: /proc/<pid>/status has the real,
 * effective, saved and filesystem ids, and the supplementary groups. */
static int kernel_says(long pid, long uid, long gid) {
  char path[64], line[256];
  long a, b, c, d;
  int ok = 0;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  if ((f = fopen(path, "r")) == NULL) return 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "Uid: %ld %ld %ld %ld", &a, &b, &c, &d) == 4)
      ok += a == uid && b == uid && c == uid && d == uid;
    else if (sscanf(line, "Gid: %ld %ld %ld %ld", &a, &b, &c, &d) == 4)
      ok += a == gid && b == gid && c == gid && d == gid;
    else if (strncmp(line, "Groups:", 7) == 0)
      ok += strspn(line + 7, " \t\n") == strlen(line + 7);
  }
  fclose(f);
  return ok == 3;
}
#endif

/* Bind 127.0.0.1: as root port 80 or the highest free one below 1024,
 * otherwise one the OS picks. */
static int bind_port(int root, int *port) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int s, p = root ? 80 : 0, one = 1;
  for (;;) {
    if ((s = tcp_socket()) < 0) return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr_of(&sa, p);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(s, CLIENTS) == 0 &&
        getsockname(s, (struct sockaddr *)&sa, &sl) == 0)
      break;
    close(s);
    if (!root || errno != EADDRINUSE) return -1;
    p = p == 80 ? 1023 : p - 1; /* 80 is taken: look below 1024 */
    if (p == 80 || p < 512) return -1;
  }
  *port = ntohs(sa.sin_port);
  return s;
}

int main(int argc, char **argv) {
  char portarg[16], status[160], bind_said[32], msg[32];
  const char *wargv[4];
  handoff_chan_t *c;
  handoff_proc_t *proc;
  struct sockaddr_in sa;
  size_t len = sizeof status - 1;
  long pid, uid, gid, want_uid, want_gid;
  int i, n, r, ls, port, groups, code, root = geteuid() == 0;

  IGNORE_SIGPIPE();
  if (argc == 3 && strcmp(argv[1], "worker") == 0) return worker(atoi(argv[2]));

  if ((ls = bind_port(root, &port)) < 0) return fail("parent", "bind", 0);
  if (root)
    printf("root: listening on privileged port 127.0.0.1:%d\n", port);
  else
    printf("not root (uid %ld): listening on ephemeral port 127.0.0.1:%d; "
           "nothing to drop, only the handoff is shown\n", (long)getuid(), port);

  snprintf(portarg, sizeof portarg, "%d", port);
  wargv[0] = argv[0];
  wargv[1] = "worker";
  wargv[2] = portarg;
  wargv[3] = NULL;
  if ((r = handoff_spawn(wargv, &c, &proc)) != 0) return fail("parent", "spawn", r);
  pid = handoff_proc_pid(proc);

  /* The worker reports in after dropping privileges. */
  r = handoff_recv(c, NULL, NULL, status, &len, 5000);
  if (r != 0) {
    fail("parent", "worker report", r);
    goto kill;
  }
  status[len] = '\0';
  printf("worker %ld reports: %s\n", pid, status);
  if (sscanf(status, "uid %ld gid %ld groups %d bind %31s", &uid, &gid, &groups,
             bind_said) != 4) {
    fail("parent", "worker report", HANDOFF_EPROTO);
    goto kill;
  }
  if (root) {
    nobody(&want_uid, &want_gid);
    if (uid != want_uid || gid != want_gid || groups != 0) {
      fprintf(stderr, "privsep parent: the worker still has privileges\n");
      goto kill;
    }
    if (strcmp(bind_said, "EACCES") != 0) {
      fprintf(stderr, "privsep parent: the worker's own bind of port %d gave %s, "
              "not EACCES (is the port privileged here? "
              "net.ipv4.ip_unprivileged_port_start)\n", port, bind_said);
      goto kill;
    }
#ifdef __linux__
    if (!kernel_says(pid, want_uid, want_gid)) {
      fprintf(stderr, "privsep parent: /proc disagrees with the worker's report\n");
      goto kill;
    }
    printf("kernel agrees: worker %ld runs as uid %ld gid %ld, no groups\n", pid,
           want_uid, want_gid);
#endif
  }

  /* Hand over the listening socket and keep no copy: from now on only the
   * unprivileged worker can accept on the privileged port. */
  n = snprintf(msg, sizeof msg, "serve %d", CLIENTS);
  r = handoff_send(c, &ls, 1, msg, (size_t)n, 5000);
  close(ls);
  if (r != 0) {
    fail("parent", "handoff_send", r);
    goto kill;
  }

  addr_of(&sa, port);
  for (i = 0; i < CLIENTS; i++) {
    char hello[32], want[128], answer[128];
    int s = tcp_socket(), k, got = 0;
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
      fail("client", "connect", 0);
      goto kill;
    }
    set_timeout(s, 5000);
    n = snprintf(hello, sizeof hello, "hello %d\n", i);
    send(s, hello, (size_t)n, MSG_NOSIGNAL);
    while ((k = (int)recv(s, answer + got, sizeof answer - 1 - got, 0)) > 0) got += k;
    answer[got] = '\0';
    close(s);
    snprintf(want, sizeof want, "worker %ld (uid %ld): hello %d\n", pid, uid, i);
    if (strcmp(answer, want) != 0) {
      fprintf(stderr, "privsep client %d: got \"%s\", want \"%s\"\n", i, answer, want);
      goto kill;
    }
    printf("client %d -> %s", i, answer);
  }

  handoff_close(c);
  if ((r = handoff_wait(proc, 5000, &code)) != 0) {
    fail("parent", "wait", r);
    c = NULL;
    goto kill;
  }
  printf("%d clients served on 127.0.0.1:%d by worker %ld as uid %ld%s\n", CLIENTS, port,
         pid, uid, root ? ", which could not bind the port itself (EACCES)" : "");
  return code != 0;

kill:
  handoff_kill(proc);
  handoff_wait(proc, 5000, NULL);
  handoff_close(c);
  return 1;
}
