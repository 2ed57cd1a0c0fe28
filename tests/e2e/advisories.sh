#!/usr/bin/env bash
# Advisories and inventory end to end: PE files with version resources built
# with windres, macOS bundles with XML and binary Info.plist files, near
# misses and malformed resources. `chainsweep scan` must report exactly the
# compromised and retired ones and a per-file error for each malformed one;
# `chainsweep inventory --cyclonedx` must validate against the official
# CycloneDX 1.5 schema (tests/schema/).
# usage: advisories.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for tool in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres python3 jq; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool not installed (scripts/deps.sh test installs it)"
        exit 77
    fi
done
# a Python with jsonschema (Debian's python3-jsonschema is for /usr/bin/python3)
PY=python3
$PY -c 'import jsonschema' 2>/dev/null || PY=/usr/bin/python3
work=$(mktemp -d /tmp/cs-adv-XXXXXX)
trap 'rm -rf "$work"' EXIT
bash "$SRC/tests/fixtures/make_products.sh" "$work/tree" || { echo "fixture build failed"; exit 1; }
cd "$work"
PACK="$SRC/packs/3cx-2023"

"$CS" scan --pack "$PACK" --detectors advisory --json -q tree > scan.jsonl
rc=$?
check "scan exits 1 on compromised products (got $rc)" [ "$rc" -eq 1 ]
jq -r 'select(.type == "finding") | .path as $p | .reasons[] | select(.detector == "advisory") | "\($p | ltrimstr("tree/"))\t\(.rule)"' \
    scan.jsonl | sort > got.pairs
sort > want.pairs <<'PAIRS'
mac-1213/3CX Desktop App.app/Contents/MacOS/3CX Desktop App	CS-2023-3CX-MACOS
mac-402/3CX Desktop App.app/Contents/MacOS/3CX Desktop App	CS-2023-3CX-MACOS
win-407/3CXDesktopApp.exe	CS-2023-3CX-WINDOWS
win-416-comma/3CXDesktopApp.exe	CS-2023-3CX-WINDOWS
win-416-lang/3CXTelefon.exe	CS-2023-3CX-WINDOWS
win-416-leaves/3CXDesktopApp.exe	CS-2023-3CX-WINDOWS
win-416-renamed/app.exe	CS-2023-3CX-WINDOWS
win-416/3CXDesktopApp.exe	CS-2023-3CX-WINDOWS
xtrader/X_TRADER.exe	CS-2020-XTRADER-RETIRED
PAIRS
if command -v osslsigncode >/dev/null; then
    printf 'signed-tt/Setup.exe\tCS-2020-XTRADER-RETIRED\n' >> want.pairs
fi
n_bad=3
if command -v wixl >/dev/null; then
    printf 'msi-416/setup.msi\tCS-2023-3CX-WINDOWS\n' >> want.pairs
    n_bad=5
else
    skip_part "MSI fixtures (wixl from msitools not installed)"
fi
sort -o want.pairs want.pairs
check "exactly the compromised and retired products ($(wc -l < want.pairs))" diff want.pairs got.pairs
check "compromised is an alert, retired a warning" jq_true scan.jsonl \
    '[.[] | select(.type == "finding")] | all(if .reasons[0].rule == "CS-2020-XTRADER-RETIRED" then .level == "warning" else .level == "alert" end)'
check "a finding carries the product and where it was read" jq_true scan.jsonl \
    '[.[] | select(.path == "tree/win-416/3CXDesktopApp.exe")][0].product | .name == "3CX Desktop App" and .version == "18.12.416" and .source == "pe-version-info" and .fixed_product_version == "18.12.416.0"'
check "a bundle finding names the Info.plist" jq_true scan.jsonl \
    '[.[] | select(.path // "" | startswith("tree/mac-402/"))][0].product | .source == "info-plist" and .bundle_id == "com.electron.3cx-desktop-app" and (.source_path | endswith("Contents/Info.plist"))'
check "every RT_VERSION leaf is read, US English first" jq_true scan.jsonl \
    '[.[] | select(.path == "tree/win-416-leaves/3CXDesktopApp.exe")][0].product | (.string_tables | map(.lang)) == ["040904b0", "040704b0"] and .name == "3CX Desktop App"'
check "every language's string table is read" jq_true scan.jsonl \
    '[.[] | select(.path == "tree/win-416-lang/3CXTelefon.exe")][0].product.string_tables | map(.lang) == ["040904b0", "040704b0"]'
for bad in bad/versionlen.exe bad/versionkey.exe "bad/mac-plist/3CX Desktop App.app/Contents/MacOS/3CX Desktop App"; do
    check "malformed: per-file error for $bad" jq_true scan.jsonl \
        "[.[] | select(.path == \"tree/$bad\" and .type == \"error\")] | length == 1"
done
if command -v wixl >/dev/null; then
    check "an MSI's product comes from its Property table" jq_true scan.jsonl \
        '[.[] | select(.path == "tree/msi-416/setup.msi")][0].product | .source == "msi" and .name == "3CX Desktop App" and .version == "18.12.416" and .company == "3CX Ltd"'
    # many workers opening their first MSI at once (libgsf registers its
    # types lazily; without chainsweep's one-time setup this crashed)
    mkdir -p many
    for i in $(seq 1 48); do cp tree/msi-416/setup.msi "many/$i.msi"; done
    ok=1
    for run in 1 2 3 4 5; do
        "$CS" scan --pack "$PACK" --detectors advisory -q -p 16 many > /dev/null 2> many.err
        rc=$?
        { [ "$rc" -eq 1 ] && [ ! -s many.err ]; } || ok=0
    done
    check "48 MSIs on 16 threads, 5 runs: no crash, nothing printed" [ "$ok" -eq 1 ]
    for bad in bad/msi-pool.msi bad/msi-poolsize.msi; do
        check "malformed: per-file error for $bad" jq_true scan.jsonl \
            "[.[] | select(.path == \"tree/$bad\" and .type == \"error\")] | length == 1"
    done
