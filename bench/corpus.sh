#!/usr/bin/env bash
# Build the benchmark corpus: a fixed list of Debian packages unpacked with
# apt-get download + dpkg -x, so every run and machine scans the same bytes.
# usage: bench/corpus.sh DIR    (prints the corpus path, file count, bytes)
set -euo pipefail
dir=${1:?usage: corpus.sh DIR}
packages=(
  libwine                 # Windows PE DLLs and EXEs (wine's builtins)
  grub-efi-amd64-signed   # Authenticode-signed EFI binaries
  shim-signed
  fwupd-amd64-signed
  libllvm14               # one large ELF library
  libicu72                # ELF libraries with a large data blob
)
mkdir -p "$dir/debs" "$dir/corpus"
if [ ! -f "$dir/.complete" ]; then
  (cd "$dir/debs" && apt-get download "${packages[@]}" >&2)
  for d in "$dir"/debs/*.deb; do
    n=$(basename "${d%%_*}")
    mkdir -p "$dir/corpus/$n"
    dpkg -x "$d" "$dir/corpus/$n"
  done
  touch "$dir/.complete"
fi
files=$(find "$dir/corpus" -type f | wc -l)
bytes=$(find "$dir/corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "$dir/corpus $files $bytes"
