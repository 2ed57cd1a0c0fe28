/* Similarity by TLSH (src/format/tlsh.c). Known-bad references (a hash
 * file's "T1..." lines, and "bad" rows of similarity*.tsv): a file whose
 * TLSH lies within 70 of one is similar_to_known_bad, at the reference's
 * score within 30 (TLSH's "very similar") and at half of it up to 70
 * ("related"). Known-good references ("good" rows: the vendor's file with
 * its name, product and SHA-256): a file of the same name, not the same
 * bytes, within 100 is near_miss_of_known_good ("looks like the vendor's
 * ffmpeg.dll but is not"). A linear scan over the references: the exact
 * index for large reference sets is still to come (docs/similarity.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect/detector.h"
#include "format/ioc.h"
#include "format/tlsh.h"

#define SIM_STRONG 30
#define SIM_RELATED 70
#define SIM_NEAR_MISS 100
#define NEAR_MISS_CLOSE 75   /* within 30 of the vendor's file */
#define NEAR_MISS_FAR 60     /* 31 to 100 */

typedef struct sim_ref {
    cs_tlsh_digest d;
    char text[CS_TLSH_CHARS + 1];
    int score;
    char *description;
    /* known-good rows */
    int good;
    char *file_name, *product, *vendor;
    int has_sha256;
    unsigned char sha256[32];
} sim_ref;

typedef struct sim_state {
    sim_ref *refs;
    size_t n, cap;
} sim_state;

static void *sim_create(void)
{
    return calloc(1, sizeof(sim_state));
}

static void sim_destroy(void *st)
{
    sim_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        free(s->refs[i].description);
        free(s->refs[i].file_name);
        free(s->refs[i].product);
        free(s->refs[i].vendor);
    }
    free(s->refs);
    free(s);
}

/* A new reference: the digest (kept in its canonical text too), score, label. */
static sim_ref *add_ref(sim_state *s, const cs_tlsh_digest *d, int score, const char *label)
{
    cs_grow((void **)&s->refs, &s->cap, s->n + 1, sizeof *s->refs);
    sim_ref *r = &s->refs[s->n++];
    memset(r, 0, sizeof *r);
    r->d = *d;
    cs_tlsh_format(d, r->text);
    r->score = score;
    r->description = cs_strdup(label ? label : "");
    return r;
}

/* similarity*.tsv: KIND<TAB>TLSH<TAB>SCORE<TAB>FILE_NAME<TAB>PRODUCT<TAB>VENDOR<TAB>SHA256<TAB>LABEL */
static int is_sim_tsv(const char *basename)
{
    size_t n = strlen(basename);
    return strncasecmp(basename, "similarity", 10) == 0 && n > 4 && strcasecmp(basename + n - 4, ".tsv") == 0;
}

static int sim_claims(const char *basename)
{
    return cs_ioc_classify(basename) == CS_IOC_HASH || is_sim_tsv(basename);
}

static char *field(char **p)
{
    char *f = *p, *tab = f ? strchr(f, '\t') : NULL;
    if (tab)
        *tab = '\0';
    *p = tab ? tab + 1 : NULL;
    f = f ? cs_trim(f) : NULL;
    return f && *f && strcmp(f, "-") != 0 ? f : NULL;
}

static int load_tsv_line(void *ud, char *line, const char *comment, const char **why)
{
    sim_state *s = ud;
    (void)comment;
    char *p = line;
    char *kind = field(&p), *tl = field(&p), *score = field(&p), *name = field(&p), *product = field(&p),
         *vendor = field(&p), *sha = field(&p), *label = p ? cs_trim(p) : NULL;
    if (!kind || (strcmp(kind, "good") != 0 && strcmp(kind, "bad") != 0)) {
        *why = "the first column is good or bad";
        return CS_LINE_BAD;
    }
    cs_tlsh_digest d;
    if (!tl || cs_tlsh_parse(tl, &d) != 0) {
        *why = "the second column is a TLSH digest (T1 and 70 hex digits)";
        return CS_LINE_BAD;
    }
    char *end = NULL;
    long sc = score ? strtol(score, &end, 10) : 0;
    if (!score || *end || sc < -1000 || sc > 1000) {
        *why = "the score is an integer from -1000 to 1000";
        return CS_LINE_BAD;
    }
    int good = strcmp(kind, "good") == 0;
    if (good && !name) {
        *why = "a known-good reference names its file";
        return CS_LINE_BAD;
    }
    unsigned char digest[32];
    if (sha && (strlen(sha) != 64 || cs_unhex(digest, sha, 32) != 0)) {
        *why = "the SHA-256 column is 64 hex digits";
        return CS_LINE_BAD;
    }
    sim_ref *r = add_ref(s, &d, (int)sc, label);
    r->good = good;
    r->file_name = name ? cs_strdup(name) : NULL;
    r->product = product ? cs_strdup(product) : NULL;
    r->vendor = vendor ? cs_strdup(vendor) : NULL;
    if (sha) {
        memcpy(r->sha256, digest, 32);
        r->has_sha256 = 1;
    }
    return CS_LINE_OK;
}

