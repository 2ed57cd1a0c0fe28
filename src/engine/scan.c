/* The scan pipeline: walker thread -> bounded work queue -> N workers ->
 * bounded result queue -> the calling thread, which owns all output.
 *
 * A job is one file or one member of a container. A worker acquires the
 * job's source (and looks it up in the state store), scans the view with
 * every detector, then expands it: each member an unpacker announces
 * becomes a job of its own, handed to another worker when the queue has
 * room (and the bytes in flight stay under a budget), scanned in place
 * otherwise. A container's record waits until all its members are done, so
 * the members come before their container and the container carries a
 * "contains" finding for the worst of them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/engine.h"
#include "engine/queue.h"
#include "store/result_blob.h"
#include "store/state.h"
#include "unpack/unpack.h"
#include "util/guard.h"
#include "walk/walk.h"

/* Members at most this large stay in memory; larger ones spill into an
 * unlinked temporary file. */
#define MEMBER_SPILL (64u << 20)
/* Bytes of queued members waiting for a worker; past it, members are
 * scanned in place by the worker that unpacked them. */
#define INFLIGHT_BUDGET (256ull << 20)

typedef struct cs_job cs_job;

/* What all jobs of one outer file share: its limits' counters. */
typedef struct cs_tree {
    atomic_uint_fast64_t bytes;  /* unpacked from the outer file, all levels */
    double start;                /* monotonic seconds */
    atomic_int refs;
} cs_tree;

struct cs_job {
    cs_job *parent;            /* the container, NULL for an outer file */
    cs_tree *tree;
    atomic_int pending;        /* 1 for the job itself + members not done */
    char *path;                /* outer path (owned by the outer job) */
    int fd, dirfd;             /* from the walker, until acquired */
    int from_store;            /* the walker found it unchanged: re-reported, never opened */
    char *stored;              /* then its record in the store (NULL: clean), until acquired */
    cs_source *src;            /* a member's bytes; an outer file's once opened */
    cs_skip_reason skip;       /* decided by the walker or the unpacker */
    char *error;               /* from the walker */
    unsigned depth;
    cs_member *chain;          /* depth entries, in the arena */
    const char *member_name;   /* basename of the last entry */
    const char *display_path;
    cs_name_map names;         /* for this container's entries (arena copies) */
    const cs_integrity *integrity; /* what its container says it hashes to (arena copy), or NULL */
    uint64_t inflight;         /* bytes counted against the in-flight budget */
    cs_arena arena;
    cs_findings findings;
    cs_result result;
    int cacheable;             /* a complete verdict to record in the state store */
    int has_sha256;
    unsigned char sha256[32];
    cs_meta meta;
    /* what the members say, collected under mu */
    pthread_mutex_t mu;
    cs_level worst;            /* highest level among all members */
    int worst_score;
    char *worst_path;          /* display path of that member (malloc'd) */
    uint64_t members_read, members_flagged;
    int incomplete;            /* a member could not be read completely */
    int host_dependent;        /* something in it could not be unpacked on this host: not stored */
    int interrupted;           /* members were not read: the scan was stopped */
    int abandoned;             /* never started (the scan was stopped): not reported */
    cs_buf stored_members;     /* collector only: blobs of its members' records, for the store */
};

typedef struct cs_pipeline {
    cs_engine *e;
    const char *const *targets;
    size_t n_targets;
    cs_queue work, results;
    atomic_uint workers_left;
    atomic_uint_fast64_t inflight;
    atomic_int lost;           /* memory ran out outside a file's own guard: records may be missing */
    /* outer files not yet delivered, plus 1 while the walker runs: the work
     * queue closes at 0, not when the walker ends, so that idle workers stay
     * to take the members of a large archive another worker unpacks */
    atomic_size_t outstanding;
    cs_state *state;           /* incremental sweeps, or NULL */
    struct cs_scanner *walker; /* re-reports unchanged files in the walker thread, or NULL */
} cs_pipeline;

struct cs_scanner {
    cs_engine *e;
    void *ts[CS_MAX_DETECTORS];
    int suppress_only[CS_MAX_DETECTORS]; /* left out by --detectors, runs to keep known-good files quiet */
    cs_state *state;           /* incremental sweeps: the store, read through reader */
    cs_state_reader *reader;   /* opened on the first file the walker could not answer */
    int reader_failed;         /* ... and could not be opened: not tried again */
    int attached;              /* the detectors' per-thread states are set up */
    cs_pipeline *p;            /* NULL: a standalone scanner, results delivered in place */
    int products_signed;       /* inventory rows carry the signature (authenticode runs) */
    /* standalone delivery */
    cs_result_cb cb;
    void *ud;
    atomic_int cancelled;      /* the result callback asked to stop (set by the collector) */
    pthread_t thread;
    /* the walker's replays go to the collector in batches: one wake-up each */
    int batches;
    size_t n_held;
    cs_job *held[32];
};

/* ---- jobs ---- */

static cs_job *job_new(void)
{
    cs_job *j = calloc(1, sizeof *j);
    if (!j)
        cs_out_of_memory();
    atomic_init(&j->pending, 1);
    j->fd = j->dirfd = -1;
    pthread_mutex_init(&j->mu, NULL);
    return j;
}

