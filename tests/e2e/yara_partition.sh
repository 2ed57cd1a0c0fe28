#!/usr/bin/env bash
# The per-file-class YARA rule sets must be lossless: on files of every class
# and size tier, with rules using every guard form (and traps that must not be
# taken for guards), the (file, rule) matches equal those of one rule set and
# those of plain yara. Also checks the compiled-set cache.
# usage: yara_partition.sh CHAINSWEEP SOURCE_DIR
CS=$1
SRC=$2
. "$SRC/tests/e2e/lib.sh"
work=$(mktemp -d /tmp/cs-part-XXXXXX)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/rules" "$work/tree" "$work/global" "$work/cache"
cat > "$work/rules/guards.yar" <<'YAR'
import "pe"
rule g_mz { strings: $s = "CSMARK" condition: uint16(0) == 0x5a4d and $s }
rule g_mz_upper { strings: $s = "CSMARK" condition: ( uint16(0) == 0x5A4D and filesize < 2MB ) and $s }
rule g_mz_be { strings: $s = "CSMARK" condition: uint16be(0) == 0x4d5a and $s }
rule g_elf { strings: $s = "CSMARK" condition: uint32(0) == 0x464c457f and $s }
rule g_elf16 { strings: $s = "CSMARK" condition: uint16(0) == 0x457f and $s }
rule g_macho { strings: $s = "CSMARK" condition: uint32(0) == 0xfeedfacf and $s }
rule g_m8 { strings: $s = "CSMARK" condition: uint8(0) == 0x4d and $s }
rule g_small { strings: $s = "CSMARK" condition: filesize < 1MB and $s }
rule g_small_le { strings: $s = "CSMARK" condition: filesize <= 2097152 and $s }
rule g_mz_3mb { strings: $s = "CSMARK" condition: filesize < 3MB and uint16(0) == 0x5a4d and $s }
rule g_512 { strings: $s = "CSMARK" condition: filesize < 512KB and $s }
rule g_512_le { strings: $s = "CSMARK" condition: filesize <= 524288 and $s }
rule g_or_cap { strings: $s = "CSMARK" condition: $s and (filesize < 100 or (filesize < 524289 and true)) }
rule t_or_uncapped { strings: $s = "CSMARK" condition: $s and (filesize < 100 or $s) }
rule c_alpha { strings: $a = "chainsweep-candidate-alpha" condition: $a }
rule c_named_public { strings: $a = "chainsweep-candidate-beta" condition: $a }
rule c_names { strings: $a = "chainsweep-candidate-gamma" condition: $a and c_named_public }
rule lean_names { condition: filesize > 0 and c_named_public }
private rule p_strong { strings: $a = "chainsweep-candidate-delta" condition: $a }
rule c_uses_private { strings: $b = "chainsweep-candidate-epsilon" condition: $b and p_strong }
rule c_pe { strings: $a = "chainsweep-candidate-zeta" condition: $a and (pe.number_of_sections >= 0 or true) }
rule c_mz_only { strings: $a = "chainsweep-candidate-eta" condition: uint16(0) == 0x5a4d and $a }
rule t_or { strings: $s = "CSMARK" condition: uint16(0) == 0x5a4d and $s or filesize > 0 }
rule t_not { strings: $s = "CSMARK" condition: not uint16(0) == 0x5a4d and $s }
rule t_ne { strings: $s = "CSMARK" condition: uint16(0) != 0x5a4d and $s }
rule t_group_or { strings: $s = "CSMARK" condition: (uint16(0) == 0x5a4d or uint32(0) == 0x464c457f) and $s }
rule t_string_and { strings: $s = "CSMARK" $t = "x and uint16(0) == 0x5a4d and y" condition: $s or $t }
rule t_regex { strings: $r = /CS{1}MARK[}{]?/ $h = { 43 53 4D 41 52 4B } condition: uint16(0) == 0x5a4d and ($r or $h) }
private rule p_mz { condition: uint16(0) == 0x5a4d }
rule uses_private { strings: $s = "CSMARK" condition: p_mz and $s }
rule referenced_guarded { strings: $s = "CSMARK" condition: uint32(0) == 0x464c457f and $s }
rule referrer { condition: referenced_guarded or filesize == 7 }
rule unguarded { strings: $s = "CSMARK" condition: $s }
rule with_pe { condition: pe.number_of_sections >= 0 and uint16(0) == 0x5a4d and filesize < 10KB }
rule e_zero { condition: filesize == 0 }
rule e_none { strings: $s = "CSMARK" condition: none of them }
rule e_not { strings: $s = "CSMARK" condition: not $s }
rule e_zero_of { strings: $s = "CSMARK" condition: 0 of them }
rule e_any { strings: $s = "CSMARK" condition: any of them and filesize < 100 }
rule e_one { strings: $s = "CSMARK" $t = "nomatch" condition: 1 of ($s, $t) }
rule e_all { strings: $s = "CSMARK" condition: all of them }
rule e_at { strings: $s = "CSMARK" condition: $s at 1 }
rule e_ge1 { condition: filesize >= 1 and filesize < 5 }
rule e_gt0 { condition: filesize > 0 and filesize < 2 }
rule e_or { strings: $a = "CSMARK" $b = "zzz" condition: ($a and filesize < 100) or $b }
rule e_or_empty { strings: $a = "CSMARK" condition: $a or filesize == 0 }
rule e_or_not { strings: $a = "CSMARK" condition: $a or not $a }
rule e_nested { strings: $a = "CSMARK" $b = "zzz" condition: (($a or $b) and (filesize < 100 or $b)) }
rule e_str_or { strings: $a = "CSMARK" condition: $a or "or" == "or" }
rule u_ne { condition: uint16(0) != 0x5a4d }
rule u_not { condition: not (uint16(0) == 0x5a4d) }
rule u_off { condition: uint32(4) == 0x52414d53 }
rule u_paren_or { condition: (uint16(0) == 0x5a4d or filesize == 0) }
rule pe_is0 { condition: pe.is_pe == 0 }
rule pe_notexp { condition: not pe.exports("x") }
rule pe_const { condition: pe.MACHINE_I386 == 0x14c and filesize < 10 }
rule pe_forall { condition: for all i in (0..pe.number_of_sections - 1): (pe.sections[i].name == "x") }
rule pe_forany_or { condition: for any i in (0..pe.number_of_signatures - 1): (pe.signatures[i].subject contains "a" or true) }
rule pe_nsec_or { condition: pe.number_of_sections == 0 or filesize == 0 }
rule pe_paren_or { condition: (pe.number_of_sections == 0 or filesize == 0) and filesize < 5 }
rule pe_str { condition: "pe.timestamp" == "pe.timestamp" and filesize < 2 }
private rule p_small { condition: filesize > 0 and filesize < 3 }
rule ref_not { condition: not p_small and filesize < 2 }
private rule p_a { condition: uint16(0) == 0x5a4d }
private rule p_b { condition: p_a or filesize == 0 }
rule ref_chain { condition: not p_b and filesize < 2 }
/* a comment with rule fake { condition: true } and "quotes */
rule after_comment { strings: $s = "CSMARK" // trailing comment }
    condition: uint16(0) == 0x5a4d and $s }
