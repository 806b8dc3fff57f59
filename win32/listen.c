/* Rendezvous by name: the named pipe \\.\pipe\handoff-<SID>-<name>, where
 * SID is the listening user's, kept exclusive by the named mutex
 * Global\handoff-<SID>-<name>, and the HELLO handshake on both sides.
 *
 * Exclusivity.  The mutex is the name's lock: it exists while a listener
 * holds the name (the system closes a crashed listener's handle), it lives
 * in the global namespace like the pipe (a session's Local\ namespace would
 * let one user listen on a name from two sessions; creating a mutex there
 * needs no privilege, "Kernel object namespaces",
 * https://learn.microsoft.com/windows/win32/termserv/kernel-object-namespaces),
 * and its DACL admits our user and SYSTEM only.  The pipe itself is not
 * created with FILE_FLAG_FIRST_PIPE_INSTANCE: that flag fails while any
 * instance of the name exists ("CreateNamedPipeW": "creation of the next
 * instance fails with ERROR_ACCESS_DENIED",
 * https://learn.microsoft.com/windows/win32/api/winbase/nf-winbase-createnamedpipew),
 * and the server ends of channels a previous listener accepted are
 * instances, so listening again after handoff_listener_close, or a new
 * process taking over the name (hot restart), would fail on Windows while
 * those channels live (Wine does not enforce the flag).  Instead, holding
 * the lock, a listener accepts a name's pipe when
 *  - no instance of it waits for a client (a listener of ours would hold
 *    the lock, so such an instance is someone else's: EADDRINUSE), and
 *  - its owner is our user: the pipe's one security descriptor is the one
 *    its first instance was created with ("Named Pipe Security and Access
 *    Rights"), whose DACL gives FILE_CREATE_PIPE_INSTANCE to the owner and
 *    SYSTEM only.
 * Then it sets the pipe's DACL to its own (a previous listener may have
 * admitted others, or fewer).  Another user can neither take the name
 * (the SID in it is ours; the mutex and the pipe it might create first are
 * not owned by us: EADDRINUSE, never served) nor add an instance to ours;
 * our clients check the owner and the serving process's user before they
 * send anything. */
#include "internal.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_PREFIX L"\\\\.\\pipe\\handoff-"
#define MUTEX_PREFIX L"Global\\handoff-"
/* Longest single WaitNamedPipeW while all instances are busy. */
#define BUSY_WAIT_MS 50

/* prefix + sid + "-" + name (name already checked: ASCII, at most
 * HANDOFF_MAX_NAME).  EINVAL if it does not fit in cap characters. */
static int object_name(WCHAR *out, size_t cap, const WCHAR *prefix,
                       const char *sid, const char *name) {
  size_t i = 0, j;
  if (wcslen(prefix) + strlen(sid) + 1 + strlen(name) + 1 > cap)
    return handoff__err(HANDOFF_EINVAL);
  for (; prefix[i] != 0; i++) out[i] = prefix[i];
  for (j = 0; sid[j] != '\0'; j++) out[i++] = (WCHAR)(unsigned char)sid[j];
  out[i++] = L'-';
  for (j = 0; name[j] != '\0'; j++) out[i++] = (WCHAR)(unsigned char)name[j];
  out[i] = 0;
  return 0;
}

/* ---- Listener ---------------------------------------------------------- */

/* Create an instance into l->inst; the first one may change the pipe's
 * DACL (adopt). */
static int create_instance(handoff_listener_t *l, int first) {
  SECURITY_ATTRIBUTES sa;
  DWORD err, mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
  HANDLE h;
  if (first) mode |= WRITE_DAC;
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = l->sd;
  sa.bInheritHandle = FALSE;
  h = CreateNamedPipeW(l->path, mode,
                       PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                           PIPE_REJECT_REMOTE_CLIENTS,
                       PIPE_UNLIMITED_INSTANCES, HANDOFF__WIN_MAX_FRAME,
                       HANDOFF__WIN_MAX_FRAME, 0, &sa);
  if (h == INVALID_HANDLE_VALUE) {
    err = GetLastError();
    /* Someone else's pipe: no right to add instances, or its limit. */
    if (first && (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY))
      return handoff__oserr((int)err, HANDOFF_EADDRINUSE);
    return handoff__win_err(err);
  }
  l->inst = h;
  return 0;
}

/* Start l->inst's ConnectNamedPipe. */
static int connect_instance(handoff_listener_t *l) {
  DWORD err;
  ResetEvent(l->ev);
  memset(&l->ov, 0, sizeof(l->ov));
  l->ov.hEvent = l->ev;
  l->state = HANDOFF__WIN_CONNECTED;
  if (ConnectNamedPipe(l->inst, &l->ov)) {
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
    CloseHandle(l->inst);
    l->inst = NULL;
    l->state = HANDOFF__WIN_IDLE;
    return handoff__win_err(err);
  }
}

static int new_instance(handoff_listener_t *l) {
  int r = create_instance(l, 0);
  return r != 0 ? r : connect_instance(l);
}

