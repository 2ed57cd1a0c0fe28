/* Hashes a container records for its members (an Electron asar's header:
 * SHA-256 of each file and of each of its blocks), checked against the
 * member's bytes: a mismatch means the file was changed after the
 * container was made, the way a trojanized Electron app is patched. Uses
 * the view's shared SHA-256; block hashes are computed only for members
 * larger than one block. */
#include <openssl/evp.h>
#include <string.h>

#include "detect/detector.h"
#include "util/digest.h"

#define INTEGRITY_SCORE 75 /* a warning: tampering, or a careless build step */

static void *integrity_create(void)
{
    static int dummy;
    return &dummy; /* no state: every member carries its own expectations */
}

static void integrity_destroy(void *st)
{
    (void)st;
}

static int integrity_active(const void *st)
{
    (void)st;
    return 1;
}

static int integrity_loaded(const void *st)
{
    (void)st;
    return 0; /* built in: not "rules" */
}

static int block_sha256(const unsigned char *p, size_t n, unsigned char out[32])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, cs_md_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

static cs_status integrity_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    (void)st;
    (void)ts;
    const cs_integrity *in = f->integrity;
    if (!in || !f->data)
        return CS_OK;
    cs_file_hash(f, CS_HASH_SHA256);
    char want[65], got[65];
    if (memcmp(f->sha256, in->sha256, 32) != 0) {
        cs_hex(want, in->sha256, 32);
        cs_hex(got, f->sha256, 32);
        cs_buf b = {0};
        cs_buf_printf(&b, "content differs from the %s's SHA-256 (%s, content %s): changed after packing", in->origin,
                      want, got);
        cs_findings_add(out, "integrity", "member_hash_mismatch", cs_arena_strdup(out->arena, b.data),
                        INTEGRITY_SCORE);
        cs_buf_free(&b);
        return CS_OK;
    }
    /* the whole matches: the block list can still be edited on its own */
    if (!in->block_size || !in->n_blocks)
        return CS_OK;
    for (size_t i = 0; i < in->n_blocks; i++) {
        uint64_t off = (uint64_t)i * in->block_size;
        if (off > f->size || (off == f->size && f->size))
            break;
        size_t len = (size_t)(f->size - off < in->block_size ? f->size - off : in->block_size);
        unsigned char h[32];
        if (in->n_blocks == 1 && len == f->size)
            memcpy(h, f->sha256, 32); /* one block: the shared hash */
        else if (block_sha256(f->data + off, len, h) != 0)
            return cs_error_set(err, CS_ERR_INTERNAL, "integrity: SHA-256 failed");
        if (memcmp(h, in->blocks[i], 32) != 0) {
            cs_hex(want, in->blocks[i], 32);
            cs_buf b = {0};
            cs_buf_printf(&b, "block %zu (bytes %llu..%llu) differs from the %s's block hash %s", i,
                          (unsigned long long)off, (unsigned long long)(off + len), in->origin, want);
            cs_findings_add(out, "integrity", "member_block_mismatch", cs_arena_strdup(out->arena, b.data),
                            INTEGRITY_SCORE);
            cs_buf_free(&b);
            break;
        }
    }
    return CS_OK;
}

const cs_detector_ops cs_integrity_detector = {
    .name = "integrity",
    .needs_content = 1,
    .create = integrity_create,
    .destroy = integrity_destroy,
    .active = integrity_active,
    .loaded = integrity_loaded,
    .scan = integrity_scan,
};
