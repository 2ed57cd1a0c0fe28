#!/usr/bin/env bash
# Differential test of the YARA partitioning and literal prefilter: random
# rules and files (tests/fixtures/yara_diff_gen.py, fixed seeds), and the
# (file, rule) matches of chainsweep, cold and warm, and with a profile
# that moves every third rule into the lean sets, must equal plain yara's. DIFF_SEEDS="1 2 ..." (default 1 to 24) and DIFF_RULES / DIFF_FILES
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
        # learned lean sets: a profile (as a sweep of many files would write
        # it) that puts every third rule, by the seed, in every class's lean
        # set; the same matches as yara, and the lean sets were rebuilt
        key=$(ls "$d/cache" | sed -n 's/^yara-\([0-9a-f]\{32\}\)-compiles\.ok$/\1/p' | head -n1)
        n_rules=$(grep -cE '^(private )?rule ' "$d/rules/diff.yar")
        python3 - "$d/cache/yara-$key-learned.prof" "$n_rules" "$seed" <<'PY'
import sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    f.write("chainsweep yara profile 1\n")
    f.write("".join("class %d\n" % c for c in range(16)))
    f.write("".join("rule %d %d\n" % (c, r) for c in range(16) for r in range(n) if (r + seed + c) % 3 == 0))
PY
        lean_sets() { ls "$d/cache" | sed -n 's/^yara-[0-9a-f]*-\([0-9]*\)-.*\.yarc$/\1/p' | awk '$1 >= 16 && $1 < 32' | wc -l; }
        before=$(lean_sets)
        "$CS" scan --no-default-packs --pack "$d/rules" --detectors yara --json -q --cache-dir "$d/cache" "$d/tree" > "$d/learned.jsonl"
        pairs "$d/learned.jsonl" > "$d/learned.pairs"
        check "seed $seed, learned lean sets: the same matches as yara" diff "$d/learned.pairs" "$d/yara.pairs"
        check "seed $seed, learned lean sets: built ($before -> $(lean_sets) lean sets in the cache)" [ "$(lean_sets)" -gt "$before" ]
    fi
    total=$((total + $(wc -l < "$d/yara.pairs")))
done
echo "matches compared: $total pairs"
check "the random files match some rules (the test is not vacuous)" [ "$total" -gt 50 ]
finish
