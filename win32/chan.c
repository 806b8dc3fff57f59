/* The channel: one handoff message is one message of a message-mode named
 * pipe, written by one WriteFile: header, WSAPROTOCOL_INFOW per socket
 * (made by WSADuplicateSocketW for the pipe's peer), payload. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- Process-wide bits ------------------------------------------------- */

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK wsa_start(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  WSADATA wsa;
  int r = WSAStartup(MAKEWORD(2, 2), &wsa);
  (void)once;
  (void)ctx;
  *(int *)param = r;
  return r == 0; /* FALSE: the next caller tries again */
}

/* Never paired with WSACleanup: sockets we hand out outlive any call. */
int handoff__win_wsa_init(void) {
  int r = 0;
  if (!InitOnceExecuteOnce(&wsa_once, wsa_start, &r, NULL))
    return handoff__win_err(r != 0 ? (DWORD)r : GetLastError());
  return 0;
}

uint64_t handoff__now_ms(void) { return GetTickCount64(); }

DWORD handoff__win_wait_ms(uint64_t deadline) {
  int ms = handoff__remaining(deadline);
  return ms < 0 ? INFINITE : (DWORD)ms;
}

/* ---- Channel object ---------------------------------------------------- */

int handoff__win_chan_new(HANDLE pipe, DWORD peer_pid, handoff_chan_t **out) {
  handoff_chan_t *c;
  int r = handoff__win_wsa_init();
  if (r != 0) return r;
  c = calloc(1, sizeof(*c));
  if (c == NULL) return handoff__err(HANDOFF_ENOMEM);
  c->wbuf = malloc(HANDOFF__WIN_MAX_FRAME);
  c->rbuf = malloc(HANDOFF__WIN_MAX_FRAME);
  if (c->wbuf == NULL || c->rbuf == NULL) {
    r = handoff__err(HANDOFF_ENOMEM);
    goto fail;
  }
  c->wev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (c->wev == NULL) goto fail_os;
  c->rev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (c->rev == NULL) goto fail_os;
  c->pipe = pipe;
  c->peer_pid = peer_pid;
  c->peer.max_socks = HANDOFF_MAX_SOCKS;
  c->peer.max_data = HANDOFF_MAX_DATA;
  *out = c;
  return 0;

fail_os:
  r = handoff__win_err(GetLastError());
fail:
  if (c->wev != NULL) CloseHandle(c->wev);
  free(c->wbuf);
  free(c->rbuf);
  free(c);
  return r;
}

/* ---- Raw frame I/O ----------------------------------------------------- */

int handoff__win_write(handoff_chan_t *c, const void *buf, size_t n,
                       uint64_t deadline) {
  DWORD done = 0, err, werr = 0, w;
  memset(&c->wov, 0, sizeof(c->wov));
  c->wov.hEvent = c->wev;
  if (!WriteFile(c->pipe, buf, (DWORD)n, NULL, &c->wov)) {
    err = GetLastError();
    if (err != ERROR_IO_PENDING) return handoff__win_err(err);
    w = WaitForSingleObject(c->wev, handoff__win_wait_ms(deadline));
    if (w != WAIT_OBJECT_0) {
      werr = w == WAIT_TIMEOUT ? 0 : GetLastError();
      CancelIoEx(c->pipe, &c->wov);
    }
  }
  /* After a cancel this also tells whether the write made it anyway. */
  if (!GetOverlappedResult(c->pipe, &c->wov, &done, TRUE)) {
    err = GetLastError();
    if (err != ERROR_OPERATION_ABORTED) return handoff__win_err(err);
    if (werr != 0) return handoff__win_err(werr);
    return handoff__err(HANDOFF_ETIMEDOUT);
  }
  if (done != (DWORD)n) return handoff__err(HANDOFF_ESYS);
  return 0;
}

