/* libFuzzer target for the frame decoder.  The first byte picks a mode:
 *  even: the codec alone (header decode, length check, handshake parse);
 *  odd:  the bytes go as one record through a real POSIX channel and
 *        handoff_recv parses them, with capacities taken from byte 1.
 * Either way: no crash, no leak (ASan), and every failure a known code.
 * Build and run: make fuzz (FUZZ_SECONDS=60 by default). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix/internal.h"

static int known(int r) {
  return r == 0 || (r <= -1 && r >= HANDOFF_ERR_MIN_);
}

static void codec(const uint8_t *d, size_t n) {
  handoff__hdr_t h;
  handoff__limits_t lim;
  if (handoff__hdr_decode(d, n, &h) == 0) {
    if (h.nsocks > HANDOFF_MAX_SOCKS || h.len > HANDOFF_MAX_DATA) abort();
    (void)handoff__frame_check(&h, n, 0);
    (void)handoff__frame_check(&h, n, 628);
  }
  if (!known(handoff__handshake_parse(d, n, &lim))) abort();
}

static void channel(const uint8_t *d, size_t n, unsigned caps) {
  static char buf[HANDOFF_MAX_DATA];
  handoff_sock_t socks[HANDOFF_MAX_SOCKS];
  handoff_chan_t *c;
  size_t ns, len;
  int sv[2], r, i;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) abort();
  if (handoff__px_setup_fd(sv[0]) != 0) abort();
  if (handoff__px_chan_new(sv[0], &c) != 0) abort();
  c->core.hello_seen = (caps & 1) != 0;
  if (send(sv[1], d, n, MSG_NOSIGNAL) != (ssize_t)n) abort();
  close(sv[1]);
  for (i = 0; i < 3; i++) {
    ns = (caps >> 1) & 0x7f;
    len = (caps & 0x80) ? sizeof buf : (caps >> 2);
    if (ns > HANDOFF_MAX_SOCKS) ns = HANDOFF_MAX_SOCKS;
    r = handoff_recv(c, socks, &ns, buf, &len, 0);
    if (!known(r)) abort();
    if (r == 0) {
      size_t k;
      if (ns != 0 || len > HANDOFF_MAX_DATA) abort(); /* no fds were sent */
      for (k = 0; k < ns; k++) close(socks[k]);
    }
  }
  handoff_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n < 2) return 0;
  if ((d[0] & 1) == 0)
    codec(d + 2, n - 2);
  else
    channel(d + 2, n - 2, d[1]);
  return 0;
}
