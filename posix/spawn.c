/* Spawning a child with a channel: a SOCK_SEQPACKET socketpair whose child
 * end is the only descriptor the child inherits from us (everything we open
 * is close-on-exec, atomically where the OS allows).  The child finds it
 * through HANDOFF_CHANNEL=<fd>.  The process object (wait, kill, free,
 * waitable) is in posix/proc.c. */
#include "posix/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#if defined(__APPLE__)
#include <crt_externs.h> /* a shared library on macOS has no `environ` */
#define ENVIRON (*_NSGetEnviron())
#else
extern char **environ;
#define ENVIRON environ
#endif

#define ENV_NAME "HANDOFF_CHANNEL"
/* Where the channel and the exec-error pipe are in the child. */
#define CHILD_FD 3
#define ERR_FD (CHILD_FD + 1)
/* The child's first descriptor that is neither stdio nor ours. */
#define FIRST_OTHER (CHILD_FD + 2)
/* The exit status of a child that could not exec (as a shell's). */
#define EXEC_FAILED 127
/* Closing by a list taken before fork also closes this many numbers past
 * its highest entry: open() returns the lowest free number, so what another
 * thread opens between the listing and the fork lands below that. */
#define LIST_SLACK 256

/* Everything the child needs, prepared in the parent, so that the child
 * only makes async-signal-safe calls between fork and exec. */
typedef struct {
  const char *prog;
  char *const *argv;
  char **env;
  int chan_fd, err_fd;
  /* Descriptors open in the parent before fork (where the OS gives no
   * close_range/closefrom/getdents); NULL: close up to `limit`. */
  int *open_fds;
  size_t nopen;
  long limit;
} child_plan_t;

/* ---- Finding the program and building the environment ----------------- */

/* A candidate "dir/name" if it is an executable regular file: 0, or an
 * errno (EACCES if it exists but may not be run). */
static int try_candidate(const char *dir, size_t dl, const char *name,
                         char **out) {
  size_t nl = strlen(name);
  struct stat st;
  char *cand = malloc(dl + nl + 3);
  int err;
  if (cand == NULL) return ENOMEM;
  if (dl == 0) memcpy(cand, ".", (dl = 1));
  else memcpy(cand, dir, dl);
  cand[dl] = '/';
  memcpy(cand + dl + 1, name, nl + 1);
  if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
    *out = cand;
    return 0;
  }
  err = errno == EACCES ? EACCES : ENOENT;
  free(cand);
  return err;
}

