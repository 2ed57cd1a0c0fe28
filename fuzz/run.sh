#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60) on its corpus plus the
# project's own packs and generated fixtures as extra seeds.
# usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
only=" $* "
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
python3 tests/fixtures/make_fixtures.py "$seeds"
if command -v x86_64-w64-mingw32-gcc >/dev/null && command -v osslsigncode >/dev/null; then
    bash tests/fixtures/make_signed.sh "$seeds/signed" >/dev/null
    find "$seeds/signed" -type f ! -name '*.dll' -delete
    bash tests/fixtures/make_products.sh "$seeds/products" >/dev/null # PE seeds with version resources
fi
# libgsf's own leak on damaged OLE directories is suppressed; matching it
# needs full malloc stacks (glib has no frame pointers)
export LSAN_OPTIONS="suppressions=$(pwd)/fuzz/lsan.supp"
run() { # name extra-seed-dirs...
    local name=$1; shift
    [ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || return 0
    mkdir -p "build-fuzz/corpus/$name"
    local dirs=() d
    for d in "fuzz/corpus/$name" "$@"; do [ -d "$d" ] && dirs+=("$d"); done # libFuzzer stops on a missing one
    "./build-fuzz/fuzz/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 \
        "build-fuzz/corpus/$name" "${dirs[@]}" 2>&1 | grep -E '^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY)' | sed "s/^/$name: /"
}
run ioc packs/3cx-2023/iocs
run filetype "$seeds"
run report
run pe "$seeds" "$seeds/signed" "$seeds/products"
run authenticode "$seeds/signed"
run yara_split "${SIGBASE:-../shared/data/signature-base}/yara"
run yara_literals "${SIGBASE:-../shared/data/signature-base}/yara"
ASAN_OPTIONS=fast_unwind_on_malloc=0 run product "fuzz/corpus/product"
# the unpackers, seeded with every container fixture (the bombs too: the
# target's limits are small)
if [ "$only" = "  " ] || [[ "$only" == *" unpack "* ]]; then
    if bash tests/fixtures/make_archives.sh "$seeds/archives" >/dev/null 2>&1; then
        mkdir -p "$seeds/unpack"
        find "$seeds/archives" -type f ! -name '*.tsv' ! -name '*.txt' -size -2M -exec cp {} "$seeds/unpack/" \;
    fi
    ASAN_OPTIONS=fast_unwind_on_malloc=0 run unpack "$seeds/unpack"
fi
run names
if [ "$only" = "  " ] || [[ "$only" == *" msi "* ]]; then
    bash tests/fixtures/make_msi_cab.sh "$seeds/msi" >/dev/null 2>&1 || true
    ASAN_OPTIONS=fast_unwind_on_malloc=0 run msi "$seeds/msi"
fi
# the Apple containers: UDIF images, partition maps, HFS+ volumes, asar, pbzx
run udif
run partmap
run hfsplus
run asar
run pbzx
run lzfse
ASAN_OPTIONS=fast_unwind_on_malloc=0 run codesign
run tlsh
run simdb
run multipart
