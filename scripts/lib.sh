# shellcheck shell=bash
# Functions shared by scripts/bench, scripts/soak and scripts/demo.
# Source it after scripts/env.sh, with $top set to the checkout.

# build_for TARGET DIR MAKE-TARGET...: configure DIR (once) for TARGET,
# `native` or `windows` (x86_64 mingw-w64, run under Wine), and make the
# given targets (without .exe: it is added for Windows).  The output goes
# to DIR/build.log; on failure its tail is shown and the status is 1.
build_for() {
    local target=$1 dir=$2; shift 2
    local exe='' t targets=()
    [ "$target" = windows ] && exe=.exe
    for t in "$@"; do targets+=("$t$exe"); done
    mkdir -p "$dir"
    if ! (
        [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
        cd "$dir"
        if [ ! -f Makefile ]; then
            if [ "$target" = windows ]; then
                PKG_CONFIG_LIBDIR=$MINGW_PKG_CONFIG_PATH "$top/configure" --host="$HANDOFF_MINGW_HOST"
            else
                "$top/configure"
            fi
        fi
        make -j2 "${targets[@]}"
    ) >"$dir/build.log" 2>&1; then
        tail -n 40 "$dir/build.log"
        echo "$(basename "$0"): build failed (log: $dir/build.log)" >&2
        return 1
    fi
}
