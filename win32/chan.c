/* The channel: one handoff message is one message of a message-mode named
 * pipe, written by one WriteFile: header, WSAPROTOCOL_INFOW per socket
 * (made by WSADuplicateSocketW for the pipe's peer), payload. */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* How long handoff_close waits for the peer to take a last message that
 * the pipe could not take at once. */
#define LINGER_MS 1000

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

/* ---- Channel object ---------------------------------------------------- */

int handoff__win_chan_new(HANDLE pipe, handoff_chan_t **out) {
  handoff_chan_t *c;
  int r = handoff__win_wsa_init();
  if (r != 0) return r;
  c = calloc(1, sizeof(*c));
  if (c == NULL) return handoff__err(HANDOFF_ENOMEM);
  handoff__core_init(&c->core);
  c->wbuf = malloc(HANDOFF__WIN_MAX_FRAME);
  c->rbuf = malloc(HANDOFF__WIN_MAX_FRAME);
  if (c->wbuf == NULL || c->rbuf == NULL) {
    r = handoff__err(HANDOFF_ENOMEM);
    goto fail;
  }
  c->wev = CreateEventW(NULL, TRUE, TRUE, NULL); /* set: no write pending */
  if (c->wev == NULL) goto fail_os;
  c->rev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (c->rev == NULL) goto fail_os;
  c->pipe = pipe;
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

/* Start a ReadFile of the next frame (or what is left of one) into rbuf
 * from at, unless one is pending.  0 or the error that kept it from
 * starting. */
static DWORD start_read_at(handoff_chan_t *c, size_t at) {
  DWORD err;
  if (c->rpending) return 0;
  memset(&c->rov, 0, sizeof(c->rov));
  c->rov.hEvent = c->rev;
  if (!ReadFile(c->pipe, c->rbuf + at, (DWORD)(HANDOFF__WIN_MAX_FRAME - at),
                NULL, &c->rov)) {
    err = GetLastError();
    if (err != ERROR_IO_PENDING && err != ERROR_MORE_DATA) return err;
  }
  c->rpending = 1;
  return 0;
}

static DWORD start_read(handoff_chan_t *c) { return start_read_at(c, 0); }

int handoff__be_recv(handoff_chan_t *c, handoff__frame_t *f,
                     uint64_t deadline, int timeout_ms) {
  DWORD err, w, got = 0;
  (void)timeout_ms;
  err = start_read(c);
  if (err != 0) return handoff__win_err(err);
  if (!HasOverlappedIoCompleted(&c->rov)) {
    /* On timeout the read stays pending: nothing is lost, and the next
     * call waits on the same read. */
    w = WaitForSingleObject(c->rev, handoff__win_wait_ms(deadline));
    if (w == WAIT_TIMEOUT) return handoff__err(HANDOFF_ETIMEDOUT);
    if (w != WAIT_OBJECT_0) return handoff__win_err(GetLastError());
  }
  err = GetOverlappedResult(c->pipe, &c->rov, &got, FALSE) ? 0 : GetLastError();
  if (err == ERROR_IO_INCOMPLETE) /* not over: rbuf is still the OS's */
    return handoff__err(HANDOFF_ETIMEDOUT);
  c->rpending = 0;
  if (err != 0 && err != ERROR_MORE_DATA) return handoff__win_err(err);
  memset(f, 0, offsetof(handoff__frame_t, beside));
  f->buf = c->rbuf;
  f->len = got;
  f->sock_bytes = HANDOFF__WIN_INFO_SIZE;
  /* Larger than any valid frame: the rest is still in the pipe, so the
   * stream is out of step for good (lib fails the channel). */
  f->trunc = err == ERROR_MORE_DATA;
  return 0;
}

/* ---- Sockets in and out ------------------------------------------------ */

/* Where an info says its duplicate lives (in the process it was made for): Wine keeps
 * the handle value in dwServiceFlags3 (marked by 0xff00ff00 in
 * dwServiceFlags4: seen here); a provider with IFS handles may keep it in
 * dwProviderReserved, which "is available for the service provider's use
 * and can be used to store any useful context information, including a
 * duplicated handle" ("Shared Sockets in the SPI",
 * https://learn.microsoft.com/windows/win32/winsock/shared-sockets-in-the-spi-2).
 * 0 if neither. */
static ULONG_PTR dup_value(const WSAPROTOCOL_INFOW *info) {
  if (info->dwServiceFlags4 == 0xff00ff00u) return info->dwServiceFlags3;
  if ((info->dwServiceFlags1 & XP1_IFS_HANDLES) != 0)
    return info->dwProviderReserved;
  return 0;
}

/* A received socket keeps the sender's socket state: non-blocking mode,
 * WSAEventSelect/WSAAsyncSelect registration, and an I/O completion port
 * binding (a socket bound to a port in the sender cannot be bound to one
 * in the receiver).  WSA_FLAG_NO_HANDLE_INHERIT asks for a handle no child
 * inherits; it is also cleared explicitly, as a provider may ignore the
 * flag (it was added in Windows 7 SP1).  Only infos of a peer that could
 * have put handles into this process come here (peer_can_dup, peer.c).
 * One WSASocketW does not adopt is still a handle of ours, made by the
 * peer's WSADuplicateSocketW: it is closed, so a failed import leaks
 * nothing (a forged value names nothing such a peer could not close
 * itself).  *err: WSASocketW's error. */
static SOCKET import_info(const unsigned char *p, int *err) {
  WSAPROTOCOL_INFOW info;
  ULONG_PTR value;
  SOCKET s;
  memcpy(&info, p, HANDOFF__WIN_INFO_SIZE);
  s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                 &info, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s != INVALID_SOCKET) {
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    return s;
  }
  *err = WSAGetLastError();
  if ((value = dup_value(&info)) != 0) CloseHandle((HANDLE)value);
  return INVALID_SOCKET;
}

