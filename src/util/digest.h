/* The message digests, fetched from OpenSSL's provider once per process:
 * EVP_sha256() and the like make OpenSSL 3 look the algorithm up again at
 * every EVP_DigestInit_ex, which costs more than hashing a small file. */
#ifndef CS_UTIL_DIGEST_H
#define CS_UTIL_DIGEST_H

#include <openssl/evp.h>

const EVP_MD *cs_md_md5(void);
const EVP_MD *cs_md_sha1(void);
const EVP_MD *cs_md_sha256(void);

#endif
