/* C2 indicators (domains, IPs) searched in file contents as whole words,
 * case-insensitive, in ASCII and UTF-16LE, all at once with a Vectorscan
 * literal database. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "detect/vectorscan.h"
#include "format/ioc.h"

typedef struct c2_ioc {
    char *value;
    char *description;
    int score;
    int is_ip;
} c2_ioc;

typedef struct c2_state {
    c2_ioc *iocs;
    size_t n, cap;
    hs_database_t *db;
} c2_state;

typedef struct c2_thread {
    hs_scratch_t *scratch;
    uint64_t *first;        /* first offset + 1 per IOC, 0: not seen */
    const unsigned char *data;
    size_t size, base;      /* whole file, and where the current block starts */
    const c2_state *s;
} c2_thread;

static void *c2_create(void)
{
    return calloc(1, sizeof(c2_state));
}

static void c2_destroy(void *st)
{
    c2_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        free(s->iocs[i].value);
        free(s->iocs[i].description);
    }
    free(s->iocs);
    cs_hs_free_database(s->db);
    free(s);
}

static int c2_claims(const char *basename)
{
    return cs_ioc_classify(basename) == CS_IOC_C2;
}

static int load_line(void *ud, char *line, const char *comment, const char **why)
{
    c2_state *s = ud;
    cs_c2_line c;
    int rc = cs_parse_c2_line(line, &c, why);
    if (rc != CS_LINE_OK)
        return rc;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->iocs[i].value, c.value) == 0)
            return CS_LINE_SKIP; /* listed twice: first description wins */
    cs_grow((void **)&s->iocs, &s->cap, s->n + 1, sizeof *s->iocs);
    s->iocs[s->n++] = (c2_ioc){cs_strdup(c.value), cs_strdup(*comment ? comment : "C2 indicator"), c.score,
                               c.is_ip};
    return CS_LINE_OK;
}

static cs_status c2_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    return cs_load_lines(e, pf, load_line, st, NULL, err);
}

static cs_status c2_prepare(void *st, cs_engine *e, cs_error *err)
{
    c2_state *s = st;
    if (s->n == 0)
        return CS_OK;
    const char *why;
    if (!cs_hs_load(&why))
        return cs_error_set(err, CS_ERR_RULES, "C2 indicators: Vectorscan: %s", why);
    size_t k = 2 * s->n; /* ASCII and UTF-16LE form of each */
    const char **exprs = cs_xmalloc(k * sizeof *exprs);
    size_t *lens = cs_xmalloc(k * sizeof *lens);
    unsigned *flags = cs_xmalloc(k * sizeof *flags);
    unsigned *ids = cs_xmalloc(k * sizeof *ids);
    char **wide = cs_xmalloc(s->n * sizeof *wide);
    for (size_t i = 0; i < s->n; i++) {
        size_t n = strlen(s->iocs[i].value);
        wide[i] = cs_xmalloc(2 * n); /* prepare runs inside the engine's guard */
        memset(wide[i], 0, 2 * n);
        for (size_t j = 0; j < n; j++)
            wide[i][2 * j] = s->iocs[i].value[j];
        exprs[2 * i] = s->iocs[i].value;
        lens[2 * i] = n;
        exprs[2 * i + 1] = wide[i];
        lens[2 * i + 1] = 2 * n;
        flags[2 * i] = flags[2 * i + 1] = HS_FLAG_CASELESS;
        ids[2 * i] = (unsigned)(2 * i);
        ids[2 * i + 1] = (unsigned)(2 * i + 1);
    }
    hs_compile_error_t *ce = NULL;
    hs_error_t rc = cs_hs_compile_lit_cached(cs_engine_cache_dir(e), "c2-iocs", exprs, flags, ids, lens,
                                             (unsigned)k, &s->db, &ce);
    cs_status st_rc = CS_OK;
    if (rc != HS_SUCCESS) {
        st_rc = cs_error_set(err, CS_ERR_RULES, "C2 indicators: Vectorscan: %s", ce ? ce->message : "error");
        cs_hs.hs_free_compile_error(ce);
    }
    for (size_t i = 0; i < s->n; i++)
        free(wide[i]);
    free(wide);
    free(exprs);
    free(lens);
    free(flags);
    free(ids);
    return st_rc;
}