static void tree_unref(cs_tree *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

static void job_free(cs_job *j)
{
    if (j->fd >= 0)
        close(j->fd);
    if (j->dirfd >= 0)
        close(j->dirfd);
    cs_source_unref(j->src);
    tree_unref(j->tree);
    if (!j->parent)
        free(j->path);
    free(j->error);
    free(j->stored);
    free(j->worst_path);
    cs_buf_free(&j->stored_members);
    free(j->findings.reasons);
    pthread_mutex_destroy(&j->mu);
    cs_arena_free(&j->arena);
    free(j);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static cs_tree *tree_new(void)
{
    cs_tree *t = calloc(1, sizeof *t);
    if (!t)
        cs_out_of_memory();
    atomic_init(&t->bytes, 0);
    atomic_init(&t->refs, 1);
    t->start = now_seconds();
    return t;
}

/* ---- the walker ---- */

typedef struct exclude_ctx {
    const cs_engine *e;
    pcre2_match_data *md;      /* for --exclude regexes, one per walk */
} exclude_ctx;

static cs_skip_reason is_excluded(void *ud, const char *path, const char *name, const struct stat *st)
{
    exclude_ctx *x = ud;
    if (cs_engine_is_excluded(x->e, path, name, x->md))
        return CS_SKIP_EXCLUDED;
    return cs_engine_is_own_dir(x->e, st) ? CS_SKIP_OWN_FILES : CS_SKIP_NONE;
}

/* Walk one root, calling fn for every entry (claim, if not NULL, first for
 * each regular file); the engine's options. */
static int walk_root(const cs_engine *e, const char *root, cs_walk_fn fn, cs_walk_claim_fn claim, void *ud)
{
    /* ovector size 1 is enough to know whether a pattern matched */
    exclude_ctx x = {e, pcre2_match_data_create(1, NULL)};
    cs_walk_opts o = {e->cfg.follow_symlinks, e->cfg.cross_fs, e->cfg.max_depth, is_excluded, &x, claim, ud};
    int rc = cs_walk(&o, root, fn, ud);
    pcre2_match_data_free(x.md);
    return rc;
}

static cs_job *job_from_walk(const cs_walk_entry *ent)
{
    cs_job *j = job_new();
    j->path = cs_strdup(ent->path);
    j->display_path = j->path;
    if (ent->st) {
        j->result.size = (uint64_t)ent->st->st_size;
        j->result.mtime = (int64_t)ent->st->st_mtime;
    }
    j->skip = ent->skip;
    j->error = cs_strdup(ent->error);
    j->fd = ent->fd;
    j->dirfd = ent->dirfd;
    return j;
}

/* An outer file is delivered, or the walk ended: the last one closes the
 * work queue, and the workers end once it is drained. */
static void outstanding_done(cs_pipeline *p)
{
    if (atomic_fetch_sub(&p->outstanding, 1) == 1)
        cs_queue_close(&p->work);
}

static int on_walk_entry(void *ud, const cs_walk_entry *ent)
{
    cs_pipeline *p = ud;
    if (atomic_load(&p->e->stop)) { /* interrupted: the walk ends here */
        if (ent->fd >= 0)
            close(ent->fd);
        if (ent->dirfd >= 0)
            close(ent->dirfd);
        return 1;
    }
    atomic_fetch_add(&p->outstanding, 1);
    cs_job *j = job_from_walk(ent);
    if (!cs_queue_push(&p->work, j)) { /* the sweep ended early (out of memory): stop walking */
        job_free(j);
        outstanding_done(p);
        return 1;
    }
    return 0;
}


/* nice 19 and the idle I/O class, for sweeps on production endpoints */
static void lower_priority(void)
{
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
#ifdef SYS_ioprio_set
    const int ioprio_who_process = 1, ioprio_class_idle = 3;
    syscall(SYS_ioprio_set, ioprio_who_process, (int)syscall(SYS_gettid), ioprio_class_idle << 13);
#endif
}

static void run_job(cs_scanner *s, cs_job *j);
static void flush_held(cs_scanner *s);

/* rows of a walk root read ahead from the store at most (~200 bytes each) */
#define PRELOAD_MAX_ROWS 200000

/* A file the store says is unchanged since the last sweep with these rules
 * (by its lstat: device, inode, size, times) is re-reported here, in the
 * walker: it is not opened and no worker sees it. Anything else (new,
 * changed, a damaged entry) is opened and read as usual. */
/* The store's answer for path (1, 0 or -1 as cs_state_lookup): from the
 * read-ahead, else through this scanner's own connection, opened when
 * first needed (pinned for the walker, which looks up file after file). A
 * connection that cannot be opened: 0 from then on, and -2 with err set
 * the first time. */
static int store_lookup(cs_scanner *s, const char *path, const cs_meta *m, char **blob, int pin, cs_error *err)
{
    int found = cs_state_lookup_preloaded(s->state, path, m, blob);
    if (found != -2)
        return found;
    if (!s->reader && !s->reader_failed) {
        if (cs_state_reader_open(s->state, &s->reader, err) != CS_OK ||
            (pin && cs_state_reader_pin(s->reader, err) != CS_OK)) {
            cs_state_reader_close(s->reader);
            s->reader = NULL;
            s->reader_failed = 1;
            return -2;
        }
    }
    return s->reader ? cs_state_lookup(s->reader, path, m, blob) : 0;
}

static int claim_unchanged(void *ud, const char *path, const struct stat *st)
{
    cs_pipeline *p = ud;
    if (atomic_load(&p->e->stop))
        return -1;
    cs_meta meta;
    cs_meta_from_stat(st, &meta);
    char *blob = NULL;
    cs_error ignored; /* a store that cannot be read: the worker's lookup says so */
    if (store_lookup(p->walker, path, &meta, &blob, 1, &ignored) <= 0)
        return 0; /* new, changed, damaged: opened and read */
    atomic_fetch_add(&p->outstanding, 1);
    cs_job *j = job_new();
    j->path = cs_strdup(path);
    j->display_path = j->path;
    j->meta = meta;
    j->from_store = 1;
    j->stored = blob;
    run_job(p->walker, j);
    return 1;
}

static void *walker_main(void *arg)
{
    cs_pipeline *p = arg;
    if (p->e->cfg.low_priority)
        lower_priority();
    /* memory running out while jobs are made ends the sweep loudly (the
     * open directories of the walk are left to the process's end) */
    cs_guard g;
    cs_guard_enter(&g);
    if (sigsetjmp(g.jb, 1) == 0) {
        for (size_t i = 0; i < p->n_targets; i++)
            walk_root(p->e, p->targets[i], on_walk_entry, p->walker ? claim_unchanged : NULL, p);
    } else {
        /* a job half made is never delivered, so the count of outer files
         * would never reach 0: end the sweep when the queue is drained */
        atomic_store(&p->lost, 1);
        cs_queue_close(&p->work);
    }
    cs_guard_leave(&g);
    if (p->walker)
        flush_held(p->walker);
    outstanding_done(p);
    return NULL;
}

/* ---- results ---- */

static void set_error(cs_job *j, const char *what, const char *detail)
{
    cs_buf b = {0};
    cs_buf_printf(&b, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    j->result.kind = CS_RECORD_ERROR;
    j->result.error = cs_arena_strdup(&j->arena, b.data);
    cs_buf_free(&b);
}

static int by_reason_score(const void *a, const void *b)
{
    const cs_reason *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

/* Combined score and level of r's reasons (sorted highest first). */
static void score_result(const cs_config *cfg, cs_result *r)
{
    int sub[64] = {0};
    size_t n = r->n_reasons < 64 ? r->n_reasons : 64;
    for (size_t i = 0; i < n; i++)
        sub[i] = r->reasons[i].score;
    r->score = cs_score_combine(sub, n);
    r->level = n ? cs_score_level(cfg, r->score, r->reasons[0].score) : CS_LEVEL_NONE;
}

static void run_detectors(cs_scanner *s, cs_job *j, cs_file *f)
{
    cs_engine *e = s->e;
    for (size_t d = 0; d < cs_detector_count && !j->findings.suppressed; d++) {
        const cs_detector_ops *ops = cs_detectors[d];
        if (!s->ts[d] || (ops->needs_content && !f->data) || (ops->content_capped && f->content_scan_skipped))
            continue;
        cs_error err = {0};
        j->findings.suppress_only = s->suppress_only[d];
        cs_status rc = ops->scan(e->det[d], s->ts[d], f, &j->findings, &err);
        j->findings.suppress_only = 0;
        if (rc != CS_OK) {
            cs_buf b = {0};
            cs_buf_printf(&b, "%s: %s", ops->name, err.message);
            j->findings.warning = cs_arena_strdup(&j->arena, b.data);
            cs_buf_free(&b);
        }
    }
}

/* Inventory: what the file says it is, its signature and signer (when the
 * Authenticode layer runs), and the SHA-256 every inventory row carries. */
static void describe_product(cs_scanner *s, cs_job *j, cs_file *f)
{
    cs_result *r = &j->result;
    const cs_product *p = cs_file_product(f);
    if (!p)
        return;
    r->product = cs_arena_memdup(&j->arena, p, sizeof *p);
    const cs_ac_report *sig = s->products_signed ? cs_file_signature(f, NULL) : NULL;
    const cs_mc_report *mc = s->products_signed && !sig ? cs_file_codesign(f, NULL) : NULL;
    if (sig) {
        const cs_ac_cert *signer = cs_ac_primary_signer(sig);
        r->signature = cs_ac_verdict_id(sig->verdict);
        r->signer = signer ? cs_arena_strdup(&j->arena, signer->subject) : NULL;
    } else if (mc) { /* a bundle's Mach-O: its code signature, the first signed slice's signer */
        r->signature = cs_mc_verdict_id(mc->verdict);
        for (size_t i = 0; i < mc->n_slices && !r->signer; i++)
            if (mc->slices[i].has_signer) {
                r->signer = cs_arena_strdup(&j->arena, mc->slices[i].signer.subject);
                if (mc->slices[i].signer_team[0])
                    r->team_id = cs_arena_strdup(&j->arena, mc->slices[i].signer_team);
            }
    }
    r->has_sha256 = !!(f->hashes & CS_HASH_SHA256); /* hashed by finish_result */
    memcpy(r->sha256, f->sha256, sizeof r->sha256);
    if (f->hashes & CS_HASH_TLSH)
        memcpy(r->tlsh, f->tlsh, sizeof r->tlsh);
}

static void copy_hashes(cs_result *r, const cs_file *f)
{
    r->has_md5 = !!(f->hashes & CS_HASH_MD5);
    r->has_sha1 = !!(f->hashes & CS_HASH_SHA1);
    r->has_sha256 = !!(f->hashes & CS_HASH_SHA256);
    memcpy(r->md5, f->md5, sizeof r->md5);
    memcpy(r->sha1, f->sha1, sizeof r->sha1);
    memcpy(r->sha256, f->sha256, sizeof r->sha256);
    if (f->hashes & CS_HASH_TLSH)
        memcpy(r->tlsh, f->tlsh, sizeof r->tlsh);
}

static void finish_result(cs_scanner *s, cs_job *j, cs_file *f, int has_members)
{
    cs_result *r = &j->result;
    cs_findings *fs = &j->findings;
    const cs_config *cfg = &s->e->cfg;
    if (fs->suppressed) {
        r->kind = CS_RECORD_SKIPPED;
        r->skip = CS_SKIP_KNOWN_GOOD;
        fs->n = 0;
    }
    if (fs->warning && !r->error)
        r->error = fs->warning;
    int products = cfg->products && r->kind == CS_RECORD_FILE;
    if (products) {
        cs_file_product(f); /* read once; malformed data sets product_error */
        if (f->product_error && !r->error)
            r->error = f->product_error; /* before cacheable: a partial read is not stored */
    }
    /* an outer file, containers included (their members' records are kept
     * with it; finalize drops it when a member could not be read) */
    j->cacheable = j->depth == 0 && !r->error && (r->kind == CS_RECORD_FILE || r->skip == CS_SKIP_KNOWN_GOOD);
    /* every digest this record still needs, in one pass over the bytes: all
     * three for a finding or a container (it gets a finding when a member
     * has one), SHA-256 for the state store and inventory rows */
    unsigned need = fs->n || has_members ? CS_HASH_ALL | CS_HASH_TLSH : 0;
    if ((s->p && s->p->state && j->cacheable) || (products && cs_file_product(f)))
        need |= CS_HASH_SHA256;
    if (products && cs_file_product(f))
        need |= CS_HASH_TLSH; /* inventory rows carry it for later similarity */
    cs_file_hash(f, need);
    if (products)
        describe_product(s, j, f);
    if (j->cacheable) {
        j->has_sha256 = !!(f->hashes & CS_HASH_SHA256);
        memcpy(j->sha256, f->sha256, sizeof j->sha256);
    }
    if (fs->n == 0 && !has_members)
        return;
    copy_hashes(r, f);
    if (fs->n == 0)
        return;
    const cs_pe *pe = cs_file_pe(f);
    const char *imphash = cs_file_imphash(f);
    snprintf(r->imphash, sizeof r->imphash, "%s", imphash ? imphash : "");
    const unsigned char *ah = pe ? cs_file_authentihash(f) : NULL;
    if (ah)
        cs_hex(r->authentihash, ah, 32);
    if (!pe || cs_pe_rich_hash(pe, r->rich_hash) != 0)
        r->rich_hash[0] = '\0';
    /* a product a detector already read (advisories) goes with the finding */
    if (!r->product && f->product_state == 1)
        r->product = cs_arena_memdup(&j->arena, &f->product, sizeof f->product);
}

/* The reasons, score and level; a container adds one reason for the worst
 * of its members (the installer is what a responder deletes). */
static void finalize(cs_scanner *s, cs_job *j)
{
    cs_result *r = &j->result;
    cs_findings *fs = &j->findings;
    if (r->cached) /* re-reported from the store: reasons and counts are there */
        return;
    r->members_read = j->members_read;
    if (j->interrupted) {
        j->cacheable = 0;
        if (!r->error && r->kind == CS_RECORD_FILE)
            r->error = "interrupted before all its members were read";
    }
    if (j->host_dependent) /* a later sweep, perhaps with the library, tries again */
        j->cacheable = 0;
    if (j->incomplete) {
        j->cacheable = 0;
        if (!r->error && r->kind == CS_RECORD_FILE) {
            cs_buf b = {0};
            cs_buf_printf(&b, "%d member%s not read completely (see %s records)", j->incomplete,
                          j->incomplete == 1 ? "" : "s", j->incomplete == 1 ? "its" : "their");
            r->error = cs_arena_strdup(&j->arena, b.data);
            cs_buf_free(&b);
        }
    }
    if (j->worst >= CS_LEVEL_NOTICE && r->kind == CS_RECORD_FILE) {
        cs_buf b = {0};
        cs_buf_printf(&b, "contains %llu member%s with findings; the worst (%s, score %d): %s",
                      (unsigned long long)j->members_flagged, j->members_flagged == 1 ? "" : "s",
                      cs_level_name(j->worst), j->worst_score, j->worst_path ? j->worst_path : "?");
        static const char *const rules[] = {"member", "member_notice", "member_warning", "member_alert"};
        cs_findings_add(fs, "contains", rules[j->worst], cs_arena_strdup(&j->arena, b.data), j->worst_score);
        cs_buf_free(&b);
    }
    if (fs->n) {
        qsort(fs->reasons, fs->n, sizeof *fs->reasons, by_reason_score);
        r->reasons = fs->reasons;
        r->n_reasons = fs->n;
        score_result(&s->e->cfg, r);
    }
}

/* Stop reading: the result callback said so, or cs_scan_stop (an interrupt). */
static int stopping(const cs_scanner *s)
{
    return atomic_load(&s->cancelled) || atomic_load(&s->e->stop) || atomic_load(&s->e->compile_failed);
}

static cs_status scanner_attach(cs_scanner *s, cs_error *err);

/* The detectors, compiled (lazily on a rescan) and with this thread's
 * states; on failure the sweep stops and says why. */
static int scanner_ready(cs_scanner *s)
{
    if (s->attached)
        return 1;
    cs_error err = {0};
    if (cs_engine_compile(s->e, &err) == CS_OK && scanner_attach(s, &err) == CS_OK)
        return 1;
    cs_engine_fail(s->e, &err);
    return 0;
}

/* The held records to the collector; their outer files are then delivered. */
static void flush_held(cs_scanner *s)
{
    if (!s->n_held)
        return;
    size_t outer = 0;
    for (size_t i = 0; i < s->n_held; i++)
        outer += !s->held[i]->parent;
    /* taken by the collector, or the sweep ended early (memory ran out) and
     * nobody collects them: then they are left, not freed, as deliver leaves
     * a job the queue refuses (a container among them may be the parent of
     * a member the collector already holds) */
    cs_queue_push_many(&s->p->results, (void *const *)s->held, s->n_held);
    s->n_held = 0;
    while (outer--)
        outstanding_done(s->p);
}

static void deliver(cs_scanner *s, cs_job *j)
{
    if (j->abandoned) { /* no record for what was never read */
        int outer = !j->parent;
        job_free(j);
        if (outer && s->p)
            outstanding_done(s->p);
        return;
    }
    if (s->p && s->batches) {
        s->held[s->n_held++] = j;
        if (s->n_held == sizeof s->held / sizeof *s->held)
            flush_held(s);
        return;
    }
    if (s->p) {
        int outer = !j->parent;
        cs_queue_push(&s->p->results, j); /* j belongs to the collector from here */
        if (outer)
            outstanding_done(s->p);
        return;
    }
    if (s->cb && !atomic_load(&s->cancelled) && s->cb(&j->result, s->ud) != 0)
        atomic_store(&s->cancelled, 1);
    job_free(j);
}

/* The job and all its members are done: deliver it, then tell its container. */
static void complete(cs_scanner *s, cs_job *j)
{
    while (j && atomic_fetch_sub(&j->pending, 1) == 1) {
        cs_job *parent = j->parent;
        finalize(s, j);
        if (parent) {
            const cs_result *r = &j->result;
            /* allocated before the lock (running out of memory jumps away), and
             * only for a member with findings, the only kind that can be the worst */
            int flagged = !j->abandoned && (r->level > CS_LEVEL_NONE || j->worst > CS_LEVEL_NONE);
            char *dp_copy = flagged ? cs_strdup(r->level >= j->worst ? j->display_path : j->worst_path) : NULL;
            pthread_mutex_lock(&parent->mu);
            if (j->abandoned) {
                parent->interrupted = 1;
                pthread_mutex_unlock(&parent->mu);
                deliver(s, j);
                j = parent;
                continue;
            }
            parent->members_read += 1 + j->members_read;
            parent->members_flagged += j->members_flagged + (r->level >= CS_LEVEL_NOTICE);
            parent->incomplete += j->incomplete + (r->kind == CS_RECORD_ERROR || r->error);
            parent->host_dependent |= j->host_dependent;
            /* the worst member: by level, then score; the deepest one named */
            cs_level lv = r->level > j->worst ? r->level : j->worst;
            int sc = r->level >= j->worst ? r->score : j->worst_score;
            char *old_path = NULL;
            if (lv > parent->worst || (lv == parent->worst && lv != CS_LEVEL_NONE && sc > parent->worst_score)) {
                parent->worst = lv;
                parent->worst_score = sc;
                old_path = parent->worst_path;
                parent->worst_path = dp_copy;
                dp_copy = NULL;
            }
            pthread_mutex_unlock(&parent->mu);
            free(old_path);
            free(dp_copy);
        }
        deliver(s, j);
        j = parent;
    }
}

/* ---- unpacking ---- */

struct cs_unpack_ctx {
    cs_scanner *s;
    const cs_unpacker_ops *ops;
    cs_job *parent;
    cs_file *f;
    const char *format;
    uint64_t members;          /* announced in this container */
    uint64_t bytes;            /* unpacked from this container */
    int stopped;               /* a container-level limit was hit */
    char **links;              /* names of its link members, for paths that run through them */
    size_t n_links, links_cap;
};

static void process(cs_scanner *s, cs_job *j);

int cs_unpack_more(cs_unpack_ctx *c)
{
    if (stopping(c->s)) {
        pthread_mutex_lock(&c->parent->mu);
        c->parent->interrupted = 1; /* its record says it was not read to the end */
        pthread_mutex_unlock(&c->parent->mu);
    }
    return !c->stopped && !stopping(c->s);
}

const cs_config *cs_unpack_config(const cs_unpack_ctx *c)
{
    return &c->s->e->cfg;
}

void cs_unpack_set_format(cs_unpack_ctx *c, const char *format)
{
    c->format = format;
    c->parent->result.container = format;
}

static int by_key(const void *k, const void *e)
{
    return strcmp(k, *(const char *const *)e);
}

const char *cs_unpack_name(const cs_unpack_ctx *c, const char *stored)
{
    const cs_name_map *m = &c->parent->names;
    if (!m->n)
        return stored;
    const char *const *hit = bsearch(stored, m->keys, m->n, sizeof *m->keys, by_key);
    return hit ? m->names[hit - m->keys] : stored;
}

void cs_unpack_fail(cs_unpack_ctx *c, const char *why)
{
    cs_job *p = c->parent;
    if (!p->result.note)
        p->result.note = cs_arena_strdup(&p->arena, why);
}

void cs_unpack_unavailable(cs_unpack_ctx *c, const char *why)
{
    cs_job *p = c->parent;
    cs_buf b = {0};
    cs_buf_printf(&b, "not unpacked: %s", why);
    cs_unpack_fail(c, b.data);
    cs_buf_free(&b);
    pthread_mutex_lock(&p->mu); /* its members' workers update it too */
    p->host_dependent = 1;
    pthread_mutex_unlock(&p->mu);
}

/* A member name in a display path: '%' and '!' and control bytes as %XX,
 * so "!/" only ever separates levels. */
static void append_member_name(cs_buf *b, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '%' || *p == '!' || *p < 0x20 || *p == 0x7f)
            cs_buf_printf(b, "%%%02X", *p);
        else
            cs_buf_append(b, p, 1);
    }
}

/* A member name that would write outside the directory it is extracted
 * to (Zip Slip): absolute, with a ".." component (either separator), or
 * running through a link member of the same container. NULL when safe. */
static const char *unsafe_name(const cs_unpack_ctx *c, const char *name, const char **rule)
{
    if (name[0] == '/' || name[0] == '\\' || (name[0] && name[1] == ':' && (name[2] == '\\' || name[2] == '/'))) {
        *rule = "absolute_member_name";
        return "member name is an absolute path: extracting it writes wherever it says";
    }
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            *rule = "path_traversal_member_name";
            return "member name climbs out of the archive with '..' (Zip Slip path traversal)";
        }
        p += n;
        if (*p)
            p++;
    }
    for (size_t i = 0; i < c->n_links; i++) {
        size_t n = strlen(c->links[i]);
        if (strncmp(name, c->links[i], n) == 0 && (name[n] == '/' || name[n] == '\\')) {
            *rule = "member_through_link";
            return "member path runs through a link member of the same archive: extracting it writes where the link points";
        }
    }
    return NULL;
}

