/* A scan result's findings as a compact JSON text, for the state store. */
#ifndef CS_STORE_RESULT_BLOB_H
#define CS_STORE_RESULT_BLOB_H

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* malloc'd JSON of r's reasons, hashes, type, product and signature (or of
 * its known-good skip). */
char *cs_result_to_blob(const cs_result *r);
/* Fill r's filetype, hashes, reasons (in the arena) and skip from a blob.
 * Score and level are left to the caller. Returns 0, or -1 if malformed. */
int cs_result_from_blob(const char *blob, cs_arena *a, cs_result *r);

#endif
