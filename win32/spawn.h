/* win32/cmdline.c, as win32/spawn.c uses it. */
#ifndef HANDOFF_WIN32_SPAWN_H
#define HANDOFF_WIN32_SPAWN_H

#include "internal.h"

/* argv as one command line (malloc'd), quoted for CommandLineToArgvW and
 * the C runtime.  EINVAL (not UTF-8, or longer than CreateProcessW takes:
 * 32,767 characters with the terminator), ENOENT (an empty program or one
 * with a quote), ENOMEM. */
int handoff__win_cmdline(const char *const argv[], WCHAR **out);
/* argv0 resolved as include/handoff.h says (malloc'd path): ENOENT, EINVAL
 * (a batch file, or not UTF-8), ENOMEM. */
int handoff__win_find_program(const char *argv0, WCHAR **out);

#endif
