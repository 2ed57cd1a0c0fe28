#include "format/macho.h"

#include <stdio.h>
#include <string.h>

#define FAT_MAGIC 0xcafebabeu
#define FAT_MAGIC_64 0xcafebabfu
#define CPU_ARCH_ABI64 0x01000000
#define CPU_ARCH_ABI64_32 0x02000000

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

void cs_macho_arch_name(int32_t cputype, int32_t cpusubtype, char *out, size_t n)
{
    int32_t sub = cpusubtype & 0x00ffffff; /* the high byte holds capability bits */
    const char *name = NULL;
    switch (cputype) {
    case 7: name = "i386"; break;
    case 7 | CPU_ARCH_ABI64: name = sub == 8 ? "x86_64h" : "x86_64"; break;
    case 12:
        name = sub == 9 ? "armv7" : sub == 11 ? "armv7s" : sub == 12 ? "armv7k" : sub == 6 ? "armv6" : "arm";
        break;
    case 12 | CPU_ARCH_ABI64: name = sub == 2 ? "arm64e" : "arm64"; break;
    case 12 | CPU_ARCH_ABI64_32: name = "arm64_32"; break;
    case 18: name = "ppc"; break;
    case 18 | CPU_ARCH_ABI64: name = "ppc64"; break;
    default: break;
    }
    if (name)
        snprintf(out, n, "%s", name);
    else
        snprintf(out, n, "cpu-%d-%d", cputype, sub);
}

static int fat_header(const unsigned char *d, size_t n, int *is64, uint32_t *count)
{
    if (n < 8)
        return -1;
    uint32_t magic = be32(d);
    if (magic != FAT_MAGIC && magic != FAT_MAGIC_64)
        return -1;
    *is64 = magic == FAT_MAGIC_64;
    *count = be32(d + 4);
    /* a Java class has its version here: major >= 45 makes the count huge */
    if (*count == 0 || *count > CS_MACHO_FAT_MAX)
        return -1;
    return 0;
}

int cs_macho_fat_slices(const unsigned char *d, size_t n, cs_macho_slice *out, size_t cap, const char **why)
{
    int is64;
    uint32_t count;
    if (fat_header(d, n, &is64, &count) != 0) {
        *why = "not a universal Mach-O header";
        return -1;
    }
    size_t entry = is64 ? 32 : 20, table_end = 8 + (size_t)count * entry;
    if (table_end > n) {
        *why = "universal Mach-O: the architecture table runs past the end of the file";
        return -1;
    }
    if (count > cap) {
        *why = "universal Mach-O: too many architectures";
        return -1;
    }
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *a = d + 8 + (size_t)i * entry;
        cs_macho_slice *s = &out[i];
        s->cputype = (int32_t)be32(a);
        s->cpusubtype = (int32_t)be32(a + 4);
        s->offset = is64 ? be64(a + 8) : be32(a + 8);
        s->size = is64 ? be64(a + 16) : be32(a + 12);
        s->align = be32(a + (is64 ? 24 : 16));
        if (s->offset < table_end || s->offset > n || s->size > n - s->offset) {
            *why = "universal Mach-O: a slice lies outside the file";
            return -1;
        }
        for (uint32_t k = 0; k < i; k++)
            if (s->offset < out[k].offset + out[k].size && out[k].offset < s->offset + s->size && s->size &&
                out[k].size) {
                *why = "universal Mach-O: two slices overlap";
                return -1;
            }
        cs_macho_arch_name(s->cputype, s->cpusubtype, s->arch, sizeof s->arch);
        int same = 1; /* lipo refuses two slices of one architecture; a hostile file may not */
        for (uint32_t k = 0; k < i; k++)
            same += out[k].cputype == s->cputype && (out[k].cpusubtype & 0x00ffffff) == (s->cpusubtype & 0x00ffffff);
        if (same > 1) {
            char base[sizeof s->arch];
            memcpy(base, s->arch, sizeof base);
            snprintf(s->arch, sizeof s->arch, "%.20s#%u", base, (unsigned)same % 100u);
        }
    }
    return (int)count;
}

int cs_macho_is_fat(const unsigned char *d, size_t n)
{
    int is64;
    uint32_t count;
    return fat_header(d, n, &is64, &count) == 0; /* a truncated table is damage to report, not another format */
}
