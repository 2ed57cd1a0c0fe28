/* Small shared helpers: errors, an arena for per-file results, string buffers. */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "chainsweep/chainsweep.h"

#if defined(__GNUC__)
#define CS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CS_PRINTF(a, b)
#endif

/* Fill err (if non-NULL) and return code. */
cs_status cs_error_set(cs_error *err, cs_status code, const char *fmt, ...) CS_PRINTF(3, 4);

/* Out of memory: jumps to the innermost guard (util/guard.h), which turns it
 * into an error value for the file or call in progress. */
void cs_out_of_memory(void);
void *cs_xmalloc(size_t n);   /* never returns NULL (see cs_out_of_memory) */
char *cs_strdup(const char *s);
char *cs_strndup(const char *s, size_t n);

/* Grow an array of elements of size elem so that it holds at least want. */
int cs_grow(void **items, size_t *cap, size_t want, size_t elem);

/* Bump allocator: everything one result needs, freed at once. */
typedef struct cs_arena_block cs_arena_block;
typedef struct cs_arena {
    cs_arena_block *head;
} cs_arena;

void *cs_arena_alloc(cs_arena *a, size_t n);
char *cs_arena_strdup(cs_arena *a, const char *s);
void *cs_arena_memdup(cs_arena *a, const void *p, size_t n);
void cs_arena_free(cs_arena *a);

/* Growable NUL-terminated string buffer. */
typedef struct cs_buf {
    char *data;
    size_t len, cap;
} cs_buf;

void cs_buf_append(cs_buf *b, const void *p, size_t n);
void cs_buf_puts(cs_buf *b, const char *s);
void cs_buf_printf(cs_buf *b, const char *fmt, ...) CS_PRINTF(2, 3);
void cs_buf_free(cs_buf *b);

/* Printable rendering of bytes: printable ASCII kept, '\\' doubled,
 * everything else as \xNN. Used for matched data in every output format. */
void cs_escape_bytes(cs_buf *b, const unsigned char *p, size_t n);

/* Lower-case hex of n bytes into out (2n+1 chars). */
void cs_hex(char *out, const unsigned char *p, size_t n);
/* Parse 2n hex chars into n bytes; returns 0 on success. */
int cs_unhex(unsigned char *out, const char *hex, size_t n);

/* Little-endian reads for file formats; the caller has checked the bounds. */
static inline uint16_t cs_rd16le(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t cs_rd32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t cs_rd64le(const unsigned char *p)
{
    return (uint64_t)cs_rd32le(p) | (uint64_t)cs_rd32le(p + 4) << 32;
}

/* FNV-1a (64-bit) of p[0..n), continuing from h (CS_FNV1A_INIT to begin):
 * names of cache files and hash-table slots, never anything an attacker's
 * collisions could exploit. */
#define CS_FNV1A_INIT 1469598103934665603ull
static inline uint64_t cs_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Trim ASCII whitespace at both ends, in place; returns start. */
char *cs_trim(char *s);

/* Pages of a read-only file mapping already read are dropped from the
 * process (MADV_DONTNEED: they stay in the page cache, a later read is a
 * minor fault), so that RSS stays bounded however large the file. Only for
 * mappings of files: on anonymous memory it would lose the bytes. Sources
 * call it (cs_source_release), which know what their bytes are. */
#define CS_RELEASE_CHUNK ((size_t)64 << 20)
void cs_file_mapping_release(const void *p, size_t len);

/* Read a whole small file (rules, IOC lists). Returns NULL and sets err. */
char *cs_read_text_file(const char *path, size_t *len, cs_error *err);
/* Replace path with n bytes: written to a temporary file beside it, synced,
 * then renamed over it, so that a reader sees the old file or the new one,
 * never part of one. mode: the new file's permission bits. */
cs_status cs_write_file_replace(const char *path, const void *p, size_t n, unsigned mode, cs_error *err);

#endif
