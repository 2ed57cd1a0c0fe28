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

uint64_t cs_macho_fat_end(const unsigned char *d, size_t n)
{
    cs_macho_slice s[CS_MACHO_FAT_MAX];
    const char *why;
    int k = cs_macho_fat_slices(d, n, s, CS_MACHO_FAT_MAX, &why);
    uint64_t end = 0;
    for (int i = 0; i < k; i++)
        if (s[i].offset + s[i].size > end)
            end = s[i].offset + s[i].size;
    return end;
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

/* ---- thin files ---- */

#define MH_MAGIC 0xfeedfaceu
#define MH_MAGIC_64 0xfeedfacfu
#define MH_CIGAM 0xcefaedfeu
#define MH_CIGAM_64 0xcffaedfeu

enum {
    LC_SEGMENT = 0x1, LC_ID_DYLIB = 0xd, LC_LOAD_DYLIB = 0xc, LC_LOAD_WEAK_DYLIB = 0x80000018,
    LC_SEGMENT_64 = 0x19, LC_UUID = 0x1b, LC_RPATH = 0x8000001c, LC_CODE_SIGNATURE = 0x1d,
    LC_REEXPORT_DYLIB = 0x8000001f, LC_LAZY_LOAD_DYLIB = 0x20, LC_ENCRYPTION_INFO = 0x21,
    LC_LOAD_UPWARD_DYLIB = 0x80000023, LC_VERSION_MIN_MACOSX = 0x24, LC_VERSION_MIN_IPHONEOS = 0x25,
    LC_ENCRYPTION_INFO_64 = 0x2c, LC_BUILD_VERSION = 0x32,
};

static uint32_t rd32(const cs_macho *m, const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return m->swapped ? __builtin_bswap32(v) : v;
}

static uint64_t rd64(const cs_macho *m, const unsigned char *p)
{
    uint64_t lo = rd32(m, p), hi = rd32(m, p + 4);
    return m->swapped ? lo << 32 | hi : hi << 32 | lo;
}

int cs_macho_is_thin(const unsigned char *d, size_t n)
{
    if (n < 28)
        return 0;
    uint32_t magic = be32(d);
    return magic == MH_MAGIC || magic == MH_MAGIC_64 || magic == MH_CIGAM || magic == MH_CIGAM_64;
}

void cs_macho_version_str(uint32_t v, char *out, size_t n)
{
    snprintf(out, n, "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
}

/* An lc_str: an offset from the command's start to a NUL-terminated string
 * inside the command. */
static int lc_str(const cs_macho *m, const unsigned char *cmd, uint32_t cmdsize, size_t at, cs_macho_str *out)
{
    if (at + 4 > cmdsize)
        return -1;
    uint32_t off = rd32(m, cmd + at);
    if (off < at + 4 || off >= cmdsize)
        return -1;
    const unsigned char *s = cmd + off, *nul = memchr(s, 0, cmdsize - off);
    out->p = (const char *)s;
    out->len = nul ? (size_t)(nul - s) : cmdsize - off; /* unterminated: up to the command's end */
    return 0;
}

static int segment(cs_macho *m, const unsigned char *c, uint32_t size, int is64, const char **why)
{
    if (size < (is64 ? 72u : 56u)) {
        *why = "Mach-O: segment command too short";
        return -1;
    }
    if (m->n_segments == CS_MACHO_MAX_SEGMENTS)
        return 0; /* more than a real file has; the first ones describe it */
    cs_macho_segment *s = &m->segments[m->n_segments++];
    memcpy(s->name, c + 8, 16);
    s->name[16] = '\0';
    if (is64) {
        s->vmaddr = rd64(m, c + 24);
        s->vmsize = rd64(m, c + 32);
        s->fileoff = rd64(m, c + 40);
        s->filesize = rd64(m, c + 48);
    } else {
        s->vmaddr = rd32(m, c + 24);
        s->vmsize = rd32(m, c + 28);
        s->fileoff = rd32(m, c + 32);
        s->filesize = rd32(m, c + 36);
    }
    if (strcmp(s->name, "__LINKEDIT") == 0)
        m->linkedit_end = s->fileoff + s->filesize;
    /* its section headers follow it inside the command */
    size_t hdr = is64 ? 72 : 56, entry = is64 ? 80 : 68;
    uint32_t nsects = rd32(m, c + (is64 ? 64 : 48));
    if ((uint64_t)nsects * entry > size - hdr) {
        *why = "Mach-O: a segment's sections run past its command";
        return -1;
    }
    for (uint32_t i = 0; i < nsects; i++) {
        m->sections_total++;
        if (m->n_sections == CS_MACHO_MAX_SECTIONS)
            continue;
        const unsigned char *e = c + hdr + (size_t)i * entry;
        cs_macho_section *x = &m->sections[m->n_sections++];
        memcpy(x->name, e, 16);
        x->name[16] = '\0';
        memcpy(x->segment, e + 16, 16);
        x->segment[16] = '\0';
        x->addr = is64 ? rd64(m, e + 32) : rd32(m, e + 32);
        x->size = is64 ? rd64(m, e + 40) : rd32(m, e + 36);
        x->offset = rd32(m, e + (is64 ? 48 : 40));
    }
    return 0;
}

int cs_macho_parse(const unsigned char *d, size_t n, cs_macho *m, const char **why)
{
    memset(m, 0, sizeof *m);
    if (!cs_macho_is_thin(d, n)) {
        *why = "Mach-O: no Mach-O header";
        return -1;
    }
    m->data = d;
    m->size = n;
    uint32_t magic = be32(d);
    m->swapped = magic == MH_MAGIC || magic == MH_MAGIC_64; /* big-endian on disk */
    m->is64 = magic == MH_MAGIC_64 || magic == MH_CIGAM_64;
    m->cputype = (int32_t)rd32(m, d + 4);
    m->cpusubtype = (int32_t)rd32(m, d + 8);
    m->filetype = rd32(m, d + 12);
    m->ncmds = rd32(m, d + 16);
    m->sizeofcmds = rd32(m, d + 20);
    m->flags = rd32(m, d + 24);
    cs_macho_arch_name(m->cputype, m->cpusubtype, m->arch, sizeof m->arch);
    size_t hdr = m->is64 ? 32 : 28;
    if (n < hdr || m->sizeofcmds > n - hdr) {
        *why = "Mach-O: load commands run past the end of the file";
        return -1;
    }
    const unsigned char *c = d + hdr, *end = c + m->sizeofcmds;
    for (uint32_t i = 0; i < m->ncmds; i++) {
        if ((size_t)(end - c) < 8) {
            *why = "Mach-O: more load commands than their size holds";
            return -1;
        }
        uint32_t cmd = rd32(m, c), size = rd32(m, c + 4);
        if (size < 8 || size > (size_t)(end - c)) {
            *why = "Mach-O: a load command's size is out of bounds";
            return -1;
        }
        int kind = 0;
        switch (cmd) {
        case LC_SEGMENT:
        case LC_SEGMENT_64:
            if (segment(m, c, size, cmd == LC_SEGMENT_64, why) != 0)
                return -1;
            break;
        case LC_CODE_SIGNATURE:
            if (size < 16) {
                *why = "Mach-O: LC_CODE_SIGNATURE too short";
                return -1;
            }
            m->has_signature = 1;
            m->sig_offset = rd32(m, c + 8);
            m->sig_size = rd32(m, c + 12);
            break;
        case LC_LOAD_DYLIB: kind = CS_MACHO_LOAD; break;
        case LC_LOAD_WEAK_DYLIB: kind = CS_MACHO_WEAK; break;
        case LC_REEXPORT_DYLIB: kind = CS_MACHO_REEXPORT; break;
        case LC_LAZY_LOAD_DYLIB: kind = CS_MACHO_LAZY; break;
        case LC_LOAD_UPWARD_DYLIB: kind = CS_MACHO_UPWARD; break;
        case LC_ID_DYLIB:
            if (lc_str(m, c, size, 8, &m->install_name) != 0) {
                *why = "Mach-O: LC_ID_DYLIB name out of bounds";
                return -1;
            }
            break;
        case LC_RPATH: {
            cs_macho_str r;
            if (lc_str(m, c, size, 8, &r) != 0) {
                *why = "Mach-O: LC_RPATH path out of bounds";
                return -1;
            }
            if (m->n_rpaths < CS_MACHO_MAX_RPATHS)
                m->rpaths[m->n_rpaths++] = r;
            break;
        }
        case LC_UUID:
            if (size >= 24) {
                memcpy(m->uuid, c + 8, 16);
                m->has_uuid = 1;
            }
            break;
        case LC_BUILD_VERSION:
            if (size >= 24) {
                m->platform = rd32(m, c + 8);
                m->minos = rd32(m, c + 12);
                m->sdk = rd32(m, c + 16);
            }
            break;
        case LC_VERSION_MIN_MACOSX:
        case LC_VERSION_MIN_IPHONEOS:
            if (size >= 16 && !m->platform) {
                m->platform = cmd == LC_VERSION_MIN_MACOSX ? 1 : 2;
                m->minos = rd32(m, c + 8);
                m->sdk = rd32(m, c + 12);
            }
            break;
        case LC_ENCRYPTION_INFO:
        case LC_ENCRYPTION_INFO_64:
            if (size >= 20 && rd32(m, c + 16) != 0)
                m->encrypted = 1;
            break;
        default:
            break;
        }
        if (kind) {
            cs_macho_str name;
            if (lc_str(m, c, size, 8, &name) != 0) {
                *why = "Mach-O: a linked library's name is out of bounds";
                return -1;
            }
            m->libs_total++;
            if (m->n_libs < CS_MACHO_MAX_LIBS) {
                m->libs[m->n_libs].kind = kind;
                m->libs[m->n_libs++].name = name;
            }
        }
        c += size;
    }
    if (m->has_signature && (m->sig_offset > n || m->sig_size > n - m->sig_offset)) {
        /* reported by the signature check, not a parse failure: the rest is usable */
        m->sig_size = m->sig_offset > n ? 0 : (uint32_t)(n - m->sig_offset);
        m->has_signature = 2; /* 2: truncated */
    }
    return 0;
}
