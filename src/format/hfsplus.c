/* HFS+/HFSX reader, written from Apple's TN1150 ("HFS Plus Volume Format").
 *
 * Layout used here: the volume header at 1024; the catalog and extents
 * overflow files are B-trees of fixed-size nodes (node 0 is the header
 * node); the catalog's leaf records are keyed (parentID, name) and sorted by
 * parentID first, so "every record of folder P" is found by descending on
 * parentID alone, and names are then compared exactly after conversion to
 * UTF-8. That avoids HFS+ case folding entirely (and makes HFSX's binary
 * order irrelevant), at the cost of scanning a folder's records linearly.
 *
 * Limits (hostile input): node size 512..32768; at most 2^24 nodes per
 * B-tree (the visited bitmap is then 2 MiB); at most 4,000,000 catalog leaf
 * records (the folder map holds at most that many folders, its names at
 * most 1.5x the catalog's name bytes); B-tree depth <= 16; parent chains of
 * <= 512 folders; <= 4096 extents overflow records per fork; every extent
 * inside volume_size (not totalBlocks: xorriso's header declares fewer
 * blocks than its files use) and a fork's extents adding up to no more than
 * the volume.
 *
 * Paths that cannot be built are still returned (the content matters to a
 * scanner) but marked: "#orphan-<ID>/<rest>" when folder <ID> of the chain
 * is missing from the catalog, "#loop-<P>/<name>" when the chain from the
 * file's parent <P> loops or is deeper than 512 folders. Such entries are not
 * found by cs_hfs_lookup. Names "." and ".." (impossible on macOS) get their
 * dots replaced by U+FFFD so that no path can climb; U+0000 and unpaired
 * surrogates become U+FFFD, and an empty name is U+FFFD. */
#include "format/hfsplus.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define HFS_MAX_RECORDS 4000000u
#define HFS_MAX_NODES (1u << 24)
#define HFS_MAX_TREE_DEPTH 16u
#define HFS_MAX_CHAIN 512
#define HFS_MAX_OVERFLOW 4096u
#define HFS_EPOCH_DELTA 2082844800LL /* 1904-01-01 to 1970-01-01 */
#define HFS_ROOT_ID 2u
#define HFS_NAME_MAX 255u
#define HFS_UTF8_MAX (3u * HFS_NAME_MAX + 1u) /* 3 bytes per UTF-16 unit at most */
#define HFS_FILE_REC 248u
#define HFS_FOLDER_REC 88u
#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

enum { REC_FOLDER = 1, REC_FILE = 2, REC_FOLDER_THREAD = 3, REC_FILE_THREAD = 4 };
enum { NODE_LEAF = -1, NODE_INDEX = 0, NODE_HEADER = 1 };
enum { BT_BIG_KEYS = 2, BT_VARIABLE_INDEX_KEYS = 4 };

typedef struct hfs_ext {
    uint32_t start, count;
    uint64_t first; /* the fork's block where this extent begins */
} hfs_ext;

typedef struct hfs_fork {
    hfs_ext *ext;
    size_t n, cap;
    uint64_t size;    /* logicalSize */
    uint64_t covered; /* bytes the usable extents cover */
    char why[200];    /* why the extents stop before size, when they do */
} hfs_fork;

typedef struct hfs_tree {
    const char *name;
    hfs_fork fork;
    uint32_t node_size, total_nodes, root, first_leaf, depth, max_key, attrs;
} hfs_tree;

/* A walk along a B-tree's leaf chain: bounded by a visited bitmap (the
 * listing) or by a step count (lookups). */
typedef struct hfs_walk {
    hfs_tree *t;
    unsigned char *buf;
    uint32_t start, node;
    unsigned rec, nrec;
    int started;
    unsigned char *visited;
    uint64_t steps, records;
} hfs_walk;

typedef struct hfs_folder {
    uint32_t id, parent;
    size_t name; /* offset in names */
} hfs_folder;

typedef struct cat_rec {
    uint32_t parent;
    const unsigned char *name; /* UTF-16BE */
    unsigned nlen;
    const unsigned char *data;
    size_t dlen;
    int type;
} cat_rec;

struct cs_hfs {
    cs_hfs_read_fn rd;
    void *ctx;
    uint64_t vol_size, vol_blocks;
    uint32_t bs;
    int journaled;
    hfs_tree ext, cat;
    unsigned char *iter_buf, *scan_buf, *ext_buf, *visited;
    hfs_walk iter;
    int iter_state; /* 0 going, 1 ended, -1 failed */
    char iter_why[256];
    hfs_folder *folders;
    size_t n_folders, cap_folders;
    char *names;
    size_t names_len, names_cap;
    uint32_t priv_files, priv_dirs; /* the hidden metadata folders, 0 if none */
    char *path, *lpath;
    size_t path_cap, lpath_cap;
    int cache_valid;
    uint32_t cache_id;
    hfs_fork cache;
};

static const char priv_files_name[] = "\0\0\0\0HFS+ Private Data";
static const char priv_dirs_name[] = ".HFS+ Private Directory Data\r";

