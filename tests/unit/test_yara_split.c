#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "format/yara_split.h"

static const char rules[] =
    "import \"pe\"\n"
    "rule a : tag1 { strings: $s = \"x}{\" condition: uint16(0) == 0x5a4d and $s }\n"
    "/* rule fake { condition: true } */\n"
    "private rule b { condition: (filesize < 100KB and uint32be(0) == 0x7f454c46) and true }\n"
    "rule c { strings: $r = /a\\/b{2}/ condition: uint16(0) == 0x5a4d and $r or true }\n"
    "rule d { condition: b and filesize <= 10 }\n"
    "rule e { strings: $h = { 4D 5A [2] ( 90 | 00 ) } condition: not uint16(0) == 0x5a4d and $h }\n";

static void splits_and_guards(void **state)
{
    (void)state;
    cs_yara_split sp;
    assert_int_equal(cs_yara_split_parse(rules, strlen(rules), &sp), 0);
    assert_false(sp.whole_file);
    assert_int_equal(sp.n, 5);
    /* imports are recorded, so a class's view can leave out an unused module */
    assert_int_equal(sp.n_imports, 1);
    assert_string_equal(sp.imports[0].module, "pe");
    assert_int_equal(sp.imports[0].start, 0);
    assert_memory_equal(rules + sp.imports[0].start, "import \"pe\"", sp.imports[0].end - sp.imports[0].start);
    assert_string_equal(sp.rules[0].name, "a");
    assert_int_equal(sp.rules[0].guard_len, 2);
    assert_memory_equal(sp.rules[0].guard, "MZ", 2);
    assert_string_equal(sp.rules[1].name, "b");
    assert_true(sp.rules[1].is_private);
    assert_int_equal(sp.rules[1].guard_len, 4);   /* its own guards; d names it */
    assert_int_equal(sp.rules[1].max_size, 100 * 1024);
    assert_int_equal(sp.rules[3].n_refs, 1);
    assert_int_equal(sp.refs[sp.rules[3].refs_at], 1);
    /* a class that keeps d keeps b, whatever b's guards say */
    unsigned char keep[5] = {0, 0, 0, 1, 0};
    cs_yara_keep_referenced(&sp, keep);
    static const unsigned char expected[5] = {0, 1, 0, 1, 0};
    assert_memory_equal(keep, expected, 5);
    assert_int_equal(sp.rules[2].guard_len, 0);   /* "or" at the top: no guard */
    assert_int_equal(sp.rules[3].max_size, 11);   /* filesize <= 10 */
    assert_int_equal(sp.rules[4].guard_len, 0);   /* "not" */
    assert_true(cs_yara_guard_compatible(&sp.rules[0], (const unsigned char *)"MZ\x90", 3));
    assert_false(cs_yara_guard_compatible(&sp.rules[0], (const unsigned char *)"\x7f" "ELF", 4));
    assert_true(cs_yara_size_compatible(&sp.rules[3], 10));
    assert_false(cs_yara_size_compatible(&sp.rules[3], 11));
    cs_yara_split_free(&sp);
}

/* Split a one-rule file with this condition; check its min_size (want_max
 * 0) or max_size (1). */
static void expect_bound(const char *cond, int want_max, uint64_t expected)
{
    char text[512];
    snprintf(text, sizeof text, "import \"pe\"\nrule r { condition: %s }\n", cond);
    cs_yara_split sp;
    assert_int_equal(cs_yara_split_parse(text, strlen(text), &sp), 0);
    assert_int_equal(sp.n, 1);
    uint64_t got = want_max ? sp.rules[0].max_size : sp.rules[0].min_size;
    if (got != expected)
        fail_msg("%s: %s %llu, expected %llu", cond, want_max ? "max_size" : "min_size", (unsigned long long)got,
                 (unsigned long long)expected);
    cs_yara_split_free(&sp);
}

