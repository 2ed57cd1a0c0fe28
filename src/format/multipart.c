#define _GNU_SOURCE /* memmem */
#include "chainsweep/service.h"

#include <string.h>
#include <strings.h>

#define HEADER_LINES_MAX 64
#define HEADER_BYTES_MAX 16384

int cs_multipart_boundary(const char *ct, char *out, size_t out_len)
{
    for (const char *p = ct; (p = strchr(p, ';')) != NULL;) {
        p++;
        p += strspn(p, " \t");
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        size_t n;
        if (*p == '"') {
            const char *q = strchr(++p, '"');
            if (!q)
                return -1;
            n = (size_t)(q - p);
        } else {
            n = strcspn(p, "; \t\r\n");
        }
        if (n == 0 || n > 70 || n >= out_len)
            return -1;
        memcpy(out, p, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* The next delimiter line ("--boundary" at the start of a line) at or after
 * from: its offset, or len when there is none. */
static size_t next_delimiter(const unsigned char *b, size_t len, size_t from, const char *delim, size_t dlen)
{
    while (from + dlen <= len) {
        const unsigned char *hit = memmem(b + from, len - from, delim, dlen);
        if (!hit)
            return len;
        size_t at = (size_t)(hit - b);
        if (at == 0 || b[at - 1] == '\n')
            return at;
        from = at + 1;
    }
    return len;
}

/* The name's value (quoted or a token) from p, into out. */
static void param_value(const char *p, const char *end, int to_last_quote, char *out, size_t out_len)
{
    const char *v, *z;
    if (*p == '"') {
        v = p + 1;
        z = NULL;
        /* a file name may hold raw quotes (python's collector): to the last one */
        for (const char *q = v; q < end; q++)
            if (*q == '"' && (!z || to_last_quote))
                z = q;
        if (!z)
            z = end;
    } else {
        v = p;
        for (z = v; z < end && *z != ';' && *z != ' ' && *z != '\t'; z++)
            ;
    }
    size_t k = 0;
    for (const char *q = v; q < z && k + 1 < out_len; q++) {
        if (q[0] == '\\' && q + 1 < z && (q[1] == '"' || q[1] == '\\')) /* \" and \\ only: C:\Users stays */
            q++;
        else if (q[0] == '%' && q + 2 < z && q[1] == '2' && q[2] == '2') { /* curl's %22 */
            out[k++] = '"';
            q += 2;
            continue;
        }
        out[k++] = *q;
    }
    out[k] = '\0';
}

/* One Content-Disposition line [p, end): is its name "file"? and its filename. */
static int disposition(const char *p, const char *end, char *filename, size_t fn_len)
{
    int is_file = 0;
    char name[64];
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            break;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) > 9 && strncasecmp(p, "filename=", 9) == 0) {
            param_value(p + 9, end, 1, filename, fn_len);
            break; /* it runs to the line's last quote */
        }
        if ((size_t)(end - p) > 5 && strncasecmp(p, "name=", 5) == 0) {
            param_value(p + 5, end, 0, name, sizeof name);
            is_file = strcmp(name, "file") == 0;
        }
    }
    return is_file;
}

int cs_multipart_find_file(const unsigned char *b, size_t len, const char *boundary, cs_multipart_file *out,
                           const char **why)
{
    char delim[80];
    size_t dlen = strlen(boundary);
    if (dlen == 0 || dlen > 70) {
        *why = "bad boundary";
        return -1;
    }
    delim[0] = delim[1] = '-';
    memcpy(delim + 2, boundary, dlen + 1);
    dlen += 2;
    memset(out, 0, sizeof *out);
    int found = 0;
    size_t at = next_delimiter(b, len, 0, delim, dlen);
    if (at == len) {
        *why = "no multipart delimiter in the body";
        return -1;
    }
    for (;;) {
        size_t p = at + dlen;
        if (p + 2 <= len && b[p] == '-' && b[p + 1] == '-')
            break; /* the close delimiter */
        while (p < len && (b[p] == ' ' || b[p] == '\t'))
            p++;
        if (p < len && b[p] == '\r')
            p++;
        if (p >= len || b[p] != '\n') {
            *why = "a delimiter not followed by a line end";
            return -1;
        }
        p++;
        /* the part's header lines, to an empty one */
        int is_file = 0, lines = 0;
        char filename[CS_MULTIPART_NAME_MAX] = "";
        size_t header_start = p;
        for (;;) {
            const unsigned char *nl = p < len ? memchr(b + p, '\n', len - p) : NULL;
            if (!nl || ++lines > HEADER_LINES_MAX || (size_t)(nl - b) - header_start > HEADER_BYTES_MAX) {
                *why = "part headers without an end, or too many";
                return -1;
            }
            size_t end = (size_t)(nl - b);
            size_t line_end = end > p && b[end - 1] == '\r' ? end - 1 : end;
            const char *line = (const char *)b + p;
            p = end + 1;
            if (line_end == (size_t)(line - (const char *)b))
                break; /* the empty line */
            size_t n = line_end - (size_t)(line - (const char *)b);
            if (n > 20 && strncasecmp(line, "content-disposition:", 20) == 0)
                is_file = disposition(line + 20, line + n, filename, sizeof filename);
        }
        size_t next = next_delimiter(b, len, p, delim, dlen);
        if (next == len) {
            *why = "a part without its closing delimiter (truncated upload?)";
            return -1;
        }
        /* the line end before the delimiter belongs to it */
        size_t content_end = next;
        if (content_end > p && b[content_end - 1] == '\n')
            content_end--;
        if (content_end > p && b[content_end - 1] == '\r')
            content_end--;
        out->parts++;
        if (is_file && !found) {
            out->data = b + p;
            out->len = content_end - p;
            memcpy(out->filename, filename, sizeof filename);
            found = 1;
        }
        at = next;
    }
    if (!found) {
        *why = "no part named \"file\"";
        return -1;
    }
    return 0;
}
