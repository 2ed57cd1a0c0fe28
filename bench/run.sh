#!/usr/bin/env bash
# Side-by-side benchmark: chainsweep against yara, YARA-X (its Node binding,
# bench/yarax.js), clamscan and the floors (cat, OpenSSL SHA-256) on the same
# files, rules and threads; rule files YARA-X rejects are left out of all
# three YARA engines and listed; runs
# alternate to cancel drift; medians of REPS runs; peak RSS of each.
# usage: bench/run.sh    (env: BENCH_DIR, THREADS, REPS, SIGBASE, CHAINSWEEP, ARCHIVES,
#                          RESCANS: rescans timed together, 20; WARMUP: untimed
#                          runs of each chainsweep command first, 2)
# Then the archive row (bench/archives.sh: the same members loose, zipped, in
# an MSI, in a tar.gz; results STAMP-archives.*); ARCHIVES=0 leaves it out.
# Then the similarity row (bench/similarity.sh, STAMP-similarity.txt); SIMILARITY=0 leaves it out.
# Then the service row (bench/serve.sh, STAMP-serve.txt); SERVE=0 leaves it out.
. "$(dirname "$0")/common.sh"
CS=${CHAINSWEEP:-$src/build/chainsweep}
read -r corpus nfiles nbytes < <(bash bench/corpus.sh "$BENCH_DIR")
echo "corpus: $corpus: $nfiles files, $nbytes bytes; threads $THREADS, $REPS repetitions" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# rule sets: the bundled packs' YARA files and IOCs, and signature-base when given
# the YARA rule folders keep their paths from run to run (chainsweep's
# compiled-set cache is keyed on paths and bytes)
rules=$BENCH_DIR/rules
rm -rf "$rules" && mkdir -p "$rules/yara-bundled" "$work/hash-only"
find packs -name '*.yar' -exec cp {} "$rules/yara-bundled/" \;
bundled_packs=$(for p in packs/*/; do printf -- "--pack '%s' " "$src/$p"; done)
find packs -name '*hash*.txt' -exec cp {} "$work/hash-only/" \;
mkdir -p "$work/sha256-only"
grep -hv '^#' "$work"/hash-only/*.txt | awk -F';' 'length($1) == 64' > "$work/sha256-only/sha256-hash-iocs.txt"
# the same hash IOCs for clamscan (.hsb: HASH:*:NAME, any size)
grep -hv '^#' "$work"/hash-only/*.txt | cut -d';' -f1 | awk 'length($0) == 64 || length($0) == 40 {print $0 ":*:chainsweep.ioc." NR ":73"}' > "$work/iocs.hsb"
grep -hv '^#' "$work"/hash-only/*.txt | cut -d';' -f1 | awk 'length($0) == 32 {print $0 ":*:chainsweep.ioc." NR ":73"}' > "$work/iocs.hdb"
externals=(-d filename= -d filepath= -d extension= -d filetype= -d md5= -d owner= -d group= -d filemode=0
           -d timezone= -d language= -d osversion=0 -d unpack_parent= -d unpack_source= -d id=0)

# YARA-X (bench/yarax-setup.sh installs its binding; YARAX=0 leaves it out)
yarax_module=
if [ "${YARAX:-1}" != 0 ]; then
  yarax_module=$(bash bench/yarax-setup.sh "$BENCH_DIR/yara-x") || { echo "YARA-X left out" >&2; yarax_module=; }
fi
yarax() { UV_THREADPOOL_SIZE=$THREADS THREADS=$THREADS YARAX_MODULE=$yarax_module node bench/yarax.js "$@"; }
# Keep in DIR only the rule files YARA-X accepts; the rejected go to DIR.rejected.
yarax_filter() {
  : > "$1.rejected"
  [ -n "$yarax_module" ] || return 0
  yarax --check "${externals[@]}" "$1"/*.yar -- > "$1.check" || true
  while read -r _ f reason; do
    echo "${f%:} ${reason}" >> "$1.rejected"
    rm -f "${f%:}"
  done < <(grep '^REJECTED ' "$1.check")
}
yarax_filter "$rules/yara-bundled"
if [ -n "${SIGBASE:-}" ]; then
  mkdir -p "$rules/yara-sigbase"
  find "$SIGBASE/yara" -name '*.yar' -exec cp {} "$rules/yara-sigbase/" \;
  yarax_filter "$rules/yara-sigbase"
fi

declare -A cmds
cmds[cat]="find '$corpus' -type f -print0 | xargs -0 -P $THREADS -n 64 cat > /dev/null"
cmds[sha256]="find '$corpus' -type f -print0 | xargs -0 -P $THREADS -n 64 openssl dgst -sha256 > /dev/null"
cmds[yara_bundled]="yara -N -r -w -p $THREADS ${externals[*]} $rules/yara-bundled/*.yar '$corpus' > $work/yara_bundled.out"
cmds[cs_yara_bundled]="'$CS' scan -q --json -p $THREADS --max-size 4G --detectors yara --pack '$rules/yara-bundled' '$corpus' > $work/cs_yara_bundled.out; [ \$? -le 1 ]"
cmds[cs_all_bundled]="'$CS' scan -q --json -p $THREADS --max-size 4G $bundled_packs '$corpus' > /dev/null; [ \$? -le 1 ]"
cmds[cs_hash]="'$CS' scan -q --json -p $THREADS --max-size 4G --detectors hash --pack '$work/hash-only' '$corpus' > /dev/null; [ \$? -le 1 ]"
cmds[cs_hash_sha256]="'$CS' scan -q --json -p $THREADS --max-size 4G --detectors hash --pack '$work/sha256-only' '$corpus' > /dev/null; [ \$? -le 1 ]"
cmds[clamscan_hash]="clamscan --no-summary -i -r -d $work/iocs.hsb -d $work/iocs.hdb --max-filesize=4000M --max-scansize=4000M '$corpus' > /dev/null; [ \$? -le 1 ]"
order=(cat sha256 yara_bundled cs_yara_bundled cs_all_bundled cs_hash cs_hash_sha256 clamscan_hash)
if [ -n "$yarax_module" ]; then
  cmds[yarax_bundled]="UV_THREADPOOL_SIZE=$THREADS THREADS=$THREADS YARAX_MODULE='$yarax_module' node bench/yarax.js ${externals[*]} $rules/yara-bundled/*.yar -- '$corpus' > $work/yarax_bundled.out"
  order+=(yarax_bundled)
fi
if [ -n "${SIGBASE:-}" ]; then
  cmds[yara_sigbase]="yara -N -r -w -p $THREADS ${externals[*]} $rules/yara-sigbase/*.yar '$corpus' > $work/yara_sigbase.out"
  cmds[cs_yara_sigbase]="'$CS' scan -q --json -p $THREADS --max-size 4G --detectors yara --pack '$rules/yara-sigbase' '$corpus' > $work/cs_yara_sigbase.out; [ \$? -le 1 ]"
  # a first sweep: nothing compiled in the cache (yara compiles on every run)
  cmds[cs_yara_sigbase_cold]="rm -rf '$work/cold-cache' && mkdir '$work/cold-cache' && '$CS' scan -q --json -p $THREADS --max-size 4G --detectors yara --cache-dir '$work/cold-cache' --pack '$rules/yara-sigbase' '$corpus' > /dev/null; [ \$? -le 1 ]"
  if [ -n "$yarax_module" ]; then
    cmds[yarax_sigbase]="UV_THREADPOOL_SIZE=$THREADS THREADS=$THREADS YARAX_MODULE='$yarax_module' node bench/yarax.js ${externals[*]} $rules/yara-sigbase/*.yar -- '$corpus' > $work/yarax_sigbase.out"
    order+=(yarax_sigbase)
  fi
  cmds[cs_all_sigbase]="'$CS' scan -q --json -p $THREADS --max-size 4G --signature-base '$SIGBASE' $(for p in packs/*/; do printf -- '--pack %s ' "$p"; done) '$corpus' > /dev/null; [ \$? -le 1 ]"
  cmds[cs_yara_sigbase_all_rules]="'$CS' scan -q --json -p $THREADS --max-size 4G --detectors yara --signature-base '$SIGBASE' $(for p in packs/*/; do printf -- '--pack %s ' "$p"; done) '$corpus' > /dev/null; [ \$? -le 1 ]"
  order+=(yara_sigbase cs_yara_sigbase cs_yara_sigbase_cold cs_all_sigbase cs_yara_sigbase_all_rules)
