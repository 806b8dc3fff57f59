/* Stands in for an example (or its test) that cannot run in this build,
 * say on Windows for a POSIX-only one: prints why and exits 77, which the
 * test driver reports as skipped. */
#include <stdio.h>

int main(void) {
  printf("SKIP: %s\n", EXAMPLE_SKIP);
  return 77;
}
