/* handoff benchmark (issue #4): the same workloads through handoff and
 * through a baseline written on the OS calls (raw_posix.c / raw_win32.c),
 * in alternating repetitions; prints medians and the ratio handoff/raw.
 * bench/README.md explains the table.
 *
 *   bench [--quick] [--reps N] [--no-1m] [--verbose]
 *   bench --syscalls handoff|raw stream|ping N [K]
 *        one workload only: N messages (of K sockets, default 1), with
 *        "bench-mark:" lines on stderr around the hot loop of each process
 *        (for strace, perf, WINEDEBUG=+server)
 *   bench child handoff | child raw <endpoint>     (internal) the receiver
 *
 * Workloads, run through handoff and raw in every repetition:
 *   stream K   the parent sends N messages of K sockets (the same K UDP
 *              sockets every time); the child closes each one it receives
 *              and confirms after the last.  Timed from the first send to
 *              the confirmation: sockets per second.  Then again with both
 *              processes pinned to one CPU: there the total CPU time of
 *              sender and receiver counts, not just the slower of the two.
 *   ping       the parent sends one socket, the child closes it and answers
 *              one byte; each round trip is timed: p50 and p99.  Handoff
 *              and raw alternate in chunks within a repetition, so that
 *              both see the same machine; then again with both processes
 *              pinned to one CPU (no cross-CPU wake-ups: the steadiest
 *              measure of the CPU time a round trip costs).
 * First of all, peak RSS of both processes after 10,000 and 1,000,000
 * messages of K=1 through handoff (first, so nothing else inflates the
 * parent's peak). */
#include "bench/bench.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Transports: handoff or raw, behind the same two calls ------------- */

typedef struct {
  const char *name;
  void *c;
  int (*send)(void *c, const handoff_sock_t *socks, size_t nsocks,
              const void *data, size_t len);
  int (*recv)(void *c, handoff_sock_t *socks, size_t *nsocks, void *data,
              size_t *len);
} xport_t;

static int ho_send(void *c, const handoff_sock_t *socks, size_t nsocks,
                   const void *data, size_t len) {
  return handoff_send((handoff_chan_t *)c, socks, nsocks, data, len, -1);
}
static int ho_recv(void *c, handoff_sock_t *socks, size_t *nsocks, void *data,
                   size_t *len) {
  return handoff_recv((handoff_chan_t *)c, socks, nsocks, data, len, -1);
}
static int raw_send(void *c, const handoff_sock_t *socks, size_t nsocks,
                    const void *data, size_t len) {
  return bench_raw_send((bench_raw_t *)c, socks, nsocks, data, len);
}
static int raw_recv(void *c, handoff_sock_t *socks, size_t *nsocks,
                    void *data, size_t *len) {
  return bench_raw_recv((bench_raw_t *)c, socks, nsocks, data, len);
}

/* ---- Commands from the parent to the child ----------------------------- */

enum { CMD_STREAM = 1, CMD_PING, CMD_RSS, CMD_QUIT };
#define CMD_MAGIC 0x48424e43u /* "CNBH" */

typedef struct {
  uint32_t magic;
  uint32_t op;
  uint32_t count; /* STREAM: sockets to receive; PING: round trips */
  uint32_t mark;  /* write bench-mark lines around the hot loop */
  int32_t cpu;    /* STREAM, PING: pin to this CPU for the run; -1: don't */
} cmd_t;

static const char *role = "parent";
static int pin_failed;

static void mark(int on, const char *what, const char *impl) {
  if (on) {
    fprintf(stderr, "bench-mark: %s %s %s\n", what, impl, role);
    fflush(stderr);
  }
}

static void die(const char *what, int r) {
  fprintf(stderr, "bench (%s): %s: %s\n", role, what,
          r != 0 ? handoff_strerror(r) : "failed");
  exit(1);
}

static void close_all(const handoff_sock_t *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) bench_close_sock(s[i]);
}

/* Receive one message that carries no socket; returns its length. */
static size_t recv_data(xport_t *x, void *buf, size_t cap) {
  handoff_sock_t s[HANDOFF_MAX_SOCKS];
  size_t n = HANDOFF_MAX_SOCKS, len = cap;
  int r = x->recv(x->c, s, &n, buf, &len);
  if (r != 0) die("recv", r);
  close_all(s, n);
  return len;
}

