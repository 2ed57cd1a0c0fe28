/* Apple disk images: UDIF (src/format/udif.c) presents the disk, the
 * partition map (src/format/partmap.c) or the image's own partition list
 * finds the HFS+ volumes, and every file of each volume (src/format/
 * hfsplus.c) is a member streamed block by block: no disk image is ever
 * decompressed as a whole. What is out of scope is said: APFS volumes,
 * decmpfs-compressed files. A member's related objects (a
 * bundle's Contents/Info.plist) are looked up in the same volume. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/hfsplus.h"
#include "format/partmap.h"
#include "format/udif.h"
#include "unpack/unpack.h"

#define DMG_MAX_CHUNK (64u << 20) /* hdiutil writes chunks of 1 MiB or less */
#define DMG_MAX_VOLUMES 8
#define DMG_BLOCK (1u << 20)

typedef struct volume {
    uint64_t offset, size;
} volume;

typedef struct vol_reader {
    cs_udif *u;
    uint64_t base;
} vol_reader;

static int read_disk(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    return cs_udif_read(ctx, off, buf, n, why, why_n);
}

static int read_volume(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n)
{
    vol_reader *v = ctx;
    return cs_udif_read(v->u, v->base + off, buf, n, why, why_n);
}

/* The "koly" signature in the last KiB is enough to claim: a trailer that is
 * damaged or cut short is then reported as a DMG that could not be read,
 * not passed over. (Claimed before the archive unpacker: a UDBZ or ULMO
 * image starts with the bzip2 or xz stream of its first chunk.) */
static const char *dmg_claims(const cs_file *f)
{
    if (!f->data || f->size < 512)
        return NULL;
    size_t tail = f->size < 1024 ? f->size : 1024;
    return memmem(f->data + f->size - tail, tail, "koly", 4) ? "DMG" : NULL;
}

/* What sits at a disk offset: 1 HFS+, 2 APFS, 0 something else or a read
 * error (the first one kept in err: a damaged chunk is said, even when the
 * volume is found another way). */
static int volume_kind(cs_udif *u, uint64_t off, char *err, size_t err_n)
{
    unsigned char b[1536];
    char why[256];
    if (cs_udif_read(u, off, b, sizeof b, why, sizeof why) != 0) {
        if (!*err)
            snprintf(err, err_n, "%s", why);
        return 0;
    }
    if (cs_hfs_probe(b, sizeof b))
        return 1;
    return memcmp(b + 32, "NXSB", 4) == 0 ? 2 : 0; /* the APFS container superblock */
}

static void add_volume(volume *v, size_t *n, uint64_t off, uint64_t size)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i].offset == off)
            return;
    if (*n < DMG_MAX_VOLUMES)
        v[(*n)++] = (volume){off, size};
}

/* HFS+ volumes: at the start of a partition the image lists, of one the
 * disk's partition map lists (xorriso's and hybrid images), or of the
 * disk itself. *apfs counts APFS volumes seen. */
static size_t find_volumes(cs_udif *u, volume *v, int *apfs, char *err, size_t err_n)
{
    size_t n = 0;
    uint64_t disk = cs_udif_disk_size(u);
    *apfs = 0;
    *err = '\0';
    for (size_t i = 0; i < cs_udif_partition_count(u); i++) {
        const cs_udif_partition *p = cs_udif_partition_at(u, i);
        int k = volume_kind(u, p->offset, err, err_n);
        if (k == 1)
            add_volume(v, &n, p->offset, p->size);
        *apfs += k == 2;
    }
    cs_partition parts[CS_PARTMAP_MAX];
    size_t np = CS_PARTMAP_MAX;
    char why[256];
    int m = cs_partmap_read(read_disk, u, disk, parts, &np, why, sizeof why);
    if (m < 0 && !*err)
        snprintf(err, err_n, "partition map: %.200s", why);
    for (size_t i = 0; m == 1 && i < np; i++) {
        int k = volume_kind(u, parts[i].offset, err, err_n);
        if (k == 1)
            add_volume(v, &n, parts[i].offset, parts[i].size);
        *apfs += k == 2;
    }
    if (!n && volume_kind(u, 0, err, err_n) == 1)
        add_volume(v, &n, 0, disk);
    return n;
}

