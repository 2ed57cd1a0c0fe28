/* The public similarity API (include/chainsweep/similarity.h) over the
 * index (format/simdb.c) and the digest (format/tlsh.c). Every entry point
 * runs inside a guard: out of memory is CS_ERR_NOMEM, never abort(). */
#include "chainsweep/similarity.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "format/ioc.h"
#include "format/simdb.h"
#include "format/tlsh.h"
#include "util/digest.h"
#include "util/guard.h"
#include "util/util.h"

#define GUARDED(err, body)                                                                                    \
    do {                                                                                                      \
        cs_guard g_;                                                                                          \
        cs_guard_enter(&g_);                                                                                  \
        if (sigsetjmp(g_.jb, 1) == 0) {                                                                       \
            body;                                                                                             \
        } else {                                                                                              \
            rc = cs_error_set(err, g_.why == CS_GUARD_NOMEM ? CS_ERR_NOMEM : CS_ERR_IO, "%s",                 \
                              cs_guard_message(g_.why));                                                      \
        }                                                                                                     \
        cs_guard_leave(&g_);                                                                                  \
    } while (0)

cs_status cs_sim_digest_file(const char *path, char tlsh[CS_SIM_TLSH_CHARS + 1], char sha256[65], cs_error *err)
{
    tlsh[0] = sha256[0] = '\0';
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, CS_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cs_error_set(err, CS_ERR_IO, "%s: not a regular file", path);
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, cs_md_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        close(fd);
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    }
    cs_tlsh t;
    cs_tlsh_init(&t);
    unsigned char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        cs_tlsh_update(&t, buf, (size_t)n);
        EVP_DigestUpdate(md, buf, (size_t)n);
    }
    int read_errno = errno;
    close(fd);
    unsigned char d[32];
    unsigned len = 0;
    int ok = EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    if (n < 0)
        return cs_error_set(err, CS_ERR_IO, "%s: %s", path, strerror(read_errno));
    if (!ok)
        return cs_error_set(err, CS_ERR_INTERNAL, "%s: SHA-256 failed", path);
    cs_hex(sha256, d, 32);
    cs_tlsh_digest td;
    if (cs_tlsh_final(&t, 0, &td) == 0)
        cs_tlsh_format(&td, tlsh);
    return CS_OK;
}

struct cs_sim_builder {
    cs_simdb_builder *b;
};

cs_status cs_sim_builder_new(cs_sim_builder **out, cs_error *err)
{
    volatile cs_status rc = CS_OK;
    *out = NULL;
    GUARDED(err, {
        cs_sim_builder *sb = cs_xmalloc(sizeof *sb);
        sb->b = cs_simdb_builder_new();
        *out = sb;
    });
    return rc;
}

void cs_sim_builder_free(cs_sim_builder *b)
{
    if (b) {
        cs_simdb_builder_free(b->b);
        free(b);
    }
}

size_t cs_sim_builder_count(const cs_sim_builder *b)
{
    return cs_simdb_builder_count(b->b);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

cs_status cs_sim_builder_add(cs_sim_builder *b, const cs_sim_ref *r, cs_error *err)
{
    cs_simdb_entry e;
    unsigned char sha[32];
    memset(&e, 0, sizeof e);
    if (!r->tlsh || cs_tlsh_parse(r->tlsh, &e.digest) != 0)
        return cs_error_set(err, CS_ERR_ARG, "not a TLSH digest: %s", r->tlsh ? r->tlsh : "(none)");
    if (nonempty(r->sha256)) {
        if (strlen(r->sha256) != 64 || cs_unhex(sha, r->sha256, 32) != 0)
            return cs_error_set(err, CS_ERR_ARG, "not a SHA-256: %s", r->sha256);
        e.sha256 = sha;
    }
    e.kind = r->good ? CS_SIMDB_GOOD : CS_SIMDB_BAD;
    e.score = r->score;
    e.label = nonempty(r->label);
    e.file_name = nonempty(r->file_name);
    e.product = nonempty(r->product);
    e.vendor = nonempty(r->vendor);
    volatile cs_status rc = CS_OK;
    const char *why = NULL;
    GUARDED(err, {
        if (cs_simdb_builder_add(b->b, &e, &why) != 0)
            rc = cs_error_set(err, CS_ERR_ARG, "%s", why);
    });
    return rc;
}

static cs_status add_tsv_unguarded(cs_sim_builder *b, const char *path, cs_error *err)
{
    size_t len;
    char *text = cs_read_text_file(path, &len, err);
    if (!text)
        return CS_ERR_IO;
    cs_line_iter it;
    cs_line_iter_init(&it, text, len);
    cs_status rc = CS_OK;
    for (char *l; rc == CS_OK && (l = cs_line_iter_next(&it)) != NULL;) {
        cs_simdb_entry e;
        unsigned char sha[32];
        const char *why = NULL;
        if (cs_simdb_parse_tsv_line(l, &e, sha, &why) != 0 || cs_simdb_builder_add(b->b, &e, &why) != 0)
            rc = cs_error_set(err, CS_ERR_ARG, "%s:%u: %s", path, it.lineno, why);
    }
    free(text);
    return rc;
}

cs_status cs_sim_builder_add_tsv(cs_sim_builder *b, const char *path, cs_error *err)
{
    volatile cs_status rc = CS_OK;
    GUARDED(err, rc = add_tsv_unguarded(b, path, err));
    return rc;
}

static cs_status write_unguarded(cs_sim_builder *b, const char *path, cs_error *err)
{
    size_t len;
    unsigned char *img = cs_simdb_builder_image(b->b, &len);
    cs_status rc = cs_write_file_replace(path, img, len, 0644, err); /* an index is for every reader */
    free(img);
    return rc;
}

cs_status cs_sim_builder_write(cs_sim_builder *b, const char *path, cs_error *err)
{
    volatile cs_status rc = CS_OK;
    GUARDED(err, rc = write_unguarded(b, path, err));
    return rc;
}

struct cs_sim_index {
    void *map;               /* mapped file, or NULL */
    unsigned char *image;    /* or a built image, ours */
    size_t len;
    cs_simdb *db;
};

static cs_status open_unguarded(const char *path, cs_sim_index **out, cs_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, CS_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        close(fd);
        return cs_error_set(err, CS_ERR_RULES, "%s: not a similarity index (not a regular file, or empty)", path);
    }
    size_t len = (size_t)sb.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return cs_error_set(err, CS_ERR_IO, "%s: %s", path, strerror(map_errno));
    char why[200];
    cs_simdb *db = cs_simdb_open(map, len, why, sizeof why);
    if (!db) {
        munmap(map, len);
        return cs_error_set(err, CS_ERR_RULES, "%s: %s", path, why);
    }
    cs_sim_index *ix = cs_xmalloc(sizeof *ix);
    ix->map = map;
    ix->image = NULL;
    ix->len = len;
    ix->db = db;
    *out = ix;
    return CS_OK;
}

