/* handoff_listen(3), "Start from HANDOFF_ACCESS_INIT": the block must give
 * a policy that admits uid 1001 and nobody else more, and handoff_listen_ex
 * must take it (POSIX: in a private directory of mode 0711, as the page
 * says widened access needs). */
#include "harness.h"

int main(void) {
  handoff_listener_t *l;
  int r;
#include "man-listen-access.inc"
  if (h_private_dir() != 0) return fprintf(stderr, "no private directory\n"), 1;
#ifndef _WIN32
  chmod(h_dir, 0711);
#endif
  if (acc.flags != 0 || acc.uid != 1001 || acc.gid != -1 || acc.sid != NULL)
    return fprintf(stderr, "HANDOFF_ACCESS_INIT: unexpected fields\n"), 1;
  r = handoff_listen_ex("snippet-access", &acc, &l);
  printf("handoff_listen_ex: %s\n", handoff_err_name(r));
  if (r != 0) return 1;
  handoff_listener_close(l);
  return 0;
}
