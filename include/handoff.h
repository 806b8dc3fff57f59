/*
 * handoff: hand a socket from one process to another, on POSIX and Windows.
 *
 * POSIX: descriptors travel as SCM_RIGHTS over a SOCK_SEQPACKET Unix domain
 * socket.  Windows: the sender calls WSADuplicateSocketW for the peer process
 * (as the OS reports it) and carries each WSAPROTOCOL_INFOW over a
 * message-mode named pipe; the receiver rebuilds the socket with WSASocketW.
 *
 * This header is the manual.  Read it top to bottom: types, limits, error
 * codes, then the functions grouped by what a program does with them:
 * rendezvous by name, spawning a child with a channel, transferring sockets,
 * closing.
 *
 * Conventions for every function below:
 *  - Every int function returns 0 on success or a negative HANDOFF_E* code;
 *    never errno, never -1.  handoff_strerror() names the code, and
 *    handoff_last_oserror() returns the OS's own code (errno or
 *    GetLastError/WSAGetLastError) behind the last HANDOFF_ESYS (and the
 *    other OS-derived codes) on the calling thread.
 *  - timeout_ms: -1 waits forever, 0 does not wait at all, N > 0 waits at
 *    most N milliseconds.
 *  - On any error no handle changes owner: whatever the caller owned before
 *    the call it still owns, whatever the library opened it has closed.
 *  - All handles the library creates are close-on-exec / not inheritable,
 *    with the one exception of the channel handed to a child by
 *    handoff_spawn().
 *  - A channel may be used by two threads at once only as one sender plus
 *    one receiver (handoff_chan_waitable counts as receiving); otherwise
 *    serialise calls on one object yourself.
 */
#ifndef HANDOFF_H
#define HANDOFF_H

#include <stddef.h>

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
typedef SOCKET handoff_sock_t;
#define HANDOFF_INVALID_SOCK INVALID_SOCKET
/* What an event loop waits on: an event for WaitForMultipleObjects. */
typedef HANDLE handoff_waitable_t;
#else
#include <sys/socket.h>
typedef int handoff_sock_t;
#define HANDOFF_INVALID_SOCK (-1)
/* What an event loop waits on: a descriptor for poll/epoll/kqueue (POLLIN). */
typedef int handoff_waitable_t;
#endif

/* Symbol visibility: the shared library exports only what is declared here.
 * Windows users linking the static library define HANDOFF_STATIC (pkg-config
 * --static adds it). */
#if defined(_WIN32)
#if defined(HANDOFF_BUILDING) && defined(DLL_EXPORT)
#define HANDOFF_EXTERN __declspec(dllexport)
#elif defined(HANDOFF_BUILDING) || defined(HANDOFF_STATIC)
#define HANDOFF_EXTERN
#else
#define HANDOFF_EXTERN __declspec(dllimport)
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define HANDOFF_EXTERN __attribute__((visibility("default")))
#else
#define HANDOFF_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ----------------------------------------------------------- */

#define HANDOFF_VERSION_MAJOR 0
#define HANDOFF_VERSION_MINOR 1
#define HANDOFF_VERSION_PATCH 0
#define HANDOFF_VERSION_HEX                                                  \
  ((HANDOFF_VERSION_MAJOR << 16) | (HANDOFF_VERSION_MINOR << 8) |           \
   HANDOFF_VERSION_PATCH)

/* The version of the library actually linked, as HANDOFF_VERSION_HEX. */
HANDOFF_EXTERN unsigned handoff_version(void);

/* ---- Types ------------------------------------------------------------- */

/* A connected, message-oriented channel between two processes. */
typedef struct handoff_chan handoff_chan_t;
/* A named rendezvous point that accepts channels. */
typedef struct handoff_listener handoff_listener_t;
/* A child process started by handoff_spawn(). */
typedef struct handoff_proc handoff_proc_t;

/* ---- Limits ------------------------------------------------------------ */

/* Sockets in one message. */
#define HANDOFF_MAX_SOCKS 64
/* Payload bytes in one message. */
#define HANDOFF_MAX_DATA 65536
/* Rendezvous name length, not counting the terminating NUL. */
#define HANDOFF_MAX_NAME 64

/* ---- Error codes ------------------------------------------------------- */

