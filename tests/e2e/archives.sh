#!/usr/bin/env bash
# Installers and archives scanned inside: every expectation of
# make_archives.sh's MANIFEST (members of ZIP, 7z, tar.*, cpio, ar, .deb,
# ISO, CAB, MSI -> CAB, ZIP -> MSI -> CAB, PE overlays, bombs, traversal
# names, links, encrypted and damaged archives), the same findings loose and
# packed, limits, --no-archives, incremental re-reports, bounded memory, and
# a ~100 MB MSI like the real 3CX installers.
# Usage: archives.sh CHAINSWEEP SRCDIR     (exit 77 when a fixture tool is missing)
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-archives-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

bash "$SRC/tests/fixtures/make_archives.sh" --big "$work/fx" > "$work/build.log" 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
    cat "$work/build.log" >&2
    echo "SKIP: a fixture tool is missing (scripts/deps.sh test installs them)"
    exit 77
fi
[ "$rc" -eq 0 ] || { cat "$work/build.log" >&2; echo "FAIL: fixtures"; exit 1; }
mkdir -p "$work/pack"
cp "$work/fx/hash-iocs.txt" "$work/pack/"
fx=$work/fx
packs=(--pack "$SRC/packs/3cx-2023" --pack "$work/pack")

# the whole tree, every record; the limits of the MANIFEST's hostile shapes
/usr/bin/time -f '%M' -o "$work/rss" "$CS" scan "${packs[@]}" --json -q --print-all --max-members 1000 -p 2 \
    "$fx" > "$work/all.jsonl" 2> "$work/err"
rc=$?
check "findings: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "every MANIFEST expectation" python3 "$SRC/tests/e2e/check_members.py" "$fx" "$work/all.jsonl"
python3 "$SRC/tests/e2e/check_members.py" "$fx" "$work/all.jsonl" | tail -n 1 | sed 's/^/  manifest: /'
rss=$(tail -n 1 "$work/rss")
echo "  peak RSS of the whole sweep (bombs and the 100 MB MSI included): $((rss / 1024)) MiB"
if [ -z "${CS_SANITIZED:-}" ]; then
    check "memory stays bounded: peak RSS under 600 MiB (got $((rss / 1024)) MiB)" [ "$rss" -lt $((600 * 1024)) ]
fi

check "ar symbol and long-name tables (/, //) are not members (no false 'absolute name')" jq_true "$work/all.jsonl" \
    'all(.[] | select(.path != null and (.path | endswith("members.a"))); (.reasons // []) | all(.detector != "unpack"))'

# the same files loose and packed: the same findings for every member
loose_vs_packed() {
    python3 - "$fx" "$work/all.jsonl" <<'EOF'
import json, sys
outdir, scan = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(scan) if l.strip()]
def key(r):
    # what the content says: the name-based layers (filename IOCs, unsafe
    # names) and a container's own summary may differ by where a file sits
    return sorted(x["detector"] + ":" + x["rule"] for x in r.get("reasons") or []
                  if x["detector"] not in ("filename", "unpack", "contains"))
loose = {r["path"].rsplit("/", 1)[1]: key(r) for r in recs
         if r.get("path", "").startswith(outdir + "/plain/") and not r.get("members")}
bad = n = 0
for r in recs:
    m = r.get("members")
    if not m or r["type"] not in ("file", "finding"):
        continue
    base = m[-1]["member"].replace("\\", "/").rsplit("/", 1)[-1]
    if base in loose:
        n += 1
        if key(r) != loose[base]:
            bad += 1
            print("differs:", r["display_path"], key(r), "loose:", loose[base])
print(f"{n} packed members compared with their loose copies, {bad} differ")
sys.exit(1 if bad or n < 60 else 0)
EOF
}
check "loose and packed: the same findings per member" loose_vs_packed
loose_vs_packed | tail -n 1 | sed 's/^/  /'

one() { "$CS" scan "${packs[@]}" --json -q --print-all "$@"; }
# the chain of ZIP -> MSI -> CAB -> ffmpeg.dll, named by the MSI's File table
one "$fx/installer/msi-in.zip" > "$work/chain.jsonl"
check "member chain ZIP -> MSI -> CAB -> ffmpeg.dll with types" jq_true "$work/chain.jsonl" \
    'any(.[]; .type == "finding" and ([.members[]?.type] == ["MSI", "CAB", "EXE"]) and (.members[-1].member | endswith("/ffmpeg.dll")) and (.display_path | test("msi-in\\.zip!/3CXDesktopApp-18\\.12\\.416\\.msi!/Data1\\.cab!/.*ffmpeg\\.dll$")))'
