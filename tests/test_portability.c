/* Portability promises: rendezvous paths that do not fit the socket
 * address, missing rendezvous directories, the Windows-only SID, fork, and
 * the SIGPIPE guard for systems without MSG_NOSIGNAL. */
#include <stdio.h>
#include <stdlib.h>

#include "cases.h"
#include "lib/atomic.h"

/* ---- rendezvous path length -------------------------------------------- */

/* dir such that "<dir>/<name>.sock" is exactly len characters: a private
 * directory under /tmp with a padded subdirectory; 0 or -1. */
static int make_dir_for(char *base, char *dir, size_t cap, const char *name,
                        int len) {
  int pad;
  snprintf(base, cap, "/tmp/%s", ts_name("pp"));
  pad = len - (int)strlen(base) - 1 - (int)strlen(name) - 5 - 1;
  if (pad < 1 || (size_t)len >= cap) return -1;
  if (ts_mkdir_private(base) != 0) return -1;
  snprintf(dir, cap, "%s/%0*d", base, pad, 0);
  if (ts_mkdir_private(dir) != 0) {
    ts_rmdir(base);
    return -1;
  }
  return 0;
}

static void remove_dir_for(const char *base, const char *dir) {
  ts_rmdir(dir);
  ts_rmdir(base);
}

START_TEST(test_rendezvous_path_one_byte_too_long_is_einval) {
  char base[512], dir[512];
  const char *name = ts_name("long");
  handoff_listener_t *l = NULL;
  handoff_chan_t *c = NULL;
  ts_raw_t *raw;
  int room = ts_socket_path_room();
  if (room < 0)
    TS_SKIP("Windows: no rendezvous directory; a name is the pipe "
            "\\\\.\\pipe\\handoff-<name> (at most 81 of the 256 characters "
            "a pipe name may have), so no valid name is too long");
  LEAK_BEGIN();
  /* One too long: the path's NUL does not fit in sun_path. */
  ck_assert_int_eq(make_dir_for(base, dir, sizeof base, name, room), 0);
  ck_assert_int_eq(ts_setenv("HANDOFF_DIR", dir), 0);
  ck_assert_int_eq(handoff_listen(name, &l), HANDOFF_EINVAL);
  ck_assert_ptr_eq(l, NULL);
  ck_assert_int_eq(handoff_connect(name, 0, &c), HANDOFF_EINVAL);
  ck_assert_ptr_eq(c, NULL);
  ts_setenv("HANDOFF_DIR", NULL);
  remove_dir_for(base, dir);
  /* The longest that fits works. */
  ck_assert_int_eq(make_dir_for(base, dir, sizeof base, name, room - 1), 0);
  ck_assert_int_eq(ts_setenv("HANDOFF_DIR", dir), 0);
  ck_assert_int_eq(handoff_listen(name, &l), 0);
  raw = ts_raw_connect(name);
  ck_assert_ptr_ne(raw, NULL);
  ts_raw_close(raw);
  handoff_listener_close(l);
  ts_setenv("HANDOFF_DIR", NULL);
  remove_dir_for(base, dir);
  LEAK_END();
}
END_TEST

/* ---- missing directories (issue 9 item 5) -------------------------------- */

START_TEST(test_missing_rendezvous_directory_is_enoent_and_leaks_nothing) {
  char missing[128], *tmpdir_saved = NULL;
  const char *tmpdir = getenv("TMPDIR");
  handoff_listener_t *l = NULL;
  handoff_chan_t *c = NULL;
  if (ts_socket_path_room() < 0)
    TS_SKIP("Windows: names are pipe names; HANDOFF_DIR and TMPDIR are "
            "not used");
  if (tmpdir != NULL) tmpdir_saved = strdup(tmpdir);
  snprintf(missing, sizeof missing, "/tmp/%s/none", ts_name("nodir"));
  LEAK_BEGIN();
  ck_assert_int_eq(ts_setenv("HANDOFF_DIR", missing), 0);
  ck_assert_int_eq(handoff_listen(ts_name("x"), &l), HANDOFF_ENOENT);
  ck_assert_int_ne(handoff_last_oserror(), 0);
  ck_assert_int_eq(handoff_connect(ts_name("x"), 0, &c), HANDOFF_ENOENT);
  ck_assert_int_ne(handoff_last_oserror(), 0);
  ck_assert_int_eq(ts_setenv("HANDOFF_DIR", NULL), 0);
  /* TMPDIR names the parent of the per-user directory: it is not created. */
  ck_assert_int_eq(ts_setenv("TMPDIR", missing), 0);
  ck_assert_int_eq(handoff_listen(ts_name("x"), &l), HANDOFF_ENOENT);
  ck_assert_int_eq(handoff_connect(ts_name("x"), 0, &c), HANDOFF_ENOENT);
  ck_assert_ptr_eq(l, NULL);
  ck_assert_ptr_eq(c, NULL);
  ts_setenv("TMPDIR", tmpdir_saved);
  free(tmpdir_saved);
  LEAK_END();
}
END_TEST

