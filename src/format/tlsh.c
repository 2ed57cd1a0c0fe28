#include "format/tlsh.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pearson's sample permutation (CACM 33(6), 1990), which TLSH hashes with. */
static const unsigned char pearson[256] = {
    1,   87,  49,  12,  176, 178, 102, 166, 121, 193, 6,   84,  249, 230, 44,  163, 14,  197, 213, 181, 161, 85,
    218, 80,  64,  239, 24,  226, 236, 142, 38,  200, 110, 177, 104, 103, 141, 253, 255, 50,  77,  101, 81,  18,
    45,  96,  31,  222, 25,  107, 190, 70,  86,  237, 240, 34,  72,  242, 20,  214, 244, 227, 149, 235, 97,  234,
    57,  22,  60,  250, 82,  175, 208, 5,   127, 199, 111, 62,  135, 248, 174, 169, 211, 58,  66,  154, 106, 195,
    245, 171, 17,  187, 182, 179, 0,   243, 132, 56,  148, 75,  128, 133, 158, 100, 130, 126, 91,  13,  153, 246,
    216, 219, 119, 68,  223, 78,  83,  88,  201, 99,  122, 11,  92,  32,  136, 114, 52,  10,  138, 30,  48,  183,
    156, 35,  61,  26,  143, 74,  251, 94,  129, 162, 63,  152, 170, 7,   115, 167, 241, 206, 3,   150, 55,  59,
    151, 220, 90,  53,  23,  131, 125, 173, 15,  238, 79,  95,  89,  16,  105, 137, 225, 224, 217, 160, 37,  123,
    118, 73,  2,   157, 46,  116, 9,   145, 134, 228, 207, 212, 202, 215, 69,  229, 27,  188, 67,  124, 168, 252,
    42,  4,   29,  108, 21,  247, 19,  205, 39,  203, 233, 40,  186, 147, 198, 192, 155, 33,  164, 191, 98,  204,
    165, 180, 117, 76,  140, 36,  210, 172, 41,  54,  159, 8,   185, 232, 113, 196, 231, 47,  146, 120, 51,  65,
    28,  144, 254, 221, 93,  189, 194, 139, 112, 43,  71,  109, 184, 209,
};

/* The salted Pearson hash of three bytes, P[P[P[P[salt] ^ a] ^ b] ^ c], with
 * its first two steps from a table of pairs: pair[x << 8 | y] = P[P[x] ^ y]. */
static unsigned char pair[256 * 256];
static pthread_once_t pair_once = PTHREAD_ONCE_INIT;

static void pair_init(void);

#define MIX(salt, a, b, c) pearson[pair[(unsigned)(pearson[salt] ^ (a)) << 8 | (b)] ^ (c)]

void cs_tlsh_init(cs_tlsh *t)
{
    pthread_once(&pair_once, pair_init);
    memset(t, 0, sizeof *t);
}

/* One position: c0 the new byte, c1 to c4 the four before it. */
#define TLSH_STEP(t, sum, c0, c1, c2, c3, c4)                                                                   \
    do {                                                                                                      \
        (sum) = MIX(0, c0, c1, sum);                                                                          \
        (t)->bucket[0][MIX(2, c0, c1, c2)]++;                                                                 \
        (t)->bucket[1][MIX(3, c0, c1, c3)]++;                                                                 \
        (t)->bucket[2][MIX(5, c0, c2, c3)]++;                                                                 \
        (t)->bucket[3][MIX(7, c0, c2, c4)]++;                                                                 \
        (t)->bucket[4][MIX(11, c0, c1, c4)]++;                                                                \
        (t)->bucket[5][MIX(13, c0, c3, c4)]++;                                                                \
    } while (0)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TLSH_VECTOR 1
#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/* Pearson's table applied to 64 bytes: two 128-byte permutes, the high
 * bit choosing between them. */
VBMI static inline __m512i pearson64(__m512i x, const __m512i t[4])
{
    __m512i lo = _mm512_permutex2var_epi8(t[0], x, t[1]), hi = _mm512_permutex2var_epi8(t[2], x, t[3]);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
}

VBMI static inline __m512i mix64(unsigned char salt, __m512i a, __m512i b, __m512i c, const __m512i t[4])
{
    __m512i h = pearson64(_mm512_xor_si512(_mm512_set1_epi8((char)pearson[salt]), a), t);
    h = pearson64(_mm512_xor_si512(h, b), t);
    return pearson64(_mm512_xor_si512(h, c), t);
}

