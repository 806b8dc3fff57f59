/* The one place where the tests differ by platform. */
#ifdef HAVE_CONFIG_H
#include "config.h" /* HAVE_* for the POSIX fallbacks below */
#endif
#include "support.h"
#include "internal.h" /* handoff__hello_encode for ts_raw_inherited_hello */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <ws2tcpip.h>
#include <windows.h>
typedef int ts_socklen_t;
#define ts_sock_errno() WSAGetLastError()
#else
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "posix/sigpipe.h"
typedef socklen_t ts_socklen_t;
#define closesocket close
/* Build with -DTS_FORCE_PORTABLE=1 to use, on Linux, what the tests fall
 * back to on other POSIX systems: no /proc (descriptors counted through
 * /dev/fd, else by probing; our own path from argv[0]), no SOCK_CLOEXEC,
 * no MSG_NOSIGNAL, no MSG_DONTWAIT.  =2 also skips /dev/fd (probing only). */
#ifndef TS_FORCE_PORTABLE
#define TS_FORCE_PORTABLE 0
#endif
#if defined(SOCK_CLOEXEC) && !TS_FORCE_PORTABLE
#define TS_SOCK_CLOEXEC SOCK_CLOEXEC
#else
#define TS_SOCK_CLOEXEC 0
#endif
#if defined(MSG_NOSIGNAL) && !TS_FORCE_PORTABLE
#define TS_NOSIGNAL MSG_NOSIGNAL
#else
#define TS_NOSIGNAL 0 /* SO_NOSIGPIPE on the socket, or the guard */
#endif
#if defined(MSG_DONTWAIT) && !TS_FORCE_PORTABLE
#define TS_DONTWAIT MSG_DONTWAIT
#else
#define TS_DONTWAIT 0 /* poll said readable: recv does not block */
#endif
/* The library's channel socket type (configure --with-posix-transport). */
#if HANDOFF_PX_STREAM
#define TS_RAW_SOCKTYPE SOCK_STREAM
#else
#define TS_RAW_SOCKTYPE SOCK_SEQPACKET
#endif
#endif

static char self_path[4096];

#ifndef _WIN32
/* Where /proc/self/exe is missing: argv[0] made absolute, either relative
 * to the working directory (it has a '/') or found in PATH, as the shell
 * found it.  Called at start-up, before any test changes directory. */
static void self_from_argv0(const char *argv0) {
  char cand[4096];
  const char *path = getenv("PATH"), *p, *end;
  snprintf(self_path, sizeof self_path, "%s", argv0);
  if (strchr(argv0, '/') != NULL) {
    if (realpath(argv0, cand) != NULL)
      snprintf(self_path, sizeof self_path, "%s", cand);
    return;
  }
  for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
    char full[4096];
    end = strchr(p, ':');
    if (end == NULL) end = p + strlen(p);
    snprintf(full, sizeof full, "%.*s/%s", (int)(end - p),
             end == p ? "." : p, argv0);
    if (access(full, X_OK) == 0 && realpath(full, cand) != NULL) {
      snprintf(self_path, sizeof self_path, "%s", cand);
      return;
    }
  }
}

/* Open descriptors listed in dir (/proc/self/fd, /dev/fd), or -1 if the
 * listing cannot be trusted: FreeBSD's /dev/fd without fdescfs shows only
 * 0-2, so the listing must show the directory's own descriptor. */
static long count_listed(const char *dir) {
  long n = 0;
  int own_seen = 0, own;
  DIR *d = opendir(dir);
  struct dirent *e;
  if (d == NULL) return -1;
  own = dirfd(d);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    n++;
    if (atoi(e->d_name) == own) own_seen = 1;
  }
  closedir(d);
  return own_seen ? n - 1 : -1; /* not counting the directory's own */
}

/* Probe every descriptor number below the limit (slow with a huge limit:
 * capped at 1 << 20, above which a test would not open descriptors). */
static long count_probed(void) {
  struct rlimit rl;
  long max = sysconf(_SC_OPEN_MAX), fd, n = 0;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (long)rl.rlim_cur > max)
    max = (long)rl.rlim_cur;
  if (max <= 0 || max > (1L << 20)) max = 1L << 20;
  for (fd = 0; fd < max; fd++)
    if (fcntl((int)fd, F_GETFD) >= 0) n++;
  return n;
}
#endif

void ts_init(const char *argv0) {
#ifdef _WIN32
  WSADATA wsa;
  WSAStartup(MAKEWORD(2, 2), &wsa);
  (void)argv0;
  GetModuleFileNameA(NULL, self_path, sizeof self_path);
#else
  ssize_t n = TS_FORCE_PORTABLE ? -1
                                : readlink("/proc/self/exe", self_path,
                                           sizeof self_path - 1);
  if (n > 0)
    self_path[n] = '\0';
  else
    self_from_argv0(argv0);
  /* A signal would kill the test: the library must never raise SIGPIPE. */
  signal(SIGPIPE, SIG_DFL);
#endif
}

#ifdef _WIN32
/* Wine 8's GetProcessHandleCount succeeds with a count of 0: count this
 * process's entries of NtQuerySystemInformation(SystemHandleInformation)
 * there instead. */
typedef struct {
  ULONG pid;
  BYTE type, flags;
  USHORT handle;
  PVOID object;
  ACCESS_MASK access;
} ts_handle_entry;
typedef struct {
  ULONG count;
  ts_handle_entry h[1];
} ts_handle_info;
typedef LONG(NTAPI *ts_qsi_fn)(ULONG, PVOID, ULONG, PULONG);

static long system_handle_count(void) {
  ts_qsi_fn q = (ts_qsi_fn)(void (*)(void))GetProcAddress(
      GetModuleHandleA("ntdll.dll"), "NtQuerySystemInformation");
  ULONG size = 1 << 16, need = 0, i;
  ts_handle_info *info;
  long n = 0;
  LONG st;
  if (q == NULL) return -1;
  for (;;) {
    info = malloc(size);
    if (info == NULL) return -1;
    st = q(16 /* SystemHandleInformation */, info, size, &need);
    if (st != (LONG)0xC0000004L) break; /* STATUS_INFO_LENGTH_MISMATCH */
    free(info);
    size *= 2;
  }
  if (st == 0)
    for (i = 0; i < info->count; i++)
      if (info->h[i].pid == GetCurrentProcessId()) n++;
  free(info);
  return st == 0 ? n : -1;
}
#endif

long ts_handle_count_settled(long base) {
  long n = ts_handle_count();
  int i;
  for (i = 0; i < 150 && n != base; i++) {
    ts_sleep_ms(20);
    n = ts_handle_count();
  }
  return n;
}

