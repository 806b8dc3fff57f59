/* An HTTP/1.1 server (keep-alive) that restarts without dropping a request.
 *
 * A new process takes over from the running one: started by hand, or by
 * the running one itself on SIGHUP (it starts its own successor).  The new
 * process connects to the handoff name the running one listens on and gets
 * its listening socket(s) in one message; from then on both accept.  The
 * old one then stops accepting, releases the name (the new one takes it),
 * answers each request still arriving on its open connections with
 * "Connection: close", closes each connection gracefully (shutdown, then
 * read until the client closes) and exits once it has none left.  The
 * listening socket never closes, so a connection is never refused, and no
 * connection is closed under a request, so none is reset.
 *
 *   http-hot-restart serve NAME PORT PIDFILE
 *       Serve on 127.0.0.1:PORT (0: any free port), or take over from the
 *       server on NAME if one runs.  Once serving (and holding NAME) it
 *       writes "PID PORT" to PIDFILE.  SIGHUP: start a successor.
 *       SIGTERM: stop accepting, finish the open connections, exit.
 *   http-hot-restart client PORT MS short|keep-alive
 *       A client for the test: GET / over and over for MS milliseconds
 *       (or until SIGINT or SIGTERM), each on a new connection or on
 *       kept-alive ones, and count every failure by its errno.  Exits 0
 *       only if every request succeeded.
 *
 * POSIX only (signals, fork/exec, poll).  examples/http-hot-restart.test
 * drives it with wrk through 20 restarts; on Windows that test is reported
 * skipped. */
#include <handoff.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h> /* struct timeval: musl has it only here */
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 4
#define MAX_CONNS 1000
#define LINGER_MS 2000 /* after our FIN: wait this long for the client's */
#define IDLE_MS 3000   /* draining: close a silent kept-alive connection */

struct conn {
  int fd;
  int close_after; /* the response being written says Connection: close */
  int lingering;   /* we sent FIN; reading until the client's */
  long long deadline;
  size_t inlen, outlen, outoff;
  char in[4096], out[512];
};

static struct conn *conns[MAX_CONNS];
static int nconns;
static int lfds[MAX_LISTEN], nl;
static int draining;
static handoff_listener_t *hl;
static int sigfds[2];
static char **self_argv;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "http-hot-restart %ld: ", (long)getpid());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void on_signal(int sig) {
  char c = (char)sig;
  int saved = errno;
  if (write(sigfds[1], &c, 1) < 0) { /* full: a wake-up is pending anyway */
  }
  errno = saved;
}

/* ---- taking over, handing over ----------------------------------------- */

static int listen_fresh(int port) {
  struct sockaddr_in sa;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((unsigned short)port);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0)
    return -1;
  lfds[0] = fd;
  nl = 1;
  return 0;
}

/* Take the listening sockets from the server on name, if one runs.
 * Returns 1 if taken over, 0 if nobody runs, -1 on failure. */
static int take_over(const char *name) {
  handoff_chan_t *ch;
  size_t n = MAX_LISTEN, len;
  char msg[64];
  int r = handoff_connect(name, 5000, &ch);
  if (r == HANDOFF_ENOENT) return 0;
  if (r != 0) return say("connect %s: %s", name, handoff_strerror(r)), -1;
  len = sizeof msg;
  r = handoff_recv(ch, lfds, &n, msg, &len, 5000);
  if (r == 0 && n > 0) {
    nl = (int)n;
    /* The old server now stops accepting and releases the name; its
     * "released" (or its end closing) says the name is free. */
    len = sizeof msg;
    r = handoff_recv(ch, NULL, NULL, msg, &len, 5000);
    if (r == HANDOFF_ECLOSED) r = 0;
  } else if (r == 0) {
    r = HANDOFF_EPROTO;
  }
  handoff_close(ch);
  if (r != 0) say("taking over from %s: %s", name, handoff_strerror(r));
  return r == 0 ? 1 : -1;
}

