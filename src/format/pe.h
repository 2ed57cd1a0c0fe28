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
    /* optional, set by the caller: bytes already read may leave memory (a
     * file mapping's pages; see cs_source_release) */
    void (*release)(void *ud, const unsigned char *p, size_t len);
    void *release_ud;
} cs_pe;

/* why: static text, set on failure. */
cs_pe_status cs_pe_parse(const unsigned char *data, size_t size, cs_pe *pe, const char **why);
/* Section i (0-based); i must be < n_sections. */
void cs_pe_section_get(const cs_pe *pe, unsigned i, cs_pe_section *out);
/* File offset of an RVA, or -1 when no section maps it into the file. */
int cs_pe_rva_to_offset(const cs_pe *pe, uint32_t rva, size_t *offset);

/* Imports: fn is called for each imported function, with the DLL name and
 * either the function name or (name NULL) its ordinal; a non-zero return
 * stops. Returns the number of imports, or -1 when the table is malformed
 * (the imports read before the damage have been reported). */
typedef int (*cs_pe_import_fn)(void *ud, const char *dll, const char *name, uint32_t ordinal);
int cs_pe_imports(const cs_pe *pe, cs_pe_import_fn fn, void *ud);

/* imphash as pefile and YARA compute it (MD5 of "dll.function" joined with
 * commas; by-ordinal imports as "ordN"). 0 on success, -1 with no imports. */
int cs_pe_imphash(const cs_pe *pe, char out[33]);
/* The Rich header hash: MD5 of the Rich header's clear data (from "DanS" to
 * the "Rich" marker, each dword XOR-ed with the key), as YARA's
 * hash.md5(pe.rich_signature.clear_data) computes it; lower-case hex. -1
 * when the file has no Rich header (not linked by Microsoft's tools). */
int cs_pe_rich_hash(const cs_pe *pe, char out[33]);

/* Resources: fn is called for each leaf of the given numeric type (e.g. 16,
 * RT_VERSION) with its numeric name id (-1 for named entries), language, and
 * file offset and size of the data (inside the file). */
typedef int (*cs_pe_resource_fn)(void *ud, int32_t name_id, uint32_t lang, size_t offset, size_t size);
int cs_pe_resources(const cs_pe *pe, uint32_t type_id, cs_pe_resource_fn fn, void *ud);

#endif
