/* UDIF (.dmg): a 512-byte "koly" trailer at the end of the file points at
 * the data fork (the chunks' bytes) and at an XML property list whose
 * resource-fork/blkx array holds one "mish" block map per partition. A
 * mish maps runs of 512-byte sectors, relative to its partition's first
 * sector, to chunks in the data fork: stored, zero-filled or compressed
 * (ADC, zlib, bzip2, LZFSE, XZ). All fields are big-endian. Chunk file
 * offsets are data fork offset + mish dataOffset + compressedOffset (both
 * offsets are 0 in the images hdiutil writes). The layout is checked once
 * at open (bounds, sectors, overlaps, counts); chunk contents when a read
 * first touches them. Allocations are malloc with checks: a longjmp out of
 * cs_xmalloc would leak libplist's tree. */
#include "format/udif.h"

#include <bzlib.h>
#include <lzma.h>
#include <plist/plist.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/lzfse.h"

#define SECTOR 512u
#define KOLY_SIZE 512u
#define MISH_HEAD 0xCCu
#define MISH_CHUNK 40u
#define MAX_XML ((uint64_t)64 << 20)
#define MAX_CHUNKS 10000000u
#define MAX_PARTS 100000u
#define MAX_SECTORS ((uint64_t)1 << 54) /* byte offsets stay below 2^63 */
#define MAX_NAME 1024
#define MAX_DEPTH 64u /* XML elements; a DMG's plist nests 6 deep */
#define CACHE_N 4
#define XZ_MEMLIMIT ((uint64_t)128 << 20)
#define OVERRUN_COUNT ((uint64_t)16 << 20) /* bytes counted past a chunk's size for the message */

enum {
    T_ZERO = 0,
    T_RAW = 1,
    T_IGNORE = 2,
    T_ADC = 0x80000004u,
    T_ZLIB = 0x80000005u,
    T_BZIP2 = 0x80000006u,
    T_LZFSE = 0x80000007u,
    T_LZMA = 0x80000008u,
    T_COMMENT = 0x7ffffffeu,
    T_END = 0xffffffffu,
};

typedef struct chunk {
    uint64_t start, end; /* disk bytes [start, end) */
    uint64_t off, len;   /* stored bytes in the file */
    uint32_t type, part, index;
} chunk;

typedef struct cache_entry {
    unsigned char *buf;
    size_t cap;
    size_t chunk;
    uint64_t used; /* LRU stamp; 0 = empty */
} cache_entry;

