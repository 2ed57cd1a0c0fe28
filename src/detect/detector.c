/* What every detector shares: the findings list of one file and the
 * line-by-line reader of IOC-style pack files. */
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "format/ioc.h"

cs_reason *cs_findings_add(cs_findings *out, const char *detector, const char *rule,
                           const char *description, int score)
{
    cs_grow((void **)&out->reasons, &out->cap, out->n + 1, sizeof *out->reasons);
    cs_reason *r = &out->reasons[out->n++];
    memset(r, 0, sizeof *r);
    r->detector = detector;
    r->rule = rule;
    r->description = description ? description : "";
    r->score = score;
    return r;
}

void cs_reason_add_match(cs_findings *out, cs_reason *r, const char *id, uint64_t offset,
                         const unsigned char *data, size_t len)
{
    /* matches live in the arena; grow by copying (reasons have few matches) */
    cs_match *m = cs_arena_alloc(out->arena, (r->n_matches + 1) * sizeof *m);
    if (r->n_matches)
        memcpy(m, r->matches, r->n_matches * sizeof *m);
    m[r->n_matches] = (cs_match){id, offset, data ? cs_arena_memdup(out->arena, data, len) : NULL, len};
    r->matches = m;
    r->n_matches++;
}

cs_status cs_load_lines(cs_engine *e, const cs_pack_file *pf, cs_ioc_line_fn fn, void *ud, size_t *n_ok,
                        cs_error *err)
{
    (void)err;
    if (!pf->text)
        return CS_OK; /* one unreadable IOC file does not stop the load */
    char *text = cs_xmalloc(pf->len + 1); /* the iterator cuts lines in place */
    memcpy(text, pf->text, pf->len + 1);
    const char *path = pf->path;
    cs_line_iter it;
    cs_line_iter_init(&it, text, pf->len);
    size_t ok = 0;
    for (char *l; (l = cs_line_iter_next(&it)) != NULL;) {
        const char *why = NULL;
        int rc = fn(ud, l, it.comment, &why);
        if (rc == CS_LINE_OK)
            ok++;
        else if (rc == CS_LINE_BAD)
            cs_engine_diag_add(e, path, it.lineno, 0, "skipped line: %s", why ? why : "malformed");
    }
    free(text);
    if (n_ok)
        *n_ok += ok;
    return CS_OK;
}

