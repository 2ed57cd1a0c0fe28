#!/usr/bin/env bash
# End-to-end: the real CLI on a tree built here, with the bundled 3CX pack
# and a test pack, checked through its JSON Lines output and exit codes.
# usage: scan.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"

work=$(mktemp -d /tmp/cs-e2e-XXXXXX)
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
tree=$work/tree
pack=$work/pack
mkdir -p "$tree/sub" "$tree/loopdir" "$pack"

python3 "$SRC/tests/fixtures/make_fixtures.py" "$tree/sub"
printf 'known bad test content\n' > "$tree/hashhit.bin"
printf 'harmless\n' > "$tree/3CXDesktopApp-18.12.416.msi"
printf 'beacon https://msstorageazure.com/window\n' > "$tree/config.txt"
printf 'notmsstorageazure.com and msstorageazure.company\n' > "$tree/near-miss.txt"
printf 'plain text, nothing here\n' > "$tree/clean.txt"
cp /bin/true "$tree/clean-elf"
printf 'vendor file mentioning msstorageazure.com\n' > "$tree/vendor.txt"
printf 'x\n' > "$tree/evil, \"quoted\".exe"
printf 'officeaddons.com\n' > "$tree/$(printf 'bad\xff\xfename.txt')"
head -c 131072 /dev/zero > "$tree/big-X_TRADER_r7.17.90p608.exe"
mkfifo "$tree/a-fifo"
ln -s .. "$tree/loopdir/up"
ln -s /nonexistent "$tree/dangling"
printf 'secret\n' > "$tree/unreadable.txt"
chmod 000 "$tree/unreadable.txt"

sha=$(sha256sum "$tree/hashhit.bin" | cut -d' ' -f1)
md5=$(md5sum "$tree/vendor.txt" | cut -d' ' -f1)
{ echo "# test"; echo "$sha;95;test known-bad file"; echo "zzzz;broken line"; } > "$pack/test-hash-iocs.txt"
echo "$md5;vendor build" > "$pack/trusted-hashes.txt"
printf 'evil, "quoted"\\.exe$;65\n' > "$pack/test-filename-iocs.txt"

# Root drops CAP_DAC_OVERRIDE so that the unreadable file really is unreadable.
run() {
    if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
        setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-all -- "$CS" "$@"
    else
        "$CS" "$@"
    fi
}

out=$work/out.jsonl
run scan --pack "$SRC/packs/3cx-2023" --pack "$pack" --json -q --max-size 64K -p 2 "$tree" > "$out" 2> "$work/err"
rc=$?
check "exit code 1 on findings (got $rc)" [ "$rc" -eq 1 ]
check "bad IOC line shown without -v" grep -q 'test-hash-iocs.txt:3: skipped line' "$work/err"
check "every line is JSON" jq -e . "$out" >/dev/null
check "summary last" jq_true "$out" '.[-1].type == "summary" and .[-1].schema == 2'
f() { jq_true "$out" "any(.[]; .type == \"finding\" and (.path | endswith(\"$1\")) and $2)"; }
nf() { jq_true "$out" "all(.[]; (.path // \"\" | endswith(\"$1\")) | not)"; }
check "hash IOC" f hashhit.bin '.level == "alert" and .reasons[0].detector == "hash" and .reasons[0].score == 95 and .sha256 != null'
check "filename IOC" f 3CXDesktopApp-18.12.416.msi '.reasons[0].detector == "filename" and .level == "alert"'
check "C2 in content" f config.txt '.reasons[0].detector == "c2" and .reasons[0].rule == "msstorageazure.com" and .reasons[0].matches[0].offset == 15'
check "C2 near misses are not words" nf near-miss.txt
check "YARA marker in cert table" f d3dcompiler_47.dll '.reasons[0].rule == "CS_3CX_FEEDFACE_In_Certificate_Table_Mar23" and .reasons[0].author == "chainsweep"'
# no YARA reason (the Authenticode layer rightly calls their fake PKCS#7 malformed)
noyara() { jq_true "$out" "all(.[]; select(.type == \"finding\" and (.path | endswith(\"$1\"))) | all(.reasons[]; .detector != \"yara\"))"; }
check "YARA marker outside cert table" noyara marker_in_code.dll
check "YARA clean signed-looking PE" noyara signed_clean.dll
check "fake signature is malformed" f signed_clean.dll '.reasons[0].detector == "authenticode" and .reasons[0].rule == "malformed_signature"'
check "YARA RC4 key + event" f ffmpeg.dll '([.reasons[].rule] | sort) == ["CS_3CX_AVMonitorRefreshEvent_Mar23","CS_3CX_RC4_Key_Mar23"] and .filetype == "EXE"'
check "YARA ICO blob" f icon13.ico '.reasons[0].rule == "CS_3CX_ICO_Base64_C2_Blob_Mar23"'
check "YARA macOS strings" f libffmpeg.dylib '.filetype == "MACH-O" and .reasons[0].matches[0].data == "%s/.main_storage"'
check "clean text" nf clean.txt
check "clean ELF" nf clean-elf
check "known-good hash suppresses" nf vendor.txt
check "non-UTF-8 name kept, escaped and in base64" \
    jq_true "$out" 'any(.[]; .type == "finding" and .path_b64 != null and (.path | endswith("bad\\xff\\xfename.txt")))'