check "the outer installer gets a 'contains' finding naming the worst member" jq_true "$work/chain.jsonl" \
    'any(.[]; (.members | not) and .type == "finding" and any(.reasons[]; .detector == "contains" and .rule == "member_alert") and .container == "ZIP")'
check "a member's own hashes and size" jq_true "$work/chain.jsonl" \
    'any(.[]; .members and (.members[-1].member | endswith("ffmpeg.dll")) and (.sha256 | length) == 64 and .size > 0)'
# the hash layer inside ZIP -> MSI -> CAB: the member's own SHA-256
mkdir -p "$work/hpack"
printf '%s;test: the 3CX-like ffmpeg.dll\n' "$(sha256sum "$fx/plain/ffmpeg.dll" | cut -c1-64)" > "$work/hpack/member-hash-iocs.txt"
"$CS" scan --pack "$work/hpack" --detectors hash --json -q "$fx/installer/msi-in.zip" > "$work/hchain.jsonl"
check "hash IOC of a member three levels down (ZIP -> MSI -> CAB -> ffmpeg.dll)" jq_true "$work/hchain.jsonl" \
    'any(.[]; ([.members[]?.type] == ["MSI", "CAB", "EXE"]) and .reasons[0].detector == "hash")'
check "members come before their container" jq_true "$work/chain.jsonl" \
    '[.[] | select(.type != "summary") | (.members // [] | length)] as $d | ($d | last) == 0 and ($d | first) > 0'
check "filename IOCs see the member's name" jq_true "$work/chain.jsonl" \
    'any(.[]; (.members | length) == 1 and any(.reasons[]; .detector == "filename"))'

# text output shows the display path, CSV too
"$CS" scan "${packs[@]}" -q "$fx/installer/msi-in.zip" > "$work/chain.txt"
check "text names the member by its display path" grep -q 'msi-in.zip!/3CXDesktopApp-18.12.416.msi!/Data1.cab!/.*ffmpeg.dll' "$work/chain.txt"
"$CS" scan "${packs[@]}" -q --csv "$fx/installer/msi-in.zip" > "$work/chain.csv"
check "CSV names the member by its display path" grep -q 'Data1.cab!/.*ffmpeg.dll' "$work/chain.csv"

# THOR's externals for members: unpack_parent and unpack_source, and the member's name
mkdir -p "$work/ext"
cat > "$work/ext/unpack.yar" <<'EOF'
rule member_of_zip_msi_cab { meta: score = 70
  condition: unpack_parent == "CAB" and unpack_source == "ZIP>MSI>CAB" and filename == "ffmpeg.dll" and extension == ".dll" }
rule member_of_zip { meta: score = 70
  condition: unpack_parent == "ZIP" and unpack_source == "ZIP" and filename == "clean.txt" }
rule outer_file { meta: score = 70
  condition: unpack_parent == "" and unpack_source == "" and filename == "msi-in.zip" }
EOF
"$CS" scan --pack "$work/ext" --detectors yara --json -q "$fx/installer/msi-in.zip" "$fx/archive/members.zip" > "$work/ext.jsonl"
check "YARA unpack_parent/unpack_source/filename for a member three levels down" jq_true "$work/ext.jsonl" \
    'any(.[]; (.members | length) == 3 and .reasons[0].rule == "member_of_zip_msi_cab")'
check "YARA externals for a ZIP member and for the outer file" jq_true "$work/ext.jsonl" \
    'any(.[]; .display_path != null and (.display_path | endswith("members.zip!/clean.txt")) and .reasons[0].rule == "member_of_zip") and any(.[]; (.members | not) and any(.reasons[]; .rule == "outer_file"))'

# limits, one at a time
one --max-unpack-depth 20 "$fx/hostile/nested-12.zip" > "$work/deep.jsonl"
check "with the depth raised, the DLL at the bottom of 12 zips is found" jq_true "$work/deep.jsonl" \
    'any(.[]; .type == "finding" and (.members | length) == 12 and any(.reasons[]; .detector == "yara"))'
one "$fx/hostile/nested-12.zip" > "$work/shallow.jsonl"
check "default depth: a visible unpack_depth record" jq_true "$work/shallow.jsonl" 'any(.[]; .skipped == "unpack_depth")'
one "$fx/hostile/many-members.zip" > "$work/many.jsonl"
check "default member limit reads all 5001 members and finds the last" jq_true "$work/many.jsonl" \
    'any(.[]; .type == "finding" and (.members[-1].member == "zz/ffmpeg.dll"))'
