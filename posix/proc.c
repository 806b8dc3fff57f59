/* The process object: a child started by handoff_spawn, held so that the
 * library never signals or waits for a pid it has not confirmed to be its
 * own unreaped child.  Where the OS has one, the child is held by a
 * descriptor (Linux pidfd, FreeBSD process descriptor), which names that
 * process and no other even after it is reaped.  Elsewhere (other systems,
 * Linux before 5.4) only a pid is held, and kill and wait first ask the
 * kernel (waitid with WNOWAIT) whether the child is still ours and
 * unreaped; the race left there is described in include/handoff.h. */
#include "posix/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#if HAVE_PDFORK
#include <sys/procdesc.h>
#endif

/* ThreadSanitizer intercepts fork but cannot know that a raw clone3 made
 * a process, and takes the child's stores for another thread's. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

#if defined(__linux__) && defined(SYS_pidfd_open) &&                        \
    defined(SYS_pidfd_send_signal)
#define HAVE_PIDFD 1
#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid's idtype for a pidfd (Linux 5.4) */
#endif
#define CLONE_PIDFD_FLAG 0x1000ULL /* <linux/sched.h> CLONE_PIDFD */
#else
#define HAVE_PIDFD 0
#endif

/* handoff_wait's exit code when the exit status is lost. */
#define EXIT_UNKNOWN (-1)
/* Longest sleep between two checks where nothing can be waited on. */
#define MAX_NAP_MS 32

struct handoff_proc {
  pid_t pid;
  /* Linux pidfd or FreeBSD process descriptor (close-on-exec); -1: none. */
  int pidfd;
  /* Without one: the waitable, read end of a pipe whose write end the
   * watcher thread closes when the child exits; -1 until asked for. */
  int exited_rd;
  pthread_t watcher;
};

/* Where a child stands (errors are negative). */
enum { CHILD_RUNNING, CHILD_EXITED, CHILD_GONE /* reaped by someone else */ };

int handoff__px_cloexec_pipe(int fds[2]) {
#if HAVE_PIPE2
  if (pipe2(fds, O_CLOEXEC) == 0) return 0;
  if (errno != ENOSYS) return handoff__px_err(errno);
#endif
  if (pipe(fds) != 0) return handoff__px_err(errno);
  if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return handoff__px_err(e);
  }
  return 0;
}

/* ---- Starting ---------------------------------------------------------- */

#if HAVE_PIDFD
/* Set once a kernel (or a sandbox: seccomp, valgrind) refused clone3 or a
 * pidfd; racing writers all store the same value. */
static volatile sig_atomic_t no_pidfd;
#endif

#if HAVE_PIDFD && defined(SYS_clone3) && !defined(UNDER_TSAN)
static volatile sig_atomic_t no_clone3;

/* clone3 with CLONE_PIDFD: the pidfd exists from the child's first
 * instant.  1 where clone3 is not available, 0 or an error otherwise. */
static int start_clone3(void (*entry)(void *), void *arg, handoff_proc_t *p) {
  struct { /* struct clone_args, version 0 (64 bytes) */
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls;
  } ca;
  int fd = -1;
  long r;
  if (no_clone3) return 1;
  memset(&ca, 0, sizeof ca);
  ca.flags = CLONE_PIDFD_FLAG;
  ca.pidfd = (uint64_t)(uintptr_t)&fd;
  ca.exit_signal = SIGCHLD;
  r = syscall(SYS_clone3, &ca, sizeof ca);
  if (r == 0) entry(arg); /* the child: never returns */
  if (r < 0 && (errno == ENOSYS || errno == EPERM || errno == EINVAL)) {
    no_clone3 = 1;
    return 1;
  }
  if (r < 0) return handoff__px_err(errno);
  p->pid = (pid_t)r;
  p->pidfd = fd;
  return 0;
}
#endif

#if HAVE_PIDFD
/* A pidfd is only useful if waitid takes it (P_PIDFD: Linux 5.4, a year
 * after pidfd_open); otherwise drop it and hold the pid. */
static void check_pidfd(handoff_proc_t *p) {
  siginfo_t si;
  if (p->pidfd < 0) return;
  if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si,
             WEXITED | WNOHANG | WNOWAIT) != 0 &&
      errno == EINVAL) {
    no_pidfd = 1;
    close(p->pidfd);
    p->pidfd = -1;
  }
}
#endif

