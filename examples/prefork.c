/* A small pre-fork server: the parent accepts TCP connections, reads each
 * client's first line and hands the connection plus that line to one of
 * three workers, round robin.  The workers answer on the connection.  The
 * demo drives eight clients itself and exits 0 when all were served.
 *
 *   prefork            run the demo
 *   prefork worker     (internal) a worker, started by the demo */
#include <handoff.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The only platform block: socket headers and names. */
#ifdef _WIN32
#include <ws2tcpip.h>
#include <windows.h>
#define getpid() ((long)GetCurrentProcessId())
static void net_init(void) {
  WSADATA w;
  WSAStartup(MAKEWORD(2, 2), &w);
}
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#define closesocket close
static void net_init(void) {}
#endif

#define WORKERS 3
#define CLIENTS 8

static int worker(void) {
  handoff_chan_t *c;
  int r = handoff_inherited(&c);
  if (r != 0) {
    fprintf(stderr, "worker: %s\n", handoff_strerror(r));
    return 1;
  }
  for (;;) {
    handoff_sock_t conn;
    size_t n = 1;
    char line[256], out[300];
    size_t len = sizeof line - 1;
    r = handoff_recv(c, &conn, &n, line, &len, -1);
    if (r == HANDOFF_ECLOSED) break; /* the parent is done with us */
    if (r != 0) {
      fprintf(stderr, "worker: recv: %s\n", handoff_strerror(r));
      break;
    }
    line[len] = '\0';
    snprintf(out, sizeof out, "worker %ld: %s", (long)getpid(), line);
    if (n == 1) {
      send(conn, out, (int)strlen(out), 0);
      closesocket(conn);
    }
  }
  handoff_close(c);
  return r == HANDOFF_ECLOSED ? 0 : 1;
}

/* Read up to '\n' (not included). */
static int read_line(handoff_sock_t s, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    char ch;
    if (recv(s, &ch, 1, 0) != 1) return -1;
    if (ch == '\n') break;
    buf[n++] = ch;
  }
  buf[n] = '\0';
  return (int)n;
}

static int fail(const char *what, int r) {
  fprintf(stderr, "prefork: %s: %s\n", what, r ? handoff_strerror(r) : "failed");
  return 1;
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
      listen(lsock, 16) != 0 || getsockname(lsock, (struct sockaddr *)&sa, &sl) != 0)
    return fail("listen", 0);
  printf("listening on 127.0.0.1:%d, starting %d workers\n", ntohs(sa.sin_port), WORKERS);

  wargv[0] = argv[0];
  wargv[1] = "worker";
  wargv[2] = NULL;
  for (i = 0; i < WORKERS; i++)
    if ((r = handoff_spawn(wargv, &chan[i], &proc[i])) != 0) return fail("spawn", r);

  for (i = 0; i < CLIENTS; i++) {
    char hello[32], line[256], answer[300];
    handoff_sock_t client = socket(AF_INET, SOCK_STREAM, 0), conn;
    int n;
    /* The client side: connect and say hello (the backlog holds it). */
    if (client == HANDOFF_INVALID_SOCK || connect(client, (struct sockaddr *)&sa, sizeof sa) != 0)
      return fail("client connect", 0);
    n = snprintf(hello, sizeof hello, "hello %d\n", i);
    send(client, hello, n, 0);
    /* The server side: accept, read the first line, hand it off. */
    conn = accept(lsock, NULL, NULL);
    if (conn == HANDOFF_INVALID_SOCK || read_line(conn, line, sizeof line) < 0)
      return fail("accept", 0);
    r = handoff_send(chan[i % WORKERS], &conn, 1, line, strlen(line), 5000);
    closesocket(conn); /* the worker has its own copy now */
    if (r != 0) return fail("handoff_send", r);
    /* The client reads the worker's answer. */
    n = 0;
    while (n < (int)sizeof answer - 1) {
      int k = (int)recv(client, answer + n, (int)sizeof answer - 1 - n, 0);
      if (k <= 0) break;
      n += k;
    }
    answer[n] = '\0';
    closesocket(client);
    if (strncmp(answer, "worker ", 7) != 0) return fail("client read", 0);
    printf("client %d -> %s\n", i, answer);
  }

  for (i = 0; i < WORKERS; i++) {
    handoff_close(chan[i]); /* the worker sees HANDOFF_ECLOSED and exits */
    if ((r = handoff_wait(proc[i], 5000, &code)) != 0) return fail("wait", r);
    if (code != 0) status = 1;
  }
  closesocket(lsock);
  printf("all %d clients served by %d workers\n", CLIENTS, WORKERS);
  return status;
}