struct cs_udif {
    const unsigned char *data;
    size_t size;
    uint64_t max_chunk, disk_size;
    cs_udif_partition *parts;
    size_t n_parts;
    chunk *chunks;
    size_t n_chunks, cap_chunks;
    unsigned kinds;
    cache_entry cache[CACHE_N];
    uint64_t clock;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int fail(char *why, size_t why_n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_n, const char *fmt, ...)
{
    if (why && why_n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* [off, off+len) inside [0, limit) without overflow */
static int range_ok(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

int cs_udif_probe(const unsigned char *data, size_t size)
{
    if (!data || size < KOLY_SIZE)
        return 0;
    const unsigned char *k = data + size - KOLY_SIZE;
    return memcmp(k, "koly", 4) == 0 && be32(k + 4) == 4 && be32(k + 8) == KOLY_SIZE;
}

/* libplist decodes base64 leniently (garbage becomes bytes); check the
 * text of every <data> element first so bad base64 gets its own message. */
static int check_base64(const unsigned char *x, size_t n, char *why, size_t why_n)
{
    static const char open_tag[] = "<data>", close_tag[] = "</data>";
    size_t i = 0, idx = 0;
    while (i + sizeof open_tag - 1 <= n) {
        const unsigned char *p = memchr(x + i, '<', n - i);
        if (!p)
            break;
        i = (size_t)(p - x);
        if (n - i < sizeof open_tag - 1 || memcmp(p, open_tag, sizeof open_tag - 1) != 0) {
            i++;
            continue;
        }
        i += sizeof open_tag - 1;
        size_t pad = 0, sig = 0;
        for (; i < n && x[i] != '<'; i++) {
            unsigned char c = x[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                continue;
            if (c == '=') {
                if (++pad > 2)
                    break;
                sig++;
                continue;
            }
            if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                         c == '/'))
                return fail(why, why_n, "UDIF plist: <data> element %zu is not valid base64 (byte 0x%02x at %zu)",
                            idx, c, i);
            sig++;
        }
        if (pad > 2 || sig % 4 != 0)
            return fail(why, why_n, "UDIF plist: <data> element %zu is not valid base64 (%zu characters)", idx, sig);
        if (n - i < sizeof close_tag - 1 || memcmp(x + i, close_tag, sizeof close_tag - 1) != 0)
            return fail(why, why_n, "UDIF plist: <data> element %zu is not closed", idx);
        idx++;
    }
    return 0;
}

/* libplist frees its trees recursively: a deeply nested plist would
 * overflow the stack. Count element depth first (comments, processing
 * instructions, CDATA and declarations skipped; an unclosed one ends it). */
static int check_depth(const unsigned char *x, size_t n, char *why, size_t why_n)
{
    size_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != '<')
            continue;
        const unsigned char *rest = x + i + 1;
        size_t left = n - i - 1;
        const char *close = ">";
        if (left >= 3 && memcmp(rest, "!--", 3) == 0)
            close = "-->";
        else if (left >= 8 && memcmp(rest, "![CDATA[", 8) == 0)
            close = "]]>";
        else if (left >= 1 && rest[0] == '?')
            close = "?>";
        size_t cl = strlen(close), j = 0;
        while (j + cl <= left && memcmp(rest + j, close, cl) != 0)
            j++;
        if (j + cl > left)
            break; /* unclosed: libplist refuses it */
        if (close[0] == '>' && left && rest[0] != '!') {
            if (rest[0] == '/') {
                if (depth)
                    depth--;
            } else if (!(j && rest[j - 1] == '/') && ++depth > MAX_DEPTH) {
                return fail(why, why_n, "UDIF plist nested deeper than %u elements", MAX_DEPTH);
            }
        }
        i += j + cl;
    }
    return 0;
}

static unsigned kind_of(uint32_t type)
{
    switch (type) {
    case T_ZERO:
    case T_IGNORE:
        return CS_UDIF_ZERO;
    case T_RAW:
        return CS_UDIF_RAW;
    case T_ADC:
        return CS_UDIF_ADC;
    case T_ZLIB:
        return CS_UDIF_ZLIB;
    case T_BZIP2:
        return CS_UDIF_BZIP2;
    case T_LZFSE:
        return CS_UDIF_LZFSE;
    case T_LZMA:
        return CS_UDIF_LZMA;
    default:
        return 0;
    }
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case T_ADC:
        return "ADC";
    case T_ZLIB:
        return "zlib";
    case T_BZIP2:
        return "bzip2";
    case T_LZMA:
        return "XZ";
    default:
        return "stored";
    }
}

typedef struct koly {
    uint64_t df_off, df_len, xml_off, xml_len, sectors;
} koly;

