/* Peer identity from the OS: the client's token as the pipe gives it
 * (listener side), the server's process token and the pipe's owner
 * (client side), the listener's access check, and the security
 * descriptors for pipes and the name's mutex. */
#include "internal.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who may serve names to handoff_connect: this user's SID string. */
#define SERVER_SID_ENV L"HANDOFF_SERVER_SID"

/* A client needs no more than this on a pipe: FILE_GENERIC_READ (read,
 * attributes, extended attributes, READ_CONTROL, SYNCHRONIZE), plus
 * FILE_WRITE_DATA to write and FILE_WRITE_ATTRIBUTES for
 * SetNamedPipeHandleState.  Not FILE_APPEND_DATA, which on a pipe is
 * FILE_CREATE_PIPE_INSTANCE ("Named Pipe Security and Access Rights",
 * https://learn.microsoft.com/windows/win32/ipc/named-pipe-security-and-access-rights),
 * nor WRITE_DAC, WRITE_OWNER, DELETE. */
#define CLIENT_RIGHTS "0x12018b"
typedef char handoff__win_client_rights_match[
    (FILE_GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES) == 0x12018b
        ? 1 : -1];

/* sid as a string into out. */
static int sid_string(PSID sid, char *out, size_t cap) {
  LPSTR s;
  if (!ConvertSidToStringSidA(sid, &s)) return handoff__win_err(GetLastError());
  if (strlen(s) >= cap) {
    LocalFree(s);
    return handoff__oserr(ERROR_INSUFFICIENT_BUFFER, HANDOFF_ESYS);
  }
  strcpy(out, s);
  LocalFree(s);
  return 0;
}

/* The user SID in tok, as a string. */
static int token_user_sid(HANDLE tok, char *out, size_t cap) {
  union {
    TOKEN_USER user;
    unsigned char buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } tu;
  DWORD n;
  if (!GetTokenInformation(tok, TokenUser, &tu, sizeof(tu), &n))
    return handoff__win_err(GetLastError());
  return sid_string(tu.user.User.Sid, out, cap);
}

/* The mandatory integrity level of tok (its label's RID: 0x1000 low, 0x2000
 * medium, 0x3000 high, 0x4000 system), or 0 if it cannot be read. */
static DWORD token_integrity(HANDLE tok) {
  union {
    TOKEN_MANDATORY_LABEL label;
    unsigned char buf[sizeof(TOKEN_MANDATORY_LABEL) + SECURITY_MAX_SID_SIZE];
  } tl;
  DWORD n;
  PSID sid;
  if (!GetTokenInformation(tok, TokenIntegrityLevel, &tl, sizeof(tl), &n))
    return 0;
  sid = tl.label.Label.Sid;
  if (*GetSidSubAuthorityCount(sid) == 0) return 0;
  return *GetSidSubAuthority(sid, *GetSidSubAuthorityCount(sid) - 1U);
}

int handoff__win_process_sid(HANDLE proc, char *out, size_t cap) {
  HANDLE tok;
  int r;
  if (!OpenProcessToken(proc, TOKEN_QUERY, &tok))
    return handoff__win_err(GetLastError());
  r = token_user_sid(tok, out, cap);
  CloseHandle(tok);
  return r;
}

int handoff__win_pid_sid(DWORD pid, char *out, size_t cap) {
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  int r;
  if (h == NULL) return handoff__win_err(GetLastError());
  r = handoff__win_process_sid(h, out, cap);
  CloseHandle(h);
  return r;
}

/* Our own process's integrity level. */
static DWORD self_integrity(void) {
  HANDLE tok;
  DWORD il;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) return 0;
  il = token_integrity(tok);
  CloseHandle(tok);
  return il;
}

/* ---- Could the peer have put a handle into us? ------------------------- */