check "over --max-size: a note, no YARA, every other layer" f big-X_TRADER_r7.17.90p608.exe '(.note | test("max-size")) and .skipped == null and .reasons[0].detector == "filename" and .sha256 != null and all(.reasons[]; .detector != "yara")'
check "unreadable file is an error record" jq_true "$out" 'any(.[]; .type == "error" and (.path | endswith("unreadable.txt")))'
check "summary counts" jq_true "$out" '.[-1] | .errors == 1 and .skipped.not_regular == 1 and .skipped.symlink == 2 and .skipped.too_large == 0 and .notes >= 1 and .skipped.known_good == 1'
check "summary levels" jq_true "$out" '.[-1].findings.alert >= 8'
check "loaded counts" jq_true "$out" '.[-1].loaded | .yara_rules == 10 and .c2_iocs >= 20 and .hash_iocs >= 100'

# Malformed IOC line: reported with file and line under -v, scan goes on.
run scan --pack "$pack" -v -q "$tree/clean.txt" > /dev/null 2> "$work/err2"
rc=$?
check "clean single file exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "bad IOC line named with file:line" grep -q 'test-hash-iocs.txt:3: skipped line' "$work/err2"

# CSV: RFC 4180 quoting of a path with a comma and quotes.
run scan --pack "$pack" --csv -q "$tree" > "$work/out.csv" 2>/dev/null
check "CSV header" grep -q '^level,score,path,filetype,size,md5,sha1,sha256,reasons' "$work/out.csv"
check "CSV quoting" grep -qF '"'"$tree"'/evil, ""quoted"".exe"' "$work/out.csv"

# Text output and the stderr summary.
run scan --pack "$SRC/packs/3cx-2023" --no-color "$tree/config.txt" > "$work/out.txt" 2> "$work/err3"
check "text finding" grep -q '^\[ALERT\] score 100  .*config.txt' "$work/out.txt"
check "text summary on stderr" grep -q 'files scanned' "$work/err3"

# stdout and stderr on one pipe: the findings (block-buffered) all come
# before the summary, none cut by it. 200 findings are well over a buffer.
mkdir -p "$work/many"
for i in $(seq 1 200); do cp "$tree/config.txt" "$work/many/c2-$i.txt"; done
"$CS" scan --pack "$SRC/packs/3cx-2023" --no-color -p 2 "$work/many" 2>&1 | cat > "$work/mixed.txt"
check "2>&1: one summary" [ "$(grep -c '^Summary:' "$work/mixed.txt")" -eq 1 ]
check "2>&1: every finding whole" [ "$(grep -c "^        msstorageazure.com @ 0xf: 'msstorageazure.com'\$" "$work/mixed.txt")" -eq 200 ]
check "2>&1: summary after the findings" \
    awk '/^Summary:/ {s = 1; next} s && /^(\[|    )/ {bad = 1} END {exit !(s && !bad)}' "$work/mixed.txt"
"$CS" scan --pack "$SRC/packs/3cx-2023" -q "$work/many" > /dev/full 2> "$work/full.err"
rc=$?
check "results not written: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "results not written: said so" grep -q 'writing the results to stdout' "$work/full.err"

# Symlink loop when following links: terminates and reports the loop.
timeout 60 "$CS" scan --pack "$pack" --json -q --follow-symlinks --log-skipped "$tree/loopdir" > "$work/loop.jsonl"
check "loop detected" jq_true "$work/loop.jsonl" 'any(.[]; .skipped == "loop")'

