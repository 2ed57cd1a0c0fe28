#!/usr/bin/env bash
# Installable like the tools it sits beside: `cmake --install` into a staging
# directory (binary, static library, headers, pkg-config file, man page,
# packs, systemd unit, examples); a program built against the installed
# library with pkg-config scans a buffer; the installed binary finds its
# bundled packs beside itself; the man page renders without warnings; the
# Debian package (cpack) holds the same files, names its dependencies, apt
# resolves them on this Debian 12 (simulated), and its unpacked binary runs.
# usage: install.sh BUILD_DIR SOURCE_DIR
BUILD=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for t in cc pkg-config groff cpack dpkg-deb; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
work=$(mktemp -d /tmp/cs-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 "$SRC/tests/fixtures/make_fixtures.py" "$work/fx" > /dev/null

DESTDIR="$work/root" cmake --install "$BUILD" > /dev/null
prefix=$(grep -m1 '^CMAKE_INSTALL_PREFIX:' "$BUILD/CMakeCache.txt" | cut -d= -f2)
r=$work/root$prefix
for f in bin/chainsweep include/chainsweep/chainsweep.h include/chainsweep/similarity.h include/chainsweep/service.h \
         share/man/man1/chainsweep.1 share/chainsweep/packs/3cx-2023/signers.txt lib/systemd/system/chainsweep-serve.service \
         share/doc/chainsweep/examples/haproxy.cfg share/doc/chainsweep/examples/Generic.Scanner.Chainsweep.yaml; do
    check "installed: $f" [ -e "$r/$f" ]
done
pc=$(find "$r" -name chainsweep.pc | head -1)
check "installed: libchainsweep.a and chainsweep.pc" bash -c "[ -n '$pc' ] && ls '$r'/lib*/libchainsweep.a '$r'/lib/*/libchainsweep.a 2>/dev/null | grep -q ."
check "systemd unit: the installed binary's path" grep -q "^ExecStart=$prefix/bin/chainsweep serve" "$r/lib/systemd/system/chainsweep-serve.service"

# a program against the installed library
cat > "$work/use.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <chainsweep/chainsweep.h>
static int on(const cs_result *r, void *ud) { if (r->n_reasons) ++*(int *)ud; return 0; }
int main(int argc, char **argv)
{
    cs_config cfg = CS_CONFIG_INIT;
    cs_engine *e; cs_scanner *s; cs_error err; int hits = 0;
    if (argc < 2 || cs_engine_new(&e, &cfg, &err) || cs_engine_load_pack(e, argv[1], &err) ||
        cs_engine_prepare(e, &err) || cs_scanner_new(e, &s, &err)) { fprintf(stderr, "%s\n", err.message); return 2; }
    static const char sample[] = "MZ... 3jB(2bsG#@c7 ...";
    if (cs_scanner_scan_buffer(s, sample, sizeof sample - 1, "ffmpeg.dll", on, &hits, &err)) return 2;
    printf("%s %d\n", cs_engine_yara_version(), hits);
    cs_scanner_free(s); cs_engine_free(e);
    return 0;
}
EOF
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-prefix --cflags --libs chainsweep 2> "$work/pc.err")
check "pkg-config: flags for chainsweep ($(cat "$work/pc.err"))" [ -n "$flags" ]
sanitize=$(grep -m1 '^CS_SANITIZE:' "$BUILD/CMakeCache.txt" | cut -d= -f2)
san=
[ "$sanitize" = ON ] && san="-fsanitize=address,undefined" # a sanitized library needs its runtime
# shellcheck disable=SC2086
cc $san -o "$work/use" "$work/use.c" $flags 2> "$work/cc.err"
check "a program builds against the installed library ($(head -c 300 "$work/cc.err"))" [ -x "$work/use" ]
check "and scans with it" bash -c "'$work/use' '$SRC/packs/3cx-2023' | grep -Eq '^[0-9.]+ [1-9]'"

# the installed binary: its bundled packs beside it
env -u CHAINSWEEP_PACKS "$r/bin/chainsweep" scan -q "$work/fx" > "$work/scan.out" 2>&1
check "installed binary: finds its bundled packs (exit 1, findings)" [ $? -eq 1 ]

# the man page
check "man page: renders without warnings" bash -c "[ -z \"\$(groff -man -Tutf8 -ww -z '$SRC/docs/chainsweep.1' 2>&1)\" ]"

# the Debian package
if [ "$sanitize" = ON ]; then
    echo "(the sanitizer build is not packaged)"
else
    (cd "$BUILD" && cpack -G DEB -B "$work/deb" > "$work/cpack.log" 2>&1)
    deb=$(ls "$work"/deb/chainsweep_*.deb 2>/dev/null | head -1)
    check "deb: built ($(tail -2 "$work/cpack.log" | tr '\n' ' '))" [ -n "$deb" ]
    deps=$(dpkg-deb -f "$deb" Depends)
    echo "deb: $(basename "$deb"): Depends: $deps"
    for lib in libyara libssl libjansson libsqlite3 libarchive libmicrohttpd libgsf libplist libxml2; do
        check "deb: depends on $lib" grep -q "$lib" <<< "$deps"
    done
    dpkg-deb -c "$deb" > "$work/deb.list"
    for f in ./usr/bin/chainsweep ./usr/share/chainsweep/packs/3cx-2023/signers.txt ./usr/lib/systemd/system/chainsweep-serve.service ./usr/share/man/man1/chainsweep.1; do
        check "deb: holds $f" grep -q " $f\$" "$work/deb.list"
    done
    if command -v apt-get > /dev/null; then
        check "deb: apt resolves its dependencies on this system (simulated install)" \
            bash -c "apt-get install -s '$deb' > '$work/apt.log' 2>&1"
    fi
    dpkg-deb -x "$deb" "$work/unpacked"
    env -u CHAINSWEEP_PACKS "$work/unpacked/usr/bin/chainsweep" scan -q "$work/fx" > /dev/null 2>&1
    check "deb: its binary runs with its packs (exit 1, findings)" [ $? -eq 1 ]
fi
finish
