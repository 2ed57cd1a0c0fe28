#include "format/yara_split.h"
#include "format/yara_lex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* ---- guards ---- */

/* Parse "uintN[be](0) == CONST" at p; returns the bytes a file must start
 * with. p is advanced past it. */
static int parse_guard(const char **pp, const char *end, unsigned char *bytes, size_t *n)
{
    const char *p = *pp;
    int bits, be = 0;
    if (end - p > 6 && strncmp(p, "uint32", 6) == 0)
        bits = 32, p += 6;
    else if (end - p > 6 && strncmp(p, "uint16", 6) == 0)
        bits = 16, p += 6;
    else if (end - p > 5 && strncmp(p, "uint8", 5) == 0)
        bits = 8, p += 5;
    else
        return -1;
    if (end - p >= 2 && strncmp(p, "be", 2) == 0)
        be = 1, p += 2;
    while (p < end && *p == ' ')
        p++;
    if (end - p < 3 || p[0] != '(' || p[1] != '0' || p[2] != ')')
        return -1;
    p += 3;
    while (p < end && *p == ' ')
        p++;
    if (end - p < 2 || p[0] != '=' || p[1] != '=')
        return -1;
    p += 2;
    while (p < end && *p == ' ')
        p++;
    char num[32];
    size_t k = 0;
    while (p < end && (isalnum((unsigned char)*p)) && k + 1 < sizeof num)
        num[k++] = *p++;
    num[k] = '\0';
    char *e;
    unsigned long long v = strtoull(num, &e, 0);
    if (!k || *e || (bits < 64 && v >> bits))
        return -1;
    size_t nb = (size_t)bits / 8;
    for (size_t i = 0; i < nb; i++)
        bytes[i] = (unsigned char)(be ? v >> (8 * (nb - 1 - i)) : v >> (8 * i));
    *n = nb;
    *pp = p;
    return 0;
}

static int word_at(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(end - p) >= n && strncmp(p, w, n) == 0 &&
           ((size_t)(end - p) == n || !(isalnum((unsigned char)p[n]) || p[n] == '_'));
}

/* "filesize OP N[KB|MB]" or "filesize OP= N..." spanning exactly [p, end),
 * OP being op ('<' or '>'): 0 with the number and whether '=' follows. */
static int parse_filesize_cmp(const char *p, const char *end, char op, int *inclusive, uint64_t *value)
{
    if (!word_at(p, end, "filesize"))
        return -1;
    p += 8;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != op)
        return -1;
    *inclusive = p + 1 < end && p[1] == '=';
    p += *inclusive ? 2 : 1;
    while (p < end && *p == ' ')
        p++;
    char num[32];
    size_t k = 0;
    while (p < end && isalnum((unsigned char)*p) && k + 1 < sizeof num)
        num[k++] = *p++;
    num[k] = '\0';
    if (p != end || !k)
        return -1;
    char *e;
    unsigned long long v = strtoull(num, &e, 0);
    if (strcmp(e, "KB") == 0)
        v *= 1024;
    else if (strcmp(e, "MB") == 0)
        v *= 1024 * 1024;
    else if (*e)
        return -1;
    *value = v;
    return 0;
}

/* "filesize < N" or "filesize <= N": the smallest size the rule cannot match. */
static int parse_size_bound(const char *p, const char *end, uint64_t *bound)
{
    int inclusive;
    uint64_t v;
    if (parse_filesize_cmp(p, end, '<', &inclusive, &v) != 0)
        return -1;
    *bound = v + (inclusive ? 1 : 0);
    return 0;
}

typedef struct guards {
    unsigned char bytes[4];
    size_t n;
    uint64_t max_size;
    uint64_t min_size;  /* a conjunct that no file smaller than this satisfies */
} guards;

/* "[u]intN[be](K) CMP ...": a read past the end is undefined, and so is
 * any comparison with it (measured with libyara 4.2: even "!="), so the
 * file needs K + N/8 bytes. 0 when the leaf is not such a comparison. */
