/* Similarity to known-bad files by TLSH (src/format/tlsh.c): a hash file's
 * "T1..." lines are references; a file whose TLSH lies within 70 of one is
 * similar_to_known_bad, at the reference's score within 30 (TLSH's "very
 * similar") and at half of it up to 70 ("related"). A linear scan over the
 * references: the exact index for large reference sets is still to come
 * (docs/similarity.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "format/ioc.h"
#include "format/tlsh.h"

#define SIM_STRONG 30
#define SIM_RELATED 70

typedef struct sim_ref {
    cs_tlsh_digest d;
    char text[CS_TLSH_CHARS + 1];
    int score;
    char *description;
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
    for (size_t i = 0; i < s->n; i++)
        free(s->refs[i].description);
    free(s->refs);
    free(s);
}

static int sim_claims(const char *basename)
{
    cs_ioc_kind k = cs_ioc_classify(basename);
    return k == CS_IOC_HASH;
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
    cs_grow((void **)&s->refs, &s->cap, s->n + 1, sizeof *s->refs);
    sim_ref *r = &s->refs[s->n++];
    r->d = d;
    cs_tlsh_format(&d, r->text);
    r->score = h.score;
    r->description = cs_strdup(h.description);
    return CS_LINE_OK;
}

static cs_status sim_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    return cs_load_lines(e, pf, load_line, st, NULL, err);
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
    const sim_ref *best = NULL;
    int best_dist = SIM_RELATED + 1;
    for (size_t i = 0; i < s->n; i++) {
        int dist = cs_tlsh_distance(&d, &s->refs[i].d, 1);
        if (dist < best_dist || (dist == best_dist && best && s->refs[i].score > best->score)) {
            best = &s->refs[i];
            best_dist = dist;
        }
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
