/* LZFSE decoder. Block layouts (all fields little-endian):
 *   "bvx$"                                  end of stream
 *   "bvx-" raw_size  bytes                  stored
 *   "bvxn" raw_size payload_size payload    LZVN opcodes ending in EOS
 *   "bvx1" 772-byte header, literal bits, L/M/D bits   (plain u16 tables)
 *   "bvx2" 32-byte packed header + packed tables, then the same payloads
 * An LZFSE block holds up to 10000 (L, M, D) triplets and 40000 literal
 * bytes. The literals are four interleaved tANS streams, the triplets one
 * tANS stream of base symbols with raw "extra" bits; both are read
 * backwards from the end of their payload. Matches may reach back into
 * earlier blocks' output, never before the start of the output. */
#include "format/lzfse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_END 0x24787662u  /* "bvx$" */
#define MAGIC_RAW 0x2d787662u  /* "bvx-" */
#define MAGIC_V1 0x31787662u   /* "bvx1" */
#define MAGIC_V2 0x32787662u   /* "bvx2" */
#define MAGIC_LZVN 0x6e787662u /* "bvxn" */

#define L_SYMS 20
#define M_SYMS 20
#define D_SYMS 64
#define LIT_SYMS 256
#define ALL_SYMS (L_SYMS + M_SYMS + D_SYMS + LIT_SYMS)
#define L_STATES 64
#define M_STATES 64
#define D_STATES 256
#define LIT_STATES 1024
#define MAX_MATCHES 10000u
#define MAX_LITERALS 40000u /* a multiple of 4: the four literal streams stay in step */
/* the reference's v1 header struct: 770 bytes of fields padded to 4 */
#define V1_HEADER 772u
#define V2_FIXED 32u
#define V2_MAX_HEADER (V2_FIXED + 2u * ALL_SYMS)

static const char E_BIG[] = "LZFSE: output larger than the buffer";
static const char E_MAGIC[] = "LZFSE: bad block magic";
static const char E_TRUNC[] = "LZFSE: truncated block";
static const char E_NOEND[] = "LZFSE: stream ends without its end-of-stream block";
static const char E_TRAIL[] = "LZFSE: data after the end-of-stream block";
static const char E_FREQ[] = "LZFSE: bad frequency table";
static const char E_HEADER[] = "LZFSE: bad block header";
static const char E_DIST[] = "LZFSE: match distance before the start";
static const char E_DZERO[] = "LZFSE: match without a distance";
static const char E_BITS[] = "LZFSE: entropy-coded payload exhausted or badly padded";
static const char E_LITS[] = "LZFSE: matches use more literals than the block holds";
static const char E_SIZE[] = "LZFSE: block does not decode to its declared size";
static const char E_OPCODE[] = "LZFSE: bad LZVN opcode";
static const char E_LZVN_END[] = "LZFSE: LZVN block does not end with its end-of-stream opcode";
static const char E_MEM[] = "LZFSE: out of memory";

/* Base value and extra-bit count of each L, M and D symbol */
static const uint8_t l_extra[L_SYMS] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8};
static const int32_t l_base[L_SYMS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60};
static const uint8_t m_extra[M_SYMS] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11};
static const int32_t m_base[M_SYMS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312};
/* D symbols come in fours: group g = s / 4 has g extra bits and starts at
 * 4 * (2^g - 1), its members 2^g apart (0..3, 4..10, 12..24, ... 262139) */
static uint8_t d_extra_of(int s)
{
    return (uint8_t)(s / 4);
}

static int32_t d_base_of(int s)
{
    return ((int32_t)(4 + s % 4) << (s / 4)) - 4;
}

typedef struct entry { /* one state of a literal table */
    uint8_t sym, bits;
    uint16_t base; /* next state = base + the next `bits` bits */
} entry;

typedef struct ventry { /* one state of an L, M or D table */
    uint8_t bits, vbits; /* bits read in all; of them, extra value bits */
    uint16_t base;
    int32_t vbase;
} ventry;

typedef struct ctx {
    entry lit[LIT_STATES];
    ventry l[L_STATES], m[M_STATES], d[D_STATES];
    unsigned char literals[MAX_LITERALS];
} ctx;

typedef struct header {
    uint32_t raw, n_literals, n_matches, lit_bytes, lmd_bytes;
    int lit_bits, lmd_bits; /* -7..0: unused high bits of the payload's last byte, negated */
    uint32_t lit_state[4], l_state, m_state, d_state;
    uint16_t freq[ALL_SYMS]; /* L, M, D, literal */
} header;

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int floor_log2(unsigned v)
{
    int r = 0;
    while (v >>= 1)
        r++;
    return r;
}

