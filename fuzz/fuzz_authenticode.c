/* Fuzz the Authenticode verifier end to end: certificate table walk, DER,
 * PKCS#7/CMS, SpcIndirectDataContent, page hashes, timestamps. Seed with
 * the signed fixtures (fuzz/run.sh builds them). */
#include <stdint.h>
#include <stdlib.h>

#include "chainsweep/authenticode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_ac_report *r = NULL;
    cs_error err;
    if (cs_authenticode_verify(data, size, NULL, 1700000000, &r, &err) != CS_OK)
        abort(); /* only allocation failures may fail */
    for (size_t i = 0; i < r->n_findings; i++)
        if (r->findings[i].signature >= (int)r->n_signatures)
            abort();
    cs_ac_report_free(r);
    return 0;
}
