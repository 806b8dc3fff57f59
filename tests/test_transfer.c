/* Transfers over a spawned channel: what arrives, how whole, and what every
 * bad input returns.  The child is the "server" helper below. */
#include <stdio.h>
#include <stdlib.h>

#include "cases.h"

static char big[HANDOFF_MAX_DATA];

/* ---- the helper -------------------------------------------------------- */

static void close_all(handoff_sock_t *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) ts_close_sock(s[i]);
}

static int reply(handoff_chan_t *c, const char *text) {
  return handoff_send(c, NULL, 0, text, strlen(text) + 1, TS_TIMEOUT_MS);
}

/* Serve commands until the parent closes: each message is "cmd\0data" with
 * sockets; the answer is a message too.  Exits 0 only if every check held
 * and it leaves no descriptor behind. */
int helper_server(int argc, char **argv) {
  handoff_chan_t *c;
  size_t len0 = sizeof big;
  long base;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  ts_warm_process();
  /* ready / go / counted: one message each way first (what the OS and
   * Wine create on first use is then there), and the parent sends nothing
   * while we count: on Windows a sender puts socket handles into our
   * process at send time. */
  if (reply(c, "ready") != 0 ||
      handoff_recv(c, NULL, NULL, big, &len0, TS_TIMEOUT_MS) != 0) {
    handoff_close(c); /* a parent that only wanted us started */
    return 0;
  }
  base = ts_handle_count();
  H_CHECK(reply(c, "counted") == 0);
  for (;;) {
    handoff_sock_t s[HANDOFF_MAX_SOCKS];
    size_t ns = HANDOFF_MAX_SOCKS, len = sizeof big, i;
    char line[128], out[256];
    int r = handoff_recv(c, s, &ns, big, &len, TS_TIMEOUT_MS);
    if (r == HANDOFF_ECLOSED) break;
    H_CHECK(r == 0);
    if (len == 0 && ns == 0) { /* an empty message echoes as one */
      H_CHECK(handoff_send(c, NULL, 0, NULL, 0, TS_TIMEOUT_MS) == 0);
      continue;
    }
    H_CHECK(len > 0 && memchr(big, '\0', len) != NULL);
    for (i = 0; i < ns; i++) H_CHECK(!ts_is_inheritable(s[i]));
    if (strcmp(big, "accept-echo") == 0) {
      handoff_sock_t conn;
      int n;
      H_CHECK(ns == 1);
      conn = ts_tcp_accept(s[0]);
      H_CHECK(conn != HANDOFF_INVALID_SOCK);
      n = ts_recv_n(conn, line, 5);
      H_CHECK(n == 5);
      snprintf(out, sizeof out, "%ld:%.5s", ts_getpid(), line);
      H_CHECK(ts_send_all(conn, out, strlen(out)) == 0);
      ts_close_sock(conn);
      H_CHECK(reply(c, "done") == 0);
    } else if (strcmp(big, "echo-stream") == 0) {
      H_CHECK(ns == 1);
      H_CHECK(ts_recv_n(s[0], line, 5) == 5);
      H_CHECK(ts_send_all(s[0], line, 5) == 0);
      H_CHECK(reply(c, "done") == 0);
    } else if (strcmp(big, "udp-echo") == 0) {
      H_CHECK(ns == 1);
      H_CHECK(ts_udp_echo_once(s[0], line, sizeof line, "pong") == 4);
      H_CHECK(strcmp(line, "ping") == 0);
      H_CHECK(reply(c, "done") == 0);
    } else if (strcmp(big, "count") == 0) {
      unsigned long sum = 0;
      for (i = 0; i < ns; i++) H_CHECK(ts_is_socket(s[i]));
      for (i = 0; i < len; i++) sum = sum * 31 + (unsigned char)big[i];
      snprintf(out, sizeof out, "%lu %lu %lu", (unsigned long)ns,
               (unsigned long)len, sum);
      H_CHECK(reply(c, out) == 0);
    } else if (strcmp(big, "echo-msg") == 0) {
      H_CHECK(handoff_send(c, s, ns, big, len, TS_TIMEOUT_MS) == 0);
    } else if (strcmp(big, "bye") == 0) {
      /* Everything that arrived was closed again; the parent waits, so
       * nothing is in flight while we count. */
      snprintf(out, sizeof out, "%ld handles, %ld at start", ts_handle_count(),
               base);
      H_CHECK(reply(c, ts_handle_count() == base ? "clean" : out) == 0);
    } else {
      H_CHECK(!"unknown command");
    }
    close_all(s, ns);
  }
  handoff_close(c);
  return 0;
}

