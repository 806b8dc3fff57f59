/* Spawning a child with a channel: a private pipe pair whose client end the
 * child inherits through an explicit handle list; its handle value travels
 * in the child's environment as HANDOFF_CHANNEL. */
#include "internal.h"

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

/* ---- Command line ------------------------------------------------------ */

static int widen(const char *s, WCHAR **out) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) return handoff__oserr((int)GetLastError(), HANDOFF_EINVAL);
  *out = malloc((size_t)n * sizeof(WCHAR));
  if (*out == NULL) return handoff__err(HANDOFF_ENOMEM);
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, *out, n);
  return 0;
}

/* s quoted so that CommandLineToArgvW (and the C runtime) give it back;
 * writes to out if not NULL, returns the length.  The program name follows
 * CreateProcess's simpler rule: quotes around it, no escapes inside. */
static size_t quote(WCHAR *out, const WCHAR *s, int program) {
  size_t n = 0, i, bs, k;
  int plain = s[0] != 0;
  for (i = 0; s[i] != 0; i++)
    if (s[i] == L' ' || s[i] == L'\t' || s[i] == L'\n' || s[i] == L'\v' ||
        s[i] == L'"')
      plain = 0;
#define PUT(ch)                                                              \
  do {                                                                       \
    if (out != NULL) out[n] = (ch);                                          \
    n++;                                                                     \
  } while (0)
  if (plain) {
    for (i = 0; s[i] != 0; i++) PUT(s[i]);
    return n;
  }
  PUT(L'"');
  for (i = 0; s[i] != 0; i++) {
    for (bs = 0; !program && s[i] == L'\\'; i++) bs++;
    /* Backslashes double only before a quote (ours or an escaped one). */
    if (s[i] == 0 || s[i] == L'"') bs *= 2;
    for (k = 0; k < bs; k++) PUT(L'\\');
    if (s[i] == 0) break;
    if (s[i] == L'"') PUT(L'\\');
    PUT(s[i]);
  }
  PUT(L'"');
#undef PUT
  return n;
}

static int build_cmdline(const char *const argv[], WCHAR **out) {
  WCHAR *cmd = NULL, *w = NULL;
  size_t total = 0, n = 0, i;
  int pass, r;

  for (pass = 0; pass < 2; pass++) {
    for (i = 0; argv[i] != NULL; i++) {
      r = widen(argv[i], &w);
      if (r != 0) {
        free(cmd);
        return r;
      }
      /* No file name holds a quote, and CreateProcess cannot take one. */
      if (i == 0 && (w[0] == 0 || wcschr(w, L'"') != NULL)) {
        free(w);
        free(cmd);
        return handoff__err(HANDOFF_ENOENT);
      }
      if (i > 0) {
        if (cmd != NULL) cmd[n] = L' ';
        n++;
      }
      n += quote(cmd != NULL ? cmd + n : NULL, w, i == 0);
      free(w);
    }
    if (pass == 0) {
      total = n;
      n = 0;
      cmd = malloc((total + 1) * sizeof(WCHAR));
      if (cmd == NULL) return handoff__err(HANDOFF_ENOMEM);
    }
  }
  cmd[total] = 0;
  *out = cmd;
  return 0;
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

/* server: ours, overlapped, not inheritable.  client: the child's,
 * inheritable, already connected. */
static int make_pair(HANDLE *server, HANDLE *client) {
  SECURITY_ATTRIBUTES sa;
  PSECURITY_DESCRIPTOR sd;
  OVERLAPPED ov;
  WCHAR name[96], *p;
  HANDLE srv, cli = INVALID_HANDLE_VALUE;
  DWORD err, mode = PIPE_READMODE_MESSAGE, spid = 0, cpid = 0, n;
  int r;

  r = handoff__win_sd_create(&sd);
  if (r != 0) return r;
  /* \\.\pipe\handoff-spawn-<pid>-<counter>-<ticks> */
  p = put_dec(put_str(name, L"\\\\.\\pipe\\handoff-spawn-"),
              GetCurrentProcessId());
  p = put_dec(put_str(p, L"-"),
              (unsigned long)InterlockedIncrement(&spawn_counter));
  put_dec(put_str(p, L"-"), GetTickCount64());
  sa.nLength = sizeof(sa);
  sa.lpSecurityDescriptor = sd;
  sa.bInheritHandle = FALSE;
  srv = CreateNamedPipeW(name,
                         PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                             FILE_FLAG_FIRST_PIPE_INSTANCE,
                         PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                             PIPE_REJECT_REMOTE_CLIENTS,
                         1, HANDOFF__WIN_MAX_FRAME, HANDOFF__WIN_MAX_FRAME, 0,
                         &sa);
  err = srv == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  LocalFree(sd);
  if (err != 0) return handoff__win_err(err);

  sa.lpSecurityDescriptor = NULL;
  sa.bInheritHandle = TRUE;
  cli = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, &sa, OPEN_EXISTING,
                    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
                        SECURITY_IDENTIFICATION,
                    NULL);
  if (cli == INVALID_HANDLE_VALUE) goto fail_os;
  if (!SetNamedPipeHandleState(cli, &mode, NULL, NULL)) goto fail_os;
  memset(&ov, 0, sizeof(ov));
  if (!ConnectNamedPipe(srv, &ov)) {
    err = GetLastError();
    if (err == ERROR_IO_PENDING) { /* cannot be: our client is connected */
      CancelIoEx(srv, &ov);
      GetOverlappedResult(srv, &ov, &n, TRUE);
      goto fail;
    }
    if (err != ERROR_PIPE_CONNECTED) goto fail;
  }
  /* Both ends are ours: nobody squatted the name or took the instance. */
  if (!GetNamedPipeServerProcessId(cli, &spid) ||
      !GetNamedPipeClientProcessId(srv, &cpid))
    goto fail_os;
  if (spid != GetCurrentProcessId() || cpid != GetCurrentProcessId()) {
    err = ERROR_PIPE_BUSY;
    goto fail;
  }
  *server = srv;
  *client = cli;
  return 0;

fail_os:
  err = GetLastError();
fail:
  if (cli != INVALID_HANDLE_VALUE) CloseHandle(cli);
  CloseHandle(srv);
  return handoff__oserr((int)err, HANDOFF_ESYS);
}

