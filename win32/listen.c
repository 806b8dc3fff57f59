/* Rendezvous by name: the named pipe \\.\pipe\handoff-<name>, kept
 * exclusive by the named mutex Local\handoff-<name>, and the HELLO
 * handshake on both sides. */
#include "internal.h"

#include <sddl.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_PREFIX L"\\\\.\\pipe\\handoff-"
#define MUTEX_PREFIX L"Local\\handoff-"
/* Longest single WaitNamedPipeW while all instances are busy. */
#define BUSY_WAIT_MS 50

/* prefix + name (already checked: ASCII, at most HANDOFF_MAX_NAME). */
static void wide_name(WCHAR *out, const WCHAR *prefix, const char *name) {
  size_t i = 0, j;
  for (; prefix[i] != 0; i++) out[i] = prefix[i];
  for (j = 0; name[j] != '\0'; j++) out[i++] = (WCHAR)(unsigned char)name[j];
  out[i] = 0;
}

/* ---- Listener ---------------------------------------------------------- */

/* Create an instance and start its ConnectNamedPipe. */
static int new_instance(handoff_listener_t *l, int first) {
  SECURITY_ATTRIBUTES sa;
  DWORD err, flags = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
  HANDLE h;

  /* Wine ignores FILE_FLAG_FIRST_PIPE_INSTANCE; the mutex covers it. */
  if (first) flags |= FILE_FLAG_FIRST_PIPE_INSTANCE;
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = l->sd;
  sa.bInheritHandle = FALSE;
  h = CreateNamedPipeW(l->path, flags,
                       PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                           PIPE_REJECT_REMOTE_CLIENTS,
                       PIPE_UNLIMITED_INSTANCES, HANDOFF__WIN_MAX_FRAME,
                       HANDOFF__WIN_MAX_FRAME, 0, &sa);
  if (h == INVALID_HANDLE_VALUE) {
    err = GetLastError();
    if (first && (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY))
      return handoff__oserr((int)err, HANDOFF_EADDRINUSE);
    return handoff__win_err(err);
  }
  ResetEvent(l->ev);
  memset(&l->ov, 0, sizeof(l->ov));
  l->ov.hEvent = l->ev;
  l->inst = h;
  l->state = HANDOFF__WIN_CONNECTED;
  if (ConnectNamedPipe(h, &l->ov)) {
    SetEvent(l->ev);
    return 0;
  }
  err = GetLastError();
  switch (err) {
  case ERROR_IO_PENDING:
    l->state = HANDOFF__WIN_PENDING;
    return 0;
  case ERROR_PIPE_CONNECTED:
  case ERROR_NO_DATA: /* came and went: accept will drop it */
    SetEvent(l->ev);  /* an event loop must see this client too */
    return 0;
  default:
    CloseHandle(h);
    l->inst = NULL;
    l->state = HANDOFF__WIN_IDLE;
    return handoff__win_err(err);
  }
}

static void drop_instance(handoff_listener_t *l) {
  DWORD n;
  if (l->inst == NULL) return;
  if (l->state == HANDOFF__WIN_PENDING) {
    CancelIoEx(l->inst, &l->ov);
    GetOverlappedResult(l->inst, &l->ov, &n, TRUE);
  }
  CloseHandle(l->inst);
  l->inst = NULL;
  l->state = HANDOFF__WIN_IDLE;
}

/* Wait until l->inst has a client.  On timeout the ConnectNamedPipe stays
 * pending, so a client arriving later is not lost. */
static int wait_client(handoff_listener_t *l, uint64_t deadline) {
  DWORD n, w, err;
  int r;
  if (l->inst == NULL) {
    r = new_instance(l, 0);
    if (r != 0) return r;
  }
  if (l->state == HANDOFF__WIN_CONNECTED) return 0;
  w = WaitForSingleObject(l->ev, handoff__win_wait_ms(deadline));
  if (w == WAIT_TIMEOUT) return handoff__err(HANDOFF_ETIMEDOUT);
  if (w != WAIT_OBJECT_0) return handoff__win_err(GetLastError());
  err = GetOverlappedResult(l->inst, &l->ov, &n, FALSE) ? 0 : GetLastError();
  if (err == 0 || err == ERROR_PIPE_CONNECTED || err == ERROR_NO_DATA) {
    l->state = HANDOFF__WIN_CONNECTED;
    return 0;
  }
  l->state = HANDOFF__WIN_IDLE; /* over, failed: the next call makes anew */
  CloseHandle(l->inst);
  l->inst = NULL;
  return handoff__win_err(err);
}