/* Import and close the n infos at p. */
static void close_infos(const unsigned char *p, size_t n) {
  size_t i;
  SOCKET s;
  int err;
  for (i = 0; i < n; i++) {
    s = import_info(p + i * HANDOFF__WIN_INFO_SIZE, &err);
    if (s != INVALID_SOCKET) closesocket(s);
  }
}

/* How many infos a whole frame of got bytes at b carries, whatever its
 * header counts or its type: what its payload length leaves room for
 * when that fits, else every whole info's room after the header (bytes
 * that are no info fail to import). */
static size_t infos_in(const unsigned char *b, size_t got) {
  size_t room, len;
  if (got < HANDOFF__HDR_SIZE) return 0;
  room = got - HANDOFF__HDR_SIZE;
  len = handoff__get_u32(b + 8);
  if (len <= room && (room - len) % HANDOFF__WIN_INFO_SIZE == 0)
    return (room - len) / HANDOFF__WIN_INFO_SIZE;
  return room / HANDOFF__WIN_INFO_SIZE;
}

/* Read what is left of an over-long message whose first got bytes are in
 * rbuf (its infos there are closed already), closing every info it
 * carries: they sit at the header plus whole infos.  The rest is in the
 * pipe already (a message is written whole), so this does not wait for
 * the peer.  The bytes read. */
static size_t discard_rest(handoff_chan_t *c, size_t got) {
  size_t keep = (got - HANDOFF__HDR_SIZE) % HANDOFF__WIN_INFO_SIZE;
  size_t total = 0, have;
  DWORD n, err;
  do {
    memmove(c->rbuf, c->rbuf + got - keep, keep);
    if (start_read_at(c, keep) != 0) return total;
    n = 0;
    err = GetOverlappedResult(c->pipe, &c->rov, &n, TRUE) ? 0 : GetLastError();
    c->rpending = 0;
    if (err != 0 && err != ERROR_MORE_DATA) return total;
    total += n;
    have = got = keep + n;
    close_infos(c->rbuf, have / HANDOFF__WIN_INFO_SIZE);
    keep = have % HANDOFF__WIN_INFO_SIZE;
  } while (err == ERROR_MORE_DATA);
  return total;
}

/* Release what a message we will not use carried (got bytes in rbuf;
 * more: the rest of it is still in the pipe).  A peer that could not have
 * put handles here gets nothing imported, not even to close it.  The
 * bytes of the message consumed. */
static size_t discard_msg(handoff_chan_t *c, size_t got, int more) {
  if (!c->peer_can_dup || got < HANDOFF__HDR_SIZE) return got;
  if (!more) {
    close_infos(c->rbuf + HANDOFF__HDR_SIZE, infos_in(c->rbuf, got));
    return got;
  }
  close_infos(c->rbuf + HANDOFF__HDR_SIZE,
              (got - HANDOFF__HDR_SIZE) / HANDOFF__WIN_INFO_SIZE);
  return got + discard_rest(c, got);
}

void handoff__be_discard(handoff_chan_t *c, const handoff__frame_t *f) {
  (void)discard_msg(c, f->len, f->trunc);
}

/* All of them or none: on any failure the rebuilt ones are closed.  From
 * a peer that could not have made them, infos are EPROTO and untouched. */
