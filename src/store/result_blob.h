/* A scan result's findings as a compact JSON text, for the state store. */
#ifndef CS_STORE_RESULT_BLOB_H
#define CS_STORE_RESULT_BLOB_H

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* malloc'd JSON of r's reasons, hashes, type, product and signature (or of
 * its known-good skip), its note and container, and for a member its chain
 * and skip. members: NULL, or a JSON array of the blobs of the container's
 * member records, kept with it. */
char *cs_result_to_blob(const cs_result *r, const char *members);
/* Fill r's filetype, hashes, reasons (in the arena), skip, note, container
 * and member chain from a blob. Score and level are left to the caller.
 * Returns 0, or -1 if malformed. */
int cs_result_from_blob(const char *blob, cs_arena *a, cs_result *r);
/* The member blobs kept with a container's blob: a malloc'd array of n
 * malloc'd strings (free each and the array), or NULL with n 0. */
char **cs_blob_members(const char *blob, size_t *n);

#endif
