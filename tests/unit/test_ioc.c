#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "format/ioc.h"

static void classify_by_tags(void **state)
{
    (void)state;
    assert_int_equal(cs_ioc_classify("hash-iocs.txt"), CS_IOC_HASH);
    assert_int_equal(cs_ioc_classify("my-hashes.txt"), CS_IOC_HASH);
    assert_int_equal(cs_ioc_classify("falsepositive-hashes.txt"), CS_IOC_GOOD_HASH);
    assert_int_equal(cs_ioc_classify("trusted-hash-list.txt"), CS_IOC_GOOD_HASH);
    assert_int_equal(cs_ioc_classify("filename-iocs.txt"), CS_IOC_FILENAME);
    assert_int_equal(cs_ioc_classify("c2-iocs.txt"), CS_IOC_C2);
    assert_int_equal(cs_ioc_classify("mysource-c2-iocs.txt"), CS_IOC_C2);
    assert_int_equal(cs_ioc_classify("myc2iocs.txt"), CS_IOC_NONE); /* THOR: needs a word */
    assert_int_equal(cs_ioc_classify("keywords.txt"), CS_IOC_NONE);
    assert_int_equal(cs_ioc_classify("hash-iocs.csv"), CS_IOC_NONE);
}

static void hash_two_and_three_columns(void **state)
{
    (void)state;
    cs_hash_line h;
    const char *why = NULL;
    char l1[] = "0eeb1c0133eb4d571178b2d9d14ce3e9;3CX MSI";
    assert_int_equal(cs_parse_hash_line(l1, &h, &why), CS_LINE_OK);
    assert_int_equal(h.digest_len, 16);
    assert_int_equal(h.score, 100);
    assert_string_equal(h.description, "3CX MSI");
    assert_int_equal(h.digest[0], 0x0e);

    char l2[] = "BFECB8CE89A312D2EF4AFC64A63847AE11C6F69E;60;desc; with ; semicolons";
    assert_int_equal(cs_parse_hash_line(l2, &h, &why), CS_LINE_OK);
    assert_int_equal(h.digest_len, 20);
    assert_int_equal(h.score, 60);
    assert_string_equal(h.description, "desc; with ; semicolons");

    char l3[] = "59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983;a;b";
    assert_int_equal(cs_parse_hash_line(l3, &h, &why), CS_LINE_OK);
    assert_int_equal(h.digest_len, 32);
    assert_int_equal(h.score, 100);
    assert_string_equal(h.description, "a;b");
}

static void hash_malformed(void **state)
{
    (void)state;
    cs_hash_line h;
    const char *why = NULL;
    char bad_len[] = "0eeb1c01;x";
    assert_int_equal(cs_parse_hash_line(bad_len, &h, &why), CS_LINE_BAD);
    assert_non_null(why);
    char bad_hex[] = "zzeb1c0133eb4d571178b2d9d14ce3e9;x";
    assert_int_equal(cs_parse_hash_line(bad_hex, &h, &why), CS_LINE_BAD);
    /* a score out of range is an error, never wrapped or taken as text */
    char big[] = "0eeb1c0133eb4d571178b2d9d14ce3e9;2147483648;desc";
    assert_int_equal(cs_parse_hash_line(big, &h, &why), CS_LINE_BAD);
    assert_string_equal(why, "score out of range (-1000..1000)");
    char huge[] = "0eeb1c0133eb4d571178b2d9d14ce3e9;99999999999999999999999;desc";
    assert_int_equal(cs_parse_hash_line(huge, &h, &why), CS_LINE_BAD);
    char neg[] = "0eeb1c0133eb4d571178b2d9d14ce3e9;-5;desc";
    assert_int_equal(cs_parse_hash_line(neg, &h, &why), CS_LINE_OK);
    assert_int_equal(h.score, -5); /* like filename IOCs: a negative score lowers the total */
    assert_string_equal(h.description, "desc");
}

static void hash_trivial(void **state)
{
    (void)state;
    cs_hash_line h;
    const char *why;
    char empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855;WannaCry";
    assert_int_equal(cs_parse_hash_line(empty, &h, &why), CS_LINE_OK);
    assert_true(cs_hash_is_trivial(h.digest, h.digest_len));
    char nl[] = "68b329da9893e34099c7d8ad5cb9c940";
    assert_int_equal(cs_parse_hash_line(nl, &h, &why), CS_LINE_OK);
    assert_true(cs_hash_is_trivial(h.digest, h.digest_len));
    char real[] = "0eeb1c0133eb4d571178b2d9d14ce3e9";
    assert_int_equal(cs_parse_hash_line(real, &h, &why), CS_LINE_OK);
    assert_false(cs_hash_is_trivial(h.digest, h.digest_len));
}

