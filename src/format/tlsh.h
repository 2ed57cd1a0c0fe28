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
#include <string.h>

#define CS_TLSH_MIN 50               /* bytes; 256 in the conservative mode */
#define CS_TLSH_MIN_CONSERVATIVE 256
#define CS_TLSH_CHARS 72             /* "T1" + 70 hex digits */

typedef struct cs_tlsh {
    /* the counts of each of the six triplets apart (summed by final):
     * increments to one array from six hashes of a byte stalled on each
     * other when two met */
    uint32_t bucket[6][256];
    unsigned char window[4];         /* the last four bytes, newest first */
    unsigned char checksum;
    uint64_t len;
} cs_tlsh;

typedef struct cs_tlsh_digest {
    unsigned char checksum, lvalue, q1ratio, q2ratio;
    unsigned char code[32];          /* 2 bits per bucket, bucket 0 in the low bits of code[0] */
} cs_tlsh_digest;

void cs_tlsh_init(cs_tlsh *t);
void cs_tlsh_update(cs_tlsh *t, const unsigned char *d, size_t n);
/* Whether updates hash 64 positions at once (AVX-512 VBMI, when the CPU
 * has it; the same digests). Tests turn it off to compare: 0 off, 1 on
 * where available, -1 only asks. The previous setting. */
int cs_tlsh_vector(int on);
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
/* Its two parts: the header's (length, quartile ratios, checksum) and the
 * body's (below). */
static inline int cs_tlsh_mod_diff(int x, int y, int range)
{
    int d = x > y ? x - y : y - x;
    return d < range - d ? d : range - d;
}

/* The quartile ratios as one byte, as the digest's header has them */
static inline unsigned char cs_tlsh_ratios_byte(const cs_tlsh_digest *d)
{
    return (unsigned char)(d->q1ratio | d->q2ratio << 4);
}

/* The header's parts, from the differences (cs_tlsh_mod_diff) of the
 * lvalues and of a quartile ratio. */
static inline int cs_tlsh_length_cost(int d)
{
    return d <= 1 ? d : d * 12;
}

static inline int cs_tlsh_ratio_cost(int d)
{
    return d <= 1 ? d : (d - 1) * 12;
}

static inline int cs_tlsh_header_distance(const cs_tlsh_digest *a, const cs_tlsh_digest *b, int len_diff)
{
    int diff = len_diff ? cs_tlsh_length_cost(cs_tlsh_mod_diff(a->lvalue, b->lvalue, 256)) : 0;
    diff += cs_tlsh_ratio_cost(cs_tlsh_mod_diff(a->q1ratio, b->q1ratio, 16));
    diff += cs_tlsh_ratio_cost(cs_tlsh_mod_diff(a->q2ratio, b->q2ratio, 16));
    return diff + (a->checksum != b->checksum);
}

/* The body's part for 32 buckets at once (2-bit codes, as in code[]):
 * per bucket the difference of the codes, 3 apart counting 6. With l and h
 * the low and high bits of a ^ b: 1 apart is l alone, 2 apart h alone;
 * both set is 3 apart when a's two bits are equal (00 against 11), else 1
 * (01 against 10). */
/* Bits set in v, where only the even bits can be (a popcount without the
 * instruction, which the baseline x86-64 target lacks). */
static inline int cs_tlsh_count_even(uint64_t v)
{
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int)((v * 0x0101010101010101ull) >> 56);
}

static inline int cs_tlsh_code_distance64(uint64_t a, uint64_t b)
{
    const uint64_t m = 0x5555555555555555ull;
    uint64_t x = a ^ b, l = x & m, h = (x >> 1) & m, both = l & h, same = ~(a ^ (a >> 1)) & m;
    return cs_tlsh_count_even(l & ~h) + 2 * cs_tlsh_count_even(h & ~l) + cs_tlsh_count_even(both & ~same) +
           6 * cs_tlsh_count_even(both & same);
}

/* 8 code bytes as a word, in the host's byte order: the distance is the
 * same in either, since no bucket's two bits straddle a byte (a byte loop
 * here was not made one load by the compiler: a third of the verifying) */
static inline uint64_t cs_tlsh_code_word(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int cs_tlsh_body_distance(const unsigned char *a, const unsigned char *b)
{
    int d = 0;
    for (int i = 0; i < 32; i += 8)
        d += cs_tlsh_code_distance64(cs_tlsh_code_word(a + i), cs_tlsh_code_word(b + i));
    return d;
}

#endif