long ts_handle_count(void) {
#ifdef _WIN32
  DWORD n = 0;
  if (GetProcessHandleCount(GetCurrentProcess(), &n) && n != 0) return (long)n;
  return system_handle_count();
#else
  long n = TS_FORCE_PORTABLE ? -1 : count_listed("/proc/self/fd");
  if (n < 0 && TS_FORCE_PORTABLE < 2) n = count_listed("/dev/fd");
  return n >= 0 ? n : count_probed();
#endif
}

void ts_warm_process(void) {
#ifdef _WIN32
  int port;
  char b;
  handoff_sock_t u = ts_udp_bound(TS_AF_INET, &port);
  HANDLE m = CreateMutexA(NULL, FALSE, "Local\\handoff-warm-up");
  WSAPROTOCOL_INFOW info;
  long last = -1, now;
  int same = 0, i;
  if (u != HANDOFF_INVALID_SOCK) {
    ts_udp_send_to(u, TS_AF_INET, port, "w", 1);
    recv(u, &b, 1, 0); /* a blocking call on this thread */
    /* The import path a received socket takes. */
    if (WSADuplicateSocketW(u, GetCurrentProcessId(), &info) == 0) {
      SOCKET d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                            FROM_PROTOCOL_INFO, &info, 0,
                            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
      if (d != INVALID_SOCKET) closesocket(d);
    }
    closesocket(u);
  }
  { /* and a TCP accept, send and recv */
    handoff_sock_t sv[2];
    char t;
    if (ts_tcp_pair(TS_AF_INET, sv) == 0) {
      send(sv[0], "w", 1, 0);
      recv(sv[1], &t, 1, 0);
      closesocket(sv[0]);
      closesocket(sv[1]);
    }
  }
  if (m != NULL) CloseHandle(m);
  /* Wine's start-up leaves transient handles that go away on their own:
   * wait until the count holds still. */
  for (i = 0; i < 100 && same < 3; i++) {
    now = ts_handle_count();
    same = now == last ? same + 1 : 0;
    last = now;
    Sleep(5);
  }
#endif
}

long ts_now_ms(void) {
#ifdef _WIN32
  return (long)GetTickCount64();
#else
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000L + t.tv_nsec / 1000000L;
#endif
}

long ts_getpid(void) {
#ifdef _WIN32
  return (long)GetCurrentProcessId();
#else
  return (long)getpid();
#endif
}

void ts_sleep_ms(int ms) {
#ifdef _WIN32
  Sleep((DWORD)ms);
#else
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
#endif
}

const char *ts_name(const char *tag) {
  static char buf[HANDOFF_MAX_NAME + 1];
  snprintf(buf, sizeof buf, "t%ld-%s", ts_getpid(), tag);
  return buf;
}

void ts_crash(void) {
#ifdef _WIN32
  TerminateProcess(GetCurrentProcess(), 9);
#else
  raise(SIGKILL);
#endif
}

static int fill_sa(int family, int port, struct sockaddr_storage *ss,
                   ts_socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == TS_AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons((unsigned short)port);
    *len = sizeof *a;
    return AF_INET6;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons((unsigned short)port);
    *len = sizeof *a;
    return AF_INET;
  }
}

