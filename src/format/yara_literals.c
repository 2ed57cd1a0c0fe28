#include "format/yara_literals.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/yara_lex.h"
#include "util/util.h"

/* ---- literals of one string ---- */

typedef struct bytes_buf {
    unsigned char *p;
    size_t n, cap;
} bytes_buf;

static void bb_put(bytes_buf *b, unsigned char c)
{
    cs_grow((void **)&b->p, &b->cap, b->n + 1, 1);
    b->p[b->n++] = c;
}

typedef struct ystring {
    char id[128];                 /* without the '$'; "" for an anonymous string */
    int imphash;                  /* not a string: "pe.imphash() == TEXT" (id: the text) */
    int export;                   /* not a string: "pe.exports(TEXT)" (raw: the TEXT token) */
    int serial;                   /* not a string: "pe.signatures[E].serial == TEXT" (raw: the TEXT token) */
    int filename;                 /* not a string: "filename == TEXT" or "filename iequals TEXT" (raw: TEXT) */
    int rule_ref;                 /* not a string: a rule the condition names (raw: its name) */
    const char *raw;
    size_t raw_n;
    int usable;                   /* its literals are known */
    size_t lit_at, lit_n;         /* in the rule's literal list */
    size_t strength;              /* its weakest literal's quality */
} ystring;

typedef struct analysis {
    ystring *strings;
    size_t n_strings, strings_cap;
    cs_yara_literal *lits;        /* candidate literals of all strings */
    size_t n_lits, lits_cap;
    bytes_buf bytes;
    size_t min_quality;
} analysis;

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A "..." literal's bytes (its escapes decoded); -1 on an escape YARA
 * does not have. */
static int decode_text(const char *p, size_t n, bytes_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c != '\\') {
            bb_put(out, c);
            continue;
        }
        if (++i >= n)
            return -1;
        switch (p[i]) {
        case '"': bb_put(out, '"'); break;
        case '\\': bb_put(out, '\\'); break;
        case 't': bb_put(out, '\t'); break;
        case 'n': bb_put(out, '\n'); break;
        case 'r': bb_put(out, '\r'); break;
        case 'x':
            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
                return -1;
            bb_put(out, (unsigned char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2])));
            i += 2;
            break;
        default: return -1;
        }
    }
    return 0;
}

size_t cs_yara_literal_quality(const unsigned char *p, size_t n)
{
    unsigned char seen[256] = {0};
    size_t q = 0, distinct = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        size_t w = c == 0x00 || c == 0xff || c == 0x20 || c == 0xcc || c == 0x90 || c == 0x01 ? 1
                   : isalpha(c)                                                                ? 2
                                                                                               : 3;
        distinct += !seen[c];
        if (seen[c] >= 2)
            w = 1; /* a third copy of a byte says little */
        seen[c] += seen[c] < 2;
        q += w;
    }
    return distinct <= 2 && q > 4 ? 4 : q;
}

static void keep_longer(bytes_buf *best, bytes_buf *cur)
{
    if (cs_yara_literal_quality(cur->p, cur->n) > cs_yara_literal_quality(best->p, best->n)) {
        best->n = 0;
        for (size_t k = 0; k < cur->n; k++)
            bb_put(best, cur->p[k]);
    }
    cur->n = 0;
}

/* The longest run of fixed bytes of a hex string body (between its braces):
 * no wildcard, negation, jump or alternative inside. */
static void hex_longest_run(const char *p, size_t n, bytes_buf *best)
{
    bytes_buf cur = {0};
    int depth = 0;
    for (size_t i = 0; i < n;) {
        char c = p[i];
        if (isspace((unsigned char)c)) {
            i++;
        } else if (c == '/' && i + 1 < n && p[i + 1] == '/') {
            const char *e = memchr(p + i, '\n', n - i);
            i = e ? (size_t)(e - p) + 1 : n;
        } else if (c == '/' && i + 1 < n && p[i + 1] == '*') {
            size_t k = i + 2;
            while (k + 1 < n && !(p[k] == '*' && p[k + 1] == '/'))
                k++;
            i = k + 2;
        } else if (depth == 0 && i + 1 < n && hexval(c) >= 0 && hexval(p[i + 1]) >= 0) {
            bb_put(&cur, (unsigned char)(hexval(c) * 16 + hexval(p[i + 1])));
            i += 2;
        } else {
            keep_longer(best, &cur); /* anything else ends the run */
            if (c == '(')
                depth++;
            else if (c == ')' && depth > 0)
                depth--;
            if (c == '[') {
                const char *e = memchr(p + i, ']', n - i);
                i = e ? (size_t)(e - p) + 1 : n;
            } else if (c == '~') {
                i += 3; /* ~AB, ~A? */
            } else if ((hexval(c) >= 0 || c == '?') && i + 1 < n && (hexval(p[i + 1]) >= 0 || p[i + 1] == '?')) {
                i += 2; /* ??, A?, ?A, or a byte inside an alternative */
            } else {
                i++;
            }
        }
    }
    keep_longer(best, &cur);
    free(cur.p);
}

/* The index just past the character class that starts at p[i] == '[':
 * a leading '^' and a ']' right after it belong to the class, escapes are
 * skipped. n when it never closes. */
static size_t regex_class_end(const char *p, size_t n, size_t i)
{
    size_t k = i + 1;
    if (k < n && p[k] == '^')
        k++;
    if (k < n && p[k] == ']')
        k++;
    while (k < n && p[k] != ']')
        k += p[k] == '\\' ? 2 : 1;
    return k < n ? k + 1 : n;
}

/* One regex item: a literal byte or anything else, with its repetition. */
typedef struct rx_item {
    int lit;                      /* -1: not a literal byte */
    unsigned min, max;            /* max 0: unbounded */
} rx_item;

/* The longest literal run every match of /p/ contains; -1 when the regex
 * has a top-level alternative (then no single run is required). */