/* One table gives every code its name and message (X-macro). */
#define HANDOFF_ERRNO_MAP(XX)                                                \
  XX(EINVAL, -1, "invalid argument")                                         \
  XX(ETIMEDOUT, -2, "timed out")                                             \
  XX(ECLOSED, -3, "peer closed the channel or exited")                       \
  XX(ETOOBIG, -4, "message exceeds a limit or the receive buffers")          \
  XX(ENOTSOCK, -5, "handle is not a socket")                                 \
  XX(EPROTO, -6, "protocol error: peer sent something malformed")           \
  XX(EACCES, -7, "access denied")                                            \
  XX(EADDRINUSE, -8, "name already has a listener")                          \
  XX(ENOENT, -9, "no listener or program by that name")                      \
  XX(ETRUNC, -10, "sockets lost in transit")                                 \
  XX(ENOMEM, -11, "out of memory")                                           \
  XX(ESYS, -12, "operating system error")

enum {
#define HANDOFF_ERR_ENUM_(name, val, msg) HANDOFF_##name = (val),
  HANDOFF_ERRNO_MAP(HANDOFF_ERR_ENUM_)
#undef HANDOFF_ERR_ENUM_
  HANDOFF_ERR_MIN_ = -12
};

/* A static message for a code ("success" for 0, "unknown error" for codes
 * not in the table).  Never NULL. */
HANDOFF_EXTERN const char *handoff_strerror(int err);
/* The code's name ("HANDOFF_EINVAL"), "0" for success, "HANDOFF_UNKNOWN"
 * otherwise.  Never NULL. */
HANDOFF_EXTERN const char *handoff_err_name(int err);
/* The OS error (errno on POSIX, GetLastError/WSAGetLastError on Windows)
 * that caused the last failing call on this thread, or 0 if that failure
 * did not come from the OS. */
HANDOFF_EXTERN int handoff_last_oserror(void);

/* ---- Rendezvous by name ------------------------------------------------ */

/*
 * Names are portable: 1..HANDOFF_MAX_NAME characters from [A-Za-z0-9._-],
 * not starting with '.'.  The same name works on both platforms:
 *  - POSIX: a socket "<name>.sock" in the per-user directory
 *    $HANDOFF_DIR, or else "${TMPDIR:-/tmp}/handoff-<uid>", which the
 *    library creates mode 0700 and refuses to use unless it is a real
 *    directory owned by the caller with no access for others.
 *  - Windows: the named pipe "\\.\pipe\handoff-<SID>-<name>" (SID: the
 *    listening user's, so names are per user as on POSIX), owned by that
 *    user, plus a named mutex "Global\handoff-<SID>-<name>" (that user and
 *    SYSTEM only) that keeps the name exclusive.  A listener refuses with
 *    HANDOFF_EADDRINUSE a name whose pipe has an instance waiting for
 *    clients, or is owned by another user.  Listening again after
 *    handoff_listener_close while accepted channels live, and another
 *    process of the user taking the name over, work (exclusivity is not
 *    FILE_FLAG_FIRST_PIPE_INSTANCE, which those channels would trip).
 *    handoff_connect looks for the names of its own user, or of the user
 *    whose SID string is in $HANDOFF_SERVER_SID, and before it sends
 *    anything checks that the pipe's owner and the serving process's token
 *    user are that user (HANDOFF_EACCES otherwise).
 * By default only processes of the same user can connect.
 */

/* Start listening on name.  One listener per name: HANDOFF_EADDRINUSE if a
 * live listener holds it.  A name left by a listener that crashed is
 * reclaimed.  On success *out is owned by the caller (release with
 * handoff_listener_close).  Errors: EINVAL (bad name, NULL out, or a
 * rendezvous path too long for a socket address), EADDRINUSE, EACCES
 * (rendezvous directory unsafe or not ours), ENOENT (HANDOFF_DIR or TMPDIR
 * does not exist), ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_listen(const char *name, handoff_listener_t **out);

/* Wait up to timeout_ms for one peer to connect.  A listener serves any
 * number of connections, one after another and at the same time.  The
 * peer's identity is checked (as the OS reports it) before anything else;
 * a refused peer gets a REFUSE frame, is closed and never returned, and
 * accept goes on waiting within the timeout.  An admitted peer gets our
 * HELLO at once; its own HELLO (magic, version, limits) is checked by the
 * first handoff_recv on the channel, which fails with HANDOFF_EPROTO if
 * the peer speaks anything else.  On success *out is a new channel owned
 * by the caller.  Errors: EINVAL, ETIMEDOUT, ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_accept(handoff_listener_t *l, int timeout_ms,
                                  handoff_chan_t **out);

/* Stop listening and release l and its name.  Channels already accepted
 * are not affected.  NULL is a no-op. */
