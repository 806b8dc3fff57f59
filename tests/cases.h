/* Shared by the test files: suites, helpers and leak checks. */
#ifndef HANDOFF_TEST_CASES_H
#define HANDOFF_TEST_CASES_H

#include <check.h>
#include <string.h>

#include "support.h"

Suite *frame_suite(void);
Suite *transfer_suite(void);
Suite *rendezvous_suite(void);
Suite *spawn_suite(void);
Suite *hardening_suite(void);
Suite *eventloop_suite(void);
Suite *portability_suite(void);
Suite *chanfaults_suite(void);
Suite *security_suite(void);
Suite *forged_suite(void);

int helper_server(int argc, char **argv);
int helper_exit_now(int argc, char **argv);
int helper_flood(int argc, char **argv);
int helper_client(int argc, char **argv);
int helper_listen_expect_inuse(int argc, char **argv);
int helper_listen_crash(int argc, char **argv);
int helper_count_handles(int argc, char **argv);
int helper_inherit_twice(int argc, char **argv);
int helper_exit_code(int argc, char **argv);
int helper_peer_report(int argc, char **argv);
int helper_connect_as_nobody(int argc, char **argv);
int helper_raw_garbage(int argc, char **argv);
int helper_raw_notsock(int argc, char **argv);
int helper_raw_other_version(int argc, char **argv);
int helper_sink(int argc, char **argv);
int helper_source(int argc, char **argv);
int helper_low_fds(int argc, char **argv);
int helper_storm_echo(int argc, char **argv);
int helper_slow_counter(int argc, char **argv);
int helper_raw_refuser(int argc, char **argv);
int helper_take_over(int argc, char **argv);
int helper_connect_low_integrity(int argc, char **argv);
int helper_hold_still(int argc, char **argv);
int helper_closed_end(int argc, char **argv);
int helper_report_count(int argc, char **argv);
int helper_hangup_flood(int argc, char **argv);
int helper_arg_echo(int argc, char **argv);
int helper_count_plain(int argc, char **argv);
int helper_raw_zero_record(int argc, char **argv);
int helper_refs_flood(int argc, char **argv);
int helper_raw_named_notsock(int argc, char **argv);
int helper_listen_report(int argc, char **argv);
int helper_send_mix(int argc, char **argv);
int helper_raw_midframe_fds(int argc, char **argv);
int helper_bulk_check(int argc, char **argv);
int helper_raw_rejected(int argc, char **argv);
int helper_raw_answer_socks(int argc, char **argv);
int helper_raw_forged(int argc, char **argv);
int helper_raw_non_socket(int argc, char **argv);
int helper_raw_pending_peer(int argc, char **argv);

/* Every case checks that it leaves the process with the handles it found. */
#define LEAK_BEGIN() long leak_base_ = ts_handle_count()
#define LEAK_END() ck_assert_int_eq(ts_handle_count_settled(leak_base_), leak_base_)

#endif
