/* Windows error codes to HANDOFF_E*: the one place that translates them
 * (GetLastError and WSAGetLastError share one number space). */
#include "internal.h"

/* CreateProcess on a program that needs elevation; older headers lack it. */
#ifndef ERROR_ELEVATION_REQUIRED
#define ERROR_ELEVATION_REQUIRED 740L
#endif

static int translate(DWORD oserr) {
  switch (oserr) {
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_NOT_CONNECTED:
    return HANDOFF_ECLOSED;

  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_NETPATH:
    return HANDOFF_ENOENT;

  case ERROR_ACCESS_DENIED:
  case ERROR_PRIVILEGE_NOT_HELD:
  case ERROR_ELEVATION_REQUIRED:
  case ERROR_BAD_EXE_FORMAT: /* spawn: "not executable" */
  case WSAEACCES:
    return HANDOFF_EACCES;

  case WSAENOTSOCK:
    return HANDOFF_ENOTSOCK;

  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_COMMITMENT_LIMIT:
  case WSAENOBUFS:
    return HANDOFF_ENOMEM;

  case WAIT_TIMEOUT:
  case ERROR_SEM_TIMEOUT:
    return HANDOFF_ETIMEDOUT;

  default:
    return HANDOFF_ESYS;
  }
}

int handoff__win_err(DWORD oserr) {
  return handoff__oserr((int)oserr, translate(oserr));
}
