#include "store/state.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "util/util.h"

#define STATE_APPLICATION_ID 0x43535750 /* "CSWP" */
#define STATE_SCHEMA 4 /* 2: rows carry the fingerprint of their rules; 3: and a checksum;
                          4: rule sets carry what was loaded (lazy loading on rescans) */
/* rule sets whose rows are kept: sweeps with different packs can share a store */
#define STATE_KEEP_RULESETS 4
#define STATE_BATCH 2000
/* a pinned reader's snapshot is renewed this often, so that the writer's
 * checkpoints can reset the WAL during a long walk */
#define PIN_LOOKUPS 4096

/* A row read ahead (cs_state_preload) */
typedef struct preload_row {
    const char *path;          /* in the preload's arena */
    sqlite3_int64 id[5];       /* dev, ino, size, mtime_ns, ctime_ns */
    const char *result;        /* NULL: clean */
    const unsigned char *sum;  /* NULL when the row has none of 32 bytes */
} preload_row;

/* The rows of the store's rules at or below a sweep's roots: paths below
 * them are answered from memory (open addressing on the path). Read before
 * the sweep writes; read-only after, by any thread. */
typedef struct preload {
    char **roots;              /* without trailing slashes ("/" stays) */
    size_t n_roots;
    uint32_t *root_slots;      /* root index + 1; 0 empty */
    size_t n_root_slots;       /* a power of two */
    preload_row *rows;
    size_t n_rows, cap;
    uint32_t *slots;           /* row index + 1; 0 empty */
    size_t n_slots;            /* a power of two */
    cs_arena arena;
} preload;

struct cs_state {
    sqlite3 *db;
    sqlite3_stmt *put;
    char *path;
    char *fingerprint;
    unsigned pending;
    preload pre;
};

struct cs_state_reader {
    sqlite3 *db;
    sqlite3_stmt *get;
    const char *fingerprint;   /* the store's */
    const preload *pre;        /* the store's read-ahead */
    int pinned;                /* in one read transaction (cs_state_reader_pin) ... */
    unsigned since_pin;        /* ... renewed every PIN_LOOKUPS lookups */
};

static void preload_free(preload *pl);

static cs_status db_error(sqlite3 *db, cs_error *err, const char *what)
{
    return cs_error_set(err, CS_ERR_IO, "state store: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int pragma_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static cs_status create_schema(sqlite3 *db, cs_error *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d;", STATE_APPLICATION_ID,
             STATE_SCHEMA);
    if (exec(db, sql) != SQLITE_OK ||
        exec(db, "CREATE TABLE rulesets(rules TEXT PRIMARY KEY, used INTEGER NOT NULL, stats TEXT);"
                 "CREATE TABLE files(path BLOB NOT NULL, rules TEXT NOT NULL, dev INTEGER, ino INTEGER,"
                 " size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, sha256 BLOB, result TEXT, sum BLOB,"
                 " PRIMARY KEY(path, rules));") != SQLITE_OK)
        return db_error(db, err, "cannot create the schema");
    return CS_OK;
}