static int parse_mish(cs_udif *u, const koly *k, size_t pi, const unsigned char *m, uint64_t len, uint64_t *disk_end,
                      char *why, size_t why_n)
{
    if (len < MISH_HEAD || memcmp(m, "mish", 4) != 0)
        return fail(why, why_n, "UDIF blkx entry %zu: Data is not a mish block (%llu bytes)", pi,
                    (unsigned long long)len);
    if (be32(m + 4) != 1)
        return fail(why, why_n, "UDIF blkx entry %zu: mish version %u, not 1", pi, be32(m + 4));
    uint64_t first = be64(m + 8), count = be64(m + 0x10), data_off = be64(m + 0x18);
    uint32_t n = be32(m + 0xC8);
    if ((len - MISH_HEAD) / MISH_CHUNK != n || (len - MISH_HEAD) % MISH_CHUNK != 0)
        return fail(why, why_n, "UDIF blkx entry %zu: mish declares %u chunks, its %llu bytes hold %llu", pi, n,
                    (unsigned long long)len, (unsigned long long)((len - MISH_HEAD) / MISH_CHUNK));
    if (first >= MAX_SECTORS || count > MAX_SECTORS - first)
        return fail(why, why_n, "UDIF blkx entry %zu: sectors %llu+%llu out of range", pi, (unsigned long long)first,
                    (unsigned long long)count);
    if (data_off > k->df_len)
        return fail(why, why_n, "UDIF blkx entry %zu: data offset %llu past the data fork (%llu bytes)", pi,
                    (unsigned long long)data_off, (unsigned long long)k->df_len);
    const unsigned char *c = m + MISH_HEAD;
    for (uint32_t j = 0; j < n; j++, c += MISH_CHUNK) {
        uint32_t type = be32(c);
        if (type == T_COMMENT)
            continue;
        if (type == T_END)
            break;
        unsigned kind = kind_of(type);
        if (!kind)
            return fail(why, why_n, "UDIF chunk %u of partition %zu has unknown type 0x%08x", j, pi, type);
        uint64_t rel = be64(c + 8), cnt = be64(c + 0x10), coff = be64(c + 0x18), clen = be64(c + 0x20);
        if (rel > count || cnt > count - rel)
            return fail(why, why_n, "UDIF chunk %u of partition %zu covers sectors %llu+%llu, the partition has %llu",
                        j, pi, (unsigned long long)rel, (unsigned long long)cnt, (unsigned long long)count);
        u->kinds |= kind;
        if (cnt == 0)
            continue;
        uint64_t off = 0;
        if (kind != CS_UDIF_ZERO) {
            /* inside the data fork, which open checked is inside the file */
            if (!range_ok(coff, clen, k->df_len - data_off))
                return fail(why, why_n,
                            "UDIF chunk %u of partition %zu (offset %llu, length %llu) lies outside the data fork "
                            "(%llu bytes)",
                            j, pi, (unsigned long long)(data_off + coff), (unsigned long long)clen,
                            (unsigned long long)k->df_len);
            off = k->df_off + data_off + coff;
        }
        if (u->n_chunks >= MAX_CHUNKS)
            return fail(why, why_n, "UDIF has more than %u chunks", MAX_CHUNKS);
        if (u->n_chunks == u->cap_chunks) {
            size_t cap = u->cap_chunks ? u->cap_chunks * 2 : 64;
            chunk *nc = realloc(u->chunks, cap * sizeof *nc);
            if (!nc)
                return fail(why, why_n, "UDIF: out of memory for the chunk table");
            u->chunks = nc;
            u->cap_chunks = cap;
        }
        chunk *ch = &u->chunks[u->n_chunks++];
        ch->start = (first + rel) * SECTOR;
        ch->end = (first + rel + cnt) * SECTOR;
        ch->off = off;
        ch->len = kind == CS_UDIF_ZERO ? 0 : clen;
        ch->type = type;
        ch->part = (uint32_t)pi;
        ch->index = j;
    }
    cs_udif_partition *p = &u->parts[pi];
    p->offset = first * SECTOR;
    p->size = count * SECTOR;
    if ((first + count) * SECTOR > *disk_end)
        *disk_end = (first + count) * SECTOR;
    return 0;
}

/* The entry's Name, else its CFName, else "" (copied, at most MAX_NAME bytes) */
static char *entry_name(plist_t item)
{
    plist_t s = plist_dict_get_item(item, "Name");
    if (!s || plist_get_node_type(s) != PLIST_STRING)
        s = plist_dict_get_item(item, "CFName");
    uint64_t len = 0;
    const char *v = NULL;
    if (s && plist_get_node_type(s) == PLIST_STRING)
        v = plist_get_string_ptr(s, &len);
    if (!v)
        len = 0;
    if (len > MAX_NAME)
        len = MAX_NAME;
    char *out = malloc((size_t)len + 1);
    if (!out)
        return NULL;
    if (len)
        memcpy(out, v, (size_t)len);
    out[len] = 0;
    return out;
}