static int bound_port(handoff_sock_t s) {
  struct sockaddr_storage ss;
  ts_socklen_t len = sizeof ss;
  if (getsockname(s, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static handoff_sock_t bound(int family, int type, int *port) {
  struct sockaddr_storage ss;
  ts_socklen_t len;
  int af = fill_sa(family, 0, &ss, &len);
  handoff_sock_t s = socket(af, type, 0);
  if (s == HANDOFF_INVALID_SOCK) return s;
  if (bind(s, (struct sockaddr *)&ss, len) != 0 ||
      (type == SOCK_STREAM && listen(s, 64) != 0)) {
    closesocket(s);
    return HANDOFF_INVALID_SOCK;
  }
  if (port != NULL) *port = bound_port(s);
  return s;
}

handoff_sock_t ts_tcp_listener(int family, int *port) {
  return bound(family, SOCK_STREAM, port);
}

handoff_sock_t ts_udp_bound(int family, int *port) {
  return bound(family, SOCK_DGRAM, port);
}

handoff_sock_t ts_tcp_connect(int family, int port) {
  struct sockaddr_storage ss;
  ts_socklen_t len;
  int af = fill_sa(family, port, &ss, &len);
  handoff_sock_t s = socket(af, SOCK_STREAM, 0);
  if (s == HANDOFF_INVALID_SOCK) return s;
  if (connect(s, (struct sockaddr *)&ss, len) != 0) {
    closesocket(s);
    return HANDOFF_INVALID_SOCK;
  }
  return s;
}

handoff_sock_t ts_tcp_accept(handoff_sock_t l) { return accept(l, NULL, NULL); }

int ts_tcp_pair(int family, handoff_sock_t sv[2]) {
  int port;
  handoff_sock_t l = ts_tcp_listener(family, &port);
  if (l == HANDOFF_INVALID_SOCK) return -1;
  sv[0] = ts_tcp_connect(family, port);
  sv[1] = sv[0] == HANDOFF_INVALID_SOCK ? HANDOFF_INVALID_SOCK : accept(l, NULL, NULL);
  closesocket(l);
  if (sv[1] == HANDOFF_INVALID_SOCK) {
    if (sv[0] != HANDOFF_INVALID_SOCK) closesocket(sv[0]);
    return -1;
  }
  return 0;
}

int ts_udp_send_to(handoff_sock_t s, int family, int port, const void *buf,
                   size_t len) {
  struct sockaddr_storage ss;
  ts_socklen_t sl;
  fill_sa(family, port, &ss, &sl);
  return sendto(s, buf, (int)len, 0, (struct sockaddr *)&ss, sl) == (int)len
             ? 0
             : -1;
}

int ts_udp_echo_once(handoff_sock_t s, char *buf, size_t cap,
                     const char *reply) {
  struct sockaddr_storage from;
  ts_socklen_t fl = sizeof from;
  int n = (int)recvfrom(s, buf, (int)cap - 1, 0, (struct sockaddr *)&from, &fl);
  if (n < 0) return -1;
  buf[n] = '\0';
  return sendto(s, reply, (int)strlen(reply), 0, (struct sockaddr *)&from, fl) ==
                 (int)strlen(reply)
             ? n
             : -1;
}

int ts_unix_pair(handoff_sock_t sv[2]) {
#ifdef _WIN32
  (void)sv;
  return -1; /* Wine has no AF_UNIX sockets */
#else
  return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
#endif
}

int ts_send_all(handoff_sock_t s, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    int n = (int)send(s, p, (int)len, 0);
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int ts_recv_n(handoff_sock_t s, void *buf, size_t len) {
  char *p = buf;
  size_t got = 0;
  while (got < len) {
    int n = (int)recv(s, p + got, (int)(len - got), 0);
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  return (int)got;
}

void ts_close_sock(handoff_sock_t s) { closesocket(s); }

int ts_is_socket(handoff_sock_t s) {
  int type = 0;
  ts_socklen_t len = sizeof type;
  return getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
}

int ts_is_inheritable(handoff_sock_t s) {
#ifdef _WIN32
  DWORD flags = 0;
  if (!GetHandleInformation((HANDLE)s, &flags)) return 1;
  return (flags & HANDLE_FLAG_INHERIT) != 0;
#else
  int fl = fcntl(s, F_GETFD);
  return fl < 0 || (fl & FD_CLOEXEC) == 0;
#endif
}

handoff_sock_t ts_not_a_socket(void) {
#ifdef _WIN32
  return (handoff_sock_t)CreateEventW(NULL, TRUE, FALSE, NULL);
#else
  return open("/dev/null", O_RDONLY | O_CLOEXEC);
#endif
}

void ts_close_not_a_socket(handoff_sock_t s) {
#ifdef _WIN32
  CloseHandle((HANDLE)s);
#else
  close(s);
#endif
}

int ts_spawn(const char *role, const char *a1, const char *a2, const char *a3,
             handoff_chan_t **chan, handoff_proc_t **proc) {
  const char *argv[7];
  int i = 0, r;
  argv[i++] = self_path;
  argv[i++] = "--helper";
  argv[i++] = role;
  if (a1 != NULL) argv[i++] = a1;
  if (a1 != NULL && a2 != NULL) argv[i++] = a2;
  if (a1 != NULL && a2 != NULL && a3 != NULL) argv[i++] = a3;
  argv[i] = NULL;
  r = handoff_spawn(argv, chan, proc);
  if (r != 0) /* the OS's word, for a failure that only a loaded CI shows */
    fprintf(stderr, "ts_spawn %s: %s (OS error %d)\n", role,
            handoff_strerror(r), handoff_last_oserror());
  return r;
}

int ts_reap(handoff_proc_t *p) {
  int code = -1;
  if (handoff_wait(p, TS_TIMEOUT_MS, &code) == 0) return code;
  handoff_kill(p);
  handoff_wait(p, -1, NULL);
  return -1000;
}

int ts_run_helper(const ts_helper_t *table, int argc, char **argv) {
  size_t i;
  for (i = 0; table[i].role != NULL; i++)
    if (strcmp(table[i].role, argv[0]) == 0) return table[i].fn(argc, argv);
  fprintf(stderr, "unknown helper role %s\n", argv[0]);
  return 99;
}

void ts_helper_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "helper %ld: %s:%d: check failed: %s\n", ts_getpid(), file,
          line, what);
}

static int skipped;

void ts_skip(const char *test_fn, const char *why) {
  size_t n = strlen(test_fn);
  /* Check's START_TEST(name) defines name_fn. */
  if (n > 3 && strcmp(test_fn + n - 3, "_fn") == 0) n -= 3;
  printf("SKIP: %.*s: %s\n", (int)n, test_fn, why);
  fflush(stdout);
  skipped++;
}

int ts_skipped(void) { return skipped; }

int ts_has_stdio(void) {
#ifdef _WIN32
  DWORD std[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
  int i;
  for (i = 1; i < 3; i++) { /* stdin may legitimately be absent under make */
    HANDLE h = GetStdHandle(std[i]);
    if (h == NULL || h == INVALID_HANDLE_VALUE) return 0;
  }
  return 1;
#else
  return fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 &&
         fcntl(2, F_GETFD) >= 0;
#endif
}

/* ---- hardening support ------------------------------------------------- */

int ts_setenv(const char *key, const char *value) {
#ifdef _WIN32
  return SetEnvironmentVariableA(key, value) ? 0 : -1;
#else
  return value != NULL ? setenv(key, value, 1) : unsetenv(key);
#endif
}

#ifdef _WIN32
int ts_is_root(void) { return 0; }
int ts_drop_privileges(void) { return -1; }
long ts_euid(void) { return -1; }
#else
#include <grp.h>
int ts_is_root(void) { return geteuid() == 0; }
int ts_drop_privileges(void) {
  if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
    return -1;
  return 0;
}
long ts_euid(void) { return (long)geteuid(); }
#endif

struct ts_raw {
#ifdef _WIN32
  HANDLE h;
#else
  int fd;
#endif
};

#ifdef _WIN32
ts_raw_t *ts_raw_inherited(void) {
  char v[32];
  ts_raw_t *r;
  DWORD n = GetEnvironmentVariableA("HANDOFF_CHANNEL", v, sizeof v);
  if (n == 0 || n >= sizeof v) return NULL;
  r = malloc(sizeof *r);
  r->h = (HANDLE)(uintptr_t)_strtoui64(v, NULL, 10);
  SetEnvironmentVariableA("HANDOFF_CHANNEL", NULL);
  return r;
}

ts_raw_t *ts_raw_connect(const char *name) {
  char path[400];
  DWORD mode = PIPE_READMODE_MESSAGE;
  HANDLE h;
  ts_raw_t *r;
  snprintf(path, sizeof path, "\\\\.\\pipe\\handoff-%s-%s", ts_self_sid(), name);
  h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                  0, NULL);
  if (h == INVALID_HANDLE_VALUE) return NULL;
  SetNamedPipeHandleState(h, &mode, NULL, NULL);
  r = malloc(sizeof *r);
  r->h = h;
  return r;
}

int ts_raw_write(ts_raw_t *r, const void *buf, size_t len,
                 const handoff_sock_t *fds, size_t nfds) {
  OVERLAPPED ov;
  DWORD n = 0;
  BOOL ok;
  (void)fds;
  if (nfds != 0) return -1;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  ok = WriteFile(r->h, buf, (DWORD)len, &n, &ov);
  if (!ok && GetLastError() == ERROR_IO_PENDING)
    ok = GetOverlappedResult(r->h, &ov, &n, TRUE);
  CloseHandle(ov.hEvent);
  return ok && n == len ? 0 : -1;
}

int ts_raw_read(ts_raw_t *r, void *buf, size_t cap, int timeout_ms) {
  OVERLAPPED ov;
  DWORD n = 0;
  BOOL ok;
  int ret = -1;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  ok = ReadFile(r->h, buf, (DWORD)cap, &n, &ov);
  if (!ok && GetLastError() == ERROR_IO_PENDING) {
    if (WaitForSingleObject(ov.hEvent, (DWORD)timeout_ms) != WAIT_OBJECT_0) {
      CancelIoEx(r->h, &ov);
    }
    ok = GetOverlappedResult(r->h, &ov, &n, TRUE);
  }
  if (ok)
    ret = (int)n;
  else if (GetLastError() == ERROR_BROKEN_PIPE ||
           GetLastError() == ERROR_PIPE_NOT_CONNECTED)
    ret = 0;
  CloseHandle(ov.hEvent);
  return ret;
}

void ts_raw_close(ts_raw_t *r) {
  if (r == NULL) return;
  CloseHandle(r->h);
  free(r);
}

int ts_raw_fds_supported(void) { return 0; }
long ts_orphans_per_killed_send(long n) { return n; }
int ts_signal_storm_start(void) { return -1; }
void ts_signal_storm_stop(void) {}
int ts_limit_descriptors(long room) {
  (void)room;
  return -1;
}
int ts_can_limit_descriptors(void) { return 0; }
void ts_restore_descriptor_limit(void) {}
#else
#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/time.h>

/* Where send has no MSG_NOSIGNAL: SO_NOSIGPIPE on the socket (macOS);
 * else ts_raw_write guards each send (posix/sigpipe.h). */
static void set_nosigpipe(int fd) {
#if defined(SO_NOSIGPIPE)
  int one = 1;
  if (TS_NOSIGNAL == 0)
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
  (void)fd;
#endif
}

ts_raw_t *ts_raw_inherited(void) {
  const char *v = getenv("HANDOFF_CHANNEL");
  ts_raw_t *r;
  if (v == NULL) return NULL;
  r = malloc(sizeof *r);
  r->fd = atoi(v);
  fcntl(r->fd, F_SETFD, FD_CLOEXEC);
  set_nosigpipe(r->fd);
  unsetenv("HANDOFF_CHANNEL");
  return r;
}

ts_raw_t *ts_raw_connect(const char *name) {
  struct sockaddr_un sa;
  const char *dir = getenv("HANDOFF_DIR");
  const char *tmp = getenv("TMPDIR");
  ts_raw_t *r;
  int fd = socket(AF_UNIX, TS_RAW_SOCKTYPE | TS_SOCK_CLOEXEC, 0);
  if (fd < 0) return NULL;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  set_nosigpipe(fd);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (dir != NULL && dir[0] != '\0')
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", dir, name);
  else
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/handoff-%lu/%s.sock",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
             (unsigned long)geteuid(), name);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return NULL;
  }
  r = malloc(sizeof *r);
  r->fd = fd;
  return r;
}

int ts_raw_write(ts_raw_t *r, const void *buf, size_t len,
                 const handoff_sock_t *fds, size_t nfds) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * 253)];
  } ctl;
  struct iovec iov;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  iov.iov_base = (void *)buf;
  iov.iov_len = len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    struct cmsghdr *cm;
    if (nfds > 253) return -1;
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  {
    handoff__px_sigpipe_t sp;
    ssize_t n;
    int guard = TS_NOSIGNAL == 0;
#if defined(SO_NOSIGPIPE)
    guard = 0;
#endif
    if (guard) handoff__px_sigpipe_guard_block(&sp);
    n = sendmsg(r->fd, &msg, TS_NOSIGNAL);
    if (guard) handoff__px_sigpipe_guard_restore(&sp);
    return n == (ssize_t)len ? 0 : -1;
  }
}