fi
rm -f "$work/state.db"
cmds[cs_incr_first]="rm -f '$work/state.db'; '$CS' scan -q -p $THREADS --max-size 4G --state '$work/state.db' $bundled_packs '$corpus' > /dev/null; [ \$? -le 1 ]"
# a rescan takes milliseconds: RESCANS in a row, timed together, give its time
# to a tenth of a millisecond (time(1) says hundredths of a second)
RESCANS=${RESCANS:-20}
declare -A per
rescans() { echo "for i in \$(seq $RESCANS); do $1 || exit 1; done"; }
cmds[cs_incr_second]=$(rescans "'$CS' scan -q -p $THREADS --max-size 4G --state '$work/state.db' $bundled_packs '$corpus' > /dev/null; [ \$? -le 1 ]")
per[cs_incr_second]=$RESCANS
order+=(cs_incr_first cs_incr_second)
if [ -n "${SIGBASE:-}" ]; then
  sig_packs="--signature-base '$SIGBASE' $(for p in packs/*/; do printf -- '--pack %s ' "$p"; done)"
  cmds[cs_incr_first_sigbase]="rm -f '$work/state-sb.db'; '$CS' scan -q -p $THREADS --max-size 4G --state '$work/state-sb.db' $sig_packs '$corpus' > /dev/null; [ \$? -le 1 ]"
  cmds[cs_incr_second_sigbase]=$(rescans "'$CS' scan -q -p $THREADS --max-size 4G --state '$work/state-sb.db' $sig_packs '$corpus' > /dev/null; [ \$? -le 1 ]")
  per[cs_incr_second_sigbase]=$RESCANS
  order+=(cs_incr_first_sigbase cs_incr_second_sigbase)
