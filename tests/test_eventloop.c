/* Event-loop use: waitables, and every call with timeout 0. */
#include <stdio.h>
#include <stdlib.h>

#include "cases.h"

/* Sleep first (so the parent can fill the channel), then count messages
 * "0", "1", ... until "end"; reply with the count, or "gap" on a missing,
 * repeated or reordered one. */
int helper_slow_counter(int argc, char **argv) {
  handoff_chan_t *c;
  char buf[1100], out[32];
  long next = 0;
  int gap = 0;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  ts_sleep_ms(1000);
  for (;;) {
    size_t len = sizeof buf;
    H_CHECK(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS) == 0);
    H_CHECK(len > 0 && buf[len - 1] == '\0');
    if (strcmp(buf, "end") == 0) break;
    if (atol(buf) != next) gap = 1;
    next++;
  }
  snprintf(out, sizeof out, gap ? "gap" : "%ld", next);
  H_CHECK(handoff_send(c, NULL, 0, out, strlen(out) + 1, TS_TIMEOUT_MS) == 0);
  H_CHECK(handoff_recv(c, NULL, NULL, buf, NULL, TS_TIMEOUT_MS) == HANDOFF_ECLOSED);
  handoff_close(c);
  return 0;
}

/* A non-blocking call must come back at once; generous for a shared box. */
#define QUICK_MS 500

START_TEST(test_event_loop_serves_two_channels_and_a_listener_without_blocking) {
  handoff_listener_t *l;
  handoff_chan_t *echo[2], *cli[2], *acc[2] = {NULL, NULL};
  handoff_proc_t *ep[2], *cp[2];
  long next[2] = {0, 0}, start;
  int i, nacc = 0, clients = 0;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("loop"), &l), 0);
  for (i = 0; i < 2; i++) {
    int k;
    ck_assert_int_eq(ts_spawn("storm-echo", NULL, NULL, NULL, &echo[i], &ep[i]), 0);
    for (k = 0; k < 20; k++) {
      char m[16];
      snprintf(m, sizeof m, "%d", k);
      ck_assert_int_eq(handoff_send(echo[i], NULL, 0, m, strlen(m) + 1, 0), 0);
    }
  }
  for (i = 0; i < 2; i++)
    ck_assert_int_eq(ts_spawn("client", ts_name("loop"), i == 0 ? "0" : "1", NULL, &cli[i], &cp[i]), 0);

  start = ts_now_ms();
  while ((next[0] < 20 || next[1] < 20 || clients < 2) && ts_now_ms() - start < TS_TIMEOUT_MS) {
    handoff_waitable_t w[5];
    handoff_chan_t *who[5];
    int n = 0, k;
    ck_assert_int_eq(handoff_listener_waitable(l, &w[n]), 0);
    who[n++] = NULL;
    for (i = 0; i < 2; i++) {
      ck_assert_int_eq(handoff_chan_waitable(echo[i], &w[n]), 0);
      who[n++] = echo[i];
    }
    for (i = 0; i < nacc; i++) {
      ck_assert_int_eq(handoff_chan_waitable(acc[i], &w[n]), 0);
      who[n++] = acc[i];
    }
    k = ts_wait_any(w, n, 1000);
    if (k < 0) continue;
    if (who[k] == NULL) { /* the listener */
      long t0 = ts_now_ms();
      int r = handoff_accept(l, 0, &acc[nacc]);
      ck_assert_int_lt(ts_now_ms() - t0, QUICK_MS);
      if (r == 0) nacc++;
      else ck_assert_int_eq(r, HANDOFF_ETIMEDOUT);
      continue;
    }
    for (;;) { /* drain the channel that woke us */
      handoff_sock_t s;
      char m[64];
      size_t ns = 1, len = sizeof m;
      long t0 = ts_now_ms();
      int r = handoff_recv(who[k], &s, &ns, m, &len, 0);
      ck_assert_int_lt(ts_now_ms() - t0, QUICK_MS);
      if (r == HANDOFF_ETIMEDOUT) break;
      ck_assert_int_eq(r, 0);
      if (who[k] == echo[0] || who[k] == echo[1]) {
        int e = who[k] == echo[0] ? 0 : 1;
        ck_assert_int_eq(atol(m), next[e]);
        next[e]++;
      } else {
        ck_assert_uint_eq(ns, 1);
        ck_assert(strncmp(m, "client ", 7) == 0);
        ts_close_sock(s);
        clients++;
      }
    }
  }
  ck_assert_int_eq(next[0], 20);
  ck_assert_int_eq(next[1], 20);
  ck_assert_int_eq(clients, 2);
  for (i = 0; i < nacc; i++) handoff_close(acc[i]); /* the clients see ECLOSED */
  for (i = 0; i < 2; i++) {
    handoff_close(cli[i]);
    ck_assert_int_eq(ts_reap(cp[i]), 0);
    handoff_close(echo[i]);
    ck_assert_int_eq(ts_reap(ep[i]), 0);
  }
  handoff_listener_close(l);
  LEAK_END();
}
END_TEST