/* tANS decoding table for freq[0..nsym) over nstates = 2^log2n states.
 * Symbol s with f states owns states [o, o+f). With k such that
 * n <= f<<k < 2n, its first j0 = (2n >> k) - f states read k bits, the rest
 * k-1, and the ranges [base, base + 2^bits) they lead to tile [0, n).
 * States left over when the frequencies sum to less than n decode symbol 0
 * without reading (the reference leaves them undefined). */
static int build(const uint16_t *freq, int nsym, int log2n, entry *t)
{
    const unsigned n = 1u << log2n;
    unsigned sum = 0;
    for (int s = 0; s < nsym; s++)
        sum += freq[s];
    if (sum > n)
        return -1;
    memset(t, 0, n * sizeof *t);
    unsigned o = 0;
    for (int s = 0; s < nsym; s++) {
        unsigned f = freq[s];
        if (!f)
            continue;
        int k = log2n - floor_log2(f);
        unsigned j0 = ((2 * n) >> k) - f;
        for (unsigned j = 0; j < f; j++) {
            entry *e = &t[o + j];
            e->sym = (uint8_t)s;
            if (j < j0) {
                e->bits = (uint8_t)k;
                e->base = (uint16_t)(((f + j) << k) - n);
            } else {
                e->bits = (uint8_t)(k - 1);
                e->base = (uint16_t)((j - j0) << (k - 1));
            }
        }
        o += f;
    }
    return 0;
}

static int build_values(const uint16_t *freq, int nsym, int log2n, const uint8_t *extra, const int32_t *vbase,
                        ventry *t)
{
    entry tmp[D_STATES];
    if (build(freq, nsym, log2n, tmp) != 0)
        return -1;
    for (unsigned i = 0; i < (1u << log2n); i++) {
        t[i].vbits = extra[tmp[i].sym];
        t[i].bits = (uint8_t)(tmp[i].bits + t[i].vbits);
        t[i].base = tmp[i].base;
        t[i].vbase = vbase[tmp[i].sym];
    }
    return 0;
}

/* A bit stream read backwards: the payload's last byte holds the first bits
 * (its top -extra bits are padding, zero), each earlier byte the next 8,
 * most significant first. */
typedef struct bitin {
    const unsigned char *p;
    size_t pos;   /* bytes [0, pos) not loaded yet */
    uint64_t acc; /* n bits, the next ones at the top */
    unsigned n;
} bitin;

static int bits_init(bitin *b, const unsigned char *p, size_t len, int extra)
{
    b->p = p;
    b->pos = len;
    b->acc = 0;
    b->n = 0;
    if (len == 0)
        return extra == 0 ? 0 : -1;
    unsigned last = p[len - 1], valid = (unsigned)(8 + extra);
    if (last >> valid)
        return -1; /* the encoder leaves the padding bits zero */
    b->acc = last;
    b->n = valid;
    b->pos = len - 1;
    return 0;
}

/* At least 56 bits in the accumulator unless the payload is used up: enough
 * for four literals (4 x 10 bits) or one triplet (14 + 17 + 23 bits). */
static void bits_fill(bitin *b)
{
    while (b->n <= 55 && b->pos > 0) {
        b->acc = b->acc << 8 | b->p[--b->pos];
        b->n += 8;
    }
}

static int bits_pull(bitin *b, unsigned k, uint32_t *v)
{
    if (k > b->n)
        return -1;
    b->n -= k;
    *v = (uint32_t)(b->acc >> b->n);
    b->acc &= b->n ? (~(uint64_t)0 >> (64 - b->n)) : 0;
    return 0;
}

static int value_decode(bitin *b, const ventry *t, uint32_t *state, uint32_t *value)
{
    const ventry *e = &t[*state];
    uint32_t x;
    if (bits_pull(b, e->bits, &x) != 0)
        return -1;
    *state = e->base + (x >> e->vbits);
    *value = (uint32_t)e->vbase + (x & ((1u << e->vbits) - 1));
    return 0;
}

/* Packed v2 table entries, read from the low bits: xxxx0 -> 0 or 1 (2 bits),
 * x01 -> 2..3 (3 bits), xx011 -> 4..7 (5), 4 bits + 0111 -> 8..23 (8),
 * 10 bits + 1111 -> 24..1047 (14). */