static void send_byte(xport_t *x) {
  int r = x->send(x->c, NULL, 0, "k", 1);
  if (r != 0) die("send", r);
}

static void pin(int cpu) {
  if (cpu >= 0 && bench_pin(cpu) != 0) pin_failed = 1;
}
static void unpin(int cpu) {
  if (cpu >= 0) bench_pin(-1);
}

/* ---- The child: receive, close, confirm -------------------------------- */

static int serve(xport_t *x) {
  handoff_sock_t socks[HANDOFF_MAX_SOCKS];
  unsigned char buf[64];
  uint32_t i, got;
  size_t n, len;
  cmd_t cmd;
  long kib;
  int r;

  for (;;) {
    n = HANDOFF_MAX_SOCKS;
    len = sizeof buf;
    r = x->recv(x->c, socks, &n, buf, &len);
    if (r == HANDOFF_ECLOSED) return 0;
    if (r != 0) die("recv", r);
    close_all(socks, n);
    if (n != 0 || len != sizeof cmd) die("unexpected message", 0);
    memcpy(&cmd, buf, sizeof cmd);
    if (cmd.magic != CMD_MAGIC) die("bad command", 0);
    switch (cmd.op) {
    case CMD_STREAM:
      pin(cmd.cpu);
      send_byte(x); /* ready */
      mark((int)cmd.mark, "begin", x->name);
      for (got = 0; got < cmd.count; got += (uint32_t)n) {
        n = HANDOFF_MAX_SOCKS;
        len = sizeof buf;
        r = x->recv(x->c, socks, &n, buf, &len);
        if (r != 0) die("stream recv", r);
        if (n == 0) die("stream: a message without sockets", 0);
        close_all(socks, n);
      }
      send_byte(x); /* the last one arrived */
      mark((int)cmd.mark, "end", x->name);
      unpin(cmd.cpu);
      break;
    case CMD_PING:
      pin(cmd.cpu);
      send_byte(x);
      mark((int)cmd.mark, "begin", x->name);
      for (i = 0; i < cmd.count; i++) {
        n = HANDOFF_MAX_SOCKS;
        len = sizeof buf;
        r = x->recv(x->c, socks, &n, buf, &len);
        if (r != 0) die("ping recv", r);
        close_all(socks, n);
        send_byte(x);
      }
      mark((int)cmd.mark, "end", x->name);
      unpin(cmd.cpu);
      break;
    case CMD_RSS:
      kib = bench_peak_rss_kib();
      r = x->send(x->c, NULL, 0, &kib, sizeof kib);
      if (r != 0) die("send rss", r);
      break;
    case CMD_QUIT:
      return 0;
    default:
      die("unknown command", 0);
    }
  }
}

static int child_main(int argc, char **argv) {
  handoff_chan_t *hc;
  bench_raw_t *rc;
  xport_t x;
  int r;

  role = "child";
  if (strcmp(argv[2], "handoff") == 0) {
    if ((r = handoff_inherited(&hc)) != 0) die("handoff_inherited", r);
    x.name = "handoff";
    x.c = hc;
    x.send = ho_send;
    x.recv = ho_recv;
    r = serve(&x);
    handoff_close(hc);
    return r;
  }
  if (strcmp(argv[2], "named") == 0 && argc > 3) {
    /* Started by handoff_spawn only to be reaped the same way; the
     * channel measured is the one it connects by name. */
    if ((r = handoff_inherited(&hc)) != 0) die("handoff_inherited", r);
    handoff_close(hc);
    if ((r = handoff_connect(argv[3], 30000, &hc)) != 0)
      die("handoff_connect", r);
    x.name = "named";
    x.c = hc;
    x.send = ho_send;
    x.recv = ho_recv;
    r = serve(&x);
    handoff_close(hc);
    return r;
  }
  if (strcmp(argv[2], "raw") == 0 && argc > 3) {
    if ((r = bench_raw_child(argv[3], &rc)) != 0) die("raw child", r);
    x.name = "raw";
    x.c = rc;
    x.send = raw_send;
    x.recv = raw_recv;
    r = serve(&x);
    bench_raw_close(rc);
    return r;
  }
  fprintf(stderr, "bench: unknown child role\n");
  return 2;
}