YAR
cat > "$work/global/global.yar" <<'YAR'
global rule only_mz { condition: uint16(0) == 0x5a4d }
rule in_global_file { strings: $s = "CSMARK" condition: $s }
YAR
for i in $(seq 1 70); do
    printf 'rule c_many_%d { strings: $a = "chainsweep-many-literal-%03d" condition: $a }\n' "$i" "$i"
done > "$work/rules/many.yar"
python3 - "$work/tree" <<'PY'
import os, sys
out = sys.argv[1]
mark = b" CSMARK "
files = {
    "mz_small": b"MZ" + mark,
    "mz_big": b"MZ" + mark + b"\0" * (3 * 1024 * 1024),
    "mz_2mb": b"MZ" + mark + b"\0" * (2 * 1024 * 1024 - 10),
    "mz_512k_less1": b"MZ" + mark + b"\0" * (512 * 1024 - 1 - 10),
    "mz_512k": b"MZ" + mark + b"\0" * (512 * 1024 - 10),
    "text_512k_plus1": b"plain" + mark + b"\0" * (512 * 1024 + 1 - 13),
    "elf_small": b"\x7fELF" + mark,
    "elf_big": b"\x7fELF" + mark + b"\0" * (3 * 1024 * 1024),
    "elf16_only": b"\x7fEXX" + mark,
    "macho": b"\xcf\xfa\xed\xfe" + mark,
    "m_not_mz": b"MQ" + mark,
    "mz_short": b"M",
    "text": b"plain" + mark,
    "text_big": b"plain" + mark + b"\0" * (3 * 1024 * 1024),
    "seven__": b"1234567",
    "empty": b"",
    "one": b"x",
    "le_limit": b"pl" + mark + b"\0" * (2097152 - 10),
    # candidate sets: a literal's rules, what they name, private ones, a module
    "cand_alpha": b"MZ chainsweep-candidate-alpha ",
    "cand_beta_gamma": b"text chainsweep-candidate-beta chainsweep-candidate-gamma",
    "cand_gamma_only": b"text chainsweep-candidate-gamma",
    "cand_private": b"x chainsweep-candidate-delta chainsweep-candidate-epsilon",
    "cand_epsilon_only": b"x chainsweep-candidate-epsilon",
    "cand_pe": b"MZ chainsweep-candidate-zeta",
    "cand_eta_text": b"text chainsweep-candidate-eta",
    "cand_eta_mz": b"MZ chainsweep-candidate-eta",
    # more candidates than a candidate set takes (64): the full set
    "many_all": b" ".join(b"chainsweep-many-literal-%03d" % i for i in range(1, 71)),
    "many_three": b"chainsweep-many-literal-001 chainsweep-many-literal-035 chainsweep-many-literal-070",
}
for n, d in files.items():
    open(os.path.join(out, n), "wb").write(d)