int ts_raw_read(ts_raw_t *r, void *buf, size_t cap, int timeout_ms) {
  struct pollfd p;
  p.fd = r->fd;
  p.events = POLLIN;
  int n;
  if (poll(&p, 1, timeout_ms) <= 0) return -1;
  n = (int)recv(r->fd, buf, cap, TS_DONTWAIT);
  /* Linux: the peer closed with bytes of ours unread (the stream transport
   * stops reading a frame at a header it rejects): the end all the same. */
  return n < 0 && errno == ECONNRESET ? 0 : n;
}

void ts_raw_close(ts_raw_t *r) {
  if (r == NULL) return;
  close(r->fd);
  free(r);
}

int ts_raw_fds_supported(void) { return 1; }
long ts_orphans_per_killed_send(long n) {
  (void)n;
  return 0;
}

static volatile sig_atomic_t storm_hits;
static void on_alarm(int sig) {
  (void)sig;
  storm_hits++;
}

int ts_signal_storm_start(void) {
  struct sigaction sa;
  struct itimerval it;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART: calls see EINTR */
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0) return -1;
  it.it_interval.tv_sec = 0;
  it.it_interval.tv_usec = 100;
  it.it_value = it.it_interval;
  return setitimer(ITIMER_REAL, &it, NULL);
}

void ts_signal_storm_stop(void) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  signal(SIGALRM, SIG_IGN);
}

static struct rlimit saved_limit;
int ts_can_limit_descriptors(void) {
  return getenv("HANDOFF_TEST_UNDER_VALGRIND") == NULL;
}

int ts_limit_descriptors(long room) {
  struct rlimit rl;
  long open_now = ts_handle_count();
  if (!ts_can_limit_descriptors()) return -1;
  if (getrlimit(RLIMIT_NOFILE, &saved_limit) != 0) return -1;
  rl = saved_limit;
  /* Descriptor numbers, not counts, are limited: stay above the highest. */
  rl.rlim_cur = (rlim_t)(open_now + room);
  {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), highest = fd;
    if (fd >= 0) close(fd);
    if ((rlim_t)highest + (rlim_t)room > rl.rlim_cur)
      rl.rlim_cur = (rlim_t)(highest + room);
  }
  return setrlimit(RLIMIT_NOFILE, &rl);
}

void ts_restore_descriptor_limit(void) { setrlimit(RLIMIT_NOFILE, &saved_limit); }
#endif

int ts_readable(handoff_sock_t s, int timeout_ms) {
  fd_set r;
  struct timeval tv;
  FD_ZERO(&r);
  FD_SET(s, &r);
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  return select((int)s + 1, &r, NULL, NULL, &tv) > 0;
}

int ts_udp_reply_count(handoff_sock_t s) {
  struct sockaddr_storage from;
  ts_socklen_t fl = sizeof from;
  char buf[32];
  int n;
  /* A parent that failed never asks: give up when its case would have
   * timed out. */
  if (!ts_readable(s, 60000)) return -1;
  n = (int)recvfrom(s, buf, (int)sizeof buf, 0, (struct sockaddr *)&from, &fl);
  if (n < 0) return -1;
  snprintf(buf, sizeof buf, "%ld", ts_handle_count());
  return sendto(s, buf, (int)strlen(buf) + 1, 0, (struct sockaddr *)&from, fl) > 0
             ? 0
             : -1;
}

int ts_wait_send_room(handoff_waitable_t w, int timeout_ms) {
#ifdef _WIN32
  return WaitForSingleObject(w, timeout_ms < 0 ? INFINITE
                                               : (DWORD)timeout_ms) ==
         WAIT_OBJECT_0;
#else
  struct pollfd p;
  p.fd = w;
  p.events = POLLOUT;
  p.revents = 0;
  return poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLOUT) != 0;
