# shellcheck shell=bash
# Environment shared by scripts/setup, scripts/test and scripts/demo.
# Source it:   source scripts/env.sh
# It only sets variables (no `set -e`, no output), so it is safe to source
# from an interactive shell too.

# Everything built or downloaded for the project lives here, outside the
# checkout, so it survives `git clean` and is shared by all checkouts.
export HANDOFF_CACHE="${HANDOFF_CACHE:-${HOME:-/tmp}/.cache/handoff}"

# The mingw-w64 (x86_64) host triplet used for the Windows cross build.
export HANDOFF_MINGW_HOST="${HANDOFF_MINGW_HOST:-x86_64-w64-mingw32}"

# Check unit-test library cross-built for mingw by scripts/setup.
export CHECK_MINGW_PREFIX="$HANDOFF_CACHE/check-mingw64"
# Pass as PKG_CONFIG_PATH (or PKG_CONFIG_LIBDIR) to a configure --host=mingw run.
export MINGW_PKG_CONFIG_PATH="$CHECK_MINGW_PREFIX/lib/pkgconfig"

# Private Wine prefix created by scripts/setup (never the user's ~/.wine).
export WINEPREFIX="$HANDOFF_CACHE/wineprefix"
# No Wine debug chatter (this also silences Debian's "wine32 is missing"
# hint), except the loader's errors: without err+module a program whose DLL
# is not found just exits with status 53 (0xC0000135) and says nothing.
export WINEDEBUG=-all,err+module
# Never offer to download/install Mono or Gecko (would want a display/network).
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"

# ---- The other CI legs of scripts/test (scripts/setup prepares them) ----
# Check for 32-bit Windows, like the x86_64 one.
export CHECK_MINGW32_PREFIX="$HANDOFF_CACHE/check-mingw32"
export MINGW32_PKG_CONFIG_PATH="$CHECK_MINGW32_PREFIX/lib/pkgconfig"
# 32-bit Wine unpacked from Debian's wine32:i386 and libwine:i386 (no i386
# dpkg architecture), and its own win32 prefix.  Pass WINE="$WINE32" on the
# make command line: the Makefile's WINE overrides the environment.
export WINE32_ROOT="$HANDOFF_CACHE/wine32"
export WINE32="$WINE32_ROOT/usr/lib/wine/wine"
export WINEPREFIX32="$HANDOFF_CACHE/wineprefix32"
# Check for Linux i386 (gcc -m32), musl (musl-gcc) and s390x.
export CHECK_I386_PREFIX="$HANDOFF_CACHE/check-i386"
export CHECK_MUSL_PREFIX="$HANDOFF_CACHE/check-musl"
export CHECK_S390X_PREFIX="$HANDOFF_CACHE/check-s390x"
# Big-endian Linux: clang with Debian's s390x cross libc and binutils; the
# programs run under qemu-user (binfmt_misc, registered by scripts/setup),
# which finds the s390x loader and libc under QEMU_LD_PREFIX.
export S390X_CC="clang --target=s390x-linux-gnu"
export S390X_SYSROOT=/usr/s390x-linux-gnu
