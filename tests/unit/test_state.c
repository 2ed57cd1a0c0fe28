/* The state store's lookups: one by one through SQLite, and from the rows
 * of a sweep's roots read ahead (cs_state_preload), with the same answers;
 * a preload over its row limit falls back to SQLite. */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store/state.h"

static const char fp[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static cs_meta meta_of(uint64_t ino)
{
    cs_meta m = {0};
    m.size = 100 + ino;
    m.has_identity = 1;
    m.dev = 7;
    m.ino = ino;
    m.mtime_ns = 1000 * (int64_t)ino;
    m.ctime_ns = 2000 * (int64_t)ino;
    return m;
}

/* path, its inode, its stored verdict (NULL: clean) */
static const struct {
    const char *path;
    uint64_t ino;
    const char *blob;
} rows[] = {
    {"/r/a", 1, NULL},
    {"/r/b/c", 2, "{\"reasons\":[]}"},
    {"/r", 3, NULL},        /* a file named as the root itself */
    {"/rx/d", 4, NULL},     /* beside the root, not below it */
    {"/r0", 5, NULL},       /* '0' sorts right after '/' */
    {"/other/e", 6, "{}"},
};

typedef struct fixture {
    char *dir, *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = th_mkdtemp();
    assert_true(asprintf(&f->db, "%s/state.sqlite", f->dir) > 0);
    cs_state *s;
    cs_error err = {0};
    assert_int_equal(cs_state_open(&s, f->db, fp, &err), CS_OK);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        cs_meta m = meta_of(rows[i].ino);
        assert_int_equal(cs_state_put(s, rows[i].path, &m, NULL, rows[i].blob, &err), CS_OK);
    }
    assert_int_equal(cs_state_close(s, &err), CS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char *cmd;
    assert_true(asprintf(&cmd, "rm -rf '%s'", f->dir) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f->db);
    free(f->dir);
    free(f);
    return 0;
}

/* Is path one of roots, or below one? (As a walk from them would reach it.) */
static int below_any(const char *path, const char *const *roots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(roots[i]);
        while (k > 1 && roots[i][k - 1] == '/')
            k--;
        if (!strncmp(path, roots[i], k) && (path[k] == '\0' || path[k] == '/' || (k == 1 && roots[i][0] == '/')))
            return 1;
    }
    return 0;
}

/* Every row (same identity: 1 and its verdict; changed: 0), and paths the
 * store does not have (0), through reader r; the rows below the roots read
 * ahead give the same through cs_state_lookup_preloaded, the others -2. */
static void expect_answers(cs_state *s, cs_state_reader *r, const char *const *roots, size_t n_roots)
{
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        cs_meta m = meta_of(rows[i].ino);
        char *blob = NULL;
        int pre = cs_state_lookup_preloaded(s, rows[i].path, &m, &blob);
        assert_int_equal(pre, below_any(rows[i].path, roots, n_roots) ? 1 : -2);
        if (pre == 1 && rows[i].blob)
            assert_string_equal(blob, rows[i].blob);
        free(blob);
        blob = NULL;
        assert_int_equal(cs_state_lookup(r, rows[i].path, &m, &blob), 1);
        if (rows[i].blob)
            assert_string_equal(blob, rows[i].blob);
        else
            assert_null(blob);
        free(blob);
        m.mtime_ns++;
        assert_int_equal(cs_state_lookup(r, rows[i].path, &m, &blob), 0);
        assert_null(blob);
    }
    cs_meta m = meta_of(1);
    char *blob = NULL;
    assert_int_equal(cs_state_lookup(r, "/r/missing", &m, &blob), 0);
    assert_int_equal(cs_state_lookup(r, "/r/a/", &m, &blob), 0);
    assert_int_equal(cs_state_lookup(r, "/elsewhere", &m, &blob), 0);
}

static cs_state_reader *reader(fixture *f, cs_state **s)
{
    cs_error err = {0};
    cs_state_reader *r;
    assert_int_equal(cs_state_open(s, f->db, fp, &err), CS_OK);
    assert_int_equal(cs_state_reader_open(*s, &r, &err), CS_OK);
    assert_int_equal(cs_state_reader_pin(r, &err), CS_OK);
    return r;
}

static void lookups_one_by_one_and_preloaded_agree(void **state)
{
    fixture *f = *state;
    cs_state *s;
    cs_error err = {0};
    cs_state_reader *r = reader(f, &s);
    expect_answers(s, r, NULL, 0); /* SQLite, one by one */
    static const char *const roots[] = {"/r", "/r/", "/r//", "/", "/r/b", "/other/e", "/nothing/here"};
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        assert_int_equal(cs_state_preload(s, &roots[i], 1, 1000, &err), CS_OK);
        expect_answers(s, r, &roots[i], 1);
    }
    /* several roots, overlapping ones among them: each row once */
    static const char *const several[] = {"/r/b", "/r", "/other", "/r0"};
    assert_int_equal(cs_state_preload(s, several, 4, 1000, &err), CS_OK);
    expect_answers(s, r, several, 4);
    cs_meta m = meta_of(6);
    char *blob = NULL;
    assert_int_equal(cs_state_lookup_preloaded(s, "/other/e", &m, &blob), 1);
    free(blob);
    assert_int_equal(cs_state_lookup_preloaded(s, "/rx/d", &m, &blob), -2); /* not below any */
    /* over the limit: not kept, the answers still right */
    assert_int_equal(cs_state_preload(s, several, 4, 2, &err), CS_OK);
    assert_int_equal(cs_state_lookup_preloaded(s, "/r/a", &m, &blob), -2);
    expect_answers(s, r, NULL, 0);
    cs_state_reader_close(r);
    assert_int_equal(cs_state_close(s, &err), CS_OK);
}