#endif
}

int ts_wait_any(const handoff_waitable_t *w, int n, int timeout_ms) {
#ifdef _WIN32
  DWORD r = WaitForMultipleObjects((DWORD)n, w, FALSE,
                                   timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  return r < WAIT_OBJECT_0 + (DWORD)n ? (int)(r - WAIT_OBJECT_0) : -1;
#else
  struct pollfd p[16];
  int i;
  if (n > 16) return -1;
  for (i = 0; i < n; i++) {
    p[i].fd = w[i];
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  if (poll(p, (nfds_t)n, timeout_ms) <= 0) return -1;
  for (i = 0; i < n; i++)
    if (p[i].revents != 0) return i;
  return -1;
#endif
}

/* ---- spawn support ------------------------------------------------------ */

#ifndef _WIN32
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#endif

const char *ts_self_path(void) { return self_path; }

int ts_batch_files_run(void) {
#ifdef _WIN32
  return 1;
#else
  return 0;
#endif
}

long ts_cmdline_limit(void) {
#ifdef _WIN32
  return 32767;
#else
  return -1;
#endif
}

typedef struct {
  void (*fn)(void *);
  void *arg;
#ifdef _WIN32
  HANDLE h;
#else
  pthread_t t;
#endif
} ts_thread;

#ifdef _WIN32
static DWORD WINAPI ts_thread_main(LPVOID p) {
#else
static void *ts_thread_main(void *p) {
#endif
  ts_thread *t = p;
  t->fn(t->arg);
  return 0;
}

void *ts_thread_start(void (*fn)(void *), void *arg) {
  ts_thread *t = malloc(sizeof *t);
  if (t == NULL) return NULL;
  t->fn = fn;
  t->arg = arg;
#ifdef _WIN32
  t->h = CreateThread(NULL, 0, ts_thread_main, t, 0, NULL);
  if (t->h != NULL) return t;
#else
  if (pthread_create(&t->t, NULL, ts_thread_main, t) == 0) return t;
#endif
  free(t);
  return NULL;
}

void ts_thread_join(void *p) {
  ts_thread *t = p;
#ifdef _WIN32
  WaitForSingleObject(t->h, INFINITE);
  CloseHandle(t->h);
#else
  pthread_join(t->t, NULL);
#endif
  free(t);
}

int ts_run_plain(const char *role) {
#ifdef _WIN32
  (void)role;
  return -1;
#else
  char *argv[4];
  int st;
  pid_t pid;
  argv[0] = self_path;
  argv[1] = (char *)"--helper";
  argv[2] = (char *)role;
  argv[3] = NULL;
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execv(self_path, argv);
    _exit(126);
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
#endif
}

int ts_reap_children_elsewhere(int on) {
#ifdef _WIN32
  (void)on;
  return -1;
#else
  return signal(SIGCHLD, on ? SIG_IGN : SIG_DFL) == SIG_ERR ? -1 : 0;
#endif
}

int ts_reap_pid(long pid) {
#ifdef _WIN32
  (void)pid;
  return 0;
#else
  int st;
  while (waitpid((pid_t)pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return 0;
#endif
}

const char *ts_temp_dir(void) {
  static char dir[1024];
  if (dir[0] == '\0') {
#ifdef _WIN32
    char base[MAX_PATH];
    GetTempPathA(sizeof base, base);
    snprintf(dir, sizeof dir, "%shandoff-test-%ld", base, ts_getpid());
    CreateDirectoryA(dir, NULL);
#else
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/handoff-test-%ld",
             t != NULL && t[0] != '\0' ? t : "/tmp", ts_getpid());
    mkdir(dir, 0700);
#endif
  }
  return dir;
}

int ts_write_file(char *path, size_t cap, const char *name,
                  const char *content, int executable) {
  FILE *f;
  snprintf(path, cap, "%s/%s", ts_temp_dir(), name);
#ifdef _WIN32
  {
    char *p;
    for (p = path; *p != '\0'; p++)
      if (*p == '/') *p = '\\';
  }
#endif
  f = fopen(path, "wb");
  if (f == NULL) return -1;
  fputs(content, f);
  if (fclose(f) != 0) return -1;
#ifndef _WIN32
  if (chmod(path, executable ? 0700 : 0600) != 0) return -1;
#else
  (void)executable;
#endif
  return 0;
}

int ts_file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  fclose(f);
  return 1;
}

void ts_remove_file(const char *path) { remove(path); }

long ts_open_high_descriptor(long at) {
#ifdef _WIN32
  (void)at;
  return -1;
#else
  struct rlimit rl;
  int fd;
  if (getenv("HANDOFF_TEST_UNDER_VALGRIND") != NULL) return -1;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur <= (rlim_t)at) {
    /* Raising the hard limit needs CAP_SYS_RESOURCE; without it, go as
     * high as the hard limit allows. */
    struct rlimit want = rl;
    want.rlim_cur = want.rlim_max = (rlim_t)at + 1;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max > (rlim_t)at)
      want.rlim_max = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
      if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max < 2) return -1;
      at = (long)rl.rlim_max - 1;
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    }
  }
  fd = open("/dev/null", O_RDONLY); /* inheritable on purpose */
  if (fd < 0) return -1;
  if (dup2(fd, (int)at) < 0) at = -1;
  close(fd);
  return at;
#endif
}

void ts_close_high_descriptor(long fd) {
#ifndef _WIN32
  if (fd >= 0) close((int)fd);
#else
  (void)fd;
#endif
}

/* ---- portability support (issue 10, issue 9 items 4 and 5) ------------- */

int ts_socket_path_room(void) {
#ifdef _WIN32
  return -1;
#else
  return (int)sizeof(((struct sockaddr_un *)0)->sun_path);
#endif
}

int ts_mkdir_private(const char *path) {
#ifdef _WIN32
  return CreateDirectoryA(path, NULL) ? 0 : -1;
#else
  return mkdir(path, 0700);
#endif
}

int ts_rmdir(const char *path) {
#ifdef _WIN32
  return RemoveDirectoryA(path) ? 0 : -1;
#else
  return rmdir(path);
#endif
}

int ts_fork_call(void (*fn)(void *), void *arg) {
#ifdef _WIN32
  (void)fn;
  (void)arg;
  return -1;
#else
  int st;
  pid_t pid;
  fflush(NULL); /* nothing buffered twice */
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    fn(arg);
    _exit(0); /* no atexit handlers, no Check: only fn ran here */
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
#endif
}