static uint64_t read_min_size(const char *p, const char *end)
{
    if (end - p > 1 && *p == 'u')
        p++;
    if (!(end - p > 3 && strncmp(p, "int", 3) == 0))
        return 0;
    p += 3;
    unsigned bits = 0;
    while (p < end && isdigit((unsigned char)*p))
        bits = bits * 10 + (unsigned)(*p++ - '0');
    if (bits != 8 && bits != 16 && bits != 32)
        return 0;
    if (end - p >= 2 && strncmp(p, "be", 2) == 0)
        p += 2;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p++ != '(')
        return 0;
    while (p < end && *p == ' ')
        p++;
    char num[24];
    size_t k = 0;
    while (p < end && isalnum((unsigned char)*p) && k + 1 < sizeof num)
        num[k++] = *p++;
    num[k] = '\0';
    while (p < end && *p == ' ')
        p++;
    char *e;
    unsigned long long off = strtoull(num, &e, 0);
    if (!k || *e || p >= end || *p++ != ')' || off > UINT32_MAX)
        return 0;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || !strchr("=!<>", *p) || (*p == '=' && (p + 1 >= end || p[1] != '=')) ||
        (*p == '!' && (p + 1 >= end || p[1] != '=')))
        return 0;
    return off + bits / 8;
}

/* q at the '"' opening a text literal: its closing '"' (escapes
 * followed), or end when there is none. */
static const char *string_end(const char *q, const char *end)
{
    for (q++; q < end; q++) {
        if (*q == '\\' && q + 1 < end)
            q++;
        else if (*q == '"')
            return q;
    }
    return end;
}

/* Calls f on each word of [p, end) outside string literals (a word being
 * what follows a character that cannot continue an identifier or a field
 * access); stops at the first nonzero result and returns it. */
static int each_word(const char *p, const char *end, int (*f)(const char *q, const char *end))
{
    for (const char *q = p; q < end; q++) {
        if (*q == '"') {
            q = string_end(q, end);
            continue;
        }
        if (q > p && (isalnum((unsigned char)q[-1]) || q[-1] == '_' || q[-1] == '$' ||
                      (q[-1] == '.' && !(q - 1 > p && q[-2] == '.')))) /* a field, not the ".." of a range */
            continue;
        int r = f(q, end);
        if (r)
            return r;
    }
    return 0;
}

/* Words after which a leaf may hold on a value that is not there: a
 * negation, an alternative inside parentheses, a quantifier over nothing. */
static int is_escape_word(const char *q, const char *end)
{
    return word_at(q, end, "not") || word_at(q, end, "or") || word_at(q, end, "all") || word_at(q, end, "none") ||
           word_at(q, end, "defined");
}

/* A value of the pe module other than is_pe and its constants (upper case). */
static int is_pe_value(const char *q, const char *end)
{
    return end - q > 3 && strncmp(q, "pe.", 3) == 0 && islower((unsigned char)q[3]) && !word_at(q + 3, end, "is_pe");
}

/* On a file that is not a PE, the pe module's values are undefined and so
 * is a leaf that reads one (measured with libyara 4.2: comparisons, "not"
 * and function calls all stay undefined): it needs a PE, which has at least
 * its 64-byte DOS header. */
static uint64_t pe_min_size(const char *p, const char *end)
{
    return each_word(p, end, is_pe_value) ? 64 : 0;
}

/* "for any|N VAR in (RANGE) : (...)" with N > 0 and a pe value in RANGE:
 * an undefined range iterates over nothing, so at least one iteration
 * cannot hold (measured with libyara 4.2); the body does not matter. */
static uint64_t pe_range_min_size(const char *p, const char *end)
{
    if (!word_at(p, end, "for"))
        return 0;
    p += 3;
    while (p < end && *p == ' ')
        p++;
    if (word_at(p, end, "any")) {
        p += 3;
    } else {
        unsigned long long n = 0;
        const char *d = p;
        while (p < end && isdigit((unsigned char)*p))
            n = n * 10 + (unsigned)(*p++ - '0');
        if (p == d || n == 0 || p - d > 9)
            return 0;
    }
    while (p < end && *p == ' ')
        p++;
    while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
        p++;
    while (p < end && *p == ' ')
        p++;
    if (!word_at(p, end, "in"))
        return 0;
    p += 2;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != '(')
        return 0;
    const char *r = p + 1;
    int depth = 1;
    for (p = r; p < end && depth; p++)
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
    if (depth || each_word(r, p - 1, is_escape_word))
        return 0;
    return pe_min_size(r, p - 1);
}

