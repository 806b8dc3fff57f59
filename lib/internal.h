/* What both backends share: the frame codec, argument and name checks,
 * deadlines, and the error helpers.  Internal; never installed. */
#ifndef HANDOFF_INTERNAL_H
#define HANDOFF_INTERNAL_H

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

/* ---- Argument checks --------------------------------------------------- */

/* 0 or HANDOFF_EINVAL. */
int handoff__check_name(const char *name);
/* EINVAL / ETOOBIG checks of handoff_send, against the peer's limits. */
int handoff__check_send(const void *c, const handoff__limits_t *peer,
                        const handoff_sock_t *socks, size_t nsocks,
                        const void *data, size_t len);
/* EINVAL checks of handoff_recv; sets *cap_socks and *cap_data to the
 * caller's capacities. */
int handoff__check_recv(const void *c, const handoff_sock_t *socks,
                        const size_t *nsocks, const void *data,
                        const size_t *len, size_t *cap_socks,
                        size_t *cap_data);

/* ---- Time -------------------------------------------------------------- */

/* Monotonic milliseconds; each backend provides it. */
uint64_t handoff__now_ms(void);
/* UINT64_MAX for "forever" (timeout_ms < 0). */
uint64_t handoff__deadline(int timeout_ms);
/* Milliseconds left until deadline: -1 forever, 0 when passed. */
int handoff__remaining(uint64_t deadline);

/* ---- Errors ------------------------------------------------------------ */

/* Record the OS error behind a failure on this thread and return code. */
int handoff__oserr(int oserr, int code);
/* Record that the failure did not come from the OS and return code. */
int handoff__err(int code);

#endif /* HANDOFF_INTERNAL_H */
