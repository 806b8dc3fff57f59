/* No SIGPIPE from a send to a closed peer.  Where MSG_NOSIGNAL exists it
 * goes in the send flags (HANDOFF__PX_NOSIGNAL); else where SO_NOSIGPIPE
 * exists it is set on every socket (handoff__px_setup_fd); else the
 * calling thread blocks SIGPIPE around the send and takes back a SIGPIPE
 * the send raised (handoff__px_sigpipe_block/_restore, which compile to
 * nothing on the first two kinds of systems).
 *
 * Use, on the send path only:
 *   handoff__px_sigpipe_t sp;
 *   handoff__px_sigpipe_block(&sp);
 *   n = sendmsg(fd, &msg, flags | HANDOFF__PX_NOSIGNAL);
 *   handoff__px_sigpipe_restore(&sp);   (errno is kept)
 *
 * Building with -DHANDOFF_FORCE_SIGPIPE_GUARD selects the guard (and no
 * MSG_NOSIGNAL) on any system, to test it where MSG_NOSIGNAL exists. */
#ifndef HANDOFF_POSIX_SIGPIPE_H
#define HANDOFF_POSIX_SIGPIPE_H

#include "config.h"

#include <signal.h>
#include <sys/socket.h>

#if HAVE_DECL_MSG_NOSIGNAL && !defined(HANDOFF_FORCE_SIGPIPE_GUARD)
#define HANDOFF__PX_NOSIGNAL MSG_NOSIGNAL
#define HANDOFF__PX_SIGPIPE_GUARD 0
#elif HAVE_DECL_SO_NOSIGPIPE && !defined(HANDOFF_FORCE_SIGPIPE_GUARD)
#define HANDOFF__PX_NOSIGNAL 0 /* SO_NOSIGPIPE is set on the socket */
#define HANDOFF__PX_SIGPIPE_GUARD 0
#else
#define HANDOFF__PX_NOSIGNAL 0
#define HANDOFF__PX_SIGPIPE_GUARD 1
#endif

/* What the guard saved: the thread's signal mask, whether SIGPIPE was
 * pending before the send (then it is the caller's and stays pending), and
 * whether blocking worked. */
typedef struct {
  sigset_t old_mask;
  int was_pending;
  int blocked;
} handoff__px_sigpipe_t;

/* The guard itself, compiled on every POSIX system so that the tests can
 * run it where the send path does not need it.  block: block SIGPIPE in
 * the calling thread and note whether one was already pending.  restore:
 * take away a SIGPIPE that became pending since block (the send's), then
 * put the thread's mask back; errno is preserved.  No state outside *st.
 * (A SIGPIPE another process sends with kill() while the guard is up can
 * be taken for the send's: the same signal, indistinguishable.) */
void handoff__px_sigpipe_guard_block(handoff__px_sigpipe_t *st);
void handoff__px_sigpipe_guard_restore(handoff__px_sigpipe_t *st);

#if HANDOFF__PX_SIGPIPE_GUARD
#define handoff__px_sigpipe_block(st) handoff__px_sigpipe_guard_block(st)
#define handoff__px_sigpipe_restore(st) handoff__px_sigpipe_guard_restore(st)
#else
#define handoff__px_sigpipe_block(st) ((void)(st))
#define handoff__px_sigpipe_restore(st) ((void)(st))
#endif

#endif /* HANDOFF_POSIX_SIGPIPE_H */
