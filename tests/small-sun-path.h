/* Make a Linux build see the 104-byte sun_path of macOS and the BSDs, to
 * check the path-length limits under AddressSanitizer where the overflow
 * would show (issue 10 item 3).  Configure normally, then build with
 *   make CPPFLAGS="-include $srcdir/tests/small-sun-path.h" tests/conformance
 * (not at configure time: it would break configure's own probes).  Every
 * struct sockaddr_un in the library and the tests becomes this one; Linux
 * takes the shorter address, since its length is passed with it. */
#ifndef HANDOFF_SMALL_SUN_PATH_H
#define HANDOFF_SMALL_SUN_PATH_H
#define _GNU_SOURCE 1 /* before the first system header, as config.h would */
#include <sys/socket.h>
#include <sys/un.h>
struct handoff_small_sun {
  sa_family_t sun_family;
  char sun_path[104];
};
#define sockaddr_un handoff_small_sun
#endif
