/* PE parser on hand-built headers: the good case and every kind of damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chainsweep/authenticode.h"
#include "format/pe.h"

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

/* A PE32+ with one section at 0x200 (0x200 bytes) and a certificate
 * directory entry pointing at cert_off/cert_size. */
static size_t build(unsigned char *b, size_t cap, uint32_t cert_off, uint32_t cert_size)
{
    memset(b, 0, cap);
    b[0] = 'M', b[1] = 'Z';
    put32(b + 0x3c, 0x40);
    memcpy(b + 0x40, "PE\0\0", 4);
    unsigned char *fh = b + 0x44;
    put16(fh, 0x8664);
    put16(fh + 2, 1);
    put32(fh + 4, 0x60000000);
    put16(fh + 16, 240);
    unsigned char *oh = b + 0x58;
    put16(oh, 0x20b);
    put32(oh + 16, 0x1000);
    put32(oh + 32, 0x1000);
    put32(oh + 36, 0x200);
    put32(oh + 56, 0x2000);
    put32(oh + 60, 0x200);
    put32(oh + 108, 16);
    put32(oh + 112 + 8 * 4, cert_off);
    put32(oh + 112 + 8 * 4 + 4, cert_size);
    unsigned char *sh = oh + 240;
    memcpy(sh, ".text", 5);
    put32(sh + 8, 0x200);
    put32(sh + 12, 0x1000);
    put32(sh + 16, 0x200);
    put32(sh + 20, 0x200);
    return 0x400;
}

static void parses_good_headers(void **state)
{
    (void)state;
    unsigned char b[0x400];
    size_t n = build(b, sizeof b, 0, 0);
    cs_pe pe;
    const char *why = NULL;
    assert_int_equal(cs_pe_parse(b, n, &pe, &why), CS_PE_OK);
    assert_true(pe.pe32plus);
    assert_int_equal(pe.machine, 0x8664);
    assert_int_equal(pe.n_sections, 1);
    assert_int_equal(pe.timestamp, 0x60000000);
    assert_int_equal(pe.checksum_offset, 0x58 + 64);
    assert_int_equal(pe.certdir_offset, 0x58 + 144);
    assert_int_equal(pe.end_of_sections, 0x400);
    cs_pe_section s;
    cs_pe_section_get(&pe, 0, &s);
    assert_string_equal(s.name, ".text");
    size_t off;
    assert_int_equal(cs_pe_rva_to_offset(&pe, 0x1010, &off), 0);
    assert_int_equal(off, 0x210);
    assert_int_equal(cs_pe_rva_to_offset(&pe, 0x5000, &off), -1);
}

static void rejects_damage(void **state)
{
    (void)state;
    unsigned char b[0x400];
    cs_pe pe;
    const char *why = NULL;
    size_t n = build(b, sizeof b, 0, 0);
    assert_int_equal(cs_pe_parse(b, 10, &pe, &why), CS_PE_NOT_PE);
    put32(b + 0x3c, 0xfffffff0); /* e_lfanew past the end, and overflowing */
    assert_int_equal(cs_pe_parse(b, n, &pe, &why), CS_PE_NOT_PE);
    n = build(b, sizeof b, 0, 0);
    assert_int_equal(cs_pe_parse(b, 0x100, &pe, &why), CS_PE_TRUNCATED); /* section table cut */
    put16(b + 0x58, 0x999);
    assert_int_equal(cs_pe_parse(b, n, &pe, &why), CS_PE_BAD_HEADER);
    n = build(b, sizeof b, 0, 0);
    put16(b + 0x44 + 2, 0xffff); /* 65535 sections */
    assert_int_equal(cs_pe_parse(b, n, &pe, &why), CS_PE_TRUNCATED);
    n = build(b, sizeof b, 0, 0);
    put16(b + 0x44 + 16, 0xfff0); /* optional header larger than the file */
    assert_int_equal(cs_pe_parse(b, n, &pe, &why), CS_PE_TRUNCATED);
    assert_non_null(why);
}

static void verifier_on_damaged_tables(void **state)
{
    (void)state;
    unsigned char b[0x500];
    cs_ac_report *r;
    cs_error err;
    /* unsigned */
    size_t n = build(b, sizeof b, 0, 0);
    assert_int_equal(cs_authenticode_verify(b, n, NULL, 0, &r, &err), CS_OK);
    assert_int_equal(r->verdict, CS_AC_UNSIGNED);
    cs_ac_report_free(r);
    /* table past the end */
    n = build(b, sizeof b, 0x400, 0x1000);
    assert_int_equal(cs_authenticode_verify(b, n, NULL, 0, &r, &err), CS_OK);
    assert_int_equal(r->verdict, CS_AC_TAMPERED);
    assert_int_equal(r->findings[0].issue, CS_AC_MALFORMED_TABLE);
    cs_ac_report_free(r);
    /* an entry whose dwLength exceeds the table, holding the marker */
    n = build(b, sizeof b, 0x400, 0x100);
    put32(b + 0x400, 0x5000);
    memcpy(b + 0x420, "\xfe\xed\xfa\xce\xfe\xed\xfa\xce", 8);
    assert_int_equal(cs_authenticode_verify(b, 0x500, NULL, 0, &r, &err), CS_OK);
    assert_int_equal(r->verdict, CS_AC_TAMPERED);
    int marker = 0;
    for (size_t i = 0; i < r->n_findings; i++)
        marker |= r->findings[i].issue == CS_AC_PAYLOAD_MARKER;
    assert_true(marker);
    cs_ac_report_free(r);
    /* a valid-looking entry without DER, and data after the table */
    n = build(b, sizeof b, 0x400, 0x10);
    put32(b + 0x400, 0x10);
    put16(b + 0x404, 0x200);
    put16(b + 0x406, 2);
    assert_int_equal(cs_authenticode_verify(b, 0x500, NULL, 0, &r, &err), CS_OK);
    assert_int_equal(r->verdict, CS_AC_TAMPERED);
    int overlay = 0, malformed = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        overlay |= r->findings[i].issue == CS_AC_OVERLAY_AFTER_TABLE;
        malformed |= r->findings[i].issue == CS_AC_MALFORMED_SIGNATURE;
    }
    assert_true(overlay && malformed);
    cs_ac_report_free(r);
    /* not a PE */
    assert_int_equal(cs_authenticode_verify((const unsigned char *)"hello", 5, NULL, 0, &r, &err), CS_OK);
    assert_int_equal(r->verdict, CS_AC_NOT_PE);
    cs_ac_report_free(r);
}

static void issue_table_is_complete(void **state)
{
    (void)state;
    for (int i = 0; i < CS_AC__COUNT; i++) {
        assert_true(cs_ac_issue_score((cs_ac_issue)i) > 0);
        assert_true(strlen(cs_ac_issue_name((cs_ac_issue)i)) > 0);
        assert_true(strlen(cs_ac_issue_description((cs_ac_issue)i)) > 0);
    }
    assert_true(cs_ac_issue_is_tampering(CS_AC_PAYLOAD_IN_SIGNATURE));
    assert_false(cs_ac_issue_is_tampering(CS_AC_MULTIPLE_ENTRIES));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_good_headers),
        cmocka_unit_test(rejects_damage),
        cmocka_unit_test(verifier_on_damaged_tables),
        cmocka_unit_test(issue_table_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
