/* Channels: one SOCK_SEQPACKET message per handoff message, descriptors as
 * SCM_RIGHTS on it.  One sendmsg and (steady state) one recvmsg each. */
#include "posix/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#if HAVE_DECL_MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0 /* SO_NOSIGPIPE is set on the socket */
#endif
#if HAVE_DECL_MSG_CMSG_CLOEXEC
#define RECV_FLAGS MSG_CMSG_CLOEXEC
#else
#define RECV_FLAGS 0
#endif

/* Make the next blocking call on fd time out after ms (-1: never), unless
 * that is already set.  0 or a code. */
static int set_timeo(int fd, int opt, int *cache, int ms) {
  struct timeval tv;
  if (*cache == ms) return 0;
  tv.tv_sec = ms < 0 ? 0 : ms / 1000;
  tv.tv_usec = ms < 0 ? 0 : (ms % 1000) * 1000;
  if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) != 0)
    return handoff__px_err(errno);
  *cache = ms;
  return 0;
}

/* How the next try of a send or receive goes: 0 and *flags, or a code.
 * With no time left it does not block; otherwise it blocks in the kernel
 * for the time left (the first try: for the caller's timeout, so that the
 * cache hits in the steady state). */
static int next_try(int fd, int opt, int *cache, int *first_ms,
                    uint64_t deadline, int *flags) {
  int ms = *first_ms != HANDOFF__WAIT_LEFT ? *first_ms
                                           : handoff__remaining(deadline);
  *first_ms = HANDOFF__WAIT_LEFT;
  if (ms == 0) {
    *flags |= MSG_DONTWAIT;
    return 0;
  }
  return set_timeo(fd, opt, cache, ms);
}

static void close_fds(const int *fds, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) close(fds[i]);
}


int handoff__px_chan_new(int fd, handoff_chan_t **out) {
  handoff_chan_t *c;
  int fl = fcntl(fd, F_GETFL);
  /* Blocking: waits happen in the kernel (SO_*TIMEO), one call each. */
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return handoff__px_err(errno);
  c = malloc(sizeof *c);
  if (c == NULL) return handoff__err(HANDOFF_ENOMEM);
  handoff__core_init(&c->core);
  c->fd = fd;
  c->snd_timeo = c->rcv_timeo = HANDOFF__PX_TIMEO_UNSET;
  c->check_socks = 1;
  *out = c;
  return 0;
}

/* ---- Sending ------------------------------------------------------------ */

/* getsockopt(SO_TYPE) fails with ENOTSOCK for anything else, and costs
 * less than fstat (about 240 vs 310 ns here). */
static int is_socket(int fd) {
  int type;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

/* One sendmsg of the whole frame; SOCK_SEQPACKET queues it whole or not at
 * all.  0, or the errno of the failure (never EINTR). */
static int send_once(int fd, struct msghdr *msg, int flags) {
  for (;;) {
    if (sendmsg(fd, msg, flags) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int handoff__be_send(handoff_chan_t *c, const unsigned char *hdr,
                     const handoff_sock_t *socks, size_t nsocks,
                     const void *data, size_t len, uint64_t deadline,
                     int timeout_ms) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAX_SOCKS)];
  } ctl;
  struct iovec iov[2];
  struct msghdr msg;
  size_t i;
  int r, flags;

  for (i = 0; i < nsocks; i++)
    if (!is_socket(socks[i])) return handoff__err(HANDOFF_ENOTSOCK);
  memset(&msg, 0, sizeof msg);
  iov[0].iov_base = (void *)hdr;
  iov[0].iov_len = HANDOFF__HDR_SIZE;
  iov[1].iov_base = (void *)data;
  iov[1].iov_len = len;
  msg.msg_iov = iov;
  msg.msg_iovlen = len != 0 ? 2 : 1;
  if (nsocks != 0) {
    struct cmsghdr *cm;
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nsocks);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nsocks);
    memcpy(CMSG_DATA(cm), socks, sizeof(int) * nsocks);
  }
  for (;;) {
    flags = SEND_FLAGS;
    r = next_try(c->fd, SO_SNDTIMEO, &c->snd_timeo, &timeout_ms, deadline,
                 &flags);
    if (r != 0) return r;
    r = send_once(c->fd, &msg, flags);
    if (r == 0) return 0;
    if (r != EAGAIN && r != EWOULDBLOCK) break;
    /* The kernel waited for room (or there is no time left). */
    if (handoff__remaining(deadline) == 0)
      return handoff__err(HANDOFF_ETIMEDOUT);
  }
  if (r == EBADF) /* one of socks was closed under us */
    return handoff__oserr(r, HANDOFF_ENOTSOCK);
  return handoff__px_err(r);
}