int ts_sigpipe_guard_send(int pending_before, int *pending_after) {
#ifdef _WIN32
  (void)pending_before;
  (void)pending_after;
  return -1;
#else
  handoff__px_sigpipe_t sp;
  sigset_t pipe_only, set;
  int sv[2], e, sig;
  ssize_t n;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
  close(sv[1]);
  if (pending_before) { /* the caller's own SIGPIPE, blocked and pending */
    pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    raise(SIGPIPE);
  }
  handoff__px_sigpipe_guard_block(&sp);
  n = send(sv[0], "x", 1, 0); /* no MSG_NOSIGNAL: raises SIGPIPE */
  e = errno;
  handoff__px_sigpipe_guard_restore(&sp);
  close(sv[0]);
  sigpending(&set);
  *pending_after = sigismember(&set, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, NULL, &set);
  if (pending_before) {
    /* The mask is the caller's again (SIGPIPE blocked): take ours back. */
    if (sigismember(&set, SIGPIPE) != 1) return 0;
    if (*pending_after) sigwait(&pipe_only, &sig);
    pthread_sigmask(SIG_UNBLOCK, &pipe_only, NULL);
  } else if (sigismember(&set, SIGPIPE) == 1) {
    return 0; /* the guard left SIGPIPE blocked */
  }
  return n < 0 && e == EPIPE;
#endif
}

/* ---- names, owners and DACLs (the security cases) ---------------------- */

#ifdef _WIN32
#include <aclapi.h>
#include <sddl.h>

int ts_has_dacls(void) { return 1; }

const char *ts_self_sid(void) {
  static char sid[200];
  union {
    TOKEN_USER u;
    char b[512];
  } tu;
  HANDLE tok;
  DWORD n;
  LPSTR s;
  if (sid[0] != '\0') return sid;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) return "";
  if (GetTokenInformation(tok, TokenUser, &tu, sizeof tu, &n) &&
      ConvertSidToStringSidA(tu.u.User.Sid, &s)) {
    snprintf(sid, sizeof sid, "%s", s);
    LocalFree(s);
  }
  CloseHandle(tok);
  return sid;
}

struct ts_raw_listener {
  HANDLE h;
  OVERLAPPED ov;
};

ts_raw_listener_t *ts_raw_listen(const char *name, const char *name_sid,
                                 const char *owner_sid) {
  char path[400], sddl[600];
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
  ts_raw_listener_t *l;
  DWORD err;
  snprintf(path, sizeof path, "\\\\.\\pipe\\handoff-%s-%s",
           name_sid != NULL ? name_sid : ts_self_sid(), name);
  snprintf(sddl, sizeof sddl, "O:%sD:P(A;;GA;;;SY)(A;;GA;;;%s)(A;;GA;;;BA)",
           owner_sid != NULL ? owner_sid : ts_self_sid(), ts_self_sid());
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
          sddl, SDDL_REVISION_1, &sa.lpSecurityDescriptor, NULL))
    return NULL;
  l = calloc(1, sizeof *l);
  l->h = CreateNamedPipeA(path, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                          PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                          PIPE_UNLIMITED_INSTANCES, 1 << 16, 1 << 16, 0, &sa);
  LocalFree(sa.lpSecurityDescriptor);
  if (l->h == INVALID_HANDLE_VALUE) {
    free(l);
    return NULL;
  }
  l->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!ConnectNamedPipe(l->h, &l->ov)) {
    err = GetLastError();
    if (err == ERROR_PIPE_CONNECTED || err == ERROR_NO_DATA) SetEvent(l->ov.hEvent);
  }
  return l;
}

ts_raw_t *ts_raw_accept(ts_raw_listener_t *l, int timeout_ms) {
  ts_raw_t *r;
  HANDLE dup;
  if (WaitForSingleObject(l->ov.hEvent, (DWORD)timeout_ms) != WAIT_OBJECT_0)
    return NULL;
  /* The instance stays the listener's; the raw end is a second handle. */
  if (!DuplicateHandle(GetCurrentProcess(), l->h, GetCurrentProcess(), &dup,
                       0, FALSE, DUPLICATE_SAME_ACCESS))
    return NULL;
  r = malloc(sizeof *r);
  r->h = dup;
  return r;
}

void ts_raw_listener_close(ts_raw_listener_t *l) {
  if (l == NULL) return;
  CancelIoEx(l->h, &l->ov);
  CloseHandle(l->h);
  CloseHandle(l->ov.hEvent);
  free(l);
}

int ts_impersonate_low_integrity(void) {
  SID_IDENTIFIER_AUTHORITY ml = SECURITY_MANDATORY_LABEL_AUTHORITY;
  union {
    TOKEN_MANDATORY_LABEL l;
    char b[256];
  } got;
  TOKEN_MANDATORY_LABEL tml;
  HANDLE tok, dup = NULL;
  PSID low = NULL;
  DWORD n;
  int ok = 0;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &tok))
    return -1;
  if (DuplicateTokenEx(tok, TOKEN_ALL_ACCESS, NULL, SecurityImpersonation,
                       TokenImpersonation, &dup) &&
      AllocateAndInitializeSid(&ml, 1, SECURITY_MANDATORY_LOW_RID, 0, 0, 0, 0,
                               0, 0, 0, &low)) {
    tml.Label.Attributes = SE_GROUP_INTEGRITY;
    tml.Label.Sid = low;
    /* Wine accepts the call but keeps the level: read it back. */
    ok = SetTokenInformation(dup, TokenIntegrityLevel, &tml,
                             sizeof tml + GetLengthSid(low)) &&
         GetTokenInformation(dup, TokenIntegrityLevel, &got, sizeof got, &n) &&
         *GetSidSubAuthority(got.l.Label.Sid, 0) == SECURITY_MANDATORY_LOW_RID &&
         SetThreadToken(NULL, dup);
  }
  if (low != NULL) FreeSid(low);
  if (dup != NULL) CloseHandle(dup);
  CloseHandle(tok);
  return ok ? 0 : -1;
}

void ts_revert(void) { RevertToSelf(); }

int ts_drop_debug_privilege(void) {
  TOKEN_PRIVILEGES tp;
  HANDLE tok;
  BOOL ok;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES, &tok))
    return -1;
  tp.PrivilegeCount = 1;
  tp.Privileges[0].Attributes = SE_PRIVILEGE_REMOVED;
  /* Not held at all: ERROR_NOT_ALL_ASSIGNED, and nothing to remove. */
  ok = LookupPrivilegeValueW(NULL, L"SeDebugPrivilege", &tp.Privileges[0].Luid) &&
       AdjustTokenPrivileges(tok, FALSE, &tp, 0, NULL, NULL);
  CloseHandle(tok);
  return ok ? 0 : -1;
}

/* The DACL of the listener's pipe (read through a client end: that is all
 * the test can open) or of its mutex. */
