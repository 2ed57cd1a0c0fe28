/* Fuzz the partition map reader (APM, GPT) on the input as a disk. Checks
 * what callers rely on: at most CS_PARTMAP_MAX entries, every entry inside
 * the disk, NUL-terminated type and name, a reason with every -1, no
 * entries without a map, and reads only inside the disk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/partmap.h"

typedef struct disk {
    const uint8_t *d;
    size_t n;
} disk;

static int rd(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    const disk *k = ctx;
    if (off > k->n || n > k->n - off)
        abort(); /* the reader must stay inside the disk it was given */
    memcpy(buf, k->d + off, n);
    (void)why;
    (void)why_n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    disk k = {data, size};
    cs_partition parts[CS_PARTMAP_MAX];
    size_t n = 12345;
    char why[256];
    why[0] = 0;
    int rc = cs_partmap_read(rd, &k, size, parts, &n, why, sizeof why);
    if (rc < -1 || rc > 1 || (rc == -1 && !why[0]) || n > CS_PARTMAP_MAX || (rc != 1 && n))
        abort();
    for (size_t i = 0; i < n; i++) {
        const cs_partition *p = &parts[i];
        if (p->offset > size || p->size > size - p->offset || !memchr(p->type, 0, sizeof p->type) ||
            !memchr(p->name, 0, sizeof p->name))
            abort();
    }
    return 0;
}