static cs_status check_or_init(sqlite3 *db, const char *path, const char *fingerprint, cs_error *err)
{
    long long app = 0, ver = 0, tables = 0;
    /* reading the header is what tells a foreign or corrupt file apart */
    if (pragma_int(db, "PRAGMA application_id", &app) != 0 || pragma_int(db, "PRAGMA user_version", &ver) != 0 ||
        pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables) != 0)
        return cs_error_set(err, CS_ERR_IO, "state store %s: not a readable SQLite database (%s); not touching it",
                            path, sqlite3_errmsg(db));
    if (app == 0 && ver == 0 && tables == 0) {
        cs_status rc = create_schema(db, err);
        if (rc != CS_OK)
            return rc;
    } else if (app != STATE_APPLICATION_ID) {
        return cs_error_set(err, CS_ERR_IO, "state store %s: not a chainsweep state file; not touching it", path);
    } else {
        /* damage anywhere in the file is found before anything is written */
        sqlite3_stmt *q;
        int ok = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL) == SQLITE_OK &&
                 sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) &&
                 strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0;
        sqlite3_finalize(q);
        if (!ok)
            return cs_error_set(err, CS_ERR_IO,
                                "state store %s: damaged (SQLite's integrity check failed); not touching it", path);
        if (ver == 3) { /* the verdicts stay; the rule sets learn their load stats */
            char up[128];
            snprintf(up, sizeof up, "BEGIN; ALTER TABLE rulesets ADD COLUMN stats TEXT; PRAGMA user_version=%d; COMMIT;",
                     STATE_SCHEMA);
            if (exec(db, up) != SQLITE_OK) {
                cs_status rc = db_error(db, err, "cannot upgrade the schema");
                exec(db, "ROLLBACK");
                return rc;
            }
        } else if (ver < STATE_SCHEMA) { /* an older chainsweep's cache of verdicts: rebuilt */
            if (exec(db, "BEGIN; DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS meta;"
                         " DROP TABLE IF EXISTS rulesets;") != SQLITE_OK ||
                create_schema(db, err) != CS_OK || exec(db, "COMMIT") != SQLITE_OK) {
                cs_status rc = db_error(db, err, "cannot upgrade the schema");
                exec(db, "ROLLBACK");
                return rc;
            }
        } else if (ver != STATE_SCHEMA) {
            return cs_error_set(err, CS_ERR_IO, "state store %s: schema %lld, this chainsweep reads %d", path, ver,
                                STATE_SCHEMA);
        }
    }
    /* this rule set is the most recently used; the rows of all but the
     * last few rule sets go. Nothing to write when it already is (a rescan
     * with the same rules then writes only for files that changed). */
    sqlite3_stmt *st;
    cs_status rc = CS_OK;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT used FROM rulesets WHERE rules = ?1) = (SELECT max(used) FROM rulesets)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "cannot read the rules fingerprints");
    sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC);
    int latest = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    if (latest)
        return CS_OK;
    if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO rulesets(rules, used) VALUES(?1, (SELECT coalesce(max(used), 0) + 1 FROM rulesets))"
                           " ON CONFLICT(rules) DO UPDATE SET used = (SELECT max(used) + 1 FROM rulesets)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(db, err, "cannot record the rules fingerprint");
        exec(db, "ROLLBACK"); /* harmless when BEGIN itself failed */
        return rc;
    }
    sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    char sql[256];
    snprintf(sql, sizeof sql,
             "DELETE FROM rulesets WHERE rules NOT IN (SELECT rules FROM rulesets ORDER BY used DESC LIMIT %d);"
             "DELETE FROM files WHERE rules NOT IN (SELECT rules FROM rulesets); COMMIT;",
             STATE_KEEP_RULESETS);
    if (step != SQLITE_DONE || exec(db, sql) != SQLITE_OK) {
        rc = db_error(db, err, "cannot record the rules fingerprint");
        exec(db, "ROLLBACK");
    }
    return rc;
}

/* Refuse what cannot hold a store before the sweep starts: a FIFO, device
 * or directory, a read-only file, a directory where the journal cannot be
 * written. */
static cs_status check_target(const char *path, cs_error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return cs_error_set(err, CS_ERR_ARG, "state store %s: not a regular file", path);
        if (access(path, R_OK | W_OK) != 0)
            return cs_error_set(err, CS_ERR_ARG, "state store %s: %s", path, strerror(errno));
    } else if (errno != ENOENT) {
        return cs_error_set(err, CS_ERR_ARG, "state store %s: %s", path, strerror(errno));
    }
    cs_buf dir = {0};
    const char *slash = strrchr(path, '/');
    if (!slash)
        cs_buf_puts(&dir, ".");
    else
        cs_buf_append(&dir, path, slash == path ? 1 : (size_t)(slash - path));
    int ok = access(dir.data, W_OK | X_OK) == 0;
    int en = errno;
    cs_status rc = ok ? CS_OK
                      : cs_error_set(err, CS_ERR_ARG, "state store %s: its directory %s cannot take the journal: %s",
                                     path, dir.data, strerror(en));
    cs_buf_free(&dir);
    return rc;
}

