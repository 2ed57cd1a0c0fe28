/* Apple's pbzx stream, the Payload of many flat .pkg installers: "pbzx",
 * a big-endian chunk size, then chunks (flags, length, bytes), each an xz
 * stream or, when it is not, stored. What comes out is a cpio archive.
 * Decoded incrementally with bounded memory (liblzma). */
#ifndef CS_FORMAT_PBZX_H
#define CS_FORMAT_PBZX_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_pbzx cs_pbzx;

/* Does d start with the pbzx magic? */
int cs_pbzx_probe(const unsigned char *d, size_t n);
/* A decoder over d[0..n) (borrowed until cs_pbzx_close); NULL with *why. */
cs_pbzx *cs_pbzx_open(const unsigned char *d, size_t n, const char **why);
/* The next decoded block: its length (the bytes stay valid until the next
 * call), 0 at the end, -1 with *why (a chunk length past the end, a chunk
 * that is not xz and not a plausible stored chunk, an xz error, a chunk
 * that decodes to more than the chunk size). */
long cs_pbzx_read(cs_pbzx *z, const void **block, const char **why);
void cs_pbzx_close(cs_pbzx *z);

#endif
