/* Electron app.asar archives: every packed file is a member, a range of the
 * archive without a copy, with the integrity hashes of the header handed
 * to the integrity detector. Files the header marks "unpacked" sit in the
 * folder beside the archive and are scanned there as files: their member
 * records say so. */
#include <stdio.h>
#include <string.h>

#include "format/asar.h"
#include "unpack/unpack.h"

static const char *asar_claims(const cs_file *f)
{
    if (!f->data)
        return NULL;
    int p = cs_asar_probe(f->data, f->size);
    return p == 2 || (p == 1 && strcmp(f->ext, ".asar") == 0) ? "ASAR" : NULL;
}

typedef struct asar_walk {
    cs_file *f;
    cs_unpack_ctx *c;
} asar_walk;

static int on_entry(void *ctx, const cs_asar_entry *e)
{
    asar_walk *w = ctx;
    if (!cs_unpack_more(w->c))
        return 1;
    cs_member_info mi = {0};
    mi.name = e->path;
    mi.size = e->link || e->error ? UINT64_MAX : e->size;
    char detail[4200];
    if (e->error) {
        snprintf(detail, sizeof detail, "not unpacked: asar header entry: %s", e->error);
        cs_unpack_skip(w->c, &mi, CS_SKIP_NOT_UNPACKED, detail);
    } else if (e->link) {
        mi.is_link = 1;
        snprintf(detail, sizeof detail, "symbolic link to %.4000s: not followed", e->link);
        cs_unpack_skip(w->c, &mi, CS_SKIP_LINK_MEMBER, detail);
    } else if (e->unpacked) {
        snprintf(detail, sizeof detail, "stored outside the archive, in %.2000s.unpacked/%.2000s (scanned there as a file)",
                 w->f->name, e->path);
        cs_unpack_skip(w->c, &mi, CS_SKIP_OUTSIDE, detail);
    } else {
        cs_integrity in = {0};
        if (e->has_integrity) {
            in.origin = "asar header";
            memcpy(in.sha256, e->sha256, sizeof in.sha256);
            in.block_size = e->block_size;
            in.n_blocks = e->n_blocks;
            in.blocks = e->blocks;
            mi.integrity = &in;
        }
        cs_unpack_range(w->c, &mi, e->offset, e->size);
    }
    return 0;
}

static cs_status asar_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)format;
    (void)err;
    asar_walk w = {f, c};
    char why[512];
    if (cs_asar_walk(f->data, f->size, on_entry, &w, why, sizeof why) != 0)
        cs_unpack_fail(c, why);
    return CS_OK;
}

const cs_unpacker_ops cs_unpacker_asar = {"asar", asar_claims, asar_iterate, NULL};
