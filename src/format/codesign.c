/* Mach-O code signature verification (include/chainsweep/codesign.h).
 * Layout, from Apple's published cs_blobs.h: a SuperBlob (0xfade0cc0) of
 * indexed blobs in big-endian: CodeDirectories (0xfade0c02, slot 0 and
 * alternates from 0x1000), requirements (0xfade0c01, slot 2), entitlements
 * (0xfade7171, slot 5; DER 0xfade7172, slot 7) and the CMS wrapper
 * (0xfade0b01, slot 0x10000). */
#include "chainsweep/codesign.h"

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <plist/plist.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/authenticode.h"
#include "format/macho.h"
#include "util/digest.h"
#include "util/util.h"

#define SUPERBLOB 0xfade0cc0u
#define CODEDIRECTORY 0xfade0c02u
#define BLOBWRAPPER 0xfade0b01u
#define SLOT_CD 0u
#define SLOT_INFO_PLIST 1u
#define SLOT_RESOURCES 3u
#define SLOT_REQUIREMENTS 2u
#define SLOT_ENTITLEMENTS 5u
#define SLOT_DER_ENTITLEMENTS 7u
#define SLOT_ALTERNATE 0x1000u
#define SLOT_CMS 0x10000u
#define CS_LINKER_SIGNED 0x20000u
#define MAX_BLOBS 64
#define MAX_CDS 4

static const struct {
    const char *name, *description;
    int score;
} issues[CS_MC__COUNT] = {
    [CS_MC_PAGE_HASH_MISMATCH] = {"page_hash_mismatch", "a code page differs from its hash in the CodeDirectory: the file was changed after signing", 85},
    [CS_MC_SPECIAL_SLOT_MISMATCH] = {"special_slot_mismatch", "a sealed special slot (Info.plist, requirements, CodeResources, entitlements) differs from its hash in the CodeDirectory", 80},
    [CS_MC_CDHASH_NOT_SIGNED] = {"cdhash_not_signed", "the CMS signature covers other CodeDirectories than the file's (re-hashed or grafted)", 85},
    [CS_MC_BAD_SIGNATURE] = {"bad_signature", "the CMS signature over the CodeDirectory does not verify", 80},
    [CS_MC_MALFORMED] = {"malformed_signature", "the code signature's blobs are out of bounds or malformed", 60},
    [CS_MC_TRUNCATED] = {"truncated_signature", "LC_CODE_SIGNATURE runs past the end of the file", 60},
    [CS_MC_DATA_AFTER_SIGNATURE] = {"data_after_signature", "bytes after the code signature, covered by no hash", 50},
    [CS_MC_UNSEALED_BYTES] = {"unsealed_bytes", "bytes between the code limit and the signature, covered by no page hash", 60},
    [CS_MC_TEAM_MISMATCH] = {"team_mismatch", "the CodeDirectory's Team ID is not the signing certificate's", 70},
    [CS_MC_DATA_AFTER_SLICES] = {"data_after_slices", "bytes after the last slice of a universal file, in no slice and no signature", 50},
    [CS_MC_BAD_TIMESTAMP] = {"bad_timestamp", "the RFC 3161 timestamp token does not verify, or its TSA is not trusted", 50},
    [CS_MC_EXPIRED] = {"expired", "signer certificate not valid at the check time (the valid timestamp's, else now)", 40},
    [CS_MC_UNTRUSTED] = {"untrusted", "no chain from the signer to the given anchors (or revoked)", 50},
    [CS_MC_RESOURCE_CHANGED] = {"resource_changed", "a file the bundle's CodeResources seals was changed after signing", 80},
    [CS_MC_RESOURCE_MISSING] = {"resource_missing", "a file the bundle's CodeResources seals is missing", 60},
    [CS_MC_NESTED_CODE] = {"nested_code_changed", "nested code is not the code the bundle sealed: re-signed, replaced or unsigned (a sideloading shape)", 80},
    [CS_MC_RESOURCE_ADDED] = {"resource_added", "a file in a signed bundle that its CodeResources neither seals nor omits: added after signing", 70},
    [CS_MC_RPATH_HIJACK] = {"dylib_hijack_opportunity", "a library the executable loads through @rpath, @executable_path or @loader_path is not in the bundle: one planted there would be loaded", 40},
};

const char *cs_mc_issue_name(cs_mc_issue i)
{
    return (unsigned)i < CS_MC__COUNT ? issues[i].name : "unknown";
}

const char *cs_mc_issue_description(cs_mc_issue i)
{
    return (unsigned)i < CS_MC__COUNT ? issues[i].description : "";
}

int cs_mc_issue_score(cs_mc_issue i)
{
    return (unsigned)i < CS_MC__COUNT ? issues[i].score : 0;
}

const char *cs_mc_verdict_id(cs_mc_verdict v)
{
    static const char *const ids[] = {"intact",    "adhoc",     "tampered", "unsigned",
                                      "partly-signed", "not-macho", "valid",    "invalid"};
    return (unsigned)v < sizeof ids / sizeof *ids ? ids[v] : "unknown";
}

const char *cs_mc_kind_id(cs_mc_kind k)
{
    static const char *const ids[] = {"unsigned", "adhoc", "linker-signed", "signed"};
    return (unsigned)k < sizeof ids / sizeof *ids ? ids[k] : "unknown";
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

typedef struct verifier {
    cs_mc_report *r;
    size_t cap_findings;
    const cs_trust *trust;    /* NULL or empty: chains not checked */
    time_t now;
    const cs_mc_bundle *bundle;
    int read_sealed;          /* the two files below were looked for */
    unsigned char *info_plist, *code_resources;
    size_t info_plist_len, code_resources_len;
} verifier;

#define BUNDLE_FILE_MAX (512u << 20)
#define BUNDLE_MAX_SEALED 200000

/* A path from CodeResources that stays inside the bundle: no leading '/',
 * no empty, "." or ".." component. */
static int safe_relpath(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n;
        if (*c == '/' && !*++c)
            return 0;
    }
    return 1;
}

