#include "format/simdb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "util/util.h"

#define HEADER_SIZE 96
#define REF_SIZE 48
#define CHUNKS 16
#define MIN_BITS 8
#define MAX_BITS 16
#define POSTING_SIZE 8 /* the unit of the postings' area */
/* A slot's n postings fill n units as two arrays, both in the order of the
 * references (so of their lvalues): n heads (lvalue, q1 | q2 << 4), then n
 * records (reference number u32, the value of the reference's chunk
 * SKETCH_OF(c) u16). A search reads every head within reach, and only the
 * records of the few that pass the header's test. */
#define HEAD_SIZE 2
#define REC_SIZE 6
#define REC_SKETCH 4 /* where a record's sketch is */
#define SKETCH_OF(c) (((c) + CHUNKS / 2) % CHUNKS)
#define SLOT_SIZE 8 /* start, band mask */
#define BAND_SHIFT 3 /* lvalue bands of 8: 32, one bit each */
#define NAME_SIZE 16
#define POOL_MAX 0xfffffff0u

/* Slot postings p (their first unit), n of them: posting k's head and record */
static inline const unsigned char *posting_head(const unsigned char *p, uint32_t k)
{
    return p + (size_t)HEAD_SIZE * k;
}

static inline const unsigned char *posting_rec(const unsigned char *p, uint32_t n, uint32_t k)
{
    return p + (size_t)HEAD_SIZE * n + (size_t)REC_SIZE * k;
}

static const char magic[8] = {'C', 'S', 'S', 'I', 'M', 'D', 'B', 0};

