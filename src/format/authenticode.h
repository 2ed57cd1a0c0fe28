/* Authenticode entry point for callers that already parsed the PE (the scan
 * shares one parse per file through the file view). */
#ifndef CS_FORMAT_AUTHENTICODE_H
#define CS_FORMAT_AUTHENTICODE_H

#include "chainsweep/authenticode.h"
#include "format/pe.h"

cs_status cs_authenticode_verify_pe(const cs_pe *pe, const cs_trust *trust, time_t now, cs_ac_report **out,
                                    cs_error *err);

#endif
