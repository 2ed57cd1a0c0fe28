/* The HFS+/HFSX reader on volumes built by tests/fixtures/make_hfs.sh (run
 * by ctest as the hfs_fixtures setup test): an xorriso image of a 3CX-like
 * app tree (listing, sizes and bytes compared with the source tree and with
 * 7-Zip's listing), damaged copies of it, and HFSX volumes built from
 * scratch by hfs_damage.py (extents overflow, hard links, odd names, broken
 * parent chains, 600 nested folders). The fixture directory comes from
 * argv[1] or CS_HFS_FIXTURES; without xorriso there are no fixtures and the
 * test exits 77 (skipped). */
#define _POSIX_C_SOURCE 200809L /* strdup, strtok_r, readlink */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/hfsplus.h"

static const char *fixtures;

typedef struct mem {
    unsigned char *d;
    size_t n, base;
    long fail_after; /* reads before the callback starts failing, -1 never */
} mem;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    mem *m = ctx;
    if (m->fail_after >= 0 && m->fail_after-- == 0) {
        snprintf(why, why_n, "injected read error");
        m->fail_after = 0;
        return -1;
    }
    if (off > m->n - m->base || n > m->n - m->base - off) {
        snprintf(why, why_n, "read past the image");
        return -1;
    }
    memcpy(buf, m->d + m->base + off, n);
    return 0;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *d = NULL;
    long len;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (d = malloc((size_t)len + 1)) && fread(d, 1, (size_t)len, f) != (size_t)len) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *n = d ? (size_t)len : 0;
    return d;
}

static mem load(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    mem m = {0};
    m.d = slurp(path, &m.n);
    m.fail_after = -1;
    if (!m.d)
        fail_msg("cannot read %s", path);
    return m;
}

static cs_hfs *open_mem(mem *m)
{
    cs_hfs *h = NULL;
    char why[256];
    if (cs_hfs_open(mem_read, m, m->n - m->base, &h, why, sizeof why) != 0)
        fail_msg("open: %s", why);
    assert_non_null(h);
    return h;
}

/* Whole data fork in 777-byte reads: its length, or -1 with why. */
static long read_all(cs_hfs *h, uint32_t id, unsigned char **out, char *why, size_t why_n)
{
    size_t cap = 1024, len = 0;
    unsigned char *b = malloc(cap);
    long k;
    for (;;) {
        if (len + 777 > cap)
            b = realloc(b, cap *= 2);
        k = cs_hfs_read(h, id, len, b + len, 777, why, why_n);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    if (k < 0) {
        free(b);
        *out = NULL;
        return -1;
    }
    *out = b;
    return (long)len;
}

typedef struct listed {
    char *path;
    cs_hfs_entry e;
} listed;

/* Every entry until the end (rc 0) or an error (rc -1, why). */
static size_t list_all(cs_hfs *h, listed **out, int *rc, char *why, size_t why_n)
{
    size_t n = 0;
    listed *l = NULL;
    cs_hfs_entry e;
    int r;
    while ((r = cs_hfs_next(h, &e, why, why_n)) > 0) {
        l = realloc(l, (n + 1) * sizeof *l);
        l[n].path = strdup(e.path);
        l[n].e = e;
        l[n].e.path = l[n].path;
        n++;
    }
    *rc = r;
    assert_int_equal(cs_hfs_next(h, &e, why, why_n), r); /* stays at its end */
    *out = l;
    return n;
}

static void free_list(listed *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i].path);
    free(l);
}

static const listed *find(const listed *l, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].path, path) == 0)
            return &l[i];
    return NULL;
}

/* The xorriso image: the volume found by scanning for its header (the
 * partition map is not this reader's business), every manifest entry
 * present with its kind, size and bytes, nothing else listed. */
