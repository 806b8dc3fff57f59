/* Named rendezvous: listen, connect, accept, and what names mean. */
#include <stdio.h>
#include <stdlib.h>

#include "cases.h"

/* argv: name id.  Connect by name and hand over a fresh TCP listener with
 * "client <id> <port>"; then wait for the other side to close. */
int helper_client(int argc, char **argv) {
  handoff_chan_t *c;
  handoff_sock_t l;
  char msg[64];
  size_t len = sizeof msg;
  int port;
  H_CHECK(argc == 3);
  H_CHECK(handoff_connect(argv[1], TS_TIMEOUT_MS, &c) == 0);
  l = ts_tcp_listener(TS_AF_INET, &port);
  H_CHECK(l != HANDOFF_INVALID_SOCK);
  snprintf(msg, sizeof msg, "client %s %d", argv[2], port);
  H_CHECK(handoff_send(c, &l, 1, msg, strlen(msg) + 1, TS_TIMEOUT_MS) == 0);
  ts_close_sock(l);
  H_CHECK(handoff_recv(c, NULL, NULL, msg, &len, TS_TIMEOUT_MS) == HANDOFF_ECLOSED);
  handoff_close(c);
  return 0;
}

/* argv: name.  The name is held by the parent: listening must fail. */
int helper_listen_expect_inuse(int argc, char **argv) {
  handoff_listener_t *l = NULL;
  H_CHECK(argc == 2);
  H_CHECK(handoff_listen(argv[1], &l) == HANDOFF_EADDRINUSE);
  H_CHECK(l == NULL);
  return 0;
}

/* argv: name.  Listen, say "ready", and crash without closing anything. */
int helper_listen_crash(int argc, char **argv) {
  handoff_chan_t *c;
  handoff_listener_t *l;
  H_CHECK(argc == 2);
  H_CHECK(handoff_inherited(&c) == 0);
  H_CHECK(handoff_listen(argv[1], &l) == 0);
  H_CHECK(handoff_send(c, NULL, 0, "ready", 6, TS_TIMEOUT_MS) == 0);
  ts_crash();
  return 1;
}

/* argv: name ms.  For ms milliseconds, connect to name raw and hang up at
 * once, again and again; say "go" after the first connection. */
int helper_hangup_flood(int argc, char **argv) {
  handoff_chan_t *c;
  long end;
  int said = 0;
  ts_raw_t *r;
  H_CHECK(argc == 3);
  H_CHECK(handoff_inherited(&c) == 0);
  end = ts_now_ms() + atol(argv[2]);
  while (ts_now_ms() < end) {
    r = ts_raw_connect(argv[1]);
    if (r == NULL) continue; /* every instance taken (Windows): again */
    ts_raw_close(r);
    if (!said)
      H_CHECK(handoff_send(c, NULL, 0, "go", 3, TS_TIMEOUT_MS) == 0);
    said = 1;
  }
  handoff_close(c);
  return 0;
}

/* Accept one client helper and check the listener it hands over. */
static void serve_client(handoff_listener_t *l, unsigned *seen) {
  handoff_chan_t *c;
  handoff_sock_t s, conn, srv;
  char msg[64], got[8];
  size_t ns = 1, len = sizeof msg;
  unsigned id;
  int port;
  ck_assert_int_eq(handoff_accept(l, TS_TIMEOUT_MS, &c), 0);
  ck_assert_int_eq(handoff_recv(c, &s, &ns, msg, &len, TS_TIMEOUT_MS), 0);
  ck_assert_uint_eq(ns, 1);
  ck_assert_int_eq(sscanf(msg, "client %u %d", &id, &port), 2);
  ck_assert_uint_lt(id, 32);
  *seen |= 1u << id;
  conn = ts_tcp_connect(TS_AF_INET, port);
  ck_assert(conn != HANDOFF_INVALID_SOCK);
  srv = ts_tcp_accept(s);
  ck_assert(srv != HANDOFF_INVALID_SOCK);
  ck_assert_int_eq(ts_send_all(conn, "hi", 2), 0);
  ck_assert_int_eq(ts_recv_n(srv, got, 2), 2);
  ts_close_sock(conn);
  ts_close_sock(srv);
  ts_close_sock(s);
  handoff_close(c);
}

