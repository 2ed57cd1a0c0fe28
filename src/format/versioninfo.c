/* VS_VERSIONINFO: a tree of blocks, each { u16 wLength; u16 wValueLength;
 * u16 wType; UTF-16LE key, NUL; pad to 4; value; pad to 4; children },
 * offsets relative to the resource start. Every length comes from the
 * file, so each block is checked against its parent before use. */
#include "format/versioninfo.h"

#include <stdio.h>
#include <string.h>

#define VS_FIXED_SIGNATURE 0xFEEF04BDu
#define MAX_TABLES 64 /* wine's kernel32.dll has 36 languages */
#define MAX_STRING_CHARS 1024

typedef struct vi_block {
    size_t start, end;          /* [start, end): the whole block */
    size_t key, key_chars;      /* UTF-16 key without its NUL */
    size_t value, value_len;    /* value bytes as stated (may be clipped) */
    size_t children;            /* first child, 4-aligned */
    unsigned type;
} vi_block;

static size_t align4(size_t x)
{
    return (x + 3) & ~(size_t)3;
}

/* The block at off, inside [off, limit). */
static int read_block(const unsigned char *d, size_t off, size_t limit, vi_block *b, const char **why)
{
    if (off + 6 > limit) {
        *why = "version info block header out of bounds";
        return -1;
    }
    size_t len = cs_rd16le(d + off);
    if (len < 6 || off + len > limit) {
        *why = "version info block length out of bounds";
        return -1;
    }
    b->start = off;
    b->end = off + len;
    size_t value_len = cs_rd16le(d + off + 2);
    b->type = cs_rd16le(d + off + 4);
    b->key = off + 6;
    size_t p = b->key;
    while (p + 2 <= b->end && (d[p] | d[p + 1]))
        p += 2;
    if (p + 2 > b->end) {
        *why = "version info key not terminated";
        return -1;
    }
    b->key_chars = (p - b->key) / 2;
    b->value = align4(p + 2);
    if (b->value > b->end)
        b->value = b->end;
    /* text values count UTF-16 units, binary ones bytes */
    size_t vbytes = b->type == 1 ? value_len * 2 : value_len;
    if (vbytes > b->end - b->value)
        vbytes = b->end - b->value; /* clipped: some linkers overstate it */
    b->value_len = vbytes;
    b->children = align4(b->value + vbytes);
    if (b->children > b->end)
        b->children = b->end;
    return 0;
}

static int key_is(const unsigned char *d, const vi_block *b, const char *ascii)
{
    size_t n = strlen(ascii);
    if (b->key_chars != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (cs_rd16le(d + b->key + 2 * i) != (unsigned char)ascii[i])
            return 0;
    return 1;
}

/* UTF-16LE [p, end) up to a NUL, as UTF-8 in the arena. Unpaired
 * surrogates become U+FFFD; control characters become spaces. */
static char *utf16_to_utf8(const unsigned char *d, size_t p, size_t end, cs_arena *a)
{
    cs_buf b = {0};
    size_t chars = 0;
    while (p + 2 <= end && chars++ < MAX_STRING_CHARS) {
        unsigned long c = cs_rd16le(d + p);
        p += 2;
        if (c == 0)
            break;
        if (c >= 0xD800 && c < 0xDC00 && p + 2 <= end) {
            unsigned long lo = cs_rd16le(d + p);
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                p += 2;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xD800 && c < 0xE000) {
            c = 0xFFFD;
        }
        unsigned char u[4];
        size_t n;
        if (c < 0x20 || c == 0x7f)
            u[0] = ' ', n = 1;
        else if (c < 0x80)
            u[0] = (unsigned char)c, n = 1;
        else if (c < 0x800)
            u[0] = (unsigned char)(0xC0 | c >> 6), u[1] = (unsigned char)(0x80 | (c & 0x3F)), n = 2;
        else if (c < 0x10000)
            u[0] = (unsigned char)(0xE0 | c >> 12), u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)),
            u[2] = (unsigned char)(0x80 | (c & 0x3F)), n = 3;
        else
            u[0] = (unsigned char)(0xF0 | c >> 18), u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F)),
            u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)), u[3] = (unsigned char)(0x80 | (c & 0x3F)), n = 4;
        cs_buf_append(&b, u, n);
    }
    /* trailing spaces carry no meaning in these fields */
    while (b.len && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    char *s = b.len ? cs_arena_strdup(a, b.data) : NULL;
    cs_buf_free(&b);
    return s;
}

