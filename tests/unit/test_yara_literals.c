/* What a rule needs before it can match (format/yara_literals.c): the
 * literals of required strings, and "always run" for everything that is not
 * proved (each trap below is a rule that can match without any literal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/yara_literals.h"

/* The literals of the last rule in src, as "text|text" ("~" prefix: caseless,
 * non-printing bytes as \xHH), or "ALWAYS". */
static char *needs_of(const char *src)
{
    static char out[4096];
    cs_yara_split sp;
    assert_int_equal(cs_yara_split_parse(src, strlen(src), &sp), 0);
    assert_true(sp.n >= 1);
    cs_yara_needs prior[4];
    assert_true(sp.n <= 4);
    for (size_t i = 0; i < sp.n; i++) /* the rules a later one names come first */
        cs_yara_rule_needs(src, &sp, i, prior, 6, &prior[i]);
    const cs_yara_needs *np = &prior[sp.n - 1];
    size_t k = 0;
    out[0] = '\0';
    if (!np->filterable) {
        snprintf(out, sizeof out, "ALWAYS");
    } else {
        for (size_t i = 0; i < np->n && k < sizeof out - 256; i++) { /* long lists: their start */
            k += (size_t)snprintf(out + k, sizeof out - k, "%s%s%s", i ? "|" : "", np->lits[i].caseless ? "~" : "",
                                  np->lits[i].kind == CS_YARA_LIT_IMPHASH    ? "#"
                                  : np->lits[i].kind == CS_YARA_LIT_FILENAME ? "@"
                                                                             : "");
            for (size_t j = 0; j < np->lits[i].len && k < sizeof out - 8; j++) {
                unsigned char c = np->bytes[np->lits[i].at + j];
                k += (size_t)snprintf(out + k, sizeof out - k, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02X", c);
            }
        }
    }
    for (size_t i = 0; i < sp.n; i++)
        cs_yara_needs_free(&prior[i]);
    cs_yara_split_free(&sp);
    return out;
}

/* Rules and the literals they need (needs_of's notation). */
static const struct {
    const char *src, *want;
} required[] = {
    {"rule r { strings: $a = \"hello\" condition: $a }",
     "hello"},
    {"rule r { strings: $a = \"hello\" $b = \"world\" condition: $a and $b }",
     "hello"},
    {"rule r { strings: $a = \"abc\" $b = \"world\" condition: $a and $b }",
     "world"},
    {"rule r { strings: $a = \"hello\" $b = \"world\" condition: $a or $b }",
     "hello|world"},
    {"rule r { strings: $a = \"hello\" $b = \"world\" condition: any of them }",
     "hello|world"},
    {"rule r { strings: $a1 = \"hello\" $a2 = \"there\" $b = \"world\" "
     "condition: uint16(0) == 0x5a4d and 2 of ($a*) and filesize < 10KB }",
     "there"},
    /* N of a set: the N-1 weakest may be the ones that match, the rest is required */
    {"rule r { strings: $a = \"abcd\" $b = \"longer one\" $c = \"abcdef\" "
     "condition: 2 of them }",
     "longer one|abcdef"},
    {"rule r { strings: $a = \"abcd\" $b = \"longer one\" $c = \"abcdef\" "
     "condition: all of them }",
     "longer one"},
    {"rule r { strings: $a = \"abcd\" $b = \"longer one\" $c = \"abcdef\" "
     "condition: 3 of them }",
     "longer one"},
    {"rule r { strings: $a = \"abcd\" $b = \"ab\" $c = \"abcdef\" "
     "condition: 2 of them }",
     "abcd|abcdef"}, /* the string without a literal is the one dropped */
    {"rule r { strings: $a = \"hello\" condition: #a > 2 }",
     "hello"},
    /* loops over a count's range are empty unless the string matched; a
     * loop of "any" holds only if its body does */
    {"rule r { strings: $a = \"hello\" condition: for any i in (1..#a) : ( @a[i] > 10 ) }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: for 1 i in (1..#a) : ( true ) }",
     "hello"},
    {"rule r { strings: $a = \"hello\" $b = \"longer one\" condition: "
     "for any i in (1..#a) : ( $b at @a[i] + 5 ) }",
     "longer one"},
    {"rule r { strings: $a = \"hello\" condition: uint16(0) == 0x5a4d and "
     "for any i in (0..filesize) : ( $a at i ) }",
     "hello"},
    /* the offset or length of a match that does not exist compares as undefined */
    {"rule r { strings: $a = \"hello\" condition: @a[1] != 5 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: @a < 100 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: !a[1] >= 5 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: !a[1] > 3 or $a }",
     "hello"},
    /* ... and so is integer arithmetic over it, a read at such an offset
     * and the comparison (yara 4.2 matches none of these without "hello") */
    {"rule r { strings: $a = \"hello\" condition: @a[1] + 1 > 5 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: uint32(@a + 1) == 0 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: !a[1] * 2 <= filesize }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: uint32be(@a) & 0xff == 0 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: (@a >> 1) != 7 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: 5 < -@a + ~@a \\ 2 % 3 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: uint8(@a[#a]) != 1 }",
     "hello"},
    {"rule r { strings: $h = { FC 00 48 00 83 00 E4 00 } condition: "
     "uint32(@h+0x0203) == 0x07002600 and uint32(@h+0x0225) == 0x00006b00 }",
     "\\xFC\\x00H\\x00\\x83\\x00\\xE4\\x00"},
    /* the file's name (the scanner's "filename" external) is a key */
    {"rule r { strings: $s = \"Microsoft\" condition: filename == \"svchost.exe\" and "
     "uint16(0) == 0x5a4d and not 1 of ($s*) }",
     "@svchost.exe"},
    {"rule r { condition: ( filename == \"utilman.exe\" or \"Utilman.exe\" == filename ) "
     "and filesize > 10 }",
     "@utilman.exe|@Utilman.exe"},
    {"rule r { condition: filename iequals \"Teams.exe\" and filesize > 10 }",
     "~@Teams.exe"},
    /* a signer's serial number is in the file's certificate, in DER */
    {"import \"pe\" rule r { condition: uint16(0) == 0x5a4d and "
     "for any i in (0 .. pe.number_of_signatures - 1) : "
     "( pe.signatures[i].serial == \"1b:66:11:df:9c:9a:4d:6e\" ) }",
     "\\x1Bf\\x11\\xDF\\x9C\\x9AMn"},
    {"import \"pe\" rule r { condition: for any i in (0 .. pe.number_of_signatures - 1) : "
     "( (\"00:85:38:a6:c5:01:8f:50:fc\" == pe.signatures[i].serial or "
     "pe.signatures[i].serial == \"85:38:a6:c5:01:8f:50:fc\") and "
     "pe.signatures[i].issuer contains \"Go Daddy\" ) }",
     "\\x00\\x858\\xA6\\xC5\\x01\\x8FP\\xFC|\\x858\\xA6\\xC5\\x01\\x8FP\\xFC"},
    {"rule r { strings: $a = \"hello\" condition: $a at 0 }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: $a in (0..100) }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: all of them }",
     "hello"},
    {"rule r { strings: $a = \"hello\" condition: (($a)) }",
     "hello"},
    {"rule r { strings: $ = \"hello\" $ = \"world\" condition: 1 of them }",
     "hello|world"},
    /* modifiers and escapes */
    {"rule r { strings: $a = \"Hello\" nocase condition: $a }",
     "~Hello"},
    {"rule r { strings: $a = \"abc\" wide condition: $a }",
     "a\\x00b\\x00c\\x00"},
    {"rule r { strings: $a = \"abc\" ascii wide fullword private condition: $a }",
     "abc|a\\x00b\\x00c\\x00"},
    {"rule r { strings: $a = \"a\\\"b\\x41\\\\\" condition: $a }",
     "a\"bA\\"},
    /* hex: the longest fixed run */
    {"rule r { strings: $h = { 4D 5A ?? 00 01 02 03 [2-4] 41 ( 42 43 44 45 | 46 ) } "
     "condition: $h }",
     "\\x00\\x01\\x02\\x03"},
    {"rule r { strings: $h = { 41 42 43 ~44 45 46 47 48 } condition: $h }",
     "EFGH"},
    {"rule r { strings: $h = { 41 42 4? 43 44 45 } condition: $h }",
     "CDE"},
    /* a comment inside a hex string may hold a brace: not its end */
    {"rule r { strings: $h = { 41 42 // mov {saved}\n 43 44 45 46 } $b = { 47 48 /* } */ 49 4A 4B } "
     "condition: all of them }",
     "ABCDEF"},
    /* a rule named alone requires one of that rule's literals */
    {"private rule a { strings: $x = \"hello\" condition: $x } "
     "private rule b { strings: $y = \"world\" wide condition: $y } "
     "rule r { condition: a or b }",
     "hello|w\\x00o\\x00r\\x00l\\x00d\\x00"},
    {"import \"pe\" rule a { condition: pe.imphash() == \"0123456789abcdef0123456789abcdef\" } "
     "rule r { strings: $z = \"abc\" condition: uint16(0) == 0x5a4d and (a or $z and a) }",
     "abc|#0123456789abcdef0123456789abcdef"}, /* "$z and a": $z's one literal is kept */
    {"rule a { strings: $x = \"hello\" condition: $x } "
     "rule r { strings: $z = \"longer one\" condition: a and $z }",
     "longer one"},
    /* regex: the longest run every match contains */
    {"rule r { strings: $r = /https?:\\/\\/evil\\.com/ condition: $r }",
     "://evil.com"},
    {"rule r { strings: $r = /abc+def[0-9]{2}xyz/i condition: $r }",
     "~cdef"},
    {"rule r { strings: $r = /ab{3}cd/ condition: $r }",
     "abbbcd"},
    {"rule r { strings: $r = /(foo|bar)bazq\\x41/ condition: $r }",
     "bazqA"},
    {"rule r { strings: $r = /abcd|ef+gh/ condition: $r }",
     "abcd|fgh"},
    /* a class whose first member is ']' (or '(' and '|'): one class, not an end */
    {"rule r { strings: $r = /([]()]|x)abcde/ condition: $r }",
     "abcde"},
    {"rule r { strings: $r = /[]a|b]xyzw/ condition: $r }",
     "xyzw"},
    /* an import hash compared with == is a key of its own */
    {"import \"pe\" rule r { condition: uint16(0) == 0x5a4d and "
     "pe.imphash() == \"0123456789abcdef0123456789abcdef\" }",
     "#0123456789abcdef0123456789abcdef"},
    {"import \"pe\" rule r { strings: $a = \"hello\" condition: $a and ("
     "pe.imphash() == \"0123456789abcdef0123456789abcdef\" or "
     "\"fedcba9876543210fedcba9876543210\" == pe.imphash()) }",
     "#0123456789abcdef0123456789abcdef|#fedcba9876543210fedcba9876543210"},
    /* an export name is in the file's bytes (compared without regard to case) */
    {"import \"pe\" rule r { condition: uint16(0) == 0x5a4d and pe.exports(\"ServiceMain\") }",
     "~ServiceMain"},
    {"import \"pe\" rule r { condition: pe.exports(\"ServiceMain\") or pe.exports(\"DllInstall\") }",
     "~ServiceMain|~DllInstall"},
    /* xor: widened first, then every key of the range */
    {"rule r { strings: $a = \"hello\" xor(1) condition: $a }",
     "idmmn"},
    {"rule r { strings: $a = \"hello\" xor(0x01-2) condition: $a }",
     "idmmn|jgnnm"},
    {"rule r { strings: $a = \"hel\" wide xor(1) condition: $a }",
     "i\\x01d\\x01m\\x01"},
    /* base64: the whole 3-byte groups at each alignment (checked with Python's base64) */
    {"rule r { strings: $a = \"hello world!\" base64 condition: $a }",
     "aGVsbG8gd29ybGQh|ZWxsbyB3b3Js|bGxvIHdvcmxk"},
    {"rule r { strings: $a = \"hello\" base64wide condition: $a }",
     "a\\x00G\\x00V\\x00s\\x00|Z\\x00W\\x00x\\x00s\\x00|b\\x00G\\x00x\\x00v\\x00"},
};

static void required_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        const char *got = needs_of(required[i].src);
        if (strcmp(got, required[i].want) != 0)
            fail_msg("%s: %s, not %s", required[i].src, got, required[i].want);
    }
}