/* Take the channel and exit at once. */
int helper_exit_now(int argc, char **argv) {
  handoff_chan_t *c;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  handoff_close(c);
  return 0;
}

/* Send 5 messages of 4 sockets each, then wait for the parent to close. */
int helper_flood(int argc, char **argv) {
  handoff_chan_t *c;
  char buf[8];
  size_t len = sizeof buf;
  int i, j;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  for (i = 0; i < 5; i++) {
    handoff_sock_t s[4];
    for (j = 0; j < 4; j++) H_CHECK((s[j] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
    H_CHECK(handoff_send(c, s, 4, "x", 1, TS_TIMEOUT_MS) == 0);
    close_all(s, 4);
  }
  H_CHECK(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS) ==
          HANDOFF_ECLOSED);
  handoff_close(c);
  return 0;
}

/* ---- parent-side helpers ----------------------------------------------- */

typedef struct {
  handoff_chan_t *c;
  handoff_proc_t *p;
} child_t;

static void start(child_t *ch, const char *role) {
  ck_assert_int_eq(ts_spawn(role, NULL, NULL, NULL, &ch->c, &ch->p), 0);
  if (strcmp(role, "server") == 0) {
    char msg[16];
    size_t len = sizeof msg;
    ck_assert_int_eq(handoff_recv(ch->c, NULL, NULL, msg, &len, TS_TIMEOUT_MS), 0);
    ck_assert_str_eq(msg, "ready");
    ck_assert_int_eq(handoff_send(ch->c, NULL, 0, "go", 3, TS_TIMEOUT_MS), 0);
    len = sizeof msg;
    ck_assert_int_eq(handoff_recv(ch->c, NULL, NULL, msg, &len, TS_TIMEOUT_MS), 0);
    ck_assert_str_eq(msg, "counted");
  }
}

static void call(child_t *ch, const char *cmd, handoff_sock_t *s, size_t n,
                 char *out, size_t cap);

/* The server must have closed everything it received, then it exits 0. */
static void finish(child_t *ch) {
  char out[64];
  call(ch, "bye", NULL, 0, out, sizeof out);
  ck_assert_str_eq(out, "clean");
  handoff_close(ch->c);
  ck_assert_int_eq(ts_reap(ch->p), 0);
}

/* Send cmd with sockets, close our copies, and return the text reply. */
static void call(child_t *ch, const char *cmd, handoff_sock_t *s, size_t n,
                 char *out, size_t cap) {
  size_t ns = 0, len = cap;
  ck_assert_int_eq(handoff_send(ch->c, s, n, cmd, strlen(cmd) + 1, TS_TIMEOUT_MS), 0);
  close_all(s, n);
  ck_assert_int_eq(handoff_recv(ch->c, NULL, &ns, out, &len, TS_TIMEOUT_MS), 0);
  ck_assert_uint_eq(ns, 0);
  ck_assert(len > 0 && out[len - 1] == '\0');
}

static void listening_tcp_case(int family) {
  child_t ch;
  handoff_sock_t l, conn;
  char out[64], got[64];
  int port, n;
  LEAK_BEGIN();
  start(&ch, "server");
  l = ts_tcp_listener(family, &port);
  ck_assert(l != HANDOFF_INVALID_SOCK);
  ck_assert_int_eq(handoff_send(ch.c, &l, 1, "accept-echo", 12, TS_TIMEOUT_MS), 0);
  ts_close_sock(l); /* the child's copy must keep the port open */
  conn = ts_tcp_connect(family, port);
  ck_assert(conn != HANDOFF_INVALID_SOCK);
  ck_assert_int_eq(ts_send_all(conn, "hello", 5), 0);
  n = ts_recv_n(conn, got, sizeof got - 1);
  ck_assert_int_gt(n, 0);
  got[n] = '\0';
  snprintf(out, sizeof out, "%ld:hello", handoff_proc_pid(ch.p));
  ck_assert_str_eq(got, out);
  ts_close_sock(conn);
  {
    size_t len = sizeof out;
    ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, out, &len, TS_TIMEOUT_MS), 0);
    ck_assert_str_eq(out, "done");
  }
  finish(&ch);
  LEAK_END();
}

/* ---- cases ------------------------------------------------------------- */

