/* handoff_version(3) EXAMPLES: prints the linked version, which must be
 * the header's (this program links the library it was built with). */
#include "harness.h"

int main(void) {
  {
#include "man-version.inc"
    return v == HANDOFF_VERSION_HEX ? 0 : 1;
  }
}
