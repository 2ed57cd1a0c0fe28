/* Hash IOCs (MD5, SHA-1, SHA-256 by length; a PE's authentihash by its
 * "authentihash:" prefix) and known-good hashes that suppress every finding
 * on a file. Sorted arrays, binary search. */
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "format/ioc.h"

typedef struct hash_entry {
    unsigned char digest[32];
    int score;
    char *hex;          /* the IOC as reported */
    char *description;
} hash_entry;

typedef struct hash_table {
    hash_entry *items;
    size_t n, cap;
} hash_table;

/* index 0: MD5, 1: SHA-1, 2: SHA-256 (the CS_HASH_* bit order), 3: a PE's
 * authentihash */
#define N_ALGOS 4
typedef struct hash_state {
    hash_table bad[N_ALGOS], good[N_ALGOS];
    size_t trivial_skipped;
} hash_state;

static int algo_index(size_t digest_len)
{
    return digest_len == 16 ? 0 : digest_len == 20 ? 1 : 2;
}

static const size_t digest_lens[N_ALGOS] = {16, 20, 32, 32};

/* Digests are stored zero-padded to 32 bytes, so one comparison serves
 * every table. */
static int entry_cmp(const void *a, const void *b)
{
    const hash_entry *x = a, *y = b;
    int c = memcmp(x->digest, y->digest, sizeof x->digest);
    if (c)
        return c;
    return (x->score < y->score) - (x->score > y->score); /* highest first */
}

static void *hash_create(void)
{
    return calloc(1, sizeof(hash_state));
}

static void table_free(hash_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].hex);
        free(t->items[i].description);
    }
    free(t->items);
}

static void hash_destroy(void *st)
{
    hash_state *s = st;
    for (int i = 0; i < N_ALGOS; i++) {
        table_free(&s->bad[i]);
        table_free(&s->good[i]);
    }
    free(s);
}

static int hash_claims(const char *basename)
{
    cs_ioc_kind k = cs_ioc_classify(basename);
    return k == CS_IOC_HASH || k == CS_IOC_GOOD_HASH;
}

typedef struct load_ctx {
    hash_state *s;
    int good;
} load_ctx;

static int load_line(void *ud, char *line, const char *comment, const char **why)
{
    load_ctx *c = ud;
    (void)comment;
    cs_hash_line h;
    int rc = cs_parse_hash_line(line, &h, why);
    if (rc != CS_LINE_OK)
        return rc;
    if (h.tlsh)
        return CS_LINE_OK; /* a TLSH digest: the similarity layer's */
    if (cs_hash_is_trivial(h.digest, h.digest_len)) {
        c->s->trivial_skipped++;
        *why = "hash of an empty or newline-only file ignored (would match countless files)";
        return CS_LINE_BAD;
    }
    int a = h.authentihash ? 3 : algo_index(h.digest_len);
    hash_table *t = c->good ? &c->s->good[a] : &c->s->bad[a];
    cs_grow((void **)&t->items, &t->cap, t->n + 1, sizeof *t->items);
    hash_entry *en = &t->items[t->n++];
    memset(en, 0, sizeof *en);
    memcpy(en->digest, h.digest, h.digest_len);
    en->score = h.score;
    en->hex = cs_xmalloc(2 * h.digest_len + 1);
    cs_hex(en->hex, h.digest, h.digest_len);
    en->description = cs_strdup(h.description);
    return CS_LINE_OK;
}

static cs_status hash_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    const char *base = strrchr(pf->path, '/');
    load_ctx c = {st, cs_ioc_classify(base ? base + 1 : pf->path) == CS_IOC_GOOD_HASH};
    return cs_load_lines(e, pf, load_line, &c, NULL, err);
}

