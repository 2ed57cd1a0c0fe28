/* Similarity by TLSH (src/format/tlsh.c). Known-bad references (a hash
 * file's "T1..." lines, and "bad" rows of a pack's .tsv lists): a file whose
 * TLSH lies within 70 of one is similar_to_known_bad, at the reference's
 * score within 30 (TLSH's "very similar") and at half of it up to 70
 * ("related"). Known-good references ("good" rows: the vendor's file with
 * its name, product and SHA-256): a file of the same name, not the same
 * bytes, within 100 is near_miss_of_known_good ("looks like the vendor's
 * ffmpeg.dll but is not"). References come from .csim indexes (built by
 * `chainsweep sim build`, mapped) and from the lists, indexed at prepare;
 * every search is exact (format/simdb.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/detector.h"
#include "format/ioc.h"
#include "format/simdb.h"
#include "format/tlsh.h"

#define SIM_STRONG 30
#define SIM_RELATED 70
#define SIM_NEAR_MISS 100
#define NEAR_MISS_CLOSE 75   /* within 30 of the vendor's file */
#define NEAR_MISS_FAR 60     /* 31 to 100 */

/* One index: a pack's .csim file (mapped) or the references of its lists
 * (built in memory at prepare). */
typedef struct sim_index {
    cs_simdb *db;
    unsigned char *image;    /* built: ours to free */
    void *map;               /* mapped: ours to unmap */
    size_t map_len;
} sim_index;

typedef struct sim_state {
    cs_simdb_builder *lists; /* T1 lines and TSV rows, until prepare */
    sim_index *ix;
    size_t n, cap, refs;
} sim_state;

static void *sim_create(void)
{
    sim_state *s = calloc(1, sizeof *s);
    if (s)
        s->lists = cs_simdb_builder_new();
    return s;
}

static void sim_destroy(void *st)
{
    sim_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        cs_simdb_close(s->ix[i].db);
        free(s->ix[i].image);
        if (s->ix[i].map)
            munmap(s->ix[i].map, s->ix[i].map_len);
    }
    cs_simdb_builder_free(s->lists);
    free(s->ix);
    free(s);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

/* A pack's .tsv files (similarity/vendor.tsv, similarity-samples.tsv):
 * KIND<TAB>TLSH<TAB>SCORE<TAB>FILE_NAME<TAB>PRODUCT<TAB>VENDOR<TAB>SHA256<TAB>LABEL */
static int is_sim_tsv(const char *basename)
{
    return has_suffix(basename, ".tsv");
}

static int sim_claims(const char *basename)
{
    return cs_ioc_classify(basename) == CS_IOC_HASH || is_sim_tsv(basename) || has_suffix(basename, ".csim");
}

static int add_entry(sim_state *s, const cs_simdb_entry *e, const char **why)
{
    return cs_simdb_builder_add(s->lists, e, why) == 0 ? CS_LINE_OK : CS_LINE_BAD;
}

static int load_tsv_line(void *ud, char *line, const char *comment, const char **why)
{
    (void)comment;
    cs_simdb_entry e;
    unsigned char sha[32];
    if (cs_simdb_parse_tsv_line(line, &e, sha, why) != 0)
        return CS_LINE_BAD;
    return add_entry(ud, &e, why);
}

static int load_line(void *ud, char *line, const char *comment, const char **why)
{
    (void)comment;
    cs_hash_line h;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", line); /* the hash layer parses the same line */
    int rc = cs_parse_hash_line(copy, &h, why);
    if (rc != CS_LINE_OK || !h.tlsh)
        return CS_LINE_OK; /* not ours: the hash layer reports its own problems */
    cs_simdb_entry e = {.kind = CS_SIMDB_BAD, .score = h.score, .label = h.description};
    if (cs_tlsh_parse(h.tlsh_text, &e.digest) != 0) {
        *why = "not a TLSH digest";
        return CS_LINE_BAD;
    }
    return add_entry(ud, &e, why);
}

static void add_index(sim_state *s, sim_index ix)
{
    cs_grow((void **)&s->ix, &s->cap, s->n + 1, sizeof *s->ix);
    s->ix[s->n++] = ix;
    s->refs += cs_simdb_count(ix.db);
}

/* A .csim index: mapped, checked whole; a bad one is a load error of that
 * file (the rest of the pack loads). */
static void load_index(sim_state *s, cs_engine *e, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        cs_engine_diag_add(e, path, 0, 1, "cannot read the similarity index");
        if (fd >= 0)
            close(fd);
        return;
    }
    sim_index ix = {NULL, NULL, NULL, (size_t)sb.st_size};
    ix.map = mmap(NULL, ix.map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (ix.map == MAP_FAILED) {
        cs_engine_diag_add(e, path, 0, 1, "cannot map the similarity index");
        return;
    }
    char why[200];
    if (!(ix.db = cs_simdb_open(ix.map, ix.map_len, why, sizeof why))) {
        munmap(ix.map, ix.map_len);
        cs_engine_diag_add(e, path, 0, 1, "%s", why);
        return;
    }
    add_index(s, ix);
}

static cs_status sim_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    const char *base = strrchr(pf->path, '/');
    base = base ? base + 1 : pf->path;
    if (has_suffix(base, ".csim")) {
        load_index(st, e, pf->path);
        return CS_OK;
    }
    return cs_load_lines(e, pf, is_sim_tsv(base) ? load_tsv_line : load_line, st, NULL, err);
}

