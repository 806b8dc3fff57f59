/* A socket handoff between two builds of the library for different
 * architectures (the linux-s390x leg of scripts/test: big-endian s390x
 * under qemu-user and little-endian x86_64), both ways, through both ways
 * of making a channel.
 *
 *   xarch parent OTHER     listen on a name, start OTHER (the other build
 *                          of this program) with handoff_spawn, accept its
 *                          connection, and exchange with it
 *   xarch child NAME       (started by parent) take the inherited channel,
 *                          connect to NAME, and exchange
 *
 * Each direction sends one end of a fresh socket pair plus a payload whose
 * length reads differently in the other byte order (300 = 0x012c, 777 =
 * 0x0309), and the receiver answers through the socket it got.  Exits 0
 * when every step held.  POSIX only. */
#include <handoff.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *arch(void) {
  const unsigned one = 1;
  return *(const unsigned char *)&one ? "little-endian" : "big-endian";
}

static int fail(const char *who, const char *what, int r) {
  fprintf(stderr, "xarch %s (%s): %s: %s\n", who, arch(), what,
          r ? handoff_strerror(r) : "wrong");
  return 1;
}

static void pattern(char *buf, size_t len, unsigned seed) {
  size_t i;
  for (i = 0; i < len; i++) buf[i] = (char)((i * 7 + seed) & 0xff);
}

/* Send one end of a new socket pair with len pattern bytes; read the
 * receiver's answer from the other end. */
static int give(const char *who, handoff_chan_t *c, size_t len, unsigned seed) {
  int sv[2], r;
  char data[1024], answer[64];
  ssize_t n;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return fail(who, "socketpair", 0);
  pattern(data, len, seed);
  r = handoff_send(c, &sv[1], 1, data, len, 10000);
  close(sv[1]);
  if (r != 0) return fail(who, "handoff_send", r);
  n = read(sv[0], answer, sizeof answer - 1);
  close(sv[0]);
  if (n <= 0) return fail(who, "no answer through the socket", 0);
  answer[n] = '\0';
  printf("xarch %s (%s): sent a socket and %zu bytes, answer: %s\n", who, arch(), len, answer);
  return strncmp(answer, "got ", 4) != 0 ? fail(who, "answer", 0) : 0;
}

/* Receive one socket and exactly len pattern bytes; answer through it. */
static int take(const char *who, handoff_chan_t *c, size_t len, unsigned seed) {
  handoff_sock_t s;
  size_t ns = 1, got;
  char data[1024], want[1024], answer[64];
  int r, n;
  got = sizeof data;
  r = handoff_recv(c, &s, &ns, data, &got, 10000);
  if (r != 0) return fail(who, "handoff_recv", r);
  if (ns != 1) return fail(who, "socket count", 0);
  pattern(want, len, seed);
  if (got != len || memcmp(data, want, len) != 0) {
    close(s);
    return fail(who, "payload", 0);
  }
  n = snprintf(answer, sizeof answer, "got %zu bytes on %s", got, arch());
  r = write(s, answer, (size_t)n) == n ? 0 : fail(who, "write to the received socket", 0);
  close(s);
  return r;
}

static int child(const char *name) {
  handoff_chan_t *inherited, *conn;
  int r = handoff_inherited(&inherited);
  if (r != 0) return fail("child", "handoff_inherited", r);
  if ((r = handoff_connect(name, 10000, &conn)) != 0) return fail("child", "handoff_connect", r);
  r = take("child", inherited, 300, 1) || give("child", conn, 777, 2);
  handoff_close(conn);
  handoff_close(inherited);
  return r;
}

static int parent(const char *other) {
  char name[64];
  const char *argv[4];
  handoff_listener_t *l;
  handoff_chan_t *spawned, *accepted;
  handoff_proc_t *proc;
  handoff_peer_t peer;
  int r, code = -1;
  snprintf(name, sizeof name, "xarch-%ld", (long)getpid());
  if ((r = handoff_listen(name, &l)) != 0) return fail("parent", "handoff_listen", r);
  argv[0] = other;
  argv[1] = "child";
  argv[2] = name;
  argv[3] = NULL;
  if ((r = handoff_spawn(argv, &spawned, &proc)) != 0) return fail("parent", "handoff_spawn", r);
  if ((r = handoff_accept(l, 10000, &accepted)) != 0) return fail("parent", "handoff_accept", r);
  handoff_listener_close(l);
  if ((r = handoff_peer(accepted, &peer)) != 0) return fail("parent", "handoff_peer", r);
  if (peer.pid != handoff_proc_pid(proc)) return fail("parent", "peer pid", 0);
  r = give("parent", spawned, 300, 1) || take("parent", accepted, 777, 2);
  handoff_close(accepted);
  handoff_close(spawned);
  if (handoff_wait(proc, 10000, &code) != 0 || code != 0) r = fail("parent", "child's exit", 0);
  if (r == 0) printf("xarch: %s parent, child %s: ok\n", arch(), other);
  return r;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "parent") == 0) return parent(argv[2]);
  if (argc == 3 && strcmp(argv[1], "child") == 0) return child(argv[2]);
  fprintf(stderr, "usage: xarch parent OTHER-PROGRAM | xarch child NAME\n");
  return 2;
}