/* ---- The parent's side of each workload -------------------------------- */

static void send_cmd(xport_t *x, uint32_t op, uint32_t count, int marks,
                     int cpu) {
  unsigned char b[64];
  cmd_t cmd;
  int r;
  memset(&cmd, 0, sizeof cmd);
  cmd.magic = CMD_MAGIC;
  cmd.op = op;
  cmd.count = count;
  cmd.mark = (uint32_t)marks;
  cmd.cpu = cpu;
  r = x->send(x->c, NULL, 0, &cmd, sizeof cmd);
  if (r != 0) die("send command", r);
  if (op == CMD_STREAM || op == CMD_PING) recv_data(x, b, sizeof b);
}

/* N messages of K sockets, both processes on CPU cpu if it is not -1;
 * returns the elapsed microseconds. */
static double run_stream(xport_t *x, const handoff_sock_t *socks, size_t k,
                         uint32_t nmsg, int marks, int cpu) {
  unsigned char b[64];
  double t0, t1;
  uint32_t i;
  int r;
  pin(cpu);
  send_cmd(x, CMD_STREAM, nmsg * (uint32_t)k, marks, cpu);
  mark(marks, "begin", x->name);
  t0 = bench_now_us();
  for (i = 0; i < nmsg; i++)
    if ((r = x->send(x->c, socks, k, NULL, 0)) != 0) die("stream send", r);
  recv_data(x, b, sizeof b);
  t1 = bench_now_us();
  mark(marks, "end", x->name);
  unpin(cpu);
  return t1 - t0;
}

/* warm + n round trips, the last n timed one by one into lat; both
 * processes on CPU cpu if it is not -1. */
