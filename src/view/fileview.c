/* The file view's shared, lazily computed hashes, headers, signature and
 * product. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "format/authenticode.h"
#include "format/msi.h"
#include "format/pkginfo.h"
#include "format/tlsh.h"
#include "format/plist.h"
#include "format/versioninfo.h"
#include "util/digest.h"
#include "view/view.h"

void cs_file_init(cs_file *f, cs_source *src, const char *path, const char *name, cs_arena *arena)
{
    memset(f, 0, sizeof *f);
    f->src = src;
    f->meta = src->meta;
    f->arena = arena;
    f->path = path;
    f->path_len = strlen(path);
    const char *slash = strrchr(path, '/');
    f->dir_len = slash ? (size_t)(slash - path) : 0;
    if (slash == path)
        f->dir_len = 1; /* a file in "/" */
    if (!name)
        name = slash ? slash + 1 : path;
    f->name = name;
    const char *dot = strrchr(f->name, '.');
    if (dot && dot != f->name && strlen(dot) < sizeof f->ext) {
        size_t i = 0;
        for (; dot[i]; i++)
            f->ext[i] = (char)tolower((unsigned char)dot[i]);
        f->ext[i] = '\0';
    }
    f->filetype = "UNKNOWN";
}

int cs_file_map(cs_file *f, const cs_filetypes *types, cs_error *err)
{
    const unsigned char *d = cs_source_map(f->src, err);
    if (!d)
        return -1;
    f->data = d;
    f->size = (size_t)f->src->meta.size;
    f->filetype = cs_filetype_detect(types, f->data, f->size);
    return 0;
}

void cs_file_hash(cs_file *f, unsigned mask)
{
    mask = (mask | f->hashes_wanted) & ~f->hashes;
    if (!mask || !f->data)
        return;
    const EVP_MD *mds[3] = {cs_md_md5(), cs_md_sha1(), cs_md_sha256()};
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
    cs_tlsh *tl = NULL;
    if (mask & CS_HASH_TLSH) {
        tl = cs_xmalloc(sizeof *tl);
        cs_tlsh_init(tl);
    }
    /* One pass in cache-sized chunks: each chunk is hashed by every
     * algorithm while it is still in cache. With more than one digest,
     * they take turns every 64-byte block: MD5's rounds are one long chain
     * of dependent instructions, and the processor runs SHA-1's and
     * SHA-256's (other units) beside them only when they are close in the
     * instruction stream. MD5, SHA-1 and SHA-256 of 200 MB: 0.45 s by
     * chunks, 0.35 s by blocks (docs/performance.md). */
    const size_t chunk = 256 * 1024;
    size_t step = (ctx[0] != NULL) + (ctx[1] != NULL) + (ctx[2] != NULL) > 1 ? 64 : chunk;
    for (size_t off = 0; off < f->size; off += chunk) {
        size_t n = f->size - off < chunk ? f->size - off : chunk;
        for (size_t k = 0; k < n; k += step)
            for (int i = 0; i < 3; i++)
                if (ctx[i])
                    EVP_DigestUpdate(ctx[i], f->data + off + k, n - k < step ? n - k : step);
        if (tl)
            cs_tlsh_update(tl, f->data + off, n);
        /* a large file's pages go back once hashed: RSS stays bounded */
        if (f->size > CS_RELEASE_CHUNK && (off + n) % CS_RELEASE_CHUNK == 0)
            cs_file_release_range(f, f->data + off + n - CS_RELEASE_CHUNK, CS_RELEASE_CHUNK);
    }
    for (int i = 0; i < 3; i++) {
        if (!ctx[i])
            continue;
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx[i], outs[i], &len))
            f->hashes |= 1u << i;
        EVP_MD_CTX_free(ctx[i]);
    }
    if (tl) {
        cs_tlsh_digest d;
        f->tlsh[0] = '\0';
        if (cs_tlsh_final(tl, 0, &d) == 0)
            cs_tlsh_format(&d, f->tlsh);
        f->hashes |= CS_HASH_TLSH;
        free(tl);
    }
}

void cs_file_release_range(cs_file *f, const unsigned char *p, size_t len)
{
    if (f->src)
        cs_source_release(f->src, p, len);
}

static void pe_release(void *ud, const unsigned char *p, size_t len)
{
    cs_file_release_range(ud, p, len);
}

const cs_pe *cs_file_pe(cs_file *f)
{
    if (f->pe_state == 0) {
        const char *why;
        f->pe_state = f->data && cs_pe_parse(f->data, f->size, &f->pe, &why) == CS_PE_OK ? 1 : -1;
        if (f->pe_state == 1) { /* the Authenticode digest gives back what it has read */
            f->pe.release = pe_release;
            f->pe.release_ud = f;
        }
    }
    return f->pe_state == 1 ? &f->pe : NULL;
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

const char *cs_file_imphash(cs_file *f)
{
    if (f->imphash_state == 0) {
        const cs_pe *pe = cs_file_pe(f);
        f->imphash_state = pe && cs_pe_imphash(pe, f->imphash) == 0 ? 1 : -1;
    }
    return f->imphash_state == 1 ? f->imphash : NULL;
}

const unsigned char *cs_file_authentihash(cs_file *f)
{
    if (f->authentihash_state == 0) {
        const cs_pe *pe = cs_file_pe(f);
        f->authentihash_state = pe && cs_pe_authentihash(pe, f->authentihash) == 0 ? 1 : -1;
    }
    return f->authentihash_state == 1 ? f->authentihash : NULL;
}

const cs_mc_report *cs_file_codesign(cs_file *f, cs_error *err)
{
    if (f->mc_state == 0) {
        f->mc_state = -1;
        if (f->data && strcmp(f->filetype, "MACH-O") == 0) {
            cs_mc_bundle b;
            cs_bundle_ref ref;
            int in_bundle = cs_source_bundle(f->src, f->path, &b, &ref);
            if (cs_codesign_verify_bundle(f->data, f->size, in_bundle ? &b : NULL, f->trust, 0, &f->mc, err) !=
                CS_OK) {
                cs_mc_report_free(f->mc);
                f->mc = NULL;
                f->mc_state = 0; /* allocation failure: tried again by the next caller */
                return NULL;
            }
            f->mc_state = f->mc->verdict == CS_MC_NOT_MACHO ? -1 : 1;
        }
    }
    return f->mc_state == 1 ? f->mc : NULL;
}

/* A small object beside the scanned one (an Info.plist), opened through the
 * source (never a link, FIFO or device); NULL when absent or not plausible. */
#define SIDECAR_MAX (1u << 20)

static unsigned char *read_sidecar(cs_source *src, const char *relpath, size_t *len)
{
    cs_source *s = cs_source_open_related(src, relpath, NULL);
    if (!s)
        return NULL;
    unsigned char *buf = s->meta.size > 0 ? cs_source_read_all(s, SIDECAR_MAX, len, NULL) : NULL;
    cs_source_unref(s);
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
    unsigned char *d = read_sidecar(f->src, "../Info.plist", &len);
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
    else if (f->depth && cs_pkg_xml_name(f->chain[f->depth - 1].name))
        rc = cs_pkg_product(f->data, f->size, f->arena, &f->product, &why); /* a flat package's */
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
    cs_mc_report_free(f->mc);
    f->mc = NULL;
    f->mc_state = 0;
}
