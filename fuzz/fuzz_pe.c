/* Fuzz the PE parser: headers, every section, RVA mapping of every
 * directory, imports (and imphash), resources, version information. */
#include <stdint.h>
#include <stdlib.h>

#include "format/pe.h"
#include "format/versioninfo.h"

static int check_resource(void *ud, int32_t name, uint32_t lang, size_t off, size_t len)
{
    (void)name;
    (void)lang;
    if (off > *(const size_t *)ud || len > *(const size_t *)ud - off)
        abort(); /* resource data must lie inside the file */
    return 0;
}

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
    char imphash[33];
    (void)cs_pe_imphash(&pe, imphash);
    for (uint32_t type = 1; type <= 24; type++)
        (void)cs_pe_resources(&pe, type, check_resource, (void *)&size);
    cs_arena a = {0};
    cs_product prod;
    if (cs_pe_version_info(&pe, &a, &prod, &why) != 0)
        for (size_t i = 0; i < prod.n_tables; i++)
            sink += prod.tables[i].product ? (uint32_t)prod.tables[i].product[0] : 0;
    cs_arena_free(&a);
    (void)sink;
    return 0;
}
