/* Fuzz the Mach-O parser and the code-signature verifier: header and load
 * commands, fat tables, the SuperBlob, CodeDirectories (slots, special
 * slots, versions), the CMS blob (OpenSSL) and its CDHashes attributes
 * (libplist), and a bundle's CodeResources (files2/files, nested code).
 * The input's first two bytes give the length of a CodeResources (and
 * Info.plist) part; the rest is the Mach-O, also served as every sealed
 * file. Checks what callers rely on: slices lie inside the input, every
 * finding names a slice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chainsweep/codesign.h"
#include "format/macho.h"

typedef struct part {
    const uint8_t *res, *macho;
    size_t res_len, macho_len;
} part;

static unsigned char *dup_bytes(const uint8_t *p, size_t n, size_t *len)
{
    unsigned char *b = malloc(n ? n : 1);
    if (b && n)
        memcpy(b, p, n);
    *len = n;
    return b;
}

static unsigned char *read_file(void *ud, const char *rel, size_t max, size_t *len)
{
    const part *p = ud;
    if (strcmp(rel, "_CodeSignature/CodeResources") == 0 || strcmp(rel, "Info.plist") == 0)
        return p->res_len <= max ? dup_bytes(p->res, p->res_len, len) : NULL;
    if (rel[0] == 'M') /* "Missing/...": absent */
        return NULL;
    return p->macho_len <= max ? dup_bytes(p->macho, p->macho_len, len) : NULL;
}

static int exists_file(void *ud, const char *rel)
{
    (void)ud;
    return rel[0] != 'M'; /* "MacOS/..." and "Missing/...": absent, so run paths are tried */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t rl = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    part p = {data + 2, data + 2 + rl, rl, size - 2 - rl};
    cs_macho m;
    const char *why;
    if (cs_macho_parse(p.macho, p.macho_len, &m, &why) == 0) {
        for (size_t i = 0; i < m.n_libs; i++)
            if (m.libs[i].name.p < (const char *)p.macho ||
                m.libs[i].name.p + m.libs[i].name.len > (const char *)p.macho + p.macho_len)
                abort();
    }
    cs_mc_bundle b = {.read = read_file, .exists = exists_file, .ud = &p}; /* an app bundle */
    cs_mc_report *r = NULL;
    if (cs_codesign_verify_bundle(p.macho, p.macho_len, &b, NULL, 0, &r, NULL) != CS_OK) {
        cs_mc_report_free(r);
        return 0;
    }
    for (size_t i = 0; i < r->n_slices; i++)
        if (r->slices[i].offset > p.macho_len || r->slices[i].size > p.macho_len - r->slices[i].offset)
            abort();
    for (size_t i = 0; i < r->n_findings; i++)
        if ((size_t)r->findings[i].slice >= r->n_slices && r->n_slices)
            abort();
    cs_mc_report_free(r);
    return 0;
}