# Excludes and depth.
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --exclude '*.msi' --exclude 're:/sub$' "$tree" > "$work/ex.jsonl"
check "excluded files not scanned" jq_true "$work/ex.jsonl" 'all(.[]; (.path // "" | (endswith(".msi") or contains("/sub/"))) | not)'
check "excluded counted" jq_true "$work/ex.jsonl" '.[-1].skipped.excluded == 2'
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --max-depth 0 "$tree" > "$work/depth.jsonl"
check "depth limit" jq_true "$work/depth.jsonl" '.[-1].skipped.depth == 2'
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --min-level alert -o "$work/o.jsonl" "$tree/config.txt"
check "-o writes the file" jq_true "$work/o.jsonl" '.[0].type == "finding"'

# Throttled and low-priority sweeps find the same (no timing asserted).
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --cpu-limit 50 --nice --detectors yara,c2 "$tree/sub" "$tree/config.txt" > "$work/slow.jsonl"
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --detectors yara,c2 "$tree/sub" "$tree/config.txt" > "$work/fast.jsonl"
sel() { jq -c 'select(.type == "finding") | [.path, .score]' "$1" | sort; }
same_findings() { diff <(sel "$1") <(sel "$2") && [ -n "$(sel "$2")" ]; }
check "--cpu-limit/--nice: same findings" same_findings "$work/slow.jsonl" "$work/fast.jsonl"
check "--detectors signer is the Authenticode layer's signer list (accepted)" "$CS" scan --pack "$SRC/packs/3cx-2023" -q --detectors signer "$tree/config.txt"
check "--detectors limits the layers" jq_true "$work/fast.jsonl" 'all(.[]; select(.type == "finding") | all(.reasons[]; .detector == "yara" or .detector == "c2"))'
# --nice really lowers the scan threads (nice 19, idle I/O class) and
# --cpu-limit really slows them: read from /proc while a slow sweep runs
slow=$work/slowtree
mkdir -p "$slow"
head -c 2000000 /dev/urandom > "$slow/base"
# (160 MB at 5 %: ~3.5 s on a fast machine, well past the 1.5 s read below)
for i in $(seq 1 80); do cp "$slow/base" "$slow/f$i.bin"; done
( exec "$CS" scan --pack "$SRC/packs/3cx-2023" -q --json -o /dev/null -p 2 --nice --cpu-limit 5 "$slow" ) &
spid=$!
sleep 1.5
nices=$(for t in /proc/$spid/task/*; do awk '{print $19}' "$t/stat"; done | sort -n | uniq -c | tr '\n' ' ')
idle=0
for t in /proc/$spid/task/*; do ionice -p "${t##*/}" 2>/dev/null | grep -q idle && idle=$((idle + 1)); done
busy=$(awk '{print $14 + $15}' "/proc/$spid/stat") # user + system ticks so far
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
echo "  --nice threads: nice values (count value): $nices; in the idle I/O class: $idle; CPU ticks after 1.5 s at --cpu-limit 5: $busy"
# (the walker may have ended already: the two workers must be there)
check "--nice: both workers run at nice 19" bash -c "[ \$(echo '$nices' | grep -o '[0-9]* 19' | cut -d' ' -f1) -ge 2 ]"
check "--nice: the scan threads are in the idle I/O class" [ "$idle" -ge 2 ]
check "--cpu-limit 5: at most ~20% of one CPU per thread over 1.5 s ($busy ticks)" [ "$busy" -le 100 ]
"$CS" scan --cpu-limit 0 "$tree" >/dev/null 2>&1
check "--cpu-limit 0 rejected" [ $? -eq 2 ]

# Errors: exit 2.
"$CS" scan --pack "$pack" /nonexistent/target >/dev/null 2>&1
check "missing target exits 2" [ $? -eq 2 ]
"$CS" scan --pack /nonexistent/pack "$tree" >/dev/null 2>&1
check "missing pack exits 2" [ $? -eq 2 ]
mkdir -p "$work/empty-pack"
"$CS" scan --pack "$work/empty-pack" "$tree" >/dev/null 2>"$work/err4"
check "no rules exits 2" [ $? -eq 2 ]
check "no rules says so" grep -q 'no usable rules' "$work/err4"
"$CS" scan --threads zero "$tree" >/dev/null 2>&1
check "bad argument exits 2" [ $? -eq 2 ]
"$CS" frobnicate >/dev/null 2>&1
check "unknown command exits 2" [ $? -eq 2 ]