HANDOFF_EXTERN void handoff_listener_close(handoff_listener_t *l);

/* Connect to the listener on name and complete the handshake within
 * timeout_ms: this returns once the listener's handoff_accept has taken
 * the connection, so the listener must be served by another thread or
 * process.  On success *out is a new channel owned by the caller.
 * Errors: EINVAL (also: a malformed HANDOFF_SERVER_SID on Windows), ENOENT
 * (no listener), ETIMEDOUT, EACCES (the listener refused us: whatever
 * reason its REFUSE carries, and handoff_last_oserror() then returns that
 * reason, a HANDOFF_E* code; or we may not open the name; or, on Windows,
 * the name is not served by the expected user, and nothing was sent),
 * EPROTO (the other end does not speak this protocol version), ECLOSED,
 * ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_connect(const char *name, int timeout_ms,
                                   handoff_chan_t **out);

/* ---- Peers and access -------------------------------------------------- */

/* Who is at the other end of a channel, as the OS reports it: never a value
 * the peer sent about itself. */
typedef struct {
  long pid;      /* process id, or -1 where the OS does not tell */
  long uid;      /* POSIX effective user id; -1 on Windows or if unknown */
  long gid;      /* POSIX effective group id; -1 on Windows or if unknown */
  char sid[192]; /* Windows: the peer user's SID ("S-1-5-21-..."); "" on
                    POSIX or if unknown */
} handoff_peer_t;

/* Fill *out with the peer of c.  Sources: POSIX SO_PEERCRED (Linux),
 * getpeereid/LOCAL_PEERCRED (BSD, macOS); Windows
 * GetNamedPipeClientProcessId/GetNamedPipeServerProcessId for the pid; on a
 * listener's channel the SID of the client's token as the pipe gives it
 * (ImpersonateNamedPipeClient at identification level: no access to the
 * client's process needed; a client whose token cannot be read is
 * refused), on a client's channel the server user handoff_connect
 * verified.  For a channel from handoff_spawn the parent
 * side reports the child's pid from process creation, and uid/gid -1 (the
 * child may change them after it starts).  Errors: EINVAL. */
HANDOFF_EXTERN int handoff_peer(handoff_chan_t *c, handoff_peer_t *out);

/* Widening who may connect to a listener.  By default (handoff_listen, or
 * handoff_listen_ex with NULL access) only processes running as the same
 * user are served, checked twice: the rendezvous point is reachable only by
 * the user (POSIX directory 0700, Windows pipe DACL owner + SYSTEM,
 * remote clients rejected), and handoff_accept checks the peer's uid / SID.
 *
 * RISK: every peer you admit can send you sockets and read whatever you
 * hand out on its channel.  Admit a specific uid/gid/SID rather than
 * HANDOFF_ALLOW_ANYONE, and on POSIX put the rendezvous in a directory made
 * for it (HANDOFF_DIR: owned by you, mode 0711 or 0751, writable by nobody
 * else): the default per-user directory is never opened to others.
 *
 * Windows: a widened pipe DACL grants the admitted principals only what a
 * client needs (read, write data, write attributes), never
 * FILE_CREATE_PIPE_INSTANCE, WRITE_DAC or WRITE_OWNER.  By default a
 * client of our own user whose integrity level is lower than the
 * listener's (a non-elevated process reaching an elevated listener) is
 * refused; principals admitted here are admitted at any level.  Sockets
 * flow only to processes the sender can open with PROCESS_DUP_HANDLE
 * (WSADuplicateSocketW opens its target by id): a listener that is not an
 * administrator can admit another user but cannot exchange sockets with
 * that user's processes.  A client reaches another user's listener by
 * setting HANDOFF_SERVER_SID to that user's SID (see handoff_connect). */
#define HANDOFF_ALLOW_ANYONE 1u /* any local user (Windows: any logged-on
                                   user; never remote clients) */
