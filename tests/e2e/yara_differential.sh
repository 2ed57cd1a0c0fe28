#!/usr/bin/env bash
# Differential test of the YARA partitioning and literal prefilter: random
# rules and files (tests/fixtures/yara_diff_gen.py, fixed seeds), and the
# (file, rule) matches of chainsweep, cold and warm, must equal plain
# yara's. DIFF_SEEDS="1 2 ..." (default 1 to 24) and DIFF_RULES / DIFF_FILES
# run more by hand.
# usage: yara_differential.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-ydiff-XXXXXX)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
for tool in yara jq python3; do
    command -v $tool > /dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
pairs() { jq -r 'select(.type == "finding") | .path as $p | .reasons[] | select(.detector == "yara") | "\($p | split("/") | last)\t\(.rule)"' "$1" | sort -u; }
total=0
for seed in ${DIFF_SEEDS:-$(seq 1 24)}; do
    d="$work/$seed"
    python3 "$SRC/tests/fixtures/yara_diff_gen.py" "$seed" "$d" "${DIFF_RULES:-60}" "${DIFF_FILES:-80}"
    yara -w "$d/rules/diff.yar" -r "$d/tree" | awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u > "$d/yara.pairs"
    if [ "${PIPESTATUS[0]}" != 0 ]; then
        bad "seed $seed: yara refused the generated rules"
        continue
    fi
    mkdir -p "$d/cache"
    for run in cold warm; do
        "$CS" scan --no-default-packs --pack "$d/rules" --detectors yara --json -q --cache-dir "$d/cache" "$d/tree" > "$d/$run.jsonl"
        pairs "$d/$run.jsonl" > "$d/$run.pairs"
        check "seed $seed, $run cache: the same matches as yara ($(wc -l < "$d/yara.pairs") pairs)" \
            diff "$d/$run.pairs" "$d/yara.pairs"
    done
    if grep -q '^global' "$d/rules/diff.yar"; then
        echo "seed $seed: a global rule, one set (no prefilter)"
    else
        check "seed $seed: the prefilter was on (its literal database cached)" \
            bash -c "ls '$d/cache'/yara-*-literals-*.hsdb > /dev/null"
    fi
    total=$((total + $(wc -l < "$d/yara.pairs")))
done
echo "matches compared: $total pairs"
check "the random files match some rules (the test is not vacuous)" [ "$total" -gt 50 ]
finish
