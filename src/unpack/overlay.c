/* A PE's overlay (bytes after its sections and certificate table) is a
 * member of its own when it holds an archive: the appended payload of a
 * self-extracting installer, scanned without a copy. NSIS installers are
 * recognised and reported as not unpacked (no C library reads them). */
#include <string.h>

#include "unpack/unpack.h"

/* Where the overlay starts: after the sections, and after a certificate
 * table that sits behind them. */
static size_t overlay_start(const cs_pe *pe)
{
    size_t end = pe->end_of_sections;
    if (pe->n_dirs > CS_PE_DIR_SECURITY && pe->dir_size[CS_PE_DIR_SECURITY]) {
        uint64_t off = pe->dir_va[CS_PE_DIR_SECURITY], len = pe->dir_size[CS_PE_DIR_SECURITY];
        if (off >= end && off + len <= pe->size)
            end = (size_t)(off + len);
    }
    return end;
}

static int is_nsis(const unsigned char *d, size_t n)
{
    /* the NSIS first header: flags, 0xDEADBEEF, "NullsoftInst" */
    static const char sig[] = "\xef\xbe\xad\xde" "NullsoftInst";
    return n >= 4 + sizeof sig - 1 && memcmp(d + 4, sig, sizeof sig - 1) == 0;
}

static const char *overlay_claims(const cs_file *f)
{
    const cs_pe *pe = cs_file_pe((cs_file *)f);
    if (!pe)
        return NULL;
    size_t off = overlay_start(pe);
    if (off >= f->size)
        return NULL;
    const unsigned char *d = f->data + off;
    size_t n = f->size - off;
    return cs_archive_format(d, n) || is_nsis(d, n) ? "PE-OVERLAY" : NULL;
}

static cs_status overlay_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)format;
    (void)err;
    const cs_pe *pe = cs_file_pe(f);
    size_t off = overlay_start(pe);
    if (is_nsis(f->data + off, f->size - off)) {
        cs_unpack_fail(c, "not unpacked: NSIS installer (no unpacker for NSIS; its other layers ran)");
        return CS_OK;
    }
    cs_member_info mi = {0};
    mi.name = "[overlay]";
    mi.size = f->size - off;
    cs_unpack_range(c, &mi, off, f->size - off);
    return CS_OK;
}

const cs_unpacker_ops cs_unpacker_pe_overlay = {"pe-overlay", overlay_claims, overlay_iterate, NULL};
