/* What the Windows backend's files share: the object layouts and the
 * handoff__win_* helpers.  Internal; never installed. */
#ifndef HANDOFF_WIN32_INTERNAL_H
#define HANDOFF_WIN32_INTERNAL_H

/* config.h first (HAVE_*); _WIN32_WINNT comes from configure's CPPFLAGS.
 * Windows 7: WSA_FLAG_NO_HANDLE_INHERIT, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
 * GetNamedPipe{Client,Server}ProcessId, InitOnceExecuteOnce. */
#include "config.h"
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0601
#error "_WIN32_WINNT 0x0601 or later: configure sets it for every file"
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif

#include <winsock2.h>
#include <windows.h>

/* lib/internal.h; spelled out so it is not this file found again. */
#include "../lib/internal.h"

/* One WSAPROTOCOL_INFOW on the wire: raw bytes, no pointers inside, so the
 * same size on x86 and x64 (doc/protocol.md). */
#define HANDOFF__WIN_INFO_SIZE 628
typedef char handoff__win_info_size_check[
    sizeof(WSAPROTOCOL_INFOW) == HANDOFF__WIN_INFO_SIZE ? 1 : -1];

/* The largest frame: header, HANDOFF_MAX_SOCKS infos, HANDOFF_MAX_DATA. */
#define HANDOFF__WIN_MAX_FRAME                                               \
  (HANDOFF__HDR_SIZE + HANDOFF_MAX_SOCKS * HANDOFF__WIN_INFO_SIZE +          \
   HANDOFF_MAX_DATA)

/* A SID string's room, as handoff_peer_t.sid. */
#define HANDOFF__WIN_SID_MAX sizeof(((handoff_peer_t *)0)->sid)

struct handoff_chan {
  handoff__core_t core; /* first: lib's view (core.peer.pid, .sid) */
  HANDLE pipe;          /* message-mode named pipe, overlapped */
  /* The peer's process, held from the moment its identity was taken until
   * handoff_close, so that its id cannot name another process while we
   * duplicate sockets for it (DUP_HANDLE | SYNCHRONIZE | QUERY_LIMITED);
   * NULL if we may not open it (another user): then no socket goes out. */
  HANDLE peer_proc;
  /* The peer could have put handles into this process itself (it may
   * open it with PROCESS_DUP_HANDLE, peer.c): only then are the infos it
   * sends imported, or imported and closed when its frame is rejected. */
  int peer_can_dup;
  int waitable;         /* in an event loop: keep a read pending on rev */

  /* Send side: one buffer for a whole frame, one event (set while no
   * write is pending), at most one write pending (chan.c). */
  HANDLE wev;
  OVERLAPPED wov;
  unsigned char *wbuf;
  int wpending;

  /* Receive side: at most one ReadFile pending into rbuf (which also holds
   * a held message's payload: no read is started while one is held). */
  HANDLE rev;
  OVERLAPPED rov;
  unsigned char *rbuf;
  int rpending;
};

enum { HANDOFF__WIN_IDLE, HANDOFF__WIN_PENDING, HANDOFF__WIN_CONNECTED };

/* A pipe name's longest form, with its NUL ("CreateNamedPipeW": "The entire
 * pipe name string can be up to 256 characters long"). */
#define HANDOFF__WIN_PIPE_PATH_MAX 257

struct handoff_listener {
  WCHAR path[HANDOFF__WIN_PIPE_PATH_MAX]; /* \\.\pipe\handoff-<SID>-<name> */
  PSECURITY_DESCRIPTOR sd; /* owner + SYSTEM (+ admitted), LocalFree'd */
  HANDLE mutex;            /* Global\handoff-<SID>-<name>: the name is ours */
  HANDLE inst;             /* the instance waiting for a client, or NULL */
  int state;               /* HANDOFF__WIN_IDLE / _PENDING / _CONNECTED */
  HANDLE ev;
  OVERLAPPED ov;
  char self_sid[HANDOFF__WIN_SID_MAX]; /* our user: always admitted */
  unsigned flags;          /* HANDOFF_ALLOW_* */
  PSID allow;              /* also admitted (user or group), or NULL */
};