# Known-good hashes without any bad hash in the packs still suppress: the
# hash detector must run for them alone.
mkdir -p "$work/good-only"
printf 'vendor build GOODONLYMARKER\n' > "$work/good-only.bin"
echo "$(sha256sum "$work/good-only.bin" | cut -d' ' -f1);vendor build" > "$work/good-only/trusted-hashes.txt"
echo 'rule Good_Only_Marker { strings: $a = "GOODONLYMARKER" condition: $a }' > "$work/good-only/marker.yar"
"$CS" scan --pack "$work/good-only" --json -q --log-skipped "$work/good-only.bin" > "$work/good-only.jsonl"
rc=$?
check "known-good file alone exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "known-good hash alone suppresses" jq_true "$work/good-only.jsonl" \
    '.[0].skipped == "known_good" and .[-1].skipped.known_good == 1 and .[-1].loaded.hash_iocs == 0 and all(.[]; .type != "finding")'
rm "$work/good-only/marker.yar"
"$CS" scan --pack "$work/good-only" "$work/good-only.bin" >/dev/null 2>&1
check "known-good hashes alone are no usable rules" [ $? -eq 2 ]

# The FIFO was never opened: a writer would block forever otherwise; the
# scan above finished, so just check the record.
run scan --pack "$pack" --json -q --log-skipped "$tree/a-fifo" > "$work/fifo.jsonl"
check "fifo skipped" jq_true "$work/fifo.jsonl" '.[0].skipped == "not_regular"'

# --follow-symlinks: a symlinked file and a symlinked root are scanned through the link
lk=$work/links
mkdir -p "$lk/real" "$lk/tree"
printf 'talks to sbmsa.wiki\n' > "$lk/real/c2.txt"
ln -s ../real/c2.txt "$lk/tree/linked.txt"
ln -s real/c2.txt "$lk/rootlink.txt"
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --log-skipped "$lk/tree" > "$work/nofollow.jsonl"
check "symlinked file not followed by default" jq_true "$work/nofollow.jsonl" 'any(.[]; .skipped == "symlink")'
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q --follow-symlinks "$lk/tree" "$lk/rootlink.txt" > "$work/follow.jsonl"
check "--follow-symlinks scans a symlinked file and a symlinked root" jq_true "$work/follow.jsonl" \
    '([.[] | select(.type == "finding") | .path | split("/") | last] | sort) == ["linked.txt", "rootlink.txt"]'
# chainsweep's own files: a loaded pack and the cache directory are not entered
own=$work/own
mkdir -p "$own/tree/mypack" "$own/cache"
printf 'evil-own.example.org\n' > "$own/tree/mypack/own-c2-iocs.txt"
printf 'beacon to evil-own.example.org\n' > "$own/tree/sample.txt"
printf 'evil-own.example.org in a cached set\n' > "$own/cache/old.yarc"
cp -r "$own/cache" "$own/tree/cache"
"$CS" scan --pack "$own/tree/mypack" --cache-dir "$own/tree/cache" --json -q --log-skipped "$own/tree" > "$work/own.jsonl"
check "own pack and cache directories skipped as own_files, the rest scanned" jq_true "$work/own.jsonl" \
    '([.[] | select(.type == "finding") | .path | split("/") | last] == ["sample.txt"]) and .[-1].skipped.own_files == 2'
"$CS" scan --pack "$own/tree/mypack" --cache-dir "$own/tree/cache" --json -q --scan-own-files "$own/tree" > "$work/own2.jsonl"
# (the cache may also hold the C2 database the first sweep compiled, with the name in it)
check "--scan-own-files enters them (the pack's IOC file matches itself)" jq_true "$work/own2.jsonl" \
    '[.[] | select(.type == "finding") | .path | split("/") | last] | (["old.yarc", "own-c2-iocs.txt", "sample.txt"] - .) == []'
# a pack of empty rule files is no rules: exit 2, never a scan with nothing loaded
mkdir -p "$work/emptyyar"
: > "$work/emptyyar/empty.yar"
"$CS" scan --pack "$work/emptyyar" -q "$own/tree/sample.txt" > /dev/null 2> "$work/emptyyar.err"
rc=$?
check "a pack with only an empty .yar: exit 2 (got $rc) and says why" \
    bash -c "[ $rc -eq 2 ] && grep -q 'no usable rules' '$work/emptyyar.err'"
