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
 * did not come from the OS.  Per thread wherever the compiler has C11
 * _Thread_local or GNU __thread (gcc, clang: configure checks); built
 * with a compiler that has neither, it is one value per process. */
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
 * rendezvous path too long for a socket address: "<dir>/<name>.sock" and
 * its NUL must fit in sun_path, 108 bytes on Linux, 104 on macOS and the
 * BSDs; handoff_connect checks the same), EADDRINUSE, EACCES
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
 * are not affected.  In a forked child, releases the child's copy but not
 * the name (see "fork() without exec" below).  NULL is a no-op. */
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

/* Fill *out with the peer of c.  Sources: POSIX SO_PEERCRED (Linux;
 * OpenBSD's struct sockpeercred), LOCAL_PEEREID (NetBSD), LOCAL_PEERCRED
 * (FreeBSD, macOS: pid from xucred's cr_pid on FreeBSD 13 and later, from
 * LOCAL_PEERPID on macOS, else -1), getpeerucred (illumos, Solaris), else
 * getpeereid (pid -1); Windows
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
 * setting HANDOFF_SERVER_SID to that user's SID (see handoff_connect).
 *
 * Windows: what a peer can do to the receiving process.  A socket arrives
 * as a WSAPROTOCOL_INFOW, which names a handle value the sender's
 * WSADuplicateSocketW made in the receiver: it is the peer's claim, not a
 * capability.  Each channel decides once, when the peer's identity is
 * taken, whether the peer could itself have put a handle into this
 * process (an AccessCheck of this process's security descriptor against
 * the peer's token for PROCESS_DUP_HANDLE, or a token holding
 * SeDebugPrivilege).  Such a peer (by default any process of our own user
 * at our integrity level or above) has its infos imported; it could
 * equally duplicate, or close, any handle of ours with DuplicateHandle,
 * so an info of its naming one of our own handles gives the caller that
 * handle, and closing it closes ours.  Every socket a frame of its that is
 * rejected carried is closed.  A peer that could not (a refused one,
 * another user admitted here, a lower integrity level) cannot have made a
 * handle here: nothing it names is imported or closed, and a message of
 * its carrying sockets fails the channel with HANDOFF_EPROTO; it can send
 * data only, and receive sockets only if we may open its process. */
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

/* Start argv[0] with arguments argv (NULL-terminated) and a channel to it.
 * The program is found as follows, never through a shell or interpreter:
 *  - POSIX: a name containing '/' is used as given, any other is searched
 *    in PATH (as execvp, without running non-executables through sh).
 *  - Windows: a name containing '\\', '/' or ':' is used as given, any
 *    other is searched in the directories of PATH only (not the program's
 *    own directory nor the current one, which CreateProcess would search
 *    first); ".exe" is added when the last component has no extension.
 *    The file found is passed to CreateProcessW as the application name.
 *    Batch files (.bat, .cmd, any case) are refused with EINVAL, also when
 *    a name without extension would find one through PATHEXT: Windows
 *    runs them through cmd.exe, which would parse the arguments again
 *    (the "BatBadBut" class).  The quoted command line, terminator
 *    included, must fit in 32,767 characters; a longer one is refused
 *    with EINVAL before anything is created (Windows would cut it).
 * The child inherits that channel and nothing else: its stdin, stdout and
 * stderr are the parent's, and no other descriptor or handle of the parent
 * reaches it, not even ones the caller left inheritable (POSIX: all others
 * are closed in the child before exec, with close_range/closefrom, else a
 * listing of the open descriptors, else every number up to RLIMIT_NOFILE;
 * Windows: an explicit handle list).  The child gets the channel with
 * handoff_inherited().
 * Descriptors spawn creates are close-on-exec from their creation where
 * the OS allows (pipe2 with O_CLOEXEC, SOCK_CLOEXEC); where it does not
 * (no pipe2 or SOCK_CLOEXEC, e.g. macOS), a fork+exec by another thread
 * during the call can inherit them, and spawn then waits for that program
 * to exit.  Windows: the child's channel end and its copies of stdio are
 * inheritable only for the duration of the CreateProcessW call; a
 * CreateProcess with bInheritHandles=TRUE and no handle list made by
 * another thread at that moment would inherit them (Windows has no way to
 * exclude a handle from such a call).
 * On success *chan and *proc are owned by the caller: close the channel
 * with handoff_close, and reap the child with handoff_wait (or release it
 * with handoff_proc_free).  Errors: EINVAL (a NULL argument, an empty
 * argv; Windows: a batch file, a command line over 32,767 characters),
 * ENOENT (program not found), EACCES (not executable: no permission, or
 * not a program the OS can load: POSIX ENOEXEC, Windows
 * ERROR_BAD_EXE_FORMAT), ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_spawn(const char *const argv[],
                                 handoff_chan_t **chan, handoff_proc_t **proc);

/* In a child started by handoff_spawn: take the inherited channel.  It is
 * made non-inheritable again, so the child's own children do not get it.
 * The child trusts its parent on this channel: on POSIX received
 * descriptors are not re-checked to be sockets here (the parent chose this
 * process's program, environment and descriptors, so the check would guard
 * against nothing, and it costs a system call per socket); see
 * handoff_recv's ENOTSOCK for which channels check them.
 * Only the first call succeeds.  Errors: EINVAL (NULL out), ENOENT (this
 * process was not started by handoff_spawn, or the channel was already
 * taken), ENOMEM, ESYS. */
