/* The benchmark's two halves: bench.c drives the workloads through any
 * "transport" (handoff, or the raw baseline); raw_posix.c / raw_win32.c
 * hold the baseline written directly on the OS calls, plus the few OS
 * helpers the driver needs (clock, peak RSS, making sockets). */
#ifndef HANDOFF_BENCH_H
#define HANDOFF_BENCH_H

#include <handoff.h>

#include <stddef.h>

/* ---- OS helpers -------------------------------------------------------- */

/* "posix" or "windows". */
extern const char *const bench_os_name;
/* Once per process: WSAStartup, raise the descriptor limit, ... */
void bench_os_init(void);
/* Monotonic clock, microseconds. */
double bench_now_us(void);
/* This process's peak resident set so far, KiB (POSIX getrusage ru_maxrss,
 * Windows GetProcessMemoryInfo PeakWorkingSetSize); -1 if unknown. */
long bench_peak_rss_kib(void);
/* A fresh UDP socket, or HANDOFF_INVALID_SOCK. */
handoff_sock_t bench_udp_socket(void);
void bench_close_sock(handoff_sock_t s);
/* which >= 0: run this thread only on the which-th CPU this process may
 * use; -1: undo.  0 or -1 (not possible here). */
int bench_pin(int which);

/* ---- The raw baseline -------------------------------------------------- *
 *
 * POSIX: a SOCK_SEQPACKET socketpair; one message is one sendmsg carrying
 * the descriptors as SCM_RIGHTS (and one byte: a record with only control
 * data is not portable), received by one blocking recvmsg.
 * Windows: a message-mode named pipe; each socket is its own WriteFile of
 * one WSAPROTOCOL_INFOW made by WSADuplicateSocketW ("one per write"), and
 * the reader rebuilds it with WSASocketW.  A message of K sockets is K
 * writes and K reads; bench_raw_recv returns one socket per call there.
 *
 * All functions return 0 or a negative HANDOFF_E* code (HANDOFF_ECLOSED at
 * end of stream, HANDOFF_ESYS otherwise). */
typedef struct bench_raw bench_raw_t;

/* Start `self child raw <endpoint>` with a raw channel to it. */
int bench_raw_spawn(const char *self, bench_raw_t **out);
/* In that child: open the channel named by arg (argv[3]). */
int bench_raw_child(const char *arg, bench_raw_t **out);
/* Send nsocks sockets, or len bytes of data (never both in this bench). */
int bench_raw_send(bench_raw_t *c, const handoff_sock_t *socks, size_t nsocks,
                   const void *data, size_t len);
/* Receive what one transport message carries: *nsocks and *len are
 * capacities in, counts out. */
int bench_raw_recv(bench_raw_t *c, handoff_sock_t *socks, size_t *nsocks,
                   void *data, size_t *len);
/* Close the channel; in the parent also reap the child (0 if it exited
 * with status 0). */
int bench_raw_close(bench_raw_t *c);

#endif /* HANDOFF_BENCH_H */
