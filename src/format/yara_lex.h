/* The small YARA cs_yara_lexer shared by the rule splitter and the literal
 * analysis: positions in a rule file's text, comments, string and regex
 * literals skipped. Internal to src/format. */
#ifndef CS_FORMAT_YARA_LEX_H
#define CS_FORMAT_YARA_LEX_H

#include <ctype.h>
#include <stddef.h>
#include <string.h>

typedef struct cs_yara_lexer {
    const char *s;
    size_t len, pos;
} cs_yara_lexer;

static inline int cs_yl_at_word(const cs_yara_lexer *lx, const char *w)
{
    size_t n = strlen(w);
    if (lx->pos + n > lx->len || memcmp(lx->s + lx->pos, w, n) != 0)
        return 0;
    if (lx->pos > 0 && (isalnum((unsigned char)lx->s[lx->pos - 1]) || lx->s[lx->pos - 1] == '_'))
        return 0;
    return lx->pos + n == lx->len || !(isalnum((unsigned char)lx->s[lx->pos + n]) || lx->s[lx->pos + n] == '_');
}

/* Skip white space and comments. -1 on an unterminated comment. */
static inline int cs_yl_skip_space(cs_yara_lexer *lx)
{
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos];
        if (isspace((unsigned char)c)) {
            lx->pos++;
        } else if (c == '/' && lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '/') {
            while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
                lx->pos++;
        } else if (c == '/' && lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '*') {
            const char *e = NULL;
            for (size_t i = lx->pos + 2; i + 1 < lx->len; i++)
                if (lx->s[i] == '*' && lx->s[i + 1] == '/') {
                    e = lx->s + i;
                    break;
                }
            if (!e)
                return -1;
            lx->pos = (size_t)(e - lx->s) + 2;
        } else {
            break;
        }
    }
    return 0;
}

/* Skip a "..." literal starting at pos. */
static inline int cs_yl_skip_string(cs_yara_lexer *lx)
{
    for (size_t i = lx->pos + 1; i < lx->len; i++) {
        if (lx->s[i] == '\\')
            i++;
        else if (lx->s[i] == '"') {
            lx->pos = i + 1;
            return 0;
        } else if (lx->s[i] == '\n')
            return -1;
    }
    return -1;
}

/* Skip a { hex } string starting at pos; comments inside it may hold
 * braces ("// pop edi {saved}"), so the close is found past them. */
static inline int cs_yl_skip_hex(cs_yara_lexer *lx)
{
    lx->pos++;
    while (lx->pos < lx->len) {
        if (cs_yl_skip_space(lx) != 0 || lx->pos >= lx->len)
            return -1;
        if (lx->s[lx->pos++] == '}')
            return 0;
    }
    return -1;
}

/* Skip a /regex/flags literal starting at pos. */
static inline int cs_yl_skip_regex(cs_yara_lexer *lx)
{
    int in_class = 0;
    for (size_t i = lx->pos + 1; i < lx->len; i++) {
        char c = lx->s[i];
        if (c == '\\')
            i++;
        else if (c == '[')
            in_class = 1;
        else if (c == ']')
            in_class = 0;
        else if (c == '\n')
            return -1;
        else if (c == '/' && !in_class) {
            i++;
            while (i < lx->len && isalpha((unsigned char)lx->s[i]))
                i++;
            lx->pos = i;
            return 0;
        }
    }
    return -1;
}

static inline void cs_yl_read_ident(cs_yara_lexer *lx, char *out, size_t cap)
{
    size_t n = 0;
    while (lx->pos < lx->len && (isalnum((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '_')) {
        if (n + 1 < cap)
            out[n++] = lx->s[lx->pos];
        lx->pos++;
    }
    out[n] = '\0';
}

#endif