cs_status cs_state_open(cs_state **out, const char *path, const char *fingerprint, cs_error *err)
{
    cs_state *s = calloc(1, sizeof *s);
    if (!s)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    s->path = cs_strdup(path);
    s->fingerprint = cs_strdup(fingerprint);
    cs_status rc = check_target(path, err);
    if (rc != CS_OK) {
        free(s->path);
        free(s->fingerprint);
        free(s);
        return rc;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = db_error(s->db, err, path);
    } else {
        sqlite3_busy_timeout(s->db, 10000);
        rc = check_or_init(s->db, path, fingerprint, err);
        if (rc == CS_OK && (exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") != SQLITE_OK ||
                            sqlite3_prepare_v2(s->db,
                                               "INSERT OR REPLACE INTO files(path, dev, ino, size, mtime_ns, "
                                               "ctime_ns, sha256, result, rules, sum) VALUES(?,?,?,?,?,?,?,?,?,?)",
                                               -1, &s->put, NULL) != SQLITE_OK))
            rc = db_error(s->db, err, "cannot prepare");
    }
    if (rc != CS_OK) {
        sqlite3_finalize(s->put);
        sqlite3_close(s->db);
        free(s->path);
        free(s->fingerprint);
        free(s);
        return rc;
    }
    *out = s;
    return CS_OK;
}

cs_status cs_state_commit(cs_state *s, cs_error *err)
{
    if (!s->pending)
        return CS_OK;
    s->pending = 0;
    return exec(s->db, "COMMIT") == SQLITE_OK ? CS_OK : db_error(s->db, err, "commit");
}

cs_status cs_state_close(cs_state *s, cs_error *err)
{
    if (!s)
        return CS_OK;
    cs_status rc = cs_state_commit(s, err);
    sqlite3_finalize(s->put);
    if (rc == CS_OK)
        exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(s->db);
    preload_free(&s->pre);
    free(s->path);
    free(s->fingerprint);
    free(s);
    return rc;
}

int cs_state_peek_stats(const char *path, const char *fingerprint, char *out, size_t n)
{
    struct stat st;
    /* what cs_state_open would refuse is left to it, untouched here */
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, R_OK | W_OK) != 0)
        return 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long long app = 0, ver = 0;
    int found = 0;
    /* read-write without create: a WAL store's reader may need its -shm */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK &&
        pragma_int(db, "PRAGMA application_id", &app) == 0 && app == STATE_APPLICATION_ID &&
        pragma_int(db, "PRAGMA user_version", &ver) == 0 && ver == STATE_SCHEMA &&
        sqlite3_prepare_v2(db, "SELECT stats FROM rulesets WHERE rules = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, fingerprint, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
            snprintf(out, n, "%s", (const char *)sqlite3_column_text(q, 0));
            found = 1;
        }
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return found;
}

cs_status cs_state_set_stats(cs_state *s, const char *text, cs_error *err)
{
    cs_status rc = cs_state_commit(s, err);
    if (rc != CS_OK)
        return rc;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "UPDATE rulesets SET stats = ?2 WHERE rules = ?1", -1, &q, NULL) != SQLITE_OK)
        return db_error(s->db, err, "cannot record what was loaded");
    sqlite3_bind_text(q, 1, s->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
    int step = sqlite3_step(q);
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? CS_OK : db_error(s->db, err, "cannot record what was loaded");
}

/* SHA-256 over everything a row says, so that a row damaged in a way
 * SQLite's own checks accept is never taken for a verdict. */
