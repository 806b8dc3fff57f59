/* Spawning a child with a channel: a SOCK_SEQPACKET socketpair whose child
 * end is the only descriptor the child inherits from us (everything we open
 * is close-on-exec).  The child finds it through HANDOFF_CHANNEL=<fd>. */
#include "posix/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV_NAME "HANDOFF_CHANNEL"
/* Where the channel is in the child. */
#define CHILD_FD 3

/* Close every descriptor from lo on (async-signal-safe). */
static void close_from(int lo, long maxfd) {
#if HAVE_CLOSE_RANGE
  if (close_range((unsigned)lo, ~0u, 0) == 0) return;
#elif HAVE_CLOSEFROM
  closefrom(lo);
  return;
#endif
  if (maxfd < 0 || maxfd > 65536) maxfd = 65536;
  for (; lo < maxfd; lo++) close(lo);
}

extern char **environ;

/* Resolve argv0 like execvp, in the parent, so that the child only has to
 * call async-signal-safe functions.  Returns a malloc'd path. */
static int find_program(const char *argv0, char **out) {
  const char *path, *p, *end;
  int err = ENOENT;
  if (strchr(argv0, '/') != NULL) {
    *out = strdup(argv0);
    return *out != NULL ? 0 : handoff__err(HANDOFF_ENOMEM);
  }
  path = getenv("PATH");
  if (path == NULL || path[0] == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  for (p = path;; p = end + 1) {
    size_t dl, nl = strlen(argv0);
    char *cand;
    end = strchr(p, ':');
    if (end == NULL) end = p + strlen(p);
    dl = (size_t)(end - p);
    cand = malloc(dl + nl + 3);
    if (cand == NULL) return handoff__err(HANDOFF_ENOMEM);
    if (dl == 0)
      memcpy(cand, ".", (dl = 1));
    else
      memcpy(cand, p, dl);
    cand[dl] = '/';
    memcpy(cand + dl + 1, argv0, nl + 1);
    if (access(cand, X_OK) == 0) {
      struct stat st;
      if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
        *out = cand;
        return 0;
      }
    } else if (errno == EACCES) {
      err = EACCES;
    }
    free(cand);
    if (*end == '\0') break;
  }
  return handoff__px_err(err);
}

/* environ without any HANDOFF_CHANNEL, plus ours. */
static char **child_env(char *ours) {
  size_t n = 0, k = 0;
  char **env;
  while (environ != NULL && environ[n] != NULL) n++;
  env = malloc((n + 2) * sizeof *env);
  if (env == NULL) return NULL;
  for (n = 0; environ != NULL && environ[n] != NULL; n++)
    if (strncmp(environ[n], ENV_NAME "=", sizeof ENV_NAME) != 0)
      env[k++] = environ[n];
  env[k++] = ours;
  env[k] = NULL;
  return env;
}

