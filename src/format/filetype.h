/* File type from magic prefixes, with the type names of THOR and Loki
 * (EXE, ELF, MACH-O, ZIP, MSI, PHP, ...), longest prefix first. */
#ifndef CS_FORMAT_FILETYPE_H
#define CS_FORMAT_FILETYPE_H

#include <stddef.h>

#define CS_MAGIC_MAX 16

typedef struct cs_magic {
    unsigned char bytes[CS_MAGIC_MAX];
    size_t len;
    char *name;
} cs_magic;

typedef struct cs_filetypes {
    cs_magic *items;
    size_t n, cap;
} cs_filetypes;

void cs_filetypes_init(cs_filetypes *t);   /* with the built-in table */
void cs_filetypes_free(cs_filetypes *t);
/* Parse "HEX BYTES;Description" (misc/file-type-signatures.txt) and add it.
 * Returns 1 added, 0 already present, -1 malformed (why set). */
int cs_filetypes_add_line(cs_filetypes *t, char *line, const char **why);
/* Type name for the first bytes of a file; "UNKNOWN" when nothing fits. */
const char *cs_filetype_detect(const cs_filetypes *t, const unsigned char *data, size_t len);

#endif