static cs_status sim_prepare(void *st, cs_engine *e, cs_error *err)
{
    sim_state *s = st;
    (void)e;
    if (cs_simdb_builder_count(s->lists)) {
        sim_index ix = {NULL, NULL, NULL, 0};
        size_t len;
        char why[200];
        ix.image = cs_simdb_builder_image(s->lists, &len);
        if (!(ix.db = cs_simdb_open(ix.image, len, why, sizeof why))) {
            free(ix.image);
            return cs_error_set(err, CS_ERR_INTERNAL, "similarity references: %s", why);
        }
        add_index(s, ix);
    }
    cs_simdb_builder_free(s->lists);
    s->lists = NULL;
    return CS_OK;
}

static int sim_active(const void *st)
{
    const sim_state *s = st;
    return s->refs > 0 || (s->lists && cs_simdb_builder_count(s->lists) > 0);
}

/* The nearest reference of a kind, over every index (on a tie, the higher
 * score). */
typedef struct nearest {
    const cs_simdb *db, *found;
    uint32_t id;
    int dist, score;
    /* known-good lookups by name */
    cs_file *f;
    const cs_tlsh_digest *q;
} nearest;

static void consider(nearest *n, uint32_t id, int dist, int score)
{
    if (!n->found || dist < n->dist || (dist == n->dist && score > n->score)) {
        n->found = n->db;
        n->id = id;
        n->dist = dist;
        n->score = score;
    }
}

static int on_bad(void *ud, uint32_t id, int dist)
{
    nearest *n = ud;
    cs_simdb_entry r;
    cs_simdb_get(n->db, id, &r);
    if (r.kind == CS_SIMDB_BAD)
        consider(n, id, dist, r.score);
    return 0;
}

/* The vendor's file by name: the same bytes are not a miss. */
static int on_good(void *ud, uint32_t id, int unused)
{
    nearest *n = ud;
    cs_simdb_entry r;
    (void)unused;
    cs_simdb_get(n->db, id, &r);
    if (r.sha256) {
        cs_file_hash(n->f, CS_HASH_SHA256);
        if (memcmp(r.sha256, n->f->sha256, 32) == 0)
            return 0;
    }
    int dist = cs_tlsh_distance(n->q, &r.digest, 1);
    if (dist <= SIM_NEAR_MISS)
        consider(n, id, dist, r.score);
    return 0;
}

static cs_status sim_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    const sim_state *s = st;
    (void)ts;
    (void)err;
    if (!s->refs || !f->data)
        return CS_OK;
    cs_file_hash(f, CS_HASH_TLSH);
    cs_tlsh_digest d;
    if (!f->tlsh[0] || cs_tlsh_parse(f->tlsh, &d) != 0)
        return CS_OK; /* too short or too uniform for TLSH: this layer only */
    nearest bad = {.q = &d, .f = f}, good = {.q = &d, .f = f};
    for (size_t i = 0; i < s->n; i++) {
        bad.db = good.db = s->ix[i].db;
        cs_simdb_search(bad.db, &d, SIM_RELATED, 1, CS_SIMDB_AUTO, on_bad, &bad);
        if (f->name)
            cs_simdb_by_name(good.db, f->name, on_good, &good);
    }
    char text[CS_TLSH_CHARS + 1];
    cs_simdb_entry r;
    if (good.found) {
        cs_simdb_get(good.found, good.id, &r);
        cs_tlsh_format(&r.digest, text);
        const cs_ac_report *sig = cs_file_signature(f, NULL);
        cs_buf b = {0};
        cs_buf_printf(&b, "looks like %s", r.file_name);
        if (*r.product)
            cs_buf_printf(&b, " of %s", r.product);
        if (*r.vendor)
            cs_buf_printf(&b, " (%s)", r.vendor);
        cs_buf_printf(&b, " but is not it: TLSH distance %d to %s; %s%s", good.dist, text,
                      sig ? "its signature: " : "not Authenticode-signed", sig ? cs_ac_verdict_name(sig->verdict) : "");
        cs_findings_add(out, "similarity", "near_miss_of_known_good", cs_arena_strdup(out->arena, b.data),
                        good.dist <= SIM_STRONG ? NEAR_MISS_CLOSE : NEAR_MISS_FAR);
        cs_buf_free(&b);
    }
    if (!bad.found)
        return CS_OK;
    cs_simdb_get(bad.found, bad.id, &r);
    cs_tlsh_format(&r.digest, text);
    cs_buf b = {0};
    cs_buf_printf(&b, "TLSH distance %d to %s (%s)%s%s", bad.dist, text,
                  bad.dist <= SIM_STRONG ? "very similar" : "related", *r.label ? ": " : "", r.label);
    cs_findings_add(out, "similarity", "similar_to_known_bad", cs_arena_strdup(out->arena, b.data),
                    bad.dist <= SIM_STRONG ? r.score : r.score / 2);
    cs_buf_free(&b);
    return CS_OK;
}

static void sim_stats(const void *st, cs_load_stats *out)
{
    const sim_state *s = st;
    out->hash_iocs += s->refs + (s->lists ? cs_simdb_builder_count(s->lists) : 0);
}

const cs_detector_ops cs_similarity_detector = {
    .name = "similarity",
    .needs_content = 1,
    .hashes = CS_HASH_TLSH,
    .create = sim_create,
    .destroy = sim_destroy,
    .claims = sim_claims,
    .load = sim_load,
    .prepare = sim_prepare,
    .active = sim_active,
    .stats = sim_stats,
    .scan = sim_scan,
};