static unsigned freq_code(uint32_t acc, unsigned *len)
{
    if (!(acc & 1))
        return *len = 2, (acc >> 1) & 1;
    if (!(acc & 2))
        return *len = 3, 2 + ((acc >> 2) & 1);
    if (!(acc & 4))
        return *len = 5, 4 + ((acc >> 3) & 3);
    if (!(acc & 8))
        return *len = 8, 8 + ((acc >> 4) & 15);
    return *len = 14, 24 + ((acc >> 4) & 0x3ff);
}

static const char *unpack_v2(const unsigned char *p, size_t avail, header *h, size_t *hsize)
{
    if (avail < V2_FIXED)
        return E_TRUNC;
    uint64_t v0 = le64(p + 8), v1 = le64(p + 16), v2 = le64(p + 24);
    h->raw = le32(p + 4);
    h->n_literals = (uint32_t)(v0 & 0xfffff);
    h->lit_bytes = (uint32_t)(v0 >> 20 & 0xfffff);
    h->n_matches = (uint32_t)(v0 >> 40 & 0xfffff);
    h->lit_bits = (int)(v0 >> 60 & 7) - 7;
    for (int i = 0; i < 4; i++)
        h->lit_state[i] = (uint32_t)(v1 >> (10 * i) & 0x3ff);
    h->lmd_bytes = (uint32_t)(v1 >> 40 & 0xfffff);
    h->lmd_bits = (int)(v1 >> 60 & 7) - 7;
    uint32_t size = (uint32_t)v2;
    h->l_state = (uint32_t)(v2 >> 32 & 0x3ff);
    h->m_state = (uint32_t)(v2 >> 42 & 0x3ff);
    h->d_state = (uint32_t)(v2 >> 52 & 0x3ff);
    if (size < V2_FIXED || size > V2_MAX_HEADER)
        return E_HEADER;
    if (size > avail)
        return E_TRUNC;
    *hsize = size;
    memset(h->freq, 0, sizeof h->freq);
    if (size == V2_FIXED)
        return NULL; /* no tables: every frequency 0 */
    const unsigned char *q = p + V2_FIXED, *end = p + size;
    uint32_t acc = 0;
    unsigned nb = 0;
    for (int i = 0; i < ALL_SYMS; i++) {
        while (q < end && nb <= 24) {
            acc |= (uint32_t)*q++ << nb;
            nb += 8;
        }
        unsigned len;
        unsigned v = freq_code(acc, &len);
        if (len > nb)
            return E_FREQ;
        h->freq[i] = (uint16_t)v;
        acc >>= len;
        nb -= len;
    }
    if (nb >= 8 || q != end) /* the tables end in the header's last byte */
        return E_FREQ;
    return NULL;
}

static const char *unpack_v1(const unsigned char *p, size_t avail, header *h, size_t *hsize)
{
    if (avail < V1_HEADER)
        return E_TRUNC;
    h->raw = le32(p + 4);
    /* p + 8: the payload size, the sum of the two below; not needed */
    h->n_literals = le32(p + 12);
    h->n_matches = le32(p + 16);
    h->lit_bytes = le32(p + 20);
    h->lmd_bytes = le32(p + 24);
    int32_t lb = (int32_t)le32(p + 28), mb = (int32_t)le32(p + 40);
    if (lb < -7 || lb > 0 || mb < -7 || mb > 0)
        return E_HEADER;
    h->lit_bits = lb;
    h->lmd_bits = mb;
    for (int i = 0; i < 4; i++)
        h->lit_state[i] = le16(p + 32 + 2 * i);
    h->l_state = le16(p + 44);
    h->m_state = le16(p + 46);
    h->d_state = le16(p + 48);
    for (int i = 0; i < ALL_SYMS; i++)
        h->freq[i] = (uint16_t)le16(p + 50 + 2 * i);
    *hsize = V1_HEADER;
    return NULL;
}

static void copy_match(unsigned char *o, size_t d, size_t m)
{
    const unsigned char *from = o - d;
    if (d >= m)
        memcpy(o, from, m);
    else
        for (size_t k = 0; k < m; k++) /* overlapping: repeats the last d bytes */
            o[k] = from[k];
}

