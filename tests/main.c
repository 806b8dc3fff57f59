/* The conformance suite, and the helpers it starts: this binary re-run as
 * `conformance --helper ROLE ARGS...`. */
#include <stdio.h>

#include "cases.h"

static const ts_helper_t helpers[] = {
    {"server", helper_server},
    {"exit-now", helper_exit_now},
    {"flood", helper_flood},
    {"client", helper_client},
    {"listen-expect-inuse", helper_listen_expect_inuse},
    {"listen-crash", helper_listen_crash},
    {"count-handles", helper_count_handles},
    {"inherit-twice", helper_inherit_twice},
    {"exit-code", helper_exit_code},
    {"peer-report", helper_peer_report},
    {"connect-as-nobody", helper_connect_as_nobody},
    {"raw-garbage", helper_raw_garbage},
    {"raw-notsock", helper_raw_notsock},
    {"raw-other-version", helper_raw_other_version},
    {"sink", helper_sink},
    {"source", helper_source},
    {"low-fds", helper_low_fds},
    {"storm-echo", helper_storm_echo},
    {"slow-counter", helper_slow_counter},
    {"raw-refuser", helper_raw_refuser},
    {"raw-rejected", helper_raw_rejected},
    {"raw-answer-socks", helper_raw_answer_socks},
    {"raw-forged", helper_raw_forged},
    {"raw-non-socket", helper_raw_non_socket},
    {"raw-pending-peer", helper_raw_pending_peer},
    {"take-over", helper_take_over},
    {"connect-low-integrity", helper_connect_low_integrity},
    {"hold-still", helper_hold_still},
    {"closed-end", helper_closed_end},
    {"report-count", helper_report_count},
    {"hangup-flood", helper_hangup_flood},
    {"arg-echo", helper_arg_echo},
    {"count-plain", helper_count_plain},
    {"raw-zero-record", helper_raw_zero_record},
    {"refs-flood", helper_refs_flood},
    {"raw-named-notsock", helper_raw_named_notsock},
    {"listen-report", helper_listen_report},
    {"send-mix", helper_send_mix},
    {"raw-midframe-fds", helper_raw_midframe_fds},
    {"bulk-check", helper_bulk_check},
    {NULL, NULL}};

/* Touch every lazily initialised part of the OS and the library once, so
 * that the handle counts of the first case are not disturbed by them. */
static void warm_up(void) {
  handoff_listener_t *l;
  handoff_chan_t *c = NULL;
  handoff_proc_t *p = NULL;
  handoff_sock_t s;
  int port;
  if (ts_spawn("exit-now", NULL, NULL, NULL, &c, &p) == 0) {
    handoff_close(c);
    ts_reap(p);
  }
  handoff_connect("no-such-name-warm-up", 0, &c);
  if (handoff_listen("warm-up", &l) == 0) handoff_listener_close(l);
  s = ts_tcp_listener(TS_AF_INET, &port);
  if (s != HANDOFF_INVALID_SOCK) ts_close_sock(s);
  s = ts_tcp_listener(TS_AF_INET6, &port);
  if (s != HANDOFF_INVALID_SOCK) ts_close_sock(s);
  ts_warm_process();
}

int main(int argc, char **argv) {
  SRunner *sr;
  int failed;

  ts_init(argv[0]);
  if (argc >= 3 && strcmp(argv[1], "--helper") == 0)
    return ts_run_helper(helpers, argc - 2, argv + 2);

  warm_up();
  sr = srunner_create(frame_suite());
  srunner_add_suite(sr, transfer_suite());
  srunner_add_suite(sr, rendezvous_suite());
  srunner_add_suite(sr, spawn_suite());
  srunner_add_suite(sr, hardening_suite());
  srunner_add_suite(sr, eventloop_suite());
  srunner_add_suite(sr, portability_suite());
  srunner_add_suite(sr, chanfaults_suite());
  srunner_add_suite(sr, security_suite());
  srunner_add_suite(sr, forged_suite());
  /* Windows Check has no fork; run the same way everywhere. */
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  /* Skipped cases returned early and Check counted them as passed. */
  printf("Skipped: %d\n", ts_skipped());
  return failed == 0 ? 0 : 1;
}