static void read_sealed(verifier *v)
{
    if (v->read_sealed || !v->bundle)
        return;
    v->read_sealed = 1;
    v->info_plist = v->bundle->read(v->bundle->ud, v->bundle->info_plist ? v->bundle->info_plist : "Info.plist",
                                    1u << 20, &v->info_plist_len);
    v->code_resources = v->bundle->read(v->bundle->ud, "_CodeSignature/CodeResources", 64u << 20, &v->code_resources_len);
}

static void add_finding(verifier *v, int slice, cs_mc_issue issue, const char *fmt, ...) CS_PRINTF(4, 5);
static void add_finding(verifier *v, int slice, cs_mc_issue issue, const char *fmt, ...)
{
    cs_grow((void **)&v->r->findings, &v->cap_findings, v->r->n_findings + 1, sizeof *v->r->findings);
    cs_mc_finding *f = &v->r->findings[v->r->n_findings++];
    f->issue = issue;
    f->slice = slice;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
}

static const EVP_MD *cd_md(uint8_t type, size_t *len, const char **name)
{
    switch (type) {
    case 1: *len = 20, *name = "sha1"; return cs_md_sha1();
    case 2: *len = 32, *name = "sha256"; return cs_md_sha256();
    case 3: *len = 20, *name = "sha256-20"; return cs_md_sha256(); /* truncated */
    case 4: *len = 48, *name = "sha384"; return EVP_sha384();
    default: return NULL;
    }
}

static int digest(const EVP_MD *md, const unsigned char *p, size_t n, unsigned char *out)
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, md, NULL) == 1 ? (int)len : -1;
}

typedef struct blob {
    uint32_t type, magic, offset, length; /* offset: from the start of the slice */
} blob;

/* A blob in the SuperBlob by slot type, or NULL. */
static const blob *find_blob(const blob *b, size_t n, uint32_t type)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].type == type)
            return &b[i];
    return NULL;
}

/* Check one CodeDirectory: fields, code slots over the slice, special
 * slots for the blobs at hand. 0, or -1 when the CD itself is malformed. */
static int check_cd(verifier *v, int si, const unsigned char *s, uint64_t slice_size, const blob *cdb,
                    const blob *blobs, size_t n_blobs, cs_mc_cd *cd)
{
    const unsigned char *p = s + cdb->offset;
    uint32_t len = cdb->length;
    memset(cd, 0, sizeof *cd);
    cd->slot = cdb->type;
    if (len < 44) {
        add_finding(v, si, CS_MC_MALFORMED, "CodeDirectory in slot 0x%x: %u bytes, too short", cdb->type, len);
        return -1;
    }
    cd->version = be32(p + 8);
    cd->flags = be32(p + 12);
    uint32_t hash_off = be32(p + 16), ident_off = be32(p + 20), n_special = be32(p + 24), n_code = be32(p + 28);
    uint64_t limit = be32(p + 32);
    uint8_t hash_size = p[36], hash_type = p[37], page_log = p[39];
    if (cd->version >= 0x20300 && len >= 64 && be64(p + 56))
        limit = be64(p + 56); /* codeLimit64, for code over 4 GiB */
    if (cd->version >= 0x20200 && len >= 52) {
        uint32_t team_off = be32(p + 48);
        if (team_off && team_off < len) {
            const unsigned char *t = p + team_off, *nul = memchr(t, 0, len - team_off);
            if (nul)
                snprintf(cd->team_id, sizeof cd->team_id, "%.*s", (int)(nul - t), (const char *)t);
        }
    }
    if (ident_off && ident_off < len) {
        const unsigned char *t = p + ident_off, *nul = memchr(t, 0, len - ident_off);
        if (nul)
            snprintf(cd->identifier, sizeof cd->identifier, "%.*s", (int)(nul - t), (const char *)t);
    }
    size_t hlen = 0;
    const char *hname = "?";
    const EVP_MD *md = cd_md(hash_type, &hlen, &hname);
    snprintf(cd->hash, sizeof cd->hash, "%s", hname);
    if (!md || hash_size != hlen || page_log > 30) {
        add_finding(v, si, CS_MC_MALFORMED, "CodeDirectory in slot 0x%x: hash type %u of size %u, page 2^%u not supported",
                    cdb->type, hash_type, hash_size, page_log);
        return -1;
    }
    /* the slots must lie inside the CodeDirectory */
    if (hash_off > len || (uint64_t)n_special * hlen > hash_off || (uint64_t)n_code * hlen > len - hash_off) {
        add_finding(v, si, CS_MC_MALFORMED, "CodeDirectory in slot 0x%x: hash slots outside it", cdb->type);
        return -1;
    }
    int dl = digest(md, p, len, cd->cdhash);
    cd->cdhash_len = dl > 0 ? (size_t)dl : 0;
    cd->page_size = page_log ? 1u << page_log : 0;
    cd->code_limit = limit;
    cd->n_code_slots = n_code;
    if (limit > slice_size) {
        add_finding(v, si, CS_MC_MALFORMED, "CodeDirectory in slot 0x%x: code limit %llu past the end of the file",
                    cdb->type, (unsigned long long)limit);
        return -1;
    }
    uint64_t page = cd->page_size ? cd->page_size : (limit ? limit : 1);
    uint64_t want_slots = limit ? (limit + page - 1) / page : 0;
    if (n_code != want_slots) {
        add_finding(v, si, CS_MC_MALFORMED, "CodeDirectory in slot 0x%x: %u code slots for %llu bytes in pages of %llu",
                    cdb->type, n_code, (unsigned long long)limit, (unsigned long long)page);
        return -1;
    }
    unsigned char h[EVP_MAX_MD_SIZE];
    for (uint32_t i = 0; i < n_code; i++) {
        uint64_t off = (uint64_t)i * page, n = limit - off < page ? limit - off : page;
        if (digest(md, s + off, (size_t)n, h) < 0 || memcmp(h, p + hash_off + (size_t)i * hlen, hlen) != 0) {
            if (!cd->bad_code_slots++)
                cd->first_bad_slot = i;
        }
    }
    if (cd->bad_code_slots)
        add_finding(v, si, CS_MC_PAGE_HASH_MISMATCH,
                    "%s CodeDirectory: %u of %u pages differ, the first at slot %u (file offset %llu of the slice)",
                    cd->hash, cd->bad_code_slots, n_code, cd->first_bad_slot,
                    (unsigned long long)cd->first_bad_slot * page);
    /* special slots: -k at hash_off - k * hlen; all zeros means "not sealed" */
    static const unsigned char zeros[64];
    for (uint32_t k = 1; k <= n_special && k < 8; k++) {
        const unsigned char *want = p + hash_off - (size_t)k * hlen;
        if (memcmp(want, zeros, hlen) == 0)
            continue;
        const unsigned char *sealed = NULL;
        size_t sealed_len = 0;
        const blob *b = k == SLOT_REQUIREMENTS || k == SLOT_ENTITLEMENTS || k == SLOT_DER_ENTITLEMENTS
                            ? find_blob(blobs, n_blobs, k)
                            : NULL;
        if (b) {
            sealed = s + b->offset;
            sealed_len = b->length;
        } else if (k == SLOT_INFO_PLIST || k == SLOT_RESOURCES) { /* outside this file: in its bundle */
            read_sealed(v);
            sealed = k == SLOT_INFO_PLIST ? v->info_plist : v->code_resources;
            sealed_len = k == SLOT_INFO_PLIST ? v->info_plist_len : v->code_resources_len;
        }
        if (!sealed) {
            cd->special[k] = CS_MC_SLOT_UNCHECKED;
            continue;
        }
        static const char *const slot_names[8] = {NULL, "Info.plist", "requirements", "CodeResources", NULL, "entitlements", NULL, "DER entitlements"};
        if (digest(md, sealed, sealed_len, h) < 0 || memcmp(h, want, hlen) != 0) {
            cd->special[k] = CS_MC_SLOT_BAD;
            add_finding(v, si, CS_MC_SPECIAL_SLOT_MISMATCH, "%s CodeDirectory: special slot -%u (%s) differs", cd->hash,
                        k, slot_names[k] ? slot_names[k] : "?");
        } else {
            cd->special[k] = CS_MC_SLOT_OK;
        }
    }
    return 0;
}

