/* Argument checks and name rules: the same on both OSes. */
#include "internal.h"

int handoff__check_name(const char *name) {
  size_t i;
  if (name == NULL || name[0] == '\0' || name[0] == '.') return HANDOFF_EINVAL;
  for (i = 0; name[i] != '\0'; i++) {
    char ch = name[i];
    if (i >= HANDOFF_MAX_NAME) return HANDOFF_EINVAL;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
      return HANDOFF_EINVAL;
  }
  return 0;
}

int handoff__check_spawn(const char *const argv[], handoff_chan_t **chan,
                         handoff_proc_t **proc) {
  if (argv == NULL || argv[0] == NULL || chan == NULL || proc == NULL)
    return handoff__err(HANDOFF_EINVAL);
  return 0;
}
