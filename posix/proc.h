/* The process object of posix/proc.c, as posix/spawn.c uses it. */
#ifndef HANDOFF_POSIX_PROC_H
#define HANDOFF_POSIX_PROC_H

#include "posix/internal.h"

/* A pipe whose two ends are close-on-exec: atomically with pipe2 where it
 * exists, otherwise set right after pipe (a fork+exec in another thread in
 * between would inherit it; include/handoff.h says so).  0 or an error. */
int handoff__px_cloexec_pipe(int fds[2]);
/* Start a child process that runs entry(arg), which never returns, and
 * hold it as a new *out.  The child is held by a pidfd (Linux: clone3 with
 * CLONE_PIDFD, else fork + pidfd_open) or a process descriptor (FreeBSD
 * pdfork) where the OS has one, else by its pid.  0 or an error. */
int handoff__px_proc_start(void (*entry)(void *), void *arg,
                           handoff_proc_t **out);
/* A child that failed before exec: reap it and free p. */
void handoff__px_proc_reap_failed(handoff_proc_t *p);
/* The child's pid. */
long handoff__px_proc_id(const handoff_proc_t *p);

#endif
