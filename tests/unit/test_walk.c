#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fnmatch.h>
#include <unistd.h>

#include "walk/walk.h"

typedef struct seen {
    char paths[64][512];
    cs_skip_reason skip[64];
    int error[64];
    int opened[64];
    int n, stop_after;
} seen;

static int collect(void *ud, const cs_walk_entry *e)
{
    seen *s = ud;
    if (s->n >= 64)
        return 0;
    const char *base = strstr(e->path, "/t/");
    snprintf(s->paths[s->n], sizeof s->paths[0], "%s", base ? base + 3 : e->path);
    s->skip[s->n] = e->skip;
    s->error[s->n] = e->error != NULL;
    /* a file to scan comes opened, with its directory */
    s->opened[s->n] = e->fd >= 0 && e->dirfd >= 0;
    if (e->fd >= 0)
        close(e->fd);
    if (e->dirfd >= 0)
        close(e->dirfd);
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

static cs_skip_reason exclude_txt_and_b(void *ud, const char *path, const char *name, const struct stat *st)
{
    (void)ud;
    (void)st;
    return fnmatch("*.txt", name, 0) == 0 || strstr(path, "/sub/b.exe") != NULL ? CS_SKIP_EXCLUDED : CS_SKIP_NONE;
}

static int find(const seen *s, const char *rel)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->paths[i], rel) == 0)
            return i;
    return -1;
}

static char *make_tree(void)
{
    char *d = th_mkdtemp();
    char p[8192];
    snprintf(p, sizeof p, "%s/t", d);
    mkdir(p, 0755);
    th_write(p, "a.txt", "a", 1);
    snprintf(p, sizeof p, "%s/t/sub", d);
    mkdir(p, 0755);
    th_write(p, "b.exe", "MZ", 2);
    snprintf(p, sizeof p, "%s/t/sub/deeper", d);
    mkdir(p, 0755);
    th_write(p, "c.bin", "c", 1);
    snprintf(p, sizeof p, "%s/t/fifo", d);
    mkfifo(p, 0644);
    snprintf(p, sizeof p, "%s/t/loop", d);
    if (symlink("..", p) != 0) /* t/loop -> t's parent: a loop when followed */
        abort();
    snprintf(p, sizeof p, "%s/t/sub/up", d);
    if (symlink("..", p) != 0)
        abort();
    return d;
}

static void walk_defaults(void **state)
{
    (void)state;
    char *d = make_tree();
    cs_walk_opts o = {0, 0, -1, NULL, NULL, NULL, NULL};
    char root[8192];
    snprintf(root, sizeof root, "%s/t/", d); /* trailing slash is fine */
    seen s = {0};
    assert_int_equal(cs_walk(&o, root, collect, &s), 0);
    int i;
    assert_true((i = find(&s, "a.txt")) >= 0 && s.skip[i] == CS_SKIP_NONE && s.opened[i]);
    assert_true((i = find(&s, "sub/b.exe")) >= 0 && s.skip[i] == CS_SKIP_NONE && s.opened[i]);
    assert_true((i = find(&s, "sub/deeper/c.bin")) >= 0);
    assert_true((i = find(&s, "fifo")) >= 0 && s.skip[i] == CS_SKIP_NOT_REGULAR && !s.opened[i]);
    assert_true((i = find(&s, "loop")) >= 0 && s.skip[i] == CS_SKIP_SYMLINK);
    assert_int_equal(s.n, 6);
    th_rmrf(d);
    free(d);
}

static void walk_depth_and_excludes(void **state)
{
    (void)state;
    char *d = make_tree();
    cs_walk_opts o = {0, 0, 1, exclude_txt_and_b, NULL, NULL, NULL};
    char root[8192];
    snprintf(root, sizeof root, "%s/t", d);
    seen s = {0};
    cs_walk(&o, root, collect, &s);
    int i;
    assert_true((i = find(&s, "a.txt")) >= 0 && s.skip[i] == CS_SKIP_EXCLUDED);
    assert_true((i = find(&s, "sub/b.exe")) >= 0 && s.skip[i] == CS_SKIP_EXCLUDED);
    assert_true((i = find(&s, "sub/deeper")) >= 0 && s.skip[i] == CS_SKIP_DEPTH);
    assert_int_equal(find(&s, "sub/deeper/c.bin"), -1);
    th_rmrf(d);
    free(d);
}

static void walk_follow_detects_loops(void **state)
{
    (void)state;
    char *d = make_tree();
    char p[8192];
    snprintf(p, sizeof p, "%s/t/link.txt", d);
    assert_int_equal(symlink("a.txt", p), 0);
    cs_walk_opts o = {1, 0, -1, NULL, NULL, NULL, NULL};
    char root[8192];
    snprintf(root, sizeof root, "%s/t", d);
    seen s = {0};
    cs_walk(&o, root, collect, &s); /* must terminate */
    int i;
    assert_true((i = find(&s, "sub/up")) >= 0 && s.skip[i] == CS_SKIP_LOOP);
    assert_true(find(&s, "a.txt") >= 0);
    /* a symlinked file is opened through the link when following */
    assert_true((i = find(&s, "link.txt")) >= 0 && s.skip[i] == CS_SKIP_NONE && s.opened[i]);
    th_rmrf(d);
    free(d);
}

static void walk_stops_when_asked(void **state)
{
    (void)state;
    char *d = make_tree();
    cs_walk_opts o = {0, 0, -1, NULL, NULL, NULL, NULL};
    char root[8192];
    snprintf(root, sizeof root, "%s/t", d);
    seen s = {0};
    s.stop_after = 2;
    assert_int_equal(cs_walk(&o, root, collect, &s), 0);
    assert_int_equal(s.n, 2); /* nothing after the callback said stop */
    th_rmrf(d);
    free(d);
}

static void walk_missing_root(void **state)
{
    (void)state;
    cs_walk_opts o = {0, 0, -1, NULL, NULL, NULL, NULL};
    seen s = {0};
    assert_int_equal(cs_walk(&o, "/nonexistent/chainsweep", collect, &s), -1);
    seen p = {0};
    cs_walk(&o, "/proc", collect, &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.skip[0], CS_SKIP_PSEUDO_FS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_defaults),
        cmocka_unit_test(walk_depth_and_excludes),
        cmocka_unit_test(walk_follow_detects_loops),
        cmocka_unit_test(walk_stops_when_asked),
        cmocka_unit_test(walk_missing_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