static int chunk_cmp(const void *a, const void *b)
{
    const chunk *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int parse_plist(cs_udif *u, const koly *k, char *why, size_t why_n)
{
    const unsigned char *x = u->data + k->xml_off;
    if (check_depth(x, (size_t)k->xml_len, why, why_n) != 0 || check_base64(x, (size_t)k->xml_len, why, why_n) != 0)
        return -1;
    /* a NUL-terminated copy: libplist's parser is not instrumented here */
    char *copy = malloc((size_t)k->xml_len + 1);
    if (!copy)
        return fail(why, why_n, "UDIF: out of memory for the property list");
    memcpy(copy, x, (size_t)k->xml_len);
    copy[k->xml_len] = 0;
    plist_t root = NULL;
    plist_from_xml(copy, (uint32_t)k->xml_len, &root);
    free(copy);
    if (!root)
        return fail(why, why_n, "UDIF plist: not an XML property list");
    int rc = -1;
    plist_t rf = NULL, blkx = NULL;
    if (plist_get_node_type(root) != PLIST_DICT) {
        fail(why, why_n, "UDIF plist: the top is not a dictionary");
        goto out;
    }
    rf = plist_dict_get_item(root, "resource-fork");
    if (!rf || plist_get_node_type(rf) != PLIST_DICT) {
        fail(why, why_n, "UDIF plist: no \"resource-fork\" dictionary");
        goto out;
    }
    blkx = plist_dict_get_item(rf, "blkx");
    if (!blkx || plist_get_node_type(blkx) != PLIST_ARRAY) {
        fail(why, why_n, "UDIF plist: no \"blkx\" array in the resource fork");
        goto out;
    }
    uint32_t n = plist_array_get_size(blkx);
    if (n == 0) {
        fail(why, why_n, "UDIF plist: the blkx array is empty");
        goto out;
    }
    if (n > MAX_PARTS) {
        fail(why, why_n, "UDIF plist: %u blkx entries, more than %u", n, MAX_PARTS);
        goto out;
    }
    u->parts = calloc(n, sizeof *u->parts);
    if (!u->parts) {
        fail(why, why_n, "UDIF: out of memory for the partition table");
        goto out;
    }
    uint64_t disk_end = 0;
    for (uint32_t i = 0; i < n; i++) {
        plist_t item = plist_array_get_item(blkx, i);
        if (!item || plist_get_node_type(item) != PLIST_DICT) {
            fail(why, why_n, "UDIF blkx entry %u is not a dictionary", i);
            goto out;
        }
        plist_t d = plist_dict_get_item(item, "Data");
        if (!d || plist_get_node_type(d) != PLIST_DATA) {
            fail(why, why_n, "UDIF blkx entry %u has no Data", i);
            goto out;
        }
        uint64_t len = 0;
        const char *m = plist_get_data_ptr(d, &len);
        if (!m)
            len = 0;
        char *name = entry_name(item);
        if (!name) {
            fail(why, why_n, "UDIF: out of memory for a partition name");
            goto out;
        }
        u->parts[i].name = name;
        u->n_parts = i + 1;
        if (parse_mish(u, k, i, (const unsigned char *)(m ? m : ""), len, &disk_end, why, why_n) != 0)
            goto out;
    }
    if (u->n_chunks > 1)
        qsort(u->chunks, u->n_chunks, sizeof *u->chunks, chunk_cmp);
    for (size_t i = 1; i < u->n_chunks; i++) {
        const chunk *a = &u->chunks[i - 1], *b = &u->chunks[i];
        if (b->start < a->end) {
            fail(why, why_n, "UDIF chunk %u of partition %u overlaps chunk %u of partition %u (disk bytes %llu..%llu)",
                 b->index, b->part, a->index, a->part, (unsigned long long)b->start, (unsigned long long)a->end);
            goto out;
        }
    }
    u->disk_size = disk_end;
    if (k->sectors * SECTOR > u->disk_size)
        u->disk_size = k->sectors * SECTOR;
    rc = 0;
out:
    plist_free(root);
    return rc;
}

int cs_udif_open(const unsigned char *data, size_t size, uint64_t max_chunk, cs_udif **out, char *why, size_t why_n)
{
    *out = NULL;
    if (!cs_udif_probe(data, size))
        return fail(why, why_n, "not a UDIF image: no koly trailer (version 4, 512 bytes) in the last 512 bytes");
    const unsigned char *t = data + size - KOLY_SIZE;
    koly k = {be64(t + 0x18), be64(t + 0x20), be64(t + 0xD8), be64(t + 0xE0), be64(t + 0x1EC)};
    uint32_t seg = be32(t + 0x38), segs = be32(t + 0x3C);
    uint64_t limit = size - KOLY_SIZE;
    if (segs > 1)
        return fail(why, why_n, "UDIF: segmented image (segment %u of %u) not supported", seg, segs);
    if (!range_ok(k.df_off, k.df_len, limit))
        return fail(why, why_n, "UDIF data fork (offset %llu, length %llu) lies outside the %llu bytes before the trailer",
                    (unsigned long long)k.df_off, (unsigned long long)k.df_len, (unsigned long long)limit);
    if (k.xml_len == 0)
        return fail(why, why_n, "UDIF has no XML property list (resource-fork-only images are not supported)");
    if (k.xml_len > MAX_XML)
        return fail(why, why_n, "UDIF XML property list of %llu bytes, over the limit of %llu",
                    (unsigned long long)k.xml_len, (unsigned long long)MAX_XML);
    if (!range_ok(k.xml_off, k.xml_len, limit))
        return fail(why, why_n,
                    "UDIF XML property list (offset %llu, length %llu) lies outside the %llu bytes before the trailer",
                    (unsigned long long)k.xml_off, (unsigned long long)k.xml_len, (unsigned long long)limit);
    if (k.sectors >= MAX_SECTORS)
        return fail(why, why_n, "UDIF trailer declares %llu sectors, out of range", (unsigned long long)k.sectors);
    cs_udif *u = calloc(1, sizeof *u);
    if (!u)
        return fail(why, why_n, "UDIF: out of memory");
    u->data = data;
    u->size = size;
    u->max_chunk = max_chunk;
    if (parse_plist(u, &k, why, why_n) != 0) {
        cs_udif_close(u);
        return -1;
    }
    *out = u;
    return 0;
}

uint64_t cs_udif_disk_size(const cs_udif *u)
{
    return u->disk_size;
}

size_t cs_udif_partition_count(const cs_udif *u)
{
    return u->n_parts;
}

const cs_udif_partition *cs_udif_partition_at(const cs_udif *u, size_t i)
{
    return i < u->n_parts ? &u->parts[i] : NULL;
}

unsigned cs_udif_chunk_kinds(const cs_udif *u)
{
    return u->kinds;
}

void cs_udif_close(cs_udif *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_parts; i++)
        free((char *)u->parts[i].name);
    free(u->parts);
    free(u->chunks);
    for (int i = 0; i < CACHE_N; i++)
        free(u->cache[i].buf);
    free(u);
}

