#!/usr/bin/env bash
# Faults during a sweep: files truncated while they are mapped and read
# (SIGBUS) must become per-file records, never kill the sweep; the records
# of every other file must all be there. Also `verify` on a shrinking file.
# Usage: faults.sh CHAINSWEEP SRCDIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-faults-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

mkdir -p "$work/tree" "$work/pack/c2"
printf 'evil.example.org\n' > "$work/pack/c2/test-c2-iocs.txt"
for i in $(seq 1 40); do
    printf 'file %d talks to evil.example.org\n' "$i" > "$work/tree/small$i.txt"
done
big=()
for i in 1 2 3 4; do
    big+=("$work/tree/big$i.bin")
done

# shrink and regrow the big files for as long as the scans run
churn() {
    while :; do
        for f in "${big[@]}"; do
            truncate -s 0 "$f"
            truncate -s 96M "$f"
            printf 'evil.example.org' | dd of="$f" bs=1 seek=$((90 << 20)) conv=notrunc status=none
        done
    done
}
for f in "${big[@]}"; do truncate -s 96M "$f"; done
churn &
churner=$!

crashed=0 lost=0 faulted=0
for run in 1 2 3 4 5 6; do
    "$CS" scan --pack "$work/pack" --json -q -p 2 --max-size 128M "$work/tree" > "$work/out$run.jsonl" 2> "$work/err$run"
    rc=$?
    [ "$rc" -le 2 ] || crashed=$((crashed + 1))
    n=$(jq -r 'select(.path != null) | .path' "$work/out$run.jsonl" | grep -c '/small[0-9]*\.txt$')
    [ "$n" -eq 40 ] || lost=$((lost + 1))
    f=$(jq -r 'select(.type == "error") | .message' "$work/out$run.jsonl" | grep -c 'shrank or vanished' || true)
    faulted=$((faulted + f))
done
kill "$churner" 2>/dev/null
wait "$churner" 2>/dev/null
echo "truncation loop: 6 sweeps, $crashed crashed, $lost lost records, $faulted files reported as shrunk while read"
check "no sweep died while files were truncated under it" [ "$crashed" -eq 0 ]
check "every other file's record is there in every sweep" [ "$lost" -eq 0 ]
check "each sweep ends with its summary" \
    bash -c "for f in $work/out*.jsonl; do tail -n1 \"\$f\" | jq -e '.type == \"summary\"' >/dev/null || exit 1; done"
# the guard was exercised (the churn makes at least one read fault in 6 sweeps)
check "a file truncated mid-read is an error record saying so" [ "$faulted" -gt 0 ]

# verify: a PE that shrinks while it is verified is an error for that file
check "mingw-w64 is there for the verify case (scripts/deps.sh)" command -v x86_64-w64-mingw32-gcc
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
    printf 'int main(void){return 0;}\n' > "$work/m.c"
    x86_64-w64-mingw32-gcc -o "$work/m.exe" "$work/m.c" 2>/dev/null
    { head -c $((64 << 20)) /dev/zero >> "$work/m.exe"; } 2>/dev/null
    cp "$work/m.exe" "$work/shrink.exe"
    ( for k in $(seq 1 200); do truncate -s 4096 "$work/shrink.exe"; cp "$work/m.exe" "$work/shrink.exe"; done ) &
    vcrash=0
    for k in $(seq 1 20); do
        "$CS" verify "$work/shrink.exe" "$work/m.exe" > /dev/null 2>&1
        [ $? -le 2 ] || vcrash=$((vcrash + 1))
    done
    wait
    check "verify never dies on a shrinking file" [ "$vcrash" -eq 0 ]
fi
finish
