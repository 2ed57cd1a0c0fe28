/* Universal Mach-O files: each architecture's slice is a member of its
 * own ("[arm64]"), a range of the file without a copy, so every later
 * layer sees thin Mach-O files. */
#include "format/macho.h"
#include "unpack/unpack.h"

#include <stdio.h>

static const char *fat_claims(const cs_file *f)
{
    return f->data && cs_macho_is_fat(f->data, f->size) ? "MACH-O-UNIVERSAL" : NULL;
}

static cs_status fat_iterate(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err)
{
    (void)format;
    (void)err;
    cs_macho_slice s[CS_MACHO_FAT_MAX];
    const char *why = NULL;
    int n = cs_macho_fat_slices(f->data, f->size, s, CS_MACHO_FAT_MAX, &why);
    if (n < 0) {
        cs_unpack_fail(c, why);
        return CS_OK;
    }
    for (int i = 0; i < n && cs_unpack_more(c); i++) {
        char name[32];
        snprintf(name, sizeof name, "[%s]", s[i].arch);
        cs_member_info mi = {0};
        mi.name = name;
        mi.size = s[i].size;
        cs_unpack_range(c, &mi, s[i].offset, s[i].size);
    }
    return CS_OK;
}

const cs_unpacker_ops cs_unpacker_macho_fat = {"macho-fat", fat_claims, fat_iterate, NULL};