PY
repeats() { jq -r 'select(.type == "finding") | .path as $p | .reasons[] | select(.detector == "yara") | "\($p)\t\(.rule)"' "$1" | sort | uniq -d; }
pairs() { jq -r 'select(.type == "finding") | .path as $p | .reasons[] | select(.detector == "yara") | "\($p | split("/") | last)\t\(.rule)"' "$1" | sort -u; }
for rules in rules global; do
    "$CS" scan --pack "$work/$rules" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" > "$work/part.jsonl"
    "$CS" scan --pack "$work/$rules" --detectors yara --json -q --max-size 16M --no-yara-partition --no-cache "$work/tree" > "$work/one.jsonl"
    yara -w -r "$work/$rules"/*.yar "$work/tree" | awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u > "$work/yara.pairs"
    pairs "$work/part.jsonl" > "$work/part.pairs"
    pairs "$work/one.jsonl" > "$work/one.pairs"
    check "$rules: partitioned == one set ($(wc -l < "$work/one.pairs") pairs)" diff "$work/part.pairs" "$work/one.pairs"
    check "$rules: partitioned == yara" diff "$work/part.pairs" "$work/yara.pairs"
    check "$rules: no rule reported twice for a file" test -z "$(repeats "$work/part.jsonl")"
    cp "$work/one.pairs" "$work/$rules.one.pairs"
    cp "$work/part.pairs" "$work/$rules.part.pairs"
done
check "guards were used" jq_true <("$CS" scan --pack "$work/rules" --detectors yara --json -q --no-cache "$work/tree/text") '.[-1].loaded.yara_rules_guarded >= 10'
"$CS" scan --pack "$work/rules" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" > /dev/null
check "compiled sets cached" bash -c "ls '$work/cache'/yara-*.yarc >/dev/null"
# candidate sets ran (a set that does not build falls back to the full one,
# silently: its file in the cache shows it was built) and found what yara finds
check "candidate sets built and cached" bash -c "ls '$work/cache'/yara-*-99-*.yarc >/dev/null"
for want in "cand_beta_gamma	c_names" "cand_beta_gamma	c_named_public" "cand_beta_gamma	lean_names" \
    "cand_private	c_uses_private" "cand_pe	c_pe" "cand_eta_mz	c_mz_only" "many_three	c_many_35" "many_all	c_many_70"; do
    check "matched: $want" grep -qxF "$want" "$work/rules.part.pairs"
done
check "a private rule named by a candidate is not reported" bash -c "! grep -q p_strong '$work/rules.part.pairs'"
# two threads building and using the same candidate sets at once (a set
# was once saved while the other thread scanned with it: libyara's save
# rewrites the set's pointers): 300 candidate rules, each naming one large (800 strings)
# private rule, two files per literal, a fresh cache; exactly yara's matches
mkdir -p "$work/conc" "$work/conc-tree" "$work/conc-cache"
python3 - "$work/conc/conc.yar" "$work/conc-tree" <<'PY'
import os, sys
rules, tree = sys.argv[1], sys.argv[2]
with open(rules, "w") as f:
    f.write("private rule p_big {\n strings:\n")
    for i in range(800):
        f.write('  $b%d = "chainsweep-big-private-string-%04d"\n' % (i, i))
    f.write(" condition: any of them\n}\n")
    f.write("rule g_mz_conc { condition: uint16(0) == 0x5a4d }\n")  # a guard: the sets are partitioned
    for i in range(300):
        f.write('rule c_conc_%d { strings: $a = "chainsweep-concurrent-literal-%03d" condition: $a and p_big }\n' % (i, i))
for i in range(600):
    with open(os.path.join(tree, "f%03d" % i), "wb") as f:
        f.write(b"x chainsweep-concurrent-literal-%03d chainsweep-big-private-string-0007 " % (i // 2))
PY
"$CS" scan --pack "$work/conc" --detectors yara --json -q -p 2 --cache-dir "$work/conc-cache" "$work/conc-tree" > "$work/conc.jsonl"
check "two threads on shared candidate sets: the sweep ends (exit 1)" test $? = 1
pairs "$work/conc.jsonl" > "$work/conc.pairs"
yara -w -r "$work/conc/conc.yar" "$work/conc-tree" | awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u > "$work/conc.yara"
check "two threads on shared candidate sets: yara's 600 matches" bash -c "[ \$(wc -l < '$work/conc.pairs') = 600 ] && diff '$work/conc.pairs' '$work/conc.yara'"
check "their sets cached" test "$(ls "$work/conc-cache" | grep -c -- '-99-')" = 300

# one file, one candidate set: its file in a fresh cache shows that it was
# built (a rule named, a private rule, a module import: each must compile)
for f in cand_beta_gamma cand_private cand_pe; do
    rm -rf "$work/kcache" && mkdir "$work/kcache"
    "$CS" scan --pack "$work/rules" --detectors yara --json -q --cache-dir "$work/kcache" "$work/tree/$f" > /dev/null
    check "$f: its candidate set was built" test "$(ls "$work/kcache" | grep -c -- '-99-')" = 1
done
check "many_all: all 70 rules (the full set)" test "$(grep -c '^many_all	c_many_' "$work/rules.part.pairs")" = 70
"$CS" scan --pack "$work/rules" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" > "$work/cached.jsonl"
pairs "$work/cached.jsonl" > "$work/cached.pairs"
check "sets loaded from the cache, same matches" diff "$work/cached.pairs" "$work/rules.one.pairs"
n_rules=$("$CS" scan --pack "$work/rules" --detectors yara --json -q --no-cache "$work/tree/text" | jq -s '.[-1].loaded.yara_rules')
check "a warm cache counts the same rules ($n_rules)" jq_true "$work/cached.jsonl" ".[-1].loaded.yara_rules == $n_rules"
# a broken rule file is never cached over: it is diagnosed on every run
mkdir -p "$work/broken"
cp "$work/rules/guards.yar" "$work/broken/"
printf 'rule broken { condition: no_such_identifier }\n' > "$work/broken/broken.yar"
for run in 1 2; do
    "$CS" scan --pack "$work/broken" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" \
        > "$work/broken.jsonl" 2> "$work/broken.err"
    check "broken rule file diagnosed (run $run)" grep -q "broken.yar: rule file skipped" "$work/broken.err"
    check "good files kept (run $run)" jq_true "$work/broken.jsonl" '.[-1].loaded.yara_files_skipped == 1 and .[-1].loaded.yara_rules > 10'
done
# a mark that says the files compile when they do not (as after a libyara
# upgrade): the files are checked again, the broken one dropped, the mark goes
rm -rf "$work/stale-cache" && mkdir "$work/stale-cache"
"$CS" scan --pack "$work/broken" --detectors yara --json -q --max-size 16M --cache-dir "$work/stale-cache" "$work/tree" > /dev/null 2>&1
check "no compile mark while a file does not compile" bash -c "! ls '$work/stale-cache' | grep -q -- '-compiles\.ok$'"
stale_key=$(ls "$work/stale-cache" | sed -n 's/^yara-\([0-9a-f]\{32\}\)-literals-.*/\1/p' | head -1)
check "the broken set's key, from its literal database ($stale_key)" test -n "$stale_key"
: > "$work/stale-cache/yara-$stale_key-compiles.ok"
"$CS" scan --pack "$work/broken" --detectors yara --json -q --max-size 16M --cache-dir "$work/stale-cache" "$work/tree" \
    > "$work/stale.jsonl" 2> "$work/stale.err"
