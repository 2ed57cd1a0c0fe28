/* LZFSE, Apple's LZ77 + finite-state-entropy codec (DMG "ULFO" chunks,
 * type 0x80000007). A stream is a run of blocks, each starting with a
 * four-byte magic: "bvx-" stored, "bvxn" LZVN, "bvx1" LZFSE with plain
 * frequency tables, "bvx2" LZFSE with packed ones, and "bvx$" at the end.
 * Written from the format as Apple's open-source reference defines it.
 * Hostile input: every read and write is bounds-checked, work is bounded by
 * the input and output sizes, one bounded allocation (~48 KiB) per call. */
#ifndef CS_FORMAT_LZFSE_H
#define CS_FORMAT_LZFSE_H

#include <stddef.h>

/* Decode the complete stream src[0..n) into dst[0..cap). 0 with *out_len
 * the decoded size; -1 with a static message in *why ("LZFSE: output larger
 * than the buffer", "LZFSE: bad block magic", "LZFSE: truncated block",
 * ...). Bytes after the end-of-stream block are an error. dst may be
 * partly written on failure. */
int cs_lzfse_decode(const unsigned char *src, size_t n, unsigned char *dst, size_t cap, size_t *out_len,
                    const char **why);

#endif