/* The CDHashes plist attribute (1.2.840.113635.100.9.1): {"cdhashes": [data...]},
 * each the first 20 bytes of a CodeDirectory's digest, in slot order. */
static int check_cdhashes_plist(const unsigned char *xml, size_t n, const cs_mc_slice *sl)
{
    plist_t root = NULL;
    if (n > (1u << 20))
        return -1;
    plist_from_xml((const char *)xml, (uint32_t)n, &root);
    if (!root)
        return -1;
    plist_t arr = plist_get_node_type(root) == PLIST_DICT ? plist_dict_get_item(root, "cdhashes") : NULL;
    int rc = -1;
    if (arr && plist_get_node_type(arr) == PLIST_ARRAY && plist_array_get_size(arr) == sl->n_cds) {
        rc = 1;
        for (uint32_t i = 0; i < sl->n_cds && rc == 1; i++) {
            plist_t it = plist_array_get_item(arr, i);
            char *val = NULL;
            uint64_t vl = 0;
            if (plist_get_node_type(it) == PLIST_DATA)
                plist_get_data_val(it, &val, &vl);
            if (!val || vl != 20 || sl->cds[i].cdhash_len < 20 || memcmp(val, sl->cds[i].cdhash, 20) != 0)
                rc = -1;
            free(val);
        }
    }
    plist_free(root);
    return rc;
}

/* CDHashes2 (1.2.840.113635.100.9.2): a SET of SEQUENCE { hash OID, OCTET
 * STRING digest }: each must be the full digest of one of the CDs. */
static int check_cdhashes2(X509_ATTRIBUTE *attr, const cs_mc_slice *sl)
{
    int n = X509_ATTRIBUTE_count(attr), rc = n > 0 ? 1 : -1;
    for (int i = 0; i < n && rc == 1; i++) {
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, i);
        if (!t || t->type != V_ASN1_SEQUENCE) {
            rc = -1;
            break;
        }
        const unsigned char *q = t->value.sequence->data;
        long left = t->value.sequence->length, l;
        int tag, cls;
        /* SEQUENCE header */
        if (ASN1_get_object(&q, &l, &tag, &cls, left) & 0x80 || tag != V_ASN1_SEQUENCE) {
            rc = -1;
            break;
        }
        const unsigned char *end = q + l;
        ASN1_OBJECT *oid = d2i_ASN1_OBJECT(NULL, &q, end - q);
        ASN1_OCTET_STRING *os = oid ? d2i_ASN1_OCTET_STRING(NULL, &q, end - q) : NULL;
        const EVP_MD *md = oid ? EVP_get_digestbyobj(oid) : NULL;
        int found = 0;
        for (size_t k = 0; md && os && k < sl->n_cds && !found; k++)
            found = (size_t)os->length == sl->cds[k].cdhash_len && (size_t)EVP_MD_get_size(md) == sl->cds[k].cdhash_len &&
                    memcmp(os->data, sl->cds[k].cdhash, (size_t)os->length) == 0;
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(os);
        if (!found)
            rc = -1;
    }
    return rc;
}

