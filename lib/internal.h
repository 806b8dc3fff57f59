/* What both backends share, and the line between lib/ and a backend.
 *
 * lib/ holds every decision that is the same on both OSes: the wire format
 * (frame.c), name and argument rules (check.c), deadlines (deadline.c), the
 * error table (error.c), the channel state machine with the held message
 * (chan.c), and listen / accept / connect (rendezvous.c).  A backend (posix/,
 * win32/) only does what its OS forces; the section "What a backend
 * provides" at the end of this file lists all of it.  Internal; never
 * installed. */
#ifndef HANDOFF_INTERNAL_H
#define HANDOFF_INTERNAL_H

#include "atomic.h" /* and config.h, before any system header */
#include "handoff.h"

#include <stddef.h>
#include <stdint.h>

/* ---- Wire format (doc/protocol.md) ------------------------------------- */

#define HANDOFF__MAGIC 0x46464F48u /* "HOFF" as bytes on the wire */
#define HANDOFF__PROTO_VERSION 1
#define HANDOFF__HDR_SIZE 16
#define HANDOFF__HELLO_LEN 8  /* u32 max_socks, u32 max_data */
#define HANDOFF__REFUSE_LEN 4 /* u32 reason: a HANDOFF_E* code, negated */

enum {
  HANDOFF__T_HELLO = 1,  /* first frame each way: version and limits */
  HANDOFF__T_DATA = 2,   /* one message: sockets plus payload */
  HANDOFF__T_REFUSE = 3  /* listener to a peer it will not serve */
};

typedef struct {
  unsigned type;
  unsigned nsocks;
  uint32_t len;
} handoff__hdr_t;

/* Write a 16-byte header. */
void handoff__hdr_encode(unsigned char *out, unsigned type, size_t nsocks,
                         size_t len);
/* Parse and validate a header from avail bytes: magic, version, type,
 * reserved bytes, and the limits for the type.  0 or HANDOFF_EPROTO. */
int handoff__hdr_decode(const unsigned char *in, size_t avail,
                        handoff__hdr_t *h);
/* A frame of `got` bytes whose header is h must be exactly
 * HDR_SIZE + h->nsocks * sock_bytes + h->len long.  0 or HANDOFF_EPROTO. */
int handoff__frame_check(const handoff__hdr_t *h, size_t got,
                         size_t sock_bytes);

/* A whole HELLO frame (header and payload) announcing our limits. */
#define HANDOFF__HELLO_FRAME (HANDOFF__HDR_SIZE + HANDOFF__HELLO_LEN)
void handoff__hello_encode(unsigned char *out);
/* A whole REFUSE frame carrying err (a negative HANDOFF_E* code). */
#define HANDOFF__REFUSE_FRAME (HANDOFF__HDR_SIZE + HANDOFF__REFUSE_LEN)
void handoff__refuse_encode(unsigned char *out, int err);

/* Peer limits learned from a handshake. */
typedef struct {
  uint32_t max_socks;
  uint32_t max_data;
} handoff__limits_t;

/* Interpret the first frame of a peer, which must be a HELLO (fills lim) or
 * a REFUSE: HANDOFF_EACCES whatever its reason, with the reason (a
 * HANDOFF_E* code; EACCES if it is not one of ours) recorded for
 * handoff_last_oserror().  Anything else, or another version:
 * HANDOFF_EPROTO.  A failure is recorded here: return it as it is. */
int handoff__handshake_parse(const unsigned char *frame, size_t got,
                             handoff__limits_t *lim);

uint32_t handoff__get_u32(const unsigned char *p);
void handoff__put_u32(unsigned char *p, uint32_t v);

/* ---- Argument and name rules (check.c) ---------------------------------- */

/* 0 or HANDOFF_EINVAL. */
int handoff__check_name(const char *name);
/* The EINVAL checks of handoff_spawn. */
int handoff__check_spawn(const char *const argv[], handoff_chan_t **chan,
                         handoff_proc_t **proc);

/* ---- Time (deadline.c; the clock is the backend's) ----------------------- */

/* UINT64_MAX for "forever" (timeout_ms < 0). */
uint64_t handoff__deadline(int timeout_ms);
/* Milliseconds left until deadline: -1 forever, 0 when passed. */
int handoff__remaining(uint64_t deadline);
/* The timeout_ms argument of a backend call that is not the caller's own
 * timeout: "whatever is left until the deadline". */
#define HANDOFF__WAIT_LEFT (-2)
/* Writing our HELLO or REFUSE into a fresh channel never blocks (it is the
 * first frame in an empty buffer); this only bounds a broken OS. */
#define HANDOFF__HELLO_WAIT_MS 1000

/* ---- Errors (error.c) ---------------------------------------------------- */

/* Record the OS error behind a failure on this thread and return code. */
int handoff__oserr(int oserr, int code);
/* Record that the failure did not come from the OS and return code. */
int handoff__err(int code);

/* ---- The channel core (chan.c) -------------------------------------------- */

/* What every channel is, whatever carries it.  Each backend's
 * struct handoff_chan has this as its first member, named core. */