/* fork (FreeBSD: pdfork), then a pidfd where the kernel has one.  A
 * pdfork child sends no SIGCHLD and is skipped by wait(-1) (P_ALL); only
 * waiting for its own pid, as we do, reaps it. */
static int start_fork(void (*entry)(void *), void *arg, handoff_proc_t *p) {
#if HAVE_PDFORK
  /* PD_DAEMON: closing the descriptor (handoff_proc_free) must not kill. */
  p->pid = pdfork(&p->pidfd, PD_DAEMON | PD_CLOEXEC);
#else
  p->pid = fork();
#endif
  if (p->pid < 0) return handoff__px_err(errno);
  if (p->pid == 0) entry(arg); /* the child: never returns */
#if HAVE_PIDFD
  /* The pid is ours and unreaped unless the application reaps children
   * it did not start (SIGCHLD ignored, waitpid(-1)) and this child has
   * already exited: microseconds after fork, before its exec. */
  if (!no_pidfd) p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
  if (p->pidfd < 0 && errno == ENOSYS) no_pidfd = 1; /* kernel < 5.3 */
  if (p->pidfd < 0) p->pidfd = -1;
#endif
  return 0;
}

int handoff__px_proc_start(void (*entry)(void *), void *arg,
                           handoff_proc_t **out) {
  handoff_proc_t *p = malloc(sizeof *p);
  int r = 1;
  if (p == NULL) return handoff__err(HANDOFF_ENOMEM);
  p->pidfd = p->exited_rd = -1;
#if HAVE_PIDFD && defined(SYS_clone3) && !defined(UNDER_TSAN)
  r = start_clone3(entry, arg, p);
#endif
  if (r == 1) r = start_fork(entry, arg, p);
  if (r != 0) {
    free(p);
    return r;
  }
#if HAVE_PIDFD
  check_pidfd(p);
#endif
  *out = p;
  return 0;
}

long handoff__px_proc_id(const handoff_proc_t *p) { return (long)p->pid; }

/* ---- Asking the kernel ------------------------------------------------- */

/* Where the child stands; with reap, an exited child is reaped and *si
 * holds its status. */
static int child_state(const handoff_proc_t *p, siginfo_t *si, int reap) {
  int flags = WEXITED | WNOHANG | (reap ? 0 : WNOWAIT), r;
  for (;;) {
    memset(si, 0, sizeof *si);
#if HAVE_PIDFD
    if (p->pidfd >= 0)
      r = waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, si, flags);
    else
#endif
      r = waitid(P_PID, (id_t)p->pid, si, flags);
    if (r == 0) return si->si_pid == 0 ? CHILD_RUNNING : CHILD_EXITED;
    if (errno == ECHILD) return CHILD_GONE;
    if (errno != EINTR) return handoff__px_err(errno);
  }
}

static int exit_code_of(const siginfo_t *si) {
  return si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
}

/* ---- Without a process descriptor: a watcher thread -------------------- */

typedef struct {
  pid_t pid;
  int wr;
} watch_t;

/* Waits (without reaping) until the child exits or is reaped by someone
 * else, then closes the pipe's write end: the read end polls readable. */
static void *watch_child(void *arg) {
  watch_t *w = arg;
  siginfo_t si;
  while (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT) != 0 &&
         errno == EINTR) {
  }
  close(w->wr);
  free(w);
  return NULL;
}

static int start_watcher(handoff_proc_t *p) {
  sigset_t all, old;
  int fds[2], r;
  watch_t *w = malloc(sizeof *w);
  if (w == NULL) return handoff__err(HANDOFF_ENOMEM);
  r = handoff__px_cloexec_pipe(fds);
  if (r != 0) {
    free(w);
    return r;
  }
  w->pid = p->pid;
  w->wr = fds[1];
  sigfillset(&all); /* the application's signals go to its own threads */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&p->watcher, NULL, watch_child, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    close(fds[0]);
    close(fds[1]);
    free(w);
    return handoff__px_err(r);
  }
  p->exited_rd = fds[0];
  return 0;
}

/* 1 when fd polls ready within ms (-1: forever), else 0. */
static int ready(int fd, int ms) {
  struct pollfd pf;
  pf.fd = fd;
  pf.events = POLLIN;
  pf.revents = 0;
  return poll(&pf, 1, ms) > 0;
}

