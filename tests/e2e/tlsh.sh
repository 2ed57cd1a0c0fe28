#!/usr/bin/env bash
# TLSH digests and distances against the reference: Debian's tlsh-tools
# 3.4.4 (the same 70-digit body for inputs of 256 bytes or more; it has no
# "T1" and its minimum is 256 bytes). Files: up to 600 shared objects and
# executables of this machine, read by our tool in odd-sized blocks.
# Then the scan's findings and inventory rows carry the file's TLSH.
# usage: tlsh.sh TLSH_DIGEST_TOOL SOURCE_DIR CHAINSWEEP
TOOL=$1
SRC=$2
CS=$3
. "$SRC/tests/e2e/lib.sh"
command -v tlsh_unittest >/dev/null || { echo "SKIP: tlsh_unittest (tlsh-tools) not installed"; exit 77; }
work=$(mktemp -d /tmp/cs-tlsh-XXXXXX)
trap 'rm -rf "$work"' EXIT
find /usr/lib/x86_64-linux-gnu /usr/bin -maxdepth 1 -type f -size +255c -readable 2>/dev/null | LC_ALL=C sort | head -600 > "$work/files"
n=$(wc -l < "$work/files")
check "enough files to compare ($n)" [ "$n" -ge 300 ]
xargs -d '\n' "$TOOL" < "$work/files" > "$work/ours.tsv"
while IFS= read -r f; do tlsh_unittest -f "$f" 2>/dev/null | head -1; done < "$work/files" > "$work/ref.tsv"
python3 - "$work" <<'PY' > "$work/cmp.txt"
import sys
w = sys.argv[1]
ref = {}
for l in open(f"{w}/ref.tsv", errors="replace"):
    p = l.rstrip("\n").split("\t")
    if len(p) >= 2:
        ref[p[1]] = p[0]
eq = ne = none_both = 0
for l in open(f"{w}/ours.tsv", errors="replace"):
    d, p = l.rstrip("\n").split("\t", 1)
    r = ref.get(p)
    if d == "TNULL" and (r is None or not r or r.startswith("TNULL")):
        none_both += 1
    elif r is not None and d[2:] == r:
        eq += 1
    else:
        ne += 1
        print("DIFF", p, d, r, file=sys.stderr)
print(eq, ne, none_both)
PY
read -r eq ne none_both < "$work/cmp.txt"
echo "TLSH digests: $eq equal to tlsh-tools 3.4.4, $ne different, $none_both without a digest in both"
check "every digest equals the reference's ($eq equal, $ne different)" [ "$ne" -eq 0 ] && [ "$eq" -ge 300 ]
# the vector path (64 positions at once, where the CPU has AVX-512 VBMI)
# against the scalar one, in blocks that leave remainders and in large ones
"$TOOL" -V
# on a CPU without AVX-512 VBMI both runs below are the scalar path
"$TOOL" -V | grep -q "^vector 1" || skip_part "the vector TLSH path: this CPU has no AVX-512 VBMI (the block sizes are still compared)"
xargs -d '\n' "$TOOL" -s < "$work/files" > "$work/scalar.tsv"
xargs -d '\n' "$TOOL" -b 65 < "$work/files" > "$work/b65.tsv"
xargs -d '\n' "$TOOL" -b 1048576 < "$work/files" > "$work/b1m.tsv"
check "vector and scalar paths: the same digests, blocks of 4099, 65 and 1 MiB" \
    bash -c "cmp -s '$work/ours.tsv' '$work/scalar.tsv' && cmp -s '$work/ours.tsv' '$work/b65.tsv' && cmp -s '$work/ours.tsv' '$work/b1m.tsv'"
# distances: 200 pairs of those digests, ours against tlsh_unittest -c/-d
python3 - "$work" "$TOOL" <<'PY' > "$work/dist.txt"
import random, subprocess, sys
w, tool = sys.argv[1], sys.argv[2]
ds = [l.split("\t")[0] for l in open(f"{w}/ours.tsv") if l.startswith("T1")]
random.seed(11)
eq = ne = xeq = xne = 0
for _ in range(200):
    a, b = random.choice(ds), random.choice(ds)
    for xlen in (False, True):
        t = subprocess.run(["tlsh_unittest", "-c", a[2:], "-d", b[2:]] + (["-xlen"] if xlen else []),
                           capture_output=True, text=True).stdout.split()
        o = subprocess.run([tool, "-d", a, b] + (["-x"] if xlen else []), capture_output=True, text=True).stdout.strip()
        same = bool(t) and o == t[0]
        if xlen:
            xeq, xne = xeq + same, xne + (not same)
        else:
            eq, ne = eq + same, ne + (not same)
print(eq, ne, xeq, xne)
PY
read -r deq dne xeq xne < "$work/dist.txt"
check "distances equal tlsh_unittest -c/-d ($deq equal, $dne different)" [ "$dne" -eq 0 ] && [ "$deq" -eq 200 ]
check "length-agnostic distances equal tlsh_unittest -xlen ($xeq equal, $xne different)" [ "$xne" -eq 0 ] && [ "$xeq" -eq 200 ]
# the short-input rule (ours: 50 bytes, 256 conservative) and no digest for uniform data
head -c 100 /usr/bin/env > "$work/short"; head -c 49 /usr/bin/env > "$work/tiny"; head -c 5000 /dev/zero > "$work/zeros"
check "100 bytes: a digest (the 4.x minimum is 50)" bash -c "'$TOOL' '$work/short' | grep -q '^T1'"
check "100 bytes, conservative: none (256)" bash -c "'$TOOL' -c '$work/short' | grep -q '^TNULL'"
check "49 bytes: none" bash -c "'$TOOL' '$work/tiny' | grep -q '^TNULL'"
check "5000 zero bytes: none (too little variety)" bash -c "'$TOOL' '$work/zeros' | grep -q '^TNULL'"
# in a scan: a finding's record (here a hash IOC on a copy of a system library)
# and, in the state store, its cached re-report carry the TLSH; the reference's
f=$(head -1 "$work/files")
cp "$f" "$work/lib.bin"
mkdir -p "$work/pack/iocs" && echo "$(sha256sum < "$work/lib.bin" | cut -c1-64);80;a test IOC" > "$work/pack/iocs/hashes.txt"
want=$(tlsh_unittest -f "$work/lib.bin" | cut -f1)
"$CS" scan --json -q --no-default-packs --pack "$work/pack" --state "$work/st.db" "$work/lib.bin" > "$work/s1.jsonl"
"$CS" scan --json -q --no-default-packs --pack "$work/pack" --state "$work/st.db" "$work/lib.bin" > "$work/s2.jsonl"
check "a finding carries its TLSH (T1$want)" jq_true "$work/s1.jsonl" "[.[] | select(.type == \"finding\")][0].tlsh == \"T1$want\""
check "and its cached re-report too" jq_true "$work/s2.jsonl" "[.[] | select(.type == \"finding\")][0] | .cached and .tlsh == \"T1$want\""
finish