int handoff__be_listen(const char *name, const handoff_access_t *access,
                       handoff_listener_t **out) {
  handoff_listener_t *l;
  SECURITY_ATTRIBUTES sa;
  WCHAR mname[32 + HANDOFF_MAX_NAME];
  const char *allow = access != NULL ? access->sid : NULL;
  DWORD err;
  int r;

  l = calloc(1, sizeof(*l));
  if (l == NULL) return handoff__err(HANDOFF_ENOMEM);
  wide_name(l->path, PIPE_PREFIX, name);
  wide_name(mname, MUTEX_PREFIX, name);
  l->flags = access != NULL ? access->flags : 0;
  if (allow != NULL && !ConvertStringSidToSidA(allow, &l->allow)) {
    l->allow = NULL;
    r = handoff__oserr((int)GetLastError(), HANDOFF_EINVAL);
    goto fail;
  }
  r = handoff__win_process_sid(GetCurrentProcess(), l->self_sid,
                               sizeof(l->self_sid));
  if (r == 0) r = handoff__win_sd_create_ex(l->flags, allow, &l->sd);
  if (r != 0) goto fail;

  /* The mutex exists while its creator lives (even if it crashes), so it
   * is the name's lock; its DACL keeps other users from taking it. */
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = l->sd;
  sa.bInheritHandle = FALSE;
  SetLastError(0);
  l->mutex = CreateMutexW(&sa, FALSE, mname);
  err = GetLastError();
  if (l->mutex == NULL) {
    r = err == ERROR_ACCESS_DENIED ? handoff__oserr((int)err, HANDOFF_EADDRINUSE)
                                   : handoff__win_err(err);
    goto fail;
  }
  if (err == ERROR_ALREADY_EXISTS) {
    r = handoff__oserr((int)err, HANDOFF_EADDRINUSE);
    goto fail;
  }
  l->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (l->ev == NULL) {
    r = handoff__win_err(GetLastError());
    goto fail;
  }
  /* Listening from now on: clients may connect before the first accept. */
  r = new_instance(l, 1);
  if (r != 0) goto fail;
  *out = l;
  return 0;

fail:
  handoff_listener_close(l);
  return r;
}

int handoff__be_accept(handoff_listener_t *l, uint64_t deadline,
                       handoff_chan_t **out) {
  DWORD pid;
  HANDLE h;
  int r = wait_client(l, deadline);
  if (r != 0) return r;
  h = l->inst;
  l->inst = NULL;
  l->state = HANDOFF__WIN_IDLE;
  /* The next instance first, so concurrent clients never find the name
   * missing.  If it fails, the next wait_client tries again. */
  (void)new_instance(l, 0);
  if (!GetNamedPipeClientProcessId(h, &pid)) {
    CloseHandle(h); /* came and went */
    return HANDOFF__AGAIN;
  }
  r = handoff__win_chan_new(h, out);
  if (r != 0) {
    CloseHandle(h);
    return r == HANDOFF_ENOMEM ? r : HANDOFF__AGAIN;
  }
  (*out)->core.peer.pid = (long)pid;
  return 0;
}

/* Who it is comes from the OS (the client process's token), so accept
 * never waits for the peer. */
int handoff__be_admits(handoff_listener_t *l, handoff_chan_t *c) {
  return handoff__win_admit(c, l->self_sid, l->flags, l->allow);
}

int handoff__be_listener_waitable(handoff_listener_t *l,
                                  handoff_waitable_t *out) {
  int r;
  if (l->inst == NULL && (r = new_instance(l, 0)) != 0) return r;
  *out = l->ev;
  return 0;
}

void handoff_listener_close(handoff_listener_t *l) {
  if (l == NULL) return;
  /* Pipe instances first, the mutex last: once the name is free again no
   * instance of ours is left to collide with a new listener. */
  drop_instance(l);
  if (l->ev != NULL) CloseHandle(l->ev);
  if (l->mutex != NULL) CloseHandle(l->mutex);
  if (l->sd != NULL) LocalFree(l->sd);
  if (l->allow != NULL) LocalFree(l->allow);
  free(l);
}

/* ---- Client ------------------------------------------------------------ */

/* Open a client end of the name's pipe by the deadline, waiting while
 * every instance is taken. */
static int open_pipe(const WCHAR *path, uint64_t deadline, HANDLE *out) {
  DWORD err, mode = PIPE_READMODE_MESSAGE;
  HANDLE h;
  int ms;
  for (;;) {
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
                        SECURITY_IDENTIFICATION,
                    NULL);
    if (h != INVALID_HANDLE_VALUE) break;
    err = GetLastError();
    if (err != ERROR_PIPE_BUSY) return handoff__win_err(err);
    /* Every instance taken: the listener makes the next one shortly. */
    ms = handoff__remaining(deadline);
    if (ms == 0) return handoff__oserr((int)err, HANDOFF_ETIMEDOUT);
    if (!WaitNamedPipeW(path, ms < 0 || ms > BUSY_WAIT_MS ? BUSY_WAIT_MS
                                                           : (DWORD)ms))
      Sleep(1);
  }
  if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
    err = GetLastError();
    CloseHandle(h);
    return handoff__win_err(err);
  }
  *out = h;
  return 0;
}

int handoff__be_connect(const char *name, uint64_t deadline,
                        handoff_chan_t **out) {
  WCHAR path[32 + HANDOFF_MAX_NAME];
  handoff__core_t *k;
  DWORD pid;
  HANDLE h = NULL;
  int r;

  wide_name(path, PIPE_PREFIX, name);
  r = open_pipe(path, deadline, &h);
  if (r != 0) return r;
  if (!GetNamedPipeServerProcessId(h, &pid)) {
    r = handoff__win_err(GetLastError());
    CloseHandle(h);
    return r;
  }
  r = handoff__win_chan_new(h, out);
  if (r != 0) {
    CloseHandle(h);
    return r;
  }
  k = &(*out)->core;
  k->peer.pid = (long)pid;
  (void)handoff__win_pid_sid(pid, k->peer.sid, sizeof(k->peer.sid));
  return 0;
}