static void run_ping(xport_t *x, handoff_sock_t s, uint32_t warm, uint32_t n,
                     int marks, int cpu, double *lat) {
  unsigned char b[64];
  uint32_t i;
  double t0;
  int r;
  pin(cpu);
  send_cmd(x, CMD_PING, warm + n, marks, cpu);
  mark(marks, "begin", x->name);
  for (i = 0; i < warm + n; i++) {
    t0 = bench_now_us();
    if ((r = x->send(x->c, &s, 1, NULL, 0)) != 0) die("ping send", r);
    recv_data(x, b, sizeof b);
    if (i >= warm) lat[i - warm] = bench_now_us() - t0;
  }
  mark(marks, "end", x->name);
  unpin(cpu);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p of them at or below. */
static double percentile(const double *sorted, size_t n, double p) {
  size_t i = (size_t)(p * (double)n + 0.999999);
  if (i == 0) i = 1;
  if (i > n) i = n;
  return sorted[i - 1];
}

static long child_rss(xport_t *x) {
  long kib = -1;
  send_cmd(x, CMD_RSS, 0, 0, -1);
  if (recv_data(x, &kib, sizeof kib) != sizeof kib) die("rss reply", 0);
  return kib;
}

/* ---- Setup ------------------------------------------------------------- */

static void open_handoff(const char *self, xport_t *x, handoff_proc_t **p) {
  const char *argv[4];
  handoff_chan_t *c;
  int r;
  argv[0] = self;
  argv[1] = "child";
  argv[2] = "handoff";
  argv[3] = NULL;
  if ((r = handoff_spawn(argv, &c, p)) != 0) die("handoff_spawn", r);
  x->name = "handoff";
  x->c = c;
  x->send = ho_send;
  x->recv = ho_recv;
}

/* A named channel: listen, start the child, accept its connection. */
static void open_named(const char *self, xport_t *x, handoff_proc_t **p) {
  static char name[48];
  const char *argv[5];
  handoff_listener_t *l;
  handoff_chan_t *c;
  int r;
  snprintf(name, sizeof name, "bench-%.0f", bench_now_us());
  if ((r = handoff_listen(name, &l)) != 0) die("handoff_listen", r);
  argv[0] = self;
  argv[1] = "child";
  argv[2] = "named";
  argv[3] = name;
  argv[4] = NULL;
  if ((r = handoff_spawn(argv, &c, p)) != 0) die("handoff_spawn", r);
  handoff_close(c); /* only the named channel is used */
  if ((r = handoff_accept(l, 30000, &c)) != 0) die("handoff_accept", r);
  handoff_listener_close(l);
  x->name = "named";
  x->c = c;
  x->send = ho_send;
  x->recv = ho_recv;
}

static void close_handoff(xport_t *x, handoff_proc_t *p) {
  int code = -1, r;
  send_cmd(x, CMD_QUIT, 0, 0, -1);
  handoff_close((handoff_chan_t *)x->c);
  if ((r = handoff_wait(p, 30000, &code)) != 0) die("handoff_wait", r);
  if (code != 0) die("handoff child failed", 0);
}

static void open_raw(const char *self, xport_t *x) {
  bench_raw_t *c;
  int r;
  if ((r = bench_raw_spawn(self, &c)) != 0) die("raw spawn", r);
  x->name = "raw";
  x->c = c;
  x->send = raw_send;
  x->recv = raw_recv;
}

static void close_raw(xport_t *x) {
  send_cmd(x, CMD_QUIT, 0, 0, -1);
  if (bench_raw_close((bench_raw_t *)x->c) != 0) die("raw child failed", 0);
}

static handoff_sock_t *make_socks(size_t n) {
  handoff_sock_t *s = malloc(n * sizeof *s);
  size_t i;
  if (s == NULL) die("malloc", 0);
  for (i = 0; i < n; i++)
    if ((s[i] = bench_udp_socket()) == HANDOFF_INVALID_SOCK)
      die("socket", 0);
  return s;
}

/* ---- Sizes ------------------------------------------------------------- */

typedef struct {
  uint32_t stream_socks; /* sockets per stream run (N = this / K) */
  uint32_t ping_n;       /* timed round trips per repetition and setting */
  uint32_t ping_chunks;  /* handoff and raw alternate this many times */
  uint32_t ping_warm;    /* untimed round trips before each chunk */
  int reps;
} sizes_t;

#ifdef _WIN32 /* under Wine every call is a wineserver round trip */
static const sizes_t full_sizes = {20000, 2000, 4, 20, 5};
#else
static const sizes_t full_sizes = {200000, 20000, 10, 100, 5};
#endif
static const sizes_t quick_sizes = {1024, 300, 3, 10, 3};

/* ---- Main -------------------------------------------------------------- */

#define MAX_REPS 101
static const size_t ks[] = {1, 8, 64};
#define NK (sizeof ks / sizeof ks[0])

enum { ROW_S1, ROW_S8, ROW_S64, ROW_S1_PIN, ROW_S8_PIN, ROW_S64_PIN,
       ROW_P50, ROW_P99, ROW_P50_PIN, ROW_P99_PIN,
       /* The same stream runs over a named channel (listen/accept and
        * connect) instead of a spawned one, each against its own raw run
        * of the same repetition. */
       ROW_N1, ROW_N64, ROW_N1_PIN, ROW_N64_PIN, NROWS };
#define IS_STREAM(row) ((row) < ROW_P50 || (row) >= ROW_N1)
#define IS_PINNED(row)                                                      \
  (((row) >= ROW_S1_PIN && (row) <= ROW_S64_PIN) || (row) == ROW_P50_PIN ||  \
   (row) == ROW_P99_PIN || (row) >= ROW_N1_PIN)
/* Sockets per message of a stream row. */
static size_t row_k(int row) {
  if (row >= ROW_N1) return (row - ROW_N1) % 2 ? 64 : 1;
  return ks[row % NK];
}

static double median(const double *v, int n) {
  double t[MAX_REPS];
  memcpy(t, v, sizeof(double) * (size_t)n);
  qsort(t, (size_t)n, sizeof t[0], cmp_double);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench [--quick] [--reps N] [--no-1m] [--verbose]\n"
          "       bench --syscalls handoff|raw stream|ping N [K]\n");
  exit(2);
}