static void wr16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void wr32(unsigned char *p, uint32_t v)
{
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(unsigned char *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t crc(const unsigned char *p, size_t n)
{
    uLong c = crc32(0, Z_NULL, 0);
    while (n) {
        uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ull;
    }
    return h;
}

/* TLSH's body part of one bucket, by how far apart its two codes are */
static const int code_cost[4] = {0, 1, 2, 6};

static unsigned chunk_value(const unsigned char *code, int c)
{
    return code[2 * c] | (unsigned)code[2 * c + 1] << 8;
}

/* A chunk value's slot among 2^bits: its top bits. The values a search
 * visits around a query's differ from it by a code or two in one bucket;
 * in value order those of its low buckets are nearby slots, whose table
 * entries and postings share lines and pages (a hash of the value spread
 * them: 7 % fewer lookups/s for real files). Small indexes have fewer
 * slots; values sharing one only add candidates, which the full distance
 * sorts out. */
static unsigned slot_of(unsigned value, unsigned bits)
{
    return value >> (16 - bits);
}

/* Slots per chunk for n references: about one per reference, 2^8 to 2^16. */
static unsigned bits_for(size_t n)
{
    unsigned bits = MIN_BITS;
    while (bits < MAX_BITS && ((size_t)1 << bits) < n)
        bits++;
    return bits;
}

/* A slot of more than SHORT_SLOT postings starts with a directory: for
 * each lvalue band its postings have (in order), where the first of them
 * is among its postings (u32; 0 to pad an odd count). A search then starts
 * at the band its lengths begin in, where a binary search over a long slot
 * was a chain of dependent cache misses. Up to 64 postings, the heads (128
 * bytes) are read whole: cheaper than the directory's dependent read (16:
 * 6 % fewer lookups/s for real files). n: the slot's postings or its whole
 * area (both are above SHORT_SLOT or neither). */
#define SHORT_SLOT 64

/* Bits set (the baseline x86-64 target has no popcnt: the builtin is a
 * library call, on the search's path) */
static inline uint32_t bits_set(uint32_t v)
{
    v -= (v >> 1) & 0x55555555u;
    v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
    return (((v + (v >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}

static uint32_t dir_units(uint32_t n, uint32_t mask)
{
    return n > SHORT_SLOT ? (bits_set(mask) + 1) / 2 : 0;
}

/* ---- building ---- */

typedef struct bref {
    cs_tlsh_digest d;
    unsigned char kind, has_sha256;
    int16_t score;
    uint32_t meta;
} bref;

struct cs_simdb_builder {
    bref *refs;
    size_t n, cap;
    cs_buf pool;
};

cs_simdb_builder *cs_simdb_builder_new(void)
{
    cs_simdb_builder *b = cs_xmalloc(sizeof *b);
    memset(b, 0, sizeof *b);
    return b;
}

void cs_simdb_builder_free(cs_simdb_builder *b)
{
    if (!b)
        return;
    free(b->refs);
    cs_buf_free(&b->pool);
    free(b);
}

size_t cs_simdb_builder_count(const cs_simdb_builder *b)
{
    return b->n;
}

int cs_simdb_builder_add(cs_simdb_builder *b, const cs_simdb_entry *e, const char **why)
{
    const char *s[4] = {e->label, e->file_name, e->product, e->vendor};
    size_t need = e->sha256 ? 32 : 0;
    for (int i = 0; i < 4; i++)
        need += (s[i] ? strlen(s[i]) : 0) + 1;
    if (b->n >= CS_SIMDB_MAX_REFS || b->pool.len + need > POOL_MAX) {
        *why = "too many references for one index";
        return -1;
    }
    if (e->kind != CS_SIMDB_BAD && e->kind != CS_SIMDB_GOOD) {
        *why = "a reference is good or bad";
        return -1;
    }
    if (e->kind == CS_SIMDB_GOOD && (!e->file_name || !*e->file_name)) {
        *why = "a known-good reference names its file";
        return -1;
    }
    if (e->score < -1000 || e->score > 1000) {
        *why = "the score is an integer from -1000 to 1000";
        return -1;
    }
    cs_grow((void **)&b->refs, &b->cap, b->n + 1, sizeof *b->refs);
    bref *r = &b->refs[b->n++];
    r->d = e->digest;
    r->kind = (unsigned char)e->kind;
    r->score = (int16_t)e->score;
    r->has_sha256 = e->sha256 != NULL;
    r->meta = (uint32_t)b->pool.len;
    if (e->sha256)
        cs_buf_append(&b->pool, e->sha256, 32);
    for (int i = 0; i < 4; i++)
        cs_buf_append(&b->pool, s[i] ? s[i] : "", (s[i] ? strlen(s[i]) : 0) + 1);
    return 0;
}

typedef struct name_row {
    uint64_t hash;
    uint32_t ref;
} name_row;

static int by_name_row(const void *a, const void *b)
{
    const name_row *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->ref < y->ref ? -1 : x->ref > y->ref;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Section offsets follow from the counts alone. */
typedef struct layout {
    unsigned bits;
    size_t slots; /* per chunk */
    size_t refs, table, postings, names, pool, total;
    uint64_t units; /* postings and directories */
} layout;

static layout layout_of(uint64_t n, uint64_t names, uint64_t pool_len, unsigned bits, uint64_t units)
{
    layout l;
    l.bits = bits;
    l.units = units;
    l.slots = (size_t)1 << bits;
    l.refs = HEADER_SIZE;
    l.table = l.refs + (size_t)n * REF_SIZE;
    l.postings = l.table + (size_t)CHUNKS * (l.slots + 1) * SLOT_SIZE;
    l.names = l.postings + (size_t)units * POSTING_SIZE;
    l.pool = l.names + (size_t)names * NAME_SIZE;
    l.total = align8(l.pool + (size_t)pool_len);
    return l;
}

static void put_header_bytes(unsigned char *p, const cs_tlsh_digest *d)
{
    p[0] = d->checksum;
    p[1] = d->lvalue;
    p[2] = cs_tlsh_ratios_byte(d);
}

/* Per slot of chunk c: its postings (count), their lvalue bands (mask). */
static void count_slots(const bref *refs, size_t n, int c, unsigned bits, uint32_t *count, uint32_t *mask)
{
    memset(count, 0, ((size_t)1 << bits) * sizeof *count);
    memset(mask, 0, ((size_t)1 << bits) * sizeof *mask);
    for (size_t i = 0; i < n; i++) {
        unsigned v = slot_of(chunk_value(refs[i].d.code, c), bits);
        count[v]++;
        mask[v] |= 1u << (refs[i].d.lvalue >> BAND_SHIFT);
    }
}

/* By lvalue, then the ratios, the codes, the checksum. */
static int by_digest(const void *a, const void *b)
{
    const bref *ra = a, *rb = b;
    const cs_tlsh_digest *x = &ra->d, *y = &rb->d;
    if (x->lvalue != y->lvalue)
        return x->lvalue < y->lvalue ? -1 : 1;
    if (x->q1ratio != y->q1ratio)
        return x->q1ratio < y->q1ratio ? -1 : 1;
    if (x->q2ratio != y->q2ratio)
        return x->q2ratio < y->q2ratio ? -1 : 1;
    int c = memcmp(x->code, y->code, sizeof x->code);
    if (c)
        return c;
    if (x->checksum != y->checksum)
        return x->checksum < y->checksum ? -1 : 1;
    return ra->meta < rb->meta ? -1 : ra->meta > rb->meta; /* the order added: one image per list */
}

unsigned char *cs_simdb_builder_image(const cs_simdb_builder *b, size_t *len)
{
    size_t n = b->n, nn = 0;
    /* The references in the order of their header and codes: those a
     * search meets together (alike, of a length) are close in memory
     * (+20-30 % lookups near a cluster, measured); the postings of a slot
     * are then in lvalue order too. */
    bref *refs = cs_xmalloc((n ? n : 1) * sizeof *refs);
    if (n)
        memcpy(refs, b->refs, n * sizeof *refs);
    qsort(refs, n, sizeof *refs, by_digest);
    for (size_t i = 0; i < n; i++)
        nn += refs[i].kind == CS_SIMDB_GOOD;
    unsigned bits = bits_for(n);
    uint64_t units = 0; /* postings and directories, all chunks */
    {
        uint32_t *count = cs_xmalloc((((size_t)1 << bits) + 1) * sizeof *count);
        uint32_t *mask = cs_xmalloc(((size_t)1 << bits) * sizeof *mask);
        for (int c = 0; c < CHUNKS; c++) {
            count_slots(refs, n, c, bits, count, mask);
            for (size_t v = 0; v < (size_t)1 << bits; v++)
                units += count[v] + dir_units(count[v], mask[v]);
        }
        free(count);
        free(mask);
    }
    layout l = layout_of(n, nn, b->pool.len, bits, units);
    unsigned char *img = cs_xmalloc(l.total);
    memset(img, 0, l.total);

    for (size_t i = 0; i < n; i++) {
        const bref *r = &refs[i];
        unsigned char *p = img + l.refs + i * REF_SIZE;
        memcpy(p, r->d.code, 32);
        put_header_bytes(p + 32, &r->d);
        p[35] = r->kind;
        wr16(p + 36, (uint16_t)r->score);
        wr16(p + 38, r->has_sha256);
        wr32(p + 40, r->meta);
    }

    /* per chunk: count each slot's postings and their lvalue bands, turn
     * the areas (a long slot's directory, its postings) into starts, place
     * the postings (in reference order, so in lvalue order), then write
     * the directories */
    uint32_t *count = cs_xmalloc(l.slots * sizeof *count), *mask = cs_xmalloc(l.slots * sizeof *mask);
    uint32_t *start = cs_xmalloc(l.slots * sizeof *start), *placed = cs_xmalloc(l.slots * sizeof *placed);
    unsigned char *post = img + l.postings;
    for (int c = 0; c < CHUNKS; c++) {
        count_slots(refs, n, c, l.bits, count, mask);
        unsigned char *tab = img + l.table + (size_t)c * (l.slots + 1) * SLOT_SIZE;
        uint32_t at = 0;
        for (size_t v = 0; v < l.slots; v++) {
            uint32_t du = dir_units(count[v], mask[v]);
            wr32(tab + v * SLOT_SIZE, at);
            wr32(tab + v * SLOT_SIZE + 4, mask[v]);
            start[v] = at + du; /* where its postings go */
            placed[v] = 0;
            at += du + count[v];
        }
        wr32(tab + l.slots * SLOT_SIZE, at);
        for (uint32_t i = 0; i < n; i++) {
            unsigned v = slot_of(chunk_value(refs[i].d.code, c), l.bits);
            unsigned char *p = post + (size_t)start[v] * POSTING_SIZE;
            unsigned char *h = (unsigned char *)posting_head(p, placed[v]);
            unsigned char *r = (unsigned char *)posting_rec(p, count[v], placed[v]++);
            h[0] = refs[i].d.lvalue;
            h[1] = cs_tlsh_ratios_byte(&refs[i].d);
            wr32(r, i);
            wr16(r + REC_SKETCH, (uint16_t)chunk_value(refs[i].d.code, SKETCH_OF(c)));
        }
        for (size_t v = 0; v < l.slots; v++) {
            uint32_t du = dir_units(count[v], mask[v]);
            if (!du)
                continue;
            const unsigned char *p = post + (size_t)start[v] * POSTING_SIZE;
            unsigned char *d = post + (size_t)(start[v] - du) * POSTING_SIZE;
            int j = 0, band = -1;
            for (uint32_t k = 0; k < count[v]; k++) {
                int bd = posting_head(p, k)[0] >> BAND_SHIFT;
                if (bd != band)
                    wr32(d + 4 * j++, k);
                band = bd;
            }
        }
        post += (size_t)at * POSTING_SIZE;
    }
    free(count);
    free(mask);
    free(start);
    free(placed);

    name_row *rows = cs_xmalloc((nn ? nn : 1) * sizeof *rows);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (refs[i].kind == CS_SIMDB_GOOD) {
            const char *name = b->pool.data + refs[i].meta + (refs[i].has_sha256 ? 32 : 0);
            name += strlen(name) + 1; /* after the label */
            rows[k].hash = name_hash(name);
            rows[k++].ref = (uint32_t)i;
        }
    qsort(rows, nn, sizeof *rows, by_name_row);
    for (size_t i = 0; i < nn; i++) {
        wr64(img + l.names + i * NAME_SIZE, rows[i].hash);
        wr32(img + l.names + i * NAME_SIZE + 8, rows[i].ref);
    }
    free(rows);
    if (b->pool.len)
        memcpy(img + l.pool, b->pool.data, b->pool.len);

    memcpy(img, magic, 8);
    wr32(img + 8, CS_SIMDB_VERSION);
    wr32(img + 12, HEADER_SIZE);
    wr32(img + 16, (uint32_t)n);
    wr32(img + 20, (uint32_t)nn);
    wr64(img + 24, b->pool.len);
    wr64(img + 32, l.total);
    wr32(img + 40, crc(img + HEADER_SIZE, l.total - HEADER_SIZE));
    wr32(img + 44, l.bits);
    wr64(img + 48, units);
    wr32(img + 92, crc(img, 92));
    free(refs);
    *len = l.total;
    return img;
}

/* ---- TSV rows ---- */

static char *tsv_field(char **p)
{
    char *f = *p, *tab = f ? strchr(f, '\t') : NULL;
    if (tab)
        *tab = '\0';
    *p = tab ? tab + 1 : NULL;
    f = f ? cs_trim(f) : NULL;
    return f && *f && strcmp(f, "-") != 0 ? f : NULL;
}

int cs_simdb_parse_tsv_line(char *line, cs_simdb_entry *out, unsigned char sha256[32], const char **why)
{
    char *p = line;
    char *kind = tsv_field(&p), *tl = tsv_field(&p), *score = tsv_field(&p);
    memset(out, 0, sizeof *out);
    out->file_name = tsv_field(&p);
    out->product = tsv_field(&p);
    out->vendor = tsv_field(&p);
    char *sha = tsv_field(&p);
    out->label = p ? cs_trim(p) : NULL;
    if (!kind || (strcmp(kind, "good") != 0 && strcmp(kind, "bad") != 0)) {
        *why = "the first column is good or bad";
        return -1;
    }
    out->kind = strcmp(kind, "good") == 0 ? CS_SIMDB_GOOD : CS_SIMDB_BAD;
    if (!tl || cs_tlsh_parse(tl, &out->digest) != 0) {
        *why = "the second column is a TLSH digest (T1 and 70 hex digits)";
        return -1;
    }
    char *end = NULL;
    long sc = score ? strtol(score, &end, 10) : 0;
    if (!score || *end || sc < -1000 || sc > 1000) {
        *why = "the score is an integer from -1000 to 1000";
        return -1;
    }
    out->score = (int)sc;
    if (out->kind == CS_SIMDB_GOOD && !out->file_name) {
        *why = "a known-good reference names its file";
        return -1;
    }
    if (sha) {
        if (strlen(sha) != 64 || cs_unhex(sha256, sha, 32) != 0) {
            *why = "the SHA-256 column is 64 hex digits";
            return -1;
        }
        out->sha256 = sha256;
    }
    return 0;
}

/* ---- reading ---- */

struct cs_simdb {
    const unsigned char *img;
    uint32_t n, names;
    unsigned bits;
    size_t slots;
    const unsigned char *refs, *table, *name_rows, *pool;
    const unsigned char *post[CHUNKS]; /* each chunk's postings and directories */
    size_t pool_len;
};

uint32_t cs_simdb_count(const cs_simdb *db)
{
    return db->n;
}

/* A reference's header (its codes aside) */
static void ref_header(const unsigned char *p, cs_tlsh_digest *d)
{
    d->checksum = p[32];
    d->lvalue = p[33];
    d->q1ratio = p[34] & 15;
    d->q2ratio = p[34] >> 4;
}

static void ref_digest(const unsigned char *p, cs_tlsh_digest *d)
{
    memcpy(d->code, p, 32);
    ref_header(p, d);
}

void cs_simdb_get(const cs_simdb *db, uint32_t i, cs_simdb_entry *out)
{
    const unsigned char *p = db->refs + (size_t)i * REF_SIZE;
    ref_digest(p, &out->digest);
    out->kind = p[35];
    out->score = (int16_t)cs_rd16le(p + 36);
    const char *s = (const char *)db->pool + cs_rd32le(p + 40);
    out->sha256 = NULL;
    if (p[38] & 1) {
        out->sha256 = (const unsigned char *)s;
        s += 32;
    }
    const char **f[4] = {&out->label, &out->file_name, &out->product, &out->vendor};
    for (int k = 0; k < 4; k++) {
        *f[k] = s;
        s += strlen(s) + 1;
    }
}

static cs_simdb *bad(char *why, size_t why_len, const char *fmt, ...) CS_PRINTF(3, 4);
static cs_simdb *bad(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return NULL;
}

/* One chunk's slot table, directories and postings, from posting unit
 * *at on (advanced past them): 1, or 0 with why. */
static int check_chunk(const unsigned char *img, const layout *l, uint32_t n, int c, uint64_t *at,
                       unsigned char *met, char *why, size_t why_len)
{
    const unsigned char *tab = img + l->table + (size_t)c * (l->slots + 1) * SLOT_SIZE;
    uint32_t area = cs_rd32le(tab + l->slots * SLOT_SIZE);
    if (cs_rd32le(tab) != 0 || cs_rd32le(tab + l->slots * SLOT_SIZE + 4) || area > l->units - *at)
        return bad(why, why_len, "similarity index chunk %d: offsets do not cover the references", c) != NULL;
    const unsigned char *post = img + l->postings + (size_t)*at * POSTING_SIZE;
    memset(met, 0, n ? n : 1);
    uint32_t met_n = 0;
    for (uint32_t v = 0; v < l->slots; v++) {
        uint32_t a = cs_rd32le(tab + v * SLOT_SIZE), z = cs_rd32le(tab + (v + 1) * SLOT_SIZE);
        uint32_t want = cs_rd32le(tab + v * SLOT_SIZE + 4), mask = 0;
        if (z < a || z > area)
            return bad(why, why_len, "similarity index chunk %d: offsets out of order or past the end", c) != NULL;
        uint32_t du = dir_units(z - a, want), j = 0;
        if (du && du >= z - a)
            return bad(why, why_len, "similarity index chunk %d: a slot's directory fills it", c) != NULL;
        const unsigned char *p = post + (size_t)(a + du) * POSTING_SIZE;
        for (uint32_t k = 0, count = z - a - du; k < count; k++) {
            const unsigned char *h = posting_head(p, k), *e = posting_rec(p, count, k);
            uint32_t id = cs_rd32le(e);
            if (id >= n || met[id]++)
                return bad(why, why_len, "similarity index chunk %d: a posting names no reference, or one twice", c) != NULL;
            met_n++;
            const unsigned char *r = img + l->refs + (size_t)id * REF_SIZE;
            /* a search rejects by the posting's lengths, ratios and sketch */
            if (slot_of(chunk_value(r, c), l->bits) != v || h[0] != r[33] || h[1] != r[34] ||
                cs_rd16le(e + REC_SKETCH) != chunk_value(r, SKETCH_OF(c)))
                return bad(why, why_len, "similarity index chunk %d: a posting names the wrong reference", c) != NULL;
            if (k && h[0] < h[-HEAD_SIZE])
                return bad(why, why_len, "similarity index chunk %d: postings out of length order", c) != NULL;
            /* a search starts at the directory's entry for the band: a
             * wrong one would lose references */
            if (du && (!k || (h[0] >> BAND_SHIFT) != (h[-HEAD_SIZE] >> BAND_SHIFT)) &&
                (j >= 2 * du || cs_rd32le(post + (size_t)a * POSTING_SIZE + 4 * j++) != k))
                return bad(why, why_len, "similarity index chunk %d: a slot's directory differs from its postings", c) != NULL;
            mask |= 1u << (h[0] >> BAND_SHIFT);
        }
        if (du && j < 2 * du && cs_rd32le(post + (size_t)a * POSTING_SIZE + 4 * j))
            return bad(why, why_len, "similarity index chunk %d: a slot's directory differs from its postings", c) != NULL;
        /* a search skips a slot by its mask: a missing bit would lose references */
        if (want != mask)
            return bad(why, why_len, "similarity index chunk %d: a slot's length bands differ from its postings", c) != NULL;
    }
    if (met_n != n)
        return bad(why, why_len, "similarity index chunk %d: offsets do not cover the references", c) != NULL;
    *at += area;
    return 1;
}

cs_simdb *cs_simdb_open(const unsigned char *img, size_t len, char *why, size_t why_len)
{
    if (len < HEADER_SIZE || memcmp(img, magic, 8) != 0)
        return bad(why, why_len, "not a chainsweep similarity index");
    if (cs_rd32le(img + 8) != CS_SIMDB_VERSION)
        return bad(why, why_len, "similarity index format version %u; this chainsweep reads version %d%s",
                   (unsigned)cs_rd32le(img + 8), CS_SIMDB_VERSION,
                   cs_rd32le(img + 8) < CS_SIMDB_VERSION ? " (rebuild it with chainsweep sim build)" : "");
    if (cs_rd32le(img + 12) != HEADER_SIZE || crc(img, 92) != cs_rd32le(img + 92))
        return bad(why, why_len, "similarity index header damaged (checksum)");
    for (size_t i = 56; i < 92; i++)
        if (img[i])
            return bad(why, why_len, "similarity index header damaged (reserved byte %zu set)", i);
    uint32_t n = cs_rd32le(img + 16), nn = cs_rd32le(img + 20), bits = cs_rd32le(img + 44);
    uint64_t pool_len = cs_rd64le(img + 24), total = cs_rd64le(img + 32);
    if (n > CS_SIMDB_MAX_REFS || nn > n || pool_len > POOL_MAX || bits < MIN_BITS || bits > MAX_BITS)
        return bad(why, why_len, "similarity index counts out of range (%u references, %u-bit slots)", (unsigned)n,
                   (unsigned)bits);
    uint64_t units = cs_rd64le(img + 48);
    if (units < (uint64_t)CHUNKS * n || units > 2ull * CHUNKS * n)
        return bad(why, why_len, "similarity index counts out of range (%llu posting units for %u references)",
                   (unsigned long long)units, (unsigned)n);
    layout l = layout_of(n, nn, pool_len, bits, units);
    if (total != l.total || len != l.total)
        return bad(why, why_len, "similarity index truncated or padded: %zu bytes, its tables need more or less", len);
    if (crc(img + HEADER_SIZE, len - HEADER_SIZE) != cs_rd32le(img + 40))
        return bad(why, why_len, "similarity index damaged (checksum of its %zu bytes)", len);

    /* Past the checksum only our own writer's mistakes or a forged
     * checksum remain; checked anyway, so that an accepted index is safe
     * to read and exact to search. */
    const unsigned char *pool = img + l.pool;
    if (pool_len && pool[pool_len - 1] != 0)
        return bad(why, why_len, "similarity index strings not terminated");
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *p = img + l.refs + (size_t)i * REF_SIZE;
        uint64_t m = cs_rd32le(p + 40) + ((p[38] & 1) ? 32u : 0u);
        if ((p[35] != CS_SIMDB_BAD && p[35] != CS_SIMDB_GOOD) || cs_rd16le(p + 38) > 1 || cs_rd32le(p + 44) ||
            (int16_t)cs_rd16le(p + 36) < -1000 || (int16_t)cs_rd16le(p + 36) > 1000)
            return bad(why, why_len, "similarity index reference %u damaged", i);
        uint64_t name = 0;
        for (int k = 0; k < 4; k++) {
            if (m >= pool_len)
                return bad(why, why_len, "similarity index reference %u: strings outside the pool", i);
            if (k == 1)
                name = m;
            const unsigned char *z = memchr(pool + m, 0, pool_len - m);
            m = (uint64_t)(z - pool) + 1;
        }
        if (p[35] == CS_SIMDB_GOOD && !pool[name])
            return bad(why, why_len, "similarity index reference %u: known-good without a file name", i);
    }
    uint32_t goods = 0;
    for (uint32_t i = 0; i < n; i++)
        goods += img[l.refs + (size_t)i * REF_SIZE + 35] == CS_SIMDB_GOOD;
    if (goods != nn)
        return bad(why, why_len, "similarity index: %u known-good references, %u in the name table", goods, nn);
    /* every chunk's postings name every reference once */
    unsigned char *met = cs_xmalloc(n ? n : 1);
    int chunks_ok = 1;
    uint64_t at = 0, base[CHUNKS];
    for (int c = 0; c < CHUNKS && chunks_ok; c++) {
        base[c] = at;
        chunks_ok = check_chunk(img, &l, n, c, &at, met, why, why_len);
    }
    if (chunks_ok && at != units)
        chunks_ok = bad(why, why_len, "similarity index: its chunks do not fill its postings") != NULL;
    free(met);
    if (!chunks_ok)
        return NULL;
    uint64_t prev_hash = 0;
    uint32_t prev_ref = 0;
    for (uint32_t i = 0; i < nn; i++) {
        const unsigned char *e = img + l.names + (size_t)i * NAME_SIZE;
        uint64_t h = cs_rd64le(e);
        uint32_t id = cs_rd32le(e + 8);
        if (id >= n || cs_rd32le(e + 12) || (i && (h < prev_hash || (h == prev_hash && id <= prev_ref))))
            return bad(why, why_len, "similarity index name table damaged at row %u", i);
        const unsigned char *r = img + l.refs + (size_t)id * REF_SIZE;
        const char *label = (const char *)pool + cs_rd32le(r + 40) + ((r[38] & 1) ? 32 : 0);
        if (r[35] != CS_SIMDB_GOOD || name_hash(label + strlen(label) + 1) != h)
            return bad(why, why_len, "similarity index name table damaged at row %u", i);
        prev_hash = h;
        prev_ref = id;
    }

    cs_simdb *db = cs_xmalloc(sizeof *db);
    db->img = img;
    db->n = n;
    db->names = nn;
    db->bits = l.bits;
    db->slots = l.slots;
    db->refs = img + l.refs;
    db->table = img + l.table;
    for (int c = 0; c < CHUNKS; c++)
        db->post[c] = img + l.postings + (size_t)base[c] * POSTING_SIZE;
    db->name_rows = img + l.names;
    db->pool = pool;
    db->pool_len = pool_len;
    return db;
}

void cs_simdb_close(cs_simdb *db)
{
    free(db);
}

/* ---- searching ---- */

/* The references met so far in one search (open addressing; each is
 * verified once, however many chunks lead to it). */
#define SEEN_INLINE 256
#define SEEN_EMPTY 0xffffffffu
#define VALUES 256 /* slots visited per batch, over all chunks */
#define BATCH 32   /* candidates verified per batch */
#define CANDS 256  /* postings passing the header's test, per batch */

typedef struct seen_set {
    uint32_t *slot;
    size_t cap, n;
    uint32_t inline_slots[SEEN_INLINE];
} seen_set;

static size_t seen_home(uint32_t id, size_t cap)
{
    return (size_t)((id * 2654435761u) & (cap - 1));
}

/* 1 if id was there; else adds it. */
static int seen_add(seen_set *ss, uint32_t id)
{
    if ((ss->n + 1) * 2 > ss->cap) {
        size_t cap = ss->cap * 4;
        uint32_t *slot = cs_xmalloc(cap * sizeof *slot);
        memset(slot, 0xff, cap * sizeof *slot);
        for (size_t i = 0; i < ss->cap; i++)
            if (ss->slot[i] != SEEN_EMPTY) {
                size_t k = seen_home(ss->slot[i], cap);
                while (slot[k] != SEEN_EMPTY)
                    k = (k + 1) & (cap - 1);
                slot[k] = ss->slot[i];
            }
        if (ss->slot != ss->inline_slots)
            free(ss->slot);
        ss->slot = slot;
        ss->cap = cap;
    }
    size_t k = seen_home(id, ss->cap);
    for (; ss->slot[k] != SEEN_EMPTY; k = (k + 1) & (ss->cap - 1))
        if (ss->slot[k] == id)
            return 1;
    ss->slot[k] = id;
    ss->n++;
    return 0;
}

typedef struct search {
    const cs_simdb *db;
    const cs_tlsh_digest *q;
    int max, len_diff, chunk, stop;
    unsigned bits;              /* the index's slot bits */
    uint32_t chunk_base;        /* the slot table's row for the chunk */
    int lv_lo, lv_hi;           /* the lvalues within max (may wrap: lo > hi) */
    uint32_t bands;             /* their bands, as in the slots' masks */
    /* the header's distance to a posting, the checksum's part aside (the
     * posting has none): by its lvalue byte plus by its ratios byte */
    uint16_t lv_cost[256], q_cost[256];
    seen_set seen;
    uint32_t slots[VALUES];     /* slots to visit: chunk * (2^bits + 1) + slot */
    unsigned char chunks[VALUES];
    int n_slots;
    unsigned sketch[CHUNKS];    /* the query's chunk values, as in the postings */
    const unsigned char *cand_rec[CANDS]; /* postings whose heads passed: records */
    uint16_t cand_dist[CANDS];  /* their header distances, the checksum's part aside */
    unsigned char cand_chunk[CANDS];
    int n_cands;
    uint32_t pending[BATCH];    /* candidates met, to verify */
    int pending_head[BATCH];    /* their header distances, the checksum's part aside */
    int n_pending;
    cs_simdb_hit_fn fn;
    void *ud;
} search;

/* Candidates passing the header test are kept until BATCH of them are
 * met, their references prefetched when met: the scattered reads of one
 * batch overlap, across slots and chunks. */
static void verify_pending(search *s)
{
    const unsigned char *refs = s->db->refs;
    for (int i = 0; i < s->n_pending && !s->stop; i++) {
        const unsigned char *r = refs + (size_t)s->pending[i] * REF_SIZE;
        int dist = s->pending_head[i] + (r[32] != s->q->checksum) + cs_tlsh_body_distance(s->q->code, r);
        if (dist <= s->max && s->fn(s->ud, s->pending[i], dist))
            s->stop = 1;
    }
    s->n_pending = 0;
}

/* The batch's table entries, directories and postings are fetched to L2
 * (prefetcht1), the references (read right after) to L1. An L1 prefetch
 * holds one of the core's few L1 miss buffers until its line arrives: with
 * a batch's hundreds in flight, the loop issuing them stalled (a third of
 * a lookup's samples on AMD EPYC; other kind 92k -> 108k lookups/s, random
 * 142k -> 188k, near 5.0k -> 5.3k). */
static inline void prefetch_l2(const void *p)
{
    __builtin_prefetch(p, 0, 2);
}

/* The heads of slot postings p from k to z */
static void prefetch_heads(const unsigned char *p, uint32_t k, uint32_t z)
{
    if (k >= z)
        return;
    for (uint32_t i = k; i < z; i += 64 / HEAD_SIZE)
        prefetch_l2(posting_head(p, i));
    prefetch_l2(posting_head(p, z) - 1);
}

/* The postings whose heads passed, their records prefetched when met:
 * the distance of the sketched chunk is a lower bound of the body's part
 * beyond chunk c's; with it, half the references a search would read for
 * real files unlike them are left unread. */
static void visit_candidates(search *s)
{
    for (int i = 0; i < s->n_cands && !s->stop; i++) {
        const unsigned char *e = s->cand_rec[i];
        uint32_t id = cs_rd32le(e);
        int dist = s->cand_dist[i];
        /* met before (through another chunk), or now known to be too far */
        if (seen_add(&s->seen, id) ||
            dist + cs_tlsh_code_distance64(s->sketch[SKETCH_OF(s->cand_chunk[i])], cs_rd16le(e + REC_SKETCH)) > s->max)
            continue;
        __builtin_prefetch(s->db->refs + (size_t)id * REF_SIZE);
        s->pending[s->n_pending] = id;
        s->pending_head[s->n_pending++] = dist;
        if (s->n_pending == BATCH)
            verify_pending(s);
    }
    s->n_cands = 0;
}

/* Chunk c's slot postings p (n of them) from k on, to the first with an
 * lvalue past lv_hi (they are in lvalue order) unless the lengths within
 * reach wrap around 255. Most fail the header's test: it is table
 * lookups, not branches. */
static void visit_heads(search *s, int c, const unsigned char *p, uint32_t n, uint32_t k)
{
    int lv_hi = s->lv_lo <= s->lv_hi ? s->lv_hi : 255;
    for (; k < n; k++) {
        const unsigned char *h = posting_head(p, k);
        if (h[0] > lv_hi)
            break;
        int dist = s->lv_cost[h[0]] + s->q_cost[h[1]];
        if (dist > s->max)
            continue;
        const unsigned char *e = posting_rec(p, n, k);
        prefetch_l2(e);
        prefetch_l2(e + REC_SIZE - 1);
        s->cand_rec[s->n_cands] = e;
        s->cand_dist[s->n_cands] = (uint16_t)dist;
        s->cand_chunk[s->n_cands] = (unsigned char)c;
        if (++s->n_cands == CANDS)
            visit_candidates(s);
    }
}

/* The gathered slots are visited in a batch, in rounds whose reads
 * overlap: their table entries are prefetched; then read (a slot whose
 * postings have no length within reach is passed over by its mask), and
 * what comes next prefetched: a short slot's heads, or a long slot's
 * directory entry for the band the lengths within reach begin in; then
 * those entries read and the heads they lead to prefetched; then the heads
 * read, and the records of those that pass prefetched; then those read. */
#define NO_DIR UINT32_MAX

static void visit_slots(search *s)
{
    const cs_simdb *db = s->db;
    /* per slot: its postings, units [a, z); a long slot's directory (at its
     * area's start) and the rank of the entry to read there, then from: the
     * posting where the lengths within reach begin */
    uint32_t a[VALUES], z[VALUES], dir[VALUES], rank[VALUES], from[VALUES], mask[VALUES];
    int n = s->n_slots, band = s->lv_lo >> BAND_SHIFT;
    s->n_slots = 0;
    for (int i = 0; i < n; i++) {
        /* and the next entry, the slot's end: an eighth of the time on the
         * next line, which the loop below would wait for */
        prefetch_l2(db->table + (size_t)s->slots[i] * SLOT_SIZE);
        prefetch_l2(db->table + (size_t)s->slots[i] * SLOT_SIZE + SLOT_SIZE);
    }
    for (int i = 0; i < n; i++) {
        const unsigned char *t = db->table + (size_t)s->slots[i] * SLOT_SIZE;
        const unsigned char *post = db->post[s->chunks[i]];
        mask[i] = cs_rd32le(t + 4);
        a[i] = z[i] = cs_rd32le(t);
        dir[i] = NO_DIR;
        if (!(mask[i] & s->bands))
            continue;
        z[i] = cs_rd32le(t + SLOT_SIZE);
        uint32_t du = dir_units(z[i] - a[i], mask[i]);
        if (du) {
            /* the bands the slot has below the lengths' are skipped */
            dir[i] = a[i];
            rank[i] = bits_set(mask[i] & ((1u << band) - 1));
            a[i] += du;
            if (rank[i] < 2 * du)
                prefetch_l2(post + (size_t)dir[i] * POSTING_SIZE + 4 * rank[i]);
        } else {
            prefetch_heads(post + (size_t)a[i] * POSTING_SIZE, 0, z[i] - a[i]);
        }
    }
    for (int i = 0; i < n; i++) {
        if (dir[i] == NO_DIR)
            continue;
        const unsigned char *post = db->post[s->chunks[i]];
        const unsigned char *d = post + (size_t)dir[i] * POSTING_SIZE;
        uint32_t entries = bits_set(mask[i]), to = z[i] - a[i];
        from[i] = rank[i] < entries ? cs_rd32le(d + 4 * rank[i]) : to;
        /* where the bands within reach end: their heads are prefetched */
        if (s->lv_lo <= s->lv_hi) {
            uint32_t next = bits_set(mask[i] & ((2u << (s->lv_hi >> BAND_SHIFT)) - 1));
            if (next < entries)
                to = cs_rd32le(d + 4 * next);
        }
        prefetch_heads(post + (size_t)a[i] * POSTING_SIZE, from[i], to);
    }
    for (int i = 0; i < n && !s->stop; i++) {
        if (a[i] == z[i])
            continue;
        const unsigned char *p = db->post[s->chunks[i]] + (size_t)a[i] * POSTING_SIZE;
        /* a short slot's heads are read whole (128 bytes at most, fetched),
         * a long one's from the band the lengths begin in; around 255, whole */
        visit_heads(s, s->chunks[i], p, z[i] - a[i], dir[i] == NO_DIR || s->lv_lo > s->lv_hi ? 0 : from[i]);
    }
    visit_candidates(s);
}

static void add_value(search *s, unsigned value)
{
    s->chunks[s->n_slots] = (unsigned char)s->chunk;
    s->slots[s->n_slots++] = s->chunk_base + slot_of(value, s->bits);
    if (s->n_slots == VALUES)
        visit_slots(s);
}

/* Every value of the chunk within budget of q: buckets below `bucket` are
 * as chosen in cur, the others free. The value with none of them changed,
 * then, for each bucket b from `bucket` on, those whose first change is
 * at b. */
static void visit_neighbours(search *s, unsigned q, unsigned cur, int bucket, int budget)
{
    if (bucket == 0 && budget == 1) {
        /* the common case (15 of 16 chunks at 30), without the recursion:
         * q, and each bucket one code up or down */
        add_value(s, q);
        for (int b = 0; b < 8; b++) {
            unsigned x = (q >> (2 * b)) & 3;
            if (x > 0)
                add_value(s, q - (1u << (2 * b)));
            if (x < 3)
                add_value(s, q + (1u << (2 * b)));
        }
        return;
    }
    unsigned above = bucket ? ~0u << (2 * bucket) : ~0u;
    add_value(s, cur | (q & above & 0xffffu));
    for (int b = bucket; b < 8 && budget > 0 && !s->stop; b++) {
        int x = (q >> (2 * b)) & 3;
        unsigned kept = cur | (q & above & ((1u << (2 * b)) - 1));
        for (int y = 0; y < 4; y++) {
            int c = code_cost[abs(x - y)];
            if (y != x && c <= budget)
                visit_neighbours(s, q, kept | (unsigned)y << (2 * b), b + 1, budget - c);
        }
    }
}

/* Every reference, one after the other (the references' codes are read in
 * order: this streams). */
static void search_linear(search *s)
{
    const cs_simdb *db = s->db;
    for (uint32_t id = 0; id < db->n && !s->stop; id++) {
        const unsigned char *r = db->refs + (size_t)id * REF_SIZE;
        cs_tlsh_digest h;
        ref_header(r, &h);
        int dist = cs_tlsh_header_distance(s->q, &h, s->len_diff);
        if (dist > s->max)
            continue;
        dist += cs_tlsh_body_distance(s->q->code, r);
        if (dist <= s->max && s->fn(s->ud, id, dist))
            s->stop = 1;
    }
}

/* How many values of a chunk lie within each distance 0..rmax of v
 * (TLSH's per-bucket costs: 1, 2 or 6 for codes 1, 2 or 3 apart). */
#define RADIUS_MAX 48 /* 8 buckets at 6 each: every value */

static void chunk_reach(unsigned v, int rmax, size_t within[RADIUS_MAX + 1])
{
    size_t at[RADIUS_MAX + 1] = {1}; /* values exactly d away, over the buckets so far */
    for (int b = 0; b < 8; b++) {
        size_t next[RADIUS_MAX + 1] = {0};
        int x = (int)(v >> (2 * b)) & 3;
        for (int d = 0; d <= rmax; d++)
            if (at[d])
                for (int y = 0; y < 4; y++)
                    if (d + code_cost[abs(x - y)] <= rmax)
                        next[d + code_cost[abs(x - y)]] += at[d];
        memcpy(at, next, sizeof at);
    }
    for (int d = 0; d <= rmax; d++)
        within[d] = at[d] + (d ? within[d - 1] : 0);
}

/* The radius of each chunk (-1: not visited), and the probes they make.
 * Some chunk c has its part of the distance within r_c whenever the
 * (r_c + 1) sum to more than max: were every part at least r_c + 1, the
 * distance would exceed max. Up to 31 (radii of 0 and 1), the radii
 * differ by one at most. Beyond, each unit goes to the chunk whose next
 * radius adds the fewest values to visit: the query's codes make some
 * chunks cheaper (a code of 0 or 3 has one neighbour 1 away, 1 or 2 has
 * two). On real digests that is what the best allocation gives (checked
 * against a dynamic program), 13 % fewer probes than equal radii at 50
 * and 70. */
static size_t choose_radii(const cs_tlsh_digest *q, int max, int r[CHUNKS])
{
    if (max < 2 * CHUNKS - 1) {
        size_t probes = 0;
        for (int c = 0; c < CHUNKS; c++) {
            r[c] = (max + 1) / CHUNKS - (c >= (max + 1) % CHUNKS);
            probes += r[c] < 0 ? 0 : r[c] == 0 ? 1 : 13; /* about: 8 buckets, one or two neighbours each */
        }
        return probes;
    }
    /* more than twice the equal radius is never the cheapest, and 16
     * chunks of rmax + 1 units always cover max + 1 (max <= 300) */
    int rmax = 2 * ((max + 1) / CHUNKS) + 2;
    if (rmax > RADIUS_MAX)
        rmax = RADIUS_MAX;
    size_t within[CHUNKS][RADIUS_MAX + 1], probes = 0;
    for (int c = 0; c < CHUNKS; c++) {
        chunk_reach(chunk_value(q->code, c), rmax, within[c]);
        r[c] = -1;
    }
    for (int unit = 0; unit <= max; unit++) {
        int best = -1;
        size_t best_add = 0;
        for (int c = 0; c < CHUNKS; c++) {
            if (r[c] == rmax)
                continue;
            size_t add = within[c][r[c] + 1] - (r[c] >= 0 ? within[c][r[c]] : 0);
            if (best < 0 || add < best_add) {
                best = c;
                best_add = add;
            }
        }
        r[best]++;
        probes += best_add;
    }
    return probes;
}

void cs_simdb_search(const cs_simdb *db, const cs_tlsh_digest *q, int max_distance, int len_diff,
                     cs_simdb_method how, cs_simdb_hit_fn fn, void *ud)
{
    if (max_distance < 0 || max_distance > CS_SIMDB_MAX_DISTANCE || !db->n)
        return;
    /* not zeroed whole (3.5 KB, a tenth of a lookup's work): its tables
     * and lists are filled before they are read */
    search s;
    s.db = db;
    s.q = q;
    s.max = max_distance;
    s.len_diff = len_diff != 0;
    s.stop = s.n_slots = s.n_cands = s.n_pending = 0;
    s.bits = db->bits;
    s.bands = 0;
    s.fn = fn;
    s.ud = ud;
    int radius[CHUNKS];
    size_t probes = choose_radii(q, max_distance, radius);
    /* a probe is a scattered read or two, a reference in a stream far less */
    if (how == CS_SIMDB_LINEAR || (how == CS_SIMDB_AUTO && db->n <= 8 * probes)) {
        search_linear(&s);
        return;
    }
    /* the length part alone: 0, 1 for one apart, 12 per step beyond;
     * without the lengths, every length */
    int span = !s.len_diff ? 128 : max_distance < 1 ? 0 : max_distance < 24 ? 1 : max_distance / 12;
    if (span >= 128) {
        s.lv_lo = 0;
        s.lv_hi = 255;
    } else {
        s.lv_lo = (q->lvalue - span) & 255;
        s.lv_hi = (q->lvalue + span) & 255;
    }
    for (int k = 0; k <= 2 * span && k < 256; k++)
        s.bands |= 1u << (((s.lv_lo + k) & 255) >> BAND_SHIFT);
    /* the lvalues beyond the span cost more than max (that is the span) */
    memset(s.lv_cost, s.len_diff ? 0xff : 0, sizeof s.lv_cost);
    for (int k = 0; s.len_diff && k <= span; k++)
        s.lv_cost[(q->lvalue + k) & 255] = s.lv_cost[(q->lvalue - k) & 255] = (uint16_t)cs_tlsh_length_cost(k);
    uint16_t q1_cost[16], q2_cost[16];
    for (int x = 0; x < 16; x++) {
        q1_cost[x] = (uint16_t)cs_tlsh_ratio_cost(cs_tlsh_mod_diff(q->q1ratio, x, 16));
        q2_cost[x] = (uint16_t)cs_tlsh_ratio_cost(cs_tlsh_mod_diff(q->q2ratio, x, 16));
    }
    for (int hi = 0; hi < 16; hi++)
        for (int lo = 0; lo < 16; lo++)
            s.q_cost[hi << 4 | lo] = (uint16_t)(q1_cost[lo] + q2_cost[hi]);
    for (int c = 0; c < CHUNKS; c++)
        s.sketch[c] = chunk_value(q->code, c);
    s.seen.slot = s.seen.inline_slots;
    s.seen.cap = SEEN_INLINE;
    s.seen.n = 0;
    memset(s.seen.inline_slots, 0xff, sizeof s.seen.inline_slots);
    for (s.chunk = 0; s.chunk < CHUNKS && !s.stop; s.chunk++) {
        s.chunk_base = (uint32_t)s.chunk * (db->slots + 1);
        if (radius[s.chunk] >= 0)
            visit_neighbours(&s, chunk_value(q->code, s.chunk), 0, 0, radius[s.chunk]);
    }
    if (!s.stop)
        visit_slots(&s);
    if (!s.stop)
        verify_pending(&s);
    if (s.seen.slot != s.seen.inline_slots)
        free(s.seen.slot);
}

void cs_simdb_by_name(const cs_simdb *db, const char *name, cs_simdb_hit_fn fn, void *ud)
{
    uint64_t h = name_hash(name);
    uint32_t lo = 0, hi = db->names;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cs_rd64le(db->name_rows + (size_t)mid * NAME_SIZE) < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < db->names && cs_rd64le(db->name_rows + (size_t)lo * NAME_SIZE) == h; lo++) {
        uint32_t id = cs_rd32le(db->name_rows + (size_t)lo * NAME_SIZE + 8);
        cs_simdb_entry e;
        cs_simdb_get(db, id, &e);
        if (strcasecmp(e.file_name, name) == 0 && fn(ud, id, -1))
            return;
    }
}