static int read_dacl(const char *name, int which, PACL *dacl,
                     PSECURITY_DESCRIPTOR *sd) {
  char path[400];
  HANDLE h;
  DWORD err;
  if (which == TS_DACL_PIPE) {
    snprintf(path, sizeof path, "\\\\.\\pipe\\handoff-%s-%s", ts_self_sid(), name);
    h = CreateFileA(path, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
  } else {
    snprintf(path, sizeof path, "Global\\handoff-%s-%s", ts_self_sid(), name);
    h = OpenMutexA(READ_CONTROL, FALSE, path);
  }
  if (h == NULL || h == INVALID_HANDLE_VALUE) return -1;
  err = GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL,
                        NULL, dacl, NULL, sd);
  CloseHandle(h);
  return err == ERROR_SUCCESS ? 0 : -1;
}

int ts_dacl(const char *name, int which, ts_ace_t *aces, int cap) {
  PSECURITY_DESCRIPTOR sd = NULL;
  PACL dacl = NULL;
  ACL_SIZE_INFORMATION info;
  int n = 0;
  DWORD i;
  if (read_dacl(name, which, &dacl, &sd) != 0) return -1;
  if (dacl != NULL &&
      GetAclInformation(dacl, &info, sizeof info, AclSizeInformation)) {
    for (i = 0; i < info.AceCount && n < cap; i++) {
      ACCESS_ALLOWED_ACE *ace;
      LPSTR s;
      if (!GetAce(dacl, i, (void **)&ace)) continue;
      aces[n].allow = ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE;
      aces[n].mask = ace->Mask;
      aces[n].sid[0] = '\0';
      if (ConvertSidToStringSidA((PSID)&ace->SidStart, &s)) {
        snprintf(aces[n].sid, sizeof aces[n].sid, "%s", s);
        LocalFree(s);
      }
      n++;
    }
  }
  LocalFree(sd);
  return n;
}
#else
int ts_has_dacls(void) { return 0; }
const char *ts_self_sid(void) { return ""; }

struct ts_raw_listener {
  int fd;
  char path[200];
};

/* The socket a listener would bind, in the rendezvous directory. */
static void rendezvous_path(const char *name, char *out, size_t cap) {
  const char *dir = getenv("HANDOFF_DIR");
  const char *tmp = getenv("TMPDIR");
  char d[150];
  if (dir != NULL && dir[0] != '\0') {
    snprintf(out, cap, "%s/%s.sock", dir, name);
    return;
  }
  snprintf(d, sizeof d, "%s/handoff-%lu",
           tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
           (unsigned long)geteuid());
  mkdir(d, 0700);
  snprintf(out, cap, "%s/%s.sock", d, name);
}

ts_raw_listener_t *ts_raw_listen(const char *name, const char *name_sid,
                                 const char *owner_sid) {
  struct sockaddr_un sa;
  ts_raw_listener_t *l;
  if (name_sid != NULL || owner_sid != NULL) return NULL; /* Windows only */
  l = calloc(1, sizeof *l);
  rendezvous_path(name, l->path, sizeof l->path);
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(l->path) >= sizeof sa.sun_path) {
    free(l);
    return NULL;
  }
  memcpy(sa.sun_path, l->path, strlen(l->path) + 1);
  unlink(l->path);
  l->fd = socket(AF_UNIX, TS_RAW_SOCKTYPE | TS_SOCK_CLOEXEC, 0);
  if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(l->fd, 8) != 0) {
    if (l->fd >= 0) close(l->fd);
    free(l);
    return NULL;
  }
  return l;
}

ts_raw_t *ts_raw_accept(ts_raw_listener_t *l, int timeout_ms) {
  struct pollfd p;
  ts_raw_t *r;
  int fd;
  p.fd = l->fd;
  p.events = POLLIN;
  if (poll(&p, 1, timeout_ms) <= 0) return NULL;
  fd = accept(l->fd, NULL, NULL);
  if (fd < 0) return NULL;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  r = malloc(sizeof *r);
  r->fd = fd;
  return r;
}

void ts_raw_listener_close(ts_raw_listener_t *l) {
  if (l == NULL) return;
  close(l->fd);
  unlink(l->path);
  free(l);
}

int ts_dacl(const char *name, int which, ts_ace_t *aces, int cap) {
  (void)name;
  (void)which;
  (void)aces;
  (void)cap;
  return -1;
}
int ts_impersonate_low_integrity(void) { return -1; }
int ts_drop_debug_privilege(void) { return -1; }
void ts_revert(void) {}
#endif

/* 1 if the channel transport keeps record boundaries. */
int ts_raw_records(void) {
#ifdef _WIN32
  return 1; /* message-mode pipes */
#else
  return TS_RAW_SOCKTYPE == SOCK_SEQPACKET;
#endif
}

/* ---- forged and rejected frames ----------------------------------------- */

#define TS_INFO_SIZE 628

ts_raw_t *ts_raw_inherited_hello(void) {
  unsigned char f[HANDOFF__HELLO_FRAME];
  ts_raw_t *r = ts_raw_inherited();
  if (r == NULL) return NULL;
  handoff__hello_encode(f);
  if (ts_raw_write(r, f, sizeof f, NULL, 0) != 0) {
    ts_raw_close(r);
    return NULL;
  }
  return r;
}

int ts_info_from_hex(const char *hex, unsigned char *out) {
  size_t i;
  unsigned v;
  if (strlen(hex) != 2 * TS_INFO_SIZE) return -1;
  for (i = 0; i < TS_INFO_SIZE; i++) {
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (unsigned char)v;
  }
  return 0;
}

#ifdef _WIN32
/* The process at the other end of a raw pipe. */
static DWORD raw_peer_pid(HANDLE h) {
  ULONG pid = 0;
  if (GetNamedPipeServerProcessId(h, &pid) && pid != GetCurrentProcessId())
    return pid;
  if (GetNamedPipeClientProcessId(h, &pid)) return pid;
  return 0;
}

int ts_raw_write_socks(ts_raw_t *r, const unsigned char *hdr,
                       const handoff_sock_t *socks, size_t n,
                       const void *data, size_t len) {
  size_t total = 16 + n * TS_INFO_SIZE + len, i;
  unsigned char *b = malloc(total);
  WSAPROTOCOL_INFOW info;
  DWORD pid = raw_peer_pid(r->h);
  int ret = 0;
  if (b == NULL || pid == 0) {
    free(b);
    return -1;
  }
  memcpy(b, hdr, 16);
  for (i = 0; i < n && ret == 0; i++) {
    if (WSADuplicateSocketW(socks[i], pid, &info) != 0) ret = -1;
    memcpy(b + 16 + i * TS_INFO_SIZE, &info, TS_INFO_SIZE);
  }
  if (len != 0) memcpy(b + 16 + n * TS_INFO_SIZE, data, len);
  if (ret == 0) ret = ts_raw_write(r, b, total, NULL, 0);
  free(b);
  return ret;
}

