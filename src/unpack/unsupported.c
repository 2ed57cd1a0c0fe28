/* Containers chainsweep recognises but cannot read: each gets a note
 * ("not unpacked: ..."), never silence. WIM images (libarchive 3.6.2 has no
 * WIM reader). NSIS installers are noted by the PE overlay unpacker, APFS
 * volumes by the DMG unpacker. */
#include <string.h>

#include "unpack/unpack.h"

static const char *unsupported_claims(const cs_file *f)
{
    if (!f->data)
        return NULL;
    if (f->size >= 8 && memcmp(f->data, "MSWIM\0\0\0", 8) == 0)
        return "WIM";
    return NULL;
}

static cs_status unsupported_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)f;
    (void)err;
    (void)format;
    cs_unpack_fail(c, "not unpacked: WIM image (no reader for WIM in libarchive 3.6.2); its other layers ran");
    return CS_OK;
}

const cs_unpacker_ops cs_unpacker_unsupported = {"unsupported", unsupported_claims, unsupported_iterate, NULL};