int handoff__win_read(handoff_chan_t *c, uint64_t deadline, DWORD *got) {
  DWORD err, w;
  if (!c->rpending) {
    memset(&c->rov, 0, sizeof(c->rov));
    c->rov.hEvent = c->rev;
    if (!ReadFile(c->pipe, c->rbuf, HANDOFF__WIN_MAX_FRAME, NULL, &c->rov)) {
      err = GetLastError();
      if (err != ERROR_IO_PENDING && err != ERROR_MORE_DATA)
        return handoff__win_err(err);
    }
    c->rpending = 1;
  }
  if (!HasOverlappedIoCompleted(&c->rov)) {
    /* On timeout the read stays pending: nothing is lost, and the next
     * call waits on the same read. */
    w = WaitForSingleObject(c->rev, handoff__win_wait_ms(deadline));
    if (w == WAIT_TIMEOUT) return handoff__err(HANDOFF_ETIMEDOUT);
    if (w != WAIT_OBJECT_0) return handoff__win_err(GetLastError());
  }
  *got = 0;
  if (!GetOverlappedResult(c->pipe, &c->rov, got, FALSE)) {
    err = GetLastError();
    if (err == ERROR_IO_INCOMPLETE) /* not over: rbuf is still the OS's */
      return handoff__err(HANDOFF_ETIMEDOUT);
  } else {
    err = 0;
  }
  c->rpending = 0;
  if (err == 0) return 0;
  if (err != ERROR_MORE_DATA) return handoff__win_err(err);
  /* Larger than any valid frame: the rest is still in the pipe, so the
   * stream is out of step for good. */
  handoff__win_discard(c, *got);
  InterlockedExchange(&c->failed, HANDOFF_EPROTO);
  return handoff__oserr((int)err, HANDOFF_EPROTO);
}

int handoff__win_send_hello(handoff_chan_t *c, uint64_t deadline) {
  unsigned char hello[HANDOFF__HELLO_FRAME];
  handoff__hello_encode(hello);
  return handoff__win_write(c, hello, sizeof(hello), deadline);
}

/* ---- Sockets in and out ------------------------------------------------ */

static SOCKET import_info(const unsigned char *p) {
  WSAPROTOCOL_INFOW info;
  memcpy(&info, p, HANDOFF__WIN_INFO_SIZE);
  return WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                    &info, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

/* Wine duplicates the handle into our process at WSADuplicateSocketW time;
 * an info we never import leaks it, so even rejected frames are imported. */
void handoff__win_discard(handoff_chan_t *c, DWORD got) {
  const unsigned char *b = c->rbuf;
  size_t n, i;
  SOCKET s;
  if (got < HANDOFF__HDR_SIZE || handoff__get_u32(b) != HANDOFF__MAGIC ||
      b[4] != HANDOFF__PROTO_VERSION || b[5] != HANDOFF__T_DATA)
    return;
  n = (size_t)b[6] | (size_t)b[7] << 8;
  if (n > HANDOFF_MAX_SOCKS) n = HANDOFF_MAX_SOCKS;
  if (n > (got - HANDOFF__HDR_SIZE) / HANDOFF__WIN_INFO_SIZE)
    n = (got - HANDOFF__HDR_SIZE) / HANDOFF__WIN_INFO_SIZE;
  for (i = 0; i < n; i++) {
    s = import_info(b + HANDOFF__HDR_SIZE + i * HANDOFF__WIN_INFO_SIZE);
    if (s != INVALID_SOCKET) closesocket(s);
  }
}

/* Rebuild every socket of the frame in c->rbuf into c->held_socks.  All of
 * them or none: on any failure the rebuilt ones are closed (ETRUNC). */
static int import_all(handoff_chan_t *c, size_t n) {
  size_t i, bad = 0;
  int err = 0;
  for (i = 0; i < n; i++) {
    c->held_socks[i] =
        import_info(c->rbuf + HANDOFF__HDR_SIZE + i * HANDOFF__WIN_INFO_SIZE);
    if (c->held_socks[i] == INVALID_SOCKET) {
      err = WSAGetLastError();
      bad++;
    }
  }
  if (bad == 0) return 0;
  for (i = 0; i < n; i++)
    if (c->held_socks[i] != INVALID_SOCKET) closesocket(c->held_socks[i]);
  return handoff__oserr(err, HANDOFF_ETRUNC);
}

static int fail_frame(handoff_chan_t *c, DWORD got) {
  handoff__win_discard(c, got);
  InterlockedExchange(&c->failed, HANDOFF_EPROTO);
  return handoff__err(HANDOFF_EPROTO);
}

/* Interpret the frame just read: 1 = the peer's HELLO, consumed; 0 = a
 * message, now held in c; or an error. */
static int take_frame(handoff_chan_t *c, DWORD got) {
  handoff__hdr_t h;
  handoff__limits_t lim;
  int r;
  if (handoff__hdr_decode(c->rbuf, got, &h) != 0 ||
      handoff__frame_check(&h, got, HANDOFF__WIN_INFO_SIZE) != 0)
    return fail_frame(c, got);
  if (c->need_hello) {
    if (h.type != HANDOFF__T_HELLO ||
        handoff__handshake_parse(c->rbuf, got, &lim) != 0)
      return fail_frame(c, got);
    c->peer = lim;
    c->need_hello = 0;
    return 1;
  }
  if (h.type != HANDOFF__T_DATA) return fail_frame(c, got);
  r = import_all(c, h.nsocks);
  if (r != 0) return r;
  c->held = 1;
  c->held_nsocks = h.nsocks;
  c->held_len = h.len;
  c->held_off = HANDOFF__HDR_SIZE + h.nsocks * HANDOFF__WIN_INFO_SIZE;
  return 0;
}

/* The pipe's other end is closed or its process has exited. */
static int peer_gone(handoff_chan_t *c) {
  DWORD avail, err, w;
  HANDLE h;
  if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL)) {
    err = GetLastError();
    if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA ||
        err == ERROR_PIPE_NOT_CONNECTED)
      return 1;
  }
  h = OpenProcess(SYNCHRONIZE, FALSE, c->peer_pid);
  if (h == NULL) return GetLastError() == ERROR_INVALID_PARAMETER;
  w = WaitForSingleObject(h, 0);
  CloseHandle(h);
  return w == WAIT_OBJECT_0;
}