/* WSASocketW(FROM_PROTOCOL_INFO) adopts whatever handle value an info
 * names, so an info is the peer's claim, not a capability.  A peer that
 * may open this process with PROCESS_DUP_HANDLE could have put a handle
 * into it (that is what WSADuplicateSocketW does for it: "Shared Sockets
 * in the SPI",
 * https://learn.microsoft.com/windows/win32/winsock/shared-sockets-in-the-spi-2)
 * and could as well close any of ours (DuplicateHandle with
 * DUPLICATE_CLOSE_SOURCE, "DuplicateHandle",
 * https://learn.microsoft.com/windows/win32/api/handleapi/nf-handleapi-duplicatehandle):
 * its infos are imported, and those of a frame we reject are imported and
 * closed, so nothing it sent leaks.  A peer that may not cannot have made
 * a handle here: nothing it names is imported, not even to close it (it
 * might name one of ours), and its socket-carrying frames are EPROTO.
 * Who may: an AccessCheck of this process's security descriptor (owner,
 * group, DACL and mandatory label) against the peer's token, for
 * PROCESS_DUP_HANDLE ("AccessCheck",
 * https://learn.microsoft.com/windows/win32/api/securitybaseapi/nf-securitybaseapi-accesscheck),
 * or a token holding SeDebugPrivilege, which opens any process whatever
 * its DACL ("Process Security and Access Rights",
 * https://learn.microsoft.com/windows/win32/procthread/process-security-and-access-rights). */

/* The process object's generic mapping (the write rights include
 * PROCESS_DUP_HANDLE: a lower integrity level's no-write-up denies it). */
static GENERIC_MAPPING process_mapping = {
    STANDARD_RIGHTS_READ | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION,
    STANDARD_RIGHTS_WRITE | PROCESS_CREATE_PROCESS | PROCESS_CREATE_THREAD |
        PROCESS_VM_OPERATION | PROCESS_VM_WRITE | PROCESS_DUP_HANDLE |
        PROCESS_TERMINATE | PROCESS_SET_QUOTA | PROCESS_SET_INFORMATION |
        PROCESS_SUSPEND_RESUME,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, PROCESS_ALL_ACCESS};

/* This process's security descriptor (malloc'd), or NULL. */
static PSECURITY_DESCRIPTOR self_sd(void) {
  SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION |
                              GROUP_SECURITY_INFORMATION |
                              DACL_SECURITY_INFORMATION |
                              LABEL_SECURITY_INFORMATION;
  PSECURITY_DESCRIPTOR sd = NULL;
  DWORD n = 0, need = 512;
  int tries;
  for (tries = 0; tries < 4; tries++) {
    free(sd);
    n = need;
    sd = malloc(n);
    if (sd == NULL) return NULL;
    if (GetKernelObjectSecurity(GetCurrentProcess(), what, sd, n, &need))
      return sd;
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
      /* A system that cannot read the label: the rest decides. */
      if ((what & LABEL_SECURITY_INFORMATION) == 0) break;
      what &= ~(SECURITY_INFORMATION)LABEL_SECURITY_INFORMATION;
      need = n;
    }
  }
  free(sd);
  return NULL;
}

static int holds_debug(HANDLE tok) {
  union {
    TOKEN_PRIVILEGES p;
    unsigned char buf[4096];
  } tp;
  LUID debug;
  DWORD n, i;
  if (!LookupPrivilegeValueW(NULL, L"SeDebugPrivilege", &debug) ||
      !GetTokenInformation(tok, TokenPrivileges, &tp, sizeof(tp), &n))
    return 0;
  for (i = 0; i < tp.p.PrivilegeCount; i++)
    if (tp.p.Privileges[i].Luid.LowPart == debug.LowPart &&
        tp.p.Privileges[i].Luid.HighPart == debug.HighPart)
      return 1;
  return 0;
}

/* tok: an impersonation token (identification level is enough). */
static int token_can_dup(HANDLE tok) {
  union {
    PRIVILEGE_SET set;
    unsigned char buf[sizeof(PRIVILEGE_SET) + 8 * sizeof(LUID_AND_ATTRIBUTES)];
  } ps;
  DWORD plen = sizeof(ps), granted = 0;
  BOOL ok = FALSE;
  PSECURITY_DESCRIPTOR sd;
  if (holds_debug(tok)) return 1;
  if ((sd = self_sd()) == NULL) return 0;
  if (!AccessCheck(sd, tok, PROCESS_DUP_HANDLE, &process_mapping, &ps.set,
                   &plen, &granted, &ok))
    ok = FALSE;
  free(sd);
  return ok && (granted & PROCESS_DUP_HANDLE) != 0;
}

