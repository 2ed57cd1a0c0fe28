#!/usr/bin/env bash
# Check the layering of src/ and cli/: every #include "..." may point only to
# its own layer or a lower one (include/chainsweep/, the public API, is open
# to all), and never to a sibling its layer forbids.
#
#   6 cli/    5 report/    4 engine/    3 store/ walk/ detect/ unpack/
#   2 view/   1 format/    0 util/
#
# Within layer 3: detect/ and unpack/ must not include store/ or walk/, and
# store/ and walk/ must not include each other.
#
# usage: scripts/check-layers.sh [SOURCE_DIR]   (default: this script's repo)
# Prints each violation as "FILE: includes X (layer A -> layer B)" and exits
# 1 if there is any, or any file or include in a directory the table does
# not know; 0 otherwise.
set -u

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root" || { echo "check-layers: cannot enter $root" >&2; exit 2; }
[ -d src ] || { echo "check-layers: $root has no src/" >&2; exit 2; }

declare -A layer=(
    [cli]=6 [report]=5 [engine]=4
    [store]=3 [walk]=3 [detect]=3 [unpack]=3
    [view]=2 [format]=1 [util]=0
    [public]=any
)
# Sideways includes that are forbidden though the layers are equal.
declare -A forbidden=(
    [detect:store]=1 [detect:walk]=1 [unpack:store]=1 [unpack:walk]=1
    [store:walk]=1 [walk:store]=1
)

# The module of a repository path: cli, public, or src/<module>/...
module_of() {
    case $1 in
        cli/*) echo cli ;;
        include/chainsweep/*) echo public ;;
        src/*/*) local m=${1#src/}; echo "${m%%/*}" ;;
        *) echo "?" ;;
    esac
}

# Where the compiler finds a quoted include: next to the including file,
# then in src/ and include/ (the library's include directories).
resolve() {
    local from_dir=$1 inc=$2 d
    for d in "$from_dir" src include; do
        if [ -f "$d/$inc" ]; then
            realpath -ms --relative-to=. "$d/$inc"
            return 0
        fi
    done
    return 1
}

status=0
while IFS= read -r -d '' file; do
    from=$(module_of "$file")
    if [ -z "${layer[$from]+x}" ]; then
        echo "$file: in $(dirname "$file")/, a directory with no layer"
        status=1
        continue
    fi
    while IFS= read -r inc; do
        if ! target=$(resolve "$(dirname "$file")" "$inc"); then
            echo "$file: includes $inc, which is not found in src/ or include/"
            status=1
            continue
        fi
        to=$(module_of "$target")
        [ "$to" = public ] && continue
        if [ -z "${layer[$to]+x}" ]; then
            echo "$file: includes $inc, in $(dirname "$target")/, a directory with no layer"
            status=1
            continue
        fi
        [ "$to" = "$from" ] && continue
        a=${layer[$from]} b=${layer[$to]}
        if [ "$b" -gt "$a" ] || { [ "$b" -eq "$a" ] && [ -n "${forbidden[$from:$to]+x}" ]; }; then
            echo "$file: includes $inc (layer $a $from -> layer $b $to)"
            status=1
        fi
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "$file")
done < <(find src cli -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

exit $status