static int regex_longest_run(const char *p, size_t n, bytes_buf *best)
{
    rx_item *items = NULL;
    size_t n_items = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        rx_item it = {-1, 1, 1};
        char c = p[i];
        if (c == '|') {
            rc = -1;
            break;
        } else if (c == '\\') {
            if (i + 1 >= n) {
                rc = -1;
                break;
            }
            char e = p[i + 1];
            i += 2;
            if (e == 'x' && i + 1 < n && hexval(p[i]) >= 0 && hexval(p[i + 1]) >= 0) {
                it.lit = hexval(p[i]) * 16 + hexval(p[i + 1]);
                i += 2;
            } else if (e == 'n' || e == 't' || e == 'r' || e == 'f' || e == 'a') {
                it.lit = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'f' ? '\f' : '\a';
            } else if (!isalnum((unsigned char)e)) {
                it.lit = (unsigned char)e; /* an escaped punctuation mark is itself */
            } else {
                it.min = it.max = 1; /* \w \d \s \b ...: not a literal */
            }
        } else if (c == '[') { /* a class */
            i = regex_class_end(p, n, i);
        } else if (c == '(') { /* a group: not looked into */
            int depth = 0;
            size_t k = i;
            while (k < n) {
                if (p[k] == '\\') {
                    k += 2;
                    continue;
                }
                if (p[k] == '[') {
                    k = regex_class_end(p, n, k);
                    continue;
                }
                if (p[k] == '(')
                    depth++;
                else if (p[k] == ')' && --depth == 0)
                    break;
                k++;
            }
            i = k + 1;
        } else if (c == '.' || c == '^' || c == '$') {
            i++;
        } else if (c == '*' || c == '+' || c == '?' || c == '{' || c == ')') {
            rc = -1; /* a quantifier with nothing before it: not understood */
            break;
        } else {
            it.lit = (unsigned char)c;
            i++;
        }
        /* its repetition */
        if (i < n && (p[i] == '*' || p[i] == '+' || p[i] == '?')) {
            it.min = p[i] == '+' ? 1 : 0;
            it.max = p[i] == '?' ? 1 : 0;
            i++;
        } else if (i < n && p[i] == '{') {
            size_t k = i + 1;
            unsigned lo = 0, hi = 0;
            int has_lo = 0, comma = 0, has_hi = 0;
            while (k < n && isdigit((unsigned char)p[k]))
                lo = lo * 10 + (unsigned)(p[k++] - '0'), has_lo = 1;
            if (k < n && p[k] == ',') {
                comma = 1;
                k++;
                while (k < n && isdigit((unsigned char)p[k]))
                    hi = hi * 10 + (unsigned)(p[k++] - '0'), has_hi = 1;
            }
            if (k < n && p[k] == '}' && (has_lo || has_hi) && lo <= 1000 && hi <= 1000) {
                it.min = lo;
                it.max = comma ? (has_hi ? hi : 0) : lo;
                i = k + 1;
            } else {
                it.lit = -1; /* "{" as a character: not trusted */
            }
        }
        if (i < n && p[i] == '?') /* non-greedy */
            i++;
        cs_grow((void **)&items, &cap, n_items + 1, sizeof *items);
        items[n_items++] = it;
    }
    bytes_buf cur = {0};
    for (size_t k = 0; rc == 0 && k <= n_items; k++) {
        const rx_item *it = k < n_items ? &items[k] : NULL;
        int ends = !it || it->lit < 0 || it->min == 0 || it->max != it->min;
        if (it && it->lit >= 0 && it->min > 0) /* its required copies join the run */
            for (unsigned m = 0; m < it->min; m++)
                bb_put(&cur, (unsigned char)it->lit);
        if (ends) {
            keep_longer(best, &cur);
            /* a repeated literal also starts the next run */
            if (it && it->lit >= 0 && it->min > 0)
                for (unsigned m = 0; m < it->min; m++)
                    bb_put(&cur, (unsigned char)it->lit);
        }
    }
    free(cur.p);
    free(items);
    return rc;
}

/* One literal of string s: p[0..n), widened (a zero after each byte) and
 * then XORed with key when key >= 0, as YARA applies wide and xor. */
static void add_literal(analysis *a, ystring *s, const unsigned char *p, size_t n, int wide, int caseless, int key)
{
    cs_grow((void **)&a->lits, &a->lits_cap, a->n_lits + 1, sizeof *a->lits);
    cs_yara_literal *l = &a->lits[a->n_lits++];
    l->at = a->bytes.n;
    l->caseless = caseless;
    l->kind = CS_YARA_LIT_BYTES;
    unsigned char x = key >= 0 ? (unsigned char)key : 0;
    for (size_t i = 0; i < n; i++) {
        bb_put(&a->bytes, p[i] ^ x);
        if (wide)
            bb_put(&a->bytes, x);
    }
    l->len = a->bytes.n - l->at;
    s->lit_n++;
    size_t q = cs_yara_literal_quality(a->bytes.p + l->at, l->len);
    if (!s->strength || q < s->strength)
        s->strength = q;
}

static const char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Whatever the alignment of a string inside base64 text, the encoding of its
 * whole 3-byte groups appears as is: for a start at j = 0, 1, 2 bytes into
 * the string, b64(s[j .. j + 3k]). -1 when a group is missing. */
static int add_base64(analysis *a, ystring *s, const bytes_buf *run, const char *alphabet, int wide)
{
    for (size_t j = 0; j < 3; j++) {
        size_t k = run->n > j ? (run->n - j) / 3 : 0;
        if (k == 0)
            return -1;
        bytes_buf enc = {0};
        for (size_t g = 0; g < k; g++) {
            const unsigned char *b = run->p + j + 3 * g;
            uint32_t v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
            for (int c = 3; c >= 0; c--)
                bb_put(&enc, (unsigned char)alphabet[(v >> (6 * c)) & 63]);
        }
        add_literal(a, s, enc.p, enc.n, wide, 0, -1);
        free(enc.p);
    }
    return 0;
}

/* The regex /p/ (n bytes): one run per top-level alternative, each the
 * longest every match of that alternative contains; -1 when one has none. */
static int regex_runs(const char *p, size_t n, bytes_buf **runs, size_t *n_runs)
{
    int depth = 0;
    size_t from = 0, cap = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] == '\\') {
            i++;
            continue;
        }
        if (i < n && p[i] == '[') { /* a class */
            i = regex_class_end(p, n, i) - 1;
            continue;
        }
        if (i < n && p[i] == '(')
            depth++;
        else if (i < n && p[i] == ')')
            depth--;
        if (i == n || (p[i] == '|' && depth == 0)) {
            cs_grow((void **)runs, &cap, *n_runs + 1, sizeof **runs);
            bytes_buf *r = &(*runs)[(*n_runs)++];
            memset(r, 0, sizeof *r);
            if (regex_longest_run(p + from, i - from, r) != 0 || r->n == 0)
                return -1;
            from = i + 1;
        }
    }
    return 0;
}

