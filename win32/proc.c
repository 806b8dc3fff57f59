/* The process object: a child started by handoff_spawn, held by its
 * process handle.  Holding the handle is what makes kill and wait safe: a
 * process object, and with it its id, stays in existence while any handle
 * to it is open, so the id cannot be given to another process and the
 * handle always names our child ("Process Handles and Identifiers",
 * learn.microsoft.com/windows/win32/procthread/process-handles-and-identifiers:
 * "the identifier ... is valid from the time the process is created until
 * the process has been terminated", and a terminated process's object
 * remains while handles to it are open).  Nobody else can reap it: Windows
 * has no equivalent of waitpid(-1), so handoff_wait never reports ECLOSED
 * here. */
#include "internal.h"

#include <stdlib.h>

/* handoff_kill's exit code: 128 + SIGKILL, as POSIX reports a killed child. */
#define KILLED_EXIT_CODE 137

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
  /* Already exited: nothing to signal (our handle still names it). */
  if (WaitForSingleObject(p->h, 0) == WAIT_OBJECT_0) return 0;
  if (TerminateProcess(p->h, KILLED_EXIT_CODE)) return 0;
  err = GetLastError();
  /* Exited meanwhile (Windows says access denied): what we wanted. */
  if (WaitForSingleObject(p->h, 0) == WAIT_OBJECT_0) return 0;
  return handoff__win_err(err);
}

void handoff_proc_free(handoff_proc_t *p) {
  if (p == NULL) return;
  CloseHandle(p->h); /* the child keeps running; its id may then be reused */
  free(p);
}

/* The process handle itself: signalled when the process exits. */
int handoff_proc_waitable(handoff_proc_t *p, handoff_waitable_t *out) {
  if (p == NULL || out == NULL) return handoff__err(HANDOFF_EINVAL);
  *out = p->h;
  return 0;
}

long handoff_proc_pid(const handoff_proc_t *p) {
  return p == NULL ? -1 : (long)p->pid;
}
