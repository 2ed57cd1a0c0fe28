#define _GNU_SOURCE /* memmem, timegm */
/* Authenticode verifier. Structure first (the certificate table, each
 * WIN_CERTIFICATE and what follows its PKCS#7), then each signature on its
 * own (image digest, messageDigest, signer signature, page hashes,
 * timestamps, nested signatures), then the chain when anchors are given.
 * Every problem is its own finding; the verdict is derived from them. */
#include "chainsweep/authenticode.h"

#include <dirent.h>
#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/authenticode.h"
#include "util/digest.h"
#include "util/util.h"

#define OID_SPC_INDIRECT_DATA "1.3.6.1.4.1.311.2.1.4"
#define OID_SPC_PE_IMAGE_DATA "1.3.6.1.4.1.311.2.1.15"
/* Older sbsigntool (Debian's fwupdx64.efi.signed) writes the key-purpose OID
 * here; sbverify, osslsigncode and UEFI firmware accept it. */
#define OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE "1.3.6.1.4.1.311.2.1.21"
#define OID_SPC_SP_OPUS_INFO "1.3.6.1.4.1.311.2.1.12"
#define OID_NESTED_SIGNATURE "1.3.6.1.4.1.311.2.4.1"
#define OID_RFC3161_TIMESTAMP "1.3.6.1.4.1.311.3.3.1"
#define OID_PAGE_HASHES_SHA1 "1.3.6.1.4.1.311.2.3.1"
#define OID_PAGE_HASHES_SHA256 "1.3.6.1.4.1.311.2.3.2"
#define MAX_NESTING 4
#define MAX_SIGNATURES 32

static const unsigned char page_hash_class_id[16] = {0xa6, 0xb5, 0x86, 0xd5, 0xb4, 0xa1, 0x24, 0x66,
                                                     0xae, 0x05, 0xa2, 0x17, 0xda, 0x8e, 0x60, 0xd6};
static const unsigned char sigflip_marker[8] = {0xfe, 0xed, 0xfa, 0xce, 0xfe, 0xed, 0xfa, 0xce};

/* ---- issues: one table for names, scores, wording ---- */

static const struct {
    const char *name;
    int score;
    int tampering;
    const char *description;
} issues[CS_AC__COUNT] = {
    [CS_AC_PAYLOAD_IN_SIGNATURE] = {"payload_in_signature", 90, 1,
                                    "non-zero data after the PKCS#7 inside a WIN_CERTIFICATE (CVE-2013-3900, "
                                    "the 3CX d3dcompiler_47.dll technique)"},
    [CS_AC_PAYLOAD_MARKER] = {"sigflip_marker", 100, 1,
                              "SigFlip payload marker FE ED FA CE FE ED FA CE in the certificate table"},
    [CS_AC_ZERO_SLACK] = {"zero_slack", 40, 0, "8 or more zero bytes after the PKCS#7 inside a WIN_CERTIFICATE"},
    [CS_AC_DIGEST_MISMATCH] = {"digest_mismatch", 90, 1, "image digest differs: the file changed after signing"},
    [CS_AC_PAGE_HASH_MISMATCH] = {"page_hash_mismatch", 90, 1, "page hashes differ from the file"},
    [CS_AC_MESSAGE_DIGEST_MISMATCH] = {"message_digest_mismatch", 85, 1,
                                       "signed messageDigest does not match the signed content"},
    [CS_AC_BAD_SIGNATURE] = {"bad_signature", 85, 1, "the signer's signature over the signed attributes fails"},
    [CS_AC_MALFORMED_TABLE] = {"malformed_table", 70, 1,
                               "certificate table malformed (bounds, alignment, or Size not the sum of entries)"},
    [CS_AC_MALFORMED_SIGNATURE] = {"malformed_signature", 70, 1, "signature cannot be parsed as Authenticode"},
    [CS_AC_OVERLAY_AFTER_TABLE] = {"overlay_after_signature", 60, 1,
                                   "data after the certificate table (not covered by the signature)"},
    [CS_AC_MULTIPLE_ENTRIES] = {"multiple_entries", 40, 0,
                                "more than one WIN_CERTIFICATE (Windows reads only the first; UEFI binaries such "
                                "as shim are dual-signed this way)"},
    [CS_AC_UNAUTHENTICATED_ATTRIBUTE] = {"unauthenticated_attribute", 60, 1,
                                         "unauthenticated attribute other than a timestamp or nested signature "
                                         "(data stuffing)"},
    [CS_AC_BAD_TIMESTAMP] = {"bad_timestamp", 50, 0, "timestamp countersignature does not verify"},
    [CS_AC_EXPIRED] = {"expired", 40, 0,
                       "signer certificate not valid at the check time (the valid timestamp's, else now)"},
    [CS_AC_REVOKED] = {"revoked", 80, 0, "a certificate in the chain is revoked"},
    [CS_AC_UNTRUSTED] = {"untrusted", 50, 0, "chain does not lead to a given trust anchor"},
    [CS_AC_WRONG_EKU] = {"wrong_eku", 50, 0, "signer certificate lacks the code-signing extended key usage"},
};

const char *cs_ac_issue_name(cs_ac_issue i)
{
    return (unsigned)i < CS_AC__COUNT ? issues[i].name : "unknown";
}

const char *cs_ac_issue_description(cs_ac_issue i)
{
    return (unsigned)i < CS_AC__COUNT ? issues[i].description : "";
}

int cs_ac_issue_score(cs_ac_issue i)
{
    return (unsigned)i < CS_AC__COUNT ? issues[i].score : 0;
}

int cs_ac_issue_is_tampering(cs_ac_issue i)
{
    return (unsigned)i < CS_AC__COUNT && issues[i].tampering;
}

const char *cs_ac_verdict_name(cs_ac_verdict v)
{
    static const char *const names[] = {"valid", "intact, chain not checked against a trust anchor", "invalid",
                                        "tampered", "unsigned", "not a PE file"};
    return (unsigned)v < sizeof names / sizeof *names ? names[v] : "unknown";
}

const cs_ac_cert *cs_ac_primary_signer(const cs_ac_report *r)
{
    for (size_t i = 0; r && i < r->n_signatures; i++)
        if (r->signatures[i].has_signer)
            return &r->signatures[i].signer;
    return NULL;
}

const char *cs_ac_verdict_id(cs_ac_verdict v)
{
    static const char *const ids[] = {"valid", "intact", "invalid", "tampered", "unsigned", "not-pe"};
    return (unsigned)v < sizeof ids / sizeof *ids ? ids[v] : "unknown";
}

/* ---- trust store ---- */

struct cs_trust {
    X509_STORE *store;
    size_t certs;
    int crls;
    unsigned flags;             /* CS_TRUST_* */
};

void cs_trust_set_flags(cs_trust *t, unsigned flags)
{
    t->flags = flags;
}

cs_status cs_trust_new(cs_trust **out, cs_error *err)
{
    cs_trust *t = calloc(1, sizeof *t);
    if (!t || !(t->store = X509_STORE_new())) {
        free(t);
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    }
    *out = t;
    return CS_OK;
}

