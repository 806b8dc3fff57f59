/* Channels: one SOCK_SEQPACKET message per handoff message, descriptors as
 * SCM_RIGHTS on it.  One sendmsg and (steady state) one recvmsg each.  With
 * the stream transport (HANDOFF_PX_STREAM) stream.c sends and receives;
 * the rest is shared. */
#include "posix/internal.h"
#include "posix/sigpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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
int handoff__px_next_try(int fd, int opt, int *cache, int *first_ms,
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
  c->check_socks = c->check_sent = HANDOFF__PX_CHECK_UNLESS_SAME_USER;
#if HANDOFF_PX_STREAM
  c->rgot = c->rneed = c->rnfds = 0;
  c->rctrunc = 0;
  c->stail_off = c->stail_len = 0;
#endif
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

#if !HANDOFF_PX_STREAM
/* One sendmsg of the whole frame; SOCK_SEQPACKET queues it whole or not at
 * all.  0, or the errno of the failure (never EINTR). */
static int send_once(int fd, struct msghdr *msg, int flags) {
  handoff__px_sigpipe_t sp;
  int err = 0;
  handoff__px_sigpipe_block(&sp); /* nothing where MSG_NOSIGNAL exists */
  while (sendmsg(fd, msg, flags) < 0 && (err = errno) == EINTR) err = 0;
  handoff__px_sigpipe_restore(&sp);
  return err;
}
#endif

/* Linux counts descriptors in flight against the sender's RLIMIT_NOFILE
 * (per user) and fails sendmsg with ETOOMANYREFS over it, at once, even on
 * a blocking socket.  It passes as the receiver takes them: to a sender it
 * is a full queue, so wait for it as for room, until the deadline
 * (handoff.h: ETIMEDOUT).  Nothing wakes us when it passes: retry after a
 * short sleep.  1 to try again, 0 if err is something else or no time is
 * left. */
#ifdef ETOOMANYREFS
#define ETOOMANYREFS_OR_0 ETOOMANYREFS
#else
#define ETOOMANYREFS_OR_0 0 /* never an errno */
#endif
#define REFS_RETRY_MS 2
int handoff__px_refs_wait(int err, uint64_t deadline) {
  struct timespec ts;
  int left;
  if (err != ETOOMANYREFS_OR_0 || err == 0) return 0;
  left = handoff__remaining(deadline);
  if (left == 0) return 0;
  if (left < 0 || left > REFS_RETRY_MS) left = REFS_RETRY_MS;
  ts.tv_sec = 0;
  ts.tv_nsec = (long)left * 1000000L;
  nanosleep(&ts, NULL); /* EINTR: retry early, harmless */
  return 1;
}

/* Whether *flag (check_socks or check_sent) is on, deciding it at first
 * use, when accept, connect or handoff_inherited has filled in the peer:
 * off for a peer the kernel reports as our own effective user, on for any
 * other, and for a peer it does not name (uid -1: the parent's side of a
 * spawned channel, whose child may run a set-user-ID program or drop
 * privileges).  internal.h says why. */
static int checks(handoff_chan_t *c, int *flag) {
  if (*flag == HANDOFF__PX_CHECK_UNLESS_SAME_USER) {
    long uid = c->core.peer.uid;
    *flag = !(uid >= 0 && (uid_t)uid == geteuid());
  }
  return *flag;
}

int handoff__px_check_send_socks(handoff_chan_t *c, const handoff_sock_t *socks,
                                 size_t nsocks) {
  size_t i;
  if (nsocks == 0 || !checks(c, &c->check_sent)) return 0;
  for (i = 0; i < nsocks; i++)
    if (!is_socket(socks[i])) return handoff__err(HANDOFF_ENOTSOCK);
  return 0;
}

/* Point msg at what is left of the frame hdr + data after sent bytes. */
void handoff__px_frame_msg(struct msghdr *msg, struct iovec iov[2],
                           const unsigned char *hdr, const void *data,
                           size_t len, size_t sent) {
  if (sent < HANDOFF__HDR_SIZE) {
    iov[0].iov_base = (void *)(hdr + sent);
    iov[0].iov_len = HANDOFF__HDR_SIZE - sent;
    iov[1].iov_base = (void *)data;
    iov[1].iov_len = len;
    msg->msg_iovlen = len != 0 ? 2 : 1;
  } else {
    iov[0].iov_base = (unsigned char *)data + (sent - HANDOFF__HDR_SIZE);
    iov[0].iov_len = len - (sent - HANDOFF__HDR_SIZE);
    msg->msg_iovlen = 1;
  }
  msg->msg_iov = iov;
}

void handoff__px_socks_msg(struct msghdr *msg, void *ctl,
                           const handoff_sock_t *socks, size_t nsocks) {
  struct cmsghdr *cm;
  if (nsocks == 0) return;
  memset(ctl, 0, CMSG_SPACE(sizeof(int) * HANDOFF_MAX_SOCKS));
  msg->msg_control = ctl;
  msg->msg_controllen = CMSG_SPACE(sizeof(int) * nsocks);
  cm = CMSG_FIRSTHDR(msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * nsocks);
  memcpy(CMSG_DATA(cm), socks, sizeof(int) * nsocks);
}

int handoff__px_send_err(int r) {
  if (r == ETOOMANYREFS_OR_0) /* still too many in flight at the deadline */
    return handoff__oserr(r, HANDOFF_ETIMEDOUT);
  if (r == EBADF) /* one of socks was closed under us */
    return handoff__oserr(r, HANDOFF_ENOTSOCK);
  return handoff__px_err(r);
}

#if !HANDOFF_PX_STREAM
int handoff__be_send(handoff_chan_t *c, const unsigned char *hdr,
                     const handoff_sock_t *socks, size_t nsocks,
                     const void *data, size_t len, uint64_t deadline,
                     int timeout_ms) {
  handoff__px_ctl_t ctl;
  struct iovec iov[2];
  struct msghdr msg;
  int r, flags;

  r = handoff__px_check_send_socks(c, socks, nsocks);
  if (r != 0) return r;
  memset(&msg, 0, sizeof msg);
  handoff__px_frame_msg(&msg, iov, hdr, data, len, 0);
  handoff__px_socks_msg(&msg, ctl.buf, socks, nsocks);
  for (;;) {
    flags = HANDOFF__PX_NOSIGNAL;
    r = handoff__px_next_try(c->fd, SO_SNDTIMEO, &c->snd_timeo, &timeout_ms,
                             deadline, &flags);
    if (r != 0) return r;
    r = send_once(c->fd, &msg, flags);
    if (r == 0) return 0;
    if (handoff__px_refs_wait(r, deadline)) continue;
    if (r != EAGAIN && r != EWOULDBLOCK) break;
    /* The kernel waited for room (or there is no time left). */
    if (handoff__remaining(deadline) == 0)
      return handoff__err(HANDOFF_ETIMEDOUT);
  }
  return handoff__px_send_err(r);
}
#endif

/* ---- Receiving ---------------------------------------------------------- */

/* How many descriptors fit between cm's data and the end of msg's control
 * buffer. */
static size_t room_after(const struct msghdr *msg, struct cmsghdr *cm) {
  const unsigned char *end =
      (const unsigned char *)msg->msg_control + msg->msg_controllen;
  const unsigned char *data = CMSG_DATA(cm);
  return data < end ? (size_t)(end - data) / sizeof(int) : 0;
}

size_t handoff__px_take_fds(struct msghdr *msg, int *fds, size_t cap) {
  struct cmsghdr *cm;
  size_t i, k, n = 0;
  for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    /* After MSG_CTRUNC macOS leaves the untruncated cmsg_len: read only
     * what the buffer holds (the rest is lost, and the frame ETRUNC). */
    if (k > room_after(msg, cm)) k = room_after(msg, cm);
    for (i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      if (n == cap) { /* more than any frame may carry: not ours to keep */
        close(fd);
        continue;
      }
#if !HAVE_DECL_MSG_CMSG_CLOEXEC
      fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
      fds[n++] = fd;
    }
  }
  return n;
}

