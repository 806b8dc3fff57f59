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
 * Without a cache, or with no time left, it does not block. */
static int next_try(int fd, int opt, int *cache, int *first_ms,
                    uint64_t deadline, int *flags) {
  int ms = *first_ms != -2 ? *first_ms : handoff__remaining(deadline);
  *first_ms = -2;
  if (cache == NULL || ms == 0) {
    *flags |= MSG_DONTWAIT;
    return 0;
  }
  return set_timeo(fd, opt, cache, ms);
}

static void close_fds(const int *fds, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) close(fds[i]);
}

int handoff__px_chan_new(int fd, int hello_seen, const handoff__limits_t *lim,
                         const handoff_peer_t *who, handoff_chan_t **out) {
  handoff_chan_t *c;
  int fl = fcntl(fd, F_GETFL);
  /* Blocking: waits happen in the kernel (SO_*TIMEO), one call each. */
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return handoff__px_err(errno);
  c = malloc(sizeof *c);
  if (c == NULL) return handoff__err(HANDOFF_ENOMEM);
  c->fd = fd;
  c->snd_timeo = c->rcv_timeo = -2;
  c->check_socks = 1;
  memset(&c->who, 0, sizeof c->who);
  c->who.pid = c->who.uid = c->who.gid = -1;
  if (who != NULL) c->who = *who;
  c->failed = 0;
  c->hello_seen = hello_seen;
  c->peer.max_socks = HANDOFF_MAX_SOCKS;
  c->peer.max_data = HANDOFF_MAX_DATA;
  if (lim != NULL) c->peer = *lim;
  c->have_pending = 0;
  c->pend_nsocks = 0;
  c->pend_len = 0;
  *out = c;
  return 0;
}

int handoff__px_send_frame(int fd, const unsigned char *hdr, size_t hdrlen,
                           const void *data, size_t len, const int *fds,
                           size_t nfds, uint64_t deadline) {
  return handoff__px_send_frame_timed(fd, hdr, hdrlen, data, len, fds, nfds,
                                      deadline, NULL, -2);
}

int handoff__px_send_frame_timed(int fd, const unsigned char *hdr,
                                 size_t hdrlen, const void *data, size_t len,
                                 const int *fds, size_t nfds,
                                 uint64_t deadline, int *timeo, int first_ms) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF_MAX_SOCKS)];
  } ctl;
  struct iovec iov[2];
  struct msghdr msg;
  int r;

  memset(&msg, 0, sizeof msg);
  iov[0].iov_base = (void *)hdr;
  iov[0].iov_len = hdrlen;
  iov[1].iov_base = (void *)data;
  iov[1].iov_len = len;
  msg.msg_iov = iov;
  msg.msg_iovlen = len != 0 ? 2 : 1;
  if (nfds != 0) {
    struct cmsghdr *cm;
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  for (;;) {
    int flags = SEND_FLAGS;
    r = next_try(fd, SO_SNDTIMEO, timeo, &first_ms, deadline, &flags);
    if (r != 0) return r;
    /* SOCK_SEQPACKET: a successful sendmsg queued the whole message. */
    if (sendmsg(fd, &msg, flags) >= 0) return 0;
    switch (errno) {
    case EINTR:
      continue;
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      if (timeo != NULL) { /* the kernel waited (or there is no time) */
        if (handoff__remaining(deadline) == 0)
          return handoff__err(HANDOFF_ETIMEDOUT);
        continue;
      }
      r = handoff__px_wait(fd, POLLOUT, deadline);
      if (r != 0) return r;
      continue;
    case EBADF: /* one of fds was closed under us */
      return handoff__oserr(errno, HANDOFF_ENOTSOCK);
    default:
      return handoff__px_err(errno);
    }
  }
}

/* One recvmsg of a whole frame into buf, with its descriptors.  Returns the
 * frame's length (0 at end of stream) or a negative code. */
