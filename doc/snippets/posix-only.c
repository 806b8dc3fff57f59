/* Stands in, on Windows, for a documentation code block that is POSIX only
 * (poll(2), <sys/socket.h>...): reported as skipped by the test driver. */
#include <stdio.h>

int main(void) {
  printf("SKIP: %s: a POSIX-only code block\n", SNIPPET_NAME);
  return 77;
}