START_TEST(test_listening_tcp_ipv4_served_by_receiver_after_sender_closes) {
  listening_tcp_case(TS_AF_INET);
}
END_TEST

START_TEST(test_listening_tcp_ipv6_served_by_receiver_after_sender_closes) {
  listening_tcp_case(TS_AF_INET6);
}
END_TEST

/* Hand sv[1] to a child that echoes 5 bytes on it. */
static void stream_case(handoff_sock_t sv[2]) {
  child_t ch;
  char out[64];
  start(&ch, "server");
  call(&ch, "echo-stream", &sv[1], 1, out, sizeof out);
  ck_assert_str_eq(out, "done");
  finish(&ch);
}

START_TEST(test_connected_tcp_ipv4_and_ipv6_carry_data_after_handoff) {
  int fam[2] = {TS_AF_INET, TS_AF_INET6}, i;
  LEAK_BEGIN();
  for (i = 0; i < 2; i++) {
    handoff_sock_t sv[2];
    char echo[8];
    ck_assert_int_eq(ts_tcp_pair(fam[i], sv), 0);
    ck_assert_int_eq(ts_send_all(sv[0], "abcde", 5), 0); /* queued before */
    stream_case(sv);
    ck_assert_int_eq(ts_recv_n(sv[0], echo, 5), 5);
    ck_assert(memcmp(echo, "abcde", 5) == 0);
    ts_close_sock(sv[0]);
  }
  LEAK_END();
}
END_TEST

START_TEST(test_udp_ipv4_and_ipv6_receive_after_handoff) {
  int fam[2] = {TS_AF_INET, TS_AF_INET6}, i;
  LEAK_BEGIN();
  for (i = 0; i < 2; i++) {
    child_t ch;
    handoff_sock_t u, me;
    char out[64], pong[8];
    int port;
    size_t len = sizeof out;
    u = ts_udp_bound(fam[i], &port);
    me = ts_udp_bound(fam[i], NULL);
    ck_assert(u != HANDOFF_INVALID_SOCK && me != HANDOFF_INVALID_SOCK);
    start(&ch, "server");
    ck_assert_int_eq(handoff_send(ch.c, &u, 1, "udp-echo", 9, TS_TIMEOUT_MS), 0);
    ts_close_sock(u);
    ck_assert_int_eq(ts_udp_send_to(me, fam[i], port, "ping", 4), 0);
    ck_assert_int_eq(ts_recv_n(me, pong, 4), 4);
    ck_assert(memcmp(pong, "pong", 4) == 0);
    ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, out, &len, TS_TIMEOUT_MS), 0);
    ck_assert_str_eq(out, "done");
    ts_close_sock(me);
    finish(&ch);
  }
  LEAK_END();
}
END_TEST

START_TEST(test_unix_stream_socket_carries_data_after_handoff) {
  handoff_sock_t sv[2];
  char echo[8];
  LEAK_BEGIN();
  if (ts_unix_pair(sv) != 0) TS_SKIP("no AF_UNIX sockets on this platform (Wine)");
  ck_assert_int_eq(ts_send_all(sv[0], "unix!", 5), 0);
  stream_case(sv);
  ck_assert_int_eq(ts_recv_n(sv[0], echo, 5), 5);
  ck_assert(memcmp(echo, "unix!", 5) == 0);
  ts_close_sock(sv[0]);
  LEAK_END();
}
END_TEST

