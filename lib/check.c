/* Argument checks, name rules and deadlines: the same on both OSes. */
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

int handoff__check_send(const void *c, const handoff__limits_t *peer,
                        const handoff_sock_t *socks, size_t nsocks,
                        const void *data, size_t len) {
  if (c == NULL || (socks == NULL && nsocks != 0) ||
      (data == NULL && len != 0))
    return handoff__err(HANDOFF_EINVAL);
  if (nsocks > peer->max_socks || len > peer->max_data)
    return handoff__err(HANDOFF_ETOOBIG);
  return 0;
}

int handoff__check_recv(const void *c, const handoff_sock_t *socks,
                        const size_t *nsocks, const void *data,
                        const size_t *len, size_t *cap_socks,
                        size_t *cap_data) {
  *cap_socks = nsocks != NULL ? *nsocks : 0;
  *cap_data = len != NULL ? *len : 0;
  if (c == NULL || (socks == NULL && *cap_socks != 0) ||
      (data == NULL && *cap_data != 0))
    return handoff__err(HANDOFF_EINVAL);
  return 0;
}

uint64_t handoff__deadline(int timeout_ms) {
  if (timeout_ms < 0) return UINT64_MAX;
  return handoff__now_ms() + (uint64_t)timeout_ms;
}

int handoff__remaining(uint64_t deadline) {
  uint64_t now;
  if (deadline == UINT64_MAX) return -1;
  now = handoff__now_ms();
  if (now >= deadline) return 0;
  return deadline - now > 0x7fffffff ? 0x7fffffff : (int)(deadline - now);
}