static cs_job *member_job(cs_unpack_ctx *c, const cs_member_info *m)
{
    cs_job *p = c->parent;
    cs_job *j = job_new();
    j->parent = p;
    j->tree = p->tree;
    atomic_fetch_add(&p->tree->refs, 1);
    j->path = p->path;
    j->depth = p->depth + 1;
    j->chain = cs_arena_alloc(&j->arena, j->depth * sizeof *j->chain);
    if (p->depth)
        memcpy(j->chain, p->chain, p->depth * sizeof *j->chain);
    const char *name = cs_arena_strdup(&j->arena, m->name);
    j->chain[p->depth] = (cs_member){name, "UNKNOWN"};
    const char *slash = strrchr(name, '/'), *bslash = strrchr(name, '\\');
    if (bslash && (!slash || bslash > slash))
        slash = bslash;
    j->member_name = slash && slash[1] ? slash + 1 : name;
    cs_buf b = {0};
    cs_buf_puts(&b, p->display_path);
    cs_buf_puts(&b, "!/");
    append_member_name(&b, name);
    j->display_path = cs_arena_strdup(&j->arena, b.data);
    cs_buf_free(&b);
    if (m->names && m->names->n) { /* the member is a container with better names for its entries */
        size_t n = m->names->n;
        const char **k = cs_arena_alloc(&j->arena, n * sizeof *k), **v = cs_arena_alloc(&j->arena, n * sizeof *v);
        for (size_t i = 0; i < n; i++) {
            k[i] = cs_arena_strdup(&j->arena, m->names->keys[i]);
            v[i] = cs_arena_strdup(&j->arena, m->names->names[i]);
        }
        j->names = (cs_name_map){n, k, v};
    }
    if (m->integrity) {
        cs_integrity *in = cs_arena_memdup(&j->arena, m->integrity, sizeof *in);
        in->origin = cs_arena_strdup(&j->arena, m->integrity->origin);
        if (in->n_blocks)
            in->blocks = cs_arena_memdup(&j->arena, m->integrity->blocks, in->n_blocks * sizeof *in->blocks);
        j->integrity = in;
    }
    j->result.size = m->size == UINT64_MAX ? 0 : m->size;
    j->findings.arena = &j->arena;
    const char *rule, *why = unsafe_name(c, name, &rule);
    if (why)
        cs_findings_add(&j->findings, "unpack", rule, why, strcmp(rule, "absolute_member_name") == 0 ? 50 : 60);
    atomic_fetch_add(&p->pending, 1);
    return j;
}