/* The fewest bytes a file needs for this conjunct to hold: 1 for a string
 * that must match ("$a", "$a at 0", "any of them", "2 of ($x*)", "all of
 * them"), N+1 for "filesize > N", N for "filesize >= N"; 0 when unknown. */
static uint64_t conjunct_min_size(const char *p, const char *end)
{
    if (p < end && *p == '$') {
        const char *q = p + 1;
        while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
            q++;
        if (q > p + 1 && (q == end || word_at(q + 1, end, "at") || word_at(q + 1, end, "in")))
            return 1;
        return 0;
    }
    if (pe_range_min_size(p, end))
        return pe_range_min_size(p, end);
    if (!each_word(p, end, is_escape_word)) {
        uint64_t need = read_min_size(p, end);
        if (need || (need = pe_min_size(p, end)) != 0)
            return need;
    }
    const char *q = p;
    if (word_at(q, end, "any") || word_at(q, end, "all")) {
        q += 3;
    } else if (q < end && isdigit((unsigned char)*q)) {
        unsigned long long n = 0;
        while (q < end && isdigit((unsigned char)*q))
            n = n * 10 + (unsigned)(*q++ - '0');
        if (n == 0)
            return 0;
    } else {
        int inclusive;
        uint64_t v;
        if (parse_filesize_cmp(p, end, '>', &inclusive, &v) != 0)
            return 0;
        return inclusive ? v : v + 1;
    }
    while (q < end && *q == ' ')
        q++;
    if (!word_at(q, end, "of"))
        return 0;
    q += 2;
    while (q < end && *q == ' ')
        q++;
    /* strings ("them", "($a*)"), not a set of rules (YARA 4.3), which may match anything */
    return word_at(q, end, "them") || (end - q >= 2 && q[0] == '(' && q[1] == '$') ? 1 : 0;
}

/* Collect guards among the top-level conjuncts of [p, end) (comments
 * removed, white space single spaces). Parenthesised conjunctions recurse. */
static int find_guards(const char *p, const char *end, guards *g, int depth)
{
    if (depth > 8)
        return -1;
    /* the expression must be a pure conjunction at this level */
    int d = 0, in_str = 0;
    for (const char *q = p; q < end; q++) {
        if (*q == '"' && (q == p || q[-1] != '\\'))
            in_str = !in_str;
        else if (in_str)
            continue;
        else if (*q == '(')
            d++;
        else if (*q == ')')
            d--;
        else if (d == 0 && (q == p || !(isalnum((unsigned char)q[-1]) || q[-1] == '_')) && word_at(q, end, "or"))
            return -1;
    }
    const char *c = p;
    while (c < end) {
        while (c < end && *c == ' ')
            c++;
        const char *q = c;
        d = 0;
        in_str = 0;
        while (q < end && !(d == 0 && !in_str && q > c && q[-1] == ' ' && word_at(q, end, "and"))) {
            if (*q == '"' && (q == c || q[-1] != '\\'))
                in_str = !in_str;
            else if (!in_str && *q == '(')
                d++;
            else if (!in_str && *q == ')')
                d--;
            q++;
        }
        const char *ce = q;
        while (ce > c && ce[-1] == ' ')
            ce--;
        const char *gp = c;
        unsigned char b[4];
        size_t bn;
        uint64_t bound;
        uint64_t need = conjunct_min_size(c, ce);
        if (need > g->min_size)
            g->min_size = need;
        if (!g->n && parse_guard(&gp, ce, b, &bn) == 0 && gp == ce) {
            memcpy(g->bytes, b, bn);
            g->n = bn;
        } else if (parse_size_bound(c, ce, &bound) == 0) {
            if (!g->max_size || bound < g->max_size)
                g->max_size = bound;
        } else if (ce > c && *c == '(' && ce[-1] == ')') {
            /* a group spanning the whole conjunct */
            int dd = 0, whole = 1;
            for (const char *r = c; r < ce; r++) {
                dd += *r == '(' ? 1 : *r == ')' ? -1 : 0;
                if (dd == 0 && r < ce - 1)
                    whole = 0;
            }
            if (whole)
                find_guards(c + 1, ce - 1, g, depth + 1);
        }
        c = q < end ? q + 3 : end; /* past "and" */
    }
    return 0;
}