/* Parse the strings section [p, end): each definition, its literals. */
static void parse_strings(analysis *a, const char *text, size_t p, size_t end)
{
    cs_yara_lexer lx = {text, end, p};
    for (;;) {
        if (cs_yl_skip_space(&lx) != 0 || lx.pos >= end || text[lx.pos] != '$')
            return;
        lx.pos++;
        cs_grow((void **)&a->strings, &a->strings_cap, a->n_strings + 1, sizeof *a->strings);
        ystring *s = &a->strings[a->n_strings++];
        memset(s, 0, sizeof *s);
        cs_yl_read_ident(&lx, s->id, sizeof s->id);
        s->lit_at = a->n_lits;
        cs_yl_skip_space(&lx);
        if (lx.pos >= end || text[lx.pos] != '=')
            return;
        lx.pos++;
        cs_yl_skip_space(&lx);
        if (lx.pos >= end)
            return;
        /* the alternatives: every match contains one of these runs */
        bytes_buf *runs = NULL;
        size_t n_runs = 0, runs_cap = 0;
        int ok = 0, caseless = 0;
        size_t v = lx.pos;
        if (text[v] == '"' || text[v] == '{') {
            cs_grow((void **)&runs, &runs_cap, 1, sizeof *runs);
            memset(runs, 0, sizeof *runs);
            n_runs = 1;
        }
        if (text[v] == '"') {
            if (cs_yl_skip_string(&lx) != 0) {
                free(runs);
                return;
            }
            ok = decode_text(text + v + 1, lx.pos - v - 2, &runs[0]) == 0;
        } else if (text[v] == '{') {
            if (cs_yl_skip_hex(&lx) != 0) {
                free(runs);
                return;
            }
            hex_longest_run(text + v + 1, lx.pos - v - 2, &runs[0]);
            ok = 1;
        } else if (text[v] == '/') {
            if (cs_yl_skip_regex(&lx) != 0)
                return;
            size_t close = lx.pos;
            while (close > v && isalpha((unsigned char)text[close - 1])) {
                if (text[close - 1] == 'i')
                    caseless = 1;
                close--;
            }
            ok = regex_runs(text + v + 1, close - v - 2, &runs, &n_runs) == 0;
        } else {
            return;
        }
        /* modifiers */
        int wide = 0, ascii = 0, unusable = 0, xor = 0, xor_lo = 0, xor_hi = 255, b64 = 0, b64w = 0;
        char alphabet[65];
        memcpy(alphabet, std_alphabet, sizeof alphabet);
        for (;;) {
            cs_yl_skip_space(&lx);
            if (lx.pos >= end || !(isalpha((unsigned char)text[lx.pos])))
                break;
            char word[32];
            cs_yl_read_ident(&lx, word, sizeof word);
            if (!strcmp(word, "wide"))
                wide = 1;
            else if (!strcmp(word, "ascii"))
                ascii = 1;
            else if (!strcmp(word, "nocase"))
                caseless = 1;
            else if (!strcmp(word, "xor"))
                xor = 1;
            else if (!strcmp(word, "base64"))
                b64 = 1;
            else if (!strcmp(word, "base64wide"))
                b64w = 1;
            else if (strcmp(word, "fullword") != 0 && strcmp(word, "private") != 0)
                unusable = 1; /* not a modifier YARA 4.2 has */
            cs_yl_skip_space(&lx);
            if (lx.pos < end && text[lx.pos] == '(') { /* xor(K), xor(LO-HI), base64("ALPHABET") */
                size_t args = lx.pos + 1;
                while (lx.pos < end && text[lx.pos] != ')') {
                    if (text[lx.pos] == '"') {
                        if (cs_yl_skip_string(&lx) != 0)
                            break;
                    } else {
                        lx.pos++;
                    }
                }
                if (lx.pos >= end) {
                    unusable = 1;
                    break;
                }
                if (xor && !strcmp(word, "xor")) {
                    char *e;
                    long lo = strtol(text + args, &e, 0), hi = lo;
                    while (e < text + lx.pos && *e == ' ')
                        e++;
                    if (e < text + lx.pos && *e == '-')
                        hi = strtol(e + 1, &e, 0);
                    while (e < text + lx.pos && *e == ' ')
                        e++;
                    if (e != text + lx.pos || lo < 0 || hi > 255 || lo > hi)
                        unusable = 1;
                    xor_lo = (int)lo;
                    xor_hi = (int)hi;
                } else if (!strcmp(word, "base64") || !strcmp(word, "base64wide")) {
                    bytes_buf al = {0};
                    const char *q = memchr(text + args, '"', lx.pos - args);
                    const char *qe = q ? memchr(q + 1, '"', (size_t)(text + lx.pos - q - 1)) : NULL;
                    if (!q || !qe || decode_text(q + 1, (size_t)(qe - q - 1), &al) != 0 || al.n != 64)
                        unusable = 1;
                    else
                        memcpy(alphabet, al.p, 64);
                    free(al.p);
                }
                lx.pos++;
            }
        }
        if (ok && !unusable) {
            for (size_t r = 0; r < n_runs && ok; r++) {
                if (b64 || b64w) {
                    /* with ascii, wide, xor or nocase as well: not modelled */
                    if (ascii || wide || xor || caseless || (b64 && add_base64(a, s, &runs[r], alphabet, 0) != 0) ||
                        (b64w && add_base64(a, s, &runs[r], alphabet, 1) != 0))
                        ok = 0;
                    continue;
                }
                if (runs[r].n == 0) {
                    ok = 0;
                    continue;
                }
                for (int k = xor ? xor_lo : -1; k <= (xor ? xor_hi : -1); k++) {
                    if (ascii || !wide)
                        add_literal(a, s, runs[r].p, runs[r].n, 0, caseless, k);
                    if (wide)
                        add_literal(a, s, runs[r].p, runs[r].n, 1, caseless, k);
                }
            }
            s->usable = ok && s->strength >= a->min_quality;
        }
        for (size_t r = 0; r < n_runs; r++)
            free(runs[r].p);
        free(runs);
    }
}

/* ---- the condition ---- */

enum { T_END, T_ID, T_STR, T_COUNT, T_OTHER_REF, T_NUM, T_TEXT, T_PUNCT };

