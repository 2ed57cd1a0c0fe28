#!/usr/bin/env bash
# A PE's digests against independent tools, on real MSVC-built executables
# (7-Zip's 7za.exe for x64 and ia32 from the npm package 7zip-bin 5.2.0,
# fetched by exact version and checked by SHA-256; skipped when the registry
# is unreachable): the Rich header hash equals YARA's
# hash.md5(pe.rich_signature.clear_data), the TLSH tlsh_unittest's.
# usage: pe_digests.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for t in yara curl jq; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
cache=${CS_TEST_CACHE:-/tmp/chainsweep-test-cache}/7zip-bin
tgz_sha=04f9738ee00be8be53f5d06254a9e6e4b5117b17f8b74058477d870e62764a7d
mkdir -p "$cache"
if [ ! -f "$cache/.done" ]; then
    if ! curl -sSfL --max-time 120 https://registry.npmjs.org/7zip-bin/-/7zip-bin-5.2.0.tgz -o "$cache/z.tgz" 2>/dev/null; then
        echo "SKIP: npm registry unreachable (7zip-bin 5.2.0)"
        exit 77
    fi
    (cd "$cache" && tar xzf z.tgz package/win/x64/7za.exe package/win/ia32/7za.exe) && touch "$cache/.done"
fi
check "7zip-bin 5.2.0 as published (SHA-256)" [ "$(sha256sum < "$cache/z.tgz" | cut -c1-64)" = "$tgz_sha" ]
work=$(mktemp -d /tmp/cs-pedig-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/pack/iocs"
for a in x64 ia32; do echo "$(sha256sum < "$cache/package/win/$a/7za.exe" | cut -c1-64);40;7za.exe $a"; done > "$work/pack/iocs/hashes.txt"
"$CS" scan --json -q --no-default-packs --pack "$work/pack" "$cache/package/win" > "$work/scan.jsonl"
for a in x64 ia32; do
    f="$cache/package/win/$a/7za.exe"
    rh=$(jq -r --arg f "$f" 'select(.path == $f) | .rich_hash' "$work/scan.jsonl")
    printf 'import "pe"\nimport "hash"\nrule same_rich { condition: hash.md5(pe.rich_signature.clear_data) == "%s" }\n' "$rh" > "$work/r.yar"
    check "7za.exe $a: Rich header hash $rh equals YARA's" bash -c "yara '$work/r.yar' '$f' | grep -q same_rich"
    tl=$(jq -r --arg f "$f" 'select(.path == $f) | .tlsh' "$work/scan.jsonl")
    if command -v tlsh_unittest >/dev/null; then
        check "7za.exe $a: TLSH equals tlsh_unittest's" [ "$tl" = "T1$(tlsh_unittest -f "$f" | cut -f1)" ]
    fi
    check "7za.exe $a: an authentihash" jq_true "$work/scan.jsonl" "[.[] | select(.path == \"$f\")][0].authentihash | length == 64"
done
# similarity: the x64 7za.exe's TLSH as a known-bad reference; the same file,
# 8 KB overwritten and data appended are similar_to_known_bad; the ia32
# build and an unrelated library are not
t=$(jq -r --arg f "$cache/package/win/x64/7za.exe" 'select(.path == $f) | .tlsh' "$work/scan.jsonl")
mkdir -p "$work/sim/iocs" "$work/simt"
echo "$t;90;a stand-in for a known-bad sample" > "$work/sim/iocs/hashes.txt"
cp "$cache/package/win/x64/7za.exe" "$work/simt/exact.exe"
cp "$cache/package/win/ia32/7za.exe" "$work/simt/ia32.exe"
cp /usr/bin/env "$work/simt/unrelated"
python3 - "$cache/package/win/x64/7za.exe" "$work/simt" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
o = bytearray(d); o[100000:108192] = bytes(8192); open(sys.argv[2] + "/overwritten.exe", "wb").write(o)
open(sys.argv[2] + "/appended.exe", "wb").write(bytes(d) + open("/usr/bin/env", "rb").read() * 3)  # the d3dcompiler pattern
PY
"$CS" scan --json -q --no-default-packs --pack "$work/sim" "$work/simt" > "$work/sim.jsonl"
for v in exact overwritten appended; do
    check "similarity: $v.exe is similar_to_known_bad" jq_true "$work/sim.jsonl" \
        "any(.[]; ((.path // \"\") | endswith(\"/$v.exe\")) and any(.reasons[]; .detector == \"similarity\" and .rule == \"similar_to_known_bad\"))"
done
check "similarity: the distance is in the finding (exact: 0)" jq_true "$work/sim.jsonl" \
    '[.[] | select((.path // "") | endswith("/exact.exe"))][0].reasons[0].description | startswith("TLSH distance 0 ")'
check "similarity: the ia32 build and an unrelated file are not" jq_true "$work/sim.jsonl" \
    '[.[] | select(.type == "finding" and (((.path // "") | endswith("/ia32.exe")) or ((.path // "") | endswith("/unrelated"))))] | length == 0'
# near misses of the vendor's file: 7za.exe x64 as a known-good reference
# (similarity.tsv with its name, product, vendor and SHA-256); copies named
# 7za.exe: the same bytes (nothing), 8 KB overwritten and data appended
# (near_miss_of_known_good with the distance), an unrelated file (nothing)
mkdir -p "$work/nm/pack" "$work/nm/v/orig" "$work/nm/v/over" "$work/nm/v/app" "$work/nm/v/unrel"
printf 'good\t%s\t0\t7za.exe\t7-Zip\tIgor Pavlov\t%s\tthe vendor build\n' "$t" \
    "$(sha256sum < "$cache/package/win/x64/7za.exe" | cut -c1-64)" > "$work/nm/pack/similarity.tsv"
cp "$cache/package/win/x64/7za.exe" "$work/nm/v/orig/7za.exe"
cp "$work/simt/overwritten.exe" "$work/nm/v/over/7za.exe"
cp "$work/simt/appended.exe" "$work/nm/v/app/7za.exe"
cp /usr/bin/env "$work/nm/v/unrel/7za.exe"
"$CS" scan --json -q --no-default-packs --pack "$work/nm/pack" "$work/nm/v" > "$work/nm.jsonl"
nm() { jq_true "$work/nm.jsonl" "[.[] | select(.type == \"finding\" and ((.path // \"\") | endswith(\"/$1/7za.exe\")))] | $2"; }
check "near miss: the vendor's own bytes are not reported" nm orig 'length == 0'
check "near miss: 8 KB overwritten (distance 1, score 75)" nm over '.[0].reasons[0].rule == "near_miss_of_known_good" and .[0].score == 75 and (.[0].reasons[0].description | contains("7-Zip (Igor Pavlov)") and contains("TLSH distance 1 "))'
check "near miss: data appended" nm app '.[0].reasons[0].rule == "near_miss_of_known_good"'
check "near miss: an unrelated file with the vendor's name is not" nm unrel 'length == 0'
finish
