/* Fuzz the multipart/form-data reader of `chainsweep serve`: the input's
 * first line is the Content-Type header, the rest the body. A file part
 * found must lie inside the body and its name be terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainsweep/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    char ct[512];
    if (hl >= sizeof ct)
        hl = sizeof ct - 1;
    memcpy(ct, data, hl);
    ct[hl] = '\0';
    char boundary[80];
    if (cs_multipart_boundary(ct, boundary, sizeof boundary) != 0)
        memcpy(boundary, "b", 2);
    const uint8_t *body = nl ? nl + 1 : data + size;
    size_t len = (size_t)(data + size - body);
    cs_multipart_file f;
    const char *why;
    if (cs_multipart_find_file(body, len, boundary, &f, &why) == 0) {
        if (f.data < body || f.data + f.len > body + len || !memchr(f.filename, 0, sizeof f.filename))
            abort();
    }
    return 0;
}