/* Split [p, end) at its top-level occurrences of the keyword w (outside
 * parentheses and string literals); at most cap parts; returns the count,
 * or 0 when the text holds what this reader does not follow (a regex). */
static size_t split_top(const char *p, const char *end, const char *w, const char **starts, const char **ends,
                        size_t cap)
{
    size_t n = 0, wl = strlen(w);
    int d = 0;
    const char *part = p;
    for (const char *q = p; q < end; q++) {
        if (*q == '"')
            q = string_end(q, end);
        else if (*q == '/' || *q == '\\')
            return 0; /* a regex literal: its text could hide anything */
        else if (*q == '(')
            d++;
        else if (*q == ')')
            d--;
        else if (d == 0 && (q == p || !(isalnum((unsigned char)q[-1]) || q[-1] == '_')) && word_at(q, end, w)) {
            if (n + 1 >= cap)
                return 0;
            starts[n] = part;
            ends[n++] = q;
            part = q + wl;
            q += wl - 1;
        }
    }
    starts[n] = part;
    ends[n++] = end;
    return n;
}

/* Is [p, end) one parenthesised group, "(...)", as a whole? */
static int whole_group(const char *p, const char *end)
{
    if (p >= end || *p != '(' || end[-1] != ')')
        return 0;
    int d = 0;
    for (const char *q = p; q < end; q++) {
        if (*q == '"') {
            q = string_end(q, end);
            continue;
        }
        d += *q == '(' ? 1 : *q == ')' ? -1 : 0;
        if (d == 0 && q < end - 1)
            return 0;
    }
    return 1;
}

/* A size bound of the condition [p, end): for the least size a file needs
 * (want_max 0; 0 when any file might), the least over "or" and the most
 * over "and"; for the size no matching file reaches (want_max 1; 0 when
 * unbounded), the largest over "or" (unbounded if one part is) and the
 * least over "and". Through parentheses; "not" and anything not understood
 * bound nothing. */
static uint64_t expr_size_bound(const char *p, const char *end, int want_max, int depth)
{
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    if (p >= end || depth > 16)
        return 0;
    const char *st[64], *en[64];
    size_t n = split_top(p, end, "or", st, en, 64);
    if (n == 0)
        return 0;
    if (n > 1) {
        uint64_t out = want_max ? 0 : UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            uint64_t m = expr_size_bound(st[i], en[i], want_max, depth + 1);
            if (!want_max && m < out)
                out = m;
            else if (want_max && (!m || m > out))
                out = m;
            if (!m) /* one part needs no bytes / has no bound: nor has the whole */
                return 0;
        }
        return out;
    }
    n = split_top(p, end, "and", st, en, 64);
    if (n == 0)
        return 0;
    if (n > 1) {
        uint64_t out = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t m = expr_size_bound(st[i], en[i], want_max, depth + 1);
            if (!want_max && m > out)
                out = m;
            else if (want_max && m && (!out || m < out))
                out = m;
        }
        return out;
    }
    if (word_at(p, end, "not"))
        return 0;
    if (whole_group(p, end))
        return expr_size_bound(p + 1, end - 1, want_max, depth + 1);
    if (want_max) {
        uint64_t bound;
        return parse_size_bound(p, end, &bound) == 0 ? bound : 0;
    }
    return conjunct_min_size(p, end);
}

