/* Partition maps: GPT (the "EFI PART" header at LBA 1 of 512-byte sectors,
 * its entry array, both CRC32-checked; the protective MBR is not required)
 * and the Apple Partition Map (block 0 "ER" with the block size, then one
 * "PM" entry per block). APM entries sit at multiples of the driver
 * descriptor's block size (xorriso -apm-block-size 2048) or, as on Apple's
 * hybrid CDs, at multiples of 512 whatever block 0 says; pmPyPartStart and
 * pmPartBlkCnt count in the entries' own block size. GPT is tried first: a
 * disk carrying both (xorriso's hybrids) lists the same volumes in each. */
#include "format/partmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GPT_MAX_ARRAY (1u << 20) /* bytes of GPT entries read at most */
#define APM_MAX_ENTRIES 4096u

static int fail(char *why, size_t why_n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_n, const char *fmt, ...)
{
    if (why && why_n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A fixed-size Mac field into UTF-8: bytes past ASCII become '?' */
static void copy_field(char *dst, size_t cap, const unsigned char *src, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && src[i] && k + 1 < cap; i++)
        dst[k++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[k] = 0;
}

/* ---- GPT ---- */

static const struct {
    const char *guid, *name;
} gpt_types[] = {
    {"48465300-0000-11AA-AA11-00306543ECAC", "Apple_HFS"},
    {"7C3457EF-0000-11AA-AA11-00306543ECAC", "Apple_APFS"},
    {"426F6F74-0000-11AA-AA11-00306543ECAC", "Apple_Boot"},
    {"55465300-0000-11AA-AA11-00306543ECAC", "Apple_UFS"},
    {"52414944-0000-11AA-AA11-00306543ECAC", "Apple_RAID"},
    {"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI"},
    {"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data"},
    {"E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved"},
    {"0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"},
    {"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"},
    {"21686148-6449-6E6F-744E-656564454649", "BIOS boot"},
};

/* The mixed-endian GUID as text (the first three fields are little-endian) */
static void guid_text(char out[37], const unsigned char *g)
{
    static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[g[order[i]] >> 4];
        out[k++] = hex[g[order[i]] & 15];
    }
    out[k] = 0;
}

/* UTF-16LE (36 units, NUL-terminated or full) to UTF-8, whole characters only */
static void utf16_name(char *dst, size_t cap, const unsigned char *src, size_t units)
{
    size_t k = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t c = (uint32_t)src[2 * i] | (uint32_t)src[2 * i + 1] << 8;
        if (c == 0)
            break;
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < units) {
            uint32_t d = (uint32_t)src[2 * i + 2] | (uint32_t)src[2 * i + 3] << 8;
            if (d >= 0xDC00 && d < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
                i++;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xD800 && c < 0xE000) {
            c = 0xFFFD;
        }
        unsigned char u[4];
        size_t m;
        if (c < 0x20) {
            u[0] = '?';
            m = 1;
        } else if (c < 0x80) {
            u[0] = (unsigned char)c;
            m = 1;
        } else if (c < 0x800) {
            u[0] = (unsigned char)(0xC0 | c >> 6);
            u[1] = (unsigned char)(0x80 | (c & 0x3F));
            m = 2;
        } else if (c < 0x10000) {
            u[0] = (unsigned char)(0xE0 | c >> 12);
            u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            u[2] = (unsigned char)(0x80 | (c & 0x3F));
            m = 3;
        } else {
            u[0] = (unsigned char)(0xF0 | c >> 18);
            u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            u[3] = (unsigned char)(0x80 | (c & 0x3F));
            m = 4;
        }
        if (k + m >= cap)
            break;
        memcpy(dst + k, u, m);
        k += m;
    }
    dst[k] = 0;
}

