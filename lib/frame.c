/* The frame header codec: fixed 16 bytes, little-endian, the same for
 * 32-bit and 64-bit builds on both backends (doc/protocol.md). */
#include "internal.h"

#include <string.h>

uint32_t handoff__get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

void handoff__put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

void handoff__hdr_encode(unsigned char *out, unsigned type, size_t nsocks,
                         size_t len) {
  handoff__put_u32(out, HANDOFF__MAGIC);
  out[4] = HANDOFF__PROTO_VERSION;
  out[5] = (unsigned char)type;
  out[6] = (unsigned char)nsocks;
  out[7] = (unsigned char)(nsocks >> 8);
  handoff__put_u32(out + 8, (uint32_t)len);
  handoff__put_u32(out + 12, 0);
}

int handoff__hdr_decode(const unsigned char *in, size_t avail,
                        handoff__hdr_t *h) {
  if (avail < HANDOFF__HDR_SIZE) return HANDOFF_EPROTO;
  if (handoff__get_u32(in) != HANDOFF__MAGIC) return HANDOFF_EPROTO;
  if (in[4] != HANDOFF__PROTO_VERSION) return HANDOFF_EPROTO;
  if (handoff__get_u32(in + 12) != 0) return HANDOFF_EPROTO;
  h->type = in[5];
  h->nsocks = (unsigned)in[6] | (unsigned)in[7] << 8;
  h->len = handoff__get_u32(in + 8);
  switch (h->type) {
  case HANDOFF__T_DATA:
    if (h->nsocks > HANDOFF_MAX_SOCKS || h->len > HANDOFF_MAX_DATA)
      return HANDOFF_EPROTO;
    return 0;
  case HANDOFF__T_HELLO:
    return h->nsocks == 0 && h->len == HANDOFF__HELLO_LEN ? 0 : HANDOFF_EPROTO;
  case HANDOFF__T_REFUSE:
    return h->nsocks == 0 && h->len == HANDOFF__REFUSE_LEN ? 0 : HANDOFF_EPROTO;
  default:
    return HANDOFF_EPROTO;
  }
}

int handoff__frame_check(const handoff__hdr_t *h, size_t got,
                         size_t sock_bytes) {
  size_t want = HANDOFF__HDR_SIZE + (size_t)h->nsocks * sock_bytes + h->len;
  return got == want ? 0 : HANDOFF_EPROTO;
}

void handoff__hello_encode(unsigned char *out) {
  handoff__hdr_encode(out, HANDOFF__T_HELLO, 0, HANDOFF__HELLO_LEN);
  handoff__put_u32(out + HANDOFF__HDR_SIZE, HANDOFF_MAX_SOCKS);
  handoff__put_u32(out + HANDOFF__HDR_SIZE + 4, HANDOFF_MAX_DATA);
}

void handoff__refuse_encode(unsigned char *out, int err) {
  handoff__hdr_encode(out, HANDOFF__T_REFUSE, 0, HANDOFF__REFUSE_LEN);
  handoff__put_u32(out + HANDOFF__HDR_SIZE, (uint32_t)-err);
}

int handoff__handshake_parse(const unsigned char *frame, size_t got,
                             handoff__limits_t *lim) {
  handoff__hdr_t h;
  uint32_t reason;
  if (handoff__hdr_decode(frame, got, &h) != 0 ||
      handoff__frame_check(&h, got, 0) != 0)
    return handoff__err(HANDOFF_EPROTO);
  if (h.type == HANDOFF__T_REFUSE) {
    /* Whatever the listener's reason, to us it is a refusal: handoff_connect
     * returns its own documented codes, never the listener's (a "timed
     * out" that took no time, ETRUNC...).  The reason stays readable
     * through handoff_last_oserror(), EACCES for one we do not know. */
    reason = handoff__get_u32(frame + HANDOFF__HDR_SIZE);
    return handoff__oserr(reason >= 1 && reason <= (uint32_t)-HANDOFF_ERR_MIN_
                              ? -(int)reason
                              : HANDOFF_EACCES,
                          HANDOFF_EACCES);
  }
  if (h.type != HANDOFF__T_HELLO) return handoff__err(HANDOFF_EPROTO);
  lim->max_socks = handoff__get_u32(frame + HANDOFF__HDR_SIZE);
  lim->max_data = handoff__get_u32(frame + HANDOFF__HDR_SIZE + 4);
  /* A peer may announce smaller limits than ours; we send within them. */
  if (lim->max_socks > HANDOFF_MAX_SOCKS) lim->max_socks = HANDOFF_MAX_SOCKS;
  if (lim->max_data > HANDOFF_MAX_DATA) lim->max_data = HANDOFF_MAX_DATA;
  return 0;
}
