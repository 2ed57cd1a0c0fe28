/* The file view's shared, lazily computed hashes, and the findings list. */
#include <openssl/evp.h>
#include <string.h>

#include "engine/engine.h"

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