static void fill_signer(cs_mc_slice *sl, X509 *x)
{
    sl->has_signer = 1;
    cs_ac_cert_fill(&sl->signer, x);
    /* the Team ID is the leaf's OU */
    X509_NAME *sub = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(sub, NID_organizationalUnitName, -1);
    if (idx >= 0) {
        unsigned char *u = NULL;
        int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sub, idx)));
        if (ul > 0)
            snprintf(sl->signer_team, sizeof sl->signer_team, "%.*s", ul, (const char *)u);
        OPENSSL_free(u);
    }
}

/* The timestamp token (verified with or without anchors), then with
 * anchors the signer's chain at its time, else now. */
static void check_time_and_chain(verifier *v, int si, CMS_ContentInfo *ci, CMS_SignerInfo *sinfo, cs_mc_slice *sl)
{
    ASN1_OBJECT *ts = OBJ_txt2obj("1.2.840.113549.1.9.16.2.14", 1);
    int it = ts ? CMS_unsigned_get_attr_by_OBJ(sinfo, ts, -1) : -1;
    ASN1_OBJECT_free(ts);
    ASN1_OCTET_STRING *sigval = CMS_SignerInfo_get0_signature(sinfo);
    if (it >= 0 && sigval) {
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(sinfo, it), 0);
        cs_rfc3161 r;
        if (t && t->type == V_ASN1_SEQUENCE) {
            cs_rfc3161_check(t->value.sequence->data, (size_t)t->value.sequence->length, sigval->data,
                             (size_t)sigval->length, v->trust, v->now, 1, &r);
        } else {
            memset(&r, 0, sizeof r);
            snprintf(r.problem, sizeof r.problem, "timestamp attribute is not a SEQUENCE");
        }
        if (r.has_tsa)
            sl->tsa = r.tsa;
        sl->timestamp_ok = r.ok;
        sl->timestamp_time = r.ok ? r.time : 0;
        if (!r.ok)
            add_finding(v, si, CS_MC_BAD_TIMESTAMP, "%s", r.problem);
    }
    if (!v->trust || !cs_trust_count(v->trust)) {
        sl->chain_status = CS_AC_CHAIN_NOT_CHECKED;
        return;
    }
    STACK_OF(X509) *signers = CMS_get0_signers(ci), *certs = CMS_get1_certs(ci);
    X509 *leaf = signers && sk_X509_num(signers) > 0 ? sk_X509_value(signers, 0) : NULL;
    int code = 0;
    time_t at = sl->timestamp_ok ? sl->timestamp_time : v->now;
    if (leaf && cs_trust_check_chain(v->trust, leaf, certs, at, v->now, X509_PURPOSE_ANY, 1, sl->chain, &sl->chain_len,
                                     &code, sl->chain_error, sizeof sl->chain_error)) {
        sl->chain_status = CS_AC_CHAIN_OK;
    } else {
        sl->chain_status = CS_AC_CHAIN_FAILED;
        if (code == X509_V_ERR_CERT_HAS_EXPIRED || code == X509_V_ERR_CERT_NOT_YET_VALID)
            add_finding(v, si, CS_MC_EXPIRED, "%s%s", sl->chain_error, sl->timestamp_ok ? " at the timestamp time" : "");
        else
            add_finding(v, si, CS_MC_UNTRUSTED, "%s", leaf ? sl->chain_error : "no signer certificate");
    }
    sk_X509_free(signers);
    sk_X509_pop_free(certs, X509_free);
}

/* The CMS over the first CodeDirectory: its signature (messageDigest and
 * the signer's key over the signed attributes; the chain is not checked
 * here), the CDHashes attributes, the signer, signing time, timestamp. */
static void check_cms(verifier *v, int si, const unsigned char *s, const blob *cms, const blob *cd0, cs_mc_slice *sl)
{
    const unsigned char *der = s + cms->offset + 8;
    size_t n = cms->length - 8;
    if (n == 0) {
        sl->cms = 2; /* the empty wrapper codesign -s - writes */
        return;
    }
    sl->cms = 1;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &der, (long)n);
    if (!ci) {
        snprintf(sl->cms_error, sizeof sl->cms_error, "not a DER CMS structure");
        add_finding(v, si, CS_MC_MALFORMED, "the CMS blob is not a DER CMS structure");
        return;
    }
    if (!CMS_is_detached(ci)) {
        /* Apple's CMS signs the CodeDirectory detached; one that carries content
         * is not a code signature (and OpenSSL leaks on that path) */
        snprintf(sl->cms_error, sizeof sl->cms_error, "the CMS carries its own content: not detached");
        add_finding(v, si, CS_MC_BAD_SIGNATURE, "the CMS is not detached from the CodeDirectory");
        CMS_ContentInfo_free(ci);
        return;
    }
    BIO *content = BIO_new_mem_buf(s + cd0->offset, (int)cd0->length);
    STACK_OF(X509) *signers = NULL;
    sl->cms_ok = content && CMS_verify(ci, NULL, NULL, content, NULL,
                                       CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
    if (!sl->cms_ok) {
        snprintf(sl->cms_error, sizeof sl->cms_error, "%s", "signature or messageDigest does not verify");
        add_finding(v, si, CS_MC_BAD_SIGNATURE, "the CMS signature over the CodeDirectory does not verify");
    }
    signers = CMS_get0_signers(ci);
    if (signers && sk_X509_num(signers) > 0)
        fill_signer(sl, sk_X509_value(signers, 0));
    sk_X509_free(signers);
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ci);
    CMS_SignerInfo *sinfo = sis && sk_CMS_SignerInfo_num(sis) > 0 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
    if (sinfo) {
        ASN1_OBJECT *o1 = OBJ_txt2obj("1.2.840.113635.100.9.1", 1), *o2 = OBJ_txt2obj("1.2.840.113635.100.9.2", 1),
                    *ts = OBJ_txt2obj("1.2.840.113549.1.9.16.2.14", 1);
        int i1 = o1 ? CMS_signed_get_attr_by_OBJ(sinfo, o1, -1) : -1;
        if (i1 >= 0) {
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(sinfo, i1), 0);
            sl->cdhashes_plist = t && t->type == V_ASN1_OCTET_STRING
                                     ? check_cdhashes_plist(t->value.octet_string->data,
                                                            (size_t)t->value.octet_string->length, sl)
                                     : -1;
        }
        int i2 = o2 ? CMS_signed_get_attr_by_OBJ(sinfo, o2, -1) : -1;
        if (i2 >= 0)
            sl->cdhashes2 = check_cdhashes2(CMS_signed_get_attr(sinfo, i2), sl);
        sl->timestamp = ts && CMS_unsigned_get_attr_by_OBJ(sinfo, ts, -1) >= 0;
        int it = CMS_signed_get_attr_by_NID(sinfo, NID_pkcs9_signingTime, -1);
        if (it >= 0) {
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(sinfo, it), 0);
            struct tm tm;
            if (t && (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME) &&
                ASN1_TIME_to_tm((ASN1_TIME *)t->value.ptr, &tm))
                sl->signing_time = timegm(&tm);
        }
        ASN1_OBJECT_free(o1);
        ASN1_OBJECT_free(o2);
        ASN1_OBJECT_free(ts);
    }
    if (sl->cdhashes_plist < 0 || sl->cdhashes2 < 0)
        add_finding(v, si, CS_MC_CDHASH_NOT_SIGNED, "the CMS's %s does not list the CodeDirectories' hashes",
                    sl->cdhashes_plist < 0 ? "CDHashes plist" : "CDHashes2 attribute");
    if (sinfo && sl->has_signer)
        check_time_and_chain(v, si, ci, sinfo, sl);
    if (sl->has_signer && sl->n_cds && sl->cds[0].team_id[0] && sl->signer_team[0] &&
        strcmp(sl->cds[0].team_id, sl->signer_team) != 0)
        add_finding(v, si, CS_MC_TEAM_MISMATCH, "CodeDirectory Team ID %s, certificate OU %s", sl->cds[0].team_id,
                    sl->signer_team);
    BIO_free(content);
    CMS_ContentInfo_free(ci);
}

