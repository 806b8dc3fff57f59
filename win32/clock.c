/* The monotonic clock deadlines are measured on, and waits until them. */
#include "internal.h"

uint64_t handoff__now_ms(void) { return GetTickCount64(); }

DWORD handoff__win_wait_ms(uint64_t deadline) {
  int ms = handoff__remaining(deadline);
  return ms < 0 ? INFINITE : (DWORD)ms;
}
