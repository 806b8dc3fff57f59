/* README.md, "A sender and a receiver, complete": runs the receiver in a
 * second process and the sender here; passes if both exit 0. */
#include "harness.h"

#define main snippet_main
#include "readme-pair.inc"
#undef main

int main(int argc, char **argv) {
  char *recv_argv[] = {argv[0], (char *)"recv", NULL};
  char *send_argv[] = {argv[0], NULL};
  handoff_chan_t *c;
  handoff_proc_t *p;
  int i, r, sent = 1, code;

  if (h_private_dir() != 0) return fprintf(stderr, "no private directory\n"), 1;
  if (argc > 1) return snippet_main(2, recv_argv);
  if ((r = h_spawn_self(argv[0], "recv", &c, &p)) != 0)
    return fprintf(stderr, "spawn: %s\n", handoff_strerror(r)), 1;
  /* The receiver may not listen yet: the sender then fails with "no
   * listener", and is run again. */
  for (i = 0; i < 200 && (sent = snippet_main(1, send_argv)) != 0; i++) h_sleep_ms(25);
  code = h_reap(p, 10000);
  handoff_close(c);
  printf("sender %s, receiver exit %d\n", sent == 0 ? "ok" : "failed", code);
  return sent == 0 && code == 0 ? 0 : 1;
}