HANDOFF_EXTERN int handoff_inherited(handoff_chan_t **out);

/* How the library holds a child, so that it never acts on a process that is
 * not its child: Linux 5.4 and later, a pidfd (from clone3 with CLONE_PIDFD,
 * or pidfd_open right after fork); FreeBSD, a process descriptor (pdfork);
 * Windows, the process handle, which keeps the process id from being
 * reused while it is open.  Elsewhere (macOS, the other BSDs, older Linux)
 * only the pid is held, and wait and kill first ask the kernel (waitid with
 * WNOWAIT) whether it is still this process's unreaped child; if another
 * thread of the application reaps it (waitpid(-1)) between that check and
 * the kill() or waitpid() that follows and the pid is reused at once, the
 * signal or the wait reaches the new process: avoid reaping children you
 * did not start on those systems, or use handoff_proc_free first.
 * An application that reaps children itself (SIGCHLD set to SIG_IGN, or a
 * handler calling waitpid(-1)) loses their exit status; the library then
 * reports them as below and loses nothing else. */

/* Wait up to timeout_ms for the child to exit.  On 0, *exit_code (if not
 * NULL) is its exit status (POSIX: 128 + signal number if a signal killed
 * it) and p is freed.  On ECLOSED the child was reaped by someone else
 * (POSIX: SIGCHLD ignored or waitpid by the application) so its status is
 * lost: *exit_code (if not NULL) is -1 and p is freed too.  On any other
 * error p stays valid and owned by the caller.  Does not poll where the OS
 * gives a waitable (below); elsewhere it checks with growing sleeps of at
 * most 32 ms.  Errors: EINVAL, ETIMEDOUT, ECLOSED, ESYS. */
HANDOFF_EXTERN int handoff_wait(handoff_proc_t *p, int timeout_ms,
                                int *exit_code);

/* Forcibly end the child (SIGKILL / TerminateProcess with 137, so that
 * handoff_wait reports 137 on both).  A child that has already exited is
 * not signalled and this returns 0.  p stays valid: reap it with
 * handoff_wait.  Errors: EINVAL, ECLOSED (POSIX: the child was reaped by
 * someone else; nothing was signalled), EACCES (not allowed), ESYS. */
HANDOFF_EXTERN int handoff_kill(handoff_proc_t *p);

/* Release p without waiting: the child keeps running, and the library
 * will never signal or wait for it.  On POSIX it then becomes a zombie when
 * it exits unless the application reaps it (waitpid with its pid, which
 * handoff_proc_pid gave, or SIGCHLD ignored).  Use it when the application
 * reaps its own children.  The channel is not affected.  NULL is ignored. */
HANDOFF_EXTERN void handoff_proc_free(handoff_proc_t *p);

/* A waitable that becomes ready when the child exits (or, POSIX, is
 * reaped by someone else), so that an event loop learns of it without
 * polling; then call handoff_wait(p, 0, ...) to reap it.  It stays ready
 * from then on.  What it is:
 *  - Linux 5.4+: the pidfd (poll: POLLIN).  FreeBSD: the process
 *    descriptor (poll: POLLHUP; kqueue: EVFILT_PROCDESC).
 *  - Other POSIX systems and older Linux: the read end of a pipe whose
 *    write end a thread of the library closes when waitid (without
 *    reaping) reports the child's exit (poll: POLLIN|POLLHUP); the thread
 *    is started by the first call and costs one thread per child until it
 *    exits.  With SIGCHLD ignored and other children running, some systems
 *    report the exit only when every child has exited.
 *  - Windows: the process handle (WaitForMultipleObjects); signalled
 *    when the process exits.
 * It stays owned by the library and valid until handoff_wait frees p or
 * handoff_proc_free: never close it, read it or wait on it with a
 * reaping call yourself.  Errors: EINVAL, ENOMEM, ESYS (no thread or pipe
 * could be created for the fallback). */