/* ---- chunk decoders: exactly want bytes into dst, or a reason ---- */

static int size_error(const chunk *c, uint64_t got, int more, uint64_t want, char *why, size_t why_n)
{
    return fail(why, why_n, "UDIF chunk %u of partition %u inflates to %s%llu bytes, declared %llu", c->index,
                c->part, more ? "more than " : "", (unsigned long long)got, (unsigned long long)want);
}

/* ADC: a byte with the top bit set starts a literal run of (b & 0x7f) + 1
 * bytes; 0x40..0x7f a copy of (b & 0x3f) + 4 bytes from distance
 * (16-bit big-endian operand) + 1; below 0x40 a copy of ((b >> 2) & 0xf) + 3
 * bytes from distance (((b & 3) << 8) | operand) + 1. Past want it only
 * counts, for the message. */
static int adc_decode(const chunk *c, const unsigned char *s, size_t n, unsigned char *dst, size_t want, char *why,
                      size_t why_n)
{
    size_t i = 0;
    uint64_t o = 0;
    while (i < n) {
        unsigned b = s[i++];
        size_t len, dist;
        if (b & 0x80) {
            len = (b & 0x7f) + 1;
            if (len > n - i)
                return fail(why, why_n, "UDIF chunk %u of partition %u: ADC literal run past the end of the input",
                            c->index, c->part);
            if (o < want && len <= want - o)
                memcpy(dst + o, s + i, len);
            i += len;
            o += len;
            continue;
        }
        if (b & 0x40) {
            if (n - i < 2)
                return fail(why, why_n, "UDIF chunk %u of partition %u: ADC input truncated", c->index, c->part);
            len = (b & 0x3f) + 4;
            dist = (size_t)s[i] << 8 | s[i + 1];
            i += 2;
        } else {
            if (n - i < 1)
                return fail(why, why_n, "UDIF chunk %u of partition %u: ADC input truncated", c->index, c->part);
            len = ((b >> 2) & 0xf) + 3;
            dist = (size_t)(b & 3) << 8 | s[i];
            i += 1;
        }
        if (dist >= o)
            return fail(why, why_n, "UDIF chunk %u of partition %u: ADC copy from before the start of the chunk",
                        c->index, c->part);
        if (o < want && len <= want - o)
            for (size_t k = 0; k < len; k++) /* may overlap its own output */
                dst[o + k] = dst[o + k - dist - 1];
        else if (o < want) /* the copy crosses the end: only the count matters now */
            memset(dst + o, 0, want - o);
        o += len;
    }
    if (o != want)
        return size_error(c, o, 0, want, why, why_n);
    return 0;
}

