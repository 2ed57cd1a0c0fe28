/* The file view's shared, lazily computed hashes, headers, signature and
 * product, and the findings list. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/authenticode_internal.h"
#include "engine/engine.h"
#include "format/msi.h"
#include "format/plist.h"
#include "format/versioninfo.h"

void cs_file_hash(cs_file *f, unsigned mask)
{
    mask &= ~f->hashes;
    if (!mask || !f->data)
        return;
    const EVP_MD *mds[3] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
    unsigned char *outs[3] = {f->md5, f->sha1, f->sha256};
    EVP_MD_CTX *ctx[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        if (!(mask & (1u << i)))
            continue;
        ctx[i] = EVP_MD_CTX_new();
        if (!ctx[i] || !EVP_DigestInit_ex(ctx[i], mds[i], NULL)) {
            EVP_MD_CTX_free(ctx[i]);
            ctx[i] = NULL;
        }
    }
    /* One pass in cache-sized chunks: each chunk is hashed by every
     * algorithm while it is still in cache. */
    const size_t chunk = 256 * 1024;
    for (size_t off = 0; off < f->size; off += chunk) {
        size_t n = f->size - off < chunk ? f->size - off : chunk;
        for (int i = 0; i < 3; i++)
            if (ctx[i])
                EVP_DigestUpdate(ctx[i], f->data + off, n);
    }
    for (int i = 0; i < 3; i++) {
        if (!ctx[i])
            continue;
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx[i], outs[i], &len))
            f->hashes |= 1u << i;
        EVP_MD_CTX_free(ctx[i]);
    }
}

const cs_pe *cs_file_pe(cs_file *f)
{
    if (f->pe_state == 0) {
        const char *why;
        f->pe_state = f->data && cs_pe_parse(f->data, f->size, &f->pe, &why) == CS_PE_OK ? 1 : -1;
    }
    return f->pe_state == 1 ? &f->pe : NULL;
}

cs_reason *cs_findings_add(cs_findings *out, const char *detector, const char *rule,
                           const char *description, int score)
{
    cs_grow((void **)&out->reasons, &out->cap, out->n + 1, sizeof *out->reasons);
    cs_reason *r = &out->reasons[out->n++];
    memset(r, 0, sizeof *r);
    r->detector = detector;
    r->rule = rule;
    r->description = description ? description : "";
    r->score = score;
    return r;
}

void cs_reason_add_match(cs_findings *out, cs_reason *r, const char *id, uint64_t offset,
                         const unsigned char *data, size_t len)
{
    /* matches live in the arena; grow by copying (reasons have few matches) */
    cs_match *m = cs_arena_alloc(out->arena, (r->n_matches + 1) * sizeof *m);
    if (r->n_matches)
        memcpy(m, r->matches, r->n_matches * sizeof *m);
    m[r->n_matches] = (cs_match){id, offset, data ? cs_arena_memdup(out->arena, data, len) : NULL, len};
    r->matches = m;
    r->n_matches++;
}

const cs_ac_report *cs_file_signature(cs_file *f, cs_error *err)
{
    if (f->sig_state == 0) {
        const cs_pe *pe = cs_file_pe(f);
        f->sig_state = -1;
        if (pe && pe->n_dirs > CS_PE_DIR_SECURITY && pe->dir_size[CS_PE_DIR_SECURITY] != 0) {
            if (cs_authenticode_verify_pe(pe, f->trust, 0, &f->sig, err) != CS_OK)
                return NULL; /* allocation failure: tried again by the next caller */
            f->sig_state = 1;
        }
    }
    return f->sig_state == 1 ? f->sig : NULL;
}

/* Read a small regular file beside the scanned one (an Info.plist):
 * never a link, FIFO or device; NULL when absent or not plausible. */
#define SIDECAR_MAX (1u << 20)

static unsigned char *read_sidecar(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= SIDECAR_MAX &&
        (buf = malloc((size_t)st.st_size)) != NULL) {
        size_t got = 0;
        ssize_t r;
        while (got < (size_t)st.st_size && (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)r;
        *len = got;
    }
    close(fd);
    return buf;
}

/* A bundle's main executable sits at <bundle>/Contents/MacOS/<name>; its
 * Info.plist at <bundle>/Contents/Info.plist names it (CFBundleExecutable). */
static int bundle_product(cs_file *f)
{
    static const char contents_macos[] = "/Contents/MacOS";
    size_t m = sizeof contents_macos - 1;
    if (f->dir_len < m || memcmp(f->path + f->dir_len - m, contents_macos, m) != 0)
        return 0;
    cs_buf p = {0}; /* <bundle>/Contents/Info.plist */
    cs_buf_append(&p, f->path, f->dir_len - strlen("/MacOS"));
    cs_buf_puts(&p, "/Info.plist");
    size_t len = 0;
    unsigned char *d = read_sidecar(p.data, &len);
    int rc = 0;
    if (d) {
        const char *exe, *why;
        if (cs_info_plist_parse(d, len, f->arena, &f->product, &exe, &why) != 0) {
            f->product_error = why;
        } else if (!exe || strcmp(exe, f->name) == 0) {
            f->product.source_path = cs_arena_strdup(f->arena, p.data);
            rc = 1;
        }
        free(d);
    }
    cs_buf_free(&p);
    return rc;
}

const cs_product *cs_file_product(cs_file *f)
{
    if (f->product_state != 0)
        return f->product_state == 1 ? &f->product : NULL;
    f->product_state = -1;
    if (!f->data || !f->arena)
        return NULL;
    if (strcmp(f->filetype, "MACH-O") == 0) {
        if (bundle_product(f))
            f->product_state = 1;
        return f->product_state == 1 ? &f->product : NULL;
    }
    const cs_pe *pe = cs_file_pe(f);
    const char *why = NULL;
    int rc = 0; /* 1 read, 0 nothing to read, -1 malformed (maybe partly read) */
    if (pe)
        rc = cs_pe_version_info(pe, f->arena, &f->product, &why);
    else if (strcmp(f->filetype, "MSI") == 0)
        rc = cs_msi_product(f->data, f->size, f->arena, &f->product, &why) == 0 ? 1 : -1;
    if (rc < 0)
        f->product_error = why;
    if (rc != 0 && (f->product.name || f->product.version || f->product.company)) {
        f->product.source_path = f->path;
        f->product_state = 1;
    }
    return f->product_state == 1 ? &f->product : NULL;
}

void cs_file_release(cs_file *f)
{
    cs_ac_report_free(f->sig);
    f->sig = NULL;
    f->sig_state = 0;
}
