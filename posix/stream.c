/* The stream transport (configure --with-posix-transport=stream, and where
 * AF_UNIX has no SOCK_SEQPACKET): the same frames (doc/protocol.md) back to
 * back on an AF_UNIX SOCK_STREAM socket.
 *
 * Sending: one sendmsg carries the header, the payload and the SCM_RIGHTS
 * control message, which the kernel attaches to the frame's first byte.
 * If the kernel takes only part of the frame, the rest goes out without
 * control data.  A frame whose first byte is in the kernel is sent: if the
 * deadline passes before the rest is, the send still returns 0 and the
 * channel keeps the rest (stail), which the next send writes before its own
 * frame (within its own deadline: ETIMEDOUT, its message unsent, while any
 * of the tail is left) and handoff_close writes within a bounded time.
 *
 * Receiving: read exactly one header, with room for the control message
 * (the descriptors arrive with the frame's first byte), then exactly the
 * payload the header announces: never past the frame's end.  Descriptors
 * arriving after the first byte, or an end of stream inside a frame, are
 * EPROTO; a truncated control message (MSG_CTRUNC) makes the frame ETRUNC,
 * and the frame is still read whole.  A receive that runs out of time in
 * the middle of a frame keeps what it read (rbuf, rfds) and returns
 * ETIMEDOUT; the next one goes on from there.
 *
 * macOS: XNU has been seen to close a descriptor in flight when the sender
 * closed its own copy before the receiver took it (OS X 10.11: node.js
 * issue 7512 / PR 7572; CPython bpo-14669 waits for an acknowledgement on
 * Darwin).  That needs an acknowledgement frame in the protocol and is not
 * done here; see the report of this change. */
#include "posix/internal.h"

#if HANDOFF_PX_STREAM

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix/sigpipe.h"

/* No SIGPIPE where the OS has neither MSG_NOSIGNAL nor SO_NOSIGPIPE: the
 * guard of posix/sigpipe.h (nothing elsewhere); errno is kept. */
static ssize_t send_guarded(int fd, const struct msghdr *msg, const void *buf,
                            size_t len, int flags) {
  handoff__px_sigpipe_t sp;
  ssize_t n;
  handoff__px_sigpipe_block(&sp);
  n = msg != NULL ? sendmsg(fd, msg, flags) : send(fd, buf, len, flags);
  handoff__px_sigpipe_restore(&sp);
  return n;
}
#if HAVE_DECL_MSG_CMSG_CLOEXEC
#define RECV_FLAGS MSG_CMSG_CLOEXEC
#else
#define RECV_FLAGS 0
#endif

/* ---- Sending ------------------------------------------------------------ */

/* Write what is left of the last frame.  0 once nothing is, or a code
 * (ETIMEDOUT: some of it is still left). */
