/* Fuzz the literal analysis of YARA rules (format/yara_literals.c) behind
 * the splitter: every literal must lie inside its buffer, with sane flags,
 * whatever the rule text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/yara_literals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    cs_yara_split sp;
    cs_yara_split_parse(text, size, &sp);
    cs_yara_needs *all = calloc(sp.n + 1, sizeof *all); /* earlier rules' needs: named rules */
    for (size_t i = 0; i < sp.n; i++) {
        const cs_yara_rule_span *r = &sp.rules[i];
        if (r->cond_end > size || r->cond_start > r->cond_end || r->strings_end > size ||
            r->strings_start > (r->strings_end ? r->strings_end : size))
            abort();
        for (size_t k = 0; k < r->n_deps; k++)
            if (sp.deps[r->deps_at + k] >= sp.n)
                abort();
        cs_yara_needs n;
        cs_yara_rule_needs(text, &sp, i, all, 1 + (size & 15), &n);
        if (n.filterable != (n.why == NULL) || (n.filterable && n.n == 0))
            abort();
        for (size_t k = 0; k < n.n; k++)
            if (n.lits[k].at + n.lits[k].len > n.bytes_len || n.lits[k].len == 0 || n.lits[k].caseless > 1)
                abort();
        all[i] = n;
    }
    for (size_t i = 0; i < sp.n; i++)
        cs_yara_needs_free(&all[i]);
    free(all);
    cs_yara_split_free(&sp);
    free(text);
    return 0;
}
