#!/usr/bin/env bash
# Interrupts: SIGINT and SIGTERM stop a sweep with every record written so
# far complete, the summary saying "interrupted", exit 130/143; a second
# SIGINT exits at once and still leaves only complete JSON lines; a store
# written by an interrupted sweep is sound and used by the next one.
# Usage: interrupts.sh CHAINSWEEP SRCDIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-intr-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

mkdir -p "$work/tree"
head -c 1000000 /dev/urandom > "$work/base"
for i in $(seq 1 300); do
    cp "$work/base" "$work/tree/f$i.bin"
    printf 'talks to sbmsa.wiki' >> "$work/tree/f$i.bin"
done
# slowed down so that it is still running when the signal comes
# (exec: run in the background, $! must be chainsweep's own PID, not a subshell's)
scan() { exec "$CS" scan --pack "$SRC/packs/3cx-2023" --json --cpu-limit 10 -p 2 "$@" "$work/tree"; }
# wait until the output has a few records, then signal
signal_after_records() { # PID FILE SIGNAL...
    local pid=$1 file=$2
    shift 2
    for _ in $(seq 1 600); do
        [ -f "$file" ] && [ "$(wc -l < "$file")" -ge 5 ] && break
        sleep 0.05
    done
    for sig in "$@"; do kill "-$sig" "$pid"; done
}

for sig in INT TERM; do
    out=$work/$sig.jsonl
    scan -o "$out" 2> "$work/$sig.err" &
    pid=$!
    signal_after_records "$pid" "$out" "$sig"
    wait "$pid"
    rc=$?
    want=$([ "$sig" = INT ] && echo 130 || echo 143)
    check "SIG$sig: exit $want (got $rc)" [ "$rc" -eq "$want" ]
    check "SIG$sig: every line is a complete JSON object" jq -e . "$out" > /dev/null
    check "SIG$sig: the summary is last and says interrupted" jq_true "$out" '.[-1].type == "summary" and .[-1].interrupted == true'
    check "SIG$sig: every file counted was reported, and the sweep stopped early" jq_true "$out" \
        '([.[] | select(.type == "finding")] | length) == .[-1].files_scanned and .[-1].files_scanned < 300'
    check "SIG$sig: the text summary says so" grep -q 'interrupted' "$work/$sig.err"
done

# a second Ctrl-C: out at once, and still only complete lines
scan > "$work/twice.jsonl" 2> /dev/null &
pid=$!
signal_after_records "$pid" "$work/twice.jsonl" INT INT
wait "$pid"
rc=$?
check "second SIGINT: exit 130 (got $rc)" [ "$rc" -eq 130 ]
check "second SIGINT: every line is a complete JSON object" jq -e . "$work/twice.jsonl" > /dev/null

# an interrupted sweep's state store is sound, and the next sweep uses it
scan -o "$work/s1.jsonl" --state "$work/state.sqlite" 2> /dev/null &
pid=$!
signal_after_records "$pid" "$work/s1.jsonl" INT
wait "$pid"
n1=$(jq -s '.[-1].files_scanned' "$work/s1.jsonl")
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q -p 2 --state "$work/state.sqlite" "$work/tree" > "$work/s2.jsonl"
rc=$?
check "after an interrupted sweep the store is used: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "the files the interrupted sweep read come from the store ($n1)" jq_true "$work/s2.jsonl" \
    ".[-1].files_cached == $n1 and .[-1].files_scanned == 300 - $n1 and .[-1].interrupted == false"
finish