static int syscalls_main(const char *self, int argc, char **argv) {
  handoff_proc_t *p = NULL;
  long n = atol(argv[2]), k = argc > 3 ? atol(argv[3]) : 1;
  handoff_sock_t *socks;
  double *lat;
  xport_t x;
  int i;

  if (n <= 0 || k < 1 || k > HANDOFF_MAX_SOCKS) usage();
  socks = make_socks((size_t)k);
  if (strcmp(argv[0], "handoff") == 0)
    open_handoff(self, &x, &p);
  else if (strcmp(argv[0], "raw") == 0)
    open_raw(self, &x);
  else
    usage();
  if (strcmp(argv[1], "stream") == 0) {
    double us = run_stream(&x, socks, (size_t)k, (uint32_t)n, 1, -1);
    printf("%s stream K=%ld: %ld messages in %.0f us\n", x.name, k, n, us);
  } else if (strcmp(argv[1], "ping") == 0) {
    lat = malloc((size_t)n * sizeof *lat);
    if (lat == NULL) die("malloc", 0);
    run_ping(&x, socks[0], 0, (uint32_t)n, 1, -1, lat);
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("%s ping: %ld round trips, p50 %.1f us\n", x.name, n,
           percentile(lat, (size_t)n, 0.5));
    free(lat);
  } else {
    usage();
  }
  if (p != NULL)
    close_handoff(&x, p);
  else
    close_raw(&x);
  for (i = 0; i < k; i++) bench_close_sock(socks[i]);
  free(socks);
  return 0;
}

