# Shared helpers for the end-to-end tests (sourced).
set -u
fails=0
passes=0
ok()   { passes=$((passes + 1)); }
bad()  { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok; else bad "$what"; fi
}
# jq_true FILE FILTER: the filter over the JSON Lines file yields true
jq_true() { [ "$(jq -s "$2" "$1")" = "true" ]; }
# skip_part "what and why": some checks of a test did not run (a tool or
# the registry missing); said on the output, and a failure under
# CHAINSWEEP_NO_SKIP=1 as a whole skipped test is (scripts/test-summary.py)
skip_part() {
    echo "SKIP (part): $*"
    if [ "${CHAINSWEEP_NO_SKIP:-}" = 1 ]; then bad "skipped with CHAINSWEEP_NO_SKIP=1: $*"; fi
}
finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
}
# Each test names the packs it loads: the install's bundled packs are not
# added unless a check asks for them (env -u CHAINSWEEP_PACKS).
export CHAINSWEEP_PACKS=
