#include "format/asar.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define ASAR_MAX_DEPTH 256            /* nested folders; jansson's own limit is 2048 */
#define ASAR_MAX_HEADER (256u << 20)  /* JSON text; real headers are a few MB */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The JSON text: [8 + 8, 8 + 8 + json_len), inside the header pickle. */
static int header_text(const unsigned char *d, size_t n, const char **json, size_t *json_len, uint64_t *base)
{
    if (n < 16 || le32(d) != 4)
        return -1;
    uint64_t header_size = le32(d + 4), payload = le32(d + 8), len = le32(d + 12);
    if (header_size < 8 || 8 + header_size > n || payload + 4 > header_size || len + 4 > payload ||
        len > ASAR_MAX_HEADER)
        return -1;
    *json = (const char *)d + 16;
    *json_len = (size_t)len;
    *base = 8 + header_size;
    return 0;
}

int cs_asar_probe(const unsigned char *d, size_t n)
{
    const char *json;
    size_t len;
    uint64_t base;
    if (header_text(d, n, &json, &len, &base) != 0)
        return 0;
    static const char start[] = "{\"files\":";
    return len >= sizeof start - 1 && memcmp(json, start, sizeof start - 1) == 0 ? 2 : 1;
}

typedef struct walk_ctx {
    const unsigned char *d;
    size_t n;
    uint64_t base;
    cs_asar_entry_fn fn;
    void *ctx;
    cs_buf path;
} walk_ctx;

static int hex32(const char *s, unsigned char out[32])
{
    return s && strlen(s) == 64 && cs_unhex(out, s, 32) == 0 ? 0 : -1;
}

/* "integrity": {"algorithm": "SHA256", "hash": hex, "blockSize": N, "blocks": [hex...]} */
static const char *read_integrity(json_t *in, cs_asar_entry *e, unsigned char (**blocks)[32])
{
    const char *alg = json_string_value(json_object_get(in, "algorithm"));
    if (!alg || strcmp(alg, "SHA256") != 0)
        return "integrity: algorithm is not SHA256";
    if (hex32(json_string_value(json_object_get(in, "hash")), e->sha256) != 0)
        return "integrity: hash is not 64 hex digits";
    json_t *bs = json_object_get(in, "blockSize"), *bl = json_object_get(in, "blocks");
    if (bs || bl) {
        if (!json_is_integer(bs) || json_integer_value(bs) <= 0 || !json_is_array(bl))
            return "integrity: bad blockSize or blocks";
        e->block_size = (uint64_t)json_integer_value(bs);
        size_t nb = json_array_size(bl);
        /* one hash per block, at least one (an empty file has one) */
        uint64_t want = e->size ? (e->size + e->block_size - 1) / e->block_size : 1;
        if (nb != want)
            return "integrity: the number of block hashes does not match the size";
        *blocks = cs_xmalloc(nb * sizeof **blocks);
        for (size_t i = 0; i < nb; i++)
            if (hex32(json_string_value(json_array_get(bl, i)), (*blocks)[i]) != 0)
                return "integrity: a block hash is not 64 hex digits";
        e->n_blocks = nb;
        e->blocks = (const unsigned char (*)[32]) * blocks;
    }
    e->has_integrity = 1;
    return NULL;
}

static int emit_file(walk_ctx *w, json_t *node)
{
    cs_asar_entry e = {0};
    unsigned char (*blocks)[32] = NULL;
    e.path = w->path.data;
    json_t *link = json_object_get(node, "link");
    if (link) {
        e.link = json_string_value(link);
        if (!e.link)
            e.error = "link target is not a string";
        int stop = w->fn(w->ctx, &e);
        return stop;
    }
    e.unpacked = json_is_true(json_object_get(node, "unpacked"));
    e.executable = json_is_true(json_object_get(node, "executable"));
    json_t *size = json_object_get(node, "size"), *off = json_object_get(node, "offset");
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        e.error = "size missing or not a non-negative integer";
    } else {
        e.size = (uint64_t)json_integer_value(size);
        /* writers store the offset as a decimal string (JavaScript numbers
         * stop at 2^53); accept an integer too */
        uint64_t o = 0;
        int ok = 0;
        if (json_is_string(off)) {
            const char *s = json_string_value(off);
            char *end;
            o = strtoull(s, &end, 10);
            ok = *s >= '0' && *s <= '9' && !*end;
        } else if (json_is_integer(off) && json_integer_value(off) >= 0) {
            o = (uint64_t)json_integer_value(off);
            ok = 1;
        }
        if (e.unpacked) {
            ok = 1; /* no offset: the bytes are outside */
        } else if (!ok) {
            e.error = "offset missing or not a number";
        } else if (o > w->n - w->base || e.size > w->n - w->base - o) {
            e.error = "data lies past the end of the archive";
            ok = 0;
        }
        if (ok && !e.unpacked)
            e.offset = w->base + o;
        json_t *in = json_object_get(node, "integrity");
        if (!e.error && in) {
            const char *bad = read_integrity(in, &e, &blocks);
            if (bad) {
                e.has_integrity = 0;
                e.n_blocks = 0;
                e.blocks = NULL;
                e.error = bad;
            }
        }
    }
    int stop = w->fn(w->ctx, &e);
    free(blocks);
    return stop;
}

static int walk_dir(walk_ctx *w, json_t *files, int depth, char *why, size_t why_n)
{
    if (!json_is_object(files)) {
        snprintf(why, why_n, "asar header: \"files\" of %s is not an object", w->path.len ? w->path.data : "the root");
        return -1;
    }
    if (depth > ASAR_MAX_DEPTH) {
        snprintf(why, why_n, "asar header: folders nested deeper than %d", ASAR_MAX_DEPTH);
        return -1;
    }
    const char *name;
    json_t *node;
    size_t keep = w->path.len;
    json_object_foreach(files, name, node)
    {
        w->path.len = keep;
        if (w->path.data)
            w->path.data[keep] = '\0';
        if (keep)
            cs_buf_puts(&w->path, "/");
        cs_buf_puts(&w->path, name);
        int rc;
        if (!json_is_object(node)) {
            cs_asar_entry e = {0};
            e.path = w->path.data;
            e.error = "entry is not an object";
            rc = w->fn(w->ctx, &e) ? 1 : 0;
        } else if (json_object_get(node, "files")) {
            rc = walk_dir(w, json_object_get(node, "files"), depth + 1, why, why_n);
        } else {
            rc = emit_file(w, node) ? 1 : 0;
        }
        if (rc)
            return rc;
    }
    w->path.len = keep;
    if (w->path.data)
        w->path.data[keep] = '\0';
    return 0;
}

int cs_asar_walk(const unsigned char *d, size_t n, cs_asar_entry_fn fn, void *ctx, char *why, size_t why_n)
{
    const char *json;
    size_t len;
    walk_ctx w = {d, n, 0, fn, ctx, {0}};
    if (header_text(d, n, &json, &len, &w.base) != 0) {
        snprintf(why, why_n, "asar header: pickle sizes do not fit the file");
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(why, why_n, "asar header: JSON: %s (at byte %d)", jerr.text, jerr.position);
        return -1;
    }
    int rc = walk_dir(&w, json_object_get(root, "files"), 0, why, why_n);
    json_decref(root);
    cs_buf_free(&w.path);
    return rc < 0 ? -1 : 0;
}
