/* Archives and compressed streams through libarchive: ZIP (zip64,
 * encrypted entries reported), 7z, RAR/RAR5, CAB, ISO 9660, XAR (.pkg),
 * tar with any filter, cpio, ar/.deb, RPM, and single gzip, bzip2, xz,
 * zstd and lz4 streams (claimed by magic: weak 2-byte magics are left out,
 * so random data is never reported as a damaged archive). Read from the mapped bytes;
 * each member's data is streamed into the context block by block. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

#include "unpack/unpack.h"
#include "util/lazylib.h"

/* libarchive, loaded on the first archive (util/lazylib.h) */
#define ARCHIVE_FUNCS(X)                                                                                         \
    X(archive_entry_filetype)                                                                                   \
    X(archive_entry_hardlink)                                                                                   \
    X(archive_entry_is_data_encrypted)                                                                          \
    X(archive_entry_pathname)                                                                                   \
    X(archive_entry_pathname_utf8)                                                                              \
    X(archive_entry_size)                                                                                       \
    X(archive_entry_size_is_set)                                                                                \
    X(archive_entry_symlink)                                                                                    \
    X(archive_error_string)                                                                                     \
    X(archive_filter_count)                                                                                     \
    X(archive_format)                                                                                           \
    X(archive_read_data_block)                                                                                  \
    X(archive_read_free)                                                                                        \
    X(archive_read_new)                                                                                         \
    X(archive_read_next_header)                                                                                 \
    X(archive_read_open_memory)                                                                                 \
    X(archive_read_support_filter_all)                                                                          \
    X(archive_read_support_format_all)                                                                          \
    X(archive_read_support_format_raw)                                                                          
CS_LAZY_API(la, CS_SONAME_ARCHIVE, ARCHIVE_FUNCS)

typedef struct magic {
    uint32_t off;
    const char *bytes;
    uint8_t len;
    const char *format;
    int stream;                /* a compressed stream: may hold one file (raw) */
} magic;

static const magic magics[] = {
    {0, "PK\x03\x04", 4, "ZIP", 0},
    {0, "PK\x05\x06", 4, "ZIP", 0}, /* empty zip */
    {0, "PK\x07\x08", 4, "ZIP", 0}, /* spanned marker, then a local header */
    {0, "7z\xbc\xaf\x27\x1c", 6, "7Z", 0},
    {0, "Rar!\x1a\x07\x00", 7, "RAR", 0},
    {0, "Rar!\x1a\x07\x01\x00", 8, "RAR5", 0},
    {0, "MSCF\0\0\0\0", 8, "CAB", 0},
    {0, "xar!", 4, "XAR", 0},
    {257, "ustar", 5, "TAR", 0},
    {0, "070701", 6, "CPIO", 0},
    {0, "070702", 6, "CPIO", 0},
    {0, "070707", 6, "CPIO", 0},
    {0, "!<arch>\n", 8, "AR", 0},
    {0, "\xed\xab\xee\xdb", 4, "RPM", 0},
    {0x8001, "CD001", 5, "ISO", 0},
    {0x8801, "CD001", 5, "ISO", 0},
    {0x9001, "CD001", 5, "ISO", 0},
    {0, "\x1f\x8b\x08", 3, "GZIP", 1},
    {0, "BZh", 3, "BZIP2", 1},
    {0, "\xfd" "7zXZ\x00", 6, "XZ", 1},
    {0, "\x28\xb5\x2f\xfd", 4, "ZSTD", 1},
    {0, "\x04\x22\x4d\x18", 4, "LZ4", 1},
};

static const magic *find_magic(const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < sizeof magics / sizeof *magics; i++) {
        const magic *m = &magics[i];
        if (m->off <= n && n - m->off >= m->len && memcmp(d + m->off, m->bytes, m->len) == 0)
            return m;
    }
    return NULL;
}

const char *cs_archive_format(const unsigned char *d, size_t n)
{
    const magic *m = d ? find_magic(d, n) : NULL;
    return m ? m->format : NULL;
}

static const char *archive_claims(const cs_file *f)
{
    return cs_archive_format(f->data, f->size);
}

static const char *format_name(int code)
{
    switch (code & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP: return "ZIP";
    case ARCHIVE_FORMAT_7ZIP: return "7Z";
    case ARCHIVE_FORMAT_RAR: return "RAR";
    case ARCHIVE_FORMAT_RAR_V5: return "RAR5";
    case ARCHIVE_FORMAT_CAB: return "CAB";
    case ARCHIVE_FORMAT_ISO9660: return "ISO";
    case ARCHIVE_FORMAT_XAR: return "XAR";
    case ARCHIVE_FORMAT_TAR: return "TAR";
    case ARCHIVE_FORMAT_CPIO: return "CPIO";
    case ARCHIVE_FORMAT_AR: return "AR";
    case ARCHIVE_FORMAT_LHA: return "LHA";
    case ARCHIVE_FORMAT_RAW: return NULL;
    default: return NULL;
    }
}