const cs_vi_field cs_vi_fields[] = {
    {"CompanyName", offsetof(cs_product_strings, company)},
    {"ProductName", offsetof(cs_product_strings, product)},
    {"FileDescription", offsetof(cs_product_strings, description)},
    {"FileVersion", offsetof(cs_product_strings, file_version)},
    {"ProductVersion", offsetof(cs_product_strings, product_version)},
    {"OriginalFilename", offsetof(cs_product_strings, original_filename)},
    {"InternalName", offsetof(cs_product_strings, internal_name)},
    {"LegalCopyright", offsetof(cs_product_strings, copyright)},
};
const size_t cs_vi_field_count = sizeof cs_vi_fields / sizeof *cs_vi_fields;

static void read_string(const unsigned char *d, const vi_block *s, cs_arena *a, cs_product_strings *t)
{
    for (size_t i = 0; i < cs_vi_field_count; i++) {
        if (!key_is(d, s, cs_vi_fields[i].key))
            continue;
        const char **slot = (const char **)((char *)t + cs_vi_fields[i].offset);
        if (!*slot) /* the value runs to the block's end whatever wValueLength says */
            *slot = utf16_to_utf8(d, s->value, s->end, a);
        return;
    }
}

/* Children of parent, in order; fn returns nonzero to fail. */
typedef int (*vi_child_fn)(const unsigned char *d, const vi_block *child, void *ud, const char **why);

static int each_child(const unsigned char *d, const vi_block *parent, vi_child_fn fn, void *ud, const char **why)
{
    size_t off = parent->children;
    while (off + 6 <= parent->end) {
        if (cs_rd16le(d + off) == 0) { /* zero padding between blocks */
            off += 2;
            continue;
        }
        vi_block c;
        if (read_block(d, off, parent->end, &c, why) != 0 || fn(d, &c, ud, why) != 0)
            return -1;
        off = align4(c.end);
    }
    return 0;
}

typedef struct vi_ctx {
    cs_arena *a;
    cs_product_strings tables[MAX_TABLES];
    size_t n;
} vi_ctx;

static int on_string(const unsigned char *d, const vi_block *s, void *ud, const char **why)
{
    (void)why;
    vi_ctx *c = ud;
    read_string(d, s, c->a, &c->tables[c->n - 1]);
    return 0;
}

