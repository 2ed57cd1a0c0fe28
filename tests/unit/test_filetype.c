#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "format/filetype.h"

static void builtin_types(void **state)
{
    (void)state;
    cs_filetypes t;
    cs_filetypes_init(&t);
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"MZ\x90\x00", 4), "EXE");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"\x7f" "ELF\x02", 5), "ELF");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"\xcf\xfa\xed\xfe\x07", 5), "MACH-O");
    /* CA FE BA BE: a fat Mach-O has a small arch count, a Java class a version >= 45 */
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"\xca\xfe\xba\xbe\x00\x00\x00\x02", 8), "MACH-O");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"\xca\xfe\xba\xbe\x00\x00\x00\x34", 8), "JAVA");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"<?php echo", 10), "PHP");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"<%@ Page", 8), "ASP"); /* longest prefix */
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"<% x", 4), "JSP");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"#!/bin/sh", 9), "UNIX SCRIPT");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"PK\x03\x04", 4), "ZIP");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"hello", 5), "UNKNOWN");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"", 0), "UNKNOWN");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"M", 1), "UNKNOWN");
    cs_filetypes_free(&t);
}

static void msi_by_root_clsid(void **state)
{
    (void)state;
    static unsigned char f[1536];
    memset(f, 0, sizeof f);
    memcpy(f, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
    f[0x1e] = 9;      /* 512-byte sectors */
    f[0x30] = 1;      /* first directory sector: 1 -> offset (1+1)*512 */
    static const unsigned char clsid[16] = {0x84, 0x10, 0x0c, 0x00, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46};
    cs_filetypes t;
    cs_filetypes_init(&t);
    assert_string_equal(cs_filetype_detect(&t, f, sizeof f), "OLE");
    memcpy(f + 1024 + 0x50, clsid, 16);
    assert_string_equal(cs_filetype_detect(&t, f, sizeof f), "MSI");
    /* a directory offset past the end is not read */
    f[0x30] = 0xff;
    assert_string_equal(cs_filetype_detect(&t, f, sizeof f), "OLE");
    cs_filetypes_free(&t);
}

static void loaded_signatures(void **state)
{
    (void)state;
    cs_filetypes t;
    cs_filetypes_init(&t);
    const char *why = NULL;
    char l1[] = "4D 44 4D 50 93 A7;LSASS Dump File";
    assert_int_equal(cs_filetypes_add_line(&t, l1, &why), 1);
    char l2[] = "4D 5A;EXE";
    assert_int_equal(cs_filetypes_add_line(&t, l2, &why), 0);
    char l3[] = "ZZ;Bad";
    assert_int_equal(cs_filetypes_add_line(&t, l3, &why), -1);
    char l4[] = "4D 5A";
    assert_int_equal(cs_filetypes_add_line(&t, l4, &why), -1);
    char l5[] = "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00;Too long";
    assert_int_equal(cs_filetypes_add_line(&t, l5, &why), -1);
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"MDMP\x93\xa7xx", 8), "LSASS Dump File");
    assert_string_equal(cs_filetype_detect(&t, (const unsigned char *)"MDMP\x00\x00", 6), "MDMP");
    cs_filetypes_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_types),
        cmocka_unit_test(msi_by_root_clsid),
        cmocka_unit_test(loaded_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
