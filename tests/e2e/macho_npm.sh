#!/usr/bin/env bash
# Real signed Mach-O files that no one here built, from the npm registry by
# exact version, checked by SHA-256 (tests/fixtures/fetch_macho.sh); skipped
# (exit 77) when the registry is unreachable. Each must verify as what it is
# (Developer ID with hardened runtime and timestamp; a SHA-1 CD with a SHA-256
# alternate; ad-hoc with an empty CMS; linker-signed; universal with an
# unsigned slice; 32-bit unsigned), with the cdhashes the independent oracle
# computes, every page hash matching and the team of the certificate.
# usage: macho_npm.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
cache=${CS_TEST_CACHE:-/tmp/chainsweep-test-cache}/macho
bash "$SRC/tests/fixtures/fetch_macho.sh" "$cache" > /tmp/cs-macho-npm.log 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then grep SKIP /tmp/cs-macho-npm.log; exit 77; fi
check "fetched and checked by SHA-256 (fetch_macho.sh exit $rc)" [ "$rc" -eq 0 ]
cd "$cache"
# file | verdict | per-slice kinds | team
expect=(
"sentry-cli|intact|signed,signed|97JCY7859U"
"node-10.24.1|intact|signed|HX7739G8FX"
"ngrok-x64-2.3.41|intact|signed|TEX8MHRDQ9"
"cmake-4.0.2|intact|signed,signed|W38PE5Y733"
"vsce-sign-arm64|adhoc|adhoc|"
"esbuild-arm64-0.28.2|adhoc|linker-signed|"
"fsevents.node|partly-signed|unsigned,linker-signed|"
"ngrok-ia32-2.2.8|unsigned|unsigned|"
)
files=()
for e in "${expect[@]}"; do files+=("${e%%|*}"); done
work=$(mktemp -d /tmp/cs-macho-npm-XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/time -f '%e %M' -o "$work/time" "$CS" verify --json "${files[@]}" > "$work/verify.jsonl"
for e in "${expect[@]}"; do
    IFS='|' read -r f verdict kinds team <<< "$e"
    got=$(jq -r --arg f "$f" 'select(.path == $f) | "\(.verdict)|\([.slices[].kind] | join(","))|\([.slices[].cms.team_id // empty] | unique | join(","))"' "$work/verify.jsonl")
    check "$f: $verdict, $kinds${team:+, team $team} (got $got)" [ "$got" = "$verdict|$kinds|$team" ]
    o=$(python3 "$SRC/tests/fixtures/macho_oracle.py" "$f" 2>/dev/null | jq -c '[.slices[].code_directories[] | (.cdhash_full // .cdhash)]')
    c=$(jq -c --arg f "$f" 'select(.path == $f) | [.slices[].code_directories[].cdhash]' "$work/verify.jsonl")
    check "$f: cdhashes as the oracle computes them" [ "$o" = "$c" ]
done
check "every page hash of every real file matches" jq_true "$work/verify.jsonl" '[.[].slices[].code_directories[].bad_code_slots] | add == 0'
check "node 10.24.1: SHA-1 CD and SHA-256 alternate, both in the CMS's CDHashes" jq_true "$work/verify.jsonl" \
    '[.[] | select(.path == "node-10.24.1")][0].slices[0] | ([.code_directories[].hash] == ["sha1", "sha256"]) and .cms.cdhashes_plist and .cms.cdhashes2'
# chains at the timestamp time: the Apple Root CA taken out of sentry-cli's own
# CMS, checked against Apple's published SHA-256 fingerprint, as the anchor;
# node, ngrok and cmake have leaves that expired since, valid at their tokens
python3 - "$cache/sentry-cli" "$work/cms.der" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()

n = struct.unpack_from(">I", d, 4)[0]
cpu, sub, off, size, align = struct.unpack_from(">iiIII", d, 8)
s = d[off:off + size]
ncmds = struct.unpack_from("<I", s, 16)[0]; p = 32
for _ in range(ncmds):
    cmd, sz = struct.unpack_from("<II", s, p)
    if cmd == 0x1d:
        so, ss = struct.unpack_from("<II", s, p + 8)
    p += sz
sb = s[so:so + ss]
for i in range(struct.unpack_from(">I", sb, 8)[0]):
    t, o = struct.unpack_from(">II", sb, 12 + 8 * i)
    if t == 0x10000:
        l = struct.unpack_from(">I", sb, o + 4)[0]
        open(sys.argv[2], "wb").write(sb[o + 8:o + l])
PY
openssl pkcs7 -inform DER -in "$work/cms.der" -print_certs 2>/dev/null |
    awk '/subject=/{s=$0} /BEGIN/{p=1; b=""} p{b=b $0 "\n"} /END/{p=0; if (s ~ /CN = Apple Root CA$/) printf "%s", b}' > "$work/apple-root.pem"
fp=$(openssl x509 -in "$work/apple-root.pem" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
check "Apple Root CA from sentry's CMS has Apple's published fingerprint ($fp)" \
    [ "$fp" = "B0:B1:73:0E:CB:C7:FF:45:05:14:2C:49:F1:29:5E:6E:DA:6B:CA:ED:7E:2C:68:C5:BE:91:B5:A1:10:01:F0:24" ]
"$CS" verify --json --trust "$work/apple-root.pem" sentry-cli node-10.24.1 ngrok-x64-2.3.41 cmake-4.0.2 > "$work/trust.jsonl"
for f in sentry-cli node-10.24.1 ngrok-x64-2.3.41 cmake-4.0.2; do
    check "$f: valid against the Apple Root CA (Apple's critical extension understood)" jq_true "$work/trust.jsonl" \
        "[.[] | select(.path == \"$f\")][0] | .verdict == \"valid\" and all(.slices[]; .cms.chain_status == \"ok\" and .cms.timestamp.ok)"
done
check "node 10.24.1: checked at its timestamp, 2021-04-06 (the leaf expired in 2025)" jq_true "$work/trust.jsonl" \
    '[.[] | select(.path == "node-10.24.1")][0].slices[0].cms | (.timestamp.time | startswith("2021-04-06")) and (.chain[0].not_after < "2026")'
# tampered the 3CX way: one byte of code patched in sentry's arm64 slice
python3 - "$cache/sentry-cli" "$work/sentry-patched" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack_from(">I", d, 4)[0]
for i in range(n):
    cpu, sub, off, size, align = struct.unpack_from(">iiIII", d, 8 + 20 * i)
    if cpu == 0x0100000c:
        d[off + 1020 * 4096 + 7] ^= 1
open(sys.argv[2], "wb").write(d)
PY
"$CS" verify --json "$work/sentry-patched" > "$work/patched.json"
check "sentry-cli with one byte patched in the arm64 slice: page 1020, that slice only" jq_true "$work/patched.json" \
    '.[0].verdict == "tampered" and (.[0].findings | length == 1) and (.[0].findings[0].detail | test("slot 1020")) and .[0].slices[.[0].findings[0].slice].arch == "arm64"'
read -r secs kb < <(tail -n 1 "$work/time")
bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
t0=$EPOCHREALTIME; cat "${files[@]}" | openssl dgst -sha256 > /dev/null; t1=$EPOCHREALTIME
echo "cost: verify of $bytes bytes in $secs s (peak RSS $((kb / 1024)) MiB); one openssl dgst -sha256 pass: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s"
finish
