/* An MSI is an OLE compound file whose streams hold database tables. Table
 * stream names are compressed into CJK code points (two name characters
 * per code point, a 0x4840 prefix for tables); strings live in a shared
 * pool ("!_StringPool": lengths, "!_StringData": bytes) and tables store
 * cells column by column: string pool ids (2 bytes, 3 when the pool says
 * so), integers with their sign bit flipped (2 or 4 bytes, 0 is NULL),
 * 2 bytes for a stream column. "!_Columns" says which columns each table
 * has, in which order and of which type; its own layout is fixed. Streams
 * of a table's stream column are named "<Table>.<key>" ("Binary.CaDll").
 * libgsf reads the compound file; the rest is here, with every id, length
 * and reference checked against what was read. */
#include "format/msi.h"

#include <glib-object.h>
#include <glib.h>
#include <gsf/gsf-blob.h>
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-input-proxy.h>
#include <gsf/gsf-input.h>
#include <gsf/gsf-msole-utils.h>
#include <gsf/gsf-shared-memory.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/lazylib.h"

#define MAX_POOL (8u << 20)           /* bytes of !_StringPool */
#define MAX_DATA (32u << 20)          /* bytes of !_StringData */
#define MAX_TABLE (32u << 20)         /* bytes of any other table */
#define MAX_STREAMS 32768             /* libgsf finds a stream by index in a list */
#define MAX_COLS 32                   /* Windows Installer's limit per table */
#define MAX_DEPTH 64                  /* Directory levels */
#define MAX_NAMES ((size_t)128 << 20) /* bytes of all names and paths a package keeps: at most */
#define NAMES_BASE ((size_t)16 << 20)  /* this plus NAMES_PER_BYTE per byte of the package */
#define NAMES_PER_BYTE 16
#define NAME_CAP 128                  /* a decoded stream name (at most 31 UTF-16 units) */

/* libgsf and the GLib it brings, loaded on the first MSI (util/lazylib.h) */
#define GSF_FUNCS(X)                                                                                            \
    X(gsf_blob_get_type)                                                                                        \
    X(gsf_infile_child_by_index)                                                                                \
    X(gsf_infile_get_type)                                                                                      \
    X(gsf_infile_msole_get_type)                                                                                \
    X(gsf_infile_msole_new)                                                                                     \
    X(gsf_infile_name_by_index)                                                                                 \
    X(gsf_infile_num_children)                                                                                  \
    X(gsf_input_get_type)                                                                                       \
    X(gsf_input_memory_get_type)                                                                                \
    X(gsf_input_memory_new)                                                                                     \
    X(gsf_input_proxy_get_type)                                                                                 \
    X(gsf_input_read)                                                                                           \
    X(gsf_input_size)                                                                                           \
    X(gsf_msole_sorting_key_get_type)                                                                           \
    X(gsf_shared_memory_get_type)                                                                               \
    X(g_clear_error)                                                                                            \
    X(g_convert)                                                                                                \
    X(g_free)                                                                                                   \
    X(g_log_set_handler)                                                                                        \
    X(g_object_unref)                                                                                           \
    X(g_type_check_instance_is_a)                                                                               \
    X(g_type_ensure)                                                                                            \
    X(g_unichar_to_utf8)                                                                                        \
    X(g_utf8_get_char_validated)                                                                                \
    X(g_utf8_validate)
CS_LAZY_API(lg, CS_SONAME_GSF, GSF_FUNCS)

/* column type bits (_Columns.Type) */
#define T_VALID 0x0100u
#define T_STRING 0x0800u
#define T_NULLABLE 0x1000u

/* ---- stream names ---- */

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

static int mime_index(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 36;
    return c == '.' ? 62 : c == '_' ? 63 : -1;
}

/* Decode an MSI stream name (UTF-8 from libgsf) into UTF-8; a table
 * prefix becomes '!'. Returns whether the name has the table prefix. */
static int decode_stream_name(const char *utf8, char *out, size_t cap)
{
    size_t k = 0;
    int table = 0;
    for (const char *p = utf8, *next; *p && k + 4 < cap; p = next) {
        gunichar c = lg.g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2)
            break;
        next = p + lg.g_unichar_to_utf8(c, NULL); /* a valid character: as long as its encoding */
        if (c == 0x4840) {
            table |= p == utf8;
            out[k++] = '!';
        } else if (c >= 0x4800 && c < 0x4840) {
            out[k++] = mime_char(c - 0x4800);
        } else if (c >= 0x3800 && c < 0x4800) {
            out[k++] = mime_char((c - 0x3800) & 0x3f);
            out[k++] = mime_char(((c - 0x3800) >> 6) & 0x3f);
        } else {
            k += (size_t)lg.g_unichar_to_utf8(c, out + k);
        }
    }
    out[k] = '\0';
    return table;
}

/* The compound-file name Windows gives table t, as UTF-8: the prefix, then
 * the name two characters per code point (an odd last one alone). -1 when
 * t has a character outside [0-9A-Za-z._] or does not fit. */
static int encode_table_name(const char *t, char *out, size_t cap)
{
    size_t k = (size_t)lg.g_unichar_to_utf8(0x4840, out), len = strlen(t);
    for (size_t i = 0; i < len;) {
        int a = mime_index(t[i]), b = i + 1 < len ? mime_index(t[i + 1]) : -2;
        if (a < 0 || b == -1 || k + 4 >= cap)
            return -1;
        gunichar c = b >= 0 ? 0x3800 + (gunichar)a + ((gunichar)b << 6) : 0x4800 + (gunichar)a;
        i += b >= 0 ? 2 : 1;
        k += (size_t)lg.g_unichar_to_utf8(c, out + k);
    }
    out[k] = '\0';
    return 0;
}

/* ---- the database: compound file, string pool, tables ---- */

typedef struct msi_child {
    const char *raw;     /* libgsf's name */
    char name[NAME_CAP]; /* decoded; tables start with '!' */
    int table;           /* the name is exactly the one Windows gives table name+1 */
} msi_child;

typedef struct pool_entry {
    size_t offset, len;
} pool_entry;

/* A pool string: bytes in !_StringData, not NUL-terminated; p is NULL for
 * the null (and the empty) string. */
typedef struct msi_view {
    const char *p;
    size_t len;
} msi_view;

typedef struct msi_col {
    size_t name;   /* pool id */
    unsigned type; /* _Columns.Type */
    size_t size;   /* bytes per cell */
    size_t start;  /* bytes per row in the columns before it */
} msi_col;

