/* Fuzz the UDIF reader: the koly trailer, the XML plist (libplist), the
 * mish block maps and every chunk decoder (stored, zero, ADC, zlib, bzip2,
 * XZ, LZFSE), then cs_partmap_read over the disk it presents.
 * Besides crashes and leaks it checks what callers rely on: a failed open
 * leaves no handle and says why, partitions have names, a read past the end
 * fails, a failed read says why, the same bytes read twice (through the
 * chunk cache) are the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/partmap.h"
#include "format/udif.h"

#define MAX_READ ((uint64_t)4 << 20) /* bytes of disk read per input */

static int rd(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    return cs_udif_read(ctx, off, buf, n, why, why_n);
}

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_udif *u = NULL;
    char why[256];
    why[0] = 0;
    if (cs_udif_open(data, size, 1u << 20, &u, why, sizeof why) != 0) {
        if (u || !why[0])
            abort();
        return 0;
    }
    for (size_t i = 0; i < cs_udif_partition_count(u); i++) {
        const cs_udif_partition *p = cs_udif_partition_at(u, i);
        if (!p || !p->name || p->offset + p->size > cs_udif_disk_size(u))
            abort();
    }
    if (cs_udif_partition_at(u, cs_udif_partition_count(u)))
        abort();
    uint64_t size_d = cs_udif_disk_size(u), end = size_d < MAX_READ ? size_d : MAX_READ;
    static unsigned char buf[70000], again[70000];
    static const size_t steps[] = {1, 511, 4097, 65535, 13};
    unsigned sum = 0;
    uint64_t off = 0;
    for (size_t k = 0; off < end; k++) {
        size_t n = steps[k % 5];
        if (n > end - off)
            n = (size_t)(end - off);
        why[0] = 0;
        if (cs_udif_read(u, off, buf, n, why, sizeof why) != 0) {
            if (!why[0])
                abort();
        } else {
            sum += buf[0] + buf[n - 1];
            /* the same bytes again, from the cache or decoded anew */
            if (cs_udif_read(u, off, again, n, why, sizeof why) != 0 || memcmp(buf, again, n) != 0)
                abort();
        }
        off += n;
    }
    if (cs_udif_read(u, size_d, buf, 1, why, sizeof why) == 0)
        abort();
    cs_partition parts[CS_PARTMAP_MAX];
    size_t np = 0;
    why[0] = 0;
    int rc = cs_partmap_read(rd, u, size_d, parts, &np, why, sizeof why);
    if (rc < -1 || rc > 1 || (rc == -1 && !why[0]) || np > CS_PARTMAP_MAX || (rc != 1 && np))
        abort();
    for (size_t i = 0; i < np; i++)
        if (parts[i].offset > size_d || parts[i].size > size_d - parts[i].offset)
            abort();
    sink = sum + cs_udif_chunk_kinds(u);
    cs_udif_close(u);
    return 0;
}
