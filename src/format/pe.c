#include "format/pe.h"

#include <string.h>

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* [off, off+n) inside the buffer, without overflow */
static int in_bounds(size_t size, size_t off, size_t n)
{
    return off <= size && n <= size - off;
}

cs_pe_status cs_pe_parse(const unsigned char *d, size_t size, cs_pe *pe, const char **why)
{
    memset(pe, 0, sizeof *pe);
    pe->data = d;
    pe->size = size;
    if (size < 0x40 || d[0] != 'M' || d[1] != 'Z') {
        *why = "no MZ header";
        return CS_PE_NOT_PE;
    }
    size_t nt = rd32(d + 0x3c);
    if (!in_bounds(size, nt, 24)) {
        *why = "e_lfanew points past the end of the file";
        return CS_PE_NOT_PE;
    }
    if (memcmp(d + nt, "PE\0\0", 4) != 0) {
        *why = "no PE signature";
        return CS_PE_NOT_PE;
    }
    pe->nt_offset = nt;
    const unsigned char *fh = d + nt + 4;
    pe->machine = rd16(fh);
    pe->n_sections = rd16(fh + 2);
    pe->timestamp = rd32(fh + 4);
    uint16_t opt_size = rd16(fh + 16);
    pe->characteristics = rd16(fh + 18);
    size_t opt = nt + 24;
    if (opt_size < 2 || !in_bounds(size, opt, opt_size)) {
        *why = "optional header truncated";
        return CS_PE_TRUNCATED;
    }
    const unsigned char *oh = d + opt;
    uint16_t magic = rd16(oh);
    if (magic == 0x20b)
        pe->pe32plus = 1;
    else if (magic != 0x10b) {
        *why = "unknown optional header magic";
        return CS_PE_BAD_HEADER;
    }
    /* fixed part: 96 bytes (PE32) or 112 (PE32+) before the directories */
    size_t fixed = pe->pe32plus ? 112 : 96;
    if (opt_size < fixed) {
        *why = "optional header too small";
        return CS_PE_BAD_HEADER;
    }
    pe->entry_point = rd32(oh + 16);
    pe->image_base = pe->pe32plus ? rd64(oh + 24) : rd32(oh + 28);
    pe->section_alignment = rd32(oh + 32);
    pe->file_alignment = rd32(oh + 36);
    pe->size_of_image = rd32(oh + 56);
    pe->size_of_headers = rd32(oh + 60);
    pe->checksum_offset = opt + 64;
    pe->checksum = rd32(oh + 64);
    pe->subsystem = rd16(oh + 68);
    uint32_t n_dirs = rd32(oh + fixed - 4);
    size_t dir_room = (opt_size - fixed) / 8;
    pe->n_dirs = n_dirs < 16 ? n_dirs : 16;
    if (pe->n_dirs > dir_room)
        pe->n_dirs = (uint32_t)dir_room;
    for (uint32_t i = 0; i < pe->n_dirs; i++) {
        pe->dir_va[i] = rd32(oh + fixed + 8 * i);
        pe->dir_size[i] = rd32(oh + fixed + 8 * i + 4);
    }
    if (pe->n_dirs > CS_PE_DIR_SECURITY)
        pe->certdir_offset = opt + fixed + 8 * CS_PE_DIR_SECURITY;

    pe->section_table = opt + opt_size;
    if (!in_bounds(size, pe->section_table, (size_t)pe->n_sections * 40)) {
        *why = "section table truncated";
        return CS_PE_TRUNCATED;
    }
    pe->end_of_sections = pe->size_of_headers;
    for (unsigned i = 0; i < pe->n_sections; i++) {
        cs_pe_section s;
        cs_pe_section_get(pe, i, &s);
        uint64_t end = (uint64_t)s.raw_offset + s.raw_size;
        if (s.raw_size && end > pe->end_of_sections)
            pe->end_of_sections = (size_t)end;
    }
    return CS_PE_OK;
}

void cs_pe_section_get(const cs_pe *pe, unsigned i, cs_pe_section *out)
{
    const unsigned char *s = pe->data + pe->section_table + 40 * (size_t)i;
    memcpy(out->name, s, 8);
    out->name[8] = '\0';
    out->virtual_size = rd32(s + 8);
    out->virtual_address = rd32(s + 12);
    out->raw_size = rd32(s + 16);
    out->raw_offset = rd32(s + 20);
    out->characteristics = rd32(s + 36);
}

int cs_pe_rva_to_offset(const cs_pe *pe, uint32_t rva, size_t *offset)
{
    if (rva < pe->size_of_headers) {
        *offset = rva;
        return rva < pe->size ? 0 : -1;
    }
    for (unsigned i = 0; i < pe->n_sections; i++) {
        cs_pe_section s;
        cs_pe_section_get(pe, i, &s);
        uint32_t span = s.virtual_size > s.raw_size ? s.virtual_size : s.raw_size;
        if (rva >= s.virtual_address && rva - s.virtual_address < span) {
            uint64_t off = (uint64_t)s.raw_offset + (rva - s.virtual_address);
            if (rva - s.virtual_address >= s.raw_size || off >= pe->size)
                return -1;
            *offset = (size_t)off;
            return 0;
        }
    }
    return -1;
}
