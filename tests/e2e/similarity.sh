#!/usr/bin/env bash
# Similarity references and the index, end to end.
# 1. A vendor directory of real DLLs (the GCC runtime DLLs of mingw-w64) as
#    known-good references (`sim add --good`), as a pack list and as a built
#    index: variants of libgomp-1.dll made here (300 KB appended, 8 KB
#    overwritten, the entry function patched, a section added by objcopy) are
#    near_miss_of_known_good with their distance; the originals, and an
#    unrelated DLL under the vendor's name, are not.
# 2. `sim build`/`sim query`; damaged, truncated and future-version indexes
#    are refused with the reason, by the CLI and by a scan's pack loading
#    (reported as a broken pack file: the rest of the pack loads).
# 3. Exactness: sim_check builds 1,000,000 references from mutated digests
#    of this machine's libraries and compares every search at distances 30,
#    50 and 70 with a linear scan.
# usage: similarity.sh CHAINSWEEP SOURCE_DIR SIM_CHECK
CS=$1
SRC=$2
SIM_CHECK=$3
. "$SRC/tests/e2e/lib.sh"
for t in jq python3 x86_64-w64-mingw32-objcopy; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
rt=$(ls -d /usr/lib/gcc/x86_64-w64-mingw32/*-win32 2>/dev/null | tail -1)
[ -n "$rt" ] && [ -f "$rt/libgcc_s_seh-1.dll" ] || { echo "SKIP: no mingw-w64 GCC runtime DLLs"; exit 77; }
work=$(mktemp -d /tmp/cs-sim-XXXXXX)
trap 'rm -rf "$work"' EXIT

# -- 1. the vendor's files and their variants
mkdir -p "$work/vendor" "$work/pack/similarity" "$work/packi"
for d in libgcc_s_seh-1.dll libgomp-1.dll libquadmath-0.dll libssp-0.dll libatomic-1.dll; do
    cp "$rt/$d" "$work/vendor/"
done
"$CS" sim add --good --product "GCC runtime 12" --vendor "GNU (mingw-w64)" -o "$work/pack/similarity/vendor.tsv" \
    "$work/vendor" 2> "$work/add.err"
check "sim add: a row per vendor file" [ "$(wc -l < "$work/pack/similarity/vendor.tsv")" -eq 5 ]
check "sim add: good rows with name, product, vendor, SHA-256" [ "$(grep -cP '^good\tT1[0-9A-F]{70}\t0\tlib[a-z_+-]*-[0-9]\.dll\tGCC runtime 12\tGNU \(mingw-w64\)\t[0-9a-f]{64}\t' "$work/pack/similarity/vendor.tsv")" -eq 5 ]
check "sim add: says what it wrote" grep -q "5 reference(s) written" "$work/add.err"
"$CS" sim build -o "$work/packi/vendor.csim" "$work/pack/similarity/vendor.tsv" 2> "$work/build.err"
check "sim build: an index of 5" grep -q "vendor.csim: 5 reference(s)" "$work/build.err"

v=libgomp-1.dll
mkdir -p "$work/t"/{orig,appended,overwritten,patched,section,unrelated}
cp "$rt/$v" "$work/t/orig/$v"
cp "$rt/libquadmath-0.dll" "$work/t/unrelated/$v"
python3 - "$rt/$v" "$work/t" <<'PY'
import os, random, struct, sys
src, out = sys.argv[1], sys.argv[2]
d = bytearray(open(src, "rb").read())
rnd = random.Random(13)
name = os.path.basename(src)
# the d3dcompiler pattern: an encrypted payload appended
open(f"{out}/appended/{name}", "wb").write(bytes(d) + bytes(rnd.getrandbits(8) for _ in range(300 * 1024)))
o = bytearray(d); o[65536:65536 + 8192] = bytes(rnd.getrandbits(8) for _ in range(8192))
open(f"{out}/overwritten/{name}", "wb").write(o)
# the entry function patched: its first 32 bytes replaced (mov eax, 1; ret; int3...)
pe = struct.unpack_from("<I", d, 0x3c)[0]
nsec, optsize = struct.unpack_from("<H", d, pe + 6)[0], struct.unpack_from("<H", d, pe + 20)[0]
entry = struct.unpack_from("<I", d, pe + 24 + 16)[0]
for i in range(nsec):
    s = pe + 24 + optsize + 40 * i
    vsize, va, rsize, rptr = struct.unpack_from("<IIII", d, s + 8)
    if va <= entry < va + max(vsize, rsize):
        off = rptr + entry - va
        break
p = bytearray(d); p[off:off + 32] = b"\xb8\x01\x00\x00\x00\xc3" + b"\xcc" * 26
assert p != d
open(f"{out}/patched/{name}", "wb").write(p)
PY
x86_64-w64-mingw32-objcopy --add-section .cs="$SRC/README.md" --set-section-flags .cs=contents,alloc,load,readonly,code \
    --change-section-address .cs=0x1e0300000 "$rt/$v" "$work/t/section/$v" 2>/dev/null
check "fixture: objcopy added a section" bash -c "x86_64-w64-mingw32-objdump -h '$work/t/section/$v' | grep -q ' \.cs '"

nm_of() { # nm_of JSONL VARIANT -> the similarity findings of that variant
    jq -s --arg v "/$1/$v" '[.[] | select((.path // "") | endswith($v)) | .reasons[] | select(.detector == "similarity")]' "$2"
}
for form in pack packi; do
    "$CS" scan --json -q --no-default-packs --pack "$work/$form" "$work/t" > "$work/$form.jsonl"
    check "$form: the scan ran (exit 1: findings)" [ $? -eq 1 ]
    for variant in appended overwritten patched section; do
        r=$(nm_of "$variant" "$work/$form.jsonl")
        check "$form: $variant is near_miss_of_known_good" \
            [ "$(echo "$r" | jq '.[0].rule == "near_miss_of_known_good" and (.[0].description | test("looks like libgomp-1.dll of GCC runtime 12 \\(GNU \\(mingw-w64\\)\\) but is not it: TLSH distance [0-9]+ to T1"))')" = true ]
        echo "$form $variant: $(echo "$r" | jq -r '.[0].description' | grep -o 'TLSH distance [0-9]*')"
    done
    check "$form: the vendor's own file is not reported" [ "$(nm_of orig "$work/$form.jsonl")" = "[]" ]
    check "$form: an unrelated DLL under the vendor's name is not" [ "$(nm_of unrelated "$work/$form.jsonl")" = "[]" ]
done
check "list and index give the same findings" [ "$(jq -c 'select(.path) | [.path, .reasons]' "$work/pack.jsonl" | sort)" = "$(jq -c 'select(.path) | [.path, .reasons]' "$work/packi.jsonl" | sort)" ]

# -- 2. query and damaged indexes
"$CS" sim query -d 100 "$work/packi/vendor.csim" "$work/t/appended/$v" > "$work/q.out"
check "sim query: finds the vendor's file (exit 1)" [ $? -eq 1 ]
check "sim query: the vendor's file first" bash -c "head -1 '$work/q.out' | cut -f3,6 | grep -qx 'good	$v'"
"$CS" sim query -d 100 "$work/pack/similarity/vendor.tsv" "$work/t/appended/$v" > "$work/q2.out"
check "sim query: a list answers as its index" cmp -s "$work/q.out" "$work/q2.out"
"$CS" sim query -x -d 100 "$work/packi/vendor.csim" "$work/t/appended/$v" > "$work/qx.out"
check "sim query -x: finds the vendor's file (exit 1)" [ $? -eq 1 ]
dl=$(head -1 "$work/q.out" | cut -f2) dx=$(head -1 "$work/qx.out" | cut -f2)
check "sim query -x: without the lengths the appended file is nearer ($dx, with them $dl)" [ "$dx" -lt "$dl" ]
if command -v tlsh_unittest > /dev/null; then
    want=$(tlsh_unittest -xlen -c "$(tlsh_unittest -f "$work/t/appended/$v" | cut -f1)" -d "$(head -1 "$work/qx.out" | cut -f5 | cut -c3-)" | awk '{print $1}')
    check "sim query -x: the distance is tlsh_unittest -xlen's ($want)" [ "$dx" = "$want" ]
fi
dig=$(cut -f2 "$work/pack/similarity/vendor.tsv" | head -1)
"$CS" sim query -d 0 "$work/packi/vendor.csim" "$dig" > /dev/null
check "sim query: a digest as given, distance 0 (exit 1)" [ $? -eq 1 ]
"$CS" sim query -d 30 "$work/packi/vendor.csim" /usr/bin/env > /dev/null
check "sim query: nothing near an unrelated file (exit 0)" [ $? -eq 0 ]

# published digests as known-bad references
printf '# published\n%s a published sample\n\n%s;second one\n' "$dig" "$(cut -f2 "$work/pack/similarity/vendor.tsv" | sed -n 2p)" > "$work/published.txt"
"$CS" sim add --bad --score 80 --digests "$work/published.txt" -o "$work/published.tsv" 2> /dev/null
check "sim add --digests: a bad row per digest, with its label and score" \
    [ "$(cut -f1,3,8 "$work/published.tsv" | tr '\t' '|')" = "$(printf 'bad|80|a published sample\nbad|80|second one')" ]
echo "T1NOTADIGEST label" >> "$work/published.txt"
"$CS" sim add --bad --digests "$work/published.txt" -o "$work/published2.tsv" 2> "$work/pub.err"
check "sim add --digests: a line that is not a digest fails with its line number (exit 2)" \
    bash -c "[ $? -eq 2 ] && grep -q 'published.txt:5: not a TLSH digest' '$work/pub.err'"

damage() { # damage KIND OUT
    python3 - "$work/packi/vendor.csim" "$2" "$1" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read()); kind = sys.argv[3]
if kind == "flip":
    d[len(d) // 2] ^= 0x40
elif kind == "truncate":
    d = d[:len(d) - 100]
elif kind in ("version", "old"):
    struct.pack_into("<I", d, 8, 7 if kind == "version" else 5); struct.pack_into("<I", d, 92, zlib.crc32(bytes(d[:92])))
elif kind in ("forged", "sketch", "bands"):  # a posting or a slot's length bands changed, the checksums made right again
    n, bits = struct.unpack_from("<I", d, 16)[0], struct.unpack_from("<I", d, 44)[0]
    table = 96 + n * 48
    if kind in ("forged", "sketch"):  # the first posting's reference, or its sketch of another chunk
        start = lambda v: struct.unpack_from("<I", d, table + v * 8)[0]
        slot = next(v for v in range(1 << bits) if start(v + 1) > start(v))
        count = start(slot + 1) - start(slot)
        assert count <= 64  # no directory: n heads (2 bytes), then n records (id, sketch)
        d[table + 16 * ((1 << bits) + 1) * 8 + start(slot) * 8 + 2 * count + (0 if kind == "forged" else 4)] ^= 1
    else:  # clear the bands of the first slot that has postings: a search would pass it over
        slot = next(v for v in range(1 << bits) if struct.unpack_from("<I", d, table + v * 8 + 4)[0])
        struct.pack_into("<I", d, table + slot * 8 + 4, 0)
    struct.pack_into("<I", d, 40, zlib.crc32(bytes(d[96:])))
    struct.pack_into("<I", d, 92, zlib.crc32(bytes(d[:92])))
elif kind == "garbage":
    d = bytearray(b"not an index\n" * 10)
open(sys.argv[2], "wb").write(d)
PY
}
for kind in flip truncate version old forged sketch bands garbage; do
    damage $kind "$work/bad-$kind.csim"
    "$CS" sim query "$work/bad-$kind.csim" "$dig" > /dev/null 2> "$work/bad.err"
    check "damaged index ($kind): refused (exit 2)" [ $? -eq 2 ]
    echo "$kind: $(cat "$work/bad.err")"
done
check "damaged index: the checksum says so" grep -q "damaged (checksum" <("$CS" sim query "$work/bad-flip.csim" "$dig" 2>&1)
check "truncated index: says so" grep -q "truncated" <("$CS" sim query "$work/bad-truncate.csim" "$dig" 2>&1)
check "forged checksum: the tables are checked anyway" grep -q "chunk 0: a posting names" <("$CS" sim query "$work/bad-forged.csim" "$dig" 2>&1)
check "forged sketch: the tables are checked anyway" grep -q "chunk 0: a posting names" <("$CS" sim query "$work/bad-sketch.csim" "$dig" 2>&1)
check "forged length bands: the tables are checked anyway" grep -q "chunk 0: a slot's length bands differ" <("$CS" sim query "$work/bad-bands.csim" "$dig" 2>&1)
check "future index: names its version" grep -q "format version 7; this chainsweep reads version 6" <("$CS" sim query "$work/bad-version.csim" "$dig" 2>&1)
check "older index: says to rebuild it" grep -q "format version 5; this chainsweep reads version 6 (rebuild it with chainsweep sim build)" <("$CS" sim query "$work/bad-old.csim" "$dig" 2>&1)

# a slot of more than 64 postings has a directory of its length bands: 72
# references alike but for their lengths (lvalues 0x10-0x17, 0x30-0x37,
# 0x50-0x57: three bands) and checksums (three each), in one slot per
# chunk. So few references are searched by reading them all (sim_check's
# lengths check searches such slots through the index); here the directory
# is built, and checked on open
sums="${dig:2:2} $(for x in 00 01 02; do [ "$x" != "${dig:2:2}" ] && echo "$x"; done | head -2 | tr '\n' ' ')"
for l in 10 11 12 13 14 15 16 17 30 31 32 33 34 35 36 37 50 51 52 53 54 55 56 57; do
    for sum in $sums; do
        printf 'bad\tT1%s%s%s\t80\t-\t-\t-\t-\tlength %s\n' "$sum" "${l:1:1}${l:0:1}" "${dig:6}" "$l"
    done
done > "$work/long.tsv"
"$CS" sim build -o "$work/long.csim" "$work/long.tsv" 2> /dev/null
q=T1${dig:2:2}F4${dig:6}   # lvalue 0x4f: within 30 of 0x50 (1) and 0x51 (24) only, whatever the checksum (1); beyond, 12 per step
"$CS" sim query -d 30 "$work/long.csim" "$q" > "$work/long.out"
check "long slot: the references of the lengths within reach" \
    [ "$(cut -f10 "$work/long.out" | sort | tr '\n' ' ')" = "length 50 length 50 length 50 length 51 length 51 length 51 " ]
python3 - "$work/long.csim" "$work/long-forged.csim" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read())
n, bits = struct.unpack_from("<I", d, 16)[0], struct.unpack_from("<I", d, 44)[0]
table = 96 + n * 48
post = table + 16 * ((1 << bits) + 1) * 8
slot = next(v for v in range(1 << bits) if struct.unpack_from("<I", d, table + v * 8 + 8)[0] - struct.unpack_from("<I", d, table + v * 8)[0] > 64)
a = struct.unpack_from("<I", d, table + slot * 8)[0]
struct.pack_into("<I", d, post + a * 8 + 4, struct.unpack_from("<I", d, post + a * 8 + 4)[0] + 1)  # the second band's start
struct.pack_into("<I", d, 40, zlib.crc32(bytes(d[96:])))
struct.pack_into("<I", d, 92, zlib.crc32(bytes(d[:92])))
open(sys.argv[2], "wb").write(d)
PY
"$CS" sim query "$work/long-forged.csim" "$q" > /dev/null 2> "$work/long.err"
check "forged directory: refused (exit 2), the tables are checked anyway" \
    bash -c "[ $? -eq 2 ] && grep -q 'chunk 0: a slot.s directory differs from its postings' '$work/long.err'"
mkdir -p "$work/packbad/iocs"
cp "$work/bad-flip.csim" "$work/packbad/broken.csim"
echo "0123456789abcdef0123456789abcdef;80;a hash so that the pack has rules" > "$work/packbad/iocs/hashes.txt"
"$CS" scan -q --no-default-packs --pack "$work/packbad" "$work/t/orig" > "$work/sb.out" 2> "$work/sb.err"
rc=$?
# as any broken pack file: named on stderr, the rest of the pack loads
check "scan with a damaged index in a pack: the scan goes on (exit 0)" [ $rc -eq 0 ]
check "scan with a damaged index in a pack: the file and the reason on stderr" grep -q 'broken.csim: similarity index damaged (checksum' "$work/sb.err"

# -- 3. exactness against a linear scan, 1,000,000 references
find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -name '*.so*' -size -3M | sort | head -1500 > "$work/seedfiles"
xargs -a "$work/seedfiles" -d '\n' "$CS" sim add --bad -o "$work/seeds.tsv" 2> /dev/null
check "seeds: at least 200 real digests" [ "$(wc -l < "$work/seeds.tsv")" -ge 200 ]
"$SIM_CHECK" --refs 1000000 --queries ${CS_SIM_QUERIES:-30} --verify "$work/seeds.tsv" > "$work/check.out"
check "sim_check: every search equals the linear scan's" [ $? -eq 0 ]
cat "$work/check.out"
check "sim_check: compared 270 searches" grep -q "^exactness: 270 searches compared with a linear scan over 1000000 references, [0-9]* results, 0 different" "$work/check.out"
check "sim_check: references at exactly the distance, spread so that one chunk is within its radius, all found" \
    grep -q "^boundary: 600 searches, 19500 references at exactly the distance, 0 missed" "$work/check.out"
check "sim_check: references whose lengths are within reach around 0 and 255 (one long slot per chunk), all found" \
    grep -q "^lengths around 0: 300 searches, [0-9]* references within the distance, 0 missed or extra" "$work/check.out"
# without the lengths a search reads every length band: fewer queries
"$SIM_CHECK" --refs 1000000 --queries 5 --ignore-length --verify "$work/seeds.tsv" > "$work/checkx.out"
check "sim_check --ignore-length: every search equals the linear scan's" [ $? -eq 0 ]
grep '^exactness' "$work/checkx.out"
check "sim_check --ignore-length: the lengths check too" \
    grep -q "^lengths around 0: 300 searches, 28800 references within the distance, 0 missed or extra" "$work/checkx.out"
check "sim_check --ignore-length: compared 45 searches" grep -q "^exactness: 45 searches compared with a linear scan over 1000000 references, [0-9]* results, 0 different" "$work/checkx.out"
finish