/* Condition text without comments, strings kept, white space folded. */
static char *clean_condition(const char *s, size_t n)
{
    cs_buf b = {0};
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
            while (i < n && s[i] != '\n')
                i++;
            space = 1;
            continue;
        }
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i++;
            space = 1;
            continue;
        }
        if (isspace((unsigned char)s[i])) {
            space = 1;
            continue;
        }
        if (space && b.len)
            cs_buf_append(&b, " ", 1);
        space = 0;
        cs_buf_append(&b, s + i, 1);
    }
    if (!b.data)
        cs_buf_append(&b, "", 0);
    return b.data;
}

/* ---- rules ---- */

static int parse_rule_body(cs_yara_lexer *lx, cs_yara_rule_span *r)
{
    /* at '{' */
    int depth = 0;
    int prev_assign = 0; /* last significant token was '=' or "matches": a '/' opens a regex */
    size_t *cond_start = &r->cond_start, *cond_end = &r->cond_end;
    *cond_start = 0;
    while (lx->pos < lx->len) {
        if (cs_yl_skip_space(lx) != 0)
            return -1;
        if (lx->pos >= lx->len)
            break;
        char c = lx->s[lx->pos];
        if (c == '"') {
            if (cs_yl_skip_string(lx) != 0)
                return -1;
            prev_assign = 0;
        } else if (c == '/' && prev_assign) {
            if (cs_yl_skip_regex(lx) != 0)
                return -1;
            prev_assign = 0;
        } else if (c == '{') {
            depth++;
            lx->pos++;
            prev_assign = 0;
        } else if (c == '}') {
            depth--;
            lx->pos++;
            if (depth == 0) {
                *cond_end = lx->pos - 1;
                return *cond_start ? 0 : -1;
            }
        } else if (c == '=') {
            prev_assign = !(lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '=');
            lx->pos += prev_assign ? 1 : 2;
        } else if (isalpha((unsigned char)c) || c == '_') {
            if (depth == 1 && !r->strings_start && cs_yl_at_word(lx, "strings")) {
                size_t at = lx->pos;
                lx->pos += 7;
                cs_yl_skip_space(lx);
                if (lx->pos < lx->len && lx->s[lx->pos] == ':') {
                    lx->pos++;
                    r->strings_start = lx->pos;
                } else {
                    lx->pos = at + 7;
                }
                prev_assign = 0;
                continue;
            }
            if (depth == 1 && cs_yl_at_word(lx, "condition")) {
                if (r->strings_start && !r->strings_end)
                    r->strings_end = lx->pos;
                lx->pos += 9;
                cs_yl_skip_space(lx);
                if (lx->pos < lx->len && lx->s[lx->pos] == ':') {
                    lx->pos++;
                    *cond_start = lx->pos;
                }
                prev_assign = 0;
                continue;
            }
            prev_assign = cs_yl_at_word(lx, "matches");
            char tmp[64];
            cs_yl_read_ident(lx, tmp, sizeof tmp);
        } else {
            lx->pos++;
            prev_assign = 0;
        }
    }
    return -1;
}