static void spawn_client(const char *name, const char *id, handoff_chan_t **c,
                         handoff_proc_t **p) {
  ck_assert_int_eq(ts_spawn("client", name, id, NULL, c, p), 0);
}

static void reap_client(handoff_chan_t *c, handoff_proc_t *p) {
  handoff_close(c);
  ck_assert_int_eq(ts_reap(p), 0);
}

START_TEST(test_connect_by_name_moves_a_listening_socket) {
  handoff_listener_t *l;
  handoff_chan_t *c;
  handoff_proc_t *p;
  unsigned seen = 0;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("one"), &l), 0);
  spawn_client(ts_name("one"), "1", &c, &p);
  serve_client(l, &seen);
  ck_assert_uint_eq(seen, 2);
  reap_client(c, p);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

START_TEST(test_listener_serves_clients_at_once_and_one_after_another) {
  handoff_listener_t *l;
  handoff_chan_t *c[5];
  handoff_proc_t *p[5];
  char id[16];
  unsigned seen = 0;
  int i;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("many"), &l), 0);
  for (i = 0; i < 3; i++) { /* three connect at the same time */
    snprintf(id, sizeof id, "%d", i);
    spawn_client(ts_name("many"), id, &c[i], &p[i]);
  }
  for (i = 0; i < 3; i++) serve_client(l, &seen);
  for (i = 3; i < 5; i++) { /* then one after another */
    snprintf(id, sizeof id, "%d", i);
    spawn_client(ts_name("many"), id, &c[i], &p[i]);
    serve_client(l, &seen);
  }
  ck_assert_uint_eq(seen, 0x1f);
  for (i = 0; i < 5; i++) reap_client(c[i], p[i]);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

START_TEST(test_second_listen_on_live_name_is_eaddrinuse_in_any_process) {
  handoff_listener_t *l, *l2 = NULL;
  handoff_chan_t *c;
  handoff_proc_t *p;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("busy"), &l), 0);
  ck_assert_int_eq(handoff_listen(ts_name("busy"), &l2), HANDOFF_EADDRINUSE);
  ck_assert_ptr_eq(l2, NULL);
  ck_assert_int_eq(ts_spawn("listen-expect-inuse", ts_name("busy"), NULL, NULL, &c, &p), 0);
  reap_client(c, p);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

START_TEST(test_name_of_crashed_listener_is_reclaimed) {
  handoff_listener_t *l;
  handoff_chan_t *c;
  handoff_proc_t *p;
  char msg[8];
  size_t len = sizeof msg;
  unsigned seen = 0;
  LEAK_BEGIN();
  ck_assert_int_eq(ts_spawn("listen-crash", ts_name("crash"), NULL, NULL, &c, &p), 0);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, msg, &len, TS_TIMEOUT_MS), 0);
  ck_assert_str_eq(msg, "ready");
  ck_assert_int_ne(ts_reap(p), 0); /* it crashed */
  handoff_close(c);
  ck_assert_int_eq(handoff_listen(ts_name("crash"), &l), 0);
  spawn_client(ts_name("crash"), "3", &c, &p);
  serve_client(l, &seen);
  reap_client(c, p);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

START_TEST(test_connect_without_listener_is_enoent) {
  handoff_chan_t *c = NULL;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_connect(ts_name("nobody"), 0, &c), HANDOFF_ENOENT);
  ck_assert_int_eq(handoff_connect(ts_name("nobody"), 100, &c), HANDOFF_ENOENT);
  ck_assert_ptr_eq(c, NULL);
  LEAK_END();
}
END_TEST

