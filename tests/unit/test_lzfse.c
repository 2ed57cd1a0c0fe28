/* The LZFSE decoder on streams built by tests/fixtures/make_lzfse.sh (run by
 * ctest as the lzfse_fixtures setup test) with our own encoder,
 * lzfse_enc.py (no macOS-made LZFSE files can be had here): every input
 * (empty, 1 byte, text, random, runs, a 5 MiB mix, matches at the largest
 * LZVN and LZFSE distances) in every block kind (raw, LZVN, v1, v2, mixed)
 * decodes back byte for byte, exactly at its size and with room to spare;
 * one byte less of room fails with "larger than the buffer". Every
 * truncation of the small streams and random byte flips fail cleanly or
 * decode within the buffer (ASan watches the exact-size buffers). Hand-made
 * streams give each error. The fixture directory comes from argv[1] or
 * CS_LZFSE_FIXTURES; without it the test exits 77 (skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/lzfse.h"

static const char *fixtures;
static const char *const kinds[] = {"raw", "lzvn", "v1", "v2", "mix"};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static unsigned char *slurp(const char *name, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *d = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (d = malloc(len ? (size_t)len : 1)) && fread(d, 1, (size_t)len, f) != (size_t)len) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *n = d ? (size_t)len : 0;
    return d;
}

static unsigned char *must_slurp(const char *name, size_t *n)
{
    unsigned char *d = slurp(name, n);
    if (!d)
        fail_msg("%s: missing", name);
    return d;
}

/* decode into a malloc'd buffer of exactly cap bytes (ASan sees overruns) */
static int decode(const unsigned char *s, size_t n, size_t cap, unsigned char **out, size_t *len, const char **why)
{
    *out = malloc(cap ? cap : 1);
    assert_non_null(*out);
    *why = NULL;
    *len = (size_t)-1;
    int rc = cs_lzfse_decode(s, n, *out, cap, len, why);
    if (rc == 0) {
        assert_true(*len <= cap);
    } else {
        assert_int_equal(rc, -1);
        assert_non_null(*why);
        assert_int_equal(strncmp(*why, "LZFSE: ", 7), 0);
    }
    return rc;
}

static void round_trip(const char *name)
{
    size_t rn;
    unsigned char *raw = must_slurp(name, &rn);
    for (size_t k = 0; k < N_KINDS; k++) {
        char file[256];
        snprintf(file, sizeof file, "%s.%s", name, kinds[k]);
        size_t n;
        unsigned char *enc = must_slurp(file, &n), *out;
        size_t len;
        const char *why;
        /* exactly the size, then with room to spare */
        if (decode(enc, n, rn, &out, &len, &why) != 0)
            fail_msg("%s: %s", file, why);
        assert_int_equal(len, rn);
        if (rn)
            assert_memory_equal(out, raw, rn);
        free(out);
        if (decode(enc, n, rn + 4096, &out, &len, &why) != 0)
            fail_msg("%s: %s", file, why);
        assert_int_equal(len, rn);
        if (rn)
            assert_memory_equal(out, raw, rn);
        free(out);
        /* one byte too little room */
        if (rn) {
            assert_int_equal(decode(enc, n, rn - 1, &out, &len, &why), -1);
            assert_string_equal(why, "LZFSE: output larger than the buffer");
            free(out);
        }
        free(enc);
    }
    free(raw);
}

static void rt_empty(void **s)
{
    (void)s;
    round_trip("empty");
}
static void rt_one(void **s)
{
    (void)s;
    round_trip("one");
}
static void rt_small(void **s)
{
    (void)s;
    round_trip("small");
}
static void rt_text(void **s)
{
    (void)s;
    round_trip("text");
}
static void rt_random(void **s)
{
    (void)s;
    round_trip("random");
}
static void rt_runs(void **s)
{
    (void)s;
    round_trip("runs");
}
static void rt_mixed(void **s)
{
    (void)s;
    round_trip("mixed");
}
static void rt_far(void **s)
{
    (void)s;
    round_trip("far");
}