void cs_trust_free(cs_trust *t)
{
    if (!t)
        return;
    X509_STORE_free(t->store);
    free(t);
}

size_t cs_trust_count(const cs_trust *t)
{
    return t ? t->certs : 0;
}

static cs_status trust_add_file(cs_trust *t, const char *path, cs_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cs_error_set(err, CS_ERR_ARG, "--trust %s: cannot open", path);
    size_t n = 0;
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(t->store, x) == 1)
            n++;
        X509_free(x);
    }
    fclose(f);
    if (n == 0)
        return cs_error_set(err, CS_ERR_ARG, "--trust %s: no PEM certificate in it", path);
    t->certs += n;
    return CS_OK;
}

cs_status cs_trust_add(cs_trust *t, const char *path, cs_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cs_error_set(err, CS_ERR_ARG, "--trust %s: not found", path);
    if (!S_ISDIR(sb.st_mode))
        return trust_add_file(t, path, err);
    DIR *d = opendir(path);
    if (!d)
        return cs_error_set(err, CS_ERR_ARG, "--trust %s: cannot list", path);
    struct dirent *de;
    size_t before = t->certs;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        cs_buf p = {0};
        cs_buf_printf(&p, "%s/%s", path, de->d_name);
        cs_error ignored;
        if (stat(p.data, &sb) == 0 && S_ISREG(sb.st_mode))
            trust_add_file(t, p.data, &ignored); /* non-PEM files in a CA dir are normal */
        cs_buf_free(&p);
    }
    closedir(d);
    if (t->certs == before)
        return cs_error_set(err, CS_ERR_ARG, "--trust %s: no PEM certificate in the directory", path);
    return CS_OK;
}

cs_status cs_trust_add_crl(cs_trust *t, const char *path, cs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cs_error_set(err, CS_ERR_ARG, "--crl %s: cannot open", path);
    X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    if (!crl) {
        rewind(f);
        crl = d2i_X509_CRL_fp(f, NULL);
    }
    fclose(f);
    if (!crl)
        return cs_error_set(err, CS_ERR_ARG, "--crl %s: not a CRL in PEM or DER", path);
    X509_STORE_add_crl(t->store, crl);
    X509_CRL_free(crl);
    t->crls++;
    return CS_OK;
}

/* ---- DER walking (OpenSSL's ASN1_get_object does the bounds checks) ---- */

typedef struct der {
    const unsigned char *tlv, *val;
    size_t tlv_len, len;
    int tag, cls, constructed;
} der;

static int der_next(const unsigned char **p, const unsigned char *end, der *d)
{
    if (*p >= end)
        return -1;
    const unsigned char *start = *p;
    long len;
    int tag, cls;
    int r = ASN1_get_object(p, &len, &tag, &cls, (long)(end - start));
    if ((r & 0x80) || r == (V_ASN1_CONSTRUCTED | 1)) /* error, or indefinite length */
        return -1;
    d->tlv = start;
    d->val = *p;
    d->len = (size_t)len;
    d->tag = tag;
    d->cls = cls;
    d->constructed = r & V_ASN1_CONSTRUCTED;
    d->tlv_len = (size_t)(*p - start) + d->len;
    *p += len;
    return 0;
}

/* The OID in a DER OBJECT IDENTIFIER value, as dotted text. */
static int der_oid_is(const der *d, const char *dotted)
{
    if (d->cls != V_ASN1_UNIVERSAL || d->tag != V_ASN1_OBJECT)
        return 0;
    const unsigned char *p = d->tlv;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)d->tlv_len);
    if (!o)
        return 0;
    char buf[80];
    OBJ_obj2txt(buf, sizeof buf, o, 1);
    ASN1_OBJECT_free(o);
    return strcmp(buf, dotted) == 0;
}

static int obj_is(const ASN1_OBJECT *o, const char *dotted)
{
    char buf[80];
    if (!o || OBJ_obj2txt(buf, sizeof buf, o, 1) <= 0)
        return 0;
    return strcmp(buf, dotted) == 0;
}

/* ---- report building ---- */

typedef struct verifier {
    const cs_pe *pe;
    const unsigned char *data;
    size_t size;
    uint32_t table_off, table_size;
    const cs_trust *trust;
    time_t now;
    cs_ac_report *rep;
    size_t sig_cap, find_cap;
    /* image digests computed so far, by algorithm */
    int digest_nid[4];
    unsigned char digest[4][EVP_MAX_MD_SIZE];
    unsigned digest_len[4];
    int n_digests;
} verifier;

static void add_finding(verifier *v, cs_ac_issue issue, int sig, const char *fmt, ...) CS_PRINTF(4, 5);
static void add_finding(verifier *v, cs_ac_issue issue, int sig, const char *fmt, ...)
{
    cs_ac_report *r = v->rep;
    cs_grow((void **)&r->findings, &v->find_cap, r->n_findings + 1, sizeof *r->findings);
    cs_ac_finding *f = &r->findings[r->n_findings++];
    f->issue = issue;
    f->signature = sig;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
}

void cs_ac_cert_fill(cs_ac_cert *c, X509 *x)
{
    memset(c, 0, sizeof *c);
    X509_NAME_oneline(X509_get_subject_name(x), c->subject, sizeof c->subject);
    X509_NAME_oneline(X509_get_issuer_name(x), c->issuer, sizeof c->issuer);
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    cs_buf b = {0};
    for (int i = 0; sn && i < sn->length && b.len < sizeof c->serial - 4; i++)
        cs_buf_printf(&b, "%s%02x", i ? ":" : "", sn->data[i]);
    snprintf(c->serial, sizeof c->serial, "%s", b.data ? b.data : "");
    cs_buf_free(&b);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len;
    if (X509_digest(x, cs_md_sha1(), md, &len))
        cs_hex(c->sha1, md, len);
    if (X509_digest(x, cs_md_sha256(), md, &len))
        cs_hex(c->sha256, md, len);
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
        c->not_before = timegm(&tm);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
        c->not_after = timegm(&tm);
}

/* ---- digests ---- */

/* Linear Authenticode digest: [0, table) less CheckSum and the security
 * directory entry. Equals the specification's digest on conforming files. */
/* The image's Authenticode digest over [0, end): the CheckSum field and the
 * security directory entry left out, in chunks given back once digested. */
