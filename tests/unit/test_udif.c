/* The UDIF reader and the partition maps on images built by
 * tests/fixtures/make_dmg.sh (run by ctest as the udif_fixtures setup
 * test): every chunk encoding reads back the raw disk byte for byte, at odd
 * offsets and lengths and across chunks and partitions; the blkx names; APM
 * (2048-byte entries from xorriso, 512-byte ones) and GPT through
 * cs_partmap_read, on the raw disk and through the UDIF reader; damaged
 * images fail with their reason. The fixture directory comes from argv[1]
 * or CS_UDIF_FIXTURES; without xorriso or python3 there are no fixtures
 * and the test exits 77 (skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/partmap.h"
#include "format/udif.h"

static const char *fixtures;

static unsigned char *slurp(const char *name, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *d = NULL;
    long len;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (d = malloc((size_t)len)) && fread(d, 1, (size_t)len, f) != (size_t)len) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *n = d ? (size_t)len : 0;
    return d;
}

typedef struct image {
    unsigned char *data;
    size_t size;
    cs_udif *u;
} image;

static image open_dmg(const char *name, uint64_t max_chunk)
{
    image im = {0};
    im.data = slurp(name, &im.size);
    if (!im.data)
        fail_msg("%s: missing", name);
    char why[256] = "";
    if (cs_udif_open(im.data, im.size, max_chunk, &im.u, why, sizeof why) != 0)
        fail_msg("%s: %s", name, why);
    assert_non_null(im.u);
    return im;
}

static void close_dmg(image *im)
{
    cs_udif_close(im->u);
    free(im->data);
}

/* ---- disk readers for cs_partmap_read ---- */

typedef struct mem_disk {
    const unsigned char *d;
    size_t n;
} mem_disk;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    const mem_disk *m = ctx;
    if (off > m->n || n > m->n - off) {
        snprintf(why, why_n, "read past the end");
        return -1;
    }
    memcpy(buf, m->d + off, n);
    return 0;
}

static int udif_rd(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    return cs_udif_read(ctx, off, buf, n, why, why_n);
}

/* ---- every encoding gives the disk back ---- */

static void read_back(const char *name, unsigned want_kinds)
{
    size_t rn;
    unsigned char *raw = slurp("disk.img", &rn);
    assert_non_null(raw);
    image im = open_dmg(name, 1u << 20);
    assert_int_equal(cs_udif_disk_size(im.u), rn);
    assert_int_equal(cs_udif_chunk_kinds(im.u), want_kinds);

    unsigned char *got = malloc(rn);
    char why[256] = "";
    /* the whole disk in odd steps: reads start and end inside chunks */
    static const size_t steps[] = {1, 7, 511, 513, 4095, 32769, 65537, 3};
    size_t off = 0;
    for (size_t k = 0; off < rn; k++) {
        size_t n = steps[k % 8];
        if (n > rn - off)
            n = rn - off;
        if (cs_udif_read(im.u, off, got + off, n, why, sizeof why) != 0)
            fail_msg("%s at %zu+%zu: %s", name, off, n, why);
        off += n;
    }
    assert_memory_equal(got, raw, rn);

    /* random odd reads, some long enough to span several chunks */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 300; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t o = (size_t)(x % rn), n = (size_t)((x >> 32) % (i % 10 == 0 ? 200000 : 3000)) | 1;
        if (n > rn - o)
            n = rn - o;
        memset(got, 0xAA, n);
        if (cs_udif_read(im.u, o, got, n, why, sizeof why) != 0)
            fail_msg("%s at %zu+%zu: %s", name, o, n, why);
        assert_memory_equal(got, raw + o, n);
    }

    /* across every partition boundary */
    for (size_t i = 1; i < cs_udif_partition_count(im.u); i++) {
        const cs_udif_partition *p = cs_udif_partition_at(im.u, i);
        size_t o = (size_t)p->offset - 777, n = 777 + 1999;
        if (n > rn - o)
            n = rn - o;
        assert_int_equal(cs_udif_read(im.u, o, got, n, why, sizeof why), 0);
        assert_memory_equal(got, raw + o, n);
    }

    /* the end of the disk */
    assert_int_equal(cs_udif_read(im.u, rn, got, 0, why, sizeof why), 0);
    why[0] = 0;
    assert_int_equal(cs_udif_read(im.u, rn - 1, got, 2, why, sizeof why), -1);
    assert_non_null(strstr(why, "past the end of the disk"));
    assert_int_equal(cs_udif_read(im.u, UINT64_MAX, got, 1, why, sizeof why), -1);
    free(got);
    free(raw);
    close_dmg(&im);
}

