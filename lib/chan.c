/* The channel state machine, once for both backends: the peer's HELLO
 * first, then only DATA; a failure that sticks; a message held after
 * HANDOFF_ETOOBIG and copied out by the next call with room. */
#include "internal.h"

#include <string.h>

void handoff__core_init(handoff__core_t *k) {
  memset(k, 0, sizeof *k);
  k->limits.max_socks = HANDOFF_MAX_SOCKS;
  k->limits.max_data = HANDOFF_MAX_DATA;
  k->peer.pid = k->peer.uid = k->peer.gid = -1;
}

static int send_frame(handoff_chan_t *c, const unsigned char *frame,
                      size_t len) {
  return handoff__be_send(c, frame, NULL, 0, frame + HANDOFF__HDR_SIZE,
                          len - HANDOFF__HDR_SIZE,
                          handoff__deadline(HANDOFF__HELLO_WAIT_MS),
                          HANDOFF__HELLO_WAIT_MS);
}

int handoff__send_hello(handoff_chan_t *c) {
  unsigned char hello[HANDOFF__HELLO_FRAME];
  handoff__hello_encode(hello);
  return send_frame(c, hello, sizeof hello);
}

int handoff__send_refuse(handoff_chan_t *c, int err) {
  unsigned char refuse[HANDOFF__REFUSE_FRAME];
  handoff__refuse_encode(refuse, err);
  return send_frame(c, refuse, sizeof refuse);
}

static int fail(handoff_chan_t *c, int code) {
  HANDOFF__STORE(HANDOFF__CORE(c)->failed, code);
  return handoff__err(code);
}

/* A frame we will not use: release what it carried; code says whether the
 * channel is failed for good (EPROTO) or only this frame is dropped. */
static int reject(handoff_chan_t *c, const handoff__frame_t *f, int code) {
  handoff__be_discard(c, f);
  return code == HANDOFF_EPROTO ? fail(c, code) : handoff__err(code);
}

/* The peer's first frame must be its HELLO: take its limits. */
static int take_hello(handoff_chan_t *c, const handoff__frame_t *f,
                      const handoff__hdr_t *h) {
  handoff__core_t *k = HANDOFF__CORE(c);
  handoff__limits_t lim;
  if (h->type != HANDOFF__T_HELLO || f->nbeside != 0 ||
      handoff__handshake_parse(f->buf, f->len, &lim) != 0)
    return reject(c, f, HANDOFF_EPROTO);
  HANDOFF__STORE(k->limits.max_socks, lim.max_socks);
  HANDOFF__STORE(k->limits.max_data, lim.max_data);
  k->hello_seen = 1;
  return 0;
}

/* Decide on one received frame: 0 = a message is now held, HANDOFF__AGAIN =
 * the peer's HELLO was taken (read on), or an error. */
static int take_frame(handoff_chan_t *c, const handoff__frame_t *f) {
  handoff__core_t *k = HANDOFF__CORE(c);
  handoff__hdr_t h;
  int r;
  if (f->trunc || handoff__hdr_decode(f->buf, f->len, &h) != 0 ||
      handoff__frame_check(&h, f->len, f->sock_bytes) != 0)
    return reject(c, f, HANDOFF_EPROTO);
  if (!k->hello_seen) {
    r = take_hello(c, f, &h);
    return r != 0 ? r : HANDOFF__AGAIN;
  }
  if (h.type != HANDOFF__T_DATA) return reject(c, f, HANDOFF_EPROTO);
  /* The OS dropped sockets (we ran out): only this message is lost. */
  if (f->ctrunc) return reject(c, f, HANDOFF_ETRUNC);
  r = handoff__be_import(c, f, h.nsocks, k->held_socks);
  if (r != 0) return r == HANDOFF_EPROTO ? fail(c, r) : r;
  k->held = 1;
  k->held_nsocks = h.nsocks;
  k->held_len = h.len;
  k->held_data = f->buf + HANDOFF__HDR_SIZE + h.nsocks * f->sock_bytes;
  return 0;
}

