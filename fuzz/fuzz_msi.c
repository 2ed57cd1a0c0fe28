/* Fuzz the MSI package reader (cs_msi_open, and cs_msi_open_lazy with its
 * block reads, the path the unpacker takes): libgsf's
 * compound file, our stream names, string pool, _Columns and the Media,
 * Binary, File, Component and Directory tables, and the install paths.
 * Besides crashes and leaks it checks what callers rely on: streams over
 * the limit are not read, files are sorted by key and found by it, and no
 * path can climb out of the directory it is joined to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/msi.h"

static int safe_path(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)c[i] < 0x20 || c[i] == '\\' || c[i] == 0x7f)
                return 0;
        c += n;
        if (*c == '/' && !*++c)
            return 0; /* trailing '/' */
    }
    return 1;
}

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_msi_package *p;
    const char *why = NULL;
    uint64_t limit = size / 4;
    if (cs_msi_open(data, size, limit, &p, &why) != 0) {
        if (!why || p)
            abort();
        return 0;
    }
    unsigned sum = 0;
    for (size_t i = 0; i < p->n_streams; i++) {
        const cs_msi_stream *s = &p->streams[i];
        if (!s->name || !cs_msi_stream_kind_name(s->kind) || s->too_large != (s->size > limit) ||
            (!s->too_large && !s->data) || (s->kind == CS_MSI_BINARY) != (s->row != NULL))
            abort();
        for (uint64_t k = 0; s->data && k < s->size; k++)
            sum += s->data[k];
    }
    for (size_t i = 0; i < p->n_files; i++) {
        const cs_msi_file *f = &p->files[i];
        if (!f->key || !f->name || !f->path || !safe_path(f->path) || cs_msi_file_by_key(p, f->key) != f ||
            cs_msi_path(p, f->key) != f->path || (i && strcmp(p->files[i - 1].key, f->key) >= 0))
            abort();
        if (f->cabinet && (f->cabinet < p->streams || f->cabinet >= p->streams + p->n_streams ||
                           f->cabinet->kind != CS_MSI_CABINET))
            abort();
    }
    cs_msi_package_free(p);
    sink = sum; /* the stream bytes were read */

    /* the path the unpacker takes: opened lazily, every stream read block by block */
    if (cs_msi_open_lazy(data, size, &p, &why) != 0)
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i < p->n_streams; i++) {
        cs_msi_reader *r = cs_msi_stream_open(p, &p->streams[i], &why);
        if (!r)
            continue;
        const unsigned char *b;
        long n;
        uint64_t got = 0;
        while ((n = cs_msi_stream_next(r, &b, &why)) > 0) {
            got += (uint64_t)n;
            sum += b[0] + b[n - 1];
        }
        if (n == 0 && got != p->streams[i].size)
            abort(); /* a stream read to its end has its declared size */
        total += got;
        cs_msi_stream_close(r);
    }
    if (total > size) /* streams never add up to more than the file */
        abort();
    cs_msi_package_free(p);
    sink = sum;
    return 0;
}
