/* The POSIX backend's own types and the helpers its files share. */
#ifndef HANDOFF_POSIX_INTERNAL_H
#define HANDOFF_POSIX_INTERNAL_H

#include "config.h"
#include "lib/internal.h"

#include <sys/types.h>
#include <sys/un.h>

/* Largest frame we accept, plus one byte so that MSG_TRUNC can't hide. */
#define HANDOFF__PX_RBUF (HANDOFF__HDR_SIZE + HANDOFF_MAX_DATA + 1)
/* Room for more descriptors than any valid frame carries (Linux's
 * SCM_MAX_FD), so that a peer sending too many shows as EPROTO, not as a
 * truncation. */
#define HANDOFF__PX_FD_ROOM 253

struct handoff_chan {
  int fd;
  handoff_peer_t who; /* the peer, as the kernel told us */
  int failed;     /* sticky HANDOFF_EPROTO / HANDOFF_ECLOSED, or 0 */
  int hello_seen; /* the peer's HELLO has been read */
  /* The fd blocks; a send or receive with a timeout blocks in the kernel
   * under SO_SNDTIMEO / SO_RCVTIMEO, set only when the timeout changes
   * (these hold the values set; -2: not yet). */
  int snd_timeo, rcv_timeo;
  /* Check that received descriptors are sockets.  Off only on a spawned
   * child's channel: its peer is its parent, which chose its program,
   * environment and descriptors, so checking it guards against nothing. */
  int check_socks;
  handoff__limits_t peer;
  /* A message received but not yet returned (the caller's buffers were too
   * small): its descriptors, and its payload at rbuf + HDR_SIZE. */
  int have_pending;
  unsigned pend_nsocks;
  size_t pend_len;
  int pend_fds[HANDOFF_MAX_SOCKS];
  unsigned char rbuf[HANDOFF__PX_RBUF];
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

struct handoff_proc {
  pid_t pid;
};

/* errno -> HANDOFF_E*, recording errno for handoff_last_oserror(). */
int handoff__px_err(int err);
/* An AF_UNIX SOCK_SEQPACKET socket, close-on-exec, non-blocking, no
 * SIGPIPE. */
int handoff__px_socket(int *out);
/* Make fd close-on-exec, non-blocking and SIGPIPE-free (after accept, or
 * for an inherited channel). */
int handoff__px_setup_fd(int fd);
/* Wait for events on fd until deadline: 0, ETIMEDOUT or ESYS. */
int handoff__px_wait(int fd, short events, uint64_t deadline);
/* Send one frame (hdr + data + fds) with one sendmsg.  With timeo NULL
 * each try does not block and poll waits between tries; with a channel's
 * timeo cache the call blocks in the kernel (first_ms: the caller's
 * timeout, so that the cache hits in the steady state). */
int handoff__px_send_frame(int fd, const unsigned char *hdr, size_t hdrlen,
                           const void *data, size_t len, const int *fds,
                           size_t nfds, uint64_t deadline);
int handoff__px_send_frame_timed(int fd, const unsigned char *hdr,
                                 size_t hdrlen, const void *data, size_t len,
                                 const int *fds, size_t nfds,
                                 uint64_t deadline, int *timeo, int first_ms);
/* Read the peer's first frame (HELLO or REFUSE) within deadline. */
int handoff__px_handshake(int fd, uint64_t deadline, handoff__limits_t *lim);
/* Wrap fd in a channel; fd becomes the channel's only on success.  With
 * hello_seen 0 the first frame the peer sends must be its HELLO.  lim: the
 * peer's limits (NULL: ours until its HELLO); who: the peer (NULL:
 * unknown). */
int handoff__px_chan_new(int fd, int hello_seen, const handoff__limits_t *lim,
                         const handoff_peer_t *who, handoff_chan_t **out);

/* The peer's credentials from the kernel (SO_PEERCRED, getpeereid, ...). */
int handoff__px_peer_creds(int fd, handoff_peer_t *out);
/* 1 if the listener's policy admits peer. */
int handoff__px_admits(const handoff__px_access_t *acc,
                       const handoff_peer_t *peer);

#endif /* HANDOFF_POSIX_INTERNAL_H */