typedef struct token {
    int kind;
    const char *p;
    size_t n;
    uint64_t num;
} token;

static int tok_is(const token *t, const char *w)
{
    return (t->kind == T_ID || t->kind == T_PUNCT) && strlen(w) == t->n && memcmp(t->p, w, t->n) == 0;
}

/* Tokens of the condition [p, end); -1 on text not understood. */
static int tokenize(const char *text, size_t p, size_t end, token **out, size_t *n_out)
{
    token *t = NULL;
    size_t n = 0, cap = 0;
    cs_yara_lexer lx = {text, end, p};
    int after_matches = 0;
    for (;;) {
        if (cs_yl_skip_space(&lx) != 0) {
            free(t);
            return -1;
        }
        cs_grow((void **)&t, &cap, n + 1, sizeof *t);
        token *k = &t[n++];
        memset(k, 0, sizeof *k);
        k->p = text + lx.pos;
        if (lx.pos >= end) {
            k->kind = T_END;
            break;
        }
        char c = text[lx.pos];
        size_t start = lx.pos;
        if (c == '"') {
            if (cs_yl_skip_string(&lx) != 0) {
                free(t);
                return -1;
            }
            k->kind = T_TEXT;
        } else if (c == '/' && after_matches) {
            if (cs_yl_skip_regex(&lx) != 0) {
                free(t);
                return -1;
            }
            k->kind = T_TEXT;
        } else if (c == '$' || c == '#' || c == '@' || c == '!') {
            if (c == '!' && lx.pos + 1 < end && text[lx.pos + 1] == '=') {
                lx.pos += 2;
                k->kind = T_PUNCT;
            } else {
                lx.pos++;
                char id[128];
                cs_yl_read_ident(&lx, id, sizeof id);
                if (lx.pos < end && text[lx.pos] == '*')
                    lx.pos++;
                k->kind = c == '$' ? T_STR : c == '#' ? T_COUNT : T_OTHER_REF;
            }
        } else if (isdigit((unsigned char)c)) {
            uint64_t v = 0;
            if (c == '0' && lx.pos + 1 < end && (text[lx.pos + 1] == 'x' || text[lx.pos + 1] == 'X')) {
                lx.pos += 2;
                while (lx.pos < end && hexval(text[lx.pos]) >= 0)
                    v = v * 16 + (uint64_t)hexval(text[lx.pos++]);
            } else {
                while (lx.pos < end && isdigit((unsigned char)text[lx.pos]))
                    v = v * 10 + (uint64_t)(text[lx.pos++] - '0');
            }
            while (lx.pos < end && (isalnum((unsigned char)text[lx.pos]) || text[lx.pos] == '.') &&
                   !(text[lx.pos] == '.' && lx.pos + 1 < end && text[lx.pos + 1] == '.'))
                lx.pos++; /* KB, MB, decimals: the value is only compared with 0 and 1 */
            k->kind = T_NUM;
            k->num = v;
        } else if (isalpha((unsigned char)c) || c == '_') {
            char id[128];
            cs_yl_read_ident(&lx, id, sizeof id);
            k->kind = T_ID;
        } else {
            static const char *two[] = {"==", "!=", "<=", ">=", "<<", ">>", ".."};
            k->kind = T_PUNCT;
            lx.pos++;
            for (size_t i = 0; i < sizeof two / sizeof *two; i++)
                if (lx.pos < end && c == two[i][0] && text[lx.pos] == two[i][1]) {
                    lx.pos++;
                    break;
                }
        }
        k->n = lx.pos - start;
        after_matches = tok_is(k, "matches");
    }
    *out = t;
    *n_out = n;
    return 0;
}

/* A requirement: at least one string of set[] must match (none: nothing
 * proved). */
typedef struct req {
    int none;
    unsigned char *set;           /* one flag per string */
} req;

typedef struct parser {
    analysis *a;
    const token *t;
    size_t pos, n;
    int depth;
} parser;

static req req_none(void)
{
    return (req){1, NULL};
}

static req req_new(const parser *ps)
{
    req r = {0, cs_xmalloc(ps->a->n_strings + 1)};
    memset(r.set, 0, ps->a->n_strings + 1);
    return r;
}

static void req_free(req *r)
{
    free(r->set);
    r->set = NULL;
}

/* How good a requirement is for a prefilter: 0 when a string in it has no
 * literal, else its weakest string's shortest literal. */
static size_t req_strength(const parser *ps, const req *r)
{
    if (r->none)
        return 0;
    size_t s = SIZE_MAX;
    int any = 0;
    for (size_t i = 0; i < ps->a->n_strings; i++)
        if (r->set[i]) {
            any = 1;
            size_t k = ps->a->strings[i].usable ? ps->a->strings[i].strength : 0;
            if (k < s)
                s = k;
        }
    return any ? s : 0;
}

/* Not a string of the rule but a value of the condition standing for one. */
static int pseudo(const ystring *s)
{
    return s->imphash || s->export || s->serial || s->filename || s->rule_ref;
}

/* The strings a "$id", "$id*" or "them" names; 0 when none. */
static int mark_strings(const parser *ps, const token *t, req *r)
{
    int marked = 0;
    if (tok_is(t, "them")) {
        for (size_t i = 0; i < ps->a->n_strings; i++)
            if (!pseudo(&ps->a->strings[i]))
                r->set[i] = 1, marked = 1;
        return marked;
    }
    if (t->kind != T_STR)
        return 0;
    size_t n = t->n - 1;
    int wildcard = n > 0 && t->p[t->n - 1] == '*';
    if (wildcard)
        n--;
    if (n == 0 && !wildcard) /* "$" alone: the string of an enclosing for loop */
        return 0;
    for (size_t i = 0; i < ps->a->n_strings; i++) {
        const char *id = ps->a->strings[i].id;
        if (pseudo(&ps->a->strings[i]))
            continue;
        if (wildcard ? strncmp(id, t->p + 1, n) == 0 : strlen(id) == n && memcmp(id, t->p + 1, n) == 0)
            r->set[i] = 1, marked = 1;
    }
    return marked;
}

static int boundary(const token *t)
{
    return t->kind == T_END || tok_is(t, "and") || tok_is(t, "or") || tok_is(t, ")");
}

/* "pe.imphash() == TEXT" or "TEXT == pe.imphash()" at t[0..n): the text
 * token, or NULL. */