static void filename_lines(void **state)
{
    (void)state;
    cs_filename_line f;
    const char *why = NULL;
    char l1[] = "\\\\ProgramData\\\\TPM\\\\winscard\\.dll$;80";
    assert_int_equal(cs_parse_filename_line(l1, &f, &why), CS_LINE_OK);
    assert_int_equal(f.score, 80);
    assert_null(f.fp_regex);
    char l2[] = "\\\\bin\\\\nmap\\.exe;-150;\\\\Program Files\\\\";
    assert_int_equal(cs_parse_filename_line(l2, &f, &why), CS_LINE_OK);
    assert_int_equal(f.score, -150);
    assert_string_equal(f.fp_regex, "\\\\Program Files\\\\");
    char l3[] = "no-score-here";
    assert_int_equal(cs_parse_filename_line(l3, &f, &why), CS_LINE_BAD);
    char l4[] = "abc;high";
    assert_int_equal(cs_parse_filename_line(l4, &f, &why), CS_LINE_BAD);
    char l5[] = ";50";
    assert_int_equal(cs_parse_filename_line(l5, &f, &why), CS_LINE_BAD);
}

static void posix_rewrite(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
        int plain;
    } cases[] = {
        {"\\\\Windows\\\\System32\\\\wlbsctrl\\.dll$", "/Windows/System32/wlbsctrl\\.dll$", 0},
        {"%SystemRoot%\\\\x\\.exe", "/Windows/x\\.exe", 0},
        {"C:\\\\Temp\\\\a\\.exe", "/Temp/a\\.exe", 0},
        {"ABC:def", "ABC:def", 1},
        {"sekurlsa", "sekurlsa", 1},
        {"%20Transfer%", "%20Transfer%", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cs_buf b = {0};
        int plain = -1;
        cs_filename_regex_for_posix(cases[i].in, &b, &plain);
        assert_string_equal(b.data, cases[i].out);
        assert_int_equal(plain, cases[i].plain);
        cs_buf_free(&b);
    }
}

static void c2_lines(void **state)
{
    (void)state;
    cs_c2_line c;
    const char *why = NULL;
    char l1[] = "MSStorageAzure.com";
    assert_int_equal(cs_parse_c2_line(l1, &c, &why), CS_LINE_OK);
    assert_string_equal(c.value, "msstorageazure.com");
    assert_int_equal(c.score, 100);
    assert_false(c.is_ip);
    char l2[] = "192.168.10.1;75";
    assert_int_equal(cs_parse_c2_line(l2, &c, &why), CS_LINE_OK);
    assert_true(c.is_ip);
    assert_int_equal(c.score, 75);
    char l3[] = "a.b";
    assert_int_equal(cs_parse_c2_line(l3, &c, &why), CS_LINE_BAD);
    char l4[] = "10.0.0.0/8";
    assert_int_equal(cs_parse_c2_line(l4, &c, &why), CS_LINE_BAD);
    char l5[] = "evil.com;x";
    assert_int_equal(cs_parse_c2_line(l5, &c, &why), CS_LINE_BAD);
}

static void line_iterator_keeps_comment(void **state)
{
    (void)state;
    char text[] = "# first\n\na\r\n  # second  \nb\nc";
    cs_line_iter it;
    cs_line_iter_init(&it, text, strlen(text));
    char *l = cs_line_iter_next(&it);
    assert_string_equal(l, "a");
    assert_string_equal(it.comment, "first");
    assert_int_equal(it.lineno, 3);
    l = cs_line_iter_next(&it);
    assert_string_equal(l, "b");
    assert_string_equal(it.comment, "second");
    l = cs_line_iter_next(&it);
    assert_string_equal(l, "c");
    assert_int_equal(it.lineno, 6);
    assert_null(cs_line_iter_next(&it));
}

