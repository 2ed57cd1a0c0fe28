/* Fuzz the YARA rule-file splitter and guard reader: spans must stay inside
 * the text and be ordered, and the rules a condition names be other rules
 * of the file, ascending, whatever the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/yara_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    cs_yara_split sp;
    cs_yara_split_parse(text, size, &sp);
    size_t prev = 0;
    for (size_t i = 0; i < sp.n; i++) {
        const cs_yara_rule_span *r = &sp.rules[i];
        if (r->start < prev || r->end > size || r->start > r->end || r->guard_len > 4)
            abort();
        prev = r->end;
        (void)cs_yara_guard_compatible(r, (const unsigned char *)"MZ", 2);
        /* the rules a condition names: other rules of the file, each once */
        if (r->deps_at + r->n_deps > sp.n_deps || r->refs_at + r->n_refs > sp.n_refs)
            abort();
        for (size_t k = 0; k < r->n_deps; k++) {
            size_t d = sp.deps[r->deps_at + k];
            if (d >= sp.n || d == i || (k && d <= sp.deps[r->deps_at + k - 1]))
                abort();
        }
        for (size_t k = 0; k < r->n_refs; k++)
            if (sp.refs[r->refs_at + k] >= sp.n)
                abort();
    }
    cs_yara_split_free(&sp);
    free(text);
    return 0;
}