static int read_gpt(cs_disk_read_fn rd, void *ctx, uint64_t disk_size, const unsigned char *h, cs_partition *out,
                    size_t *n, char *why, size_t why_n)
{
    uint32_t hsize = le32(h + 12), hcrc = le32(h + 16);
    if (hsize < 92 || hsize > 512)
        return fail(why, why_n, "GPT header size %u out of range", hsize);
    unsigned char tmp[512];
    memcpy(tmp, h, hsize);
    memset(tmp + 16, 0, 4);
    if ((uint32_t)crc32(0, tmp, hsize) != hcrc)
        return fail(why, why_n, "GPT header checksum mismatch");
    uint64_t lba = le64(h + 72);
    uint32_t count = le32(h + 80), esize = le32(h + 84), acrc = le32(h + 88);
    if (esize < 128 || esize % 8 != 0 || esize > 4096)
        return fail(why, why_n, "GPT entry size %u out of range", esize);
    if (count == 0)
        return 1;
    if ((uint64_t)count * esize > GPT_MAX_ARRAY)
        return fail(why, why_n, "GPT entry array of %u x %u bytes, over the limit", count, esize);
    size_t bytes = (size_t)count * esize;
    if (lba < 2 || lba > disk_size / 512 || bytes > disk_size - lba * 512)
        return fail(why, why_n, "GPT entry array (LBA %llu, %zu bytes) outside the disk", (unsigned long long)lba,
                    bytes);
    unsigned char *a = malloc(bytes);
    if (!a)
        return fail(why, why_n, "GPT: out of memory for the entry array");
    if (rd(ctx, lba * 512, a, bytes, why, why_n) != 0) {
        free(a);
        return -1;
    }
    if ((uint32_t)crc32(0, a, (uInt)bytes) != acrc) {
        free(a);
        return fail(why, why_n, "GPT entry array checksum mismatch");
    }
    static const unsigned char zero[16];
    for (uint32_t i = 0; i < count && *n < CS_PARTMAP_MAX; i++) {
        const unsigned char *e = a + (size_t)i * esize;
        if (memcmp(e, zero, 16) == 0)
            continue; /* unused */
        uint64_t first = le64(e + 32), last = le64(e + 40);
        /* past the disk (or backwards): dropped */
        if (first > last || last >= disk_size / 512)
            continue;
        cs_partition *p = &out[(*n)++];
        memset(p, 0, sizeof *p);
        char g[37];
        guid_text(g, e);
        const char *name = g;
        for (size_t t = 0; t < sizeof gpt_types / sizeof gpt_types[0]; t++)
            if (strcmp(gpt_types[t].guid, g) == 0)
                name = gpt_types[t].name;
        snprintf(p->type, sizeof p->type, "%s", name);
        utf16_name(p->name, sizeof p->name, e + 56, esize >= 128 ? 36 : 0);
        p->offset = first * 512;
        p->size = (last - first + 1) * 512;
    }
    free(a);
    return 1;
}

/* ---- APM ---- */

static int read_apm(cs_disk_read_fn rd, void *ctx, uint64_t disk_size, uint64_t step, const unsigned char *first,
                    cs_partition *out, size_t *n, char *why, size_t why_n)
{
    uint32_t count = be32(first + 4);
    if (count == 0 || count > APM_MAX_ENTRIES)
        return fail(why, why_n, "APM map of %u entries", count);
    if ((uint64_t)count >= disk_size / step)
        return fail(why, why_n, "APM map of %u entries of %llu bytes runs past the disk", count,
                    (unsigned long long)step);
    unsigned char e[512];
    for (uint32_t k = 1; k <= count; k++) {
        if (k == 1)
            memcpy(e, first, sizeof e);
        else if (rd(ctx, k * step, e, sizeof e, why, why_n) != 0)
            return -1;
        if (e[0] != 'P' || e[1] != 'M')
            return fail(why, why_n, "APM entry %u (of %u) has no PM signature", k, count);
        uint64_t start = be32(e + 8), blocks = be32(e + 12);
        if (*n >= CS_PARTMAP_MAX)
            continue;
        if (start * step > disk_size || blocks * step > disk_size - start * step)
            continue; /* past the disk: dropped */
        cs_partition *p = &out[(*n)++];
        memset(p, 0, sizeof *p);
        copy_field(p->name, sizeof p->name, e + 16, 32);
        copy_field(p->type, sizeof p->type, e + 48, 32);
        p->offset = start * step;
        p->size = blocks * step;
    }
    return 1;
}

static int find_map(cs_disk_read_fn rd, void *ctx, uint64_t disk_size, cs_partition *out, size_t *n, char *why,
                    size_t why_n)
{
    if (disk_size < 1024)
        return 0;
    unsigned char b0[512], b1[512];
    if (rd(ctx, 0, b0, sizeof b0, why, why_n) != 0 || rd(ctx, 512, b1, sizeof b1, why, why_n) != 0)
        return -1;
    if (memcmp(b1, "EFI PART", 8) == 0)
        return read_gpt(rd, ctx, disk_size, b1, out, n, why, why_n);

    /* APM: entries at the descriptor's block size, else at 512 */
    if (b0[0] == 'E' && b0[1] == 'R') {
        uint32_t bs = (uint32_t)b0[2] << 8 | b0[3];
        if (bs > 512 && bs <= 32768 && (bs & (bs - 1)) == 0 && disk_size >= 2 * (uint64_t)bs) {
            unsigned char e[512];
            if (rd(ctx, bs, e, sizeof e, why, why_n) != 0)
                return -1;
            if (e[0] == 'P' && e[1] == 'M')
                return read_apm(rd, ctx, disk_size, bs, e, out, n, why, why_n);
        }
    }
    if (b1[0] == 'P' && b1[1] == 'M')
        return read_apm(rd, ctx, disk_size, 512, b1, out, n, why, why_n);
    return 0;
}

int cs_partmap_read(cs_disk_read_fn rd, void *ctx, uint64_t disk_size, cs_partition *out, size_t *n, char *why,
                    size_t why_n)
{
    *n = 0;
    int rc = find_map(rd, ctx, disk_size, out, n, why, why_n);
    if (rc != 1)
        *n = 0; /* a damaged map lists nothing */
    return rc;
}
