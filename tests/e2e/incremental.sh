#!/usr/bin/env bash
# Incremental sweeps: cache hits, misses on change, invalidation when the
# rules change, crash safety with a killed process, refusal to touch a
# corrupt or foreign state file.
# usage: incremental.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-inc-XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/tree
pack=$work/pack
mkdir -p "$tree/sub" "$pack"
python3 "$SRC/tests/fixtures/make_fixtures.py" "$tree/sub"
for i in $(seq 1 200); do printf 'file %d\n' "$i" > "$tree/f$i.txt"; done
printf 'beacon msstorageazure.com\n' > "$tree/c2.txt"
printf 'good\n' > "$tree/vendor.txt"
echo "$(md5sum "$tree/vendor.txt" | cut -d' ' -f1);vendor" > "$pack/trusted-hashes.txt"
cp -r "$SRC/packs/3cx-2023" "$pack/3cx"
db=$work/state.sqlite
findings() { jq -c 'select(.type == "finding") | [.path, .score, .level, ([.reasons[] | [.detector, .rule, .score]])]' "$1" | sort; }
export -f findings # the checks below run it in a child bash

"$CS" scan --pack "$pack" --state "$db" --json -q "$tree" > "$work/1.jsonl"
db_sum=$(sha256sum < "$db")
"$CS" scan --pack "$pack" --state "$db" --json -q "$tree" > "$work/2.jsonl"
check "an unchanged tree's rescan writes nothing to the store" [ "$(sha256sum < "$db")" = "$db_sum" ]
n=$(jq -s '.[-1].files_scanned' "$work/1.jsonl")
check "first sweep reads every file ($n)" [ "$n" -ge 206 ]
check "second sweep reads nothing" jq_true "$work/2.jsonl" ".[-1].files_scanned == 0 and .[-1].files_cached == $n + 1"
# traced_rescan STATE TARGET OUT OPENS: a rescan, its opens traced
traced_rescan() {
    strace -f -qq --seccomp-bpf -e trace=open,openat,openat2 -o "$4" \
        "$CS" scan --pack "$pack" --state "$1" --json -q "$2" > "$3"
}
# unchanged files are answered from the walk's lstat: never opened
if command -v strace > /dev/null; then
    traced_rescan "$db" "$tree" "$work/2s.jsonl" "$work/opens"
    check "a rescan opens none of the tree's unchanged files (only its directories)" \
        bash -c "! grep -v O_DIRECTORY '$work/opens' | grep -q '\"$tree/[^\"]*\"\\|\"f[0-9]*\.txt\"'"
    check "... and reports them all" jq_true "$work/2s.jsonl" ".[-1].files_scanned == 0 and .[-1].files_cached == $n + 1"
else
    skip_part "strace missing: not checked that a rescan opens no unchanged file"