/* every proper prefix of every small stream fails (the end block is missing) */
static void truncations(void **s)
{
    (void)s;
    size_t rn;
    unsigned char *raw = must_slurp("small", &rn);
    free(raw);
    for (size_t k = 0; k < N_KINDS; k++) {
        char file[64];
        snprintf(file, sizeof file, "small.%s", kinds[k]);
        size_t n;
        unsigned char *enc = must_slurp(file, &n);
        for (size_t cut = 0; cut < n; cut++) {
            unsigned char *copy = malloc(cut ? cut : 1), *out; /* exact size: ASan sees reads past it */
            memcpy(copy, enc, cut);
            size_t len;
            const char *why;
            if (decode(copy, cut, rn + 64, &out, &len, &why) != -1)
                fail_msg("%s cut at %zu decoded", file, cut);
            free(out);
            free(copy);
        }
        free(enc);
    }
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* random byte flips: an error or output within the buffer, never a crash */
static void flips(void **s)
{
    (void)s;
    static const char *const names[] = {"small", "text", "runs"};
    unsigned ok = 0, bad = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t rn;
        unsigned char *raw = must_slurp(names[i], &rn);
        free(raw);
        for (size_t k = 0; k < N_KINDS; k++) {
            char file[64];
            snprintf(file, sizeof file, "%s.%s", names[i], kinds[k]);
            size_t n;
            unsigned char *enc = must_slurp(file, &n);
            unsigned char *copy = malloc(n);
            for (int round = 0; round < 300; round++) {
                memcpy(copy, enc, n);
                int nflips = 1 + (int)(next() % 3);
                for (int f = 0; f < nflips; f++)
                    copy[next() % n] ^= (unsigned char)(1u << (next() % 8));
                unsigned char *out;
                size_t len;
                const char *why;
                /* half the time with just the room the original needs */
                size_t cap = round % 2 ? rn : rn + 1000;
                if (decode(copy, n, cap, &out, &len, &why) == 0)
                    ok++;
                else
                    bad++;
                free(out);
            }
            free(copy);
            free(enc);
        }
    }
    assert_true(bad > 0);
    printf("flips: %u decoded, %u refused\n", ok, bad);
}

/* ---- hand-made streams, one per error ---- */

static void expect(const unsigned char *s, size_t n, size_t cap, const char *msg)
{
    unsigned char *out;
    size_t len;
    const char *why;
    if (decode(s, n, cap, &out, &len, &why) != -1 || strcmp(why, msg) != 0)
        fail_msg("want \"%s\", got \"%s\"", msg, why ? why : "(success)");
    free(out);
}