static int digest_image(const cs_pe *pe, const unsigned char *data, size_t end, const EVP_MD *md,
                        unsigned char *out, unsigned *len)
{
    size_t ranges[3][2] = {
        {0, pe->checksum_offset},
        {pe->checksum_offset + 4, pe->certdir_offset},
        {pe->certdir_offset + 8, end},
    };
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    for (int i = 0; i < 3; i++)
        for (size_t at = ranges[i][0]; at < ranges[i][1];) {
            /* in chunks, each given back once digested: a huge image stays small in RSS */
            size_t n = ranges[i][1] - at < CS_RELEASE_CHUNK ? ranges[i][1] - at : CS_RELEASE_CHUNK;
            EVP_DigestUpdate(ctx, data + at, n);
            if (n == CS_RELEASE_CHUNK && pe->release)
                pe->release(pe->release_ud, data + at, n);
            at += n;
        }
    int ok = EVP_DigestFinal_ex(ctx, out, len);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

int cs_pe_authentihash(const cs_pe *pe, unsigned char out[32])
{
    /* up to the certificate table when there is one at the end, else the whole file */
    size_t end = pe->size;
    if (pe->certdir_offset && pe->n_dirs > CS_PE_DIR_SECURITY && pe->dir_size[CS_PE_DIR_SECURITY]) {
        uint64_t off = pe->dir_va[CS_PE_DIR_SECURITY];
        if (off >= pe->end_of_sections && off <= pe->size)
            end = (size_t)off;
    }
    if (!pe->certdir_offset || pe->checksum_offset + 4 > pe->certdir_offset || pe->certdir_offset + 8 > end)
        return -1;
    unsigned len = 0;
    return digest_image(pe, pe->data, end, cs_md_sha256(), out, &len) == 0 && len == 32 ? 0 : -1;
}

static const unsigned char *image_digest(verifier *v, const EVP_MD *md, unsigned *len)
{
    int nid = EVP_MD_get_type(md);
    for (int i = 0; i < v->n_digests; i++)
        if (v->digest_nid[i] == nid) {
            *len = v->digest_len[i];
            return v->digest[i];
        }
    if (v->n_digests == 4)
        return NULL;
    int k = v->n_digests;
    if (digest_image(v->pe, v->data, v->table_off, md, v->digest[k], &v->digest_len[k]) != 0)
        return NULL;
    v->digest_nid[k] = nid;
    v->n_digests++;
    *len = v->digest_len[k];
    return v->digest[k];
}

static int hash_bytes(const EVP_MD *md, const void *p, size_t n, unsigned char *out, unsigned *len)
{
    return EVP_Digest(p, n, out, len, md, NULL);
}

/* ---- signer infos ---- */

typedef enum { SI_OK = 0, SI_NO_CERT, SI_DIGEST_MISMATCH, SI_BAD_SIGNATURE, SI_NO_DIGEST } si_status;

static const ASN1_OCTET_STRING *signed_message_digest(PKCS7_SIGNER_INFO *si)
{
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, NID_pkcs9_messageDigest);
    return t && t->type == V_ASN1_OCTET_STRING ? t->value.octet_string : NULL;
}

/* Check one SignerInfo over content: messageDigest, then the signature over
 * the signed attributes with the signer's key. */
static si_status verify_signer_info(PKCS7_SIGNER_INFO *si, STACK_OF(X509) *certs, const unsigned char *content,
                                    size_t content_len, X509 **signer)
{
    PKCS7_ISSUER_AND_SERIAL *ias = si->issuer_and_serial;
    X509 *x = ias ? X509_find_by_issuer_and_serial(certs, ias->issuer, ias->serial) : NULL;
    *signer = x;
    if (!x)
        return SI_NO_CERT;
    const EVP_MD *md = EVP_get_digestbyobj(si->digest_alg->algorithm);
    if (!md)
        return SI_NO_DIGEST;
    int ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (sk_X509_ATTRIBUTE_num(si->auth_attr) > 0) {
        const ASN1_OCTET_STRING *want = signed_message_digest(si);
        unsigned char got[EVP_MAX_MD_SIZE];
        unsigned got_len;
        if (!want || !hash_bytes(md, content, content_len, got, &got_len) || (unsigned)want->length != got_len ||
            memcmp(want->data, got, got_len) != 0) {
            EVP_MD_CTX_free(ctx);
            return SI_DIGEST_MISMATCH;
        }
        unsigned char *attrs = NULL;
        int alen = ASN1_item_i2d((ASN1_VALUE *)si->auth_attr, &attrs, ASN1_ITEM_rptr(PKCS7_ATTR_VERIFY));
        ok = alen > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, X509_get0_pubkey(x)) == 1 &&
             EVP_DigestVerify(ctx, si->enc_digest->data, (size_t)si->enc_digest->length, attrs, (size_t)alen) == 1;
        OPENSSL_free(attrs);
    } else {
        ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, X509_get0_pubkey(x)) == 1 &&
             EVP_DigestVerify(ctx, si->enc_digest->data, (size_t)si->enc_digest->length, content, content_len) == 1;
    }
    EVP_MD_CTX_free(ctx);
    return ok ? SI_OK : SI_BAD_SIGNATURE;
}

/* The signed content of a SignedData: the value octets of its eContent. */
static int signed_content(PKCS7 *p7, const unsigned char **p, size_t *n)
{
    PKCS7 *c = p7->d.sign->contents;
    if (!c || !c->d.other)
        return -1;
    ASN1_TYPE *t = c->d.other;
    if (t->type == V_ASN1_SEQUENCE) {
        /* Authenticode: the SEQUENCE without its tag and length */
        const unsigned char *q = t->value.sequence->data;
        der d;
        if (der_next(&q, q + t->value.sequence->length, &d) != 0)
            return -1;
        *p = d.val;
        *n = d.len;
        return 0;
    }
    if (t->type == V_ASN1_OCTET_STRING) {
        *p = t->value.octet_string->data;
        *n = (size_t)t->value.octet_string->length;
        return 0;
    }
    return -1;
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    return t && ASN1_TIME_to_tm(t, &tm) ? timegm(&tm) : 0;
}

/* What the verify callback may let pass (X509_STORE_CTX app data). */
typedef struct chain_policy {
    int revocation;          /* validity periods were checked already, at the right time */
    int apple;               /* Apple's own critical extensions are understood */
} chain_policy;

/* Apple marks extensions of its code-signing certificates critical
 * (1.2.840.113635.100.6.1.13 on Developer ID leaves) that OpenSSL does not
 * know; they constrain where a certificate may be used, which the code
 * signature itself says. Any other unknown critical extension still fails. */
static int only_apple_extensions(X509 *x)
{
    for (int i = 0; x && i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *e = X509_get_ext(x, i);
        if (!X509_EXTENSION_get_critical(e) || X509_supported_extension(e))
            continue;
        char oid[80];
        if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1) <= 0 ||
            strncmp(oid, "1.2.840.113635.100.6.", 21) != 0)
            return 0;
    }
    return x != NULL;
}

static int chain_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    const chain_policy *pol = X509_STORE_CTX_get_app_data(ctx);
    int e = X509_STORE_CTX_get_error(ctx);
    if (!ok && pol && pol->revocation && (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID))
        return 1;
    if (!ok && pol && pol->apple && e == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION &&
        only_apple_extensions(X509_STORE_CTX_get_current_cert(ctx)))
        return 1;
    return ok;
}