/* ---- Receiving ---------------------------------------------------------- */

/* Move the descriptors of msg's SCM_RIGHTS into f (close-on-exec). */
static void take_fds(struct msghdr *msg, handoff__frame_t *f) {
  struct cmsghdr *cm;
  size_t i, k;
  f->nbeside = 0;
  for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (i = 0; i < k && f->nbeside < HANDOFF__BESIDE_ROOM; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
#if !HAVE_DECL_MSG_CMSG_CLOEXEC
      fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
      f->beside[f->nbeside++] = fd;
    }
  }
}

/* recvmsg returned 0 without descriptors: the end of the stream, or a
 * zero-length record from a live peer (SOCK_SEQPACKET reports both as 0).
 * The peer is gone only if the kernel says it hung up and nothing but the
 * end is left to read. */
static int end_of_stream(int fd) {
  struct pollfd p;
  char b;
  p.fd = fd;
  p.events = POLLIN;
  p.revents = 0;
  if (poll(&p, 1, 0) <= 0 || (p.revents & POLLHUP) == 0) return 0;
  return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* One recvmsg into c->rbuf.  The frame's length, or a negative code. */
static long recv_once(handoff_chan_t *c, struct msghdr *msg, uint64_t deadline,
                      int timeout_ms) {
  ssize_t n;
  int r, flags;
  for (;;) {
    flags = RECV_FLAGS;
    r = next_try(c->fd, SO_RCVTIMEO, &c->rcv_timeo, &timeout_ms, deadline,
                 &flags);
    if (r != 0) return r;
    n = recvmsg(c->fd, msg, flags);
    if (n >= 0) return (long)n;
    /* Linux reports a peer that closed with unread data as ECONNRESET
     * before the records it had sent us; the error is consumed, so read on
     * and let the end of the stream say the channel is closed. */
    if (errno == EINTR || errno == ECONNRESET) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return handoff__px_err(errno);
    /* The kernel waited (or there is no time left). */
    if (handoff__remaining(deadline) == 0)
      return handoff__err(HANDOFF_ETIMEDOUT);
  }
}

int handoff__be_recv(handoff_chan_t *c, handoff__frame_t *f,
                     uint64_t deadline, int timeout_ms) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF__BESIDE_ROOM)];
  } ctl;
  struct iovec iov;
  struct msghdr msg;
  long n;

  memset(&msg, 0, sizeof msg);
  iov.iov_base = c->rbuf;
  iov.iov_len = sizeof c->rbuf;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  n = recv_once(c, &msg, deadline, timeout_ms);
  if (n < 0) return (int)n;
  take_fds(&msg, f);
  if (n == 0 && f->nbeside == 0 && end_of_stream(c->fd))
    return handoff__err(HANDOFF_ECLOSED);
  f->buf = c->rbuf;
  f->len = (size_t)n; /* a zero-length record: too short, EPROTO */
  f->sock_bytes = 0;
  f->trunc = (msg.msg_flags & MSG_TRUNC) != 0;
  f->ctrunc = (msg.msg_flags & MSG_CTRUNC) != 0;
  return 0;
}

int handoff__be_import(handoff_chan_t *c, const handoff__frame_t *f,
                       size_t nsocks, handoff_sock_t *out) {
  size_t i;
  if (f->nbeside != nsocks) {
    close_fds(f->beside, f->nbeside);
    return handoff__err(HANDOFF_EPROTO);
  }
  for (i = 0; i < nsocks && c->check_socks; i++) {
    if (!is_socket(f->beside[i])) {
      close_fds(f->beside, f->nbeside);
      return handoff__err(HANDOFF_ENOTSOCK);
    }
  }
  memcpy(out, f->beside, nsocks * sizeof *out);
  return 0;
}

void handoff__be_discard(handoff_chan_t *c, const handoff__frame_t *f) {
  (void)c;
  close_fds(f->beside, f->nbeside);
}

void handoff__be_close_sock(handoff_sock_t s) { close(s); }

void handoff__be_recv_done(handoff_chan_t *c) { (void)c; }

int handoff__be_chan_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  *out = c->fd;
  return 0;
}

void handoff__be_chan_free(handoff_chan_t *c) {
  close(c->fd);
  free(c);
}