static const token *imphash_leaf(const token *t, size_t n)
{
    if (n != 7)
        return NULL;
    size_t call = t[0].kind == T_TEXT ? 2 : 0, text = call ? 0 : 6;
    if (t[text].kind != T_TEXT || t[text].n != 34 || t[text].p[0] != '"' || !tok_is(&t[call ? 1 : 5], "==") || !tok_is(&t[call], "pe") ||
        !tok_is(&t[call + 1], ".") || !tok_is(&t[call + 2], "imphash") || !tok_is(&t[call + 3], "(") ||
        !tok_is(&t[call + 4], ")"))
        return NULL;
    for (size_t i = 1; i < 33; i++)
        if (hexval(t[text].p[i]) < 0)
            return NULL;
    return &t[text];
}

/* "pe.exports(TEXT)" at t[0..n): the text token, or NULL. An export's
 * name is read from the file's own bytes, and libyara compares it without
 * regard to case: the name is a caseless literal of the file. */
static const token *export_leaf(const token *t, size_t n)
{
    if (n != 6 || !tok_is(&t[0], "pe") || !tok_is(&t[1], ".") || !tok_is(&t[2], "exports") || !tok_is(&t[3], "(") ||
        t[4].kind != T_TEXT || t[4].p[0] != '"' || !tok_is(&t[5], ")"))
        return NULL;
    return &t[4];
}

/* The end of the bracketed index starting at t[0] ("["), or 0. */
static size_t index_end(const token *t, size_t n)
{
    size_t depth = 0;
    for (size_t k = 0; k < n; k++) {
        if (tok_is(&t[k], "["))
            depth++;
        else if (tok_is(&t[k], "]") && --depth == 0)
            return k;
        else if (t[k].kind == T_END)
            return 0;
    }
    return 0;
}

/* "pe.signatures[E].serial == TEXT" or "TEXT == pe.signatures[E].serial"
 * at the start of t[0..n): its length in tokens (the text token in *text),
 * or 0. libyara reads a signer's serial number from the certificate, which
 * the file holds in DER: a primitive INTEGER, its content bytes in one run.
 * So the file contains the serial's bytes whenever the equality holds (a
 * serial written with a leading 00 that libyara leaves out, or the other
 * way round, never compares equal: requiring its bytes loses nothing). */
static size_t serial_leaf(const token *t, size_t n, const token **text)
{
    size_t at = 0;
    if (n > 2 && t[0].kind == T_TEXT && tok_is(&t[1], "=="))
        at = 2;
    if (at + 4 > n || !tok_is(&t[at], "pe") || !tok_is(&t[at + 1], ".") || !tok_is(&t[at + 2], "signatures") ||
        !tok_is(&t[at + 3], "["))
        return 0;
    size_t k = index_end(t + at + 3, n - at - 3);
    if (!k)
        return 0;
    k += at + 3;
    if (k + 3 > n || !tok_is(&t[k + 1], ".") || !tok_is(&t[k + 2], "serial"))
        return 0;
    if (at) {
        *text = &t[0];
        return k + 3;
    }
    if (k + 5 > n || !tok_is(&t[k + 3], "==") || t[k + 4].kind != T_TEXT || t[k + 4].p[0] != '"')
        return 0;
    *text = &t[k + 4];
    return k + 5;
}

/* The bytes of a serial number as libyara writes it ("1b:66:...:73"); -1
 * when the text is not that. */
static int decode_serial(const token *text, bytes_buf *out)
{
    const char *p = text->p + 1;
    size_t n = text->n - 2;
    if (text->n < 4 || (n + 1) % 3 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 3) {
        int hi = hexval(p[i]), lo = hexval(p[i + 1]);
        if (hi < 0 || lo < 0 || (i + 2 < n && p[i + 2] != ':'))
            return -1;
        bb_put(out, (unsigned char)(hi << 4 | lo));
    }
    return 0;
}

/* "filename == TEXT", "TEXT == filename" or "filename iequals TEXT" at
 * t[0..n) (the scanner's external: the file's name): the text token, or
 * NULL; *caseless for iequals. */
static const token *filename_leaf(const token *t, size_t n, int *caseless)
{
    if (n != 3 || t[0].kind == T_END || t[1].kind == T_END || t[2].kind == T_END)
        return NULL;
    *caseless = tok_is(&t[1], "iequals");
    if (tok_is(&t[0], "filename") && (tok_is(&t[1], "==") || *caseless) && t[2].kind == T_TEXT && t[2].p[0] == '"')
        return &t[2];
    if (t[0].kind == T_TEXT && t[0].p[0] == '"' && tok_is(&t[1], "==") && tok_is(&t[2], "filename"))
        return &t[0];
    return NULL;
}

static int is_comparison(const token *t)
{
    static const char *ops[] = {"==", "!=", "<", "<=", ">", ">="};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (tok_is(t, ops[i]))
            return 1;
    return 0;
}

/* Is t[0..n) integer arithmetic over a match's offset or length, @a or !a
 * (indexed or not), that is undefined whenever $a has no match? Numbers,
 * filesize, + - * \ % & | ^ << >> ~, parentheses and the uint/int reads
 * only: libyara 4.2 (exec.c) pushes UNDEFINED for each integer operator
 * with an undefined operand, and a read at an undefined offset is outside
 * every block. Module calls and decimals are not taken (their handling of
 * undefined is their own). The first such reference, or NULL. */
static const token *undefined_operand(const token *t, size_t n)
{
    static const char *const ok[] = {"filesize", "(", ")", "+", "-", "*", "\\", "%", "&", "|", "^", "<<", ">>", "~",
                                     "uint8", "uint16", "uint32", "int8", "int16", "int32", "uint8be",
                                     "uint16be", "uint32be", "int8be", "int16be", "int32be"};
    const token *ref = NULL;
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind == T_OTHER_REF) {
            ref = ref ? ref : &t[i];
            size_t k;
            if (i + 1 < n && tok_is(&t[i + 1], "[")) { /* the index: anything */
                if ((k = index_end(t + i + 1, n - i - 1)) == 0)
                    return NULL;
                i += k + 1;
            }
            continue;
        }
        if (t[i].kind == T_NUM && !memchr(t[i].p, '.', t[i].n))
            continue;
        size_t w = 0;
        while (w < sizeof ok / sizeof *ok && !tok_is(&t[i], ok[w]))
            w++;
        if (w == sizeof ok / sizeof *ok)
            return NULL;
    }
    return ref;
}