static int chain_pass(const cs_trust *trust, X509 *x, STACK_OF(X509) *untrusted, time_t t, int purpose,
                      chain_policy pol, cs_ac_cert *chain, size_t *chain_len, int *err_code, char *err_text,
                      size_t err_len)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || !X509_STORE_CTX_init(ctx, trust->store, x, untrusted)) {
        X509_STORE_CTX_free(ctx);
        snprintf(err_text, err_len, "cannot set up chain verification");
        *err_code = -1;
        return 0;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    /* a check time takes precedence over NO_CHECK_TIME in OpenSSL: set one or the other */
    if (trust->flags & CS_TRUST_IGNORE_TIME)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
    else
        X509_VERIFY_PARAM_set_time(param, t);
    X509_VERIFY_PARAM_set_purpose(param, purpose);
    if (trust->flags & CS_TRUST_PARTIAL_CHAIN)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (pol.revocation)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX_set_app_data(ctx, &pol);
    X509_STORE_CTX_set_verify_cb(ctx, chain_verify_cb);
    int ok = X509_verify_cert(ctx) == 1;
    *err_code = ok ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    if (ok)
        err_text[0] = '\0';
    else
        snprintf(err_text, err_len, "%s", X509_verify_cert_error_string(*err_code));
    if (chain) {
        STACK_OF(X509) *got = X509_STORE_CTX_get0_chain(ctx);
        *chain_len = 0;
        for (int i = 0; got && i < sk_X509_num(got) && *chain_len < CS_AC_MAX_CHAIN; i++)
            cs_ac_cert_fill(&chain[(*chain_len)++], sk_X509_value(got, i));
    }
    X509_STORE_CTX_free(ctx);
    return ok;
}

int cs_trust_check_chain(const cs_trust *trust, X509 *x, STACK_OF(X509) *untrusted, time_t t, time_t now,
                         int purpose, int apple, cs_ac_cert *chain, size_t *chain_len, int *err_code,
                         char *err_text, size_t err_len)
{
    chain_policy pol = {0, apple};
    if (!chain_pass(trust, x, untrusted, t, purpose, pol, chain, chain_len, err_code, err_text, err_len))
        return 0;
    if (!trust->crls)
        return 1;
    pol.revocation = 1;
    return chain_pass(trust, x, untrusted, now, purpose, pol, NULL, NULL, err_code, err_text, err_len);
}

/* Chain of x at time t against the trust store, then (with CRLs) revocation
 * as of now: a CRL issued after a timestamp still tells about revocation. */
static int check_chain(verifier *v, X509 *x, STACK_OF(X509) *untrusted, time_t t, int purpose,
                       cs_ac_signature *s, int *err_code, char *err_text, size_t err_len)
{
    return cs_trust_check_chain(v->trust, x, untrusted, t, v->now, purpose, 0, s ? s->chain : NULL,
                                s ? &s->chain_len : NULL, err_code, err_text, err_len);
}

/* Timestamps: legacy PKCS#9 countersignature and RFC 3161 token. Both sign
 * a hash of the primary signature value. */
static void verify_timestamp(verifier *v, int si_index, PKCS7 *p7, PKCS7_SIGNER_INFO *si, X509_ATTRIBUTE *attr,
                             int rfc3161)
{
    cs_ac_signature *s = &v->rep->signatures[si_index];
    ASN1_TYPE *val = X509_ATTRIBUTE_get0_type(attr, 0);
    s->timestamp = rfc3161 ? 2 : 1;
    if (!val || val->type != V_ASN1_SEQUENCE) {
        add_finding(v, CS_AC_BAD_TIMESTAMP, si_index, "timestamp attribute is not a SEQUENCE");
        return;
    }
    const unsigned char *p = val->value.sequence->data;
    long len = val->value.sequence->length;
    const ASN1_OCTET_STRING *sigval = si->enc_digest;
    if (rfc3161) {
        cs_rfc3161 ts;
        cs_rfc3161_check(p, (size_t)len, sigval->data, (size_t)sigval->length, v->trust, v->now, 0, &ts);
        if (ts.has_tsa)
            s->tsa = ts.tsa;
        if (!ts.ok) {
            add_finding(v, CS_AC_BAD_TIMESTAMP, si_index, "%s", ts.problem);
        } else {
            s->timestamp_ok = 1;
            s->timestamp_time = ts.time;
        }
        return;
    }
    /* a legacy PKCS#9 countersignature: a SignerInfo over the signature value */
    X509 *tsa = NULL;
    const char *problem = NULL;
    time_t when = 0;
    STACK_OF(X509) *certs = p7->d.sign->cert;
    PKCS7_SIGNER_INFO *csi = d2i_PKCS7_SIGNER_INFO(NULL, &p, len);
    if (!csi) {
        problem = "countersignature cannot be parsed";
    } else {
        si_status st = verify_signer_info(csi, certs, sigval->data, (size_t)sigval->length, &tsa);
        problem = st == SI_NO_CERT           ? "countersigner certificate missing"
                  : st == SI_DIGEST_MISMATCH ? "countersignature does not cover this signature"
                  : st == SI_OK              ? NULL
                                             : "countersignature does not verify";
        ASN1_TYPE *t = PKCS7_get_signed_attribute(csi, NID_pkcs9_signingTime);
        if (t && (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME))
            when = asn1_time(t->value.utctime);
        else if (!problem)
            problem = "countersignature has no signing time";
        PKCS7_SIGNER_INFO_free(csi);
    }
    if (tsa)
        cs_ac_cert_fill(&s->tsa, tsa);
    if (!problem && tsa && v->trust && v->trust->certs) {
        int code;
        char text[96];
        if (!check_chain(v, tsa, certs, when, X509_PURPOSE_TIMESTAMP_SIGN, NULL, &code, text, sizeof text)) {
            add_finding(v, CS_AC_BAD_TIMESTAMP, si_index, "TSA certificate chain fails: %s", text);
            problem = "";
        }
    }
    if (problem) {
        if (*problem)
            add_finding(v, CS_AC_BAD_TIMESTAMP, si_index, "%s", problem);
    } else {
        s->timestamp_ok = 1;
        s->timestamp_time = when;
    }
}

