/* Fuzz the PE parser: headers, every section, RVA mapping of every
 * directory. */
#include <stdint.h>
#include <stdlib.h>

#include "format/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_pe pe;
    const char *why;
    if (cs_pe_parse(data, size, &pe, &why) != CS_PE_OK)
        return 0;
    volatile uint32_t sink = 0;
    for (unsigned i = 0; i < pe.n_sections; i++) {
        cs_pe_section s;
        cs_pe_section_get(&pe, i, &s);
        sink += s.raw_size;
    }
    for (uint32_t d = 0; d < pe.n_dirs; d++) {
        size_t off;
        if (cs_pe_rva_to_offset(&pe, pe.dir_va[d], &off) == 0 && off >= size)
            abort(); /* a mapped offset must be inside the file */
    }
    (void)sink;
    return 0;
}
