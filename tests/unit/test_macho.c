#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "format/macho.h"

/* A little-endian 64-bit Mach-O built by hand: one segment with two
 * sections, a linked library, a run path, a UUID, a build version and a
 * code signature pointing past the end. */
static unsigned char img[4096];
static size_t at;

static void put32(uint32_t v)
{
    memcpy(img + at, &v, 4);
    at += 4;
}

static void put64(uint64_t v)
{
    memcpy(img + at, &v, 8);
    at += 8;
}

static void putname(const char *s)
{
    memset(img + at, 0, 16);
    memcpy(img + at, s, strlen(s));
    at += 16;
}

static size_t build(uint32_t nsects_claimed)
{
    memset(img, 0, sizeof img);
    at = 0;
    put32(0xfeedfacf); put32(0x01000007); put32(3); put32(6); /* magic, x86_64, all, dylib */
    size_t ncmds_at = at;
    put32(0); put32(0); put32(0); put32(0);                   /* ncmds, sizeofcmds, flags, reserved */
    size_t start = at;
    /* LC_SEGMENT_64 __TEXT with 2 sections */
    put32(0x19); put32(72 + 2 * 80); putname("__TEXT");
    put64(0); put64(0x1000); put64(0); put64(0x1000); put32(5); put32(5); put32(nsects_claimed); put32(0);
    putname("__text"); putname("__TEXT"); put64(0x100); put64(0x20); put32(0x100); put32(4); put32(0); put32(0);
    put32(0); put32(0); put32(0); put32(0);
    putname("__cstring"); putname("__TEXT"); put64(0x120); put64(0x10); put32(0x120); put32(0); put32(0); put32(0);
    put32(2); put32(0); put32(0); put32(0);
    /* LC_LOAD_WEAK_DYLIB "@rpath/libx.dylib" */
    put32(0x80000018); put32(48); put32(24); put32(0); put32(0); put32(0);
    memcpy(img + at, "@rpath/libx.dylib", 18); at += 24;
    /* LC_RPATH "@executable_path/../Frameworks" */
    put32(0x8000001c); put32(48); put32(12);
    memcpy(img + at, "@executable_path/../Frameworks", 31); at += 36;
    /* LC_UUID */
    put32(0x1b); put32(24); for (int i = 0; i < 16; i++) img[at++] = (unsigned char)i;
    /* LC_BUILD_VERSION macOS 11.0.0, sdk 12.3.0 */
    put32(0x32); put32(24); put32(1); put32(0x000b0000); put32(0x000c0300); put32(0);
    /* LC_CODE_SIGNATURE past the end */
    put32(0x1d); put32(16); put32(4000); put32(500);
    uint32_t ncmds = 6, sizeofcmds = (uint32_t)(at - start);
    memcpy(img + ncmds_at, &ncmds, 4);
    memcpy(img + ncmds_at + 4, &sizeofcmds, 4);
    return 4096;
}

static void parses_load_commands(void **state)
{
    (void)state;
    cs_macho m;
    const char *why = NULL;
    size_t n = build(2);
    assert_int_equal(cs_macho_parse(img, n, &m, &why), 0);
    assert_true(m.is64);
    assert_string_equal(m.arch, "x86_64");
    assert_int_equal(m.n_segments, 1);
    assert_string_equal(m.segments[0].name, "__TEXT");
    assert_int_equal(m.n_sections, 2);
    assert_string_equal(m.sections[0].name, "__text");
    assert_int_equal(m.sections[0].offset, 0x100);
    assert_int_equal(m.sections[1].size, 0x10);
    assert_int_equal(m.n_libs, 1);
    assert_int_equal(m.libs[0].kind, CS_MACHO_WEAK);
    assert_int_equal(m.libs[0].name.len, 17);
    assert_memory_equal(m.libs[0].name.p, "@rpath/libx.dylib", 17);
    assert_int_equal(m.n_rpaths, 1);
    assert_memory_equal(m.rpaths[0].p, "@executable_path/../Frameworks", 30);
    assert_true(m.has_uuid);
    assert_int_equal(m.uuid[15], 15);
    assert_int_equal(m.platform, 1);
    char v[16];
    cs_macho_version_str(m.sdk, v, sizeof v);
    assert_string_equal(v, "12.3.0");
    assert_int_equal(m.has_signature, 2); /* runs past the end: reported, the rest usable */
}

static void refuses_damage(void **state)
{
    (void)state;
    cs_macho m;
    const char *why = NULL;
    size_t n = build(3); /* a third section header the command has no room for */
    assert_int_equal(cs_macho_parse(img, n, &m, &why), -1);
    assert_non_null(strstr(why, "sections"));
    build(2);
    uint32_t big = 0x7fffffff; /* sizeofcmds past the end */
    memcpy(img + 20, &big, 4);
    assert_int_equal(cs_macho_parse(img, n, &m, &why), -1);
    build(2);
    assert_int_equal(cs_macho_parse(img, 30, &m, &why), -1); /* a 64-bit header cut at 30 bytes */
    build(2);
    uint32_t cmdsize = 4; /* a load command smaller than its own header */
    memcpy(img + 32 + 4, &cmdsize, 4);
    assert_int_equal(cs_macho_parse(img, n, &m, &why), -1);
}

static void fat_headers(void **state)
{
    (void)state;
    unsigned char f[64] = {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2};
    cs_macho_slice s[4];
    const char *why = NULL;
    assert_true(cs_macho_is_fat(f, sizeof f));
    assert_int_equal(cs_macho_fat_slices(f, sizeof f, s, 4, &why), -1); /* slices at offset 0: inside the header */
    unsigned char java[16] = {0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52};
    assert_false(cs_macho_is_fat(java, sizeof java));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_load_commands),
        cmocka_unit_test(refuses_damage),
        cmocka_unit_test(fat_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