static void traps_always_run(void **state)
{
    (void)state;
    static const char *traps[] = {
        "rule r { strings: $a = \"hello\" condition: not $a }",
        "rule r { strings: $a = \"hello\" condition: $a or filesize < 10 }",
        "rule r { strings: $a = \"hello\" condition: #a == 0 }",
        "rule r { strings: $a = \"hello\" condition: #a < 3 }",
        "rule r { strings: $a = \"hello\" condition: #a >= 0 }",
        "rule r { strings: $a = \"hello\" condition: none of them }",
        "rule r { strings: $a = \"hello\" condition: 0 of them }",
        "rule r { strings: $a = \"hello\" condition: for all i in (1..#a) : ( @a[i] > 10 ) }",
        "rule r { strings: $a = \"hello\" condition: for any i in (0..#a) : ( true ) }",
        "rule r { strings: $a = \"hello\" condition: for any i in (1..#a + 1) : ( true ) }",
        "rule r { strings: $a = \"hello\" condition: not for any i in (1..#a) : ( true ) }",
        "rule r { strings: $a = \"hello\" condition: for any i in (1..#a) : ( true ) or filesize > 1 }",
        "rule r { strings: $a = \"hello\" condition: for none i in (1..#a) : ( true ) }",
        "rule r { strings: $a = \"hello\" condition: for any of them : ( @ > 10 ) }",
        "rule r { strings: $a = \"hello\" condition: @a[1] > 5 or true }",
        "rule r { strings: $a = \"hello\" condition: not @a[1] > 5 }",
        "import \"math\" rule r { strings: $a = \"hello\" condition: math.entropy(@a, 4) > 1 }",
        "rule r { strings: $a = \"hello\" condition: @a + 1.5 > 3 }",
        "rule r { strings: $a = \"hello\" condition: uint32(@a) == 1 or filesize > 1 }",
        "rule r { strings: $a = \"hello\" condition: for all i in (1..#a) : ( uint32(@a[i]) == 1 ) }",
        "rule r { strings: $a = \"hello\" condition: not uint32(@a) == 1 }",
        "rule r { strings: $a = \"hello\" condition: uint32(#a) == 0 }",
        "import \"pe\" rule r { condition: for all i in (0 .. pe.number_of_signatures - 1) : "
        "( pe.signatures[i].serial == \"1b:66:11:df:9c:9a:4d:6e\" ) }",
        "import \"pe\" rule r { condition: pe.signatures[0].serial != \"1b:66:11:df:9c:9a:4d:6e\" }",
        "rule r { condition: filename != \"svchost.exe\" }",
        "rule r { condition: not filename == \"svchost.exe\" }",
        "rule r { condition: filename == \"svchost.exe\" or filesize > 10 }",
        "rule r { condition: filename contains \"svchost\" }",
        "rule r { condition: filename matches /svchost/ }",
        "rule r { condition: filepath == \"svchost.exe\" }",
        "import \"pe\" rule r { condition: not pe.signatures[0].serial == \"1b:66:11:df:9c:9a:4d:6e\" }",
        "import \"pe\" rule r { condition: pe.signatures[0].serial == \"1b6611df9c9a4d6e\" }",
        "import \"pe\" rule r { condition: pe.signatures[0].serial contains \"1b:66:11:df:9c:9a:4d:6e\" }",
        "import \"pe\" rule r { condition: pe.signatures[0].serial == \"1b:66:11:df:9c:9a:4d:6e\" or "
        "pe.number_of_signatures == 0 }",
        "rule r { strings: $a = \"hello\" condition: for any of ($a) : ( $ ) }",
        "rule r { strings: $a = \"hello\" condition: filesize > 10 }",
        "rule r { strings: $a = \"hello\" condition: (#a + 1) > 1 }",
        "rule r { strings: $a = \"ab\" condition: $a }",
        "rule r { strings: $a = \"hello\" $b = \"ab\" condition: any of them }",
        "rule r { strings: $a = \"hello\" $b = \"ab\" $c = \"cd\" condition: 2 of them }",
        "rule r { strings: $h = { 41 ?? 42 ?? 43 } condition: $h }",
        "rule r { strings: $r = /(abc)?d/ condition: $r }",
        "rule r { strings: $a = \"hello\" condition: other_rule }",
        /* rules named, each unprovable or negated; a rule named after r */
        "rule a { condition: filesize > 10 } rule r { strings: $x = \"hello\" condition: a or $x }",
        "rule a { strings: $x = \"hello\" condition: $x } rule r { condition: not a }",
        "rule a { strings: $x = \"hello\" condition: $x } rule r { condition: a or filesize > 3 }",
        "rule a { strings: $x = \"hello\" condition: not $x } rule r { condition: a }",
        "rule a { strings: $x = \"ab\" condition: $x } rule r { condition: a }",
        "rule a { strings: $x = \"hello\" condition: $x } rule r { condition: a.b }",
        "rule x { strings: $s = \"hello\" condition: $s } rule r { condition: for any x in (0..1) : ( x ) }",
        "rule x { strings: $s = \"hello\" condition: $s } "
        "rule r { condition: for any x in (0..1) : ( x == 1 and x ) }",

        "rule r { strings: $a = \"hello\" condition: $a == 1 or true }",
        "rule r { strings: $a = \"hello\" condition: true or $a }",
        "rule r { condition: uint16(0) == 0x5a4d }",
        "rule r { strings: $a = \"hello\" base64 wide condition: $a }",   /* not modelled */
        "rule r { strings: $a = \"hey\" base64 condition: $a }",          /* no whole group at offset 1 */
        "rule r { strings: $a = \"hello\" base64(\"short\") condition: $a }",
        "rule r { strings: $r = /abc|d/ condition: $r }",
        "import \"pe\" rule r { condition: not pe.exports(\"ServiceMain\") }",
        "import \"pe\" rule r { condition: pe.exports(/ServiceMain/) }",
        "import \"pe\" rule r { condition: pe.exports(\"ab\") }",
        "import \"pe\" rule r { condition: pe.exports(\"ServiceMain\") == 0 }",
        "import \"pe\" rule r { condition: pe.exports(\"ServiceMain\") or filesize > 1 }",
        "import \"pe\" rule r { condition: not pe.imphash() == \"0123456789abcdef0123456789abcdef\" }",
        "import \"pe\" rule r { condition: pe.imphash() != \"0123456789abcdef0123456789abcdef\" }",
        "import \"pe\" rule r { condition: pe.imphash() == \"0123456789abcdef\" }",
        "import \"pe\" rule r { condition: pe.imphash() == \"0123456789abcdef0123456789abcdef\" or filesize > 1 }",
        "rule r { strings: $r = /(abc|def)|ghij/ condition: $r }",
    };
    for (size_t i = 0; i < sizeof traps / sizeof *traps; i++) {
        const char *got = needs_of(traps[i]);
        if (strcmp(got, "ALWAYS") != 0)
            fail_msg("%s: %s", traps[i], got);
    }
}

/* A rule named in a condition stands for its literals up to a bound: a
 * rule of 512 (xor, ascii and wide) is not copied, one of 200 is. */
static void named_rule_bound(void **state)
{
    (void)state;
    const char *big = "rule a { strings: $x = \"hello world\" xor ascii wide condition: $x }";
    assert_string_not_equal(needs_of(big), "ALWAYS");
    char src[512];
    snprintf(src, sizeof src, "%s rule r { condition: a }", big);
    assert_string_equal(needs_of(src), "ALWAYS");
    assert_string_not_equal(needs_of("rule a { strings: $x = \"hello world\" xor(1-100) ascii wide condition: $x } "
                                     "rule r { condition: a }"),
                            "ALWAYS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_strings),
        cmocka_unit_test(traps_always_run),
        cmocka_unit_test(named_rule_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