typedef struct msi_table {
    size_t n_cols, rows;
    msi_col cols[MAX_COLS];
    unsigned char *data; /* the stream, malloc'd */
    int present;         /* described in _Columns and stored */
} msi_table;

typedef struct msi_db {
    GsfInfile *ole;
    msi_child *children;
    size_t n_children;
    unsigned char *pool_raw, *strings;
    size_t pool_len, strings_len;
    pool_entry *pool;
    size_t n_pool, ref;
    unsigned codepage;
    msi_table columns; /* _Columns */
    msi_view *tables;  /* the table names _Columns describes, sorted, distinct */
    size_t n_tables;
    uint64_t budget; /* bytes still to read: the streams of a sound file fit in it */
} msi_db;

enum { COL_INT, COL_STRING, COL_STREAM };

static int col_kind(unsigned type)
{
    if ((type & ~T_NULLABLE) == (T_STRING | T_VALID))
        return COL_STREAM;
    return type & T_STRING ? COL_STRING : COL_INT;
}

static size_t col_size(unsigned type, size_t ref)
{
    switch (col_kind(type)) {
    case COL_STREAM:
        return 2;
    case COL_STRING:
        return ref;
    default:
        return (type & 0xff) <= 2 ? 2 : 4;
    }
}

static void discard_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer ud)
{
    (void)domain, (void)level, (void)message, (void)ud;
}

/* Once per process, before any worker uses libgsf: its GObject types
 * register lazily and not thread-safely (two workers opening their first
 * MSI at once crashed in "cannot register existing type"), so they are
 * registered here, once. And libgsf reports damaged files through
 * g_warning, which prints; a library must not, and the caller gets *why. */
static void gsf_setup(void)
{
    /* every type the compound-file read path instantiates */
    lg.g_type_ensure(lg.gsf_input_get_type());
    lg.g_type_ensure(lg.gsf_infile_get_type());
    lg.g_type_ensure(lg.gsf_input_memory_get_type());
    lg.g_type_ensure(lg.gsf_input_proxy_get_type());
    lg.g_type_ensure(lg.gsf_shared_memory_get_type());
    lg.g_type_ensure(lg.gsf_infile_msole_get_type());
    lg.g_type_ensure(lg.gsf_msole_sorting_key_get_type());
    lg.g_type_ensure(lg.gsf_blob_get_type());
    static const char *const domains[] = {"libgsf:msole", "libgsf"};
    for (size_t i = 0; i < sizeof domains / sizeof *domains; i++)
        lg.g_log_set_handler(domains[i], G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, discard_log,
                          NULL);
}

/* Child i of the root storage: NULL with *why when libgsf cannot open it;
 * *storage says it is a storage, not a stream. */
static GsfInput *child_open(const msi_db *db, size_t i, int *storage, uint64_t *size, const char **why)
{
    GsfInput *child = lg.gsf_infile_child_by_index(db->ole, (int)i);
    gsf_off_t sz = child ? lg.gsf_input_size(child) : -1;
    if (sz < 0) {
        if (child)
            lg.g_object_unref(child);
        *why = "MSI: a stream cannot be read";
        return NULL;
    }
    *storage = lg.g_type_check_instance_is_a((GTypeInstance *)child, lg.gsf_infile_get_type()) &&
               lg.gsf_infile_num_children((GsfInfile *)child) >= 0;
    *size = (uint64_t)sz;
    return child;
}

/* size bytes of child into buf, within the budget. */
static int child_read(msi_db *db, GsfInput *child, uint64_t size, unsigned char *buf, const char **why)
{
    if (size > db->budget) {
        *why = "MSI: its streams add up to more than the file";
        return -1;
    }
    if (size && !lg.gsf_input_read(child, (size_t)size, buf)) {
        *why = "MSI: a stream cannot be read";
        return -1;
    }
    db->budget -= size;
    return 0;
}

/* Table stream child i, whole, into a malloc'd buffer of at most max bytes. */
static int read_table_stream(msi_db *db, size_t i, size_t max, unsigned char **out, size_t *len, const char **why)
{
    int storage;
    uint64_t size;
    GsfInput *child = child_open(db, i, &storage, &size, why);
    if (!child)
        return -1;
    int rc = -1;
    if (storage)
        *why = "MSI: a table is a storage, not a stream";
    else if (size > max)
        *why = "MSI: a table stream is too large";
    else if (!(*out = malloc(size ? (size_t)size : 1)))
        *why = "out of memory";
    else if (child_read(db, child, size, *out, why) != 0)
        free(*out), *out = NULL;
    else
        *len = (size_t)size, rc = 0;
    lg.g_object_unref(child);
    return rc;
}

/* The child holding table t, or -1. */
static long find_table(const msi_db *db, const char *t)
{
    for (size_t i = 0; i < db->n_children; i++)
        if (db->children[i].table && strcmp(db->children[i].name + 1, t) == 0)
            return (long)i;
    return -1;
}

/* The string pool after its header: (length, refcount) entries; id 0 is
 * the null string. A string of 64 KiB or more takes two entries, written
 * in two ways: (0, length >> 16) then (length & 0xffff, refcount), as
 * libmsi (msitools, wixl) writes and rust-msi reads it; or, wine, (0,
 * refcount) then the 32-bit length, as Wine writes and reads it. *total:
 * the lengths added up; *longs: whether a long string was seen. */
static int parse_pool_as(msi_db *db, int wine, size_t *total, int *longs, const char **why)
{
    size_t count = (db->pool_len - 4) / 4, offset = 0;
    free(db->pool);
    db->n_pool = 1;
    if (!(db->pool = calloc(count + 1, sizeof *db->pool))) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned char *e = db->pool_raw + 4 + 4 * i;
        size_t len = cs_rd16le(e), refs = cs_rd16le(e + 2);
        if (len == 0 && refs != 0) {
            if (i + 1 >= count) {
                *why = "MSI string pool truncated";
                return -1;
            }
            const unsigned char *next = e + 4;
            len = wine ? cs_rd32le(next) : (size_t)refs << 16 | cs_rd16le(next);
            *longs = 1;
            i++;
        }
        if (len > db->strings_len - offset) {
            *why = "MSI string pool points past the string data";
            return -1;
        }
        db->pool[db->n_pool].offset = offset;
        db->pool[db->n_pool].len = len;
        db->n_pool++;
        offset += len;
    }
    *total = offset;
    return 0;
}

/* The string pool, read libmsi's way unless its lengths do not add up to
 * the string data and Wine's do. A package without a pool has only the
 * null string. */
