/* Peer credentials from the kernel, and the listener's access check. */
#include "posix/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#if HAVE_DECL_LOCAL_PEERCRED
#include <sys/ucred.h>
#endif

#ifndef SOL_LOCAL
#define SOL_LOCAL 0
#endif

int handoff__px_peer_creds(int fd, handoff_peer_t *out) {
  memset(out, 0, sizeof *out);
  out->pid = out->uid = out->gid = -1;
#if HAVE_DECL_SO_PEERCRED /* Linux */
  {
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
      return handoff__px_err(errno);
    out->pid = (long)cr.pid;
    out->uid = (long)cr.uid;
    out->gid = (long)cr.gid;
  }
#elif HAVE_GETPEEREID /* BSD, macOS */
  {
    uid_t u;
    gid_t g;
    if (getpeereid(fd, &u, &g) != 0) return handoff__px_err(errno);
    out->uid = (long)u;
    out->gid = (long)g;
#ifdef LOCAL_PEERPID /* macOS */
    {
      pid_t pid;
      socklen_t len = sizeof pid;
      if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0)
        out->pid = (long)pid;
    }
#endif
  }
#elif HAVE_DECL_LOCAL_PEERCRED
  {
    struct xucred xu;
    socklen_t len = sizeof xu;
    if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xu, &len) != 0)
      return handoff__px_err(errno);
    out->uid = (long)xu.cr_uid;
    out->gid = xu.cr_ngroups > 0 ? (long)xu.cr_groups[0] : -1;
  }
#else
#error "no way to learn a Unix socket peer's credentials on this system"
#endif
  return 0;
}

int handoff__be_admits(handoff_listener_t *l, handoff_chan_t *c) {
  const handoff__px_access_t *acc = &l->access;
  const handoff_peer_t *peer = &c->core.peer;
  if (peer->uid < 0) return handoff__err(HANDOFF_EACCES);
  if (peer->uid == (long)geteuid()) return 0;
  if ((acc->flags & HANDOFF_ALLOW_ANYONE) != 0 ||
      (acc->uid >= 0 && peer->uid == acc->uid) ||
      (acc->gid >= 0 && peer->gid == acc->gid))
    return 0;
  return handoff__err(HANDOFF_EACCES);
}