typedef struct {
  unsigned flags;  /* HANDOFF_ALLOW_* */
  long uid;        /* POSIX: also admit this user id; -1: no one more */
  long gid;        /* POSIX: also admit peers whose effective gid is this;
                      -1: no one more */
  const char *sid; /* Windows: also admit this user or group SID string;
                      NULL: no one more */
} handoff_access_t;
/* Start from this, not from zeroes: uid 0 and gid 0 would admit root. */
#define HANDOFF_ACCESS_INIT {0u, -1L, -1L, NULL}

/* handoff_listen with an access policy (NULL: the same user only).  On
 * POSIX a listener for the same user only needs its directory closed to
 * everyone else (0700); one that admits others needs HANDOFF_DIR set to a
 * directory it owns that nobody else can write (e.g. 0711).  Errors: as
 * handoff_listen; EINVAL for a malformed SID; EACCES for widened access
 * without a suitable HANDOFF_DIR. */
HANDOFF_EXTERN int handoff_listen_ex(const char *name,
                                     const handoff_access_t *access,
                                     handoff_listener_t **out);

/* ---- Spawning a child with a channel ----------------------------------- */

/* Start argv[0] (searched in PATH if it contains no directory separator)
 * with arguments argv (NULL-terminated) and a channel to it.  The child
 * inherits that channel and nothing else: its stdin, stdout and stderr are
 * the parent's, and no other descriptor or handle of the parent reaches it,
 * not even ones the caller left inheritable (POSIX: all others are closed
 * in the child before exec; Windows: an explicit handle list).  The child gets the channel with
 * handoff_inherited().  On success *chan and *proc are owned by the caller:
 * close the channel with handoff_close and reap the child with
 * handoff_wait.  Errors: EINVAL, ENOENT (program not found), EACCES
 * (not executable), ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_spawn(const char *const argv[],
                                 handoff_chan_t **chan, handoff_proc_t **proc);

/* In a child started by handoff_spawn: take the inherited channel.  It is
 * made non-inheritable again, so the child's own children do not get it.
 * The child trusts its parent on this channel: on POSIX received
 * descriptors are not re-checked to be sockets here (the parent chose this
 * process's program, environment and descriptors, so the check would guard
 * against nothing, and it costs a system call per socket); every other
 * channel, including the parent's side of this one, checks them.
 * Only the first call succeeds.  Errors: EINVAL (NULL out), ENOENT (this
 * process was not started by handoff_spawn, or the channel was already
 * taken), ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_inherited(handoff_chan_t **out);

/* Wait up to timeout_ms for the child to exit.  On 0, *exit_code (if not
 * NULL) is its exit status (POSIX: 128 + signal number if a signal killed
 * it) and p is freed.  On any error p stays valid and owned by the caller.
 * Errors: EINVAL, ETIMEDOUT, ESYS. */
HANDOFF_EXTERN int handoff_wait(handoff_proc_t *p, int timeout_ms,
                                int *exit_code);

/* Forcibly end the child (SIGKILL / TerminateProcess with 137, so that
 * handoff_wait reports 137 on both).  p stays valid: reap it with
 * handoff_wait.  Errors: EINVAL, EACCES (not allowed), ESYS. */
HANDOFF_EXTERN int handoff_kill(handoff_proc_t *p);

/* The child's process id, or -1 for NULL. */
HANDOFF_EXTERN long handoff_proc_pid(const handoff_proc_t *p);

/* ---- Transferring sockets ---------------------------------------------- */

/*
 * One send is one message: 0..HANDOFF_MAX_SOCKS sockets plus
 * 0..HANDOFF_MAX_DATA bytes, delivered whole and in order, or not at all.
 *
 * Send nsocks sockets from socks and len bytes from data.  socks may be NULL
 * only when nsocks is 0, data only when len is 0.  The caller keeps
 * ownership of its sockets: on success it may close them at once, the peer
 * has its own copies.  Errors (on each of them nothing was sent and the
 * channel stays usable unless the error says the peer is gone):
 *  EINVAL    c is NULL, or NULL socks/data with a non-zero count.
 *  ETOOBIG   nsocks > HANDOFF_MAX_SOCKS or len > HANDOFF_MAX_DATA (or the
 *            smaller limits the peer announced in the handshake).
 *  ENOTSOCK  an entry of socks is not an open socket.
 *  ETIMEDOUT the peer did not make room within timeout_ms.
 *  ECLOSED   the peer closed the channel or exited (never SIGPIPE); what
 *            it sent before stays readable with handoff_recv.
 *  EPROTO    the channel failed earlier (the peer sent garbage).
 *  ENOMEM, ESYS  out of memory / other OS failure.
 */
