/* The POSIX backend's own types and the helpers its files share. */
#ifndef HANDOFF_POSIX_INTERNAL_H
#define HANDOFF_POSIX_INTERNAL_H

#include "config.h"
#include "lib/internal.h"

#include <sys/types.h>

/* Largest frame we accept, plus one byte so that MSG_TRUNC can't hide. */
#define HANDOFF__PX_RBUF (HANDOFF__HDR_SIZE + HANDOFF_MAX_DATA + 1)
/* A timeout cache that holds no value yet. */
#define HANDOFF__PX_TIMEO_UNSET (-2)

struct handoff_chan {
  handoff__core_t core; /* first: lib's view of the channel */
  int fd;
  /* The fd blocks; a send or receive with a timeout blocks in the kernel
   * under SO_SNDTIMEO / SO_RCVTIMEO, set only when the timeout changes
   * (these hold the values set, or HANDOFF__PX_TIMEO_UNSET). */
  int snd_timeo, rcv_timeo;
  /* Check that received descriptors are sockets.  Off only on a spawned
   * child's channel: its peer is its parent, which chose its program,
   * environment and descriptors, so checking it guards against nothing. */
  int check_socks;
  unsigned char rbuf[HANDOFF__PX_RBUF];
};

/* Who a listener admits beyond its own user (handoff_access_t without the
 * Windows part). */
typedef struct {
  unsigned flags;
  long uid;
  long gid;
} handoff__px_access_t;

struct handoff_listener {
  int fd;
  int lock_fd;
  handoff__px_access_t access;
  char path[108];      /* sizeof(sun_path) on Linux; checked against it */
  char lock_path[116]; /* path's ".lock" sibling */
};

struct handoff_proc {
  pid_t pid;
};

/* errno -> HANDOFF_E*, recording errno for handoff_last_oserror()
 * (error.c). */
int handoff__px_err(int err);

/* socket.c: an AF_UNIX SOCK_SEQPACKET socket, close-on-exec, non-blocking,
 * no SIGPIPE; the same set-up for a descriptor from accept or inherited;
 * waiting for events on fd until deadline (0, ETIMEDOUT or ESYS). */
int handoff__px_socket(int *out);
int handoff__px_setup_fd(int fd);
int handoff__px_wait(int fd, short events, uint64_t deadline);

/* chan.c: wrap fd in a new channel (core initialised: no HELLO seen, peer
 * unknown); fd becomes the channel's only on success. */
int handoff__px_chan_new(int fd, handoff_chan_t **out);

/* peer.c: the peer's credentials from the kernel (SO_PEERCRED,
 * getpeereid, ...). */
int handoff__px_peer_creds(int fd, handoff_peer_t *out);

#endif /* HANDOFF_POSIX_INTERNAL_H */
