#define _GNU_SOURCE /* FNM_CASEFOLD */
#include "format/advisory.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/version.h"
#include "format/versioninfo.h"
#include "util/util.h"

static const struct {
    const char *name;
    cs_advisory_status status;
    int score;                   /* default: compromised is an alert, retired a notice */
} statuses[] = {
    {"compromised", CS_ADVISORY_COMPROMISED, 100},
    {"vulnerable", CS_ADVISORY_VULNERABLE, 70},
    {"retired", CS_ADVISORY_RETIRED, 50},
};

const char *cs_advisory_status_name(cs_advisory_status s)
{
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (statuses[i].status == s)
            return statuses[i].name;
    return "unknown";
}

static void matcher_free(cs_advisory_matcher *m)
{
    free(m->product);
    free(m->company);
    free(m->file);
    free(m->bundle_id);
    free(m->signer);
    free(m->platform);
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void advisory_free(cs_advisory *a)
{
    free(a->id);
    free(a->title);
    free(a->date);
    free(a->fixed_in);
    for (size_t i = 0; i < a->n_matchers; i++)
        matcher_free(&a->matchers[i]);
    free(a->matchers);
    for (size_t i = 0; i < a->n_ranges; i++) {
        free(a->ranges[i].introduced);
        free(a->ranges[i].fixed);
        free(a->ranges[i].last_affected);
        strings_free(a->ranges[i].versions, a->ranges[i].n_versions);
    }
    free(a->ranges);
    strings_free(a->references, a->n_references);
}

void cs_advisory_set_free(cs_advisory_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        advisory_free(&set->items[i]);
    free(set->items);
    memset(set, 0, sizeof *set);
}

/* ---- parsing ---- */

typedef struct parse_ctx {
    cs_advisory_diag_fn diag;
    void *ud;
    const char *id;
    int failed;
} parse_ctx;

static void complain(parse_ctx *c, const char *fmt, ...) CS_PRINTF(2, 3);

static void complain(parse_ctx *c, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[400];
    snprintf(full, sizeof full, "advisory %s: %s", c->id ? c->id : "(no id)", msg);
    if (c->diag)
        c->diag(c->ud, full);
    c->failed = 1;
}

/* A string member: NULL when absent; a complaint when of another type. */
static char *get_string(parse_ctx *c, json_t *obj, const char *key, int required)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            complain(c, "\"%s\" is missing", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        complain(c, "\"%s\" must be a non-empty string", key);
        return NULL;
    }
    return cs_strdup(json_string_value(v));
}

static char **get_strings(parse_ctx *c, json_t *obj, const char *key, size_t *n)
{
    *n = 0;
    json_t *v = json_object_get(obj, key);
    if (!v)
        return NULL;
    if (!json_is_array(v)) {
        complain(c, "\"%s\" must be an array of strings", key);
        return NULL;
    }
    char **out = calloc(json_array_size(v) + 1, sizeof *out);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            complain(c, "\"%s\" must be an array of strings", key);
            continue;
        }
        out[(*n)++] = cs_strdup(json_string_value(e));
    }
    return out;
}

static const char *const matcher_keys[] = {"product", "company", "file", "bundle_id", "signer", "platform"};

static int parse_matcher(parse_ctx *c, json_t *o, cs_advisory_matcher *m)
{
    memset(m, 0, sizeof *m);
    if (!json_is_object(o)) {
        complain(c, "\"products\" entries must be objects");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t k = 0;
        while (k < sizeof matcher_keys / sizeof *matcher_keys && strcmp(key, matcher_keys[k]) != 0)
            k++;
        if (k == sizeof matcher_keys / sizeof *matcher_keys)
            complain(c, "unknown product field \"%s\"", key);
    }
    char **slots[] = {&m->product, &m->company, &m->file, &m->bundle_id, &m->signer, &m->platform};
    int any = 0;
    for (size_t k = 0; k < sizeof slots / sizeof *slots; k++) {
        *slots[k] = get_string(c, o, matcher_keys[k], 0);
        any += *slots[k] != NULL && slots[k] != &m->platform; /* platform alone names nothing */
    }
    if (m->platform && strcmp(m->platform, "windows") != 0 && strcmp(m->platform, "macos") != 0)
        complain(c, "platform \"%s\" is not windows or macos", m->platform);
    if (!any)
        complain(c, "a \"products\" entry names no product, company, file, bundle_id or signer");
    return 0;
}

