#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chainsweep/chainsweep.h"
#include "engine/engine.h"

static void thor_formula(void **state)
{
    (void)state;
    int a[] = {70, 70, 50, 40, 40}; /* Loki-RS docs: 84.20 */
    assert_int_equal(cs_score_combine(a, 5), 84);
    int b[] = {40, 70, 50, 70, 40}; /* order does not matter */
    assert_int_equal(cs_score_combine(b, 5), 84);
    int c[] = {75};
    assert_int_equal(cs_score_combine(c, 1), 75);
    int d[] = {100, 100};
    assert_int_equal(cs_score_combine(d, 2), 100);
    assert_int_equal(cs_score_combine(NULL, 0), 0);
}

static void negative_scores_subtract(void **state)
{
    (void)state;
    int a[] = {80, -150};
    assert_int_equal(cs_score_combine(a, 2), 0);
    int b[] = {80, -20};
    assert_int_equal(cs_score_combine(b, 2), 60);
}

static void levels(void **state)
{
    (void)state;
    cs_config cfg;
    cs_config_init(&cfg);
    assert_int_equal(cs_score_level(&cfg, 39, 39), CS_LEVEL_NONE);
    assert_int_equal(cs_score_level(&cfg, 40, 40), CS_LEVEL_NOTICE);
    assert_int_equal(cs_score_level(&cfg, 60, 60), CS_LEVEL_WARNING);
    assert_int_equal(cs_score_level(&cfg, 80, 75), CS_LEVEL_ALERT);
    /* many weak reasons reach 80 but no single one is strong: warning */
    assert_int_equal(cs_score_level(&cfg, 84, 70), CS_LEVEL_WARNING);
    cfg.alert_level = 90;
    assert_int_equal(cs_score_level(&cfg, 85, 85), CS_LEVEL_WARNING);
}

/* --cpu-limit's arithmetic: sleep until CPU time is at most limit% of the wall time */
static void throttle_arithmetic(void **state)
{
    (void)state;
    assert_true(cs_throttle_delay(50, 1.0, 1.0) > 0.99 && cs_throttle_delay(50, 1.0, 1.0) < 1.01); /* 1 s CPU: 2 s wall */
    assert_true(cs_throttle_delay(10, 0.5, 1.0) > 3.99 && cs_throttle_delay(10, 0.5, 1.0) < 4.01);
    assert_true(cs_throttle_delay(50, 1.0, 3.0) == 0);  /* already below the limit */
    assert_true(cs_throttle_delay(100, 1.0, 0.5) == 0); /* no limit */
    assert_true(cs_throttle_delay(0, 1.0, 0.5) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(throttle_arithmetic),
        cmocka_unit_test(thor_formula),
        cmocka_unit_test(negative_scores_subtract),
        cmocka_unit_test(levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
