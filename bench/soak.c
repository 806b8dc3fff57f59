/* Soak: hand N sockets (default 1,000,000) from one parent to 4 workers,
 * 8 per message, round robin.  Each worker checks and closes every socket
 * and reports what it got and whether its own descriptor/handle count came
 * back to where it started.  Prints sockets lost and handles leaked on
 * both sides (both must be 0); exits 0 only then.
 *   soak [N]          (./scripts/soak [--windows] [N]) */
#include <handoff.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Handle counting (with Wine's quirk) and socket set-up come from the
 * test support file, shared with the conformance suite. */
#include "../tests/support.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/socket.h>
#include <unistd.h>
#define closesocket close
#endif

static long handles(void) { return ts_handle_count(); }

#define WORKERS 4
#define PER_MSG 8


static int worker(void) {
  handoff_chan_t *c;
  long got = 0, bad = 0, before;
  char msg[64];
  int r;
  if (handoff_inherited(&c) != 0) return 2;
  ts_warm_process();
  before = handles();
  /* The parent sends nothing before this: on Windows a sender puts the
   * handles into our process at send time, so this is the quiet moment. */
  if (handoff_send(c, NULL, 0, "ready", 6, 60000) != 0) return 2;
  for (;;) {
    handoff_sock_t s[PER_MSG];
    size_t n = PER_MSG, len = sizeof msg, i;
    r = handoff_recv(c, s, &n, msg, &len, 60000);
    if (r != 0) break;
    if (len == 4 && memcmp(msg, "done", 4) == 0) break;
    for (i = 0; i < n; i++) {
      if (!ts_is_socket(s[i])) bad++;
      closesocket(s[i]);
    }
    got += (long)n;
  }
  snprintf(msg, sizeof msg, "%ld %ld %ld", got, bad, handles() - before);
  handoff_send(c, NULL, 0, msg, strlen(msg) + 1, 60000);
  handoff_close(c);
  return r == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  handoff_chan_t *c[WORKERS];
  handoff_proc_t *p[WORKERS];
  handoff_sock_t s[PER_MSG];
  const char *wargv[3];
  long total = argc > 1 ? atol(argv[1]) : 1000000L, sent = 0, got = 0, bad = 0,
       worker_leaks = 0, before, i;
  int r, k, code, status = 0;

  ts_init(argv[0]);
  if (argc > 1 && strcmp(argv[1], "worker") == 0) return worker();
  if (total <= 0) total = 1000000L;
  ts_warm_process();
  before = handles();
  for (k = 0; k < PER_MSG; k++) s[k] = socket(AF_INET, SOCK_DGRAM, 0);
  wargv[0] = argv[0];
  wargv[1] = "worker";
  wargv[2] = NULL;
  for (k = 0; k < WORKERS; k++) {
    char ready[8];
    size_t len = sizeof ready;
    if ((r = handoff_spawn(wargv, &c[k], &p[k])) != 0 ||
        (r = handoff_recv(c[k], NULL, NULL, ready, &len, 60000)) != 0) {
      fprintf(stderr, "soak: start worker: %s\n", handoff_strerror(r));
      return 1;
    }
  }
  for (i = 0; sent < total; i++) {
    size_t n = total - sent < PER_MSG ? (size_t)(total - sent) : PER_MSG;
    r = handoff_send(c[i % WORKERS], s, n, "s", 1, 60000);
    if (r != 0) {
      fprintf(stderr, "soak: send: %s\n", handoff_strerror(r));
      status = 1;
      break;
    }
    sent += (long)n;
  }
  for (k = 0; k < WORKERS; k++) {
    char msg[64];
    size_t len = sizeof msg;
    long g = 0, b = 0, l = 0;
    handoff_send(c[k], NULL, 0, "done", 4, 60000);
    if (handoff_recv(c[k], NULL, NULL, msg, &len, 60000) == 0 &&
        sscanf(msg, "%ld %ld %ld", &g, &b, &l) == 3) {
      got += g;
      bad += b;
      worker_leaks += l;
    } else {
      status = 1;
    }
    handoff_close(c[k]);
    if (handoff_wait(p[k], 60000, &code) != 0 || code != 0) status = 1;
  }
  for (k = 0; k < PER_MSG; k++) closesocket(s[k]);
  printf("sockets sent: %ld, received: %ld, lost: %ld, not sockets: %ld\n",
         sent, got, sent - got, bad);
  printf("handles leaked: parent %ld, workers %ld\n", handles() - before,
         worker_leaks);
  if (sent != total || got != sent || bad != 0 || handles() != before ||
      worker_leaks != 0)
    status = 1;
  return status;
}
