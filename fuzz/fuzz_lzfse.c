/* Fuzz the LZFSE decoder: block headers, frequency tables, the tANS bit
 * streams and LZVN opcodes. The first three bytes give the output buffer's
 * size (up to 1 MiB), exactly malloc'd so ASan sees any write past it; the
 * rest is the stream. It must end with a message or a length within the
 * buffer. */
#include <stdint.h>
#include <stdlib.h>

#include "format/lzfse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t cap = ((size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16) & ((1u << 20) - 1);
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out)
        return 0;
    size_t len = 0;
    const char *why = NULL;
    int rc = cs_lzfse_decode(data + 3, size - 3, out, cap, &len, &why);
    if ((rc == 0 && len > cap) || (rc != 0 && (rc != -1 || !why)))
        abort();
    free(out);
    return 0;
}
