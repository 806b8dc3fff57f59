/* Rendezvous by name, once for both backends: argument checks, the accept
 * loop (identity from the OS, REFUSE or HELLO at once, the deadline
 * honoured on every turn) and the connect-side handshake. */
#include "internal.h"

int handoff_listen(const char *name, handoff_listener_t **out) {
  return handoff_listen_ex(name, NULL, out);
}

int handoff_listen_ex(const char *name, const handoff_access_t *access,
                      handoff_listener_t **out) {
  if (handoff__check_name(name) != 0 || out == NULL)
    return handoff__err(HANDOFF_EINVAL);
  return handoff__be_listen(name, access, out);
}

/* A connection the backend took: admit it (our HELLO) or refuse it (our
 * REFUSE; the peer learns why, our caller never sees it). */
static int answer(handoff_listener_t *l, handoff_chan_t *c) {
  int r = handoff__be_admits(l, c);
  if (r == HANDOFF_EACCES) {
    (void)handoff__send_refuse(c, HANDOFF_EACCES);
    return r;
  }
  return r != 0 ? r : handoff__send_hello(c);
}

int handoff_accept(handoff_listener_t *l, int timeout_ms,
                   handoff_chan_t **out) {
  uint64_t deadline;
  handoff_chan_t *c;
  int r, turn;
  if (l == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  deadline = handoff__deadline(timeout_ms);
  /* Every turn checks the deadline, not only the OS's "would block": a
   * flood of refused or vanished peers must not hold the caller. */
  for (turn = 0;; turn++) {
    if (turn > 0 && handoff__remaining(deadline) == 0)
      return handoff__err(HANDOFF_ETIMEDOUT);
    r = handoff__be_accept(l, deadline, &c);
    if (r == HANDOFF__AGAIN) continue;
    if (r != 0) return r;
    /* Accept never waits for the peer: who it is comes from the OS, and
     * its HELLO is checked by the first handoff_recv on the channel. */
    r = answer(l, c);
    if (r == 0) {
      *out = c;
      return 0;
    }
    handoff_close(c); /* refused or gone: never returned */
    if (r == HANDOFF_ENOMEM) return r;
  }
}

int handoff_listener_waitable(handoff_listener_t *l, handoff_waitable_t *out) {
  if (l == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  return handoff__be_listener_waitable(l, out);
}

/* The listener's first frame: its HELLO (take its limits) or its REFUSE
 * (EACCES, the listener's reason kept for handoff_last_oserror).  Whatever else it carried is released. */
static int read_answer(handoff_chan_t *c, uint64_t deadline) {
  handoff__core_t *k = HANDOFF__CORE(c);
  handoff__frame_t f;
  handoff__limits_t lim;
  int r = handoff__be_recv(c, &f, deadline, HANDOFF__WAIT_LEFT);
  if (r != 0) return r;
  /* The parse records its failure: a REFUSE's reason stays readable. */
  r = f.trunc || f.nbeside != 0 ? handoff__err(HANDOFF_EPROTO)
                                : handoff__handshake_parse(f.buf, f.len, &lim);
  if (r != 0) {
    handoff__be_discard(c, &f);
    return r;
  }
  HANDOFF__STORE(k->max_socks, (int)lim.max_socks);
  HANDOFF__STORE(k->max_data, (int)lim.max_data);
  k->hello_seen = 1;
  return 0;
}

int handoff_connect(const char *name, int timeout_ms, handoff_chan_t **out) {
  uint64_t deadline;
  handoff_chan_t *c;
  int r;
  if (handoff__check_name(name) != 0 || out == NULL)
    return handoff__err(HANDOFF_EINVAL);
  deadline = handoff__deadline(timeout_ms);
  r = handoff__be_connect(name, deadline, &c);
  if (r != 0) return r;
  r = handoff__send_hello(c);
  /* A listener that refused us may have closed before our HELLO went out:
   * its REFUSE is still there to read. */
  if (r == 0 || r == HANDOFF_ECLOSED) r = read_answer(c, deadline);
  if (r != 0) {
    handoff_close(c);
    return r;
  }
  *out = c;
  return 0;
}
