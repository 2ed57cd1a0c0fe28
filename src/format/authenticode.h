/* Authenticode entry point for callers that already parsed the PE (the scan
 * shares one parse per file through the file view). */
#ifndef CS_FORMAT_AUTHENTICODE_H
#define CS_FORMAT_AUTHENTICODE_H

#include "chainsweep/authenticode.h"
#include "format/pe.h"

cs_status cs_authenticode_verify_pe(const cs_pe *pe, const cs_trust *trust, time_t now, cs_ac_report **out,
                                    cs_error *err);

/* cs_authenticode_verify on a mapping whose bytes may be given back once
 * digested (release, ud: see cs_pe.release). */
cs_status cs_authenticode_verify_mapped(const unsigned char *data, size_t size,
                                        void (*release)(void *ud, const unsigned char *p, size_t len), void *ud,
                                        const cs_trust *trust, time_t now, cs_ac_report **out, cs_error *err);

#endif