check "a stale compile mark: the broken file diagnosed" grep -q "broken.yar: rule file skipped" "$work/stale.err"
check "a stale compile mark: the good files kept" jq_true "$work/stale.jsonl" '.[-1].loaded.yara_files_skipped == 1 and .[-1].loaded.yara_rules > 10'
check "a stale compile mark: the same matches" diff <(pairs "$work/stale.jsonl") <(pairs "$work/broken.jsonl")
check "a stale compile mark is removed" test ! -e "$work/stale-cache/yara-$stale_key-compiles.ok"
# included files are not in the cache key: rule sets with includes are never cached
mkdir -p "$work/incl"
printf 'include "inc.txt"\nrule outer { condition: uint16(0) == 0x5a4d and inner }\n' > "$work/incl/main.yar"
printf 'rule inner { strings: $s = "CSMARK" condition: $s }\n' > "$work/incl/inc.txt"
printf 'rule other_mz { condition: uint16(0) == 0x5a4d }\n' > "$work/incl/guarded.yar" # partitioning on
"$CS" scan --pack "$work/incl" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" > "$work/incl1.jsonl"
printf 'rule inner { strings: $s = "NOT-IN-ANY-FILE" condition: $s }\n' > "$work/incl/inc.txt"
"$CS" scan --pack "$work/incl" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" > "$work/incl2.jsonl"
check "included rules match before the change" grep -q '"rule":"inner"' "$work/incl1.jsonl"
# (and the scan ran: its summary is there, so the negative grep cannot pass on an empty file)
check "a changed included file is seen with the cache on" bash -c "jq -e -s '.[-1].type == \"summary\"' '$work/incl2.jsonl' > /dev/null && ! grep -q '\"rule\":\"inner\"' '$work/incl2.jsonl'"
for f in "$work/cache"/yara-*.yarc; do printf 'garbage' > "$f"; done
"$CS" scan --pack "$work/rules" --detectors yara --json -q --max-size 16M --cache-dir "$work/cache" "$work/tree" > "$work/part2.jsonl"
pairs "$work/part2.jsonl" > "$work/part2.pairs"
check "corrupt cache files are recompiled, same matches" diff "$work/part2.pairs" "$work/rules.one.pairs"
# the cache keeps the 8 most recent rule versions, also when they are written within one second
mkdir -p "$work/prune-cache" "$work/prune-rules"
for v in $(seq 1 12); do
    printf 'rule v%d { strings: $a = "version %d marker" condition: uint16(0) == 0x5a4d and $a }\n' "$v" "$v" > "$work/prune-rules/r.yar"
    "$CS" scan --pack "$work/prune-rules" --detectors yara -q --json --cache-dir "$work/prune-cache" "$work/prune-rules" > /dev/null
done
versions=$(ls "$work/prune-cache" | grep -o '^yara-[0-9a-f]*' | sort -u | wc -l)
check "12 rule versions in quick succession: 8 kept in the cache (got $versions)" [ "$versions" -eq 8 ]