/* Resolve argv0 like execvp, in the parent: a malloc'd path, or an error. */
static int find_program(const char *argv0, char **out) {
  const char *path, *p, *end;
  int err = ENOENT, e;
  if (strchr(argv0, '/') != NULL) {
    *out = strdup(argv0);
    return *out != NULL ? 0 : handoff__err(HANDOFF_ENOMEM);
  }
  path = getenv("PATH");
  if (path == NULL || path[0] == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  for (p = path;; p = end + 1) {
    end = strchr(p, ':');
    if (end == NULL) end = p + strlen(p);
    e = try_candidate(p, (size_t)(end - p), argv0, out);
    if (e == 0) return 0;
    if (e == ENOMEM) return handoff__err(HANDOFF_ENOMEM);
    if (e == EACCES) err = EACCES;
    if (*end == '\0') break;
  }
  return handoff__px_err(err);
}

/* Our environment without any HANDOFF_CHANNEL, plus ours. */
static char **child_env(char *ours) {
  char **cur = ENVIRON, **env;
  size_t n = 0, k = 0;
  while (cur != NULL && cur[n] != NULL) n++;
  env = malloc((n + 2) * sizeof *env);
  if (env == NULL) return NULL;
  for (n = 0; cur != NULL && cur[n] != NULL; n++)
    if (strncmp(cur[n], ENV_NAME "=", sizeof ENV_NAME) != 0) env[k++] = cur[n];
  env[k++] = ours;
  env[k] = NULL;
  return env;
}

/* ---- Descriptors the parent creates ----------------------------------- */

/* The channel pair, both ends close-on-exec (atomically with SOCK_CLOEXEC)
 * and set up as every channel descriptor is. */
static int channel_pair(int sv[2]) {
  int r;
#if HAVE_DECL_SOCK_CLOEXEC
  r = socketpair(AF_UNIX, HANDOFF__PX_SOCKTYPE | SOCK_CLOEXEC, 0, sv);
#else
  r = socketpair(AF_UNIX, HANDOFF__PX_SOCKTYPE, 0, sv);
#endif
  if (r != 0) return handoff__px_err(errno);
  r = handoff__px_setup_fd(sv[0]);
  if (r == 0) r = handoff__px_setup_fd(sv[1]); /* its child copy loses CLOEXEC */
  if (r != 0) {
    close(sv[0]);
    close(sv[1]);
    sv[0] = sv[1] = -1;
  }
  return r;
}

/* Our end of the pair as a channel that has already sent its HELLO (the
 * HELLO is in the socket before the child exists).  Closes fd on error. */
static int parent_channel(int fd, handoff_chan_t **out) {
  int r = handoff__px_chan_new(fd, out);
  if (r != 0) {
    close(fd);
    return r;
  }
  r = handoff__send_hello(*out);
  if (r != 0) {
    handoff_close(*out);
    *out = NULL;
  }
  return r;
}

/* ---- Closing every other descriptor in the child ---------------------- */

/* Where the OS closes a range for us, or Linux lets the child list its own
 * descriptors with the getdents64 system call (async-signal-safe, unlike
 * opendir), nothing needs to be prepared before fork. */
#if defined(__linux__) && defined(SYS_getdents64) &&                        \
    !defined(HANDOFF_NO_GETDENTS) /* (-D to test the /dev/fd way on Linux) */
#define HAVE_GETDENTS 1
#endif
#if HAVE_CLOSE_RANGE || HAVE_CLOSEFROM || HAVE_GETDENTS
#define CHILD_LISTS_ITSELF 1
#else
#define CHILD_LISTS_ITSELF 0
#endif

/* In the parent, where the child cannot list its descriptors itself: the
 * open descriptors from /dev/fd, or (if it cannot be read) the limit. */
static int plan_closing(child_plan_t *pl) {
  struct rlimit rl;
  pl->open_fds = NULL;
  pl->nopen = 0;
  pl->limit = sysconf(_SC_OPEN_MAX);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur > (rlim_t)pl->limit)
    pl->limit = rl.rlim_cur > 0x7fffffff ? 0x7fffffff : (long)rl.rlim_cur;
  if (pl->limit < 0) pl->limit = 65536; /* no limit known: a guess */
  if (!CHILD_LISTS_ITSELF) {
    DIR *d = opendir("/dev/fd");
    struct dirent *e;
    size_t cap = 64;
    if (d == NULL) return 0; /* close up to the limit instead */
    pl->open_fds = malloc(cap * sizeof *pl->open_fds);
    while (pl->open_fds != NULL && (e = readdir(d)) != NULL) {
      int *more;
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      if (pl->nopen == cap &&
          (more = realloc(pl->open_fds, (cap *= 2) * sizeof *more)) == NULL) {
        free(pl->open_fds);
        pl->open_fds = NULL;
        break;
      }
      if (pl->nopen < cap) pl->open_fds[pl->nopen++] = atoi(e->d_name);
    }
    closedir(d);
    if (pl->open_fds == NULL) return handoff__err(HANDOFF_ENOMEM);
  }
  return 0;
}

#if HAVE_GETDENTS
/* Linux without close_range: read /proc/self/fd with getdents64 (the
 * entries' layout is the kernel's struct linux_dirent64). */
static int close_listed_by_kernel(int lo) {
  char buf[4096];
  long n, off;
  int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
    for (off = 0; off < n;) {
      unsigned short reclen;
      const char *name = buf + off + 19; /* d_ino 8, d_off 8, reclen 2, type 1 */
      int fd = 0;
      memcpy(&reclen, buf + off + 16, sizeof reclen);
      off += reclen;
      if (*name < '0' || *name > '9') continue;
      while (*name >= '0' && *name <= '9') fd = fd * 10 + (*name++ - '0');
      if (fd >= lo && fd != dfd) close(fd);
    }
  }
  close(dfd);
  return n == 0 ? 0 : -1;
}
#endif

/* In the child: close every descriptor from FIRST_OTHER on. */
static void close_others(const child_plan_t *pl) {
  long fd, top = pl->limit;
  size_t i;
#if HAVE_CLOSE_RANGE
  if (close_range(FIRST_OTHER, ~0u, 0) == 0) return;
#endif
#if HAVE_CLOSEFROM
  closefrom(FIRST_OTHER);
  return;
#endif
#if HAVE_GETDENTS
  if (close_listed_by_kernel(FIRST_OTHER) == 0) return;
#endif
  if (pl->open_fds != NULL) {
    top = FIRST_OTHER;
    for (i = 0; i < pl->nopen; i++) {
      if (pl->open_fds[i] >= FIRST_OTHER) close(pl->open_fds[i]);
      if (pl->open_fds[i] > top) top = pl->open_fds[i];
    }
    top += LIST_SLACK;
  }
  for (fd = FIRST_OTHER; fd < top; fd++) close((int)fd);
}

/* ---- The child --------------------------------------------------------- */

static void report_errno(int fd, int e) {
  while (write(fd, &e, sizeof e) < 0 && errno == EINTR) {
  }
}

/* Child, after fork: async-signal-safe calls only.  Keep stdio, put the
 * channel at CHILD_FD and the error pipe at ERR_FD (close-on-exec), close
 * everything else (as a Windows child gets only its handle list), exec. */
