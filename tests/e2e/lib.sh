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
finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
}
# Each test names the packs it loads: the install's bundled packs are not
# added unless a check asks for them (env -u CHAINSWEEP_PACKS).
export CHAINSWEEP_PACKS=
