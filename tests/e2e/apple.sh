#!/usr/bin/env bash
# Apple and Electron containers: universal Mach-O slices, app.asar (with
# its integrity hashes), and (when built) DMG and flat .pkg. Fixtures are
# made here with real tools: clang + ld64.lld + llvm-lipo for Mach-O, our
# asar writer (checked byte for byte against @electron/asar 3.4.1 from npm
# when npm can fetch it).
# usage: apple.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-apple-XXXXXX)
trap 'rm -rf "$work"' EXIT
for t in clang ld64.lld-14 llvm-lipo-14 jq python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed (scripts/deps.sh test installs it)"; exit 77; }
done
mkdir -p "$work/pack/yara" "$work/pack/iocs" "$work/t"
cat > "$work/pack/yara/apple.yar" <<'YAR'
rule fat_arm64_marker { meta: score = 80 strings: $a = "CS-FAT-ARM64-MARKER" condition: $a }
rule asar_marker { meta: score = 80 strings: $a = "CS-ASAR-MARKER-EVIL" condition: $a }
YAR
scan() { "$CS" scan --json -q --no-default-packs --pack "$work/pack" --log-skipped --print-all "$@"; }
# member FILE SUFFIX FILTER: the record of the member whose display path ends
# in SUFFIX satisfies FILTER
member() { [ "$(jq -s --arg p "$2" "[.[] | select(.display_path != null and (.display_path | endswith(\$p))) | $3 | select(. != false and . != null)] | length > 0" "$1")" = true ]; }

