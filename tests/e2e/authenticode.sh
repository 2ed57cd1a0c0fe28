#!/usr/bin/env bash
# Authenticode end to end: fixtures signed here with mingw-w64, openssl and
# osslsigncode, tampered the ways attackers do; `chainsweep verify` must give
# the right verdict for each, agree with osslsigncode where osslsigncode is
# right, and be stricter where it is not (data smuggled into the signature).
# usage: authenticode.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
ADD_LEGACY_TS=${3:-}
. "$SRC/tests/e2e/lib.sh"
for tool in x86_64-w64-mingw32-gcc osslsigncode openssl python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool not installed (scripts/deps.sh test installs it)"
        exit 77
    fi
done
work=$(mktemp -d /tmp/cs-ac-XXXXXX)
trap 'rm -rf "$work"' EXIT
bash "$SRC/tests/fixtures/make_signed.sh" "$work" || { echo "fixture build failed"; exit 1; }
cd "$work"
if [ -n "$ADD_LEGACY_TS" ]; then
    "$ADD_LEGACY_TS" signed.dll legacyts.dll tsa.crt tsa.key "$(date +%s)" &&
    "$ADD_LEGACY_TS" expired.dll expired_legacyts.dll tsa.crt tsa.key 1600000000 ||
        { echo "legacy timestamp fixture failed"; exit 1; }
fi

"$CS" verify --trust ca.crt --crl ca.crl --json *.dll > verify.jsonl
rc=$?
check "verify exits 1 when some files are bad (got $rc)" [ "$rc" -eq 1 ]
verdict() { jq -r --arg f "$1" 'select(.path == $f) | .verdict' verify.jsonl; }
# rec FILE FILTER: the filter is true for FILE's record in verify.jsonl
rec() { jq -c --arg f "$1" 'select(.path == $f)' verify.jsonl | jq -e "$2" >/dev/null; }
has() { rec "$1" "any(.findings[]; .finding == \"$2\")"; }

# expected verdicts: ours, then osslsigncode's exit code
expect=(
  "signed.dll valid 0" "sha1.dll valid 0" "nested.dll valid 0" "ts.dll valid 0" "ph.dll valid 0"
  "expired_ts.dll valid 0" "legacyts.dll valid 0" "expired_legacyts.dll valid 0"
  "flipbyte.dll tampered 1" "phflip.dll tampered 1" "tableonly.dll tampered 1" "overlay.dll tampered 1"
  "expired.dll invalid 1" "revoked.dll invalid 1" "untrusted.dll invalid 1" "wrongeku.dll invalid 1"
  "hello.dll unsigned 1"
  # where osslsigncode 2.9 says ok and we deliberately do not
  "cve3900.dll tampered 0" "marker.dll tampered 0" "nonzeropad.dll tampered 0" "unauthblob.dll tampered 0"
)
for e in "${expect[@]}"; do
    set -- $e
    got=$(verdict "$1")
    check "$1: verdict $2 (got '$got')" [ "$got" = "$2" ]
    osslsigncode verify -CAfile ca.crt -TSA-CAfile ca.crt -CRLfile ca.crl -in "$1" >/dev/null 2>&1
    orc=$?
    check "$1: osslsigncode exit $3 (got $orc)" [ "$orc" -eq "$3" ]
done

check "cve3900: payload finding" has cve3900.dll payload_in_signature
check "marker: SigFlip marker named" has marker.dll sigflip_marker
check "nonzeropad: payload finding" has nonzeropad.dll payload_in_signature
check "flipbyte: digest mismatch" has flipbyte.dll digest_mismatch
check "phflip: page hash mismatch" has phflip.dll page_hash_mismatch
check "tableonly: malformed table" has tableonly.dll malformed_table
check "overlay: overlay finding" has overlay.dll overlay_after_signature
# our own two-entry file: multiple_entries is tested even when Debian's shim cannot be fetched
check "twoentries: both entries verified, multiple_entries a notice, not tampering" rec twoentries.dll \
    '.verdict == "valid" and .entries == 2 and (.signatures | length) == 2 and ([.findings[].finding] == ["multiple_entries"])'
check "unauthblob: stuffing" has unauthblob.dll unauthenticated_attribute
check "expired: expired" has expired.dll expired
check "revoked: revoked" has revoked.dll revoked
check "untrusted: untrusted" has untrusted.dll untrusted
check "wrongeku: wrong EKU" has wrongeku.dll wrong_eku
check "nested: two signatures, both good" rec nested.dll '(.signatures | length) == 2 and all(.signatures[]; .digest_ok and .signature_ok and .chain_status == "ok")'
check "nested: sha1 then sha256" rec nested.dll '[.signatures[].digest_algorithm] == ["sha1","sha256"]'
check "expired_ts: timestamp moves the check" rec expired_ts.dll '.signatures[0].timestamp.ok and .signatures[0].timestamp.kind == "rfc3161" and (.signatures[0].timestamp.time | startswith("2020-09-13"))'
check "legacy PKCS#9 timestamp verified and used" rec expired_legacyts.dll '.signatures[0].timestamp.kind == "pkcs9" and .signatures[0].timestamp.ok and (.signatures[0].timestamp.time | startswith("2020-09-13"))'
check "ph: page hashes verified" rec ph.dll '.signatures[0].page_hashes_ok'
check "signed: signer details" rec signed.dll '.signatures[0].signer.subject == "/CN=chainsweep Test Code Signer" and .signatures[0].program_name == "chainsweep test" and (.signatures[0].signer.sha1 | length) == 40'

