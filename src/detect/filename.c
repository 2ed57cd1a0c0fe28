/* Filename / path IOCs: REGEX;SCORE[;FALSE_POSITIVE_REGEX] on the full path.
 * Every pattern Vectorscan accepts goes into one multi-pattern database;
 * the few it cannot take (back-references, look-arounds) run in PCRE2. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "detect/vectorscan.h"
#include "format/ioc.h"

typedef struct fn_ioc {
    char *as_written;     /* reported as the rule */
    char *regex;          /* rewritten for POSIX paths */
    char *description;
    int score;
    int caseless;         /* plain text: THOR matches it case-insensitively */
    pcre2_code *re;       /* only for patterns Vectorscan cannot take */
    pcre2_code *fp;       /* false-positive regex, or NULL */
    int in_hs;
} fn_ioc;

typedef struct fn_state {
    fn_ioc *iocs;
    size_t n, cap;
    hs_database_t *db;
    size_t n_pcre;
} fn_state;

typedef struct fn_thread {
    hs_scratch_t *scratch;
    pcre2_match_data *md;
    unsigned char *hit;   /* one flag per IOC */
} fn_thread;

static void *fn_create(void)
{
    return calloc(1, sizeof(fn_state));
}

static void fn_destroy(void *st)
{
    fn_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        free(s->iocs[i].as_written);
        free(s->iocs[i].regex);
        free(s->iocs[i].description);
        pcre2_code_free(s->iocs[i].re);
        pcre2_code_free(s->iocs[i].fp);
    }
    free(s->iocs);
    cs_hs_free_database(s->db);
    free(s);
}

static int fn_claims(const char *basename)
{
    return cs_ioc_classify(basename) == CS_IOC_FILENAME;
}

static pcre2_code *compile_pcre(const char *re, int caseless, char *msg, size_t msglen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, caseless ? PCRE2_CASELESS : 0,
                                  &code, &off, NULL);
    if (!c) {
        PCRE2_UCHAR m[200];
        pcre2_get_error_message(code, m, sizeof m);
        snprintf(msg, msglen, "%s at offset %zu", (char *)m, (size_t)off);
    }
    return c;
}

typedef struct load_ctx {
    fn_state *s;
    char msg[256];
} load_ctx;

static int load_line(void *ud, char *line, const char *comment, const char **why)
{
    load_ctx *c = ud;
    cs_filename_line fl;
    int rc = cs_parse_filename_line(line, &fl, why);
    if (rc != CS_LINE_OK)
        return rc;
    cs_buf re = {0}, fp = {0};
    int plain, fp_plain;
    cs_filename_regex_for_posix(fl.regex, &re, &plain);
    /* compile now to report a bad regex with its line */
    pcre2_code *code = compile_pcre(re.data, plain, c->msg, sizeof c->msg);
    pcre2_code *fpc = NULL;
    if (code && fl.fp_regex) {
        cs_filename_regex_for_posix(fl.fp_regex, &fp, &fp_plain);
        fpc = compile_pcre(fp.data, fp_plain, c->msg, sizeof c->msg);
    }
    cs_buf_free(&fp);
    if (!code || (fl.fp_regex && !fpc)) {
        pcre2_code_free(code);
        cs_buf_free(&re);
        *why = c->msg;
        return CS_LINE_BAD;
    }
    fn_state *s = c->s;
    cs_grow((void **)&s->iocs, &s->cap, s->n + 1, sizeof *s->iocs);
    s->iocs[s->n++] = (fn_ioc){cs_strdup(fl.regex), re.data, cs_strdup(comment), fl.score, plain, code, fpc, 0};
    return CS_LINE_OK;
}

static cs_status fn_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    load_ctx c = {st, {0}};
    return cs_load_lines(e, pf, load_line, &c, NULL, err);
}

