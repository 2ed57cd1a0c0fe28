/* Version comparison, VS_VERSIONINFO parsing and advisories.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "format/advisory.h"
#include "format/version.h"
#include "format/versioninfo.h"
#include "util/util.h"

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void version_edge_cases(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        {"18.12.416", "18.12.416", 0},
        {"18.12.416", "18.12.4160", -1},   /* numbers, not text */
        {"18.12.416", "18.12.42", 1},
        {"18.12.41", "18.12.416", -1},
        {"18.12", "18.12.0", 0},           /* missing segments are 0 */
        {"18.12", "18.12.0.0", 0},
        {"18.12", "18.12.1", -1},
        {"18.12.416.0", "18.12.416", 0},
        {"018.12.416", "18.12.416", 0},    /* leading zeros */
        {"18, 12, 416, 0", "18.12.416", 0}, /* Windows resource style */
        {"18,12,416", "18.12.416", 0},
        {"18.12.416-beta", "18.12.416", -1}, /* pre-release first */
        {"18.12.416rc1", "18.12.416", -1},
        {"18.12.416~rc1", "18.12.416-rc2", -1},
        {"1.1.1w", "1.1.1", 1},            /* a letter suffix after the plain version */
        {"1.1.1w", "1.1.1v", 1},
        {"18.12.416+build7", "18.12.416", 0}, /* build metadata ignored */
        {"18.12.416 (x64)", "18.12.416", 0},
        {"7.17.90p608", "7.17.90", 1},
        {"99999999999999999999999.1", "99999999999999999999998.9", 1}, /* no overflow */
        {"", "0", 0},
        {"1.", "1", 0},
        {"1..2", "1.0.2", -1},             /* "..": the numbers end at "1", then compare first */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = sign(cs_version_compare(cases[i].a, cases[i].b));
        if (got != cases[i].want)
            fail_msg("compare(\"%s\", \"%s\") = %d, want %d", cases[i].a, cases[i].b, got, cases[i].want);
        assert_int_equal(sign(cs_version_compare(cases[i].b, cases[i].a)), -cases[i].want);
    }
    assert_true(cs_version_valid(" 1.0"));
    assert_false(cs_version_valid("v1.0"));
    assert_false(cs_version_valid(NULL));
}

/* ---- a VS_VERSIONINFO builder for the parser tests ---- */

typedef struct blk {
    unsigned char d[2048];
    size_t n;
} blk;

static void put16(blk *b, unsigned v)
{
    b->d[b->n++] = (unsigned char)v;
    b->d[b->n++] = (unsigned char)(v >> 8);
}

static void pad4(blk *b)
{
    while (b->n % 4)
        b->d[b->n++] = 0;
}

static void put_wstr(blk *b, const char *s)
{
    for (; *s; s++)
        put16(b, (unsigned char)*s);
    put16(b, 0);
}

/* Open a block; returns its start for close_block. */
static size_t open_block(blk *b, const char *key, unsigned type, unsigned value_len)
{
    pad4(b);
    size_t at = b->n;
    put16(b, 0);
    put16(b, value_len);
    put16(b, type);
    put_wstr(b, key);
    pad4(b);
    return at;
}

static void close_block(blk *b, size_t at)
{
    size_t len = b->n - at;
    b->d[at] = (unsigned char)len;
    b->d[at + 1] = (unsigned char)(len >> 8);
}

static void string_value(blk *b, const char *key, const char *value)
{
    size_t at = open_block(b, key, 1, (unsigned)strlen(value) + 1);
    put_wstr(b, value);
    close_block(b, at);
}

