/* An MSI is an OLE compound file whose streams hold database tables. Table
 * stream names are compressed into CJK code points (two name characters
 * per code point, a 0x4840 prefix for tables); strings live in a shared
 * pool ("!_StringPool": lengths, "!_StringData": bytes) and tables store
 * pool ids column by column. libgsf reads the compound file; the rest is
 * here, with every id and length checked against what was read. */
#include "format/msi.h"

#include <glib.h>
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-blob.h>
#include <gsf/gsf-input-proxy.h>
#include <gsf/gsf-input.h>
#include <gsf/gsf-msole-utils.h>
#include <gsf/gsf-shared-memory.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POOL (8u << 20)
#define MAX_DATA (32u << 20)
#define MAX_PROPERTY (4u << 20)

static char mime_char(unsigned x)
{
    if (x < 10)
        return (char)('0' + x);
    if (x < 36)
        return (char)('A' + x - 10);
    if (x < 62)
        return (char)('a' + x - 36);
    return x == 62 ? '.' : '_';
}

/* Decode an MSI stream name (UTF-8 from libgsf) into ASCII; tables get a
 * leading '!'. */
static void decode_stream_name(const char *utf8, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *p = utf8; *p && k + 3 < cap; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2)
            break;
        if (c == 0x4840) {
            out[k++] = '!';
        } else if (c >= 0x4800 && c < 0x4840) {
            out[k++] = mime_char(c - 0x4800);
        } else if (c >= 0x3800 && c < 0x4800) {
            out[k++] = mime_char((c - 0x3800) & 0x3f);
            out[k++] = mime_char(((c - 0x3800) >> 6) & 0x3f);
        } else if (c < 0x80) {
            out[k++] = (char)c;
        } else {
            out[k++] = '?';
        }
    }
    out[k] = '\0';
}

typedef struct msi_streams {
    guint8 *pool, *data, *property;
    size_t pool_len, data_len, property_len;
} msi_streams;

static int read_stream(GsfInfile *ole, int i, size_t max, guint8 **out, size_t *len)
{
    GsfInput *child = gsf_infile_child_by_index(ole, i);
    if (!child)
        return -1;
    gsf_off_t size = gsf_input_size(child);
    int rc = -1;
    if (size >= 0 && (uint64_t)size <= max) {
        *out = g_malloc(size ? (gsize)size : 1);
        if (size == 0 || gsf_input_read(child, (size_t)size, *out)) {
            *len = (size_t)size;
            rc = 0;
        } else {
            g_free(*out);
            *out = NULL;
        }
    }
    g_object_unref(child);
    return rc;
}

typedef struct pool_entry {
    size_t offset, len;
} pool_entry;

/* The string pool: id 0 is the null string; a zero length with a
 * non-zero count carries a length over 64 KiB in the next entry. */
static pool_entry *parse_pool(const msi_streams *s, size_t *n_out, int *long_refs, const char **why)
{
    if (s->pool_len < 4 || (s->pool_len - 4) % 4) {
        *why = "MSI string pool malformed";
        return NULL;
    }
    uint32_t head = cs_rd32le(s->pool);
    *long_refs = !!(head & 0x80000000u);
    size_t count = (s->pool_len - 4) / 4;
    pool_entry *v = calloc(count + 1, sizeof *v);
    size_t n = 1, offset = 0;
    for (size_t i = 0; i < count; i++) {
        const guint8 *e = s->pool + 4 + 4 * i;
        size_t len = cs_rd16le(e), refs = cs_rd16le(e + 2);
        if (len == 0 && refs != 0) {
            if (i + 1 >= count) {
                free(v);
                *why = "MSI string pool truncated";
                return NULL;
            }
            len = cs_rd32le(s->pool + 4 + 4 * (i + 1));
            i++;
        }
        if (len > s->data_len - offset) {
            free(v);
            *why = "MSI string pool points past the string data";
            return NULL;
        }
        v[n].offset = offset;
        v[n].len = len;
        n++;
        offset += len;
    }
    *n_out = n;
    return v;
}

/* A pool string as UTF-8 in the arena: as is when valid UTF-8, else from
 * Windows-1252 (the usual MSI code page). */