/* A member that is not read: its record says why. */
static void skip_member(cs_unpack_ctx *c, const cs_member_info *m, cs_skip_reason why, const char *detail)
{
    cs_job *j = member_job(c, m);
    j->skip = why;
    if (detail)
        j->result.note = cs_arena_strdup(&j->arena, detail);
    process(c->s, j);
}

void cs_unpack_skip(cs_unpack_ctx *c, const cs_member_info *m, cs_skip_reason why, const char *detail)
{
    if (why == CS_SKIP_LINK_MEMBER) {
        cs_grow((void **)&c->links, &c->links_cap, c->n_links + 1, sizeof *c->links);
        c->links[c->n_links++] = cs_strdup(m->name);
    }
    skip_member(c, m, why, detail);
}

/* Container-level limits, checked before each member and while it is read;
 * on a hit the member is a skipped record and the container stops. */
static int over_limit(cs_unpack_ctx *c, const cs_member_info *m, uint64_t member_bytes, cs_skip_reason *why,
                      cs_buf *detail)
{
    const cs_config *cfg = &c->s->e->cfg;
    cs_tree *t = c->parent->tree;
    uint64_t total = atomic_load(&t->bytes);
    if (cfg->max_unpack_time && now_seconds() - t->start > cfg->max_unpack_time) {
        *why = CS_SKIP_UNPACK_TIME;
        cs_buf_printf(detail, "unpacking this file took more than %u s (--max-unpack-time); later members not read",
                      cfg->max_unpack_time);
        return 1;
    }
    if (total > cfg->max_unpack_total) {
        *why = CS_SKIP_UNPACK_TOTAL;
        cs_buf_printf(detail, "more than %llu bytes unpacked from this file (--max-unpack-total); later members not read",
                      (unsigned long long)cfg->max_unpack_total);
        return 1;
    }
    uint64_t declared = m->size == UINT64_MAX ? 0 : m->size;
    if (member_bytes > cfg->max_member_size || declared > cfg->max_member_size) {
        *why = CS_SKIP_TOO_LARGE;
        cs_buf_printf(detail, "member larger than %llu bytes (--max-member-size)",
                      (unsigned long long)cfg->max_member_size);
        return 1;
    }
    /* a bomb: far more bytes out of this container than it holds */
    uint64_t packed = c->f->size > 1 ? c->f->size : 1;
    if (cfg->max_ratio && c->bytes > (16u << 20) && c->bytes / packed > cfg->max_ratio) {
        *why = CS_SKIP_RATIO;
        cs_buf_printf(detail, "%llu bytes unpacked from a %llu-byte container: ratio over %u (--max-ratio); later members not read",
                      (unsigned long long)c->bytes, (unsigned long long)c->f->size, cfg->max_ratio);
        return 1;
    }
    return 0;
}