static void verify_slice(verifier *v, int si, const unsigned char *s, uint64_t size, cs_mc_slice *sl)
{
    cs_macho m;
    const char *why;
    sl->size = size;
    if (cs_macho_parse(s, (size_t)size, &m, &why) != 0) {
        /* a damaged Mach-O is not a damaged signature: said in the report */
        snprintf(sl->parse_error, sizeof sl->parse_error, "%s", why);
        return;
    }
    snprintf(sl->arch, sizeof sl->arch, "%s", m.arch);
    if (!m.has_signature)
        return;
    sl->sig_offset = m.sig_offset;
    sl->sig_size = m.sig_size;
    if (m.has_signature == 2)
        add_finding(v, si, CS_MC_TRUNCATED, "LC_CODE_SIGNATURE at %u runs past the end of the slice (%llu bytes)",
                    m.sig_offset, (unsigned long long)size);
    const unsigned char *sb = s + m.sig_offset;
    if (m.sig_size < 12 || be32(sb) != SUPERBLOB) {
        add_finding(v, si, CS_MC_MALFORMED, "no SuperBlob at the signature's offset %u", m.sig_offset);
        return;
    }
    uint32_t sb_len = be32(sb + 4), count = be32(sb + 8);
    if (sb_len > m.sig_size || sb_len < 12 || count > MAX_BLOBS || 12 + (uint64_t)count * 8 > sb_len) {
        add_finding(v, si, CS_MC_MALFORMED, "SuperBlob of %u bytes with %u blobs does not fit its %u bytes", sb_len,
                    count, m.sig_size);
        return;
    }
    blob b[MAX_BLOBS];
    size_t nb = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = be32(sb + 12 + i * 8), off = be32(sb + 16 + i * 8);
        if (off > sb_len - 8 || be32(sb + off + 4) < 8 || be32(sb + off + 4) > sb_len - off) {
            add_finding(v, si, CS_MC_MALFORMED, "blob %u (slot 0x%x) lies outside the SuperBlob", i, type);
            return;
        }
        b[nb++] = (blob){type, be32(sb + off), m.sig_offset + off, be32(sb + off + 4)};
    }
    /* bytes after the signature: in no hash. A hostile slice can hide a payload there. */
    if ((uint64_t)m.sig_offset + m.sig_size < size)
        add_finding(v, si, CS_MC_DATA_AFTER_SIGNATURE, "%llu bytes after the signature's end",
                    (unsigned long long)(size - m.sig_offset - m.sig_size));
    for (size_t i = 0; i < nb && sl->n_cds < MAX_CDS; i++) {
        if (!(b[i].type == SLOT_CD || (b[i].type >= SLOT_ALTERNATE && b[i].type < SLOT_ALTERNATE + 5)))
            continue;
        if (b[i].magic != CODEDIRECTORY) {
            add_finding(v, si, CS_MC_MALFORMED, "slot 0x%x does not hold a CodeDirectory", b[i].type);
            continue;
        }
        if (check_cd(v, si, s, size, &b[i], b, nb, &sl->cds[sl->n_cds]) == 0)
            sl->n_cds++;
    }
    if (!sl->n_cds) {
        add_finding(v, si, CS_MC_MALFORMED, "no usable CodeDirectory");
        return;
    }
    if (sl->cds[0].code_limit < m.sig_offset)
        add_finding(v, si, CS_MC_UNSEALED_BYTES, "code limit %llu, signature at %u: %llu bytes in no page hash",
                    (unsigned long long)sl->cds[0].code_limit, m.sig_offset,
                    (unsigned long long)(m.sig_offset - sl->cds[0].code_limit));
    const blob *cms = find_blob(b, nb, SLOT_CMS), *cd0 = find_blob(b, nb, SLOT_CD);
    if (cms && cms->magic == BLOBWRAPPER && cd0)
        check_cms(v, si, s, cms, cd0, sl);
    uint32_t flags = sl->cds[0].flags;
    /* no signer: ad-hoc (CS_ADHOC set), by the linker or by codesign -s - */
    sl->kind = sl->has_signer ? CS_MC_KIND_SIGNED
               : flags & CS_LINKER_SIGNED ? CS_MC_KIND_LINKER_SIGNED
                                          : CS_MC_KIND_ADHOC;
}