/* One bvx1/bvx2 block whose header h was read; pay[0..avail) follows it */
static const char *lzfse_block(ctx *cx, const header *h, const unsigned char *pay, size_t avail, unsigned char *dst,
                               size_t *pos, size_t cap)
{
    if (h->n_literals > MAX_LITERALS || h->n_matches > MAX_MATCHES || h->l_state >= L_STATES ||
        h->m_state >= M_STATES || h->d_state >= D_STATES)
        return E_HEADER;
    for (int i = 0; i < 4; i++)
        if (h->lit_state[i] >= LIT_STATES)
            return E_HEADER;
    if (h->lit_bytes > avail || h->lmd_bytes > avail - h->lit_bytes)
        return E_TRUNC;
    if (h->raw > cap - *pos)
        return E_BIG;
    const uint16_t *f = h->freq;
    if (build_values(f, L_SYMS, 6, l_extra, l_base, cx->l) != 0 ||
        build_values(f + L_SYMS, M_SYMS, 6, m_extra, m_base, cx->m) != 0)
        return E_FREQ;
    {
        uint8_t dx[D_SYMS];
        int32_t db[D_SYMS];
        for (int s = 0; s < D_SYMS; s++)
            dx[s] = d_extra_of(s), db[s] = d_base_of(s);
        if (build_values(f + L_SYMS + M_SYMS, D_SYMS, 8, dx, db, cx->d) != 0)
            return E_FREQ;
    }
    if (build(f + L_SYMS + M_SYMS + D_SYMS, LIT_SYMS, 10, cx->lit) != 0)
        return E_FREQ;

    /* literals: four states taking turns, four symbols per refill */
    bitin b;
    if (bits_init(&b, pay, h->lit_bytes, h->lit_bits) != 0)
        return E_BITS;
    uint32_t st[4] = {h->lit_state[0], h->lit_state[1], h->lit_state[2], h->lit_state[3]};
    uint32_t n_lit = (h->n_literals + 3) & ~3u; /* <= MAX_LITERALS, itself a multiple of 4 */
    for (uint32_t i = 0; i < n_lit; i += 4) {
        bits_fill(&b);
        for (int k = 0; k < 4; k++) {
            const entry *e = &cx->lit[st[k]];
            uint32_t x;
            if (bits_pull(&b, e->bits, &x) != 0)
                return E_BITS;
            cx->literals[i + (uint32_t)k] = e->sym;
            st[k] = e->base + x;
        }
    }

    /* triplets: L literals, then M bytes from D back (D 0: the previous D) */
    if (bits_init(&b, pay + h->lit_bytes, h->lmd_bytes, h->lmd_bits) != 0)
        return E_BITS;
    uint32_t ls = h->l_state, ms = h->m_state, ds = h->d_state, d = 0;
    size_t used = 0, end = *pos + h->raw, o = *pos;
    for (uint32_t i = 0; i < h->n_matches; i++) {
        uint32_t L, M, D;
        bits_fill(&b);
        if (value_decode(&b, cx->l, &ls, &L) != 0 || value_decode(&b, cx->m, &ms, &M) != 0 ||
            value_decode(&b, cx->d, &ds, &D) != 0)
            return E_BITS;
        if (D)
            d = D;
        if (L > n_lit - used)
            return E_LITS;
        if (L > end - o || M > end - o - L)
            return E_SIZE;
        if (L)
            memcpy(dst + o, cx->literals + used, L);
        used += L;
        o += L;
        if (M) {
            if (!d)
                return E_DZERO;
            if (d > o)
                return E_DIST;
            copy_match(dst + o, d, M);
            o += M;
        }
    }
    if (o != end)
        return E_SIZE;
    *pos = o;
    return NULL;
}

/* An LZVN payload s[0..n) decoding to dst[*pos..end). Opcodes (L literal
 * bytes follow the opcode, then M bytes are copied from D back):
 *   LLMMMDDD D8          small distance   L 0..3, M 3..10, D < 1536
 *   LLMMM110             previous D       (0x46.. and 0x86.., 0xc6, 0xce)
 *   LLMMM111 D16         large distance   D < 65536
 *   101LLMMM D14M2 (le16) medium distance M 3..34, D < 16384
 *   1110LLLL, 0xe0 L8    literals only    1..15, 16..271
 *   1111MMMM, 0xf0 M8    match, previous D 1..15, 16..271
 *   0x06 + 7 bytes end; 0x0e, 0x16 nop; 0x1e..0x3e (step 8), 0x70..0x7f,
 *   0xd0..0xdf undefined. */
