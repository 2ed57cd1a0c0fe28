/* Fuzz the pbzx decoder: chunk headers, lengths, xz streams (liblzma) and
 * stored chunks. No block may be longer than the chunk size, and the
 * decoder must end (at the end or with an error). */
#include <stdint.h>
#include <stdlib.h>

#include "format/pbzx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    cs_pbzx *z = cs_pbzx_open(data, size, &why);
    if (!z) {
        if (!why)
            abort();
        return 0;
    }
    const void *b;
    long n;
    uint64_t total = 0;
    while ((n = cs_pbzx_read(z, &b, &why)) > 0) {
        total += (uint64_t)n;
        if (!b || total > (1ull << 34))
            abort();
    }
    if (n < 0 && !why)
        abort();
    cs_pbzx_close(z);
    return 0;
}
