/* Peer credentials from the kernel, and the listener's access check. */
#include "posix/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#if HAVE_SYS_UCRED_H
#include <sys/ucred.h>
#endif
#if HAVE_UCRED_H
#include <ucred.h>
#endif

#ifndef SOL_LOCAL
#define SOL_LOCAL 0 /* the level of LOCAL_* options on the BSDs and macOS */
#endif

/* One method per system, chosen by configure from what it found (the
 * structures, not only the option names: OpenBSD's SO_PEERCRED fills a
 * struct sockpeercred, not Linux's struct ucred).  configure stops on a
 * system with none of them. */
#if HAVE_DECL_SO_PEERCRED && \
    (HAVE_STRUCT_SOCKPEERCRED || HAVE_STRUCT_UCRED_PID)
/* The same fields under two names: OpenBSD's struct sockpeercred, Linux's
 * struct ucred. */
#if HAVE_STRUCT_SOCKPEERCRED
typedef struct sockpeercred peercred_t;
#else
typedef struct ucred peercred_t;
#endif
static int creds(int fd, handoff_peer_t *out) {
  peercred_t cr;
  socklen_t len = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
    return handoff__px_err(errno);
  out->pid = (long)cr.pid;
  out->uid = (long)cr.uid;
  out->gid = (long)cr.gid;
  return 0;
}
#elif HAVE_GETPEERUCRED /* illumos, Solaris */
static int creds(int fd, handoff_peer_t *out) {
  ucred_t *uc = NULL;
  if (getpeerucred(fd, &uc) != 0) return handoff__px_err(errno);
  out->pid = (long)ucred_getpid(uc); /* -1 if unknown */
  out->uid = (long)ucred_geteuid(uc);
  out->gid = (long)ucred_getegid(uc);
  ucred_free(uc);
  return 0;
}
#elif HAVE_DECL_LOCAL_PEEREID /* NetBSD */
static int creds(int fd, handoff_peer_t *out) {
  struct unpcbid id;
  socklen_t len = sizeof id;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEEREID, &id, &len) != 0)
    return handoff__px_err(errno);
  out->pid = (long)id.unp_pid;
  out->uid = (long)id.unp_euid;
  out->gid = (long)id.unp_egid;
  return 0;
}
#elif HAVE_DECL_LOCAL_PEERCRED /* FreeBSD, DragonFly, macOS */
static int creds(int fd, handoff_peer_t *out) {
  struct xucred xu;
  socklen_t len = sizeof xu;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xu, &len) != 0)
    return handoff__px_err(errno);
  if (xu.cr_version != XUCRED_VERSION)
    return handoff__oserr(EINVAL, HANDOFF_ESYS);
  out->uid = (long)xu.cr_uid;
  /* cr_groups[0] is the effective gid (what getpeereid reports). */
  out->gid = xu.cr_ngroups > 0 ? (long)xu.cr_groups[0] : -1;
#if HAVE_STRUCT_XUCRED_CR_PID /* FreeBSD 13+ */
  out->pid = (long)xu.cr_pid;
#elif HAVE_DECL_LOCAL_PEERPID /* macOS */
  {
    pid_t pid;
    len = sizeof pid;
    if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0)
      out->pid = (long)pid;
  }
#endif
  return 0;
}
#else /* getpeereid only: no pid */
static int creds(int fd, handoff_peer_t *out) {
  uid_t u;
  gid_t g;
  if (getpeereid(fd, &u, &g) != 0) return handoff__px_err(errno);
  out->uid = (long)u;
  out->gid = (long)g;
  return 0;
}
#endif

int handoff__px_peer_creds(int fd, handoff_peer_t *out) {
  memset(out, 0, sizeof *out);
  out->pid = out->uid = out->gid = -1;
  return creds(fd, out);
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