/* A leaf (a comparison, a function call, an "of" expression, ...):
 * tokens [a, b). */
static req leaf_req(const parser *ps, size_t a, size_t b)
{
    const token *t = ps->t + a;
    size_t n = b - a;
    req r = req_new(ps);
    /* pe.imphash() == "HASH": the file's import hash must be that one */
    const token *h = imphash_leaf(t, n);
    if (h) {
        for (size_t i = 0; i < ps->a->n_strings; i++)
            if (ps->a->strings[i].imphash && !memcmp(ps->a->strings[i].id, h->p + 1, 32)) {
                r.set[i] = 1;
                return r;
            }
    }
    const token *x = export_leaf(t, n);
    if (x) {
        for (size_t i = 0; i < ps->a->n_strings; i++)
            if (ps->a->strings[i].export && ps->a->strings[i].raw_n == x->n && !memcmp(ps->a->strings[i].raw, x->p, x->n)) {
                r.set[i] = 1;
                return r;
            }
    }
    int caseless;
    const token *fn = filename_leaf(t, n, &caseless);
    if (fn) {
        for (size_t i = 0; i < ps->a->n_strings; i++)
            if (ps->a->strings[i].filename && ps->a->strings[i].raw == fn->p) {
                r.set[i] = 1;
                return r;
            }
    }
    /* a rule named alone: it matches only if one of its literals occurs */
    if (n == 1 && t[0].kind == T_ID) {
        for (size_t i = 0; i < ps->a->n_strings; i++)
            if (ps->a->strings[i].rule_ref && ps->a->strings[i].raw_n == t[0].n &&
                !memcmp(ps->a->strings[i].raw, t[0].p, t[0].n)) {
                r.set[i] = 1;
                return r;
            }
    }
    const token *sn = NULL;
    if (serial_leaf(t, n, &sn) == n) {
        for (size_t i = 0; i < ps->a->n_strings; i++)
            if (ps->a->strings[i].serial && ps->a->strings[i].raw_n == sn->n && !memcmp(ps->a->strings[i].raw, sn->p, sn->n)) {
                r.set[i] = 1;
                return r;
            }
    }
    /* X OP Y where X or Y is integer arithmetic over @a or !a: when $a has
     * no match, the offset or length is undefined, and so is the comparison
     * (libyara 4.2: false, even for !=; see undefined_operand) */
    size_t cmp = n, depth = 0, n_cmp = 0;
    int plain = 1;
    for (size_t i = 0; i < n; i++) {
        if (tok_is(&t[i], "(") || tok_is(&t[i], "["))
            depth++;
        else if ((tok_is(&t[i], ")") || tok_is(&t[i], "]")) && depth > 0)
            depth--;
        else if (depth == 0 && is_comparison(&t[i]))
            cmp = i, n_cmp++;
        plain &= !tok_is(&t[i], "defined");
    }
    if (plain && n_cmp == 1) {
        const token *ref = undefined_operand(t, cmp);
        if (!ref)
            ref = undefined_operand(t + cmp + 1, n - cmp - 1);
        if (ref) {
            token st = *ref;
            st.kind = T_STR;
            if (mark_strings(ps, &st, &r))
                return r;
        }
    }
    /* $a, $a at X, $a in (X..Y) */
    if (t[0].kind == T_STR && (n == 1 || tok_is(&t[1], "at") || tok_is(&t[1], "in")) && mark_strings(ps, &t[0], &r))
        return r;
    /* #a > N (N >= 0), #a >= N, #a == N (N >= 1) */
    if (t[0].kind == T_COUNT && n == 3 && t[2].kind == T_NUM &&
        (tok_is(&t[1], ">") || ((tok_is(&t[1], ">=") || tok_is(&t[1], "==")) && t[2].num >= 1))) {
        token s = t[0];
        s.kind = T_STR;
        if (mark_strings(ps, &s, &r))
            return r;
    }
    /* N of SET, any of SET, all of SET, N% of SET (N >= 1), then nothing
     * or at/in: SET is "them" or "($a, $b*)" */
    size_t k = 0;
    if (n >= 3 && (tok_is(&t[0], "any") || tok_is(&t[0], "all") || (t[0].kind == T_NUM && t[0].num >= 1))) {
        k = 1;
        if (t[0].kind == T_NUM && tok_is(&t[1], "%"))
            k = 2;
        if (k < n && tok_is(&t[k], "of")) {
            k++;
            int ok = 0;
            if (k < n && tok_is(&t[k], "them")) {
                ok = mark_strings(ps, &t[k], &r);
                k++;
            } else if (k < n && tok_is(&t[k], "(")) {
                ok = 1;
                for (k++; k < n && !tok_is(&t[k], ")"); k++) {
                    if (tok_is(&t[k], ","))
                        continue;
                    if (t[k].kind != T_STR || !mark_strings(ps, &t[k], &r)) {
                        ok = 0;
                        break;
                    }
                }
                if (k >= n)
                    ok = 0;
                k++;
            }
            if (ok && (k == n || tok_is(&t[k], "at") || tok_is(&t[k], "in"))) {
                /* N of a set: any N-1 of them may be the ones that match
                 * without the others, so the N-1 weakest can go (all of:
                 * every one is required, the strongest alone will do) */
                size_t in_set = 0;
                for (size_t i = 0; i < ps->a->n_strings; i++)
                    in_set += r.set[i];
                size_t drop = tok_is(&t[0], "all") ? in_set - 1
                              : t[0].kind == T_NUM && !tok_is(&t[1], "%") && t[0].num <= in_set ? t[0].num - 1
                                                                                                : 0;
                for (; drop > 0; drop--) {
                    size_t weakest = SIZE_MAX, w = 0;
                    for (size_t i = 0; i < ps->a->n_strings; i++) {
                        const ystring *st = &ps->a->strings[i];
                        size_t score = st->usable ? st->strength : 0;
                        if (r.set[i] && score < weakest)
                            weakest = score, w = i;
                    }
                    r.set[w] = 0;
                }
                return r;
            }
        }
    }
    req_free(&r);
    return req_none();
}

static req parse_or(parser *ps);

/* "for any i in (LO .. HI) : (BODY)", or "for N ..." with N >= 1: true
 * only when BODY holds for some i, so BODY's requirement is the loop's;
 * and when LO >= 1 and HI is "#a", the range is empty unless $a matched.
 * 1 with *out when the loop is one of these, else 0 (pos unchanged). */
