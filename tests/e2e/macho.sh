#!/usr/bin/env bash
# Mach-O code signatures on our own fixtures (tests/fixtures/make_macho_signed.sh:
# ld64.lld linker-signed and unsigned files, Developer-ID-like CMS signatures
# on a test PKI with Apple's critical extension, CD versions 0x20100..0x20500
# and SHA-1/SHA-256/SHA-384, a SHA-1 CD with a SHA-256 alternate, a timestamp
# token, and tampered copies; each checked by the independent oracle
# macho_oracle.py when built). `chainsweep verify --json` and a scan must give
# each its verdict and findings.
# usage: macho.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-macho-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -c 'import asn1crypto' 2>/dev/null || /usr/bin/python3 -c 'import asn1crypto' 2>/dev/null ||
    { echo "SKIP: python3-asn1crypto not installed (scripts/deps.sh test installs it)"; exit 77; }
bash "$SRC/tests/fixtures/make_macho_signed.sh" "$work/own" > "$work/make.log" 2>&1
rc=$?
[ "$rc" -eq 77 ] && { grep SKIP "$work/make.log"; exit 77; }
check "fixtures built and each confirmed by the oracle (make_macho_signed.sh exit $rc)" [ "$rc" -eq 0 ]
cd "$work/own"
# file | verdict | findings (ours, sorted, comma-separated)
expect=(
"adhoc-linker-arm64.dylib|adhoc|"
"adhoc-linker-x86_64.dylib|adhoc|"
"adhoc-linker-fat.dylib|adhoc|"
"adhoc-codesign-arm64.dylib|adhoc|"
"unsigned-x86_64.dylib|unsigned|"
"fat-mixed.dylib|partly-signed|"
"devid-arm64.dylib|intact|"
"devid-x86_64.dylib|intact|"
"devid-fat.dylib|intact|"
"devid-sha1-sha256alt-x86_64.dylib|intact|"
"devid-timestamp-arm64.dylib|intact|"
"devid-cd20100-sha256-x86_64.dylib|intact|"
"devid-cd20200-sha1-x86_64.dylib|intact|"
"devid-cd20300-sha256-x86_64.dylib|intact|"
"devid-cd20500-sha384-x86_64.dylib|intact|"
"evil-arm64.dylib|intact|"
"tampered-flip-text.dylib|tampered|page_hash_mismatch"
"tampered-flip-page3.dylib|tampered|page_hash_mismatch"
"tampered-appended.dylib|tampered|data_after_signature"
"tampered-sig-datasize.dylib|tampered|page_hash_mismatch,truncated_signature"
"tampered-truncated.dylib|tampered|malformed_signature,truncated_signature"
"tampered-spliced-cms.dylib|tampered|bad_signature,cdhash_not_signed"
"tampered-spliced-evil-cms.dylib|tampered|bad_signature,cdhash_not_signed,team_mismatch"
"tampered-rehashed.dylib|tampered|bad_signature,cdhash_not_signed"
"tampered-alt-rehashed.dylib|tampered|cdhash_not_signed,page_hash_mismatch"
"tampered-cd-identifier.dylib|tampered|bad_signature,cdhash_not_signed"
"tampered-fat-one-slice.dylib|tampered|page_hash_mismatch"
"tampered-fat-appended.dylib|tampered|data_after_slices"
)
files=()
for e in "${expect[@]}"; do files+=("${e%%|*}"); done
"$CS" verify --json "${files[@]}" > verify.jsonl
for e in "${expect[@]}"; do
    IFS='|' read -r f verdict findings <<< "$e"
    got=$(jq -r --arg f "$f" 'select(.path == $f) | "\(.verdict)|\([.findings[].finding] | unique | join(","))"' verify.jsonl)
    check "verify $f: $verdict${findings:+ ($findings)} (got $got)" [ "$got" = "$verdict|$findings" ]
done
check "the Developer-ID-like signer and team are read" jq_true verify.jsonl \
    '[.[] | select(.path == "devid-arm64.dylib")][0] | .slices[0].cms.team_id == "TESTTEAM01" and .slices[0].cms.cdhashes_plist == true and .slices[0].cms.cdhashes2 == true and (.slices[0].cms.signer.subject | contains("Fixture Corp"))'
