/* The similarity index: TLSH references and an exact search over them.
 *
 * Exactness by the pigeonhole principle. TLSH's distance is the header's
 * part plus the body's, and the body's is a sum over the 128 buckets (0, 1,
 * 2 or 6 each). The body is cut into 16 chunks of 8 buckets (16 bits); if
 * the distance is at most T, the body parts of the 16 chunks sum to at most
 * T, so for any radii r_c whose (r_c + 1) sum to more than T, some chunk c
 * differs by at most r_c (at 30: fifteen chunks at 1, one at 0). For each
 * chunk the index keeps the references by that chunk's value (in 2^8 to
 * 2^16 slots, about one per reference, a value's slot its top bits:
 * values sharing a slot only add candidates); a search visits, for every chunk, every value within r_c of
 * the query's, and so meets every reference within T at least once. A slot
 * whose postings have no length (lvalue) within reach is passed over by its
 * band mask; in a long slot (over 64 postings) a directory says where each
 * band's postings start, so a search reads from the band the lengths
 * within reach begin in. A posting carries its reference's lengths and
 * ratios, and the value of the chunk opposite its own (c + 8 mod 16): the
 * header's part and that chunk's distance bound the full distance from
 * below, so most references too far are rejected before they are read.
 * Masks, directories and postings are checked against the references
 * when the index opens.
 * A reference is verified at most once (a set of those met) and reported
 * only when the full distance is at most T. Nothing is approximated.
 *
 * The image (little-endian; every section at a multiple of 8):
 *   header   96 bytes: "CSSIMDB\0", version 6, header size, reference
 *            and name counts, pool length, total length, CRC-32 of what
 *            follows the header, slot bits, posting units (u64, postings
 *            and directories of all chunks); zeros; at 92 the CRC-32 of
 *            the 92 bytes before it
 *   refs     48 bytes each, ordered by lvalue, ratios, codes, checksum
 *            (then as added): codes[32], checksum, lvalue, q1 | q2 << 4,
 *            kind (1 bad, 2 good), score (int16), flags (1: SHA-256),
 *            offset of its strings in the pool, 4 zero bytes
 *   table    16 x (2^bits + 1) slots of 8 bytes (chunk value >> (16 -
 *            bits)): where the slot's area
 *            starts among its chunk's posting units (u32), and the lvalue
 *            bands its postings have (u32: bit lvalue >> 3); the last slot
 *            of a chunk: the chunk's units, 0
 *   postings per chunk, per slot, units of 8 bytes: for a slot of more
 *            than 64 postings, a directory first (per band it has, in
 *            order, the number of its postings before that band's first:
 *            u32; a zero pads an odd count); then its n postings in n
 *            units, in lvalue order, as n heads (lvalue, q1 | q2 << 4)
 *            followed by n records (reference number u32, the value of
 *            the reference's chunk c + 8 mod 16 u16: to reject before
 *            reading the ref)
 *   names    16 bytes each, sorted: FNV-1a 64 of the lower-case file name,
 *            reference number, 0: the known-good references by name
 *   pool     per reference: [SHA-256], label, file name, product, vendor,
 *            each NUL-terminated ("" when absent) */
#ifndef CS_FORMAT_SIMDB_H
#define CS_FORMAT_SIMDB_H

#include <stddef.h>
#include <stdint.h>

#include "format/tlsh.h"

#define CS_SIMDB_VERSION 6 /* 5 had a posting's fields together, 4 hashed chunk values to slots, 3 had the checksum in the postings, 2 no directories */
#define CS_SIMDB_MAX_REFS (1u << 26)
#define CS_SIMDB_MAX_DISTANCE 300

enum { CS_SIMDB_BAD = 1, CS_SIMDB_GOOD = 2 };

typedef struct cs_simdb_entry {
    cs_tlsh_digest digest;
    int kind, score;
    const char *label, *file_name, *product, *vendor; /* never NULL from a db: "" */
    const unsigned char *sha256;                      /* NULL when absent */
} cs_simdb_entry;

/* Builder: cs_xmalloc (out of memory jumps to the caller's guard). */
typedef struct cs_simdb_builder cs_simdb_builder;
cs_simdb_builder *cs_simdb_builder_new(void);
void cs_simdb_builder_free(cs_simdb_builder *b);
/* 0, or -1 with why (too many references). */
int cs_simdb_builder_add(cs_simdb_builder *b, const cs_simdb_entry *e, const char **why);
size_t cs_simdb_builder_count(const cs_simdb_builder *b);
/* The image, malloc'd (cs_xmalloc), *len bytes. */
unsigned char *cs_simdb_builder_image(const cs_simdb_builder *b, size_t *len);

/* One row of a similarity TSV, parsed in place (its strings point into
 * line): KIND TLSH SCORE FILE_NAME PRODUCT VENDOR SHA256 LABEL, tab
 * separated, "-" or empty for an absent field. 0, or -1 with why. */
int cs_simdb_parse_tsv_line(char *line, cs_simdb_entry *out, unsigned char sha256[32], const char **why);

typedef struct cs_simdb cs_simdb;
/* Check an image and open it (not copied: it must outlive the handle).
 * NULL with why (in a static or why-buffer string) when it is not a good
 * index; allocation failures jump to the caller's guard. */
cs_simdb *cs_simdb_open(const unsigned char *image, size_t len, char *why, size_t why_len);
void cs_simdb_close(cs_simdb *db);
uint32_t cs_simdb_count(const cs_simdb *db);
void cs_simdb_get(const cs_simdb *db, uint32_t i, cs_simdb_entry *out);

/* Every reference within max_distance (0 to CS_SIMDB_MAX_DISTANCE) of q,
 * each once; fn returns nonzero to stop. len_diff: TLSH's distance with
 * the lengths (the default), or 0 without (tlsh_unittest's -xlen). CS_SIMDB_AUTO reads every
 * reference when that costs less than the index's probes (small sets, or
 * large distances), else searches the index; the other two force one way
 * (tests compare them). */
typedef enum { CS_SIMDB_AUTO = 0, CS_SIMDB_INDEX, CS_SIMDB_LINEAR } cs_simdb_method;
typedef int (*cs_simdb_hit_fn)(void *ud, uint32_t ref, int distance);
void cs_simdb_search(const cs_simdb *db, const cs_tlsh_digest *q, int max_distance, int len_diff,
                     cs_simdb_method how, cs_simdb_hit_fn fn, void *ud);
/* Every known-good reference whose file name is name (ASCII case-insensitive). */
void cs_simdb_by_name(const cs_simdb *db, const char *name, cs_simdb_hit_fn fn, void *ud);

#endif