static int parse_pool(msi_db *db, const char **why)
{
    db->n_pool = 1;
    db->ref = 2;
    if (!db->pool_raw)
        return 0;
    if (db->pool_len < 4 || (db->pool_len - 4) % 4) {
        *why = "MSI string pool malformed";
        return -1;
    }
    uint32_t head = cs_rd32le(db->pool_raw);
    db->ref = head & 0x80000000u ? 3 : 2;
    db->codepage = head & 0xffffu;
    size_t total = 0, total_wine = 0;
    int longs = 0, ignored = 0;
    const char *why_wine;
    int rc = parse_pool_as(db, 0, &total, &longs, why);
    if ((rc == 0 && (!longs || total == db->strings_len)) || (rc != 0 && !longs))
        return rc;
    if (parse_pool_as(db, 1, &total_wine, &ignored, &why_wine) == 0 && (rc != 0 || total_wine == db->strings_len))
        return 0;
    return parse_pool_as(db, 0, &total, &longs, why);
}

static int pool_view(const msi_db *db, size_t id, msi_view *v, const char **why)
{
    if (id >= db->n_pool) {
        *why = "MSI table refers to a string the pool lacks";
        return -1;
    }
    v->len = id ? db->pool[id].len : 0;
    v->p = v->len ? (const char *)db->strings + db->pool[id].offset : NULL;
    return 0;
}

static int view_cmp(msi_view a, msi_view b)
{
    int c = memcmp(a.p ? a.p : "", b.p ? b.p : "", a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int view_is(msi_view v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && (n == 0 || memcmp(v.p, s, n) == 0);
}

static int view_qsort_cmp(const void *a, const void *b)
{
    return view_cmp(*(const msi_view *)a, *(const msi_view *)b);
}

/* bsearch, fine with an empty (NULL) array */
static void *find(const void *key, const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    return n ? bsearch(key, base, n, size, cmp) : NULL;
}

typedef void *(*alloc_fn)(void *ctx, size_t n);

static void *arena_alloc_fn(void *ctx, size_t n)
{
    return cs_arena_alloc(ctx, n);
}

/* v as UTF-8, written by alloc: the bytes when they are valid UTF-8, else
 * converted from the package's code page (Windows-1252 when it names
 * none); bytes nothing converts become '?'. NULL for the null string, or
 * when alloc fails. */
static char *view_dup(const msi_db *db, msi_view v, alloc_fn alloc, void *ctx)
{
    if (!v.p)
        return NULL;
    char *conv = NULL;
    if (!lg.g_utf8_validate(v.p, (gssize)v.len, NULL)) {
        char cp[16];
        snprintf(cp, sizeof cp, "CP%u", db->codepage);
        if (db->codepage && db->codepage != 65001)
            conv = lg.g_convert(v.p, (gssize)v.len, "UTF-8", cp, NULL, NULL, NULL);
        if (!conv)
            conv = lg.g_convert(v.p, (gssize)v.len, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
    }
    const char *src = conv ? conv : v.p;
    size_t len = conv ? strlen(conv) : v.len;
    char *copy = alloc(ctx, len + 1);
    if (copy) {
        memcpy(copy, src, len);
        copy[len] = '\0';
        if (!conv && !lg.g_utf8_validate(copy, (gssize)len, NULL))
            for (size_t i = 0; i < len; i++)
                if ((unsigned char)copy[i] >= 0x80)
                    copy[i] = '?';
    }
    lg.g_free(conv);
    return copy;
}

/* ---- tables ---- */

static uint32_t cell(const msi_table *t, size_t r, size_t c)
{
    const msi_col *col = &t->cols[c];
    const unsigned char *p = t->data + t->rows * col->start + r * col->size;
    if (col->size == 4)
        return cs_rd32le(p);
    return (uint32_t)cs_rd16le(p) | (col->size == 3 ? (uint32_t)p[2] << 16 : 0);
}

static int cell_str(const msi_db *db, const msi_table *t, size_t r, size_t c, msi_view *v, const char **why)
{
    return pool_view(db, cell(t, r, c), v, why);
}

/* 0 for NULL; 1 and *v otherwise. */
static int cell_int(const msi_table *t, size_t r, size_t c, int64_t *v)
{
    uint32_t x = cell(t, r, c);
    if (x == 0)
        return 0;
    *v = (int64_t)x - (t->cols[c].size == 2 ? 0x8000 : 0x80000000);
    return 1;
}

/* Columns are laid out one after the other; the stream must hold whole rows. */
static int table_layout(msi_table *t, size_t len, const char **why)
{
    size_t row = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        t->cols[c].start = row;
        row += t->cols[c].size;
    }
    if (len % row) {
        *why = "MSI table stream is not a whole number of rows";
        return -1;
    }
    t->rows = len / row;
    return 0;
}

static void table_free(msi_table *t)
{
    free(t->data);
    t->data = NULL;
}

/* Table name: its columns from _Columns (numbered 1..n without gaps), then
 * its stream. A table _Columns does not describe, or that has no stream
 * (a table without rows), is empty. */
static int table_load(msi_db *db, const char *name, msi_table *t, const char **why)
{
    memset(t, 0, sizeof *t);
    const msi_table *cols = &db->columns;
    unsigned have = 0; /* bit per column number */
    for (size_t r = 0; r < cols->rows; r++) {
        msi_view table;
        int64_t number, type;
        if (cell_str(db, cols, r, 0, &table, why) != 0)
            return -1;
        if (!view_is(table, name))
            continue;
        msi_view col_name;
        if (!cell_int(cols, r, 1, &number) || number < 1 || number > MAX_COLS || (have >> (number - 1) & 1) ||
            !cell_int(cols, r, 3, &type) || cell_str(db, cols, r, 2, &col_name, why) != 0) {
            *why = "MSI _Columns table malformed";
            return -1;
        }
        have |= 1u << (number - 1);
        msi_col *c = &t->cols[number - 1];
        c->name = cell(cols, r, 2);
        c->type = (unsigned)type & 0xffffu;
        c->size = col_size(c->type, db->ref);
        if ((size_t)number > t->n_cols)
            t->n_cols = (size_t)number;
    }
    if (t->n_cols == 0)
        return 0;
    if (have != (t->n_cols == 32 ? 0xffffffffu : (1u << t->n_cols) - 1)) {
        *why = "MSI _Columns table malformed";
        return -1;
    }
    long i = find_table(db, name);
    if (i < 0)
        return 0;
    size_t len = 0;
    if (read_table_stream(db, (size_t)i, MAX_TABLE, &t->data, &len, why) != 0)
        return -1;
    if (table_layout(t, len, why) != 0) {
        table_free(t);
        return -1;
    }
    t->present = 1;
    return 0;
}

/* The column named name, of kind kind, or -1. */
static int col_find(const msi_db *db, const msi_table *t, const char *name, int kind)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        msi_view v;
        const char *ignored;
        if (pool_view(db, t->cols[c].name, &v, &ignored) == 0 && view_is(v, name))
            return col_kind(t->cols[c].type) == kind ? (int)c : -1;
    }
    return -1;
}