#if !HANDOFF_PX_STREAM
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
    r = handoff__px_next_try(c->fd, SO_RCVTIMEO, &c->rcv_timeo, &timeout_ms, deadline,
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
  f->nbeside = handoff__px_take_fds(&msg, f->beside, HANDOFF__BESIDE_ROOM);
  if (n == 0 && f->nbeside == 0 && end_of_stream(c->fd))
    return handoff__err(HANDOFF_ECLOSED);
  f->buf = c->rbuf;
  f->len = (size_t)n; /* a zero-length record: too short, EPROTO */
  f->sock_bytes = 0;
  f->trunc = (msg.msg_flags & MSG_TRUNC) != 0;
  f->ctrunc = (msg.msg_flags & MSG_CTRUNC) != 0;
  return 0;
}
#endif

int handoff__be_import(handoff_chan_t *c, const handoff__frame_t *f,
                       size_t nsocks, handoff_sock_t *out) {
  size_t i;
  if (f->nbeside != nsocks) {
    close_fds(f->beside, f->nbeside);
    return handoff__err(HANDOFF_EPROTO);
  }
  for (i = 0; i < nsocks && checks(c, &c->check_socks); i++) {
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

/* The same descriptor: the kernel reports send room as POLLOUT. */
int handoff__be_send_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  *out = c->fd;
  return 0;
}

void handoff__be_chan_free(handoff_chan_t *c) {
#if HANDOFF_PX_STREAM
  handoff__px_stream_free(c);
#endif
  close(c->fd);
  free(c);
}