int handoff__be_import(handoff_chan_t *c, const handoff__frame_t *f,
                       size_t nsocks, handoff_sock_t *out) {
  size_t i, bad = 0;
  int err = 0;
  if (nsocks != 0 && !c->peer_can_dup)
    return handoff__oserr(ERROR_ACCESS_DENIED, HANDOFF_EPROTO);
  for (i = 0; i < nsocks; i++) {
    out[i] = import_info(f->buf + HANDOFF__HDR_SIZE +
                             i * HANDOFF__WIN_INFO_SIZE,
                         &err);
    if (out[i] == INVALID_SOCKET) bad++;
  }
  if (bad == 0) return 0;
  for (i = 0; i < nsocks; i++)
    if (out[i] != INVALID_SOCKET) closesocket(out[i]);
  return handoff__oserr(err, HANDOFF_ETRUNC);
}

void handoff__be_close_sock(handoff_sock_t s) { closesocket(s); }

/* The pipe's other end is closed or its process has exited. */
static int peer_gone(handoff_chan_t *c) {
  DWORD avail, err;
  if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL)) {
    err = GetLastError();
    if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA ||
        err == ERROR_PIPE_NOT_CONNECTED)
      return 1;
  }
  return c->peer_proc != NULL &&
         WaitForSingleObject(c->peer_proc, 0) == WAIT_OBJECT_0;
}

typedef BOOL(WINAPI *compare_fn)(HANDLE, HANDLE);

/* CompareObjectHandles (Windows 10 and later; Wine has it), or NULL. */
static compare_fn compare_handles(void) {
  static compare_fn fn;
  static volatile LONG looked;
  HMODULE m;
  if (!InterlockedCompareExchange(&looked, 1, 0)) {
    m = GetModuleHandleW(L"kernelbase.dll");
    if (m != NULL)
      fn = (compare_fn)(void (*)(void))GetProcAddress(m,
                                                      "CompareObjectHandles");
  }
  return fn;
}

/* Close the peer's handle value if it is a duplicate of sock: only a
 * handle that really is one (where the OS can tell: CompareObjectHandles)
 * is closed, so a provider that keeps something else in the info never
 * makes us close an unrelated handle of the peer. */
static void revoke_one(HANDLE peer, ULONG_PTR value, SOCKET sock) {
  compare_fn same = compare_handles();
  HANDLE mine;
  BOOL ours;
  if (!DuplicateHandle(peer, (HANDLE)value, GetCurrentProcess(), &mine, 0,
                       FALSE, DUPLICATE_SAME_ACCESS))
    return;
  ours = same == NULL || same(mine, (HANDLE)sock);
  CloseHandle(mine);
  if (ours && DuplicateHandle(peer, (HANDLE)value, GetCurrentProcess(), &mine,
                              0, FALSE, DUPLICATE_CLOSE_SOURCE))
    CloseHandle(mine);
}

/* Take back the first n duplicates made for the peer (their infos in
 * wbuf): the frame that would have named them was never delivered, so the
 * peer cannot know them, and without this they would live in its process
 * until it exits (the remote end of a TCP connection would never see EOF).
 * WSADuplicateSocketW has already put each one into the peer ("Shared
 * Sockets in the SPI": the provider "performs whatever operations are
 * needed in the source process context"); DuplicateHandle with
 * DUPLICATE_CLOSE_SOURCE through our handle on the peer closes it there
 * ("DuplicateHandle",
 * https://learn.microsoft.com/windows/win32/api/handleapi/nf-handleapi-duplicatehandle),
 * and we close our copy.  Verified under Wine (the remote end sees EOF).
 * A provider that keeps the value nowhere we can read leaves its
 * duplicate in the peer until the peer exits; Windows 10 and later have no
 * such provider for TCP/IP (layered service providers are deprecated). */
static void revoke(handoff_chan_t *c, const handoff_sock_t *socks, size_t n) {
  WSAPROTOCOL_INFOW info;
  ULONG_PTR value;
  size_t i;
  for (i = 0; i < n; i++) {
    memcpy(&info, c->wbuf + HANDOFF__HDR_SIZE + i * HANDOFF__WIN_INFO_SIZE,
           HANDOFF__WIN_INFO_SIZE);
    value = dup_value(&info);
    if (value != 0 && socks[i] != INVALID_SOCKET)
      revoke_one(c->peer_proc, value, socks[i]);
  }
}

/* Duplicate each socket for the peer into its info in wbuf.  On failure
 * the ones already made are revoked.  No separate "is it a socket" check
 * first: a failing duplication is undone by the revocation. */
