/* PE/COFF parser: headers, sections, data directories, certificate table
 * and overlay. Every offset and length from the file is checked against the
 * buffer; malformed input gives a typed error, never an out-of-bounds read.
 * The parse keeps pointers into the caller's buffer and allocates nothing. */
#ifndef CS_FORMAT_PE_H
#define CS_FORMAT_PE_H

#include <stddef.h>
#include <stdint.h>

typedef enum cs_pe_status {
    CS_PE_OK = 0,
    CS_PE_NOT_PE,          /* no MZ / PE signature */
    CS_PE_TRUNCATED,       /* headers run past the end of the file */
    CS_PE_BAD_HEADER       /* inconsistent header values */
} cs_pe_status;

enum { CS_PE_DIR_EXPORT = 0, CS_PE_DIR_IMPORT = 1, CS_PE_DIR_RESOURCE = 2, CS_PE_DIR_SECURITY = 4 };

typedef struct cs_pe_section {
    char name[9];
    uint32_t virtual_size, virtual_address;
    uint32_t raw_size, raw_offset;
    uint32_t characteristics;
} cs_pe_section;

typedef struct cs_pe {
    const unsigned char *data;
    size_t size;
    int pe32plus;
    uint16_t machine, n_sections, characteristics, subsystem;
    uint32_t timestamp, entry_point, checksum;
    uint32_t section_alignment, file_alignment, size_of_headers, size_of_image;
    uint64_t image_base;
    size_t nt_offset;             /* "PE\0\0" */
    size_t checksum_offset;       /* file offset of the CheckSum field */
    size_t certdir_offset;        /* file offset of the security directory entry, 0 if none */
    uint32_t n_dirs;
    uint32_t dir_va[16], dir_size[16];
    size_t section_table;         /* file offset of the section headers */
    size_t end_of_sections;       /* max(size_of_headers, raw_offset + raw_size) */
} cs_pe;

/* why: static text, set on failure. */
cs_pe_status cs_pe_parse(const unsigned char *data, size_t size, cs_pe *pe, const char **why);
/* Section i (0-based); i must be < n_sections. */
void cs_pe_section_get(const cs_pe *pe, unsigned i, cs_pe_section *out);
/* File offset of an RVA, or -1 when no section maps it into the file. */
int cs_pe_rva_to_offset(const cs_pe *pe, uint32_t rva, size_t *offset);

#endif