static const char *lzvn_block(const unsigned char *s, size_t n, unsigned char *dst, size_t *pos, size_t end)
{
    size_t i = 0, o = *pos, d = 0;
    while (i < n) {
        unsigned op = s[i];
        size_t L = 0, M = 0, len = 1, nd = 0;
        int has_d = 0;
        if (op == 0x06) {
            if (n - i < 8)
                return E_TRUNC;
            if (n - i != 8)
                return E_LZVN_END; /* the end opcode is the payload's last 8 bytes */
            if (o != end)
                return E_SIZE;
            *pos = o;
            return NULL;
        }
        if (op == 0x0e || op == 0x16) {
            i++;
            continue;
        }
        if (op >= 0xf0 || (op >= 0xe0 && op <= 0xef)) {
            unsigned small = op & 15;
            size_t v = small;
            if (!small) {
                if (n - i < 2)
                    return E_TRUNC;
                v = (size_t)s[i + 1] + 16;
                len = 2;
            }
            if (op >= 0xf0)
                M = v;
            else
                L = v;
        } else if ((op >= 0x70 && op <= 0x7f) || (op >= 0xd0 && op <= 0xdf)) {
            return E_OPCODE;
        } else if (op >= 0xa0 && op <= 0xbf) {
            if (n - i < 3)
                return E_TRUNC;
            uint32_t w = le16(s + i + 1);
            len = 3;
            L = (op >> 3) & 3;
            M = (((size_t)op & 7) << 2 | (w & 3)) + 3;
            nd = w >> 2;
            has_d = 1;
        } else {
            L = op >> 6;
            M = ((op >> 3) & 7) + 3;
            if ((op & 7) == 6) {
                if (op < 0x40)
                    return E_OPCODE; /* 0x1e..0x3e */
            } else if ((op & 7) == 7) {
                if (n - i < 3)
                    return E_TRUNC;
                nd = le16(s + i + 1);
                len = 3;
                has_d = 1;
            } else {
                if (n - i < 2)
                    return E_TRUNC;
                nd = ((size_t)op & 7) << 8 | s[i + 1];
                len = 2;
                has_d = 1;
            }
        }
        if (L > n - i - len)
            return E_TRUNC;
        if (L > end - o)
            return E_SIZE;
        if (L)
            memcpy(dst + o, s + i + len, L);
        i += len + L;
        o += L;
        if (has_d)
            d = nd;
        if (M) {
            if (!d)
                return E_DZERO;
            if (d > o)
                return E_DIST;
            if (M > end - o)
                return E_SIZE;
            copy_match(dst + o, d, M);
            o += M;
        }
    }
    return E_LZVN_END;
}

int cs_lzfse_decode(const unsigned char *src, size_t n, unsigned char *dst, size_t cap, size_t *out_len,
                    const char **why)
{
    size_t off = 0, pos = 0;
    ctx *cx = NULL;
    const char *err = NULL;
    *out_len = 0;
    /* every block consumes at least 4 input bytes: the loop ends */
    for (;;) {
        if (n - off < 4) {
            err = off == n ? E_NOEND : E_TRUNC;
            break;
        }
        uint32_t magic = le32(src + off);
        if (magic == MAGIC_END) {
            off += 4;
            if (off != n)
                err = E_TRAIL;
            break;
        }
        if (magic == MAGIC_RAW) {
            if (n - off < 8) {
                err = E_TRUNC;
                break;
            }
            uint32_t raw = le32(src + off + 4);
            off += 8;
            if (raw > n - off) {
                err = E_TRUNC;
                break;
            }
            if (raw > cap - pos) {
                err = E_BIG;
                break;
            }
            if (raw)
                memcpy(dst + pos, src + off, raw);
            pos += raw;
            off += raw;
        } else if (magic == MAGIC_LZVN) {
            if (n - off < 12) {
                err = E_TRUNC;
                break;
            }
            uint32_t raw = le32(src + off + 4), payload = le32(src + off + 8);
            off += 12;
            if (payload > n - off) {
                err = E_TRUNC;
                break;
            }
            if (raw > cap - pos) {
                err = E_BIG;
                break;
            }
            if ((err = lzvn_block(src + off, payload, dst, &pos, pos + raw)) != NULL)
                break;
            off += payload;
        } else if (magic == MAGIC_V1 || magic == MAGIC_V2) {
            header h;
            size_t hsize = 0;
            err = magic == MAGIC_V1 ? unpack_v1(src + off, n - off, &h, &hsize)
                                    : unpack_v2(src + off, n - off, &h, &hsize);
            if (err)
                break;
            if (!cx && !(cx = malloc(sizeof *cx))) {
                err = E_MEM;
                break;
            }
            off += hsize;
            if ((err = lzfse_block(cx, &h, src + off, n - off, dst, &pos, cap)) != NULL)
                break;
            off += (size_t)h.lit_bytes + h.lmd_bytes;
        } else {
            err = E_MAGIC;
            break;
        }
    }
    free(cx);
    if (err) {
        *why = err;
        return -1;
    }
    *out_len = pos;
    return 0;
}
