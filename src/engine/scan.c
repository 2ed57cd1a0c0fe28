/* The scan pipeline: walker thread -> bounded work queue -> N workers ->
 * bounded result queue -> the calling thread, which owns all output. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/queue.h"
#include "store/result_blob.h"
#include "store/state.h"
#include "walk/walk.h"

typedef struct cs_job {
    char *path;
    struct stat st;
    int has_st;
    cs_skip_reason skip;       /* decided by the walker */
    char *error;               /* from the walker */
    cs_arena arena;
    cs_findings findings;
    cs_result result;
    int cacheable;             /* a complete verdict to record in the state store */
    int has_sha256;
    unsigned char sha256[32];
} cs_job;

typedef struct cs_pipeline {
    cs_engine *e;
    const char *const *targets;
    size_t n_targets;
    cs_queue work, results;
    atomic_uint workers_left;
    cs_state *state;           /* incremental sweeps, or NULL */
    int products_signed;       /* inventory rows carry the signature (authenticode runs) */
} cs_pipeline;

typedef struct cs_worker {
    cs_pipeline *p;
    void *ts[CS_MAX_DETECTORS];
    cs_state_reader *reader;
    pthread_t thread;
} cs_worker;

static void job_free(cs_job *j)
{
    free(j->path);
    free(j->error);
    free(j->findings.reasons);
    cs_arena_free(&j->arena);
    free(j);
}

static void on_walk_entry(void *ud, const cs_walk_entry *ent)
{
    cs_pipeline *p = ud;
    cs_job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->path = cs_strdup(ent->path);
    if (ent->st) {
        j->st = *ent->st;
        j->has_st = 1;
    }
    j->skip = ent->skip;
    j->error = cs_strdup(ent->error);
    cs_queue_push(&p->work, j);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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

static void *walker_main(void *arg)
{
    cs_pipeline *p = arg;
    if (p->e->cfg.low_priority)
        lower_priority();
    for (size_t i = 0; i < p->n_targets; i++)
        cs_walk(p->e, p->targets[i], on_walk_entry, p);
    cs_queue_close(&p->work);
    return NULL;
}

static void set_error(cs_job *j, const char *what, int errnum)
{
    cs_buf b = {0};
    cs_buf_printf(&b, "%s: %s", what, strerror(errnum));
    j->result.kind = CS_RECORD_ERROR;
    j->result.error = cs_arena_strdup(&j->arena, b.data);
    cs_buf_free(&b);
}

static void file_init(cs_file *f, const char *path, const struct stat *st)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->path_len = strlen(path);
    const char *slash = strrchr(path, '/');
    f->name = slash ? slash + 1 : path;
    f->dir_len = slash ? (size_t)(slash - path) : 0;
    if (slash == path)
        f->dir_len = 1; /* a file in "/" */
    const char *dot = strrchr(f->name, '.');
    if (dot && dot != f->name && strlen(dot) < sizeof f->ext) {
        size_t i = 0;
        for (; dot[i]; i++)
            f->ext[i] = (char)tolower((unsigned char)dot[i]);
        f->ext[i] = '\0';
    }
    f->st = *st;
    f->filetype = "UNKNOWN";
}

static int by_reason_score(const void *a, const void *b)
{
    const cs_reason *x = a, *y = b;
    return (x->score < y->score) - (x->score > y->score);
}

