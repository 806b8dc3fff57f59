/* The SIGPIPE guard for systems with neither MSG_NOSIGNAL nor SO_NOSIGPIPE
 * (posix/sigpipe.h).  A SIGPIPE raised by a write is directed at the
 * writing thread, so while that thread blocks it, it stays pending there
 * and nothing else can take it: sigpending shows it and sigtimedwait with
 * a zero timeout removes it.  The process's disposition of SIGPIPE is never
 * touched (a library must not change it under other threads). */
#include "posix/sigpipe.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static int sigpipe_pending(void) {
  sigset_t pending;
  if (sigpending(&pending) != 0) return 0;
  return sigismember(&pending, SIGPIPE) == 1;
}

void handoff__px_sigpipe_guard_block(handoff__px_sigpipe_t *st) {
  sigset_t pipe_only;
  int e = errno;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  /* Pending already: the caller's (it blocks SIGPIPE itself); a second
   * SIGPIPE would merge with it, so it is left alone at restore. */
  st->was_pending = sigpipe_pending();
  st->blocked = pthread_sigmask(SIG_BLOCK, &pipe_only, &st->old_mask) == 0;
  errno = e;
}

/* Take one pending SIGPIPE without waiting. */
static void take_sigpipe(const sigset_t *pipe_only) {
#if HAVE_SIGTIMEDWAIT
  struct timespec zero;
  zero.tv_sec = 0;
  zero.tv_nsec = 0;
  while (sigtimedwait(pipe_only, NULL, &zero) < 0 && errno == EINTR) {
  }
#else
  /* It is pending on this thread (checked), so sigwait returns at once. */
  int sig;
  sigwait(pipe_only, &sig);
#endif
}

void handoff__px_sigpipe_guard_restore(handoff__px_sigpipe_t *st) {
  sigset_t pipe_only;
  int e = errno;
  if (!st->blocked) return;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  if (!st->was_pending && sigpipe_pending()) take_sigpipe(&pipe_only);
  pthread_sigmask(SIG_SETMASK, &st->old_mask, NULL);
  errno = e;
}