static void build(blk *b, int with_fixed)
{
    memset(b, 0, sizeof *b);
    size_t root = open_block(b, "VS_VERSION_INFO", 0, with_fixed ? 52 : 0);
    if (with_fixed) {
        static const uint32_t fixed[13] = {0xFEEF04BDu, 0x10000, 0x0012000C, 0x01A00000, 0x0012000C, 0x01A00000};
        for (int i = 0; i < 13; i++)
            put16(b, fixed[i] & 0xffff), put16(b, fixed[i] >> 16);
    }
    size_t sfi = open_block(b, "StringFileInfo", 1, 0);
    size_t de = open_block(b, "040704b0", 1, 0);
    string_value(b, "ProductName", "Produkt");
    close_block(b, de);
    size_t en = open_block(b, "040904b0", 1, 0);
    string_value(b, "CompanyName", "3CX Ltd");
    string_value(b, "ProductName", "3CX Desktop App");
    string_value(b, "ProductVersion", "18.12.416");
    string_value(b, "OriginalFilename", "3CXDesktopApp.exe");
    close_block(b, en);
    close_block(b, sfi);
    close_block(b, root);
}

static void versioninfo_tables(void **state)
{
    (void)state;
    blk b;
    build(&b, 1);
    cs_arena a = {0};
    cs_product p;
    const char *why = NULL;
    assert_int_equal(cs_versioninfo_parse(b.d, b.n, &a, &p, &why), 0);
    assert_int_equal(p.n_tables, 2);
    assert_string_equal(p.tables[0].lang, "040904b0"); /* US English is the primary */
    assert_string_equal(p.name, "3CX Desktop App");
    assert_string_equal(p.company, "3CX Ltd");
    assert_string_equal(p.version, "18.12.416");
    assert_string_equal(p.original_filename, "3CXDesktopApp.exe");
    assert_string_equal(p.tables[1].product, "Produkt");
    assert_string_equal(p.fixed_file_version, "18.12.416.0");
    cs_arena_free(&a);

    build(&b, 0); /* no VS_FIXEDFILEINFO */
    assert_int_equal(cs_versioninfo_parse(b.d, b.n, &a, &p, &why), 0);
    assert_string_equal(p.fixed_product_version, "");
    assert_string_equal(p.version, "18.12.416");
    cs_arena_free(&a);
}

static void versioninfo_malformed(void **state)
{
    (void)state;
    blk b;
    cs_arena a = {0};
    cs_product p;
    const char *why = NULL;
    build(&b, 1);
    /* every truncation fails cleanly or parses a prefix, never reads past n */
    for (size_t n = 0; n < b.n; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, b.d, n);
        why = NULL;
        if (cs_versioninfo_parse(copy, n, &a, &p, &why) != 0)
            assert_non_null(why);
        free(copy);
        cs_arena_free(&a);
    }
    build(&b, 1);
    b.d[0] = 0xff, b.d[1] = 0xff; /* root length past the end */
    assert_int_equal(cs_versioninfo_parse(b.d, b.n, &a, &p, &why), -1);
    assert_string_equal(why, "version info block length out of bounds");
    build(&b, 1);
    b.d[6] = 'W'; /* not VS_VERSION_INFO */
    assert_int_equal(cs_versioninfo_parse(b.d, b.n, &a, &p, &why), -1);
    build(&b, 1);
    for (size_t i = 6; i < b.n; i++) /* a key with no NUL anywhere */
        if (b.d[i] == 0)
            b.d[i] = 'A';
    assert_int_equal(cs_versioninfo_parse(b.d, b.n, &a, &p, &why), -1);
    cs_arena_free(&a);
}

/* ---- advisories.json ---- */

static int diags;
static void count_diag(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
    diags++;
}