check "SHA-1 CD + SHA-256 alternate: both read, both signed" jq_true verify.jsonl \
    '[.[] | select(.path == "devid-sha1-sha256alt-x86_64.dylib")][0].slices[0] | ([.code_directories[].hash] == ["sha1", "sha256"]) and .cms.cdhashes_plist and .cms.cdhashes2'
check "SHA-384 CodeDirectory" jq_true verify.jsonl '[.[] | select(.path == "devid-cd20500-sha384-x86_64.dylib")][0].slices[0].code_directories[0].hash == "sha384"'
check "a timestamp token is seen" jq_true verify.jsonl '[.[] | select(.path == "devid-timestamp-arm64.dylib")][0].slices[0].cms.timestamp_token'
check "a flipped byte in page 3 is named" jq_true verify.jsonl '[.[] | select(.path == "tampered-flip-page3.dylib")][0].findings[0].detail | test("slot 3")'
check "the team of another signer is that signer's" jq_true verify.jsonl '[.[] | select(.path == "evil-arm64.dylib")][0].slices[0].cms.team_id == "EVILTEAM99"'
# our cdhashes equal the oracle's (computed independently, in Python)
for f in devid-arm64.dylib devid-sha1-sha256alt-x86_64.dylib devid-cd20500-sha384-x86_64.dylib adhoc-linker-arm64.dylib; do
    o=$(python3 "$SRC/tests/fixtures/macho_oracle.py" "$f" 2>/dev/null | jq -c '[.slices[].code_directories[] | (.cdhash_full // .cdhash)]')
    c=$(jq -c --arg f "$f" 'select(.path == $f) | [.slices[].code_directories[].cdhash]' verify.jsonl)
    check "$f: cdhashes as the oracle computes them" [ "$o" = "$c" ]
done
# chains: the test root as the anchor (Apple's critical extension on the leaf
# must be understood), a timestamp token verified, another root: untrusted
"$CS" verify --json --trust pki/root.pem devid-arm64.dylib devid-timestamp-arm64.dylib devid-fat.dylib \
    adhoc-linker-arm64.dylib tampered-flip-text.dylib > trust.jsonl
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 30 -subj "/CN=Some Other Root" 2>/dev/null
"$CS" verify --json --trust other.pem devid-arm64.dylib > other.jsonl; rc_other=$?
v() { jq -r --arg f "$2" 'select(.path == $f) | .verdict' "$1"; }
check "--trust test root: Developer-ID-like signature valid ($(v trust.jsonl devid-arm64.dylib))" [ "$(v trust.jsonl devid-arm64.dylib)" = valid ]
check "--trust: the chain is leaf, intermediate, root" jq_true trust.jsonl '[.[] | select(.path == "devid-arm64.dylib")][0].slices[0].cms | .chain_status == "ok" and (.chain | length == 3) and (.chain[1].subject | contains("Test Developer ID Certification Authority"))'
check "--trust: the timestamp token verifies (TSA chained too)" jq_true trust.jsonl '[.[] | select(.path == "devid-timestamp-arm64.dylib")][0] | .verdict == "valid" and .slices[0].cms.timestamp.ok and .slices[0].cms.timestamp.tsa != null'
check "--trust: a universal file valid when every slice is" [ "$(v trust.jsonl devid-fat.dylib)" = valid ]
check "--trust: ad-hoc stays adhoc, tampered stays tampered" bash -c "[ '$(v trust.jsonl adhoc-linker-arm64.dylib)' = adhoc ] && [ '$(v trust.jsonl tampered-flip-text.dylib)' = tampered ]"
check "another root: invalid, untrusted, exit 1 ($rc_other)" bash -c "[ $rc_other -eq 1 ] && jq -e '.verdict == \"invalid\" and .findings[0].finding == \"untrusted\"' other.jsonl > /dev/null"
# signer lists: an Apple Team ID line flags that team's signatures (the
# certificate's OU), every slice of a universal file, not another team's
mkdir -p tpack && printf 'team:TESTTEAM01;;;70;the fixture team\n' > tpack/signers.txt
"$CS" scan --json -q --no-default-packs --pack tpack devid-arm64.dylib evil-arm64.dylib devid-fat.dylib > team.jsonl
check "team: line: the team's file is flagged" jq_true team.jsonl 'any(.[]; .path == "devid-arm64.dylib" and any(.reasons[]; .detector == "signer" and .rule == "TESTTEAM01" and .score == 70))'
check "team: line: both slices of the universal file" jq_true team.jsonl '[.[] | select(.display_path // "" | test("devid-fat.dylib!/")) | select(any(.reasons[]; .detector == "signer"))] | length == 2'
check "team: line: another team's file is not" jq_true team.jsonl '[.[] | select(.path == "evil-arm64.dylib" and .type == "finding")] | length == 0'
# bundles: the main executable's Info.plist and CodeResources special slots,
# every file CodeResources seals, nested code; on disk and inside a ZIP
bundle_rules() { "$CS" scan --json -q --no-default-packs --pack tpack "$1" 2>/dev/null |
    jq -r 'select(.type == "finding") | .reasons[] | select(.detector == "codesign") | "\(.rule)=\(.description | sub(".*: "; ""))"' | sort | tr '\n' ' '; }
