/* Zero-downtime restart.  The "old" server listens on two loopback TCP
 * sockets (127.0.0.1 and ::1, ephemeral ports) and on the handoff name
 * "hot-restart-<pid>".  Its successor, the "new" server, connects to that
 * name, receives both listening sockets in one message (their addresses in
 * the payload), starts accepting on them and tells the old one to drain:
 * the old one stops accepting, finishes the connections it has and exits.
 * The listening sockets never close, so no client notices the switch.
 *
 * The demo plays operator and clients: it starts the old server, lets eight
 * client threads hammer both ports, starts the new server in the middle,
 * and exits 0 only if no connection was refused, reset or answered wrongly
 * and both servers answered some.  Every wait is bounded.
 *
 *   hot-restart              run the demo
 *   hot-restart old NAME     (internal) the old server
 *   hot-restart new NAME     (internal) its successor
 *
 * The servers keep one thread on the handoff channel and one serving TCP;
 * link with -pthread (winpthreads on Windows). */
#include <handoff.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The only platform block: socket headers, error codes, time. */
#ifdef _WIN32
#include <ws2tcpip.h>
#include <windows.h>
#define getpid() ((long)GetCurrentProcessId())
#define sock_errno() WSAGetLastError()
#define E_WOULDBLOCK WSAEWOULDBLOCK
#define E_REFUSED WSAECONNREFUSED
#define E_RESET WSAECONNRESET
#define E_ABORTED WSAECONNABORTED
#define SOCK_FLAGS 0
#define SEND_FLAGS 0
static void net_init(void) {
  WSADATA w;
  WSAStartup(MAKEWORD(2, 2), &w);
}
static void set_nonblocking(handoff_sock_t s) {
  u_long on = 1;
  ioctlsocket(s, FIONBIO, &on);
}
static void set_timeouts(handoff_sock_t s, int ms) {
  DWORD t = (DWORD)ms;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&t, sizeof t);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&t, sizeof t);
}
static void sleep_ms(int ms) { Sleep((DWORD)ms); }
static long long now_ms(void) { return (long long)GetTickCount64(); }
#else
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#define closesocket close
#define sock_errno() errno
#define E_WOULDBLOCK EAGAIN
#define E_REFUSED ECONNREFUSED
#define E_RESET ECONNRESET
#define E_ABORTED ECONNABORTED
/* handoff_spawn passes its child the channel only if our own sockets are
 * close-on-exec: the demo starts the new server while clients are busy. */
#ifdef SOCK_CLOEXEC
#define SOCK_FLAGS SOCK_CLOEXEC
#else
#define SOCK_FLAGS 0
#endif
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
static void net_init(void) {}
#else /* macOS: no MSG_NOSIGNAL; a client gone mid-reply must not kill us */
#include <signal.h>
#define SEND_FLAGS 0
static void net_init(void) { signal(SIGPIPE, SIG_IGN); }
#endif
static void set_nonblocking(int s) { fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK); }
static void set_timeouts(int s, int ms) {
  struct timeval t;
  t.tv_sec = ms / 1000;
  t.tv_usec = (ms % 1000) * 1000;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
}
static void sleep_ms(int ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}
static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
#endif

#define LISTENERS 2      /* listening sockets, all handed over in one message */
#define MAX_CONNS 48     /* connections a server holds at once (fits fd_set) */
#define CONN_MS 5000     /* a client has this long to send its line */
#define CLIENTS 8        /* client threads in the demo */
#define PACE_MS 5        /* each client's pause between connections, but
                            for the switch: then they go flat out */
#define MIN_SERVED 100   /* connections each server must answer */
#define MAX_TOTAL 10000  /* the demo gives up after this many connections */
#define DEMO_MS 20000    /* ... or after this long */

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fflush(stdout); /* three processes share stdout */
}

static int fail(const char *who, const char *what, int r) {
  fprintf(stderr, "hot-restart %s: %s: %s\n", who, what,
          r ? handoff_strerror(r) : "failed");
  return 1;
}

/* ---- Addresses: "host port" lines in every message -------------------- */

