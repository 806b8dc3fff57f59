/* Named rendezvous: a SOCK_SEQPACKET socket "<name>.sock" in a per-user
 * 0700 directory, kept exclusive by flock() on "<name>.lock", which the
 * kernel releases when a listener dies, so stale names are reclaimed. */
#include "posix/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* How a rendezvous directory is used. */
enum { DIR_LISTEN, DIR_LISTEN_SHARED, DIR_CONNECT };

/* The rendezvous directory: $HANDOFF_DIR, else a per-user one we create.
 * Nobody but its owner may write it, so nobody else can plant a socket;
 * the per-user one must also be ours and closed to everyone else (0700).
 * A listener that admits others needs a HANDOFF_DIR it owns that others
 * may enter (e.g. 0711).  lstat, not stat: a symlink is refused. */
static int rendezvous_dir(char *out, size_t cap, int use) {
  const char *dir = getenv("HANDOFF_DIR");
  int explicit_dir = dir != NULL && dir[0] != '\0';
  struct stat st;
  int n;
  if (explicit_dir) {
    n = snprintf(out, cap, "%s", dir);
  } else {
    const char *tmp = getenv("TMPDIR");
    if (use == DIR_LISTEN_SHARED) return handoff__oserr(EACCES, HANDOFF_EACCES);
    if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
    n = snprintf(out, cap, "%s/handoff-%lu", tmp, (unsigned long)geteuid());
    if (n > 0 && (size_t)n < cap && use == DIR_LISTEN && mkdir(out, 0700) != 0 &&
        errno != EEXIST)
      return handoff__px_err(errno);
  }
  if (n <= 0 || (size_t)n >= cap) return handoff__err(HANDOFF_EINVAL);
  if (lstat(out, &st) != 0) return handoff__px_err(errno);
  if (!S_ISDIR(st.st_mode) || (st.st_mode & 022) != 0)
    return handoff__oserr(EACCES, HANDOFF_EACCES);
  if (use != DIR_CONNECT || !explicit_dir) {
    if (st.st_uid != geteuid()) return handoff__oserr(EACCES, HANDOFF_EACCES);
    if (use != DIR_LISTEN_SHARED && (st.st_mode & 077) != 0)
      return handoff__oserr(EACCES, HANDOFF_EACCES);
  }
  return 0;
}

/* "<dir>/<name><suffix>", which must fit in sun_path. */
static int name_path(const char *name, const char *suffix, int use,
                     char *out, size_t cap) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int n, r = handoff__check_name(name);
  if (r != 0) return handoff__err(r);
  r = rendezvous_dir(dir, sizeof dir, use);
  if (r != 0) return r;
  n = snprintf(out, cap, "%s/%s%s", dir, name, suffix);
  if (n <= 0 || (size_t)n >= cap) return handoff__err(HANDOFF_EINVAL);
  return 0;
}