static void run_child(const child_plan_t *pl) {
  int a = fcntl(pl->chan_fd, F_DUPFD, FIRST_OTHER),
      b = fcntl(pl->err_fd, F_DUPFD_CLOEXEC, FIRST_OTHER);
  if (a < 0 || b < 0 || dup2(a, CHILD_FD) < 0 || dup2(b, ERR_FD) < 0 ||
      fcntl(ERR_FD, F_SETFD, FD_CLOEXEC) < 0) {
    report_errno(pl->err_fd, errno);
    _exit(EXEC_FAILED);
  }
  close_others(pl);
  execve(pl->prog, pl->argv, pl->env);
  report_errno(ERR_FD, errno);
  _exit(EXEC_FAILED);
}

static void child_entry(void *plan) { run_child(plan); }

/* After the fork: the child's exec result from the error pipe (EOF: exec
 * succeeded).  On failure the child is reaped here. */
static int exec_result(int err_rd, handoff_proc_t *p) {
  int child_err;
  ssize_t n;
  do
    n = read(err_rd, &child_err, sizeof child_err);
  while (n < 0 && errno == EINTR);
  if (n == 0) return 0;
  handoff__px_proc_reap_failed(p);
  return handoff__px_err(n == (ssize_t)sizeof child_err ? child_err : EIO);
}

/* ---- Public API -------------------------------------------------------- */

/* Program, environment and the closing plan: everything fallible that the
 * child will need, before any descriptor exists. */
static int prepare(const char *const argv[], char *envvar, child_plan_t *pl,
                   char **prog) {
  int r = find_program(argv[0], prog);
  if (r != 0) return r;
  pl->prog = *prog;
  pl->argv = (char *const *)argv;
  pl->env = child_env(envvar);
  if (pl->env == NULL) return handoff__err(HANDOFF_ENOMEM);
  return plan_closing(pl);
}

int handoff_spawn(const char *const argv[], handoff_chan_t **chan,
                  handoff_proc_t **proc) {
  char envvar[sizeof ENV_NAME + 24], *prog = NULL;
  int sv[2] = {-1, -1}, ep[2] = {-1, -1}, r;
  handoff_chan_t *c = NULL;
  handoff_proc_t *p = NULL;
  child_plan_t pl;

  r = handoff__check_spawn(argv, chan, proc);
  if (r != 0) return r;
  memset(&pl, 0, sizeof pl);
  snprintf(envvar, sizeof envvar, ENV_NAME "=%d", CHILD_FD);
  r = prepare(argv, envvar, &pl, &prog);
  if (r == 0) r = channel_pair(sv);
  if (r == 0 && (r = parent_channel(sv[0], &c)) != 0) sv[0] = -1;
  if (r == 0) r = handoff__px_cloexec_pipe(ep);
  if (r == 0) {
    pl.chan_fd = sv[1];
    pl.err_fd = ep[1];
    r = handoff__px_proc_start(child_entry, &pl, &p);
  }
  if (r == 0) {
    close(ep[1]);
    ep[1] = -1;
    r = exec_result(ep[0], p);
  }
  if (r == 0) {
    c->core.peer.pid = (long)handoff__px_proc_id(p); /* the kernel's */
    *chan = c;
    *proc = p;
    c = NULL;
  }
  handoff_close(c); /* closes sv[0] */
  if (sv[1] >= 0) close(sv[1]);
  if (ep[0] >= 0) close(ep[0]);
  if (ep[1] >= 0) close(ep[1]);
  free(pl.open_fds);
  free(pl.env);
  free(prog);
  return r;
}

int handoff_inherited(handoff_chan_t **out) {
  const char *v = getenv(ENV_NAME);
  char *end;
  long fd;
  int type, r;
  socklen_t tl = sizeof type;
  struct stat st;
  handoff_peer_t who;

  if (out == NULL) return handoff__err(HANDOFF_EINVAL);
  if (v == NULL || v[0] == '\0') return handoff__err(HANDOFF_ENOENT);
  errno = 0;
  fd = strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || fd < 0 || fd > 0x7fffffff ||
      fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
      getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
      type != HANDOFF__PX_SOCKTYPE)
    return handoff__err(HANDOFF_ENOENT);
  unsetenv(ENV_NAME); /* only the first call takes it */
  r = handoff__px_setup_fd((int)fd);
  /* A socketpair's credentials are its creator's: the parent's. */
  if (r == 0) r = handoff__px_peer_creds((int)fd, &who);
  if (r == 0) r = handoff__px_chan_new((int)fd, out);
  if (r != 0) {
    close((int)fd);
    return r;
  }
  (*out)->core.peer = who;
  (*out)->check_socks = 0; /* the parent is trusted anyway (internal.h) */
  r = handoff__send_hello(*out);
  if (r != 0 && r != HANDOFF_ECLOSED) { /* a gone parent shows on recv */
    handoff_close(*out);
    *out = NULL;
    return r;
  }
  return 0;
}