static int zlib_decode(const chunk *c, const unsigned char *s, size_t n, unsigned char *dst, size_t want, char *why,
                       size_t why_n)
{
    if (n > UINT32_MAX || want > UINT32_MAX)
        return fail(why, why_n, "UDIF chunk %u of partition %u: too large for zlib", c->index, c->part);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return fail(why, why_n, "UDIF: zlib initialisation failed");
    z.next_in = (Bytef *)(uintptr_t)s;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)want;
    int rc = inflate(&z, Z_FINISH);
    uint64_t got = want - z.avail_out;
    int ret = 0;
    if (rc == Z_STREAM_END) {
        if (got != want)
            ret = size_error(c, got, 0, want, why, why_n);
        else if (z.avail_in)
            ret = fail(why, why_n, "UDIF chunk %u of partition %u: %u bytes after the end of its zlib stream",
                       c->index, c->part, z.avail_in);
    } else if ((rc == Z_OK || rc == Z_BUF_ERROR) && z.avail_out == 0) {
        unsigned char scratch[4096];
        while (rc != Z_STREAM_END && got < want + OVERRUN_COUNT) {
            z.next_out = scratch;
            z.avail_out = sizeof scratch;
            rc = inflate(&z, Z_NO_FLUSH);
            got += sizeof scratch - z.avail_out;
            if (rc != Z_OK && rc != Z_STREAM_END)
                break;
        }
        ret = got == want ? fail(why, why_n, "UDIF chunk %u of partition %u: zlib stream does not end", c->index,
                                 c->part)
                          : size_error(c, got, rc != Z_STREAM_END, want, why, why_n);
    } else if (rc == Z_BUF_ERROR || rc == Z_OK) {
        ret = fail(why, why_n, "UDIF chunk %u of partition %u: zlib stream truncated after %llu of %llu bytes",
                   c->index, c->part, (unsigned long long)got, (unsigned long long)want);
    } else {
        ret = fail(why, why_n, "UDIF chunk %u of partition %u: zlib data error (%s)", c->index, c->part,
                   z.msg ? z.msg : "corrupt");
    }
    inflateEnd(&z);
    return ret;
}