/* The fewest bytes each condition needs (0: it may hold on an empty file). */
static void min_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *cond;
        uint64_t need;
    } cases[] = {
        {"uint16(0) != 0x5a4d", 2},                 /* undefined past the end, even "!=" */
        {"uint32(4) < 5", 8},
        {"uint8be(0x10) == 1 or filesize > 100", 17},
        {"not (uint16(0) == 0x5a4d)", 0},           /* "not": left alone */
        {"(uint16(0) == 0x5a4d or filesize == 0)", 0},
        {"uint16(0) + 1 == 1", 0},                  /* arithmetic: not understood */
        {"pe.number_of_sections == 0", 64},         /* needs a PE */
        {"pe.exports(\"x\") and filesize < 10", 64},
        {"pe.is_pe == 0", 0},                       /* defined for every file */
        {"pe.MACHINE_I386 == 0x14c", 0},            /* a constant */
        {"not pe.exports(\"x\")", 0},
        {"pe.number_of_sections == 0 or filesize == 0", 0},
        {"\"pe.timestamp\" == \"pe.timestamp\"", 0}, /* inside a string */
        {"for any i in (0..pe.number_of_signatures - 1): (pe.signatures[i].subject contains \"a\" or true)", 64},
        {"for 2 i in (0..pe.number_of_sections - 1): (true)", 64},
        {"for all i in (0..pe.number_of_sections - 1): (true)", 0},
        {"for any i in (0..filesize): (true)", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_bound(cases[i].cond, 0, cases[i].need);
}

/* The size no file matching the condition reaches (0: unbounded), also
 * from inside "or" groups: every branch must be bounded. */
static void max_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *cond;
        uint64_t below;
    } cases[] = {
        {"filesize < 200 or (filesize < 1000 and true)", 1000},
        {"true and (filesize < 200 or (filesize < 1000 and true))", 1000},
        {"(filesize < 2KB and true) or filesize <= 10", 2048},
        {"filesize < 200 or true", 0},                      /* one branch unbounded */
        {"not (filesize < 200 or filesize < 100)", 0},     /* "not" bounds nothing */
        {"filesize < 5MB and (filesize < 100 or filesize < 300)", 300},
        {"filesize < 100 and filesize < 50", 50},
        {"for any i in (0..1): (filesize < 10)", 0},        /* not followed into loops */
        {"\"filesize < 10\" == \"x\"", 0},                  /* inside a string */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_bound(cases[i].cond, 1, cases[i].below);
}

/* The rules a condition names: whole identifiers, not a string's "$a",
 * not the rule itself, each once, ascending (conservative: "#a" and a name
 * inside a text literal count too; a rule kept needlessly costs nothing). */
static void named_rules(void **state)
{
    (void)state;
    static const char text[] = "rule a { condition: true }\n"
                               "rule ab { condition: filesize < 10 }\n"
                               "rule x { strings: $a = \"q\" condition: $a and #a > 0 and ab }\n"
                               "rule y { condition: a and x and y and ab and a }\n"
                               "rule z { condition: \"a\" == \"b\" and abc }\n";
    static const size_t want[5][4] = {{0}, {0}, {2, 0, 1}, {3, 0, 1, 2}, {1, 0}}; /* count, then indices */
    cs_yara_split sp;
    assert_int_equal(cs_yara_split_parse(text, strlen(text), &sp), 0);
    assert_int_equal(sp.n, 5);
    for (size_t i = 0; i < 5; i++) {
        const cs_yara_rule_span *r = &sp.rules[i];
        if (r->n_deps != want[i][0])
            fail_msg("rule %s names %zu rules, expected %zu", r->name, r->n_deps, want[i][0]);
        for (size_t k = 0; k < r->n_deps; k++)
            assert_int_equal(sp.deps[r->deps_at + k], want[i][k + 1]);
    }
    /* refs: the named rules that carry a guard or a size bound (ab; x
     * needs a byte for its string) */
    assert_int_equal(sp.rules[2].n_refs, 1);
    assert_int_equal(sp.refs[sp.rules[2].refs_at], 1);
    assert_int_equal(sp.rules[3].n_refs, 2);
    assert_int_equal(sp.refs[sp.rules[3].refs_at], 1);
    assert_int_equal(sp.refs[sp.rules[3].refs_at + 1], 2);
    cs_yara_split_free(&sp);
}

static void unsplittable_files(void **state)
{
    (void)state;
    cs_yara_split sp;
    const char *g = "global rule g { condition: uint16(0) == 0x5a4d }\nrule r { condition: true }\n";
    cs_yara_split_parse(g, strlen(g), &sp);
    assert_true(sp.whole_file);
    cs_yara_split_free(&sp);
    const char *inc = "include \"other.yar\"\nrule r { condition: true }\n";
    cs_yara_split_parse(inc, strlen(inc), &sp);
    assert_true(sp.whole_file);
    cs_yara_split_free(&sp);
    const char *broken = "rule r { condition: \"unterminated }\n";
    cs_yara_split_parse(broken, strlen(broken), &sp);
    assert_true(sp.whole_file);
    cs_yara_split_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_and_guards),
        cmocka_unit_test(min_sizes),
        cmocka_unit_test(max_sizes),
        cmocka_unit_test(named_rules),
        cmocka_unit_test(unsplittable_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
