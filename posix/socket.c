/* Socket creation and set-up, and waiting for readiness. */
#include "posix/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int handoff__px_setup_fd(int fd) {
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
    return handoff__px_err(errno);
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return handoff__px_err(errno);
#if !HAVE_DECL_MSG_NOSIGNAL && HAVE_DECL_SO_NOSIGPIPE
  {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) < 0)
      return handoff__px_err(errno);
  }
#endif
  return 0;
}

int handoff__px_socket(int *out) {
  int fd, r;
#if HAVE_DECL_SOCK_CLOEXEC
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
  fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
#endif
  if (fd < 0) return handoff__px_err(errno);
  r = handoff__px_setup_fd(fd);
  if (r != 0) {
    close(fd);
    return r;
  }
  *out = fd;
  return 0;
}

int handoff__px_wait(int fd, short events, uint64_t deadline) {
  struct pollfd p;
  int n;
  for (;;) {
    p.fd = fd;
    p.events = events;
    p.revents = 0;
    n = poll(&p, 1, handoff__remaining(deadline));
    if (n > 0) return 0; /* ready, or HUP/ERR: the next call reports it */
    if (n == 0) return handoff__err(HANDOFF_ETIMEDOUT);
    if (errno != EINTR) return handoff__px_err(errno);
  }
}
