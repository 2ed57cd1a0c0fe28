#include "format/version.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct version_cursor {
    const char *p;
    int in_numbers; /* still reading numeric segments */
} version_cursor;

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Next numeric segment as [*start, *start + *len) without leading zeros;
 * 0 when the numbers are over (missing segments then read as "0"). */
static int next_segment(version_cursor *c, const char **start, size_t *len)
{
    if (!c->in_numbers || !isdigit((unsigned char)*c->p)) {
        c->in_numbers = 0;
        return 0;
    }
    while (*c->p == '0' && isdigit((unsigned char)c->p[1]))
        c->p++;
    *start = c->p;
    while (isdigit((unsigned char)*c->p))
        c->p++;
    *len = (size_t)(c->p - *start);
    /* a separator counts only when another number follows it */
    const char *q = c->p;
    if (*q == '.' || *q == ',') {
        q = skip_spaces(q + 1);
        if (isdigit((unsigned char)*q)) {
            c->p = q;
            return 1;
        }
    }
    c->in_numbers = 0;
    return 1;
}

static int compare_numbers(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    int d = memcmp(a, b, an);
    return (d > 0) - (d < 0);
}

enum { TAIL_PRE = 0, TAIL_NONE = 1, TAIL_POST = 2 };

static int tail_kind(const char *t)
{
    static const char *const pre[] = {"alpha", "beta", "rc", "pre", "dev", "preview"};
    if (!t[strspn(t, ".,")] || *t == '+' || *t == '(')
        return TAIL_NONE; /* nothing, trailing separators, build metadata, a remark */
    if (*t == '-' || *t == '~')
        return TAIL_PRE;
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
        if (strncasecmp(t, pre[i], strlen(pre[i])) == 0)
            return TAIL_PRE;
    return TAIL_POST;
}

int cs_version_compare(const char *a, const char *b)
{
    version_cursor ca = {skip_spaces(a), 1}, cb = {skip_spaces(b), 1};
    for (;;) {
        const char *sa = "0", *sb = "0";
        size_t la = 1, lb = 1;
        int ha = next_segment(&ca, &sa, &la), hb = next_segment(&cb, &sb, &lb);
        if (!ha && !hb)
            break;
        int d = compare_numbers(sa, la, sb, lb);
        if (d)
            return d;
    }
    const char *ta = skip_spaces(ca.p), *tb = skip_spaces(cb.p);
    int ka = tail_kind(ta), kb = tail_kind(tb);
    if (ka != kb)
        return ka < kb ? -1 : 1;
    if (ka == TAIL_NONE)
        return 0;
    /* "-rc1" and "~rc1" are the same pre-release */
    ta += strspn(ta, "-~_");
    tb += strspn(tb, "-~_");
    int d = strcasecmp(ta, tb);
    return (d > 0) - (d < 0);
}

int cs_version_valid(const char *s)
{
    return s && isdigit((unsigned char)*skip_spaces(s));
}