void cs_rfc3161_check(const unsigned char *p, size_t len, const unsigned char *sigval, size_t sig_len,
                      const cs_trust *trust, time_t now, int apple, cs_rfc3161 *out)
{
    memset(out, 0, sizeof *out);
    const char *problem = NULL;
    X509 *tsa = NULL;
    STACK_OF(X509) *certs = NULL;
    /* RFC 3161 tokens are CMS (often SignedData v3), which the PKCS7 parser
     * does not take: use the CMS API. */
    CMS_ContentInfo *cms = len <= LONG_MAX ? d2i_CMS_ContentInfo(NULL, &p, (long)len) : NULL;
    ASN1_OCTET_STRING **econtent = cms ? CMS_get0_content(cms) : NULL;
    const unsigned char *q = econtent && *econtent ? (*econtent)->data : NULL;
    TS_TST_INFO *tst = q && OBJ_obj2nid(CMS_get0_eContentType(cms)) == NID_id_smime_ct_TSTInfo
                           ? d2i_TS_TST_INFO(NULL, &q, (*econtent)->length)
                           : NULL;
    if (!tst) {
        problem = "RFC 3161 token cannot be parsed";
    } else {
        TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
        const EVP_MD *md = EVP_get_digestbyobj(TS_MSG_IMPRINT_get_algo(mi)->algorithm);
        ASN1_OCTET_STRING *want = TS_MSG_IMPRINT_get_msg(mi);
        unsigned char got[EVP_MAX_MD_SIZE];
        unsigned got_len = 0;
        if (!md || !hash_bytes(md, sigval, sig_len, got, &got_len) || (unsigned)want->length != got_len ||
            memcmp(want->data, got, got_len) != 0)
            problem = "timestamp imprint does not match this signature";
        else if (CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1)
            problem = "RFC 3161 token signature does not verify";
        STACK_OF(X509) *signers = CMS_get0_signers(cms);
        if (signers && sk_X509_num(signers) > 0)
            tsa = sk_X509_value(signers, 0);
        sk_X509_free(signers);
        out->time = asn1_time(TS_TST_INFO_get_time(tst));
        certs = CMS_get1_certs(cms);
    }
    if (tsa) {
        cs_ac_cert_fill(&out->tsa, tsa);
        out->has_tsa = 1;
    }
    if (!problem && tsa && trust && trust->certs) {
        int code;
        char text[96];
        if (!cs_trust_check_chain(trust, tsa, certs, out->time, now, X509_PURPOSE_TIMESTAMP_SIGN, apple, NULL, NULL, &code,
                                  text, sizeof text)) {
            snprintf(out->problem, sizeof out->problem, "TSA certificate chain fails: %s", text);
            problem = out->problem;
        }
    }
    if (problem && problem != out->problem)
        snprintf(out->problem, sizeof out->problem, "%s", problem);
    out->ok = !problem;
    TS_TST_INFO_free(tst);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(cms);
}

/* ---- SpcIndirectDataContent ---- */

typedef struct indirect {
    const unsigned char *image_data;   /* SpcPeImageData value (may be NULL) */
    size_t image_data_len;
    const EVP_MD *md;
    char md_name[32];
    const unsigned char *digest;
    size_t digest_len;
} indirect;

static int parse_indirect(const unsigned char *p, size_t n, indirect *out)
{
    const unsigned char *end = p + n;
    der data, type, digest_info, alg, alg_oid, digest;
    memset(out, 0, sizeof *out);
    if (der_next(&p, end, &data) != 0 || data.tag != V_ASN1_SEQUENCE)
        return -1;
    const unsigned char *q = data.val;
    if (der_next(&q, data.val + data.len, &type) != 0 ||
        !(der_oid_is(&type, OID_SPC_PE_IMAGE_DATA) || der_oid_is(&type, OID_SPC_INDIVIDUAL_SP_KEY_PURPOSE)))
        return -2;
    der value;
    if (der_next(&q, data.val + data.len, &value) == 0) {
        out->image_data = value.tlv;
        out->image_data_len = value.tlv_len;
    }
    if (der_next(&p, end, &digest_info) != 0 || digest_info.tag != V_ASN1_SEQUENCE)
        return -1;
    q = digest_info.val;
    const unsigned char *dend = digest_info.val + digest_info.len;
    if (der_next(&q, dend, &alg) != 0 || alg.tag != V_ASN1_SEQUENCE || der_next(&q, dend, &digest) != 0 ||
        digest.tag != V_ASN1_OCTET_STRING)
        return -1;
    const unsigned char *a = alg.val;
    if (der_next(&a, alg.val + alg.len, &alg_oid) != 0 || alg_oid.tag != V_ASN1_OBJECT)
        return -1;
    const unsigned char *o = alg_oid.tlv;
    ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &o, (long)alg_oid.tlv_len);
    out->md = obj ? EVP_get_digestbyobj(obj) : NULL;
    if (obj)
        OBJ_obj2txt(out->md_name, sizeof out->md_name, obj, 0);
    ASN1_OBJECT_free(obj);
    out->digest = digest.val;
    out->digest_len = digest.len;
    return out->md ? 0 : -3;
}

/* Page hashes sit in SpcPeImageData.file: [0] { [1] moniker SpcSerializedObject
 * { classId, serializedData: SET { SEQ { OID, SET { OCTET STRING table } } } } }. */
static int find_page_hashes(const unsigned char *p, size_t n, const EVP_MD **md, const unsigned char **table,
                            size_t *table_len)
{
    const unsigned char *end = p + n;
    der img, flags, file, link, class_id, ser, set, seq, oid, inner, octets;
    if (der_next(&p, end, &img) != 0 || img.tag != V_ASN1_SEQUENCE)
        return -1;
    p = img.val;
    end = img.val + img.len;
    if (der_next(&p, end, &flags) != 0)
        return -1;
    if (flags.tag != V_ASN1_BIT_STRING)
        p = flags.tlv; /* flags absent: DEFAULT */
    if (der_next(&p, end, &file) != 0 || file.cls != V_ASN1_CONTEXT_SPECIFIC || file.tag != 0)
        return -1;
    p = file.val;
    if (der_next(&p, file.val + file.len, &link) != 0 || link.cls != V_ASN1_CONTEXT_SPECIFIC || link.tag != 1)
        return -1; /* not a moniker: no page hashes */
    p = link.val;
    end = link.val + link.len;
    if (der_next(&p, end, &class_id) != 0 || class_id.tag != V_ASN1_OCTET_STRING || class_id.len != 16 ||
        memcmp(class_id.val, page_hash_class_id, 16) != 0)
        return -1;
    if (der_next(&p, end, &ser) != 0 || ser.tag != V_ASN1_OCTET_STRING)
        return -1;
    p = ser.val;
    end = ser.val + ser.len;
    if (der_next(&p, end, &set) != 0 || set.tag != V_ASN1_SET)
        return -1;
    p = set.val;
    if (der_next(&p, set.val + set.len, &seq) != 0 || seq.tag != V_ASN1_SEQUENCE)
        return -1;
    p = seq.val;
    end = seq.val + seq.len;
    if (der_next(&p, end, &oid) != 0)
        return -1;
    if (der_oid_is(&oid, OID_PAGE_HASHES_SHA1))
        *md = cs_md_sha1();
    else if (der_oid_is(&oid, OID_PAGE_HASHES_SHA256))
        *md = cs_md_sha256();
    else
        return -2;
    if (der_next(&p, end, &inner) != 0 || inner.tag != V_ASN1_SET)
        return -2;
    p = inner.val;
    if (der_next(&p, inner.val + inner.len, &octets) != 0 || octets.tag != V_ASN1_OCTET_STRING)
        return -2;
    *table = octets.val;
    *table_len = octets.len;
    return 0;
}

static void zero_pad(EVP_MD_CTX *ctx, size_t pad)
{
    static const unsigned char zeros[4096];
    while (pad) {
        size_t k = pad < sizeof zeros ? pad : sizeof zeros;
        EVP_DigestUpdate(ctx, zeros, k);
        pad -= k;
    }
}

