/* Test support: everything that differs between POSIX and Windows in the
 * tests lives behind these functions (tests/support.c). */
#ifndef HANDOFF_TEST_SUPPORT_H
#define HANDOFF_TEST_SUPPORT_H

#include "handoff.h"

#include <stddef.h>

#define TS_AF_INET 4
#define TS_AF_INET6 6

/* How long any blocking step of a test may take before it counts as a hang. */
#define TS_TIMEOUT_MS 10000

void ts_init(const char *argv0);
/* Create once what the OS creates on first use (Windows: a thread's event
 * for blocking socket calls, the object directory), so that handle counts
 * taken afterwards are not disturbed by it. */
void ts_warm_process(void);
/* Open descriptors (/proc/self/fd) or handles (GetProcessHandleCount). */
long ts_handle_count(void);
/* The handle count once it is back to base, or after about three seconds
 * the count then: a handle the OS releases a moment after the call that
 * freed it (Wine, after a thread ends; once, on a loaded machine, still
 * there after a second) is not a leak; one that stays is. */
long ts_handle_count_settled(long base);
long ts_getpid(void);
/* A monotonic clock in milliseconds. */
long ts_now_ms(void);
void ts_sleep_ms(int ms);
/* A rendezvous name unique to this process and tag. */
const char *ts_name(const char *tag);
/* Ends the process at once, without any cleanup (a crash). */
void ts_crash(void);

/* Sockets on loopback.  All return HANDOFF_INVALID_SOCK on failure. */
handoff_sock_t ts_tcp_listener(int family, int *port);
handoff_sock_t ts_tcp_connect(int family, int port);
handoff_sock_t ts_tcp_accept(handoff_sock_t l);
/* A connected pair over TCP loopback. */
int ts_tcp_pair(int family, handoff_sock_t sv[2]);
handoff_sock_t ts_udp_bound(int family, int *port);
int ts_udp_send_to(handoff_sock_t s, int family, int port, const void *buf,
                   size_t len);
/* Receive one datagram, replying to its sender with reply. */
int ts_udp_echo_once(handoff_sock_t s, char *buf, size_t cap,
                     const char *reply);
/* An AF_UNIX stream pair; returns -1 where the platform has none to test
 * (Windows under Wine). */
int ts_unix_pair(handoff_sock_t sv[2]);
int ts_send_all(handoff_sock_t s, const void *buf, size_t len);
/* Read exactly len bytes (or until EOF); returns bytes read or -1. */
int ts_recv_n(handoff_sock_t s, void *buf, size_t len);
void ts_close_sock(handoff_sock_t s);
/* 1 if s is an open socket, 0 if not. */
int ts_is_socket(handoff_sock_t s);
/* 1 if a child process would inherit s (no FD_CLOEXEC / HANDLE_FLAG_INHERIT). */
int ts_is_inheritable(handoff_sock_t s);
/* An open handle that is not a socket (and its release). */
handoff_sock_t ts_not_a_socket(void);
void ts_close_not_a_socket(handoff_sock_t s);

/* Start this test binary as helper `role` with up to 3 string args. */
int ts_spawn(const char *role, const char *a1, const char *a2, const char *a3,
             handoff_chan_t **chan, handoff_proc_t **proc);
/* Reap a child within TS_TIMEOUT_MS (killing it if it hangs); returns its
 * exit code, or -1000 on a hang. */
int ts_reap(handoff_proc_t *p);

/* Helpers: roles the binary runs when started as `prog --helper ROLE ...`. */
typedef int (*ts_helper_fn)(int argc, char **argv);
typedef struct {
  const char *role;
  ts_helper_fn fn;
} ts_helper_t;
int ts_run_helper(const ts_helper_t *table, int argc, char **argv);

