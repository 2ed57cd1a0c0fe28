/* Fuzz file-type detection (including the OLE/MSI directory read) and the
 * file-type-signatures line parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/filetype.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_filetypes t;
    cs_filetypes_init(&t);
    (void)cs_filetype_detect(&t, data, size);
    char *line = malloc(size + 1);
    memcpy(line, data, size);
    line[size] = '\0';
    const char *why;
    if (cs_filetypes_add_line(&t, line, &why) == 1)
        (void)cs_filetype_detect(&t, data, size);
    free(line);
    cs_filetypes_free(&t);
    return 0;
}
