/* Fuzz the Mach-O parser and the code-signature verifier: header and load
 * commands, fat tables, the SuperBlob, CodeDirectories (slots, special
 * slots, versions), the CMS blob (OpenSSL) and its CDHashes attributes
 * (libplist). Checks what callers rely on: slices lie inside the input and
 * every finding names a slice. */
#include <stdint.h>
#include <stdlib.h>

#include "chainsweep/codesign.h"
#include "format/macho.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_macho m;
    const char *why;
    if (cs_macho_parse(data, size, &m, &why) == 0) {
        for (size_t i = 0; i < m.n_libs; i++)
            if (m.libs[i].name.p < (const char *)data || m.libs[i].name.p + m.libs[i].name.len > (const char *)data + size)
                abort();
    }
    cs_mc_report *r = NULL;
    if (cs_codesign_verify(data, size, NULL, 0, &r, NULL) != CS_OK) {
        cs_mc_report_free(r);
        return 0;
    }
    for (size_t i = 0; i < r->n_slices; i++)
        if (r->slices[i].offset > size || r->slices[i].size > size - r->slices[i].offset)
            abort();
    for (size_t i = 0; i < r->n_findings; i++)
        if ((size_t)r->findings[i].slice >= r->n_slices)
            abort();
    cs_mc_report_free(r);
    return 0;
}
