#include "util/util.h"
#include "util/guard.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

cs_status cs_error_set(cs_error *err, cs_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void cs_out_of_memory(void)
{
    cs_guard_fail(CS_GUARD_NOMEM); /* the file or call in progress fails */
    abort(); /* only outside every guard: the library enters one in each entry point */
}

void *cs_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        cs_out_of_memory();
    return p;
}

char *cs_strndup(const char *s, size_t n)
{
    char *p = cs_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cs_strdup(const char *s)
{
    return s ? cs_strndup(s, strlen(s)) : NULL;
}

int cs_grow(void **items, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < want)
        ncap *= 2;
    void *p = realloc(*items, ncap * elem);
    if (!p)
        cs_out_of_memory();
    *items = p;
    *cap = ncap;
    return 0;
}

struct cs_arena_block {
    cs_arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

void *cs_arena_alloc(cs_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    cs_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > 4096 ? n : 4096;
        b = cs_xmalloc(sizeof *b + size);
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *cs_arena_memdup(cs_arena *a, const void *p, size_t n)
{
    void *q = cs_arena_alloc(a, n + 1);
    memcpy(q, p, n);
    ((char *)q)[n] = '\0';
    return q;
}

char *cs_arena_strdup(cs_arena *a, const char *s)
{
    return s ? cs_arena_memdup(a, s, strlen(s)) : NULL;
}

void cs_arena_free(cs_arena *a)
{
    cs_arena_block *b = a->head;
    while (b) {
        cs_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
}

void cs_buf_append(cs_buf *b, const void *p, size_t n)
{
    cs_grow((void **)&b->data, &b->cap, b->len + n + 1, 1);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cs_buf_puts(cs_buf *b, const char *s)
{
    cs_buf_append(b, s, strlen(s));
}

void cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    cs_grow((void **)&b->data, &b->cap, b->len + (size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cs_buf_free(cs_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void cs_escape_bytes(cs_buf *b, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '\\') {
            cs_buf_append(b, "\\\\", 2);
        } else if (c >= 0x20 && c < 0x7f) {
            cs_buf_append(b, &c, 1);
        } else {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            cs_buf_append(b, e, 4);
        }
    }
}

void cs_hex(char *out, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int cs_unhex(unsigned char *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)hex[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

char *cs_trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

char *cs_read_text_file(const char *path, size_t *len, cs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cs_error_set(err, CS_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    cs_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cs_buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        cs_buf_free(&b);
        cs_error_set(err, CS_ERR_IO, "%s: read error", path);
        return NULL;
    }
    if (!b.data)
        cs_buf_append(&b, "", 0);
    if (len)
        *len = b.len;
    return b.data;
}

cs_status cs_write_file_replace(const char *path, const void *p, size_t n, unsigned mode, cs_error *err)
{
    cs_buf tmp = {0};
    cs_buf_printf(&tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp.data);
    cs_status rc = CS_OK;
    if (fd < 0) {
        rc = cs_error_set(err, CS_ERR_IO, "%s: %s", tmp.data, strerror(errno));
        cs_buf_free(&tmp);
        return rc;
    }
    const unsigned char *b = p;
    int en = fchmod(fd, (mode_t)mode) != 0 ? errno : 0;
    while (!en && n) {
        ssize_t k = write(fd, b, n > (1u << 30) ? 1u << 30 : n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            en = k < 0 ? errno : EIO;
        else
            b += k, n -= (size_t)k;
    }
    if (!en && fsync(fd) != 0)
        en = errno;
    if (close(fd) != 0 && !en)
        en = errno;
    if (!en && rename(tmp.data, path) != 0)
        en = errno;
    if (en) {
        rc = cs_error_set(err, CS_ERR_IO, "%s: %s", path, strerror(en));
        unlink(tmp.data);
    }
    cs_buf_free(&tmp);
    return rc;
}

void cs_file_mapping_release(const void *p, size_t len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1), end = ((uintptr_t)p + len) & ~(page - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
}
