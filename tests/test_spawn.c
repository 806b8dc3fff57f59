/* handoff_spawn, handoff_inherited, handoff_wait, handoff_kill. */
#include <stdio.h>
#include <stdlib.h>

#include "cases.h"

/* Report how many handles the child starts with, and whether stdio is
 * there; then wait for the parent to close. */
int helper_count_handles(int argc, char **argv) {
  handoff_chan_t *c;
  char msg[32];
  size_t len = sizeof msg;
  long n = ts_handle_count();
  (void)argc;
  (void)argv;
  H_CHECK(ts_has_stdio());
  H_CHECK(handoff_inherited(&c) == 0);
  snprintf(msg, sizeof msg, "%ld", n);
  H_CHECK(handoff_send(c, NULL, 0, msg, strlen(msg) + 1, TS_TIMEOUT_MS) == 0);
  H_CHECK(handoff_recv(c, NULL, NULL, msg, &len, TS_TIMEOUT_MS) == HANDOFF_ECLOSED);
  handoff_close(c);
  return 0;
}

/* The channel can be taken once. */
int helper_inherit_twice(int argc, char **argv) {
  handoff_chan_t *c, *c2 = NULL;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  H_CHECK(handoff_inherited(&c2) == HANDOFF_ENOENT);
  H_CHECK(c2 == NULL);
  H_CHECK(handoff_send(c, NULL, 0, "ok", 3, TS_TIMEOUT_MS) == 0);
  handoff_close(c);
  return 0;
}

/* Wait for a number, exit with it. */
int helper_exit_code(int argc, char **argv) {
  handoff_chan_t *c;
  char msg[16];
  size_t len = sizeof msg;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  H_CHECK(handoff_recv(c, NULL, NULL, msg, &len, TS_TIMEOUT_MS) == 0);
  handoff_close(c);
  return atoi(msg);
}

static long child_start_handles(void) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  char msg[32];
  size_t len = sizeof msg;
  ck_assert_int_eq(ts_spawn("count-handles", NULL, NULL, NULL, &c, &p), 0);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, msg, &len, TS_TIMEOUT_MS), 0);
  handoff_close(c);
  ck_assert_int_eq(ts_reap(p), 0);
  return atol(msg);
}

START_TEST(test_child_inherits_the_channel_and_nothing_else_of_ours) {
  handoff_listener_t *l[3];
  handoff_chan_t *b[3], *cc[3], *sc[2];
  handoff_proc_t *cp[3], *sp[2];
  handoff_sock_t got[3], mine[2];
  long plain, busy;
  int i;
  LEAK_BEGIN();
  plain = child_start_handles();
  /* Now hold listeners, accepted channels with a socket received on each,
   * and other children's channels: none of it may reach the next child. */
  for (i = 0; i < 3; i++) {
    char tag[16], msg[64];
    size_t n = 1, len = sizeof msg;
    snprintf(tag, sizeof tag, "inh%d", i);
    ck_assert_int_eq(handoff_listen(ts_name(tag), &l[i]), 0);
    ck_assert_int_eq(ts_spawn("client", ts_name(tag), "1", NULL, &cc[i], &cp[i]), 0);
    ck_assert_int_eq(handoff_accept(l[i], TS_TIMEOUT_MS, &b[i]), 0);
    ck_assert_int_eq(handoff_recv(b[i], &got[i], &n, msg, &len, TS_TIMEOUT_MS), 0);
  }
  for (i = 0; i < 2; i++)
    ck_assert_int_eq(ts_spawn("server", NULL, NULL, NULL, &sc[i], &sp[i]), 0);
  /* And sockets of the caller's own, inheritable by default. */
  mine[0] = ts_udp_bound(TS_AF_INET, NULL);
  mine[1] = ts_tcp_listener(TS_AF_INET, NULL);
  ck_assert(ts_is_inheritable(mine[0]) && ts_is_inheritable(mine[1]));
  busy = child_start_handles();
  ts_close_sock(mine[0]);
  ts_close_sock(mine[1]);
  ck_assert_int_eq(busy, plain);
  for (i = 0; i < 2; i++) {
    handoff_close(sc[i]);
    ck_assert_int_eq(ts_reap(sp[i]), 0);
  }
  for (i = 0; i < 3; i++) {
    ts_close_sock(got[i]);
    handoff_close(b[i]);
    handoff_close(cc[i]);
    ck_assert_int_eq(ts_reap(cp[i]), 0);
    handoff_listener_close(l[i]);
  }
  LEAK_END();
}
END_TEST