static int export_socks(handoff_chan_t *c, const handoff_sock_t *socks,
                        size_t nsocks) {
  WSAPROTOCOL_INFOW info;
  size_t i;
  int err;
  if (nsocks == 0) return 0;
  /* Without its process we cannot keep the id from naming another one. */
  if (c->peer_proc == NULL)
    return handoff__oserr(ERROR_ACCESS_DENIED, HANDOFF_ESYS);
  if (WaitForSingleObject(c->peer_proc, 0) == WAIT_OBJECT_0)
    return handoff__oserr(ERROR_BROKEN_PIPE, HANDOFF_ECLOSED);
  for (i = 0; i < nsocks; i++) {
    if (WSADuplicateSocketW(socks[i], (DWORD)c->core.peer.pid, &info) != 0) {
      err = WSAGetLastError();
      revoke(c, socks, i);
      if (err == WSAENOTSOCK || err == ERROR_INVALID_HANDLE)
        return handoff__oserr(err, HANDOFF_ENOTSOCK);
      if (peer_gone(c)) return handoff__oserr(err, HANDOFF_ECLOSED);
      return handoff__win_err((DWORD)err);
    }
    memcpy(c->wbuf + HANDOFF__HDR_SIZE + i * HANDOFF__WIN_INFO_SIZE, &info,
           HANDOFF__WIN_INFO_SIZE);
  }
  return 0;
}

/* ---- Writes ------------------------------------------------------------ */

/* A message the pipe cannot take at once stays in wbuf with its write
 * pending: it is ours to deliver from then on, as bytes in a POSIX socket
 * buffer are the kernel's, and handoff_send has returned 0 for it.  The
 * next send first waits (by its own deadline) for that write to end, so a
 * send that times out has duplicated nothing.  wev is set whenever no write is pending: the send
 * waitable.  ReadFile/WriteFile reset their event themselves. */

/* The pending write is over, with err (0: delivered).  A failed or
 * cancelled one keeps its duplicates in the peer.  The caller may have
 * closed its sockets, so nothing can check what the infos name
 * (revoke_one), and a failed write does not prove the message unread:
 * Wine lets a reader take a pending write's data (handoff_close drains the
 * pipe) and still fails the write when the reader then closes its end.
 * Closing the named values then closed handles the reader had already
 * imported, closed and reused (seen: the test process lost its stdout in
 * the transfer suite).  Keeping our own copies to compare against made
 * Wine 8's server hang.  So a message whose write went pending and then
 * failed can leave its duplicates in a peer that closed its end unread,
 * until that peer exits. */
static int end_pending(handoff_chan_t *c, DWORD err) {
  c->wpending = 0;
  return err == 0 ? 0 : handoff__win_err(err);
}

/* Wait by deadline for the pending write to end.  0 (none pending, or it
 * was delivered), ETIMEDOUT (still pending), or what it failed with. */
static int finish_write(handoff_chan_t *c, uint64_t deadline) {
  DWORD done, w;
  if (!c->wpending) return 0;
  w = WaitForSingleObject(c->wev, handoff__win_wait_ms(deadline));
  if (w == WAIT_TIMEOUT) return handoff__err(HANDOFF_ETIMEDOUT);
  if (w != WAIT_OBJECT_0) return handoff__win_err(GetLastError());
  return end_pending(c, GetOverlappedResult(c->pipe, &c->wov, &done, FALSE)
                            ? 0
                            : GetLastError());
}

/* Hand the n bytes of wbuf to the pipe: 0 once it has them or the write is
 * pending. */
static int start_write(handoff_chan_t *c, size_t n) {
  DWORD err;
  memset(&c->wov, 0, sizeof(c->wov));
  c->wov.hEvent = c->wev;
  if (WriteFile(c->pipe, c->wbuf, (DWORD)n, NULL, &c->wov)) return 0;
  err = GetLastError();
  if (err == ERROR_IO_PENDING) {
    c->wpending = 1;
    return 0;
  }
  SetEvent(c->wev); /* nothing pending */
  return handoff__win_err(err);
}

/* At close: give a pending write LINGER_MS to go out, then cancel it (the
 * message is dropped and its duplicates taken back). */
static void flush_write(handoff_chan_t *c) {
  DWORD done;
  if (finish_write(c, handoff__deadline(LINGER_MS)) != HANDOFF_ETIMEDOUT)
    return;
  CancelIoEx(c->pipe, &c->wov);
  (void)end_pending(c, GetOverlappedResult(c->pipe, &c->wov, &done, TRUE)
                           ? 0
                           : GetLastError());
}