/* Could a client connect to the name now?  We hold the name's lock, so no
 * listener of ours serves it: an instance waiting for a client is someone
 * else's.  (A listener that crashed a moment ago has its handles closed by
 * the system one after another in one go; a successor starting in that
 * instant could see its last instance and get EADDRINUSE.)  Asked as an
 * anonymous client, so a squatter learns nothing of us; asked once: after
 * our visit that instance is busy until its server disconnects us. */
static int probe(const WCHAR *path) {
  DWORD err;
  HANDLE h = CreateFileW(path, GENERIC_READ, 0, NULL, OPEN_EXISTING,
                         SECURITY_SQOS_PRESENT | SECURITY_ANONYMOUS, NULL);
  if (h != INVALID_HANDLE_VALUE) {
    CloseHandle(h);
    return handoff__oserr(ERROR_ALREADY_EXISTS, HANDOFF_EADDRINUSE);
  }
  err = GetLastError();
  /* No pipe, or only server ends of channels already accepted. */
  if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PIPE_BUSY) return 0;
  if (err == ERROR_ACCESS_DENIED) /* not even ours to open */
    return handoff__oserr((int)err, HANDOFF_EADDRINUSE);
  return handoff__win_err(err);
}

/* Our first instance is of a pipe owned by our user: make its DACL ours. */
static int adopt(handoff_listener_t *l) {
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = NULL;
  DWORD err;
  if (handoff__win_owner_is(l->inst, l->self_sid) != 0)
    return handoff__oserr(handoff_last_oserror(), HANDOFF_EADDRINUSE);
  if (!GetSecurityDescriptorDacl(l->sd, &present, &dacl, &defaulted))
    return handoff__win_err(GetLastError());
  err = SetSecurityInfo(l->inst, SE_KERNEL_OBJECT,
                        DACL_SECURITY_INFORMATION |
                            PROTECTED_DACL_SECURITY_INFORMATION,
                        NULL, NULL, dacl, NULL);
  return err == ERROR_SUCCESS ? 0 : handoff__win_err(err);
}

/* The name's lock (see the top of this file). */
static int lock_name(handoff_listener_t *l, const WCHAR *mname) {
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd;
  DWORD err;
  int r = handoff__win_sd_create(&sd); /* our user and SYSTEM only */
  if (r != 0) return r;
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = sd;
  sa.bInheritHandle = FALSE;
  SetLastError(0);
  l->mutex = CreateMutexW(&sa, FALSE, mname);
  err = GetLastError();
  LocalFree(sd);
  if (l->mutex == NULL)
    return err == ERROR_ACCESS_DENIED
               ? handoff__oserr((int)err, HANDOFF_EADDRINUSE)
               : handoff__win_err(err);
  if (err == ERROR_ALREADY_EXISTS)
    return handoff__oserr((int)err, HANDOFF_EADDRINUSE);
  return 0;
}