static void xorriso_listing(void **state)
{
    (void)state;
    mem m = load("3cx.iso");
    while (m.base + 1536 <= m.n && !cs_hfs_probe(m.d + m.base, m.n - m.base))
        m.base += 512;
    assert_true(m.base > 0 && m.base + 1536 <= m.n);
    cs_hfs *h = open_mem(&m);
    char why[256];
    int rc;
    listed *l;
    size_t n = list_all(h, &l, &rc, why, sizeof why);
    if (rc != 0)
        fail_msg("next: %s", why);

    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s/manifest.txt", fixtures);
    size_t mn;
    char *man = (char *)slurp(mpath, &mn);
    assert_non_null(man);
    man[mn] = 0;
    size_t lines = 0;
    for (char *save = NULL, *line = strtok_r(man, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char kind = line[0];
        char *p = strchr(line, '\t');
        unsigned long long size = strtoull(p + 1, &p, 10);
        char *hpath = p + 1, *src = strchr(hpath, '\t');
        *src++ = 0;
        const listed *e = find(l, n, hpath);
        if (!e)
            fail_msg("not listed: %s", hpath);
        lines++;
        assert_int_equal(e->e.kind, kind == 'l' ? CS_HFS_SYMLINK : CS_HFS_FILE);
        assert_int_equal(e->e.size, size);
        assert_false(e->e.hard_link);
        assert_false(e->e.compressed);
        assert_true(e->e.mtime > 1600000000); /* 1904 epoch converted */
        assert_int_equal(e->e.mode & 0170000, kind == 'l' ? 0120000 : 0100000);
        unsigned char *got;
        long len = read_all(h, e->e.id, &got, why, sizeof why);
        if (len < 0)
            fail_msg("read %s: %s", hpath, why);
        assert_int_equal(len, size);
        char spath[4096];
        snprintf(spath, sizeof spath, "%s/tree/%s", fixtures, src);
        if (kind == 'l') {
            char target[4096];
            ssize_t t = readlink(spath, target, sizeof target);
            assert_int_equal(t, len);
            assert_memory_equal(got, target, (size_t)len);
        } else {
            size_t sn;
            unsigned char *want = slurp(spath, &sn);
            assert_non_null(want);
            assert_int_equal(sn, len);
            if (len)
                assert_memory_equal(got, want, sn);
            free(want);
        }
        free(got);
    }
    assert_int_equal(lines, n); /* nothing more: no private folders, no directories */
    assert_true(n >= 10);
    free(man);

    /* 7-Zip's listing of the same image (make_hfs.sh already checked it
     * against the tree): every one of its files is ours, same size */
    snprintf(mpath, sizeof mpath, "%s/7zz.txt", fixtures);
    char *z = (char *)slurp(mpath, &mn);
    if (z) {
        z[mn] = 0;
        size_t zn = 0;
        for (char *save = NULL, *line = strtok_r(z, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *p = strchr(line, '\t');
            unsigned long long size = strtoull(p + 1, &p, 10);
            const listed *e = find(l, n, p + 1);
            if (!e)
                fail_msg("7zz lists %s, we do not", p + 1);
            assert_int_equal(e->e.size, size);
            zn++;
        }
        assert_int_equal(zn, n);
        free(z);
    }
    free_list(l, n);
    cs_hfs_close(h);
    free(m.d);
}

static void xorriso_lookup_and_read(void **state)
{
    (void)state;
    mem m = load("3cx.hfs");
    cs_hfs *h = open_mem(&m);
    char why[256];
    cs_hfs_entry e;
    assert_int_equal(cs_hfs_lookup(h, "3CX Desktop App.app/Contents/Info.plist", &e, why, sizeof why), 1);
    assert_string_equal(e.path, "3CX Desktop App.app/Contents/Info.plist");
    assert_int_equal(e.kind, CS_HFS_FILE);
    unsigned char buf[64];
    assert_int_equal(cs_hfs_read(h, e.id, 0, buf, 5, why, sizeof why), 5);
    assert_memory_equal(buf, "<?xml", 5);
    assert_int_equal(cs_hfs_read(h, e.id, e.size - 1, buf, sizeof buf, why, sizeof why), 1); /* short at the end */
    assert_int_equal(buf[0], '\n');
    assert_int_equal(cs_hfs_read(h, e.id, e.size, buf, sizeof buf, why, sizeof why), 0);
    assert_int_equal(cs_hfs_read(h, e.id, UINT64_MAX, buf, sizeof buf, why, sizeof why), 0);

    const char *cur = "3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/Versions/Current";
    assert_int_equal(cs_hfs_lookup(h, cur, &e, why, sizeof why), 1);
    assert_int_equal(e.kind, CS_HFS_SYMLINK);
    assert_int_equal(cs_hfs_read(h, e.id, 0, buf, sizeof buf, why, sizeof why), 1);
    assert_int_equal(buf[0], 'A');
    assert_int_equal(cs_hfs_lookup(h, "3CX Desktop App.app/Contents/Frameworks/Electron Framework.framework/"
                                      "Versions/A/Libraries/libffmpeg.dylib", &e, why, sizeof why), 1);
    assert_int_equal(e.size, 49);

    /* names are NFD on HFS+ and compared as they are stored */
    assert_int_equal(cs_hfs_lookup(h, "U\xcc\x88" "bersicht \xe2\x82\xac.txt", &e, why, sizeof why), 1);
    assert_int_equal(cs_hfs_lookup(h, "\xc3\x9c" "bersicht \xe2\x82\xac.txt", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "\xf0\x9f\x98\x80 smile.txt", &e, why, sizeof why), 1);
    assert_int_equal(cs_hfs_lookup(h, "big.bin", &e, why, sizeof why), 1);
    assert_int_equal(e.size, 5u << 20);
    /* absent, folders, malformed */
    assert_int_equal(cs_hfs_lookup(h, "3CX Desktop App.app/Contents/Nope.plist", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "3CX Desktop App.app/Contents", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "nope/Info.plist", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "/big.bin", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "big.bin/", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "deep//level02", &e, why, sizeof why), 0);
    /* reads by ID: unknown, a folder (the root) */
    assert_int_equal(cs_hfs_read(h, 123456, 0, buf, 1, why, sizeof why), -1);
    assert_non_null(strstr(why, "not in the catalog"));
    assert_int_equal(cs_hfs_read(h, 2, 0, buf, 1, why, sizeof why), -1);
    assert_non_null(strstr(why, "folder"));

    /* a read that fails in the callback is reported, not swallowed */
    assert_int_equal(cs_hfs_lookup(h, "big.bin", &e, why, sizeof why), 1);
    m.fail_after = 0;
    assert_int_equal(cs_hfs_read(h, e.id, 0, buf, sizeof buf, why, sizeof why), -1);
    assert_non_null(strstr(why, "injected"));
    m.fail_after = -1;
    cs_hfs_close(h);
    cs_hfs_close(NULL);

    assert_true(cs_hfs_probe(m.d, m.n));
    assert_false(cs_hfs_probe(m.d, 1535));
    free(m.d);
}

static unsigned char pattern(size_t i, unsigned seed)
{
    return (unsigned char)((i * 7 + seed + (i >> 9)) & 0xFF);
}

/* HFSX built from scratch: forks through the extents overflow file (the
 * catalog's own and frag.bin's), hard links, hidden metadata, odd names. */
static void crafted(void **state)
{
    (void)state;
    mem m = load("crafted.hfs");
    cs_hfs *h = open_mem(&m);
    char why[256];
    int rc;
    listed *l;
    size_t n = list_all(h, &l, &rc, why, sizeof why);
    if (rc != 0)
        fail_msg("next: %s", why);
    static const char *const want[] = {
        "dir/frag.bin", "a:b.txt", "\xf0\x9f\x98\x80 smile.txt", "\xef\xbf\xbdx", "hl.txt", "dir/hl2.txt",
        "hlbad.txt", "comp.txt", "sl", "#loop-1000/inloop.txt", "#orphan-99/orphan.txt", "#orphan-98/od/o2.txt", "#orphan-0/zero.txt",
        "\xef\xbf\xbd\xef\xbf\xbd/dd.txt", "short.txt",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!find(l, n, want[i]))
            fail_msg("not listed: %s", want[i]);
    assert_int_equal(n, sizeof want / sizeof *want + 12); /* + dir/pad00..11.txt */
    for (size_t i = 0; i < n; i++) { /* hidden: private folders, the journal, the directory hard link */
        assert_null(strstr(l[i].path, "iNode"));
        assert_null(strstr(l[i].path, "inside"));
        assert_null(strstr(l[i].path, "journal"));
        assert_null(strstr(l[i].path, "dirlink"));
    }

    const listed *frag = find(l, n, "dir/frag.bin");
    unsigned char *got;
    long len = read_all(h, frag->e.id, &got, why, sizeof why);
    if (len < 0)
        fail_msg("frag.bin: %s", why);
    assert_int_equal(len, 60 * 512 - 100);
    for (long i = 0; i < len; i++)
        if (got[i] != pattern((size_t)i, 1))
            fail_msg("frag.bin differs at byte %ld", i);
    free(got);

    const listed *hl = find(l, n, "hl.txt"), *hl2 = find(l, n, "dir/hl2.txt");
    assert_true(hl->e.hard_link && hl2->e.hard_link);
    assert_int_equal(hl->e.id, hl2->e.id); /* both the iNode77 file */
    assert_int_equal(hl->e.size, 17);
    len = read_all(h, hl->e.id, &got, why, sizeof why);
    assert_int_equal(len, 17);
    assert_memory_equal(got, "hard link target\n", 17);
    free(got);
    const listed *bad = find(l, n, "hlbad.txt");
    assert_true(bad->e.hard_link);
    assert_int_equal(bad->e.id, 0);
    assert_int_equal(cs_hfs_read(h, bad->e.id, 0, got = malloc(8), 8, why, sizeof why), -1);
    assert_non_null(strstr(why, "hard link"));
    free(got);

    assert_true(find(l, n, "comp.txt")->e.compressed);
    assert_false(find(l, n, "a:b.txt")->e.compressed);
    const listed *sl = find(l, n, "sl");
    assert_int_equal(sl->e.kind, CS_HFS_SYMLINK);
    len = read_all(h, sl->e.id, &got, why, sizeof why);
    assert_int_equal(len, 12);
    assert_memory_equal(got, "dir/frag.bin", 12);
    free(got);
    assert_int_equal(find(l, n, "a:b.txt")->e.mtime, 1700000000 + find(l, n, "a:b.txt")->e.id);

    /* extents that stop short of the fork's size: an error past them, not zeros */
    const listed *sh = find(l, n, "short.txt");
    assert_int_equal(sh->e.size, 2000);
    unsigned char buf[1000];
    if (cs_hfs_read(h, sh->e.id, 0, buf, 512, why, sizeof why) != 512)
        fail_msg("short.txt: %s", why);
    assert_int_equal(cs_hfs_read(h, sh->e.id, 100, buf, sizeof buf, why, sizeof why), -1);
    assert_non_null(strstr(why, "past the fork's extents"));

    cs_hfs_entry e;
    assert_int_equal(cs_hfs_lookup(h, "dir/frag.bin", &e, why, sizeof why), 1);
    assert_int_equal(e.id, frag->e.id);
    assert_int_equal(cs_hfs_lookup(h, "a:b.txt", &e, why, sizeof why), 1);
    assert_int_equal(cs_hfs_lookup(h, "dir/hl2.txt", &e, why, sizeof why), 1);
    assert_true(e.hard_link);
    assert_int_equal(e.id, hl->e.id);
    assert_int_equal(cs_hfs_lookup(h, "dir/pad11.txt", &e, why, sizeof why), 1);
    assert_int_equal(cs_hfs_lookup(h, "dir/pad00.txt", &e, why, sizeof why), 1);
    assert_int_equal(cs_hfs_lookup(h, ".journal", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "dirlink", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, ".HFS+ Private Directory Data\r/dir_26/inside.txt", &e, why, sizeof why), 0);
    assert_int_equal(cs_hfs_lookup(h, "#orphan-99/orphan.txt", &e, why, sizeof why), 0);
    /* reads by ID without a listing first (the fork found through the thread record) */
    cs_hfs_close(h);
    h = open_mem(&m);
    len = read_all(h, frag->e.id, &got, why, sizeof why);
    assert_int_equal(len, 60 * 512 - 100);
    free(got);
    free_list(l, n);
    cs_hfs_close(h);
    free(m.d);
}

static void deep_chain(void **state)
{
    (void)state;
    mem m = load("deep.hfs");
    cs_hfs *h = open_mem(&m);
    char why[256];
    int rc;
    listed *l;
    size_t n = list_all(h, &l, &rc, why, sizeof why);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 2);
    const listed *e600 = NULL, *e500 = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strstr(l[i].path, "at600.txt"))
            e600 = &l[i];
        if (strstr(l[i].path, "at500.txt"))
            e500 = &l[i];
    }
    assert_non_null(e600);
    assert_non_null(e500);
    assert_int_equal(strncmp(e600->path, "#loop-", 6), 0); /* 600 folders: past the 512 bound */
    assert_int_equal(strlen(e500->path), 500 * 5 + 9);       /* d000/.../d499/at500.txt */
    cs_hfs_entry e;
    assert_int_equal(cs_hfs_lookup(h, e500->path, &e, why, sizeof why), 1);
    assert_int_equal(e.id, e500->e.id);
    free_list(l, n);
    cs_hfs_close(h);
    free(m.d);
}