static int parse_for(parser *ps, req *out)
{
    const token *t = ps->t + ps->pos;
    if (!tok_is(&t[0], "for") || !(tok_is(&t[1], "any") || (t[1].kind == T_NUM && t[1].num >= 1)) ||
        t[2].kind != T_ID || !tok_is(&t[3], "in") || !tok_is(&t[4], "(") || ps->depth >= 64)
        return 0;
    size_t k = 5, depth = 1;
    for (; t[k].kind != T_END && depth; k++)
        depth += tok_is(&t[k], "(") ? 1 : tok_is(&t[k], ")") ? -1 : 0;
    if (depth || !tok_is(&t[k], ":") || !tok_is(&t[k + 1], "("))
        return 0;
    req range = req_none();
    if (k == 9 && t[5].kind == T_NUM && t[5].num >= 1 && tok_is(&t[6], "..") && t[7].kind == T_COUNT) {
        token st = t[7];
        st.kind = T_STR;
        range = req_new(ps);
        if (!mark_strings(ps, &st, &range)) {
            req_free(&range);
            range = req_none();
        }
    }
    size_t save = ps->pos;
    ps->pos += k + 2;
    ps->depth++;
    req body = parse_or(ps);
    ps->depth--;
    if (!tok_is(&ps->t[ps->pos], ")") || !boundary(&ps->t[ps->pos + 1])) {
        req_free(&range);
        req_free(&body);
        ps->pos = save;
        return 0;
    }
    ps->pos++;
    /* both hold: keep the better one, as for "and" */
    if (range.none || (!body.none && req_strength(ps, &body) > req_strength(ps, &range))) {
        req_free(&range);
        *out = body;
    } else {
        req_free(&body);
        *out = range;
    }
    return 1;
}

static req parse_primary(parser *ps)
{
    req loop;
    if (parse_for(ps, &loop))
        return loop;
    if (tok_is(&ps->t[ps->pos], "(") && ps->depth < 64) {
        size_t save = ps->pos;
        ps->pos++;
        ps->depth++;
        req r = parse_or(ps);
        ps->depth--;
        if (tok_is(&ps->t[ps->pos], ")") && boundary(&ps->t[ps->pos + 1])) {
            ps->pos++;
            return r;
        }
        req_free(&r); /* "(a + b) > c": an arithmetic leaf after all */
        ps->pos = save;
    }
    size_t a = ps->pos;
    int depth = 0;
    while (ps->t[ps->pos].kind != T_END) {
        const token *t = &ps->t[ps->pos];
        if (depth == 0 && boundary(t))
            break;
        if (tok_is(t, "(") || tok_is(t, "["))
            depth++;
        else if ((tok_is(t, ")") || tok_is(t, "]")) && depth > 0)
            depth--;
        ps->pos++;
    }
    return ps->pos > a ? leaf_req(ps, a, ps->pos) : req_none();
}

static req parse_not(parser *ps)
{
    if (tok_is(&ps->t[ps->pos], "not")) {
        ps->pos++;
        req r = parse_not(ps);
        req_free(&r);
        return req_none();
    }
    return parse_primary(ps);
}

static req parse_and(parser *ps)
{
    req r = parse_not(ps);
    while (tok_is(&ps->t[ps->pos], "and")) {
        ps->pos++;
        req q = parse_not(ps);
        /* either side's requirement holds: keep the better one */
        if (r.none || (!q.none && req_strength(ps, &q) > req_strength(ps, &r))) {
            req_free(&r);
            r = q;
        } else {
            req_free(&q);
        }
    }
    return r;
}

static req parse_or(parser *ps)
{
    req r = parse_and(ps);
    while (tok_is(&ps->t[ps->pos], "or")) {
        ps->pos++;
        req q = parse_and(ps);
        /* both sides' strings: either side may be the one that holds */
        if (r.none || q.none) {
            req_free(&r);
            r = req_none();
        } else {
            for (size_t i = 0; i < ps->a->n_strings; i++)
                r.set[i] |= q.set[i];
        }
        req_free(&q);
    }
    return r;
}

/* A value of the condition standing for a string (raw: its token): the
 * literal p[0..n) of that kind, or no usable literal when p is NULL. A key
 * (an import hash, a file name) is one value of the whole file: as
 * selective as it gets. */
static ystring *add_pseudo(analysis *a, const token *raw, const unsigned char *p, size_t n, int caseless, int kind)
{
    cs_grow((void **)&a->strings, &a->strings_cap, a->n_strings + 1, sizeof *a->strings);
    ystring *st = &a->strings[a->n_strings++];
    memset(st, 0, sizeof *st);
    st->raw = raw->p;
    st->raw_n = raw->n;
    st->lit_at = a->n_lits;
    if (!p)
        return st;
    add_literal(a, st, p, n, 0, caseless, -1);
    a->lits[a->n_lits - 1].kind = kind;
    if (kind != CS_YARA_LIT_BYTES)
        st->strength = SIZE_MAX / 2;
    st->usable = st->strength >= a->min_quality;
    return st;
}

/* Whether the value at raw has its pseudo string already (a serial leaf is
 * met from both of its ends). */
static int has_pseudo(const analysis *a, const token *raw)
{
    for (size_t k = 0; k < a->n_strings; k++)
        if (a->strings[k].raw == raw->p)
            return 1;
    return 0;
}

/* The rule of sp that r names at t (a bare identifier, not a field or a
 * function): a rule before r, whose needs prior[] holds; SIZE_MAX if none. */
static size_t named_rule(const cs_yara_split *sp, size_t r, const token *toks, size_t i)
{
    const token *t = toks + i;
    const cs_yara_rule_span *rs = &sp->rules[r];
    if (t->kind != T_ID || (i > 0 && tok_is(t - 1, ".")) || tok_is(t + 1, ".") || tok_is(t + 1, "(") ||
        tok_is(t + 1, "["))
        return SIZE_MAX;
    size_t d = SIZE_MAX;
    for (size_t k = 0; k < rs->n_deps && d == SIZE_MAX; k++) {
        size_t x = sp->deps[rs->deps_at + k];
        if (x < r && strlen(sp->rules[x].name) == t->n && !memcmp(sp->rules[x].name, t->p, t->n))
            d = x;
    }
    if (d == SIZE_MAX)
        return SIZE_MAX; /* most identifiers: keywords, fields, loop variables */
    /* a loop's variable hides a rule of the same name ("for any x in ...") */
    for (const token *f = toks; f->kind != T_END; f++) {
        if (!tok_is(f, "for"))
            continue;
        for (const token *v = f + 1; v->kind != T_END && !tok_is(v, "in") && !tok_is(v, "of") && !tok_is(v, ":");
             v++)
            if (v->kind == T_ID && v->n == t->n && !memcmp(v->p, t->p, t->n))
                return SIZE_MAX;
    }
    return d;
}