/* The same for a peer known by its process.  AccessCheck wants an
 * impersonation token: one made from the process's primary token.  Where
 * that token may be read but not duplicated, the rule AccessCheck applies
 * to a default process DACL decides: our user, at our integrity level or
 * above.  A token we may not read at all: no. */
static int proc_can_dup(HANDLE proc) {
  char sid[HANDOFF__WIN_SID_MAX], self[HANDOFF__WIN_SID_MAX];
  HANDLE tok, imp;
  int yes = 0;
  if (OpenProcessToken(proc, TOKEN_QUERY | TOKEN_DUPLICATE, &tok)) {
    if (DuplicateToken(tok, SecurityIdentification, &imp)) {
      yes = token_can_dup(imp);
      CloseHandle(imp);
      CloseHandle(tok);
      return yes;
    }
    CloseHandle(tok);
  }
  if (!OpenProcessToken(proc, TOKEN_QUERY, &tok)) return 0;
  yes = holds_debug(tok) ||
        (token_user_sid(tok, sid, sizeof(sid)) == 0 &&
         handoff__win_process_sid(GetCurrentProcess(), self, sizeof(self)) ==
             0 &&
         strcmp(sid, self) == 0 && token_integrity(tok) >= self_integrity());
  CloseHandle(tok);
  return yes;
}

/* ---- The peer process -------------------------------------------------- */

/* What a channel needs of its peer: duplicate into it (WSADuplicateSocketW
 * and the revocation of unsent duplicates), wait for its end, read its
 * creation time and token. */
#define PEER_RIGHTS \
  (PROCESS_DUP_HANDLE | SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION)

static int created_after(HANDLE proc, const FILETIME *taken) {
  FILETIME created, exited, kernel, user;
  if (!GetProcessTimes(proc, &created, &exited, &kernel, &user)) return 1;
  return CompareFileTime(&created, taken) > 0;
}

/* Windows reuses a process id once the last handle to the dead process is
 * closed ("GetProcessId"/"Process handles and identifiers",
 * https://learn.microsoft.com/windows/win32/procthread/process-handles-and-identifiers:
 * "the identifier is valid until the process has been terminated";
 * Wine gives it out again within a few process starts), and
 * WSADuplicateSocketW takes an id.  Holding a handle keeps the id ours. */
int handoff__win_hold_peer(handoff_chan_t *c, DWORD pid, HANDLE proc,
                           const FILETIME *taken, int judge) {
  HANDLE h = NULL;
  int held = 1;
  c->core.peer.pid = (long)pid;
  if (proc != NULL) {
    if (!DuplicateHandle(GetCurrentProcess(), proc, GetCurrentProcess(), &h,
                         PEER_RIGHTS, FALSE, 0))
      return handoff__win_err(GetLastError());
  } else if ((h = OpenProcess(PEER_RIGHTS, FALSE, pid)) == NULL) {
    /* Not ours to duplicate into (another user, a higher integrity
     * level): nothing flows to it, but what it sends may be taken. */
    held = 0;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (h == NULL) return 0;
  }
  if (taken != NULL && created_after(h, taken)) {
    CloseHandle(h);
    return handoff__oserr(ERROR_INVALID_PARAMETER, HANDOFF_EACCES);
  }
  if (judge) c->peer_can_dup = proc_can_dup(h);
  if (held)
    c->peer_proc = h;
  else
    CloseHandle(h);
  return 0;
}

/* ---- Listener side: who the client is ---------------------------------- */

/* The client's token as the pipe gives it, at the level the client allowed
 * (the library's clients allow identification: enough to read the token,
 * never to act as the client).  OpenProcessToken on the client's process
 * would need rights a listener that is not an administrator lacks for
 * another user's process; the pipe's own client context does not.  The
 * client need not have written anything: the context is the one captured
 * when it opened the pipe (static tracking, "SECURITY_QUALITY_OF_SERVICE",
 * https://learn.microsoft.com/windows/win32/api/winnt/ns-winnt-security_quality_of_service),
 * so accept does not wait for the peer (shown under Wine: a token right
 * after ConnectNamedPipe).  The thread's own token, if it had one, is
 * restored whatever happens. */