static int by_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int cs_yara_split_parse(const char *text, size_t len, cs_yara_split *out)
{
    memset(out, 0, sizeof *out);
    cs_yara_lexer lx = {text, len, 0};
    size_t cap = 0, cap_s = 0, cap_e = 0;
    size_t *cond_s = NULL, *cond_e = NULL;
    int rc = 0;
    while (rc == 0) {
        if (cs_yl_skip_space(&lx) != 0) {
            rc = -1;
            break;
        }
        if (lx.pos >= len)
            break;
        size_t start = lx.pos;
        if (cs_yl_at_word(&lx, "import")) {
            lx.pos += 6;
            cs_yl_skip_space(&lx);
            size_t q = lx.pos;
            if (lx.pos >= len || lx.s[lx.pos] != '"' || cs_yl_skip_string(&lx) != 0) {
                rc = -1;
                continue;
            }
            size_t mlen = lx.pos - q >= 2 ? lx.pos - q - 2 : 0; /* between the quotes */
            cs_yara_import im = {start, lx.pos, ""};
            if (mlen && mlen < sizeof im.module) {
                memcpy(im.module, text + q + 1, mlen);
                im.module[mlen] = '\0';
                size_t cap_i = out->n_imports;
                if (cs_grow((void **)&out->imports, &cap_i, out->n_imports + 1, sizeof *out->imports) == 0)
                    out->imports[out->n_imports++] = im;
            }
            continue;
        }
        if (cs_yl_at_word(&lx, "include")) {
            rc = -1; /* included rules are not ours to split */
            out->has_include = 1;
            break;
        }
        int is_global = 0, is_private = 0;
        for (;;) {
            if (cs_yl_at_word(&lx, "private"))
                lx.pos += 7, is_private = 1;
            else if (cs_yl_at_word(&lx, "global"))
                lx.pos += 6, is_global = 1;
            else
                break;
            cs_yl_skip_space(&lx);
        }
        if (!cs_yl_at_word(&lx, "rule")) {
            rc = -1;
            break;
        }
        lx.pos += 4;
        cs_yl_skip_space(&lx);
        cs_grow((void **)&out->rules, &cap, out->n + 1, sizeof *out->rules);
        cs_grow((void **)&cond_s, &cap_s, out->n + 1, sizeof *cond_s);
        cs_grow((void **)&cond_e, &cap_e, out->n + 1, sizeof *cond_e);
        cs_yara_rule_span *r = &out->rules[out->n];
        memset(r, 0, sizeof *r);
        r->start = start;
        r->is_global = is_global;
        r->is_private = is_private;
        cs_yl_read_ident(&lx, r->name, sizeof r->name);
        cs_yl_skip_space(&lx);
        while (lx.pos < len && lx.s[lx.pos] != '{') { /* ": tags" */
            if (lx.s[lx.pos] == '"' || lx.s[lx.pos] == '/') {
                rc = -1;
                break;
            }
            lx.pos++;
        }
        if (rc != 0 || !r->name[0] || lx.pos >= len ||
            parse_rule_body(&lx, r) != 0) {
            rc = -1;
            break;
        }
        r->end = lx.pos;
        cond_s[out->n] = r->cond_start;
        cond_e[out->n] = r->cond_end;
        out->n++;
    }
    for (size_t i = 0; rc == 0 && i < out->n; i++) {
        cs_yara_rule_span *r = &out->rules[i];
        if (r->is_global) {
            rc = -1; /* a global rule gates every rule of the file */
            break;
        }
        char *cond = clean_condition(text + cond_s[i], cond_e[i] - cond_s[i]);
        guards g = {{0}, 0, 0, 0};
        if (find_guards(cond, cond + strlen(cond), &g, 0) == 0) {
            memcpy(r->guard, g.bytes, g.n);
            r->guard_len = g.n;
            r->max_size = g.max_size;
            r->min_size = g.min_size > g.n ? g.min_size : g.n;
        }
        /* size bounds also hide inside "or" groups that find_guards leaves alone */
        uint64_t need = expr_size_bound(cond, cond + strlen(cond), 0, 0);
        if (need > r->min_size)
            r->min_size = need;
        uint64_t below = expr_size_bound(cond, cond + strlen(cond), 1, 0);
        if (below && (!r->max_size || below < r->max_size))
            r->max_size = below;
        free(cond);
    }
    /* which rules each condition names (every identifier of it looked up
     * once among the rule names: one pass over each condition, not one per
     * rule); refs are the guarded ones among them: a class that keeps a
     * rule keeps those too (cs_yara_keep_referenced); unguarded ones are
     * kept anyway */
    size_t tcap = 16;
    while (tcap < 2 * out->n)
        tcap *= 2;
    size_t *table = NULL, *same = NULL, *named = NULL, n_named = 0, cap_named = 0, cap_r = 0, cap_d = 0;
    if (rc == 0) {
        table = cs_xmalloc(tcap * sizeof *table);  /* rule index + 1; 0: free */
        same = cs_xmalloc((out->n + 1) * sizeof *same); /* the other rule of that name + 1 */
        memset(table, 0, tcap * sizeof *table);
        for (size_t i = 0; i < out->n; i++) {
            const char *name = out->rules[i].name;
            size_t h = (size_t)cs_fnv1a(CS_FNV1A_INIT, name, strlen(name)) & (tcap - 1);
            while (table[h] && strcmp(out->rules[table[h] - 1].name, name) != 0)
                h = (h + 1) & (tcap - 1);
            same[i] = table[h]; /* a name used twice: both are named */
            table[h] = i + 1;
        }
    }
    for (size_t k = 0; rc == 0 && k < out->n; k++) {
        const char *c = text + cond_s[k], *ce = text + cond_e[k];
        n_named = 0;
        for (const char *q = c; q < ce;) {
            if (!(isalnum((unsigned char)*q) || *q == '_')) {
                q++;
                continue;
            }
            const char *w = q;
            while (q < ce && (isalnum((unsigned char)*q) || *q == '_'))
                q++;
            size_t wn = (size_t)(q - w);
            if (w > c && w[-1] == '$')
                continue; /* a string's name */
            size_t h = (size_t)cs_fnv1a(CS_FNV1A_INIT, w, wn) & (tcap - 1);
            while (table[h] && !(strlen(out->rules[table[h] - 1].name) == wn &&
                                 memcmp(out->rules[table[h] - 1].name, w, wn) == 0))
                h = (h + 1) & (tcap - 1);
            for (size_t i = table[h]; i; i = same[i - 1])
                if (i - 1 != k) {
                    cs_grow((void **)&named, &cap_named, n_named + 1, sizeof *named);
                    named[n_named++] = i - 1;
                }
        }
        if (n_named > 1)
            qsort(named, n_named, sizeof *named, by_index);
        out->rules[k].deps_at = out->n_deps;
        out->rules[k].refs_at = out->n_refs;
        for (size_t j = 0; j < n_named; j++) {
            if (j && named[j] == named[j - 1])
                continue;
            const cs_yara_rule_span *r = &out->rules[named[j]];
            cs_grow((void **)&out->deps, &cap_d, out->n_deps + 1, sizeof *out->deps);
            out->deps[out->n_deps++] = named[j];
            if (r->guard_len || r->max_size || r->min_size) {
                cs_grow((void **)&out->refs, &cap_r, out->n_refs + 1, sizeof *out->refs);
                out->refs[out->n_refs++] = named[j];
            }
        }
        out->rules[k].n_deps = out->n_deps - out->rules[k].deps_at;
        out->rules[k].n_refs = out->n_refs - out->rules[k].refs_at;
    }
    free(table);
    free(same);
    free(named);
    free(cond_s);
    free(cond_e);
    if (rc != 0)
        out->whole_file = 1;
    return rc;
}