/* ---- Public API -------------------------------------------------------- */

/* Release p; joined: the watcher (if any) has seen the exit and ends now. */
static void release(handoff_proc_t *p, int joined) {
  if (p->pidfd >= 0) close(p->pidfd);
  if (p->exited_rd >= 0) {
    close(p->exited_rd);
    if (joined)
      pthread_join(p->watcher, NULL);
    else
      pthread_detach(p->watcher);
  }
  free(p);
}

void handoff__px_proc_reap_failed(handoff_proc_t *p) {
  while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
  }
  release(p, 0);
}

/* Sleep until the child may have exited, at most left ms (-1: forever). */
static void nap_until_exit(const handoff_proc_t *p, int left, int *nap) {
  struct timespec ts;
  if (p->pidfd >= 0 || p->exited_rd >= 0) { /* both poll readable at exit */
    ready(p->pidfd >= 0 ? p->pidfd : p->exited_rd, left);
    return;
  }
  if (left >= 0 && left < *nap) *nap = left;
  ts.tv_sec = *nap / 1000;
  ts.tv_nsec = (long)(*nap % 1000) * 1000000L;
  nanosleep(&ts, NULL);
  if (*nap < MAX_NAP_MS) *nap *= 2;
}

int handoff_wait(handoff_proc_t *p, int timeout_ms, int *exit_code) {
  uint64_t deadline;
  siginfo_t si;
  int st, left, nap = 1;
  if (p == NULL) return handoff__err(HANDOFF_EINVAL);
  deadline = handoff__deadline(timeout_ms);
  for (;;) {
    /* With a watcher, reap only after it has seen the exit: a pid reaped
     * under it could be reused by another child it would then wait for. */
    if (p->exited_rd >= 0 && !ready(p->exited_rd, 0))
      st = CHILD_RUNNING;
    else
      st = child_state(p, &si, 1);
    if (st < 0) return st;
    if (st != CHILD_RUNNING) break;
    left = handoff__remaining(deadline);
    if (left == 0) return handoff__err(HANDOFF_ETIMEDOUT);
    nap_until_exit(p, left, &nap);
  }
  if (exit_code != NULL)
    *exit_code = st == CHILD_EXITED ? exit_code_of(&si) : EXIT_UNKNOWN;
  release(p, 1);
  return st == CHILD_EXITED ? 0 : handoff__err(HANDOFF_ECLOSED);
}

/* SIGKILL to a child just confirmed running and ours. */
static int send_kill(const handoff_proc_t *p) {
#if HAVE_PIDFD
  if (p->pidfd >= 0) {
    if (syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0) == 0 ||
        errno == ESRCH)
      return 0;
    if (errno != ENOSYS) return handoff__px_err(errno);
  }
#elif HAVE_PDFORK
  if (p->pidfd >= 0) {
    if (pdkill(p->pidfd, SIGKILL) == 0 || errno == ESRCH) return 0;
    return handoff__px_err(errno);
  }
#endif
  /* Only a pid: it was ours and unreaped a moment ago (child_state). */
  if (kill(p->pid, SIGKILL) == 0 || errno == ESRCH) return 0;
  return handoff__px_err(errno);
}

int handoff_kill(handoff_proc_t *p) {
  siginfo_t si;
  int st;
  if (p == NULL) return handoff__err(HANDOFF_EINVAL);
  st = child_state(p, &si, 0);
  if (st < 0) return st;
  if (st == CHILD_GONE) return handoff__err(HANDOFF_ECLOSED);
  if (st == CHILD_EXITED) return 0; /* already dead, still ours to reap */
  return send_kill(p);
}

void handoff_proc_free(handoff_proc_t *p) {
  if (p != NULL) release(p, 0);
}

int handoff_proc_waitable(handoff_proc_t *p, handoff_waitable_t *out) {
  int r;
  if (p == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  if (p->pidfd < 0 && p->exited_rd < 0 && (r = start_watcher(p)) != 0)
    return r;
  *out = p->pidfd >= 0 ? p->pidfd : p->exited_rd;
  return 0;
}

long handoff_proc_pid(const handoff_proc_t *p) {
  return p != NULL ? (long)p->pid : -1;
}