static void row_sum(const char *path, const cs_meta *st, const char *blob, const char *rules, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned len = 0;
    long long v[5] = {(long long)st->dev, (long long)st->ino, (long long)st->size, st->mtime_ns, st->ctime_ns};
    memset(out, 0, 32);
    if (!ctx || !EVP_DigestInit_ex(ctx, cs_md_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return;
    }
    EVP_DigestUpdate(ctx, path, strlen(path) + 1);
    EVP_DigestUpdate(ctx, v, sizeof v);
    EVP_DigestUpdate(ctx, blob ? blob : "", blob ? strlen(blob) + 1 : 1);
    EVP_DigestUpdate(ctx, rules, strlen(rules) + 1);
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
}

cs_status cs_state_put(cs_state *s, const char *path, const cs_meta *st, const unsigned char *sha256,
                       const char *blob, cs_error *err)
{
    if (!s->pending && exec(s->db, "BEGIN") != SQLITE_OK)
        return db_error(s->db, err, "begin");
    s->pending++;
    sqlite3_stmt *p = s->put;
    sqlite3_bind_blob(p, 1, path, (int)strlen(path), SQLITE_STATIC);
    sqlite3_bind_int64(p, 2, (sqlite3_int64)st->dev);
    sqlite3_bind_int64(p, 3, (sqlite3_int64)st->ino);
    sqlite3_bind_int64(p, 4, (sqlite3_int64)st->size);
    sqlite3_bind_int64(p, 5, st->mtime_ns);
    sqlite3_bind_int64(p, 6, st->ctime_ns);
    if (sha256)
        sqlite3_bind_blob(p, 7, sha256, 32, SQLITE_STATIC);
    else
        sqlite3_bind_null(p, 7);
    if (blob)
        sqlite3_bind_text(p, 8, blob, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(p, 8);
    sqlite3_bind_text(p, 9, s->fingerprint, -1, SQLITE_STATIC);
    unsigned char sum[32];
    row_sum(path, st, blob, s->fingerprint, sum);
    sqlite3_bind_blob(p, 10, sum, 32, SQLITE_STATIC);
    int rc = sqlite3_step(p);
    sqlite3_reset(p);
    sqlite3_clear_bindings(p);
    if (rc != SQLITE_DONE)
        return db_error(s->db, err, "insert");
    return s->pending >= STATE_BATCH ? cs_state_commit(s, err) : CS_OK;
}

cs_status cs_state_reader_open(const cs_state *s, cs_state_reader **out, cs_error *err)
{
    cs_state_reader *r = calloc(1, sizeof *r);
    if (!r)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(s->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) /* before the schema is read: the writer may hold it for a moment */
        sqlite3_busy_timeout(r->db, 10000);
    if (rc != SQLITE_OK ||
        sqlite3_prepare_v2(r->db,
                           "SELECT dev, ino, size, mtime_ns, ctime_ns, result, sum FROM files WHERE path = ? AND rules = ?",
                           -1, &r->get, NULL) != SQLITE_OK) {
        cs_status st = db_error(r->db, err, "cannot open for reading");
        cs_state_reader_close(r);
        return st;
    }
    r->fingerprint = s->fingerprint;
    r->pre = &s->pre;
    *out = r;
    return CS_OK;
}

cs_status cs_state_reader_pin(cs_state_reader *r, cs_error *err)
{
    if (exec(r->db, "BEGIN") != SQLITE_OK)
        return db_error(r->db, err, "cannot begin reading");
    r->pinned = 1;
    return CS_OK;
}

static void preload_free(preload *pl)
{
    for (size_t i = 0; i < pl->n_roots; i++)
        free(pl->roots[i]);
    free(pl->roots);
    free(pl->root_slots);
    free(pl->rows);
    free(pl->slots);
    cs_arena_free(&pl->arena);
    memset(pl, 0, sizeof *pl);
}

static uint32_t hash_bytes(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static const preload_row *preload_find(const preload *pl, const char *path)
{
    if (!pl->n_slots)
        return NULL;
    for (size_t k = hash_bytes(path, strlen(path)) & (pl->n_slots - 1); pl->slots[k]; k = (k + 1) & (pl->n_slots - 1))
        if (strcmp(pl->rows[pl->slots[k] - 1].path, path) == 0)
            return &pl->rows[pl->slots[k] - 1];
    return NULL;
}

/* Is the first n bytes of p one of the roots? */
static int is_root(const preload *pl, const char *p, size_t n)
{
    if (!pl->n_root_slots)
        return 0;
    for (size_t k = hash_bytes(p, n) & (pl->n_root_slots - 1); pl->root_slots[k]; k = (k + 1) & (pl->n_root_slots - 1)) {
        const char *r = pl->roots[pl->root_slots[k] - 1];
        if (strlen(r) == n && memcmp(r, p, n) == 0)
            return 1;
    }
    return 0;
}

/* Is path a root or below one? (Its prefixes that end before a '/', and
 * itself: a lookup per level, whatever the number of roots.) */
static int covered(const preload *pl, const char *path)
{
    if (path[0] == '/' && is_root(pl, "/", 1))
        return 1;
    for (size_t i = 1; path[i]; i++)
        if (path[i] == '/' && is_root(pl, path, i))
            return 1;
    return path[0] && is_root(pl, path, strlen(path));
}

/* Index rows[i]; the table at most half full. */
static void preload_index(preload *pl, size_t i)
{
    if (2 * (pl->n_rows + 1) > pl->n_slots) {
        size_t n = pl->n_slots ? 2 * pl->n_slots : 64;
        uint32_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            cs_out_of_memory();
        for (size_t k = 0; k < pl->n_slots; k++)
            if (pl->slots[k]) {
                const char *p = pl->rows[pl->slots[k] - 1].path;
                size_t q = hash_bytes(p, strlen(p)) & (n - 1);
                while (slots[q])
                    q = (q + 1) & (n - 1);
                slots[q] = pl->slots[k];
            }
        free(pl->slots);
        pl->slots = slots;
        pl->n_slots = n;
    }
    const char *p = pl->rows[i].path;
    size_t k = hash_bytes(p, strlen(p)) & (pl->n_slots - 1);
    while (pl->slots[k])
        k = (k + 1) & (pl->n_slots - 1);
    pl->slots[k] = (uint32_t)i + 1;
}

/* The rows at or below root (a root already covered adds nothing; a row
 * already there, from an overlapping root, once): 0, 1 when over
 * max_rows, -1 on an SQLite error. */
static int preload_root(sqlite3_stmt *q, preload *pl, const char *root, size_t max_rows)
{
    /* the range of paths below root: [root/, root0), '0' being '/' + 1;
     * the walk's paths have no doubled slash after the root */
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    cs_buf lo = {0}, hi = {0};
    cs_buf_append(&lo, root, n);
    if (!n || root[n - 1] != '/')
        cs_buf_puts(&lo, "/");
    cs_buf_append(&hi, lo.data, lo.len);
    hi.data[hi.len - 1] = '0';
    sqlite3_reset(q);
    sqlite3_bind_blob(q, 2, root, (int)n, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, lo.data, (int)lo.len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, hi.data, (int)hi.len, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (pl->n_rows == max_rows)
            break;
        const char *path = cs_arena_memdup(&pl->arena, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0));
        if (preload_find(pl, path))
            continue; /* under an earlier, overlapping root */
        if (pl->n_rows == pl->cap && cs_grow((void **)&pl->rows, &pl->cap, pl->n_rows + 1, sizeof *pl->rows) != 0)
            cs_out_of_memory();
        preload_row *row = &pl->rows[pl->n_rows];
        row->path = path;
        for (int i = 0; i < 5; i++)
            row->id[i] = sqlite3_column_int64(q, 1 + i);
        const unsigned char *t = sqlite3_column_text(q, 6);
        row->result = t ? cs_arena_strdup(&pl->arena, (const char *)t) : NULL;
        row->sum = sqlite3_column_bytes(q, 7) == 32 ? cs_arena_memdup(&pl->arena, sqlite3_column_blob(q, 7), 32) : NULL;
        preload_index(pl, pl->n_rows);
        pl->n_rows++;
    }
    sqlite3_reset(q); /* the bounds point into lo and hi */
    cs_buf_free(&lo);
    cs_buf_free(&hi);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void add_root(preload *pl, const char *root)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (2 * (pl->n_roots + 1) > pl->n_root_slots) {
        size_t cap = pl->n_root_slots ? 2 * pl->n_root_slots : 16;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            cs_out_of_memory();
        for (size_t k = 0; k < pl->n_roots; k++) {
            size_t q = hash_bytes(pl->roots[k], strlen(pl->roots[k])) & (cap - 1);
            while (slots[q])
                q = (q + 1) & (cap - 1);
            slots[q] = (uint32_t)k + 1;
        }
        free(pl->root_slots);
        pl->root_slots = slots;
        pl->n_root_slots = cap;
    }
    pl->roots[pl->n_roots] = cs_strndup(root, n);
    size_t q = hash_bytes(root, n) & (pl->n_root_slots - 1);
    while (pl->root_slots[q])
        q = (q + 1) & (pl->n_root_slots - 1);
    pl->root_slots[q] = (uint32_t)pl->n_roots + 1;
    pl->n_roots++;
}

cs_status cs_state_preload(cs_state *s, const char *const *roots, size_t n, size_t max_rows, cs_error *err)
{
    preload *pl = &s->pre;
    preload_free(pl);
    pl->roots = calloc(n ? n : 1, sizeof *pl->roots);
    if (!pl->roots)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT path, dev, ino, size, mtime_ns, ctime_ns, result, sum FROM files"
                           " WHERE rules = ?1 AND (path = ?2 OR (path >= ?3 AND path < ?4))",
                           -1, &q, NULL) != SQLITE_OK) {
        preload_free(pl);
        return db_error(s->db, err, "cannot read ahead");
    }
    sqlite3_bind_text(q, 1, s->fingerprint, -1, SQLITE_STATIC);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (covered(pl, roots[i]))
            continue; /* below a root read already */
        if ((rc = preload_root(q, pl, roots[i], max_rows)) == 0)
            add_root(pl, roots[i]);
    }
    sqlite3_finalize(q);
    if (rc != 0) { /* too many to hold, or unreadable: looked up one by one */
        preload_free(pl);
        return rc < 0 ? db_error(s->db, err, "cannot read ahead") : CS_OK;
    }
    return CS_OK;
}