/* Holding the lock: take the name's pipe and start listening on it. */
static int claim_pipe(handoff_listener_t *l) {
  int r = probe(l->path);
  if (r == 0) r = create_instance(l, 1);
  if (r == 0) r = adopt(l);
  if (r == 0) r = connect_instance(l);
  return r;
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
    r = new_instance(l);
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
  WCHAR mname[HANDOFF__WIN_PIPE_PATH_MAX];
  const char *allow = access != NULL ? access->sid : NULL;
  handoff_listener_t *l;
  int r;

  l = calloc(1, sizeof(*l));
  if (l == NULL) return handoff__err(HANDOFF_ENOMEM);
  l->flags = access != NULL ? access->flags : 0;
  /* ConvertStringSidToSidA alone lets some malformed strings through
   * (Wine takes 16 sub-authorities, one more than a SID may have):
   * IsValidSid checks the result, and "" is no SID at all. */
  if (allow != NULL &&
      (allow[0] == 0 || !ConvertStringSidToSidA(allow, &l->allow))) {
    l->allow = NULL;
    r = handoff__oserr(allow[0] == 0 ? ERROR_INVALID_SID : (int)GetLastError(),
                       HANDOFF_EINVAL);
    goto fail;
  }
  if (allow != NULL && !IsValidSid(l->allow)) {
    r = handoff__oserr(ERROR_INVALID_SID, HANDOFF_EINVAL);
    goto fail;
  }
  r = handoff__win_process_sid(GetCurrentProcess(), l->self_sid,
                               sizeof(l->self_sid));
  if (r == 0)
    r = object_name(l->path, HANDOFF__WIN_PIPE_PATH_MAX, PIPE_PREFIX,
                    l->self_sid, name);
  if (r == 0)
    r = object_name(mname, HANDOFF__WIN_PIPE_PATH_MAX, MUTEX_PREFIX,
                    l->self_sid, name);
  if (r == 0) r = handoff__win_sd_create_ex(l->flags, allow, &l->sd);
  if (r == 0) r = lock_name(l, mname);
  if (r == 0 && (l->ev = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL)
    r = handoff__win_err(GetLastError());
  /* Listening from now on: clients may connect before the first accept. */
  if (r == 0) r = claim_pipe(l);
  if (r != 0) goto fail;
  *out = l;
  return 0;

fail:
  handoff_listener_close(l);
  return r;
}

int handoff__be_accept(handoff_listener_t *l, uint64_t deadline,
                       handoff_chan_t **out) {
  FILETIME taken;
  DWORD pid;
  HANDLE h;
  int r = wait_client(l, deadline);
  if (r != 0) return r;
  GetSystemTimeAsFileTime(&taken);
  h = l->inst;
  l->inst = NULL;
  l->state = HANDOFF__WIN_IDLE;
  /* The next instance first, so concurrent clients never find the name
   * missing.  If it fails, the next wait_client tries again. */
  (void)new_instance(l);
  if (!GetNamedPipeClientProcessId(h, &pid)) {
    CloseHandle(h); /* came and went */
    return HANDOFF__AGAIN;
  }
  r = handoff__win_chan_new(h, out);
  if (r != 0) {
    CloseHandle(h);
    return r == HANDOFF_ENOMEM ? r : HANDOFF__AGAIN;
  }
  /* A process created after we took the connection is not the client
   * (that one exited and its id went to another). */
  if (handoff__win_hold_peer(*out, pid, NULL, &taken, 0) != 0) {
    handoff_close(*out);
    return HANDOFF__AGAIN;
  }
  return 0;
}

/* Who it is comes from the token the pipe gives for its client, so accept
 * never waits for the peer. */
int handoff__be_admits(handoff_listener_t *l, handoff_chan_t *c) {
  return handoff__win_admit(c, l->self_sid, l->flags, l->allow);
}

int handoff__be_listener_waitable(handoff_listener_t *l,
                                  handoff_waitable_t *out) {
  int r;
  if (l->inst == NULL && (r = new_instance(l)) != 0) return r;
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

/* Open the client end of path by the deadline, waiting while every
 * instance is taken.  No more rights than a client needs (the listener
 * grants others no more): no FILE_APPEND_DATA, which on a pipe is
 * FILE_CREATE_PIPE_INSTANCE.  Identification only: the listener can read
 * who we are, never act as us. */
static int open_pipe(const WCHAR *path, uint64_t deadline, HANDLE *out) {
  DWORD err;
  int ms;
  for (;;) {
    *out = CreateFileW(path,
                       GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES,
                       0, NULL, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
                           SECURITY_IDENTIFICATION,
                       NULL);
    if (*out != INVALID_HANDLE_VALUE) return 0;
    err = GetLastError();
    if (err != ERROR_PIPE_BUSY) return handoff__win_err(err);
    /* Every instance taken: the listener makes the next one shortly. */
    ms = handoff__remaining(deadline);
    if (ms == 0) return handoff__oserr((int)err, HANDOFF_ETIMEDOUT);
    if (!WaitNamedPipeW(path, ms < 0 || ms > BUSY_WAIT_MS ? BUSY_WAIT_MS
                                                           : (DWORD)ms))
      Sleep(1);
  }
}

/* The pipe for name, served by the expected user (handoff__win_server_sid),
 * checked before anything is sent; in message mode.  *server gets that
 * user's SID, *taken the time the connection was made. */
static int open_server(const char *name, uint64_t deadline, HANDLE *h,
                       DWORD *pid, FILETIME *taken, char *server,
                       size_t cap) {
  WCHAR path[HANDOFF__WIN_PIPE_PATH_MAX];
  char self[HANDOFF__WIN_SID_MAX];
  DWORD mode = PIPE_READMODE_MESSAGE;
  int r = handoff__win_process_sid(GetCurrentProcess(), self, sizeof(self));
  if (r == 0) r = handoff__win_server_sid(self, server, cap);
  if (r == 0)
    r = object_name(path, HANDOFF__WIN_PIPE_PATH_MAX, PIPE_PREFIX, server,
                    name);
  if (r == 0) r = open_pipe(path, deadline, h);
  if (r != 0) return r;
  GetSystemTimeAsFileTime(taken);
  r = handoff__win_verify_server(*h, server, strcmp(server, self) == 0, pid);
  if (r == 0 && !SetNamedPipeHandleState(*h, &mode, NULL, NULL))
    r = handoff__win_err(GetLastError());
  if (r != 0) CloseHandle(*h);
  return r;
}

int handoff__be_connect(const char *name, uint64_t deadline,
                        handoff_chan_t **out) {
  char server[HANDOFF__WIN_SID_MAX];
  FILETIME taken;
  DWORD pid;
  HANDLE h;
  int r = open_server(name, deadline, &h, &pid, &taken, server,
                      sizeof(server));
  if (r != 0) return r;
  r = handoff__win_chan_new(h, out);
  if (r != 0) {
    CloseHandle(h);
    return r;
  }
  memcpy((*out)->core.peer.sid, server, sizeof(server)); /* it serves */
  /* A process created after we connected is not the server: it is gone. */
  if (handoff__win_hold_peer(*out, pid, NULL, &taken, 1) != 0) {
    handoff_close(*out);
    return handoff__oserr(ERROR_BROKEN_PIPE, HANDOFF_ECLOSED);
  }
  return 0;
}