has() { [[ "$1" == *"$2"* ]]; }
check "bundle intact: no code-signature finding" [ -z "$(bundle_rules bundles/good)" ]
check "bundle: a changed resource" [ "$(bundle_rules bundles/changed-resource)" = "resource_changed=Resources/data.txt " ]
check "bundle: a missing resource" [ "$(bundle_rules bundles/missing-file)" = "resource_missing=Resources/data.txt " ]
check "bundle: an edited Info.plist (special slot -1)" [ "$(bundle_rules bundles/changed-info-plist)" = "special_slot_mismatch=special slot -1 (Info.plist) differs " ]
check "bundle: a nested library re-signed by another team" has "$(bundle_rules bundles/evil-helper)" "nested_code_changed=cdhash is not the sealed one (signed by team EVILTEAM99, not the bundle's team)"
check "bundle: a nested library replaced by an ad-hoc one" has "$(bundle_rules bundles/adhoc-helper)" "nested_code_changed=cdhash is not the sealed one (ad-hoc)"
check "bundle: a nested library replaced by an unsigned one" has "$(bundle_rules bundles/unsigned-helper)" "nested_code_changed=cdhash is not the sealed one (unsigned)"
check "bundle: the main executable patched" has "$(bundle_rules bundles/main-flipped)" "page_hash_mismatch="
check "bundle in a ZIP: intact" [ -z "$(bundle_rules Fixture-good.zip)" ]
check "bundle in a ZIP: the changed resource found through the ZIP" [ "$(bundle_rules Fixture-changed-resource.zip)" = "resource_changed=Resources/data.txt " ]
# a file added to a signed bundle: the finding is on the added file; nothing
# on the intact bundle's files (sealed, omitted, nested code, the signature)
"$CS" scan --json -q --no-default-packs --pack tpack bundles/good bundles/added-file Fixture-good.zip > added.jsonl
check "added file: resource_added on it" jq_true added.jsonl \
    'any(.[]; .path == "bundles/added-file/Fixture.app/Contents/Resources/extra.txt" and any(.reasons[]; .rule == "resource_added"))'
cp -a bundles/added-file/Fixture.app Loadable.bundle
"$CS" scan --json -q --no-default-packs --pack tpack Loadable.bundle > loadable.jsonl
check "added file in a .bundle (the same layout)" jq_true loadable.jsonl 'any(.[]; .path == "Loadable.bundle/Contents/Resources/extra.txt" and any(.reasons[]; .rule == "resource_added"))'
check "added file: nothing else in the bundles is unsealed" jq_true added.jsonl '[.[] | select(.type == "finding") | .reasons[] | select(.rule == "resource_added")] | length == 1'
# a framework (Versions/A layout, as Electron's, whose Libraries/libffmpeg.dylib
# the 3CX attackers replaced): sealed by its own CodeResources, signed ad hoc
# with the Info.plist (Resources/) and CodeResources special slots
fw=fw/Fw.framework/Versions/A
mkdir -p $fw/Resources $fw/Libraries $fw/_CodeSignature
printf 'int fw(void) { return 3; }\n' > fw/fw.c
clang -target x86_64-apple-macos11 -c fw/fw.c -o fw/fw.o
ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -dylib fw/fw.o -o $fw/Fw.unsigned -install_name @rpath/Fw.framework/Versions/A/Fw
printf '<?xml version="1.0"?><plist version="1.0"><dict><key>CFBundleExecutable</key><string>Fw</string><key>CFBundleName</key><string>Fw</string></dict></plist>' > $fw/Resources/Info.plist
echo data > $fw/Resources/data.txt
cp adhoc-linker-x86_64.dylib $fw/Libraries/libffmpeg.dylib
python3 - "$fw" <<'PY'
import hashlib, os, plistlib, sys
root = sys.argv[1]
files, files2 = {}, {}
for rel in ["Resources/data.txt", "Libraries/libffmpeg.dylib"]:
    d = open(os.path.join(root, rel), "rb").read()
    files[rel] = hashlib.sha1(d).digest()
    files2[rel] = {"hash": hashlib.sha1(d).digest(), "hash2": hashlib.sha256(d).digest()}