fi
check "the summary counts the errors and the advisories" jq_true scan.jsonl \
    ".[-1] | .errors == $((n_bad + 1)) and .loaded.advisories == 3"

# an incremental sweep re-reports the same findings, product included
for run in 1 2; do
    "$CS" scan --pack "$PACK" --detectors advisory --json -q --state state.sqlite tree > "incr$run.jsonl"
done
strip='select(.type == "finding") | del(.time, .cached)'
check "second incremental sweep: findings and products re-reported from the store" \
    diff <(jq -cS "$strip" incr1.jsonl | sort) <(jq -cS "$strip" incr2.jsonl | sort)
check "second incremental sweep re-read only the files with errors" jq_true incr2.jsonl \
    '.[-1].files_scanned == .[-1].errors and ([.[] | select(.type == "finding")] | all(.cached))'

# the whole default scan (every layer) agrees
"$CS" scan --pack "$PACK" --json -q tree > all.jsonl
check "all layers: the same advisory findings" diff want.pairs <(jq -r 'select(.type == "finding") | .path as $p | .reasons[] | select(.detector == "advisory") | "\($p | ltrimstr("tree/"))\t\(.rule)"' all.jsonl | sort)

# inventory
"$CS" inventory -q --pack "$PACK" tree > table.txt
rc=$?
check "inventory exits 1 when a product matches an advisory (got $rc)" [ "$rc" -eq 1 ]
check "table header" grep -q '^PRODUCT  *VERSION  *COMPANY  *SIGNATURE  *SIGNER  *ADVISORIES  *SHA256  *PATH$' table.txt
check "table row for X_TRADER" grep -q '^X_TRADER  *7.17.90p608  *Trading Technologies .*CS-2020-XTRADER-RETIRED' table.txt
"$CS" inventory --pack "$PACK" tree > /dev/null 2> inv.err
check "inventory names the files it could not read on stderr" grep -q '^\[ERROR\] tree/bad/versionlen.exe: ' inv.err
mkdir -p evil
cp tree/near-422/3CXDesktopApp.exe "evil/$(printf 'red\033[31m\302\233name.exe')"
"$CS" inventory -q --pack "$PACK" evil > evil.txt
check "no terminal control characters from file names reach the table" \
    bash -c "grep -q 'red?\[31m??name.exe' evil.txt && ! grep -q \$'\033' evil.txt"
"$CS" inventory -q --json --pack "$PACK" tree > inv.json
n_products=$(jq '.products | length' inv.json)
check "inventory lists every file that names a product ($n_products)" [ "$n_products" -eq "$(($(wc -l < table.txt) - 1))" ]
sha=$(sha256sum tree/win-416/3CXDesktopApp.exe | cut -d' ' -f1)
check "inventory rows carry the SHA-256" jq_true inv.json \
    ".[0].products | map(select(.path == \"tree/win-416/3CXDesktopApp.exe\"))[0].sha256 == \"$sha\""
check "near misses are listed without advisories" jq_true inv.json \
    '.[0].products | map(select(.path | startswith("tree/near-"))) | length >= 8 and all(.advisories == [])'
if command -v osslsigncode >/dev/null; then
    check "signature and signer of a signed PE" jq_true inv.json \
        '.[0].products | map(select(.path == "tree/signed-tt/Setup.exe"))[0] | .signature == "intact" and (.signer | contains("CN=Trading Technologies International, Inc"))'
fi
for run in 1 2; do
    "$CS" inventory -q --json --pack "$PACK" --state inv-state.sqlite tree > "inv-incr$run.json"
done
check "inventory --state: the second sweep lists the same rows (signatures included)" \
    diff <(jq -S '.products' inv-incr1.json) <(jq -S '.products' inv-incr2.json)
check "... and the same rows as without a store" diff <(jq -S '.products' inv.json) <(jq -S '.products' inv-incr2.json)
"$CS" inventory -q --cyclonedx --pack "$PACK" tree > bom.json
if $PY -c 'import jsonschema' 2>/dev/null; then
    check "CycloneDX 1.5 output validates against the official schema" $PY "$SRC/tests/e2e/validate_cyclonedx.py" "$SRC/tests/schema" bom.json
else
    skip_part "CycloneDX schema validation (python3-jsonschema not installed)"
fi
check "CycloneDX components carry SHA-256 hashes and paths" jq_true bom.json \
    "[.[0].components[] | select(.evidence.occurrences[0].location == \"tree/win-416/3CXDesktopApp.exe\")][0].hashes[0] == {\"alg\": \"SHA-256\", \"content\": \"$sha\"}"
check "CycloneDX vulnerabilities name the affected components" jq_true bom.json \
    ".[0].vulnerabilities | map(select(.id == \"CS-2023-3CX-WINDOWS\"))[0].affects | length == $(grep -c WINDOWS want.pairs)"
# refused: exit 2 with the reason (exit 1 would be the findings of a scan that ran)
"$CS" inventory --csv --pack "$PACK" tree > /dev/null 2> refuse1.err; rc1=$?
"$CS" scan --cyclonedx --pack "$PACK" tree > /dev/null 2> refuse2.err; rc2=$?
check "inventory --csv is refused: exit 2 (got $rc1) and why" bash -c "[ $rc1 -eq 2 ] && grep -q -- '--csv is not supported' refuse1.err"
check "scan --cyclonedx is refused: exit 2 (got $rc2) and why" bash -c "[ $rc2 -eq 2 ] && grep -q -- '--cyclonedx: only for chainsweep inventory' refuse2.err"
finish
