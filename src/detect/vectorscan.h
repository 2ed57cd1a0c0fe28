/* Vectorscan (libhs), loaded when the first database is compiled or read
 * (util/lazylib.h): a rescan the store answers never loads it, nor the C++
 * runtime it brings. Call cs_hs_load before compiling or deserializing;
 * everything else works on a database that exists, so the table is there.
 * The frees take NULL, as libhs's own do, also before anything was loaded. */
#ifndef CS_DETECT_VECTORSCAN_H
#define CS_DETECT_VECTORSCAN_H

#include <hs.h>

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

#endif
