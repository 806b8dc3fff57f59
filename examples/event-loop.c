/* The pre-fork worker as an event loop: it waits on its channel's waitable
 * (poll on POSIX, WaitForMultipleObjects on Windows) together with its own
 * housekeeping timer, and takes handed-off connections with
 * handoff_recv(..., 0), so it never blocks inside handoff.  The parent
 * accepts loopback clients and hands each one to a worker with
 * handoff_send(..., 0), waiting for room on the channel's send waitable
 * when a worker falls behind; the demo drives eight clients and exits 0
 * when every one got its answer.
 *
 *   event-loop            run the demo
 *   event-loop worker     (internal) a worker, started by the demo */
#include <handoff.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The only platform block: sockets, and waiting on a waitable. */
#ifdef _WIN32
#include <ws2tcpip.h>
#include <windows.h>
#define getpid() ((long)GetCurrentProcessId())
typedef int socklen_t;
static void net_init(void) {
  WSADATA w;
  WSAStartup(MAKEWORD(2, 2), &w);
}
/* 1 if w is ready, 0 after ms (a receive or a send waitable alike). */
static int wait_ready(handoff_waitable_t w, int ms) {
  return WaitForMultipleObjects(1, &w, FALSE, (DWORD)ms) == WAIT_OBJECT_0;
}
#define wait_room wait_ready
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#define closesocket close
static void net_init(void) {}
static int wait_for(handoff_waitable_t w, short events, int ms) {
  struct pollfd p;
  p.fd = w;
  p.events = events;
  p.revents = 0;
  return poll(&p, 1, ms) > 0;
}
static int wait_ready(handoff_waitable_t w, int ms) {
  return wait_for(w, POLLIN, ms);
}
static int wait_room(handoff_waitable_t w, int ms) {
  return wait_for(w, POLLOUT, ms);
}
#endif

#define WORKERS 2
#define CLIENTS 8

static int worker(void) {
  handoff_waitable_t w;
  handoff_chan_t *c;
  long ticks = 0, served = 0;
  int r = handoff_inherited(&c);
  if (r == 0) r = handoff_chan_waitable(c, &w);
  if (r != 0) {
    fprintf(stderr, "worker: %s\n", handoff_strerror(r));
    return 1;
  }
  for (;;) {
    if (!wait_ready(w, 100)) {
      ticks++; /* the loop's other work would go here */
      continue;
    }
    for (;;) { /* take everything that is there, never waiting */
      handoff_sock_t conn;
      size_t n = 1;
      char line[256], out[300];
      size_t len = sizeof line - 1;
      r = handoff_recv(c, &conn, &n, line, &len, 0);
      /* ETRUNC / ENOTSOCK drop one message, ETOOBIG keeps it (our buffers
       * fit every message we are sent): go on draining. */
      if (r == HANDOFF_ETRUNC || r == HANDOFF_ENOTSOCK) continue;
      if (r != 0) break;
      line[len] = '\0';
      snprintf(out, sizeof out, "worker %ld (event loop): %s", (long)getpid(), line);
      if (n == 1) {
        send(conn, out, (int)strlen(out), 0);
        closesocket(conn);
        served++;
      }
    }
    /* Anything but "nothing more now" ends the loop: ECLOSED means the
     * parent is done and everything it sent has been taken. */
    if (r != HANDOFF_ETIMEDOUT) break;
  }
  handoff_close(c);
  fprintf(stderr, "worker %ld: served %ld, idle ticks %ld\n", (long)getpid(), served, ticks);
  return r == HANDOFF_ECLOSED ? 0 : 1;
}

/* The parent never blocks inside handoff either: a worker's full channel
 * makes the send return ETIMEDOUT, and the parent waits for room on the
 * channel's send waitable (in a real server: in its event loop). */
static int send_when_room(handoff_chan_t *c, handoff_sock_t *conn,
                          const char *msg, size_t len) {
  handoff_waitable_t room;
  int r, tries;
  if ((r = handoff_chan_send_waitable(c, &room)) != 0) return r;
  for (tries = 0; tries < 100; tries++) {
    r = handoff_send(c, conn, 1, msg, len, 0);
    if (r != HANDOFF_ETIMEDOUT) return r;
    (void)wait_room(room, 100);
  }
  return r;
}

int main(int argc, char **argv) {
  handoff_chan_t *chan[WORKERS];
  handoff_proc_t *proc[WORKERS];
  const char *wargv[3];
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  handoff_sock_t lsock;
  int i, r, code, status = 0;

  net_init();
  if (argc > 1 && strcmp(argv[1], "worker") == 0) return worker();
  lsock = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lsock == HANDOFF_INVALID_SOCK || bind(lsock, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(lsock, 16) != 0 || getsockname(lsock, (struct sockaddr *)&sa, &sl) != 0) {
    fprintf(stderr, "event-loop: listen failed\n");
    return 1;
  }
  wargv[0] = argv[0];
  wargv[1] = "worker";
  wargv[2] = NULL;
  for (i = 0; i < WORKERS; i++)
    if ((r = handoff_spawn(wargv, &chan[i], &proc[i])) != 0) {
      fprintf(stderr, "event-loop: spawn: %s\n", handoff_strerror(r));
      return 1;
    }
  for (i = 0; i < CLIENTS; i++) {
    char hello[32], answer[300];
    handoff_sock_t client = socket(AF_INET, SOCK_STREAM, 0), conn;
    int n;
    if (client == HANDOFF_INVALID_SOCK ||
        connect(client, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (conn = accept(lsock, NULL, NULL)) == HANDOFF_INVALID_SOCK) {
      fprintf(stderr, "event-loop: client %d could not connect\n", i);
      return 1;
    }
    n = snprintf(hello, sizeof hello, "hello %d", i);
    r = send_when_room(chan[i % WORKERS], &conn, hello, (size_t)n);
    closesocket(conn);
    n = r == 0 ? (int)recv(client, answer, sizeof answer - 1, 0) : -1;
    closesocket(client);
    if (n <= 0) {
      fprintf(stderr, "event-loop: client %d got no answer (%s)\n", i, handoff_strerror(r));
      return 1;
    }
    answer[n] = '\0';
    printf("client %d -> %s\n", i, answer);
  }
  for (i = 0; i < WORKERS; i++) {
    handoff_close(chan[i]);
    if (handoff_wait(proc[i], 5000, &code) != 0 || code != 0) status = 1;
  }
  closesocket(lsock);
  return status;
}