# verify --json: every FILE has its object, errors included
printf 'MZ' > "$work/mz2.exe"
: > "$work/empty.exe"
"$CS" verify --json "$work/mz2.exe" "$work/empty.exe" "$work" "$work/missing.exe" > "$work/verify.jsonl" 2> /dev/null
rc=$?
check "verify --json: exit 2 (got $rc), one object per file, with host" jq_true "$work/verify.jsonl" \
    'length == 4 and all(.[]; .type == "verify" and .host != null) and ([.[1:][] | .verdict] == ["error", "error", "error"])'
check "verify: a 2-byte MZ file is a truncated header, not 'no MZ header'" jq_true "$work/verify.jsonl" \
    '.[0].not_pe_reason | test("truncated")'
# known-good by SHA-256 and by SHA-1 (the fixtures above are MD5), in a pack with no bad hash
kg=$work/kg
mkdir -p "$kg/pack" "$kg/tree"
printf 'vendor tool that names evil-kg.example.org\n' > "$kg/tree/trusted256.txt"
printf 'another vendor tool, evil-kg.example.org\n' > "$kg/tree/trusted1.txt"
printf 'unknown tool, evil-kg.example.org\n' > "$kg/tree/other.txt"
printf 'evil-kg.example.org\n' > "$kg/pack/kg-c2-iocs.txt"
{ printf '%s;vendor\n' "$(sha256sum < "$kg/tree/trusted256.txt" | cut -c1-64)"
  printf '%s;vendor\n' "$(sha1sum < "$kg/tree/trusted1.txt" | cut -c1-40)"; } > "$kg/pack/trusted-hashes.txt"
"$CS" scan --pack "$kg/pack" --json -q --log-skipped "$kg/tree" > "$work/kg.jsonl"
check "SHA-256 and SHA-1 known-good entries suppress, the unknown file is reported" jq_true "$work/kg.jsonl" \
    '([.[] | select(.skipped == "known_good") | .path | split("/") | last] | sort) == ["trusted1.txt", "trusted256.txt"] and ([.[] | select(.type == "finding") | .path | split("/") | last] == ["other.txt"])'
"$CS" scan --pack "$kg/pack" --detectors c2 --json -q --log-skipped "$kg/tree" > "$work/kg2.jsonl"
check "known-good still suppresses with --detectors c2 (hash left out)" jq_true "$work/kg2.jsonl" \
    '([.[] | select(.skipped == "known_good")] | length) == 2 and ([.[] | select(.type == "finding") | .path | split("/") | last] == ["other.txt"])'
# --pack adds to the bundled packs (ctest runs with CHAINSWEEP_PACKS= so that each test
# names its packs; here the install's bundled packs are back)
printf 'beacon to sbmsa.wiki\n' > "$kg/tree/bundled-c2.txt"
env -u CHAINSWEEP_PACKS "$CS" scan --pack "$kg/pack" --json "$kg/tree" > "$work/def.jsonl" 2> "$work/def.err"
check "--pack adds to the bundled packs: both packs' findings" jq_true "$work/def.jsonl" \
    '([.[] | select(.type == "finding") | .path | split("/") | last] | sort) == ["bundled-c2.txt", "other.txt"]'
check "the header names every loaded pack, the bundled one as such" \
    bash -c "grep -q '^chainsweep: packs: .*(bundled) $kg/pack' '$work/def.err'"
env -u CHAINSWEEP_PACKS "$CS" scan --no-default-packs --pack "$kg/pack" --json -q "$kg/tree" > "$work/nodef.jsonl"
check "--no-default-packs: only the named pack" jq_true "$work/nodef.jsonl" \
    '[.[] | select(.type == "finding") | .path | split("/") | last] == ["other.txt"]'
env -u CHAINSWEEP_PACKS "$CS" scan --pack "$SRC/packs/3cx-2023" --json -q "$kg/tree" > "$work/twice.jsonl"
check "a bundled pack named again loads once (one reason, not two)" jq_true "$work/twice.jsonl" \
    '[.[] | select(.type == "finding") | .reason_count] == [1]'