/* ---- Public API -------------------------------------------------------- */

int handoff_send(handoff_chan_t *c, const handoff_sock_t *socks,
                 size_t nsocks, const void *data, size_t len,
                 int timeout_ms) {
  WSAPROTOCOL_INFOW info;
  handoff__limits_t lim;
  uint64_t deadline;
  size_t i;
  int r, type, optlen, err;

  if (c == NULL) return handoff__err(HANDOFF_EINVAL);
  lim = c->peer;
  r = handoff__check_send(c, &lim, socks, nsocks, data, len);
  if (r != 0) return r;
  if (c->failed) return handoff__err((int)c->failed);
  deadline = handoff__deadline(timeout_ms);

  /* Check them all before duplicating any: a duplicate cannot be undone.
   * One socket needs no check of its own: if its duplication fails,
   * nothing was duplicated (and each check costs Wine two server calls).
   * ReadFile/WriteFile reset an overlapped event themselves, so nothing
   * here resets them either. */
  for (i = 0; i < nsocks && nsocks > 1; i++) {
    optlen = (int)sizeof(type);
    if (getsockopt(socks[i], SOL_SOCKET, SO_TYPE, (char *)&type, &optlen) ==
        SOCKET_ERROR) {
      err = WSAGetLastError();
      if (err == WSAENOTSOCK || err == ERROR_INVALID_HANDLE)
        return handoff__oserr(err, HANDOFF_ENOTSOCK);
      return handoff__win_err((DWORD)err);
    }
  }
  for (i = 0; i < nsocks; i++) {
    if (WSADuplicateSocketW(socks[i], c->peer_pid, &info) != 0) {
      err = WSAGetLastError();
      if (err == WSAENOTSOCK || err == ERROR_INVALID_HANDLE)
        return handoff__oserr(err, HANDOFF_ENOTSOCK);
      if (peer_gone(c)) return handoff__oserr(err, HANDOFF_ECLOSED);
      return handoff__win_err((DWORD)err);
    }
    memcpy(c->wbuf + HANDOFF__HDR_SIZE + i * HANDOFF__WIN_INFO_SIZE, &info,
           HANDOFF__WIN_INFO_SIZE);
  }
  handoff__hdr_encode(c->wbuf, HANDOFF__T_DATA, nsocks, len);
  if (len != 0)
    memcpy(c->wbuf + HANDOFF__HDR_SIZE + nsocks * HANDOFF__WIN_INFO_SIZE, data,
           len);
  return handoff__win_write(
      c, c->wbuf, HANDOFF__HDR_SIZE + nsocks * HANDOFF__WIN_INFO_SIZE + len,
      deadline);
}