/* The symbol and long-name tables of ar archives (static libraries, .deb)
 * are indexes, not files: "/", "//", "/SYM64/" (GNU), "__.SYMDEF" (BSD). */
static int is_ar_index(int format, const char *name)
{
    if ((format & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_AR || !name)
        return 0;
    return strcmp(name, "/") == 0 || strcmp(name, "//") == 0 || strcmp(name, "/SYM64/") == 0 ||
           strncmp(name, "__.SYMDEF", 9) == 0 || strcmp(name, "ARFILENAMES/") == 0;
}

typedef struct reader {
    struct archive *a;
    const char *warning;       /* the last ARCHIVE_WARN of this member (a bad CRC) */
    uint64_t pos;              /* bytes handed out so far (sparse holes are zeros) */
    const void *pending;       /* a block that starts after a hole */
    size_t pending_len;
    int64_t pending_off;
} reader;

static const unsigned char zeros[64 * 1024];

static long read_block(void *ud, const void **block, const char **why)
{
    reader *r = ud;
    if (!r->pending) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int rc;
        do /* an empty block is not the end of the member */
            rc = la.archive_read_data_block(r->a, &buf, &len, &off);
        while (rc == ARCHIVE_OK && len == 0);
        if (rc == ARCHIVE_WARN) /* libarchive reports a bad CRC this way, at the end */
            r->warning = la.archive_error_string(r->a) ? la.archive_error_string(r->a) : "damaged data";
        if (rc == ARCHIVE_EOF || (rc == ARCHIVE_WARN && len == 0)) {
            *why = r->warning;
            return 0;
        }
        if (rc < ARCHIVE_WARN) {
            *why = la.archive_error_string(r->a) ? la.archive_error_string(r->a) : "cannot read the member's data";
            return -1;
        }
        r->pending = buf;
        r->pending_len = len;
        r->pending_off = off < 0 || (uint64_t)off < r->pos ? (int64_t)r->pos : off;
    }
    if ((uint64_t)r->pending_off > r->pos) { /* a hole in a sparse entry */
        uint64_t gap = (uint64_t)r->pending_off - r->pos;
        size_t n = gap < sizeof zeros ? (size_t)gap : sizeof zeros;
        *block = zeros;
        r->pos += n;
        return (long)n;
    }
    *block = r->pending;
    long n = (long)r->pending_len;
    r->pos += r->pending_len;
    r->pending = NULL;
    return n;
}

/* A single compressed stream holds one file: name it after the container
 * ("ffmpeg.dll.gz" -> "ffmpeg.dll"). */
static const char *stream_member_name(const cs_file *f, char *buf, size_t n)
{
    snprintf(buf, n, "%s", f->name);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
    else
        snprintf(buf, n, "[data]");
    return buf;
}

