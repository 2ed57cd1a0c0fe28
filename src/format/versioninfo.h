/* PE version information: the VS_VERSIONINFO resource (RT_VERSION), its
 * VS_FIXEDFILEINFO and the StringFileInfo tables of every language. */
#ifndef CS_FORMAT_VERSIONINFO_H
#define CS_FORMAT_VERSIONINFO_H

#include <stddef.h>

#include "chainsweep/chainsweep.h"
#include "format/pe.h"
#include "util/util.h"

#define CS_PE_RT_VERSION 16

/* The StringFileInfo keys read, and where each lands in a string table. */
typedef struct cs_vi_field {
    const char *key;           /* "CompanyName" */
    size_t offset;             /* of the const char * in cs_product_strings */
} cs_vi_field;
extern const cs_vi_field cs_vi_fields[];
extern const size_t cs_vi_field_count;

/* The field at offset (offsetof(cs_product_strings, ...)) of a table. */
static inline const char *cs_product_strings_at(const cs_product_strings *t, size_t offset)
{
    return *(const char *const *)((const char *)t + offset);
}

static inline const char *cs_vi_field_value(const cs_product_strings *t, const cs_vi_field *f)
{
    return cs_product_strings_at(t, f->offset);
}

/* Parse one VS_VERSIONINFO block of n bytes. Strings go to the arena; the
 * product's primary fields come from the US English table when there is
 * one, else the first. 0 on success; -1 with *why on malformed data (out
 * then holds whatever was read before the fault). */
int cs_versioninfo_parse(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why);

/* The version information of a PE: 1 found and parsed, 0 none, -1
 * malformed (with *why). */
int cs_pe_version_info(const cs_pe *pe, cs_arena *a, cs_product *out, const char **why);

#endif
