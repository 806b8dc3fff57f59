/* handoff_strerror(3) EXAMPLES: the block runs twice on one name; the
 * second time the name is taken, and the block must report
 * HANDOFF_EADDRINUSE (it prints the message).  Passes if both results are
 * as expected. */
#include "harness.h"

static int try_listen(handoff_listener_t **out) {
  handoff_listener_t *l = NULL;
#include "man-strerror.inc"
  *out = l;
  return r;
}

int main(void) {
  handoff_listener_t *a = NULL, *b = NULL;
  int r1, r2;
  if (h_private_dir() != 0) return fprintf(stderr, "no private directory\n"), 1;
  r1 = try_listen(&a);
  r2 = try_listen(&b); /* prints "listen: name already has a listener ..." */
  handoff_listener_close(a);
  if (r2 == 0) handoff_listener_close(b);
  printf("first: %s, second: %s\n", handoff_err_name(r1), handoff_err_name(r2));
  return r1 == 0 && r2 == HANDOFF_EADDRINUSE ? 0 : 1;
}
