/* The public similarity API: an index built in memory, searched with and
 * without the lengths, and the options' checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chainsweep/similarity.h"

/* One body, two lengths: the lvalue (the header's second byte, nibbles
 * swapped) 0x50 and 0x57, seven steps apart (84 with the lengths). */
#define BODY "6D47B8E2A9B9C17285349AE79DA69B36786003103FB7748493B43F07F542F846F9"
#define AT_50 "T1EC05" BODY
#define AT_57 "T1EC75" BODY

typedef struct found {
    int n, distance[4];
} found;

static int on_hit(void *ud, const cs_sim_ref *r, int distance)
{
    found *f = ud;
    (void)r;
    if (f->n < 4)
        f->distance[f->n] = distance;
    f->n++;
    return 0;
}

static cs_sim_index *two_lengths(void)
{
    cs_sim_builder *b = NULL;
    cs_error err;
    assert_int_equal(cs_sim_builder_new(&b, &err), CS_OK);
    cs_sim_ref r = {.tlsh = AT_57, .score = 80, .label = "padded"};
    assert_int_equal(cs_sim_builder_add(b, &r, &err), CS_OK);
    cs_sim_index *ix = NULL;
    assert_int_equal(cs_sim_index_build(b, &ix, &err), CS_OK);
    cs_sim_builder_free(b);
    return ix;
}

static void lengths_count_unless_ignored(void **state)
{
    (void)state;
    cs_sim_index *ix = two_lengths();
    cs_error err;
    found f = {0};
    assert_int_equal(cs_sim_index_search(ix, AT_50, 70, on_hit, &f, &err), CS_OK);
    assert_int_equal(f.n, 0); /* 7 steps of 12 */
    cs_sim_search_opts o = CS_SIM_SEARCH_OPTS_INIT;
    assert_int_equal(o.max_distance, 70);
    o.ignore_length = 1;
    assert_int_equal(cs_sim_index_search_opts(ix, AT_50, &o, on_hit, &f, &err), CS_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.distance[0], 0);
    cs_sim_index_close(ix);
}

static void options_are_checked(void **state)
{
    (void)state;
    cs_sim_index *ix = two_lengths();
    cs_error err;
    found f = {0};
    cs_sim_search_opts o = CS_SIM_SEARCH_OPTS_INIT;
    o.version = CS_SIM_SEARCH_OPTS_VERSION + 1;
    assert_int_equal(cs_sim_index_search_opts(ix, AT_50, &o, on_hit, &f, &err), CS_ERR_ARG);
    assert_non_null(strstr(err.message, "options version"));
    assert_int_equal(cs_sim_index_search_opts(ix, AT_50, NULL, on_hit, &f, &err), CS_ERR_ARG);
    o = (cs_sim_search_opts)CS_SIM_SEARCH_OPTS_INIT;
    o.max_distance = 301;
    assert_int_equal(cs_sim_index_search_opts(ix, AT_50, &o, on_hit, &f, &err), CS_ERR_ARG);
    o.max_distance = 30;
    assert_int_equal(cs_sim_index_search_opts(ix, "T1XYZ", &o, on_hit, &f, &err), CS_ERR_ARG);
    assert_int_equal(f.n, 0);
    cs_sim_index_close(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lengths_count_unless_ignored),
        cmocka_unit_test(options_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
