/* The advisory layer: what each file says it is (PE version information,
 * an MSI's Property table, a bundle's Info.plist) against the loaded
 * advisories (advisories.json): compromised, vulnerable and retired
 * products and versions. */
#include <stdlib.h>
#include <string.h>

#include "detect/detector.h"
#include "format/advisory.h"

static void *adv_create(void)
{
    return calloc(1, sizeof(cs_advisory_set));
}

static void adv_destroy(void *st)
{
    cs_advisory_set_free(st);
    free(st);
}

static int adv_claims(const char *basename)
{
    size_t n = strlen(basename), k = strlen("advisories.json");
    return n >= k && strcmp(basename + n - k, "advisories.json") == 0;
}

typedef struct diag_ctx {
    cs_engine *e;
    const char *path;
} diag_ctx;

static void on_diag(void *ud, const char *msg)
{
    diag_ctx *d = ud;
    cs_engine_diag_add(d->e, d->path, 0, 1, "%s (entry skipped)", msg);
}

static cs_status adv_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    (void)err;
    if (!pf->text) /* diagnosed by the loader */
        return CS_OK;
    diag_ctx d = {e, pf->path};
    const char *why;
    if (cs_advisory_parse(pf->text, pf->len, st, on_diag, &d, &why) != 0)
        cs_engine_diag_add(e, pf->path, 0, 1, "advisories file skipped: %s", why);
    return CS_OK;
}

static int adv_active(const void *st)
{
    return ((const cs_advisory_set *)st)->n > 0;
}

static void adv_stats(const void *st, cs_load_stats *out)
{
    out->advisories += ((const cs_advisory_set *)st)->n;
}

static const char *source_label(const char *source)
{
    if (strcmp(source, "info-plist") == 0)
        return "Info.plist";
    if (strcmp(source, "msi") == 0)
        return "Property table";
    return "version information";
}

static cs_status adv_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    const cs_advisory_set *set = st;
    (void)ts;
    const cs_product *p = cs_file_product(f);
    if (!p) {
        if (f->product_error)
            return cs_error_set(err, CS_ERR_IO, "%s", f->product_error);
        return CS_OK;
    }
    const char *signer = NULL;
    int signer_read = 0;
    for (size_t i = 0; i < set->n; i++) {
        const cs_advisory *a = &set->items[i];
        if (a->uses_signer && !signer_read) {
            const cs_ac_cert *c = cs_ac_primary_signer(cs_file_signature(f, NULL));
            signer = c ? c->subject : NULL;
            signer_read = 1;
        }
        if (!cs_advisory_matches_product(a, p, f->name, signer) || !cs_advisory_affects_version(a, p->version))
            continue;
        cs_buf b = {0};
        cs_buf_printf(&b, "%s [%s", a->title, cs_advisory_status_name(a->status));
        if (a->status == CS_ADVISORY_RETIRED && a->date)
            cs_buf_printf(&b, " since %s", a->date);
        cs_buf_printf(&b, "]: %s %s", p->name ? p->name : f->name, p->version ? p->version : "(no version)");
        if (a->fixed_in)
            cs_buf_printf(&b, ", fixed in %s", a->fixed_in);
        cs_buf_printf(&b, " (read from the %s of %s)", source_label(p->source),
                      p->source_path ? p->source_path : f->path);
        cs_reason *r = cs_findings_add(out, "advisory", a->id, cs_arena_strdup(out->arena, b.data), a->score);
        if (a->n_references)
            r->reference = a->references[0];
        cs_buf_free(&b);
    }
    if (f->product_error && !out->warning)
        out->warning = cs_arena_strdup(out->arena, f->product_error);
    return CS_OK;
}

const cs_detector_ops cs_advisory_detector = {
    .name = "advisory",
    .needs_content = 1,
    .create = adv_create,
    .destroy = adv_destroy,
    .claims = adv_claims,
    .load = adv_load,
    .active = adv_active,
    .stats = adv_stats,
    .scan = adv_scan,
};