static int on_table(const unsigned char *d, const vi_block *t, void *ud, const char **why)
{
    vi_ctx *c = ud;
    if (c->n == MAX_TABLES)
        return 0;
    cs_product_strings *st = &c->tables[c->n++];
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < 8 && i < t->key_chars; i++) {
        unsigned ch = cs_rd16le(d + t->key + 2 * i);
        st->lang[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    return each_child(d, t, on_string, c, why);
}

static int on_top(const unsigned char *d, const vi_block *b, void *ud, const char **why)
{
    if (key_is(d, b, "StringFileInfo"))
        return each_child(d, b, on_table, ud, why);
    return 0; /* VarFileInfo and anything else */
}

static void fixed_version(char *out, size_t n, uint32_t ms, uint32_t ls)
{
    snprintf(out, n, "%u.%u.%u.%u", (unsigned)(ms >> 16), (unsigned)(ms & 0xffff), (unsigned)(ls >> 16),
             (unsigned)(ls & 0xffff));
}

static int lang_is_us_english(const char *lang)
{
    return strncmp(lang, "0409", 4) == 0;
}

/* Append the string tables and (the first) fixed versions of one
 * VS_VERSIONINFO block to c. */
static int parse_block(const unsigned char *d, size_t n, vi_ctx *c, cs_product *out, const char **why)
{
    vi_block root;
    if (read_block(d, 0, n, &root, why) != 0)
        return -1;
    if (!key_is(d, &root, "VS_VERSION_INFO")) {
        *why = "version info does not start with VS_VERSION_INFO";
        return -1;
    }
    if (!out->fixed_file_version[0] && root.value_len >= 52 && cs_rd32le(d + root.value) == VS_FIXED_SIGNATURE) {
        const unsigned char *v = d + root.value;
        fixed_version(out->fixed_file_version, sizeof out->fixed_file_version, cs_rd32le(v + 8), cs_rd32le(v + 12));
        fixed_version(out->fixed_product_version, sizeof out->fixed_product_version, cs_rd32le(v + 16),
                      cs_rd32le(v + 20));
    }
    return each_child(d, &root, on_top, c, why);
}

/* The product's fields from its tables: US English first, else the first. */
static void finish_product(vi_ctx *c, cs_product *out)
{
    cs_product_strings *t = c->n ? cs_arena_memdup(c->a, c->tables, c->n * sizeof *t) : NULL;
    if (t) {
        out->tables = t;
        out->n_tables = c->n;
        for (size_t i = 1; i < c->n; i++)
            if (lang_is_us_english(t[i].lang) && !lang_is_us_english(t[0].lang)) {
                cs_product_strings tmp = t[0];
                t[0] = t[i];
                t[i] = tmp;
            }
        out->name = t[0].product;
        out->company = t[0].company;
        out->description = t[0].description;
        out->file_version = t[0].file_version;
        out->original_filename = t[0].original_filename;
        out->version = t[0].product_version;
    }
    /* copies, not pointers into *out: products are copied by value */
    if (!out->version && out->fixed_product_version[0])
        out->version = cs_arena_strdup(c->a, out->fixed_product_version);
    if (!out->file_version && out->fixed_file_version[0])
        out->file_version = cs_arena_strdup(c->a, out->fixed_file_version);
    if (!out->version)
        out->version = out->file_version;
}

static void start_product(vi_ctx *c, cs_arena *a, cs_product *out)
{
    memset(c, 0, sizeof *c);
    c->a = a;
    memset(out, 0, sizeof *out);
    out->source = "pe-version-info";
}

int cs_versioninfo_parse(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why)
{
    vi_ctx c;
    start_product(&c, a, out);
    int rc = parse_block(d, n, &c, out, why);
    finish_product(&c, out);
    return rc;
}

/* Every RT_VERSION leaf: some files (wine's) carry one VS_VERSIONINFO per
 * language rather than one with many tables. */
typedef struct version_leaves {
    const cs_pe *pe;
    vi_ctx *c;
    cs_product *out;
    int parsed, failed;
    const char *why;
} version_leaves;

static int on_version_resource(void *ud, int32_t name_id, uint32_t lang, size_t offset, size_t size)
{
    (void)name_id;
    (void)lang;
    version_leaves *v = ud;
    const char *why = NULL;
    if (parse_block(v->pe->data + offset, size, v->c, v->out, &why) == 0) {
        v->parsed++;
    } else if (!v->failed++) {
        v->why = why;
    }
    return v->c->n == MAX_TABLES;
}

int cs_pe_version_info(const cs_pe *pe, cs_arena *a, cs_product *out, const char **why)
{
    vi_ctx c;
    start_product(&c, a, out);
    version_leaves v = {pe, &c, out, 0, 0, NULL};
    int found = cs_pe_resources(pe, CS_PE_RT_VERSION, on_version_resource, &v);
    finish_product(&c, out);
    if (found < 0) {
        *why = "resource directory malformed";
        return -1;
    }
    if (v.failed) {
        *why = v.why;
        return -1;
    }
    return found > 0 ? 1 : 0;
}
