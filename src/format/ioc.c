#include "format/ioc.h"

#include <errno.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int has_word(const char *name, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = name; (p = strstr(p, word)) != NULL; p++) {
        int before = p == name || !isalnum((unsigned char)p[-1]);
        int after = !isalnum((unsigned char)p[wl]);
        if (before && after)
            return 1;
    }
    return 0;
}

cs_ioc_kind cs_ioc_classify(const char *basename)
{
    char name[256];
    size_t n = strlen(basename);
    if (n < 5 || n >= sizeof name || strcasecmp(basename + n - 4, ".txt") != 0)
        return CS_IOC_NONE;
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)tolower((unsigned char)basename[i]);
    if (has_word(name, "hash") || has_word(name, "hashes")) {
        if (strstr(name, "falsepositive") || strstr(name, "trusted"))
            return CS_IOC_GOOD_HASH;
        return CS_IOC_HASH;
    }
    if (has_word(name, "filename") || has_word(name, "filenames"))
        return CS_IOC_FILENAME;
    if (has_word(name, "c2") || has_word(name, "domains"))
        return CS_IOC_C2;
    if (has_word(name, "signers") || has_word(name, "signer"))
        return CS_IOC_SIGNERS;
    return CS_IOC_NONE;
}

static int parse_score(const char *s, int *out)
{
    char *end;
    if (!*s)
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *cs_trim(end) != '\0' || v < -1000 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

/* An optionally signed integer: what a score field looks like (then it is
 * one, and must be in range), as opposed to description text. */
static int looks_like_score(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int cs_parse_hash_line(char *line, cs_hash_line *out, const char **why)
{
    char *desc = strchr(line, ';');
    if (desc)
        *desc++ = '\0';
    char *hash = cs_trim(line);
    out->tlsh = strncmp(hash, "T1", 2) == 0 && strlen(hash) == 72;
    out->tlsh_text = out->tlsh ? hash : NULL;
    out->authentihash = strncasecmp(hash, "authentihash:", 13) == 0;
    if (out->authentihash)
        hash = cs_trim(hash + 13);
    size_t hl = strlen(hash);
    if (out->tlsh) {
        for (size_t i = 2; i < hl; i++)
            if (!isxdigit((unsigned char)hash[i])) {
                *why = "TLSH digest has a non-hex character";
                return CS_LINE_BAD;
            }
        out->digest_len = 0;
        hl = 0;
    } else if (out->authentihash && hl != 64) {
        *why = "an authentihash is a SHA-256: 64 hex digits";
        return CS_LINE_BAD;
    }
    if (!out->tlsh && hl != 32 && hl != 40 && hl != 64) {
        *why = "hash must have 32, 40 or 64 hex digits (or be a T1 TLSH digest)";
        return CS_LINE_BAD;
    }
    out->digest_len = hl / 2;
    if (!out->tlsh && cs_unhex(out->digest, hash, hl / 2) != 0) {
        *why = "hash has a non-hex character";
        return CS_LINE_BAD;
    }
    out->score = 100;
    out->description = "";
    if (desc) {
        char *third = strchr(desc, ';');
        if (third) {
            *third = '\0';
            char *mid = cs_trim(desc);
            if (looks_like_score(mid)) {
                /* the one score parser of every IOC format: -1000..1000 */
                if (parse_score(mid, &out->score) != 0) {
                    *why = "score out of range (-1000..1000)";
                    return CS_LINE_BAD;
                }
                desc = third + 1;
            } else {
                *third = ';'; /* not a score: the ';' belongs to the text */
            }
        }
        out->description = cs_trim(desc);
    }
    return CS_LINE_OK;
}

int cs_hash_is_trivial(const unsigned char *digest, size_t len)
{
    /* MD5, SHA-1, SHA-256 of "", "\n" and "\r\n". */
    static const char *const trivial[] = {
        "d41d8cd98f00b204e9800998ecf8427e",
        "68b329da9893e34099c7d8ad5cb9c940",
        "81051bcc2cf1bedf378224b0a93e2877",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "adc83b19e793491b1c6ea0fd8b46cd9f32e592fc",
        "ba8ab5a0280b953aa97435ff8946cbcbb2755a27",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b",
        "7eb70257593da06f682a3ddda54a9d260d4fc514f645237f5ca74b08f8da61a6",
    };
    char hex[65];
    cs_hex(hex, digest, len);
    for (size_t i = 0; i < sizeof trivial / sizeof *trivial; i++)
        if (strcmp(hex, trivial[i]) == 0)
            return 1;
    return 0;
}

int cs_parse_filename_line(char *line, cs_filename_line *out, const char **why)
{
    /* The regex itself may contain ';' only escaped; split on the last
     * separators that are followed by a score. */
    char *s1 = strchr(line, ';');
    if (!s1) {
        *why = "expected REGEX;SCORE[;FALSE_POSITIVE_REGEX]";
        return CS_LINE_BAD;
    }
    *s1 = '\0';
    char *score = s1 + 1;
    char *fp = strchr(score, ';');
    if (fp)
        *fp++ = '\0';
    out->regex = line;
    if (!*line) {
        *why = "empty regex";
        return CS_LINE_BAD;
    }
    if (parse_score(cs_trim(score), &out->score) != 0) {
        *why = "score is not an integer";
        return CS_LINE_BAD;
    }
    out->fp_regex = fp && *cs_trim(fp) ? cs_trim(fp) : NULL;
    return CS_LINE_OK;
}

/* Regex text for the Windows locations IOCs name with %VARS%. Written with
 * Windows separators; the POSIX rewrite below turns them into '/'. */
static const struct {
    const char *name, *regex;
} win_vars[] = {
    {"systemroot", "\\\\Windows"},
    {"windir", "\\\\Windows"},
    {"system32", "\\\\Windows\\\\System32"},
    {"systemdrive", "C:"},
    {"programdata", "\\\\ProgramData"},
    {"allusersprofile", "\\\\ProgramData"},
    {"programfiles", "\\\\Program Files"},
    {"programfiles(x86)", "\\\\Program Files \\(x86\\)"},
    {"commonprogramfiles", "\\\\Program Files\\\\Common Files"},
    {"userprofile", "\\\\Users\\\\[^\\\\]+"},
    {"public", "\\\\Users\\\\Public"},
    {"appdata", "\\\\Users\\\\[^\\\\]+\\\\AppData\\\\Roaming"},
    {"localappdata", "\\\\Users\\\\[^\\\\]+\\\\AppData\\\\Local"},
    {"temp", "\\\\Users\\\\[^\\\\]+\\\\AppData\\\\Local\\\\Temp"},
    {"tmp", "\\\\Users\\\\[^\\\\]+\\\\AppData\\\\Local\\\\Temp"},
};

void cs_filename_regex_for_posix(const char *in, cs_buf *out, int *is_plain)
{
    cs_buf tmp = {0};
    for (const char *p = in; *p;) {
        if (*p == '%') {
            const char *q = strchr(p + 1, '%');
            size_t i, n = q ? (size_t)(q - p - 1) : 0;
            for (i = 0; q && i < sizeof win_vars / sizeof *win_vars; i++)
                if (strlen(win_vars[i].name) == n && strncasecmp(p + 1, win_vars[i].name, n) == 0)
                    break;
            if (q && i < sizeof win_vars / sizeof *win_vars) {
                cs_buf_puts(&tmp, win_vars[i].regex);
                p = q + 1;
                continue;
            }
        }
        cs_buf_append(&tmp, p, 1);
        p++;
    }
    *is_plain = 1;
    const char *t = tmp.data ? tmp.data : "";
    for (const char *p = t; *p; p++) {
        if (p[0] == '\\' && p[1] == '\\') {
            cs_buf_append(out, "/", 1);
            p++;
            *is_plain = 0;
        } else if ((p[0] == 'C' || p[0] == 'c') && p[1] == ':' && p[2] == '\\' && p[3] == '\\') {
            p++; /* drive letter: the separator that follows stays */
        } else {
            if (strchr("\\^$.|?*+()[]{}", *p))
                *is_plain = 0;
            cs_buf_append(out, p, 1);
        }
    }
    if (!out->data)
        cs_buf_append(out, "", 0);
    cs_buf_free(&tmp);
}

int cs_parse_c2_line(char *line, cs_c2_line *out, const char **why)
{
    char *score = strchr(line, ';');
    if (score)
        *score++ = '\0';
    char *v = cs_trim(line);
    out->score = 100;
    if (score && parse_score(cs_trim(score), &out->score) != 0) {
        *why = "score is not an integer";
        return CS_LINE_BAD;
    }
    if (strlen(v) < 4) {
        *why = "indicator shorter than 4 characters";
        return CS_LINE_BAD;
    }
    if (strchr(v, '/')) {
        *why = "CIDR ranges and URLs cannot be searched in file contents";
        return CS_LINE_BAD;
    }
    for (char *p = v; *p; p++) {
        if (isspace((unsigned char)*p)) {
            *why = "indicator contains white space";
            return CS_LINE_BAD;
        }
        *p = (char)tolower((unsigned char)*p);
    }
    int dots = 0, ip = 1;
    for (const char *p = v; *p; p++) {
        if (*p == '.')
            dots++;
        else if (!isdigit((unsigned char)*p))
            ip = 0;
    }
    out->is_ip = (ip && dots == 3) || strchr(v, ':') != NULL;
    out->value = v;
    return CS_LINE_OK;
}

int cs_serial_normalize(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ':' || *p == ' ' || *p == '-')
            continue;
        if (!isxdigit((unsigned char)*p))
            return -1;
        if (n == 0 && *p == '0')
            continue; /* leading zero nibbles: 00 85 38 == 85 38 */
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)tolower((unsigned char)*p);
    }
    if (n == 0) {
        if (outlen < 2)
            return -1;
        out[n++] = '0';
    }
    out[n] = '\0';
    return 0;
}