static void errors(void **s)
{
    (void)s;
    unsigned char out[64];
    size_t len = 99;
    const char *why = NULL;
    /* the smallest stream */
    assert_int_equal(cs_lzfse_decode((const unsigned char *)"bvx$", 4, out, 0, &len, &why), 0);
    assert_int_equal(len, 0);
    assert_int_equal(cs_lzfse_decode((const unsigned char *)"bvx$", 4, NULL, 0, &len, &why), 0);

    expect((const unsigned char *)"", 0, 16, "LZFSE: stream ends without its end-of-stream block");
    expect((const unsigned char *)"bvx", 3, 16, "LZFSE: truncated block");
    expect((const unsigned char *)"bvxZ\0\0\0\0", 8, 16, "LZFSE: bad block magic");
    expect((const unsigned char *)"bvx$x", 5, 16, "LZFSE: data after the end-of-stream block");
    /* stored: 5 bytes declared, 3 there; 3 bytes into a 2-byte buffer */
    expect((const unsigned char *)"bvx-\5\0\0\0abc", 11, 16, "LZFSE: truncated block");
    expect((const unsigned char *)"bvx-\3\0\0\0abcbvx$", 15, 2, "LZFSE: output larger than the buffer");
    expect((const unsigned char *)"bvx-\3\0\0\0abc", 11, 16, "LZFSE: stream ends without its end-of-stream block");

    /* LZVN: 4 bytes from 5 back at the start (small-distance opcode 0x08 0x05) */
    static const unsigned char far_back[] = {'b', 'v', 'x', 'n', 4, 0, 0, 0, 10, 0, 0, 0, 0x08, 0x05,
                                             6,   0,   0,   0,   0, 0, 0, 0, 'b', 'v', 'x', '$'};
    expect(far_back, sizeof far_back, 16, "LZFSE: match distance before the start");
    /* two literals then a copy 2 back (0x88: L 2, M 4, D 2): "ababab" */
    static const unsigned char good[] = {'b', 'v', 'x', 'n', 6, 0, 0, 0, 12, 0, 0,   0,   0x88, 0x02,
                                         'a', 'b', 6,   0,   0, 0, 0, 0, 0,  0, 'b', 'v', 'x',  '$'};
    memset(out, 0, sizeof out);
    assert_int_equal(cs_lzfse_decode(good, sizeof good, out, 6, &len, &why), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "ababab", 6);
    unsigned char bad[sizeof good];
    memcpy(bad, good, sizeof good);
    bad[12] = 0x70; /* undefined opcode */
    expect(bad, sizeof bad, 16, "LZFSE: bad LZVN opcode");
    memcpy(bad, good, sizeof good);
    bad[4] = 7; /* declares 7 bytes, makes 6 */
    expect(bad, sizeof bad, 16, "LZFSE: block does not decode to its declared size");
    memcpy(bad, good, sizeof good);
    bad[8] = 11; /* the payload stops inside the end opcode */
    expect(bad, sizeof bad, 16, "LZFSE: truncated block");
    /* a repeat-distance match with no distance yet (0xf4: M 4) */
    static const unsigned char no_d[] = {'b', 'v', 'x', 'n', 4, 0, 0, 0, 9, 0, 0, 0, 0xf4,
                                         6,   0,   0,   0,   0, 0, 0, 0, 'b', 'v', 'x', '$'};
    expect(no_d, sizeof no_d, 16, "LZFSE: match without a distance");

    /* v1 header with an L table summing to 65 of 64 states */
    unsigned char v1[772 + 4];
    memset(v1, 0, sizeof v1);
    memcpy(v1, "bvx1", 4);
    v1[50] = 65;
    memcpy(v1 + 772, "bvx$", 4);
    expect(v1, sizeof v1, 16, "LZFSE: bad frequency table");
    v1[50] = 64;
    assert_int_equal(cs_lzfse_decode(v1, sizeof v1, out, 16, &len, &why), 0); /* an empty block */
    assert_int_equal(len, 0);
    v1[28] = 1; /* literal_bits 1, outside -7..0 */
    expect(v1, sizeof v1, 16, "LZFSE: bad block header");
    v1[28] = 0;
    v1[16] = 0x11, v1[17] = 0x27; /* 10001 matches */
    expect(v1, sizeof v1, 16, "LZFSE: bad block header");
    expect(v1, 700, 16, "LZFSE: truncated block");

    /* v2: a header size below its fixed part; tables that end early */
    unsigned char v2[32 + 4];
    memset(v2, 0, sizeof v2);
    memcpy(v2, "bvx2", 4);
    v2[24] = 31;
    memcpy(v2 + 32, "bvx$", 4);
    expect(v2, sizeof v2, 16, "LZFSE: bad block header");
    v2[24] = 33;
    expect(v2, sizeof v2, 16, "LZFSE: bad frequency table");
    v2[24] = 32; /* no tables at all: an empty block (bit counts 7 - 7 = 0) */
    expect(v2, sizeof v2, 16, "LZFSE: entropy-coded payload exhausted or badly padded");
    v2[15] = 0x70, v2[23] = 0x70;
    assert_int_equal(cs_lzfse_decode(v2, sizeof v2, out, 16, &len, &why), 0);
}

/* the small v2 stream with its frequency tables damaged */
static void bad_tables(void **s)
{
    (void)s;
    size_t n, rn;
    unsigned char *enc = must_slurp("small.v2", &n), *raw = must_slurp("small", &rn);
    assert_memory_equal(enc, "bvx2", 4);
    /* every byte of the packed tables set to ones: 14-bit codes of 1047 */
    unsigned hsize = (unsigned)enc[24] | (unsigned)enc[25] << 8;
    assert_true(hsize > 32 && hsize <= n);
    memset(enc + 32, 0xff, hsize - 32);
    expect(enc, n, rn, "LZFSE: bad frequency table");
    free(enc);
    free(raw);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : getenv("CS_LZFSE_FIXTURES");
    char path[4096];
    if (fixtures)
        snprintf(path, sizeof path, "%s/small.v2", fixtures);
    FILE *f = fixtures ? fopen(path, "rb") : NULL;
    if (!f) {
        printf("SKIP: no LZFSE fixtures (tests/fixtures/make_lzfse.sh needs python3)\n");
        return 77;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rt_empty),    cmocka_unit_test(rt_one),  cmocka_unit_test(rt_small),
        cmocka_unit_test(rt_text),     cmocka_unit_test(rt_random), cmocka_unit_test(rt_runs),
        cmocka_unit_test(rt_mixed),    cmocka_unit_test(rt_far),  cmocka_unit_test(truncations),
        cmocka_unit_test(flips),       cmocka_unit_test(errors),  cmocka_unit_test(bad_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
