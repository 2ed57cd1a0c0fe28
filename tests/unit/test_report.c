#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chainsweep/report.h"

static cs_result sample(const char *path)
{
    static const unsigned char data[] = {'a', 0x00, 0xff, '"'};
    static cs_match m = {"$s1", 16, data, sizeof data};
    static cs_reason r[2];
    r[0] = (cs_reason){"yara", "Rule_X", "desc, with \"quotes\"", "Someone", "https://example", 80, &m, 1};
    r[1] = (cs_reason){"filename", "evil\\.exe", "", NULL, NULL, 50, NULL, 0};
    cs_result res;
    memset(&res, 0, sizeof res);
    res.kind = CS_RECORD_FILE;
    res.path = path;
    res.size = 4;
    res.filetype = "EXE";
    res.has_sha256 = 1;
    res.score = 90;
    res.level = CS_LEVEL_ALERT;
    res.reasons = r;
    res.n_reasons = 2;
    return res;
}

static void json_finding(void **state)
{
    (void)state;
    cs_report_opts o = {CS_FORMAT_JSON, 0, CS_LEVEL_NOTICE, 0, "host1", 0};
    cs_result r = sample("/tmp/bad\xff\xfename.exe");
    cs_text t;
    cs_report_result(&o, &r, &t);
    json_error_t je;
    json_t *j = json_loads(t.data, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "finding");
    assert_int_equal(json_integer_value(json_object_get(j, "schema")), CS_OUTPUT_SCHEMA);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "alert");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/tmp/bad\\xff\\xfename.exe");
    /* base64 of the raw bytes: lossless */
    assert_string_equal(json_string_value(json_object_get(j, "path_b64")), "L3RtcC9iYWT//m5hbWUuZXhl");
    json_t *reasons = json_object_get(j, "reasons");
    assert_int_equal(json_array_size(reasons), 2);
    json_t *r0 = json_array_get(reasons, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "author")), "Someone");
    json_t *m0 = json_array_get(json_object_get(r0, "matches"), 0);
    assert_string_equal(json_string_value(json_object_get(m0, "hex")), "6100ff22");
    assert_int_equal(json_integer_value(json_object_get(m0, "offset")), 16);
    assert_true(json_is_null(json_object_get(json_array_get(reasons, 1), "author")));
    json_decref(j);
    cs_text_free(&t);

    r = sample("/tmp/ok.exe");
    cs_report_result(&o, &r, &t);
    j = json_loads(t.data, 0, &je);
    assert_null(json_object_get(j, "path_b64"));
    json_decref(j);
    cs_text_free(&t);
}

static void below_min_level_is_silent(void **state)
{
    (void)state;
    cs_report_opts o = {CS_FORMAT_TEXT, 0, CS_LEVEL_ALERT, 0, NULL, 0};
    cs_result r = sample("/x");
    r.level = CS_LEVEL_WARNING;
    cs_text t;
    cs_report_result(&o, &r, &t);
    assert_int_equal(t.len, 0);
    cs_text_free(&t);
    r.kind = CS_RECORD_ERROR;
    r.error = "cannot open: Permission denied";
    cs_report_result(&o, &r, &t);
    assert_non_null(strstr(t.data, "[ERROR] /x: cannot open"));
    cs_text_free(&t);
}

static void csv_quoting(void **state)
{
    (void)state;
    cs_report_opts o = {CS_FORMAT_CSV, 0, CS_LEVEL_NOTICE, 0, NULL, 0};
    cs_result r = sample("/tmp/a,b\"c.exe");
    cs_text t;
    cs_report_header(&o, &t);
    assert_string_equal(t.data, "level,score,path,filetype,size,md5,sha1,sha256,reasons\r\n");
    cs_text_free(&t);
    cs_report_result(&o, &r, &t);
    const char *want = "alert,90,\"/tmp/a,b\"\"c.exe\",EXE,4,,,0000";
    assert_int_equal(strncmp(t.data, want, strlen(want)), 0);
    assert_non_null(strstr(t.data, "\"yara Rule_X (80): desc, with \"\"quotes\"\" [author: Someone] | filename"));
    assert_int_equal(t.data[t.len - 2], '\r');
    cs_text_free(&t);
    /* found by fuzz_report: an empty path rendered nothing and crashed */
    r = sample("");
    cs_report_result(&o, &r, &t);
    assert_int_equal(strncmp(t.data, "alert,90,,EXE", 13), 0);
    cs_text_free(&t);
}

static void text_escapes_control_bytes(void **state)
{
    (void)state;
    cs_report_opts o = {CS_FORMAT_TEXT, 0, CS_LEVEL_NOTICE, 0, NULL, 0};
    cs_result r = sample("/tmp/\x1b[31mred");
    cs_text t;
    cs_report_result(&o, &r, &t);
    assert_null(strchr(t.data, 0x1b));
    assert_non_null(strstr(t.data, "/tmp/\\x1b[31mred"));
    assert_non_null(strstr(t.data, "$s1 @ 0x10: 'a\\x00\\xff\"'"));
    cs_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_finding),
        cmocka_unit_test(below_min_level_is_silent),
        cmocka_unit_test(csv_quoting),
        cmocka_unit_test(text_escapes_control_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