static void parse_range(parse_ctx *c, json_t *o, cs_advisory_range *r)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(o)) {
        complain(c, "\"affected\" entries must be objects");
        return;
    }
    r->introduced = get_string(c, o, "introduced", 0);
    r->fixed = get_string(c, o, "fixed", 0);
    r->last_affected = get_string(c, o, "last_affected", 0);
    r->versions = get_strings(c, o, "versions", &r->n_versions);
    const char *all[] = {r->introduced, r->fixed, r->last_affected};
    for (size_t i = 0; i < 3; i++)
        if (all[i] && !cs_version_valid(all[i]))
            complain(c, "\"%s\" is not a version", all[i]);
    for (size_t i = 0; i < r->n_versions; i++)
        if (!cs_version_valid(r->versions[i]))
            complain(c, "\"%s\" is not a version", r->versions[i]);
    if (r->fixed && r->last_affected)
        complain(c, "a range has both \"fixed\" and \"last_affected\"");
    if (!r->n_versions && !r->introduced && !r->fixed && !r->last_affected)
        complain(c, "an \"affected\" entry names no version");
}

static int parse_advisory(parse_ctx *c, json_t *o, cs_advisory *a)
{
    memset(a, 0, sizeof *a);
    c->failed = 0;
    c->id = NULL;
    if (!json_is_object(o)) {
        complain(c, "advisories must be objects");
        return -1;
    }
    a->id = get_string(c, o, "id", 1);
    c->id = a->id;
    a->title = get_string(c, o, "title", 1);
    a->date = get_string(c, o, "date", 0);
    a->fixed_in = get_string(c, o, "fixed_in", 0);
    char *status = get_string(c, o, "status", 1);
    size_t si = 0;
    while (status && si < sizeof statuses / sizeof *statuses && strcmp(status, statuses[si].name) != 0)
        si++;
    if (status && si == sizeof statuses / sizeof *statuses)
        complain(c, "status \"%s\" is not compromised, vulnerable or retired", status);
    else if (status) {
        a->status = statuses[si].status;
        a->score = statuses[si].score;
    }
    free(status);
    json_t *score = json_object_get(o, "score");
    if (score && (!json_is_integer(score) || json_integer_value(score) < 0 || json_integer_value(score) > 100))
        complain(c, "\"score\" must be an integer from 0 to 100");
    else if (score)
        a->score = (int)json_integer_value(score);
    json_t *products = json_object_get(o, "products");
    if (!json_is_array(products) || json_array_size(products) == 0) {
        complain(c, "\"products\" must be a non-empty array");
    } else {
        a->matchers = calloc(json_array_size(products), sizeof *a->matchers);
        size_t i;
        json_t *e;
        json_array_foreach(products, i, e)
        {
            if (parse_matcher(c, e, &a->matchers[a->n_matchers]) == 0) {
                a->uses_signer |= a->matchers[a->n_matchers].signer != NULL;
                a->n_matchers++;
            }
        }
    }
    json_t *affected = json_object_get(o, "affected");
    if (affected && !json_is_array(affected)) {
        complain(c, "\"affected\" must be an array");
    } else if (affected) {
        a->ranges = calloc(json_array_size(affected) + 1, sizeof *a->ranges);
        size_t i;
        json_t *e;
        json_array_foreach(affected, i, e)
            parse_range(c, e, &a->ranges[a->n_ranges++]);
    }
    if (a->status != CS_ADVISORY_RETIRED && a->n_ranges == 0 && !c->failed)
        complain(c, "only \"retired\" advisories may leave out \"affected\" (every version)");
    a->references = get_strings(c, o, "references", &a->n_references);
    return c->failed ? -1 : 0;
}