# -- the literal prefilter: rules that need a literal are left out of the lean
# set a file without any of their literals is scanned with; matches must equal
# one rule set's (no prefilter) and plain yara's, for every encoding a literal
# can take (wide, nocase, xor, base64, hex, regex) and the traps of
# tests/unit/test_yara_literals.c
mkdir -p "$work/pf" "$work/pftree" "$work/pfcache"
cat > "$work/pf/prefilter.yar" <<'YAR'
import "pe"
rule pf_plain { strings: $a = "PFMARK-plain" condition: $a }
rule pf_wide { strings: $a = "PFMARK-wide" wide condition: $a }
rule pf_nocase { strings: $a = "PFMARK-nocase" nocase condition: $a }
rule pf_xor { strings: $a = "PFMARK-xor" xor condition: $a }
rule pf_xor_range { strings: $a = "PFMARK-xrange" xor(0x20-0x30) condition: $a }
rule pf_b64 { strings: $a = "PFMARK-base64!" base64 condition: $a }
rule pf_b64w { strings: $a = "PFMARK-base64w" base64wide condition: $a }
rule pf_hex { strings: $h = { 50 46 4D 41 52 4B 2D 68 ?? 78 [1-3] 41 42 43 44 45 } condition: $h }
rule pf_regex { strings: $r = /PFMARK-re+gex[0-9]{2}(a|b)/ condition: $r }
rule pf_regex_alt { strings: $r = /PFMARK-alt-one|PFMARK-alt-two/ condition: $r }
rule pf_two_of { strings: $a = "PFMARK-two-a" $b = "PFMARK-two-b" $c = "PFMARK-two-c" condition: 2 of them }
rule pf_all { strings: $a = "PFMARK-all-a" $b = "PFMARK-all-b" condition: all of them }
rule pf_count { strings: $a = "PFMARK-count" condition: #a > 1 }
rule pf_at { strings: $a = "PFMARK-at" condition: $a at 0 }
rule pf_not { strings: $a = "PFMARK-not" condition: not $a and filesize < 100 }
rule pf_or { strings: $a = "PFMARK-or" condition: $a or filesize == 3 }
rule pf_none { strings: $a = "PFMARK-none" condition: none of them and filesize < 10 }
rule pf_zero { strings: $a = "PFMARK-zero" condition: #a == 0 and filesize < 10 }
rule pf_loop { strings: $a = "PFMARK" condition: for any i in (1..#a) : ( @a[i] >= 0 ) }
private rule pf_priv { strings: $a = "PFMARK-private" condition: $a }
rule pf_uses_priv { condition: pf_priv and filesize < 1000 }
rule pf_named_by_always { strings: $a = "PFMARK-named" condition: $a }
rule pf_namer { condition: pf_named_by_always or filesize == 4 }
rule pf_short { strings: $a = "PF" condition: $a and filesize < 50 }
rule pf_nul_lead { strings: $h = { 00 00 00 00 50 46 4E 55 4C } condition: $h }
rule pf_loop_any { strings: $a = "PFMARK-loopany" condition: for 1 i in (1..#a) : ( true ) }
rule pf_loop_body { strings: $a = "PFMARK-lb" $b = "PFMARK-loopbody" condition: for any i in (1..#a) : ( $b at @a[i] + 10 ) }
rule pf_loop_zero { strings: $a = "PFMARK-lz" condition: for any i in (0..#a) : ( i == 0 ) and filesize < 10 }
rule pf_offset { strings: $a = "PFMARK-offset" condition: @a[1] != 12345 }
rule pf_length { strings: $a = /PFMARK-len[0-9]+/ condition: !a[1] > 12 }
rule pf_name { strings: $s = "PFMARK-notthere" condition: filename == "named-file.bin" and not $s }
rule pf_iname { condition: filename iequals "NAMED-CASE.BIN" and filesize > 0 }
rule pf_name_trap { condition: filename != "xyz" and filesize < 5 }
YAR
python3 - "$work/pftree" <<'PY'
import base64, os, sys
out = sys.argv[1]
def xor(b, k): return bytes(c ^ k for c in b)
def wide(b): return b"".join(bytes([c, 0]) for c in b)
files = {
    "plain": b"x PFMARK-plain y",
    "wide": b"x " + wide(b"PFMARK-wide") + b" y",
    "nocase": b"x pfmark-NOCASE y",
    "xor": b"x " + xor(b"PFMARK-xor", 0x5a) + b" y",
    "xor0": b"x PFMARK-xor y",
    "xrange_in": b"x " + xor(b"PFMARK-xrange", 0x25) + b" y",
    "xrange_out": b"x " + xor(b"PFMARK-xrange", 0x55) + b" y",
    "b64_0": b"x " + base64.b64encode(b"PFMARK-base64!") + b" y",
    "b64_1": b"x " + base64.b64encode(b"a" + b"PFMARK-base64!" + b"bc") + b" y",
    "b64_2": b"x " + base64.b64encode(b"ab" + b"PFMARK-base64!") + b" y",
    "b64w": b"x " + wide(base64.b64encode(b"q" + b"PFMARK-base64w")) + b" y",
    "hex": b"x PFMARK-h\x01x\x02\x03ABCDE y",
    "regex": b"x PFMARK-reeegex42b y",
    "regex_alt": b"x PFMARK-alt-two y",
    "two_of": b"PFMARK-two-a PFMARK-two-c",
    "one_of_two": b"PFMARK-two-b only",
    "all": b"PFMARK-all-a PFMARK-all-b",
    "count": b"PFMARK-count PFMARK-count",
    "at": b"PFMARK-at here",
    "not": b"nothing here",
    "or3": b"abc",
    "priv": b"PFMARK-private",
    "named": b"PFMARK-named",
    "four": b"abcd",
    "short": b"xx PF yy",
    "nul_lead": b"\0\0\0\0PFNUL",
    "nul_tail": b"PFNUL",
    "loop": b"PFMARK",
    "loop_any": b"x PFMARK-loopany",
    "loop_body": b"PFMARK-lb PFMARK-loopbody",
    "offset": b"xx PFMARK-offset",
    "length": b"PFMARK-len12345",
    "named-file.bin": b"a file found by its name",
    "named-case.bin": b"another one",
    "empty": b"",
}
for n, d in files.items():
    open(os.path.join(out, n), "wb").write(d)
PY
# real PE files: each one's import hash, as libyara computes it, must be ours
# (a rule "pe.imphash() == H" is a prefilter key)
pes=$(ls /usr/lib/gcc/x86_64-w64-mingw32/*/*.dll /usr/x86_64-w64-mingw32/lib/*.dll 2>/dev/null | head -12)
if [ -n "$pes" ]; then
    mkdir -p "$work/pe-any"
    printf 'rule any_mz { condition: uint16(0) == 0x5a4d }\n' > "$work/pe-any/any.yar"
    for f in $pes; do cp "$f" "$work/pftree/"; done
    # signers' serial numbers are literals of the file (its certificate, in
    # DER): one signed with a serial whose DER has a leading 00, one without
    if command -v osslsigncode > /dev/null; then
        first=$(echo "$pes" | head -1)
        for serial in 1b6611df9c9a4d6ecc8ed50c9b917873 8538a6c5018f50fc; do
            openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/sk.pem" -out "$work/sc.pem" -days 30 -subj "/CN=Serial Test" \
                -set_serial "0x$serial" -addext "extendedKeyUsage=codeSigning" 2> /dev/null
            osslsigncode sign -certs "$work/sc.pem" -key "$work/sk.pem" -in "$first" -out "$work/pftree/signed-$serial.dll" > /dev/null
        done
        { echo 'import "pe"'
          printf 'rule sig_serial { condition: for any i in (0 .. pe.number_of_signatures - 1) : ( pe.signatures[i].serial == "1b:66:11:df:9c:9a:4d:6e:cc:8e:d5:0c:9b:91:78:73" ) }\n'
          printf 'rule sig_serial_00 { condition: uint16(0) == 0x5a4d and for any i in (0 .. pe.number_of_signatures - 1) : ( pe.signatures[i].serial == "00:85:38:a6:c5:01:8f:50:fc" ) }\n'
          printf 'rule sig_serial_no00 { condition: for any i in (0 .. pe.number_of_signatures - 1) : ( "85:38:a6:c5:01:8f:50:fc" == pe.signatures[i].serial ) }\n'
          printf 'rule sig_serial_either { condition: for any i in (0 .. pe.number_of_signatures - 1) : ( (pe.signatures[i].serial == "00:85:38:a6:c5:01:8f:50:fc" or pe.signatures[i].serial == "85:38:a6:c5:01:8f:50:fc") and pe.signatures[i].issuer contains "Serial Test" ) }\n'
          printf 'rule sig_serial_none { condition: for any i in (0 .. pe.number_of_signatures - 1) : ( pe.signatures[i].serial == "01:02:03:04:05:06:07:08" ) }\n'
          printf 'rule sig_serial_all { condition: uint16(0) == 0x5a4d and for all i in (0 .. pe.number_of_signatures - 1) : ( pe.signatures[i].serial != "01:02:03:04:05:06:07:08" ) }\n'; } > "$work/pf/serial.yar"
    else
        skip_part "no osslsigncode for the serial number checks"
    fi
    "$CS" scan --no-default-packs --pack "$work/pe-any" --detectors yara --json -q --no-cache "$work/pftree" |
        jq -r 'select(.type == "finding" and .imphash != null) | "\(.path | split("/") | last) \(.imphash)"' > "$work/imphashes"
    { echo 'import "pe"'; n=0; while read -r name h; do n=$((n + 1)); printf 'rule imp_%d { condition: pe.imphash() == "%s" }\n' "$n" "$h"; done < "$work/imphashes";
      printf 'rule imp_none { condition: pe.imphash() == "00000000000000000000000000000000" and filesize > 0 }\n'
      printf 'rule exp_gomp { condition: pe.exports("GOMP_parallel") }\n'
      printf 'rule exp_gomp_case { condition: pe.exports("gomp_PARALLEL") }\n'
      printf 'rule exp_none { condition: pe.exports("NoSuchExportAnywhere") }\n'; } > "$work/pf/imphash.yar"
    check "PE files with an import hash ($(wc -l < "$work/imphashes"))" [ "$(wc -l < "$work/imphashes")" -ge 5 ]
else
    skip_part "no mingw-w64 runtime DLLs for the import hash checks"
fi
"$CS" scan --no-default-packs --pack "$work/pf" --detectors yara --json -q --cache-dir "$work/pfcache" "$work/pftree" > "$work/pf1.jsonl"
"$CS" scan --no-default-packs --pack "$work/pf" --detectors yara --json -q --cache-dir "$work/pfcache" "$work/pftree" > "$work/pf2.jsonl"
"$CS" scan --no-default-packs --pack "$work/pf" --detectors yara --json -q --no-yara-partition --no-cache "$work/pftree" > "$work/pfone.jsonl"
# plain yara one file at a time, with the file's name as chainsweep gives it
for f in "$work/pftree"/*; do yara -w -d filename="${f##*/}" "$work/pf"/*.yar "$f"; done |
    awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u > "$work/pfyara.pairs"
for r in pf1 pf2 pfone; do pairs "$work/$r.jsonl" > "$work/$r.pairs"; done
check "prefilter: the literal database was built and cached" bash -c "ls '$work/pfcache'/yara-*-literals-*.hsdb > /dev/null"
check "prefilter: matches == one set without it ($(wc -l < "$work/pfone.pairs") pairs)" diff "$work/pf1.pairs" "$work/pfone.pairs"
check "prefilter: matches == yara" diff "$work/pf1.pairs" "$work/pfyara.pairs"
check "prefilter: from the cache, the same matches" diff "$work/pf2.pairs" "$work/pfone.pairs"
for want in "xor	pf_xor" "xor0	pf_xor" "xrange_in	pf_xor_range" "b64_1	pf_b64" "b64w	pf_b64w" "hex	pf_hex" "regex	pf_regex" \
            "regex_alt	pf_regex_alt" "two_of	pf_two_of" "nul_lead	pf_nul_lead" "priv	pf_uses_priv" "named	pf_namer" "short	pf_short"; do
    check "prefilter: $want" grep -qxF "$want" "$work/pf1.pairs"
done
for want in "loop_any	pf_loop_any" "loop_body	pf_loop_body" "offset	pf_offset" "length	pf_length" "four	pf_loop_zero" \
            "named-file.bin	pf_name" "named-case.bin	pf_iname" "four	pf_name_trap"; do
    check "prefilter: $want" grep -qxF "$want" "$work/pf1.pairs"
done
if [ -s "$work/pf/serial.yar" ]; then
    for want in "signed-1b6611df9c9a4d6ecc8ed50c9b917873.dll	sig_serial" "signed-8538a6c5018f50fc.dll	sig_serial_either"; do
        check "prefilter: signer serial numbers as literals: $want" grep -qxF "$want" "$work/pf1.pairs"
    done
    echo "serial rules, as yara reports them: $(grep -c '	sig_' "$work/pfyara.pairs") pairs ($(grep '	sig_serial_0\|no00' "$work/pfyara.pairs" | tr '\t\n' ': '))"
    # alone in a pack, so that no other rule's literal or import hash sends
    # the signed files to the full set: the serial bytes decide
    mkdir -p "$work/pfserial"
    cp "$work/pf/serial.yar" "$work/pfserial/"
    "$CS" scan --no-default-packs --pack "$work/pfserial" --detectors yara --json -q --no-cache "$work/pftree" > "$work/pfserial.jsonl"
    pairs "$work/pfserial.jsonl" > "$work/pfserial.pairs"
    check "prefilter, serial rules alone: the same matches as yara ($(wc -l < "$work/pfserial.pairs") pairs)" \
        diff "$work/pfserial.pairs" <(grep '	sig_' "$work/pfyara.pairs")
    check "prefilter, serial rules alone: both signed files found" [ "$(grep -c '^signed-' "$work/pfserial.pairs")" -ge 2 ]
fi
if [ -s "$work/imphashes" ]; then
    check "prefilter: export names as literals (GOMP_parallel in libgomp)" grep -q '	exp_gomp$' "$work/pf1.pairs"
    check "prefilter: every PE matches the rule of its own import hash (libyara's equals ours)" \
        [ "$(grep -c '	imp_[0-9]' "$work/pfyara.pairs")" -ge "$(wc -l < "$work/imphashes")" ]
fi
# a PE without an import directory: libyara's pe.imphash() is the MD5 of
# nothing, so an import-hash key of another value rules nothing in, and the
# file's literals choose its rules (it once ran the full set). mingw-w64
# writes an empty import directory even with -nostdlib: its entry in the
# data directory is zeroed (noimp.exe); the one with the empty directory
# (emptyimp.exe) keeps the full set (an address our reader and libyara's
# might resolve differently), and both match as yara says
if command -v x86_64-w64-mingw32-gcc > /dev/null; then
    mkdir -p "$work/noimp" "$work/noimp-tree"
    printf '__attribute__((used)) const char mark[] = "chainsweep-noimport-literal";\nvoid start(void) { for (;;) ; }\n' > "$work/noimp.c"
    x86_64-w64-mingw32-gcc -nostdlib -Wl,-e,start -o "$work/emptyimp.exe" "$work/noimp.c"
    python3 - "$work/emptyimp.exe" "$work/noimp-tree/noimp.exe" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
pe = struct.unpack_from("<I", d, 0x3c)[0]
opt = pe + 24
dirs = opt + (112 if struct.unpack_from("<H", d, opt)[0] == 0x20b else 96)
assert struct.unpack_from("<I", d, dirs + 8)[0] != 0, "mingw wrote no import directory"
struct.pack_into("<II", d, dirs + 8, 0, 0)  # DataDirectory[1]: the imports
open(sys.argv[2], "wb").write(d)
PY
    { echo 'import "pe"'
      printf 'rule ni_key { condition: pe.imphash() == "0123456789abcdef0123456789abcdef" }\n'
      printf 'rule ni_lit { strings: $a = "chainsweep-noimport-literal" condition: $a }\n'
      printf 'rule ni_mz { condition: uint16(0) == 0x5a4d }\n'; } > "$work/noimp/a.yar" # a guard: partitioned
    rm -rf "$work/nicache" && mkdir "$work/nicache"
    "$CS" scan --no-default-packs --pack "$work/noimp" --detectors yara --json -q --cache-dir "$work/nicache" "$work/noimp-tree" > "$work/noimp1.jsonl"
    check "PE without imports: its literal's rule found" grep -qxF "noimp.exe	ni_lit" <(pairs "$work/noimp1.jsonl")
    check "PE without imports: a candidate set, not the full set" test "$(ls "$work/nicache" | grep -c -- '-99-')" = 1
    cp "$work/emptyimp.exe" "$work/noimp-tree/"
    printf 'rule ni_empty { condition: pe.imphash() == "d41d8cd98f00b204e9800998ecf8427e" }\n' >> "$work/noimp/a.yar"
    "$CS" scan --no-default-packs --pack "$work/noimp" --detectors yara --json -q --no-cache "$work/noimp-tree" > "$work/noimp2.jsonl"
    yara -w "$work/noimp/a.yar" -r "$work/noimp-tree" | awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u > "$work/noimp.yara"
    check "PEs without imports: pe.imphash() == MD5(\"\") as yara finds it" diff <(pairs "$work/noimp2.jsonl") "$work/noimp.yara"
    check "PEs without imports: yara matches the three on each" test "$(wc -l < "$work/noimp.yara")" = 6
    # a full set built when a file first needs it goes to the cache: the file
    # with the empty import directory needs its class's, the other one none
    full_sets() { ls "$1" | sed -n 's/^yara-[0-9a-f]*-\([0-9]*\)-.*\.yarc$/\1/p' | awk '$1 < 16' | wc -l; }
    mkdir -p "$work/noimp-key"
    grep -v ni_empty "$work/noimp/a.yar" > "$work/noimp-key/a.yar" # no key of MD5(""): noimp.exe runs no full set
    for f in noimp emptyimp; do
        rm -rf "$work/fs-$f" && mkdir -p "$work/fs-$f" "$work/fs-$f-tree"
        cp "$work/noimp-tree/$f.exe" "$work/fs-$f-tree/"
        "$CS" scan --no-default-packs --pack "$work/noimp-key" --detectors yara --json -q --cache-dir "$work/fs-$f" "$work/fs-$f-tree" > /dev/null
    done
    check "a full set built on demand is cached ($(full_sets "$work/fs-emptyimp") against $(full_sets "$work/fs-noimp"))" \
        [ "$(full_sets "$work/fs-emptyimp")" -gt "$(full_sets "$work/fs-noimp")" ]
else
    skip_part "no mingw-w64 for the PE without imports"
fi
# rules that all need a literal: a file without one needs no YARA pass at all
mkdir -p "$work/pfonly"
printf 'rule only_a { strings: $a = "PFMARK-plain" condition: $a }\nrule only_b { strings: $b = "PFMARK-wide" wide condition: $b and filesize < 100 }\n' > "$work/pfonly/only.yar"
"$CS" scan --no-default-packs --pack "$work/pfonly" --detectors yara --json -q --no-cache "$work/pftree" > "$work/pfonly.jsonl"
pairs "$work/pfonly.jsonl" > "$work/pfonly.pairs"
check "prefilter, every rule filterable: the same matches as yara (plain, wide)" \
    diff "$work/pfonly.pairs" <(yara -w -r "$work/pfonly/only.yar" "$work/pftree" | awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u)
check "prefilter, every rule filterable: both found" [ "$(wc -l < "$work/pfonly.pairs")" -eq 2 ]
for f in "$work/pfcache"/yara-*-literals-*.hsdb; do printf 'garbage' > "$f"; done
"$CS" scan --no-default-packs --pack "$work/pf" --detectors yara --json -q --cache-dir "$work/pfcache" "$work/pftree" > "$work/pf3.jsonl"
pairs "$work/pf3.jsonl" > "$work/pf3.pairs"
check "prefilter: a corrupt literal database in the cache is rebuilt, same matches" diff "$work/pf3.pairs" "$work/pfone.pairs"
# learned lean sets: a sweep that sees a class's files (32 with candidates)
# writes a profile to the cache; the next sweep runs the rules most often
# candidates in that class's lean set. Both sweeps find exactly what yara
# finds, with no rule reported twice; a damaged profile is no profile
mkdir -p "$work/learn" "$work/learn-tree" "$work/learn-cache"
python3 - "$work/learn/learn.yar" "$work/learn-tree" <<'PY'
import os, sys
rules, tree = sys.argv[1], sys.argv[2]
with open(rules, "w") as f:
    f.write('rule l_guard_mz { condition: uint16(0) == 0x5a4d }\n')  # a guard: the sets are partitioned
    f.write('rule l_always { condition: uint8(0) == 0x74 }\n')  # no string: the class's lean set is not empty
    f.write('private rule l_private { strings: $p = "chainsweep-learn-private" condition: $p }\n')
    for i in range(5):
        f.write('rule l_freq_%d { strings: $a = "chainsweep-learn-frequent-%d" condition: $a }\n' % (i, i))
    f.write('rule l_freq_not { strings: $a = "chainsweep-learn-frequent-1" $b = "chainsweep-learn-veto" condition: $a and not $b }\n')
    f.write('rule l_freq_count { strings: $a = "chainsweep-learn-frequent-2" condition: #a == 2 }\n')
    f.write('rule l_freq_names { strings: $a = "chainsweep-learn-frequent-3" condition: $a and l_private }\n')
    f.write('rule l_freq_plus { strings: $a = "chainsweep-learn-frequent-4" condition: $a and l_always }\n')
    for i in range(30):
        f.write('rule l_rare_%02d { strings: $a = "chainsweep-learn-rare-%02d" condition: $a }\n' % (i, i))
for i in range(40):
    d = b"text " + b" ".join(b"chainsweep-learn-frequent-%d" % k for k in range(5))
    if i < 30:
        d += b" chainsweep-learn-rare-%02d" % i
    if i % 3 == 0:
        d += b" chainsweep-learn-veto"
    if i % 4 == 0:
        d += b" chainsweep-learn-frequent-2"
    if i % 5 == 0:
        d += b" chainsweep-learn-private"
    open(os.path.join(tree, "l%02d" % i), "wb").write(d)
PY
yara -w -r "$work/learn/learn.yar" "$work/learn-tree" | awk '{n=$2; sub(".*/", "", n); print n "\t" $1}' | sort -u > "$work/learn.yara"
learn_sweep() {
    "$CS" scan --no-default-packs --pack "$work/learn" --detectors yara --json -q -p 2 --cache-dir "$work/learn-cache" "$work/learn-tree" > "$work/learn.jsonl"
    pairs "$work/learn.jsonl" > "$work/learn.pairs"
    check "learned lean sets, $1: yara's matches ($(wc -l < "$work/learn.yara"))" diff "$work/learn.pairs" "$work/learn.yara"
    check "learned lean sets, $1: no rule reported twice" test -z "$(repeats "$work/learn.jsonl")"
}
learn_sweep "the sweep that learns"
prof=$(ls "$work/learn-cache"/yara-*-learned.prof 2>/dev/null | head -n1)
check "a profile is written to the cache" test -s "$prof"
# the class of small files that are not PE, ELF or Mach-O, and its 20 rules
check "the profile names the class of these files and 20 rules" \
    bash -c "grep -qx 'class 13' '$prof' && [ \$(grep -c '^rule 13 ' '$prof') = 20 ]"
# the rules whose literals are in every file (rule numbers 3-11, in the
# order of learn.yar) are the most frequent candidates
check "... the most frequent candidates among them" \
    bash -c "for r in 3 4 5 6 7 8 9 10 11; do grep -qx \"rule 13 \$r\" '$prof' || exit 1; done"
# lean sets are cached as set 16 + the class (the first class of equal membership)
lean_files() { ls "$work/learn-cache" | sed -n 's/^yara-[0-9a-f]*-\([0-9]*\)-.*\.yarc$/\1/p' | awk '$1 >= 16 && $1 < 32' | wc -l; }
before=$(lean_files)
learn_sweep "the next sweep"
check "the next sweep built the class's learned lean set ($before -> $(lean_files) sets)" [ "$(lean_files)" -gt "$before" ]
cp "$prof" "$work/learn.prof"
learn_sweep "a third sweep"
check "a class once learned is not learned again" cmp "$prof" "$work/learn.prof"
for damage in 'garbage' 'chainsweep yara profile 1\nclass 13\nrule 13 999999\n' 'chainsweep yara profile 1\nrule 13 1\n' \
    'chainsweep yara profile 1\nclass 13\nrule 13 1 extra\n'; do
    printf "$damage" > "$prof"
    learn_sweep "a damaged profile ($(printf "$damage" | tail -n1))"
    check "... is written again, whole" bash -c "head -n1 '$prof' | grep -qx 'chainsweep yara profile 1' && grep -qx 'class 13' '$prof'"
done
# a class whose lean set is empty (every rule has a literal) learns nothing:
# a file without candidates needs no pass there, one with them a single one
mkdir -p "$work/learn-none" "$work/learn-none-cache"
grep -v -e l_always -e l_freq_plus "$work/learn/learn.yar" > "$work/learn-none/learn.yar"
"$CS" scan --no-default-packs --pack "$work/learn-none" --detectors yara --json -q --cache-dir "$work/learn-none-cache" "$work/learn-tree" > /dev/null
check "an empty lean set: no profile" test -z "$(ls "$work/learn-none-cache" | grep learned)"
finish