static void enc_raw(void **s)
{
    (void)s;
    read_back("disk-raw.dmg", CS_UDIF_RAW | CS_UDIF_ZERO);
}
static void enc_zlib(void **s)
{
    (void)s;
    read_back("disk-zlib.dmg", CS_UDIF_ZLIB | CS_UDIF_ZERO);
}
static void enc_bzip2(void **s)
{
    (void)s;
    read_back("disk-bzip2.dmg", CS_UDIF_BZIP2 | CS_UDIF_ZERO);
}
static void enc_adc(void **s)
{
    (void)s;
    read_back("disk-adc.dmg", CS_UDIF_ADC | CS_UDIF_ZERO);
}
static void enc_lzma(void **s)
{
    (void)s;
    read_back("disk-lzma.dmg", CS_UDIF_LZMA | CS_UDIF_ZERO);
}
static void enc_lzfse(void **s)
{
    (void)s;
    read_back("disk-lzfse.dmg", CS_UDIF_LZFSE | CS_UDIF_ZERO);
}
static void enc_mix(void **s)
{
    (void)s;
    read_back("disk-mix.dmg", CS_UDIF_RAW | CS_UDIF_ZLIB | CS_UDIF_BZIP2 | CS_UDIF_ADC | CS_UDIF_ZERO);
}

/* ---- partitions ---- */

static void blkx_partitions(void **s)
{
    (void)s;
    image im = open_dmg("disk-zlib.dmg", 1u << 20);
    static const char *const names[] = {
        "Driver Descriptor Map (DDM : 0)", "HFSPLUS_Hybrid (Apple_partition_map : 1)", " (Apple_Free : 2)",
        "Gap0 (ISO9660_data : 3)",         "HFSPLUS_Hybrid (Apple_HFS : 4)",           "Gap1 (ISO9660_data : 5)",
    };
    assert_int_equal(cs_udif_partition_count(im.u), 6);
    uint64_t pos = 0;
    for (size_t i = 0; i < 6; i++) {
        const cs_udif_partition *p = cs_udif_partition_at(im.u, i);
        assert_non_null(p);
        /* xorriso names the map entry after the volume or "Apple": only the type is fixed */
        if (i == 1)
            assert_non_null(strstr(p->name, "(Apple_partition_map : 1)"));
        else
            assert_string_equal(p->name, names[i]);
        assert_int_equal(p->offset, pos); /* they tile the disk */
        pos += p->size;
    }
    assert_int_equal(pos, cs_udif_disk_size(im.u));
    assert_null(cs_udif_partition_at(im.u, 6));
    assert_int_equal(cs_udif_partition_at(im.u, 0)->size, 2048); /* one 2048-byte APM block */
    close_dmg(&im);
}

static const cs_partition *find_type(const cs_partition *p, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].type, type) == 0)
            return &p[i];
    return NULL;
}

static void apm_xorriso(void **s)
{
    (void)s;
    size_t rn;
    unsigned char *raw = slurp("disk.img", &rn);
    assert_non_null(raw);
    mem_disk m = {raw, rn};
    cs_partition raw_parts[CS_PARTMAP_MAX], parts[CS_PARTMAP_MAX];
    size_t raw_n = 0, n = 0;
    char why[256] = "";
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, raw_parts, &raw_n, why, sizeof why), 1);

    image im = open_dmg("disk-adc.dmg", 1u << 20);
    if (cs_partmap_read(udif_rd, im.u, cs_udif_disk_size(im.u), parts, &n, why, sizeof why) != 1)
        fail_msg("partmap through UDIF: %s", why);
    assert_int_equal(n, raw_n);
    assert_memory_equal(parts, raw_parts, n * sizeof *parts);
    assert_true(n >= 3);
    assert_string_equal(parts[0].type, "Apple_partition_map");
    assert_int_equal(parts[0].offset, 2048); /* entries in 2048-byte blocks */
    const cs_partition *hfs = find_type(parts, n, "Apple_HFS");
    assert_non_null(hfs);
    assert_string_equal(hfs->name, "HFSPLUS_Hybrid");
    assert_int_equal(hfs->offset % 2048, 0);
    unsigned char sig[2];
    assert_int_equal(cs_udif_read(im.u, hfs->offset + 1024, sig, 2, why, sizeof why), 0);
    assert_memory_equal(sig, "H+", 2);
    /* the blkx entry of the HFS+ partition starts where the map says */
    assert_int_equal(cs_udif_partition_at(im.u, 4)->offset, hfs->offset);
    assert_int_equal(cs_udif_partition_at(im.u, 4)->size, hfs->size);
    close_dmg(&im);
    free(raw);
}

