/* THOR's score accumulation: 100 * (1 - prod(1 - s_i/100/2^i)) over the
 * positive sub-scores sorted descending; negative sub-scores (filename IOCs
 * that mark local false positives) are then subtracted. */
#include <math.h>
#include <stdlib.h>

#include "chainsweep/chainsweep.h"

static int by_score_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

int cs_score_combine(const int *subscores, size_t n)
{
    if (n == 0)
        return 0;
    int stackbuf[32];
    int *s = n <= 32 ? stackbuf : malloc(n * sizeof *s);
    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++)
        s[i] = subscores[i];
    qsort(s, n, sizeof *s, by_score_desc);
    double prod = 1.0, weight = 1.0;
    int negative = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] > 0) {
            double f = 1.0 - (s[i] / 100.0) * weight;
            prod *= f < 0 ? 0 : f;
            weight /= 2.0;
        } else {
            negative += s[i];
        }
    }
    if (s != stackbuf)
        free(s);
    double total = 100.0 * (1.0 - prod) + negative;
    if (total < 0)
        total = 0;
    return (int)lround(total);
}

cs_level cs_score_level(const cs_config *cfg, int score, int max_subscore)
{
    if (score >= cfg->alert_level && max_subscore >= cfg->alert_subscore)
        return CS_LEVEL_ALERT;
    if (score >= cfg->warning_level)
        return CS_LEVEL_WARNING;
    if (score >= cfg->notice_level)
        return CS_LEVEL_NOTICE;
    return CS_LEVEL_NONE;
}