/* Admit a member: the count and the limits before its bytes are read. */
static int admit(cs_unpack_ctx *c, const cs_member_info *m)
{
    const cs_config *cfg = &c->s->e->cfg;
    cs_skip_reason why;
    cs_buf d = {0};
    int ok = 1;
    if (++c->members > cfg->max_members) {
        cs_buf_printf(&d, "more than %llu members in this container (--max-members); later members not read",
                      (unsigned long long)cfg->max_members);
        skip_member(c, m, CS_SKIP_MEMBERS, d.data);
        c->stopped = 1;
        ok = 0;
    } else if (over_limit(c, m, 0, &why, &d)) {
        skip_member(c, m, why, d.data);
        c->stopped = why != CS_SKIP_TOO_LARGE;
        ok = 0;
    }
    cs_buf_free(&d);
    return ok;
}

/* A member of a container whose unpacker can read members by name gets a
 * source that opens related objects (a bundle's ../Info.plist) in it; the
 * bare source when that cannot be had. */
static cs_source *with_container(cs_unpack_ctx *c, const cs_member_info *m, cs_source *src)
{
    cs_source *wrapped;
    if (!c->ops->extract)
        return src;
    cs_source_ref(src); /* kept when wrapping fails (it takes src over) */
    if (cs_source_member(src, c->f->src, m->name, c->ops->extract, &wrapped, NULL) != CS_OK)
        return src;
    cs_source_unref(src);
    return wrapped;
}

/* Hand a member to another worker when there is room, else scan it here. */
static void dispatch(cs_unpack_ctx *c, cs_job *j)
{
    cs_pipeline *p = c->s->p;
    uint64_t size = j->src ? j->src->meta.size : 0;
    if (p && atomic_load(&p->inflight) + size <= INFLIGHT_BUDGET) {
        j->inflight = size;
        atomic_fetch_add(&p->inflight, size);
        if (cs_queue_try_push(&p->work, j))
            return;
        atomic_fetch_sub(&p->inflight, size);
        j->inflight = 0;
    }
    process(c->s, j);
}

void cs_unpack_range(cs_unpack_ctx *c, const cs_member_info *m, uint64_t off, uint64_t len)
{
    if (!admit(c, m))
        return;
    cs_error err = {0};
    cs_source *src;
    if (cs_source_range(c->f->src, off, len, &src, &err) != CS_OK) {
        skip_member(c, m, CS_SKIP_NOT_UNPACKED, err.message);
        return;
    }
    atomic_fetch_add(&c->parent->tree->bytes, len);
    c->bytes += len;
    cs_job *j = member_job(c, m);
    j->src = with_container(c, m, src);
    dispatch(c, j);
}

void cs_unpack_stream(cs_unpack_ctx *c, const cs_member_info *m, cs_member_read_fn read, void *rd)
{
    if (!admit(c, m))
        return;
    cs_error err = {0};
    cs_source *src;
    if (cs_source_buffer(MEMBER_SPILL, c->s->e->cfg.tmpdir, &src, &err) != CS_OK) {
        skip_member(c, m, CS_SKIP_NOT_UNPACKED, err.message);
        return;
    }
    cs_tree *t = c->parent->tree;
    const char *warning = NULL;
    for (;;) {
        const void *block = NULL;
        const char *why = NULL;
        long n = read(rd, &block, &why);
        if (n == 0) {
            warning = why;
            break;
        }
        cs_skip_reason limit;
        cs_buf d = {0};
        if (n < 0) {
            cs_buf_printf(&d, "not unpacked: %s", why ? why : "read error");
            skip_member(c, m, CS_SKIP_NOT_UNPACKED, d.data);
        } else if (cs_source_write(src, block, (size_t)n, &err) != CS_OK) {
            cs_buf_printf(&d, "not unpacked: %s", err.message);
            skip_member(c, m, CS_SKIP_NOT_UNPACKED, d.data);
            /* (the member's own record counts it as not read completely) */
        } else {
            atomic_fetch_add(&t->bytes, (uint64_t)n);
            c->bytes += (uint64_t)n;
            if (!over_limit(c, m, src->meta.size, &limit, &d)) {
                cs_buf_free(&d);
                continue;
            }
            skip_member(c, m, limit, d.data);
            c->stopped = limit != CS_SKIP_TOO_LARGE;
        }
        cs_buf_free(&d);
        cs_source_unref(src);
        return;
    }
    cs_job *j = member_job(c, m);
    j->src = with_container(c, m, src);
    if (warning) {
        cs_buf d = {0};
        cs_buf_printf(&d, "damaged member: %s", warning);
        j->findings.warning = cs_arena_strdup(&j->arena, d.data);
        cs_buf_free(&d);
    }
    dispatch(c, j);
}

/* Expand a container: the first unpacker that claims the view announces
 * its members. Returns the number of members announced. */
static uint64_t expand(cs_scanner *s, cs_job *j, cs_file *f)
{
    const cs_config *cfg = &s->e->cfg;
    for (size_t u = 0; u < cs_unpacker_count; u++) {
        const char *format = cs_unpackers[u]->claims(f);
        if (!format)
            continue;
        j->result.container = format;
        cs_unpack_ctx c = {s, cs_unpackers[u], j, f, format, 0, 0, 0, NULL, 0, 0};
        if (j->depth >= cfg->max_unpack_depth) {
            cs_member_info mi = {"*", UINT64_MAX, 0, 0, NULL, NULL};
            cs_buf d = {0};
            cs_buf_printf(&d, "a %s at depth %u: not unpacked (--max-unpack-depth %u)", format, j->depth,
                          cfg->max_unpack_depth);
            skip_member(&c, &mi, CS_SKIP_UNPACK_DEPTH, d.data);
            cs_buf_free(&d);
            return 1;
        }
        cs_error err = {0};
        if (cs_unpackers[u]->iterate(f, format, &c, &err) != CS_OK)
            cs_unpack_fail(&c, err.message);
        for (size_t i = 0; i < c.n_links; i++)
            free(c.links[i]);
        free(c.links);
        return c.members;
    }
    return 0;
}