static void apm_512(void **s)
{
    (void)s;
    size_t rn;
    unsigned char *raw = slurp("apm512.img", &rn);
    assert_non_null(raw);
    mem_disk m = {raw, rn};
    cs_partition parts[CS_PARTMAP_MAX];
    size_t n = 0;
    char why[256] = "";
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), 1);
    assert_int_equal(n, 3);
    assert_string_equal(parts[1].type, "Apple_HFS");
    assert_string_equal(parts[1].name, "disk image");
    assert_int_equal(parts[1].offset, 4 * 512);
    assert_int_equal(parts[1].size, 60 * 512);
    assert_memory_equal(raw + parts[1].offset + 1024, "H+", 2);

    /* a broken entry signature: damaged */
    raw[2 * 512] = 'X';
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "PM signature"));
    raw[2 * 512] = 'P';
    /* a map count running past the disk */
    raw[512 + 4] = 0x7f;
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), -1);
    raw[512 + 4] = 0;
    /* an entry past the disk is dropped */
    raw[3 * 512 + 8] = 0x10;
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), 1);
    assert_int_equal(n, 2);
    /* no map at all */
    memset(raw, 0, rn);
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), 0);
    assert_int_equal(n, 0);
    free(raw);
}

static void check_gpt(const cs_partition *parts, size_t n)
{
    assert_int_equal(n, 3); /* the fourth entry runs past the disk */
    assert_string_equal(parts[0].type, "EFI");
    assert_string_equal(parts[0].name, "EFI System");
    assert_int_equal(parts[0].offset, 40 * 512);
    assert_int_equal(parts[0].size, 60 * 512);
    assert_string_equal(parts[1].type, "Apple_HFS");
    assert_string_equal(parts[1].name, "Macintosh HD");
    assert_int_equal(parts[1].offset, 100 * 512);
    assert_int_equal(parts[1].size, 1800 * 512);
    assert_string_equal(parts[2].type, "Linux filesystem");
    assert_string_equal(parts[2].name, "Linux \xc3\xa9t\xc3\xa9");
}

static void gpt(void **s)
{
    (void)s;
    size_t rn;
    unsigned char *raw = slurp("gpt.img", &rn);
    assert_non_null(raw);
    mem_disk m = {raw, rn};
    cs_partition parts[CS_PARTMAP_MAX];
    size_t n = 0;
    char why[256] = "";
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), 1);
    check_gpt(parts, n);
    assert_memory_equal(raw + parts[1].offset + 1024, "H+", 2);

    /* through the UDIF reader (mixed chunk encodings, 16-sector chunks) */
    image im = open_dmg("gpt.dmg", 1u << 20);
    assert_int_equal(cs_udif_disk_size(im.u), rn);
    if (cs_partmap_read(udif_rd, im.u, rn, parts, &n, why, sizeof why) != 1)
        fail_msg("gpt.dmg: %s", why);
    check_gpt(parts, n);
    unsigned char sig[2];
    assert_int_equal(cs_udif_read(im.u, parts[1].offset + 1024, sig, 2, why, sizeof why), 0);
    assert_memory_equal(sig, "H+", 2);
    assert_string_equal(cs_udif_partition_at(im.u, 5)->name, "Macintosh HD (48465300-0000-11AA-AA11-00306543ECAC : 5)");
    close_dmg(&im);

    /* damage: the header's and the entries' checksums */
    raw[512 + 40] ^= 1;
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "GPT header checksum"));
    raw[512 + 40] ^= 1;
    raw[1024 + 60] ^= 1;
    assert_int_equal(cs_partmap_read(mem_read, &m, rn, parts, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "entry array checksum"));
    raw[1024 + 60] ^= 1;
    /* a disk too short for the entry array */
    m.n = 4096;
    assert_int_equal(cs_partmap_read(mem_read, &m, 4096, parts, &n, why, sizeof why), -1);
    assert_non_null(strstr(why, "outside the disk"));
    free(raw);
}

/* ---- damaged images ---- */