fi
for c in "${order[@]}"; do
  command -v "${c%%_*}" >/dev/null 2>&1 || [ "${c%%_*}" = cs ] || [ "${c%%_*}" = yarax ] || [ "$c" = sha256 ] || [ "$c" = cat ] || { echo "missing tool for $c" >&2; unset "cmds[$c]"; }
done

# chainsweep's caches warm, as on a machine that swept before: WARMUP untimed
# runs of each chainsweep command (2: the first compiles the sets and learns
# which rules are candidates in most files, the second compiles the lean sets
# that learned); the _cold row is a first sweep, from an empty cache
for c in "${order[@]}"; do
  case $c in cs_*_cold | cs_incr_second*) continue ;; cs_*) ;; *) continue ;; esac
  [ -n "${cmds[$c]:-}" ] || continue
  for w in $(seq "${WARMUP:-2}"); do
    echo "warm-up $w: $c" >&2
    bash -c "${cmds[$c]}" || echo "$c failed (warm-up)" >&2
  done
done

declare -A times rss
for rep in $(seq "$REPS"); do
  for c in "${order[@]}"; do
    [ -n "${cmds[$c]:-}" ] || continue
    echo "rep $rep: $c" >&2
    /usr/bin/time -f '%e %M' -o "$work/t" bash -c "${cmds[$c]}" || { echo "$c failed" >&2; continue; }
    read -r secs kb < "$work/t"
    [ -n "${per[$c]:-}" ] && secs=$(awk -v s="$secs" -v n="${per[$c]}" 'BEGIN {printf "%.4f", s / n}')
    times[$c]="${times[$c]:-} $secs"
    rss[$c]=$(( ${rss[$c]:-0} > kb ? ${rss[$c]:-0} : kb ))
  done
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/$stamp
{
  echo "chainsweep benchmark $stamp"
  echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "corpus: $nfiles files, $nbytes bytes; threads $THREADS; median of $REPS runs; chainsweep's caches warmed by ${WARMUP:-2} untimed runs of each command (the _cold row: an empty cache)"
  printf '%-18s %10s %10s %12s\n' run seconds MB/s peak_RSS_MiB
} > "$out.txt"
json="{\"stamp\":\"$stamp\",\"files\":$nfiles,\"bytes\":$nbytes,\"threads\":$THREADS,\"reps\":$REPS,\"runs\":{"
sep=
for c in "${order[@]}"; do
  [ -n "${times[$c]:-}" ] || continue
  m=$(echo "${times[$c]}" | median)
  mbs=$(awk -v b="$nbytes" -v s="$m" 'BEGIN {printf "%.1f", (s > 0 ? b/1e6/s : 0)}')
  printf '%-18s %10s %10s %12s\n' "$c" "$m" "$mbs" "$(( rss[$c] / 1024 ))" >> "$out.txt"
  echo "$c $m" >> "$out.dat"
  json+="$sep\"$c\":{\"seconds\":$m,\"mb_per_s\":$mbs,\"peak_rss_kib\":${rss[$c]}}"
  sep=,