/* ---- one job ---- */

/* Said of a file whose store entry failed its checksum; about this sweep
 * only, so it is never stored itself. */
static const char store_damaged_note[] = "its state store entry failed its checksum (damaged): read again";

/* The member records kept with a container in the store, delivered again
 * before it. */
static void replay_members(cs_scanner *s, cs_job *root, const char *blob)
{
    size_t n = 0;
    char **members = cs_blob_members(blob, &n);
    for (size_t i = 0; i < n; i++) {
        cs_job *m = job_new();
        cs_result *r = &m->result;
        m->parent = root;
        m->path = root->path;
        r->kind = CS_RECORD_FILE;
        r->cached = 1;
        if (cs_result_from_blob(members[i], &m->arena, r) != 0 || !r->n_members) {
            r->kind = CS_RECORD_ERROR;
            r->error = "state store entry unreadable; rescan with a new state file";
        }
        r->path = root->path;
        m->depth = (unsigned)r->n_members;
        score_result(&s->e->cfg, r);
        atomic_fetch_add(&root->pending, 1);
        complete(s, m);
        free(members[i]);
    }
    free(members);
}

/* Open an outer file's source, or re-report it from the state store. 0: go
 * on and scan it; 1: its record is complete. */
static int acquire(cs_scanner *s, cs_job *j)
{
    cs_result *r = &j->result;
    cs_error err = {0};
    if (j->fd < 0 && !j->from_store)
        return 0; /* a member: its source came with it */
    char *blob = NULL;
    int found;
    if (j->from_store) { /* the walker looked it up */
        blob = j->stored;
        j->stored = NULL;
        found = 1;
    } else {
        int fd = j->fd, dirfd = j->dirfd;
        j->fd = j->dirfd = -1;
        if (cs_source_file(fd, dirfd, &j->src, &err) != CS_OK) {
            if (err.code == CS_ERR_ARG) { /* swapped for something else since the walk */
                r->kind = CS_RECORD_SKIPPED;
                r->skip = CS_SKIP_NOT_REGULAR;
            } else {
                set_error(j, err.message, NULL);
            }
            return 1;
        }
        j->meta = j->src->meta;
        found = s->state ? store_lookup(s, j->path, &j->meta, &blob, 0, &err) : 0;
        if (found == -2) { /* no connection: read as if the store had no row, and say why */
            r->note = cs_arena_strdup(&j->arena, err.message);
            found = 0;
        }
        if (found == -1) /* read again, and say why: the store had been damaged */
            r->note = store_damaged_note;
    }
    r->size = j->meta.size;
    r->mtime = j->meta.mtime;
    if (found > 0) {
        /* unchanged since the last sweep with these rules: re-report it and
         * the members kept with it */
        r->kind = CS_RECORD_FILE;
        r->cached = 1;
        if (blob && cs_result_from_blob(blob, &j->arena, r) != 0)
            r->error = "state store entry unreadable; rescan with a new state file";
        if (r->skip == CS_SKIP_KNOWN_GOOD)
            r->kind = CS_RECORD_SKIPPED;
        score_result(&s->e->cfg, r);
        if (blob)
            replay_members(s, j, blob);
        free(blob);
        return 1;
    }
    return 0;
}

/* Scan a view and expand it; inside a guard, so that a file shrinking under
 * its mapping or an allocation failing is this job's error alone. */
static void scan_view(cs_scanner *s, cs_job *j)
{
    cs_engine *e = s->e;
    cs_result *r = &j->result;
    cs_file f;
    cs_guard g;
    volatile uint64_t n_members = 0;
    cs_file_init(&f, j->src, j->display_path, j->depth ? j->member_name : NULL, &j->arena);
    f.trust = e->trust && cs_trust_count(e->trust) ? e->trust : NULL;
    f.hashes_wanted = e->hashes_wanted;
    f.depth = j->depth;
    f.chain = j->chain;
    f.integrity = j->integrity;
    if (j->depth) {
        f.parent_type = j->parent->result.container;
        cs_buf b = {0};
        for (unsigned i = 0; i < j->depth; i++) {
            const cs_job *a = j;
            for (unsigned k = j->depth; k > i; k--)
                a = a->parent; /* the container at depth i */
            cs_buf_printf(&b, "%s%s", i ? ">" : "", a->result.container ? a->result.container : "?");
        }
        f.unpack_source = cs_arena_strdup(&j->arena, b.data);
        cs_buf_free(&b);
    }
    cs_guard_enter(&g);
    if (sigsetjmp(g.jb, 1) == 0) {
        cs_error err = {0};
        if (cs_file_map(&f, &e->types, &err) != 0) {
            set_error(j, err.message, NULL);
        } else {
            r->kind = CS_RECORD_FILE;
            r->filetype = f.filetype;
            if (j->depth)
                j->chain[j->depth - 1].type = f.filetype;
            f.content_scan_skipped = f.size > e->cfg.max_size;
            if (f.content_scan_skipped) {
                cs_buf b = {0};
                cs_buf_printf(&b, "larger than --max-size (%llu bytes): not scanned by YARA; every other layer ran",
                              (unsigned long long)e->cfg.max_size);
                r->note = cs_arena_strdup(&j->arena, b.data);
                cs_buf_free(&b);
            }
            run_detectors(s, j, &f);
            if (!e->cfg.no_archives && !j->findings.suppressed)
                n_members = expand(s, j, &f);
            finish_result(s, j, &f, n_members > 0);
        }
    } else {
        /* a jump from the guard: what was computed so far is dropped */
        j->findings.n = 0;
        r->reasons = NULL;
        r->n_reasons = 0;
        r->product = NULL;
        set_error(j, cs_guard_message(g.why), NULL);
    }
    cs_guard_leave(&g);
    cs_file_release(&f);
}

static void process(cs_scanner *s, cs_job *j)
{
    cs_result *r = &j->result;
    j->findings.arena = &j->arena;
    r->path = j->path;
    r->display_path = j->display_path;
    r->members = j->chain;
    r->n_members = j->depth;
    r->filetype = "UNKNOWN";
    if (j->error) {
        r->kind = CS_RECORD_ERROR;
        r->error = j->error;
    } else if (j->skip != CS_SKIP_NONE) {
        r->kind = CS_RECORD_SKIPPED;
        r->skip = j->skip;
        if (r->skip == CS_SKIP_NOT_UNPACKED && !r->error)
            r->error = r->note; /* the reason is the message */
    } else if (stopping(s)) {
        j->abandoned = 1; /* not read yet: dropped, not reported */
    } else if (!acquire(s, j)) {
        if (scanner_ready(s))
            scan_view(s, j);
        else
            j->abandoned = 1; /* the sweep fails with the reason */
    }
    /* the bytes are no longer needed (members that are ranges keep them) */
    cs_source_unref(j->src);
    j->src = NULL;
    complete(s, j);
}

/* ---- scanners and workers ---- */

static void scanner_fini(cs_scanner *s)
{
    cs_state_reader_close(s->reader);
    s->reader = NULL;
    for (size_t d = 0; d < cs_detector_count; d++)
        if (s->ts[d] && cs_detectors[d]->thread_fini)
            cs_detectors[d]->thread_fini(s->e->det[d], s->ts[d]);
    memset(s->ts, 0, sizeof s->ts);
    memset(s->suppress_only, 0, sizeof s->suppress_only);
    s->attached = 0;
}