START_TEST(test_invalid_names_are_einval) {
  static const char *bad[] = {"", ".hidden", "a/b", "a\\b", "sp ace", "colon:",
                              "\xc3\xbc", "x*",
                              "0123456789012345678901234567890123456789012345678901234567890123456789"};
  handoff_listener_t *l = NULL;
  handoff_chan_t *c = NULL;
  size_t i;
  LEAK_BEGIN();
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(handoff_listen(bad[i], &l), HANDOFF_EINVAL);
    ck_assert_int_eq(handoff_connect(bad[i], 0, &c), HANDOFF_EINVAL);
  }
  ck_assert_int_eq(handoff_listen(NULL, &l), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_connect(NULL, 0, &c), HANDOFF_EINVAL);
  /* The longest allowed name, with every allowed character, is fine. */
  ck_assert_int_eq(handoff_listen("Az09._-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &l), 0);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

START_TEST(test_listener_close_releases_the_name) {
  handoff_listener_t *l;
  handoff_chan_t *c = NULL;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("again"), &l), 0);
  handoff_listener_close(l);
  ck_assert_int_eq(handoff_connect(ts_name("again"), 0, &c), HANDOFF_ENOENT);
  ck_assert_int_eq(handoff_listen(ts_name("again"), &l), 0);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

/* Peers that connect and vanish at once keep the OS saying "a connection
 * is ready"; accept must still return by its deadline (each of them is
 * dropped, never returned). */
START_TEST(test_accept_returns_by_its_deadline_under_a_flood_of_vanishing_peers) {
  handoff_listener_t *l;
  handoff_chan_t *hc, *c;
  handoff_proc_t *p;
  char go[4];
  size_t len = sizeof go;
  long t0, took, slowest = 0;
  int i, r, timeouts = 0;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("flood"), &l), 0);
  ck_assert_int_eq(ts_spawn("hangup-flood", ts_name("flood"), "1500", NULL,
                            &hc, &p), 0);
  ck_assert_int_eq(handoff_recv(hc, NULL, NULL, go, &len, TS_TIMEOUT_MS), 0);
  ts_sleep_ms(200); /* let vanished peers queue up */
  for (i = 0; i < 5; i++) {
    t0 = ts_now_ms();
    r = handoff_accept(l, 100, &c);
    took = ts_now_ms() - t0;
    if (took > slowest) slowest = took;
    /* A peer still there when our HELLO went out is a real connection. */
    if (r == 0) handoff_close(c);
    else ck_assert_int_eq(r, HANDOFF_ETIMEDOUT);
    timeouts += r == HANDOFF_ETIMEDOUT;
  }
  ck_assert_msg(slowest < 200, "accept(100 ms) took %ld ms", slowest);
  ck_assert_int_gt(timeouts, 0);
  /* Closed first: a flooder blocked in connect on a full backlog is let go. */
  handoff_listener_close(l);
  handoff_close(hc);
  ck_assert_int_eq(ts_reap(p), 0);
  LEAK_END();
}
END_TEST

START_TEST(test_accept_times_out_and_keeps_listening) {
  handoff_listener_t *l;
  handoff_chan_t *c = NULL, *cc;
  handoff_proc_t *p;
  unsigned seen = 0;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("wait"), &l), 0);
  ck_assert_int_eq(handoff_accept(l, 0, &c), HANDOFF_ETIMEDOUT);
  ck_assert_int_eq(handoff_accept(l, 50, &c), HANDOFF_ETIMEDOUT);
  ck_assert_ptr_eq(c, NULL);
  spawn_client(ts_name("wait"), "4", &cc, &p);
  serve_client(l, &seen);
  reap_client(cc, p);
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

Suite *rendezvous_suite(void) {
  Suite *s = suite_create("rendezvous");
  TCase *t = tcase_create("rendezvous");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, test_connect_by_name_moves_a_listening_socket);
  tcase_add_test(t, test_listener_serves_clients_at_once_and_one_after_another);
  tcase_add_test(t, test_second_listen_on_live_name_is_eaddrinuse_in_any_process);
  tcase_add_test(t, test_name_of_crashed_listener_is_reclaimed);
  tcase_add_test(t, test_connect_without_listener_is_enoent);
  tcase_add_test(t, test_invalid_names_are_einval);
  tcase_add_test(t, test_listener_close_releases_the_name);
  tcase_add_test(t, test_accept_times_out_and_keeps_listening);
  tcase_add_test(t, test_accept_returns_by_its_deadline_under_a_flood_of_vanishing_peers);
  suite_add_tcase(s, t);
  return s;
}
