/* Authenticode entry point for callers that already parsed the PE (the scan
 * shares one parse per file through the file view). */
#ifndef CS_FORMAT_AUTHENTICODE_H
#define CS_FORMAT_AUTHENTICODE_H

#include "chainsweep/authenticode.h"
#include "format/pe.h"

/* The "authentihash" (VirusTotal, AppLocker): SHA-256 of the image as
 * Authenticode digests it, signed or not (the CheckSum field and the
 * security directory entry left out; up to the certificate table, else the
 * end of the file). 0, or -1 when the headers do not allow it. */
int cs_pe_authentihash(const cs_pe *pe, unsigned char out[32]);

cs_status cs_authenticode_verify_pe(const cs_pe *pe, const cs_trust *trust, time_t now, cs_ac_report **out,
                                    cs_error *err);

/* cs_authenticode_verify on a mapping whose bytes may be given back once
 * digested (release, ud: see cs_pe.release). */
cs_status cs_authenticode_verify_mapped(const unsigned char *data, size_t size,
                                        void (*release)(void *ud, const unsigned char *p, size_t len), void *ud,
                                        const cs_trust *trust, time_t now, cs_ac_report **out, cs_error *err);

/* ---- shared with the Mach-O code-signature verifier ---- */

#include <openssl/x509.h>

#define CS_AC_MAX_CHAIN 8

/* Subject, issuer, serial, thumbprints and validity of x. */
void cs_ac_cert_fill(cs_ac_cert *c, X509 *x);

/* Chain of x at time t against the trust store (then, with CRLs, revocation
 * as of now); apple: Apple's critical certificate extensions
 * (1.2.840.113635.100.6.*) are understood. chain (may be NULL) gets the
 * chain as built, at most CS_AC_MAX_CHAIN. 1 when it verifies, else 0 with
 * the OpenSSL error code and text. */
int cs_trust_check_chain(const cs_trust *trust, X509 *x, STACK_OF(X509) *untrusted, time_t t, time_t now,
                         int purpose, int apple, cs_ac_cert *chain, size_t *chain_len, int *err_code,
                         char *err_text, size_t err_len);

/* An RFC 3161 timestamp token (DER) over a signature value: the imprint,
 * the token's own signature and, with anchors, the TSA's chain at the
 * token's time (apple: as for cs_trust_check_chain). */
typedef struct cs_rfc3161 {
    int ok;
    time_t time;                   /* genTime, when the token could be read */
    int has_tsa;
    cs_ac_cert tsa;
    char problem[128];             /* why not ok */
} cs_rfc3161;
void cs_rfc3161_check(const unsigned char *der, size_t len, const unsigned char *sigval, size_t sig_len,
                      const cs_trust *trust, time_t now, int apple, cs_rfc3161 *out);

#endif