int ts_raw_write_non_socket(ts_raw_t *r, const unsigned char *hdr,
                            const void *data, size_t len) {
  unsigned char *b = malloc(16 + TS_INFO_SIZE + len);
  WSAPROTOCOL_INFOW info;
  HANDLE ev = NULL, peer = NULL, remote = NULL;
  DWORD pid = raw_peer_pid(r->h);
  SOCKET s = INVALID_SOCKET, d;
  int ret = -1;
  if (b == NULL || pid == 0) goto out;
  /* A real info for the layout (its duplicate, made in us, closed). */
  s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s == INVALID_SOCKET || WSADuplicateSocketW(s, GetCurrentProcessId(), &info) != 0)
    goto out;
  d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                 &info, 0, WSA_FLAG_OVERLAPPED);
  if (d != INVALID_SOCKET) closesocket(d);
  /* An event, put into the peer as a peer's WSADuplicateSocketW would put
   * a socket, and named where the info names its handle. */
  if ((ev = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL ||
      (peer = OpenProcess(PROCESS_DUP_HANDLE, FALSE, pid)) == NULL ||
      !DuplicateHandle(GetCurrentProcess(), ev, peer, &remote, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    goto out;
  /* As Windows lays an info out (an IFS provider's handle in
   * dwProviderReserved; not Wine's own mark, whose WSASocketW adopts any
   * handle), for a family no provider serves: WSASocketW refuses it. */
  info.dwServiceFlags1 |= XP1_IFS_HANDLES;
  info.dwServiceFlags3 = info.dwServiceFlags4 = 0;
  info.dwProviderReserved = (ULONG_PTR)remote;
  info.iAddressFamily = 0x7fff;
  memcpy(b, hdr, 16);
  memcpy(b + 16, &info, TS_INFO_SIZE);
  if (len != 0) memcpy(b + 16 + TS_INFO_SIZE, data, len);
  ret = ts_raw_write(r, b, 16 + TS_INFO_SIZE + len, NULL, 0);
out:
  if (peer != NULL) CloseHandle(peer);
  if (ev != NULL) CloseHandle(ev);
  if (s != INVALID_SOCKET) closesocket(s);
  free(b);
  return ret;
}

int ts_forge_info(handoff_sock_t s, char *hex, size_t cap) {
  WSAPROTOCOL_INFOW info;
  const unsigned char *p = (const unsigned char *)&info;
  SOCKET d;
  size_t i;
  if (cap < 2 * TS_INFO_SIZE + 1) return -1;
  if (WSADuplicateSocketW(s, GetCurrentProcessId(), &info) != 0) return -1;
  /* The duplicate that made is closed; the info is changed to name s: where
   * Wine keeps the handle (dwServiceFlags3, marked in dwServiceFlags4), or
   * where a provider with IFS handles may (dwProviderReserved). */
  d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                 &info, 0, WSA_FLAG_OVERLAPPED);
  if (d != INVALID_SOCKET) closesocket(d);
  if (info.dwServiceFlags4 == 0xff00ff00u)
    info.dwServiceFlags3 = (DWORD)s;
  else
    info.dwProviderReserved = (ULONG_PTR)s;
  for (i = 0; i < TS_INFO_SIZE; i++) sprintf(hex + 2 * i, "%02x", p[i]);
  return 0;
}

static PSECURITY_DESCRIPTOR ts_saved_sd;
static PACL ts_saved_dacl;

int ts_deny_dup_into_self(int on) {
  EXPLICIT_ACCESSA ea[2];
  PACL acl = NULL;
  PSID me = NULL;
  DWORD err, n = 1;
  char sid[200];
  if (!on) {
    if (ts_saved_sd == NULL) return 0;
    err = SetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT,
                          DACL_SECURITY_INFORMATION, NULL, NULL,
                          ts_saved_dacl, NULL);
    LocalFree(ts_saved_sd);
    ts_saved_sd = NULL;
    return err == ERROR_SUCCESS ? 0 : -1;
  }
  if (ts_saved_sd != NULL) return -1;
  if (GetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT,
                      DACL_SECURITY_INFORMATION, NULL, NULL, &ts_saved_dacl,
                      NULL, &ts_saved_sd) != ERROR_SUCCESS)
    return -1;
  snprintf(sid, sizeof sid, "%s", ts_self_sid());
  if (!ConvertStringSidToSidA(sid, &me)) return -1;
  memset(ea, 0, sizeof ea);
  ea[0].grfAccessPermissions = PROCESS_DUP_HANDLE;
  ea[0].grfAccessMode = DENY_ACCESS;
  ea[0].Trustee.TrusteeForm = TRUSTEE_IS_SID;
  ea[0].Trustee.ptstrName = (LPSTR)me;
  /* A NULL DACL grants everyone everything: keep that, less the denial. */
  if (ts_saved_dacl == NULL) {
    ea[1].grfAccessPermissions = PROCESS_ALL_ACCESS;
    ea[1].grfAccessMode = GRANT_ACCESS;
    ea[1].Trustee.TrusteeForm = TRUSTEE_IS_SID;
    ea[1].Trustee.ptstrName = (LPSTR)me;
    n = 2;
  }
  err = SetEntriesInAclA(n, ea, ts_saved_dacl, &acl);
  if (err == ERROR_SUCCESS)
    err = SetSecurityInfo(GetCurrentProcess(), SE_KERNEL_OBJECT,
                          DACL_SECURITY_INFORMATION, NULL, NULL, acl, NULL);
  LocalFree(acl);
  LocalFree(me);
  if (err != ERROR_SUCCESS) {
    LocalFree(ts_saved_sd);
    ts_saved_sd = NULL;
    return -1;
  }
  return 0;
}
#else
int ts_raw_write_socks(ts_raw_t *r, const unsigned char *hdr,
                       const handoff_sock_t *socks, size_t n,
                       const void *data, size_t len) {
  unsigned char *b = malloc(16 + len);
  int ret;
  if (b == NULL) return -1;
  memcpy(b, hdr, 16);
  if (len != 0) memcpy(b + 16, data, len);
  ret = ts_raw_write(r, b, 16 + len, socks, n);
  free(b);
  return ret;
}

int ts_raw_write_non_socket(ts_raw_t *r, const unsigned char *hdr,
                            const void *data, size_t len) {
  (void)r;
  (void)hdr;
  (void)data;
  (void)len;
  return -1;
}

int ts_forge_info(handoff_sock_t s, char *hex, size_t cap) {
  (void)s;
  (void)hex;
  (void)cap;
  return -1;
}

int ts_deny_dup_into_self(int on) {
  (void)on;
  return -1;
}
#endif

int ts_unread_pending_send_is_taken_back(void) {
#ifdef _WIN32
  return 0;
#else
  return 1;
#endif
}