static int cloexec_pipe(int p[2]) {
  if (pipe(p) != 0) return -1;
  if (fcntl(p[0], F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  return 0;
}

int handoff_spawn(const char *const argv[], handoff_chan_t **chan,
                  handoff_proc_t **proc) {
  char envvar[sizeof ENV_NAME + 24];
  char *prog = NULL, **env = NULL;
  int sv[2] = {-1, -1}, ep[2] = {-1, -1};
  handoff_proc_t *p = NULL;
  handoff_chan_t *c = NULL;
  long maxfd = sysconf(_SC_OPEN_MAX);
  int r, child_err;
  ssize_t n;
  pid_t pid;

  r = handoff__check_spawn(argv, chan, proc);
  if (r != 0) return r;
  r = find_program(argv[0], &prog);
  if (r != 0) return r;
  p = malloc(sizeof *p);
#if HAVE_DECL_SOCK_CLOEXEC
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
#else
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
#endif
  {
    r = handoff__px_err(errno);
    goto out;
  }
  r = handoff__px_setup_fd(sv[0]);
  if (r == 0) r = handoff__px_setup_fd(sv[1]); /* its child copy loses CLOEXEC */
  if (r != 0) goto out;
  snprintf(envvar, sizeof envvar, ENV_NAME "=%d", CHILD_FD);
  env = child_env(envvar);
  if (p == NULL || env == NULL) {
    r = handoff__err(HANDOFF_ENOMEM);
    goto out;
  }
  if (cloexec_pipe(ep) != 0) {
    r = handoff__px_err(errno);
    goto out;
  }
  r = handoff__px_chan_new(sv[0], &c);
  if (r != 0) goto out;
  r = handoff__send_hello(c);
  if (r != 0) goto out;

  pid = fork();
  if (pid < 0) {
    r = handoff__px_err(errno);
    goto out;
  }
  if (pid == 0) {
    /* Child: async-signal-safe calls only.  Keep stdio, put the channel at
     * CHILD_FD and the error pipe at CHILD_FD + 1 (close-on-exec), and
     * close every other descriptor, so that the child gets what a Windows
     * child gets from its handle list: nothing of the caller's either. */
    int e, a = fcntl(sv[1], F_DUPFD, CHILD_FD + 2),
           b = fcntl(ep[1], F_DUPFD_CLOEXEC, CHILD_FD + 2);
    if (a < 0 || b < 0 || dup2(a, CHILD_FD) < 0 || dup2(b, CHILD_FD + 1) < 0 ||
        fcntl(CHILD_FD + 1, F_SETFD, FD_CLOEXEC) < 0) {
      e = errno;
      while (write(ep[1], &e, sizeof e) < 0 && errno == EINTR) {
      }
      _exit(127);
    }
    close_from(CHILD_FD + 2, maxfd);
    execve(prog, (char *const *)argv, env);
    e = errno;
    while (write(CHILD_FD + 1, &e, sizeof e) < 0 && errno == EINTR) {
    }
    _exit(127);
  }
  close(ep[1]);
  ep[1] = -1;
  do
    n = read(ep[0], &child_err, sizeof child_err);
  while (n < 0 && errno == EINTR);
  if (n > 0) { /* exec failed */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    r = handoff__px_err(n == (ssize_t)sizeof child_err ? child_err : EIO);
    goto out;
  }
  p->pid = pid;
  c->core.peer.pid = (long)pid; /* the kernel's number, not the child's */
  *chan = c;
  *proc = p;
  c = NULL;
  p = NULL;
  sv[0] = -1;
  r = 0;
out:
  if (c != NULL) {
    handoff_close(c); /* closes sv[0] */
    sv[0] = -1;
  }
  if (sv[0] >= 0) close(sv[0]);
  if (sv[1] >= 0) close(sv[1]);
  if (ep[0] >= 0) close(ep[0]);
  if (ep[1] >= 0) close(ep[1]);
  free(p);
  free(env);
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
      type != SOCK_SEQPACKET)
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

int handoff_wait(handoff_proc_t *p, int timeout_ms, int *exit_code) {
  uint64_t deadline;
  int st, nap = 1;
  pid_t r;
  if (p == NULL) return handoff__err(HANDOFF_EINVAL);
  deadline = handoff__deadline(timeout_ms);
  for (;;) {
    r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) break;
    if (r < 0 && errno != EINTR) return handoff__px_err(errno);
    if (r == 0) {
      int left = handoff__remaining(deadline);
      if (left == 0) return handoff__err(HANDOFF_ETIMEDOUT);
      if (left > 0 && left < nap) nap = left;
      usleep((useconds_t)nap * 1000u);
      if (nap < 20) nap *= 2;
    }
  }
  if (exit_code != NULL)
    *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  free(p);
  return 0;
}

int handoff_kill(handoff_proc_t *p) {
  if (p == NULL) return handoff__err(HANDOFF_EINVAL);
  if (kill(p->pid, SIGKILL) != 0) return handoff__px_err(errno);
  return 0;
}

long handoff_proc_pid(const handoff_proc_t *p) {
  return p != NULL ? (long)p->pid : -1;
}