static int client_token(HANDLE pipe, HANDLE *tok) {
  HANDLE prev = NULL;
  DWORD err = 0;
  if (!OpenThreadToken(GetCurrentThread(), TOKEN_IMPERSONATE, TRUE, &prev)) {
    err = GetLastError();
    if (err != ERROR_NO_TOKEN) return handoff__win_err(err);
    prev = NULL;
    err = 0;
  }
  *tok = NULL;
  if (!ImpersonateNamedPipeClient(pipe))
    err = GetLastError();
  else if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, tok))
    err = GetLastError();
  if (!SetThreadToken(NULL, prev)) {
    if (err == 0) err = GetLastError();
    RevertToSelf(); /* never go on as the client */
  }
  if (prev != NULL) CloseHandle(prev);
  if (err == 0) return 0;
  if (*tok != NULL) CloseHandle(*tok);
  *tok = NULL;
  return handoff__oserr((int)err, HANDOFF_EACCES);
}

/* Admitted by the widened policy: anyone, the allowed user, or a member of
 * the allowed group (tok is an impersonation token, as
 * CheckTokenMembership wants). */
static int widened(HANDLE tok, const char *peer_sid, unsigned flags,
                   PSID allow) {
  PSID user = NULL;
  BOOL member = FALSE;
  int yes = 0;
  if ((flags & HANDOFF_ALLOW_ANYONE) != 0) return 1;
  if (allow == NULL) return 0;
  if (ConvertStringSidToSidA(peer_sid, &user)) {
    yes = EqualSid(user, allow);
    LocalFree(user);
  }
  if (!yes) yes = CheckTokenMembership(tok, allow, &member) && member;
  return yes;
}

int handoff__win_admit(handoff_chan_t *c, const char *self_sid, unsigned flags,
                       PSID allow) {
  HANDLE tok;
  int r, same;
  c->peer_can_dup = 0; /* refused: nothing of its is taken */
  r = client_token(c->pipe, &tok);
  if (r != 0) return r;
  r = token_user_sid(tok, c->core.peer.sid, sizeof(c->core.peer.sid));
  if (r != 0) {
    CloseHandle(tok);
    return r;
  }
  /* Our own user, but only at our integrity level or above: a same-user
   * process of lower integrity (a non-elevated one reaching an elevated
   * listener, a low-integrity sandbox) is another principal.  Those the
   * caller admitted by handoff_listen_ex are admitted at any level. */
  same = strcmp(c->core.peer.sid, self_sid) == 0 &&
         token_integrity(tok) >= self_integrity();
  if (!same) same = widened(tok, c->core.peer.sid, flags, allow);
  /* From the client's own token, which a listener that is no
   * administrator can read for any user (its process's it could not). */
  c->peer_can_dup = same && token_can_dup(tok);
  CloseHandle(tok);
  return same ? 0 : handoff__oserr(ERROR_ACCESS_DENIED, HANDOFF_EACCES);
}

/* ---- Client side: who serves the name ---------------------------------- */

int handoff__win_server_sid(const char *self_sid, char *out, size_t cap) {
  WCHAR env[HANDOFF__WIN_SID_MAX];
  PSID sid;
  int r;
  DWORD n = GetEnvironmentVariableW(SERVER_SID_ENV, env, HANDOFF__WIN_SID_MAX);
  if (n == 0 || env[0] == 0) {
    if (strlen(self_sid) >= cap) return handoff__err(HANDOFF_EINVAL);
    strcpy(out, self_sid);
    return 0;
  }
  if (n >= HANDOFF__WIN_SID_MAX) return handoff__err(HANDOFF_EINVAL);
  /* Canonical form, so that it compares with what the OS reports. */
  if (!ConvertStringSidToSidW(env, &sid))
    return handoff__oserr((int)GetLastError(), HANDOFF_EINVAL);
  r = sid_string(sid, out, cap);
  LocalFree(sid);
  return r;
}

