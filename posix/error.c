/* errno to HANDOFF_E*: the one place that translates them. */
#include "posix/internal.h"

#include <errno.h>

int handoff__px_err(int err) {
  int code;
  switch (err) {
  case EPIPE:
  case ECONNRESET:
  case ENOTCONN:
    code = HANDOFF_ECLOSED;
    break;
  case ENOENT:
  case ECONNREFUSED:
    code = HANDOFF_ENOENT;
    break;
  case EACCES:
  case EPERM:
  case ENOEXEC: /* as Windows' ERROR_BAD_EXE_FORMAT */
    code = HANDOFF_EACCES;
    break;
  case EADDRINUSE:
    code = HANDOFF_EADDRINUSE;
    break;
  case ENOMEM:
  case ENOBUFS:
    code = HANDOFF_ENOMEM;
    break;
  case ENOTSOCK:
    code = HANDOFF_ENOTSOCK;
    break;
  case ETIMEDOUT:
    code = HANDOFF_ETIMEDOUT;
    break;
  case EMSGSIZE:
    code = HANDOFF_ETOOBIG;
    break;
  default:
    code = HANDOFF_ESYS;
    break;
  }
  return handoff__oserr(err, code);
}