typedef struct {
  /* One thread may send while another receives; the receiver writes these
   * (at the peer's HELLO, at a failure) while the sender reads them: only
   * through HANDOFF__LOAD / HANDOFF__STORE (lib/atomic.h). */
  handoff__atomic_int max_socks; /* the peer's limits: ours until its HELLO */
  handoff__atomic_int max_data;
  handoff__atomic_int failed; /* sticky ECLOSED / EPROTO, or 0 */
  int hello_seen;           /* the peer's HELLO has been read */
  handoff_peer_t peer;      /* who the peer is, as the OS told us */
  /* A message received but not yet returned (the caller's buffers were too
   * small): its sockets, already ours, and its payload in the backend's
   * receive buffer, which is not reused while held. */
  int held;
  size_t held_nsocks;
  size_t held_len;
  const unsigned char *held_data;
  handoff_sock_t held_socks[HANDOFF_MAX_SOCKS];
} handoff__core_t;

#define HANDOFF__CORE(c) ((handoff__core_t *)(void *)(c))

/* Set a new channel's core: our own limits, no peer HELLO yet, peer
 * unknown (pid/uid/gid -1). */
void handoff__core_init(handoff__core_t *k);
/* Send our HELLO (or a REFUSE carrying err) on a fresh channel. */
int handoff__send_hello(handoff_chan_t *c);
int handoff__send_refuse(handoff_chan_t *c, int err);

/* Room for sockets that travel beside a frame (POSIX descriptors): more
 * than any valid frame carries (Linux's SCM_MAX_FD), so that a peer sending
 * too many shows as EPROTO, not as a truncation. */
#define HANDOFF__BESIDE_ROOM 253

/* One frame as the backend received it. */
typedef struct {
  const unsigned char *buf; /* its bytes, in the channel's receive buffer */
  size_t len;               /* how many */
  size_t sock_bytes;        /* bytes per socket inside the frame (Windows'
                               WSAPROTOCOL_INFOW); 0 if they travel beside */
  int trunc;                /* longer than any valid frame: not all read */
  int ctrunc;               /* the OS dropped sockets that came beside it */
  size_t nbeside;           /* sockets that came beside it, now ours */
  handoff_sock_t beside[HANDOFF__BESIDE_ROOM];
} handoff__frame_t;

/* =========================================================================
 * What a backend provides: this list is all of it.  A third backend writes
 * these, its object layouts (struct handoff_chan with the core first,
 * struct handoff_listener, struct handoff_proc), and the process functions
 * of handoff.h (handoff_spawn, handoff_inherited, handoff_wait,
 * handoff_kill, handoff_proc_pid, handoff_listener_close).  Each returns 0
 * or a HANDOFF_E* code recorded with handoff__err / handoff__oserr.
 * ========================================================================= */

/* Clock: monotonic milliseconds. */
uint64_t handoff__now_ms(void);

/* Send one frame: the 16-byte header hdr, nsocks sockets exported for the
 * peer, len bytes of data; whole or not at all, by deadline.  timeout_ms is
 * the caller's timeout (or HANDOFF__WAIT_LEFT), for backends that cache it.
 * ENOTSOCK if an entry is not a socket (nothing sent), ETIMEDOUT, ECLOSED
 * (the peer is gone; nothing of the peer's is lost by it), ESYS... */
int handoff__be_send(handoff_chan_t *c, const unsigned char *hdr,
                     const handoff_sock_t *socks, size_t nsocks,
                     const void *data, size_t len, uint64_t deadline,
                     int timeout_ms);
/* Receive one frame into f (f->buf stays valid until the next receive).
 * Sockets that came beside it are ours from here: lib hands f to
 * handoff__be_import or handoff__be_discard, exactly one of them.
 * ETIMEDOUT (nothing taken), ECLOSED (end of stream), ESYS... */
int handoff__be_recv(handoff_chan_t *c, handoff__frame_t *f,
                     uint64_t deadline, int timeout_ms);
/* Import the nsocks sockets of an accepted DATA frame into out, all or
 * none.  On error, whatever f carried is released: ETRUNC (sockets lost in
 * transit), ENOTSOCK (not sockets), EPROTO (the sockets do not match the
 * header: lib fails the channel). */
int handoff__be_import(handoff_chan_t *c, const handoff__frame_t *f,
                       size_t nsocks, handoff_sock_t *out);
/* Release whatever a rejected frame carried, as far as that is ours to
 * release. */
void handoff__be_discard(handoff_chan_t *c, const handoff__frame_t *f);
void handoff__be_close_sock(handoff_sock_t s);
/* After each handoff_recv (Windows re-arms its pending read). */
void handoff__be_recv_done(handoff_chan_t *c);
int handoff__be_chan_waitable(handoff_chan_t *c, handoff_waitable_t *out);
int handoff__be_send_waitable(handoff_chan_t *c, handoff_waitable_t *out);
/* Release the transport and the object (held sockets are lib's). */
void handoff__be_chan_free(handoff_chan_t *c);

/* Rendezvous.  listen: the name is checked already.  accept: wait for one
 * connection by deadline and wrap it in a channel whose core.peer the OS
 * filled; HANDOFF__AGAIN if that one went away before we could ask who it
 * is (lib goes on).  admits: 0 if l's policy admits c's peer, else EACCES.
 * connect: open the name's transport by deadline, and a channel whose
 * core.peer the OS filled (ENOENT: nobody listens). */
#define HANDOFF__AGAIN 1
int handoff__be_listen(const char *name, const handoff_access_t *access,
                       handoff_listener_t **out);
int handoff__be_accept(handoff_listener_t *l, uint64_t deadline,
                       handoff_chan_t **out);
int handoff__be_admits(handoff_listener_t *l, handoff_chan_t *c);
int handoff__be_listener_waitable(handoff_listener_t *l,
                                  handoff_waitable_t *out);
int handoff__be_connect(const char *name, uint64_t deadline,
                        handoff_chan_t **out);

#endif /* HANDOFF_INTERNAL_H */