/* Positions [i, n) of d, 64 at a time while a whole block fits, the four
 * bytes before each in d (i >= 4); the next position to do. The hashes of
 * a block at once; the counts, and the checksum (a chain through its
 * previous value), then byte by byte. */
VBMI static size_t update64(cs_tlsh *t, const unsigned char *d, size_t i, size_t n, unsigned char *sum)
{
    __m512i tab[4];
    for (int k = 0; k < 4; k++)
        tab[k] = _mm512_loadu_si512(pearson + 64 * k);
    unsigned char h[7][64] __attribute__((aligned(64)));
    unsigned char s = *sum;
    uint32_t(*b)[256] = t->bucket;
    for (; n - i >= 64; i += 64) {
        __m512i c0 = _mm512_loadu_si512(d + i), c1 = _mm512_loadu_si512(d + i - 1),
                c2 = _mm512_loadu_si512(d + i - 2), c3 = _mm512_loadu_si512(d + i - 3),
                c4 = _mm512_loadu_si512(d + i - 4);
        _mm512_store_si512(h[0], mix64(2, c0, c1, c2, tab));
        _mm512_store_si512(h[1], mix64(3, c0, c1, c3, tab));
        _mm512_store_si512(h[2], mix64(5, c0, c2, c3, tab));
        _mm512_store_si512(h[3], mix64(7, c0, c2, c4, tab));
        _mm512_store_si512(h[4], mix64(11, c0, c1, c4, tab));
        _mm512_store_si512(h[5], mix64(13, c0, c3, c4, tab));
        /* the checksum's first two steps; the last needs the running sum */
        __m512i x = pearson64(_mm512_xor_si512(_mm512_set1_epi8((char)pearson[0]), c0), tab);
        _mm512_store_si512(h[6], pearson64(_mm512_xor_si512(x, c1), tab));
        /* the bytes read before any count is written: a count's store
         * could be taken to change them (unsigned char aliases all) */
        for (int j = 0; j < 64; j++) {
            unsigned h0 = h[0][j], h1 = h[1][j], h2 = h[2][j], h3 = h[3][j], h4 = h[4][j], h5 = h[5][j];
            s = pearson[h[6][j] ^ s];
            b[0][h0]++;
            b[1][h1]++;
            b[2][h2]++;
            b[3][h3]++;
            b[4][h4]++;
            b[5][h5]++;
        }
    }
    *sum = s;
    return i;
}

static int vector_on; /* set once with the tables, or by a test */

static int have_vbmi(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
}
#else
#define TLSH_VECTOR 0
static int vector_on = 0;
#endif

static void pair_init(void)
{
    for (unsigned x = 0; x < 256; x++)
        for (unsigned y = 0; y < 256; y++)
            pair[x << 8 | y] = pearson[pearson[x] ^ y];
#if TLSH_VECTOR
    vector_on = have_vbmi();
#endif
}

int cs_tlsh_vector(int on)
{
    pthread_once(&pair_once, pair_init);
#if TLSH_VECTOR
    int was = vector_on;
    if (on == 0)
        vector_on = 0;
    else if (on > 0)
        vector_on = have_vbmi();
    return was;
#else
    (void)on;
    return 0;
#endif
}

void cs_tlsh_update(cs_tlsh *t, const unsigned char *d, size_t n)
{
    /* the window in registers: c1 the byte before the current one, c4 four before */
    unsigned char c1 = t->window[0], c2 = t->window[1], c3 = t->window[2], c4 = t->window[3];
    unsigned char sum = t->checksum;
    size_t i = 0;
    for (; i < n && t->len + i < 4; i++) {
        c4 = c3;
        c3 = c2;
        c2 = c1;
        c1 = d[i];
    }
    for (; i < n; i++) {
#if TLSH_VECTOR
        /* past the first four positions (which reach back into the
         * window), whole blocks of 64 at once */
        if (i == 4 && vector_on && n - i >= 64) {
            i = update64(t, d, i, n, &sum);
            c1 = d[i - 1];
            c2 = d[i - 2];
            c3 = d[i - 3];
            c4 = d[i - 4];
            if (i == n)
                break;
        }
#endif
        unsigned char c0 = d[i];
        TLSH_STEP(t, sum, c0, c1, c2, c3, c4);
        c4 = c3;
        c3 = c2;
        c2 = c1;
        c1 = c0;
    }
    t->window[0] = c1;
    t->window[1] = c2;
    t->window[2] = c3;
    t->window[3] = c4;
    t->checksum = sum;
    t->len += n;
}