static void table_sort(hash_table *t)
{
    if (t->n == 0)
        return;
    qsort(t->items, t->n, sizeof *t->items, entry_cmp);
    /* keep one entry per digest: the highest score */
    size_t w = 0;
    for (size_t r = 0; r < t->n; r++) {
        if (w && memcmp(t->items[w - 1].digest, t->items[r].digest, sizeof t->items[r].digest) == 0) {
            free(t->items[r].hex);
            free(t->items[r].description);
            continue;
        }
        t->items[w++] = t->items[r];
    }
    t->n = w;
}

static cs_status hash_prepare(void *st, cs_engine *e, cs_error *err)
{
    hash_state *s = st;
    (void)e;
    (void)err;
    for (int i = 0; i < N_ALGOS; i++) {
        table_sort(&s->bad[i]);
        table_sort(&s->good[i]);
    }
    return CS_OK;
}

/* Known-good hashes alone must run too: they suppress the other detectors'
 * findings. */
static int hash_active(const void *st)
{
    const hash_state *s = st;
    for (int i = 0; i < N_ALGOS; i++)
        if (s->bad[i].n || s->good[i].n)
            return 1;
    return 0;
}

/* Only bad hashes detect anything: a pack of known-good hashes alone is
 * still "no usable rules". */
static int hash_loaded(const void *st)
{
    const hash_state *s = st;
    for (int i = 0; i < N_ALGOS; i++)
        if (s->bad[i].n)
            return 1;
    return 0;
}

static void hash_stats(const void *st, cs_load_stats *out)
{
    const hash_state *s = st;
    for (int i = 0; i < N_ALGOS; i++) {
        out->hash_iocs += s->bad[i].n;
        out->good_hashes += s->good[i].n;
    }
}

static const hash_entry *lookup(const hash_table *t, const unsigned char *digest, size_t len)
{
    unsigned char key[32] = {0};
    memcpy(key, digest, len);
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(t->items[mid].digest, key, sizeof key);
        if (c == 0)
            return &t->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static cs_status hash_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    hash_state *s = st;
    (void)ts;
    (void)err;
    unsigned need = 0;
    for (int i = 0; i < 3; i++)
        if ((s->bad[i].n && !out->suppress_only) || s->good[i].n)
            need |= 1u << i;
    cs_file_hash(f, need);
    /* the authentihash only for PE files, and only when a list names one */
    const unsigned char *ah = (s->bad[3].n && !out->suppress_only) || s->good[3].n ? cs_file_authentihash(f) : NULL;
    if (ah)
        need |= 1u << 3;
    const unsigned char *digests[N_ALGOS] = {f->md5, f->sha1, f->sha256, ah};
    for (int i = 0; i < N_ALGOS; i++)
        if ((need & (1u << i)) && lookup(&s->good[i], digests[i], digest_lens[i])) {
            out->suppressed = 1;
            return CS_OK;
        }
    if (out->suppress_only)
        return CS_OK;
    static const char *const names[N_ALGOS] = {"MD5", "SHA1", "SHA256", "AUTHENTIHASH"};
    for (int i = 0; i < N_ALGOS; i++) {
        const hash_entry *en = (need & (1u << i)) ? lookup(&s->bad[i], digests[i], digest_lens[i]) : NULL;
        if (en) {
            cs_reason *r = cs_findings_add(out, "hash", en->hex, en->description, en->score);
            cs_reason_add_match(out, r, names[i], 0, NULL, 0);
        }
    }
    return CS_OK;
}

static int hash_suppresses(const void *st)
{
    const hash_state *s = st;
    return s->good[0].n || s->good[1].n || s->good[2].n || s->good[3].n;
}

const cs_detector_ops cs_hash_detector = {
    .name = "hash",
    .needs_content = 1,
    .create = hash_create,
    .destroy = hash_destroy,
    .claims = hash_claims,
    .load = hash_load,
    .prepare = hash_prepare,
    .active = hash_active,
    .suppresses = hash_suppresses,
    .loaded = hash_loaded,
    .stats = hash_stats,
    .scan = hash_scan,
};