static void advisories_parse_and_match(void **state)
{
    (void)state;
    const char *doc =
        "{\"chainsweep_advisories\": 1, \"advisories\": ["
        " {\"id\": \"A\", \"title\": \"t\", \"status\": \"compromised\","
        "  \"products\": [{\"product\": \"3cx desktop app\", \"platform\": \"windows\"}],"
        "  \"affected\": [{\"versions\": [\"18.12.407\"]}, {\"introduced\": \"18.12.410\", \"fixed\": \"18.12.422\"}]},"
        " {\"id\": \"R\", \"title\": \"t\", \"status\": \"retired\", \"date\": \"2020-04\","
        "  \"products\": [{\"company\": \"Trading Tech*\", \"product\": \"X_TRADER\"}]},"
        " {\"id\": \"L\", \"title\": \"t\", \"status\": \"vulnerable\", \"score\": 55,"
        "  \"products\": [{\"file\": \"tool.exe\"}], \"affected\": [{\"last_affected\": \"2.0\"}]},"
        " {\"id\": \"bad1\", \"title\": \"t\", \"status\": \"owned\", \"products\": [{\"product\": \"x\"}]},"
        " {\"id\": \"bad2\", \"title\": \"t\", \"status\": \"compromised\", \"products\": [{\"product\": \"x\"}]},"
        " {\"id\": \"bad3\", \"title\": \"t\", \"status\": \"retired\", \"products\": [{\"colour\": \"x\"}]},"
        " {\"id\": \"bad4\", \"title\": \"t\", \"status\": \"compromised\", \"products\": [{\"product\": \"x\"}],"
        "  \"affected\": [{\"versions\": [\"latest\"]}]}"
        "]}";
    cs_advisory_set set = {0};
    const char *why = NULL;
    diags = 0;
    assert_int_equal(cs_advisory_parse(doc, strlen(doc), &set, count_diag, NULL, &why), 0);
    assert_int_equal(set.n, 3);
    assert_true(diags >= 4);
    const cs_advisory *a = &set.items[0], *r = &set.items[1], *l = &set.items[2];
    assert_int_equal(a->score, 100);
    assert_int_equal(r->score, 50);
    assert_int_equal(l->score, 55);

    cs_product_strings t = {"040904b0", "3CX Ltd", "3CX Desktop App", NULL, NULL, NULL, NULL, NULL, NULL};
    cs_product p = {0};
    p.source = "pe-version-info";
    p.name = "3CX Desktop App";
    p.tables = &t;
    p.n_tables = 1;
    assert_true(cs_advisory_matches_product(a, &p, "x.exe", NULL));
    assert_true(cs_advisory_affects_version(a, "18.12.407"));
    assert_false(cs_advisory_affects_version(a, "18.12.408"));
    assert_true(cs_advisory_affects_version(a, "18.12.416"));
    assert_false(cs_advisory_affects_version(a, "18.12.422"));
    assert_false(cs_advisory_affects_version(a, "18.12.4160"));
    assert_false(cs_advisory_affects_version(a, NULL));
    p.source = "info-plist"; /* platform windows */
    assert_false(cs_advisory_matches_product(a, &p, "x", NULL));

    cs_product x = {0};
    x.source = "pe-version-info";
    x.name = "X_TRADER";
    x.company = "Trading Technologies";
    assert_true(cs_advisory_matches_product(r, &x, "a.exe", NULL));
    assert_true(cs_advisory_affects_version(r, NULL)); /* retired: every version */
    x.company = "Someone Else";
    assert_false(cs_advisory_matches_product(r, &x, "a.exe", NULL));

    cs_product tool = {0};
    tool.source = "pe-version-info";
    assert_true(cs_advisory_matches_product(l, &tool, "TOOL.EXE", NULL));
    assert_true(cs_advisory_affects_version(l, "2.0.0"));
    assert_false(cs_advisory_affects_version(l, "2.0.1"));
    cs_advisory_set_free(&set);

    assert_int_equal(cs_advisory_parse("[]", 2, &set, count_diag, NULL, &why), -1);
    assert_int_equal(cs_advisory_parse("{", 1, &set, count_diag, NULL, &why), -1);
    assert_non_null(strstr(why, "not JSON"));
    cs_advisory_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_edge_cases),
        cmocka_unit_test(versioninfo_tables),
        cmocka_unit_test(versioninfo_malformed),
        cmocka_unit_test(advisories_parse_and_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