/* The pipe's owner is expected: the user who created its first instance
 * (instances share the pipe's one security descriptor; the owner is never
 * taken from a later CreateNamedPipe, "Named Pipe Security and Access
 * Rights"; shown under Wine too), and only an administrator can make
 * another user the owner of an object it creates. */
int handoff__win_owner_is(HANDLE pipe, const char *expected) {
  char owner_sid[HANDOFF__WIN_SID_MAX];
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  DWORD err;
  int r;
  err = GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION,
                        &owner, NULL, NULL, NULL, &sd);
  if (err != ERROR_SUCCESS) return handoff__oserr((int)err, HANDOFF_EACCES);
  r = sid_string(owner, owner_sid, sizeof(owner_sid));
  LocalFree(sd);
  if (r != 0) return r;
  if (strcmp(owner_sid, expected) != 0)
    return handoff__oserr(ERROR_ACCESS_DENIED, HANDOFF_EACCES);
  return 0;
}

int handoff__win_verify_server(HANDLE pipe, const char *expected, int is_self,
                               DWORD *pid) {
  char user[HANDOFF__WIN_SID_MAX];
  HANDLE proc;
  DWORD err;
  int r = handoff__win_owner_is(pipe, expected);
  if (r != 0) return r;
  if (!GetNamedPipeServerProcessId(pipe, pid))
    return handoff__win_err(GetLastError());
  /* The owner does not tell which process made this instance: anyone the
   * pipe's DACL grants FILE_CREATE_PIPE_INSTANCE can add one.  The
   * serving process's token does. */
  proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, *pid);
  if (proc == NULL) {
    err = GetLastError();
    r = handoff__oserr((int)err, HANDOFF_EACCES);
  } else {
    r = handoff__win_process_sid(proc, user, sizeof(user));
    err = (DWORD)handoff_last_oserror();
    CloseHandle(proc);
    if (r == 0 && strcmp(user, expected) != 0)
      return handoff__oserr(ERROR_ACCESS_DENIED, HANDOFF_EACCES);
  }
  if (r == 0) return 0;
  /* Another user's token (HANDOFF_SERVER_SID) is closed to us unless we
   * are an administrator: then the owner decides, because a listener's
   * DACL grants FILE_CREATE_PIPE_INSTANCE to its own user and SYSTEM only,
   * so every instance of a pipe that user owns is that user's (or the
   * system's).  Our own user's token we can always read. */
  if (!is_self && err == ERROR_ACCESS_DENIED) return 0;
  return handoff__oserr((int)err, HANDOFF_EACCES);
}

/* ---- Security descriptors ---------------------------------------------- */

static int sd_from(const char *sddl, PSECURITY_DESCRIPTOR *out) {
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
          sddl, SDDL_REVISION_1, out, NULL))
    return handoff__win_err(GetLastError());
  return 0;
}

int handoff__win_sd_create_ex(unsigned flags, const char *allow,
                              PSECURITY_DESCRIPTOR *out) {
  char self[HANDOFF__WIN_SID_MAX], sddl[160 + 4 * HANDOFF__WIN_SID_MAX];
  int r = handoff__win_process_sid(GetCurrentProcess(), self, sizeof(self));
  if (r != 0) return r;
  /* Owner: our user, explicitly (an elevated token's default owner is the
   * Administrators group, and clients check the owner).  Protected DACL:
   * SYSTEM and our own user in full; and whom the caller admits (AU:
   * authenticated users, never anonymous or remote: the pipe rejects remote
   * clients anyway) only what a client needs. */
  snprintf(sddl, sizeof(sddl), "O:%sD:P(A;;GA;;;SY)(A;;GA;;;%s)%s%s%s%s", self,
           self,
           (flags & HANDOFF_ALLOW_ANYONE) ? "(A;;" CLIENT_RIGHTS ";;;AU)" : "",
           allow != NULL ? "(A;;" CLIENT_RIGHTS ";;;" : "",
           allow != NULL ? allow : "", allow != NULL ? ")" : "");
  return sd_from(sddl, out);
}

int handoff__win_sd_create(PSECURITY_DESCRIPTOR *out) {
  return handoff__win_sd_create_ex(0, NULL, out);
}
