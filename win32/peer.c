/* Peer identity from the OS (process ids and token SIDs), the listener's
 * access check, and the pipe security descriptors built from them. */
#include "internal.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The user SID in tok, as a string. */
static int token_user_sid(HANDLE tok, char *out, size_t cap) {
  union {
    TOKEN_USER user;
    unsigned char buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } tu;
  DWORD n;
  LPSTR s;
  if (!GetTokenInformation(tok, TokenUser, &tu, sizeof(tu), &n))
    return handoff__win_err(GetLastError());
  if (!ConvertSidToStringSidA(tu.user.User.Sid, &s))
    return handoff__win_err(GetLastError());
  if (strlen(s) >= cap) {
    LocalFree(s);
    return handoff__err(HANDOFF_ESYS);
  }
  strcpy(out, s);
  LocalFree(s);
  return 0;
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

int handoff__win_admit(handoff_chan_t *c, const char *self_sid, unsigned flags,
                       PSID allow) {
  HANDLE proc, tok = NULL, imp = NULL;
  BOOL member = FALSE;
  int r, admitted;
  /* Not ImpersonateNamedPipeClient: that needs the client's data first,
   * and accept must not wait for a peer. */
  proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)c->core.peer.pid);
  if (proc == NULL) return handoff__oserr((int)GetLastError(), HANDOFF_EACCES);
  if (!OpenProcessToken(proc, TOKEN_QUERY | TOKEN_DUPLICATE, &tok)) tok = NULL;
  CloseHandle(proc);
  if (tok == NULL) return handoff__oserr((int)GetLastError(), HANDOFF_EACCES);
  r = token_user_sid(tok, c->core.peer.sid, sizeof(c->core.peer.sid));
  admitted = r == 0 && (strcmp(c->core.peer.sid, self_sid) == 0 ||
                        (flags & HANDOFF_ALLOW_ANYONE) != 0);
  if (r == 0 && !admitted && allow != NULL) {
    PSID user = NULL;
    if (ConvertStringSidToSidA(c->core.peer.sid, &user)) {
      admitted = EqualSid(user, allow);
      LocalFree(user);
    }
    /* A group: CheckTokenMembership wants an impersonation token. */
    if (!admitted && DuplicateToken(tok, SecurityIdentification, &imp)) {
      admitted = CheckTokenMembership(imp, allow, &member) && member;
      CloseHandle(imp);
    }
  }
  CloseHandle(tok);
  if (r != 0) return r;
  return admitted ? 0 : handoff__oserr(ERROR_ACCESS_DENIED, HANDOFF_EACCES);
}

int handoff__win_sd_create_ex(unsigned flags, const char *allow,
                              PSECURITY_DESCRIPTOR *out) {
  char self[HANDOFF__WIN_SID_MAX], sddl[128 + 3 * HANDOFF__WIN_SID_MAX];
  int r = handoff__win_process_sid(GetCurrentProcess(), self, sizeof(self));
  if (r != 0) return r;
  /* Protected DACL: SYSTEM and our own user; and whom the caller admits
   * (AU: authenticated users, never anonymous or remote: the pipe rejects
   * remote clients anyway). */
  snprintf(sddl, sizeof(sddl), "D:P(A;;GA;;;SY)(A;;GA;;;%s)%s%s%s%s", self,
           (flags & HANDOFF_ALLOW_ANYONE) ? "(A;;GA;;;AU)" : "",
           allow != NULL ? "(A;;GA;;;" : "", allow != NULL ? allow : "",
           allow != NULL ? ")" : "");
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
          sddl, SDDL_REVISION_1, out, NULL))
    return handoff__win_err(GetLastError());
  return 0;
}

int handoff__win_sd_create(PSECURITY_DESCRIPTOR *out) {
  return handoff__win_sd_create_ex(0, NULL, out);
}