static cs_status archive_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)err;
    const magic *m = find_magic(f->data, f->size);
    const char *why;
    if (!la_load(&why)) {
        cs_unpack_unavailable(c, why);
        return CS_OK;
    }
    struct archive *a = la.archive_read_new();
    if (!a) {
        cs_unpack_fail(c, "not unpacked: out of memory");
        return CS_OK;
    }
    la.archive_read_support_filter_all(a);
    la.archive_read_support_format_all(a);
    if (m && m->stream)
        la.archive_read_support_format_raw(a);
    if (la.archive_read_open_memory(a, f->data, f->size) != ARCHIVE_OK) {
        cs_buf b = {0};
        cs_buf_printf(&b, "not unpacked: %s (%s)", la.archive_error_string(a) ? la.archive_error_string(a) : "unreadable",
                      format);
        cs_unpack_fail(c, b.data);
        cs_buf_free(&b);
        la.archive_read_free(a);
        return CS_OK;
    }
    struct archive_entry *e;
    int first = 1;
    char namebuf[512];
    while (cs_unpack_more(c)) {
        int rc = la.archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN) {
            cs_buf b = {0};
            cs_buf_printf(&b, "%s: %s", first ? "not unpacked" : "archive damaged after the members read",
                          la.archive_error_string(a) ? la.archive_error_string(a) : "unreadable header");
            cs_unpack_fail(c, b.data);
            cs_buf_free(&b);
            break;
        }
        if (first) {
            first = 0;
            int fmt = la.archive_format(a);
            if ((fmt & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_RAW && la.archive_filter_count(a) <= 1) {
                cs_unpack_fail(c, "not unpacked: no archive format recognised");
                break;
            }
            const char *name = format_name(fmt);
            if (name)
                cs_unpack_set_format(c, name);
        }
        if (la.archive_entry_filetype(e) == AE_IFDIR)
            continue;
        const char *stored = la.archive_entry_pathname(e);
        if (!stored) /* not convertible to this locale's charset (a CP437 zip name in "C"): as UTF-8 */
            stored = la.archive_entry_pathname_utf8(e);
        if (is_ar_index(la.archive_format(a), stored))
            continue;
        if ((la.archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_RAW)
            stored = stream_member_name(f, namebuf, sizeof namebuf);
        cs_member_info mi = {0};
        mi.name = stored ? cs_unpack_name(c, stored) : "[unnamed]";
        mi.size = la.archive_entry_size_is_set(e) ? (uint64_t)la.archive_entry_size(e) : UINT64_MAX;
        mi.is_link = la.archive_entry_filetype(e) == AE_IFLNK || la.archive_entry_hardlink(e) != NULL;
        mi.encrypted = la.archive_entry_is_data_encrypted(e);
        if (mi.is_link) {
            const char *to = la.archive_entry_symlink(e) ? la.archive_entry_symlink(e) : la.archive_entry_hardlink(e);
            cs_buf b = {0};
            cs_buf_printf(&b, "link to %s: not followed", to ? to : "?");
            cs_unpack_skip(c, &mi, CS_SKIP_LINK_MEMBER, b.data);
            cs_buf_free(&b);
            continue;
        }
        if (mi.encrypted) {
            cs_unpack_skip(c, &mi, CS_SKIP_ENCRYPTED, "encrypted; no password given");
            continue;
        }
        if (la.archive_entry_filetype(e) != AE_IFREG && la.archive_entry_filetype(e) != 0) {
            continue; /* devices, FIFOs stored in tar/cpio: no content */
        }
        reader r = {a, NULL, 0, NULL, 0, 0};
        cs_unpack_stream(c, &mi, read_block, &r);
    }
    la.archive_read_free(a);
    return CS_OK;
}

/* "./a//b\\c" -> "a/b/c": names as libarchive formats store them, compared
 * the way a member's related path is resolved. */
static void normalize_name(const char *in, char *out, size_t n)
{
    size_t len = 0;
    for (const char *p = in; *p && len + 1 < n;) {
        size_t k = strcspn(p, "/\\");
        if (k && !(k == 1 && p[0] == '.')) {
            if (len && len + 1 < n)
                out[len++] = '/';
            for (size_t i = 0; i < k && len + 1 < n; i++)
                out[len++] = p[i];
        }
        p += k;
        if (*p)
            p++;
    }
    out[len] = '\0';
}

static cs_status archive_extract(cs_source *container, const char *name, size_t max, cs_source **out, cs_error *err)
{
    const unsigned char *d = cs_source_map(container, err);
    *out = NULL;
    if (!d)
        return CS_ERR_IO;
    const char *why;
    if (!la_load(&why))
        return cs_error_set(err, CS_ERR_IO, "%s: %s", name, why);
    struct archive *a = la.archive_read_new();
    if (!a)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    la.archive_read_support_filter_all(a);
    la.archive_read_support_format_all(a);
    cs_status rc = cs_error_set(err, CS_ERR_IO, "%s: not in the container", name);
    struct archive_entry *e;
    char norm[4096];
    if (la.archive_read_open_memory(a, d, (size_t)container->meta.size) == ARCHIVE_OK) {
        while (la.archive_read_next_header(a, &e) >= ARCHIVE_WARN) {
            const char *p = la.archive_entry_pathname(e);
            if (!p || la.archive_entry_filetype(e) != AE_IFREG)
                continue;
            normalize_name(p, norm, sizeof norm);
            if (strcmp(norm, name) != 0)
                continue;
            if (la.archive_entry_size_is_set(e) && (uint64_t)la.archive_entry_size(e) > max) {
                rc = cs_error_set(err, CS_ERR_IO, "%s: larger than %zu bytes", name, max);
                break;
            }
            if ((rc = cs_source_buffer(max, NULL, out, err)) != CS_OK)
                break;
            const void *buf;
            size_t len;
            la_int64_t off;
            int r;
            while ((r = la.archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                if ((*out)->meta.size + len > max || cs_source_write(*out, buf, len, err) != CS_OK) {
                    r = ARCHIVE_FATAL;
                    break;
                }
            }
            if (r != ARCHIVE_EOF) {
                cs_source_unref(*out);
                *out = NULL;
                rc = cs_error_set(err, CS_ERR_IO, "%s: cannot be read", name);
            }
            break;
        }
    }
    la.archive_read_free(a);
    return rc;
}

const cs_unpacker_ops cs_unpacker_archive = {"archive", archive_claims, archive_iterate, archive_extract};
