/* Spawning a child with a channel: a private pipe pair whose client end the
 * child inherits through an explicit handle list; its handle value travels
 * in the child's environment as HANDOFF_CHANNEL.  The program is resolved
 * in win32/cmdline.c (PATH only, never a batch file) and passed to
 * CreateProcessW as the application name.  The process object is in
 * win32/proc.c. */
#include "internal.h"
#include "spawn.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define ENV_NAME L"HANDOFF_CHANNEL"
#define ENV_NAME_LEN 15

static volatile LONG spawn_counter;

/* Append v in decimal at p; returns the new end (NUL-terminated). */
static WCHAR *put_dec(WCHAR *p, unsigned long long v) {
  WCHAR digits[24];
  size_t nd = 0;
  do {
    digits[nd++] = (WCHAR)(L'0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (nd > 0) *p++ = digits[--nd];
  *p = 0;
  return p;
}

static WCHAR *put_str(WCHAR *p, const WCHAR *s) {
  while (*s != 0) *p++ = *s++;
  *p = 0;
  return p;
}

/* ---- Environment ------------------------------------------------------- */

/* Compare an environment entry's name with ENV_NAME, as Windows sorts the
 * block (ordinal, case-insensitive).  "=C:=C:\x" entries keep their '='. */
static int env_cmp(const WCHAR *entry) {
  size_t n = 1;
  while (entry[n] != 0 && entry[n] != L'=') n++;
  return CompareStringOrdinal(entry, (int)n, ENV_NAME, ENV_NAME_LEN, TRUE) -
         CSTR_EQUAL;
}

/* A copy of our environment with HANDOFF_CHANNEL=<value of h> in its sorted
 * place (and any inherited HANDOFF_CHANNEL dropped). */
static int build_env(HANDLE h, WCHAR **out) {
  WCHAR var[ENV_NAME_LEN + 24], *cur, *env, *p, *q;
  size_t total = 0, n, varlen;
  int cmp, placed = 0;

  varlen = (size_t)(put_dec(put_str(var, ENV_NAME L"="),
                            (unsigned long long)(uintptr_t)h) -
                    var);

  cur = GetEnvironmentStringsW();
  if (cur == NULL) return handoff__win_err(GetLastError());
  for (p = cur; *p != 0; p += wcslen(p) + 1) total += wcslen(p) + 1;
  env = malloc((total + varlen + 2) * sizeof(WCHAR));
  if (env == NULL) {
    FreeEnvironmentStringsW(cur);
    return handoff__err(HANDOFF_ENOMEM);
  }
  q = env;
  for (p = cur; *p != 0; p += n + 1) {
    n = wcslen(p);
    cmp = env_cmp(p);
    if (cmp == 0) continue;
    if (cmp > 0 && !placed) {
      memcpy(q, var, (varlen + 1) * sizeof(WCHAR));
      q += varlen + 1;
      placed = 1;
    }
    memcpy(q, p, (n + 1) * sizeof(WCHAR));
    q += n + 1;
  }
  if (!placed) {
    memcpy(q, var, (varlen + 1) * sizeof(WCHAR));
    q += varlen + 1;
  }
  *q = 0;
  FreeEnvironmentStringsW(cur);
  *out = env;
  return 0;
}

/* ---- The pipe pair ----------------------------------------------------- */

/* \\.\pipe\handoff-spawn-<pid>-<counter>-<ticks> */
static void pipe_name(WCHAR *name) {
  WCHAR *p = put_dec(put_str(name, L"\\\\.\\pipe\\handoff-spawn-"),
                     GetCurrentProcessId());
  p = put_dec(put_str(p, L"-"),
              (unsigned long)InterlockedIncrement(&spawn_counter));
  put_dec(put_str(p, L"-"), GetTickCount64());
}

/* The server end: ours, overlapped, owner-only, the name's first and only
 * instance. */
static int create_server(const WCHAR *name, HANDLE *out) {
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd;
  DWORD err;
  int r = handoff__win_sd_create(&sd);
  if (r != 0) return r;
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = sd;
  sa.bInheritHandle = FALSE;
  *out = CreateNamedPipeW(name,
                          PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                              FILE_FLAG_FIRST_PIPE_INSTANCE,
                          PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE |
                              PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                          1, HANDOFF__WIN_MAX_FRAME, HANDOFF__WIN_MAX_FRAME, 0,
                          &sa);
  err = *out == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  LocalFree(sd);
  return err != 0 ? handoff__win_err(err) : 0;
}

/* Connect the child's end, still not inheritable (it becomes so only for
 * the CreateProcessW call), and check that both ends are ours: nobody
 * squatted the name or took the instance.  0 or a Windows error code. */
static DWORD connect_client(HANDLE srv, const WCHAR *name, HANDLE *out) {
  DWORD mode = PIPE_READMODE_MESSAGE, spid = 0, cpid = 0, n, err = 0;
  OVERLAPPED ov;
  HANDLE cli = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                           OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
                               SECURITY_IDENTIFICATION,
                           NULL);
  if (cli == INVALID_HANDLE_VALUE) return GetLastError();
  memset(&ov, 0, sizeof(ov));
  if (!SetNamedPipeHandleState(cli, &mode, NULL, NULL))
    err = GetLastError();
  else if (!ConnectNamedPipe(srv, &ov))
    err = GetLastError();
  if (err == ERROR_IO_PENDING) { /* cannot be: our client is connected */
    CancelIoEx(srv, &ov);
    GetOverlappedResult(srv, &ov, &n, TRUE);
  } else if (err == ERROR_PIPE_CONNECTED) {
    err = 0;
  }
  if (err == 0 && (!GetNamedPipeServerProcessId(cli, &spid) ||
                   !GetNamedPipeClientProcessId(srv, &cpid)))
    err = GetLastError();
  if (err == 0 && (spid != GetCurrentProcessId() ||
                   cpid != GetCurrentProcessId()))
    err = ERROR_PIPE_BUSY;
  if (err != 0) CloseHandle(cli);
  else *out = cli;
  return err;
}

/* server: ours, overlapped.  client: the child's, connected; neither is
 * inheritable. */
static int make_pair(HANDLE *server, HANDLE *client) {
  WCHAR name[96];
  HANDLE srv;
  DWORD err;
  int r;
  pipe_name(name);
  r = create_server(name, &srv);
  if (r != 0) return r;
  err = connect_client(srv, name, client);
  if (err != 0) {
    CloseHandle(srv);
    return handoff__oserr((int)err, HANDOFF_ESYS);
  }
  *server = srv;
  return 0;
}

/* Our end as a channel whose HELLO is in the pipe before the child exists.
 * Takes srv (closed on error). */
static int parent_channel(HANDLE srv, handoff_chan_t **out) {
  int r = handoff__win_chan_new(srv, out);
  if (r != 0) {
    CloseHandle(srv);
    return r;
  }
  r = handoff__send_hello(*out);
  if (r != 0) {
    r = handoff__oserr(handoff_last_oserror(), HANDOFF_ESYS);
    handoff_close(*out);
    *out = NULL;
  }
  return r;
}

/* ---- What the child inherits ------------------------------------------- */

/* Exactly the child's channel end and copies of our stdio; all of them
 * inheritable only around CreateProcessW (set_inherit). */
typedef struct {
  HANDLE std[3]; /* for STARTUPINFO */
  HANDLE dup[3]; /* our copies, closed after the call */
  HANDLE list[4];
  DWORD nlist;
} child_handles_t;

/* Windows 7 console handles are pseudo-handles with the low two bits set
 * (3, 7, 0xb...); PROC_THREAD_ATTRIBUTE_HANDLE_LIST rejects them and they
 * reach the child without being listed (CPython's subprocess filters them
 * the same way: "_filter_handle_list", bpo-32964 discussion).  Windows 8
 * and later use real handles. */
static int console_pseudo(HANDLE h) { return ((uintptr_t)h & 3) == 3; }

static void child_stdio(child_handles_t *ch) {
  static const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                 STD_ERROR_HANDLE};
  HANDLE self = GetCurrentProcess(), h;
  int i;
  for (i = 0; i < 3; i++) {
    ch->std[i] = h = GetStdHandle(which[i]);
    ch->dup[i] = NULL;
    if (h == NULL || h == INVALID_HANDLE_VALUE) {
      ch->std[i] = NULL;
      continue;
    }
    if (console_pseudo(h)) continue; /* passed as it is */
    /* A copy, so the original's inheritability is never touched. */
    if (DuplicateHandle(self, h, self, &ch->dup[i], 0, FALSE,
                        DUPLICATE_SAME_ACCESS)) {
      ch->std[i] = ch->dup[i];
      ch->list[ch->nlist++] = ch->dup[i];
    } else {
      ch->dup[i] = NULL; /* pass it as it is */
    }
  }
}