/* One sealed file of files2 (a dict: hash2 SHA-256, hash SHA-1, cdhash for
 * nested code, symlink, optional) or files (data: SHA-1, or such a dict). */
static void check_sealed_file(verifier *v, const char *rel, plist_t val, const char *main_team)
{
    plist_t h = NULL, cdh = NULL;
    uint8_t optional = 0;
    if (plist_get_node_type(val) == PLIST_DATA) {
        h = val;
    } else if (plist_get_node_type(val) == PLIST_DICT) {
        if (plist_dict_get_item(val, "symlink"))
            return; /* a link: its target is sealed, not followed */
        plist_t o = plist_dict_get_item(val, "optional");
        if (o && plist_get_node_type(o) == PLIST_BOOLEAN)
            plist_get_bool_val(o, &optional);
        cdh = plist_dict_get_item(val, "cdhash");
        if ((h = plist_dict_get_item(val, "hash2")) == NULL) /* SHA-256; else SHA-1 */
            h = plist_dict_get_item(val, "hash");
    }
    if (!h && !cdh)
        return;
    v->r->sealed++;
    if (!safe_relpath(rel)) {
        add_finding(v, 0, CS_MC_RESOURCE_CHANGED, "CodeResources names %.200s, outside the bundle: not read", rel);
        return;
    }
    size_t len = 0;
    unsigned char *d = v->bundle->read(v->bundle->ud, rel, BUNDLE_FILE_MAX, &len);
    if (!d) {
        if (!optional)
            add_finding(v, 0, CS_MC_RESOURCE_MISSING, "%.200s", rel);
        return;
    }
    v->r->sealed_checked++;
    char *want = NULL;
    uint64_t want_len = 0;
    plist_get_data_val(cdh ? cdh : h, &want, &want_len);
    if (cdh) {
        /* nested code: its own CodeDirectory's hash, and who signed it */
        cs_mc_report *n = NULL;
        int same = 0;
        char team[32] = "";
        if (cs_codesign_verify(d, len, NULL, 0, &n, NULL) == CS_OK && n->n_slices) {
            for (size_t i = 0; i < n->n_slices && !same; i++)
                same = n->slices[i].n_cds && n->slices[i].cds[0].cdhash_len >= want_len && want_len >= 20 &&
                       want && memcmp(n->slices[i].cds[0].cdhash, want, (size_t)want_len) == 0;
            snprintf(team, sizeof team, "%s", n->slices[0].signer_team);
        }
        if (!same)
            add_finding(v, 0, CS_MC_NESTED_CODE, "%.200s: cdhash is not the sealed one (%s%s%s)", rel,
                        !n || !n->n_slices || !n->slices[0].n_cds ? "unsigned"
                        : n->slices[0].kind != CS_MC_KIND_SIGNED  ? "ad-hoc"
                                                                   : "signed by team ",
                        n && n->n_slices && n->slices[0].kind == CS_MC_KIND_SIGNED ? team : "",
                        main_team && *main_team && strcmp(team, main_team) != 0 && *team ? ", not the bundle's team" : "");
        cs_mc_report_free(n);
    } else {
        unsigned char got[EVP_MAX_MD_SIZE];
        const EVP_MD *md = want_len == 32 ? cs_md_sha256() : want_len == 20 ? cs_md_sha1() : NULL;
        if (!md || digest(md, d, len, got) != (int)want_len || memcmp(got, want, (size_t)want_len) != 0)
            add_finding(v, 0, CS_MC_RESOURCE_CHANGED, "%.200s", rel);
    }
    free(want);
    free(d);
}

/* "@executable_path/../Frameworks" + "/" + "libx.dylib", the executable in
 * exe_dir of the bundle (MacOS of Contents/): the path from the root
 * ("Frameworks/libx.dylib") into out, or 0 when it is outside the bundle or
 * not bundle-relative. */
static int bundle_path(const char *exe_dir, const char *dir, const char *file, char *out, size_t n)
{
    static const char *const prefixes[] = {"@executable_path", "@loader_path"};
    const char *rest = NULL;
    for (size_t i = 0; i < 2 && !rest; i++)
        if (strncmp(dir, prefixes[i], strlen(prefixes[i])) == 0)
            rest = dir + strlen(prefixes[i]);
    if (!rest || (*rest && *rest != '/'))
        return 0;
    char joined[1024];
    if ((size_t)snprintf(joined, sizeof joined, "%s%s/%s", exe_dir, rest, file) >= sizeof joined)
        return 0;
    /* fold "." and ".." against the root; a leading "/" of an empty exe_dir goes */
    size_t len = 0;
    out[0] = '\0';
    for (char *save = NULL, *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            if (len == 0)
                return 0; /* above Contents/ */
            char *s = strrchr(out, '/');
            len = s ? (size_t)(s - out) : 0;
            out[len] = '\0';
            continue;
        }
        int k = snprintf(out + len, n - len, "%s%s", len ? "/" : "", c);
        if (k < 0 || (size_t)k >= n - len)
            return 0;
        len += (size_t)k;
    }
    return len > 0;
}