HANDOFF_EXTERN int handoff_proc_waitable(handoff_proc_t *p,
                                         handoff_waitable_t *out);

/* The child's process id, or -1 for NULL. */
HANDOFF_EXTERN long handoff_proc_pid(const handoff_proc_t *p);

/* ---- Transferring sockets ---------------------------------------------- */

/*
 * One send is one message: 0..HANDOFF_MAX_SOCKS sockets plus
 * 0..HANDOFF_MAX_DATA bytes, delivered whole and in order, or not at all.
 * (POSIX built with the stream transport, doc/protocol.md: a send whose
 * first bytes reached the kernel returns 0 even if the rest could not be
 * written by its timeout; the channel keeps the rest and writes it before
 * the next message, whose send returns ETIMEDOUT, unsent, while any of it
 * is left; handoff_close waits up to a second to write it.  The receiver
 * still gets the message whole.)
 *
 * Send nsocks sockets from socks and len bytes from data.  socks may be NULL
 * only when nsocks is 0, data only when len is 0.  The caller keeps
 * ownership of its sockets: on success it may close them at once, the peer
 * has its own copies.  Errors (on each of them nothing was sent and the
 * channel stays usable unless the error says the peer is gone):
 *  EINVAL    c is NULL, or NULL socks/data with a non-zero count.
 *  ETOOBIG   nsocks > HANDOFF_MAX_SOCKS or len > HANDOFF_MAX_DATA (or the
 *            smaller limits the peer announced in the handshake).
 *  ENOTSOCK  an entry of socks is not an open socket.  POSIX checks that
 *            an open descriptor is a socket (one system call each) except
 *            towards a peer the kernel reports as this process's own
 *            effective user: a named peer of that user, or the parent of a
 *            child that took its channel with handoff_inherited (and is not
 *            set-user-ID).  Such a peer could take any descriptor of ours
 *            itself (ptrace), so it gets what we send as given, as sendmsg
 *            would, and only a closed descriptor is ENOTSOCK there (the
 *            parent's side still checks what it receives).  The check can only catch the caller's own
 *            mistake; it stays where that mistake could hand a descriptor
 *            to a process of another user, a spawned child (which may have
 *            dropped privileges) or the parent of a set-user-ID child.
 *            The kernel reports a named peer's user as of its connect (or
 *            listen): a peer that changes user later is still taken for
 *            the one it was: what is sent to a named peer that drops
 *            privileges after connecting is not checked.
 *            Windows: always (WSADuplicateSocketW refuses a non-socket).
 *  ETIMEDOUT the peer did not make room within timeout_ms.  (Linux also
 *            limits how many of a user's descriptors may be in flight, not
 *            yet received, to the sender's RLIMIT_NOFILE: over it a send
 *            waits as for room, until the peer takes some or the timeout
 *            passes; handoff_last_oserror() is then ETOOMANYREFS.)
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
 *            usable.  A sending handoff sends none except to a peer of
 *            its own user (see handoff_send); the receiver
 *            checks (one system call per descriptor) only where a peer
 *            could gain by lying: a named peer of another user (admitted
 *            by handoff_listen_ex) and the parent's side of a spawned
 *            channel (the child may run a set-user-ID program).  From a
 *            named peer running as this process's own effective user, or
 *            from the parent, descriptors are passed on unchecked: such a
 *            peer can already do anything to this process (ptrace, its
 *            memory), so a peer that bypasses handoff to send a non-socket
 *            hands the caller exactly that descriptor.
 *  EPROTO    the peer sent something malformed, or its HELLO (checked by
 *            the first recv) was of another version; anything it carried
 *            is closed, whatever its type or count, and the channel is
 *            failed (later calls return EPROTO).  Windows: also a message
 *            carrying sockets from a peer that could not have put them
 *            into this process (see handoff_access_t); nothing it names
 *            is touched.
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
 * from it or reset it yourself.
 *
 * What a channel's waitable reports (POSIX poll revents; Windows event):
 *  - nothing queued: not ready; not set.
 *  - messages queued: POLLIN; set.
 *  - the peer closed or exited: POLLIN|POLLHUP, plus POLLERR if the peer
 *    left without receiving what this side had sent it (for example this
 *    side's HELLO); set.  The messages it sent before are still queued.
 * In each state handoff_recv(..., 0) returns the queued messages first:
 * keep calling it until HANDOFF_ECLOSED (the peer is gone and everything
 * it sent has been taken) or HANDOFF_EPROTO, then take the waitable out of
 * the loop and close the channel; it stays ready, so a loop that goes on
 * waiting on it spins.  POLLHUP and POLLERR are no reason to stop
 * receiving, and HANDOFF_ETRUNC / HANDOFF_ENOTSOCK drop one message only.
 * libuv's uv_poll reports POLLERR as status UV_EBADF and stops the handle
 * with messages still queued: receive until HANDOFF_ECLOSED all the same
 * (examples/libuv-worker.c).
 */
