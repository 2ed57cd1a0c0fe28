#!/usr/bin/env bash
# Install the Debian packages chainsweep needs to build and test, when missing.
# Usage: scripts/deps.sh [build|test|fuzz|bench|package]   (default: test)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libyara-dev libssl-dev libsqlite3-dev libarchive-dev
            libvectorscan-dev libpcre2-dev libjansson-dev libplist-dev libgsf-1-dev
            zlib1g-dev libbz2-dev liblzma-dev libxml2-dev libmicrohttpd-dev)
test_pkgs=(libcmocka-dev jq yara python3 python3-jsonschema wixl msitools util-linux openssl osslsigncode gcc-mingw-w64-x86-64
           zip unzip 7zip gcab xorriso zstd lz4 cpio libarchive-tools nsis clang lld-14 llvm-14 dmg2img python3-asn1crypto tlsh-tools curl haproxy python3-yaml dpkg-dev strace)
fuzz_pkgs=(clang libclang-rt-14-dev)
bench_pkgs=(yara clamav gnuplot-nox time jq tlsh-tools)

want=("${build_pkgs[@]}")
case "${1:-test}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}") ;;
  fuzz)  want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  bench) want+=("${bench_pkgs[@]}")
         # YARA-X's Node binding (bench/yarax-setup.sh): any node will do
         command -v node > /dev/null && command -v npm > /dev/null || want+=(nodejs npm) ;;
  package) want+=(dpkg-dev) ;;
  *) echo "usage: $0 [build|test|fuzz|bench|package]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "chainsweep: missing Debian packages: ${missing[*]}" >&2
  echo "run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "chainsweep: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