/* Constructs Vectorscan rejects; such patterns go straight to PCRE2. */
static int hs_unsupported(const char *re)
{
    static const char *const bad[] = {"(?=", "(?!", "(?<=", "(?<!", "(?>", "(?(", "\\G", "\\K", "\\R", "\\X"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (strstr(re, bad[i]))
            return 1;
    for (const char *p = re; *p; p++)
        if (p[0] == '\\' && p[1] >= '1' && p[1] <= '9')
            return 1; /* back-reference */
    return 0;
}

static cs_status fn_prepare(void *st, cs_engine *e, cs_error *err)
{
    fn_state *s = st;
    (void)err;
    if (s->n == 0)
        return CS_OK;
    for (size_t i = 0; i < s->n; i++)
        s->iocs[i].in_hs = !hs_unsupported(s->iocs[i].regex);

    const char *why;
    if (!cs_hs_load(&why)) { /* PCRE2 answers for every pattern */
        cs_engine_diag_add(e, NULL, 0, 0, "filename IOCs: Vectorscan cannot be loaded (%s); using PCRE2 for all", why);
        for (size_t i = 0; i < s->n; i++)
            s->iocs[i].in_hs = 0;
    }
    const char **exprs = cs_xmalloc(s->n * sizeof *exprs);
    unsigned *flags = cs_xmalloc(s->n * sizeof *flags);
    unsigned *ids = cs_xmalloc(s->n * sizeof *ids);
    /* the cache names the database by the patterns first tried; it holds
     * which of them Vectorscan took (one byte per IOC) */
    cs_hs_cached cache = {""};
    for (int first = 1;; first = 0) {
        unsigned k = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!s->iocs[i].in_hs)
                continue;
            exprs[k] = s->iocs[i].regex;
            flags[k] = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (s->iocs[i].caseless ? HS_FLAG_CASELESS : 0);
            ids[k] = (unsigned)i;
            k++;
        }
        if (k == 0)
            break;
        if (first) {
            unsigned char *taken;
            size_t n_taken;
            cs_hs_cache_name(&cache, cs_engine_cache_dir(e), "filename-iocs", exprs, NULL, flags, ids, k);
            s->db = cs_hs_cache_read(&cache, &taken, &n_taken);
            int fits = s->db && n_taken == s->n;
            for (size_t i = 0; fits && i < s->n; i++)
                fits = taken[i] <= s->iocs[i].in_hs; /* only patterns that were tried */
            for (size_t i = 0; fits && i < s->n; i++)
                s->iocs[i].in_hs = taken[i];
            free(taken);
            if (fits)
                break;
            cs_hs_free_database(s->db);
            s->db = NULL;
        }
        hs_compile_error_t *ce = NULL;
        if (cs_hs.hs_compile_multi(exprs, flags, ids, k, HS_MODE_BLOCK, NULL, &s->db, &ce) == HS_SUCCESS) {
            unsigned char *taken = cs_xmalloc(s->n);
            for (size_t i = 0; i < s->n; i++)
                taken[i] = (unsigned char)s->iocs[i].in_hs;
            cs_hs_cache_write(&cache, s->db, taken, s->n);
            free(taken);
            break;
        }
        if (ce->expression < 0) {
            cs_engine_diag_add(e, NULL, 0, 0, "filename IOCs: Vectorscan failed (%s); using PCRE2 for all",
                               ce->message);
            for (size_t i = 0; i < s->n; i++)
                s->iocs[i].in_hs = 0;
        } else {
            s->iocs[ids[ce->expression]].in_hs = 0; /* retry without it */
        }
        cs_hs.hs_free_compile_error(ce);
        s->db = NULL;
    }
    free(exprs);
    free(flags);
    free(ids);
    s->n_pcre = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->iocs[i].in_hs) {
            pcre2_code_free(s->iocs[i].re); /* Vectorscan answers for it */
            s->iocs[i].re = NULL;
        } else {
            s->n_pcre++;
        }
    }
    return CS_OK;
}

static int fn_active(const void *st)
{
    return ((const fn_state *)st)->n > 0;
}

static void fn_stats(const void *st, cs_load_stats *out)
{
    const fn_state *s = st;
    out->filename_iocs += s->n;
    out->filename_iocs_pcre += s->n_pcre;
}

static void fn_thread_fini(void *st, void *ts)
{
    (void)st;
    fn_thread *t = ts;
    if (!t)
        return;
    cs_hs_free_scratch(t->scratch);
    pcre2_match_data_free(t->md);
    free(t->hit);
    free(t);
}

static void *fn_thread_init(void *st, cs_error *err)
{
    fn_state *s = st;
    fn_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->hit = calloc(s->n, 1);
    t->md = pcre2_match_data_create(1, NULL);
    if (!t->hit || !t->md || (s->db && cs_hs.hs_alloc_scratch(s->db, &t->scratch) != HS_SUCCESS)) {
        cs_error_set(err, CS_ERR_NOMEM, "filename IOCs: cannot allocate scratch space");
        fn_thread_fini(st, t);
        return NULL;
    }
    return t;
}

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    ((fn_thread *)ctx)->hit[id] = 1;
    return 0;
}

static int pcre_matches(pcre2_code *re, pcre2_match_data *md, const char *s, size_t n)
{
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL) >= 0;
}

static cs_status fn_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    fn_state *s = st;
    fn_thread *t = ts;
    memset(t->hit, 0, s->n);
    if (s->db && cs_hs.hs_scan(s->db, f->path, (unsigned)f->path_len, 0, t->scratch, on_hs_match, t) != HS_SUCCESS)
        return cs_error_set(err, CS_ERR_INTERNAL, "Vectorscan scan failed");
    for (size_t i = 0; i < s->n; i++) {
        fn_ioc *c = &s->iocs[i];
        if (!c->in_hs && pcre_matches(c->re, t->md, f->path, f->path_len))
            t->hit[i] = 1;
        if (!t->hit[i] || (c->fp && pcre_matches(c->fp, t->md, f->path, f->path_len)))
            continue;
        cs_findings_add(out, "filename", c->as_written, c->description, c->score);
    }
    return CS_OK;
}

const cs_detector_ops cs_filename_detector = {
    .name = "filename",
    .needs_content = 0,
    .create = fn_create,
    .destroy = fn_destroy,
    .claims = fn_claims,
    .load = fn_load,
    .prepare = fn_prepare,
    .active = fn_active,
    .stats = fn_stats,
    .thread_init = fn_thread_init,
    .thread_fini = fn_thread_fini,
    .scan = fn_scan,
};