static void signer_lines(void **state)
{
    (void)state;
    cs_signer_line sl;
    const char *why = NULL;
    char l1[] = "00 85 38 A6 C5 01 8F 50 FC;Go Daddy Secure Certificate Authority - G2;;75;X_TRADER";
    assert_int_equal(cs_parse_signer_line(l1, &sl, &why), CS_LINE_OK);
    assert_string_equal(sl.serial, "8538a6c5018f50fc");
    assert_string_equal(sl.issuer, "Go Daddy Secure Certificate Authority - G2");
    assert_string_equal(sl.thumbprint, "");
    assert_int_equal(sl.score, 75);
    assert_string_equal(sl.description, "X_TRADER");
    char l2[] = "1b:66:11:df;;AA BB CC DD EE FF 00 11 22 33 44 55 66 77 88 99 aa bb cc dd;70";
    assert_int_equal(cs_parse_signer_line(l2, &sl, &why), CS_LINE_OK);
    assert_string_equal(sl.thumbprint, "aabbccddeeff00112233445566778899aabbccdd");
    assert_string_equal(sl.description, "");
    char l3[] = "xyz;;;70";
    assert_int_equal(cs_parse_signer_line(l3, &sl, &why), CS_LINE_BAD);
    char l4[] = "1b66;;abcd;70";
    assert_int_equal(cs_parse_signer_line(l4, &sl, &why), CS_LINE_BAD);
    char l5[] = "1b66;issuer";
    assert_int_equal(cs_parse_signer_line(l5, &sl, &why), CS_LINE_BAD);
    /* an Apple Team ID in place of the serial */
    char l6[] = "TEAM: 33CF4654HL ;;;70;3CX macOS";
    assert_int_equal(cs_parse_signer_line(l6, &sl, &why), CS_LINE_OK);
    assert_string_equal(sl.team, "33CF4654HL");
    assert_string_equal(sl.serial, "");
    assert_int_equal(sl.score, 70);
    char l7[] = "team:33CF-4654;;;70";
    assert_int_equal(cs_parse_signer_line(l7, &sl, &why), CS_LINE_BAD);
    char l8[] = "team:;;;70";
    assert_int_equal(cs_parse_signer_line(l8, &sl, &why), CS_LINE_BAD);
    cs_hash_line hl;
    char a1[] = "authentihash:E482004F7466BB3F1DBA6A91DAD5D8741EF5572587EC9F0895B607BFA4B8180D;80;x";
    assert_int_equal(cs_parse_hash_line(a1, &hl, &why), CS_LINE_OK);
    assert_true(hl.authentihash);
    assert_int_equal(hl.digest_len, 32);
    assert_int_equal(hl.score, 80);
    char a2[] = "authentihash:d41d8cd98f00b204e9800998ecf8427f;x";
    assert_int_equal(cs_parse_hash_line(a2, &hl, &why), CS_LINE_BAD);
    char a3[] = "e482004f7466bb3f1dba6a91dad5d8741ef5572587ec9f0895b607bfa4b8180d;x";
    assert_int_equal(cs_parse_hash_line(a3, &hl, &why), CS_LINE_OK);
    assert_false(hl.authentihash);
    char t1[] = "T110452A56F6788375D073C0B9C5D2AB9AEE72308517308ACB1246876D3F17BE6863A731;90;ref";
    assert_int_equal(cs_parse_hash_line(t1, &hl, &why), CS_LINE_OK);
    assert_true(hl.tlsh);
    assert_int_equal(hl.score, 90);
    char t2[] = "T110452A56F6788375D073C0B9C5D2AB9AEE72308517308ACB1246876D3F17BE6863A73Z;90;ref";
    assert_int_equal(cs_parse_hash_line(t2, &hl, &why), CS_LINE_BAD);
    char l9[] = "1b66;;;70";
    assert_int_equal(cs_parse_signer_line(l9, &sl, &why), CS_LINE_OK);
    assert_string_equal(sl.team, "");
    char out[8];
    assert_int_equal(cs_serial_normalize("00:00", out, sizeof out), 0);
    assert_string_equal(out, "0");
    assert_int_not_equal(cs_serial_normalize("0123456789abcdef", out, sizeof out), 0);
    assert_int_equal(cs_ioc_classify("signers.txt"), CS_IOC_SIGNERS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_by_tags),
        cmocka_unit_test(hash_two_and_three_columns),
        cmocka_unit_test(hash_malformed),
        cmocka_unit_test(hash_trivial),
        cmocka_unit_test(filename_lines),
        cmocka_unit_test(posix_rewrite),
        cmocka_unit_test(c2_lines),
        cmocka_unit_test(line_iterator_keeps_comment),
        cmocka_unit_test(signer_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