/* A socket's own address as "host port". */
static int local_addr(handoff_sock_t s, char *out, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char host[64], port[16];
  if (getsockname(s, (struct sockaddr *)&ss, &sl) != 0 ||
      getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return -1;
  snprintf(out, cap, "%s %s", host, port);
  return 0;
}

/* "host port" as people write it: 127.0.0.1:80, [::1]:80. */
static const char *pretty(const char *addr, char *out, size_t cap) {
  char host[64], port[16];
  if (sscanf(addr, "%63s %15s", host, port) != 2) return addr;
  snprintf(out, cap, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
  return out;
}

/* Split "host port\n..." into at most max lines. */
static size_t split_lines(char *text, char *line[], size_t max) {
  size_t n = 0;
  char *p = text, *nl;
  while (n < max && *p != '\0') {
    line[n++] = p;
    if ((nl = strchr(p, '\n')) == NULL) break;
    *nl = '\0';
    p = nl + 1;
  }
  return n;
}

/* ---- The server: one TCP loop, one thread on the handoff channel ------- */

struct server {
  const char *role; /* "old" or "new" */
  handoff_sock_t ls[LISTENERS];
  char addr[LISTENERS][80]; /* "host port" of each */
  size_t nls;
  handoff_listener_t *name; /* old: where the successor finds us */
  handoff_chan_t *peer;     /* old: the successor; new: the old server */
  handoff_chan_t *ctl;      /* the demo, through handoff_spawn */
  pthread_mutex_t mu;
  int draining, failed; /* under mu: set by the handoff thread */
};

/* The payload that names the listening sockets: "host port\n" each. */
static size_t addr_list(const struct server *sv, char *out) {
  size_t i, len = 0;
  for (i = 0; i < sv->nls; i++) len += (size_t)sprintf(out + len, "%s\n", sv->addr[i]);
  return len;
}

static void set_draining(struct server *sv, int failed) {
  pthread_mutex_lock(&sv->mu);
  sv->draining = 1;
  if (failed) sv->failed = 1;
  pthread_mutex_unlock(&sv->mu);
}

static int is_draining(struct server *sv) {
  int d;
  pthread_mutex_lock(&sv->mu);
  d = sv->draining;
  pthread_mutex_unlock(&sv->mu);
  return d;
}

/* A connection accepted and not yet answered. */
struct conn {
  handoff_sock_t s;
  long long since;
  size_t len;
  char buf[128];
};

/* Serve: accept on every listening socket until told to drain, then close
 * them and finish what was accepted.  Each client sends one line and gets
 * "<role> <pid>: <line>" back. */
static int serve(struct server *sv) {
  struct conn c[MAX_CONNS];
  size_t nc = 0, i;
  unsigned long served = 0;
  int listening = 1, errors = 0;

  for (;;) {
    struct timeval tv;
    handoff_sock_t top = 0;
    fd_set rd;

    if (listening && is_draining(sv)) {
      for (i = 0; i < sv->nls; i++) closesocket(sv->ls[i]);
      listening = 0;
      say("%s %ld: stopped accepting, %lu served, %u in flight\n", sv->role,
          (long)getpid(), served, (unsigned)nc);
    }
    if (!listening && nc == 0) break;

    FD_ZERO(&rd);
    for (i = 0; listening && nc < MAX_CONNS && i < sv->nls; i++) {
      FD_SET(sv->ls[i], &rd);
      if (sv->ls[i] > top) top = sv->ls[i];
    }
    for (i = 0; i < nc; i++) {
      FD_SET(c[i].s, &rd);
      if (c[i].s > top) top = c[i].s;
    }
    tv.tv_sec = 0;
    tv.tv_usec = 10000; /* look at the drain flag this often */
    if (select((int)top + 1, &rd, NULL, NULL, &tv) < 0) {
      fprintf(stderr, "%s: select: error %d\n", sv->role, sock_errno());
      sleep_ms(10);
      continue;
    }

    for (i = 0; listening && i < sv->nls; i++) {
      handoff_sock_t s;
      if (!FD_ISSET(sv->ls[i], &rd) || nc == MAX_CONNS) continue;
      /* The other server may have taken it: the sockets do not block. */
      s = accept(sv->ls[i], NULL, NULL);
      if (s == HANDOFF_INVALID_SOCK) continue;
      set_nonblocking(s);
      c[nc].s = s;
      c[nc].since = now_ms();
      c[nc].len = 0;
      nc++;
    }

    for (i = 0; i < nc;) {
      struct conn *k = &c[i];
      char *nl = NULL;
      int done = 0, n;
      if (FD_ISSET(k->s, &rd)) {
        n = (int)recv(k->s, k->buf + k->len, (int)(sizeof k->buf - 1 - k->len), 0);
        if (n > 0) {
          k->len += (size_t)n;
          k->buf[k->len] = '\0';
          nl = strchr(k->buf, '\n');
        }
        if (nl != NULL) {
          char out[200];
          int len;
          *nl = '\0';
          len = snprintf(out, sizeof out, "%s %ld: %s\n", sv->role, (long)getpid(), k->buf);
          /* A short answer into an empty socket buffer goes at once. */
          if (send(k->s, out, len, SEND_FLAGS) == len)
            served++;
          else
            errors++;
          done = 1;
        } else if (n == 0 || k->len == sizeof k->buf - 1 ||
                   (n < 0 && sock_errno() != E_WOULDBLOCK)) {
          errors++; /* the client went away or sent garbage */
          done = 1;
        }
      }
      if (!done && now_ms() - k->since > CONN_MS) {
        errors++;
        done = 1;
      }
      if (done) {
        closesocket(k->s);
        c[i] = c[--nc];
      } else {
        i++;
      }
    }
  }
  say("%s %ld: drained, exiting (%lu served, %d failed)\n", sv->role,
      (long)getpid(), served, errors);
  return errors;
}

/* The old server's handoff thread: wait for the successor, hand it every
 * listening socket in one message, wait for its word to drain. */
static void *old_handoff(void *arg) {
  struct server *sv = arg;
  char payload[LISTENERS * 80], msg[16];
  size_t len, nsocks = 0, mlen = sizeof msg - 1;
  handoff_peer_t who;
  int r;

  r = handoff_accept(sv->name, 20000, &sv->peer);
  handoff_listener_close(sv->name); /* one successor; free the name */
  sv->name = NULL;
  if (r != 0) {
    fail("old", "waiting for a successor", r);
    set_draining(sv, 1);
    return NULL;
  }
  len = addr_list(sv, payload);
  r = handoff_send(sv->peer, sv->ls, sv->nls, payload, len, 5000);
  if (r == 0) {
    handoff_peer(sv->peer, &who);
    say("old %ld: handed %u listening sockets to %ld\n", (long)getpid(),
        (unsigned)sv->nls, who.pid);
    /* Until the successor says so we keep accepting: both of us do now. */
    r = handoff_recv(sv->peer, NULL, &nsocks, msg, &mlen, 10000);
  }
  if (r == 0) {
    msg[mlen] = '\0';
    if (strcmp(msg, "drain") != 0) r = HANDOFF_EPROTO;
  }
  if (r != 0) fail("old", "handing over", r);
  set_draining(sv, r != 0);
  return NULL;
}

/* Open a listening socket on host, port chosen by the OS. */
static int open_listener(struct server *sv, const char *host) {
  struct addrinfo hints, *ai;
  handoff_sock_t s;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  if (getaddrinfo(host, "0", &hints, &ai) != 0) return -1;
  s = socket(ai->ai_family, SOCK_STREAM | SOCK_FLAGS, 0);
  if (s != HANDOFF_INVALID_SOCK &&
      (bind(s, ai->ai_addr, (int)ai->ai_addrlen) != 0 || listen(s, 128) != 0 ||
       local_addr(s, sv->addr[sv->nls], sizeof sv->addr[0]) != 0)) {
    closesocket(s);
    s = HANDOFF_INVALID_SOCK;
  }
  freeaddrinfo(ai);
  if (s == HANDOFF_INVALID_SOCK) return -1;
  set_nonblocking(s);
  sv->ls[sv->nls++] = s;
  return 0;
}

static int old_server(struct server *sv, const char *name) {
  char payload[LISTENERS * 80];
  pthread_t th;
  int r;

  if (open_listener(sv, "127.0.0.1") != 0) return fail("old", "listen on 127.0.0.1", 0);
  /* No IPv6 here?  A second IPv4 port makes the same point. */
  if (open_listener(sv, "::1") != 0 && open_listener(sv, "127.0.0.1") != 0)
    return fail("old", "listen on ::1", 0);
  if ((r = handoff_listen(name, &sv->name)) != 0) return fail("old", "handoff_listen", r);
  /* Ready: tell the demo where to connect. */
  if ((r = handoff_send(sv->ctl, NULL, 0, payload, addr_list(sv, payload), 5000)) != 0)
    return fail("old", "ready", r);
  if (pthread_create(&th, NULL, old_handoff, sv) != 0) return fail("old", "thread", 0);
  r = serve(sv);
  pthread_join(th, NULL);
  handoff_close(sv->peer); /* the successor sees ECLOSED: we are gone */
  return r != 0 || sv->failed;
}

/* The new server's handoff thread: tell the old one to drain, see it go,
 * then serve until the demo closes our channel. */
static void *new_handoff(void *arg) {
  struct server *sv = arg;
  size_t none = 0;
  int r = handoff_send(sv->peer, NULL, 0, "drain", 5, 5000);
  if (r == 0) {
    r = handoff_recv(sv->peer, NULL, &none, NULL, &none, 15000);
    if (r == HANDOFF_ECLOSED) {
      say("new %ld: the old server is gone\n", (long)getpid());
      r = handoff_recv(sv->ctl, NULL, &none, NULL, &none, 30000);
      if (r == HANDOFF_ECLOSED) r = 0; /* the demo is over */
    } else if (r == 0) {
      r = HANDOFF_EPROTO; /* the old server has nothing more to say */
    }
  }
  if (r != 0) fail("new", "after the takeover", r);
  set_draining(sv, r != 0);
  return NULL;
}

static int new_server(struct server *sv, const char *name) {
  char payload[LISTENERS * 80 + 1], here[80], a[90], b[90], *line[LISTENERS];
  size_t i, n = LISTENERS, len = sizeof payload - 1;
  pthread_t th;
  int r;

  if ((r = handoff_connect(name, 5000, &sv->peer)) != 0) return fail("new", "handoff_connect", r);
  r = handoff_recv(sv->peer, sv->ls, &n, payload, &len, 5000);
  if (r != 0) return fail("new", "receiving the listening sockets", r);
  payload[len] = '\0';
  sv->nls = n;
  /* The payload names each socket: check that is what we hold. */
  if (split_lines(payload, line, LISTENERS) != n) return fail("new", "payload", 0);
  for (i = 0; i < n; i++) {
    if (local_addr(sv->ls[i], here, sizeof here) != 0 || strcmp(here, line[i]) != 0)
      return fail("new", "a socket is not what the payload says", 0);
    set_nonblocking(sv->ls[i]);
  }
  say("new %ld: took over %s and %s; accepting\n", (long)getpid(),
      pretty(line[0], a, sizeof a), pretty(line[n - 1], b, sizeof b));
  if (pthread_create(&th, NULL, new_handoff, sv) != 0) return fail("new", "thread", 0);
  r = serve(sv);
  pthread_join(th, NULL);
  handoff_close(sv->peer);
  return r != 0 || sv->failed;
}

static int server(const char *role, const char *name) {
  struct server sv;
  int r;
  memset(&sv, 0, sizeof sv);
  sv.role = role;
  pthread_mutex_init(&sv.mu, NULL);
  if ((r = handoff_inherited(&sv.ctl)) != 0) return fail(role, "handoff_inherited", r);
  r = strcmp(role, "old") == 0 ? old_server(&sv, name) : new_server(&sv, name);
  handoff_close(sv.ctl);
  return r;
}

/* ---- The demo: operator and clients ------------------------------------ */

static struct {
  pthread_mutex_t mu;
  struct sockaddr_storage to[LISTENERS];
  socklen_t tolen[LISTENERS];
  size_t nto;
  long pid_old, pid_new;
  int switching, stop, running;
  unsigned long total, by_old, by_new, refused, reset, wrong, failed;
} demo;

enum { OLD, NEW, REFUSED, RESET, WRONG, FAILED };

/* One client connection: connect, send a line, read the answer to EOF. */
static int one_request(int id, unsigned long i) {
  const struct sockaddr_storage *to = &demo.to[(id + i) % demo.nto];
  char line[64], answer[256], want[256];
  handoff_sock_t s = socket(to->ss_family, SOCK_STREAM | SOCK_FLAGS, 0);
  int n, k, got = 0, err = 0, res;
  long pid_old, pid_new;

  if (s == HANDOFF_INVALID_SOCK) return FAILED;
  set_timeouts(s, 3000);
  if (connect(s, (const struct sockaddr *)to, demo.tolen[(id + i) % demo.nto]) != 0) {
    err = sock_errno();
    closesocket(s);
    return err == E_REFUSED ? REFUSED : FAILED;
  }
  sleep_ms((int)(i % 3)); /* hold the line back: in flight over the switch */
  n = snprintf(line, sizeof line, "client %d request %lu", id, i);
  line[n] = '\n';
  if (send(s, line, n + 1, SEND_FLAGS) != n + 1) {
    err = sock_errno();
  } else {
    while ((k = (int)recv(s, answer + got, (int)(sizeof answer - 1 - got), 0)) > 0)
      got += k;
    if (k < 0) err = sock_errno();
  }
  closesocket(s);
  if (err != 0) return err == E_RESET || err == E_ABORTED ? RESET : FAILED;
  line[n] = '\0';
  answer[got] = '\0';
  pthread_mutex_lock(&demo.mu);
  pid_old = demo.pid_old;
  pid_new = demo.pid_new;
  pthread_mutex_unlock(&demo.mu);
  snprintf(want, sizeof want, "old %ld: %s\n", pid_old, line);
  if (strcmp(answer, want) == 0) return OLD;
  snprintf(want, sizeof want, "new %ld: %s\n", pid_new, line);
  res = strcmp(answer, want) == 0 ? NEW : WRONG;
  if (res == WRONG) fprintf(stderr, "client: sent \"%s\", got \"%s\"\n", line, answer);
  return res;
}

static void *client(void *arg) {
  int id = (int)(intptr_t)arg, stop = 0, pace = PACE_MS;
  unsigned long i;
  for (i = 0; !stop; i++) {
    int res = one_request(id, i);
    pthread_mutex_lock(&demo.mu);
    demo.total++;
    demo.by_old += res == OLD;
    demo.by_new += res == NEW;
    demo.refused += res == REFUSED;
    demo.reset += res == RESET;
    demo.wrong += res == WRONG;
    demo.failed += res == FAILED;
    pace = demo.switching ? 0 : PACE_MS;
    stop = demo.stop;
    if (stop) demo.running--;
    pthread_mutex_unlock(&demo.mu);
    if (pace) sleep_ms(pace);
  }
  return NULL;
}

/* Start a server; reap-or-kill helpers below keep every wait bounded. */
static int start(const char *argv0, const char *role, const char *name,
                 handoff_chan_t **c, handoff_proc_t **p) {
  const char *args[4];
  args[0] = argv0;
  args[1] = role;
  args[2] = name;
  args[3] = NULL;
  return handoff_spawn(args, c, p);
}

static int reap(handoff_proc_t **p, int ms) {
  int code = 1;
  if (*p == NULL) return 0;
  if (handoff_wait(*p, ms, &code) != 0) {
    handoff_kill(*p);
    if (handoff_wait(*p, 5000, &code) != 0) return 1;
    code = 1;
  }
  *p = NULL;
  return code;
}

static int run_demo(const char *argv0) {
  char name[HANDOFF_MAX_NAME + 1], ready[LISTENERS * 80 + 1], *line[LISTENERS];
  char a[90], b[90];
  handoff_chan_t *c_old = NULL, *c_new = NULL;
  handoff_proc_t *p_old = NULL, *p_new = NULL;
  pthread_t th[CLIENTS];
  size_t i, n = 0, len = sizeof ready - 1;
  long long t0 = now_ms(), deadline = t0 + DEMO_MS, t_new = 0;
  int r, ok, phase = 0, code_old = -1, code_new = -1, running;
  unsigned long by_old, by_new, total, switch_from = 0, switch_to = 0;

  snprintf(name, sizeof name, "hot-restart-%ld", (long)getpid());
  if ((r = start(argv0, "old", name, &c_old, &p_old)) != 0) return fail("demo", "spawn old", r);
  r = handoff_recv(c_old, NULL, &n, ready, &len, 10000);
  if (r != 0) {
    reap(&p_old, 0);
    return fail("demo", "old server not ready", r);
  }
  ready[len] = '\0';
  demo.nto = split_lines(ready, line, LISTENERS);
  for (i = 0; i < demo.nto; i++) {
    struct addrinfo hints, *ai;
    char host[64], port[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (sscanf(line[i], "%63s %15s", host, port) != 2 ||
        getaddrinfo(host, port, &hints, &ai) != 0) {
      reap(&p_old, 0);
      return fail("demo", "bad address from the old server", 0);
    }
    memcpy(&demo.to[i], ai->ai_addr, ai->ai_addrlen);
    demo.tolen[i] = (socklen_t)ai->ai_addrlen;
    freeaddrinfo(ai);
  }
  say("old server %ld listens on %s and %s\n", handoff_proc_pid(p_old),
      pretty(line[0], a, sizeof a), pretty(line[demo.nto - 1], b, sizeof b));

  pthread_mutex_init(&demo.mu, NULL);
  demo.pid_old = handoff_proc_pid(p_old);
  demo.running = CLIENTS;
  for (i = 0; i < CLIENTS; i++)
    if (pthread_create(&th[i], NULL, client, (void *)(intptr_t)i) != 0) {
      reap(&p_old, 0);
      return fail("demo", "client thread", 0); /* exit ends the others */
    }

  /* Phase 0: the old server alone.  1: both, until the old one has exited.
   * 2: the new one alone, until it answered enough. */
  for (ok = 0; now_ms() < deadline; sleep_ms(5)) {
    pthread_mutex_lock(&demo.mu);
    by_old = demo.by_old;
    by_new = demo.by_new;
    total = demo.total;
    pthread_mutex_unlock(&demo.mu);
    if (total >= MAX_TOTAL) break;
    if (phase == 0 && by_old >= MIN_SERVED) {
      /* Under the lock, so no client judges an answer from the new server
       * before we know its pid: they wait for the spawn call, no longer. */
      pthread_mutex_lock(&demo.mu);
      r = start(argv0, "new", name, &c_new, &p_new);
      demo.pid_new = handoff_proc_pid(p_new);
      demo.switching = r == 0;
      switch_from = demo.total;
      pthread_mutex_unlock(&demo.mu);
      if (r != 0) {
        fail("demo", "spawn new", r);
        break;
      }
      say("started new server %ld after %lu connections\n", demo.pid_new, switch_from);
      t_new = now_ms();
      phase = 1;
    } else if (phase == 1 && handoff_wait(p_old, 0, &code_old) == 0) {
      p_old = NULL;
      pthread_mutex_lock(&demo.mu);
      demo.switching = 0;
      switch_to = demo.total;
      pthread_mutex_unlock(&demo.mu);
      say("old server exited (status %d) %lld ms after the new one started\n",
          code_old, now_ms() - t_new);
      if (code_old != 0) break;
      phase = 2;
    } else if (phase > 0 && handoff_wait(p_new, 0, &code_new) == 0) {
      p_new = NULL;
      fail("demo", "the new server exited early", 0);
      break;
    } else if (phase == 2 && by_new >= MIN_SERVED) {
      ok = 1;
      break;
    }
  }

  /* Stop the clients: each finishes the request it has (3 s at most). */
  pthread_mutex_lock(&demo.mu);
  demo.stop = 1;
  pthread_mutex_unlock(&demo.mu);
  for (deadline = now_ms() + 10000;; sleep_ms(5)) {
    pthread_mutex_lock(&demo.mu);
    running = demo.running;
    pthread_mutex_unlock(&demo.mu);
    if (running == 0 || now_ms() > deadline) break;
  }
  if (running != 0) {
    handoff_kill(p_new);
    handoff_kill(p_old);
    reap(&p_new, 2000);
    reap(&p_old, 2000);
    return fail("demo", "clients stuck", 0); /* exit ends them */
  }
  for (i = 0; i < CLIENTS; i++) pthread_join(th[i], NULL);

  handoff_close(c_new); /* the new server drains and exits */
  if (p_new != NULL) code_new = reap(&p_new, 5000);
  if (p_old != NULL) code_old = reap(&p_old, 5000);
  handoff_close(c_old);

  say("connections: %lu (%lu during the switch), served by old: %lu, by new: %lu, "
      "refused: %lu, reset: %lu, wrong: %lu, failed: %lu, %lld ms\n",
      demo.total, switch_to - switch_from, demo.by_old, demo.by_new, demo.refused,
      demo.reset, demo.wrong, demo.failed, now_ms() - t0);
  if (!ok) return fail("demo", "the switch did not complete", 0);
  if (code_old != 0 || code_new != 0) return fail("demo", "a server failed", 0);
  return demo.refused || demo.reset || demo.wrong || demo.failed ||
         demo.by_old == 0 || demo.by_new == 0;
}

int main(int argc, char **argv) {
  net_init();
  if (argc == 3 && (strcmp(argv[1], "old") == 0 || strcmp(argv[1], "new") == 0))
    return server(argv[1], argv[2]);
  return run_demo(argv[0]);
}
