/* Mach-O files: the universal ("fat") header that holds one thin Mach-O
 * per architecture, 32-bit (0xcafebabe) and 64-bit (0xcafebabf) forms, and
 * thin files: header, load commands (every one bounds-checked), segments,
 * the code signature's place, linked libraries, run paths, build version,
 * UUID, encryption. The parser keeps pointers into the mapping and
 * allocates nothing. */
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
/* Where the last slice ends (0 when the slices cannot be read): bytes past
 * it belong to no slice. */
uint64_t cs_macho_fat_end(const unsigned char *d, size_t n);
/* The architecture's usual name, as lipo prints it. */
void cs_macho_arch_name(int32_t cputype, int32_t cpusubtype, char *out, size_t n);

/* ---- thin files ---- */

#define CS_MACHO_MAX_SEGMENTS 32
#define CS_MACHO_MAX_SECTIONS 128
#define CS_MACHO_MAX_LIBS 256   /* linked libraries kept; more are counted */
#define CS_MACHO_MAX_RPATHS 32

enum { CS_MACHO_LOAD = 1, CS_MACHO_WEAK = 2, CS_MACHO_REEXPORT = 3, CS_MACHO_LAZY = 4, CS_MACHO_UPWARD = 5 };

typedef struct cs_macho_str {
    const char *p;           /* into the file; not NUL-terminated */
    size_t len;
} cs_macho_str;

typedef struct cs_macho_segment {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize;
} cs_macho_segment;

typedef struct cs_macho_section {
    char name[17], segment[17];
    uint64_t addr, size;
    uint32_t offset;          /* in the file; 0 for zero-fill sections */
} cs_macho_section;

typedef struct cs_macho {
    const unsigned char *data;
    size_t size;
    int is64, swapped;        /* swapped: big-endian file (ppc) */
    int32_t cputype, cpusubtype;
    uint32_t filetype, ncmds, sizeofcmds, flags;
    char arch[24];
    size_t n_segments;
    cs_macho_segment segments[CS_MACHO_MAX_SEGMENTS];
    size_t n_sections;        /* kept; sections_total counts them all */
    uint32_t sections_total;
    cs_macho_section sections[CS_MACHO_MAX_SECTIONS];
    int has_signature;        /* LC_CODE_SIGNATURE */
    uint32_t sig_offset, sig_size;
    size_t n_libs, libs_total;
    struct {
        int kind;             /* CS_MACHO_LOAD, ... */
        cs_macho_str name;
    } libs[CS_MACHO_MAX_LIBS];
    size_t n_rpaths;
    cs_macho_str rpaths[CS_MACHO_MAX_RPATHS];
    cs_macho_str install_name; /* LC_ID_DYLIB, for a library */
    int has_uuid;
    unsigned char uuid[16];
    uint32_t platform;        /* LC_BUILD_VERSION (1 macOS, 2 iOS, ...), or 1 from LC_VERSION_MIN_MACOSX; 0 unknown */
    uint32_t minos, sdk;      /* X.Y.Z as xxxx.yy.zz */
    int encrypted;            /* LC_ENCRYPTION_INFO(_64) with cryptid != 0 */
    uint64_t linkedit_end;    /* fileoff + filesize of __LINKEDIT, 0 without one */
} cs_macho;

/* Is this a thin Mach-O header (any of the four magics)? */
int cs_macho_is_thin(const unsigned char *d, size_t n);
/* Parse a thin Mach-O at d[0..n) (pointers into it are kept): 0, or -1
 * with *why (static) for a header or load command that does not fit. */
int cs_macho_parse(const unsigned char *d, size_t n, cs_macho *out, const char **why);
/* "14.2.0" from an xxxx.yy.zz version; out of at least 16 bytes. */
void cs_macho_version_str(uint32_t v, char *out, size_t n);

#endif
