#include "format/filetype.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Our own table; names follow the convention of THOR's type names so that
 * rules testing the "filetype" external behave the same. */
static const struct {
    const char *hex;
    const char *name;
} builtin[] = {
    {"4D5A", "EXE"},
    {"7F454C46", "ELF"},
    {"FEEDFACE", "MACH-O"}, {"CEFAEDFE", "MACH-O"},
    {"FEEDFACF", "MACH-O"}, {"CFFAEDFE", "MACH-O"},
    {"CAFEBABE", "MACH-O"},            /* refined below: fat Mach-O or Java class */
    {"504B0304", "ZIP"}, {"504B0506", "ZIP"},
    {"D0CF11E0A1B11AE1", "OLE"},       /* refined below: MSI */
    {"3C3F706870", "PHP"},
    {"3C25", "JSP"}, {"3C2540", "ASP"},
    {"232120", "Script"}, {"2321", "Script"}, {"23212F", "UNIX SCRIPT"},
    {"406563686F", "BATCH"}, {"404543484F", "BATCH"},
    {"1F8B08", "GZIP"}, {"425A68", "BZip2"}, {"FD377A585A00", "XZ"},
    {"377ABCAF271C", "7Zip"}, {"526172211A07", "RAR"}, {"4D534346", "CAB"},
    {"25504446", "PDF"}, {"7B5C727466", "RTF"}, {"3C3F786D6C", "XML"},
    {"4D444D50", "MDMP"}, {"4C0000000114020000000000", "LNK"},
    {"89504E470D0A1A0A", "PNG"}, {"FFD8FF", "JPEG"}, {"47494638", "GIF"},
    {"00000100", "ICO"},
    {"213C617263683E0A", "AR"},
    {"7265676600", "Registry Hive"},
    {"456C6646696C6500", "EVTX"},
};

static int magic_from_hex(const char *hex, unsigned char *out, size_t *len)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || n >= CS_MAGIC_MAX)
            return -1;
        if (cs_unhex(out + n, p, 1) != 0)
            return -1;
        n++;
        p += 2;
    }
    *len = n;
    return n ? 0 : -1;
}

static int add(cs_filetypes *t, const unsigned char *bytes, size_t len, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i].len == len && memcmp(t->items[i].bytes, bytes, len) == 0)
            return 0; /* first definition wins */
    cs_grow((void **)&t->items, &t->cap, t->n + 1, sizeof *t->items);
    cs_magic *m = &t->items[t->n++];
    memset(m, 0, sizeof *m);
    memcpy(m->bytes, bytes, len);
    m->len = len;
    m->name = cs_strdup(name);
    return 1;
}

void cs_filetypes_init(cs_filetypes *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++) {
        unsigned char b[CS_MAGIC_MAX];
        size_t len;
        if (magic_from_hex(builtin[i].hex, b, &len) == 0)
            add(t, b, len, builtin[i].name);
    }
}

void cs_filetypes_free(cs_filetypes *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].name);
    free(t->items);
    memset(t, 0, sizeof *t);
}

int cs_filetypes_add_line(cs_filetypes *t, char *line, const char **why)
{
    char *semi = strchr(line, ';');
    if (!semi) {
        *why = "expected HEX BYTES;Description";
        return -1;
    }
    *semi = '\0';
    const char *name = cs_trim(semi + 1);
    unsigned char b[CS_MAGIC_MAX];
    size_t len;
    if (!*name || magic_from_hex(line, b, &len) != 0) {
        *why = "bad hex bytes (at most 16) or empty description";
        return -1;
    }
    return add(t, b, len, name);
}

/* An OLE compound file whose root storage has the Windows Installer CLSID. */
static int ole_is_msi(const unsigned char *d, size_t len)
{
    if (len < 512)
        return 0;
    unsigned shift = cs_rd16le(d + 0x1e);
    if (shift != 9 && shift != 12)
        return 0;
    uint64_t dir = ((uint64_t)cs_rd32le(d + 0x30) + 1) << shift;
    static const unsigned char msi_clsid[4] = {0x84, 0x10, 0x0c, 0x00};
    static const unsigned char tail[12] = {0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46};
    if (dir > len || len - dir < 0x60)
        return 0;
    const unsigned char *c = d + dir + 0x50;
    /* 000C1084 installer, 000C1086 patch, 000C1082 transform */
    return memcmp(c + 1, msi_clsid + 1, 3) == 0 && (c[0] == 0x84 || c[0] == 0x86 || c[0] == 0x82) &&
           memcmp(c + 4, tail, sizeof tail) == 0;
}

const char *cs_filetype_detect(const cs_filetypes *t, const unsigned char *data, size_t len)
{
    const cs_magic *best = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const cs_magic *m = &t->items[i];
        if (m->len <= len && (!best || m->len > best->len) && memcmp(data, m->bytes, m->len) == 0)
            best = m;
    }
    if (!best)
        return "UNKNOWN";
    if (strcmp(best->name, "OLE") == 0 && ole_is_msi(data, len))
        return "MSI";
    if (best->len == 4 && memcmp(best->bytes, "\xCA\xFE\xBA\xBE", 4) == 0 && len >= 8) {
        /* fat Mach-O: number of archs (small); Java class: version >= 45 */
        uint32_t v = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
        return v < 45 ? "MACH-O" : "JAVA";
    }
    return best->name;
}