START_TEST(test_max_socks_and_max_data_arrive_in_one_message) {
  handoff_sock_t s[HANDOFF_MAX_SOCKS];
  child_t ch;
  char out[128], want[128];
  unsigned long sum = 0;
  size_t i, ns = 0, len = sizeof out;
  LEAK_BEGIN();
  for (i = 0; i < HANDOFF_MAX_SOCKS; i++) {
    s[i] = ts_udp_bound(TS_AF_INET, NULL);
    ck_assert(s[i] != HANDOFF_INVALID_SOCK);
  }
  memcpy(big, "count", 6);
  for (i = 6; i < sizeof big; i++) big[i] = (char)(i * 7 + 3);
  for (i = 0; i < sizeof big; i++) sum = sum * 31 + (unsigned char)big[i];
  snprintf(want, sizeof want, "%d %d %lu", HANDOFF_MAX_SOCKS, HANDOFF_MAX_DATA, sum);
  start(&ch, "server");
  ck_assert_int_eq(handoff_send(ch.c, s, HANDOFF_MAX_SOCKS, big, sizeof big, TS_TIMEOUT_MS), 0);
  close_all(s, HANDOFF_MAX_SOCKS);
  ck_assert_int_eq(handoff_recv(ch.c, NULL, &ns, out, &len, TS_TIMEOUT_MS), 0);
  ck_assert_str_eq(out, want);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_messages_arrive_whole_and_in_order_with_uninheritable_sockets) {
  child_t ch;
  int i;
  LEAK_BEGIN();
  start(&ch, "server");
  for (i = 0; i < 60; i++) {
    handoff_sock_t s[3], r[3];
    char msg[300], got[300];
    size_t k, n = (size_t)(i % 4), len = 9 + (size_t)(i * 4), rn = 3, rl = sizeof got;
    memcpy(msg, "echo-msg", 9);
    for (k = 9; k < len; k++) msg[k] = (char)(i + k);
    for (k = 0; k < n; k++) ck_assert((s[k] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
    ck_assert_int_eq(handoff_send(ch.c, s, n, msg, len, TS_TIMEOUT_MS), 0);
    close_all(s, n);
    ck_assert_int_eq(handoff_recv(ch.c, r, &rn, got, &rl, TS_TIMEOUT_MS), 0);
    ck_assert_uint_eq(rn, n);
    ck_assert_uint_eq(rl, len);
    ck_assert(memcmp(got, msg, len) == 0);
    for (k = 0; k < rn; k++) {
      ck_assert(ts_is_socket(r[k]));
      ck_assert(!ts_is_inheritable(r[k]));
    }
    close_all(r, rn);
  }
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_empty_message_is_a_message) {
  child_t ch;
  handoff_sock_t s[2];
  char buf[4];
  size_t ns = 2, len = sizeof buf;
  LEAK_BEGIN();
  start(&ch, "server");
  ck_assert_int_eq(handoff_send(ch.c, NULL, 0, NULL, 0, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(handoff_recv(ch.c, s, &ns, buf, &len, TS_TIMEOUT_MS), 0);
  ck_assert_uint_eq(ns, 0);
  ck_assert_uint_eq(len, 0);
  /* And with no buffers at all. */
  ck_assert_int_eq(handoff_send(ch.c, NULL, 0, NULL, 0, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, NULL, NULL, TS_TIMEOUT_MS), 0);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_recv_too_small_buffer_loses_nothing) {
  child_t ch;
  handoff_sock_t s[3], r[3];
  char msg[100], got[100];
  size_t k, rn, rl;
  long before;
  LEAK_BEGIN();
  memcpy(msg, "echo-msg", 9);
  for (k = 9; k < sizeof msg; k++) msg[k] = (char)k;
  for (k = 0; k < 3; k++) ck_assert((s[k] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  start(&ch, "server");
  ck_assert_int_eq(handoff_send(ch.c, s, 3, msg, sizeof msg, TS_TIMEOUT_MS), 0);
  close_all(s, 3);
  /* Too few socket slots. */
  rn = 1;
  rl = sizeof got;
  ck_assert_int_eq(handoff_recv(ch.c, r, &rn, got, &rl, TS_TIMEOUT_MS), HANDOFF_ETOOBIG);
  ck_assert_uint_eq(rn, 3);
  ck_assert_uint_eq(rl, sizeof msg);
  /* Too little payload room; the held sockets count as ours meanwhile. */
  before = ts_handle_count();
  rn = 3;
  rl = 10;
  ck_assert_int_eq(handoff_recv(ch.c, r, &rn, got, &rl, 0), HANDOFF_ETOOBIG);
  ck_assert_uint_eq(rn, 3);
  ck_assert_uint_eq(rl, sizeof msg);
  ck_assert_int_eq(ts_handle_count(), before);
  /* No buffers at all. */
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, NULL, NULL, 0), HANDOFF_ETOOBIG);
  /* With room: the same message, whole. */
  rn = 3;
  rl = sizeof got;
  ck_assert_int_eq(handoff_recv(ch.c, r, &rn, got, &rl, 0), 0);
  ck_assert_uint_eq(rn, 3);
  ck_assert_uint_eq(rl, sizeof msg);
  ck_assert(memcmp(got, msg, sizeof msg) == 0);
  for (k = 0; k < 3; k++) ck_assert(ts_is_socket(r[k]));
  close_all(r, 3);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_send_over_limits_is_etoobig_and_sends_nothing) {
  handoff_sock_t s[HANDOFF_MAX_SOCKS + 1];
  child_t ch;
  char out[64];
  size_t i;
  LEAK_BEGIN();
  for (i = 0; i < HANDOFF_MAX_SOCKS + 1; i++) ck_assert((s[i] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  start(&ch, "server");
  ck_assert_int_eq(handoff_send(ch.c, s, HANDOFF_MAX_SOCKS + 1, "count", 6, TS_TIMEOUT_MS), HANDOFF_ETOOBIG);
  memcpy(big, "count", 6);
  ck_assert_int_eq(handoff_send(ch.c, NULL, 0, big, (size_t)HANDOFF_MAX_DATA + 1, TS_TIMEOUT_MS), HANDOFF_ETOOBIG);
  /* Nothing went out: the first message the child sees is this one. */
  call(&ch, "count", s, 2, out, sizeof out);
  ck_assert(strncmp(out, "2 6 ", 4) == 0);
  close_all(s + 2, HANDOFF_MAX_SOCKS - 1);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_send_not_a_socket_is_enotsock_and_channel_stays_usable) {
  handoff_sock_t s[3];
  child_t ch;
  char out[64];
  LEAK_BEGIN();
  start(&ch, "server");
  s[0] = ts_udp_bound(TS_AF_INET, NULL);
  s[1] = ts_not_a_socket();
  s[2] = ts_udp_bound(TS_AF_INET, NULL);
  ck_assert_int_eq(handoff_send(ch.c, s, 3, "count", 6, TS_TIMEOUT_MS), HANDOFF_ENOTSOCK);
  ck_assert_int_eq(handoff_send(ch.c, &s[1], 1, "count", 6, TS_TIMEOUT_MS), HANDOFF_ENOTSOCK);
  ts_close_not_a_socket(s[1]);
  s[1] = HANDOFF_INVALID_SOCK;
  ck_assert_int_eq(handoff_send(ch.c, s, 2, "count", 6, TS_TIMEOUT_MS), HANDOFF_ENOTSOCK);
  ck_assert_int_eq(handoff_send(ch.c, &s[1], 1, "count", 6, TS_TIMEOUT_MS), HANDOFF_ENOTSOCK);
  s[1] = s[2];
  call(&ch, "count", s, 2, out, sizeof out);
  ck_assert(strncmp(out, "2 6 ", 4) == 0);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_null_arguments_are_einval) {
  child_t ch;
  handoff_sock_t s = HANDOFF_INVALID_SOCK;
  size_t one = 1, zero = 0;
  char b[4];
  LEAK_BEGIN();
  start(&ch, "server");
  ck_assert_int_eq(handoff_send(NULL, NULL, 0, NULL, 0, 0), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_send(ch.c, NULL, 1, "x", 1, 0), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_send(ch.c, &s, 0, NULL, 1, 0), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_recv(NULL, NULL, NULL, NULL, NULL, 0), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_recv(ch.c, NULL, &one, b, &zero, 0), HANDOFF_EINVAL);
  one = 1;
  ck_assert_int_eq(handoff_recv(ch.c, &s, &zero, NULL, &one, 0), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_listen(NULL, NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_listen("ok", NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_connect("ok", 0, NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_accept(NULL, 0, NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_spawn(NULL, NULL, NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_inherited(NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_wait(NULL, 0, NULL), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_kill(NULL), HANDOFF_EINVAL);
  handoff_close(NULL);
  handoff_listener_close(NULL);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_recv_timeout_returns_etimedout_and_loses_nothing) {
  child_t ch;
  char out[64];
  size_t len = sizeof out;
  LEAK_BEGIN();
  start(&ch, "server");
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, out, &len, 0), HANDOFF_ETIMEDOUT);
  len = sizeof out;
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, out, &len, 50), HANDOFF_ETIMEDOUT);
  /* The channel still works, and the next message is the right one. */
  call(&ch, "count", NULL, 0, out, sizeof out);
  ck_assert(strncmp(out, "0 6 ", 4) == 0);
  finish(&ch);
  LEAK_END();
}
END_TEST

START_TEST(test_peer_exit_gives_eclosed_on_recv_and_send_without_signal) {
  child_t ch;
  handoff_sock_t u;
  char b[8];
  size_t len = sizeof b;
  LEAK_BEGIN();
  start(&ch, "exit-now");
  ck_assert_int_eq(ts_reap(ch.p), 0);
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, b, &len, TS_TIMEOUT_MS), HANDOFF_ECLOSED);
  u = ts_udp_bound(TS_AF_INET, NULL);
  ck_assert_int_eq(handoff_send(ch.c, &u, 1, "x", 1, TS_TIMEOUT_MS), HANDOFF_ECLOSED);
  ck_assert_int_eq(handoff_send(ch.c, NULL, 0, "x", 1, 0), HANDOFF_ECLOSED);
  ts_close_sock(u);
  handoff_close(ch.c);
  /* What a peer sent before it left stays readable, even after a send
   * has seen it gone. */
  start(&ch, "inherit-twice"); /* sends "ok", exits */
  ck_assert_int_eq(ts_reap(ch.p), 0);
  ck_assert_int_eq(handoff_send(ch.c, NULL, 0, "x", 1, 0), HANDOFF_ECLOSED);
  len = sizeof b;
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, b, &len, TS_TIMEOUT_MS), 0);
  ck_assert_str_eq(b, "ok");
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, b, &len, TS_TIMEOUT_MS), HANDOFF_ECLOSED);
  handoff_close(ch.c);
  LEAK_END();
}
END_TEST

START_TEST(test_peer_killed_gives_eclosed) {
  child_t ch;
  char b[8];
  size_t len = sizeof b;
  int code;
  LEAK_BEGIN();
  start(&ch, "server");
  ck_assert_int_eq(handoff_kill(ch.p), 0);
  ck_assert_int_eq(handoff_wait(ch.p, TS_TIMEOUT_MS, &code), 0);
  ck_assert_int_ne(code, 0);
  ck_assert_int_eq(handoff_recv(ch.c, NULL, NULL, b, &len, TS_TIMEOUT_MS), HANDOFF_ECLOSED);
  ck_assert_int_eq(handoff_send(ch.c, NULL, 0, "x", 1, TS_TIMEOUT_MS), HANDOFF_ECLOSED);
  handoff_close(ch.c);
  LEAK_END();
}
END_TEST

START_TEST(test_close_with_undelivered_sockets_leaks_nothing) {
  child_t ch;
  handoff_sock_t r[4];
  size_t rn = 4, rl = 1;
  char b[1];
  LEAK_BEGIN();
  start(&ch, "flood");
  /* Take one message so the channel has both delivered and queued ones,
   * and hold one more as pending (ETOOBIG). */
  ck_assert_int_eq(handoff_recv(ch.c, r, &rn, b, &rl, TS_TIMEOUT_MS), 0);
  ck_assert_uint_eq(rn, 4);
  close_all(r, 4);
  rn = 0;
  ck_assert_int_eq(handoff_recv(ch.c, NULL, &rn, NULL, NULL, TS_TIMEOUT_MS), HANDOFF_ETOOBIG);
  ts_sleep_ms(200); /* let the rest arrive */
  handoff_close(ch.c); /* with queued and held sockets in it */
  ck_assert_int_eq(ts_reap(ch.p), 0);
  LEAK_END();
}
END_TEST

Suite *transfer_suite(void) {
  Suite *s = suite_create("transfer");
  TCase *t = tcase_create("transfer");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, test_listening_tcp_ipv4_served_by_receiver_after_sender_closes);
  tcase_add_test(t, test_listening_tcp_ipv6_served_by_receiver_after_sender_closes);
  tcase_add_test(t, test_connected_tcp_ipv4_and_ipv6_carry_data_after_handoff);
  tcase_add_test(t, test_udp_ipv4_and_ipv6_receive_after_handoff);
  tcase_add_test(t, test_unix_stream_socket_carries_data_after_handoff);
  tcase_add_test(t, test_max_socks_and_max_data_arrive_in_one_message);
  tcase_add_test(t, test_messages_arrive_whole_and_in_order_with_uninheritable_sockets);
  tcase_add_test(t, test_empty_message_is_a_message);
  tcase_add_test(t, test_recv_too_small_buffer_loses_nothing);
  tcase_add_test(t, test_send_over_limits_is_etoobig_and_sends_nothing);
  tcase_add_test(t, test_send_not_a_socket_is_enotsock_and_channel_stays_usable);
  tcase_add_test(t, test_null_arguments_are_einval);
  tcase_add_test(t, test_recv_timeout_returns_etimedout_and_loses_nothing);
  tcase_add_test(t, test_peer_exit_gives_eclosed_on_recv_and_send_without_signal);
  tcase_add_test(t, test_peer_killed_gives_eclosed);
  tcase_add_test(t, test_close_with_undelivered_sockets_leaks_nothing);
  suite_add_tcase(s, t);
  return s;
}