HANDOFF_EXTERN int handoff_send(handoff_chan_t *c, const handoff_sock_t *socks,
                                size_t nsocks, const void *data, size_t len,
                                int timeout_ms);

/*
 * Receive one message.  *nsocks and *len are capacities in, counts out.
 * socks may be NULL only if nsocks is NULL or *nsocks is 0; likewise data
 * and len.  On success the caller owns the *nsocks received sockets, which
 * are close-on-exec / not inheritable.  Errors:
 *  EINVAL    c is NULL, or a NULL buffer with a non-zero capacity.
 *  ETOOBIG   the message does not fit: *nsocks and *len are set to what it
 *            needs, and nothing is lost: the next call with room returns
 *            this same message.
 *  ETIMEDOUT nothing arrived within timeout_ms; nothing is lost.
 *  ECLOSED   the peer closed the channel or exited.
 *  ETRUNC    sockets were lost in transit (for example this process ran out
 *            of descriptors).  The sockets that did arrive are closed, the
 *            message is dropped, and the channel stays usable.
 *  ENOTSOCK  (POSIX) the peer sent descriptors that are not sockets:
 *            they are closed, the message is dropped, the channel stays
 *            usable.
 *  EPROTO    the peer sent something malformed, or its HELLO (checked by
 *            the first recv) was of another version; anything it carried
 *            is closed and the channel is failed (later calls return
 *            EPROTO).
 *  ENOMEM, ESYS  out of memory / other OS failure.
 * Windows: a received socket is the sender's socket, shared: it keeps the
 * sender's non-blocking mode, WSAEventSelect/WSAAsyncSelect registration
 * and I/O completion port binding.  A socket the sender bound to a
 * completion port cannot be bound to one in the receiver (.NET and libuv
 * document the same): send sockets not yet bound, and set the mode you
 * need after receiving.
 */
HANDOFF_EXTERN int handoff_recv(handoff_chan_t *c, handoff_sock_t *socks,
                                size_t *nsocks, void *data, size_t *len,
                                int timeout_ms);

/* ---- Event loops --------------------------------------------------------- */

/*
 * Every call can be used without blocking: with timeout_ms 0 it returns
 * HANDOFF_ETIMEDOUT at once when it cannot complete, and loses nothing:
 *  - handoff_recv: nothing was taken; a message arriving later is whole.
 *  - handoff_send: nothing was sent (a message goes whole or not at all).
 *  - handoff_accept: no connection was taken.  accept never waits for a
 *    peer: it checks the peer's identity from the OS and answers at once;
 *    the peer's HELLO is checked by the first handoff_recv on the channel.
 *  - handoff_connect is the exception: it is a round trip to the listener
 *    (timeout 0 means "only if the listener answers at once").
 * To wait for readiness, put the object's waitable in your loop:
 *  - POSIX: a descriptor; poll for POLLIN (or EPOLLIN / EVFILT_READ).
 *  - Windows: a manual-reset event for WaitForMultipleObjects.  It is set
 *    while a message (or a connection) may be ready; the library re-arms it
 *    inside handoff_recv / handoff_accept.
 * When it fires, call handoff_recv / handoff_accept with timeout 0 until it
 * returns HANDOFF_ETIMEDOUT (a wake-up may also be spurious).  After
 * HANDOFF_ETOOBIG retry at once with larger buffers: the held message does
 * not make the waitable fire again on POSIX.  The waitable stays owned by
 * the library and valid until the object is closed: never close it, read
 * from it or reset it yourself.  Errors: EINVAL.
 */
HANDOFF_EXTERN int handoff_chan_waitable(handoff_chan_t *c,
                                         handoff_waitable_t *out);
HANDOFF_EXTERN int handoff_listener_waitable(handoff_listener_t *l,
                                             handoff_waitable_t *out);

/* ---- Closing ----------------------------------------------------------- */

/* Close the channel.  Sockets that arrived but were never returned by
 * handoff_recv are closed.  NULL is a no-op. */
HANDOFF_EXTERN void handoff_close(handoff_chan_t *c);

#ifdef __cplusplus
}
#endif

#endif /* HANDOFF_H */