static int bzip2_decode(const chunk *c, const unsigned char *s, size_t n, unsigned char *dst, size_t want, char *why,
                        size_t why_n)
{
    if (n > UINT32_MAX || want > UINT32_MAX)
        return fail(why, why_n, "UDIF chunk %u of partition %u: too large for bzip2", c->index, c->part);
    bz_stream z;
    memset(&z, 0, sizeof z);
    if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK)
        return fail(why, why_n, "UDIF: bzip2 initialisation failed");
    z.next_in = (char *)(uintptr_t)s;
    z.avail_in = (unsigned)n;
    z.next_out = (char *)dst;
    z.avail_out = (unsigned)want;
    int rc = BZ_OK;
    /* bzip2 may stop early with output room left: call until no progress */
    while (rc == BZ_OK && z.avail_out) {
        unsigned in = z.avail_in, outn = z.avail_out;
        rc = BZ2_bzDecompress(&z);
        if (rc == BZ_OK && in == z.avail_in && outn == z.avail_out)
            break;
    }
    uint64_t got = want - z.avail_out;
    int ret = 0;
    if (rc == BZ_STREAM_END) {
        if (got != want)
            ret = size_error(c, got, 0, want, why, why_n);
        else if (z.avail_in)
            ret = fail(why, why_n, "UDIF chunk %u of partition %u: %u bytes after the end of its bzip2 stream",
                       c->index, c->part, z.avail_in);
    } else if (rc == BZ_OK && z.avail_out == 0) {
        char scratch[4096];
        while (rc == BZ_OK && got < want + OVERRUN_COUNT) {
            z.next_out = scratch;
            z.avail_out = sizeof scratch;
            unsigned in = z.avail_in;
            rc = BZ2_bzDecompress(&z);
            got += sizeof scratch - z.avail_out;
            if (rc == BZ_OK && in == z.avail_in && z.avail_out == sizeof scratch)
                break; /* no progress: the input ended */
        }
        ret = got == want ? fail(why, why_n, "UDIF chunk %u of partition %u: bzip2 stream does not end", c->index,
                                 c->part)
                          : size_error(c, got, rc != BZ_STREAM_END, want, why, why_n);
    } else if (rc == BZ_OK) {
        ret = fail(why, why_n, "UDIF chunk %u of partition %u: bzip2 stream truncated after %llu of %llu bytes",
                   c->index, c->part, (unsigned long long)got, (unsigned long long)want);
    } else {
        ret = fail(why, why_n, "UDIF chunk %u of partition %u: bzip2 data error (%d)", c->index, c->part, rc);
    }
    BZ2_bzDecompressEnd(&z);
    return ret;
}

/* 0x80000008 chunks are XZ streams (what 7-Zip decodes them as) */
static int xz_decode(const chunk *c, const unsigned char *s, size_t n, unsigned char *dst, size_t want, char *why,
                     size_t why_n)
{
    lzma_stream z = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&z, XZ_MEMLIMIT, 0) != LZMA_OK)
        return fail(why, why_n, "UDIF: XZ initialisation failed");
    z.next_in = s;
    z.avail_in = n;
    z.next_out = dst;
    z.avail_out = want;
    lzma_ret rc = lzma_code(&z, LZMA_FINISH);
    uint64_t got = want - z.avail_out;
    int ret = 0;
    if (rc == LZMA_STREAM_END) {
        if (got != want)
            ret = size_error(c, got, 0, want, why, why_n);
        else if (z.avail_in)
            ret = fail(why, why_n, "UDIF chunk %u of partition %u: %zu bytes after the end of its XZ stream",
                       c->index, c->part, z.avail_in);
    } else if ((rc == LZMA_OK || rc == LZMA_BUF_ERROR) && z.avail_out == 0) {
        unsigned char scratch[4096];
        while (rc == LZMA_OK && got < want + OVERRUN_COUNT) {
            z.next_out = scratch;
            z.avail_out = sizeof scratch;
            rc = lzma_code(&z, LZMA_FINISH);
            got += sizeof scratch - z.avail_out;
        }
        ret = got == want ? fail(why, why_n, "UDIF chunk %u of partition %u: XZ stream does not end", c->index,
                                 c->part)
                          : size_error(c, got, rc != LZMA_STREAM_END, want, why, why_n);
    } else if (rc == LZMA_OK || rc == LZMA_BUF_ERROR) {
        ret = fail(why, why_n, "UDIF chunk %u of partition %u: XZ stream truncated after %llu of %llu bytes",
                   c->index, c->part, (unsigned long long)got, (unsigned long long)want);
    } else {
        ret = fail(why, why_n, "UDIF chunk %u of partition %u: XZ data error (%d)", c->index, c->part, (int)rc);
    }
    lzma_end(&z);
    return ret;
}

/* LZFSE (ULFO images): the decoder stops at the buffer's end, so a chunk
 * that would inflate past its size fails without a count */
static int lzfse_chunk(const chunk *c, const unsigned char *s, size_t n, unsigned char *dst, size_t want, char *why,
                       size_t why_n)
{
    size_t got = 0;
    const char *err = NULL;
    if (cs_lzfse_decode(s, n, dst, want, &got, &err) != 0)
        return fail(why, why_n, "UDIF chunk %u of partition %u: %s", c->index, c->part, err);
    if (got != want)
        return size_error(c, got, 0, want, why, why_n);
    return 0;
}