/* ---- Public API -------------------------------------------------------- */

int handoff_spawn(const char *const argv[], handoff_chan_t **chan,
                  handoff_proc_t **proc) {
  static const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                 STD_ERROR_HANDLE};
  HANDLE srv = NULL, cli = NULL, self = GetCurrentProcess(), h;
  HANDLE dup[3] = {NULL, NULL, NULL}, std[3], list[4];
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  PROCESS_INFORMATION pi;
  STARTUPINFOEXW si;
  WCHAR *cmd = NULL, *env = NULL;
  handoff_chan_t *c = NULL;
  handoff_proc_t *p = NULL;
  SIZE_T asize = 0;
  DWORD nlist = 0, i;
  int r, attrs_init = 0;

  r = handoff__check_spawn(argv, chan, proc);
  if (r != 0) return r;
  r = build_cmdline(argv, &cmd);
  if (r != 0) goto out;
  p = malloc(sizeof(*p));
  if (p == NULL) {
    r = handoff__err(HANDOFF_ENOMEM);
    goto out;
  }
  r = make_pair(&srv, &cli);
  if (r != 0) goto out;
  r = build_env(cli, &env);
  if (r != 0) goto out;
  r = handoff__win_chan_new(srv, &c);
  if (r != 0) goto out;
  srv = NULL; /* c owns it now */
  /* Our HELLO is in the pipe before the child exists. */
  r = handoff__send_hello(c);
  if (r != 0) {
    r = handoff__oserr(handoff_last_oserror(), HANDOFF_ESYS);
    goto out;
  }

  /* The child gets exactly these: its channel end and inheritable copies of
   * our std handles (the originals need not be inheritable). */
  list[nlist++] = cli;
  for (i = 0; i < 3; i++) {
    std[i] = h = GetStdHandle(which[i]);
    if (h == NULL || h == INVALID_HANDLE_VALUE) {
      std[i] = NULL;
      continue;
    }
    if (DuplicateHandle(self, h, self, &dup[i], 0, TRUE,
                        DUPLICATE_SAME_ACCESS)) {
      std[i] = dup[i];
      list[nlist++] = dup[i];
    } else {
      dup[i] = NULL; /* e.g. a console pseudo-handle: pass it as it is */
    }
  }
  InitializeProcThreadAttributeList(NULL, 1, 0, &asize);
  attrs = malloc(asize);
  if (attrs == NULL) {
    r = handoff__err(HANDOFF_ENOMEM);
    goto out;
  }
  if (!InitializeProcThreadAttributeList(attrs, 1, 0, &asize)) goto out_os;
  attrs_init = 1;
  if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                 list, nlist * sizeof(HANDLE), NULL, NULL))
    goto out_os;

  memset(&si, 0, sizeof(si));
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = std[0];
  si.StartupInfo.hStdOutput = std[1];
  si.StartupInfo.hStdError = std[2];
  si.lpAttributeList = attrs;
  /* No application name: Windows searches for argv[0] and adds ".exe". */
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE,
                      EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT,
                      env, NULL, &si.StartupInfo, &pi))
    goto out_os;
  CloseHandle(pi.hThread);
  p->h = pi.hProcess;
  p->pid = pi.dwProcessId;
  /* The OS's number for it, and a handle that keeps the number its. */
  (void)handoff__win_hold_peer(c, pi.dwProcessId, pi.hProcess, NULL);
  (void)handoff__win_process_sid(pi.hProcess, c->core.peer.sid,
                                 sizeof(c->core.peer.sid));
  *chan = c;
  *proc = p;
  c = NULL;
  p = NULL;
  r = 0;
  goto out;

