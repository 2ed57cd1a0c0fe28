/* Fuzz the HFS+/HFSX reader: the input is a volume in memory (read through
 * the callback, as the UDIF and partition-map layers will feed it). Lists
 * every entry, reads every file to its end in odd-sized blocks and looks
 * paths up. Besides crashes, leaks and hangs it checks what callers rely
 * on: paths never climb or start at '/', a file read to its end has its
 * listed size, the listing stays at its end or error, a listed path looked
 * up is a file again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/hfsplus.h"

typedef struct mem {
    const uint8_t *d;
    size_t n;
} mem;

static int mem_read(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    const mem *m = ctx;
    if (off > m->n || n > m->n - off) {
        snprintf(why, why_n, "read past the buffer");
        return -1;
    }
    memcpy(buf, m->d + off, n);
    return 0;
}

static int safe_path(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
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
    mem m = {data, size};
    cs_hfs *h = NULL;
    char why[256];
    (void)cs_hfs_probe(data, size);
    if (cs_hfs_open(mem_read, &m, size, &h, why, sizeof why) != 0) {
        if (h || !why[0])
            abort();
        return 0;
    }
    cs_hfs_entry e;
    int r;
    unsigned sum = 0, n_entries = 0;
    uint64_t budget = 8u << 20; /* bytes read per input, to keep runs fast */
    static const size_t steps[] = {1, 333, 4097, 77, 65536 + 3};
    static unsigned char buf[65536 + 3];
    while ((r = cs_hfs_next(h, &e, why, sizeof why)) > 0) {
        if (!e.path || !safe_path(e.path) || (e.kind != CS_HFS_FILE && e.kind != CS_HFS_SYMLINK))
            abort();
        n_entries++;
        uint64_t off = 0;
        long k = 0;
        for (unsigned i = 0; budget > 0; i++) {
            size_t want = steps[i % 5];
            k = cs_hfs_read(h, e.id, off, buf, want, why, sizeof why);
            if (k < 0 || k == 0)
                break;
            if ((size_t)k > want)
                abort();
            sum += buf[0] + buf[k - 1];
            off += (uint64_t)k;
            budget = budget > (uint64_t)k ? budget - (uint64_t)k : 0;
        }
        if (k == 0 && off != e.size)
            abort(); /* read to its end: the listed size */
        if (n_entries <= 8 && e.path[0] != '#') {
            size_t len = strlen(e.path) + 1;
            char *p = malloc(len);
            if (!p)
                abort();
            memcpy(p, e.path, len);
            cs_hfs_entry l;
            int lr = cs_hfs_lookup(h, p, &l, why, sizeof why);
            if (lr == 1 && (strcmp(l.path, p) != 0 || (l.kind != CS_HFS_FILE && l.kind != CS_HFS_SYMLINK)))
                abort();
            free(p);
        }
    }
    if (cs_hfs_next(h, &e, why, sizeof why) != r)
        abort(); /* stays at its end or error */
    static const char *const paths[] = {"3CX Desktop App.app/Contents/Info.plist", "dir/frag.bin", "a", "",
                                        "/a", "a//b", "..", "a/"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        int lr = cs_hfs_lookup(h, paths[i], &e, why, sizeof why);
        if (lr == 1 && cs_hfs_read(h, e.id, 0, buf, 100, why, sizeof why) > 100)
            abort();
        if (i >= 3 && lr == 1)
            abort(); /* malformed paths are never found */
    }
    cs_hfs_close(h);
    sink = sum;
    return 0;
}
