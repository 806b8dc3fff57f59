/* A libuv worker: it watches its handoff channel with uv_poll, adopts each
 * connection it receives with uv_tcp_open, and serves HTTP/1.1 with
 * keep-alive on it from then on, all inside libuv's loop.
 *
 * The demo plays a pre-fork parent and its clients: it accepts four
 * loopback connections, hands each one to the worker, and closes its end
 * of the channel at once, without ever receiving (so on Linux the worker's
 * channel reports POLLIN|POLLHUP|POLLERR with the connections still
 * queued: libuv then calls back with UV_EBADF and stops the poll handle,
 * and the worker must go on receiving anyway).  Each client then makes five
 * requests on its one connection.  Exits 0 only if every request was
 * answered on a kept-alive connection and the worker ended cleanly.
 *
 *   libuv-worker          run the demo
 *   libuv-worker worker   (internal) the worker
 *
 * POSIX: a channel's waitable is a descriptor, which uv_poll_init takes.
 * On Windows it is an event, which libuv cannot poll: see README.md,
 * "With libuv". */
#include <handoff.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define CLIENTS 4
#define REQUESTS 5

/* ---- the worker ----------------------------------------------------------- */

typedef struct {
  uv_tcp_t tcp;
  size_t len;
  int served;
  char buf[4096];
} client_t;

typedef struct {
  uv_write_t req;
  int close_after;
  char text[256];
} reply_t;

static handoff_chan_t *chan;
static uv_poll_t chan_poll;
static int adopted, served, poll_errors, chan_result;

static void on_closed(uv_handle_t *h) { free(h->data); }

static void on_written(uv_write_t *req, int status) {
  reply_t *w = (reply_t *)req;
  if (status < 0 || w->close_after) {
    uv_handle_t *h = (uv_handle_t *)req->handle;
    if (!uv_is_closing(h)) uv_close(h, on_closed);
  }
  free(w);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  client_t *c = h->data;
  (void)hint;
  *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

/* Answer every whole request in c->buf. */
static void answer(client_t *c) {
  char *end;
  c->buf[c->len] = '\0';
  while ((end = strstr(c->buf, "\r\n\r\n")) != NULL) {
    size_t used = (size_t)(end + 4 - c->buf);
    reply_t *w = malloc(sizeof *w);
    char body[64];
    uv_buf_t b;
    int n;
    if (w == NULL) break;
    w->close_after = strstr(c->buf, "Connection: close") != NULL &&
                     strstr(c->buf, "Connection: close") < end;
    n = snprintf(body, sizeof body, "request %d on this connection\n", ++c->served);
    b = uv_buf_init(w->text, (unsigned)snprintf(w->text, sizeof w->text,
                                                "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                                                "Connection: %s\r\n\r\n%s",
                                                n, w->close_after ? "close" : "keep-alive", body));
    served++;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) free(w);
    memmove(c->buf, c->buf + used, c->len - used + 1);
    c->len -= used;
  }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client_t *c = s->data;
  (void)buf;
  if (nread < 0) { /* UV_EOF: the client is done */
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_closed);
    return;
  }
  c->len += (size_t)nread;
  answer(c);
  if (c->len == sizeof c->buf - 1) uv_close((uv_handle_t *)s, on_closed); /* too big */
}

