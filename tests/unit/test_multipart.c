/* multipart/form-data as each Thunderstorm collector sends it (bodies built
 * after the requests recorded in ../shared/intel/thunderstorm-api.md), and
 * damaged bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "chainsweep/service.h"

static int find(const char *body, const char *boundary, cs_multipart_file *f, const char **why)
{
    return cs_multipart_find_file((const unsigned char *)body, strlen(body), boundary, f, why);
}

static void test_boundary(void **state)
{
    (void)state;
    char b[80];
    assert_int_equal(cs_multipart_boundary("multipart/form-data; boundary=------------------------d74496d66958873e", b, sizeof b), 0);
    assert_string_equal(b, "------------------------d74496d66958873e");
    /* PowerShell's quoted GUID */
    assert_int_equal(cs_multipart_boundary("multipart/form-data; boundary=\"a1b2-c3\"", b, sizeof b), 0);
    assert_string_equal(b, "a1b2-c3");
    assert_int_equal(cs_multipart_boundary("multipart/form-data;BOUNDARY=xYzZY; charset=x", b, sizeof b), 0);
    assert_string_equal(b, "xYzZY");
    assert_int_equal(cs_multipart_boundary("multipart/form-data", b, sizeof b), -1);
    assert_int_equal(cs_multipart_boundary("multipart/form-data; boundary=", b, sizeof b), -1);
    assert_int_equal(cs_multipart_boundary("multipart/form-data; boundary=\"open", b, sizeof b), -1);
    char long_b[128];
    snprintf(long_b, sizeof long_b, "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(cs_multipart_boundary(long_b, b, sizeof b), -1);
}

static void test_clients(void **state)
{
    (void)state;
    cs_multipart_file f;
    const char *why = NULL;
    /* curl (bash collector): absolute path, quotes as %22 */
    assert_int_equal(find("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/data/quo%22te.txt\"\r\n"
                          "Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n", "XX", &f, &why), 0);
    assert_string_equal(f.filename, "/data/quo\"te.txt");
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.data, "hello", 5);
    /* python: a raw quote inside */
    assert_int_equal(find("--u\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/data/quo\"te.txt\"\r\n\r\nx\r\n--u--",
                          "u", &f, &why), 0);
    assert_string_equal(f.filename, "/data/quo\"te.txt");
    /* Go and perl: \" */
    assert_int_equal(find("--g\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a\\\"b.exe\"\r\n\r\nMZ\r\n--g--",
                          "g", &f, &why), 0);
    assert_string_equal(f.filename, "a\"b.exe");
    /* PowerShell: raw Windows path */
    assert_int_equal(find("--G\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\Users\\max\\clean.txt\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\nabc\r\n--G--\r\n", "G", &f, &why), 0);
    assert_string_equal(f.filename, "C:\\Users\\max\\clean.txt");
    /* LF line ends, a preamble, the file as the second part, an epilogue */
    assert_int_equal(find("preamble\n--b\nContent-Disposition: form-data; name=\"other\"\n\nzzz\n--b\n"
                          "Content-Disposition: form-data; name=\"file\"; filename=\"x\"\n\nDATA\n--b--\nepilogue",
                          "b", &f, &why), 0);
    assert_int_equal(f.parts, 2);
    assert_int_equal(f.len, 4);
    assert_memory_equal(f.data, "DATA", 4);
    /* no file name: "" */
    assert_int_equal(find("--b\r\nContent-Disposition: form-data; name=file\r\n\r\nDATA\r\n--b--", "b", &f, &why), 0);
    assert_string_equal(f.filename, "");
    /* an empty file */
    assert_int_equal(find("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e\"\r\n\r\n\r\n--b--", "b", &f, &why), 0);
    assert_int_equal(f.len, 0);
}

static void test_binary(void **state)
{
    (void)state;
    /* the delimiter's text inside the content, not at a line start; NULs; CRs */
    static const unsigned char body[] = "--q\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\n"
                                        "a--q\0\r--qb\r\nc\r\n--q--\r\n";
    cs_multipart_file f;
    const char *why;
    assert_int_equal(cs_multipart_find_file(body, sizeof body - 1, "q", &f, &why), 0);
    assert_int_equal(f.len, 13);
    assert_memory_equal(f.data, "a--q\0\r--qb\r\nc", 13);
}

static void test_damaged(void **state)
{
    (void)state;
    cs_multipart_file f;
    const char *why = NULL;
    assert_int_equal(find("", "b", &f, &why), -1);
    assert_int_equal(find("no delimiter here", "b", &f, &why), -1);
    assert_string_equal(why, "no multipart delimiter in the body");
    assert_int_equal(find("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ntruncated", "b", &f, &why), -1);
    assert_non_null(strstr(why, "closing delimiter"));
    assert_int_equal(find("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n", "b", &f, &why), -1);
    assert_int_equal(find("--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--", "b", &f, &why), -1);
    assert_string_equal(why, "no part named \"file\"");
    assert_int_equal(find("--bX\r\n\r\nx\r\n--b--", "b", &f, &why), -1);
    assert_int_equal(find("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--", "", &f, &why), -1);
    /* thousands of parts, none named file: bounded, answered */
    static char many[400000];
    size_t k = 0;
    for (int i = 0; i < 5000; i++)
        k += (size_t)snprintf(many + k, sizeof many - k, "--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\n\r\n");
    snprintf(many + k, sizeof many - k, "--b--");
    assert_int_equal(find(many, "b", &f, &why), -1);
    /* too many header lines */
    k = (size_t)snprintf(many, sizeof many, "--b\r\n");
    for (int i = 0; i < 100; i++)
        k += (size_t)snprintf(many + k, sizeof many - k, "X-H: %d\r\n", i);
    snprintf(many + k, sizeof many - k, "\r\nx\r\n--b--");
    assert_int_equal(find(many, "b", &f, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_clients),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