static cs_status scanner_attach(cs_scanner *s, cs_error *err)
{
    cs_engine *e = s->e;
    for (size_t d = 0; d < cs_detector_count; d++) {
        const cs_detector_ops *ops = cs_detectors[d];
        if (!ops->active(e->det[d]))
            continue;
        if (e->disabled[d]) {
            if (!ops->suppresses || !ops->suppresses(e->det[d]))
                continue;
            s->suppress_only[d] = 1;
        }
        s->ts[d] = ops->thread_init ? ops->thread_init(e->det[d], err) : e->det[d];
        if (!s->ts[d]) {
            for (size_t k = 0; k < d; k++)
                if (s->ts[k] && cs_detectors[k]->thread_fini)
                    cs_detectors[k]->thread_fini(e->det[k], s->ts[k]);
            memset(s->ts, 0, sizeof s->ts);
            memset(s->suppress_only, 0, sizeof s->suppress_only);
            return err && err->code ? err->code : CS_ERR_INTERNAL;
        }
    }
    s->attached = 1;
    return CS_OK;
}

static cs_status scanner_init(cs_scanner *s, cs_engine *e, cs_state *state, cs_error *err)
{
    s->e = e;
    s->products_signed = e->cfg.products && cs_engine_runs_detector(e, "authenticode");
    s->state = state;
    if (!e->compiled) /* a lazy rescan: on the first file the store cannot answer */
        return CS_OK;
    cs_status rc = scanner_attach(s, err);
    if (rc != CS_OK)
        scanner_fini(s);
    return rc;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --cpu-limit: after each file, sleep until this thread's CPU time is at
 * most limit% of the wall time it has been running. */
double cs_throttle_delay(int limit, double cpu, double wall)
{
    if (limit <= 0 || limit >= 100)
        return 0;
    double want_wall = cpu * 100.0 / limit;
    return want_wall > wall ? want_wall - wall : 0;
}

static void throttle(int limit, double start_wall, double start_cpu)
{
    double d = cs_throttle_delay(limit, thread_cpu_seconds() - start_cpu, now_seconds() - start_wall);
    if (d > 0) {
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* One outer file or queued member, inside a guard for allocation failures
 * outside the view's own guard (building the job's records). */
static void run_job(cs_scanner *s, cs_job *j)
{
    if (j->inflight) {
        atomic_fetch_sub(&s->p->inflight, j->inflight);
        j->inflight = 0;
    }
    if (!j->parent && !j->tree)
        j->tree = tree_new();
    process(s, j);
}

static void *worker_main(void *arg)
{
    cs_scanner *w = arg;
    const cs_config *cfg = &w->e->cfg;
    if (cfg->low_priority)
        lower_priority();
    double wall0 = now_seconds(), cpu0 = thread_cpu_seconds();
    cs_job *j;
    /* a file's faults are caught in scan_view; this guard catches memory
     * running out while records are finished or handed on, which would
     * otherwise abort: the scan then fails loudly instead */
    cs_guard g;
    cs_guard_enter(&g);
    while ((j = cs_queue_pop(&w->p->work)) != NULL) {
        if (sigsetjmp(g.jb, 1) == 0) {
            run_job(w, j);
        } else {
            /* a job's outer file may never be delivered: end the sweep
             * when the queue is drained instead of waiting for it */
            atomic_store(&w->p->lost, 1);
            cs_queue_close(&w->p->work);
        }
        if (cfg->cpu_limit > 0 && cfg->cpu_limit < 100)
            throttle(cfg->cpu_limit, wall0, cpu0);
    }
    cs_guard_leave(&g);
    if (atomic_fetch_sub(&w->p->workers_left, 1) == 1)
        cs_queue_close(&w->p->results);
    return NULL;
}

static void count(cs_scan_summary *s, const cs_result *r)
{
    if (r->note)
        s->notes++;
    switch (r->kind) {
    case CS_RECORD_FILE:
        if (r->cached) {
            s->files_cached++;
        } else {
            s->files_scanned++;
            s->bytes_scanned += r->size;
            if (r->n_members)
                s->members_scanned++;
        }
        if (r->error)
            s->errors++;
        break;
    case CS_RECORD_SKIPPED:
        if (r->cached)
            s->files_cached++;
        s->skipped[r->skip]++;
        break;
    case CS_RECORD_ERROR:
        s->errors++;
        break;
    }
    s->by_level[r->level]++;
}

/* The state store: an outer file's row, with the records of its members
 * that say something (findings, skips, notes, products) kept in its blob;
 * clean files are stored without a blob. Members come before their outer
 * file, so their blobs wait in it. */
static cs_status store_record(cs_state *state, cs_job *j, cs_error *err)
{
    const cs_result *r = &j->result;
    int says = r->n_reasons || r->kind == CS_RECORD_SKIPPED || r->note || r->product;
    if (j->depth) {
        cs_job *root = j->parent;
        while (root->parent)
            root = root->parent;
        if (says && !r->cached) {
            char *blob = cs_result_to_blob(r, NULL);
            if (!blob) { /* cannot be recorded: the container is read again next time */
                root->cacheable = 0;
                return CS_OK;
            }
            cs_buf_puts(&root->stored_members, root->stored_members.len ? "," : "[");
            cs_buf_puts(&root->stored_members, blob);
            free(blob);
        }
        return CS_OK;
    }
    if (!j->cacheable)
        return CS_OK;
    if (j->stored_members.len)
        cs_buf_puts(&j->stored_members, "]");
    cs_result stored = *r;
    if (stored.note == store_damaged_note)
        stored.note = NULL;
    says = stored.n_reasons || stored.kind == CS_RECORD_SKIPPED || stored.note || stored.product;
    char *blob = says || j->stored_members.len ? cs_result_to_blob(&stored, j->stored_members.data) : NULL;
    if (!blob && (says || j->stored_members.len))
        return CS_OK; /* a NULL blob would say "clean": not stored, read again next time */
    cs_status rc = cs_state_put(state, j->path, &j->meta, j->has_sha256 ? j->sha256 : NULL, blob, err);
    free(blob);
    return rc;
}

cs_status cs_scan(cs_engine *e, const char *const *targets, size_t n_targets, cs_result_cb cb, void *ud,
                  cs_scan_summary *summary, cs_error *err)
{
    if (!e->prepared)
        return cs_error_set(err, CS_ERR_ARG, "cs_engine_prepare must be called before cs_scan");
    for (size_t i = 0; i < n_targets; i++) {
        struct stat st;
        if (lstat(targets[i], &st) != 0)
            return cs_error_set(err, CS_ERR_ARG, "target %s: %s", targets[i], strerror(errno));
    }
    cs_guard_install();
    cs_scan_summary local;
    if (!summary)
        summary = &local;
    memset(summary, 0, sizeof *summary);
    double t0 = now_seconds();

    cs_state *state = NULL;
    if (e->state_path && cs_state_open(&state, e->state_path, e->fingerprint_hex, err) != CS_OK)
        return err ? err->code : CS_ERR_IO;
    cs_status rc = CS_OK;
    cs_pipeline p;
    memset(&p, 0, sizeof p);
    cs_scanner walker_s; /* the walker's: replays only, no detectors */
    memset(&walker_s, 0, sizeof walker_s);
    unsigned nw = e->cfg.threads ? e->cfg.threads : 1, started = 0;
    cs_scanner *ws = calloc(nw, sizeof *ws);
    if (!ws) {
        rc = cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < nw; i++) {
        if ((rc = scanner_init(&ws[i], e, state, err)) != CS_OK)
            goto fail;
        ws[i].p = &p;
    }
    if (state) {
        walker_s.e = e;
        walker_s.p = &p;
        walker_s.state = state;
        walker_s.batches = 1;
        p.walker = &walker_s;
        /* the store's rows below the targets in one read each, on the
         * connection whose pages its check just read (a failure only leaves
         * the lookups to SQLite, one by one) */
        cs_error ignored;
        cs_state_preload(state, targets, n_targets, PRELOAD_MAX_ROWS, &ignored);
    }
    p.e = e;
    p.targets = targets;
    p.n_targets = n_targets;
    p.state = state;
    atomic_init(&p.workers_left, nw);
    atomic_init(&p.inflight, 0);
    atomic_init(&p.lost, 0);
    atomic_init(&p.outstanding, 1); /* the walker's */
    if (cs_queue_init(&p.work, 4 * (size_t)nw + 64) != 0 || cs_queue_init(&p.results, 4 * (size_t)nw + 64) != 0) {
        rc = cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    pthread_t walker;
    for (; started < nw; started++) {
        int en = pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]);
        if (en != 0) {
            rc = cs_error_set(err, CS_ERR_INTERNAL, "cannot start a worker thread: %s", strerror(en));
            break;
        }
    }
    if (rc == CS_OK) {
        int en = pthread_create(&walker, NULL, walker_main, &p);
        if (en != 0)
            rc = cs_error_set(err, CS_ERR_INTERNAL, "cannot start the walker thread: %s", strerror(en));
    }
    if (rc != CS_OK) {
        /* no walker: close the work queue so the workers that started end */
        atomic_fetch_sub(&p.workers_left, nw - started);
        cs_queue_close(&p.work);
        if (started == 0)
            cs_queue_close(&p.results);
    }

    cs_job *j;
    cs_status store_rc = CS_OK;
    cs_error store_err = {0};
    int cancelled = 0;
    while ((j = cs_queue_pop(&p.results)) != NULL) {
        if (!cancelled)
            count(summary, &j->result);
        if (cb && !cancelled && cb(&j->result, ud) != 0) {
            cancelled = 1;
            for (unsigned i = 0; i < nw; i++)
                atomic_store(&ws[i].cancelled, 1); /* the work in flight ends quickly: nothing new is read */
            atomic_store(&walker_s.cancelled, 1);
        }
        if (state && store_rc == CS_OK)
            store_rc = store_record(state, j, &store_err);
        job_free(j);
    }
    if (rc == CS_OK)
        pthread_join(walker, NULL);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    cs_queue_destroy(&p.work);
    cs_queue_destroy(&p.results);
    for (unsigned i = 0; i < nw; i++)
        scanner_fini(&ws[i]);
    free(ws);
    scanner_fini(&walker_s);
    if (state && store_rc == CS_OK && e->compiled) { /* for the next rescan's lazy loading */
        char stats[512];
        cs_load_stats ls;
        cs_engine_load_stats(e, &ls);
        cs_load_stats_format(&ls, stats, sizeof stats);
        store_rc = cs_state_set_stats(state, stats, &store_err);
    }
    if (cs_state_close(state, store_rc == CS_OK ? &store_err : NULL) != CS_OK || store_rc != CS_OK)
        store_rc = cs_error_set(err, CS_ERR_IO, "%s", store_err.message);
    summary->elapsed = now_seconds() - t0;
    if (rc != CS_OK)
        return rc;
    if (atomic_load(&e->compile_failed)) {
        cs_status why = e->compile_rc;
        return cs_error_set(err, why, "%s", e->compile_err.message);
    }
    if (atomic_load(&p.lost))
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory while finishing records: some records are missing");
    if (store_rc == CS_OK && atomic_load(&e->stop)) {
        summary->interrupted = 1;
        return cs_error_set(err, CS_ERR_CANCELLED, "interrupted");
    }
    if (store_rc == CS_OK && cancelled)
        return cs_error_set(err, CS_ERR_CANCELLED, "cancelled by the result callback");
    return store_rc;

fail:
    cs_queue_destroy(&p.work);
    cs_queue_destroy(&p.results);
    if (ws) {
        for (unsigned i = 0; i < nw; i++)
            scanner_fini(&ws[i]);
        free(ws);
    }
    scanner_fini(&walker_s);
    cs_state_close(state, NULL);
    return rc;
}

/* ---- the per-thread scanner ---- */

cs_status cs_scanner_new(cs_engine *e, cs_scanner **out, cs_error *err)
{
    if (!e || !out)
        return cs_error_set(err, CS_ERR_ARG, "cs_scanner_new: NULL argument");
    if (!e->prepared)
        return cs_error_set(err, CS_ERR_ARG, "cs_engine_prepare must be called before cs_scanner_new");
    cs_status crc = cs_engine_compile(e, err); /* a scanner of buffers has no store to answer */
    if (crc != CS_OK)
        return crc;
    cs_guard_install();
    cs_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    cs_status rc = scanner_init(s, e, NULL, err);
    if (rc != CS_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return CS_OK;
}

void cs_scanner_free(cs_scanner *s)
{
    if (!s)
        return;
    scanner_fini(s);
    free(s);
}

/* Run one job tree in this thread; allocation failures while building the
 * jobs themselves become CS_ERR_NOMEM. */
static cs_status scanner_run(cs_scanner *s, cs_job *j, cs_result_cb cb, void *ud, cs_error *err)
{
    s->cb = cb;
    s->ud = ud;
    atomic_store(&s->cancelled, 0);
    cs_guard g;
    cs_guard_enter(&g);
    if (sigsetjmp(g.jb, 1) == 0) {
        run_job(s, j);
    } else {
        cs_guard_leave(&g);
        return cs_error_set(err, CS_ERR_NOMEM, "%s", cs_guard_message(g.why));
    }
    cs_guard_leave(&g);
    if (atomic_load(&s->e->stop))
        return cs_error_set(err, CS_ERR_CANCELLED, "interrupted");
    return atomic_load(&s->cancelled) ? cs_error_set(err, CS_ERR_CANCELLED, "cancelled by the result callback") : CS_OK;
}

typedef struct path_walk {
    cs_scanner *s;
    cs_result_cb cb;
    void *ud;
    cs_status rc;
    cs_error *err;
} path_walk;

static int on_path_entry(void *ud, const cs_walk_entry *ent)
{
    path_walk *w = ud;
    if (w->rc != CS_OK) {
        if (ent->fd >= 0)
            close(ent->fd);
        if (ent->dirfd >= 0)
            close(ent->dirfd);
        return 1;
    }
    w->rc = scanner_run(w->s, job_from_walk(ent), w->cb, w->ud, w->err);
    return w->rc != CS_OK;
}

cs_status cs_scanner_scan_path(cs_scanner *s, const char *path, cs_result_cb cb, void *ud, cs_error *err)
{
    path_walk w = {s, cb, ud, CS_OK, err};
    if (walk_root(s->e, path, on_path_entry, NULL, &w) != 0)
        return cs_error_set(err, CS_ERR_ARG, "target %s: %s", path, strerror(errno));
    return w.rc;
}

static cs_status scan_source(cs_scanner *s, cs_source *src, const char *name, cs_result_cb cb, void *ud,
                             cs_error *err)
{
    cs_job *j = job_new();
    j->path = cs_strdup(name ? name : "[buffer]");
    j->display_path = j->path;
    j->src = src;
    j->meta = src->meta;
    j->result.size = src->meta.size;
    j->result.mtime = src->meta.mtime;
    return scanner_run(s, j, cb, ud, err);
}

cs_status cs_scanner_scan_fd(cs_scanner *s, int fd, const char *name, cs_result_cb cb, void *ud, cs_error *err)
{
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0)
        return cs_error_set(err, CS_ERR_ARG, "bad descriptor: %s", strerror(errno));
    cs_source *src;
    cs_status rc = cs_source_file(own, -1, &src, err);
    if (rc != CS_OK)
        return rc;
    return scan_source(s, src, name, cb, ud, err);
}

cs_status cs_scanner_scan_buffer(cs_scanner *s, const void *data, size_t len, const char *name, cs_result_cb cb,
                                 void *ud, cs_error *err)
{
    cs_source *src;
    cs_status rc = cs_source_memory(data, len, 0, &src, err);
    if (rc != CS_OK)
        return rc;
    return scan_source(s, src, name, cb, ud, err);
}

void cs_scan_stop(cs_engine *e)
{
    atomic_store(&e->stop, 1); /* lock-free: safe in a signal handler */
}