/* 1, 0, -1 as cs_state_lookup when the read-ahead covers path; -2 when not */
static int lookup_preloaded(const preload *pl, const char *fingerprint, const char *path, const cs_meta *st,
                            char **blob);

int cs_state_lookup_preloaded(const cs_state *s, const char *path, const cs_meta *st, char **blob)
{
    *blob = NULL;
    return lookup_preloaded(&s->pre, s->fingerprint, path, st, blob);
}

void cs_state_reader_close(cs_state_reader *r)
{
    if (!r)
        return;
    if (r->db && !sqlite3_get_autocommit(r->db))
        exec(r->db, "COMMIT"); /* a pinned reader's transaction: nothing written */
    sqlite3_finalize(r->get);
    sqlite3_close(r->db);
    free(r);
}

/* A row found for path: 1 when it is this file (same identity) and passes
 * its checksum, -1 when it is this file but fails it, 0 when the file changed. */
static int check_row(const char *fingerprint, const char *path, const cs_meta *st, const sqlite3_int64 id[5],
                     const char *result, const void *stored, int stored_len, char **blob)
{
    if (id[0] != (sqlite3_int64)st->dev || id[1] != (sqlite3_int64)st->ino || id[2] != (sqlite3_int64)st->size ||
        id[3] != st->mtime_ns || id[4] != st->ctime_ns)
        return 0;
    unsigned char sum[32];
    row_sum(path, st, result, fingerprint, sum);
    if (!stored || stored_len != 32 || memcmp(stored, sum, 32) != 0)
        return -1; /* damaged: never a verdict */
    if (result)
        *blob = cs_strdup(result);
    return 1;
}

