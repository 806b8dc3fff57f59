/* Deadlines from timeouts, against the backend's monotonic clock. */
#include "internal.h"

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