one --max-members 100 "$fx/hostile/many-members.zip" > "$work/few.jsonl"
check "--max-members 100: one skipped record, the 100 read members kept" jq_true "$work/few.jsonl" \
    '([.[] | select(.skipped == "members")] | length) == 1 and ([.[] | select(.type == "file" and .members)] | length) == 100'
one --max-member-size 8K "$fx/archive/members.zip" > "$work/msize.jsonl"
check "--max-member-size: members over it are too_large records" jq_true "$work/msize.jsonl" \
    'any(.[]; .skipped == "too_large" and .members) and any(.[]; .type == "file" and (.members[-1].member == "clean.txt"))'
one --max-unpack-total 20K "$fx/archive/members.zip" > "$work/total.jsonl"
check "--max-unpack-total: an unpack_total record" jq_true "$work/total.jsonl" 'any(.[]; .skipped == "unpack_total")'
one --max-ratio 0 --max-member-size 200M "$fx/hostile/ratio-100m.zip" > "$work/noratio.jsonl"
check "--max-ratio 0 turns the ratio check off (100 MiB member read)" jq_true "$work/noratio.jsonl" \
    'any(.[]; .type == "file" and .members and .size == 104857600)'
one --no-archives "$fx/installer/msi-in.zip" "$fx/archive/members.zip" > "$work/noarch.jsonl"
check "--no-archives: no member records" jq_true "$work/noarch.jsonl" 'all(.[]; .members == null)'

# the big installer: its outer hash is an IOC, YARA gets a note, and the
# cabinet inside it is unpacked and the smuggled DLL found
one --max-size 64M "$fx/big/3cx-setup-big.msi" > "$work/big.jsonl"
check "~100 MB MSI: outer hash IOC and advisory found" jq_true "$work/big.jsonl" \
    'any(.[]; (.members | not) and any(.reasons[]; .detector == "hash") and any(.reasons[]; .detector == "advisory"))'
check "~100 MB MSI: over --max-size, a note, not skipped" jq_true "$work/big.jsonl" \
    'any(.[]; (.members | not) and (.note | test("max-size")) and .skipped == null)'
check "~100 MB MSI: the padding-smuggled DLL in its cabinet is found" jq_true "$work/big.jsonl" \
    'any(.[]; .members and (.members[-1].member | endswith("d3dcompiler_47.dll")) and any(.reasons[]; .rule == "payload_in_signature"))'

# incremental: the second sweep re-reports the same records from the store
for run in 1 2; do
    "$CS" scan "${packs[@]}" --json -q --state "$work/state.sqlite" "$fx/installer" "$fx/archive" > "$work/incr$run.jsonl"
done
strip='select(.type != "summary") | del(.time, .cached)'
check "incremental: identical member findings on the second sweep" \
    diff <(jq -cS "$strip" "$work/incr1.jsonl" | sort) <(jq -cS "$strip" "$work/incr2.jsonl" | sort)
check "incremental: containers not read again (only partial ones are)" jq_true "$work/incr2.jsonl" \
    '[.[] | select((.type == "error" or .warning) and (.members | not)) | .path] as $partial | .[-1].files_cached > 50 and all(.[]; .type == "summary" or .cached or (.path as $p | $partial | index($p)))'

# formats make_archives.sh does not build: XAR (a macOS flat .pkg's container,
# written by bsdtar) and an NSIS installer (noted: no C library unpacks NSIS)
mkdir -p "$work/more/xar-src/Payload"
cp "$fx/plain/ffmpeg.dll" "$work/more/xar-src/Payload/"
(cd "$work/more/xar-src" && bsdtar --format xar -cf "$work/more/pkg.xar" Payload)
# makensis, like every fixture tool, comes with scripts/deps.sh: a missing one is a failure, not a skip
check "makensis is there (nsis, from scripts/deps.sh)" command -v makensis
if command -v makensis > /dev/null; then
    printf 'OutFile "%s"\nUnicode true\nSetCompressor /SOLID lzma\nSection\nSetOutPath $INSTDIR\nFile "%s"\nSectionEnd\n' \
        "$work/more/setup-nsis.exe" "$fx/plain/ffmpeg.dll" > "$work/more/t.nsi"
    makensis -V1 "$work/more/t.nsi" > /dev/null