static void fill_addr(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* Hold the name's lock file.  A closing listener unlinks it while it still
 * holds it, so a lock taken on a file no longer at the path means nothing:
 * check, and take the new file. */
static int lock_name(handoff_listener_t *l) {
  struct stat held, now;
  int tries;
  for (tries = 0; tries < 100; tries++) {
    l->lock_fd =
        open(l->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (l->lock_fd < 0) return handoff__px_err(errno);
    while (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      if (e == EINTR) continue;
      close(l->lock_fd);
      l->lock_fd = -1;
      return e == EWOULDBLOCK ? handoff__oserr(e, HANDOFF_EADDRINUSE)
                              : handoff__px_err(e);
    }
    if (fstat(l->lock_fd, &held) == 0 && lstat(l->lock_path, &now) == 0 &&
        held.st_dev == now.st_dev && held.st_ino == now.st_ino)
      return 0;
    close(l->lock_fd); /* unlinked under us: the name went round; again */
    l->lock_fd = -1;
  }
  return handoff__oserr(EAGAIN, HANDOFF_EADDRINUSE);
}

int handoff__be_listen(const char *name, const handoff_access_t *access,
                       handoff_listener_t **out) {
  struct sockaddr_un sa;
  handoff_listener_t *l;
  int r, shared;

  shared = access != NULL && ((access->flags & HANDOFF_ALLOW_ANYONE) != 0 ||
                              access->uid >= 0 || access->gid >= 0);
  l = malloc(sizeof *l);
  if (l == NULL) return handoff__err(HANDOFF_ENOMEM);
  l->fd = -1;
  l->lock_fd = -1;
  l->access.flags = access != NULL ? access->flags : 0;
  l->access.uid = access != NULL ? access->uid : -1;
  l->access.gid = access != NULL ? access->gid : -1;
  r = name_path(name, ".sock", shared ? DIR_LISTEN_SHARED : DIR_LISTEN,
                l->path, sizeof l->path);
  if (r == 0)
    r = name_path(name, ".lock", shared ? DIR_LISTEN_SHARED : DIR_LISTEN,
                  l->lock_path, sizeof l->lock_path);
  if (r == 0) r = lock_name(l);
  if (r != 0) goto fail;
  /* We hold the lock: whatever socket file is there is stale. */
  if (unlink(l->path) != 0 && errno != ENOENT) {
    r = handoff__px_err(errno);
    goto fail;
  }
  r = handoff__px_socket(&l->fd);
  if (r != 0) goto fail;
  fill_addr(&sa, l->path);
  /* connect(2) needs write access to the socket file: only the user's,
   * unless the caller admits others (then accept checks each peer). */
  if (bind(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      chmod(l->path, shared ? 0666 : 0600) != 0 ||
      listen(l->fd, SOMAXCONN) != 0) {
    r = handoff__px_err(errno);
    unlink(l->path);
    goto fail;
  }
  *out = l;
  return 0;
fail:
  if (l->fd >= 0) close(l->fd);
  if (l->lock_fd >= 0) close(l->lock_fd);
  free(l);
  return r;
}

int handoff__be_accept(handoff_listener_t *l, uint64_t deadline,
                       handoff_chan_t **out) {
  int fd, r;
  for (;;) {
#if HAVE_ACCEPT4 && HAVE_DECL_SOCK_CLOEXEC
    fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
#else
    fd = accept(l->fd, NULL, NULL);
#endif
    if (fd >= 0) break;
    if (errno == EINTR) continue;
    if (errno == ECONNABORTED) return HANDOFF__AGAIN;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return handoff__px_err(errno);
    r = handoff__px_wait(l->fd, POLLIN, deadline);
    if (r != 0) return r;
  }
  r = handoff__px_setup_fd(fd);
  if (r == 0) r = handoff__px_chan_new(fd, out);
  if (r != 0) {
    close(fd);
  } else if ((r = handoff__px_peer_creds(fd, &(*out)->core.peer)) != 0) {
    handoff_close(*out); /* closes fd */
  }
  /* Only running out of memory stops accept; a connection that failed in
   * any other way is dropped and the next one taken. */
  return r == 0 || r == HANDOFF_ENOMEM ? r : HANDOFF__AGAIN;
}

int handoff__be_listener_waitable(handoff_listener_t *l,
                                  handoff_waitable_t *out) {
  *out = l->fd;
  return 0;
}

void handoff_listener_close(handoff_listener_t *l) {
  if (l == NULL) return;
  close(l->fd);
  /* Both while we still hold the lock, so we never remove a successor's
   * files (lock_name re-checks the file it locked). */
  unlink(l->path);
  unlink(l->lock_path);
  close(l->lock_fd);
  free(l);
}

/* connect(2) on fd by deadline. */
static int connect_by(int fd, const struct sockaddr_un *sa, uint64_t deadline) {
  int r, err;
  socklen_t el = sizeof err;
  while (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
    if (errno == EINTR) continue;
    if (errno == EAGAIN) { /* Linux: the listener's backlog is full */
      if (handoff__remaining(deadline) == 0)
        return handoff__err(HANDOFF_ETIMEDOUT);
      usleep(1000);
      continue;
    }
    if (errno != EINPROGRESS) return handoff__px_err(errno);
    /* BSD: completes asynchronously. */
    r = handoff__px_wait(fd, POLLOUT, deadline);
    if (r != 0) return r;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
    return err == 0 ? 0 : handoff__px_err(err);
  }
  return 0;
}

int handoff__be_connect(const char *name, uint64_t deadline,
                        handoff_chan_t **out) {
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  struct sockaddr_un sa;
  int fd, r;

  r = name_path(name, ".sock", DIR_CONNECT, path, sizeof path); /* ENOENT */
  if (r != 0) return r;
  r = handoff__px_socket(&fd);
  if (r != 0) return r;
  fill_addr(&sa, path);
  r = connect_by(fd, &sa, deadline);
  if (r == 0) r = handoff__px_chan_new(fd, out);
  if (r != 0) {
    close(fd);
    return r;
  }
  r = handoff__px_peer_creds(fd, &(*out)->core.peer);
  if (r != 0) handoff_close(*out);
  return r;
}