static int flush_tail(handoff_chan_t *c, uint64_t deadline, int *timeout_ms) {
  ssize_t n;
  int r, flags;
  while (c->stail_len > 0) {
    flags = HANDOFF__PX_NOSIGNAL;
    r = handoff__px_next_try(c->fd, SO_SNDTIMEO, &c->snd_timeo, timeout_ms,
                             deadline, &flags);
    if (r != 0) return r;
    n = send_guarded(c->fd, NULL, c->stail + c->stail_off, c->stail_len,
                     flags);
    if (n > 0) {
      c->stail_off += (size_t)n;
      c->stail_len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return handoff__px_send_err(errno);
    if (handoff__remaining(deadline) == 0)
      return handoff__err(HANDOFF_ETIMEDOUT);
  }
  return 0;
}

/* Keep what is left of the frame after sent bytes for the next send. */
static void keep_tail(handoff_chan_t *c, const unsigned char *hdr,
                      const void *data, size_t len, size_t sent) {
  size_t h = sent < HANDOFF__HDR_SIZE ? HANDOFF__HDR_SIZE - sent : 0;
  size_t d = sent < HANDOFF__HDR_SIZE ? 0 : sent - HANDOFF__HDR_SIZE;
  memcpy(c->stail, hdr + (HANDOFF__HDR_SIZE - h), h);
  if (len > d) memcpy(c->stail + h, (const unsigned char *)data + d, len - d);
  c->stail_off = 0;
  c->stail_len = h + (len - d);
}

int handoff__be_send(handoff_chan_t *c, const unsigned char *hdr,
                     const handoff_sock_t *socks, size_t nsocks,
                     const void *data, size_t len, uint64_t deadline,
                     int timeout_ms) {
  handoff__px_ctl_t ctl;
  size_t sent = 0, total = HANDOFF__HDR_SIZE + len;
  struct iovec iov[2];
  struct msghdr msg;
  ssize_t n;
  int r, flags;

  r = handoff__px_check_send_socks(c, socks, nsocks);
  if (r == 0) r = flush_tail(c, deadline, &timeout_ms);
  if (r != 0) return r;
  memset(&msg, 0, sizeof msg);
  handoff__px_frame_msg(&msg, iov, hdr, data, len, 0);
  handoff__px_socks_msg(&msg, ctl.buf, socks, nsocks);
  for (;;) {
    flags = HANDOFF__PX_NOSIGNAL;
    r = handoff__px_next_try(c->fd, SO_SNDTIMEO, &c->snd_timeo, &timeout_ms,
                             deadline, &flags);
    if (r != 0) break;
    n = send_guarded(c->fd, &msg, NULL, 0, flags);
    if (n > 0) {
      sent += (size_t)n;
      if (sent == total) return 0;
      /* The descriptors went with the first byte: the rest goes bare. */
      msg.msg_control = NULL;
      msg.msg_controllen = 0;
      handoff__px_frame_msg(&msg, iov, hdr, data, len, sent);
      continue;
    }
    r = errno;
    if (n < 0 && r == EINTR) continue;
    if (sent == 0 && handoff__px_refs_wait(r, deadline)) continue;
    if (r != EAGAIN && r != EWOULDBLOCK) {
      r = handoff__px_send_err(r);
      break;
    }
    if (handoff__remaining(deadline) == 0) {
      r = handoff__err(HANDOFF_ETIMEDOUT);
      break;
    }
  }
  if (sent == 0 || r == HANDOFF_ECLOSED) return r;
  keep_tail(c, hdr, data, len, sent); /* sent: the rest follows */
  return 0;
}

/* ---- Receiving ---------------------------------------------------------- */

/* One recvmsg of at most want bytes of the current frame into rbuf.  Bytes
 * read (0 at the end of the stream), or a negative code. */
static long read_some(handoff_chan_t *c, size_t want, uint64_t deadline,
                      int *timeout_ms, int *midframe_fds) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF__BESIDE_ROOM)];
  } ctl;
  int fds[HANDOFF__BESIDE_ROOM];
  struct iovec iov;
  struct msghdr msg;
  size_t k, i;
  ssize_t n;
  int r, flags;
  for (;;) {
    memset(&msg, 0, sizeof msg);
    iov.iov_base = c->rbuf + c->rgot;
    iov.iov_len = want;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    flags = RECV_FLAGS;
    r = handoff__px_next_try(c->fd, SO_RCVTIMEO, &c->rcv_timeo, timeout_ms,
                             deadline, &flags);
    if (r != 0) return r;
    n = recvmsg(c->fd, &msg, flags);
    if (n >= 0) break;
    if (errno == EINTR || errno == ECONNRESET) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return handoff__px_err(errno);
    if (handoff__remaining(deadline) == 0)
      return handoff__err(HANDOFF_ETIMEDOUT);
  }
  k = handoff__px_take_fds(&msg, fds, HANDOFF__BESIDE_ROOM);
  if (c->rgot == 0 && n > 0) { /* the frame's first byte */
    memcpy(c->rfds, fds, k * sizeof *fds);
    c->rnfds = k;
    c->rctrunc = (msg.msg_flags & MSG_CTRUNC) != 0;
  } else if (k != 0 || (msg.msg_flags & MSG_CTRUNC) != 0) {
    for (i = 0; i < k; i++) close(fds[i]);
    *midframe_fds = 1;
  }
  return (long)n;
}

/* Hand the frame read so far to lib (bad: it is malformed, EPROTO) and
 * start the next one. */
static int deliver(handoff_chan_t *c, handoff__frame_t *f, int bad) {
  f->buf = c->rbuf;
  f->len = c->rgot;
  f->sock_bytes = 0;
  f->trunc = bad;
  f->ctrunc = c->rctrunc;
  f->nbeside = c->rnfds;
  memcpy(f->beside, c->rfds, c->rnfds * sizeof *c->rfds);
  c->rgot = c->rneed = c->rnfds = 0;
  c->rctrunc = 0;
  return 0;
}

int handoff__be_recv(handoff_chan_t *c, handoff__frame_t *f,
                     uint64_t deadline, int timeout_ms) {
  handoff__hdr_t h;
  int midframe_fds = 0;
  long n;
  for (;;) {
    if (c->rneed == 0 && c->rgot == HANDOFF__HDR_SIZE) {
      /* A header lib will reject ends the frame here (EPROTO). */
      if (handoff__hdr_decode(c->rbuf, c->rgot, &h) != 0)
        return deliver(c, f, 0);
      c->rneed = HANDOFF__HDR_SIZE + h.len;
    }
    if (c->rneed != 0 && c->rgot == c->rneed) return deliver(c, f, 0);
    n = read_some(c, (c->rneed != 0 ? c->rneed : HANDOFF__HDR_SIZE) - c->rgot,
                  deadline, &timeout_ms, &midframe_fds);
    timeout_ms = HANDOFF__WAIT_LEFT;
    if (n < 0) return (int)n; /* ETIMEDOUT: what was read stays */
    if (n == 0 && c->rgot == 0) return handoff__err(HANDOFF_ECLOSED);
    c->rgot += (size_t)n;
    /* Ended inside a frame, or descriptors after its first byte. */
    if (n == 0 || midframe_fds) return deliver(c, f, 1);
  }
}

void handoff__px_stream_free(handoff_chan_t *c) {
  int ms = HANDOFF__HELLO_WAIT_MS;
  size_t i;
  if (c->stail_len > 0)
    (void)flush_tail(c, handoff__deadline(ms), &ms);
  for (i = 0; i < c->rnfds; i++) close(c->rfds[i]);
}

#endif /* HANDOFF_PX_STREAM */