int main(int argc, char **argv) {
  static const char *const row_name[NROWS] = {
      "stream K=1",    "stream K=8",    "stream K=64",  "  1 CPU: K=1",
      "  1 CPU: K=8",  "  1 CPU: K=64", "ping-pong p50", "ping-pong p99",
      "  1 CPU: p50",  "  1 CPU: p99",  "named K=1",    "named K=64",
      "  1 CPU: nK=1", "  1 CPU: nK=64"};
  static double val[2][NROWS][MAX_REPS]; /* [handoff/raw][row][rep] */
  const char *self = argv[0];
  sizes_t sz = full_sizes;
  int quick = 0, big = 1, verbose = 0, reps = 0, i, rep, w, j, t;
  long rss[2][2] = {{-1, -1}, {-1, -1}}; /* [10k/1M][sender/receiver] */
  double rss_1m_s = 0, *lat[2];
  uint32_t c, chunk;
  handoff_sock_t *socks;
  handoff_proc_t *proc;
  handoff_proc_t *nproc;
  xport_t xs[3]; /* [0] handoff, [1] raw, [2] handoff over a named channel */

  bench_os_init();
  if (argc > 2 && strcmp(argv[1], "child") == 0) return child_main(argc, argv);
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      quick = 1;
      big = 0;
    } else if (strcmp(argv[i], "--no-1m") == 0) {
      big = 0;
    } else if (strcmp(argv[i], "--verbose") == 0) {
      verbose = 1;
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = atoi(argv[++i]);
      if (reps < 1 || reps > MAX_REPS) usage();
    } else if (strcmp(argv[i], "--syscalls") == 0 && i + 3 < argc) {
      return syscalls_main(self, argc - i - 1, argv + i + 1);
    } else {
      usage();
    }
  }
  if (quick) sz = quick_sizes;
  if (reps != 0) sz.reps = reps;
  chunk = sz.ping_n / sz.ping_chunks;

  socks = make_socks(HANDOFF_MAX_SOCKS);
  lat[0] = malloc(sz.ping_n * sizeof(double));
  lat[1] = malloc(sz.ping_n * sizeof(double));
  if (lat[0] == NULL || lat[1] == NULL) die("malloc", 0);

  /* Memory first, while nothing else has touched the parent's heap. */
  open_handoff(self, &xs[0], &proc);
  run_stream(&xs[0], socks, 1, 10000, 0, -1);
  rss[0][0] = bench_peak_rss_kib();
  rss[0][1] = child_rss(&xs[0]);
  if (big) {
    rss_1m_s = run_stream(&xs[0], socks, 1, 1000000 - 10000, 0, -1) / 1e6;
    rss[1][0] = bench_peak_rss_kib();
    rss[1][1] = child_rss(&xs[0]);
  }

  open_raw(self, &xs[1]);
  open_named(self, &xs[2], &nproc);
  for (rep = 0; rep < sz.reps; rep++) {
    for (w = ROW_S1; w <= ROW_S64_PIN; w++) {
      size_t k = row_k(w);
      uint32_t nmsg = sz.stream_socks / (uint32_t)k;
      for (j = 0; j < 2; j++) {
        double us;
        t = (j + rep) % 2; /* who goes first alternates too */
        us = run_stream(&xs[t], socks, k, nmsg, 0, w < ROW_S1_PIN ? -1 : 0);
        val[t][w][rep] = (double)nmsg * (double)k / (us / 1e6);
      }
    }
    for (w = ROW_N1; w < NROWS; w++) {
      size_t k = row_k(w);
      uint32_t nmsg = sz.stream_socks / (uint32_t)k;
      for (j = 0; j < 2; j++) {
        double us;
        t = (j + rep) % 2;
        us = run_stream(&xs[t == 0 ? 2 : 1], socks, k, nmsg, 0,
                        w < ROW_N1_PIN ? -1 : 0);
        val[t][w][rep] = (double)nmsg * (double)k / (us / 1e6);
      }
    }
    for (w = ROW_P50; w <= ROW_P99_PIN; w += 2) {
      int cpu = w == ROW_P50 ? -1 : 0;
      for (c = 0; c < sz.ping_chunks; c++)
        for (j = 0; j < 2; j++) {
          t = (int)(j + c + (uint32_t)rep) % 2;
          run_ping(&xs[t], socks[0], sz.ping_warm, chunk, 0, cpu,
                   lat[t] + c * chunk);
        }
      for (t = 0; t < 2; t++) {
        size_t n = (size_t)chunk * sz.ping_chunks;
        qsort(lat[t], n, sizeof(double), cmp_double);
        val[t][w][rep] = percentile(lat[t], n, 0.50);
        val[t][w + 1][rep] = percentile(lat[t], n, 0.99);
      }
    }
    if (verbose) {
      fprintf(stderr, "rep %d (handoff/raw):", rep + 1);
      for (w = 0; w < NROWS; w++)
        fprintf(stderr, "  %s %.4g/%.4g", row_name[w], val[0][w][rep],
                val[1][w][rep]);
      fprintf(stderr, "\n");
    }
  }
  close_raw(&xs[1]);
  close_handoff(&xs[0], proc);
  close_handoff(&xs[2], nproc);

  printf("handoff bench (%s): %d alternating repetitions, medians%s\n",
         bench_os_name, sz.reps, quick ? " (--quick: small N, smoke test)" : "");
  printf("%-15s %-9s %12s %12s %11s\n", "workload", "unit", "handoff", "raw",
         "handoff/raw");
  for (w = 0; w < NROWS; w++) {
    double h = median(val[0][w], sz.reps), r = median(val[1][w], sz.reps);
    int is_stream = IS_STREAM(w);
    int pinned = IS_PINNED(w);
    char n[32];
    if (is_stream)
      snprintf(n, sizeof n, "N=%lu",
               (unsigned long)(sz.stream_socks / (uint32_t)row_k(w)));
    else
      snprintf(n, sizeof n, "N=%lu", (unsigned long)(chunk * sz.ping_chunks));
    if (pinned && pin_failed) {
      printf("%-15s %-9s %12s %12s %11s   (pinning failed)\n", row_name[w],
             is_stream ? "sockets/s" : "us", "n/a", "n/a", "n/a");
      continue;
    }
    printf("%-15s %-9s %12.*f %12.*f %11.3f   %s\n", row_name[w],
           is_stream ? "sockets/s" : "us", is_stream ? 0 : 1, h,
           is_stream ? 0 : 1, r, h / r, n);
  }
  printf("peak RSS (KiB), K=1 through handoff:\n");
  printf("%-15s %10s %10s\n", "messages", "sender", "receiver");
  printf("%-15s %10ld %10ld\n", "10,000", rss[0][0], rss[0][1]);
  if (big)
    printf("%-15s %10ld %10ld   (%.1f s)\n", "1,000,000", rss[1][0], rss[1][1],
           rss_1m_s);
  else
    printf("%-15s %10s %10s   (skipped)\n", "1,000,000", "-", "-");
  fflush(stdout);

  for (i = 0; i < HANDOFF_MAX_SOCKS; i++) bench_close_sock(socks[i]);
  free(socks);
  free(lat[0]);
  free(lat[1]);
  return 0;
}