static void other_rules_are_not_answers(void **state)
{
    fixture *f = *state;
    cs_state *s;
    cs_error err = {0};
    static const char other[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    assert_int_equal(cs_state_open(&s, f->db, other, &err), CS_OK);
    cs_state_reader *r;
    assert_int_equal(cs_state_reader_open(s, &r, &err), CS_OK);
    static const char *const root[] = {"/"};
    for (int preload = 0; preload < 2; preload++) {
        if (preload)
            assert_int_equal(cs_state_preload(s, root, 1, 1000, &err), CS_OK);
        cs_meta m = meta_of(1);
        char *blob = NULL;
        assert_int_equal(cs_state_lookup(r, "/r/a", &m, &blob), 0);
    }
    cs_state_reader_close(r);
    assert_int_equal(cs_state_close(s, &err), CS_OK);
}

/* A verdict changed behind the store's back fails the row's checksum: -1,
 * from SQLite and from a preload alike. */
static void damaged_row_both_ways(void **state)
{
    fixture *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE files SET result = '{\"x\":1}' WHERE path = CAST('/r/b/c' AS BLOB)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
    cs_state *s;
    cs_error err = {0};
    cs_state_reader *r = reader(f, &s);
    cs_meta m = meta_of(2);
    char *blob = NULL;
    assert_int_equal(cs_state_lookup(r, "/r/b/c", &m, &blob), -1);
    static const char *const root[] = {"/r"};
    assert_int_equal(cs_state_preload(s, root, 1, 1000, &err), CS_OK);
    assert_int_equal(cs_state_lookup(r, "/r/b/c", &m, &blob), -1);
    assert_int_equal(cs_state_lookup_preloaded(s, "/r/b/c", &m, &blob), -1);
    assert_null(blob);
    cs_state_reader_close(r);
    assert_int_equal(cs_state_close(s, &err), CS_OK);
}

/* Enough rows to grow the table and collide; the limit exactly at the
 * number of rows keeps them, one below does not. */
static void many_rows_and_the_limit(void **state)
{
    fixture *f = *state;
    cs_state *s;
    cs_error err = {0};
    enum { N = 1500 };
    assert_int_equal(cs_state_open(&s, f->db, fp, &err), CS_OK);
    char path[64];
    for (int i = 0; i < N; i++) {
        cs_meta m = meta_of(1000 + (uint64_t)i);
        snprintf(path, sizeof path, "/big/d%d/f%d", i % 7, i);
        assert_int_equal(cs_state_put(s, path, &m, NULL, i % 3 ? NULL : "{}", &err), CS_OK);
    }
    assert_int_equal(cs_state_close(s, &err), CS_OK);
    assert_int_equal(cs_state_open(&s, f->db, fp, &err), CS_OK);
    static const char *const root[] = {"/big"};
    for (int limit = N; limit >= N - 1; limit--) {
        assert_int_equal(cs_state_preload(s, root, 1, (size_t)limit, &err), CS_OK);
        for (int i = 0; i < N; i++) {
            cs_meta m = meta_of(1000 + (uint64_t)i);
            char *blob = NULL;
            snprintf(path, sizeof path, "/big/d%d/f%d", i % 7, i);
            assert_int_equal(cs_state_lookup_preloaded(s, path, &m, &blob), limit == N ? 1 : -2);
            if (limit == N && i % 3 == 0)
                assert_string_equal(blob, "{}");
            free(blob);
        }
        cs_meta m = meta_of(1);
        char *blob = NULL;
        assert_int_equal(cs_state_lookup_preloaded(s, "/big/d0/nothing", &m, &blob), limit == N ? 0 : -2);
    }
    /* the read-ahead is a snapshot: a row written after it is not seen */
    assert_int_equal(cs_state_preload(s, root, 1, N, &err), CS_OK);
    cs_meta now = meta_of(5);
    assert_int_equal(cs_state_put(s, "/big/d0/f0", &now, NULL, NULL, &err), CS_OK);
    assert_int_equal(cs_state_commit(s, &err), CS_OK);
    char *blob = NULL;
    assert_int_equal(cs_state_lookup_preloaded(s, "/big/d0/f0", &now, &blob), 0);
    assert_int_equal(cs_state_close(s, &err), CS_OK);
}

/* A pinned reader reads one snapshot, renewed every 4,096 lookups (so that
 * the writer's checkpoints can reset the WAL during a long walk): a row
 * written after the pin is seen once the snapshot is renewed. */
static void pinned_reader_renews_its_snapshot(void **state)
{
    fixture *f = *state;
    cs_state *s;
    cs_error err = {0};
    cs_state_reader *r = reader(f, &s); /* pinned */
    cs_meta m = meta_of(1), fresh = meta_of(77);
    char *blob = NULL;
    assert_int_equal(cs_state_lookup(r, "/r/a", &m, &blob), 1); /* the snapshot starts here */
    assert_int_equal(cs_state_put(s, "/late", &fresh, NULL, NULL, &err), CS_OK);
    assert_int_equal(cs_state_commit(s, &err), CS_OK);
    assert_int_equal(cs_state_lookup(r, "/late", &fresh, &blob), 0);
    int seen = 0;
    for (int i = 0; i < 5000 && !seen; i++)
        seen = cs_state_lookup(r, "/late", &fresh, &blob) == 1;
    assert_true(seen);
    cs_state_reader_close(r);
    assert_int_equal(cs_state_close(s, &err), CS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lookups_one_by_one_and_preloaded_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(other_rules_are_not_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_row_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(many_rows_and_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(pinned_reader_renews_its_snapshot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