typedef struct file_reader {
    cs_hfs *h;
    uint32_t id;
    uint64_t off, size;
    unsigned char *buf;
    char why[256];
} file_reader;

static long read_file(void *rd, const void **block, const char **why)
{
    file_reader *r = rd;
    if (r->off >= r->size)
        return 0;
    size_t want = r->size - r->off < DMG_BLOCK ? (size_t)(r->size - r->off) : DMG_BLOCK;
    long got = cs_hfs_read(r->h, r->id, r->off, r->buf, want, r->why, sizeof r->why);
    if (got < 0 || (got == 0 && want)) {
        if (got == 0)
            snprintf(r->why, sizeof r->why, "HFS+: the data fork ends before its size");
        *why = r->why;
        return -1;
    }
    r->off += (uint64_t)got;
    *block = r->buf;
    return got;
}

static void unpack_volume(cs_unpack_ctx *c, cs_udif *u, const volume *vol, size_t index, size_t n_volumes)
{
    vol_reader vr = {u, vol->offset};
    cs_hfs *h;
    char why[512], name[4200], detail[600];
    if (cs_hfs_open(read_volume, &vr, vol->size, &h, why, sizeof why) != 0) {
        snprintf(detail, sizeof detail, "HFS+ volume %zu: %s", index + 1, why);
        cs_unpack_fail(c, detail);
        return;
    }
    file_reader fr = {h, 0, 0, 0, cs_xmalloc(DMG_BLOCK), ""};
    cs_hfs_entry e;
    int rc = 0;
    while (cs_unpack_more(c) && (rc = cs_hfs_next(h, &e, why, sizeof why)) == 1) {
        /* more than one volume: the volume's number leads the member name */
        if (n_volumes > 1)
            snprintf(name, sizeof name, "[volume %zu]/%s", index + 1, e.path);
        else
            snprintf(name, sizeof name, "%s", e.path);
        cs_member_info mi = {0};
        mi.name = name;
        mi.size = e.size;
        if (e.kind == CS_HFS_SYMLINK) {
            char target[1024];
            long t = cs_hfs_read(h, e.id, 0, target, sizeof target - 1, why, sizeof why);
            target[t > 0 ? t : 0] = '\0';
            mi.is_link = 1;
            snprintf(detail, sizeof detail, "symbolic link to %.500s: not followed", t > 0 ? target : "?");
            cs_unpack_skip(c, &mi, CS_SKIP_LINK_MEMBER, detail);
        } else if (e.hard_link && e.id == 0) {
            cs_unpack_skip(c, &mi, CS_SKIP_NOT_UNPACKED,
                           "not unpacked: HFS+ hard link whose target is missing from the private folder");
        } else if (e.compressed) {
            cs_unpack_skip(c, &mi, CS_SKIP_NOT_UNPACKED,
                           "not unpacked: HFS+ file compressed with decmpfs (not decoded); its data fork is not its content");
        } else {
            fr.id = e.id;
            fr.off = 0;
            fr.size = e.size;
            cs_unpack_stream(c, &mi, read_file, &fr);
        }
    }
    if (rc < 0) {
        snprintf(detail, sizeof detail, "HFS+ volume %zu: %s", index + 1, why);
        cs_unpack_fail(c, detail);
    }
    free(fr.buf);
    cs_hfs_close(h);
}