static int c2_active(const void *st)
{
    return ((const c2_state *)st)->n > 0;
}

static void c2_stats(const void *st, cs_load_stats *out)
{
    out->c2_iocs += ((const c2_state *)st)->n;
}

static void c2_thread_fini(void *st, void *ts)
{
    (void)st;
    c2_thread *t = ts;
    if (!t)
        return;
    cs_hs_free_scratch(t->scratch);
    free(t->first);
    free(t);
}

static void *c2_thread_init(void *st, cs_error *err)
{
    c2_state *s = st;
    c2_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->first = calloc(s->n, sizeof *t->first);
    if (!t->first || cs_hs.hs_alloc_scratch(s->db, &t->scratch) != HS_SUCCESS) {
        cs_error_set(err, CS_ERR_NOMEM, "C2 indicators: cannot allocate scratch space");
        c2_thread_fini(st, t);
        return NULL;
    }
    t->s = s;
    return t;
}

/* Characters that continue a host name or address. */
static int word_char(int c, int is_ip)
{
    return isalnum(c) || c == '-' || c == '_' || (is_ip && c == '.');
}

/* The match [from, to) stands as a whole word: "evil.com" matches in
 * "http://www.evil.com/" but not in "notevil.com" or "evil.company". */
static int whole_word(const unsigned char *d, size_t len, size_t from, size_t to, int wide, int is_ip)
{
    size_t step = wide ? 2 : 1;
    if (from >= step) {
        size_t b = from - step;
        if ((!wide || d[b + 1] == 0) && word_char(d[b], is_ip))
            return 0;
    }
    if (to + step <= len && (!wide || d[to + 1] == 0)) {
        int c = d[to];
        if (word_char(c, 0))
            return 0;
        if (c == '.' && to + 2 * step <= len && (!wide || d[to + step + 1] == 0) && isalnum(d[to + step]))
            return 0; /* "evil.com.example" is another name */
    }
    return 1;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)from;
    (void)flags;
    c2_thread *t = ctx;
    size_t ioc = id / 2;
    int wide = id & 1;
    if (t->first[ioc])
        return 0;
    size_t n = strlen(t->s->iocs[ioc].value) * (wide ? 2 : 1);
    size_t end = t->base + (size_t)to, start = end - n;
    if (whole_word(t->data, t->size, start, end, wide, t->s->iocs[ioc].is_ip))
        t->first[ioc] = (uint64_t)start + 1;
    return 0;
}

static cs_status c2_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    c2_state *s = st;
    c2_thread *t = ts;
    memset(t->first, 0, s->n * sizeof *t->first);
    t->data = f->data;
    t->size = f->size;
    /* large files go in overlapping blocks (hs_scan takes an unsigned
     * length; the overlap exceeds the longest wide IOC), each given back
     * once scanned so that RSS stays bounded */
    const size_t block = CS_RELEASE_CHUNK, overlap = 4096;
    for (size_t off = 0;; off += block - overlap) {
        size_t n = f->size - off < block ? f->size - off : block;
        t->base = off;
        if (cs_hs.hs_scan(s->db, (const char *)f->data + off, (unsigned)n, 0, t->scratch, on_match, t) != HS_SUCCESS)
            return cs_error_set(err, CS_ERR_INTERNAL, "Vectorscan scan failed");
        if (off + n >= f->size)
            break;
        cs_file_release_range(f, f->data + off, block - overlap);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!t->first[i])
            continue;
        const c2_ioc *c = &s->iocs[i];
        cs_reason *r = cs_findings_add(out, "c2", c->value, c->description, c->score);
        uint64_t at = t->first[i] - 1;
        size_t n = strlen(c->value);
        if (at + n > f->size)
            n = (size_t)(f->size - at);
        cs_reason_add_match(out, r, c->value, at, f->data + at, n);
    }
    return CS_OK;
}

const cs_detector_ops cs_c2_detector = {
    .name = "c2",
    .needs_content = 1,
    .create = c2_create,
    .destroy = c2_destroy,
    .claims = c2_claims,
    .load = c2_load,
    .prepare = c2_prepare,
    .active = c2_active,
    .stats = c2_stats,
    .thread_init = c2_thread_init,
    .thread_fini = c2_thread_fini,
    .scan = c2_scan,
};
