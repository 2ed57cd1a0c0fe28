/* Mach-O containers: the universal ("fat") header that holds one thin
 * Mach-O per architecture, 32-bit (0xcafebabe) and 64-bit (0xcafebabf)
 * forms. Thin files are the Mach-O parser's (the code-signature issue). */
#ifndef CS_FORMAT_MACHO_H
#define CS_FORMAT_MACHO_H

#include <stddef.h>
#include <stdint.h>

/* lipo writes a few; a Java class shares the magic, its major version (45
 * or more) where the count is */
#define CS_MACHO_FAT_MAX 32

typedef struct cs_macho_slice {
    int32_t cputype, cpusubtype;
    uint64_t offset, size;
    uint32_t align;          /* a power of two, as the log2 stored */
    char arch[24];           /* "x86_64", "arm64", "arm64e", "i386", ... or "cpu-T-S" */
} cs_macho_slice;

/* Is this a universal Mach-O header (not a Java class, which shares the
 * magic)? The magic and a count of 1 to CS_MACHO_FAT_MAX; the table and
 * the slices are checked by cs_macho_fat_slices. */
int cs_macho_is_fat(const unsigned char *d, size_t n);
/* The slices, in header order: their count, or -1 with *why (static) when
 * the header is damaged (a slice past the end, overlapping the header or
 * another slice, too many). Duplicate architectures get "#2" suffixes. */
int cs_macho_fat_slices(const unsigned char *d, size_t n, cs_macho_slice *out, size_t cap, const char **why);
/* The architecture's usual name, as lipo prints it. */
void cs_macho_arch_name(int32_t cputype, int32_t cpusubtype, char *out, size_t n);

#endif
