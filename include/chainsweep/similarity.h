/* Similarity references (TLSH) and their index.
 *
 * A reference is a TLSH digest with what it stands for: known-bad (a
 * sample, a published digest) or known-good (the vendor's file, with its
 * name, product and SHA-256). An index holds up to 2^26 of them in one
 * versioned, checksummed file that a scan memory-maps; its lookups are
 * exact: every reference within the distance asked for is returned (see
 * docs/similarity.md for why). The scanner's `similarity` layer loads
 * `*.csim` indexes and `similarity*.tsv` lists from packs. */
#ifndef CHAINSWEEP_SIMILARITY_H
#define CHAINSWEEP_SIMILARITY_H

#include <stddef.h>

#include "chainsweep/chainsweep.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SIM_TLSH_CHARS 72   /* "T1" + 70 hex digits */

typedef struct cs_sim_ref {
    const char *tlsh;          /* "T1" + 70 hex digits ("T1" optional on input) */
    int good;                  /* 1: known-good (the vendor's file); 0: known-bad */
    int score;                 /* -1000 to 1000 */
    const char *label;         /* NULL or "" when absent, as are the next ones */
    const char *file_name;     /* required for known-good references */
    const char *product, *vendor;
    const char *sha256;        /* 64 hex digits: the exact good file */
} cs_sim_ref;

/* The TLSH and SHA-256 of one file (read once; never follows a symlink,
 * never blocks on a FIFO). tlsh gets "" when the file has no TLSH (under
 * 50 bytes, or too little variety). */
cs_status cs_sim_digest_file(const char *path, char tlsh[CS_SIM_TLSH_CHARS + 1], char sha256[65],
                             cs_error *err);

/* Building an index. */
typedef struct cs_sim_builder cs_sim_builder;

cs_status cs_sim_builder_new(cs_sim_builder **out, cs_error *err);
void cs_sim_builder_free(cs_sim_builder *b);
/* The strings are copied. CS_ERR_ARG with the reason for a bad reference. */
cs_status cs_sim_builder_add(cs_sim_builder *b, const cs_sim_ref *r, cs_error *err);
/* Every row of a similarity TSV file (docs/similarity.md); a bad row fails
 * the whole file with its line number. */
cs_status cs_sim_builder_add_tsv(cs_sim_builder *b, const char *path, cs_error *err);
size_t cs_sim_builder_count(const cs_sim_builder *b);
/* Write the index (to a temporary file beside path, synced, then renamed:
 * a reader never sees half an index). */
cs_status cs_sim_builder_write(cs_sim_builder *b, const char *path, cs_error *err);

/* Reading one. The whole file is checked on open (format version, sizes,
 * checksum, every table against the references); a damaged or foreign
 * file is CS_ERR_RULES with the reason. Immutable after open: searches may
 * run from any number of threads. */
typedef struct cs_sim_index cs_sim_index;

cs_status cs_sim_index_open(const char *path, cs_sim_index **out, cs_error *err);
/* An index in memory of what a builder holds (the builder may then be
 * freed or added to: the index does not change). */
cs_status cs_sim_index_build(const cs_sim_builder *b, cs_sim_index **out, cs_error *err);
void cs_sim_index_close(cs_sim_index *ix);
size_t cs_sim_index_count(const cs_sim_index *ix);

/* Called for every reference within the distance, each once, in no
 * particular order; ref's strings live as long as the index. Return
 * nonzero to stop. */
typedef int (*cs_sim_hit_fn)(void *ud, const cs_sim_ref *ref, int distance);
/* max_distance: 0 to 300. CS_ERR_ARG for a digest that is not one. */
cs_status cs_sim_index_search(const cs_sim_index *ix, const char *tlsh, int max_distance, cs_sim_hit_fn fn,
                              void *ud, cs_error *err);

/* A search with options (cs_sim_index_search is this with the defaults
 * but max_distance). Versioned: set version to CS_SIM_SEARCH_OPTS_VERSION
 * (the INIT macro does); later versions only add fields at the end. */
#define CS_SIM_SEARCH_OPTS_VERSION 1
typedef struct cs_sim_search_opts {
    int version;
    int max_distance;  /* 0 to 300; 70 by default */
    int ignore_length; /* nonzero: TLSH's distance without the lengths (tlsh_unittest -xlen), so a
                          file padded or cut to another size stays near; 0 by default */
} cs_sim_search_opts;
#define CS_SIM_SEARCH_OPTS_INIT {CS_SIM_SEARCH_OPTS_VERSION, 70, 0}
/* CS_ERR_ARG for a digest that is not one, a distance out of range or an
 * unknown version. */
cs_status cs_sim_index_search_opts(const cs_sim_index *ix, const char *tlsh, const cs_sim_search_opts *opts,
                                   cs_sim_hit_fn fn, void *ud, cs_error *err);

#ifdef __cplusplus
}
#endif

#endif