static int recv_once(handoff_chan_t *c, handoff_sock_t *socks, size_t *nsocks,
                     void *data, size_t *len, int timeout_ms) {
  size_t cap_socks, cap_data;
  uint64_t deadline;
  DWORD got;
  int r;

  r = handoff__check_recv(c, socks, nsocks, data, len, &cap_socks,
                          &cap_data);
  if (r != 0) return r;
  if (c->failed) return handoff__err((int)c->failed);

  if (!c->held) {
    deadline = handoff__deadline(timeout_ms);
    do {
      r = handoff__win_read(c, deadline, &got);
      if (r != 0) return r;
      r = take_frame(c, got);
      if (r < 0) return r;
    } while (r == 1);
  }

  /* Too small: keep the message; the next call with room gets it. */
  if (c->held_nsocks > cap_socks || c->held_len > cap_data) {
    if (nsocks != NULL) *nsocks = c->held_nsocks;
    if (len != NULL) *len = c->held_len;
    return handoff__err(HANDOFF_ETOOBIG);
  }
  if (c->held_nsocks != 0)
    memcpy(socks, c->held_socks, c->held_nsocks * sizeof(SOCKET));
  if (c->held_len != 0) memcpy(data, c->rbuf + c->held_off, c->held_len);
  if (nsocks != NULL) *nsocks = c->held_nsocks;
  if (len != NULL) *len = c->held_len;
  c->held = 0;
  return 0;
}

static void arm(handoff_chan_t *c);

int handoff_recv(handoff_chan_t *c, handoff_sock_t *socks, size_t *nsocks,
                 void *data, size_t *len, int timeout_ms) {
  int r = recv_once(c, socks, nsocks, data, len, timeout_ms);
  if (c != NULL && c->waitable) arm(c); /* the event says "next one" again */
  return r;
}

/* Frames still queued for us carry infos that are already handles of ours
 * (WSADuplicateSocketW made them in this process): import and close them.
 * Only what is queued now, so a peer that keeps sending cannot hold us. */
static void drain(handoff_chan_t *c) {
  DWORD avail = 0, got, err;
  if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL)) return;
  while (avail > 0) {
    memset(&c->rov, 0, sizeof(c->rov));
    c->rov.hEvent = c->rev;
    if (!ReadFile(c->pipe, c->rbuf, HANDOFF__WIN_MAX_FRAME, NULL, &c->rov)) {
      err = GetLastError();
      if (err != ERROR_IO_PENDING && err != ERROR_MORE_DATA) return;
    }
    if (!HasOverlappedIoCompleted(&c->rov)) CancelIoEx(c->pipe, &c->rov);
    got = 0;
    if (!GetOverlappedResult(c->pipe, &c->rov, &got, TRUE) &&
        GetLastError() != ERROR_MORE_DATA)
      return;
    handoff__win_discard(c, got);
    if (got == 0 || got >= avail) return;
    avail -= got;
  }
}

/* In an event loop, keep a read pending so that rev is set exactly when a
 * frame is there.  When a read cannot be started (the pipe broke) or a
 * message is held, leave rev set: handoff_recv will report it. */
static void arm(handoff_chan_t *c) {
  DWORD err;
  if (c->held || c->failed) {
    SetEvent(c->rev);
    return;
  }
  if (c->rpending) return;
  memset(&c->rov, 0, sizeof(c->rov));
  c->rov.hEvent = c->rev;
  if (!ReadFile(c->pipe, c->rbuf, HANDOFF__WIN_MAX_FRAME, NULL, &c->rov)) {
    err = GetLastError();
    if (err != ERROR_IO_PENDING && err != ERROR_MORE_DATA) {
      SetEvent(c->rev);
      return;
    }
  }
  c->rpending = 1;
}

int handoff_chan_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  if (c == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  c->waitable = 1;
  arm(c);
  *out = c->rev;
  return 0;
}

void handoff_close(handoff_chan_t *c) {
  DWORD got = 0;
  size_t i;
  if (c == NULL) return;
  /* The kernel writes into rbuf until the read is really over. */
  if (c->rpending) {
    CancelIoEx(c->pipe, &c->rov);
    if (GetOverlappedResult(c->pipe, &c->rov, &got, TRUE) ||
        GetLastError() == ERROR_MORE_DATA)
      handoff__win_discard(c, got);
  }
  if (c->held)
    for (i = 0; i < c->held_nsocks; i++) closesocket(c->held_socks[i]);
  drain(c);
  CloseHandle(c->pipe);
  CloseHandle(c->wev);
  CloseHandle(c->rev);
  free(c->wbuf);
  free(c->rbuf);
  free(c);
}