static void start_draining(void) {
  int i;
  for (i = 0; i < nl; i++) close(lfds[i]); /* the successor has them */
  nl = 0;
  handoff_listener_close(hl);
  hl = NULL;
  draining = 1;
  for (i = 0; i < nconns; i++) conns[i]->deadline = now_ms() + IDLE_MS;
}

/* A successor connected: give it the listening sockets, then drain. */
static void hand_over(handoff_chan_t *ch) {
  int r = handoff_send(ch, lfds, (size_t)nl, "listen", 6, 5000);
  if (r != 0) {
    say("handing over to a successor: %s", handoff_strerror(r));
    handoff_close(ch);
    return; /* keep serving */
  }
  start_draining();
  handoff_send(ch, NULL, 0, "released", 8, 1000);
  handoff_close(ch);
  say("handed over; draining %d connection(s)", nconns);
}

static void start_successor(void) {
  pid_t pid = fork();
  if (pid == 0) {
    execv(self_argv[0], self_argv);
    _exit(127);
  }
  if (pid < 0) say("fork: %s (%d)", strerror(errno), errno);
}

/* ---- HTTP ------------------------------------------------------------------ */

static void conn_close(int i) {
  close(conns[i]->fd);
  free(conns[i]);
  conns[i] = conns[--nconns];
}

/* Does the header block say "Connection: <word>"? */
static int header_is(const char *req, const char *word) {
  const char *p = req;
  while ((p = strstr(p, "\r\n")) != NULL && p[2] != '\r') {
    p += 2;
    if (strncasecmp(p, "Connection:", 11) == 0) {
      const char *v = p + 11;
      while (*v == ' ') v++;
      return strncasecmp(v, word, strlen(word)) == 0;
    }
  }
  return 0;
}

/* If a whole request is buffered and no response is pending, answer it. */
static void answer(struct conn *c) {
  char *end, body[64];
  size_t used;
  int keep, n;
  if (c->outlen > c->outoff || c->lingering) return;
  c->in[c->inlen] = '\0';
  if ((end = strstr(c->in, "\r\n\r\n")) == NULL) return;
  used = (size_t)(end + 4 - c->in);
  keep = strstr(c->in, " HTTP/1.1\r\n") != NULL ? !header_is(c->in, "close")
                                                  : header_is(c->in, "keep-alive");
  c->close_after = !keep || draining;
  n = snprintf(body, sizeof body, "served by %ld\n", (long)getpid());
  c->outlen = (size_t)snprintf(c->out, sizeof c->out,
                               "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: %d\r\nConnection: %s\r\n\r\n%s",
                               n, c->close_after ? "close" : "keep-alive", body);
  c->outoff = 0;
  memmove(c->in, c->in + used, c->inlen - used);
  c->inlen -= used;
}

/* Returns -1 when the connection is done. */
static int conn_write(struct conn *c) {
  while (c->outoff < c->outlen) {
    ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    c->outoff += (size_t)w;
  }
  c->outoff = c->outlen = 0;
  if (c->close_after) { /* graceful close: FIN, then wait for the client's */
    shutdown(c->fd, SHUT_WR);
    c->lingering = 1;
    c->deadline = now_ms() + LINGER_MS;
    return 0;
  }
  if (draining) c->deadline = now_ms() + IDLE_MS;
  answer(c); /* a pipelined request, if any */
  return c->outlen > 0 ? conn_write(c) : 0;
}

static int conn_read(struct conn *c) {
  for (;;) {
    char sink[4096];
    char *to = c->lingering ? sink : c->in + c->inlen;
    size_t room = c->lingering ? sizeof sink : sizeof c->in - 1 - c->inlen;
    ssize_t n;
    if (room == 0) return -1; /* header block too large */
    n = recv(c->fd, to, room, 0);
    if (n == 0) return -1;
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (!c->lingering) c->inlen += (size_t)n;
    if (draining && !c->lingering) c->deadline = now_ms() + IDLE_MS;
    answer(c);
    if (c->outlen > 0 && conn_write(c) < 0) return -1;
  }
}