# the filename and C2 IOC databases are compiled once and read back from the
# cache: the same findings from a fresh cache, a warm one and a damaged one;
# a pattern Vectorscan refuses (possessive) and one it cannot take
# (lookahead) stay with PCRE2 when the database comes from the cache
ioc=$work/ioc-cache
mkdir -p "$ioc/pack" "$ioc/tree" "$ioc/cache"
printf 'cachedname-[0-9]+\\.exe$;70\npossess-a++b\\.dll$;70\nlook-(?=x)x\\.sys$;70\n' > "$ioc/pack/cache-filename-iocs.txt"
printf 'cached-c2.example.net\n' > "$ioc/pack/cache-c2-iocs.txt"
printf 'x' > "$ioc/tree/cachedname-42.exe"
printf 'x' > "$ioc/tree/possess-aab.dll"
printf 'x' > "$ioc/tree/look-x.sys"
printf 'beacon cached-c2.example.net\n' > "$ioc/tree/conf.txt"
printf 'x' > "$ioc/tree/cachedname-x.exe"
ioc_sweep() {
    "$CS" scan --no-default-packs --pack "$ioc/pack" --detectors filename,c2 --json -q --cache-dir "$ioc/cache" "$ioc/tree" > "$ioc/out.jsonl"
    jq -r 'select(.type == "finding") | "\(.path | split("/") | last) \(.reasons[0].detector)"' "$ioc/out.jsonl" | sort > "$ioc/$1.found"
}
ioc_sweep fresh
check "IOC databases: four findings from a fresh cache" diff "$ioc/fresh.found" <(printf 'cachedname-42.exe filename\nconf.txt c2\nlook-x.sys filename\npossess-aab.dll filename\n')
check "IOC databases: both written to the cache" \
    bash -c "ls '$ioc/cache' | grep -q '^filename-iocs-[0-9a-f]\{64\}\.hsdb$' && ls '$ioc/cache' | grep -q '^c2-iocs-[0-9a-f]\{64\}\.hsdb$'"
# a database read back is kept (the same inode) and marked as used (its
# time); one compiled again would be a new file
touch -d 2001-01-01 "$ioc/cache"/*.hsdb
inodes=$(stat -c %i "$ioc/cache"/*.hsdb | sort | tr '\n' ' ')
ioc_sweep warm
check "IOC databases from the cache: the same findings" diff "$ioc/warm.found" "$ioc/fresh.found"
check "IOC databases: read from the cache, not compiled again (same files, used just now)" \
    bash -c "[ \"\$(stat -c %i '$ioc/cache'/*.hsdb | sort | tr '\n' ' ')\" = '$inodes' ] && [ -z \"\$(find '$ioc/cache' -name '*.hsdb' ! -newermt 2002-01-01)\" ]"
for f in "$ioc/cache"/*.hsdb; do head -c 40 "$f" > "$f.cut" && mv "$f.cut" "$f"; done
ioc_sweep damaged
check "IOC databases: a damaged cache file is compiled again, the same findings" diff "$ioc/damaged.found" "$ioc/fresh.found"
check "IOC databases: ... and written again whole" bash -c "[ \$(stat -c %s '$ioc/cache'/filename-iocs-*.hsdb) -gt 40 ]"
# the three digests, taken in turns by 64-byte blocks, equal coreutils' on
# sizes around a block, a 256 KiB chunk and the page release boundary
dg=$work/digests
mkdir -p "$dg/tree" "$dg/pack"
for size in 1 63 64 65 127 128 262143 262144 262145 524388 1048583 8388609; do
    # (an "x" first: a file of a lone newline is one the hash IOCs ignore)
    { printf x; head -c "$((size - 1))" /dev/urandom; } > "$dg/tree/f$size"
done
{ for f in "$dg/tree"/*; do sha256sum "$f" | cut -d' ' -f1 | sed 's/$/;80;digest test/'; done
  md5sum < "$dg/tree/f1" | cut -d' ' -f1 | sed 's/$/;80;md5 wanted/'
  sha1sum < "$dg/tree/f63" | cut -d' ' -f1 | sed 's/$/;80;sha1 wanted/'; } > "$dg/pack/digest-hash-iocs.txt"
"$CS" scan --no-default-packs --pack "$dg/pack" --detectors hash --json -q --max-size 16M "$dg/tree" > "$dg/out.jsonl"
jq -r 'select(.type == "finding") | "\(.md5) \(.sha1) \(.sha256) \(.path)"' "$dg/out.jsonl" | sort -k4 > "$dg/ours"
for f in "$dg/tree"/*; do
    echo "$(md5sum < "$f" | cut -d' ' -f1) $(sha1sum < "$f" | cut -d' ' -f1) $(sha256sum < "$f" | cut -d' ' -f1) $f"
done | sort -k4 > "$dg/coreutils"
check "MD5, SHA-1, SHA-256 by blocks equal coreutils on 12 sizes ($(wc -l < "$dg/ours") files)" diff "$dg/ours" "$dg/coreutils"
finish