static void run_detectors(cs_worker *w, cs_job *j, cs_file *f)
{
    cs_engine *e = w->p->e;
    for (size_t d = 0; d < cs_detector_count && !j->findings.suppressed; d++) {
        const cs_detector_ops *ops = cs_detectors[d];
        if (!w->ts[d] || (ops->needs_content && !f->data))
            continue;
        cs_error err = {0};
        if (ops->scan(e->det[d], w->ts[d], f, &j->findings, &err) != CS_OK) {
            cs_buf b = {0};
            cs_buf_printf(&b, "%s: %s", ops->name, err.message);
            j->findings.warning = cs_arena_strdup(&j->arena, b.data);
            cs_buf_free(&b);
        }
    }
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

/* Inventory: what the file says it is, its signature and signer (when the
 * Authenticode layer runs), and the SHA-256 every inventory row carries. */
static void describe_product(cs_worker *w, cs_job *j, cs_file *f)
{
    cs_result *r = &j->result;
    const cs_product *p = cs_file_product(f);
    if (!p)
        return;
    r->product = cs_arena_memdup(&j->arena, p, sizeof *p);
    const cs_ac_report *sig = w->p->products_signed ? cs_file_signature(f, NULL) : NULL;
    if (sig) {
        const cs_ac_cert *signer = cs_ac_primary_signer(sig);
        r->signature = cs_ac_verdict_id(sig->verdict);
        r->signer = signer ? cs_arena_strdup(&j->arena, signer->subject) : NULL;
    }
    r->has_sha256 = !!(f->hashes & CS_HASH_SHA256); /* hashed by finish_result */
    memcpy(r->sha256, f->sha256, sizeof r->sha256);
}

static void finish_result(cs_worker *w, cs_job *j, cs_file *f)
{
    cs_result *r = &j->result;
    cs_findings *fs = &j->findings;
    if (fs->suppressed) {
        r->kind = CS_RECORD_SKIPPED;
        r->skip = CS_SKIP_KNOWN_GOOD;
        fs->n = 0;
    }
    if (fs->warning && !r->error)
        r->error = fs->warning;
    int products = w->p->e->cfg.products && r->kind == CS_RECORD_FILE;
    if (products) {
        cs_file_product(f); /* read once; malformed data sets product_error */
        if (f->product_error && !r->error)
            r->error = f->product_error; /* before cacheable: a partial read is not stored */
    }
    j->cacheable = !r->error && (r->kind == CS_RECORD_FILE || r->skip == CS_SKIP_KNOWN_GOOD);
    /* every digest this record still needs, in one pass over the bytes: all
     * three for a finding, SHA-256 for the state store and inventory rows */
    unsigned need = fs->n ? CS_HASH_ALL : 0;
    if ((w->p->state && j->cacheable) || (products && cs_file_product(f)))
        need |= CS_HASH_SHA256;
    cs_file_hash(f, need);
    if (products)
        describe_product(w, j, f);
    if (w->p->state && j->cacheable) {
        j->has_sha256 = !!(f->hashes & CS_HASH_SHA256);
        memcpy(j->sha256, f->sha256, sizeof j->sha256);
    }
    if (fs->n == 0)
        return;
    qsort(fs->reasons, fs->n, sizeof *fs->reasons, by_reason_score);
    r->reasons = fs->reasons;
    r->n_reasons = fs->n;
    score_result(&w->p->e->cfg, r);
    /* a finding is reported with all its hashes (computed above) */
    r->has_md5 = !!(f->hashes & CS_HASH_MD5);
    r->has_sha1 = !!(f->hashes & CS_HASH_SHA1);
    r->has_sha256 = !!(f->hashes & CS_HASH_SHA256);
    memcpy(r->md5, f->md5, sizeof r->md5);
    memcpy(r->sha1, f->sha1, sizeof r->sha1);
    memcpy(r->sha256, f->sha256, sizeof r->sha256);
    const cs_pe *pe = cs_file_pe(f);
    if (!pe || cs_pe_imphash(pe, r->imphash) != 0)
        r->imphash[0] = '\0';
    /* a product a detector already read (advisories) goes with the finding */
    if (!r->product && f->product_state == 1)
        r->product = cs_arena_memdup(&j->arena, &f->product, sizeof f->product);
}

static void process(cs_worker *w, cs_job *j)
{
    cs_engine *e = w->p->e;
    cs_result *r = &j->result;
    j->findings.arena = &j->arena;
    r->path = j->path;
    r->filetype = "UNKNOWN";
    if (j->has_st) {
        r->size = (uint64_t)j->st.st_size;
        r->mtime = (int64_t)j->st.st_mtime;
    }
    if (j->error) {
        r->kind = CS_RECORD_ERROR;
        r->error = j->error;
        return;
    }
    if (j->skip != CS_SKIP_NONE) {
        r->kind = CS_RECORD_SKIPPED;
        r->skip = j->skip;
        return;
    }

    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int fd = open(j->path, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(j->path, flags); /* O_NOATIME needs ownership */
    if (fd < 0) {
        if (errno == ELOOP) {
            r->kind = CS_RECORD_SKIPPED;
            r->skip = CS_SKIP_SYMLINK;
        } else {
            set_error(j, "cannot open", errno);
        }
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        set_error(j, "cannot stat", errno);
        close(fd);
        return;
    }
    if (!S_ISREG(st.st_mode)) { /* swapped since the walk */
        r->kind = CS_RECORD_SKIPPED;
        r->skip = CS_SKIP_NOT_REGULAR;
        close(fd);
        return;
    }
    r->size = (uint64_t)st.st_size;
    r->mtime = (int64_t)st.st_mtime;
    j->st = st;
    int too_large = (uint64_t)st.st_size > e->cfg.max_size;

    char *blob = NULL;
    if (w->reader && !too_large && cs_state_lookup(w->reader, j->path, &st, &blob)) {
        /* unchanged since the last sweep with these rules: re-report */
        close(fd);
        r->kind = CS_RECORD_FILE;
        r->cached = 1;
        if (blob && cs_result_from_blob(blob, &j->arena, r) != 0)
            r->error = "state store entry unreadable; rescan with a new state file";
        if (r->skip == CS_SKIP_KNOWN_GOOD)
            r->kind = CS_RECORD_SKIPPED;
        score_result(&e->cfg, r);
        free(blob);
        return;
    }

    cs_file f;
    file_init(&f, j->path, &st);
    f.arena = &j->arena;
    f.trust = e->trust && cs_trust_count(e->trust) ? e->trust : NULL;
    void *map = NULL;
    size_t size = (size_t)st.st_size;
    if (!too_large) {
        static const unsigned char empty[1];
        if (size == 0) {
            f.data = empty;
        } else {
            map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (map == MAP_FAILED) {
                set_error(j, "cannot map", errno);
                close(fd);
                return;
            }
            madvise(map, size, MADV_SEQUENTIAL);
            f.data = map;
        }
        f.size = size;
        f.filetype = cs_filetype_detect(&e->types, f.data, f.size);
        r->filetype = f.filetype;
    }
    close(fd); /* the mapping stays valid */

    r->kind = too_large ? CS_RECORD_SKIPPED : CS_RECORD_FILE;
    r->skip = too_large ? CS_SKIP_TOO_LARGE : CS_SKIP_NONE;
    run_detectors(w, j, &f);
    finish_result(w, j, &f);
    cs_file_release(&f);
    if (map)
        munmap(map, size);
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}


/* --cpu-limit: after each file, sleep until this thread's CPU time is at
 * most limit% of the wall time it has been running. */
static void throttle(int limit, double start_wall, double start_cpu)
{
    double cpu = thread_cpu_seconds() - start_cpu, wall = now_seconds() - start_wall;
    double want_wall = cpu * 100.0 / limit;
    if (want_wall > wall) {
        double d = want_wall - wall;
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void *worker_main(void *arg)
{
    cs_worker *w = arg;
    const cs_config *cfg = &w->p->e->cfg;
    if (cfg->low_priority)
        lower_priority();
    double wall0 = now_seconds(), cpu0 = thread_cpu_seconds();
    cs_job *j;
    while ((j = cs_queue_pop(&w->p->work)) != NULL) {
        process(w, j);
        cs_queue_push(&w->p->results, j);
        if (cfg->cpu_limit > 0 && cfg->cpu_limit < 100)
            throttle(cfg->cpu_limit, wall0, cpu0);
    }
    if (atomic_fetch_sub(&w->p->workers_left, 1) == 1)
        cs_queue_close(&w->p->results);
    return NULL;
}

static void workers_fini(cs_engine *e, cs_worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        cs_state_reader_close(ws[i].reader);
        for (size_t d = 0; d < cs_detector_count; d++)
            if (ws[i].ts[d] && cs_detectors[d]->thread_fini)
                cs_detectors[d]->thread_fini(e->det[d], ws[i].ts[d]);
    }
    free(ws);
}


static void count(cs_scan_summary *s, const cs_result *r)
{
    switch (r->kind) {
    case CS_RECORD_FILE:
        if (r->cached) {
            s->files_cached++;
        } else {
            s->files_scanned++;
            s->bytes_scanned += r->size;
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

cs_status cs_scan(cs_engine *e, const char *const *targets, size_t n_targets, cs_result_cb cb,
                  void *ud, cs_scan_summary *summary, cs_error *err)
{
    if (!e->prepared)
        return cs_error_set(err, CS_ERR_ARG, "cs_engine_prepare must be called before cs_scan");
    for (size_t i = 0; i < n_targets; i++) {
        struct stat st;
        if (lstat(targets[i], &st) != 0)
            return cs_error_set(err, CS_ERR_ARG, "target %s: %s", targets[i], strerror(errno));
    }
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
    p.products_signed = e->cfg.products && cs_engine_runs_detector(e, "authenticode");
    unsigned nw = e->cfg.threads ? e->cfg.threads : 1;
    cs_worker *ws = calloc(nw, sizeof *ws);
    if (!ws) {
        rc = cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < nw; i++) {
        if (state && cs_state_reader_open(state, &ws[i].reader, err) != CS_OK) {
            rc = err ? err->code : CS_ERR_IO;
            goto fail;
        }
        for (size_t d = 0; d < cs_detector_count; d++) {
            const cs_detector_ops *ops = cs_detectors[d];
            if (e->disabled[d] || !ops->active(e->det[d]))
                continue;
            ws[i].ts[d] = ops->thread_init ? ops->thread_init(e->det[d], err) : e->det[d];
            if (!ws[i].ts[d]) {
                rc = err ? err->code : CS_ERR_INTERNAL;
                goto fail;
            }
        }
    }
    p.e = e;
    p.targets = targets;
    p.n_targets = n_targets;
    p.state = state;
    atomic_init(&p.workers_left, nw);
    if (cs_queue_init(&p.work, 4 * (size_t)nw + 64) != 0 || cs_queue_init(&p.results, 4 * (size_t)nw + 64) != 0) {
        rc = cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    pthread_t walker;
    pthread_create(&walker, NULL, walker_main, &p);
    for (unsigned i = 0; i < nw; i++) {
        ws[i].p = &p;
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    }

    cs_job *j;
    cs_status store_rc = CS_OK;
    cs_error store_err = {0};
    while ((j = cs_queue_pop(&p.results)) != NULL) {
        count(summary, &j->result);
        if (cb)
            cb(&j->result, ud);
        if (state && j->cacheable && store_rc == CS_OK) {
            const cs_result *r = &j->result;
            /* clean files are stored without a blob, unless the inventory needs their product */
            char *blob = r->n_reasons || r->skip == CS_SKIP_KNOWN_GOOD || r->product ? cs_result_to_blob(r) : NULL;
            store_rc = cs_state_put(state, j->path, &j->st, j->has_sha256 ? j->sha256 : NULL, blob, &store_err);
            free(blob);
        }
        job_free(j);
    }
    pthread_join(walker, NULL);
    for (unsigned i = 0; i < nw; i++)
        pthread_join(ws[i].thread, NULL);
    cs_queue_destroy(&p.work);
    cs_queue_destroy(&p.results);
    workers_fini(e, ws, nw);
    if (cs_state_close(state, store_rc == CS_OK ? &store_err : NULL) != CS_OK || store_rc != CS_OK)
        store_rc = cs_error_set(err, CS_ERR_IO, "%s", store_err.message);
    summary->elapsed = now_seconds() - t0;
    return store_rc;

fail:
    cs_queue_destroy(&p.work);
    cs_queue_destroy(&p.results);
    if (ws)
        workers_fini(e, ws, nw);
    cs_state_close(state, NULL);
    return rc;
}