/* Errors: EINVAL. */
HANDOFF_EXTERN int handoff_chan_waitable(handoff_chan_t *c,
                                         handoff_waitable_t *out);
/* Errors: EINVAL; on Windows also ENOMEM, EACCES, ESYS when no pipe
 * instance waits for a client (an earlier attempt to create one failed)
 * and creating it now fails. */
HANDOFF_EXTERN int handoff_listener_waitable(handoff_listener_t *l,
                                             handoff_waitable_t *out);

/*
 * Back-pressure: wait for room to send.  A peer that does not read fills
 * its channel; handoff_send with timeout 0 then returns HANDOFF_ETIMEDOUT
 * (nothing sent).  Put this waitable in your loop and retry the send when
 * it fires:
 *  - POSIX: the channel's descriptor (the same one handoff_chan_waitable
 *    gives); poll it for POLLOUT (EPOLLOUT / EVFILT_WRITE).  It fires when
 *    the kernel has room again; a large message may still not fit at once
 *    (then handoff_send returns ETIMEDOUT again: wait again).  With epoll,
 *    register the descriptor once for EPOLLIN | EPOLLOUT.
 *  - Windows: a manual-reset event, set while the channel has no message
 *    waiting for the pipe.  A message the pipe cannot take at once is kept
 *    by the channel and written as soon as the peer reads (handoff_send has
 *    returned 0 for it, as a POSIX send returns once the kernel has the
 *    bytes); the event is reset until then, and the next handoff_send waits
 *    for it within its own timeout.  handoff_close gives such a message up
 *    to one second to go out, then drops it.
 * The waitable stays owned by the library and valid until the channel is
 * closed.  It counts as a send call for the one-sender/one-receiver thread
 * rule.  Errors: EINVAL.
 */
HANDOFF_EXTERN int handoff_chan_send_waitable(handoff_chan_t *c,
                                              handoff_waitable_t *out);
/* ---- fork() without exec (POSIX) ---------------------------------------- */

/*
 * A process that calls fork() gives its child a copy of every handoff
 * object (handoff_spawn's children get none of them: they exec, and
 * everything the library opens is close-on-exec).  What the child may do
 * with each copy:
 *  - listener: accept on it (each connection goes to one of the processes
 *    accepting), or close it with handoff_listener_close, which releases
 *    the child's descriptors and memory but never removes the name: only
 *    the process that called handoff_listen removes it, when it closes its
 *    listener.  The name stays reserved while any copy is open, so a child
 *    that keeps its copy after the creator closed keeps the name from a new
 *    listener (HANDOFF_EADDRINUSE) although nobody can connect to it:
 *    close the copies you do not use.
 *  - channel: use each channel in one process only.  Both copies share one
 *    connection, so a message goes to whichever process reads first, and a
 *    message held after HANDOFF_ETOOBIG is held (with its sockets) in both.
 *    The other process closes its copy with handoff_close, which closes
 *    only its own descriptors; the peer sees the channel end when every
 *    copy is closed.
 *  - proc: only the process that called handoff_spawn may handoff_wait or
 *    handoff_kill: the child process is not the forked child's child, and
 *    only its parent knows whether it has been reaped.  Leave the copy
 *    alone (exec or exit releases it).
 *  - waitable: a copied object's waitable is that process's own copy,
 *    valid until that process closes the object.
 * Windows has no fork: none of this applies there.
 */

/* ---- Closing ----------------------------------------------------------- */

/* Close the channel.  Sockets that arrived but were never returned by
 * handoff_recv are closed.  NULL is a no-op. */
HANDOFF_EXTERN void handoff_close(handoff_chan_t *c);

#ifdef __cplusplus
}
#endif

#endif /* HANDOFF_H */