static void digest_into(EVP_MD_CTX *ctx, const EVP_MD *md, const unsigned char *p, size_t n, size_t pad,
                        unsigned char *out)
{
    unsigned len;
    EVP_DigestInit_ex(ctx, md, NULL);
    EVP_DigestUpdate(ctx, p, n);
    zero_pad(ctx, pad);
    EVP_DigestFinal_ex(ctx, out, &len);
}

/* Recompute the page-hash table (4-byte offset + digest per page of
 * SectionAlignment bytes, the header page without CheckSum and the security
 * directory entry, short pages zero-padded, a final end record) and compare. */
static int page_hashes_match(verifier *v, const EVP_MD *md, const unsigned char *table, size_t table_len)
{
    const cs_pe *pe = v->pe;
    size_t mdlen = (size_t)EVP_MD_get_size(md), rec = 4 + mdlen;
    uint32_t page = pe->section_alignment, hdr = pe->size_of_headers;
    if (page < 512 || page > (4u << 20) || hdr > page || hdr > v->table_off ||
        hdr < pe->certdir_offset + 8 || table_len % rec != 0)
        return 0;
    unsigned char buf[4 + EVP_MAX_MD_SIZE];
    size_t at = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL;
    /* header page */
    if (ok) {
        EVP_DigestInit_ex(ctx, md, NULL);
        EVP_DigestUpdate(ctx, v->data, pe->checksum_offset);
        EVP_DigestUpdate(ctx, v->data + pe->checksum_offset + 4, pe->certdir_offset - pe->checksum_offset - 4);
        EVP_DigestUpdate(ctx, v->data + pe->certdir_offset + 8, hdr - pe->certdir_offset - 8);
        zero_pad(ctx, page - hdr);
        memset(buf, 0, 4);
        unsigned len;
        EVP_DigestFinal_ex(ctx, buf + 4, &len);
        ok = at + rec <= table_len && memcmp(table + at, buf, rec) == 0;
        at += rec;
    }
    uint32_t last = 0;
    for (unsigned i = 0; ok && i < pe->n_sections; i++) {
        cs_pe_section s;
        cs_pe_section_get(pe, i, &s);
        if (s.raw_size == 0)
            continue;
        if (s.raw_offset >= v->table_off || s.raw_size > v->table_off - s.raw_offset) {
            ok = 0;
            break;
        }
        for (uint32_t l = 0; ok && l < s.raw_size; l += page) {
            size_t n = s.raw_size - l < page ? s.raw_size - l : page;
            uint32_t off = s.raw_offset + l;
            buf[0] = (unsigned char)off, buf[1] = (unsigned char)(off >> 8);
            buf[2] = (unsigned char)(off >> 16), buf[3] = (unsigned char)(off >> 24);
            digest_into(ctx, md, v->data + off, n, page - n, buf + 4);
            ok = at + rec <= table_len && memcmp(table + at, buf, rec) == 0;
            at += rec;
            if (l > UINT32_MAX - page)
                break;
        }
        last = s.raw_offset + s.raw_size;
    }
    if (ok) {
        buf[0] = (unsigned char)last, buf[1] = (unsigned char)(last >> 8);
        buf[2] = (unsigned char)(last >> 16), buf[3] = (unsigned char)(last >> 24);
        memset(buf + 4, 0, mdlen);
        ok = at + rec == table_len && memcmp(table + at, buf, rec) == 0;
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* SpcSpOpusInfo: programName [0] SpcString, moreInfo [1] SpcLink (url [0]). */
static void read_opus_info(PKCS7_SIGNER_INFO *si, cs_ac_signature *s)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_SPC_SP_OPUS_INFO, 1);
    int idx = oid ? X509at_get_attr_by_OBJ(si->auth_attr, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    ASN1_TYPE *t = idx >= 0 ? X509_ATTRIBUTE_get0_type(X509at_get_attr(si->auth_attr, idx), 0) : NULL;
    if (!t || t->type != V_ASN1_SEQUENCE)
        return;
    const unsigned char *p = t->value.sequence->data, *end = p + t->value.sequence->length;
    der seq, item, inner;
    if (der_next(&p, end, &seq) != 0)
        return;
    p = seq.val;
    end = seq.val + seq.len;
    while (der_next(&p, end, &item) == 0) {
        if (item.cls != V_ASN1_CONTEXT_SPECIFIC)
            continue;
        const unsigned char *q = item.val;
        if (der_next(&q, item.val + item.len, &inner) != 0 || inner.cls != V_ASN1_CONTEXT_SPECIFIC)
            continue;
        if (item.tag == 0 && inner.tag == 0) { /* BMPString: keep the ASCII range */
            size_t k = 0;
            for (size_t i = 0; i + 1 < inner.len && k + 1 < sizeof s->program_name; i += 2)
                s->program_name[k++] = inner.val[i] == 0 && inner.val[i + 1] >= 0x20 && inner.val[i + 1] < 0x7f
                                           ? (char)inner.val[i + 1] : '?';
            s->program_name[k] = '\0';
        } else if (item.tag == 0 && inner.tag == 1) {
            snprintf(s->program_name, sizeof s->program_name, "%.*s", (int)inner.len, (const char *)inner.val);
        } else if (item.tag == 1 && inner.tag == 0) {
            snprintf(s->program_url, sizeof s->program_url, "%.*s", (int)inner.len, (const char *)inner.val);
        }
    }
}

/* ---- one signature ---- */

static void verify_pkcs7(verifier *v, PKCS7 *p7, int entry, int depth);

static void verify_unauthenticated(verifier *v, int idx, PKCS7 *p7, PKCS7_SIGNER_INFO *si, int entry, int depth)
{
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(si->unauth_attr); i++) {
        X509_ATTRIBUTE *attr = sk_X509_ATTRIBUTE_value(si->unauth_attr, i);
        ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(attr);
        if (OBJ_obj2nid(obj) == NID_pkcs9_countersignature) {
            verify_timestamp(v, idx, p7, si, attr, 0);
        } else if (obj_is(obj, OID_RFC3161_TIMESTAMP)) {
            verify_timestamp(v, idx, p7, si, attr, 1);
        } else if (obj_is(obj, OID_NESTED_SIGNATURE)) {
            for (int k = 0; k < X509_ATTRIBUTE_count(attr); k++) {
                ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, k);
                const unsigned char *p = t && t->type == V_ASN1_SEQUENCE ? t->value.sequence->data : NULL;
                PKCS7 *nested = p ? d2i_PKCS7(NULL, &p, t->value.sequence->length) : NULL;
                if (!nested || depth + 1 > MAX_NESTING)
                    add_finding(v, CS_AC_MALFORMED_SIGNATURE, idx, "nested signature %d cannot be parsed", k);
                else
                    verify_pkcs7(v, nested, entry, depth + 1);
                PKCS7_free(nested);
            }
        } else {
            char name[80];
            OBJ_obj2txt(name, sizeof name, obj, 1);
            add_finding(v, CS_AC_UNAUTHENTICATED_ATTRIBUTE, idx, "unauthenticated attribute %s", name);
        }
    }
}

