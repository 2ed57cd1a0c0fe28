/* The MSI reader on packages wixl builds (tests/fixtures/make_msi_cab.sh,
 * run by ctest as the msi_fixtures setup test): payload streams, install
 * paths, limits, and malformed packages. The fixture directory comes from
 * argv[1] or CS_MSI_FIXTURES; without wixl there are no fixtures and the
 * test exits 77 (skipped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/msi.h"

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

static cs_msi_package *open_fixture(const char *name, uint64_t limit)
{
    size_t n;
    unsigned char *d = slurp(name, &n);
    assert_non_null(d);
    cs_msi_package *p = NULL;
    const char *why = NULL;
    int rc = cs_msi_open(d, n, limit, &p, &why);
    if (rc != 0)
        fail_msg("%s: %s", name, why);
    free(d); /* the package holds copies */
    assert_non_null(p);
    return p;
}

static const cs_msi_stream *stream(const cs_msi_package *p, const char *name)
{
    for (size_t i = 0; i < p->n_streams; i++)
        if (strcmp(p->streams[i].name, name) == 0)
            return &p->streams[i];
    return NULL;
}

static void app_streams(void **state)
{
    (void)state;
    cs_msi_package *p = open_fixture("app.msi", 1u << 20);
    assert_int_equal(p->n_streams, 4); /* tables are not listed */

    const cs_msi_stream *cab = stream(p, "cab1.cab");
    assert_non_null(cab);
    assert_int_equal(cab->kind, CS_MSI_CABINET);
    assert_string_equal(cs_msi_stream_kind_name(cab->kind), "cabinet");
    assert_int_equal(cab->disk_id, 1);
    assert_null(cab->row);
    assert_false(cab->too_large);
    assert_true(cab->size > 36);
    assert_memory_equal(cab->data, "MSCF", 4);
    assert_int_equal(cs_rd32le(cab->data + 8), cab->size); /* the cabinet's own size field */

    const cs_msi_stream *bin = stream(p, "Binary.CaDll");
    assert_non_null(bin);
    assert_int_equal(bin->kind, CS_MSI_BINARY);
    assert_string_equal(bin->row, "CaDll");
    assert_memory_equal(bin->data, "MZ", 2);

    const cs_msi_stream *other = stream(p, "Payload.bin");
    assert_non_null(other);
    assert_int_equal(other->kind, CS_MSI_OTHER);
    assert_int_equal(other->size, strlen("not named by any table\n"));
    assert_memory_equal(other->data, "not named by any table\n", other->size);

    const cs_msi_stream *summary = stream(p, "\005SummaryInformation");
    assert_non_null(summary);
    assert_int_equal(summary->kind, CS_MSI_SUMMARY);
    assert_memory_equal(summary->data, "\xfe\xff", 2); /* a property set */
    cs_msi_package_free(p);
}

static void app_paths(void **state)
{
    (void)state;
    cs_msi_package *p = open_fixture("app.msi", 1u << 20);
    static const char *const want[][3] = {
        {"F_3CXDesktopApp_exe", "ProgramFiles64Folder/3CX Desktop App/3CXDesktopApp.exe", "CExe"},
        {"F_d3dcompiler_47_dll", "ProgramFiles64Folder/3CX Desktop App/app/d3dcompiler_47.dll", "CD3d"},
        {"F_ffmpeg_dll_1", "ProgramFiles64Folder/3CX Desktop App/ffmpeg.dll", "CExe"},
    };
    const cs_msi_stream *cab = stream(p, "cab1.cab");
    assert_int_equal(p->n_files, 3);
    for (size_t i = 0; i < 3; i++) {
        const cs_msi_file *f = &p->files[i]; /* sorted by key */
        assert_string_equal(f->key, want[i][0]);
        assert_string_equal(f->path, want[i][1]);
        assert_string_equal(f->component, want[i][2]);
        assert_ptr_equal(cs_msi_file_by_key(p, want[i][0]), f);
        assert_string_equal(cs_msi_path(p, want[i][0]), want[i][1]);
        assert_ptr_equal(f->cabinet, cab);
        assert_true(f->size > 0);
    }
    /* FileName "D3DCOM~1.DLL|d3dcompiler_47.dll": the long name */
    assert_string_equal(cs_msi_file_by_key(p, "F_d3dcompiler_47_dll")->name, "d3dcompiler_47.dll");
    assert_int_equal(cs_msi_file_by_key(p, "F_3CXDesktopApp_exe")->sequence, 1);
    assert_int_equal(cs_msi_file_by_key(p, "F_d3dcompiler_47_dll")->sequence, 3);
    assert_null(cs_msi_path(p, "F_nope"));
    assert_null(cs_msi_path(p, ""));
    assert_null(cs_msi_path(NULL, "F_ffmpeg_dll_1"));
    cs_msi_package_free(p);
    cs_msi_package_free(NULL);
}