/* The handle list must name inheritable handles, and every handle made
 * inheritable can also be taken by any CreateProcess(bInheritHandles=TRUE)
 * without a list that another thread makes meanwhile ("Programmatically
 * controlling which handles are inherited by new processes in Win32",
 * Raymond Chen, The Old New Thing, 2011-08-16).  So the flag is set only
 * for the duration of our CreateProcessW: that window is the residual risk
 * (include/handoff.h). */
static void set_inherit(const child_handles_t *ch, int on) {
  DWORD i;
  for (i = 0; i < ch->nlist; i++)
    SetHandleInformation(ch->list[i], HANDLE_FLAG_INHERIT,
                         on ? HANDLE_FLAG_INHERIT : 0);
}

static int handle_list(const child_handles_t *ch,
                       LPPROC_THREAD_ATTRIBUTE_LIST *out) {
  SIZE_T size = 0;
  LPPROC_THREAD_ATTRIBUTE_LIST a;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  a = malloc(size);
  if (a == NULL) return handoff__err(HANDOFF_ENOMEM);
  if (!InitializeProcThreadAttributeList(a, 1, 0, &size)) {
    free(a);
    return handoff__win_err(GetLastError());
  }
  if (!UpdateProcThreadAttribute(a, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                 (PVOID)ch->list, ch->nlist * sizeof(HANDLE),
                                 NULL, NULL)) {
    DWORD err = GetLastError();
    DeleteProcThreadAttributeList(a);
    free(a);
    return handoff__win_err(err);
  }
  *out = a;
  return 0;
}

