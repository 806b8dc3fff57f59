/* The POSIX backend's own types and the helpers its files share. */
#ifndef HANDOFF_POSIX_INTERNAL_H
#define HANDOFF_POSIX_INTERNAL_H

#include "config.h"
#include "lib/internal.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The channel transport (configure --with-posix-transport): AF_UNIX
 * SOCK_SEQPACKET, one record per frame (chan.c), or SOCK_STREAM where the
 * OS has no SOCK_SEQPACKET for AF_UNIX (macOS, illumos), the frames read by
 * their headers (stream.c).  Every channel socket is of this type. */
#if HANDOFF_PX_STREAM
#define HANDOFF__PX_SOCKTYPE SOCK_STREAM
#else
#define HANDOFF__PX_SOCKTYPE SOCK_SEQPACKET
#endif

/* Largest frame we accept, plus one byte so that MSG_TRUNC can't hide. */
#define HANDOFF__PX_RBUF (HANDOFF__HDR_SIZE + HANDOFF_MAX_DATA + 1)
/* check_socks before a channel's first message with sockets. */
#define HANDOFF__PX_CHECK_UNLESS_SAME_USER (-1)
/* A timeout cache that holds no value yet. */
#define HANDOFF__PX_TIMEO_UNSET (-2)

struct handoff_chan {
  handoff__core_t core; /* first: lib's view of the channel */
  int fd;
  /* The fd blocks; a send or receive with a timeout blocks in the kernel
   * under SO_SNDTIMEO / SO_RCVTIMEO, set only when the timeout changes
   * (these hold the values set, or HANDOFF__PX_TIMEO_UNSET). */
  int snd_timeo, rcv_timeo;
  /* Check that received descriptors are sockets: 1, 0, or
   * HANDOFF__PX_CHECK_UNLESS_SAME_USER until the first message with
   * sockets decides (chan.c).  Off on a spawned child's channel (its peer
   * is its parent, which chose its program, environment and descriptors)
   * and on a named channel whose peer the kernel reports as our own
   * effective user: such a peer can already ptrace us or write our memory
   * (/proc/<pid>/mem), so a check guards against nothing it could not do
   * anyway, and it costs a system call per socket (0.64x raw at 64 sockets
   * per message).  A peer of another user, admitted by a widened access
   * policy, is checked. */
  int check_socks;
  /* Check that descriptors we send are sockets (HANDOFF_ENOTSOCK, nothing
   * sent): the same three states, decided the same way at the first send
   * with sockets, except that a spawned child's side decides too (its
   * peer, the parent, is named by the socketpair's credentials).  The check
   * can only catch the caller's own mistake (a descriptor it chose), so it
   * is made where that mistake could give a descriptor to a process that
   * could not take it from us anyway: a peer of another user, a child
   * (which may have dropped privileges), the parent of a set-user-ID
   * child.  A peer of our own effective user could take any descriptor of
   * ours itself (ptrace, pidfd_getfd, /proc/<pid>/mem), so it gets what we
   * send as given, as sendmsg would, at raw speed: the check cost a system
   * call per socket (0.5x raw on one CPU at 64 per message).  A descriptor
   * that is not open fails sendmsg (EBADF): ENOTSOCK all the same.  The
   * peer's user is the kernel's record of it at connect/listen time (a
   * peer that drops privileges later is still taken for the user it was:
   * handoff.h says so). */
  int check_sent;
  unsigned char rbuf[HANDOFF__PX_RBUF];
#if HANDOFF_PX_STREAM
  /* stream.c: the frame being read (rgot bytes of it in rbuf so far; its
   * length rneed once its header is in, else 0), with the descriptors that
   * came with its first byte; and the tail of a frame whose first bytes
   * (and descriptors) went out, which the next send or close writes first
   * (stail_len bytes from stail + stail_off). */
  size_t rgot, rneed, rnfds;
  int rctrunc;
  int rfds[HANDOFF__BESIDE_ROOM];
  size_t stail_off, stail_len;
  unsigned char stail[HANDOFF__HDR_SIZE + HANDOFF_MAX_DATA];
#endif
};