static void stream_limit(void **state)
{
    (void)state;
    cs_msi_package *all = open_fixture("app.msi", UINT64_MAX);
    const uint64_t limit = 100;
    cs_msi_package *p = open_fixture("app.msi", limit);
    assert_int_equal(p->n_streams, all->n_streams);
    size_t big = 0;
    for (size_t i = 0; i < p->n_streams; i++) {
        const cs_msi_stream *s = &p->streams[i];
        assert_string_equal(s->name, all->streams[i].name);
        assert_int_equal(s->size, all->streams[i].size); /* the size even when not read */
        assert_int_equal(s->too_large, s->size > limit);
        if (s->too_large) {
            assert_null(s->data);
            big++;
        } else {
            assert_non_null(s->data);
        }
    }
    assert_true(stream(p, "cab1.cab")->too_large);
    assert_true(stream(p, "Binary.CaDll")->too_large);
    assert_false(stream(p, "Payload.bin")->too_large);
    assert_int_equal(big, 3);
    /* the map does not depend on the streams */
    assert_string_equal(cs_msi_path(p, "F_ffmpeg_dll_1"), "ProgramFiles64Folder/3CX Desktop App/ffmpeg.dll");
    cs_msi_package_free(p);
    cs_msi_package_free(all);
}

static void signed_package(void **state)
{
    (void)state;
    size_t n;
    unsigned char *d = slurp("signed.msi", &n);
    if (!d)
        skip(); /* osslsigncode or openssl missing */
    free(d);
    cs_msi_package *p = open_fixture("signed.msi", 1u << 20);
    const cs_msi_stream *sig = stream(p, "\005DigitalSignature");
    assert_non_null(sig);
    assert_int_equal(sig->kind, CS_MSI_SIGNATURE);
    assert_string_equal(cs_msi_stream_kind_name(sig->kind), "signature");
    assert_int_equal(sig->data[0], 0x30); /* DER PKCS#7 */
    assert_int_equal(stream(p, "cab1.cab")->kind, CS_MSI_CABINET);
    assert_int_equal(p->n_files, 3);
    cs_msi_package_free(p);
}

static void two_cabinets(void **state)
{
    (void)state;
    cs_msi_package *p = open_fixture("two.msi", 1u << 20);
    const cs_msi_stream *c1 = stream(p, "cab1.cab"), *c2 = stream(p, "cab2.cab");
    assert_non_null(c1);
    assert_non_null(c2);
    assert_int_equal(c1->kind, CS_MSI_CABINET);
    assert_int_equal(c2->kind, CS_MSI_CABINET);
    assert_int_equal(c1->disk_id, 1);
    assert_int_equal(c2->disk_id, 2);
    assert_memory_equal(c2->data, "MSCF", 4);
    const cs_msi_file *one = cs_msi_file_by_key(p, "F_one"), *two = cs_msi_file_by_key(p, "F_two");
    assert_non_null(one);
    assert_non_null(two);
    assert_ptr_equal(one->cabinet, c1); /* Sequence 1 <= LastSequence 1 */
    assert_ptr_equal(two->cabinet, c2);
    assert_string_equal(one->path, "ProgramFilesFolder/Two/one.dll");
    assert_string_equal(two->path, "ProgramFilesFolder/Two/two.dll");
    cs_msi_package_free(p);
}

static void traversal_names(void **state)
{
    (void)state;
    cs_msi_package *p = open_fixture("traversal.msi", 1u << 20);
    const cs_msi_file *f = cs_msi_file_by_key(p, "F_d3dcompiler_47_dll");
    assert_non_null(f);
    assert_string_equal(f->name, "../..\\evil.dll"); /* as stored */
    assert_string_equal(f->path, "ProgramFiles64Folder/3CX Desktop App/__/.._.._evil.dll");
    cs_msi_package_free(p);
}

/* A string of 64 KiB or more takes two pool entries, laid out one way by
 * libmsi (and read so by rust-msi) and another by Wine: both read. */
static void long_strings(void **state)
{
    (void)state;
    static const char *const files[] = {"long.msi", "long-wine.msi"};
    const char *prefix = "ProgramFiles64Folder/3CX Desktop App/", *suffix = "/d3dcompiler_47.dll";
    for (size_t i = 0; i < 2; i++) {
        cs_msi_package *p = open_fixture(files[i], 1u << 20);
        const char *path = cs_msi_path(p, "F_d3dcompiler_47_dll");
        assert_non_null(path);
        size_t len = strlen(path);
        assert_int_equal(len, strlen(prefix) + 200000 + strlen(suffix));
        assert_memory_equal(path, prefix, strlen(prefix));
        assert_string_equal(path + len - strlen(suffix), suffix);
        for (size_t k = strlen(prefix); k < len - strlen(suffix); k++)
            if (path[k] != 'L')
                fail_msg("%s: byte %zu of the path is 0x%02x", files[i], k, (unsigned char)path[k]);
        assert_string_equal(cs_msi_path(p, "F_ffmpeg_dll_1"), "ProgramFiles64Folder/3CX Desktop App/ffmpeg.dll");
        cs_msi_package_free(p);
    }
}

