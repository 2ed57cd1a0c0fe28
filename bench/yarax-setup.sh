#!/usr/bin/env bash
# Install YARA-X's Node binding for the benchmark (an exact version, its
# tarball checked against the pinned SHA-512 before npm installs it) and print
# the module's path. Needs node and npm (the machine's, or Debian's nodejs and
# npm). Exit 77 when they are missing or the registry is unreachable.
# usage: bench/yarax-setup.sh DIR
set -euo pipefail
dir=$1
pkg=@litko/yara-x-linux-x64-gnu
version=0.7.2                 # embeds yara-x 1.20.0
sha512=Z5IAxSe0FNf90LFLZz8F0WCQVJSsYvXDD9xiW5THBpsg/5WI2toAqNppKO0xv8fq4K26ft+H4X7LZT1SlenZ6g==
module=$dir/node_modules/$pkg
if [ -f "$module/package.json" ] && grep -q "\"version\": \"$version\"" "$module/package.json"; then
  echo "$module"
  exit 0
fi
command -v node > /dev/null && command -v npm > /dev/null || { echo "yara-x: node and npm are not installed" >&2; exit 77; }
mkdir -p "$dir"
tgz=$(cd "$dir" && npm pack --silent "$pkg@$version" 2> /dev/null) || { echo "yara-x: the npm registry is unreachable" >&2; exit 77; }
got=$(openssl dgst -sha512 -binary "$dir/$tgz" | base64 -w0)
[ "$got" = "$sha512" ] || { echo "yara-x: $tgz has SHA-512 $got, expected $sha512" >&2; rm -f "$dir/$tgz"; exit 1; }
(cd "$dir" && npm install --silent --no-audit --no-fund --no-save "./$tgz" > /dev/null)
echo "$module"