plistlib.dump({"files": files, "files2": files2, "rules2": {"^Resources/Info\\.plist$": {"omit": True, "weight": 20.0}, "^.*": True}},
              open(os.path.join(root, "_CodeSignature/CodeResources"), "wb"))
PY
python3 "$SRC/tests/fixtures/macho_sign.py" sign $fw/Fw.unsigned $fw/Fw --identifier com.test.Fw --adhoc \
    --info-plist $fw/Resources/Info.plist --resources $fw/_CodeSignature/CodeResources && rm $fw/Fw.unsigned
ln -s A fw/Fw.framework/Versions/Current
mkdir -p fw-swapped fw-planted && cp -a fw/Fw.framework fw-swapped/ && cp -a fw/Fw.framework fw-planted/
cp adhoc-linker-arm64.dylib fw-swapped/$(echo $fw | cut -d/ -f2-)/Libraries/libffmpeg.dylib
cp adhoc-linker-arm64.dylib fw-planted/$(echo $fw | cut -d/ -f2-)/Libraries/libplanted.dylib
"$CS" verify --json $fw/Fw > fwv.json
check "framework: its seal read from Versions/A (2 files), special slots -1 and -3 checked" jq_true fwv.json \
    '.[0].verdict == "adhoc" and .[0].bundle.sealed == 2 and .[0].bundle.checked == 2 and .[0].slices[0].code_directories[0].special_slots.info_plist == "ok" and .[0].slices[0].code_directories[0].special_slots.resources == "ok"'
"$CS" scan --json -q --no-default-packs --pack tpack fw fw-swapped fw-planted > fw.jsonl
check "framework intact: no finding" jq_true fw.jsonl '[.[] | select(.type == "finding" and (.path | startswith("fw/")))] | length == 0'
check "framework: a swapped Libraries/libffmpeg.dylib is resource_changed (the 3CX shape, seal not updated)" jq_true fw.jsonl \
    'any(.[]; .path == "fw-swapped/Fw.framework/Versions/A/Fw" and any(.reasons[]; .rule == "resource_changed" and (.description | endswith("Libraries/libffmpeg.dylib"))))'
check "framework: a planted library is resource_added" jq_true fw.jsonl \
    'any(.[]; .path == "fw-planted/Fw.framework/Versions/A/Libraries/libplanted.dylib" and any(.reasons[]; .rule == "resource_added"))'
# verify on bundle directories (the main executable from Info.plist), and a
# bundle whose Resources is a symbolic link out of it: never followed
"$CS" verify --json --trust pki/root.pem bundles/good/Fixture.app bundles/changed-resource/Fixture.app > vb.jsonl; rc_vb=$?
check "verify a bundle directory: valid, its seal read (3 files)" jq_true vb.jsonl '.[0].verdict == "valid" and (.[0].path | endswith("Fixture.app/Contents/MacOS/Fixture")) and .[0].bundle.sealed == 3 and .[0].bundle.checked == 3'
check "verify a changed bundle: tampered, exit 1 ($rc_vb)" bash -c "[ $rc_vb -eq 1 ] && jq -s -e '.[1].verdict == \"tampered\" and .[1].findings[0].finding == \"resource_changed\"' vb.jsonl > /dev/null"
cp -a bundles/good linked && mkdir -p outside && cp -a linked/Fixture.app/Contents/Resources/. outside/ &&
    rm -rf linked/Fixture.app/Contents/Resources && ln -s ../../../outside linked/Fixture.app/Contents/Resources