static void malformed(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"bad-cycle.msi", "cycle"},
        {"bad-deep.msi", "deeper than 64"},
        {"bad-missing-dir.msi", "missing directory"},
        {"bad-rowsize.msi", "whole number of rows"},
        {"bad-poolsize.msi", "string pool malformed"},
        {"bad-strings.msi", "string the pool lacks"},
        {"bad-poolhuge.msi", "MSI"},
        {"bad-amplified.msi", "too long in total"}, /* 700 paths of 200 KB from one string */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        unsigned char *d = slurp(cases[i][0], &n);
        assert_non_null(d);
        cs_msi_package *p = (cs_msi_package *)1;
        const char *why = NULL;
        if (cs_msi_open(d, n, 1u << 20, &p, &why) != -1)
            fail_msg("%s: accepted", cases[i][0]);
        assert_null(p);
        assert_non_null(why);
        if (!strstr(why, cases[i][1]))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i][0], why, cases[i][1]);
        free(d);
    }
}

/* Every prefix and a byte flipped every so often: an error or a package,
 * never a crash or a leak (the ASan build checks). */
static void truncated_and_flipped(void **state)
{
    (void)state;
    size_t n;
    unsigned char *d = slurp("app.msi", &n);
    assert_non_null(d);
    size_t ok = 0, bad = 0;
    for (size_t len = 0; len < n; len += len < 2048 ? 64 : 509) {
        unsigned char *t = malloc(len ? len : 1);
        memcpy(t, d, len);
        cs_msi_package *p;
        const char *why = NULL;
        if (cs_msi_open(t, len, 1u << 20, &p, &why) == 0) {
            cs_msi_package_free(p);
            ok++;
        } else {
            assert_non_null(why);
            assert_null(p);
            bad++;
        }
        free(t);
    }
    assert_true(bad > 0);
    const char *why = NULL;
    cs_msi_package *p;
    assert_int_equal(cs_msi_open(d, 512, 1u << 20, &p, &why), -1); /* the header alone */
    for (size_t step = 1; step < 8; step++) {
        unsigned char *t = malloc(n);
        memcpy(t, d, n);
        for (size_t i = 512 + step * 7; i < n; i += 61 * step)
            t[i] ^= (unsigned char)(0x5a + step);
        if (cs_msi_open(t, n, 1u << 20, &p, &why) == 0)
            cs_msi_package_free(p);
        free(t);
    }
    (void)ok;
    free(d);
}

static void not_msi(void **state)
{
    (void)state;
    cs_msi_package *p;
    const char *why = NULL;
    assert_int_equal(cs_msi_open((const unsigned char *)"", 0, 1u << 20, &p, &why), -1);
    assert_null(p);
    assert_non_null(why);
    static const unsigned char junk[4096] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
    why = NULL;
    assert_int_equal(cs_msi_open(junk, sizeof junk, 1u << 20, &p, &why), -1);
    assert_non_null(why);
    assert_string_equal(cs_msi_stream_kind_name(CS_MSI_OTHER), "other");
    assert_string_equal(cs_msi_stream_kind_name(CS_MSI_SUMMARY), "summary");
    assert_string_equal(cs_msi_stream_kind_name(CS_MSI_BINARY), "binary");
}

/* The Property reader runs on the same table code. */
static void product(void **state)
{
    (void)state;
    size_t n;
    unsigned char *d = slurp("app.msi", &n);
    assert_non_null(d);
    cs_arena a = {0};
    cs_product pr;
    const char *why = NULL;
    assert_int_equal(cs_msi_product(d, n, &a, &pr, &why), 0);
    assert_string_equal(pr.source, "msi");
    assert_string_equal(pr.name, "3CX Desktop App");
    assert_string_equal(pr.version, "18.12.416");
    assert_string_equal(pr.company, "3CX Ltd");
    cs_arena_free(&a);
    free(d);
    d = slurp("bad-poolsize.msi", &n);
    assert_non_null(d);
    assert_int_equal(cs_msi_product(d, n, &a, &pr, &why), -1);
    assert_non_null(why);
    cs_arena_free(&a);
    free(d);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : getenv("CS_MSI_FIXTURES");
    char probe[4096];
    FILE *f = NULL;
    if (fixtures) {
        snprintf(probe, sizeof probe, "%s/app.msi", fixtures);
        f = fopen(probe, "rb");
    }
    if (!f) {
        printf("SKIP: no MSI fixtures in %s (make_msi_cab.sh needs wixl from msitools)\n",
               fixtures ? fixtures : "(CS_MSI_FIXTURES unset)");
        return 77;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(app_streams),    cmocka_unit_test(app_paths),
        cmocka_unit_test(stream_limit),   cmocka_unit_test(signed_package),
        cmocka_unit_test(two_cabinets),   cmocka_unit_test(traversal_names),
        cmocka_unit_test(long_strings),   cmocka_unit_test(malformed),
        cmocka_unit_test(truncated_and_flipped), cmocka_unit_test(not_msi),
        cmocka_unit_test(product),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