static void accept_all(int lfd) {
  for (;;) {
    struct conn *c;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN: the other server took it, or none left */
    if (nconns == MAX_CONNS || (c = calloc(1, sizeof *c)) == NULL) {
      close(fd);
      continue;
    }
    c->fd = fd;
    conns[nconns++] = c;
  }
}

/* ---- the loop ------------------------------------------------------------ */

static void on_signals(void) {
  char sig;
  while (read(sigfds[0], &sig, 1) == 1) {
    if (sig == SIGHUP && !draining) start_successor();
    if (sig == SIGTERM && !draining) start_draining();
  }
}

static void on_handoff(void) {
  handoff_chan_t *ch;
  while (!draining && hl != NULL && handoff_accept(hl, 0, &ch) == 0) hand_over(ch);
}

static int serve_loop(void) {
  static struct pollfd p[MAX_CONNS + MAX_LISTEN + 2];
  while (!draining || nconns > 0) {
    handoff_waitable_t w;
    int i, k = 0, nfixed, ncon = nconns, hidx = -1;
    long long now;
    p[k].fd = sigfds[0], p[k++].events = POLLIN;
    if (!draining && handoff_listener_waitable(hl, &w) == 0)
      hidx = k, p[k].fd = w, p[k++].events = POLLIN;
    for (i = 0; i < nl; i++) p[k].fd = lfds[i], p[k++].events = POLLIN;
    nfixed = k;
    for (i = 0; i < ncon; i++) {
      p[k].fd = conns[i]->fd;
      p[k++].events = conns[i]->outlen > conns[i]->outoff ? POLLOUT : POLLIN;
    }
    if (poll(p, (nfds_t)k, 100) < 0 && errno != EINTR) return 1;
    now = now_ms();
    for (i = ncon - 1; i >= 0; i--) { /* from the end: conn_close moves the last */
      struct conn *c = conns[i];
      short ev = p[nfixed + i].revents;
      int r = 0;
      if (ev & POLLOUT) r = conn_write(c);
      if (r == 0 && (ev & (POLLIN | POLLHUP | POLLERR))) r = conn_read(c);
      if (r == 0 && (c->lingering || (draining && c->outlen == 0)) &&
          now > c->deadline)
        r = -1;
      if (r < 0) conn_close(i);
    }
    for (i = 0; i < nfixed; i++) {
      if (p[i].revents == 0) continue;
      if (p[i].fd == sigfds[0]) on_signals();
      else if (i == hidx) on_handoff();
      else if (!draining) accept_all(p[i].fd);
    }
  }
  return 0;
}

static int write_pidfile(const char *path) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  char tmp[1024];
  FILE *f;
  if (getsockname(lfds[0], (struct sockaddr *)&sa, &sl) != 0) return -1;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if ((f = fopen(tmp, "w")) == NULL) return -1;
  fprintf(f, "%ld %d\n", (long)getpid(), ntohs(sa.sin_port));
  if (fclose(f) != 0) return -1;
  return rename(tmp, path);
}