fi
# recognised but not read: noted, never silent (structure only: the magic and the trailer)
{ printf 'MSWIM\0\0\0'; head -c 4096 /dev/zero; } > "$work/more/install.wim"
{ head -c 8192 /dev/zero; printf 'koly'; head -c 508 /dev/zero; } > "$work/more/app.dmg"
one "$work/more" > "$work/more.jsonl"
check "WIM and DMG: a note says they are not unpacked" jq_true "$work/more.jsonl" \
    'any(.[]; (.path | endswith("install.wim")) and (.note | test("WIM"))) and any(.[]; (.path | endswith("app.dmg")) and (.note | test("DMG")))'
check "XAR: the member is found" jq_true "$work/more.jsonl" \
    'any(.[]; .container == null and .display_path != null and (.display_path | endswith("pkg.xar!/Payload/ffmpeg.dll")) and any(.reasons[]; .detector == "yara"))'
if [ -f "$work/more/setup-nsis.exe" ]; then
    check "NSIS installer: a note says it is not unpacked" jq_true "$work/more.jsonl" \
        'any(.[]; (.path | endswith("setup-nsis.exe")) and (.note | test("NSIS")))'
fi

# related objects inside containers: a macOS bundle zipped or tarred is read
# with its Contents/Info.plist, so the advisory layer sees what it is
bash "$SRC/tests/fixtures/make_products.sh" "$work/prod" > /dev/null 2>&1
check "bundle fixtures built (make_products.sh)" [ -d "$work/prod/mac-1213" ]
if [ -d "$work/prod/mac-1213" ]; then
    (cd "$work/prod" && zip -qr "$work/more2.zip" mac-1213 near-mac-422 && tar czf "$work/more2.tar.gz" mac-402)
    "$CS" scan "${packs[@]}" --detectors advisory --json -q "$work/more2.zip" "$work/more2.tar.gz" > "$work/bundles.jsonl"
    check "bundles in a ZIP and a tar.gz: Info.plist read beside the executable, compromised versions reported" jq_true "$work/bundles.jsonl" \
        '([.[] | select(.members) | .reasons[0].rule] | sort) == ["CS-2023-3CX-MACOS", "CS-2023-3CX-MACOS"] and all(.[] | select(.members); .product.source_path | endswith(".app/Contents/Info.plist"))'
    check "the near miss (18.12.422) in the same ZIP is not reported" jq_true "$work/bundles.jsonl" \
        'all(.[]; (.display_path // "") | test("near-mac-422") | not)'
fi

# inventory: installer contents as nested CycloneDX components
"$CS" inventory "${packs[@]}" --cyclonedx "$fx/installer" > "$work/bom.json" 2> /dev/null
check "inventory of installers: CycloneDX 1.5 validates" python3 "$SRC/tests/e2e/validate_cyclonedx.py" "$SRC/tests/schema" "$work/bom.json"
check "inventory: the MSI inside a ZIP is a component nested in the ZIP's" \
    jq -e 'any(.components[]; .type == "file" and .name == "msi-in.zip" and any(.components[]; .name == "3CX Desktop App" and .version == "18.12.416" and (.evidence.occurrences[0].location | endswith("msi-in.zip!/3CXDesktopApp-18.12.416.msi"))))' "$work/bom.json"
"$CS" inventory "${packs[@]}" "$fx/installer" > "$work/inv.txt" 2> /dev/null
check "inventory table: a member's row shows its display path" grep -q 'msi-in.zip!/3CXDesktopApp-18.12.416.msi' "$work/inv.txt"

# a member name that is not UTF-8 goes through the store byte for byte
mkdir -p "$work/raw"
python3 -c "
import io, tarfile
t = tarfile.open('$work/raw/raw.tar', 'w', format=tarfile.GNU_FORMAT, encoding='latin-1')
d = open('$fx/plain/ffmpeg.dll', 'rb').read()
ti = tarfile.TarInfo('caf\xe9.dll'); ti.size = len(d); t.addfile(ti, io.BytesIO(d)); t.close()"
for run in 1 2; do
    "$CS" scan "${packs[@]}" --json -q --state "$work/raw.sqlite" "$work/raw" > "$work/raw$run.jsonl"
done
check "non-UTF-8 member name: recorded and re-reported from the store, same bytes" bash -c \
    "diff <(jq -cS '$strip' '$work/raw1.jsonl') <(jq -cS '$strip' '$work/raw2.jsonl') && jq -e -s 'any(.[]; .cached and .members[0].member_b64 == \"Y2Fm6S5kbGw=\")' '$work/raw2.jsonl' > /dev/null"

# nothing is ever written next to the scanned files
check "nothing written into the scanned tree" bash -c "[ -z \"\$(find '$fx' -newer '$work/all.jsonl' -print -quit)\" ]"
finish