check "a Resources symlink out of the bundle is not followed (the sealed files are missing)" \
    has "$(bundle_rules linked)" "resource_missing=Resources/"
# dylib hijacking: an executable loading @rpath/libhelper.dylib (run path
# @executable_path/../Frameworks) and, weakly, @executable_path/../PlugIns/libplug.dylib;
# in a bundle without them each is a finding, with them none
mkdir -p rp && (cd rp &&
    printf 'int helper(void) { return 1; }\n' > h.c && printf 'int plug(void) { return 2; }\n' > p.c &&
    printf 'extern int helper(void); extern int plug(void) __attribute__((weak_import));\nint run(void) { return helper() + (plug ? plug() : 0); }\n' > m.c &&
    for f in h p m; do clang -target x86_64-apple-macos11 -c $f.c -o $f.o; done &&
    ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -dylib h.o -o libhelper.dylib -install_name @rpath/libhelper.dylib &&
    ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -dylib p.o -o libplug.dylib -install_name @executable_path/../PlugIns/libplug.dylib &&
    ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -dylib m.o libhelper.dylib -weak_library libplug.dylib \
        -rpath @executable_path/../Frameworks -undefined dynamic_lookup -o App &&
    for b in Missing Complete; do
        mkdir -p $b.app/Contents/MacOS $b.app/Contents/Frameworks $b.app/Contents/PlugIns && cp App $b.app/Contents/MacOS/App
    done && cp libhelper.dylib Complete.app/Contents/Frameworks/ && cp libplug.dylib Complete.app/Contents/PlugIns/)
"$CS" scan --json -q --no-default-packs --pack tpack rp/Missing.app rp/Complete.app > rp.jsonl
check "dylib hijack: @rpath library in no run path of the bundle" jq_true rp.jsonl \
    'any(.[]; .path == "rp/Missing.app/Contents/MacOS/App" and any(.reasons[]; .rule == "dylib_hijack_opportunity" and (.description | contains("@rpath/libhelper.dylib") and contains("Frameworks/libhelper.dylib"))))'
check "dylib hijack: a weak @executable_path library missing" jq_true rp.jsonl \
    'any(.[]; .path == "rp/Missing.app/Contents/MacOS/App" and any(.reasons[]; .rule == "dylib_hijack_opportunity" and (.description | contains("weak") and contains("PlugIns/libplug.dylib"))))'
check "dylib hijack: none when the libraries are in the bundle" jq_true rp.jsonl '[.[] | select(.path == "rp/Complete.app/Contents/MacOS/App")] | length == 0'
# inventory: a bundle's main executable with its product, signature and signer
"$CS" inventory --json --no-default-packs --pack tpack bundles/good > inv.json 2>/dev/null
check "inventory: the bundle's product with its code signature and signer" jq_true inv.json \
    '.[0] | (.products // [.]) | any(.[]; .product.name == "Fixture" and .signature == "intact" and (.signer | contains("Fixture Corp (TESTTEAM01)")) and .team_id == "TESTTEAM01")'
# in a scan: the codesign detector's findings on the files and on a slice member
"$CS" scan --json -q --no-default-packs --pack "$SRC/packs/3cx-2023" tampered-fat-one-slice.dylib tampered-spliced-cms.dylib devid-fat.dylib > scan.jsonl
check "scan: the tampered slice's member has the finding" jq_true scan.jsonl \
    'any(.[]; (.display_path // "" | endswith("tampered-fat-one-slice.dylib!/[arm64]")) and any(.reasons[]; .rule == "page_hash_mismatch"))'
check "scan: a spliced CMS is found" jq_true scan.jsonl 'any(.[]; .path == "tampered-spliced-cms.dylib" and any(.reasons[]; .rule == "cdhash_not_signed"))'
check "scan: an intact universal file has no finding" jq_true scan.jsonl '[.[] | select((.path // "") == "devid-fat.dylib" and .type == "finding")] | length == 0'
cd /
finish