static int by_count(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The length on TLSH's log scale: steps of 1.5 up to 656 bytes, 1.3 up to
 * 3199, then 1.1, modulo 256. */
static unsigned char log_length(uint64_t len)
{
    double l = (double)len;
    int i;
    if (len <= 656)
        i = (int)floor(log(l) / log(1.5));
    else if (len <= 3199)
        i = (int)floor(log(l) / log(1.3) - 8.72777);
    else
        i = (int)floor(log(l) / log(1.1) - 62.5472);
    return (unsigned char)(i & 0xff);
}

int cs_tlsh_final(const cs_tlsh *t, int conservative, cs_tlsh_digest *out)
{
    if (t->len < (conservative ? CS_TLSH_MIN_CONSERVATIVE : CS_TLSH_MIN))
        return -1;
    uint32_t count[128], sorted[128];
    for (int i = 0; i < 128; i++)
        count[i] = t->bucket[0][i] + t->bucket[1][i] + t->bucket[2][i] + t->bucket[3][i] + t->bucket[4][i] +
                   t->bucket[5][i];
    memcpy(sorted, count, sizeof sorted);
    qsort(sorted, 128, sizeof *sorted, by_count);
    uint32_t q1 = sorted[31], q2 = sorted[63], q3 = sorted[95];
    int nonzero = 0;
    for (int i = 0; i < 128; i++)
        nonzero += count[i] > 0;
    if (q3 == 0 || nonzero <= 64)
        return -1;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 32; i++) {
        unsigned char h = 0;
        for (int k = 0; k < 4; k++) {
            uint32_t c = count[4 * i + k];
            h |= (unsigned char)((c > q3 ? 3 : c > q2 ? 2 : c > q1 ? 1 : 0) << (2 * k));
        }
        out->code[i] = h;
    }
    out->checksum = t->checksum;
    out->lvalue = log_length(t->len);
    out->q1ratio = (unsigned char)((uint64_t)q1 * 100 / q3 % 16);
    out->q2ratio = (unsigned char)((uint64_t)q2 * 100 / q3 % 16);
    return 0;
}

/* The header bytes are written with their nibbles swapped; the code from
 * its last byte to its first. */
void cs_tlsh_format(const cs_tlsh_digest *d, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = out;
    *o++ = 'T';
    *o++ = '1';
    unsigned char head[3] = {d->checksum, d->lvalue, cs_tlsh_ratios_byte(d)};
    for (int i = 0; i < 3; i++) {
        *o++ = hex[head[i] & 0xf];
        *o++ = hex[head[i] >> 4];
    }
    for (int i = 31; i >= 0; i--) {
        *o++ = hex[d->code[i] >> 4];
        *o++ = hex[d->code[i] & 0xf];
    }
    *o = '\0';
}

static int nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cs_tlsh_parse(const char *s, cs_tlsh_digest *out)
{
    if (s[0] == 'T' && s[1] == '1')
        s += 2;
    unsigned char b[35];
    for (int i = 0; i < 35; i++) {
        int hi = nibble(s[2 * i]), lo = hi < 0 ? -1 : nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    if (nibble(s[70]) >= 0)
        return -1; /* longer: another TLSH variant */
    /* undo the swapped nibbles of the header and the reversed code */
    unsigned char head[3];
    for (int i = 0; i < 3; i++)
        head[i] = (unsigned char)(b[i] >> 4 | b[i] << 4);
    out->checksum = head[0];
    out->lvalue = head[1];
    out->q1ratio = head[2] & 0xf;
    out->q2ratio = head[2] >> 4;
    for (int i = 0; i < 32; i++)
        out->code[i] = b[3 + 31 - i];
    return 0;
}

int cs_tlsh_distance(const cs_tlsh_digest *a, const cs_tlsh_digest *b, int len_diff)
{
    return cs_tlsh_header_distance(a, b, len_diff) + cs_tlsh_body_distance(a->code, b->code);
}
