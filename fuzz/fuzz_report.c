/* Fuzz output rendering with hostile paths and matched bytes: every format
 * must produce valid output for any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chainsweep/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    cs_match m = {"$a", 0, data, size};
    cs_reason r = {"yara", path, path, path, NULL, 70, &m, 1};
    cs_result res;
    memset(&res, 0, sizeof res);
    res.path = path;
    res.filetype = "UNKNOWN";
    res.level = CS_LEVEL_WARNING;
    res.score = 70;
    res.reasons = &r;
    res.n_reasons = 1;
    for (int f = CS_FORMAT_TEXT; f <= CS_FORMAT_CSV; f++) {
        cs_report_opts o = {(cs_format)f, 1, CS_LEVEL_NOTICE, 1, path, 0};
        cs_text t;
        cs_report_result(&o, &res, &t);
        if (f == CS_FORMAT_JSON && t.len == 0)
            abort(); /* a finding must always render */
        if (f == CS_FORMAT_JSON) { /* and as one valid JSON object on one line */
            json_error_t je;
            json_t *j = json_loadb(t.data, t.len, 0, &je);
            if (!j || !json_is_object(j) || memchr(t.data, '\n', t.len) != t.data + t.len - 1)
                abort();
            json_decref(j);
        }
        cs_text_free(&t);
    }
    free(path);
    return 0;
}
