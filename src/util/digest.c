#include "util/digest.h"

#include <pthread.h>

static const EVP_MD *md5, *sha1, *sha256;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

/* A fetch that fails (a provider configuration without it) leaves the
 * implicit form, which then fails or works where it is used, as before. */
static const EVP_MD *fetch(const char *name, const EVP_MD *implicit)
{
    EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
    return md ? md : implicit;
}

static void fetch_all(void)
{
    md5 = fetch("MD5", EVP_md5());
    sha1 = fetch("SHA1", EVP_sha1());
    sha256 = fetch("SHA256", EVP_sha256());
}

const EVP_MD *cs_md_md5(void)
{
    pthread_once(&fetched, fetch_all);
    return md5;
}

const EVP_MD *cs_md_sha1(void)
{
    pthread_once(&fetched, fetch_all);
    return sha1;
}

const EVP_MD *cs_md_sha256(void)
{
    pthread_once(&fetched, fetch_all);
    return sha256;
}
