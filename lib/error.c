#include "config.h"
#include "internal.h"

/* Per thread (configure: C11 _Thread_local, else GNU __thread; gcc on
 * mingw via emutls).  A compiler with neither gets one value per process:
 * handoff_last_oserror is then only meaningful in a single-threaded
 * program (see its documentation). */
#ifdef HANDOFF_THREAD_LOCAL
static HANDOFF_THREAD_LOCAL int last_oserror;
#else
static int last_oserror;
#endif

#define ERR_MSG(name, val, msg) \
  case HANDOFF_##name:          \
    return msg;
const char *handoff_strerror(int err) {
  if (err == 0) return "success";
  switch (err) { HANDOFF_ERRNO_MAP(ERR_MSG) }
  return "unknown error";
}
#undef ERR_MSG

#define ERR_NAME(name, val, msg) \
  case HANDOFF_##name:           \
    return "HANDOFF_" #name;
const char *handoff_err_name(int err) {
  if (err == 0) return "0";
  switch (err) { HANDOFF_ERRNO_MAP(ERR_NAME) }
  return "HANDOFF_UNKNOWN";
}
#undef ERR_NAME

int handoff_last_oserror(void) { return last_oserror; }

int handoff__oserr(int oserr, int code) {
  last_oserror = oserr;
  return code;
}

int handoff__err(int code) {
  last_oserror = 0;
  return code;
}

unsigned handoff_version(void) { return HANDOFF_VERSION_HEX; }