/* Libraries loaded relative to the executable must be in the bundle. */
static void check_rpaths(verifier *v, int si, const unsigned char *s, uint64_t size)
{
    cs_macho m;
    const char *why;
    if (!v->bundle->exists || cs_macho_parse(s, (size_t)size, &m, &why) != 0)
        return;
    const char *exe_dir = v->bundle->exe_dir ? v->bundle->exe_dir : "MacOS";
    for (size_t i = 0; i < m.n_libs; i++) {
        char name[512], rel[1024], places[512] = "";
        snprintf(name, sizeof name, "%.*s", (int)m.libs[i].name.len, m.libs[i].name.p);
        int found = 0, inside = 0;
        if (strncmp(name, "@rpath/", 7) == 0) {
            for (size_t r = 0; r < m.n_rpaths && !found; r++) {
                char dir[512];
                snprintf(dir, sizeof dir, "%.*s", (int)m.rpaths[r].len, m.rpaths[r].p);
                if (!bundle_path(exe_dir, dir, name + 7, rel, sizeof rel))
                    continue; /* an absolute run path: outside the bundle, not ours to check */
                inside = 1;
                found = v->bundle->exists(v->bundle->ud, rel);
                size_t pl = strlen(places);
                snprintf(places + pl, sizeof places - pl, "%s%.400s", pl ? ", " : "", rel);
            }
        } else if (name[0] == '@') {
            char *slash = strchr(name, '/');
            if (slash) {
                *slash = '\0';
                if (bundle_path(exe_dir, name, slash + 1, rel, sizeof rel)) {
                    inside = 1;
                    found = v->bundle->exists(v->bundle->ud, rel);
                    snprintf(places, sizeof places, "%.400s", rel);
                }
                *slash = '/';
            }
        }
        if (inside && !found)
            add_finding(v, si, CS_MC_RPATH_HIJACK, "%s%s, looked for in the bundle at %s", name,
                        m.libs[i].kind == CS_MACHO_WEAK ? " (weak: a missing one is not an error to dyld)" : "",
                        places);
    }
}

/* The bundle's CodeResources: every sealed file read and compared. */
static void check_resources(verifier *v)
{
    read_sealed(v);
    if (!v->code_resources)
        return;
    plist_t root = NULL;
    plist_from_xml((const char *)v->code_resources, (uint32_t)v->code_resources_len, &root);
    if (!root || plist_get_node_type(root) != PLIST_DICT) {
        add_finding(v, 0, CS_MC_MALFORMED, "the bundle's CodeResources is not a property list");
        plist_free(root);
        return;
    }
    plist_t files = plist_dict_get_item(root, "files2");
    if (!files)
        files = plist_dict_get_item(root, "files");
    const char *main_team = v->r->n_slices ? v->r->slices[0].signer_team : "";
    if (files && plist_get_node_type(files) == PLIST_DICT) {
        plist_dict_iter it = NULL;
        plist_dict_new_iter(files, &it);
        char *key = NULL;
        plist_t val = NULL;
        for (size_t n = 0; it && n < BUNDLE_MAX_SEALED; n++) {
            plist_dict_next_item(files, it, &key, &val);
            if (!key)
                break;
            check_sealed_file(v, key, val, main_team);
            free(key);
            key = NULL;
        }
        free(it);
    }
    plist_free(root);
}

cs_status cs_codesign_verify(const unsigned char *data, size_t size, const cs_trust *trust, time_t now,
                             cs_mc_report **out, cs_error *err)
{
    return cs_codesign_verify_bundle(data, size, NULL, trust, now, out, err);
}

cs_status cs_codesign_verify_bundle(const unsigned char *data, size_t size, const cs_mc_bundle *bundle,
                                    const cs_trust *trust, time_t now, cs_mc_report **out, cs_error *err)
{
    cs_mc_report *r = calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    verifier v = {r, 0, trust, now ? now : time(NULL), bundle && bundle->read ? bundle : NULL, 0, NULL, NULL, 0, 0};
    cs_macho_slice fat[CS_MACHO_FAT_MAX];
    int n = 1;
    const char *why = NULL;
    if (cs_macho_is_fat(data, size)) {
        n = cs_macho_fat_slices(data, size, fat, CS_MACHO_FAT_MAX, &why);
        if (n < 0) {
            r->verdict = CS_MC_NOT_MACHO;
            r->not_macho_reason = why;
            return CS_OK;
        }
    } else if (!cs_macho_is_thin(data, size)) {
        r->verdict = CS_MC_NOT_MACHO;
        r->not_macho_reason = "no Mach-O header";
        return CS_OK;
    } else {
        fat[0] = (cs_macho_slice){0};
        fat[0].size = size;
    }
    r->slices = calloc((size_t)n, sizeof *r->slices);
    if (!r->slices)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    r->n_slices = (size_t)n;
    for (int i = 0; i < n; i++) {
        r->slices[i].offset = fat[i].offset;
        verify_slice(&v, i, data + fat[i].offset, fat[i].size, &r->slices[i]);
        if (v.bundle)
            check_rpaths(&v, i, data + fat[i].offset, fat[i].size);
    }
    if (v.bundle) {
        r->bundle = 1;
        check_resources(&v);
    }
    free(v.info_plist);
    free(v.code_resources);
    uint64_t end = cs_macho_is_fat(data, size) ? cs_macho_fat_end(data, size) : size;
    if (end < size)
        add_finding(&v, n - 1, CS_MC_DATA_AFTER_SLICES, "%llu bytes after the last slice (which ends at %llu)",
                    (unsigned long long)(size - end), (unsigned long long)end);
    size_t unsigned_n = 0, unparsed = 0;
    for (size_t i = 0; i < r->n_slices; i++) {
        unsigned_n += r->slices[i].n_cds == 0;
        unparsed += r->slices[i].parse_error[0] != '\0';
    }
    if (unparsed == r->n_slices && !r->n_findings) {
        r->verdict = CS_MC_NOT_MACHO;
        r->not_macho_reason = "the Mach-O header or load commands are damaged";
        return CS_OK;
    }
    int adhoc = 1;
    for (size_t i = 0; i < r->n_slices; i++)
        adhoc &= r->slices[i].kind != CS_MC_KIND_SIGNED;
    int tampered = 0, chain_failed = 0, chained = 0, signed_n = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        cs_mc_issue is = r->findings[i].issue;
        if (is == CS_MC_BAD_TIMESTAMP || is == CS_MC_EXPIRED || is == CS_MC_UNTRUSTED)
            chain_failed = 1;
        else
            tampered = 1;
    }
    for (size_t i = 0; i < r->n_slices; i++) {
        signed_n += r->slices[i].kind == CS_MC_KIND_SIGNED;
        chained += r->slices[i].chain_status == CS_AC_CHAIN_OK;
    }
    if (tampered) {
        r->verdict = CS_MC_TAMPERED;
    } else if (chain_failed) {
        r->verdict = CS_MC_INVALID;
    } else if (signed_n && chained == signed_n && unsigned_n == 0) {
        r->verdict = CS_MC_VALID;
    } else if (unsigned_n == r->n_slices) {
        r->verdict = CS_MC_UNSIGNED;
    } else if (unsigned_n) {
        r->verdict = CS_MC_PARTLY_SIGNED;
    } else {
        r->verdict = adhoc ? CS_MC_ADHOC : CS_MC_INTACT;
    }
    return CS_OK;
}

