#!/usr/bin/env bash
# Archive row of the benchmark: the same member set (wine's 64-bit Windows PE
# DLLs) loose, in one ZIP (deflate), in one MSI with an embedded MSZIP cabinet
# (wixl) and in one tar.gz; chainsweep (all layers, packs/3cx-2023) and
# clamscan (archive scanning on, the pack's hash IOCs as .hsb/.hdb) on each.
# Runs alternate within a repetition; medians of REPS; peak RSS of each.
# MB/s is of the UNPACKED bytes (sum of member sizes / wall) for every row.
# usage: bench/archives.sh [BUILD_DIR]
#   env: BENCH_DIR (~/.cache/chainsweep-bench), THREADS (nproc), REPS (3),
#        CHAINSWEEP (BUILD_DIR/chainsweep), STRIDE (3: every 3rd DLL by name,
#        ~240 MB), STAMP (results name; bench/run.sh passes its own),
#        SPLIT (1: also the rows that split the cost: hash layer only,
#        --no-archives, and the unzip/gzip/msiextract floors; 0 to skip)
# Inputs are built once and cached in BENCH_DIR/archives/<key>/, the key being
# the SHA-256 of the member list (names, sizes and SHA-256 of each member).
. "$(dirname "$0")/common.sh"
STRIDE=${STRIDE:-3}
SPLIT=${SPLIT:-1}
build=${1:-$src/build}
CS=${CHAINSWEEP:-$build/chainsweep}
PACK=$src/packs/3cx-2023
[ -x "$CS" ] || { echo "archives: no chainsweep at $CS" >&2; exit 2; }
for tool in zip unzip wixl tar gzip jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "archives: missing $tool (scripts/deps.sh test installs it)" >&2; exit 77; }
done
have_clam=1
command -v clamscan >/dev/null || { have_clam=0; echo "archives: no clamscan; its rows are left out" >&2; }

# ---------------------------------------------------------------- members
# wine's PE DLLs: from the main corpus when bench/corpus.sh has built it,
# otherwise from libwine alone, unpacked the same way (apt-get download + dpkg -x)
winedir=usr/lib/x86_64-linux-gnu/wine/x86_64-windows
if [ -d "$BENCH_DIR/corpus/libwine/$winedir" ]; then
  from=$BENCH_DIR/corpus/libwine/$winedir
else
  a=$BENCH_DIR/archives
  if [ ! -f "$a/src/.complete" ]; then
    mkdir -p "$a/debs" "$a/src"
    (cd "$a/debs" && apt-get download libwine >&2)
    # shellcheck disable=SC2012  # plain Debian file names; the newest download
    deb=$(ls -t "$a"/debs/libwine_*.deb | head -1)
    dpkg -x "$deb" "$a/src/libwine"
    touch "$a/src/.complete"
  fi
  from=$a/src/libwine/$winedir
