/* Fuzz the IOC file parsers: one input is a whole IOC file, parsed as
 * every kind (hash, filename, C2, signer), the way the loader walks it line
 * by line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/ioc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int kind = 0; kind < 4; kind++) {
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        cs_line_iter it;
        cs_line_iter_init(&it, text, size);
        for (char *l; (l = cs_line_iter_next(&it)) != NULL;) {
            const char *why = NULL;
            if (kind == 0) {
                cs_hash_line h;
                if (cs_parse_hash_line(l, &h, &why) == CS_LINE_OK)
                    (void)cs_hash_is_trivial(h.digest, h.digest_len);
            } else if (kind == 1) {
                cs_filename_line f;
                if (cs_parse_filename_line(l, &f, &why) == CS_LINE_OK) {
                    cs_buf b = {0};
                    int plain;
                    cs_filename_regex_for_posix(f.regex, &b, &plain);
                    cs_buf_free(&b);
                }
            } else if (kind == 2) {
                cs_c2_line c;
                (void)cs_parse_c2_line(l, &c, &why);
            } else {
                cs_signer_line sg;
                (void)cs_parse_signer_line(l, &sg, &why);
            }
        }
        free(text);
    }
    char name[64];
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    (void)cs_ioc_classify(name);
    return 0;
}
