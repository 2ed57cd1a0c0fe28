/* Authenticode verification of PE files, including the checks no common
 * tool makes: data smuggled into the signature (CVE-2013-3900, the 3CX
 * d3dcompiler_47.dll), tables that are not what their header says, data
 * after the table, unauthenticated attributes. */
#ifndef CHAINSWEEP_AUTHENTICODE_H
#define CHAINSWEEP_AUTHENTICODE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chainsweep/chainsweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Trust anchors and CRLs for chain checks. Without one, a verification
 * says "not checked against a trust anchor", never "valid". */
typedef struct cs_trust cs_trust;

cs_status cs_trust_new(cs_trust **out, cs_error *err);
void cs_trust_free(cs_trust *t);
/* A PEM file with one or more certificates, or a directory of them. */
cs_status cs_trust_add(cs_trust *t, const char *path, cs_error *err);
/* A CRL (PEM or DER); revocation is then checked for the whole chain. */
cs_status cs_trust_add_crl(cs_trust *t, const char *path, cs_error *err);
size_t cs_trust_count(const cs_trust *t);
/* How anchors are used (bits, default 0):
 * CS_TRUST_PARTIAL_CHAIN: an anchor need not be self-signed (a UEFI db
 *   certificate such as Microsoft's UEFI CA, an intermediate one chooses to
 *   trust): the chain may end at any given certificate.
 * CS_TRUST_IGNORE_TIME: validity periods and timestamps play no part, as in
 *   UEFI firmware (which has no trusted clock). */
enum { CS_TRUST_PARTIAL_CHAIN = 1, CS_TRUST_IGNORE_TIME = 2 };
void cs_trust_set_flags(cs_trust *t, unsigned flags);

typedef enum cs_ac_issue {
    CS_AC_PAYLOAD_IN_SIGNATURE = 0, /* non-zero bytes after the PKCS#7 inside an entry */
    CS_AC_PAYLOAD_MARKER,           /* FE ED FA CE FE ED FA CE in the certificate table */
    CS_AC_ZERO_SLACK,               /* 8 or more zero bytes after the PKCS#7 */
    CS_AC_DIGEST_MISMATCH,          /* file changed after signing */
    CS_AC_PAGE_HASH_MISMATCH,
    CS_AC_MESSAGE_DIGEST_MISMATCH,  /* signed attributes do not cover this content */
    CS_AC_BAD_SIGNATURE,            /* signer's signature does not verify */
    CS_AC_MALFORMED_TABLE,
    CS_AC_MALFORMED_SIGNATURE,
    CS_AC_OVERLAY_AFTER_TABLE,
    CS_AC_MULTIPLE_ENTRIES,
    CS_AC_UNAUTHENTICATED_ATTRIBUTE,
    CS_AC_BAD_TIMESTAMP,
    CS_AC_EXPIRED,                  /* outside validity, no valid timestamp */
    CS_AC_REVOKED,
    CS_AC_UNTRUSTED,
    CS_AC_WRONG_EKU,
    CS_AC__COUNT
} cs_ac_issue;

const char *cs_ac_issue_name(cs_ac_issue i);        /* "payload_in_signature" */
const char *cs_ac_issue_description(cs_ac_issue i);
int cs_ac_issue_score(cs_ac_issue i);
int cs_ac_issue_is_tampering(cs_ac_issue i);

typedef struct cs_ac_finding {
    cs_ac_issue issue;
    int signature;                 /* index into signatures, -1: the file/table */
    char detail[256];
} cs_ac_finding;

typedef struct cs_ac_cert {
    char subject[256], issuer[256];
    char serial[128];              /* "1b:66:11:..." lower case */
    char sha1[41], sha256[65];     /* thumbprints of the DER */
    time_t not_before, not_after;
} cs_ac_cert;

typedef enum cs_ac_chain {
    CS_AC_CHAIN_NOT_CHECKED = 0,   /* no trust anchors given */
    CS_AC_CHAIN_OK,
    CS_AC_CHAIN_FAILED
} cs_ac_chain;

typedef struct cs_ac_signature {
    int entry;                     /* WIN_CERTIFICATE index */
    int nested;                    /* 0: primary of its entry, 1+: nested depth */
    char digest_alg[32];
    unsigned char signed_digest[64], computed_digest[64];
    size_t digest_len;
    int digest_ok, message_digest_ok, signature_ok;
    int has_signer;
    cs_ac_cert signer;
    cs_ac_cert chain[8];           /* signer first, then issuers as built */
    size_t chain_len;
    cs_ac_chain chain_status;
    char chain_error[128];
    char program_name[128], program_url[256];
    int timestamp;                 /* 0 none, 1 legacy PKCS#9, 2 RFC 3161 */
    int timestamp_ok;
    time_t timestamp_time;
    cs_ac_cert tsa;
    int page_hashes;               /* present */
    int page_hashes_ok;
} cs_ac_signature;

typedef enum cs_ac_verdict {
    CS_AC_VALID = 0,               /* intact and chained to a given anchor */
    CS_AC_INTACT_UNANCHORED,       /* intact; chain not checked (no anchors) */
    CS_AC_INVALID,                 /* intact but expired/revoked/untrusted/... */
    CS_AC_TAMPERED,
    CS_AC_UNSIGNED,
    CS_AC_NOT_PE
} cs_ac_verdict;

const char *cs_ac_verdict_name(cs_ac_verdict v);
/* One word: valid, intact (chain not checked), invalid, tampered, unsigned, not-pe. */
const char *cs_ac_verdict_id(cs_ac_verdict v);

typedef struct cs_ac_report {
    cs_ac_verdict verdict;
    const char *not_pe_reason;
    uint32_t table_offset, table_size;
    size_t entries;
    cs_ac_signature *signatures;
    size_t n_signatures;
    cs_ac_finding *findings;
    size_t n_findings;
} cs_ac_report;

/* Verify every signature of a PE image held in memory. trust may be NULL.
 * now: the time to check validity at when there is no valid timestamp
 * (0: the current time). Fails only on allocation errors. */
cs_status cs_authenticode_verify(const unsigned char *data, size_t size, const cs_trust *trust,
                                 time_t now, cs_ac_report **out, cs_error *err);
/* The same for a file: opened read-only (never blocking on a FIFO or
 * device: those, and empty files, are CS_ERR_ARG), mapped, and read inside a
 * guard, so a file that shrinks or vanishes while it is verified is
 * CS_ERR_IO for that file instead of a crash (SIGBUS). */
cs_status cs_authenticode_verify_path(const char *path, const cs_trust *trust, time_t now, cs_ac_report **out,
                                      cs_error *err);
void cs_ac_report_free(cs_ac_report *r);
/* The first signature's signer certificate (the one Windows shows), or
 * NULL when no signature names a signer. */
const cs_ac_cert *cs_ac_primary_signer(const cs_ac_report *r);

#ifdef __cplusplus
}
#endif
#endif
