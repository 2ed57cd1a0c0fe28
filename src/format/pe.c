#include "format/pe.h"

#include "util/digest.h"
#include "util/util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


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
    if (size < 2 || d[0] != 'M' || d[1] != 'Z') {
        *why = "no MZ header";
        return CS_PE_NOT_PE;
    }
    if (size < 0x40) {
        *why = "MZ header truncated: a DOS header has 64 bytes";
        return CS_PE_NOT_PE;
    }
    size_t nt = cs_rd32le(d + 0x3c);
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
    pe->machine = cs_rd16le(fh);
    pe->n_sections = cs_rd16le(fh + 2);
    pe->timestamp = cs_rd32le(fh + 4);
    uint16_t opt_size = cs_rd16le(fh + 16);
    pe->characteristics = cs_rd16le(fh + 18);
    size_t opt = nt + 24;
    if (opt_size < 2 || !in_bounds(size, opt, opt_size)) {
        *why = "optional header truncated";
        return CS_PE_TRUNCATED;
    }
    const unsigned char *oh = d + opt;
    uint16_t magic = cs_rd16le(oh);
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
    pe->entry_point = cs_rd32le(oh + 16);
    pe->image_base = pe->pe32plus ? cs_rd64le(oh + 24) : cs_rd32le(oh + 28);
    pe->section_alignment = cs_rd32le(oh + 32);
    pe->file_alignment = cs_rd32le(oh + 36);
    pe->size_of_image = cs_rd32le(oh + 56);
    pe->size_of_headers = cs_rd32le(oh + 60);
    pe->checksum_offset = opt + 64;
    pe->checksum = cs_rd32le(oh + 64);
    pe->subsystem = cs_rd16le(oh + 68);
    uint32_t n_dirs = cs_rd32le(oh + fixed - 4);
    size_t dir_room = (opt_size - fixed) / 8;
    pe->n_dirs = n_dirs < 16 ? n_dirs : 16;
    if (pe->n_dirs > dir_room)
        pe->n_dirs = (uint32_t)dir_room;
    for (uint32_t i = 0; i < pe->n_dirs; i++) {
        pe->dir_va[i] = cs_rd32le(oh + fixed + 8 * i);
        pe->dir_size[i] = cs_rd32le(oh + fixed + 8 * i + 4);
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
    out->virtual_size = cs_rd32le(s + 8);
    out->virtual_address = cs_rd32le(s + 12);
    out->raw_size = cs_rd32le(s + 16);
    out->raw_offset = cs_rd32le(s + 20);
    out->characteristics = cs_rd32le(s + 36);
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

/* ---- imports ---- */

#define MAX_IMPORT_DLLS 4096
#define MAX_IMPORTS_PER_DLL 65536

/* A NUL-terminated string of at most max bytes at a file offset. */
static const char *str_at(const cs_pe *pe, size_t off, size_t max)
{
    if (off >= pe->size)
        return NULL;
    size_t room = pe->size - off < max ? pe->size - off : max;
    const char *s = (const char *)pe->data + off;
    return memchr(s, '\0', room) ? s : NULL;
}

int cs_pe_imports(const cs_pe *pe, cs_pe_import_fn fn, void *ud)
{
    if (pe->n_dirs <= CS_PE_DIR_IMPORT || pe->dir_va[CS_PE_DIR_IMPORT] == 0)
        return 0;
    size_t desc;
    if (cs_pe_rva_to_offset(pe, pe->dir_va[CS_PE_DIR_IMPORT], &desc) != 0)
        return -1;
    int count = 0;
    size_t thunk_size = pe->pe32plus ? 8 : 4;
    for (unsigned d = 0; d < MAX_IMPORT_DLLS; d++, desc += 20) {
        if (!in_bounds(pe->size, desc, 20))
            return -1;
        const unsigned char *e = pe->data + desc;
        uint32_t oft = cs_rd32le(e), name_rva = cs_rd32le(e + 12), ft = cs_rd32le(e + 16);
        if (oft == 0 && name_rva == 0 && ft == 0)
            return count;
        size_t name_off, thunks;
        const char *dll;
        if (cs_pe_rva_to_offset(pe, name_rva, &name_off) != 0 || !(dll = str_at(pe, name_off, 256)) ||
            cs_pe_rva_to_offset(pe, oft ? oft : ft, &thunks) != 0)
            return -1;
        for (unsigned k = 0; k < MAX_IMPORTS_PER_DLL; k++, thunks += thunk_size) {
            if (!in_bounds(pe->size, thunks, thunk_size))
                return -1;
            uint64_t t = pe->pe32plus ? cs_rd64le(pe->data + thunks) : cs_rd32le(pe->data + thunks);
            if (t == 0)
                break;
            int by_ordinal = pe->pe32plus ? (t >> 63) != 0 : (t >> 31) != 0;
            const char *func = NULL;
            if (!by_ordinal) {
                size_t hint;
                /* hint < size, so hint + 2 cannot wrap; str_at bounds the rest */
                if (cs_pe_rva_to_offset(pe, (uint32_t)t, &hint) != 0 || !(func = str_at(pe, hint + 2, 512)))
                    return -1;
            }
            count++;
            if (fn && fn(ud, dll, func, by_ordinal ? (uint32_t)(t & 0xffff) : 0))
                return count;
        }
    }
    return count;
}

typedef struct imphash_ctx {
    char *buf;
    size_t len, cap;
    int failed;
} imphash_ctx;

static void imphash_put(imphash_ctx *c, const char *s, size_t n)
{
    if (c->failed)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *p = realloc(c->buf, cap);
        if (!p) {
            c->failed = 1;
            return;
        }
        c->buf = p;
        c->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        c->buf[c->len++] = (char)tolower((unsigned char)s[i]);
}

static int imphash_add(void *ud, const char *dll, const char *name, uint32_t ordinal)
{
    imphash_ctx *c = ud;
    size_t n = strlen(dll);
    const char *dot = strrchr(dll, '.');
    if (dot && (strcasecmp(dot, ".dll") == 0 || strcasecmp(dot, ".ocx") == 0 || strcasecmp(dot, ".sys") == 0))
        n = (size_t)(dot - dll);
    if (c->len)
        imphash_put(c, ",", 1);
    imphash_put(c, dll, n);
    imphash_put(c, ".", 1);
    if (name) {
        imphash_put(c, name, strlen(name));
    } else {
        char ord[16];
        int k = snprintf(ord, sizeof ord, "ord%u", ordinal);
        imphash_put(c, ord, (size_t)k);
    }
    return 0;
}

int cs_pe_imphash(const cs_pe *pe, char out[33])
{
    imphash_ctx c = {0};
    int n = cs_pe_imports(pe, imphash_add, &c);
    int rc = -1;
    if (n > 0 && !c.failed) {
        unsigned char md[16];
        unsigned mdlen;
        EVP_Digest(c.buf, c.len, md, &mdlen, cs_md_md5(), NULL);
        for (int i = 0; i < 16; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
        rc = 0;
    }
    free(c.buf);
    return rc;
}

/* ---- Rich header ---- */

int cs_pe_rich_hash(const cs_pe *pe, char out[33])
{
    /* between the DOS stub and the NT headers, dword-aligned */
    size_t end = pe->nt_offset < pe->size ? pe->nt_offset : pe->size, rich = 0;
    for (size_t o = 0x80; o + 8 <= end; o += 4)
        if (memcmp(pe->data + o, "Rich", 4) == 0) {
            rich = o;
            break;
        }
    if (!rich)
        return -1;
    uint32_t key = cs_rd32le(pe->data + rich + 4);
    size_t dans = 0;
    for (size_t o = rich; o >= 0x44; o -= 4)
        if ((cs_rd32le(pe->data + o - 4) ^ key) == 0x536e6144u) { /* "DanS" */
            dans = o - 4;
            break;
        }
    if (!dans)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, cs_md_md5(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    for (size_t o = dans; o < rich; o += 4) {
        uint32_t v = cs_rd32le(pe->data + o) ^ key;
        unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                              (unsigned char)(v >> 24)};
        EVP_DigestUpdate(ctx, b, 4);
    }
    unsigned char md[16];
    unsigned len = 0;
    int ok = EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (!ok || len != 16)
        return -1;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- resources ---- */

#define MAX_RESOURCE_ENTRIES 4096

/* Entries of the resource directory at rel (relative to the section). */
static int res_dir(const cs_pe *pe, size_t base, size_t rel, size_t *entries, unsigned *n)
{
    if (!in_bounds(pe->size, base, rel) || !in_bounds(pe->size, base + rel, 16))
        return -1;
    const unsigned char *d = pe->data + base + rel;
    unsigned count = (unsigned)cs_rd16le(d + 12) + cs_rd16le(d + 14);
    if (count > MAX_RESOURCE_ENTRIES || !in_bounds(pe->size, base + rel + 16, (size_t)count * 8))
        return -1;
    *entries = base + rel + 16;
    *n = count;
    return 0;
}

int cs_pe_resources(const cs_pe *pe, uint32_t type_id, cs_pe_resource_fn fn, void *ud)
{
    if (pe->n_dirs <= CS_PE_DIR_RESOURCE || pe->dir_va[CS_PE_DIR_RESOURCE] == 0)
        return 0;
    size_t base, types, names, langs;
    unsigned nt, nn, nl;
    if (cs_pe_rva_to_offset(pe, pe->dir_va[CS_PE_DIR_RESOURCE], &base) != 0 || res_dir(pe, base, 0, &types, &nt) != 0)
        return -1;
    int found = 0;
    for (unsigned i = 0; i < nt; i++) {
        const unsigned char *te = pe->data + types + 8 * (size_t)i;
        uint32_t id = cs_rd32le(te), off = cs_rd32le(te + 4);
        if ((id & 0x80000000u) || id != type_id || !(off & 0x80000000u))
            continue;
        if (res_dir(pe, base, off & 0x7fffffffu, &names, &nn) != 0)
            return -1;
        for (unsigned j = 0; j < nn; j++) {
            const unsigned char *ne = pe->data + names + 8 * (size_t)j;
            uint32_t name = cs_rd32le(ne), noff = cs_rd32le(ne + 4);
            if (!(noff & 0x80000000u) || res_dir(pe, base, noff & 0x7fffffffu, &langs, &nl) != 0)
                continue;
            for (unsigned k = 0; k < nl; k++) {
                const unsigned char *le = pe->data + langs + 8 * (size_t)k;
                uint32_t lang = cs_rd32le(le), loff = cs_rd32le(le + 4);
                size_t leaf = base + loff, data;
                if ((loff & 0x80000000u) || !in_bounds(pe->size, base, loff) || !in_bounds(pe->size, leaf, 16))
                    continue;
                uint32_t rva = cs_rd32le(pe->data + leaf), size = cs_rd32le(pe->data + leaf + 4);
                if (cs_pe_rva_to_offset(pe, rva, &data) != 0 || !in_bounds(pe->size, data, size))
                    continue;
                found++;
                if (fn && fn(ud, (name & 0x80000000u) ? -1 : (int32_t)name, lang & 0xffff, data, size))
                    return found;
            }
        }
    }
    return found;
}