# Without anchors: never "valid".
"$CS" verify --json signed.dll > noanchor.jsonl
check "no anchors: exit 0" [ $? -eq 0 ]
check "no anchors: says not checked" jq -e '.verdict == "intact, chain not checked against a trust anchor" and .signatures[0].chain_status == "not checked against a trust anchor"' noanchor.jsonl
"$CS" verify cve3900.dll > cve.txt
check "text report names the technique" grep -q 'CVE-2013-3900' cve.txt
"$CS" verify /nonexistent.dll >/dev/null 2>&1
check "missing file exits 2" [ $? -eq 2 ]
printf 'not a PE' > text.txt
"$CS" verify text.txt >/dev/null 2>&1
check "not a PE exits 2" [ $? -eq 2 ]

# The scan layer: tamper findings and a signer list.
mkdir pack tree
serial=$(openssl x509 -in signer.crt -noout -serial | cut -d= -f2)
echo "$serial;chainsweep Test Root;;65;test signer on the block list" > pack/test-signers.txt
cp signed.dll cve3900.dll marker.dll hello.dll tree/
"$CS" scan --pack pack --json -q tree > scan.jsonl
f() { jq -c --arg f "$1" 'select(.type == "finding" and (.path | endswith($f)))' scan.jsonl | jq -e "$2" >/dev/null; }
check "scan: cve3900 alert" f cve3900.dll '.level == "alert" and .reasons[0].detector == "authenticode"'
check "scan: marker alert 100" f marker.dll '.reasons[0].rule == "sigflip_marker" and .score == 100'
check "scan: signer block list" f signed.dll '.reasons[0].detector == "signer" and .reasons[0].score == 65'
check "scan: unsigned PE is not a finding" bash -c "! grep -q 'tree/hello.dll' scan.jsonl"
imphash=$(jq -r 'select(.type == "finding" and (.path | endswith("signed.dll"))) | .imphash' scan.jsonl)
printf 'import "pe"\nrule same_imphash { condition: pe.imphash() == "%s" }\n' "$imphash" > imphash.yar
check "imphash $imphash equals YARA's pe.imphash()" bash -c "yara imphash.yar tree/signed.dll | grep -q same_imphash"
"$CS" scan --pack pack --trust other.crt --json -q tree/signed.dll > scan2.jsonl
check "scan --trust: untrusted reported" jq_true scan2.jsonl 'any(.[]; .type == "finding" and any(.reasons[]; .rule == "untrusted"))'
# authentihash: the Authenticode SHA-256, signed or not: the signature's
# digest of signed.dll names its unsigned original hello.dll as well
ah=$(jq -r 'select(.path == "signed.dll") | .signatures[0].computed_digest' verify.jsonl)
mkdir -p ahpack/iocs && echo "authentihash:$ah;80;the fixture's image" > ahpack/iocs/hashes.txt
"$CS" scan --pack ahpack --json -q tree/hello.dll tree/signed.dll > ah.jsonl
check "authentihash IOC: the signed file and its unsigned original ($ah)" jq_true ah.jsonl \
    '[.[] | select(.type == "finding") | select(any(.reasons[]; .matches[0].id == "AUTHENTIHASH"))] | length == 2'
check "a PE finding carries its authentihash" jq_true ah.jsonl "[.[] | select(.type == \"finding\")] | all(.authentihash == \"$ah\")"
# anchors that are not self-signed: the signer's own certificate as the
# anchor is refused by default, accepted with --trust-partial; --uefi also
# ignores validity periods (an expired signer without timestamp is valid)
"$CS" verify --trust signer.crt --json signed.dll > partial0.json
"$CS" verify --trust signer.crt --trust-partial --json signed.dll > partial1.json
"$CS" verify --trust ca.crt --json expired.dll > uefi0.json
"$CS" verify --trust ca.crt --uefi --json expired.dll > uefi1.json
check "a non-self-signed anchor: not trusted by default" jq_true partial0.json '.[0].verdict != "valid"'
check "--trust-partial: the signer's certificate as anchor is enough" jq_true partial1.json '.[0].verdict == "valid"'
check "expired signer, no timestamp: invalid by default" jq_true uefi0.json '.[0].verdict == "invalid"'
check "--uefi: time plays no part" jq_true uefi1.json '.[0].verdict == "valid"'
# memory stays bounded on a huge file: a 2 GiB sparse hole before the
# certificate table is digested in chunks given back as they are read
python3 "$SRC/tests/fixtures/sparse_pe.py" signed.dll sparse.dll $((2 << 30))
/usr/bin/time -f '%M' -o sparse.rss "$CS" verify sparse.dll > sparse.txt 2>&1
rss=$(tail -n 1 sparse.rss)
check "2 GiB sparse PE: verified (tampered: the hole is in the digest)" grep -q 'tampered' sparse.txt
if [ -z "${CS_SANITIZED:-}" ]; then
    check "2 GiB sparse PE: peak RSS under 256 MiB (got $((rss / 1024)) MiB)" [ "$rss" -lt $((256 * 1024)) ]
fi
rm -f sparse.dll
finish