fi
# more rows than the read-ahead holds (200,000): the walker looks each file up
# in SQLite through its own pinned, renewed read transaction; still nothing opened
big=$work/big
python3 -c "
import os, sys
d = sys.argv[1]; os.makedirs(d + '/t')
for k in range(201):
    os.mkdir('%s/t/d%03d' % (d, k))
    seed = '%s/seed%d' % (d, k // 50)  # links, fast to make (ext4 allows 65,000 per inode)
    if k % 50 == 0:
        open(seed, 'w').close()
    for i in range(1000):
        os.link(seed, '%s/t/d%03d/f%04d' % (d, k, i))
" "$big" || bad "making 201,000 files"
"$CS" scan --pack "$pack" --state "$big/state.sqlite" -q "$big/t" > /dev/null
if command -v strace > /dev/null; then
    traced_rescan "$big/state.sqlite" "$big/t" "$big/2.jsonl" "$big/opens"
    check "past the read-ahead's 200,000 rows: a rescan of 201,000 files opens none" \
        bash -c "! grep -v O_DIRECTORY '$big/opens' | grep -q '\"f[0-9]*\"'"
    check "... and reports them all from the store" jq_true "$big/2.jsonl" ".[-1].files_scanned == 0 and .[-1].files_cached == 201000"
else
    skip_part "strace missing: not checked that a rescan past the read-ahead opens no unchanged file"
fi
rm -rf "$big"
check "cached findings say so" jq_true "$work/2.jsonl" 'all(.[]; select(.type == "finding") | .cached == true)'
check "second sweep reports the same findings" bash -c "diff <(findings '$work/1.jsonl') <(findings '$work/2.jsonl')"
check "known-good stays suppressed from the cache" jq_true "$work/2.jsonl" '.[-1].skipped.known_good == 1 and all(.[]; (.path // "" | endswith("vendor.txt")) | not)'
# lazy loading: nothing changed, so no rule was compiled; the counts are the first sweep's
check "first sweep compiled its rules" jq_true "$work/1.jsonl" '.[-1].loaded.compiled == true and .[-1].loaded.yara_rules > 0'
check "second sweep compiled nothing" jq_true "$work/2.jsonl" '.[-1].loaded.compiled == false'
check "second sweep reports what the first loaded" \
    [ "$(jq -c '.loaded | del(.compiled)' <(tail -n1 "$work/1.jsonl"))" = "$(jq -c '.loaded | del(.compiled)' <(tail -n1 "$work/2.jsonl"))" ]
check "text summary says no rules were loaded" bash -c "'$CS' scan --pack '$pack' --state '$db' '$tree' 2>&1 | grep -q 'unchanged files from the state store (no rules loaded)'"

# a changed file is read again, the rest comes from the store
sleep 0.01
printf 'now it mentions officeaddons.com\n' > "$tree/f7.txt"
touch "$tree/f8.txt"
"$CS" scan --pack "$pack" --state "$db" --json -q "$tree" > "$work/3.jsonl"
check "changed files read again" jq_true "$work/3.jsonl" '.[-1].files_scanned == 2'
check "new finding from a changed file" jq_true "$work/3.jsonl" 'any(.[]; .type == "finding" and (.path | endswith("f7.txt")))'
check "a changed file makes the rescan compile" jq_true "$work/3.jsonl" '.[-1].loaded.compiled == true'
check "the changed sweep finds what a sweep without a store finds" \
    bash -c "diff <(findings '$work/3.jsonl' | sed 's/,true\]/]/') <('$CS' scan --pack '$pack' --json -q '$tree' > '$work/3b.jsonl'; findings '$work/3b.jsonl')"

# new rules: every entry is invalid
echo "badc0ffee0ddf00dbadc0ffee0ddf00d;test" > "$pack/extra-hash-iocs.txt"
"$CS" scan --pack "$pack" --state "$db" --json -q "$tree" > "$work/4.jsonl"
check "rule change invalidates the store" jq_true "$work/4.jsonl" '.[-1].files_cached == 0'

# crash safety: kill -9 mid-sweep, then the store must be intact and usable
for i in $(seq 1 3000); do printf 'bulk %d\n' "$i" > "$tree/sub/b$i.txt"; done
rm -f "$db"
"$CS" scan --pack "$pack" --state "$db" --json -q -p 1 "$tree" /usr/lib > /dev/null 2>&1 &
pid=$!
# kill once the store holds committed rows (read-only: never creates the file)
rows() { python3 -c "
import sqlite3, sys
try:
    c = sqlite3.connect('file:$db?mode=ro', uri=True)
    print(c.execute('SELECT count(*) FROM files').fetchone()[0])
except Exception:
    print(0)"; }
for _ in $(seq 1 200); do [ "$(rows)" -gt 0 ] && break; sleep 0.1; done
before_kill=$(rows)
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "the sweep was killed with rows committed ($before_kill)" [ "$before_kill" -gt 0 ]
check "store intact after kill -9 (it exists, SQLite's integrity check passes, rows kept)" python3 -c "
import sqlite3, sys
c = sqlite3.connect('file:$db?mode=ro', uri=True)
ok = c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
sys.exit(0 if ok and c.execute('SELECT count(*) FROM files').fetchone()[0] >= $before_kill else 1)"
"$CS" scan --pack "$pack" --state "$db" --json -q "$tree" > "$work/5.jsonl"
check "store usable after the crash" jq_true "$work/5.jsonl" '.[-1].errors == 0 and (.[-1].files_scanned + .[-1].files_cached) > 3000'

# corrupt and foreign files: exit 2, a clear error, left untouched
refused_store() { # NAME FILE MESSAGE
    local sum rc
    sum=$(sha256sum "$2")
    "$CS" scan --pack "$pack" --state "$2" -q "$tree/c2.txt" > /dev/null 2> "$work/err"
    rc=$?
    check "$1 store: exit 2" [ "$rc" -eq 2 ]
    check "$1 store: clear error" grep -q "$3" "$work/err"
    check "$1 store: untouched" [ "$(sha256sum "$2")" = "$sum" ]
}
head -c 8192 /dev/urandom > "$work/corrupt.db"
refused_store corrupt "$work/corrupt.db" 'not a readable SQLite database'
python3 -c "import sqlite3; c = sqlite3.connect('$work/foreign.db'); c.execute('create table t(x)'); c.commit()"
refused_store foreign "$work/foreign.db" 'not a chainsweep state file'
mkdir -p "$work/home"
env -u XDG_CACHE_HOME HOME="$work/home" "$CS" scan --pack "$pack" --incremental -q "$tree/c2.txt" > /dev/null
check "--incremental uses ~/.cache/chainsweep/state.sqlite" [ -f "$work/home/.cache/chainsweep/state.sqlite" ]
XDG_CACHE_HOME="$work/xdg" "$CS" scan --pack "$pack" --incremental -q "$tree/c2.txt" > /dev/null
check "... or \$XDG_CACHE_HOME/chainsweep/state.sqlite" [ -f "$work/xdg/chainsweep/state.sqlite" ]
# two rule sets sharing one store: each sees only its own rows, and both stay
pa=$work/packA
pb=$work/packB
mkdir -p "$pa" "$pb" "$work/shared-tree"
printf 'alpha-c2.example.org\n' > "$pa/a-c2-iocs.txt"
printf 'beta-c2.example.org\n' > "$pb/b-c2-iocs.txt"
printf 'to alpha-c2.example.org\n' > "$work/shared-tree/a.txt"
printf 'to beta-c2.example.org\n' > "$work/shared-tree/b.txt"
sdb=$work/shared.sqlite
rules_seen() { jq -r 'select(.type == "finding") | .reasons[].rule' "$1" | sort | tr '\n' ' '; }
"$CS" scan --pack "$pa" --state "$sdb" --json -q "$work/shared-tree" > "$work/sa1.jsonl"
"$CS" scan --pack "$pb" --state "$sdb" --json -q "$work/shared-tree" > "$work/sb1.jsonl"
"$CS" scan --pack "$pa" --state "$sdb" --json -q "$work/shared-tree" > "$work/sa2.jsonl"
"$CS" scan --pack "$pb" --state "$sdb" --json -q "$work/shared-tree" > "$work/sb2.jsonl"
check "shared store: rules B never see rules A's verdicts" [ "$(rules_seen "$work/sb1.jsonl")" = "beta-c2.example.org " ]
check "shared store: A's rows survive B's sweep (all cached, same findings)" \
    bash -c "[ '$(rules_seen "$work/sa2.jsonl")' = 'alpha-c2.example.org ' ] && jq -e -s '.[-1].files_cached == 2 and .[-1].files_scanned == 0' '$work/sa2.jsonl' > /dev/null"
check "shared store: B's rows survive A's second sweep" \
    bash -c "[ '$(rules_seen "$work/sb2.jsonl")' = 'beta-c2.example.org ' ] && jq -e -s '.[-1].files_cached == 2' '$work/sb2.jsonl' > /dev/null"

# damage in the middle of a store is found before anything is written
cp "$db" "$work/damaged.sqlite"
size=$(stat -c %s "$work/damaged.sqlite")
for off in 5000 $((size / 2)) $((size - 3000)); do
    head -c 200 /dev/urandom | dd of="$work/damaged.sqlite" bs=1 seek="$off" conv=notrunc status=none
done
before=$(sha256sum < "$work/damaged.sqlite")
"$CS" scan --pack "$pack" --state "$work/damaged.sqlite" --json -q "$tree" > "$work/dmg.jsonl" 2> "$work/dmg.err"
rc=$?
check "mid-file damage: exit 2 (got $rc), said so, nothing scanned" \
    bash -c "[ $rc -eq 2 ] && grep -q 'damaged\|not a readable' '$work/dmg.err' && ! grep -q finding '$work/dmg.jsonl'"
check "mid-file damage: the file is untouched" [ "$(sha256sum < "$work/damaged.sqlite")" = "$before" ]

# stores that cannot be written are refused before the sweep
cp "$db" "$work/ro.sqlite"
chmod 0444 "$work/ro.sqlite"
mkdir -p "$work/rodir"
if [ "$(id -u)" -ne 0 ] || command -v setpriv > /dev/null; then
    runner=()
    [ "$(id -u)" -eq 0 ] && runner=(setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-all --)
    "${runner[@]}" "$CS" scan --pack "$pack" --state "$work/ro.sqlite" --json -q "$tree" > "$work/ro.jsonl" 2> "$work/ro.err"
    rc=$?
    check "read-only store: exit 2 (got $rc) before scanning, no side files" \
        bash -c "[ $rc -eq 2 ] && ! grep -q '\"type\"' '$work/ro.jsonl' && [ ! -e '$work/ro.sqlite-wal' ] && [ ! -e '$work/ro.sqlite-shm' ]"
fi
"$CS" scan --pack "$pack" --state /dev/null --json -q "$tree" > /dev/null 2> "$work/devnull.err"
rc=$?
check "--state /dev/null: refused (exit $rc), no /dev/null-journal" \
    bash -c "[ $rc -eq 2 ] && grep -q 'not a regular file' '$work/devnull.err' && [ ! -e /dev/null-journal ]"
# a row changed behind SQLite's back (its checks still pass): never taken for a verdict
cp "$sdb" "$work/rowdmg.sqlite"
python3 -c "
import sqlite3
c = sqlite3.connect('$work/rowdmg.sqlite')
c.execute(\"UPDATE files SET result = replace(result, 'alpha-c2', 'alpha-XX') WHERE result LIKE '%alpha-c2%'\")
c.commit()"
"$CS" scan --pack "$pa" --state "$work/rowdmg.sqlite" --json -q "$work/shared-tree" > "$work/rd1.jsonl"
"$CS" scan --pack "$pa" --state "$work/rowdmg.sqlite" --json -q "$work/shared-tree" > "$work/rd2.jsonl"
check "a row that fails its checksum: read again, said so, the true verdict" jq_true "$work/rd1.jsonl" \
    'any(.[]; .type == "finding" and (.cached | not) and (.note | test("checksum")) and .reasons[0].rule == "alpha-c2.example.org")'
check "the row is rewritten: the next sweep takes it from the store, without the note" jq_true "$work/rd2.jsonl" \
    'all(.[] | select(.type == "finding"); .cached and .note == null and .reasons[0].rule == "alpha-c2.example.org")'
# lazy loading that fails: an included rule file (outside the pack, so not
# part of the fingerprint) broken after the first sweep; unchanged files come
# from the store, the first changed one needs the rules: exit 2 with the reason
mkdir -p "$work/lz/rules" "$work/lz/ext" "$work/lz/tree"
printf 'rule lz_inc { strings: $a = "lazy-marker" condition: $a }\n' > "$work/lz/ext/inc.yar"
printf 'include "../ext/inc.yar"\nrule lz_main { condition: lz_inc }\n' > "$work/lz/rules/main.yar"
printf 'lazy-marker\n' > "$work/lz/tree/a.txt"
printf 'plain\n' > "$work/lz/tree/b.txt"
"$CS" scan --no-default-packs --pack "$work/lz/rules" --state "$work/lz.sqlite" --json -q "$work/lz/tree" > "$work/lz1.jsonl"
check "lazy: first sweep finds the included rule" jq_true "$work/lz1.jsonl" 'any(.[]; .type == "finding" and (.path | endswith("a.txt")))'
printf 'rule lz_inc { strings: $a = "lazy-marker" condition: $a and }\n' > "$work/lz/ext/inc.yar"
"$CS" scan --no-default-packs --pack "$work/lz/rules" --state "$work/lz.sqlite" --json -q "$work/lz/tree" > "$work/lz2.jsonl" 2> "$work/lz2.err"
rc=$?
check "lazy: unchanged tree answered from the store, nothing compiled (exit $rc)" \
    bash -c "[ $rc -eq 1 ] && jq -e -s '.[-1].loaded.compiled == false' '$work/lz2.jsonl' > /dev/null"
printf 'changed\n' > "$work/lz/tree/b.txt"
"$CS" scan --no-default-packs --pack "$work/lz/rules" --state "$work/lz.sqlite" --json -q "$work/lz/tree" > "$work/lz3.jsonl" 2> "$work/lz3.err"
rc=$?
check "lazy: rules that fail when a changed file needs them end the sweep, exit 2 ($rc)" [ $rc -eq 2 ]
check "lazy: ... with the reason and the compiler's message" \
    bash -c "grep -q 'no usable rules' '$work/lz3.err' && grep -q 'inc.yar' '$work/lz3.err'"
check "lazy: ... its output is whole JSON Lines" jq -s . "$work/lz3.jsonl" > /dev/null
b_found=$(jq -r 'select(.type == "finding") | .path' "$work/lz3.jsonl" 2>/dev/null | grep -c 'b\.txt$')
check "lazy: ... and the changed file's old verdict is not reported as current ($b_found)" [ "$b_found" = 0 ]
# (failed once under load in make test and never again by hand: what it wrote, should it fail again)
if [ "$b_found" != 0 ] || ! jq -s . "$work/lz3.jsonl" > /dev/null 2>&1; then
    { echo "lz3 (exit $rc):"; cat "$work/lz3.jsonl" "$work/lz3.err"; } >&2
fi
finish
