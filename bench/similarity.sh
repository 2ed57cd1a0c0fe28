#!/usr/bin/env bash
# Similarity row of the benchmark:
#  - TLSH digests: `chainsweep sim add` against Debian's tlsh-tools 3.4.4
#    (`tlsh_unittest -r`) on the same files (this machine's libraries), one
#    thread each, medians of REPS;
#  - the index: 1,000,000 references mutated from those digests (sim_check):
#    build time, size, lookups per second at distances 30, 50 and 70 for
#    near queries, held-out files like the seeds, real files of another kind
#    (OTHER_DIR: 3,000 files picked by name order) and random digests, one core;
#  - the sweep with the layer off, on with 1,000 references (a list) and on
#    with that index in a pack: the bench corpus, all layers, bundled packs.
# usage: bench/similarity.sh [BUILD_DIR]
#   env: BENCH_DIR, THREADS, REPS, CHAINSWEEP, STAMP, SIM_REFS (1000000),
#        SIM_QUERIES (2000), SIM_ROUNDS (3: each set's median of 3 timings taken in turn),
#        SEED_DIR (/usr/lib/x86_64-linux-gnu), OTHER_DIR (/usr/share)
. "$(dirname "$0")/common.sh"
build=${1:-$src/build}
CS=${CHAINSWEEP:-$build/chainsweep}
SIM_CHECK=$build/tests/sim_check
SEED_DIR=${SEED_DIR:-/usr/lib/x86_64-linux-gnu}
OTHER_DIR=${OTHER_DIR:-/usr/share}
stamp=${STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}
out=bench/results/$stamp-similarity.txt
[ -x "$CS" ] && [ -x "$SIM_CHECK" ] || { echo "similarity: needs $CS and $SIM_CHECK (a build with tests)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timed() { /usr/bin/time -f '%e %M' -o "$work/t" bash -c "$1" > /dev/null 2>&1; cat "$work/t"; }
{
  echo "chainsweep similarity benchmark $stamp"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
} > "$out"

# TLSH digests, ours and the reference's, on the same regular files: a
# copy of SEED_DIR (hard links where possible) without its symbolic links
tree=$BENCH_DIR/similarity-tree
if [ ! -d "$tree" ]; then
  mkdir -p "$BENCH_DIR"
  cp -al "$SEED_DIR" "$tree.tmp" 2>/dev/null || { rm -rf "$tree.tmp"; cp -a "$SEED_DIR" "$tree.tmp"; }
  find "$tree.tmp" -type l -delete
  mv "$tree.tmp" "$tree"
fi
read -r n bytes < <(find "$tree" -type f -printf '%s\n' | awk '{s += $1} END {print NR, s}')
ours="" theirs=""
for rep in $(seq "$REPS"); do
  rm -f "$work/seeds.tsv"
  read -r s _ < <(timed "'$CS' sim add --bad -o '$work/seeds.tsv' '$tree'")
  ours+=" $s"
  if command -v tlsh_unittest > /dev/null; then
    read -r s _ < <(timed "tlsh_unittest -r '$tree'")
    theirs+=" $s"
  fi
done
m_ours=$(echo "$ours" | median)
{
  echo "TLSH digests of $n files ($bytes bytes, $SEED_DIR), one thread, median of $REPS:"
  echo "  chainsweep sim add (TLSH + SHA-256)   ${m_ours} s"
  if [ -n "$theirs" ]; then
    m_theirs=$(echo "$theirs" | median)
    echo "  tlsh_unittest -r (TLSH)               ${m_theirs} s"
    echo "  ratio chainsweep / tlsh-tools         $(awk -v a="$m_ours" -v b="$m_theirs" 'BEGIN {printf "%.2f", a/b}')"
  fi
} >> "$out"

# the index; queries of another kind: every 10th file of OTHER_DIR by name
# (rows are appended, so xargs may split the list)
find "$OTHER_DIR" -type f -size +1k -print0 2> /dev/null | sort -z | awk -v RS='\0' -v ORS='\0' 'NR % 10 == 0' |
    head -z -n 3000 | xargs -0 -r "$CS" sim add --bad -o "$work/others.tsv" > /dev/null 2>&1 || true
others=()
[ -s "$work/others.tsv" ] && others=(--others "$work/others.tsv")
"$SIM_CHECK" --refs "${SIM_REFS:-1000000}" --queries "${SIM_QUERIES:-2000}" --seconds 2 --rounds "${SIM_ROUNDS:-3}" "${others[@]}" --write "$work/refs.csim" "$work/seeds.tsv" > "$work/check.out"
{ echo "index (sim_check, one core):"; sed 's/^/  /' "$work/check.out"; } >> "$out"

# the sweep with the layer on and off
read -r corpus nfiles nbytes < <(bash bench/corpus.sh "$BENCH_DIR")
mkdir -p "$work/simpack" "$work/smallpack"
mv "$work/refs.csim" "$work/simpack/"
# a pack-sized set: the first 1,000 seed digests as known-bad references
head -1000 "$work/seeds.tsv" > "$work/smallpack/similarity-small.tsv"
declare -A t r
for rep in $(seq "$REPS"); do
  for row in off small large; do
    extra=
    [ $row = small ] && extra="--pack '$work/smallpack'"
    [ $row = large ] && extra="--pack '$work/simpack'"
    read -r s kb < <(timed "'$CS' scan -q --json -p $THREADS --pack '$src/packs/3cx-2023' $extra '$corpus'; [ \$? -le 1 ]")
    t[$row]="${t[$row]:-} $s"
    r[$row]=$(( kb > ${r[$row]:-0} ? kb : ${r[$row]:-0} ))
  done
done
m_off=$(echo "${t[off]}" | median) m_small=$(echo "${t[small]}" | median) m_large=$(echo "${t[large]}" | median)
{
  echo "sweep of the bench corpus ($nfiles files, $nbytes bytes), all layers, $THREADS threads, median of $REPS:"
  echo "  similarity layer off                  ${m_off} s, peak RSS $((r[off] / 1024)) MiB"
  echo "  on, 1,000 references (a list)         ${m_small} s, peak RSS $((r[small] / 1024)) MiB   ratio $(awk -v a="$m_small" -v b="$m_off" 'BEGIN {printf "%.2f", a/b}')"
  echo "  on, ${SIM_REFS:-1000000} references (.csim)       ${m_large} s, peak RSS $((r[large] / 1024)) MiB   ratio $(awk -v a="$m_large" -v b="$m_off" 'BEGIN {printf "%.2f", a/b}')"
} >> "$out"
cat "$out"