struct handoff_proc {
  HANDLE h;
  DWORD pid;
};

/* ---- error.c ----------------------------------------------------------- */

/* Translate a GetLastError/WSAGetLastError code, record it for
 * handoff_last_oserror(), return the HANDOFF_E* code. */
int handoff__win_err(DWORD oserr);

/* ---- chan.c ------------------------------------------------------------ */

/* WSAStartup, once per process (retried if it failed).  0 or an error. */
int handoff__win_wsa_init(void);
/* A channel around pipe (not closed on failure: the caller still owns it),
 * core initialised: no HELLO seen, peer unknown. */
int handoff__win_chan_new(HANDLE pipe, handoff_chan_t **out);

/* ---- clock.c ----------------------------------------------------------- */

/* DWORD milliseconds for WaitForSingleObject until deadline. */
DWORD handoff__win_wait_ms(uint64_t deadline);

/* ---- peer.c ------------------------------------------------------------ */

/* Hold the peer process of c (pid, as the OS named it for the pipe; or a
 * handle to it, duplicated, when proc is not NULL) in c->peer_proc and set
 * core.peer.pid.  taken (not NULL): when the connection was taken; a
 * process created after it is not the peer (its id was reused): EACCES,
 * and c->peer_proc stays NULL.  A process we may not open is not an error
 * (c->peer_proc stays NULL: sockets cannot flow to it anyway).  judge:
 * set c->peer_can_dup from the process's token where it can be read; 0
 * where a better token comes later (accept: the pipe's client token, in
 * handoff__win_admit), so the check is made once. */
int handoff__win_hold_peer(handoff_chan_t *c, DWORD pid, HANDLE proc,
                           const FILETIME *taken, int judge);

/* "O:<us>D:P(A;;GA;;;SY)(A;;GA;;;<us>)" (us: our user SID) as a security
 * descriptor; free with LocalFree.  _ex adds authenticated users
 * (HANDOFF_ALLOW_ANYONE) and the SID string allow (not NULL), granted only
 * what a client needs (read, write data, write attributes). */
int handoff__win_sd_create(PSECURITY_DESCRIPTOR *out);
int handoff__win_sd_create_ex(unsigned flags, const char *allow,
                              PSECURITY_DESCRIPTOR *out);
/* The user SID of a process (handle, or id) as a string. */
int handoff__win_process_sid(HANDLE proc, char *out, size_t cap);
int handoff__win_pid_sid(DWORD pid, char *out, size_t cap);
/* On a listener's new channel: record the client's user SID (in core.peer.sid)
 * from the token the pipe gives for its client (ImpersonateNamedPipeClient at the
 * client's level, then back) and decide: 0 admitted, EACCES refused (another
 * user not admitted, or our user at a lower integrity level than ours).
 * Sets c->peer_can_dup from that token (0 when refused). */
int handoff__win_admit(handoff_chan_t *c, const char *self_sid, unsigned flags,
                       PSID allow);
/* The user whose listeners handoff_connect reaches, as a canonical SID
 * string: $HANDOFF_SERVER_SID, else self_sid.  EINVAL if malformed. */
int handoff__win_server_sid(const char *self_sid, char *out, size_t cap);
/* The pipe's owner (the user who created its first instance) is the SID
 * string expected: 0, else EACCES. */
int handoff__win_owner_is(HANDLE pipe, const char *expected);
/* Before anything is sent on a client's pipe: its owner and its serving
 * process's user must be expected (is_self: expected is our own user).
 * 0 and *pid (the server process), EACCES, ESYS. */
int handoff__win_verify_server(HANDLE pipe, const char *expected, int is_self,
                               DWORD *pid);

#endif /* HANDOFF_WIN32_INTERNAL_H */