#define RULE_REF_MAX_LITERALS 256

/* A rule the condition names stands for a string whose literals are that
 * rule's (it matches only if one of them occurs). */
static void add_rule_ref(analysis *a, const token *raw, const cs_yara_needs *named)
{
    for (size_t k = 0; k < a->n_strings; k++) /* named twice: one string */
        if (a->strings[k].rule_ref && a->strings[k].raw_n == raw->n && !memcmp(a->strings[k].raw, raw->p, raw->n))
            return;
    ystring *st = add_pseudo(a, raw, NULL, 0, 0, CS_YARA_LIT_BYTES);
    st->rule_ref = 1;
    /* each reference copies the named rule's literals: a chain of rules
     * naming each other would square them; beyond a bound, unproved */
    if (!named->filterable || named->n == 0 || named->n > RULE_REF_MAX_LITERALS)
        return;
    for (size_t k = 0; k < named->n; k++) {
        const cs_yara_literal *l = &named->lits[k];
        add_literal(a, st, named->bytes + l->at, l->len, 0, l->caseless, -1);
        a->lits[a->n_lits - 1].kind = l->kind;
    }
    /* its literals passed min_quality when that rule was analysed; it ranks
     * last among usable requirements: "$a and r" keeps $a's one literal,
     * not r's many (each of which would make this rule a candidate) */
    st->usable = 1;
    st->strength = a->min_quality;
}

void cs_yara_rule_needs(const char *text, const cs_yara_split *sp, size_t rule, const cs_yara_needs *prior,
                        size_t min_quality, cs_yara_needs *out)
{
    const cs_yara_rule_span *r = &sp->rules[rule];
    memset(out, 0, sizeof *out);
    out->why = "no string is required";
    analysis a = {.min_quality = min_quality ? min_quality : 1};
    size_t lits_cap = 0, bytes_cap = 0;
    if (r->strings_start && r->strings_end > r->strings_start)
        parse_strings(&a, text, r->strings_start, r->strings_end);
    token *toks = NULL;
    size_t n_toks = 0;
    if (r->cond_end > r->cond_start && tokenize(text, r->cond_start, r->cond_end, &toks, &n_toks) == 0) {
        /* values of the condition that stand for strings of their own:
         * import hashes, export names, the file's name, signers' serials */
        for (size_t i = 0; i < n_toks; i++) {
            const token *t = toks + i, *v;
            int caseless;
            bytes_buf b = {0};
            if (i + 7 <= n_toks && (v = imphash_leaf(t, 7)) != NULL) {
                ystring *st = add_pseudo(&a, v, (const unsigned char *)v->p + 1, 32, 0, CS_YARA_LIT_IMPHASH);
                memcpy(st->id, v->p + 1, 32);
                st->imphash = 1;
            }
            if (i + 6 <= n_toks && (v = export_leaf(t, 6)) != NULL) {
                int ok = decode_text(v->p + 1, v->n - 2, &b) == 0 && b.n > 0;
                add_pseudo(&a, v, ok ? b.p : NULL, b.n, 1, CS_YARA_LIT_BYTES)->export = 1;
                b.n = 0;
            }
            if (i + 3 <= n_toks && (v = filename_leaf(t, 3, &caseless)) != NULL) {
                int ok = decode_text(v->p + 1, v->n - 2, &b) == 0;
                add_pseudo(&a, v, ok ? (b.p ? b.p : (const unsigned char *)"") : NULL, b.n, caseless,
                           CS_YARA_LIT_FILENAME)
                    ->filename = 1;
                b.n = 0;
            }
            size_t d;
            if (prior && (d = named_rule(sp, rule, toks, i)) != SIZE_MAX)
                add_rule_ref(&a, t, &prior[d]);
            if (serial_leaf(t, n_toks - i, &v) && !has_pseudo(&a, v)) {
                int ok = decode_serial(v, &b) == 0;
                add_pseudo(&a, v, ok ? b.p : NULL, b.n, 0, CS_YARA_LIT_BYTES)->serial = 1;
            }
            free(b.p);
        }
    }
    if (a.n_strings && toks) {
        parser ps = {&a, toks, 0, n_toks, 0};
        req q = parse_or(&ps);
        if (ps.t[ps.pos].kind != T_END) {
            out->why = "condition not understood";
        } else if (!q.none) {
            int usable = 1;
            for (size_t i = 0; i < a.n_strings; i++)
                if (q.set[i] && !a.strings[i].usable)
                    usable = 0;
            if (!usable) {
                out->why = "a required string has no good literal (xor, base64, too short or common, not understood)";
            } else {
                out->filterable = 1;
                out->why = NULL;
                for (size_t i = 0; i < a.n_strings; i++) {
                    if (!q.set[i])
                        continue;
                    const ystring *s = &a.strings[i];
                    for (size_t k = 0; k < s->lit_n; k++) {
                        const cs_yara_literal *l = &a.lits[s->lit_at + k];
                        cs_grow((void **)&out->lits, &lits_cap, out->n + 1, sizeof *out->lits);
                        cs_grow((void **)&out->bytes, &bytes_cap, out->bytes_len + l->len, 1);
                        out->lits[out->n] = *l;
                        out->lits[out->n++].at = out->bytes_len;
                        memcpy(out->bytes + out->bytes_len, a.bytes.p + l->at, l->len);
                        out->bytes_len += l->len;
                    }
                }
            }
        }
        req_free(&q);
    } else if (a.n_strings) {
        out->why = "condition not understood";
    }
    free(toks);
    free(a.strings);
    free(a.lits);
    free(a.bytes.p);
}

void cs_yara_needs_free(cs_yara_needs *n)
{
    free(n->lits);
    free(n->bytes);
    memset(n, 0, sizeof *n);
}