out_os:
  r = handoff__win_err(GetLastError());
out:
  if (attrs_init) DeleteProcThreadAttributeList(attrs);
  free(attrs);
  for (i = 0; i < 3; i++)
    if (dup[i] != NULL) CloseHandle(dup[i]);
  if (cli != NULL) CloseHandle(cli);
  if (srv != NULL) CloseHandle(srv);
  handoff_close(c);
  free(p);
  free(env);
  free(cmd);
  return r;
}

int handoff_inherited(handoff_chan_t **out) {
  WCHAR buf[32];
  handoff_chan_t *c;
  uintptr_t v = 0;
  DWORD n, i, flags = 0, pid = 0, mode = PIPE_READMODE_MESSAGE;
  unsigned d;
  HANDLE h;
  int r;

  if (out == NULL) return handoff__err(HANDOFF_EINVAL);
  n = GetEnvironmentVariableW(ENV_NAME, buf, sizeof(buf) / sizeof(buf[0]));
  if (n == 0) return handoff__oserr((int)GetLastError(), HANDOFF_ENOENT);
  /* Strictly decimal: no sign, no space, no leading zero, no overflow. */
  r = n >= sizeof(buf) / sizeof(buf[0]) || buf[0] == L'0';
  for (i = 0; i < n && !r; i++) {
    d = (unsigned)(buf[i] - L'0');
    if (buf[i] < L'0' || buf[i] > L'9' || v > (UINTPTR_MAX - d) / 10)
      r = 1;
    else
      v = v * 10 + d;
  }
  /* Only the client end of a message pipe is ours: a stale value passed on
   * to a grandchild may name some other pipe there, such as its stdout. */
  h = (HANDLE)v;
  if (r || v == 0 || GetFileType(h) != FILE_TYPE_PIPE ||
      !GetNamedPipeInfo(h, &flags, NULL, NULL, NULL) ||
      (flags & (PIPE_TYPE_MESSAGE | PIPE_SERVER_END)) != PIPE_TYPE_MESSAGE) {
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
    (void)handoff__win_hold_peer(c, pid, NULL, &now);
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

int handoff_wait(handoff_proc_t *p, int timeout_ms, int *exit_code) {
  DWORD w, code;
  if (p == NULL) return handoff__err(HANDOFF_EINVAL);
  w = WaitForSingleObject(p->h, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  if (w == WAIT_TIMEOUT) return handoff__err(HANDOFF_ETIMEDOUT);
  if (w != WAIT_OBJECT_0) return handoff__win_err(GetLastError());
  if (!GetExitCodeProcess(p->h, &code)) return handoff__win_err(GetLastError());
  if (exit_code != NULL) *exit_code = (int)code;
  CloseHandle(p->h);
  free(p);
  return 0;
}

int handoff_kill(handoff_proc_t *p) {
  DWORD err;
  if (p == NULL) return handoff__err(HANDOFF_EINVAL);
  if (TerminateProcess(p->h, 137)) return 0;
  err = GetLastError();
  /* Already exited (Windows says access denied): that is what we wanted. */
  if (WaitForSingleObject(p->h, 0) == WAIT_OBJECT_0) return 0;
  return handoff__win_err(err);
}

long handoff_proc_pid(const handoff_proc_t *p) {
  return p == NULL ? -1 : (long)p->pid;
}