int cs_parse_signer_line(char *line, cs_signer_line *out, const char **why)
{
    char *f[5] = {line, NULL, NULL, NULL, NULL};
    for (int i = 1; i < 5; i++) {
        char *semi = strchr(f[i - 1], ';');
        if (!semi)
            break;
        *semi = '\0';
        f[i] = semi + 1;
    }
    if (!f[3]) {
        *why = "expected SERIAL;ISSUER;THUMBPRINT;SCORE[;DESCRIPTION]";
        return CS_LINE_BAD;
    }
    char *serial = cs_trim(f[0]);
    out->team[0] = '\0';
    if (strncasecmp(serial, "team:", 5) == 0) {
        const char *t = cs_trim(serial + 5);
        size_t tl = strlen(t);
        for (size_t i = 0; i < tl; i++)
            if (!isalnum((unsigned char)t[i]))
                tl = 0;
        if (tl == 0 || tl >= sizeof out->team) {
            *why = "team: expects an Apple Team ID (letters and digits, like 33CF4654HL)";
            return CS_LINE_BAD;
        }
        memcpy(out->team, t, tl + 1);
        out->serial[0] = '\0';
    } else if (cs_serial_normalize(serial, out->serial, sizeof out->serial) != 0 || !*serial) {
        *why = "serial is not hex";
        return CS_LINE_BAD;
    }
    out->issuer = cs_trim(f[1]);
    char *tp = cs_trim(f[2]);
    size_t tl = strlen(tp), k = 0;
    for (size_t i = 0; i < tl; i++) {
        if (tp[i] == ':' || tp[i] == ' ')
            continue;
        if (!isxdigit((unsigned char)tp[i]) || k >= 64) {
            *why = "thumbprint is not a SHA-1 or SHA-256 in hex";
            return CS_LINE_BAD;
        }
        out->thumbprint[k++] = (char)tolower((unsigned char)tp[i]);
    }
    out->thumbprint[k] = '\0';
    if (k != 0 && k != 40 && k != 64) {
        *why = "thumbprint is not a SHA-1 or SHA-256 in hex";
        return CS_LINE_BAD;
    }
    if (parse_score(cs_trim(f[3]), &out->score) != 0) {
        *why = "score is not an integer";
        return CS_LINE_BAD;
    }
    out->description = f[4] ? cs_trim(f[4]) : "";
    return CS_LINE_OK;
}

void cs_line_iter_init(cs_line_iter *it, char *text, size_t len)
{
    it->p = text;
    it->end = text + len;
    it->lineno = 0;
    it->comment = "";
}

char *cs_line_iter_next(cs_line_iter *it)
{
    while (it->p < it->end) {
        char *line = it->p;
        char *nl = memchr(line, '\n', (size_t)(it->end - line));
        if (nl) {
            *nl = '\0';
            it->p = nl + 1;
        } else {
            it->p = it->end;
            /* the buffer is NUL-terminated one past end by cs_read_text_file */
        }
        it->lineno++;
        char *t = cs_trim(line);
        if (!*t)
            continue;
        if (*t == '#') {
            it->comment = cs_trim(t + 1);
            continue;
        }
        return t;
    }
    return NULL;
}