static int load_line(void *ud, char *line, const char *comment, const char **why)
{
    sim_state *s = ud;
    (void)comment;
    cs_hash_line h;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", line); /* the hash layer parses the same line */
    int rc = cs_parse_hash_line(copy, &h, why);
    if (rc != CS_LINE_OK || !h.tlsh)
        return CS_LINE_OK; /* not ours: the hash layer reports its own problems */
    cs_tlsh_digest d;
    if (cs_tlsh_parse(h.tlsh_text, &d) != 0) {
        *why = "not a TLSH digest";
        return CS_LINE_BAD;
    }
    add_ref(s, &d, h.score, h.description);
    return CS_LINE_OK;
}

static cs_status sim_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    const char *base = strrchr(pf->path, '/');
    return cs_load_lines(e, pf, is_sim_tsv(base ? base + 1 : pf->path) ? load_tsv_line : load_line, st, NULL, err);
}

static int sim_active(const void *st)
{
    return ((const sim_state *)st)->n > 0;
}

static cs_status sim_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    const sim_state *s = st;
    (void)ts;
    (void)err;
    if (!s->n || !f->data)
        return CS_OK;
    cs_file_hash(f, CS_HASH_TLSH);
    cs_tlsh_digest d;
    if (!f->tlsh[0] || cs_tlsh_parse(f->tlsh, &d) != 0)
        return CS_OK; /* too short or too uniform for TLSH: this layer only */
    const sim_ref *best = NULL, *near = NULL;
    int best_dist = SIM_RELATED + 1, near_dist = SIM_NEAR_MISS + 1;
    for (size_t i = 0; i < s->n; i++) {
        const sim_ref *r = &s->refs[i];
        if (r->good) {
            /* the vendor's file by name: the same bytes are not a miss */
            if (!f->name || strcasecmp(f->name, r->file_name) != 0)
                continue;
            cs_file_hash(f, CS_HASH_SHA256);
            if (r->has_sha256 && memcmp(r->sha256, f->sha256, 32) == 0)
                continue;
            int dist = cs_tlsh_distance(&d, &r->d, 1);
            if (dist < near_dist) {
                near = r;
                near_dist = dist;
            }
            continue;
        }
        int dist = cs_tlsh_distance(&d, &r->d, 1);
        if (dist < best_dist || (dist == best_dist && best && r->score > best->score)) {
            best = r;
            best_dist = dist;
        }
    }
    if (near) {
        const cs_ac_report *sig = cs_file_signature(f, NULL);
        cs_buf b = {0};
        cs_buf_printf(&b, "looks like %s", near->file_name);
        if (near->product)
            cs_buf_printf(&b, " of %s", near->product);
        if (near->vendor)
            cs_buf_printf(&b, " (%s)", near->vendor);
        cs_buf_printf(&b, " but is not it: TLSH distance %d to %s; %s%s", near_dist, near->text,
                      sig ? "its signature: " : "not Authenticode-signed", sig ? cs_ac_verdict_name(sig->verdict) : "");
        cs_findings_add(out, "similarity", "near_miss_of_known_good", cs_arena_strdup(out->arena, b.data),
                        near_dist <= SIM_STRONG ? NEAR_MISS_CLOSE : NEAR_MISS_FAR);
        cs_buf_free(&b);
    }
    if (!best)
        return CS_OK;
    cs_buf b = {0};
    cs_buf_printf(&b, "TLSH distance %d to %s (%s)%s%s", best_dist, best->text,
                  best_dist <= SIM_STRONG ? "very similar" : "related", *best->description ? ": " : "",
                  best->description);
    cs_findings_add(out, "similarity", "similar_to_known_bad", cs_arena_strdup(out->arena, b.data),
                    best_dist <= SIM_STRONG ? best->score : best->score / 2);
    cs_buf_free(&b);
    return CS_OK;
}

static void sim_stats(const void *st, cs_load_stats *out)
{
    out->hash_iocs += ((const sim_state *)st)->n;
}

const cs_detector_ops cs_similarity_detector = {
    .name = "similarity",
    .needs_content = 1,
    .create = sim_create,
    .destroy = sim_destroy,
    .claims = sim_claims,
    .load = sim_load,
    .active = sim_active,
    .stats = sim_stats,
    .scan = sim_scan,
};