fi
mapfile -t members < <(cd "$from" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort | awk -v s="$STRIDE" 'NR % s == 1 || s == 1')
[ ${#members[@]} -gt 0 ] || { echo "archives: no members in $from" >&2; exit 1; }
list=$(cd "$from" && for f in "${members[@]}"; do printf '%s %s\n' "$(stat -c %s "$f")" "$(sha256sum "$f")"; done)
key=$(printf '%s\n' "$list" | sha256sum | cut -c1-16)
nmembers=${#members[@]}
nbytes=$(printf '%s\n' "$list" | awk '{s += $1} END {print s}')
in=$BENCH_DIR/archives/$key
if [ ! -f "$in/.complete" ]; then
  echo "archives: building inputs in $in ($nmembers members, $nbytes bytes)" >&2
  rm -rf "$in"
  mkdir -p "$in/loose/WineBench"
  printf '%s\n' "$list" > "$in/members.txt"
  (cd "$from" && cp -p "${members[@]}" "$in/loose/WineBench/")
  export SOURCE_DATE_EPOCH=1680000000 TZ=UTC LC_ALL=C
  find "$in/loose" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  t0=$EPOCHREALTIME
  # ZIP, deflate at zip's default level (6)
  (cd "$in/loose" && find WineBench -type f | sort | zip -X -D -q members.zip -@ && mv members.zip ..)
  t1=$EPOCHREALTIME
  # tar.gz, gzip -6
  tar -C "$in/loose" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -cf - WineBench | gzip -6n > "$in/members.tar.gz"
  t2=$EPOCHREALTIME
  # MSI with one embedded cabinet (wixl writes MSZIP whatever Media says), one
  # component per file, installed to ProgramFiles64Folder/WineBench
  {
    cat <<'WXS'
<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="7A0B1C2D-3E4F-5061-7283-94A5B6C7D8E9" Name="chainsweep bench members" Version="1.0.0"
           Manufacturer="chainsweep bench" Language="1033" UpgradeCode="7A0B1C2D-3E4F-5061-7283-000000000001">
    <Package InstallerVersion="200" Compressed="yes" Comments="chainsweep benchmark input (wine DLLs)"/>
    <Media Id="1" Cabinet="Data1.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="D_Bench" Name="WineBench">
WXS
    i=0
    for f in "${members[@]}"; do
      i=$((i + 1))
      printf '          <Component Id="C%04d" Guid="7A0B1C2D-3E4F-5061-7283-%012d" Win64="yes"><File Id="F%04d" Source="WineBench/%s" KeyPath="yes"/></Component>\n' "$i" "$i" "$i" "$f"
    done
    echo '        </Directory>'
    echo '      </Directory>'
    echo '    </Directory>'
    printf '    <Feature Id="Complete" Level="1">'
    for j in $(seq "$i"); do printf '<ComponentRef Id="C%04d"/>' "$j"; done
    echo '</Feature>'
    echo '  </Product>'
    echo '</Wix>'
  } > "$in/members.wxs"
  (cd "$in/loose" && wixl -a x64 -o "$in/members.msi" "$in/members.wxs")
  t3=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {printf "archives: built zip %.1f s, tar.gz %.1f s, msi %.1f s\n", b-a, c-b, d-c}' >&2
  touch "$in/.complete"
fi
declare -A target=([loose]="$in/loose" [zip]="$in/members.zip" [msi]="$in/members.msi" [tgz]="$in/members.tar.gz")
kinds=(loose zip msi tgz)
# a DMG as hdiutil makes them (UDZO: zlib, 1 MiB chunks) around an HFS+ volume
# of the same tree (xorriso; Debian has no HFS+ mkfs), built once when xorriso is there
if command -v xorriso >/dev/null; then
  if [ ! -f "$in/members.dmg" ]; then
    xorriso -as mkisofs -quiet -hfsplus -apm-block-size 2048 -o "$in/disk.img" "$in/loose" 2>/dev/null
    python3 "$src/tests/fixtures/make_dmg.py" wrap "$in/disk.img" "$in/members.dmg.tmp" --encoding zlib --chunk-sectors 2048
    mv "$in/members.dmg.tmp" "$in/members.dmg" && rm -f "$in/disk.img"
  fi
  target[dmg]=$in/members.dmg
  kinds+=(dmg)
fi
size_of() { if [ -d "$1" ]; then du -sb "$1" | cut -f1; else stat -c %s "$1"; fi; }
echo "archives: $nmembers members, $nbytes bytes; zip $(size_of "$in/members.zip"), msi $(size_of "$in/members.msi"), tar.gz $(size_of "$in/members.tar.gz") bytes; threads $THREADS, $REPS repetitions" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the pack's hash IOCs for clamscan, as bench/run.sh makes them (.hsb: SHA-1 and
# SHA-256, .hdb: MD5), plus one canary: the MD5 of the last member, so a clamscan
# that did not look inside an archive is seen (the canary must be FOUND in each)
grep -hv '^#' "$PACK"/iocs/*hash*.txt | cut -d';' -f1 | awk 'length($0) == 64 || length($0) == 40 {print $0 ":*:chainsweep.ioc." NR ":73"}' > "$work/iocs.hsb"
grep -hv '^#' "$PACK"/iocs/*hash*.txt | cut -d';' -f1 | awk 'length($0) == 32 {print $0 ":*:chainsweep.ioc." NR ":73"}' > "$work/iocs.hdb"
canary=${members[$((nmembers - 1))]}
canary_md5=$(md5sum "$in/loose/WineBench/$canary" | cut -d' ' -f1)
echo "$canary_md5:$(stat -c %s "$in/loose/WineBench/$canary"):chainsweep.bench.canary" > "$work/canary.hdb"
clamdb=(-d "$work/iocs.hsb" -d "$work/iocs.hdb" -d "$work/canary.hdb")

declare -A cmds
order=()
cs="'$CS' scan --pack '$PACK' -q --json -p $THREADS"
for k in "${kinds[@]}"; do
  cmds[cs_$k]="$cs -o /dev/null '${target[$k]}'; [ \$? -le 1 ]"
  order+=("cs_$k")
done
if [ "$have_clam" = 1 ]; then
  for k in "${kinds[@]}"; do
    # size limits raised as in bench/run.sh's clamscan row (the defaults, 100M and
    # 400M, skip a whole archive over 100 MB; 2000M: clamscan cannot take more than
    # 2 GiB - 1); archive scanning itself on its defaults
    cmds[clam_$k]="clamscan --no-summary -i -r ${clamdb[*]} --max-filesize=2000M --max-scansize=4000M '${target[$k]}' > /dev/null; [ \$? -le 1 ]"
    order+=("clam_$k")
  done
fi
if [ "$SPLIT" = 1 ]; then
  # where the time goes: only the hash layer (reads and digests every byte),
  # the outer files alone (--no-archives), and single-threaded unpack floors
  for k in loose zip msi; do
    cmds[cs_hash_$k]="$cs --detectors hash -o /dev/null '${target[$k]}'; [ \$? -le 1 ]"
    order+=("cs_hash_$k")
  done
  cmds[cs_noarch_zip]="$cs --no-archives -o /dev/null '${target[zip]}'; [ \$? -le 1 ]"
  cmds[unzip_floor]="unzip -p '${target[zip]}' > /dev/null"
  cmds[gzip_floor]="gzip -dc '${target[tgz]}' > /dev/null"
  order+=(cs_noarch_zip unzip_floor gzip_floor)
  if command -v msiextract >/dev/null; then
    cmds[msiextract_floor]="rm -rf '$work/x' && mkdir '$work/x' && msiextract -C '$work/x' '${target[msi]}' > /dev/null"
    order+=(msiextract_floor)
  fi
fi

# ---------------------------------------------------------------- checks (once, untimed)
# chainsweep: every member read (summary members_scanned; --print-all member records)
check_txt=
checks_json=
printf '%s\n' "$list" | awk '{print $3 "\t" $1}' | sort -u > "$work/expected.tsv"
for k in "${kinds[@]}"; do
  "$CS" scan --pack "$PACK" -q --json -p "$THREADS" --print-all -o "$work/all_$k.json" "${target[$k]}" || [ $? -le 1 ]
  read -r scanned mscanned bscanned errors skipped < <(jq -r 'select(.type == "summary") | "\(.files_scanned) \(.members_scanned) \(.bytes_scanned) \(.errors) \([.skipped[]] | add)"' "$work/all_$k.json")
  # member records: (name, size) of every file/member record that is one of the members
  leaves=$(jq -r 'select(.type == "file" or .type == "finding" or .type == "note") | [((.display_path // .path) | split("/") | last), .size] | @tsv' "$work/all_$k.json" |
    sort -u | comm -12 - "$work/expected.tsv" | wc -l)
  line=$(printf '  chainsweep %-5s files_scanned %d, members_scanned %d, bytes_scanned %d, errors %d, skipped %d; records matching a member by name and size: %d of %d' \
    "$k" "$scanned" "$mscanned" "$bscanned" "$errors" "$skipped" "$leaves" "$nmembers")
  [ "$leaves" -eq "$nmembers" ] && [ "$errors" -eq 0 ] && [ "$skipped" -eq 0 ] || line+="   CHECK FAILED: not every member was read"
  checks_json+="${checks_json:+,}\"cs_$k\":{\"files_scanned\":$scanned,\"members_scanned\":$mscanned,\"bytes_scanned\":$bscanned,\"errors\":$errors,\"skipped\":$skipped,\"member_records\":$leaves}"
  check_txt+="$line"$'\n'
  echo "$line" >&2
done
if [ "$have_clam" = 1 ]; then
  for k in "${kinds[@]}"; do
    clamscan -r "${clamdb[@]}" --max-filesize=2000M --max-scansize=4000M "${target[$k]}" > "$work/clam_$k.log" 2>&1 || [ $? -le 1 ]
    found=$(grep -c 'chainsweep.bench.canary.* FOUND' "$work/clam_$k.log" || true)
    cfiles=$(sed -n 's/^Scanned files: //p' "$work/clam_$k.log")
    cdata=$(sed -n 's/^Data scanned: //p' "$work/clam_$k.log")
    line=$(printf '  clamscan   %-5s scanned files %s, data scanned %s; canary member FOUND: %d' "$k" "$cfiles" "$cdata" "$found")
    [ "$found" -eq 1 ] || line+="   CHECK FAILED: clamscan did not find the canary member"
    checks_json+="${checks_json:+,}\"clam_$k\":{\"scanned_files\":${cfiles:-null},\"data_scanned\":\"$cdata\",\"canary_found\":$found}"
    check_txt+="$line"$'\n'
    echo "$line" >&2
  done
fi

# ---------------------------------------------------------------- timed runs
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# other processes holding a CPU when the runs start (the machine is shared): noise to report
busy=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 30 {printf "%s%s (%s%% CPU)", sep, $2, $1; sep = ", "}')
declare -A times rss cpu
for rep in $(seq "$REPS"); do
  for c in "${order[@]}"; do
    echo "rep $rep: $c" >&2
    /usr/bin/time -f '%e %M %U %S' -o "$work/t" bash -c "${cmds[$c]}" || { echo "$c failed" >&2; continue; }
    read -r secs kb usr sys < "$work/t"
    times[$c]="${times[$c]:-} $secs"
    cpu[$c]="${cpu[$c]:-} $(awk -v u="$usr" -v s="$sys" 'BEGIN {print u + s}')"
    rss[$c]=$(( ${rss[$c]:-0} > kb ? ${rss[$c]:-0} : kb ))
  done
done

spread() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {printf "%s-%s", a[1], a[NR]}'; }
declare -A med medcpu
for c in "${order[@]}"; do
  [ -n "${times[$c]:-}" ] || continue
  med[$c]=$(echo "${times[$c]}" | median)
  medcpu[$c]=$(echo "${cpu[$c]}" | median)
done
ratio() { awk -v a="${med[$1]:-0}" -v b="${med[$2]:-0}" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a/b; else printf "n/a"}'; }
jr() { local r; r=$("$@"); if [ "$r" = n/a ]; then echo null; else echo "$r"; fi; }
cpuratio() { awk -v a="${medcpu[$1]:-0}" -v b="${medcpu[$2]:-0}" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a/b; else printf "n/a"}'; }
stamp=${STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}
out=bench/results/$stamp-archives
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "chainsweep archive benchmark $stamp"
  echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average before the runs $load_before, after $load"
  echo "other processes busy when the runs started: ${busy:-none}"
  echo "members: $nmembers wine PE DLLs (every one in ${STRIDE} of libwine's x86_64-windows, by name), $nbytes bytes; key $key"
  echo "inputs: zip (deflate -6) $(size_of "${target[zip]}") bytes, msi (wixl, MSZIP cabinet) $(size_of "${target[msi]}") bytes, tar.gz (-6) $(size_of "${target[tgz]}") bytes"
  echo "chainsweep: scan --pack packs/3cx-2023 -q --json -o /dev/null -p $THREADS (all layers); clamscan $(clamscan --version 2>/dev/null | cut -d/ -f1 | sed 's/ClamAV //') -r, archive scanning on, the pack's hash IOCs as .hsb/.hdb (single-threaded)"
  echo "threads $THREADS; median of $REPS runs (wall min-max in the last column); MB/s = member bytes / wall, for every row; cpu_s = user + sys"
  printf '%-18s %10s %10s %8s %12s  %s\n' run seconds MB/s cpu_s peak_RSS_MiB runs
} > "$out.txt"
json="{\"stamp\":\"$stamp\",\"members\":$nmembers,\"member_bytes\":$nbytes,\"key\":\"$key\",\"threads\":$THREADS,\"reps\":$REPS,\"load_before\":\"$load_before\",\"load_after\":\"$load\",\"busy\":\"$busy\",\"inputs\":{\"zip\":$(size_of "${target[zip]}"),\"msi\":$(size_of "${target[msi]}"),\"tgz\":$(size_of "${target[tgz]}")},\"runs\":{"
sep=
for c in "${order[@]}"; do
  [ -n "${med[$c]:-}" ] || continue
  m=${med[$c]}
  mbs=$(awk -v b="$nbytes" -v s="$m" 'BEGIN {printf "%.1f", (s > 0 ? b/1e6/s : 0)}')
  printf '%-18s %10s %10s %8s %12s  %s\n' "$c" "$m" "$mbs" "${medcpu[$c]}" "$(( rss[$c] / 1024 ))" "$(echo "${times[$c]}" | spread)" >> "$out.txt"
  json+="$sep\"$c\":{\"seconds\":$m,\"mb_per_s\":$mbs,\"cpu_seconds\":${medcpu[$c]},\"peak_rss_kib\":${rss[$c]},\"all_seconds\":[$(echo "${times[$c]}" | sed 's/^ //; s/ /,/g')]}"
  sep=,
done
json+="},\"ratios\":{\"cs_zip_over_loose\":$(jr ratio cs_zip cs_loose),\"cs_msi_over_loose\":$(jr ratio cs_msi cs_loose),\"cs_tgz_over_loose\":$(jr ratio cs_tgz cs_loose)"
json+=",\"cs_cpu_zip_over_loose\":$(jr cpuratio cs_zip cs_loose),\"cs_cpu_msi_over_loose\":$(jr cpuratio cs_msi cs_loose),\"cs_cpu_tgz_over_loose\":$(jr cpuratio cs_tgz cs_loose)"
json+=",\"cs_dmg_over_loose\":$(jr ratio cs_dmg cs_loose),\"cs_over_clam_dmg\":$(jr ratio cs_dmg clam_dmg)"
json+=",\"cs_over_clam_zip\":$(jr ratio cs_zip clam_zip),\"cs_over_clam_msi\":$(jr ratio cs_msi clam_msi),\"cs_over_clam_tgz\":$(jr ratio cs_tgz clam_tgz),\"cs_over_clam_loose\":$(jr ratio cs_loose clam_loose)},\"checks\":{$checks_json}}"
echo "$json" | jq -c . > "$out.json"
{
  echo
  echo "ratios (lower is better for chainsweep):"
  echo "  unpacking overhead: chainsweep zip / loose     = $(ratio cs_zip cs_loose)   (target <= 1.30)"
  echo "  unpacking overhead: chainsweep msi / loose     = $(ratio cs_msi cs_loose)   (target <= 1.30)"
  echo "  unpacking overhead: chainsweep tar.gz / loose  = $(ratio cs_tgz cs_loose)"
  echo "  the same in CPU time (user + sys): zip $(cpuratio cs_zip cs_loose), msi $(cpuratio cs_msi cs_loose), tar.gz $(cpuratio cs_tgz cs_loose)"
  echo "  chainsweep / clamscan, zip                     = $(ratio cs_zip clam_zip)   (target < 1)"
  echo "  chainsweep / clamscan, msi                     = $(ratio cs_msi clam_msi)   (target < 1)"
  echo "  chainsweep / clamscan, tar.gz                  = $(ratio cs_tgz clam_tgz)   (target < 1)"
  echo "  chainsweep / clamscan, loose                   = $(ratio cs_loose clam_loose)"
  if [ -n "${target[dmg]:-}" ]; then
    echo "  unpacking overhead: chainsweep dmg / loose     = $(ratio cs_dmg cs_loose)   (CPU $(cpuratio cs_dmg cs_loose))"
    echo "  chainsweep / clamscan, dmg                     = $(ratio cs_dmg clam_dmg)"
  fi
  if [ "$SPLIT" = 1 ]; then
    echo "  hash layer only: zip / loose                   = $(ratio cs_hash_zip cs_hash_loose)"
    echo "  hash layer only: msi / loose                   = $(ratio cs_hash_msi cs_hash_loose)"
  fi
  echo
  echo "checks (one untimed run each; chainsweep with --print-all, clamscan with its summary):"
  printf '%s' "$check_txt"
} >> "$out.txt"
cat "$out.txt"