static long recv_frame(int fd, unsigned char *buf, size_t cap, int *fds,
                       size_t *nfds, int *flags, uint64_t deadline,
                       int *timeo, int first_ms) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * HANDOFF__PX_FD_ROOM)];
  } ctl;
  struct iovec iov;
  struct msghdr msg;
  struct cmsghdr *cm;
  ssize_t n;
  int r;

  for (;;) {
    int fl = RECV_FLAGS;
    r = next_try(fd, SO_RCVTIMEO, timeo, &first_ms, deadline, &fl);
    if (r != 0) return r;
    memset(&msg, 0, sizeof msg);
    iov.iov_base = buf;
    iov.iov_len = cap;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    n = recvmsg(fd, &msg, fl);
    if (n >= 0) break;
    /* Linux reports a peer that closed with unread data as ECONNRESET
     * before the records it had sent us; the error is consumed, so read on
     * and let end-of-stream (0) say the channel is closed. */
    if (errno == EINTR || errno == ECONNRESET) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (timeo != NULL) { /* the kernel waited (or there is no time) */
        if (handoff__remaining(deadline) == 0)
          return handoff__err(HANDOFF_ETIMEDOUT);
        continue;
      }
      r = handoff__px_wait(fd, POLLIN, deadline);
      if (r != 0) return r;
      continue;
    }
    return handoff__px_err(errno);
  }
  *nfds = 0;
  for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
    size_t i, k;
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (i = 0; i < k && *nfds < HANDOFF__PX_FD_ROOM; i++) {
      memcpy(&fds[*nfds], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
#if !HAVE_DECL_MSG_CMSG_CLOEXEC
      fcntl(fds[*nfds], F_SETFD, FD_CLOEXEC);
#endif
      (*nfds)++;
    }
  }
  *flags = msg.msg_flags;
  return (long)n;
}

