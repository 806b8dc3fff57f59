/* README.md, "In an event loop": drain() and run() serve a channel from a
 * second process.  The parent sends two messages, pauses (the worker
 * drains and waits again), sends three more and closes its end without
 * ever receiving, so that on POSIX the worker's waitable reports
 * POLLIN|POLLHUP|POLLERR with messages still queued.  Passes if the worker
 * received all five, ended with HANDOFF_ECLOSED, and did not spin (a loop
 * that waits again after HANDOFF_ECLOSED wakes up without end). */
#include "harness.h"

#ifndef _WIN32
#include <poll.h>
#endif

#define MESSAGES 5
#define SOCKETS 4
#define MAX_WAKEUPS 100

static int served, sockets_got, wakeups;

static void serve(handoff_sock_t s, size_t n, char *buf, size_t len) {
  (void)buf;
  (void)len;
  served++;
  if (n == 1) {
    sockets_got++;
    h_closesock(s);
  }
}

static void wait_for(handoff_waitable_t w) {
  if (++wakeups > MAX_WAKEUPS) {
    fprintf(stderr, "event loop spins: %d wake-ups\n", wakeups);
    exit(3);
  }
#ifdef _WIN32
  WaitForSingleObject(w, 5000);
#else
  {
    struct pollfd p;
    p.fd = w;
    p.events = POLLIN;
    if (poll(&p, 1, 5000) == 1)
      printf("wake-up %d:%s%s%s\n", wakeups, p.revents & POLLIN ? " POLLIN" : "",
             p.revents & POLLHUP ? " POLLHUP" : "", p.revents & POLLERR ? " POLLERR" : "");
  }
#endif
}

#include "readme-event-loop.inc"

static int worker(void) {
  handoff_chan_t *chan;
  int r = handoff_inherited(&chan);
  if (r != 0) return fprintf(stderr, "inherited: %s\n", handoff_strerror(r)), 1;
  r = run(chan);
  printf("worker: run() -> %s, %d messages, %d sockets, %d wake-ups\n", handoff_err_name(r),
         served, sockets_got, wakeups);
  return r == 0 && served == MESSAGES && sockets_got == SOCKETS ? 0 : 1;
}

int main(int argc, char **argv) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  int i, r, code;
  if (h_private_dir() != 0) return 1;
  if (argc > 1) return worker();
  if ((r = h_spawn_self(argv[0], "worker", &c, &p)) != 0)
    return fprintf(stderr, "spawn: %s\n", handoff_strerror(r)), 1;
  for (i = 0; i < MESSAGES && r == 0; i++) {
    handoff_sock_t s = HANDOFF_INVALID_SOCK;
    if (i < SOCKETS) s = socket(AF_INET, SOCK_STREAM, 0);
    r = handoff_send(c, &s, i < SOCKETS ? 1 : 0, "job", 3, 5000);
    if (s != HANDOFF_INVALID_SOCK) h_closesock(s);
    if (i == 1) h_sleep_ms(200);
  }
  if (r != 0) fprintf(stderr, "send: %s\n", handoff_strerror(r));
  h_sleep_ms(100);
  handoff_close(c); /* never having received the worker's HELLO */
  code = h_reap(p, 10000);
  printf("worker exit %d\n", code);
  return r == 0 && code == 0 ? 0 : 1;
}
