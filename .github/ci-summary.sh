#!/bin/sh
# ci-summary.sh LABEL: print "LABEL: N passed, F failed, S skipped" from the
# conformance log, counted as ./scripts/test counts it (skipped cases
# return early, so Check counted them as passed).
log=tests/conformance.log
line=$(tr -d '\r' <"$log" 2>/dev/null | grep -E 'Checks: [0-9]+' | tail -n 1)
if [ -z "$line" ]; then
    echo "$1: 0 passed, 1 failed (no Check summary)"
    tail -n 40 "$log" test-suite.log 2>/dev/null
    exit 0
fi
checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
fails=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
errors=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
skips=$(tr -d '\r' <"$log" | sed -nE 's/^Skipped: ([0-9]+)$/\1/p' | tail -n 1)
skips=${skips:-0}
tr -d '\r' <"$log" | grep -E '^SKIP: |:[EF]:'
echo "$1: $((checks - fails - errors - skips)) passed, $((fails + errors)) failed, $skips skipped"
