/* Channel faults at the transport: zero-length records from a raw peer,
 * more descriptors in flight than the kernel allows, and which peers'
 * descriptors are checked to be sockets. */
#include <stdio.h>
#include <stdlib.h>

#include "cases.h"
#include "internal.h"

/* ---- helpers ----------------------------------------------------------- */

/* Read until the other end closes: 0 then, -1 on a timeout or error. */
static int wait_close(ts_raw_t *r) {
  unsigned char b[64];
  int n;
  do
    n = ts_raw_read(r, b, sizeof b, TS_TIMEOUT_MS);
  while (n > 0);
  return n;
}

/* argv: accept|connect name with-fd.  Reach the parent raw (connect to its
 * listener, or listen raw and say "ready" on the inherited channel), speak
 * HELLO, write one zero-length record (with a descriptor if with-fd is 1)
 * and stay connected until the parent closes. */
int helper_raw_zero_record(int argc, char **argv) {
  unsigned char f[HANDOFF__HELLO_FRAME];
  handoff_sock_t fd = HANDOFF_INVALID_SOCK;
  ts_raw_listener_t *l = NULL;
  ts_raw_t *r;
  handoff_chan_t *c;
  int with_fd;
  H_CHECK(argc == 4);
  with_fd = atoi(argv[3]);
  H_CHECK(handoff_inherited(&c) == 0);
  if (strcmp(argv[1], "connect") == 0) {
    H_CHECK((l = ts_raw_listen(argv[2], NULL, NULL)) != NULL);
    H_CHECK(handoff_send(c, NULL, 0, "ready", 5, TS_TIMEOUT_MS) == 0);
    H_CHECK((r = ts_raw_accept(l, TS_TIMEOUT_MS)) != NULL);
  } else {
    H_CHECK((r = ts_raw_connect(argv[2])) != NULL);
  }
  handoff__hello_encode(f);
  H_CHECK(ts_raw_write(r, f, sizeof f, NULL, 0) == 0);
  if (with_fd)
    H_CHECK((fd = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  H_CHECK(ts_raw_write(r, f, 0, &fd, with_fd ? 1 : 0) == 0);
  if (with_fd) ts_close_sock(fd);
  H_CHECK(wait_close(r) == 0);
  ts_raw_close(r);
  ts_raw_listener_close(l);
  handoff_close(c);
  return 0;
}

/* Sockets per message of refs-flood. */
#define FLOOD_K 8

/* Fill the descriptors-in-flight limit: as another user than root (root
 * is exempt), with RLIMIT_NOFILE lowered, send FLOOD_K sockets per
 * message to the parent, which reads nothing until we exit.  Sends must
 * end in ETIMEDOUT (not ESYS), at once with timeout 0, losing nothing;
 * then "done <n>" tells the parent how many went. */
int helper_refs_flood(int argc, char **argv) {
  handoff_sock_t s[FLOOD_K];
  handoff_chan_t *c;
  char msg[32];
  long base, t0;
  int i, n = 0, r;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  if (ts_is_root()) H_CHECK(ts_drop_privileges() == 0);
  for (i = 0; i < FLOOD_K; i++)
    H_CHECK((s[i] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  base = ts_handle_count();
  H_CHECK(ts_limit_descriptors(2 * FLOOD_K) == 0);
  for (;;) {
    t0 = ts_now_ms();
    if ((r = handoff_send(c, s, FLOOD_K, "x", 1, 200)) != 0) break;
    H_CHECK(++n < 1000);
  }
  if (r != HANDOFF_ETIMEDOUT) fprintf(stderr, "refs-flood: %s\n", handoff_err_name(r));
  H_CHECK(r == HANDOFF_ETIMEDOUT);
  H_CHECK(ts_now_ms() - t0 >= 150); /* it waited, as for room */
  H_CHECK(n >= 1);
  t0 = ts_now_ms();
  H_CHECK(handoff_send(c, s, FLOOD_K, "x", 1, 0) == HANDOFF_ETIMEDOUT);
  H_CHECK(ts_now_ms() - t0 < 100);
  H_CHECK(ts_handle_count() == base);
  ts_restore_descriptor_limit();
  snprintf(msg, sizeof msg, "done %d", n);
  H_CHECK(handoff_send(c, NULL, 0, msg, strlen(msg) + 1, TS_TIMEOUT_MS) == 0);
  for (i = 0; i < FLOOD_K; i++) ts_close_sock(s[i]);
  handoff_close(c);
  return 0;
}

/* argv: name same|drop.  Connect raw to name (as "nobody" with drop), speak
 * HELLO, send a message whose descriptors are a socket and a non-socket,
 * then a good one; stay until the parent closes. */
int helper_raw_named_notsock(int argc, char **argv) {
  unsigned char f[64];
  handoff_sock_t fds[2];
  handoff_chan_t *c;
  ts_raw_t *r;
  H_CHECK(argc == 3);
  H_CHECK(handoff_inherited(&c) == 0);
  handoff_close(c);
  if (strcmp(argv[2], "drop") == 0) H_CHECK(ts_drop_privileges() == 0);
  H_CHECK((r = ts_raw_connect(argv[1])) != NULL);
  handoff__hello_encode(f);
  H_CHECK(ts_raw_write(r, f, HANDOFF__HELLO_FRAME, NULL, 0) == 0);
  handoff__hdr_encode(f, HANDOFF__T_DATA, 2, 4);
  memcpy(f + 16, "bad!", 4);
  H_CHECK((fds[0] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  fds[1] = ts_not_a_socket();
  H_CHECK(ts_raw_write(r, f, 20, fds, 2) == 0);
  ts_close_sock(fds[0]);
  ts_close_not_a_socket(fds[1]);
  handoff__hdr_encode(f, HANDOFF__T_DATA, 0, 4);
  memcpy(f + 16, "good", 4);
  H_CHECK(ts_raw_write(r, f, 20, NULL, 0) == 0);
  H_CHECK(wait_close(r) == 0);
  ts_raw_close(r);
  return 0;
}

/* Receive one message on c and report on report what its descriptors
 * were: "<n> <socket?>..." (1 or 0 each); close them. */
static int report_kinds(handoff_chan_t *c, handoff_chan_t *report) {
  handoff_sock_t s[4];
  size_t ns = 4, len, i;
  char buf[16], msg[32];
  int n;
  len = sizeof buf;
  H_CHECK(handoff_recv(c, s, &ns, buf, &len, TS_TIMEOUT_MS) == 0);
  n = snprintf(msg, sizeof msg, "%u", (unsigned)ns);
  for (i = 0; i < ns; i++) {
    n += snprintf(msg + n, sizeof msg - (size_t)n, " %d", ts_is_socket(s[i]));
    if (ts_is_socket(s[i]))
      ts_close_sock(s[i]);
    else
      ts_close_not_a_socket(s[i]);
  }
  H_CHECK(handoff_send(report, NULL, 0, msg, strlen(msg) + 1, TS_TIMEOUT_MS) == 0);
  return 0;
}

/* argv: name.  Listen on the name, say "ready", accept one client and
 * report what the descriptors of its first message were. */
int helper_listen_report(int argc, char **argv) {
  handoff_listener_t *l;
  handoff_chan_t *c, *b;
  H_CHECK(argc == 2);
  H_CHECK(handoff_inherited(&c) == 0);
  H_CHECK(handoff_listen(argv[1], &l) == 0);
  H_CHECK(handoff_send(c, NULL, 0, "ready", 6, TS_TIMEOUT_MS) == 0);
  H_CHECK(handoff_accept(l, TS_TIMEOUT_MS, &b) == 0);
  H_CHECK(report_kinds(b, c) == 0);
  handoff_close(b);
  handoff_listener_close(l);
  handoff_close(c);
  return 0;
}

/* Send our parent a socket and a non-socket, then "good"; stay until it
 * closes.  POSIX: our side sends to its parent unchecked (same user);
 * Windows: ENOTSOCK. */
int helper_send_mix(int argc, char **argv) {
  handoff_sock_t m[2];
  handoff_chan_t *c;
  char b[8];
  size_t len = sizeof b;
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  H_CHECK((m[0] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  m[1] = ts_not_a_socket();
  H_CHECK(handoff_send(c, m, 2, "mix", 4, TS_TIMEOUT_MS) ==
          (ts_raw_fds_supported() ? 0 : HANDOFF_ENOTSOCK));
  ts_close_sock(m[0]);
  ts_close_not_a_socket(m[1]);
  H_CHECK(handoff_send(c, NULL, 0, "good", 5, TS_TIMEOUT_MS) == 0);
  H_CHECK(handoff_recv(c, NULL, NULL, b, &len, TS_TIMEOUT_MS) == HANDOFF_ECLOSED);
  handoff_close(c);
  return 0;
}

/* Speak HELLO, then a DATA frame of one socket and 8 bytes written in two
 * parts, each with a descriptor: the second one arrives after the frame's
 * first byte (SOCK_SEQPACKET: two records, the first of the wrong length).
 * Stay until the parent closes. */
int helper_raw_midframe_fds(int argc, char **argv) {
  unsigned char f[HANDOFF__HELLO_FRAME];
  handoff_sock_t fd[2];
  ts_raw_t *r;
  (void)argc;
  (void)argv;
  H_CHECK((r = ts_raw_inherited_hello()) != NULL);
  H_CHECK((fd[0] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  H_CHECK((fd[1] = ts_udp_bound(TS_AF_INET, NULL)) != HANDOFF_INVALID_SOCK);
  handoff__hdr_encode(f, HANDOFF__T_DATA, 1, 8);
  H_CHECK(ts_raw_write(r, f, HANDOFF__HDR_SIZE, &fd[0], 1) == 0);
  /* A record transport rejects the short first record and may have closed
   * the channel by now. */
  (void)ts_raw_write(r, "12345678", 8, &fd[1], 1);
  ts_close_sock(fd[0]);
  ts_close_sock(fd[1]);
  H_CHECK(wait_close(r) == 0);
  ts_raw_close(r);
  return 0;
}

/* Sleep, so that the parent fills the channel, then take every message
 * with timeout 0 (waiting on the waitable in between) until "E": each must
 * be HANDOFF_MAX_DATA bytes of its own index.  Report how many came. */
int helper_bulk_check(int argc, char **argv) {
  static unsigned char buf[HANDOFF_MAX_DATA];
  handoff_waitable_t w;
  handoff_chan_t *c;
  size_t len, i;
  int n = 0, r;
  char msg[32];
  (void)argc;
  (void)argv;
  H_CHECK(handoff_inherited(&c) == 0);
  H_CHECK(handoff_chan_waitable(c, &w) == 0);
  ts_sleep_ms(500);
  for (;;) {
    len = sizeof buf;
    r = handoff_recv(c, NULL, NULL, buf, &len, 0);
    if (r == HANDOFF_ETIMEDOUT) {
      H_CHECK(ts_wait_any(&w, 1, TS_TIMEOUT_MS) == 0);
      continue;
    }
    H_CHECK(r == 0);
    if (len == 1 && buf[0] == 'E') break;
    H_CHECK(len == sizeof buf);
    for (i = 0; i < len; i++) H_CHECK(buf[i] == (unsigned char)n);
    n++;
  }
  snprintf(msg, sizeof msg, "%d", n);
  H_CHECK(handoff_send(c, NULL, 0, msg, strlen(msg) + 1, TS_TIMEOUT_MS) == 0);
  handoff_close(c);
  return 0;
}

static void spawn(const char *role, const char *a1, const char *a2,
                  const char *a3, handoff_chan_t **c, handoff_proc_t **p) {
  ck_assert_int_eq(ts_spawn(role, a1, a2, a3, c, p), 0);
}

static void end(handoff_chan_t *c, handoff_proc_t *p) {
  handoff_close(c);
  ck_assert_int_eq(ts_reap(p), 0);
}

/* ---- zero-length records ------------------------------------------------ */

/* A raw peer on side ("accept": it connects to our listener; "connect": we
 * connect to its raw listener) sends HELLO, then a zero-length record. */
static void zero_record(const char *side, int with_fd) {
  handoff_listener_t *l = NULL;
  handoff_chan_t *c, *b = NULL;
  handoff_proc_t *p;
  handoff_sock_t s[2];
  size_t ns = 2, len;
  char buf[16];
  const char *name = ts_name(with_fd ? "zero-fd" : "zero");
  int accept_side = strcmp(side, "accept") == 0;
  if (accept_side) ck_assert_int_eq(handoff_listen(name, &l), 0);
  spawn("raw-zero-record", side, name, with_fd ? "1" : "0", &c, &p);
  if (accept_side) {
    ck_assert_int_eq(handoff_accept(l, TS_TIMEOUT_MS, &b), 0);
  } else {
    len = sizeof buf;
    ck_assert_int_eq(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS), 0);
    ck_assert_int_eq(handoff_connect(name, TS_TIMEOUT_MS, &b), 0);
  }
  len = sizeof buf;
  /* Too short for a header: EPROTO, not the end of the stream, and the
   * descriptor it carried is closed (LEAK_END). */
  ck_assert_int_eq(handoff_recv(b, s, &ns, buf, &len, TS_TIMEOUT_MS), HANDOFF_EPROTO);
  ck_assert_int_eq(handoff_send(b, NULL, 0, "x", 1, 0), HANDOFF_EPROTO);
  ck_assert_int_eq(handoff_recv(b, s, &ns, buf, &len, 0), HANDOFF_EPROTO);
  handoff_close(b);
  if (l != NULL) handoff_listener_close(l);
  end(c, p);
}

START_TEST(test_zero_length_record_from_a_connecting_peer_is_eproto) {
  if (!ts_raw_records())
    TS_SKIP("the stream transport has no records: a frame is read by its header");
  {
    LEAK_BEGIN();
    zero_record("accept", 0);
    if (ts_raw_fds_supported()) zero_record("accept", 1);
    LEAK_END();
  }
}
END_TEST

START_TEST(test_zero_length_record_from_a_listening_peer_is_eproto) {
  if (!ts_raw_records())
    TS_SKIP("the stream transport has no records: a frame is read by its header");
  if (!ts_raw_fds_supported())
    TS_SKIP("the raw peer sends its zero-length records with and without a "
            "descriptor beside them (SCM_RIGHTS): POSIX only");
  {
    LEAK_BEGIN();
    zero_record("connect", 0);
    zero_record("connect", 1);
    LEAK_END();
  }
}
END_TEST

/* ---- descriptors in flight ------------------------------------------------ */

START_TEST(test_too_many_descriptors_in_flight_waits_then_times_out) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  handoff_sock_t s[FLOOD_K];
  size_t ns, len;
  char buf[32];
  int got = 0, sent = -1;
  if (!ts_can_limit_descriptors())
    TS_SKIP("no per-process descriptor limit to fill here (Windows, valgrind)");
  {
    LEAK_BEGIN();
    spawn("refs-flood", NULL, NULL, NULL, &c, &p);
    /* It fills the limit while we read nothing, and exits. */
    ck_assert_int_eq(ts_reap(p), 0);
    for (;;) {
      ns = FLOOD_K;
      len = sizeof buf;
      ck_assert_int_eq(handoff_recv(c, s, &ns, buf, &len, TS_TIMEOUT_MS), 0);
      if (ns == 0) break;
      ck_assert_uint_eq(ns, FLOOD_K);
      while (ns > 0) ts_close_sock(s[--ns]);
      got++;
    }
    ck_assert(sscanf(buf, "done %d", &sent) == 1);
    ck_assert_int_eq(got, sent);
    len = sizeof buf;
    ck_assert_int_eq(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS), HANDOFF_ECLOSED);
    handoff_close(c);
    LEAK_END();
  }
}
END_TEST

/* ---- which peers' descriptors are checked ---------------------------------- */

/* Send a socket and a non-socket ("mix"); handoff_send's result. */
static int send_mix(handoff_chan_t *c) {
  handoff_sock_t m[2];
  int r;
  m[0] = ts_udp_bound(TS_AF_INET, NULL);
  ck_assert(m[0] != HANDOFF_INVALID_SOCK);
  m[1] = ts_not_a_socket();
  r = handoff_send(c, m, 2, "mix", 4, TS_TIMEOUT_MS);
  ts_close_sock(m[0]);
  ts_close_not_a_socket(m[1]);
  return r;
}

/* Accept the raw named peer (mode same|drop) and receive its two messages:
 * the first one's descriptors are a socket and a non-socket. */
static void named_notsock(const char *name, const char *mode,
                          const handoff_access_t *acc, int checked) {
  handoff_listener_t *l;
  handoff_chan_t *c, *b;
  handoff_proc_t *p;
  handoff_sock_t s[4];
  size_t ns = 4, len = 16;
  char buf[16];
  ck_assert_int_eq(handoff_listen_ex(name, acc, &l), 0);
  spawn("raw-named-notsock", name, mode, NULL, &c, &p);
  ck_assert_int_eq(handoff_accept(l, TS_TIMEOUT_MS, &b), 0);
  if (checked) {
    ck_assert_int_eq(handoff_recv(b, s, &ns, buf, &len, TS_TIMEOUT_MS), HANDOFF_ENOTSOCK);
  } else {
    /* Passed on as sent: the peer could as well have put it into our
     * process by ptrace (handoff.h, handoff_recv's ENOTSOCK). */
    ck_assert_int_eq(handoff_recv(b, s, &ns, buf, &len, TS_TIMEOUT_MS), 0);
    ck_assert_uint_eq(ns, 2);
    ck_assert(len == 4 && memcmp(buf, "bad!", 4) == 0);
    ck_assert_int_eq(ts_is_socket(s[0]), 1);
    ck_assert_int_eq(ts_is_socket(s[1]), 0);
    ts_close_sock(s[0]);
    ts_close_not_a_socket(s[1]);
  }
  ns = 4;
  len = sizeof buf;
  ck_assert_int_eq(handoff_recv(b, s, &ns, buf, &len, TS_TIMEOUT_MS), 0);
  ck_assert(ns == 0 && len == 4 && memcmp(buf, "good", 4) == 0);
  /* What we send it is checked alike (handoff_send's ENOTSOCK). */
  ck_assert_int_eq(send_mix(b), checked ? HANDOFF_ENOTSOCK : 0);
  handoff_close(b);
  handoff_listener_close(l);
  end(c, p);
}

START_TEST(test_named_peer_of_our_own_user_is_trusted_like_a_parent) {
  if (!ts_raw_fds_supported())
    TS_SKIP("Windows rebuilds every socket itself (WSASocketW): nothing to check");
  {
    LEAK_BEGIN();
    named_notsock(ts_name("trust"), "same", NULL, 0);
    LEAK_END();
  }
}
END_TEST

START_TEST(test_named_peer_of_another_user_gets_non_sockets_refused) {
  handoff_access_t acc = HANDOFF_ACCESS_INIT;
  char dir[128], cmd[300];
  if (!ts_raw_fds_supported())
    TS_SKIP("Windows rebuilds every socket itself (WSASocketW): nothing to check");
  if (!ts_is_root()) TS_SKIP("becoming another user needs root");
  {
    LEAK_BEGIN();
    snprintf(dir, sizeof dir, "/tmp/handoff-shared-%ld", ts_getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -m 0711 %s", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(ts_setenv("HANDOFF_DIR", dir), 0);
    acc.uid = 65534;
    named_notsock(ts_name("other"), "drop", &acc, 1);
    ck_assert_int_eq(ts_setenv("HANDOFF_DIR", NULL), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    LEAK_END();
  }
}
END_TEST

/* Connecting to a listener of our own user: what we send goes as given
 * (POSIX; handoff_send's ENOTSOCK), and its side passes it on unchecked. */
START_TEST(test_named_peer_of_our_own_user_is_sent_descriptors_as_given) {
  handoff_chan_t *c, *t;
  handoff_proc_t *p;
  char buf[32];
  size_t len = sizeof buf;
  int r;
  LEAK_BEGIN();
  spawn("listen-report", ts_name("given"), NULL, NULL, &c, &p);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS), 0);
  ck_assert_str_eq(buf, "ready");
  ck_assert_int_eq(handoff_connect(ts_name("given"), TS_TIMEOUT_MS, &t), 0);
  r = send_mix(t);
  if (ts_raw_fds_supported()) {
    ck_assert_int_eq(r, 0);
  } else { /* Windows: WSADuplicateSocketW refuses the non-socket */
    ck_assert_int_eq(r, HANDOFF_ENOTSOCK);
    ck_assert_int_eq(handoff_send(t, NULL, 0, "none", 5, TS_TIMEOUT_MS), 0);
  }
  len = sizeof buf;
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS), 0);
  ck_assert_str_eq(buf, ts_raw_fds_supported() ? "2 1 0" : "0");
  handoff_close(t);
  end(c, p);
  LEAK_END();
}
END_TEST

/* A child sends its parent (our user) what it is given; the parent's side
 * checks what it receives (handoff_recv's ENOTSOCK). */
START_TEST(test_child_sends_as_given_and_its_parent_checks) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  handoff_sock_t s[4];
  size_t ns = 4, len;
  char buf[16];
  LEAK_BEGIN();
  spawn("send-mix", NULL, NULL, NULL, &c, &p);
  len = sizeof buf;
  if (ts_raw_fds_supported()) {
    ck_assert_int_eq(handoff_recv(c, s, &ns, buf, &len, TS_TIMEOUT_MS), HANDOFF_ENOTSOCK);
    ns = 4;
    len = sizeof buf;
  }
  ck_assert_int_eq(handoff_recv(c, s, &ns, buf, &len, TS_TIMEOUT_MS), 0);
  ck_assert(ns == 0 && strcmp(buf, "good") == 0);
  end(c, p);
  LEAK_END();
}
END_TEST

/* ---- framing ----------------------------------------------------------- */

START_TEST(test_descriptors_after_a_frames_first_byte_are_eproto) {
  handoff_chan_t *c;
  handoff_proc_t *p;
  handoff_sock_t s[2];
  size_t ns = 2, len;
  char buf[16];
  if (!ts_raw_fds_supported())
    TS_SKIP("sockets travel inside the frame on Windows, not beside it");
  {
    LEAK_BEGIN();
    spawn("raw-midframe-fds", NULL, NULL, NULL, &c, &p);
    len = sizeof buf;
    ck_assert_int_eq(handoff_recv(c, s, &ns, buf, &len, TS_TIMEOUT_MS), HANDOFF_EPROTO);
    ck_assert_int_eq(handoff_recv(c, s, &ns, buf, &len, 0), HANDOFF_EPROTO);
    end(c, p);
    LEAK_END();
  }
}
END_TEST

START_TEST(test_sends_and_receives_with_timeout_0_move_whole_messages) {
  static unsigned char big[HANDOFF_MAX_DATA];
  handoff_chan_t *c;
  handoff_proc_t *p;
  char buf[32];
  size_t len = sizeof buf;
  int n = 0, r;
  LEAK_BEGIN();
  spawn("bulk-check", NULL, NULL, NULL, &c, &p);
  /* Fill the channel while the child sleeps: each send is whole or not at
   * all as far as the receiver can tell (a stream keeps a begun frame's
   * tail and writes it before the next one). */
  for (;;) {
    memset(big, n, sizeof big);
    r = handoff_send(c, NULL, 0, big, sizeof big, 0);
    if (r != 0) break;
    ck_assert_int_lt(++n, 10000);
  }
  ck_assert_int_eq(r, HANDOFF_ETIMEDOUT);
  ck_assert_int_eq(handoff_send(c, NULL, 0, "E", 1, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(handoff_recv(c, NULL, NULL, buf, &len, TS_TIMEOUT_MS), 0);
  ck_assert_int_eq(atoi(buf), n);
  end(c, p);
  LEAK_END();
}
END_TEST

Suite *chanfaults_suite(void) {
  Suite *s = suite_create("chanfaults");
  TCase *tc = tcase_create("chanfaults");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_zero_length_record_from_a_connecting_peer_is_eproto);
  tcase_add_test(tc, test_zero_length_record_from_a_listening_peer_is_eproto);
  tcase_add_test(tc, test_too_many_descriptors_in_flight_waits_then_times_out);
  tcase_add_test(tc, test_named_peer_of_our_own_user_is_trusted_like_a_parent);
  tcase_add_test(tc, test_named_peer_of_another_user_gets_non_sockets_refused);
  tcase_add_test(tc, test_named_peer_of_our_own_user_is_sent_descriptors_as_given);
  tcase_add_test(tc, test_child_sends_as_given_and_its_parent_checks);
  tcase_add_test(tc, test_descriptors_after_a_frames_first_byte_are_eproto);
  tcase_add_test(tc, test_sends_and_receives_with_timeout_0_move_whole_messages);
  suite_add_tcase(s, tc);
  return s;
}