done
json+="}}"
echo "$json" > "$out.json"
ratio() { awk -v a="$(grep "^$1 " "$out.dat" | cut -d' ' -f2)" -v b="$(grep "^$2 " "$out.dat" | cut -d' ' -f2)" 'BEGIN {if (a && b) printf "%.2f", a/b; else printf "n/a"}'; }
{
  echo
  echo "ratios (lower is better for chainsweep):"
  echo "  YARA bundled packs: chainsweep / yara          = $(ratio cs_yara_bundled yara_bundled)   (target <= 1.0)"
  echo "  YARA bundled packs: chainsweep / YARA-X        = $(ratio cs_yara_bundled yarax_bundled)"
  echo "  YARA bundled packs: YARA-X / yara              = $(ratio yarax_bundled yara_bundled)"
  [ -n "${SIGBASE:-}" ] && echo "  YARA signature-base: chainsweep / yara         = $(ratio cs_yara_sigbase yara_sigbase)   (target <= 0.5)"
  [ -n "${SIGBASE:-}" ] && echo "  YARA signature-base: chainsweep / YARA-X       = $(ratio cs_yara_sigbase yarax_sigbase)   (target <= 0.5)"
  [ -n "${SIGBASE:-}" ] && echo "  YARA signature-base: YARA-X / yara             = $(ratio yarax_sigbase yara_sigbase)"
  [ -n "${SIGBASE:-}" ] && echo "  YARA signature-base, a first sweep (no cache): chainsweep / yara = $(ratio cs_yara_sigbase_cold yara_sigbase)"
  echo "  all layers / YARA-only (bundled)               = $(ratio cs_all_bundled cs_yara_bundled)   (target <= 1.2)"
  [ -n "${SIGBASE:-}" ] && echo "  all layers / YARA-only (signature-base+packs)  = $(ratio cs_all_sigbase cs_yara_sigbase_all_rules)   (target <= 1.2)"
  echo "  hash IOCs: chainsweep / OpenSSL SHA-256 floor  = $(ratio cs_hash sha256)   (target <= 1.5; MD5+SHA-1+SHA-256 IOCs)"
  echo "  SHA-256 IOCs only: chainsweep / SHA-256 floor  = $(ratio cs_hash_sha256 sha256)   (target <= 1.5)"
  echo "  hash IOCs: chainsweep / clamscan (.hsb)        = $(ratio cs_hash clamscan_hash)"
  echo "  incremental: first / second sweep (bundled)    = $(ratio cs_incr_first cs_incr_second)   (target >= 100; a rescan: $RESCANS in a row / $RESCANS)"
  [ -n "${SIGBASE:-}" ] && echo "  incremental: first / second (signature-base)   = $(ratio cs_incr_first_sigbase cs_incr_second_sigbase)   (target >= 100)"
  echo "  chainsweep YARA / cat floor                    = $(ratio cs_yara_bundled cat)"
} >> "$out.txt"
# lossless check: the same (file, rule) matches as yara
pairs_yara() { awk '{r=$1; $1=""; sub(/^ /, ""); print $0 "\t" r}' "$1" | sort -u; }
pairs_cs() { jq -r 'select(.type == "finding") | .path as $p | .reasons[] | select(.detector == "yara") | "\($p)\t\(.rule)"' "$1" | sort -u; }
# Rules whose condition reads a per-file external: plain yara can only give
# them one constant value, chainsweep gives each file its own (THOR semantics).
external_rules() {
  { grep -lE '\b(filename|filepath|extension|filetype|owner|group|filemode)\b' "$@" 2>/dev/null || true; } |
    xargs -r grep -hoE '^\s*(private\s+|global\s+)*rule\s+[A-Za-z0-9_]+' | awk '{print $NF}' | sort -u
}
for set in bundled ${SIGBASE:+sigbase}; do
  if [ -f "$work/yara_$set.out" ] && [ -f "$work/cs_yara_$set.out" ]; then
    pairs_yara "$work/yara_$set.out" > "$work/y.pairs"
    pairs_cs "$work/cs_yara_$set.out" > "$work/c.pairs"
    rulefiles=("$rules/yara-$set"/*.yar)
    external_rules "${rulefiles[@]}" > "$work/ext.rules"
    diff "$work/y.pairs" "$work/c.pairs" | grep '^[<>]' | cut -f2 | sort -u > "$work/diff.rules" || true
    unexplained=$(comm -23 "$work/diff.rules" "$work/ext.rules" | wc -l)
    ndiff=$(diff "$work/y.pairs" "$work/c.pairs" | grep -c '^[<>]' || true)
    if [ "$ndiff" -eq 0 ]; then
      echo "  matches ($set): identical to yara ($(wc -l < "$work/y.pairs") file/rule pairs)" >> "$out.txt"
    elif [ "$unexplained" -eq 0 ]; then
      echo "  matches ($set): $(wc -l < "$work/y.pairs") pairs identical; $ndiff more, all from rules that read per-file externals (filename, filepath, ...) which plain yara sets to \"\"" >> "$out.txt"
    else
      echo "  matches ($set): DIFFER from yara: $ndiff pairs, $unexplained rules not explained by externals" >> "$out.txt"
    fi
  fi
  # YARA-X's matches beside yara's and ours, rule by rule
  if [ -f "$work/yarax_$set.out" ]; then
    pairs_yara "$work/yarax_$set.out" > "$work/x.pairs"
    echo "  YARA-X ($set): $(wc -l < "$work/x.pairs") pairs; rejected rule files (left out of all three): $(wc -l < "$rules/yara-$set.rejected")" >> "$out.txt"
    sed 's/^/    rejected: /' "$rules/yara-$set.rejected" >> "$out.txt"
    for peer in yara chainsweep; do
      [ $peer = yara ] && other=$work/y.pairs || other=$work/c.pairs
      [ -f "$other" ] || continue
      diff "$other" "$work/x.pairs" | grep '^[<>]' | awk -F'\t' -v p=$peer '{side = substr($1, 1, 1) == ">" ? "only YARA-X" : "only " p; n[$2 "\t" side]++} END {for (k in n) {split(k, a, "\t"); printf "    vs %s: %s, %d files: %s\n", p, a[1], n[k], a[2]}}' | sort >> "$out.txt" || true
    done
  fi
done
rm -f "$out.dat"
if command -v gnuplot >/dev/null; then
  python3 - "$out.json" "$out.png" <<'PY' || true
import json, subprocess, sys
d = json.load(open(sys.argv[1]))["runs"]
rows = "\n".join(f'"{k}" {v["mb_per_s"]}' for k, v in d.items())
script = f"""set terminal png size 1000,500 noenhanced
set logscale y
set yrange [10:*]
set grid ytics
set output '{sys.argv[2]}'
set style data histograms
set style fill solid
set ylabel 'MB/s, log scale (higher is faster)'
set xtics rotate by -30
set title 'chainsweep vs peers, same corpus and threads'
plot '-' using 2:xtic(1) notitle
{rows}
e
"""
subprocess.run(["gnuplot"], input=script.encode(), check=True)
PY
fi
cat "$out.txt"
# the archive row: same stamp, its own files (bench/results/$stamp-archives.*)
if [ "${ARCHIVES:-1}" != 0 ]; then
  echo >&2
  BENCH_DIR=$BENCH_DIR THREADS=$THREADS REPS=$REPS CHAINSWEEP=$CS STAMP=$stamp bash bench/archives.sh "$(dirname "$CS")" ||
    echo "archive row failed or skipped (exit $?)" >&2
fi
# the similarity row: TLSH against tlsh-tools, the index at 1M references,
# the sweep with the layer on and off (bench/similarity.sh; SIMILARITY=0 skips)
if [ "${SIMILARITY:-1}" != 0 ]; then
  echo >&2
  BENCH_DIR=$BENCH_DIR THREADS=$THREADS REPS=$REPS CHAINSWEEP=$CS STAMP=$stamp bash bench/similarity.sh "$(dirname "$CS")" ||
    echo "similarity row failed or skipped (exit $?)" >&2
fi
# the service row: /api/check with 1, 8 and 64 clients against scan, latency
# of a 1 MB check (bench/serve.sh; SERVE=0 skips)
if [ "${SERVE:-1}" != 0 ]; then
  echo >&2
  BENCH_DIR=$BENCH_DIR THREADS=$THREADS CHAINSWEEP=$CS STAMP=$stamp bash bench/serve.sh "$(dirname "$CS")" ||
    echo "service row failed or skipped (exit $?)" >&2
fi
