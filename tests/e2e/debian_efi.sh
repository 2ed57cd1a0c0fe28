#!/usr/bin/env bash
# Real signed files from Debian: shim (dual-signed by Microsoft), grub and
# fwupd (signed by the Debian Secure Boot CA), fetched with apt-get download;
# verified against the Debian CA (taken out of shim), then tampered the 3CX way.
# Skips (exit 77) when the package registry cannot be reached.
# usage: debian_efi.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
cache=${CS_TEST_CACHE:-/tmp/chainsweep-test-cache}/efi
mkdir -p "$cache"
cd "$cache"
if [ ! -f .done ]; then
    rm -rf x ./*.deb
    if ! apt-get download shim-signed grub-efi-amd64-signed fwupd-amd64-signed >/dev/null 2>&1; then
        echo "SKIP: apt-get download of shim-signed, grub-efi-amd64-signed, fwupd-amd64-signed failed (no registry?)"
        exit 77
    fi
    for d in ./*.deb; do n=$(basename "${d%%_*}"); mkdir -p "x/$n"; dpkg -x "$d" "x/$n"; done
    touch .done
fi
shim=$(find x -name 'shimx64.efi.signed' | head -1)
grub=$(find x -name 'grubx64.efi.signed' | head -1)
fwupd=$(find x -name 'fwupdx64.efi.signed' | head -1)
for f in "$shim" "$grub" "$fwupd"; do [ -f "$f" ] || { echo "SKIP: package layout changed: $f"; exit 77; }; done
work=$(mktemp -d /tmp/cs-efi-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 "$SRC/tests/fixtures/extract_der_cert.py" "$shim" "Debian Secure Boot CA" > "$work/debian-ca.pem"
check "Debian CA extracted from shim" grep -q 'BEGIN CERTIFICATE' "$work/debian-ca.pem"

for f in "$grub" "$fwupd" x/grub-efi-amd64-signed/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed; do
    "$CS" verify --trust "$work/debian-ca.pem" --json "$f" > "$work/v.json"
    rc=$?
    check "$(basename "$f"): valid against the Debian CA (rc $rc)" jq -e '.verdict == "valid" and .signatures[0].chain_status == "ok"' "$work/v.json"
    osslsigncode verify -CAfile "$work/debian-ca.pem" -in "$f" >/dev/null 2>&1
    rc=$? # before the description's $(...), which would reset $?
    check "$(basename "$f"): osslsigncode agrees" [ $rc -eq 0 ]
done

"$CS" verify --json "$shim" > "$work/shim.json"
check "shim: both entries verified on their own" jq -e '.entries == 2 and (.signatures | length) == 2 and all(.signatures[]; .digest_ok and .signature_ok and .timestamp.ok) and ([.signatures[].entry] == [0,1])' "$work/shim.json"
check "shim: dual signing is a notice, not tampering" jq -e '.verdict == "intact, chain not checked against a trust anchor" and ([.findings[].finding] == ["multiple_entries"])' "$work/shim.json"
osslsigncode verify -in "$shim" >/dev/null 2>&1
check "shim: osslsigncode 2.9 rejects the dual-signed table (we do not)" [ $? -ne 0 ]
"$CS" verify --trust "$work/debian-ca.pem" --json "$shim" > "$work/shim2.json"
check "shim: Microsoft chain is untrusted under the Debian CA alone" jq -e '.verdict == "invalid" and any(.findings[]; .finding == "untrusted")' "$work/shim2.json"

for f in "$grub" "$shim"; do
    b=$(basename "$f")
    python3 "$SRC/tests/fixtures/tamper.py" --cve3900 "$f" "$work/$b.3cx"
    "$CS" verify --trust "$work/debian-ca.pem" --json "$work/$b.3cx" > "$work/t.json"
    check "$b tampered the 3CX way: flagged" jq -e '.verdict == "tampered" and any(.findings[]; .finding == "payload_in_signature") and any(.findings[]; .finding == "sigflip_marker")' "$work/t.json"
done
osslsigncode verify -CAfile "$work/debian-ca.pem" -in "$work/$(basename "$grub").3cx" >/dev/null 2>&1
check "grub tampered the 3CX way: osslsigncode still says ok" [ $? -eq 0 ]
"$CS" scan --pack "$SRC/packs/3cx-2023" --json -q "$work/$(basename "$grub").3cx" "$grub" > "$work/scan.jsonl"
check "scan: tampered grub is an alert, the original is clean" jq_true "$work/scan.jsonl" 'map(select(.type == "finding")) | length == 1 and .[0].level == "alert" and (.[0].path | endswith(".3cx"))'
finish