/* Open, list, read everything: never a crash or a hang; returns the
 * first error seen (open, next or read) in why, or "" */
static void exercise(mem *m, char *why, size_t why_n, int *open_failed, int *next_failed, int *read_failed)
{
    cs_hfs *h = NULL;
    *open_failed = *next_failed = *read_failed = 0;
    why[0] = 0;
    if (cs_hfs_open(mem_read, m, m->n - m->base, &h, why, why_n) != 0) {
        assert_null(h);
        assert_true(why[0]);
        *open_failed = 1;
        return;
    }
    cs_hfs_entry e;
    int r;
    char w[256];
    while ((r = cs_hfs_next(h, &e, w, sizeof w)) > 0) {
        unsigned char *got;
        if (e.size < (64u << 20) && read_all(h, e.id, &got, w, sizeof w) >= 0) {
            free(got);
        } else if (!*read_failed) {
            *read_failed = 1;
            if (!why[0])
                snprintf(why, why_n, "%s: %s", e.path, w);
        }
    }
    if (r < 0) {
        *next_failed = 1;
        snprintf(why, why_n, "%s", w);
    }
    cs_hfs_close(h);
}

static void damaged(void **state)
{
    (void)state;
    char why[300];
    int of, nf, rf;
    struct {
        const char *file, *msg;
        int open, next, read;
    } cases[] = {
        {"loop.hfs", "catalog B-tree: leaf chain loops at node", 0, 1, 0},
        {"badoff.hfs", "outside the node", 0, 1, 0},
        {"extent.hfs", "lies past the end of the volume", 0, 0, 1},
        {"trunc-catalog.hfs", "past the end of the volume", 1, 0, 0},
        {"trunc-data.hfs", "past the end of the volume", 0, 0, 1},
        {"notahfs.hfs", "not HFS+", 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mem m = load(cases[i].file);
        exercise(&m, why, sizeof why, &of, &nf, &rf);
        if (!strstr(why, cases[i].msg) || of != cases[i].open || nf != cases[i].next || rf != cases[i].read)
            fail_msg("%s: open %d next %d read %d: %s", cases[i].file, of, nf, rf, why);
        free(m.d);
    }
    /* the loop stops the listing only at the loop: entries before it stand */
    mem m = load("loop.hfs");
    cs_hfs *h = open_mem(&m);
    cs_hfs_entry e;
    int r, count = 0;
    while ((r = cs_hfs_next(h, &e, why, sizeof why)) > 0)
        count++;
    assert_int_equal(r, -1);
    assert_true(count > 0);
    cs_hfs_close(h);
    free(m.d);
}

/* Every truncation of the crafted volume, and a read error at every point
 * of the work: a clean result each time. */
static void truncations_and_read_errors(void **state)
{
    (void)state;
    char why[300];
    int of, nf, rf;
    mem m = load("crafted.hfs");
    size_t full = m.n;
    for (size_t cut = 0; cut < full; cut += 1536) {
        m.n = cut;
        exercise(&m, why, sizeof why, &of, &nf, &rf);
        assert_true(of || nf || rf || cut >= full - 1024); /* all the data sits before the alternate header */
    }
    m.n = full;
    for (long k = 0; k < 400; k += 3) {
        m.fail_after = k;
        exercise(&m, why, sizeof why, &of, &nf, &rf);
        assert_true((!of && !nf && !rf) || strstr(why, "injected") || strstr(why, "missing") ||
                    strstr(why, "extents"));
    }
    free(m.d);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : getenv("CS_HFS_FIXTURES");
    char probe[4096];
    FILE *f = NULL;
    if (fixtures) {
        snprintf(probe, sizeof probe, "%s/3cx.iso", fixtures);
        f = fopen(probe, "rb");
    }
    if (!f) {
        printf("SKIP: no HFS+ fixtures in %s (make_hfs.sh needs xorriso and python3)\n",
               fixtures ? fixtures : "(CS_HFS_FIXTURES unset)");
        return 77;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xorriso_listing), cmocka_unit_test(xorriso_lookup_and_read),
        cmocka_unit_test(crafted),         cmocka_unit_test(deep_chain),
        cmocka_unit_test(damaged),         cmocka_unit_test(truncations_and_read_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
