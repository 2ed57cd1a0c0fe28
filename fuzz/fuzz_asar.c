/* Fuzz the asar header reader (cs_asar_walk): pickle sizes, the JSON header
 * (jansson), nested folders, offsets as strings or numbers, links, unpacked
 * entries and integrity blocks. Checks what the unpacker relies on: every
 * entry without an error lies inside the archive, and block lists match the
 * size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/asar.h"

static int check_entry(void *ctx, const cs_asar_entry *e)
{
    size_t n = *(size_t *)ctx;
    if (!e->path)
        abort();
    if (e->error || e->link || e->unpacked)
        return 0;
    if (e->offset > n || e->size > n - e->offset)
        abort();
    if (e->block_size && e->n_blocks != (e->size ? (e->size + e->block_size - 1) / e->block_size : 1))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    (void)cs_asar_probe(data, size);
    (void)cs_asar_walk(data, size, check_entry, &size, why, sizeof why);
    return 0;
}