static int lookup_preloaded(const preload *pl, const char *fingerprint, const char *path, const cs_meta *st,
                            char **blob)
{
    const preload_row *row = preload_find(pl, path);
    if (row)
        return check_row(fingerprint, path, st, row->id, row->result, row->sum, row->sum ? 32 : 0, blob);
    return pl->n_roots && covered(pl, path) ? 0 : -2;
}

int cs_state_lookup(cs_state_reader *r, const char *path, const cs_meta *st, char **blob)
{
    *blob = NULL;
    int hit = lookup_preloaded(r->pre, r->fingerprint, path, st, blob);
    if (hit != -2)
        return hit;
    if (r->pinned && ++r->since_pin >= PIN_LOOKUPS) {
        r->since_pin = 0;
        if (exec(r->db, "COMMIT") != SQLITE_OK || exec(r->db, "BEGIN") != SQLITE_OK)
            r->pinned = 0; /* one lookup per transaction from here on */
    }
    sqlite3_stmt *g = r->get;
    hit = 0;
    sqlite3_bind_blob(g, 1, path, (int)strlen(path), SQLITE_STATIC);
    sqlite3_bind_text(g, 2, r->fingerprint, -1, SQLITE_STATIC); /* a row is valid only for its rules */
    if (sqlite3_step(g) == SQLITE_ROW) {
        sqlite3_int64 id[5];
        for (int i = 0; i < 5; i++)
            id[i] = sqlite3_column_int64(g, i);
        hit = check_row(r->fingerprint, path, st, id, (const char *)sqlite3_column_text(g, 5), sqlite3_column_blob(g, 6),
                        sqlite3_column_bytes(g, 6), blob);
    }
    sqlite3_reset(g);
    sqlite3_clear_bindings(g);
    return hit;
}
