/* TLSH, the Trend Micro locality-sensitive hash (version 4: 128 buckets, a
 * 1-byte checksum, the "T1" digest form), written from the TLSH paper
 * (Oliver, Cheng, Chen, 2013) and its published format: a 5-byte sliding
 * window, six Pearson-hashed byte triplets per position counted into
 * buckets, quartiles of the counts, and a header of checksum, log-length
 * and quartile ratios. Streaming: fed block by block from the one read of
 * a file. The distance is TLSH's (0 identical; small, similar). */
#ifndef CS_FORMAT_TLSH_H
#define CS_FORMAT_TLSH_H

#include <stddef.h>
#include <stdint.h>

#define CS_TLSH_MIN 50               /* bytes; 256 in the conservative mode */
#define CS_TLSH_MIN_CONSERVATIVE 256
#define CS_TLSH_CHARS 72             /* "T1" + 70 hex digits */

typedef struct cs_tlsh {
    uint32_t bucket[256];
    unsigned char window[5];
    unsigned char checksum;
    uint64_t len;
} cs_tlsh;

typedef struct cs_tlsh_digest {
    unsigned char checksum, lvalue, q1ratio, q2ratio;
    unsigned char code[32];          /* 2 bits per bucket, bucket 0 in the low bits of code[0] */
} cs_tlsh_digest;

void cs_tlsh_init(cs_tlsh *t);
void cs_tlsh_update(cs_tlsh *t, const unsigned char *d, size_t n);
/* The digest of what was fed: 0, or -1 when there is none (fewer than
 * CS_TLSH_MIN bytes, or CS_TLSH_MIN_CONSERVATIVE when conservative; too
 * little variety: half the buckets or more empty). */
int cs_tlsh_final(const cs_tlsh *t, int conservative, cs_tlsh_digest *out);
/* "T1" + 70 upper-case hex digits into out (CS_TLSH_CHARS + 1 bytes). */
void cs_tlsh_format(const cs_tlsh_digest *d, char *out);
/* Parse a digest, with or without "T1": 0, or -1 when it is not one. */
int cs_tlsh_parse(const char *s, cs_tlsh_digest *out);
/* TLSH's distance; len_diff: the log-length counts (the default). */
int cs_tlsh_distance(const cs_tlsh_digest *a, const cs_tlsh_digest *b, int len_diff);

#endif