/* A frame that was not written (the peer closed its end, any failure)
 * takes its duplicates back: a send that fails leaves nothing in the peer,
 * and the "timeout 0, retry" pattern leaks nothing. */
int handoff__be_send(handoff_chan_t *c, const unsigned char *hdr,
                     const handoff_sock_t *socks, size_t nsocks,
                     const void *data, size_t len, uint64_t deadline,
                     int timeout_ms) {
  size_t off = HANDOFF__HDR_SIZE + nsocks * HANDOFF__WIN_INFO_SIZE;
  int r;
  (void)timeout_ms;
  r = finish_write(c, deadline);
  if (r == 0) r = export_socks(c, socks, nsocks);
  if (r != 0) return r;
  memcpy(c->wbuf, hdr, HANDOFF__HDR_SIZE);
  if (len != 0) memcpy(c->wbuf + off, data, len);
  r = start_write(c, off + len);
  if (r != 0) {
    revoke(c, socks, nsocks);
    if (peer_gone(c))
      r = handoff__oserr(handoff_last_oserror(), HANDOFF_ECLOSED);
    return r;
  }
  /* A write the pipe could not take at once is waited for within the
   * caller's deadline: Windows cancels the pending I/O a thread issued when
   * that thread exits (unless the handle is bound to a completion port),
   * so a thread that sends and then ends would lose its last message (seen
   * under Wine: a sender thread's last message never arrived).  Microsoft
   * documents it in "Asynchronous I/O and Asynchronous RPC" (Win32 docs,
   * RPC section): an I/O request belongs to the thread that issued it, and
   * the requests still pending when that thread ends are aborted; since
   * Vista, not those of a handle bound to a completion port.  Past the
   * deadline it stays pending, ours to deliver (0): the send waitable says
   * when it is over, and a thread must not exit before that. */
  if (c->wpending) {
    r = finish_write(c, deadline);
    if (r == HANDOFF_ETIMEDOUT) r = 0;
    if (r != 0 && peer_gone(c))
      r = handoff__oserr(handoff_last_oserror(), HANDOFF_ECLOSED);
  }
  return r;
}

int handoff__be_send_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  *out = c->wev;
  return 0;
}

/* ---- Event loops and closing ------------------------------------------- */

/* In an event loop, keep a read pending so that rev is set exactly when a
 * frame is there.  When a read cannot be started (the pipe broke) or a
 * message is held, leave rev set: handoff_recv will report it. */
static void arm(handoff_chan_t *c) {
  if (c->core.held || HANDOFF__LOAD(c->core.failed) || start_read(c) != 0)
    SetEvent(c->rev);
}

void handoff__be_recv_done(handoff_chan_t *c) {
  if (c->waitable) arm(c); /* the event says "next one" again */
}

int handoff__be_chan_waitable(handoff_chan_t *c, handoff_waitable_t *out) {
  c->waitable = 1;
  arm(c);
  *out = c->rev;
  return 0;
}

/* Frames still queued for us carry infos that are already handles of ours
 * (WSADuplicateSocketW made them in this process): import and close them.
 * Only what is queued now, so a peer that keeps sending cannot hold us. */
static void drain(handoff_chan_t *c) {
  DWORD avail = 0, got, err;
  size_t used;
  if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL)) return;
  while (avail > 0) {
    if (start_read(c) != 0) return;
    if (!HasOverlappedIoCompleted(&c->rov)) CancelIoEx(c->pipe, &c->rov);
    got = 0;
    err = GetOverlappedResult(c->pipe, &c->rov, &got, TRUE) ? 0 : GetLastError();
    c->rpending = 0;
    if (err != 0 && err != ERROR_MORE_DATA) return;
    used = discard_msg(c, got, err == ERROR_MORE_DATA);
    if (used == 0 || used >= avail) return;
    avail -= (DWORD)used;
  }
}

void handoff__be_chan_free(handoff_chan_t *c) {
  DWORD got = 0, err;
  flush_write(c);
  /* The kernel writes into rbuf until the read is really over. */
  if (c->rpending) {
    CancelIoEx(c->pipe, &c->rov);
    err = GetOverlappedResult(c->pipe, &c->rov, &got, TRUE) ? 0 : GetLastError();
    c->rpending = 0;
    if (err == 0 || err == ERROR_MORE_DATA)
      (void)discard_msg(c, got, err == ERROR_MORE_DATA);
  }
  drain(c);
  CloseHandle(c->pipe);
  if (c->peer_proc != NULL) CloseHandle(c->peer_proc);
  CloseHandle(c->wev);
  CloseHandle(c->rev);
  free(c->wbuf);
  free(c->rbuf);
  free(c);
}