static void check_validity(verifier *v, int idx, X509 *signer, STACK_OF(X509) *certs)
{
    cs_ac_signature *s = &v->rep->signatures[idx];
    time_t at = s->timestamp_ok ? s->timestamp_time : v->now;
    uint32_t xku = X509_get_extension_flags(signer) & EXFLAG_XKUSAGE ? X509_get_extended_key_usage(signer) : UINT32_MAX;
    if (!(xku & XKU_CODE_SIGN))
        add_finding(v, CS_AC_WRONG_EKU, idx, "signer %s", s->signer.subject);
    if (!v->trust || !v->trust->certs) {
        s->chain_status = CS_AC_CHAIN_NOT_CHECKED;
        if (at < s->signer.not_before || at > s->signer.not_after) {
            char nb[32], na[32], when[32];
            struct tm tm;
            strftime(nb, sizeof nb, "%Y-%m-%d", gmtime_r(&s->signer.not_before, &tm));
            strftime(na, sizeof na, "%Y-%m-%d", gmtime_r(&s->signer.not_after, &tm));
            strftime(when, sizeof when, "%Y-%m-%d", gmtime_r(&at, &tm));
            add_finding(v, CS_AC_EXPIRED, idx, "signer valid %s to %s, checked at %s%s", nb, na, when,
                        s->timestamp_ok ? " (timestamp)" : "");
        }
        return;
    }
    int code;
    if (check_chain(v, signer, certs, at, X509_PURPOSE_ANY, s, &code, s->chain_error, sizeof s->chain_error)) {
        s->chain_status = CS_AC_CHAIN_OK;
        return;
    }
    s->chain_status = CS_AC_CHAIN_FAILED;
    if (code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CERT_NOT_YET_VALID)
        add_finding(v, CS_AC_EXPIRED, idx, "%s%s", s->chain_error, s->timestamp_ok ? " at the timestamp time" : "");
    else if (code == X509_V_ERR_CERT_REVOKED)
        add_finding(v, CS_AC_REVOKED, idx, "%s", s->chain_error);
    else
        add_finding(v, CS_AC_UNTRUSTED, idx, "%s", s->chain_error);
}

static void verify_pkcs7(verifier *v, PKCS7 *p7, int entry, int depth)
{
    cs_ac_report *r = v->rep;
    if (r->n_signatures >= MAX_SIGNATURES) {
        add_finding(v, CS_AC_MALFORMED_SIGNATURE, -1, "more than %d signatures", MAX_SIGNATURES);
        return;
    }
    cs_grow((void **)&r->signatures, &v->sig_cap, r->n_signatures + 1, sizeof *r->signatures);
    int idx = (int)r->n_signatures++;
    cs_ac_signature *s = &r->signatures[idx];
    memset(s, 0, sizeof *s);
    s->entry = entry;
    s->nested = depth;

    if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents ||
        !obj_is(p7->d.sign->contents->type, OID_SPC_INDIRECT_DATA)) {
        add_finding(v, CS_AC_MALFORMED_SIGNATURE, idx, "not an Authenticode SignedData");
        return;
    }
    if (sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) != 1) {
        add_finding(v, CS_AC_MALFORMED_SIGNATURE, idx, "%d SignerInfos, Authenticode allows exactly one",
                    sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info));
        return;
    }
    const unsigned char *content;
    size_t content_len;
    indirect ind;
    if (signed_content(p7, &content, &content_len) != 0 || parse_indirect(content, content_len, &ind) != 0) {
        add_finding(v, CS_AC_MALFORMED_SIGNATURE, idx, "SpcIndirectDataContent missing, not for a PE image, or "
                                                       "with an unknown digest");
        return;
    }
    snprintf(s->digest_alg, sizeof s->digest_alg, "%s", ind.md_name);
    unsigned computed_len = 0;
    const unsigned char *computed = image_digest(v, ind.md, &computed_len);
    s->digest_len = ind.digest_len < sizeof s->signed_digest ? ind.digest_len : sizeof s->signed_digest;
    memcpy(s->signed_digest, ind.digest, s->digest_len);
    if (computed)
        memcpy(s->computed_digest, computed, computed_len);
    s->digest_ok = computed && computed_len == ind.digest_len && memcmp(computed, ind.digest, computed_len) == 0;
    if (!s->digest_ok)
        add_finding(v, CS_AC_DIGEST_MISMATCH, idx, "%s signed digest differs from the file's", s->digest_alg);

    const EVP_MD *ph_md;
    const unsigned char *table;
    size_t table_len;
    if (ind.image_data && find_page_hashes(ind.image_data, ind.image_data_len, &ph_md, &table, &table_len) == 0) {
        s->page_hashes = 1;
        s->page_hashes_ok = page_hashes_match(v, ph_md, table, table_len);
        if (!s->page_hashes_ok)
            add_finding(v, CS_AC_PAGE_HASH_MISMATCH, idx, "%s page hashes", EVP_MD_get0_name(ph_md));
    }

    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
    X509 *signer = NULL;
    si_status st = verify_signer_info(si, p7->d.sign->cert, content, content_len, &signer);
    s->message_digest_ok = st == SI_OK || st == SI_BAD_SIGNATURE;
    s->signature_ok = st == SI_OK;
    if (signer) {
        s->has_signer = 1;
        cs_ac_cert_fill(&s->signer, signer);
    }
    if (st == SI_NO_CERT)
        add_finding(v, CS_AC_MALFORMED_SIGNATURE, idx, "signer certificate not in the signature");
    else if (st == SI_NO_DIGEST)
        add_finding(v, CS_AC_MALFORMED_SIGNATURE, idx, "unknown signer digest algorithm");
    else if (st == SI_DIGEST_MISMATCH)
        add_finding(v, CS_AC_MESSAGE_DIGEST_MISMATCH, idx, "messageDigest attribute");
    else if (st == SI_BAD_SIGNATURE)
        add_finding(v, CS_AC_BAD_SIGNATURE, idx, "signer %s", s->signer.subject);
    read_opus_info(si, s);
    verify_unauthenticated(v, idx, p7, si, entry, depth); /* may move r->signatures */
    if (signer)
        check_validity(v, idx, signer, p7->d.sign->cert);
}

/* ---- the certificate table ---- */

static const unsigned char *find_marker(const unsigned char *p, size_t n)
{
    return n >= sizeof sigflip_marker ? memmem(p, n, sigflip_marker, sizeof sigflip_marker) : NULL;
}

/* Bytes after the DER of an entry, up to its 8-byte rounded end. */
static void check_slack(verifier *v, int entry, const unsigned char *p, size_t n, size_t abs_off)
{
    size_t nonzero = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] && !nonzero++)
            first = i;
    const unsigned char *m = find_marker(p, n);
    if (m)
        add_finding(v, CS_AC_PAYLOAD_MARKER, -1, "entry %d: marker at file offset 0x%zx", entry,
                    abs_off + (size_t)(m - p));
    if (nonzero)
        add_finding(v, CS_AC_PAYLOAD_IN_SIGNATURE, -1,
                    "entry %d: %zu bytes after the PKCS#7 (file offset 0x%zx), %zu of them non-zero, first at 0x%zx",
                    entry, n, abs_off, nonzero, abs_off + first);
    else if (n >= 8)
        add_finding(v, CS_AC_ZERO_SLACK, -1, "entry %d: %zu zero bytes after the PKCS#7 at file offset 0x%zx", entry,
                    n, abs_off);
}