static int serve(const char *name, int port, const char *pidfile) {
  struct sigaction sa;
  int i, r, taken;
  if (pipe2(sigfds, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_IGN); /* successors outlive us; reap one that fails */
  taken = take_over(name);
  if (taken < 0 || (taken == 0 && listen_fresh(port) != 0)) {
    say("cannot listen (%s, %d)", strerror(errno), errno);
    return 1;
  }
  for (i = 0; i < nl; i++) fcntl(lfds[i], F_SETFL, fcntl(lfds[i], F_GETFL) | O_NONBLOCK);
  /* The old server released the name before it said so; retry briefly in
   * case a listener that crashed left it to be reclaimed. */
  for (i = 0; (r = handoff_listen(name, &hl)) == HANDOFF_EADDRINUSE && i < 100; i++)
    usleep(20000);
  if (r != 0 || write_pidfile(pidfile) != 0) {
    say("listen on %s: %s", name, handoff_strerror(r));
    return 1;
  }
  say(taken ? "took over %s" : "serving %s (fresh)", name);
  r = serve_loop();
  say("drained, exiting (%d)", r);
  return r;
}

/* ---- the test client ---------------------------------------------------- */

enum { OK, REFUSED, RESET, PIPE, EOFS, TIMEOUT, BAD, OTHER, NCLASS };
static const char *const class_name[NCLASS] = {"ok",      "refused", "reset", "epipe",
                                               "eof",     "timeout", "bad",   "other"};

static int classify(int e) {
  if (e == ECONNREFUSED) return REFUSED;
  if (e == ECONNRESET) return RESET;
  if (e == EPIPE) return PIPE;
  if (e == EAGAIN || e == ETIMEDOUT) return TIMEOUT;
  return OTHER;
}

static int client_connect(int port, int *fd) {
  struct sockaddr_in sa;
  struct timeval tv = {5, 0};
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((unsigned short)port);
  if ((*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return OTHER;
  setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(*fd, (struct sockaddr *)&sa, sizeof sa) == 0) return OK;
  return classify(errno);
}

/* One request on fd; *keep says whether the server keeps the connection. */
static int client_request(int fd, int keep_alive, int *keep) {
  char buf[2048], *end, *cl;
  size_t have = 0;
  const char *req = keep_alive ? "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                               : "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) return classify(errno);
  for (;;) {
    ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (n < 0) return classify(errno);
    if (n == 0) return EOFS; /* closed before a whole response */
    have += (size_t)n;
    buf[have] = '\0';
    if ((end = strstr(buf, "\r\n\r\n")) == NULL || (cl = strstr(buf, "Content-Length:")) == NULL)
      continue;
    if (have < (size_t)(end + 4 - buf) + (size_t)atoi(cl + 15)) continue;
    if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0) return BAD;
    *keep = keep_alive && strstr(buf, "Connection: keep-alive") != NULL;
    return OK;
  }
}

static volatile sig_atomic_t stop_client;
static void on_stop(int sig) {
  (void)sig;
  stop_client = 1;
}

static int client(int port, int ms, int keep_alive) {
  long count[NCLASS] = {0}, requests = 0, connections = 0;
  long long end = now_ms() + ms;
  int fd = -1, c, i, keep = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop; /* no SA_RESTART: a blocked recv returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  while (now_ms() < end && !stop_client) {
    if (fd < 0) {
      connections++;
      if ((c = client_connect(port, &fd)) != OK) {
        if (stop_client) break;
        count[c]++, requests++;
        close(fd), fd = -1;
        continue;
      }
    }
    c = client_request(fd, keep_alive, &keep);
    if (c != OK && stop_client) break; /* interrupted by the stop, not failed */
    count[c]++, requests++;
    if (c != OK || !keep) close(fd), fd = -1;
  }
  if (fd >= 0) close(fd);
  printf("client (%s): %ld requests on %ld connections:", keep_alive ? "keep-alive" : "short",
         requests, connections);
  for (i = 0; i < NCLASS; i++) printf(" %s %ld%s", class_name[i], count[i], i + 1 < NCLASS ? "," : "\n");
  return count[OK] == requests && requests > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  self_argv = argv;
  if (argc == 5 && strcmp(argv[1], "serve") == 0) return serve(argv[2], atoi(argv[3]), argv[4]);
  if (argc == 5 && strcmp(argv[1], "client") == 0)
    return client(atoi(argv[2]), atoi(argv[3]), strcmp(argv[4], "short") != 0);
  fprintf(stderr,
          "usage: %s serve NAME PORT PIDFILE\n"
          "       %s client PORT MS short|keep-alive\n",
          argv[0], argv[0]);
  return 2;
}
