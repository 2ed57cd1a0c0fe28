#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/util.h"

static void escape(void **state)
{
    (void)state;
    cs_buf b = {0};
    cs_escape_bytes(&b, (const unsigned char *)"ab\\\x00\xff\n", 6);
    assert_string_equal(b.data, "ab\\\\\\x00\\xff\\x0a");
    cs_buf_free(&b);
}

static void hex_roundtrip(void **state)
{
    (void)state;
    unsigned char in[4] = {0x00, 0x7f, 0xab, 0xff}, out[4];
    char hex[9];
    cs_hex(hex, in, 4);
    assert_string_equal(hex, "007fabff");
    assert_int_equal(cs_unhex(out, "007FABff", 4), 0);
    assert_memory_equal(in, out, 4);
    assert_int_not_equal(cs_unhex(out, "0g", 1), 0);
}

static void arena_and_buf(void **state)
{
    (void)state;
    cs_arena a = {0};
    char *s = cs_arena_strdup(&a, "hello");
    void *big = cs_arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    assert_string_equal(s, "hello");
    cs_arena_free(&a);
    cs_buf b = {0};
    for (int i = 0; i < 1000; i++)
        cs_buf_printf(&b, "%d,", i);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    cs_buf_free(&b);
    char t[] = "  \t x y \r\n";
    assert_string_equal(cs_trim(t), "x y");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escape),
        cmocka_unit_test(hex_roundtrip),
        cmocka_unit_test(arena_and_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