/* Open and read the whole disk: the first failure's message */
static int open_and_read(const char *name, uint64_t max_chunk, char *why, size_t why_n, unsigned *kinds)
{
    size_t n;
    unsigned char *d = slurp(name, &n);
    assert_non_null(d);
    cs_udif *u = NULL;
    int rc = cs_udif_open(d, n, max_chunk, &u, why, why_n);
    if (rc == 0) {
        *kinds = cs_udif_chunk_kinds(u);
        uint64_t size = cs_udif_disk_size(u);
        unsigned char buf[5000];
        for (uint64_t off = 0; off < size && rc == 0; off += sizeof buf) {
            size_t k = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
            rc = cs_udif_read(u, off, buf, k, why, why_n);
        }
        cs_udif_close(u);
    } else {
        assert_null(u);
    }
    free(d);
    return rc;
}

static void damaged(void **s)
{
    (void)s;
    static const struct {
        const char *file, *msg;
        int opens;
    } cases[] = {
        {"bad-truncated-koly.dmg", "no koly trailer", 0},
        {"bad-chunk-past-end.dmg", "lies outside the data fork", 0},
        {"bad-inflates-past.dmg", "chunk 0 of partition 0 inflates to 2560 bytes, declared 2048", 1},
        {"bad-garbage-base64.dmg", "not valid base64", 0},
        {"bad-missing-blkx.dmg", "no \"blkx\" array", 0},
        {"bad-overlap.dmg", "overlaps chunk", 0},
        {"bad-mish-count.dmg", "mish declares", 0},
        {"bad-lzfse.dmg", "LZFSE: bad block magic", 1}, /* zlib bytes in a chunk typed LZFSE */
        {"bad-deep-plist.dmg", "nested deeper than 64", 0},
        {"bad-inflates-past-bzip2.dmg", "chunk 0 of partition 0 inflates to 2560 bytes, declared 2048", 1},
        {"bad-inflates-past-adc.dmg", "chunk 0 of partition 0 inflates to 2560 bytes, declared 2048", 1},
        {"bad-inflates-past-lzma.dmg", "chunk 0 of partition 0 inflates to 2560 bytes, declared 2048", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[256] = "";
        unsigned kinds = 0;
        int rc = open_and_read(cases[i].file, 1u << 20, why, sizeof why, &kinds);
        if (rc != -1 || !strstr(why, cases[i].msg))
            fail_msg("%s: rc %d, \"%s\", want \"%s\"", cases[i].file, rc, why, cases[i].msg);
        if (cases[i].opens)
            assert_true(kinds != 0);
    }
    /* the LZFSE chunk is counted though it does not decode */
    char why[256];
    unsigned kinds = 0;
    open_and_read("bad-lzfse.dmg", 1u << 20, why, sizeof why, &kinds);
    assert_true(kinds & CS_UDIF_LZFSE);
    /* chunks over max_chunk are refused */
    assert_int_equal(open_and_read("disk-zlib.dmg", 4096, why, sizeof why, &kinds), -1);
    assert_non_null(strstr(why, "over the limit of 4096"));
}

static void probe(void **s)
{
    (void)s;
    size_t n;
    unsigned char *d = slurp("disk-bzip2.dmg", &n);
    assert_non_null(d);
    assert_true(cs_udif_probe(d, n));
    assert_false(cs_udif_probe(d, n - 1));
    assert_false(cs_udif_probe(d, 100));
    cs_udif *u = (cs_udif *)1;
    char why[128];
    assert_int_equal(cs_udif_open(d, 600, 1u << 20, &u, why, sizeof why), -1);
    assert_null(u);
    free(d);
    d = slurp("disk.img", &n);
    assert_false(cs_udif_probe(d, n));
    free(d);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : getenv("CS_UDIF_FIXTURES");
    char path[4096];
    if (fixtures)
        snprintf(path, sizeof path, "%s/disk-zlib.dmg", fixtures);
    FILE *f = fixtures ? fopen(path, "rb") : NULL;
    if (!f) {
        printf("SKIP: no UDIF fixtures (tests/fixtures/make_dmg.sh needs xorriso and python3)\n");
        return 77;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enc_raw),         cmocka_unit_test(enc_zlib),    cmocka_unit_test(enc_bzip2),
        cmocka_unit_test(enc_adc),         cmocka_unit_test(enc_lzma),    cmocka_unit_test(enc_lzfse),
        cmocka_unit_test(enc_mix),
        cmocka_unit_test(blkx_partitions), cmocka_unit_test(apm_xorriso), cmocka_unit_test(apm_512),
        cmocka_unit_test(gpt),             cmocka_unit_test(damaged),     cmocka_unit_test(probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