/* Column indexes of a table the reader needs; missing ones make it
 * malformed (a present table whose standard columns are missing or of
 * another type). */
typedef struct col_spec {
    const char *name;
    int kind;
} col_spec;

static int cols_find(const msi_db *db, const msi_table *t, const col_spec *spec, size_t n, int *out,
                     const char **why)
{
    for (size_t i = 0; i < n; i++)
        if (t->present && (out[i] = col_find(db, t, spec[i].name, spec[i].kind)) < 0) {
            *why = "MSI table lacks a standard column, or has it with another type";
            return -1;
        }
    return 0;
}

static int is_system_table(const char *t)
{
    return !strcmp(t, "_StringPool") || !strcmp(t, "_StringData") || !strcmp(t, "_Columns") ||
           !strcmp(t, "_Tables");
}

/* Is child i a table Windows reads? */
static int is_table(const msi_db *db, size_t i)
{
    const msi_child *c = &db->children[i];
    if (!c->table)
        return 0;
    if (is_system_table(c->name + 1))
        return 1;
    msi_view key = {c->name + 1, strlen(c->name + 1)};
    return find(&key, db->tables, db->n_tables, sizeof *db->tables, view_qsort_cmp) != NULL;
}

static void db_close(msi_db *db)
{
    free(db->children);
    free(db->pool_raw);
    free(db->strings);
    free(db->pool);
    free(db->tables);
    table_free(&db->columns);
    if (db->ole)
        lg.g_object_unref(db->ole);
    memset(db, 0, sizeof *db);
}

int cs_msi_available(const char **why)
{
    return lg_load(why);
}

/* The compound file, its stream names, the string pool and _Columns. */
static int db_open(msi_db *db, const unsigned char *d, size_t n, const char **why)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    memset(db, 0, sizeof *db);
    if (!lg_load(why))
        return -1;
    pthread_once(&once, gsf_setup);
    db->budget = n;
    GsfInput *in = lg.gsf_input_memory_new(d, (gsf_off_t)n, FALSE);
    if (!in) {
        *why = "cannot read the MSI";
        return -1;
    }
    GError *gerr = NULL;
    db->ole = lg.gsf_infile_msole_new(in, &gerr);
    lg.g_object_unref(in); /* the infile holds its own reference */
    if (!db->ole) {
        lg.g_clear_error(&gerr);
        *why = "MSI: not a readable OLE compound file";
        return -1;
    }
    int count = lg.gsf_infile_num_children(db->ole);
    if (count > MAX_STREAMS) {
        *why = "MSI with more than 32768 streams";
        goto fail;
    }
    db->n_children = count > 0 ? (size_t)count : 0;
    if (!(db->children = calloc(db->n_children + 1, sizeof *db->children))) {
        *why = "out of memory";
        goto fail;
    }
    for (size_t i = 0; i < db->n_children; i++) {
        msi_child *c = &db->children[i];
        const char *raw = lg.gsf_infile_name_by_index(db->ole, (int)i);
        char canonical[NAME_CAP];
        c->raw = raw ? raw : "";
        c->table = decode_stream_name(c->raw, c->name, sizeof c->name) &&
                   encode_table_name(c->name + 1, canonical, sizeof canonical) == 0 && strcmp(canonical, c->raw) == 0;
    }
    long pool = find_table(db, "_StringPool"), strings = find_table(db, "_StringData");
    if ((pool >= 0 && read_table_stream(db, (size_t)pool, MAX_POOL, &db->pool_raw, &db->pool_len, why) != 0) ||
        (strings >= 0 && read_table_stream(db, (size_t)strings, MAX_DATA, &db->strings, &db->strings_len, why) != 0) ||
        parse_pool(db, why) != 0)
        goto fail;
    /* _Columns: Table (string), Number (i2), Name (string), Type (i2) */
    msi_table *cols = &db->columns;
    cols->n_cols = 4;
    for (size_t c = 0; c < 4; c++)
        cols->cols[c].size = c % 2 ? 2 : db->ref;
    long ci = find_table(db, "_Columns");
    size_t len = 0;
    if (ci >= 0 && (read_table_stream(db, (size_t)ci, MAX_TABLE, &cols->data, &len, why) != 0 ||
                    table_layout(cols, len, why) != 0))
        goto fail;
    /* the table names it describes, to tell tables from other streams */
    if (cols->rows && !(db->tables = malloc(cols->rows * sizeof *db->tables))) {
        *why = "out of memory";
        goto fail;
    }
    for (size_t r = 0; r < cols->rows; r++)
        if (cell_str(db, cols, r, 0, &db->tables[r], why) != 0)
            goto fail;
    if (cols->rows)
        qsort(db->tables, cols->rows, sizeof *db->tables, view_qsort_cmp);
    for (size_t r = 0; r < cols->rows; r++)
        if (db->n_tables == 0 || view_cmp(db->tables[db->n_tables - 1], db->tables[r]) != 0)
            db->tables[db->n_tables++] = db->tables[r];
    return 0;
fail:
    db_close(db);
    return -1;
}

/* ---- the product (Property table) ---- */

int cs_msi_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->source = "msi";
    msi_db db;
    if (db_open(&db, d, n, why) != 0)
        return -1;
    msi_table t;
    int rc = table_load(&db, "Property", &t, why), col[2];
    static const col_spec spec[] = {{"Property", COL_STRING}, {"Value", COL_STRING}};
    if (rc == 0 && (!db.pool_raw || !t.present))
        rc = -1, *why = "MSI without a string pool or Property table";
    if (rc == 0)
        rc = cols_find(&db, &t, spec, 2, col, why);
    for (size_t r = 0; rc == 0 && r < t.rows; r++) {
        msi_view key, val;
        if (cell_str(&db, &t, r, (size_t)col[0], &key, why) != 0 || cell_str(&db, &t, r, (size_t)col[1], &val, why) != 0) {
            rc = -1;
            break;
        }
        const char **slot = view_is(key, "ProductName")      ? &out->name
                            : view_is(key, "ProductVersion") ? &out->version
                            : view_is(key, "Manufacturer")   ? &out->company
                                                             : NULL;
        if (slot && !*slot)
            *slot = view_dup(&db, val, arena_alloc_fn, a);
    }
    table_free(&t);
    db_close(&db);
    return rc;
}