/* ---- the Windows SID (issue 9 item 5) ------------------------------------ */

/* "" and 16 sub-authorities (one over SID_MAX_SUB_AUTHORITIES; Wine's
 * ConvertStringSidToSidA takes it) are refused by win32/listen.c itself. */
START_TEST(test_malformed_sid_is_einval_on_windows_and_ignored_on_posix) {
  static const char *bad[] = {
      "S-1", "S-1-5-21-x", "not a sid", "S-1-5-x-1", "1-5-21", "",
      "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"};
  handoff_access_t a = HANDOFF_ACCESS_INIT;
  handoff_listener_t *l = NULL;
  size_t i;
  LEAK_BEGIN();
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    a.sid = bad[i];
    if (ts_socket_path_room() < 0) { /* Windows */
      ck_assert_int_eq(handoff_listen_ex(ts_name("sid"), &a, &l),
                       HANDOFF_EINVAL);
      ck_assert_ptr_eq(l, NULL);
    } else { /* POSIX: the field means nothing and widens nothing */
      ck_assert_int_eq(handoff_listen_ex(ts_name("sid"), &a, &l), 0);
      handoff_listener_close(l);
      l = NULL;
    }
  }
  LEAK_END();
}
END_TEST

/* ---- fork (issue 9 item 4) ----------------------------------------------- */

static void close_listener(void *l) { handoff_listener_close(l); }

START_TEST(test_listener_closed_in_forked_child_keeps_parents_name) {
  handoff_listener_t *l, *l2 = NULL;
  handoff_chan_t *c = NULL;
  ts_raw_t *raw;
  LEAK_BEGIN();
  ck_assert_int_eq(handoff_listen(ts_name("fork"), &l), 0);
  if (ts_fork_call(close_listener, l) == -1) {
    handoff_listener_close(l);
    TS_SKIP("Windows has no fork: a listener never has a copy in another "
            "process");
  }
  /* Still reachable, still served by us, still ours alone. */
  raw = ts_raw_connect(ts_name("fork"));
  ck_assert_ptr_ne(raw, NULL);
  ck_assert_int_eq(handoff_accept(l, TS_TIMEOUT_MS, &c), 0);
  handoff_close(c);
  ts_raw_close(raw);
  ck_assert_int_eq(handoff_listen(ts_name("fork"), &l2), HANDOFF_EADDRINUSE);
  ck_assert_ptr_eq(l2, NULL);
  /* Our own close still removes it. */
  handoff_listener_close(l);
  c = NULL;
  ck_assert_int_eq(handoff_connect(ts_name("fork"), 0, &c), HANDOFF_ENOENT);
  ck_assert_ptr_eq(c, NULL);
  LEAK_END();
}
END_TEST

/* ---- SIGPIPE guard ------------------------------------------------------- */

START_TEST(test_sigpipe_guard_takes_the_sends_signal_and_keeps_the_callers) {
  int pending = -1;
  LEAK_BEGIN();
  switch (ts_sigpipe_guard_send(0, &pending)) {
    case -1:
      TS_SKIP("Windows has no signals: a send to a closed peer fails "
              "with an error only");
    case 1:
      break;
    default:
      ck_abort_msg("the guarded send did not fail with EPIPE, or left "
                   "SIGPIPE blocked");
  }
  ck_assert_int_eq(pending, 0); /* the send's SIGPIPE was taken */
  ck_assert_int_eq(ts_sigpipe_guard_send(1, &pending), 1);
  ck_assert_int_eq(pending, 1); /* the caller's stayed pending */
  LEAK_END();
}
END_TEST

/* ---- lib/atomic.h, whichever implementation configure chose ------------- */

START_TEST(test_atomic_int_keeps_what_was_stored) {
  static handoff__atomic_int v; /* zero, as a channel's field starts */
  ck_assert_int_eq(HANDOFF__LOAD(v), 0);
  HANDOFF__STORE(v, HANDOFF_ECLOSED);
  ck_assert_int_eq(HANDOFF__LOAD(v), HANDOFF_ECLOSED);
  HANDOFF__STORE(v, HANDOFF_EPROTO);
  ck_assert_int_eq(HANDOFF__LOAD(v), HANDOFF_EPROTO);
}
END_TEST

Suite *portability_suite(void) {
  Suite *s = suite_create("portability");
  TCase *t = tcase_create("portability");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, test_rendezvous_path_one_byte_too_long_is_einval);
  tcase_add_test(t, test_missing_rendezvous_directory_is_enoent_and_leaks_nothing);
  tcase_add_test(t, test_malformed_sid_is_einval_on_windows_and_ignored_on_posix);
  tcase_add_test(t, test_listener_closed_in_forked_child_keeps_parents_name);
  tcase_add_test(t, test_sigpipe_guard_takes_the_sends_signal_and_keeps_the_callers);
  tcase_add_test(t, test_atomic_int_keeps_what_was_stored);
  suite_add_tcase(s, t);
  return s;
}
