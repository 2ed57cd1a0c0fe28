#!/usr/bin/env bash
# Libraries loaded on first use (src/util/lazylib.h): the binary does not
# link libarchive, libgsf (GLib), libxml2, libmicrohttpd, Vectorscan or
# libyara; a sweep without archives never loads the first four, a rescan
# the store answers none; a zip loads libarchive and is unpacked. A
# library that is there but unusable (an empty stand-in with its SONAME,
# first on LD_LIBRARY_PATH) is a per-file failure that names it, for
# archives and MSI packages alike, and `serve` refuses to start with the
# reason; the rest of the sweep is unaffected.
# usage: lazylib.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
for t in cc zip jq; do command -v $t > /dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
work=$(mktemp -d /tmp/cs-lazylib-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/fake"
printf 'beacon msstorageazure.com\n' > "$work/c2.txt"
cp "$work/c2.txt" "$work/tree/plain.txt"
(cd "$work" && zip -q tree/inner.zip c2.txt)
msi=
if command -v wixl > /dev/null && command -v msibuild > /dev/null && command -v gcab > /dev/null; then
    bash "$SRC/tests/fixtures/make_msi_cab.sh" "$work/msi" > "$work/msi.log" 2>&1 && msi=$work/msi/app.msi
    [ -f "$msi" ] && cp "$msi" "$work/tree/app.msi" || msi=
fi
pack=(--no-default-packs --pack "$SRC/packs/3cx-2023")

needed=$(ldd "$CS" 2> /dev/null)
libs="libarchive libgsf libglib libxml2 libicuuc libmicrohttpd libgnutls libhs libyara libssl"
# the sanitizers' runtime brings libstdc++ itself
grep -q libasan <<< "$needed" || libs+=" libstdc++"
for lib in $libs; do
    check "not linked: $lib" bash -c "! grep -q '$lib' <<< '$needed'"
done

# a sweep of plain files loads none of them; one with a zip loads libarchive
LD_DEBUG=files "$CS" scan "${pack[@]}" -q "$work/tree/plain.txt" > /dev/null 2> "$work/ld-plain"
check "a sweep of a text file loads no archive, MSI, XML or HTTP library" \
    bash -c "! grep -Eq 'file=(libarchive|libgsf|libxml2|libmicrohttpd)' '$work/ld-plain'"
"$CS" scan "${pack[@]}" -q --state "$work/state.sqlite" "$work/tree/plain.txt" > /dev/null
LD_DEBUG=files "$CS" scan "${pack[@]}" -q --state "$work/state.sqlite" "$work/tree/plain.txt" > /dev/null 2> "$work/ld-rescan"
check "a rescan the store answers loads neither libyara nor Vectorscan" \
    bash -c "! grep -Eq 'file=(libyara|libhs)' '$work/ld-rescan'"
LD_DEBUG=files "$CS" scan "${pack[@]}" --json -q "$work/tree/inner.zip" > "$work/zip.jsonl" 2> "$work/ld-zip"
check "a zip loads libarchive (dlopen) and its member is found" \
    bash -c "grep -q 'file=libarchive.so' '$work/ld-zip' && jq -e -s 'any(.[]; .type == \"finding\" and (.display_path | endswith(\"inner.zip!/c2.txt\")))' '$work/zip.jsonl' > /dev/null"

# unusable stand-ins: an empty shared object under each SONAME
sonames=$(strings "$CS" | grep -E '^lib(archive|gsf-1|xml2|microhttpd|hs|yara|ssl)\.so\.[0-9]+$' | sort -u)
check "the SONAMEs are in the binary ($(echo $sonames))" [ "$(wc -w <<< "$sonames")" -eq 7 ]
printf 'int cs_lazylib_stand_in;\n' > "$work/empty.c"
for so in $sonames; do cc -shared -fPIC -o "$work/fake/$so" "$work/empty.c"; done
# unusable libyara or Vectorscan: the rules cannot be used, the sweep fails loudly
mkdir -p "$work/fake-yara" "$work/fake-hs"
mv "$work"/fake/libyara.so.* "$work/fake-yara/"
mv "$work"/fake/libhs.so.* "$work/fake-hs/"
LD_LIBRARY_PATH=$work/fake-yara "$CS" scan "${pack[@]}" -q "$work/tree/plain.txt" > /dev/null 2> "$work/yara.err"
rc=$?
check "unusable libyara: exit 2 ($rc), the reason named" \
    bash -c "[ $rc -eq 2 ] && grep -q 'YARA: libyara[.]so[.][0-9]*: .*undefined symbol' '$work/yara.err'"
LD_LIBRARY_PATH=$work/fake-hs "$CS" scan "${pack[@]}" -q "$work/tree/plain.txt" > /dev/null 2> "$work/hs.err"
rc=$?
check "unusable Vectorscan: exit 2 ($rc) (the C2 indicators need it), the reason named" \
    bash -c "[ $rc -eq 2 ] && grep -q 'C2 indicators: Vectorscan: libhs[.]so[.][0-9]*: .*undefined symbol' '$work/hs.err'"
LD_LIBRARY_PATH=$work/fake "$CS" scan "${pack[@]}" --json -q "$work/tree" > "$work/fake.jsonl" 2> "$work/fake.err"
rc=$?
check "unusable libarchive: the zip's record says so, naming the library (exit $rc)" \
    jq_true "$work/fake.jsonl" 'any(.[]; (.path // "" | endswith("inner.zip")) and ((.note // .error // "") | test("not unpacked: libarchive[.]so[.][0-9]+: .*undefined symbol")))'
# that verdict depends on the host: not kept in a state store, read again once the library is there
LD_LIBRARY_PATH=$work/fake "$CS" scan "${pack[@]}" --state "$work/lazy.sqlite" --json -q "$work/tree/inner.zip" > /dev/null
"$CS" scan "${pack[@]}" --state "$work/lazy.sqlite" --json -q "$work/tree/inner.zip" > "$work/after.jsonl"
check "a zip not unpacked for want of libarchive is not kept in the store: the next sweep unpacks it" \
    jq_true "$work/after.jsonl" '.[-1].files_cached == 0 and any(.[]; .type == "finding" and (.display_path // "" | endswith("inner.zip!/c2.txt")))'
check "... and the plain file is still found" \
    jq_true "$work/fake.jsonl" 'any(.[]; .type == "finding" and (.path | endswith("plain.txt")))'
if [ -n "$msi" ]; then
    check "unusable libgsf: the MSI's record names the library" \
        jq_true "$work/fake.jsonl" 'any(.[]; (.path // "" | endswith("app.msi")) and (tostring | test("not unpacked: libgsf-1[.]so[.][0-9]+: .*undefined symbol")))'
    "$CS" scan "${pack[@]}" --json -q "$work/tree/app.msi" > "$work/msi.jsonl"
    check "with the real libgsf the MSI is unpacked" jq_true "$work/msi.jsonl" 'any(.[]; (.path // "" | endswith("app.msi")) and .members_read > 0)'
else
    skip_part "wixl, msibuild or gcab missing: the MSI checks"
fi
LD_LIBRARY_PATH=$work/fake "$CS" scan "${pack[@]}" -q --syslog "tls://127.0.0.1:9" "$work/tree/plain.txt" > /dev/null 2> "$work/ssl.err"
rc=$?
check "unusable libssl: a TLS syslog target is refused, exit 2 ($rc), the reason named" \
    bash -c "[ $rc -eq 2 ] && grep -q 'syslog tls: libssl[.]so[.][0-9]*: .*undefined symbol' '$work/ssl.err'"
LD_LIBRARY_PATH=$work/fake timeout 20 "$CS" serve "${pack[@]}" --listen 127.0.0.1 --port 18765 > /dev/null 2> "$work/serve.err"
rc=$?
check "unusable libmicrohttpd: serve exits 2 ($rc) and says why" \
    bash -c "[ $rc -eq 2 ] && grep -q 'libmicrohttpd[.]so[.][0-9]*: .*undefined symbol' '$work/serve.err'"
finish