static cs_status dmg_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)format;
    (void)err;
    cs_udif *u;
    char why[512];
    if (cs_udif_open(f->data, f->size, DMG_MAX_CHUNK, &u, why, sizeof why) != 0) {
        char detail[600];
        snprintf(detail, sizeof detail, "not unpacked: DMG: %s", why);
        cs_unpack_fail(c, detail);
        return CS_OK;
    }
    volume v[DMG_MAX_VOLUMES];
    int apfs;
    char probe_err[256];
    size_t n = find_volumes(u, v, &apfs, probe_err, sizeof probe_err);
    if (cs_udif_chunk_kinds(u) & CS_UDIF_LZFSE)
        cs_unpack_set_format(c, "DMG (LZFSE)");
    for (size_t i = 0; i < n && cs_unpack_more(c); i++)
        unpack_volume(c, u, &v[i], i, n);
    char detail[600];
    if (!n && apfs)
        cs_unpack_fail(c, "not unpacked: APFS volume (no APFS reader); its other layers ran");
    else if (!n)
        snprintf(detail, sizeof detail, "not unpacked: no HFS+ volume in this disk image%s%s",
                 *probe_err ? ": " : "", probe_err), cs_unpack_fail(c, detail);
    else if (apfs)
        cs_unpack_fail(c, "not unpacked: an APFS volume of this disk image (no APFS reader)");
    else if (*probe_err)
        snprintf(detail, sizeof detail, "DMG: %s (the volumes were found and read)", probe_err),
            cs_unpack_fail(c, detail);
    cs_udif_close(u);
    return CS_OK;
}

/* One member by path, for a member's related objects: the image is opened
 * again (its tables are small) and the path looked up in each volume. */
static cs_status dmg_extract(cs_source *container, const char *name, size_t max, cs_source **out, cs_error *err)
{
    *out = NULL;
    const unsigned char *d = cs_source_map(container, err);
    if (!d)
        return CS_ERR_IO;
    cs_udif *u;
    char why[512];
    if (cs_udif_open(d, (size_t)container->meta.size, DMG_MAX_CHUNK, &u, why, sizeof why) != 0)
        return cs_error_set(err, CS_ERR_IO, "%s", why);
    volume v[DMG_MAX_VOLUMES];
    int apfs;
    char probe_err[256];
    size_t n = find_volumes(u, v, &apfs, probe_err, sizeof probe_err);
    cs_status rc = cs_error_set(err, CS_ERR_IO, "%s: not in the disk image", name);
    const char *path = name;
    size_t want_volume = 0;
    if (n > 1 && sscanf(name, "[volume %zu]/", &want_volume) == 1)
        path = strchr(name, '/') + 1;
    for (size_t i = 0; i < n; i++) {
        if (want_volume && i + 1 != want_volume)
            continue;
        vol_reader vr = {u, v[i].offset};
        cs_hfs *h;
        cs_hfs_entry e;
        if (cs_hfs_open(read_volume, &vr, v[i].size, &h, why, sizeof why) != 0)
            continue;
        int found = cs_hfs_lookup(h, path, &e, why, sizeof why);
        if (found == 1 && e.kind == CS_HFS_FILE && !e.compressed) {
            if (e.size > max) {
                rc = cs_error_set(err, CS_ERR_IO, "%s: larger than %zu bytes", name, max);
            } else if ((rc = cs_source_buffer(max, NULL, out, err)) == CS_OK) {
                file_reader fr = {h, e.id, 0, e.size, cs_xmalloc(DMG_BLOCK), ""};
                const void *b;
                const char *rwhy;
                long k;
                while ((k = read_file(&fr, &b, &rwhy)) > 0)
                    if (cs_source_write(*out, b, (size_t)k, err) != CS_OK)
                        break;
                free(fr.buf);
                if (k != 0) {
                    cs_source_unref(*out);
                    *out = NULL;
                    rc = k < 0 ? cs_error_set(err, CS_ERR_IO, "%s: %s", name, rwhy) : CS_ERR_IO;
                }
            }
            cs_hfs_close(h);
            break;
        }
        cs_hfs_close(h);
    }
    cs_udif_close(u);
    return rc;
}

const cs_unpacker_ops cs_unpacker_dmg = {"dmg", dmg_claims, dmg_iterate, dmg_extract};