int handoff__px_handshake(int fd, uint64_t deadline, handoff__limits_t *lim) {
  unsigned char buf[HANDOFF__HELLO_FRAME + 1];
  int fds[HANDOFF__PX_FD_ROOM];
  size_t nfds;
  int flags;
  long n = recv_frame(fd, buf, sizeof buf, fds, &nfds, &flags, deadline,
                      NULL, -2);
  if (n < 0) return (int)n;
  if (n == 0) return handoff__err(HANDOFF_ECLOSED);
  if (nfds != 0 || (flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    close_fds(fds, nfds);
    return handoff__err(HANDOFF_EPROTO);
  }
  return handoff__handshake_parse(buf, (size_t)n, lim); /* records it */
}

/* One thread may send while another receives: the fields both touch are
 * accessed atomically. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static int fail(handoff_chan_t *c, int code) {
  STORE(c->failed, code);
  return handoff__err(code);
}

/* getsockopt(SO_TYPE) fails with ENOTSOCK for anything else, and costs
 * less than fstat (about 240 vs 310 ns here). */
static int is_socket(int fd) {
  int type;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

/* Read frames until one DATA message is pending in c. */
static int read_message(handoff_chan_t *c, uint64_t deadline,
                        int timeout_ms) {
  int fds[HANDOFF__PX_FD_ROOM];
  size_t nfds, i;
  handoff__hdr_t h;
  int flags;
  long n;

  for (;;) {
    n = recv_frame(c->fd, c->rbuf, sizeof c->rbuf, fds, &nfds, &flags,
                   deadline, &c->rcv_timeo, timeout_ms);
    timeout_ms = -2; /* a second frame (after HELLO) waits what is left */
    if (n < 0) {
      if (n == HANDOFF_ECLOSED) STORE(c->failed, HANDOFF_ECLOSED);
      return (int)n;
    }
    if (n == 0) {
      close_fds(fds, nfds);
      return fail(c, HANDOFF_ECLOSED);
    }
    if ((flags & MSG_TRUNC) != 0 ||
        handoff__hdr_decode(c->rbuf, (size_t)n, &h) != 0 ||
        handoff__frame_check(&h, (size_t)n, 0) != 0) {
      close_fds(fds, nfds);
      return fail(c, HANDOFF_EPROTO);
    }
    if (!c->hello_seen) {
      handoff__limits_t lim;
      if (nfds != 0 || handoff__handshake_parse(c->rbuf, (size_t)n, &lim)) {
        close_fds(fds, nfds);
        return fail(c, HANDOFF_EPROTO);
      }
      STORE(c->peer.max_socks, lim.max_socks);
      STORE(c->peer.max_data, lim.max_data);
      c->hello_seen = 1;
      continue;
    }
    if (h.type != HANDOFF__T_DATA) {
      close_fds(fds, nfds);
      return fail(c, HANDOFF_EPROTO);
    }
    if ((flags & MSG_CTRUNC) != 0) {
      /* The kernel dropped descriptors (we ran out): drop the message. */
      close_fds(fds, nfds);
      return handoff__err(HANDOFF_ETRUNC);
    }
    if (nfds != h.nsocks) {
      close_fds(fds, nfds);
      return fail(c, HANDOFF_EPROTO);
    }
    for (i = 0; i < nfds && c->check_socks; i++) {
      if (!is_socket(fds[i])) {
        close_fds(fds, nfds);
        return handoff__err(HANDOFF_ENOTSOCK);
      }
    }
    memcpy(c->pend_fds, fds, sizeof(int) * nfds);
    c->pend_nsocks = (unsigned)nfds;
    c->pend_len = h.len;
    c->have_pending = 1;
    return 0;
  }
}

int handoff_send(handoff_chan_t *c, const handoff_sock_t *socks,
                 size_t nsocks, const void *data, size_t len,
                 int timeout_ms) {
  unsigned char hdr[HANDOFF__HDR_SIZE];
  handoff__limits_t lim;
  size_t i;
  int r;
  if (c != NULL) {
    lim.max_socks = LOAD(c->peer.max_socks);
    lim.max_data = LOAD(c->peer.max_data);
  }
  r = handoff__check_send(c, &lim, socks, nsocks, data, len);
  if (r != 0) return r;
  if ((r = LOAD(c->failed)) != 0) return handoff__err(r);
  for (i = 0; i < nsocks; i++)
    if (!is_socket(socks[i])) return handoff__err(HANDOFF_ENOTSOCK);
  handoff__hdr_encode(hdr, HANDOFF__T_DATA, nsocks, len);
  /* A peer that is gone fails every send by itself; what it sent before
   * stays readable until recv reaches the end of the stream. */
  return handoff__px_send_frame_timed(c->fd, hdr, sizeof hdr, data, len,
                                      socks, nsocks,
                                      handoff__deadline(timeout_ms),
                                      &c->snd_timeo, timeout_ms);
}

int handoff_recv(handoff_chan_t *c, handoff_sock_t *socks, size_t *nsocks,
                 void *data, size_t *len, int timeout_ms) {
  size_t cap_socks, cap_data;
  int r = handoff__check_recv(c, socks, nsocks, data, len, &cap_socks,
                              &cap_data);
  if (r != 0) return r;
  if (!c->have_pending) {
    if ((r = LOAD(c->failed)) != 0) return handoff__err(r);
    r = read_message(c, handoff__deadline(timeout_ms), timeout_ms);
    if (r != 0) return r;
  }
  if (c->pend_nsocks > cap_socks || c->pend_len > cap_data) {
    if (nsocks != NULL) *nsocks = c->pend_nsocks;
    if (len != NULL) *len = c->pend_len;
    return handoff__err(HANDOFF_ETOOBIG);
  }
  if (c->pend_nsocks != 0)
    memcpy(socks, c->pend_fds, sizeof(int) * c->pend_nsocks);
  if (c->pend_len != 0)
    memcpy(data, c->rbuf + HANDOFF__HDR_SIZE, c->pend_len);
  if (nsocks != NULL) *nsocks = c->pend_nsocks;
  if (len != NULL) *len = c->pend_len;
  c->have_pending = 0;
  return 0;
}

int handoff_chan_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  if (c == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  *out = c->fd;
  return 0;
}

void handoff_close(handoff_chan_t *c) {
  if (c == NULL) return;
  if (c->have_pending) close_fds(c->pend_fds, c->pend_nsocks);
  close(c->fd);
  free(c);
}
