/* Shared by the programs that run the documentation's code blocks
 * (doc/snippets/extract): a private rendezvous directory, re-running this
 * program as a second process, and the platform calls a scenario needs.
 * Each doc/snippets/NAME.c includes NAME.inc, the block as the document
 * has it, and exits 0 only if the block did what the document says. */
#ifndef HANDOFF_SNIPPET_HARNESS_H
#define HANDOFF_SNIPPET_HARNESS_H

#include <handoff.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#define h_closesock closesocket
static inline void h_sleep_ms(int ms) { Sleep((DWORD)ms); }
/* Pipe names are per Wine server / per session: nothing to isolate. */
static inline int h_private_dir(void) {
  WSADATA w;
  return WSAStartup(MAKEWORD(2, 2), &w) == 0 ? 0 : -1;
}
#else
#include <sys/stat.h>
#include <unistd.h>
#define h_closesock close
static inline void h_sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }
/* Fixed names such as "demo" would collide with other runs of the suite:
 * each program gets its own rendezvous directory (children inherit it). */
static char h_dir[256];
static inline void h_rmdir(void) {
  if (h_dir[0] != '\0') rmdir(h_dir);
}
static inline int h_private_dir(void) {
  const char *t = getenv("TMPDIR");
  if (getenv("HANDOFF_SNIPPET_DIR") != NULL) return 0; /* a child: inherited */
  snprintf(h_dir, sizeof h_dir, "%s/handoff-snippet-XXXXXX", t && *t ? t : "/tmp");
  if (mkdtemp(h_dir) == NULL) return -1;
  setenv("HANDOFF_DIR", h_dir, 1);
  setenv("HANDOFF_SNIPPET_DIR", h_dir, 1);
  atexit(h_rmdir);
  return 0;
}
#endif

/* Start this program again as "argv0 role"; the channel is unused unless
 * the scenario wants it. */
static inline int h_spawn_self(const char *argv0, const char *role, handoff_chan_t **c,
                        handoff_proc_t **p) {
  const char *args[3];
  args[0] = argv0;
  args[1] = role;
  args[2] = NULL;
  return handoff_spawn(args, c, p);
}

/* Wait (bounded) for a helper; kill it if it hangs.  Returns its exit code,
 * or -1. */
static inline int h_reap(handoff_proc_t *p, int ms) {
  int code = -1;
  if (handoff_wait(p, ms, &code) != 0) {
    fprintf(stderr, "snippet: helper did not exit within %d ms: killed\n", ms);
    handoff_kill(p);
    handoff_wait(p, 5000, &code);
    return -1;
  }
  return code;
}

#endif