/* The decompressed bytes of chunk i, from the cache or decoded into it */
static const unsigned char *chunk_bytes(cs_udif *u, size_t i, char *why, size_t why_n)
{
    const chunk *c = &u->chunks[i];
    uint64_t want = c->end - c->start;
    cache_entry *e = NULL;
    for (int k = 0; k < CACHE_N; k++)
        if (u->cache[k].used && u->cache[k].chunk == i) {
            u->cache[k].used = ++u->clock;
            return u->cache[k].buf;
        }
    if (want > u->max_chunk || want > SIZE_MAX) {
        fail(why, why_n, "UDIF chunk %u of partition %u unpacks to %llu bytes, over the limit of %llu", c->index,
             c->part, (unsigned long long)want, (unsigned long long)u->max_chunk);
        return NULL;
    }
    e = &u->cache[0];
    for (int k = 1; k < CACHE_N; k++)
        if (u->cache[k].used < e->used)
            e = &u->cache[k];
    e->used = 0;
    if (e->cap < want) {
        free(e->buf);
        e->cap = 0;
        e->buf = malloc((size_t)want);
        if (!e->buf) {
            fail(why, why_n, "UDIF: out of memory for a chunk of %llu bytes", (unsigned long long)want);
            return NULL;
        }
        e->cap = (size_t)want;
    }
    const unsigned char *s = u->data + c->off;
    size_t n = (size_t)c->len;
    int rc;
    switch (c->type) {
    case T_ADC:
        rc = adc_decode(c, s, n, e->buf, (size_t)want, why, why_n);
        break;
    case T_ZLIB:
        rc = zlib_decode(c, s, n, e->buf, (size_t)want, why, why_n);
        break;
    case T_BZIP2:
        rc = bzip2_decode(c, s, n, e->buf, (size_t)want, why, why_n);
        break;
    case T_LZMA:
        rc = xz_decode(c, s, n, e->buf, (size_t)want, why, why_n);
        break;
    case T_LZFSE:
        rc = lzfse_chunk(c, s, n, e->buf, (size_t)want, why, why_n);
        break;
    default:
        rc = fail(why, why_n, "UDIF chunk %u of partition %u: %s chunk cannot be decoded", c->index, c->part,
                  type_name(c->type));
    }
    if (rc != 0)
        return NULL;
    e->chunk = i;
    e->used = ++u->clock;
    return e->buf;
}

int cs_udif_read(cs_udif *u, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    unsigned char *dst = buf;
    if (off > u->disk_size || n > u->disk_size - off)
        return fail(why, why_n, "UDIF read of %zu bytes at %llu past the end of the disk (%llu bytes)", n,
                    (unsigned long long)off, (unsigned long long)u->disk_size);
    while (n) {
        /* the first chunk ending after off (chunks are sorted and disjoint) */
        size_t lo = 0, hi = u->n_chunks;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (u->chunks[mid].end <= off)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t k;
        if (lo == u->n_chunks || u->chunks[lo].start > off) { /* a gap: zeros */
            uint64_t gap = lo == u->n_chunks ? n : u->chunks[lo].start - off;
            k = gap < n ? (size_t)gap : n;
            memset(dst, 0, k);
        } else {
            const chunk *c = &u->chunks[lo];
            uint64_t in = off - c->start, left = c->end - off;
            k = left < n ? (size_t)left : n;
            if (c->type == T_ZERO || c->type == T_IGNORE) {
                memset(dst, 0, k);
            } else if (c->type == T_RAW) {
                if (c->len != c->end - c->start)
                    return fail(why, why_n, "UDIF stored chunk %u of partition %u holds %llu bytes, declared %llu",
                                c->index, c->part, (unsigned long long)c->len,
                                (unsigned long long)(c->end - c->start));
                memcpy(dst, u->data + c->off + in, k);
            } else {
                const unsigned char *b = chunk_bytes(u, lo, why, why_n);
                if (!b)
                    return -1;
                memcpy(dst, b + in, k);
            }
        }
        dst += k;
        off += k;
        n -= k;
    }
    return 0;
}