START_TEST(test_nonblocking_send_on_a_full_channel_sends_whole_messages_or_nothing) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  char m[1024], out[32];
  size_t len = sizeof out;
  long sent = 0, full = 0, i;
  LEAK_BEGIN();
  ck_assert_int_eq(ts_spawn("slow-counter", NULL, NULL, NULL, &c, &p), 0);
  memset(m, 'x', sizeof m);
  m[sizeof m - 1] = '\0';
  /* Fill it while the child sleeps: each send is whole or nothing. */
  for (i = 0; i < 100000 && full < 3; i++) {
    long t0 = ts_now_ms();
    int r;
    snprintf(m, 24, "%ld", sent);
    r = handoff_send(c, NULL, 0, m, sizeof m, 0);
    ck_assert_int_lt(ts_now_ms() - t0, QUICK_MS);
    if (r == 0) sent++;
    else {
      ck_assert_int_eq(r, HANDOFF_ETIMEDOUT);
      full++;
    }
  }
  ck_assert_int_ge(full, 1);
  ck_assert_int_eq(handoff_send(c, NULL, 0, "end", 4, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, out, &len, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(atol(out), sent);
  handoff_close(c);
  ck_assert_int_eq(ts_reap(p), 0);
  LEAK_END();
}
END_TEST

/* Fill a channel whose reader sleeps, then wait for room the way an event
 * loop does: the send waitable is not ready while the channel is full, fires
 * once the reader drains it, and the send then goes through. */
START_TEST(test_send_waitable_fires_when_a_full_channel_has_room_again) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  handoff_waitable_t w;
  char m[1024], out[32];
  size_t len = sizeof out;
  long sent = 0, t0;
  int r = 0, tries;
  LEAK_BEGIN();
  ck_assert_int_eq(ts_spawn("slow-counter", NULL, NULL, NULL, &c, &p), 0);
  ck_assert_int_eq(handoff_chan_send_waitable(c, &w), 0);
  ck_assert_int_eq(ts_wait_send_room(w, 0), 1); /* empty: room */
  memset(m, 'x', sizeof m);
  m[sizeof m - 1] = '\0';
  t0 = ts_now_ms();
  while (r == 0 && ts_now_ms() - t0 < 700) {
    snprintf(m, 24, "%ld", sent);
    r = handoff_send(c, NULL, 0, m, sizeof m, 0);
    if (r == 0) sent++;
  }
  ck_assert_int_eq(r, HANDOFF_ETIMEDOUT); /* full while the reader sleeps */
  ck_assert_int_eq(ts_wait_send_room(w, 0), 0);
  /* The reader wakes after a second and drains: room again. */
  for (tries = 0; r != 0 && tries < 50; tries++) {
    ck_assert_int_eq(ts_wait_send_room(w, TS_TIMEOUT_MS), 1);
    snprintf(m, 24, "%ld", sent);
    r = handoff_send(c, NULL, 0, m, sizeof m, 0);
    if (r == 0) sent++;
    else ck_assert_int_eq(r, HANDOFF_ETIMEDOUT);
  }
  ck_assert_int_eq(r, 0);
  ck_assert_int_eq(handoff_send(c, NULL, 0, "end", 4, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, out, &len, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(atol(out), sent); /* every send that said 0 arrived */
  ck_assert_int_eq(handoff_chan_send_waitable(NULL, &w), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_chan_send_waitable(c, NULL), HANDOFF_EINVAL);
  handoff_close(c);
  ck_assert_int_eq(ts_reap(p), 0);
  LEAK_END();
}
END_TEST

START_TEST(test_waitables_need_an_object) {
  handoff_waitable_t w;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_chan_waitable(NULL, &w), HANDOFF_EINVAL);
  ck_assert_int_eq(handoff_listener_waitable(NULL, &w), HANDOFF_EINVAL);
  LEAK_END();
}
END_TEST

Suite *eventloop_suite(void) {
  Suite *s = suite_create("eventloop");
  TCase *t = tcase_create("eventloop");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, test_event_loop_serves_two_channels_and_a_listener_without_blocking);
  tcase_add_test(t, test_nonblocking_send_on_a_full_channel_sends_whole_messages_or_nothing);
  tcase_add_test(t, test_send_waitable_fires_when_a_full_channel_has_room_again);
  tcase_add_test(t, test_waitables_need_an_object);
  suite_add_tcase(s, t);
  return s;
}