static int fail(char *why, size_t why_n, const char *fmt, ...) CS_PRINTF(3, 4);
static int fail(char *why, size_t why_n, const char *fmt, ...)
{
    if (why && why_n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint16_t be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ---- names ---- */

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (char)(0x80 | (c >> 6 & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* UTF-16BE name (n <= 255 units) to a path component in out[HFS_UTF8_MAX]:
 * '/' shown as ':' (as macOS does), no NUL, no "." or "..", never empty. */
static size_t name_utf8(const unsigned char *p, unsigned n, char *out)
{
    size_t o = 0;
    for (unsigned i = 0; i < n; i++) {
        uint32_t c = be16(p + 2 * i);
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
            uint32_t lo = be16(p + 2 * i + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xD800 && c < 0xE000) {
            c = 0xFFFD;
        } else if (c == 0) {
            c = 0xFFFD;
        } else if (c == '/') {
            c = ':';
        }
        o += put_utf8(out + o, c);
    }
    if (o == 0 || (o == 1 && out[0] == '.') || (o == 2 && out[0] == '.' && out[1] == '.')) {
        size_t dots = o;
        o = 0;
        for (size_t i = 0; i < (dots ? dots : 1); i++)
            o += put_utf8(out + o, 0xFFFD);
    }
    out[o] = 0;
    return o;
}

/* Is the UTF-16BE name exactly the ASCII bytes s[0..sn) (NULs included)? */
static int name_is(const unsigned char *p, unsigned n, const char *s, size_t sn)
{
    if (n != sn)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (be16(p + 2 * i) != (unsigned char)s[i])
            return 0;
    return 1;
}

/* ---- forks ---- */

static void fork_add(cs_hfs *h, hfs_fork *f, const unsigned char *ext, uint64_t *blocks)
{
    for (int i = 0; i < 8 && !f->why[0]; i++) {
        uint32_t start = be32(ext + 8 * i), count = be32(ext + 8 * i + 4);
        if (count == 0)
            break;
        if ((uint64_t)start + count > h->vol_blocks) {
            snprintf(f->why, sizeof f->why,
                     "extent of blocks %u..%llu lies past the end of the volume (%llu blocks of %u bytes)", start,
                     (unsigned long long)start + count - 1, (unsigned long long)h->vol_blocks, h->bs);
            break;
        }
        if (*blocks + count > h->vol_blocks) {
            snprintf(f->why, sizeof f->why, "extents add up to more blocks than the volume has (%llu)",
                     (unsigned long long)h->vol_blocks);
            break;
        }
        cs_grow((void **)&f->ext, &f->cap, f->n + 1, sizeof *f->ext);
        f->ext[f->n++] = (hfs_ext){start, count, *blocks};
        *blocks += count;
    }
}

static int ext_find(cs_hfs *h, uint32_t id, unsigned fork_type, uint32_t start, unsigned char out[64], char *why,
                    size_t why_n);

/* The extents of fork fd (HFSPlusForkData, 80 bytes) of file id: the eight
 * in the record, then overflow records keyed (id, fork_type, first block)
 * until the fork's size is covered. Never fails: where the extents stop
 * short, f->why says why and reads past f->covered fail with it. */
static void fork_load(cs_hfs *h, uint32_t id, unsigned fork_type, const unsigned char *fd, hfs_fork *f)
{
    f->n = 0;
    f->why[0] = 0;
    f->size = be64(fd);
    uint64_t need = f->size / h->bs + (f->size % h->bs != 0), blocks = 0;
    fork_add(h, f, fd + 16, &blocks);
    for (unsigned k = 0; blocks < need && !f->why[0]; k++) {
        unsigned char rec[64];
        char why[160];
        if (k >= HFS_MAX_OVERFLOW) {
            snprintf(f->why, sizeof f->why, "more than %u extents overflow records", HFS_MAX_OVERFLOW);
            break;
        }
        if (id == 3 || h->ext.total_nodes == 0) { /* the extents file cannot use itself */
            snprintf(f->why, sizeof f->why, "its extents cover %llu of %llu blocks and there is no overflow extent",
                     (unsigned long long)blocks, (unsigned long long)need);
            break;
        }
        int r = ext_find(h, id, fork_type, (uint32_t)blocks, rec, why, sizeof why);
        if (r <= 0 || blocks > UINT32_MAX) {
            snprintf(f->why, sizeof f->why, "no overflow extents for its block %llu (of %llu)%s%.100s",
                     (unsigned long long)blocks, (unsigned long long)need, r < 0 ? ": " : "", r < 0 ? why : "");
            break;
        }
        uint64_t before = blocks;
        fork_add(h, f, rec, &blocks);
        if (blocks == before && !f->why[0])
            snprintf(f->why, sizeof f->why, "the overflow record for its block %llu is empty",
                     (unsigned long long)blocks);
    }
    f->covered = blocks * h->bs;
    if (f->covered >= f->size)
        f->why[0] = 0; /* damage past the fork's end does not matter */
}

/* Read up to n bytes at off of fork f: the count, or -1 when the bytes lie
 * past the extents or the volume read fails. */
static long fork_read(cs_hfs *h, const hfs_fork *f, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    if (off >= f->size)
        return 0;
    if (n > (size_t)LONG_MAX)
        n = (size_t)LONG_MAX;
    if (n > f->size - off)
        n = (size_t)(f->size - off);
    size_t done = 0;
    while (done < n) {
        uint64_t pos = off + done, blk = pos / h->bs;
        if (pos >= f->covered)
            return fail(why, why_n, "byte %llu of %llu lies past the fork's extents: %s", (unsigned long long)pos,
                        (unsigned long long)f->size,
                        f->why[0] ? f->why : "they end there");
        size_t lo = 0, hi = f->n;
        while (hi - lo > 1) { /* the last extent whose first block <= blk */
            size_t mid = (lo + hi) / 2;
            if (f->ext[mid].first <= blk)
                lo = mid;
            else
                hi = mid;
        }
        const hfs_ext *e = &f->ext[lo];
        uint64_t phys = ((uint64_t)e->start + (blk - e->first)) * h->bs + pos % h->bs;
        uint64_t left = (e->first + e->count) * h->bs - pos;
        size_t chunk = n - done < left ? n - done : (size_t)left;
        if (phys + chunk > h->vol_size)
            return fail(why, why_n, "read past the end of the volume");
        if (h->rd(h->ctx, phys, (unsigned char *)buf + done, chunk, why, why_n) != 0)
            return -1;
        done += chunk;
    }
    return (long)done;
}

/* ---- B-tree nodes ---- */

/* Read node n of t into buf and check its descriptor and record offsets. */
static int node_load(cs_hfs *h, hfs_tree *t, uint32_t n, unsigned char *buf, char *why, size_t why_n)
{
    if (n >= t->total_nodes)
        return fail(why, why_n, "%s B-tree: node %u past the tree's %u nodes", t->name, n, t->total_nodes);
    char w[200];
    long got = fork_read(h, &t->fork, (uint64_t)n * t->node_size, buf, t->node_size, w, sizeof w);
    if (got != (long)t->node_size)
        return fail(why, why_n, "%s B-tree: node %u: %s", t->name, n, got < 0 ? w : "short read");
    unsigned nrec = be16(buf + 10), ns = t->node_size;
    if (14 + 2 * (nrec + 1) > ns)
        return fail(why, why_n, "%s B-tree: node %u: %u records do not fit", t->name, n, nrec);
    unsigned table = ns - 2 * (nrec + 1), prev = 14;
    for (unsigned i = 0; i <= nrec; i++) {
        unsigned off = be16(buf + ns - 2 * (i + 1));
        if (off < prev || off > table || (i < nrec && off == table) || (i > 0 && off == prev))
            return fail(why, why_n, "%s B-tree: node %u: record %u offset %u outside the node's records (%u..%u)",
                        t->name, n, i, off, prev, table);
        prev = off;
    }
    return 0;
}

static int node_kind(const unsigned char *buf)
{
    return (int)(signed char)buf[8];
}

static const unsigned char *node_rec(const hfs_tree *t, const unsigned char *buf, unsigned i, size_t *len)
{
    unsigned ns = t->node_size, off = be16(buf + ns - 2 * (i + 1)), end = be16(buf + ns - 2 * (i + 2));
    *len = end - off;
    return buf + off;
}

/* Key of a record: its data offset (2-byte aligned) or 0 when the key
 * does not fit. Index records use maxKeyLength when keys are fixed. */
static size_t key_end(const hfs_tree *t, const unsigned char *rec, size_t len, int index, unsigned min_key)
{
    if (len < 2)
        return 0;
    unsigned klen = be16(rec);
    if (klen < min_key || klen > t->max_key)
        return 0;
    size_t d = 2 + (size_t)(index && !(t->attrs & BT_VARIABLE_INDEX_KEYS) ? t->max_key : klen);
    d = (d + 1) & ~(size_t)1;
    return d <= len ? d : 0;
}

static int cat_parse(const hfs_tree *t, const unsigned char *rec, size_t len, int index, uint32_t node, cat_rec *c,
                     char *why, size_t why_n)
{
    size_t d = key_end(t, rec, len, index, 6);
    if (!d)
        return fail(why, why_n, "catalog B-tree: node %u: a key does not fit its record or maxKeyLength %u", node,
                    t->max_key);
    c->parent = be32(rec + 2);
    c->nlen = be16(rec + 6);
    if (c->nlen > HFS_NAME_MAX || 6 + 2 * (size_t)c->nlen > be16(rec))
        return fail(why, why_n, "catalog B-tree: node %u: a name of %u units does not fit its key", node, c->nlen);
    c->name = rec + 8;
    c->data = rec + d;
    c->dlen = len - d;
    c->type = c->dlen >= 2 ? (int)(int16_t)be16(c->data) : 0;
    return 0;
}

/* Descend from the root to a leaf: at each index node the child of the last
 * record that goes_before(key) says precedes the target (else the first).
 * Each level's node must be an index node of the expected height. */
typedef int (*goes_before_fn)(const unsigned char *rec, size_t len, const void *target);

static int descend(cs_hfs *h, hfs_tree *t, unsigned char *buf, goes_before_fn goes_before, const void *target,
                   uint32_t *leaf, char *why, size_t why_n)
{
    uint32_t node = t->root;
    for (uint32_t level = t->depth; level > 1; level--) {
        if (node_load(h, t, node, buf, why, why_n) != 0)
            return -1;
        if (node_kind(buf) != NODE_INDEX || buf[9] != level)
            return fail(why, why_n, "%s B-tree: node %u is not an index node of height %u", t->name, node, level);
        unsigned nrec = be16(buf + 10);
        if (nrec == 0)
            return fail(why, why_n, "%s B-tree: index node %u is empty", t->name, node);
        uint32_t child = 0;
        for (unsigned i = 0; i < nrec; i++) {
            size_t len;
            const unsigned char *rec = node_rec(t, buf, i, &len);
            size_t d = key_end(t, rec, len, 1, 6);
            if (!d || len - d < 4)
                return fail(why, why_n, "%s B-tree: index node %u: record %u is malformed", t->name, node, i);
            if (i > 0 && !goes_before(rec, d, target))
                break;
            child = be32(rec + d);
        }
        node = child;
    }
    *leaf = node;
    return 0;
}

static void walk_init(hfs_walk *w, hfs_tree *t, unsigned char *buf, uint32_t start, unsigned char *visited)
{
    *w = (hfs_walk){.t = t, .buf = buf, .start = start, .visited = visited};
}

/* Next record along the leaf chain: 1, 0 at its end, -1 (damage). */
static int walk_next(cs_hfs *h, hfs_walk *w, const unsigned char **rec, size_t *len, char *why, size_t why_n)
{
    hfs_tree *t = w->t;
    while (w->rec >= w->nrec) {
        uint32_t next = w->started ? be32(w->buf) : w->start;
        if (next == 0)
            return 0;
        if (w->visited) {
            if (next < t->total_nodes && (w->visited[next / 8] >> (next % 8) & 1))
                return fail(why, why_n, "%s B-tree: leaf chain loops at node %u", t->name, next);
        } else if (++w->steps > t->total_nodes) {
            return fail(why, why_n, "%s B-tree: leaf chain loops at node %u", t->name, next);
        }
        if (node_load(h, t, next, w->buf, why, why_n) != 0)
            return -1;
        if (w->visited)
            w->visited[next / 8] |= (unsigned char)(1u << (next % 8));
        if (node_kind(w->buf) != NODE_LEAF || w->buf[9] != 1)
            return fail(why, why_n, "%s B-tree: node %u in the leaf chain is not a leaf", t->name, next);
        w->node = next;
        w->rec = 0;
        w->nrec = be16(w->buf + 10);
        w->started = 1;
    }
    if (++w->records > HFS_MAX_RECORDS)
        return fail(why, why_n, "%s B-tree: more than %u leaf records (limit)", t->name, HFS_MAX_RECORDS);
    *rec = node_rec(t, w->buf, w->rec++, len);
    return 1;
}

/* ---- the extents overflow tree ---- */

typedef struct ext_key {
    uint32_t id, start;
    unsigned type;
} ext_key;

static int ext_cmp(const unsigned char *rec, const ext_key *k)
{
    uint32_t id = be32(rec + 4), start = be32(rec + 8);
    unsigned type = rec[2];
    if (id != k->id)
        return id < k->id ? -1 : 1;
    if (type != k->type)
        return type < k->type ? -1 : 1;
    return start < k->start ? -1 : start > k->start;
}

static int ext_goes_before(const unsigned char *rec, size_t len, const void *target)
{
    return len >= 12 && be16(rec) >= 10 && ext_cmp(rec, target) <= 0;
}

/* The overflow record keyed exactly (id, type, start): 1 with its eight
 * extents in out, 0 when absent, -1. */
static int ext_find(cs_hfs *h, uint32_t id, unsigned fork_type, uint32_t start, unsigned char out[64], char *why,
                    size_t why_n)
{
    hfs_tree *t = &h->ext;
    ext_key k = {id, start, fork_type};
    uint32_t leaf = 0; /* set by descend; gcc -O3 cannot tell */
    if (t->root == 0)
        return 0;
    if (descend(h, t, h->ext_buf, ext_goes_before, &k, &leaf, why, why_n) != 0 ||
        node_load(h, t, leaf, h->ext_buf, why, why_n) != 0)
        return -1;
    if (node_kind(h->ext_buf) != NODE_LEAF)
        return fail(why, why_n, "extents overflow B-tree: node %u is not a leaf", leaf);
    for (unsigned i = 0, n = be16(h->ext_buf + 10); i < n; i++) {
        size_t len;
        const unsigned char *rec = node_rec(t, h->ext_buf, i, &len);
        size_t d = key_end(t, rec, len, 0, 10);
        if (!d || be16(rec) != 10 || len - d < 64)
            return fail(why, why_n, "extents overflow B-tree: node %u: record %u is malformed", leaf, i);
        if (ext_cmp(rec, &k) == 0) {
            memcpy(out, rec + d, 64);
            return 1;
        }
    }
    return 0;
}

/* ---- the catalog ---- */

static int cat_goes_before(const unsigned char *rec, size_t len, const void *target)
{
    return len >= 6 && be32(rec + 2) < *(const uint32_t *)target;
}

/* Visit each catalog leaf record of folder parent (key order) until visit
 * returns nonzero: its value (1 found, -1 error), 0 when none did. */
typedef int (*cat_visit_fn)(cs_hfs *h, const cat_rec *c, void *arg);

static int cat_scan(cs_hfs *h, uint32_t parent, cat_visit_fn visit, void *arg, char *why, size_t why_n)
{
    hfs_tree *t = &h->cat;
    uint32_t leaf = 0;
    if (t->root == 0)
        return 0;
    if (descend(h, t, h->scan_buf, cat_goes_before, &parent, &leaf, why, why_n) != 0)
        return -1;
    hfs_walk w;
    walk_init(&w, t, h->scan_buf, leaf, NULL);
    const unsigned char *rec = NULL;
    size_t len = 0;
    int r;
    while ((r = walk_next(h, &w, &rec, &len, why, why_n)) > 0) {
        cat_rec c;
        if (cat_parse(t, rec, len, 0, w.node, &c, why, why_n) != 0)
            return -1;
        if (c.parent > parent)
            return 0;
        if (c.parent == parent && (r = visit(h, &c, arg)) != 0)
            return r;
    }
    return r;
}

typedef struct find_name {
    const char *name;
    int type;
    unsigned char data[HFS_FILE_REC];
} find_name;

static int visit_name(cs_hfs *h, const cat_rec *c, void *arg)
{
    (void)h;
    find_name *f = arg;
    size_t need = f->type == REC_FILE ? HFS_FILE_REC : HFS_FOLDER_REC;
    char u[HFS_UTF8_MAX];
    if (c->type != f->type || c->dlen < need)
        return 0;
    name_utf8(c->name, c->nlen, u);
    if (strcmp(u, f->name) != 0)
        return 0;
    memcpy(f->data, c->data, need);
    return 1;
}

typedef struct find_id {
    uint32_t id, parent;
    int type; /* REC_FILE_THREAD then REC_FILE */
    int folder; /* a folder thread has this ID */
    unsigned char data[HFS_FILE_REC];
} find_id;

static int visit_id(cs_hfs *h, const cat_rec *c, void *arg)
{
    (void)h;
    find_id *f = arg;
    if (f->type == REC_FILE_THREAD) {
        if (c->type == REC_FOLDER_THREAD)
            f->folder = 1; /* a damaged catalog may reuse it for a file too: go on */
        if (c->type != REC_FILE_THREAD || c->dlen < 8)
            return 0;
        f->parent = be32(c->data + 4);
        return 1;
    }
    if (c->type != REC_FILE || c->dlen < HFS_FILE_REC || be32(c->data + 8) != f->id)
        return 0;
    memcpy(f->data, c->data, HFS_FILE_REC);
    return 1;
}

/* The folder map: sorted by ID once the catalog is read. */
static const hfs_folder *folder_get(const cs_hfs *h, uint32_t id)
{
    size_t lo = 0, hi = h->n_folders;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->folders[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->n_folders && h->folders[lo].id == id ? &h->folders[lo] : NULL;
}

static int folder_cmp(const void *a, const void *b)
{
    const hfs_folder *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void folder_add(cs_hfs *h, uint32_t id, uint32_t parent, const unsigned char *name, unsigned nlen)
{
    char u[HFS_UTF8_MAX];
    size_t n = name_utf8(name, nlen, u);
    cs_grow((void **)&h->names, &h->names_cap, h->names_len + n + 1, 1);
    memcpy(h->names + h->names_len, u, n + 1);
    cs_grow((void **)&h->folders, &h->cap_folders, h->n_folders + 1, sizeof *h->folders);
    h->folders[h->n_folders++] = (hfs_folder){id, parent, h->names_len};
    h->names_len += n + 1;
    if (parent == HFS_ROOT_ID && name_is(name, nlen, priv_files_name, sizeof priv_files_name - 1))
        h->priv_files = id;
    if (parent == HFS_ROOT_ID && name_is(name, nlen, priv_dirs_name, sizeof priv_dirs_name - 1))
        h->priv_dirs = id;
}

/* First pass over the leaves: folder ID -> (parent, name). Damage ends the
 * pass quietly; cs_hfs_next meets it again at the same place and says so. */
static void folders_read(cs_hfs *h)
{
    hfs_walk w;
    const unsigned char *rec;
    size_t len;
    char why[256];
    memset(h->visited, 0, (h->cat.total_nodes + 7) / 8);
    walk_init(&w, &h->cat, h->iter_buf, h->cat.first_leaf, h->visited);
    while (walk_next(h, &w, &rec, &len, why, sizeof why) > 0) {
        cat_rec c;
        if (cat_parse(&h->cat, rec, len, 0, w.node, &c, why, sizeof why) != 0)
            break;
        if (c.type == REC_FOLDER && c.dlen >= HFS_FOLDER_REC)
            folder_add(h, be32(c.data + 8), c.parent, c.name, c.nlen);
    }
    if (h->n_folders)
        qsort(h->folders, h->n_folders, sizeof *h->folders, folder_cmp);
}

static int is_journal_name(const cs_hfs *h, uint32_t parent, const char *name)
{
    return h->journaled && parent == HFS_ROOT_ID &&
           (strcmp(name, ".journal") == 0 || strcmp(name, ".journal_info_block") == 0);
}

/* Path of name in folder parent into h->path: 1, or 0 when it lies in a
 * hidden metadata folder. Unresolvable chains give a marked path. */
static int path_build(cs_hfs *h, uint32_t parent, const char *name)
{
    const hfs_folder *chain[HFS_MAX_CHAIN];
    size_t depth = 0;
    uint32_t id = parent, missing = 0;
    int loop = 0, orphan = 0;
    while (id != HFS_ROOT_ID) {
        if (id && (id == h->priv_files || id == h->priv_dirs))
            return 0;
        const hfs_folder *f = folder_get(h, id);
        if (!f) {
            missing = id;
            orphan = 1;
            break;
        }
        if (depth == HFS_MAX_CHAIN) {
            loop = 1;
            break;
        }
        chain[depth++] = f;
        id = f->parent;
    }
    char head[40] = "";
    size_t total = strlen(name) + 1;
    if (loop) {
        snprintf(head, sizeof head, "#loop-%u/", parent);
        depth = 0;
    } else if (orphan) {
        snprintf(head, sizeof head, "#orphan-%u/", missing);
    }
    total += strlen(head);
    for (size_t i = 0; i < depth; i++)
        total += strlen(h->names + chain[i]->name) + 1;
    cs_grow((void **)&h->path, &h->path_cap, total, 1);
    char *o = h->path;
    o += sprintf(o, "%s", head);
    for (size_t i = depth; i-- > 0;)
        o += sprintf(o, "%s/", h->names + chain[i]->name);
    strcpy(o, name);
    return 1;
}

/* Entry fields (not the path) from a file record's first 248 bytes; loads
 * the data fork into the cache. 0 for a directory hard link (not listed). */
static int entry_fill(cs_hfs *h, const unsigned char *f, cs_hfs_entry *e)
{
    uint32_t type = be32(f + 48), creator = be32(f + 52);
    if (type == FOURCC('f', 'd', 'r', 'p') && creator == FOURCC('M', 'A', 'C', 'S'))
        return 0;
    e->hard_link = type == FOURCC('h', 'l', 'n', 'k') && creator == FOURCC('h', 'f', 's', '+');
    int symlink = type == FOURCC('s', 'l', 'n', 'k') && creator == FOURCC('r', 'h', 'a', 'p');
    find_name target = {.type = REC_FILE};
    if (e->hard_link) {
        char inode[24];
        char why[200]; /* a damaged catalog: the link is reported unresolved */
        snprintf(inode, sizeof inode, "iNode%u", be32(f + 44));
        target.name = inode;
        if (!h->priv_files || cat_scan(h, h->priv_files, visit_name, &target, why, sizeof why) != 1) {
            e->id = 0; /* cs_hfs_read(0) says why */
            e->size = 0;
            e->mode = be16(f + 42);
            e->mtime = (int64_t)be32(f + 16) - HFS_EPOCH_DELTA;
            e->compressed = 0;
            e->kind = symlink ? CS_HFS_SYMLINK : CS_HFS_FILE;
            return 1;
        }
        f = target.data;
    }
    e->id = be32(f + 8);
    e->mode = be16(f + 42);
    e->mtime = (int64_t)be32(f + 16) - HFS_EPOCH_DELTA;
    e->compressed = (f[41] & 0x20) != 0;
    e->kind = symlink || (e->mode & 0170000) == 0120000 ? CS_HFS_SYMLINK : CS_HFS_FILE;
    fork_load(h, e->id, 0, f + 88, &h->cache);
    h->cache_id = e->id;
    h->cache_valid = 1;
    e->size = h->cache.size;
    return 1;
}

/* ---- public ---- */

int cs_hfs_probe(const unsigned char *first, size_t n)
{
    if (n < 1536)
        return 0;
    const unsigned char *v = first + 1024;
    return (v[0] == 'H' && v[1] == '+' && be16(v + 2) == 4) || (v[0] == 'H' && v[1] == 'X' && be16(v + 2) == 5);
}

static int tree_open(cs_hfs *h, hfs_tree *t, uint32_t id, const unsigned char *fd, int required, char *why,
                     size_t why_n)
{
    unsigned char hdr[14 + 106];
    char w[200];
    fork_load(h, id, 0, fd, &t->fork);
    if (t->fork.size == 0 && !required)
        return 0; /* no overflow extents at all */
    long got = fork_read(h, &t->fork, 0, hdr, sizeof hdr, w, sizeof w);
    if (got != (long)sizeof hdr)
        return fail(why, why_n, "%s file: %s", t->name, got < 0 ? w : "too small for a B-tree header");
    const unsigned char *r = hdr + 14;
    t->depth = be16(r);
    t->root = be32(r + 2);
    t->first_leaf = be32(r + 10);
    t->node_size = be16(r + 18);
    t->max_key = be16(r + 20);
    t->total_nodes = be32(r + 22);
    t->attrs = be32(r + 38);
    unsigned ns = t->node_size;
    if (ns < 512 || ns > 32768 || (ns & (ns - 1)))
        return fail(why, why_n, "%s B-tree: node size %u (want a power of two, 512..32768)", t->name, ns);
    if (t->total_nodes == 0 || t->total_nodes > HFS_MAX_NODES ||
        (uint64_t)t->total_nodes * ns > t->fork.size)
        return fail(why, why_n, "%s B-tree: %u nodes of %u bytes do not fit its %llu-byte file (or pass %u)",
                    t->name, t->total_nodes, ns, (unsigned long long)t->fork.size, HFS_MAX_NODES);
    if ((uint64_t)t->total_nodes * ns > t->fork.covered)
        return fail(why, why_n, "%s file: %s", t->name, t->fork.why[0] ? t->fork.why : "extents too short");
    if (t->depth > HFS_MAX_TREE_DEPTH || t->root >= t->total_nodes || t->first_leaf >= t->total_nodes ||
        (t->root == 0) != (t->depth == 0))
        return fail(why, why_n, "%s B-tree: depth %u, root node %u, first leaf %u (of %u nodes) are inconsistent",
                    t->name, t->depth, t->root, t->first_leaf, t->total_nodes);
    if (!(t->attrs & BT_BIG_KEYS) || t->max_key < (id == 3 ? 10u : 6u) || t->max_key > 516)
        return fail(why, why_n, "%s B-tree: attributes %#x and maxKeyLength %u are not HFS+'s", t->name, t->attrs,
                    t->max_key);
    unsigned char *buf = cs_xmalloc(ns);
    int rc = node_load(h, t, 0, buf, why, why_n);
    if (rc == 0 && node_kind(buf) != NODE_HEADER)
        rc = fail(why, why_n, "%s B-tree: node 0 is not a header node", t->name);
    free(buf);
    return rc;
}

int cs_hfs_open(cs_hfs_read_fn rd, void *ctx, uint64_t volume_size, cs_hfs **out, char *why, size_t why_n)
{
    unsigned char v[512];
    *out = NULL;
    if (volume_size < 1536)
        return fail(why, why_n, "not HFS+: %llu bytes are too few for a volume header",
                    (unsigned long long)volume_size);
    if (rd(ctx, 1024, v, sizeof v, why, why_n) != 0)
        return -1;
    int plus = v[0] == 'H' && v[1] == '+', x = v[0] == 'H' && v[1] == 'X';
    if (!plus && !x) {
        if (v[0] == 'B' && v[1] == 'D' && v[124] == 'H' && v[125] == '+')
            return fail(why, why_n, "an HFS volume wrapping an HFS+ volume (not supported)");
        return fail(why, why_n, "not HFS+ or HFSX: no 'H+'/'HX' signature at offset 1024");
    }
    if (be16(v + 2) != (plus ? 4 : 5))
        return fail(why, why_n, "%s volume header: version %u (want %u)", plus ? "HFS+" : "HFSX", be16(v + 2),
                    plus ? 4 : 5);
    uint32_t bs = be32(v + 40);
    if (bs < 512 || bs > (1u << 20) || (bs & (bs - 1)))
        return fail(why, why_n, "HFS+ volume header: block size %u (want a power of two, 512..1 MiB)", bs);

    cs_hfs *h = cs_xmalloc(sizeof *h);
    memset(h, 0, sizeof *h);
    h->rd = rd;
    h->ctx = ctx;
    h->vol_size = volume_size;
    h->bs = bs;
    h->vol_blocks = volume_size / bs;
    h->journaled = (be32(v + 4) & 0x2000) != 0;
    h->ext.name = "extents overflow";
    h->cat.name = "catalog";
    h->ext_buf = cs_xmalloc(32768);
    if (tree_open(h, &h->ext, 3, v + 0xC0, 0, why, why_n) != 0 || tree_open(h, &h->cat, 4, v + 0x110, 1, why, why_n) != 0) {
        cs_hfs_close(h);
        return -1;
    }
    h->iter_buf = cs_xmalloc(h->cat.node_size);
    h->scan_buf = cs_xmalloc(h->cat.node_size);
    h->visited = cs_xmalloc((h->cat.total_nodes + 7) / 8);
    folders_read(h);
    memset(h->visited, 0, (h->cat.total_nodes + 7) / 8);
    walk_init(&h->iter, &h->cat, h->iter_buf, h->cat.root ? h->cat.first_leaf : 0, h->visited);
    *out = h;
    return 0;
}

int cs_hfs_next(cs_hfs *h, cs_hfs_entry *e, char *why, size_t why_n)
{
    for (;;) {
        if (h->iter_state > 0)
            return 0;
        if (h->iter_state < 0)
            return fail(why, why_n, "%s", h->iter_why);
        const unsigned char *rec;
        size_t len;
        cat_rec c;
        int r = walk_next(h, &h->iter, &rec, &len, h->iter_why, sizeof h->iter_why);
        if (r == 0) {
            h->iter_state = 1;
            continue;
        }
        if (r < 0 || cat_parse(&h->cat, rec, len, 0, h->iter.node, &c, h->iter_why, sizeof h->iter_why) != 0) {
            h->iter_state = -1;
            continue;
        }
        if (c.type != REC_FILE)
            continue;
        if (c.dlen < HFS_FILE_REC) {
            snprintf(h->iter_why, sizeof h->iter_why, "catalog B-tree: node %u: a file record of %zu bytes",
                     h->iter.node, c.dlen);
            h->iter_state = -1;
            continue;
        }
        unsigned char f[HFS_FILE_REC];
        char name[HFS_UTF8_MAX];
        memcpy(f, c.data, sizeof f);
        name_utf8(c.name, c.nlen, name);
        if (is_journal_name(h, c.parent, name) || !path_build(h, c.parent, name))
            continue;
        memset(e, 0, sizeof *e);
        if (!entry_fill(h, f, e))
            continue;
        e->path = h->path;
        return 1;
    }
}

long cs_hfs_read(cs_hfs *h, uint32_t id, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    if (id == 0)
        return fail(why, why_n, "file ID 0: a hard link whose target is missing from the catalog");
    if (!h->cache_valid || h->cache_id != id) {
        find_id f = {.id = id, .type = REC_FILE_THREAD};
        int r = cat_scan(h, id, visit_id, &f, why, why_n);
        if (r == 1) {
            f.type = REC_FILE;
            r = cat_scan(h, f.parent, visit_id, &f, why, why_n);
        }
        if (r == -1)
            return -1;
        if (r != 1)
            return fail(why, why_n, "file ID %u: %s", id, f.folder ? "a folder" : "not in the catalog");
        h->cache_valid = 0;
        fork_load(h, id, 0, f.data + 88, &h->cache);
        h->cache_id = id;
        h->cache_valid = 1;
    }
    char w[240];
    long got = fork_read(h, &h->cache, off, buf, n, w, sizeof w);
    if (got < 0)
        return fail(why, why_n, "file ID %u: %s", id, w);
    return got;
}

int cs_hfs_lookup(cs_hfs *h, const char *path, cs_hfs_entry *e, char *why, size_t why_n)
{
    size_t plen = strlen(path);
    if (plen == 0 || path[0] == '/' || path[plen - 1] == '/' || strstr(path, "//"))
        return 0;
    uint32_t cur = HFS_ROOT_ID;
    const char *p = path;
    find_name fn;
    for (int depth = 0;; depth++) {
        size_t n = strcspn(p, "/");
        char comp[HFS_UTF8_MAX];
        if (n >= sizeof comp || depth >= HFS_MAX_CHAIN)
            return 0;
        memcpy(comp, p, n);
        comp[n] = 0;
        fn = (find_name){.name = comp, .type = p[n] ? REC_FOLDER : REC_FILE};
        int r = cat_scan(h, cur, visit_name, &fn, why, why_n);
        if (r != 1)
            return r < 0 ? -1 : 0;
        if (!p[n]) {
            if (is_journal_name(h, cur, comp))
                return 0;
            break;
        }
        cur = be32(fn.data + 8);
        if ((h->priv_files && cur == h->priv_files) || (h->priv_dirs && cur == h->priv_dirs))
            return 0;
        p += n + 1;
    }
    memset(e, 0, sizeof *e);
    if (!entry_fill(h, fn.data, e))
        return 0;
    cs_grow((void **)&h->lpath, &h->lpath_cap, plen + 1, 1);
    memcpy(h->lpath, path, plen + 1);
    e->path = h->lpath;
    return 1;
}

void cs_hfs_close(cs_hfs *h)
{
    if (!h)
        return;
    free(h->ext.fork.ext);
    free(h->cat.fork.ext);
    free(h->cache.ext);
    free(h->iter_buf);
    free(h->scan_buf);
    free(h->ext_buf);
    free(h->visited);
    free(h->folders);
    free(h->names);
    free(h->path);
    free(h->lpath);
    free(h);
}
