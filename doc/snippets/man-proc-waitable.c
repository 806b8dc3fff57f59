/* handoff_proc_waitable(3) EXAMPLE: a child that exits at once; the block's
 * "when pf reports POLLIN or POLLHUP" is the poll this scenario does before
 * the block's handoff_wait.  Passes if the waitable fired, the child was
 * reaped with its exit code (0) by the block, and nothing was left. */
#include "harness.h"

#include <poll.h>

static int fired, reaped_code = -1;

/* The event loop's wait, before the block's handoff_wait(p, 0, ...). */
static int loop_then_wait(struct pollfd *pf, handoff_proc_t *p, int *code) {
  int r;
  fired = poll(pf, 1, 10000) == 1 && (pf->revents & (POLLIN | POLLHUP)) != 0;
  r = handoff_wait(p, 0, code);
  if (r == 0) reaped_code = *code;
  return r;
}

int main(int argc, char **argv) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  if (argc > 1) return 0; /* the child: exit at once */
  if (h_private_dir() != 0) return fprintf(stderr, "no private directory\n"), 1;
  if (h_spawn_self(argv[0], "child", &c, &p) != 0) return 1;
  {
#define handoff_wait(p, ms, code) loop_then_wait(&pf, p, code)
#include "man-proc-waitable.inc"
#undef handoff_wait
  }
  handoff_close(c);
  if (reaped_code != 0) {
    fprintf(stderr, "child not reaped (fired %d)\n", fired);
    handoff_kill(p);
    handoff_wait(p, 5000, NULL);
    return 1;
  }
  return fired ? 0 : 1;
}