/* In helpers: fail with the line number as the reason. */
#define H_CHECK(cond)                                                        \
  do {                                                                       \
    if (!(cond)) {                                                           \
      ts_helper_fail(__FILE__, __LINE__, #cond);                             \
      return 1;                                                              \
    }                                                                        \
  } while (0)
void ts_helper_fail(const char *file, int line, const char *what);

/* A case that cannot run on this platform reports itself skipped (never
 * passed): it prints "SKIP: <case>: <why>", is counted, and returns.
 * main prints "Skipped: N" after Check's summary; scripts/test subtracts
 * the skips from the passed count and prints them on the closing line. */
#define TS_SKIP(why)                                                         \
  do {                                                                       \
    ts_skip(__func__, why);                                                  \
    return;                                                                  \
  } while (0)
void ts_skip(const char *test_fn, const char *why);
int ts_skipped(void);

/* Wait for a send waitable (handoff_chan_send_waitable) to report room:
 * 1, or 0 on timeout. */
int ts_wait_send_room(handoff_waitable_t w, int timeout_ms);
/* 1 if s becomes readable (data or end of stream) within timeout_ms. */
int ts_readable(handoff_sock_t s, int timeout_ms);
/* Receive one datagram on s and answer its sender with this process's
 * handle count, as a string.  0 or -1. */
int ts_udp_reply_count(handoff_sock_t s);

/* Wait until one of n waitables is ready: its index, or -1 on timeout. */
int ts_wait_any(const handoff_waitable_t *w, int n, int timeout_ms);

/* 1 if stdin, stdout and stderr are open handles. */
int ts_has_stdio(void);

/* ---- for the hardening cases ------------------------------------------- */

/* Set (or with value NULL, remove) an environment variable. */
int ts_setenv(const char *key, const char *value);
/* 1 when running as root (POSIX); Windows: 0. */
int ts_is_root(void);
/* Become the unprivileged user 65534 ("nobody"); -1 where impossible. */
int ts_drop_privileges(void);
long ts_euid(void);

/* A channel's raw transport, below the library: to write what a broken or
 * hostile peer would. */
typedef struct ts_raw ts_raw_t;
/* The channel inherited from handoff_spawn, taken raw. */
ts_raw_t *ts_raw_inherited(void);
/* Connect to a listener's name raw, without any handshake. */
ts_raw_t *ts_raw_connect(const char *name);
/* Write one record; fds only where ts_raw_fds_supported(). */
int ts_raw_write(ts_raw_t *r, const void *buf, size_t len,
                 const handoff_sock_t *fds, size_t nfds);
/* Read one record; bytes read, 0 at end of stream, -1 on error/timeout. */
int ts_raw_read(ts_raw_t *r, void *buf, size_t cap, int timeout_ms);
void ts_raw_close(ts_raw_t *r);
/* ts_raw_inherited, then our HELLO on it (how a raw helper that speaks
 * first begins); NULL on failure. */
ts_raw_t *ts_raw_inherited_hello(void);
/* 1 if descriptors travel beside the bytes (POSIX SCM_RIGHTS). */
int ts_raw_fds_supported(void);

/* Handles a sender killed mid-send can leave in the receiver unseen:
 * Windows' WSADuplicateSocketW puts the socket into the peer before the
 * pipe write that would tell it; if the sender dies in between, nobody can
 * name those handles.  0 on POSIX (SCM_RIGHTS is atomic with the data). */
long ts_orphans_per_killed_send(long socks_per_message);

/* A SIGALRM every 100 us, without SA_RESTART; -1 where there are no
 * signals (Windows). */
int ts_signal_storm_start(void);
void ts_signal_storm_stop(void);
/* Lower the soft descriptor limit to the open count plus room; -1 where
 * there is no such limit (Windows).  ts_restore_descriptor_limit undoes. */
int ts_limit_descriptors(long room);
/* 1 where ts_limit_descriptors works: POSIX, and not under valgrind (which
 * keeps its own descriptor table; scripts/test sets
 * HANDOFF_TEST_UNDER_VALGRIND=1 there). */
int ts_can_limit_descriptors(void);
void ts_restore_descriptor_limit(void);

/* ---- for the portability cases ------------------------------------------ */

/* sizeof(sun_path) with its NUL: the longest rendezvous socket path is one
 * less.  -1 on Windows (no rendezvous directory: names are pipe names). */
int ts_socket_path_room(void);
/* mkdir 0700 / rmdir; 0 or -1. */
int ts_mkdir_private(const char *path);
int ts_rmdir(const char *path);
/* Fork; the child runs fn(arg) and _exits 0.  The child's exit status, or
 * -1 where there is no fork (Windows) or it failed. */
int ts_fork_call(void (*fn)(void *), void *arg);
/* Send on a stream socket whose peer has closed, with SIGPIPE at its
 * default (fatal) action, inside the library's SIGPIPE guard
 * (posix/sigpipe.c); with pending_before, the caller has SIGPIPE blocked
 * and one already pending.  1 if the send failed with EPIPE, the process
 * lived and the thread's mask is as before; *pending_after: a SIGPIPE was
 * pending afterwards (then it is taken).  0 on a failure, -1 where there
 * are no signals (Windows). */
int ts_sigpipe_guard_send(int pending_before, int *pending_after);
/* 1 if the channel transport keeps record boundaries (SOCK_SEQPACKET,
 * message-mode pipes), 0 for the POSIX stream transport. */
int ts_raw_records(void);
/* ---- for the security cases (names, owners, DACLs) --------------------- */

/* 1 where names are guarded by owners and DACLs (Windows), 0 on POSIX. */
int ts_has_dacls(void);
/* Windows: this process's user SID string; "" on POSIX. */
const char *ts_self_sid(void);
/* A raw listener below the library, on the name's rendezvous point:
 * POSIX a SOCK_SEQPACKET socket where handoff_listen would bind; Windows
 * the pipe \\.\pipe\handoff-<name_sid>-<name> (name_sid NULL: ours),
 * owned by owner_sid (NULL: our user), waiting for one client.  NULL on
 * failure, and on POSIX for a non-NULL name_sid or owner_sid. */
typedef struct ts_raw_listener ts_raw_listener_t;
ts_raw_listener_t *ts_raw_listen(const char *name, const char *name_sid,
                                 const char *owner_sid);
/* The client that connected within timeout_ms (Windows: the one instance;
 * it may have come and gone), or NULL. */
ts_raw_t *ts_raw_accept(ts_raw_listener_t *l, int timeout_ms);
void ts_raw_listener_close(ts_raw_listener_t *l);

/* The DACL of a listener's pipe or of its name's mutex (Windows): up to cap
 * entries into aces, the count returned; -1 on POSIX or failure. */
enum { TS_DACL_PIPE, TS_DACL_MUTEX };
typedef struct {
  int allow;          /* an access-allowed entry */
  unsigned long mask; /* its rights */
  char sid[200];      /* whom it names */
} ts_ace_t;
int ts_dacl(const char *name, int which, ts_ace_t *aces, int cap);
/* Windows: this thread now runs as a low-integrity copy of our token (0),
 * or the OS would not lower it (-1: Wine keeps the level; POSIX has none).
 * ts_revert returns to the process's own token. */
int ts_impersonate_low_integrity(void);
void ts_revert(void);

#endif /* HANDOFF_TEST_SUPPORT_H */

/* ---- for the spawn cases ----------------------------------------------- */
#ifndef HANDOFF_TEST_SUPPORT_SPAWN_H
#define HANDOFF_TEST_SUPPORT_SPAWN_H
/* This test binary's full path (argv[0] of every helper). */
const char *ts_self_path(void);
/* A thread running fn(arg); join it with ts_thread_join.  NULL on failure. */
void *ts_thread_start(void (*fn)(void *), void *arg);
void ts_thread_join(void *t);
/* Run this binary as helper `role` the plain way, as an unrelated part of
 * an application would (POSIX fork + execv, nothing closed): its exit
 * code, or -1 where there is no such way to test here (Windows: see
 * test_spawn.c). */
int ts_run_plain(const char *role);
/* on: the application reaps children itself (POSIX: SIGCHLD set to
 * SIG_IGN, so the kernel reaps them); off: back to the default.  -1 where
 * nobody but the holder of a process handle can reap (Windows). */
int ts_reap_children_elsewhere(int on);
/* Reap a child by pid (after handoff_proc_free); 0 on Windows. */
int ts_reap_pid(long pid);
/* Write a file `name` with `content` into a private temporary folder;
 * executable: POSIX mode 0700 instead of 0600.  Its path goes to path.
 * 0 or -1. */
int ts_write_file(char *path, size_t cap, const char *name,
                  const char *content, int executable);
/* The folder ts_write_file writes into. */
const char *ts_temp_dir(void);
int ts_file_exists(const char *path);
void ts_remove_file(const char *path);
/* Open a descriptor numbered `at` (raising the limits), or if the hard
 * limit may not be raised, the highest number it allows: the number, or
 * -1 where there are no such numbers (Windows) or valgrind keeps its own.
 * ts_close_high_descriptor closes it. */
long ts_open_high_descriptor(long at);
void ts_close_high_descriptor(long fd);
/* 1 where the OS would run a batch file through an interpreter (Windows). */
int ts_batch_files_run(void);
/* The OS's command-line limit in characters (terminator included), or -1
 * where arguments of that size have no such limit (POSIX). */
long ts_cmdline_limit(void);
/* ---- for the forged and rejected frames (issue 12 item 2) -------------- */

/* Write one frame raw: the 16-byte header hdr, the n sockets as the
 * transport carries them (POSIX beside the bytes; Windows a
 * WSAPROTOCOL_INFOW each, made for the raw channel's peer and put after
 * the header), then len bytes of data.  0 or -1. */
int ts_raw_write_socks(ts_raw_t *r, const unsigned char *hdr,
                       const handoff_sock_t *socks, size_t n,
                       const void *data, size_t len);
/* Windows: a WSAPROTOCOL_INFOW that names s itself, this process's own
 * handle (a forged info), as hex into hex (cap >= 1257).  -1 on POSIX,
 * where a descriptor cannot be forged (SCM_RIGHTS carries only what the
 * sender holds). */
int ts_forge_info(handoff_sock_t s, char *hex, size_t cap);
/* Windows: write the frame hdr (counting one socket) with one info that
 * WSASocketW refuses (a family no provider serves) and that names, where
 * an IFS provider's info names its handle, one that is no socket (an event
 * this process put into the peer); then len bytes of data.  0, or -1 on POSIX (SCM_RIGHTS installs what it
 * carries; a non-socket there is test_chanfaults.c's matter) or failure. */
int ts_raw_write_non_socket(ts_raw_t *r, const unsigned char *hdr,
                            const void *data, size_t len);
/* The 628 bytes an info's hex stands for into out; 0 or -1. */
int ts_info_from_hex(const char *hex, unsigned char *out);
/* on: deny our own user PROCESS_DUP_HANDLE on this process (a deny ACE
 * first in its DACL), so that no peer could have duplicated a handle into
 * it; off: the DACL as it was.  0, or -1 on POSIX or failure. */
int ts_deny_dup_into_self(int on);
/* Windows: remove SeDebugPrivilege (which opens any process whatever its
 * DACL; Wine gives it to every process) from this process's token for
 * good.  0, or -1 on POSIX or failure. */
int ts_drop_debug_privilege(void);
/* 1 where a message the peer never took is taken back when the peer
 * closes its end unread (POSIX: the kernel closes the descriptors queued
 * for a closed socket); 0 on Windows, where a write that went pending and
 * then failed leaves its duplicates in the peer (win32/chan.c,
 * end_pending, says why they cannot be closed safely). */
int ts_unread_pending_send_is_taken_back(void);
#endif