static void verify_table(verifier *v)
{
    const unsigned char *d = v->data;
    size_t off = v->table_off, end = off + v->table_size;
    int entry = 0;
    while (off < end) {
        if (end - off < 8) {
            add_finding(v, CS_AC_MALFORMED_TABLE, -1, "%zu stray bytes at the end of the table", end - off);
            break;
        }
        uint32_t len = cs_rd32le(d + off);
        uint16_t rev = cs_rd16le(d + off + 4), type = cs_rd16le(d + off + 6);
        if (len < 8 || len > end - off) {
            const unsigned char *m = find_marker(d + off, end - off);
            add_finding(v, CS_AC_MALFORMED_TABLE, -1, "entry %d: dwLength %u does not fit the table%s", entry, len,
                        m ? "; the rest holds the SigFlip marker" : "");
            if (m)
                add_finding(v, CS_AC_PAYLOAD_MARKER, -1, "marker at file offset 0x%zx", (size_t)(m - d));
            break;
        }
        size_t rounded = ((size_t)len + 7) & ~(size_t)7;
        if (rounded > end - off)
            rounded = end - off; /* the table's Size bounds the padding */
        if (rev != 0x0200 || type != 0x0002) {
            add_finding(v, entry == 0 ? CS_AC_MALFORMED_SIGNATURE : CS_AC_MALFORMED_TABLE, -1,
                        "entry %d: revision 0x%04x type 0x%04x, expected 0x0200 / 0x0002 (PKCS#7)", entry, rev, type);
        } else {
            const unsigned char *p = d + off + 8, *q = p;
            der outer;
            if (der_next(&q, d + off + len, &outer) != 0) {
                add_finding(v, CS_AC_MALFORMED_SIGNATURE, -1, "entry %d: no DER object", entry);
            } else {
                check_slack(v, entry, p + outer.tlv_len, rounded - 8 - outer.tlv_len, off + 8 + outer.tlv_len);
                const unsigned char *pp = p;
                PKCS7 *p7 = d2i_PKCS7(NULL, &pp, (long)outer.tlv_len);
                if (!p7)
                    add_finding(v, CS_AC_MALFORMED_SIGNATURE, -1, "entry %d: not a PKCS#7 ContentInfo", entry);
                else
                    verify_pkcs7(v, p7, entry, 0);
                PKCS7_free(p7);
            }
        }
        off += rounded;
        entry++;
    }
    v->rep->entries = (size_t)entry;
    if (entry > 1)
        add_finding(v, CS_AC_MULTIPLE_ENTRIES, -1, "%d WIN_CERTIFICATE entries", entry);
}

static void set_verdict(cs_ac_report *r)
{
    int tampered = 0, invalid = 0, chained = r->n_signatures > 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        cs_ac_issue is = r->findings[i].issue;
        if (cs_ac_issue_is_tampering(is))
            tampered = 1;
        else if (is != CS_AC_ZERO_SLACK && is != CS_AC_MULTIPLE_ENTRIES)
            invalid = 1;
    }
    for (size_t i = 0; i < r->n_signatures; i++)
        if (r->signatures[i].chain_status != CS_AC_CHAIN_OK)
            chained = 0;
    r->verdict = tampered ? CS_AC_TAMPERED : invalid ? CS_AC_INVALID : chained ? CS_AC_VALID : CS_AC_INTACT_UNANCHORED;
}

cs_status cs_authenticode_verify(const unsigned char *data, size_t size, const cs_trust *trust, time_t now,
                                 cs_ac_report **out, cs_error *err)
{
    return cs_authenticode_verify_mapped(data, size, NULL, NULL, trust, now, out, err);
}

cs_status cs_authenticode_verify_mapped(const unsigned char *data, size_t size,
                                        void (*release)(void *ud, const unsigned char *p, size_t len), void *ud,
                                        const cs_trust *trust, time_t now, cs_ac_report **out, cs_error *err)
{
    cs_pe pe;
    const char *why = NULL;
    if (cs_pe_parse(data, size, &pe, &why) == CS_PE_OK) {
        pe.release = release;
        pe.release_ud = ud;
    } else {
        cs_ac_report *r = calloc(1, sizeof *r);
        if (!r)
            return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        r->verdict = CS_AC_NOT_PE;
        r->not_pe_reason = why;
        *out = r;
        return CS_OK;
    }
    return cs_authenticode_verify_pe(&pe, trust, now, out, err);
}

cs_status cs_authenticode_verify_pe(const cs_pe *pe, const cs_trust *trust, time_t now, cs_ac_report **out,
                                    cs_error *err)
{
    const unsigned char *data = pe->data;
    size_t size = pe->size;
    cs_ac_report *r = calloc(1, sizeof *r);
    if (!r)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    *out = r;
    verifier v;
    memset(&v, 0, sizeof v);
    v.pe = pe;
    v.data = data;
    v.size = size;
    v.trust = trust;
    v.now = now ? now : time(NULL);
    v.rep = r;
    if (!pe->certdir_offset || pe->dir_size[CS_PE_DIR_SECURITY] == 0) {
        r->verdict = CS_AC_UNSIGNED;
        return CS_OK;
    }
    v.table_off = r->table_offset = pe->dir_va[CS_PE_DIR_SECURITY];
    v.table_size = r->table_size = pe->dir_size[CS_PE_DIR_SECURITY];
    if (v.table_off > size || v.table_size > size - v.table_off) {
        add_finding(&v, CS_AC_MALFORMED_TABLE, -1, "table at 0x%x size 0x%x runs past the end of the file (0x%zx)",
                    v.table_off, v.table_size, size);
    } else if (v.table_off < pe->certdir_offset + 8 || v.table_off < pe->size_of_headers) {
        add_finding(&v, CS_AC_MALFORMED_TABLE, -1, "table at 0x%x overlaps the headers", v.table_off);
    } else {
        if (v.table_off % 8)
            add_finding(&v, CS_AC_MALFORMED_TABLE, -1, "table at 0x%x is not 8-byte aligned", v.table_off);
        size_t table_end = (size_t)v.table_off + v.table_size;
        if (table_end < size) {
            const unsigned char *m = find_marker(data + table_end, size - table_end);
            add_finding(&v, CS_AC_OVERLAY_AFTER_TABLE, -1, "%zu bytes after the table (file offset 0x%zx)%s",
                        size - table_end, table_end, m ? ", with the SigFlip marker" : "");
        }
        verify_table(&v);
    }
    set_verdict(r);
    return CS_OK;
}

void cs_ac_report_free(cs_ac_report *r)
{
    if (!r)
        return;
    free(r->signatures);
    free(r->findings);
    free(r);
}