/* ---- the package: payload streams and install paths ---- */

/* The package's memory: chunks freed together by cs_msi_package_free.
 * Unlike cs_arena, an allocation that fails returns NULL, and the reader
 * "out of memory". */
struct cs_msi_chunk {
    struct cs_msi_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

static void *mem_alloc(void *ctx, size_t n)
{
    struct cs_msi_chunk **head = ctx, *c = *head;
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (!c || c->size - c->used < n) {
        size_t size = n > 8192 ? n : 8192;
        if (!(c = malloc(sizeof *c + size)))
            return NULL;
        c->size = size;
        c->used = 0;
        if (*head && n > 2048) { /* a big block on its own, behind the chunk still in use */
            c->next = (*head)->next;
            (*head)->next = c;
        } else {
            c->next = *head;
            *head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static void mem_free(struct cs_msi_chunk *c)
{
    while (c) {
        struct cs_msi_chunk *next = c->next;
        free(c);
        c = next;
    }
}

typedef struct media_row {
    int disk_id;
    int64_t last; /* LastSequence */
    msi_view cab; /* embedded cabinet's stream name (Cabinet after '#'); p NULL otherwise */
    const cs_msi_stream *stream;
} media_row;

typedef struct dir_row {
    msi_view key, parent, defdir;
    const char *path; /* resolved */
    size_t len;
    int state; /* 0 not yet, 1 resolving, 2 done */
    unsigned depth;
} dir_row;

typedef struct comp_row {
    msi_view key, dir;
} comp_row;

typedef struct msi_build {
    msi_db db;
    struct cs_msi_chunk *mem;
    int lazy;         /* streams are read later: keep the compound file */
    cs_msi_package *p;
    media_row *media; /* by LastSequence */
    media_row **cabs; /* the rows with embedded cabinets, by stream name */
    msi_view *binaries; /* Binary row names, sorted */
    size_t n_media, n_cabs, n_binaries;
    dir_row *dirs; /* by key */
    comp_row *comps; /* by key */
    size_t n_dirs, n_comps;
    size_t name_bytes, names_max;
    int names_full;
    const char **why;
} msi_build;

static int oom(msi_build *b)
{
    *b->why = b->names_full ? "MSI names and install paths too long in total" : "out of memory";
    return -1;
}

/* Memory for a name or path, within the package's budget, so that rows
 * naming one long string many times cannot multiply it. */
static void *name_alloc(void *ctx, size_t n)
{
    msi_build *b = ctx;
    if (n > b->names_max - b->name_bytes) {
        b->names_full = 1;
        return NULL;
    }
    b->name_bytes += n;
    return mem_alloc(&b->mem, n);
}

static int media_by_last(const void *a, const void *b)
{
    const media_row *x = a, *y = b;
    return x->last != y->last ? (x->last > y->last) - (x->last < y->last) : (x->disk_id > y->disk_id) - (x->disk_id < y->disk_id);
}

static int cab_by_name(const void *a, const void *b)
{
    const media_row *x = *(media_row *const *)a, *y = *(media_row *const *)b;
    int c = view_cmp(x->cab, y->cab);
    return c ? c : (x->disk_id > y->disk_id) - (x->disk_id < y->disk_id);
}

/* Media (DiskId, LastSequence, Cabinet) and Binary (Name). */
static int load_media_binary(msi_build *b)
{
    msi_db *db = &b->db;
    msi_table t;
    int col[3];
    static const col_spec media[] = {{"DiskId", COL_INT}, {"LastSequence", COL_INT}, {"Cabinet", COL_STRING}};
    if (table_load(db, "Media", &t, b->why) != 0)
        return -1;
    int rc = cols_find(db, &t, media, 3, col, b->why);
    if (rc == 0 && t.rows && (!(b->media = calloc(t.rows, sizeof *b->media)) ||
                              !(b->cabs = calloc(t.rows, sizeof *b->cabs))))
        rc = oom(b);
    for (size_t r = 0; rc == 0 && r < t.rows; r++) {
        media_row *m = &b->media[b->n_media++];
        int64_t v;
        msi_view cab;
        m->disk_id = cell_int(&t, r, (size_t)col[0], &v) ? (int)v : 0;
        m->last = cell_int(&t, r, (size_t)col[1], &v) ? v : INT64_MIN;
        rc = cell_str(db, &t, r, (size_t)col[2], &cab, b->why);
        if (rc == 0 && cab.len > 1 && cab.p[0] == '#')
            m->cab = (msi_view){cab.p + 1, cab.len - 1};
    }
    table_free(&t);
    if (rc != 0)
        return -1;
    if (b->n_media) {
        qsort(b->media, b->n_media, sizeof *b->media, media_by_last);
        for (size_t i = 0; i < b->n_media; i++)
            if (b->media[i].cab.p)
                b->cabs[b->n_cabs++] = &b->media[i];
        if (b->n_cabs)
            qsort(b->cabs, b->n_cabs, sizeof *b->cabs, cab_by_name);
    }

    static const col_spec binary[] = {{"Name", COL_STRING}};
    if (table_load(db, "Binary", &t, b->why) != 0)
        return -1;
    rc = cols_find(db, &t, binary, 1, col, b->why);
    if (rc == 0 && t.rows && !(b->binaries = calloc(t.rows, sizeof *b->binaries)))
        rc = oom(b);
    for (size_t r = 0; rc == 0 && r < t.rows; r++)
        rc = cell_str(db, &t, r, (size_t)col[0], &b->binaries[b->n_binaries++], b->why);
    table_free(&t);
    if (rc == 0 && b->n_binaries)
        qsort(b->binaries, b->n_binaries, sizeof *b->binaries, view_qsort_cmp);
    return rc;
}

/* The kind of stream name; *cab: the index in cabs of a Media row that
 * names it. */
static cs_msi_stream_kind classify(const msi_build *b, const char *name, const char **row, size_t *cab)
{
    msi_view v = {name, strlen(name)};
    size_t lo = 0, hi = b->n_cabs; /* the first row naming it (lowest DiskId) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (view_cmp(b->cabs[mid]->cab, v) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < b->n_cabs && view_cmp(b->cabs[lo]->cab, v) == 0) {
        *cab = lo;
        return CS_MSI_CABINET;
    }
    if (strncmp(name, "Binary.", 7) == 0) {
        msi_view r = {name + 7, v.len - 7};
        if (find(&r, b->binaries, b->n_binaries, sizeof *b->binaries, view_qsort_cmp)) {
            *row = name + 7;
            return CS_MSI_BINARY;
        }
    }
    if (!strcmp(name, "\005DigitalSignature") || !strcmp(name, "\005MsiDigitalSignatureEx"))
        return CS_MSI_SIGNATURE;
    if (!strcmp(name, "\005SummaryInformation") || !strcmp(name, "\005DocumentSummaryInformation"))
        return CS_MSI_SUMMARY;
    return CS_MSI_OTHER;
}

static char *mem_strdup(msi_build *b, const char *s)
{
    size_t n = strlen(s);
    char *c = mem_alloc(&b->mem, n + 1);
    if (c)
        memcpy(c, s, n + 1);
    return c;
}

/* Every stream that is not a table: classified, and read unless it is
 * over limit. */
static int load_streams(msi_build *b, uint64_t limit)
{
    msi_db *db = &b->db;
    cs_msi_package *p = b->p;
    if (!(p->streams = mem_alloc(&b->mem, (db->n_children + 1) * sizeof *p->streams)))
        return oom(b);
    for (size_t i = 0; i < db->n_children; i++) {
        if (is_table(db, i))
            continue;
        int storage, rc = 0;
        uint64_t size;
        GsfInput *child = child_open(db, i, &storage, &size, b->why);
        if (!child)
            return -1;
        if (storage) { /* embedded storages (nested packages, transforms) are no byte streams */
            lg.g_object_unref(child);
            continue;
        }
        cs_msi_stream *s = &p->streams[p->n_streams++];
        size_t cab;
        unsigned char *buf;
        memset(s, 0, sizeof *s);
        s->size = size;
        s->index = i;
        if (!(s->name = mem_strdup(b, db->children[i].name))) {
            rc = oom(b);
        } else {
            s->kind = classify(b, s->name, &s->row, &cab);
            if (s->kind == CS_MSI_CABINET) {
                msi_view s_cab = b->cabs[cab]->cab;
                s->disk_id = b->cabs[cab]->disk_id;
                /* the first stream of a name serves every Media row naming it */
                if (!b->cabs[cab]->stream)
                    for (size_t m = cab; m < b->n_cabs && view_cmp(b->cabs[m]->cab, s_cab) == 0; m++)
                        b->cabs[m]->stream = s;
            }
            if (b->lazy)
                ; /* read later, block by block (cs_msi_stream_open) */
            else if (size > limit)
                s->too_large = 1;
            else if (size > db->budget)
                *b->why = "MSI: its streams add up to more than the file", rc = -1;
            else if (!(buf = mem_alloc(&b->mem, size ? (size_t)size : 1)))
                rc = oom(b);
            else if ((rc = child_read(db, child, size, buf, b->why)) == 0)
                s->data = buf;
        }
        lg.g_object_unref(child);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Directories Windows Installer sets from the property of the same name,
 * wherever the Directory table puts them. */
static const char *const system_folders[] = {
    "AdminToolsFolder",     "AppDataFolder",       "CommonAppDataFolder",  "CommonFiles64Folder",
    "CommonFiles6432Folder", "CommonFilesFolder",  "DesktopFolder",        "FavoritesFolder",
    "FontsFolder",          "LocalAppDataFolder",  "MyPicturesFolder",     "NetHoodFolder",
    "PersonalFolder",       "PrintHoodFolder",     "ProgramFiles64Folder", "ProgramFiles6432Folder",
    "ProgramFilesFolder",   "ProgramMenuFolder",   "RecentFolder",         "SendToFolder",
    "StartMenuFolder",      "StartupFolder",       "System16Folder",       "System64Folder",
    "System6432Folder",     "SystemFolder",        "TempFolder",           "TemplateFolder",
    "WindowsFolder",        "WindowsVolume",
};

static int is_system_folder(msi_view v)
{
    for (size_t i = 0; i < sizeof system_folders / sizeof *system_folders; i++)
        if (view_is(v, system_folders[i]))
            return 1;
    return 0;
}

/* "short|long" -> long. */
static msi_view long_name(msi_view v)
{
    const char *bar = v.p ? memchr(v.p, '|', v.len) : NULL;
    if (bar) {
        v.len -= (size_t)(bar + 1 - v.p);
        v.p = bar + 1;
    }
    if (v.len == 0)
        v.p = NULL;
    return v;
}

/* DefaultDir "[short|]long[:[short|]long]" -> the long target name. */
static msi_view dir_target(msi_view v)
{
    const char *colon = v.p ? memchr(v.p, ':', v.len) : NULL;
    if (colon)
        v.len = (size_t)(colon - v.p);
    return long_name(v);
}

/* parent, '/', and comp (UTF-8) made safe to join below a directory:
 * '/', '\' and control characters become '_', and so does every dot of a
 * name made of dots only; an empty name adds nothing. In the package's
 * memory. */
static int join(msi_build *b, const char *parent, size_t plen, const char *comp, const char **out, size_t *out_len)
{
    size_t clen = comp ? strlen(comp) : 0, len = plen + (plen && clen) + clen;
    char *s = len < SIZE_MAX ? name_alloc(b, len + 1) : NULL;
    if (!s)
        return oom(b);
    memcpy(s, parent, plen);
    size_t k = plen + (plen && clen);
    if (plen && clen)
        s[plen] = '/';
    int dots = 1;
    for (size_t i = 0; i < clen; i++) {
        unsigned char c = (unsigned char)comp[i];
        s[k + i] = c == '/' || c == '\\' || c < 0x20 || c == 0x7f ? '_' : (char)c;
        dots &= c == '.';
    }
    if (dots)
        memset(s + k, '_', clen);
    s[len] = '\0';
    *out = s;
    *out_len = len;
    return 0;
}

static int dir_by_key(const void *a, const void *b)
{
    return view_cmp(((const dir_row *)a)->key, ((const dir_row *)b)->key);
}

static int comp_by_key(const void *a, const void *b)
{
    return view_cmp(((const comp_row *)a)->key, ((const comp_row *)b)->key);
}

static int dir_resolve(msi_build *b, dir_row *d, unsigned hops)
{
    if (d->state == 2)
        return 0;
    if (d->state == 1) {
        *b->why = "MSI Directory parents form a cycle";
        return -1;
    }
    if (hops > MAX_DEPTH) {
        *b->why = "MSI Directory tree deeper than 64 levels";
        return -1;
    }
    d->state = 1;
    msi_view target = dir_target(d->defdir), comp = target, none = {NULL, 0};
    dir_row *parent = NULL;
    if (is_system_folder(d->key)) {
        comp = d->key;
    } else if (!d->parent.p || view_cmp(d->parent, d->key) == 0) { /* a root */
        int source = view_is(d->key, "TARGETDIR") || view_is(target, "SourceDir") || view_is(target, "SOURCEDIR");
        comp = source ? none : d->key;
    } else {
        dir_row key = {.key = d->parent};
        if (!(parent = find(&key, b->dirs, b->n_dirs, sizeof *b->dirs, dir_by_key))) {
            *b->why = "MSI Directory row names a missing parent";
            return -1;
        }
        if (dir_resolve(b, parent, hops + 1) != 0)
            return -1;
        if (view_is(target, "."))
            comp = none;
    }
    d->depth = parent ? parent->depth + 1 : 1;
    if (d->depth > MAX_DEPTH) {
        *b->why = "MSI Directory tree deeper than 64 levels";
        return -1;
    }
    char *name = view_dup(&b->db, comp, name_alloc, b);
    if (comp.p && !name)
        return oom(b);
    if (join(b, parent ? parent->path : "", parent ? parent->len : 0, name, &d->path, &d->len) != 0)
        return -1;
    d->state = 2;
    return 0;
}

/* Rows of a table as views, sorted by their first column, which must be
 * a distinct, non-null key. */
static int dup_keys(msi_build *b, const void *rows, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    for (size_t i = 0; i < n; i++) {
        const char *row = (const char *)rows + i * size;
        if (!((const msi_view *)row)->p || (i && cmp(row - size, row) == 0)) {
            *b->why = "MSI table with a null or duplicate key";
            return -1;
        }
    }
    return 0;
}

static int load_dirs_comps(msi_build *b)
{
    msi_db *db = &b->db;
    msi_table t;
    int col[3], rc;
    static const col_spec dspec[] = {{"Directory", COL_STRING}, {"Directory_Parent", COL_STRING}, {"DefaultDir", COL_STRING}};
    if (table_load(db, "Directory", &t, b->why) != 0)
        return -1;
    rc = cols_find(db, &t, dspec, 3, col, b->why);
    if (rc == 0 && t.rows && !(b->dirs = calloc(t.rows, sizeof *b->dirs)))
        rc = oom(b);
    for (size_t r = 0; rc == 0 && r < t.rows; r++, b->n_dirs++) {
        dir_row *d = &b->dirs[r];
        rc = cell_str(db, &t, r, (size_t)col[0], &d->key, b->why) || cell_str(db, &t, r, (size_t)col[1], &d->parent, b->why) ||
             cell_str(db, &t, r, (size_t)col[2], &d->defdir, b->why) ? -1 : 0;
    }
    table_free(&t);
    if (rc != 0)
        return -1;
    if (b->n_dirs)
        qsort(b->dirs, b->n_dirs, sizeof *b->dirs, dir_by_key);
    if (dup_keys(b, b->dirs, b->n_dirs, sizeof *b->dirs, dir_by_key) != 0)
        return -1;

    static const col_spec cspec[] = {{"Component", COL_STRING}, {"Directory_", COL_STRING}};
    if (table_load(db, "Component", &t, b->why) != 0)
        return -1;
    rc = cols_find(db, &t, cspec, 2, col, b->why);
    if (rc == 0 && t.rows && !(b->comps = calloc(t.rows, sizeof *b->comps)))
        rc = oom(b);
    for (size_t r = 0; rc == 0 && r < t.rows; r++, b->n_comps++) {
        comp_row *c = &b->comps[r];
        rc = cell_str(db, &t, r, (size_t)col[0], &c->key, b->why) || cell_str(db, &t, r, (size_t)col[1], &c->dir, b->why)
                 ? -1
                 : 0;
    }
    table_free(&t);
    if (rc != 0)
        return -1;
    if (b->n_comps)
        qsort(b->comps, b->n_comps, sizeof *b->comps, comp_by_key);
    return dup_keys(b, b->comps, b->n_comps, sizeof *b->comps, comp_by_key);
}

static int file_by_key(const void *a, const void *b)
{
    return strcmp(((const cs_msi_file *)a)->key, ((const cs_msi_file *)b)->key);
}

/* The embedded cabinet of the Media row whose LastSequence is the first
 * at or after seq. */
static const cs_msi_stream *cabinet_of(const msi_build *b, int64_t seq)
{
    size_t lo = 0, hi = b->n_media;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->media[mid].last < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->n_media ? b->media[lo].stream : NULL;
}

/* One File row: its strings, its component's directory, its path. */
static int file_row(msi_build *b, const msi_table *t, size_t r, const int *col, cs_msi_file *f)
{
    msi_db *db = &b->db;
    msi_view key, comp, name;
    int64_t v;
    if (cell_str(db, t, r, (size_t)col[0], &key, b->why) != 0 || cell_str(db, t, r, (size_t)col[1], &comp, b->why) != 0 ||
        cell_str(db, t, r, (size_t)col[2], &name, b->why) != 0)
        return -1;
    if (!key.p) {
        *b->why = "MSI table with a null or duplicate key";
        return -1;
    }
    name = long_name(name);
    f->key = view_dup(db, key, name_alloc, b);
    f->component = view_dup(db, comp, name_alloc, b);
    f->name = view_dup(db, name.p ? name : key, name_alloc, b);
    if (!f->key || (comp.p && !f->component) || !f->name)
        return oom(b);
    if (!f->name[0]) /* bytes that start with NUL: a file is never its directory */
        f->name = f->key[0] ? f->key : "_";
    f->size = cell_int(t, r, (size_t)col[3], &v) ? v : -1;
    f->sequence = cell_int(t, r, (size_t)col[4], &v) ? v : -1;
    if (f->sequence >= 0)
        f->cabinet = cabinet_of(b, f->sequence);
    comp_row ck = {.key = comp};
    const comp_row *c = find(&ck, b->comps, b->n_comps, sizeof *b->comps, comp_by_key);
    if (!c) {
        *b->why = "MSI File row names a missing component";
        return -1;
    }
    dir_row dk = {.key = c->dir};
    dir_row *d = find(&dk, b->dirs, b->n_dirs, sizeof *b->dirs, dir_by_key);
    if (!d) {
        *b->why = "MSI Component row names a missing directory";
        return -1;
    }
    size_t len;
    if (dir_resolve(b, d, 0) != 0 || join(b, d->path, d->len, f->name, &f->path, &len) != 0)
        return -1;
    return 0;
}

static int load_files(msi_build *b)
{
    msi_db *db = &b->db;
    cs_msi_package *p = b->p;
    msi_table t;
    int col[5], rc;
    static const col_spec fspec[] = {{"File", COL_STRING},
                                     {"Component_", COL_STRING},
                                     {"FileName", COL_STRING},
                                     {"FileSize", COL_INT},
                                     {"Sequence", COL_INT}};
    if (table_load(db, "File", &t, b->why) != 0)
        return -1;
    rc = cols_find(db, &t, fspec, 5, col, b->why);
    if (rc == 0 && t.rows) {
        rc = load_dirs_comps(b);
        if (rc == 0 && !(p->files = mem_alloc(&b->mem, t.rows * sizeof *p->files)))
            rc = oom(b);
    }
    for (size_t r = 0; rc == 0 && r < t.rows; r++) {
        cs_msi_file *f = &p->files[p->n_files++];
        memset(f, 0, sizeof *f);
        rc = file_row(b, &t, r, col, f);
    }
    table_free(&t);
    if (rc != 0)
        return -1;
    if (p->n_files)
        qsort(p->files, p->n_files, sizeof *p->files, file_by_key);
    for (size_t i = 1; i < p->n_files; i++)
        if (strcmp(p->files[i - 1].key, p->files[i].key) == 0) {
            *b->why = "MSI table with a null or duplicate key";
            return -1;
        }
    return 0;
}

static int open_package(const unsigned char *d, size_t n, uint64_t stream_limit, int lazy, cs_msi_package **out,
                        const char **why)
{
    *out = NULL;
    msi_build b;
    memset(&b, 0, sizeof b);
    b.why = why;
    b.lazy = lazy;
    b.names_max = n < (MAX_NAMES - NAMES_BASE) / NAMES_PER_BYTE ? NAMES_BASE + NAMES_PER_BYTE * n : MAX_NAMES;
    msi_db *db = lazy ? calloc(1, sizeof *db) : &b.db;
    if (!db) {
        *why = "out of memory";
        return -1;
    }
    if (db_open(db, d, n, why) != 0) {
        if (lazy)
            free(db);
        return -1;
    }
    if (lazy)
        b.db = *db; /* the build reads through b.db; the package keeps the copy */
    int rc = -1;
    if (!(b.p = mem_alloc(&b.mem, sizeof *b.p))) {
        oom(&b);
    } else {
        memset(b.p, 0, sizeof *b.p);
        rc = load_media_binary(&b) == 0 && load_streams(&b, stream_limit) == 0 ? 0 : -1;
        if (rc == 0 && load_files(&b) != 0) {
            if (!lazy) {
                rc = -1;
            } else { /* the streams are still worth reading; names are lost */
                b.p->names_error = *why;
                b.p->files = NULL;
                b.p->n_files = 0;
            }
        }
    }
    free(b.media);
    free(b.cabs);
    free(b.binaries);
    free(b.dirs);
    free(b.comps);
    if (lazy) {
        *db = b.db;
        if (rc != 0) {
            db_close(db);
            free(db);
        }
    } else {
        db_close(&b.db);
    }
    if (rc != 0) {
        mem_free(b.mem);
        return -1;
    }
    b.p->mem = b.mem;
    b.p->db = lazy ? db : NULL;
    *out = b.p;
    return 0;
}

int cs_msi_open(const unsigned char *d, size_t n, uint64_t stream_limit, cs_msi_package **out, const char **why)
{
    return open_package(d, n, stream_limit, 0, out, why);
}

int cs_msi_open_lazy(const unsigned char *d, size_t n, cs_msi_package **out, const char **why)
{
    return open_package(d, n, UINT64_MAX, 1, out, why);
}

#define MSI_BLOCK (1u << 20)

struct cs_msi_reader {
    GsfInput *in;
    uint64_t left;
};

cs_msi_reader *cs_msi_stream_open(cs_msi_package *p, const cs_msi_stream *s, const char **why)
{
    if (!p->db || s->index >= p->db->n_children) {
        *why = "MSI: package not opened for reading streams";
        return NULL;
    }
    int storage;
    uint64_t size;
    GsfInput *child = child_open(p->db, s->index, &storage, &size, why);
    if (!child)
        return NULL;
    if (size > p->db->budget) { /* streams sharing sectors would read the file many times over */
        lg.g_object_unref(child);
        *why = "MSI: its streams add up to more than the file";
        return NULL;
    }
    p->db->budget -= size;
    cs_msi_reader *r = calloc(1, sizeof *r);
    if (!r) {
        lg.g_object_unref(child);
        *why = "out of memory";
        return NULL;
    }
    r->in = child;
    r->left = size;
    return r;
}

long cs_msi_stream_next(cs_msi_reader *r, const unsigned char **block, const char **why)
{
    if (r->left == 0)
        return 0;
    size_t n = r->left < MSI_BLOCK ? (size_t)r->left : MSI_BLOCK;
    /* libgsf hands out its own buffer (or the mapped bytes) when given none */
    const guint8 *p = lg.gsf_input_read(r->in, n, NULL);
    if (!p) {
        *why = "MSI: a stream cannot be read";
        return -1;
    }
    r->left -= n;
    *block = p;
    return (long)n;
}

void cs_msi_stream_close(cs_msi_reader *r)
{
    if (!r)
        return;
    lg.g_object_unref(r->in);
    free(r);
}

const cs_msi_file *cs_msi_file_by_key(const cs_msi_package *p, const char *key)
{
    if (!p || !key)
        return NULL;
    cs_msi_file k = {.key = key};
    return find(&k, p->files, p->n_files, sizeof *p->files, file_by_key);
}

const char *cs_msi_path(const cs_msi_package *p, const char *key)
{
    const cs_msi_file *f = cs_msi_file_by_key(p, key);
    return f ? f->path : NULL;
}

void cs_msi_package_free(cs_msi_package *p)
{
    if (!p)
        return;
    msi_db *db = p->db;
    mem_free(p->mem); /* p lives in it too */
    if (db) {
        db_close(db);
        free(db);
    }
}

const char *cs_msi_stream_kind_name(cs_msi_stream_kind kind)
{
    switch (kind) {
    case CS_MSI_CABINET:
        return "cabinet";
    case CS_MSI_BINARY:
        return "binary";
    case CS_MSI_SIGNATURE:
        return "signature";
    case CS_MSI_SUMMARY:
        return "summary";
    default:
        return "other";
    }
}
