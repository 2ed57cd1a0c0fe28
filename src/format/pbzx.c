#include "format/pbzx.h"

#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define PBZX_MAX_CHUNK (64u << 20) /* Apple writes 16 MiB chunks */
#define PBZX_OUT 65536

struct cs_pbzx {
    const unsigned char *d;
    size_t n, pos;
    uint64_t chunk_size;      /* the header's: no chunk decodes to more */
    /* the chunk being decoded */
    const unsigned char *in;
    size_t in_len;
    int xz;                   /* 1: in an xz chunk, 0: a stored one */
    size_t stored_pos;
    uint64_t produced;        /* bytes out of this chunk so far */
    int in_chunk;
    lzma_stream strm;
    int strm_ready;
    unsigned char out[PBZX_OUT];
};

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int cs_pbzx_probe(const unsigned char *d, size_t n)
{
    return n >= 12 && memcmp(d, "pbzx", 4) == 0;
}

cs_pbzx *cs_pbzx_open(const unsigned char *d, size_t n, const char **why)
{
    if (!cs_pbzx_probe(d, n)) {
        *why = "pbzx: no header";
        return NULL;
    }
    uint64_t cs = be64(d + 4);
    if (cs == 0 || cs > PBZX_MAX_CHUNK) {
        *why = "pbzx: chunk size in the header is 0 or over 64 MiB";
        return NULL;
    }
    cs_pbzx *z = cs_xmalloc(sizeof *z);
    memset(z, 0, sizeof *z);
    z->d = d;
    z->n = n;
    z->pos = 12;
    z->chunk_size = cs;
    return z;
}

static const unsigned char xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0};

/* Start the next chunk: 0, 1 at the end of the stream, -1 with why. */
static int next_chunk(cs_pbzx *z, const char **why)
{
    if (z->pos == z->n)
        return 1;
    if (z->n - z->pos < 16) {
        *why = "pbzx: truncated chunk header";
        return -1;
    }
    uint64_t len = be64(z->d + z->pos + 8);
    z->pos += 16;
    if (len > z->n - z->pos) {
        *why = "pbzx: chunk length runs past the end of the payload";
        return -1;
    }
    z->in = z->d + z->pos;
    z->in_len = (size_t)len;
    z->pos += (size_t)len;
    z->produced = 0;
    z->stored_pos = 0;
    z->in_chunk = 1;
    z->xz = z->in_len >= sizeof xz_magic && memcmp(z->in, xz_magic, sizeof xz_magic) == 0;
    if (!z->xz && z->in_len > z->chunk_size) {
        *why = "pbzx: a stored chunk is larger than the chunk size";
        return -1;
    }
    if (z->xz) {
        if (z->strm_ready)
            lzma_end(&z->strm);
        lzma_stream init = LZMA_STREAM_INIT;
        z->strm = init;
        /* 256 MiB of dictionary at most: Apple uses xz -6 (8 MiB) */
        if (lzma_stream_decoder(&z->strm, 256u << 20, 0) != LZMA_OK) {
            *why = "pbzx: cannot start the xz decoder";
            return -1;
        }
        z->strm_ready = 1;
        z->strm.next_in = z->in;
        z->strm.avail_in = z->in_len;
    }
    return 0;
}

long cs_pbzx_read(cs_pbzx *z, const void **block, const char **why)
{
    for (;;) {
        if (!z->in_chunk) {
            int rc = next_chunk(z, why);
            if (rc)
                return rc > 0 ? 0 : -1;
        }
        if (!z->xz) {
            size_t left = z->in_len - z->stored_pos;
            if (!left) {
                z->in_chunk = 0;
                continue;
            }
            size_t k = left < PBZX_OUT ? left : PBZX_OUT;
            *block = z->in + z->stored_pos;
            z->stored_pos += k;
            return (long)k;
        }
        z->strm.next_out = z->out;
        z->strm.avail_out = PBZX_OUT;
        lzma_ret r = lzma_code(&z->strm, LZMA_FINISH);
        size_t k = PBZX_OUT - z->strm.avail_out;
        z->produced += k;
        if (z->produced > z->chunk_size) {
            *why = "pbzx: an xz chunk decodes to more than the chunk size";
            return -1;
        }
        if (r == LZMA_STREAM_END) {
            z->in_chunk = 0;
        } else if (r != LZMA_OK) {
            *why = r == LZMA_MEMLIMIT_ERROR ? "pbzx: xz dictionary over 256 MiB"
                   : r == LZMA_BUF_ERROR    ? "pbzx: xz chunk truncated"
                                            : "pbzx: xz data corrupt";
            return -1;
        }
        if (k) {
            *block = z->out;
            return (long)k;
        }
        if (r == LZMA_OK && z->strm.avail_in == 0) {
            *why = "pbzx: xz chunk truncated";
            return -1;
        }
    }
}

void cs_pbzx_close(cs_pbzx *z)
{
    if (!z)
        return;
    if (z->strm_ready)
        lzma_end(&z->strm);
    free(z);
}
