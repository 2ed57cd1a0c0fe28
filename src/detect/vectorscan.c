#include "detect/vectorscan.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/digest.h"
#include "util/util.h"

CS_LAZY_DEFINE(cs_hs, CS_SONAME_HS, CS_HS_FUNCS)

void cs_hs_free_database(hs_database_t *db)
{
    if (db)
        cs_hs.hs_free_database(db);
}

void cs_hs_free_scratch(hs_scratch_t *s)
{
    if (s)
        cs_hs.hs_free_scratch(s);
}

#define HS_CACHE_MAGIC "chainsweep hsdb 1\n"
#define HS_CACHE_KEEP 8 /* databases kept per name: the newest */

void cs_hs_cache_name(cs_hs_cached *out, const char *dir, const char *name, const char *const *exprs,
                      const size_t *lens, const unsigned *flags, const unsigned *ids, unsigned n)
{
    out->path[0] = '\0';
    EVP_MD_CTX *ctx = dir ? EVP_MD_CTX_new() : NULL;
    unsigned char md[32];
    int ok = ctx && EVP_DigestInit_ex(ctx, cs_md_sha256(), NULL);
    uint64_t head[2] = {n, lens != NULL};
    ok = ok && EVP_DigestUpdate(ctx, head, sizeof head);
    for (unsigned i = 0; ok && i < n; i++) {
        uint64_t len = lens ? lens[i] : strlen(exprs[i]), meta[3] = {len, flags[i], ids[i]};
        ok = EVP_DigestUpdate(ctx, meta, sizeof meta) && EVP_DigestUpdate(ctx, exprs[i], (size_t)len);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return;
    char hex[65];
    cs_hex(hex, md, sizeof md);
    snprintf(out->path, sizeof out->path, "%s/%s-%s.hsdb", dir, name, hex);
}

hs_database_t *cs_hs_cache_read(const cs_hs_cached *c, unsigned char **extra, size_t *extra_len)
{
    *extra = NULL;
    *extra_len = 0;
    if (!c->path[0])
        return NULL;
    size_t len = 0, head = strlen(HS_CACHE_MAGIC) + 8;
    cs_error ignored;
    unsigned char *bytes = (unsigned char *)cs_read_text_file(c->path, &len, &ignored);
    uint64_t n = 0;
    if (bytes && len >= head && memcmp(bytes, HS_CACHE_MAGIC, head - 8) == 0)
        for (int i = 0; i < 8; i++)
            n |= (uint64_t)bytes[head - 8 + i] << (8 * i);
    hs_database_t *db = NULL;
    if (!bytes || len < head || memcmp(bytes, HS_CACHE_MAGIC, head - 8) != 0 || n > len - head ||
        cs_hs.hs_deserialize_database((const char *)bytes + head + n, len - head - n, &db) != HS_SUCCESS) {
        free(bytes);
        return NULL;
    }
    *extra = malloc(n ? n : 1);
    if (!*extra) {
        cs_hs_free_database(db);
        free(bytes);
        return NULL;
    }
    memcpy(*extra, bytes + head, n);
    *extra_len = n;
    free(bytes);
    utimes(c->path, NULL); /* recently used: kept */
    return db;
}

/* Keep the newest HS_CACHE_KEEP databases of a name (dir/name-*.hsdb). */
static void cache_prune(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dash = strrchr(path, '-');
    if (!slash || !dash || dash < slash)
        return;
    char dir[4200];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    size_t prefix = (size_t)(dash - slash); /* "name-" */
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    struct {
        char name[256];
        long long mt;
    } *seen = NULL;
    size_t n = 0, cap = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len != prefix + 64 + 5 || strncmp(de->d_name, slash + 1, prefix) != 0 ||
            strcmp(de->d_name + len - 5, ".hsdb") != 0)
            continue;
        char p[4500];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &sb) != 0)
            continue;
        if (n == cap) { /* not cs_grow: out of memory here only leaves files in place */
            void *more = realloc(seen, (cap ? 2 * cap : 16) * sizeof *seen);
            if (!more)
                break;
            seen = more;
            cap = cap ? 2 * cap : 16;
        }
        snprintf(seen[n].name, sizeof seen[n].name, "%s", de->d_name);
        seen[n++].mt = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        size_t newer = 0; /* a total order: time, then the name on a tie */
        for (size_t k = 0; k < n; k++)
            newer += seen[k].mt > seen[i].mt || (seen[k].mt == seen[i].mt && strcmp(seen[k].name, seen[i].name) > 0);
        if (newer >= HS_CACHE_KEEP) {
            char p[4500];
            snprintf(p, sizeof p, "%s/%s", dir, seen[i].name);
            unlink(p);
        }
    }
    free(seen);
}

void cs_hs_cache_write(const cs_hs_cached *c, const hs_database_t *db, const void *extra, size_t extra_len)
{
    char *bytes = NULL;
    size_t len = 0;
    if (!c->path[0] || cs_hs.hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        return;
    size_t head = strlen(HS_CACHE_MAGIC) + 8;
    unsigned char *file = malloc(head + extra_len + len);
    if (file) {
        memcpy(file, HS_CACHE_MAGIC, head - 8);
        for (int i = 0; i < 8; i++)
            file[head - 8 + i] = (unsigned char)((uint64_t)extra_len >> (8 * i));
        if (extra_len)
            memcpy(file + head, extra, extra_len);
        memcpy(file + head + extra_len, bytes, len);
        cs_error ignored;
        if (cs_write_file_replace(c->path, file, head + extra_len + len, 0644, &ignored) == CS_OK)
            cache_prune(c->path);
    }
    free(file);
    free(bytes);
}

hs_error_t cs_hs_compile_lit_cached(const char *dir, const char *name, const char *const *exprs, const unsigned *flags,
                                    const unsigned *ids, const size_t *lens, unsigned n, hs_database_t **db,
                                    hs_compile_error_t **ce)
{
    cs_hs_cached cache;
    unsigned char *extra;
    size_t extra_len;
    *ce = NULL;
    cs_hs_cache_name(&cache, dir, name, exprs, lens, flags, ids, n);
    if ((*db = cs_hs_cache_read(&cache, &extra, &extra_len)) != NULL) {
        free(extra);
        return HS_SUCCESS;
    }
    hs_error_t rc = cs_hs.hs_compile_lit_multi(exprs, flags, ids, lens, n, HS_MODE_BLOCK, NULL, db, ce);
    if (rc == HS_SUCCESS)
        cs_hs_cache_write(&cache, *db, NULL, 0);
    return rc;
}