/* CreateProcessW's "not a program" errors are EACCES, as ENOEXEC is. */
static int create_error(DWORD err) {
  switch (err) {
  case ERROR_BAD_EXE_FORMAT:
  case ERROR_BAD_FORMAT:
  case ERROR_EXE_MARKED_INVALID:
  case ERROR_EXE_MACHINE_TYPE_MISMATCH:
  case ERROR_INVALID_EXE_SIGNATURE:
    return handoff__oserr((int)err, HANDOFF_EACCES);
  default:
    return handoff__win_err(err);
  }
}

/* Start the program with exactly ch's handles. */
static int launch(const WCHAR *app, WCHAR *cmd, WCHAR *env,
                  child_handles_t *ch, PROCESS_INFORMATION *pi) {
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  STARTUPINFOEXW si;
  DWORD err = 0;
  int r = handle_list(ch, &attrs);
  if (r != 0) return r;
  memset(&si, 0, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = ch->std[0];
  si.StartupInfo.hStdOutput = ch->std[1];
  si.StartupInfo.hStdError = ch->std[2];
  si.lpAttributeList = attrs;
  set_inherit(ch, 1);
  /* The application name: no search of the program's or the current
   * directory, no ".exe" guessing, no interpreter. */
  if (!CreateProcessW(app, cmd, NULL, NULL, TRUE,
                      EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT,
                      env, NULL, &si.StartupInfo, pi))
    err = GetLastError();
  set_inherit(ch, 0);
  DeleteProcThreadAttributeList(attrs);
  free(attrs);
  return err != 0 ? create_error(err) : 0;
}

/* ---- Public API -------------------------------------------------------- */

/* The resolved program and the command line: refused before anything is
 * created (too long, a batch file, not found). */
static int prepare(const char *const argv[], WCHAR **app, WCHAR **cmd) {
  int r = handoff__win_cmdline(argv, cmd);
  if (r == 0) r = handoff__win_find_program(argv[0], app);
  return r;
}

int handoff_spawn(const char *const argv[], handoff_chan_t **chan,
                  handoff_proc_t **proc) {
  WCHAR *app = NULL, *cmd = NULL, *env = NULL;
  HANDLE srv = NULL;
  handoff_chan_t *c = NULL;
  handoff_proc_t *p = NULL;
  child_handles_t ch;
  PROCESS_INFORMATION pi;
  int r, i;

  r = handoff__check_spawn(argv, chan, proc);
  if (r != 0) return r;
  memset(&ch, 0, sizeof(ch));
  r = prepare(argv, &app, &cmd);
  if (r == 0 && (p = malloc(sizeof(*p))) == NULL)
    r = handoff__err(HANDOFF_ENOMEM);
  if (r == 0) r = make_pair(&srv, &ch.list[0]);
  if (r == 0) {
    ch.nlist = 1;
    r = parent_channel(srv, &c); /* takes srv */
  }
  if (r == 0) r = build_env(ch.list[0], &env);
  if (r == 0) {
    child_stdio(&ch);
    r = launch(app, cmd, env, &ch, &pi);
  }
  if (r == 0) {
    CloseHandle(pi.hThread);
    /* The handle keeps the id from being reused (win32/proc.c). */
    p->h = pi.hProcess;
    p->pid = pi.dwProcessId;
    /* The OS's number for it, and a handle that keeps the number its. */
    (void)handoff__win_hold_peer(c, pi.dwProcessId, pi.hProcess, NULL, 1);
    (void)handoff__win_process_sid(pi.hProcess, c->core.peer.sid,
                                   sizeof(c->core.peer.sid));
    *chan = c;
    *proc = p;
    c = NULL;
    p = NULL;
  }
  for (i = 0; i < 3; i++)
    if (ch.dup[i] != NULL) CloseHandle(ch.dup[i]);
  if (ch.list[0] != NULL) CloseHandle(ch.list[0]);
  handoff_close(c);
  free(p);
  free(env);
  free(cmd);
  free(app);
  return r;
}

/* The HANDOFF_CHANNEL value: strictly decimal (no sign, space, leading
 * zero or overflow).  0 and *out, or 1 if it is not one. */
static int parse_handle(const WCHAR *buf, DWORD n, uintptr_t *out) {
  uintptr_t v = 0;
  unsigned d;
  DWORD i;
  if (n == 0 || buf[0] == L'0') return 1;
  for (i = 0; i < n; i++) {
    d = (unsigned)(buf[i] - L'0');
    if (buf[i] < L'0' || buf[i] > L'9' || v > (UINTPTR_MAX - d) / 10) return 1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Only the client end of a message pipe is ours: a stale value passed on
 * to a grandchild may name some other pipe there, such as its stdout. */
static int is_channel_end(HANDLE h) {
  DWORD flags = 0;
  return GetFileType(h) == FILE_TYPE_PIPE &&
         GetNamedPipeInfo(h, &flags, NULL, NULL, NULL) &&
         (flags & (PIPE_TYPE_MESSAGE | PIPE_SERVER_END)) == PIPE_TYPE_MESSAGE;
}

int handoff_inherited(handoff_chan_t **out) {
  WCHAR buf[32];
  handoff_chan_t *c;
  uintptr_t v = 0;
  DWORD n, pid = 0, mode = PIPE_READMODE_MESSAGE;
  HANDLE h;
  int r;

  if (out == NULL) return handoff__err(HANDOFF_EINVAL);
  n = GetEnvironmentVariableW(ENV_NAME, buf, sizeof(buf) / sizeof(buf[0]));
  if (n == 0) return handoff__oserr((int)GetLastError(), HANDOFF_ENOENT);
  if (n >= sizeof(buf) / sizeof(buf[0]) || parse_handle(buf, n, &v) != 0 ||
      !is_channel_end(h = (HANDLE)v)) {
    SetEnvironmentVariableW(ENV_NAME, NULL);
    return handoff__err(HANDOFF_ENOENT);
  }
  r = handoff__win_chan_new(h, &c);
  if (r != 0) return r; /* the variable stays: a later call may succeed */

  /* Taken: only this call gets it, and our own children do not. */
  SetEnvironmentVariableW(ENV_NAME, NULL);
  if (!SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0) ||
      !SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
    r = handoff__win_err(GetLastError());
    handoff_close(c);
    return r;
  }
  /* The peer is whoever holds the server end, as the OS says. */
  if (GetNamedPipeServerProcessId(h, &pid)) {
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    (void)handoff__win_hold_peer(c, pid, NULL, &now, 1);
    (void)handoff__win_pid_sid(pid, c->core.peer.sid,
                               sizeof(c->core.peer.sid));
  }
  r = handoff__send_hello(c);
  /* A parent that already closed its end may have left messages for us. */
  if (r != 0 && r != HANDOFF_ECLOSED) {
    r = handoff__oserr(handoff_last_oserror(), HANDOFF_ESYS);
    handoff_close(c);
    return r;
  }
  *out = c;
  return 0;
}