/* From now on the connection lives in libuv's loop. */
static void adopt(handoff_sock_t s) {
  client_t *c = calloc(1, sizeof *c);
  if (c == NULL || uv_tcp_init(uv_default_loop(), &c->tcp) != 0) {
    free(c);
    close(s);
    return;
  }
  c->tcp.data = c;
  if (uv_tcp_open(&c->tcp, (uv_os_sock_t)s) != 0) {
    close(s);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  adopted++;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_chan_closed(uv_handle_t *h) {
  (void)h;
  handoff_close(chan); /* after libuv let go of the descriptor */
}

/* The channel's waitable fired, or libuv reports an error on it. */
static void on_chan(uv_poll_t *p, int status, int events) {
  int r;
  (void)events;
  if (status < 0) poll_errors++; /* UV_EBADF on POLLERR: the handle is stopped */
  for (;;) {
    handoff_sock_t s;
    size_t n = 1;
    r = handoff_recv(chan, &s, &n, NULL, NULL, 0);
    if (r == 0 && n == 1) adopt(s);
    else if (r != 0 && r != HANDOFF_ETRUNC && r != HANDOFF_ENOTSOCK) break;
  }
  if (r == HANDOFF_ETIMEDOUT) {
    if (status < 0) uv_poll_start(p, UV_READABLE, on_chan); /* libuv stopped it */
    return;
  }
  chan_result = r; /* HANDOFF_ECLOSED: the parent is gone, all taken */
  uv_close((uv_handle_t *)p, on_chan_closed);
}

static int worker(void) {
  handoff_waitable_t w;
  int r = handoff_inherited(&chan);
  if (r == 0) r = handoff_chan_waitable(chan, &w);
  if (r != 0) return fprintf(stderr, "worker: %s\n", handoff_strerror(r)), 1;
  if (uv_poll_init(uv_default_loop(), &chan_poll, w) != 0 ||
      uv_poll_start(&chan_poll, UV_READABLE, on_chan) != 0)
    return fprintf(stderr, "worker: uv_poll failed\n"), 1;
  uv_run(uv_default_loop(), UV_RUN_DEFAULT); /* until every handle is closed */
  fprintf(stderr, "worker: %d connections adopted, %d requests served, channel %s, "
          "%d poll error(s) from libuv\n", adopted, served, handoff_err_name(chan_result),
          poll_errors);
  return adopted == CLIENTS && served == CLIENTS * REQUESTS && chan_result == HANDOFF_ECLOSED
             ? 0 : 1;
}

/* ---- the demo: parent and clients ---------------------------------------- */

/* One request on fd; 0 if answered 200 with keep-alive. */
static int request(int fd, int k) {
  char req[128], buf[1024], *end, *cl;
  size_t have = 0;
  int n = snprintf(req, sizeof req, "GET /%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", k);
  if (send(fd, req, (size_t)n, 0) != n) return -1;
  for (;;) {
    ssize_t got = recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (got <= 0) return -1;
    have += (size_t)got;
    buf[have] = '\0';
    if ((end = strstr(buf, "\r\n\r\n")) == NULL || (cl = strstr(buf, "Content-Length:")) == NULL)
      continue;
    if (have < (size_t)(end + 4 - buf) + (size_t)atoi(cl + 15)) continue;
    return strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "keep-alive") ? 0 : -1;
  }
}

int main(int argc, char **argv) {
  const char *wargv[3];
  handoff_waitable_t w;
  handoff_chan_t *c;
  handoff_proc_t *p;
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  struct timeval tv = {5, 0};
  int lsock, clients[CLIENTS], i, k, r, code = -1, ok = 0;

  if (argc > 1 && strcmp(argv[1], "worker") == 0) return worker();
  lsock = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lsock, 16) != 0 ||
      getsockname(lsock, (struct sockaddr *)&sa, &sl) != 0)
    return fprintf(stderr, "libuv-worker: listen failed\n"), 1;
  wargv[0] = argv[0], wargv[1] = "worker", wargv[2] = NULL;
  if ((r = handoff_spawn(wargv, &c, &p)) != 0)
    return fprintf(stderr, "libuv-worker: spawn: %s\n", handoff_strerror(r)), 1;
  for (i = 0; i < CLIENTS; i++) { /* accept each client and hand it over */
    int conn;
    clients[i] = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(clients[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (clients[i] < 0 || connect(clients[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (conn = accept(lsock, NULL, NULL)) < 0)
      return fprintf(stderr, "libuv-worker: client %d could not connect\n", i), 1;
    r = handoff_send(c, &conn, 1, NULL, 0, 5000);
    close(conn);
    if (r != 0) return fprintf(stderr, "libuv-worker: send: %s\n", handoff_strerror(r)), 1;
  }
  /* Close our end once the worker is up (its HELLO is queued here) but,
   * most likely, before it has received: never having received, we leave
   * it POLLERR along with its queued connections. */
  if (handoff_chan_waitable(c, &w) == 0) {
    struct pollfd pw;
    pw.fd = w, pw.events = POLLIN;
    poll(&pw, 1, 5000);
  }
  handoff_close(c);
  for (k = 0; k < REQUESTS; k++)
    for (i = 0; i < CLIENTS; i++) ok += request(clients[i], k) == 0;
  for (i = 0; i < CLIENTS; i++) close(clients[i]);
  close(lsock);
  if (handoff_wait(p, 10000, &code) != 0) {
    handoff_kill(p);
    handoff_wait(p, 5000, &code);
  }
  printf("libuv-worker: %d of %d keep-alive requests answered, worker exit %d\n", ok,
         CLIENTS * REQUESTS, code);
  return ok == CLIENTS * REQUESTS && code == 0 ? 0 : 1;
}