void cs_yara_split_free(cs_yara_split *s)
{
    free(s->rules);
    free(s->imports);
    free(s->refs);
    free(s->deps);
    memset(s, 0, sizeof *s);
}

void cs_yara_keep_referenced(const cs_yara_split *s, unsigned char *keep)
{
    /* a pass per level of naming; chains are short, and n passes bound any */
    for (size_t pass = 0, changed = 1; changed && pass < s->n; pass++) {
        changed = 0;
        for (size_t k = 0; k < s->n; k++) {
            if (!keep[k])
                continue;
            for (size_t j = 0; j < s->rules[k].n_refs; j++) {
                size_t i = s->refs[s->rules[k].refs_at + j];
                if (!keep[i])
                    keep[i] = 1, changed = 1;
            }
        }
    }
}

int cs_yara_fits_below(const cs_yara_rule_span *r, uint64_t max_size)
{
    return r->min_size <= max_size;
}

int cs_yara_size_compatible(const cs_yara_rule_span *r, uint64_t min_size)
{
    return !r->max_size || min_size < r->max_size;
}

int cs_yara_guard_compatible(const cs_yara_rule_span *r, const unsigned char *prefix, size_t n)
{
    if (!r->guard_len)
        return 1;
    size_t k = r->guard_len < n ? r->guard_len : n;
    return memcmp(r->guard, prefix, k) == 0;
}