/* Who a listener admits beyond its own user (handoff_access_t without the
 * Windows part). */
typedef struct {
  unsigned flags;
  long uid;
  long gid;
} handoff__px_access_t;

/* Room for a socket path: sun_path's size, which differs by system (108
 * on Linux, 104 on macOS and the BSDs); a path must fit with its NUL. */
#define HANDOFF__PX_PATH_ROOM sizeof(((struct sockaddr_un *)0)->sun_path)

struct handoff_listener {
  int fd;
  int lock_fd;
  pid_t owner; /* the process that created it: only it removes the name */
  handoff__px_access_t access;
  char path[HANDOFF__PX_PATH_ROOM];      /* "<dir>/<name>.sock" */
  char lock_path[HANDOFF__PX_PATH_ROOM]; /* "<dir>/<name>.lock", as long */
};

/* struct handoff_proc: posix/proc.c, its only user (posix/proc.h). */

/* errno -> HANDOFF_E*, recording errno for handoff_last_oserror()
 * (error.c). */
int handoff__px_err(int err);

/* socket.c: an AF_UNIX HANDOFF__PX_SOCKTYPE socket, close-on-exec, non-blocking,
 * no SIGPIPE; the same set-up for a descriptor from accept or inherited;
 * waiting for events on fd until deadline (0, ETIMEDOUT or ESYS). */
int handoff__px_socket(int *out);
int handoff__px_setup_fd(int fd);
int handoff__px_wait(int fd, short events, uint64_t deadline);

/* chan.c: wrap fd in a new channel (core initialised: no HELLO seen, peer
 * unknown); fd becomes the channel's only on success. */
int handoff__px_chan_new(int fd, handoff_chan_t **out);

/* chan.c, for stream.c: what both transports do the same way.  next_try:
 * set up the next try of a send or receive (chan.c says how); take_fds:
 * move msg's SCM_RIGHTS descriptors into fds (close-on-exec), at most cap,
 * returning how many; refs_wait: 1 if err is ETOOMANYREFS and time is left
 * (after a short sleep), else 0; socks_msg: msg's control part carrying
 * socks (ctl: room for CMSG_SPACE of HANDOFF_MAX_SOCKS descriptors). */
int handoff__px_next_try(int fd, int opt, int *cache, int *first_ms,
                         uint64_t deadline, int *flags);
size_t handoff__px_take_fds(struct msghdr *msg, int *fds, size_t cap);
int handoff__px_refs_wait(int err, uint64_t deadline);
/* Room for the SCM_RIGHTS of a frame's sockets, aligned for cmsghdr. */
typedef union {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAX_SOCKS)];
} handoff__px_ctl_t;
/* Point msg at what is left of the frame hdr + data after sent bytes (0:
 * all of it; one sendmsg of a record transport sends it whole). */
void handoff__px_frame_msg(struct msghdr *msg, struct iovec iov[2],
                           const unsigned char *hdr, const void *data,
                           size_t len, size_t sent);
void handoff__px_socks_msg(struct msghdr *msg, void *ctl,
                           const handoff_sock_t *socks, size_t nsocks);
/* ENOTSOCK if the channel checks what it sends (check_sent) and one of
 * socks is not a socket. */
int handoff__px_check_send_socks(handoff_chan_t *c, const handoff_sock_t *socks,
                                 size_t nsocks);
/* The error of a failed sendmsg with errno err, recorded. */
int handoff__px_send_err(int err);
#if HANDOFF_PX_STREAM
/* stream.c: release what a channel holds of a half-read or half-sent
 * frame (close writes the tail first, within a bounded time). */
void handoff__px_stream_free(handoff_chan_t *c);
#endif

/* peer.c: the peer's credentials from the kernel (SO_PEERCRED,
 * getpeereid, ...). */
int handoff__px_peer_creds(int fd, handoff_peer_t *out);

#endif /* HANDOFF_POSIX_INTERNAL_H */