static cs_status build_unguarded(const cs_sim_builder *b, cs_sim_index **out, cs_error *err)
{
    cs_sim_index *ix = cs_xmalloc(sizeof *ix);
    char why[200];
    ix->map = NULL;
    ix->image = cs_simdb_builder_image(b->b, &ix->len);
    if (!(ix->db = cs_simdb_open(ix->image, ix->len, why, sizeof why))) {
        free(ix->image);
        free(ix);
        return cs_error_set(err, CS_ERR_INTERNAL, "similarity index: %s", why);
    }
    *out = ix;
    return CS_OK;
}

cs_status cs_sim_index_build(const cs_sim_builder *b, cs_sim_index **out, cs_error *err)
{
    volatile cs_status rc = CS_OK;
    *out = NULL;
    GUARDED(err, rc = build_unguarded(b, out, err));
    return rc;
}

cs_status cs_sim_index_open(const char *path, cs_sim_index **out, cs_error *err)
{
    volatile cs_status rc = CS_OK;
    *out = NULL;
    GUARDED(err, rc = open_unguarded(path, out, err));
    return rc;
}

void cs_sim_index_close(cs_sim_index *ix)
{
    if (!ix)
        return;
    cs_simdb_close(ix->db);
    if (ix->map)
        munmap(ix->map, ix->len);
    free(ix->image);
    free(ix);
}

size_t cs_sim_index_count(const cs_sim_index *ix)
{
    return cs_simdb_count(ix->db);
}

typedef struct hit_ctx {
    const cs_simdb *db;
    cs_sim_hit_fn fn;
    void *ud;
} hit_ctx;

static int public_hit(void *ud, uint32_t id, int distance)
{
    hit_ctx *h = ud;
    cs_simdb_entry e;
    cs_simdb_get(h->db, id, &e);
    char text[CS_TLSH_CHARS + 1], sha[65];
    cs_tlsh_format(&e.digest, text);
    if (e.sha256)
        cs_hex(sha, e.sha256, 32);
    cs_sim_ref r = {text, e.kind == CS_SIMDB_GOOD, e.score, e.label, e.file_name, e.product, e.vendor,
                    e.sha256 ? sha : NULL};
    return h->fn(h->ud, &r, distance);
}

cs_status cs_sim_index_search_opts(const cs_sim_index *ix, const char *tlsh, const cs_sim_search_opts *opts,
                                   cs_sim_hit_fn fn, void *ud, cs_error *err)
{
    cs_tlsh_digest q;
    if (!opts || opts->version < 1 || opts->version > CS_SIM_SEARCH_OPTS_VERSION)
        return cs_error_set(err, CS_ERR_ARG, "similarity search options version %d: this library knows 1 to %d",
                            opts ? opts->version : 0, CS_SIM_SEARCH_OPTS_VERSION);
    if (!tlsh || cs_tlsh_parse(tlsh, &q) != 0)
        return cs_error_set(err, CS_ERR_ARG, "not a TLSH digest: %s", tlsh ? tlsh : "(none)");
    if (opts->max_distance < 0 || opts->max_distance > CS_SIMDB_MAX_DISTANCE)
        return cs_error_set(err, CS_ERR_ARG, "distance %d: from 0 to %d", opts->max_distance, CS_SIMDB_MAX_DISTANCE);
    hit_ctx h = {ix->db, fn, ud};
    cs_simdb_search(ix->db, &q, opts->max_distance, !opts->ignore_length, CS_SIMDB_AUTO, public_hit, &h);
    return CS_OK;
}

cs_status cs_sim_index_search(const cs_sim_index *ix, const char *tlsh, int max_distance, cs_sim_hit_fn fn,
                              void *ud, cs_error *err)
{
    cs_sim_search_opts o = CS_SIM_SEARCH_OPTS_INIT;
    o.max_distance = max_distance;
    return cs_sim_index_search_opts(ix, tlsh, &o, fn, ud, err);
}
