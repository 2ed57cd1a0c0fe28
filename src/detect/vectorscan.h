/* Vectorscan (libhs), loaded when the first database is compiled or read
 * (util/lazylib.h): a rescan the store answers never loads it, nor the C++
 * runtime it brings. Call cs_hs_load before compiling or deserializing;
 * everything else works on a database that exists, so the table is there.
 * The frees take NULL, as libhs's own do, also before anything was loaded. */
#ifndef CS_DETECT_VECTORSCAN_H
#define CS_DETECT_VECTORSCAN_H

#include <hs.h>
#include <stddef.h>

#include "util/lazylib.h"

#define CS_HS_FUNCS(X)                                                                                         \
    X(hs_alloc_scratch)                                                                                        \
    X(hs_clone_scratch)                                                                                        \
    X(hs_compile_lit_multi)                                                                                    \
    X(hs_compile_multi)                                                                                        \
    X(hs_deserialize_database)                                                                                 \
    X(hs_free_compile_error)                                                                                   \
    X(hs_free_database)                                                                                        \
    X(hs_free_scratch)                                                                                         \
    X(hs_scan)                                                                                                 \
    X(hs_serialize_database)
CS_LAZY_DECLARE(cs_hs, CS_HS_FUNCS)

void cs_hs_free_database(hs_database_t *db);
void cs_hs_free_scratch(hs_scratch_t *s);

/* Compiled databases kept in a cache directory: compiling thousands of
 * patterns takes a third of a second (signature-base's filename IOCs),
 * reading the database back a millisecond. A database is named by the
 * SHA-256 of what it was compiled from, DIR/NAME-DIGEST.hsdb: the patterns
 * (lens NULL: expressions; else literals of these lengths), their flags
 * and ids. The file also holds the caller's extra bytes: what the compile
 * decided that the database cannot tell (which patterns were left to
 * PCRE2). Vectorscan refuses a database of another version or CPU; a
 * damaged or refused file is no file. A cache that cannot be written is
 * only slower next time. */
typedef struct cs_hs_cached {
    char path[4200];               /* "" when there is no cache (no directory, no digest) */
} cs_hs_cached;

/* Name the database these patterns compile to (out->path). */
void cs_hs_cache_name(cs_hs_cached *out, const char *dir, const char *name, const char *const *exprs,
                      const size_t *lens, const unsigned *flags, const unsigned *ids, unsigned n);
/* The database and its extra bytes (the caller frees both), or NULL. */
hs_database_t *cs_hs_cache_read(const cs_hs_cached *c, unsigned char **extra, size_t *extra_len);
void cs_hs_cache_write(const cs_hs_cached *c, const hs_database_t *db, const void *extra, size_t extra_len);
/* A literal database (hs_compile_lit_multi in block mode) named NAME in DIR
 * (NULL: no cache): read back, or compiled and written there. */
hs_error_t cs_hs_compile_lit_cached(const char *dir, const char *name, const char *const *exprs, const unsigned *flags,
                                    const unsigned *ids, const size_t *lens, unsigned n, hs_database_t **db,
                                    hs_compile_error_t **ce);

#endif