/* Read frames until one DATA message is held. */
static int read_message(handoff_chan_t *c, int timeout_ms) {
  uint64_t deadline = handoff__deadline(timeout_ms);
  handoff__frame_t f;
  int r;
  for (;;) {
    r = handoff__be_recv(c, &f, deadline, timeout_ms);
    timeout_ms = HANDOFF__WAIT_LEFT; /* a frame after HELLO: what is left */
    if (r == HANDOFF_ECLOSED) return fail(c, r);
    if (r != 0) return r;
    r = take_frame(c, &f);
    if (r != HANDOFF__AGAIN) return r;
  }
}

/* Give the held message to the caller, or say what it needs. */
static int copy_out(handoff__core_t *k, handoff_sock_t *socks,
                    size_t *nsocks, void *data, size_t *len) {
  size_t cap_socks = nsocks != NULL ? *nsocks : 0;
  size_t cap_data = len != NULL ? *len : 0;
  int r = 0;
  if (k->held_nsocks > cap_socks || k->held_len > cap_data) {
    r = handoff__err(HANDOFF_ETOOBIG); /* held: the next call gets it */
  } else {
    if (k->held_nsocks != 0)
      memcpy(socks, k->held_socks, k->held_nsocks * sizeof *socks);
    if (k->held_len != 0) memcpy(data, k->held_data, k->held_len);
    k->held = 0;
  }
  if (nsocks != NULL) *nsocks = k->held_nsocks;
  if (len != NULL) *len = k->held_len;
  return r;
}

int handoff_send(handoff_chan_t *c, const handoff_sock_t *socks,
                 size_t nsocks, const void *data, size_t len,
                 int timeout_ms) {
  unsigned char hdr[HANDOFF__HDR_SIZE];
  handoff__core_t *k = HANDOFF__CORE(c);
  int r;
  if (c == NULL || (socks == NULL && nsocks != 0) ||
      (data == NULL && len != 0))
    return handoff__err(HANDOFF_EINVAL);
  if (nsocks > HANDOFF__LOAD(k->limits.max_socks) ||
      len > HANDOFF__LOAD(k->limits.max_data))
    return handoff__err(HANDOFF_ETOOBIG);
  if ((r = HANDOFF__LOAD(k->failed)) != 0) return handoff__err(r);
  handoff__hdr_encode(hdr, HANDOFF__T_DATA, nsocks, len);
  /* A peer that is gone fails every send by itself; what it sent before
   * stays readable until recv reaches the end of the stream. */
  return handoff__be_send(c, hdr, socks, nsocks, data, len,
                          handoff__deadline(timeout_ms), timeout_ms);
}

int handoff_recv(handoff_chan_t *c, handoff_sock_t *socks, size_t *nsocks,
                 void *data, size_t *len, int timeout_ms) {
  handoff__core_t *k = HANDOFF__CORE(c);
  int r = 0;
  if (c == NULL || (socks == NULL && nsocks != NULL && *nsocks != 0) ||
      (data == NULL && len != NULL && *len != 0))
    return handoff__err(HANDOFF_EINVAL);
  if (!k->held) {
    r = HANDOFF__LOAD(k->failed);
    r = r != 0 ? handoff__err(r) : read_message(c, timeout_ms);
  }
  if (r == 0) r = copy_out(k, socks, nsocks, data, len);
  handoff__be_recv_done(c);
  return r;
}

int handoff_chan_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  if (c == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  return handoff__be_chan_waitable(c, out);
}

int handoff_peer(handoff_chan_t *c, handoff_peer_t *out) {
  if (c == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  *out = HANDOFF__CORE(c)->peer;
  return 0;
}

void handoff_close(handoff_chan_t *c) {
  handoff__core_t *k = HANDOFF__CORE(c);
  size_t i;
  if (c == NULL) return;
  for (i = 0; k->held && i < k->held_nsocks; i++)
    handoff__be_close_sock(k->held_socks[i]);
  handoff__be_chan_free(c);
}