START_TEST(test_inherited_works_once_and_only_in_a_spawned_child) {
  handoff_chan_t *c, *mine = NULL;
  handoff_proc_t *p;
  char msg[8];
  size_t len = sizeof msg;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_inherited(&mine), HANDOFF_ENOENT);
  ck_assert_ptr_eq(mine, NULL);
  ck_assert_int_eq(ts_spawn("inherit-twice", NULL, NULL, NULL, &c, &p), 0);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, msg, &len, TS_TIMEOUT_MS), 0);
  ck_assert_str_eq(msg, "ok");
  handoff_close(c);
  ck_assert_int_eq(ts_reap(p), 0);
  LEAK_END();
}
END_TEST

START_TEST(test_spawn_of_missing_program_is_enoent_and_leaks_nothing) {
  const char *argv1[] = {"/no/such/dir/handoff-missing-program", NULL};
  const char *argv2[] = {"handoff-missing-program-in-path", NULL};
  const char *empty[] = {NULL};
  handoff_chan_t *c = NULL;
  handoff_proc_t *p = NULL;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_spawn(argv1, &c, &p), HANDOFF_ENOENT);
  ck_assert_int_eq(handoff_spawn(argv2, &c, &p), HANDOFF_ENOENT);
  ck_assert_int_eq(handoff_spawn(empty, &c, &p), HANDOFF_EINVAL);
  ck_assert_ptr_eq(c, NULL);
  ck_assert_ptr_eq(p, NULL);
  LEAK_END();
}
END_TEST

START_TEST(test_wait_times_out_then_returns_the_exit_code) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  int code = -1;
  LEAK_BEGIN();
  ck_assert_int_eq(ts_spawn("exit-code", NULL, NULL, NULL, &c, &p), 0);
  ck_assert_int_gt(handoff_proc_pid(p), 0);
  ck_assert_int_eq(handoff_wait(p, 0, &code), HANDOFF_ETIMEDOUT);
  ck_assert_int_eq(handoff_wait(p, 30, &code), HANDOFF_ETIMEDOUT);
  ck_assert_int_eq(handoff_send(c, NULL, 0, "7", 2, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(handoff_wait(p, TS_TIMEOUT_MS, &code), 0);
  ck_assert_int_eq(code, 7);
  handoff_close(c);
  LEAK_END();
}
END_TEST

START_TEST(test_kill_ends_a_child_that_wait_then_reaps) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  int code = 0;
  LEAK_BEGIN();
  ck_assert_int_eq(ts_spawn("exit-code", NULL, NULL, NULL, &c, &p), 0);
  ck_assert_int_eq(handoff_kill(p), 0);
  ck_assert_int_eq(handoff_wait(p, TS_TIMEOUT_MS, &code), 0);
  ck_assert_int_ne(code, 0);
  handoff_close(c);
  LEAK_END();
}
END_TEST

Suite *spawn_suite(void) {
  Suite *s = suite_create("spawn");
  TCase *t = tcase_create("spawn");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, test_child_inherits_the_channel_and_nothing_else_of_ours);
  tcase_add_test(t, test_inherited_works_once_and_only_in_a_spawned_child);
  tcase_add_test(t, test_spawn_of_missing_program_is_enoent_and_leaks_nothing);
  tcase_add_test(t, test_wait_times_out_then_returns_the_exit_code);
  tcase_add_test(t, test_kill_ends_a_child_that_wait_then_reaps);
  suite_add_tcase(s, t);
  return s;
}
