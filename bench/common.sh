# Sourced by every bench script: the settings and helpers all rows share.
# Leaves the shell in the source tree (src), strict mode on.
set -euo pipefail
# every run names its packs: the bundled ones are not added behind its back
export CHAINSWEEP_PACKS=
cd "$(dirname "$0")/.."
src=$(pwd)
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/chainsweep-bench}
THREADS=${THREADS:-$(nproc)}
REPS=${REPS:-3}
# the median of the numbers on standard input (separated by spaces or lines)
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