static const char *pool_string(const msi_streams *s, const pool_entry *pool, size_t n, size_t id, cs_arena *a)
{
    if (id == 0 || id >= n || pool[id].len == 0)
        return NULL;
    const char *raw = (const char *)s->data + pool[id].offset;
    size_t len = pool[id].len;
    char *conv = NULL;
    if (!g_utf8_validate(raw, (gssize)len, NULL))
        conv = g_convert(raw, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
    const char *src = conv ? conv : raw;
    size_t slen = conv ? strlen(conv) : len;
    char *copy = cs_arena_alloc(a, slen + 1);
    if (copy) {
        memcpy(copy, src, slen);
        copy[slen] = '\0';
        if (!conv && !g_utf8_validate(copy, (gssize)slen, NULL))
            for (size_t i = 0; i < slen; i++)
                if ((unsigned char)copy[i] >= 0x80)
                    copy[i] = '?';
    }
    g_free(conv);
    return copy;
}

static int read_property_table(const msi_streams *s, cs_arena *a, cs_product *out, const char **why)
{
    size_t n_pool;
    int long_refs;
    pool_entry *pool = parse_pool(s, &n_pool, &long_refs, why);
    if (!pool)
        return -1;
    size_t ref = long_refs ? 3 : 2, row = 2 * ref;
    if (s->property_len % row) {
        free(pool);
        *why = "MSI Property table malformed";
        return -1;
    }
    size_t rows = s->property_len / row;
    for (size_t r = 0; r < rows; r++) {
        const guint8 *k = s->property + r * ref, *v = s->property + rows * ref + r * ref;
        size_t key = cs_rd16le(k) | (long_refs ? (size_t)k[2] << 16 : 0);
        size_t val = cs_rd16le(v) | (long_refs ? (size_t)v[2] << 16 : 0);
        const char *name = pool_string(s, pool, n_pool, key, a);
        if (!name)
            continue;
        const char **slot = strcmp(name, "ProductName") == 0      ? &out->name
                            : strcmp(name, "ProductVersion") == 0 ? &out->version
                            : strcmp(name, "Manufacturer") == 0   ? &out->company
                                                                  : NULL;
        if (slot && !*slot)
            *slot = pool_string(s, pool, n_pool, val, a);
    }
    free(pool);
    return 0;
}

static void discard_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer ud)
{
    (void)domain, (void)level, (void)message, (void)ud;
}

/* Once per process, before any worker uses libgsf: its GObject types
 * register lazily and not thread-safely (two workers opening their first
 * MSI at once crashed in "cannot register existing type"), so they are
 * registered here under g_once. And libgsf reports damaged files through
 * g_warning, which prints; a library must not, and the caller gets *why. */
static gpointer gsf_setup(gpointer unused)
{
    (void)unused;
    /* every type the compound-file read path instantiates */
    g_type_ensure(gsf_input_get_type());
    g_type_ensure(gsf_infile_get_type());
    g_type_ensure(gsf_input_memory_get_type());
    g_type_ensure(gsf_input_proxy_get_type());
    g_type_ensure(gsf_shared_memory_get_type());
    g_type_ensure(gsf_infile_msole_get_type());
    g_type_ensure(gsf_msole_sorting_key_get_type());
    g_type_ensure(gsf_blob_get_type());
    static const char *const domains[] = {"libgsf:msole", "libgsf"};
    for (size_t i = 0; i < sizeof domains / sizeof *domains; i++)
        g_log_set_handler(domains[i], G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, discard_log,
                          NULL);
    return NULL;
}

int cs_msi_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why)
{
    static GOnce once = G_ONCE_INIT;
    g_once(&once, gsf_setup, NULL);
    memset(out, 0, sizeof *out);
    out->source = "msi";
    GsfInput *in = gsf_input_memory_new(d, (gsf_off_t)n, FALSE);
    if (!in) {
        *why = "cannot read the MSI";
        return -1;
    }
    GError *gerr = NULL;
    GsfInfile *ole = gsf_infile_msole_new(in, &gerr);
    g_object_unref(in); /* the infile holds its own reference */
    if (!ole) {
        g_clear_error(&gerr);
        *why = "MSI: not a readable OLE compound file";
        return -1;
    }
    msi_streams s = {0};
    int rc = 0;
    int count = gsf_infile_num_children(ole);
    for (int i = 0; i < count && rc == 0; i++) {
        const char *raw = gsf_infile_name_by_index(ole, i);
        char name[128];
        decode_stream_name(raw ? raw : "", name, sizeof name);
        if (strcmp(name, "!_StringPool") == 0 && !s.pool)
            rc = read_stream(ole, i, MAX_POOL, &s.pool, &s.pool_len);
        else if (strcmp(name, "!_StringData") == 0 && !s.data)
            rc = read_stream(ole, i, MAX_DATA, &s.data, &s.data_len);
        else if (strcmp(name, "!Property") == 0 && !s.property)
            rc = read_stream(ole, i, MAX_PROPERTY, &s.property, &s.property_len);
    }
    if (rc != 0)
        *why = "MSI: a table stream cannot be read";
    else if (!s.pool || !s.data || !s.property)
        rc = -1, *why = "MSI without a string pool or Property table";
    else
        rc = read_property_table(&s, a, out, why);
    g_free(s.pool);
    g_free(s.data);
    g_free(s.property);
    g_object_unref(ole);
    return rc;
}