int cs_advisory_parse(const char *text, size_t len, cs_advisory_set *set, cs_advisory_diag_fn diag, void *ud,
                      const char **why)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    static char msg[256];
    if (!root) {
        snprintf(msg, sizeof msg, "not JSON (line %d: %s)", jerr.line, jerr.text);
        *why = msg;
        return -1;
    }
    json_t *fmt = json_object_get(root, "chainsweep_advisories");
    json_t *list = json_object_get(root, "advisories");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != 1 || !json_is_array(list)) {
        json_decref(root);
        *why = "not an advisories document (needs \"chainsweep_advisories\": 1 and an \"advisories\" array)";
        return -1;
    }
    parse_ctx c = {diag, ud, NULL, 0};
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        cs_advisory a;
        if (parse_advisory(&c, e, &a) != 0) {
            advisory_free(&a);
            continue;
        }
        cs_grow((void **)&set->items, &set->cap, set->n + 1, sizeof *set->items);
        set->items[set->n++] = a;
    }
    json_decref(root);
    return 0;
}

/* ---- matching ---- */

static int glob_eq(const char *pattern, const char *s)
{
    return s && fnmatch(pattern, s, FNM_CASEFOLD) == 0;
}

/* Does the pattern match the CN or O of an X509_NAME_oneline subject? */
static int signer_eq(const char *pattern, const char *subject)
{
    if (!subject)
        return 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", subject);
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
        if ((strncmp(t, "CN=", 3) == 0 || strncmp(t, "O=", 2) == 0) && glob_eq(pattern, strchr(t, '=') + 1))
            return 1;
    return 0;
}

/* The primary value, or the field of any string table (every language
 * counts). */
static int any_table(const cs_product *p, const char *primary, size_t field, const char *pattern)
{
    if (glob_eq(pattern, primary))
        return 1;
    for (size_t i = 0; i < p->n_tables; i++)
        if (glob_eq(pattern, cs_product_strings_at(&p->tables[i], field)))
            return 1;
    return 0;
}

static int matcher_matches(const cs_advisory_matcher *m, const cs_product *p, const char *basename,
                           const char *signer)
{
    if (m->platform) {
        int macos = strcmp(p->source, "info-plist") == 0 || strncmp(p->source, "pkg-", 4) == 0;
        if (macos != (strcmp(m->platform, "macos") == 0))
            return 0;
    }
    if (m->product && !any_table(p, p->name, offsetof(cs_product_strings, product), m->product))
        return 0;
    if (m->company && !any_table(p, p->company, offsetof(cs_product_strings, company), m->company))
        return 0;
    if (m->file && !any_table(p, basename, offsetof(cs_product_strings, original_filename), m->file) &&
        !any_table(p, p->original_filename, offsetof(cs_product_strings, internal_name), m->file))
        return 0;
    if (m->bundle_id && !glob_eq(m->bundle_id, p->bundle_id))
        return 0;
    if (m->signer && !signer_eq(m->signer, signer))
        return 0;
    return 1;
}

int cs_advisory_matches_product(const cs_advisory *a, const cs_product *p, const char *basename,
                                const char *signer)
{
    for (size_t i = 0; i < a->n_matchers; i++)
        if (matcher_matches(&a->matchers[i], p, basename, signer))
            return 1;
    return 0;
}

static int range_affects(const cs_advisory_range *r, const char *v)
{
    for (size_t i = 0; i < r->n_versions; i++)
        if (cs_version_compare(v, r->versions[i]) == 0)
            return 1;
    if (!r->introduced && !r->fixed && !r->last_affected)
        return 0;
    if (r->introduced && cs_version_compare(v, r->introduced) < 0)
        return 0;
    if (r->fixed && cs_version_compare(v, r->fixed) >= 0)
        return 0;
    if (r->last_affected && cs_version_compare(v, r->last_affected) > 0)
        return 0;
    return 1;
}

int cs_advisory_affects_version(const cs_advisory *a, const char *version)
{
    if (a->n_ranges == 0)
        return 1;
    if (!cs_version_valid(version))
        return 0;
    for (size_t i = 0; i < a->n_ranges; i++)
        if (range_affects(&a->ranges[i], version))
            return 1;
    return 0;
}