void cs_mc_report_free(cs_mc_report *r)
{
    if (!r)
        return;
    free(r->slices);
    free(r->findings);
    free(r);
}

/* ---- a bundle's seal as a set ---- */

#define SEAL_MAX_RULES 64

struct cs_mc_seal {
    char **paths;             /* sorted */
    size_t n;
    regex_t omit[SEAL_MAX_RULES];
    size_t n_omit;
    char main_exe[256], info_plist[64];
};

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cs_mc_seal *cs_mc_seal_new(const unsigned char *xml, size_t len, const char *main_exe, const char *info_plist)
{
    plist_t root = NULL;
    if (len > (64u << 20))
        return NULL;
    plist_from_xml((const char *)xml, (uint32_t)len, &root);
    plist_t files = root && plist_get_node_type(root) == PLIST_DICT ? plist_dict_get_item(root, "files2") : NULL;
    if (!files && root && plist_get_node_type(root) == PLIST_DICT)
        files = plist_dict_get_item(root, "files");
    if (!files || plist_get_node_type(files) != PLIST_DICT) {
        plist_free(root);
        return NULL;
    }
    cs_mc_seal *s = calloc(1, sizeof *s);
    if (!s) {
        plist_free(root);
        return NULL;
    }
    snprintf(s->main_exe, sizeof s->main_exe, "%s", main_exe ? main_exe : "");
    snprintf(s->info_plist, sizeof s->info_plist, "%s", info_plist ? info_plist : "Info.plist");
    size_t cap = 0;
    plist_dict_iter it = NULL;
    plist_dict_new_iter(files, &it);
    char *key = NULL;
    plist_t val = NULL;
    for (size_t k = 0; it && k < BUNDLE_MAX_SEALED; k++) {
        plist_dict_next_item(files, it, &key, &val);
        if (!key)
            break;
        cs_grow((void **)&s->paths, &cap, s->n + 1, sizeof *s->paths);
        s->paths[s->n++] = key; /* taken over */
        key = NULL;
    }
    free(it);
    if (s->n)
        qsort(s->paths, s->n, sizeof *s->paths, by_str);
    plist_t rules = plist_dict_get_item(root, "rules2");
    if (!rules)
        rules = plist_dict_get_item(root, "rules");
    if (rules && plist_get_node_type(rules) == PLIST_DICT) {
        it = NULL;
        plist_dict_new_iter(rules, &it);
        for (size_t k = 0; it && k < 4096 && s->n_omit < SEAL_MAX_RULES; k++) {
            plist_dict_next_item(rules, it, &key, &val);
            if (!key)
                break;
            uint8_t omit = 0;
            plist_t o = val && plist_get_node_type(val) == PLIST_DICT ? plist_dict_get_item(val, "omit") : NULL;
            if (o && plist_get_node_type(o) == PLIST_BOOLEAN)
                plist_get_bool_val(o, &omit);
            if (omit && regcomp(&s->omit[s->n_omit], key, REG_EXTENDED | REG_NOSUB) == 0)
                s->n_omit++;
            free(key);
            key = NULL;
        }
        free(it);
    }
    plist_free(root);
    return s;
}

int cs_mc_seal_covers(const cs_mc_seal *s, const char *rel)
{
    /* what the CodeDirectory seals itself */
    if (strncmp(rel, "_CodeSignature/", 15) == 0 || strcmp(rel, s->info_plist) == 0 || strcmp(rel, "PkgInfo") == 0 ||
        (*s->main_exe && strcmp(rel, s->main_exe) == 0))
        return 1;
    if (s->n && bsearch(&rel, s->paths, s->n, sizeof *s->paths, by_str))
        return 1;
    /* inside a nested bundle that is sealed as a whole: "Frameworks/X.framework" */
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s", rel);
    for (char *slash = strrchr(prefix, '/'); slash; slash = strrchr(prefix, '/')) {
        *slash = '\0';
        const char *p = prefix;
        if (s->n && bsearch(&p, s->paths, s->n, sizeof *s->paths, by_str))
            return 1;
    }
    for (size_t i = 0; i < s->n_omit; i++)
        if (regexec(&s->omit[i], rel, 0, NULL, 0) == 0)
            return 1;
    return 0;
}

void cs_mc_seal_free(cs_mc_seal *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
    for (size_t i = 0; i < s->n_omit; i++)
        regfree(&s->omit[i]);
    free(s);
}
