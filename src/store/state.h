/* Incremental-sweep state: one SQLite database keyed by path, holding each
 * file's identity (device, inode, size, mtime, ctime), its SHA-256 and its
 * verdict, all tied to a fingerprint of the loaded rules. One writer (the
 * collector, batched transactions, WAL); the rows below a sweep's targets
 * read ahead once (cs_state_preload); a read connection per thread that
 * needs one (the walker's pinned, the workers' opened on their first file). */
#ifndef CS_STORE_STATE_H
#define CS_STORE_STATE_H

#include "chainsweep/chainsweep.h"
#include "view/source.h"

typedef struct cs_state cs_state;
typedef struct cs_state_reader cs_state_reader;

/* Open or create the store. A file that is not a chainsweep store (or is
 * corrupt) is an error and is left untouched. Entries recorded under another
 * rules fingerprint are dropped. */
cs_status cs_state_open(cs_state **out, const char *path, const char *fingerprint, cs_error *err);
/* Commit what is pending and close. */
cs_status cs_state_close(cs_state *s, cs_error *err);

/* Record a file; commits every batch_size records. blob: the serialized
 * findings, NULL for a clean file. */
cs_status cs_state_put(cs_state *s, const char *path, const cs_meta *st, const unsigned char *sha256,
                       const char *blob, cs_error *err);
cs_status cs_state_commit(cs_state *s, cs_error *err);

/* What was loaded for a fingerprint (text of the engine's choosing), set
 * by the last sweep that compiled its rules. cs_state_peek_stats reads it
 * without opening the store for writing: 1 and out filled when there. */
int cs_state_peek_stats(const char *path, const char *fingerprint, char *out, size_t n);
cs_status cs_state_set_stats(cs_state *s, const char *text, cs_error *err);

/* Read the rows of its rules at or below each root (a sweep's targets) in
 * one range scan each, before the sweep writes anything: lookups below them
 * (cs_state_lookup_preloaded, and every reader's) are then answered from
 * memory, with no B-tree search per file. More than max_rows in all: none
 * kept (lookups go to SQLite one by one). */
cs_status cs_state_preload(cs_state *s, const char *const *roots, size_t n, size_t max_rows, cs_error *err);
/* As cs_state_lookup, from the read-ahead; -2 when it does not cover path.
 * Any thread, while nothing preloads again. */
int cs_state_lookup_preloaded(const cs_state *s, const char *path, const cs_meta *st, char **blob);

cs_status cs_state_reader_open(const cs_state *s, cs_state_reader **out, cs_error *err);
void cs_state_reader_close(cs_state_reader *r);
/* Its lookups from now on in one read transaction, until it is closed:
 * one snapshot, and no lock taken and released for each (a rescan's walk). */
cs_status cs_state_reader_pin(cs_state_reader *r, cs_error *err);
/* 1 and *blob (malloc'd, NULL when the file was clean) when an entry with
 * the same identity exists; 0 when there is none or it changed; -1 when
 * the entry fails its checksum (damaged: the file must be read again). */
int cs_state_lookup(cs_state_reader *r, const char *path, const cs_meta *st, char **blob);

#endif