# ---- universal Mach-O ----
cd "$work"
printf 'const char marker[] = "CS-FAT-ARM64-MARKER";\nint f(void) { return 1; }\n' > a.c
printf 'const char marker[] = "CS-FAT-X86-MARKER";\nint f(void) { return 2; }\n' > x.c
clang -target arm64-apple-macos11 -c a.c -o a.o && clang -target x86_64-apple-macos11 -c x.c -o x.o
ld64.lld-14 -arch arm64 -platform_version macos 11.0 11.0 -dylib a.o -o a.dylib -adhoc_codesign
ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -dylib x.o -o x.dylib
llvm-lipo-14 -create a.dylib x.dylib -output t/fat.dylib
echo "$(sha256sum < x.dylib | cut -c1-64);80;x86_64 slice of the fixture" > pack/iocs/hashes.txt
# a Java class shares the magic; a fat header whose table runs past the end
printf '\xca\xfe\xba\xbe\x00\x00\x00\x34rest-of-a-class-file' > t/Hello.class
printf '\xca\xfe\xba\xbe\x00\x00\x00\x02\x01\x00\x00\x07\x00\x00\x00\x03' > t/truncated-fat.bin
# the 64-bit fat header (0xcafebabf), as lipo -fat64 writes it
python3 - <<'PY'
import struct
a, x = open("a.dylib", "rb").read(), open("x.dylib", "rb").read()
off_x = 16384; off_a = off_x + ((len(x) + 16383) // 16384) * 16384
hdr = struct.pack(">II", 0xcafebabf, 2)
hdr += struct.pack(">iiQQII", 0x01000007, 3, off_x, len(x), 14, 0)
hdr += struct.pack(">iiQQII", 0x0100000c, 0, off_a, len(a), 14, 0)
d = bytearray(off_a + len(a)); d[:len(hdr)] = hdr; d[off_x:off_x + len(x)] = x; d[off_a:] = a
open("t/fat64.dylib", "wb").write(d)
PY
scan t/fat.dylib t/fat64.dylib t/Hello.class t/truncated-fat.bin > fat.jsonl
check "fat64: x86_64 slice by its hash" member fat.jsonl 'fat64.dylib!/[x86_64]' 'select(.reasons[].detector == "hash")'
check "fat64: arm64 slice by YARA" member fat.jsonl 'fat64.dylib!/[arm64]' 'select(.reasons[].rule == "fat_arm64_marker")'
check "x86_64 slice: hash IOC" member fat.jsonl 'fat.dylib!/[x86_64]' 'select(.reasons[].detector == "hash")' 
check "arm64 slice: YARA" member fat.jsonl 'fat.dylib!/[arm64]' 'select(.reasons[].rule == "fat_arm64_marker")'
check "fat container: 2 slices read" jq_true fat.jsonl 'map(select((.path // "") | endswith("fat.dylib")) | select(.display_path == null))[0] | .container == "MACH-O-UNIVERSAL" and .members_read == 2'
check "slice sizes equal the thin files" jq_true fat.jsonl "[.[] | select(.display_path != null and (.display_path | contains(\"[x86_64]\")))][0].size == $(stat -c %s x.dylib)"
sevenzip_sizes=$(7zz l -slt t/fat.dylib 2>/dev/null | awk '/^Size = /{print $3}' | sort -n | tr '\n' ' ')
ours=$(jq -r 'select(.members != null and (.path | endswith("/fat.dylib"))) | .size' fat.jsonl | sort -n | tr '\n' ' ')
check "slices as 7-Zip splits them ($sevenzip_sizes)" [ "$sevenzip_sizes" = "$ours" ]
check "a Java class is not a universal Mach-O" jq_true fat.jsonl 'map(select((.path // "") | endswith("Hello.class")))[0] | .container == null and .filetype == "JAVA"'
check "a truncated fat header is reported" jq_true fat.jsonl 'map(select((.path // "") | endswith("truncated-fat.bin")))[0] | .note | test("runs past the end")'

# ---- code signatures (linker-signed by ld64.lld): intact, a flipped byte, data appended ----
python3 - <<'PY'
a = bytearray(open("a.dylib", "rb").read())
i = a.find(b"CS-FAT-ARM64-MARKER"); t = bytearray(a); t[i + 3] ^= 0x20
open("t/flipped.dylib", "wb").write(t)
open("t/appended.dylib", "wb").write(a + b"PAYLOAD-AFTER-THE-SIGNATURE")
PY
cp a.dylib t/intact.dylib
llvm-lipo-14 -create t/flipped.dylib x.dylib -output t/fat-flipped.dylib
scan t/intact.dylib t/flipped.dylib t/appended.dylib t/fat-flipped.dylib > cs.jsonl
check "linker-signed dylib: no code-signature finding" jq_true cs.jsonl '[.[] | select(.path == "t/intact.dylib") | .reasons[]? | select(.detector == "codesign")] | length == 0'
check "flipped byte: page_hash_mismatch" jq_true cs.jsonl '[.[] | select(.path == "t/flipped.dylib") | .reasons[]? | select(.rule == "page_hash_mismatch")] | length == 1'
check "appended data: data_after_signature" jq_true cs.jsonl '[.[] | select(.path == "t/appended.dylib") | .reasons[]? | select(.rule == "data_after_signature")] | length == 1'
check "universal file: the tampered slice is the member with the finding" member cs.jsonl 'fat-flipped.dylib!/[arm64]' '[.reasons[].rule] | index("page_hash_mismatch") != null'
"$CS" verify --json t/intact.dylib > v-intact.json; rc_intact=$?
"$CS" verify --json t/flipped.dylib > v-flipped.json; rc_flipped=$?
"$CS" verify --json t/fat-flipped.dylib t/fat.dylib > v-fat.json; rc_fat=$?
check "verify: a linker-signed dylib is adhoc, exit 0" jq_true v-intact.json '.[0].verdict == "adhoc" and .[0].slices[0].kind == "linker-signed" and .[0].slices[0].code_directories[0].bad_code_slots == 0'
check "verify: exit 0 for it ($rc_intact)" [ "$rc_intact" -eq 0 ]
check "verify: a flipped byte is tampered, exit 1 ($rc_flipped)" bash -c "[ $rc_flipped -eq 1 ] && jq -e '.verdict == \"tampered\" and .findings[0].finding == \"page_hash_mismatch\" and .slices[0].code_directories[0].bad_code_slots == 1' v-flipped.json > /dev/null"
check "verify: universal files slice by slice" jq_true v-fat.json '.[0].verdict == "tampered" and ([.[0].slices[].kind] == ["unsigned", "linker-signed"]) and .[1].verdict == "partly-signed" and .[0].findings[0].slice == 1 and .[0].slices[1].arch == "arm64"'
check "verify: exit 1 for them ($rc_fat)" [ "$rc_fat" -eq 1 ]
check "universal file: the unsigned slice has no code-signature finding" jq_true cs.jsonl '[.[] | select(.display_path // "" | endswith("fat-flipped.dylib!/[x86_64]")) | .reasons[]? | select(.detector == "codesign")] | length == 0'

# ---- Electron app.asar ----
mkdir -p asarsrc/lib asarsrc/native
echo 'console.log("hello")' > asarsrc/main.js
echo 'const c2 = "CS-ASAR-MARKER-EVIL";' > asarsrc/lib/evil.js
head -c 5000000 /dev/urandom > asarsrc/lib/big.bin
printf 'binary' > asarsrc/native/addon.node
ln -s main.js asarsrc/link.js
python3 "$SRC/tests/fixtures/make_asar.py" asarsrc t/app.asar --unpack .node
if command -v npm >/dev/null && (cd "$work" && timeout 120 npm install --no-audit --no-fund --silent --prefix npmtool @electron/asar@3.4.1 >/dev/null 2>&1); then
    (cd "$work" && ./npmtool/node_modules/.bin/asar pack asarsrc npm.asar --unpack '*.node')
    check "our asar writer equals @electron/asar 3.4.1 byte for byte" cmp -s t/app.asar npm.asar
else
    skip_part "@electron/asar 3.4.1 not fetched from npm; our writer alone made the fixture"
fi
python3 - "$work/t" <<'PY'
import json, struct, sys
d = sys.argv[1]
a = bytearray(open(f"{d}/app.asar", "rb").read())
# a member changed after packing (the 3CX way: patch the file, keep the header)
m = bytearray(a); i = m.find(b"CS-ASAR-MARKER-EVIL"); m[i + 3] = ord("X"); open(f"{d}/patched.asar", "wb").write(m)
# only a block hash of the 2-block file edited: the whole-file hash still matches
hs = struct.unpack_from("<I", a, 12)[0]
hdr = json.loads(a[16:16 + hs])
blk = hdr["files"]["lib"]["files"]["big.bin"]["integrity"]["blocks"][1]
b = bytearray(a); j = b.find(blk.encode()); b[j:j + 4] = b"0000" if blk[:4] != "0000" else b"1111"
open(f"{d}/blockedit.asar", "wb").write(b)
# a header that is not JSON; an entry whose data lies past the end
c = bytearray(a); c[16] = ord("["); open(f"{d}/badjson.asar", "wb").write(c)
open(f"{d}/short.asar", "wb").write(a[:len(a) - 10])  # cuts main.js, the last file
PY
scan t/app.asar t/patched.asar t/blockedit.asar t/badjson.asar t/short.asar > asar.jsonl
check "asar member: YARA" member asar.jsonl 'app.asar!/lib/evil.js' 'select(.reasons[].rule == "asar_marker")'
check "asar container: members read" jq_true asar.jsonl 'map(select((.path // "") | endswith("/app.asar")) | select(.display_path == null))[0] | .container == "ASAR" and .members_read == 5'
check "asar link member: not followed" member asar.jsonl 'app.asar!/link.js' 'select(.skipped == "link_member")'
check "asar unpacked member: outside" member asar.jsonl 'app.asar!/native/addon.node' 'select(.skipped == "outside" and (.note | contains("app.asar.unpacked/native/addon.node")))'
check "the intact asar has no integrity finding" jq_true asar.jsonl '[.[] | select((.path // "") | endswith("/app.asar")) | .reasons[]? | select(.detector == "integrity")] | length == 0'
check "patched member: hash mismatch" member asar.jsonl 'patched.asar!/lib/evil.js' 'select(.reasons[].rule == "member_hash_mismatch")'
check "patched member: its YARA rule no longer matches" member asar.jsonl 'patched.asar!/lib/evil.js' '[.reasons[].rule] | index("asar_marker") == null'
check "edited block hash: block mismatch" member asar.jsonl 'blockedit.asar!/lib/big.bin' 'select(.reasons[].rule == "member_block_mismatch" and (.reasons[].description | contains("block 1")))'
check "a header that is not JSON: container note" jq_true asar.jsonl 'map(select((.path // "") | endswith("badjson.asar")))[0] | .note | test("JSON")'
check "data past the end: that member not unpacked" member asar.jsonl 'short.asar!/main.js' 'select(.skipped == "not_unpacked" and (.note | contains("past the end")))'
check "data past the end: the other members read" member asar.jsonl 'short.asar!/lib/evil.js' 'select(.type == "finding")'
# ---- the 3CX macOS bundle: flat .pkg (gzip and pbzx Payloads), zipped ----
bash "$SRC/tests/fixtures/make_mac_app.sh" "$work/mac" > /dev/null
echo "$(cat mac/libffmpeg.sha256);85;libffmpeg.dylib of the fixture" >> pack/iocs/hashes.txt
for damage in truncate length garbage; do
    python3 "$SRC/tests/fixtures/make_pbzx.py" mac/payload.cpio "t/pbzx-$damage" --damage "$damage"
done
python3 "$SRC/tests/fixtures/make_pbzx.py" mac/payload.cpio t/pbzx-small-chunks --chunk 4096
# the bundled packs: the 3CX YARA rule and advisories, plus this test's hash IOC
env -u CHAINSWEEP_PACKS "$CS" scan --json -q --pack "$work/pack" --log-skipped \
    mac/3cx-gzip.pkg mac/3cx-pbzx.pkg mac/3cx-app.zip t/pbzx-* > mac.jsonl
lib='3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib'
exe='3CX Desktop App.app/Contents/MacOS/3CX Desktop App'
for p in "3cx-gzip.pkg!/3cx.pkg/Payload!/Applications/" "3cx-pbzx.pkg!/3cx.pkg/Payload!/[cpio]!/Applications/" "3cx-app.zip!/"; do
    check "$p: libffmpeg.dylib by YARA and hash" member mac.jsonl "$p$lib" '([.reasons[].rule] | index("CS_3CX_macOS_UpdateAgent_Mar23") != null) and ([.reasons[].detector] | index("hash") != null)'
    check "$p: the app is 3CX 18.12.416 (Info.plist found in the container)" member mac.jsonl "$p$exe" '.product.version == "18.12.416" and ([.reasons[].rule] | index("CS-2023-3CX-MACOS") != null)'
done
for p in 3cx-gzip.pkg 3cx-pbzx.pkg; do
    check "$p: its Distribution names 3CX Desktop App 18.12.416 (advisory)" member mac.jsonl "$p!/Distribution" '.product.source == "pkg-distribution" and .product.version == "18.12.416" and ([.reasons[].rule] | index("CS-2023-3CX-MACOS") != null)'
done
check "pbzx container named" member mac.jsonl '3cx-pbzx.pkg!/3cx.pkg/Payload' '.container == "PBZX"'
check "small pbzx chunks: one cpio member, read" member mac.jsonl 'pbzx-small-chunks!/[cpio]' '.container == "CPIO" and .members_read == 4'
for damage in truncate length garbage; do
    check "damaged pbzx ($damage): a clear record, the scan goes on" member mac.jsonl "pbzx-$damage!/[cpio]" '.skipped == "not_unpacked" and (.note | test("pbzx"))'
done
check "the sweep went on to the end" jq_true mac.jsonl '.[-1].type == "summary" and .[-1].files_scanned > 20'

# ---- the same bundle in a DMG: xorriso's HFS+ (APM) wrapped as UDIF in every chunk encoding ----
if xorriso -as mkisofs -hfsplus -apm-block-size 2048 -V "3CX Desktop App" -o disk.img mac/root/Applications >/dev/null 2>&1; then
    for e in raw zlib bzip2 adc lzma lzfse mix; do
        python3 "$SRC/tests/fixtures/make_dmg.py" wrap disk.img "t/3cx-$e.dmg" --encoding "$e"
    done
    for d in truncated-koly chunk-past-end inflates-past garbage-base64 missing-blkx lzfse; do
        python3 "$SRC/tests/fixtures/make_dmg.py" wrap disk.img "t/bad-$d.dmg" --encoding zlib --damage "$d"
    done
    # an APFS container where the HFS+ volume would be: "NXSB" at +32
    python3 - <<'PY'
d = bytearray(1 << 20); d[32:36] = b"NXSB"; open("apfs.img", "wb").write(d)
PY
    python3 "$SRC/tests/fixtures/make_dmg.py" wrap apfs.img t/apfs.dmg --encoding zlib
    # every file of the volume, byte for byte: a hash IOC per source file, so
    # each member's record carries its SHA-256
    (cd mac/root/Applications && find . -type f -printf '%P\n' | LC_ALL=C sort | while read -r f; do
        printf '%s\t%s\n' "$f" "$(sha256sum < "$f" | cut -c1-64)"; done) > want.tsv
    mkdir -p allpack/iocs && cut -f2 want.tsv | sed 's/$/;40;a file of the fixture bundle/' > allpack/iocs/hashes.txt
    env -u CHAINSWEEP_PACKS "$CS" scan --json -q --pack "$work/pack" --pack "$work/allpack" --log-skipped --print-all t/*.dmg > dmg.jsonl
    for e in raw zlib bzip2 adc lzma lzfse mix; do
        jq -r --arg p "t/3cx-$e.dmg!/" 'select(.display_path != null and (.display_path | startswith($p)) and .sha256 != null) | "\(.display_path | ltrimstr($p))\t\(.sha256)"' dmg.jsonl | LC_ALL=C sort > "got-$e.tsv"
        check "DMG ($e chunks): every file of the volume, same bytes" cmp -s want.tsv "got-$e.tsv"
        check "DMG ($e chunks): libffmpeg.dylib by YARA and hash" member dmg.jsonl "3cx-$e.dmg!/$lib" '([.reasons[].rule] | index("CS_3CX_macOS_UpdateAgent_Mar23") != null) and ([.reasons[].detector] | index("hash") != null)'
        check "DMG ($e chunks): 3CX 18.12.416 from the Info.plist inside" member dmg.jsonl "3cx-$e.dmg!/$exe" '.product.version == "18.12.416" and (.product.source_path | endswith("3cx-'"$e"'.dmg!/3CX Desktop App.app/Contents/Info.plist"))'
    done
    if command -v 7zz >/dev/null; then
        n7=$(7zz l -slt t/3cx-zlib.dmg 2>/dev/null | grep -c '^Attributes = [^D]*$' || true)
        check "as many files as 7-Zip lists ($n7)" jq_true dmg.jsonl "[.[] | select(.display_path // \"\" | startswith(\"t/3cx-zlib.dmg!/\"))] | length == $(wc -l < want.tsv)"
    fi
    dnote() { jq_true dmg.jsonl "[.[] | select(.path == \"t/$1\" and .display_path == null)][0] | (.note // .error // \"\") | test(\"$2\")"; }
    check "DMG with a truncated trailer: note" dnote bad-truncated-koly.dmg "DMG"
    check "DMG with garbage base64: note" dnote bad-garbage-base64.dmg "base64"
    check "DMG without blkx: note" dnote bad-missing-blkx.dmg "blkx"
    check "DMG chunk past the end: reported" jq_true dmg.jsonl '[.[] | select(.path == "t/bad-chunk-past-end.dmg") | (.note // .error // "")] | any(test("past|outside|beyond"))'
    check "DMG chunk inflating past its size: reported" jq_true dmg.jsonl '[.[] | select(.path == "t/bad-inflates-past.dmg") | (.note // .error // "")] | any(test("inflates|declared"))'
    check "DMG with a chunk typed LZFSE that is not: said so" jq_true dmg.jsonl '[.[] | select(.path == "t/bad-lzfse.dmg") | (.note // .error // .container // "")] | any(test("LZFSE"))'
    check "APFS volume: not unpacked, said so" dnote apfs.dmg "APFS"
    check "the DMG sweep went on to the end" jq_true dmg.jsonl '.[-1].type == "summary"'
    # HFS+ damage and features inside a DMG (bare volumes, no partition map):
    # a catalog leaf chain that loops, and hfs_damage.py's crafted HFSX volume
    # (hard links, a decmpfs file, 60-extent file through the overflow tree)
    mkdir -p hfsd
    python3 "$SRC/tests/fixtures/hfs_damage.py" volume disk.img hfsd/vol.hfs
    python3 "$SRC/tests/fixtures/hfs_damage.py" damage hfsd/vol.hfs hfsd > /dev/null 2>&1 # (no 5 MB file here: no trunc-data.hfs)
    python3 "$SRC/tests/fixtures/hfs_damage.py" build hfsd
    for v in loop crafted; do python3 "$SRC/tests/fixtures/make_dmg.py" wrap "hfsd/$v.hfs" "t/hfs-$v.dmg" --encoding zlib; done
    env -u CHAINSWEEP_PACKS "$CS" scan --json -q --pack "$work/pack" --log-skipped --print-all t/hfs-loop.dmg t/hfs-crafted.dmg > hfsd.jsonl
    check "catalog loop in a DMG: a clear note, files before it kept" jq_true hfsd.jsonl '([.[] | select(.path == "t/hfs-loop.dmg" and .display_path == null)][0].note | test("loops")) and ([.[] | select(.path == "t/hfs-loop.dmg" and .display_path != null)] | length > 0)'
    check "crafted HFSX: the 60-extent file is read whole" member hfsd.jsonl 'hfs-crafted.dmg!/dir/frag.bin' '.type == "file" and .size > 0'
    check "crafted HFSX: a decmpfs file is not_unpacked, said why" jq_true hfsd.jsonl '[.[] | select(.path == "t/hfs-crafted.dmg" and .skipped == "not_unpacked") | .note] | any(test("decmpfs"))'
    check "crafted HFSX: hard links read as their target" jq_true hfsd.jsonl '[.[] | select(.display_path == "t/hfs-crafted.dmg!/hl.txt" or .display_path == "t/hfs-crafted.dmg!/dir/hl2.txt") | .size] == [17, 17]'
    check "crafted HFSX: a hard link without its target is said" member hfsd.jsonl 'hfs-crafted.dmg!/hlbad.txt' '.skipped == "not_unpacked" and (.note | test("hard link"))'
    check "crafted HFSX: a file whose extents stop short is said" member hfsd.jsonl 'hfs-crafted.dmg!/short.txt' '.skipped == "not_unpacked" and (.note | test("extents"))'
    check "crafted HFSX: the sweep went on, the outer file names its unread members" jq_true hfsd.jsonl '.[-1].type == "summary" and ([.[] | select(.type == "error" and .path == "t/hfs-crafted.dmg")][0].message | test("not read completely"))'
else
    bad "xorriso could not make the HFS+ image"
fi
cd /
finish
