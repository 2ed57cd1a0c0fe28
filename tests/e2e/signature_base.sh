#!/usr/bin/env bash
# Compatibility with Neo23x0/signature-base (the snapshot in ../shared):
# every rule file must load with THOR's externals, and every IOC file parse.
# Skips (exit 77) when the snapshot is absent.
# usage: signature_base.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
SB=${SIGBASE:-$SRC/../shared/data/signature-base}
if [ ! -d "$SB/yara" ]; then
    echo "SKIP: signature-base snapshot not found at $SB"
    exit 77
fi

work=$(mktemp -d /tmp/cs-sb-XXXXXX)
trap 'rm -rf "$work"' EXIT
printf 'plain text\n' > "$work/a.txt"
cp /bin/true "$work/true"

"$CS" scan --signature-base "$SB" --json -q -v "$work" > "$work/out.jsonl" 2> "$work/err"
rc=$?
check "scan exit code 0 or 1 (got $rc)" [ "$rc" -le 1 ]
n_files=$(find "$SB/yara" -name '*.yar' -o -name '*.yara' | grep -vc '/[._~][^/]*$')
check "all $n_files rule files loaded" jq_true "$work/out.jsonl" ".[-1].loaded | .yara_files == $n_files and .yara_files_skipped == 0"
check "rules loaded" jq_true "$work/out.jsonl" '.[-1].loaded.yara_rules > 5000'
check "hash IOCs loaded" jq_true "$work/out.jsonl" '.[-1].loaded.hash_iocs > 3000'
check "filename IOCs loaded" jq_true "$work/out.jsonl" '.[-1].loaded.filename_iocs > 3500'
check "C2 IOCs loaded" jq_true "$work/out.jsonl" '.[-1].loaded.c2_iocs > 1500'
check "no per-file errors" jq_true "$work/out.jsonl" '.[-1].errors == 0'
check "no rule file errors" bash -c "! grep -q '\\.yar' '$work/err'"
# per-file-class rule sets are lossless on the real rule set too
mkdir -p "$work/tree"
python3 "$SRC/tests/fixtures/make_fixtures.py" "$work/tree"
cp /bin/ls /bin/true "$work/tree/"
"$CS" scan --signature-base "$SB" --detectors yara --json -q "$work/tree" > "$work/p.jsonl"
"$CS" scan --signature-base "$SB" --detectors yara --json -q --no-yara-partition --no-cache "$work/tree" > "$work/o.jsonl"
pairs() { jq -r 'select(.type == "finding") | .path as $p | .reasons[] | "\($p)\t\(.rule)"' "$1" | sort -u; }
check "partitioned == one set on signature-base ($(pairs "$work/o.jsonl" | wc -l) pairs)" diff <(pairs "$work/p.jsonl") <(pairs "$work/o.jsonl")
check "signature-base rules guarded" jq_true "$work/p.jsonl" '.[-1].loaded.yara_rules_guarded > 3000'
jq -c '.[-1].loaded' -s "$work/out.jsonl"
finish
