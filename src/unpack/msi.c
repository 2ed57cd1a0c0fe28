/* Windows Installer packages: the payload streams of an MSI (embedded
 * cabinets named in the Media table, Binary table rows such as custom-action
 * DLLs, other non-table streams) become members; a cabinet's entries, which
 * it stores under File keys (F_ffmpeg_dll_1), are named by the File table's
 * install path (ProgramFiles64Folder/3CX Desktop App/ffmpeg.dll). The
 * package's signature and summary streams are not payload and are left out.
 * Streams are read block by block into their members: a 100 MB cabinet is
 * never held twice. A package whose file tables are damaged still gives
 * its cabinets, their entries named by File key, with a note. */
#include <stdlib.h>
#include <string.h>

#include "format/msi.h"
#include "unpack/unpack.h"

static const char *msi_claims(const cs_file *f)
{
    return f->filetype && strcmp(f->filetype, "MSI") == 0 ? "MSI" : NULL;
}

/* A stream read block by block through libgsf, straight into the member. */
static long read_stream(void *ud, const void **block, const char **why)
{
    const unsigned char *b = NULL;
    long n = cs_msi_stream_next(ud, &b, why);
    *block = b;
    return n;
}

static cs_status msi_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)format;
    cs_msi_package *pkg = NULL;
    const char *why = NULL;
    if (!cs_msi_available(&why)) {
        cs_unpack_unavailable(c, why);
        return CS_OK;
    }
    if (cs_msi_open_lazy(f->data, f->size, &pkg, &why) != 0) {
        cs_buf b = {0};
        cs_buf_printf(&b, "not unpacked: %s", why ? why : "malformed package");
        cs_unpack_fail(c, b.data);
        cs_buf_free(&b);
        return CS_OK;
    }
    /* one name map per cabinet: its File keys (sorted) to install paths */
    const char **keys = calloc(pkg->n_files + 1, sizeof *keys), **names = calloc(pkg->n_files + 1, sizeof *names);
    if (!keys || !names) {
        free(keys);
        free(names);
        cs_msi_package_free(pkg);
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    }
    if (pkg->names_error) {
        cs_buf b = {0};
        cs_buf_printf(&b, "cabinet entries keep their File keys: %s", pkg->names_error);
        cs_unpack_fail(c, b.data);
        cs_buf_free(&b);
    }
    for (size_t i = 0; i < pkg->n_streams && cs_unpack_more(c); i++) {
        const cs_msi_stream *s = &pkg->streams[i];
        if (s->kind == CS_MSI_SIGNATURE || s->kind == CS_MSI_SUMMARY)
            continue;
        cs_name_map map = {0, keys, names};
        if (s->kind == CS_MSI_CABINET) {
            for (size_t k = 0; k < pkg->n_files; k++) {
                const cs_msi_file *fi = &pkg->files[k];
                if (fi->cabinet == s && fi->path) {
                    keys[map.n] = fi->key;
                    names[map.n++] = fi->path;
                }
            }
        }
        cs_member_info mi = {0};
        mi.name = s->name;
        mi.size = s->size;
        mi.names = map.n ? &map : NULL;
        cs_msi_reader *r = cs_msi_stream_open(pkg, s, &why);
        if (!r) {
            cs_unpack_skip(c, &mi, CS_SKIP_NOT_UNPACKED, why);
            continue;
        }
        cs_unpack_stream(c, &mi, read_stream, r);
        cs_msi_stream_close(r);
    }
    free(keys);
    free(names);
    cs_msi_package_free(pkg);
    return CS_OK;
}

const cs_unpacker_ops cs_unpacker_msi = {"msi", msi_claims, msi_iterate, NULL};
