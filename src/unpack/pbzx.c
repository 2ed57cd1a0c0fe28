/* A pbzx Payload (flat .pkg installers made by Apple's tools): decoded
 * chunk by chunk into one member, the cpio archive it holds ("[cpio]"),
 * which the archive unpacker then reads like any cpio. */
#include "format/pbzx.h"
#include "unpack/unpack.h"

static const char *pbzx_claims(const cs_file *f)
{
    return f->data && cs_pbzx_probe(f->data, f->size) ? "PBZX" : NULL;
}

static long read_pbzx(void *rd, const void **block, const char **why)
{
    return cs_pbzx_read(rd, block, why);
}

static cs_status pbzx_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)format;
    (void)err;
    const char *why = NULL;
    cs_pbzx *z = cs_pbzx_open(f->data, f->size, &why);
    if (!z) {
        cs_unpack_fail(c, why);
        return CS_OK;
    }
    cs_member_info mi = {0};
    mi.name = "[cpio]";
    mi.size = UINT64_MAX;
    cs_unpack_stream(c, &mi, read_pbzx, z);
    cs_pbzx_close(z);
    return CS_OK;
}

const cs_unpacker_ops cs_unpacker_pbzx = {"pbzx", pbzx_claims, pbzx_iterate, NULL};
