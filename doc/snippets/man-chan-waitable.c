/* handoff_chan_waitable(3) EXAMPLES: the POSIX worker loop, run in a
 * second process with a pipe as its "other" descriptor.  The parent sends
 * three messages with a socket each and closes its end without receiving.
 * Passes if the worker served all three, did its other work, left the loop
 * with HANDOFF_ECLOSED and did not spin. */
#include "harness.h"

#include <poll.h>

#define MESSAGES 3
#define MAX_POLLS 100

static int served, polls, others;

static void serve(handoff_sock_t s, size_t n, char *buf, size_t len) {
  (void)buf;
  (void)len;
  served++;
  if (n == 1) close(s);
}

static int other_fd;
static void other_work(void) {
  char b;
  if (read(other_fd, &b, 1) == 1) others++;
}

static int counted_poll(struct pollfd *p, nfds_t n, int ms) {
  if (++polls > MAX_POLLS) {
    fprintf(stderr, "event loop spins: %d polls\n", polls);
    exit(3);
  }
  return poll(p, n, ms);
}

static int worker_loop(handoff_chan_t *chan) {
  char buf[256];
#define poll counted_poll
#include "man-chan-waitable.inc"
#undef poll
  return r;
}

static int worker(void) {
  handoff_chan_t *chan;
  int fds[2], r = handoff_inherited(&chan);
  if (r != 0 || pipe(fds) != 0) return fprintf(stderr, "worker setup failed\n"), 1;
  other_fd = fds[0];
  if (write(fds[1], "x", 1) != 1) return 1; /* one piece of other work */
  r = worker_loop(chan);
  printf("worker: loop ended with %s, served %d, other work %d, polls %d\n",
         handoff_err_name(r), served, others, polls);
  return r == HANDOFF_ECLOSED && served == MESSAGES && others == 1 ? 0 : 1;
}

int main(int argc, char **argv) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  int i, r = 0, code;
  if (h_private_dir() != 0) return 1;
  if (argc > 1) return worker();
  if ((r = h_spawn_self(argv[0], "worker", &c, &p)) != 0)
    return fprintf(stderr, "spawn: %s\n", handoff_strerror(r)), 1;
  for (i = 0; i < MESSAGES && r == 0; i++) {
    handoff_sock_t s = socket(AF_INET, SOCK_STREAM, 0);
    r = handoff_send(c, &s, 1, "job", 3, 5000);
    close(s);
  }
  if (r != 0) fprintf(stderr, "send: %s\n", handoff_strerror(r));
  handoff_close(c);
  code = h_reap(p, 10000);
  printf("worker exit %d\n", code);
  return r == 0 && code == 0 ? 0 : 1;
}
