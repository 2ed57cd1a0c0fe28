/* The inventory of `chainsweep inventory`: one row per file that names a
 * product, rendered as a table, a JSON document or a CycloneDX 1.5 SBOM. */
#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chainsweep/report.h"
#include "format/version.h"
#include "report/report_internal.h"
#include "util/util.h"

struct cs_inventory {
    json_t *rows; /* array of row objects, in arrival order until rendered */
};

cs_inventory *cs_inventory_new(void)
{
    cs_inventory *inv = calloc(1, sizeof *inv);
    if (inv && !(inv->rows = json_array())) {
        free(inv);
        inv = NULL;
    }
    return inv;
}

void cs_inventory_free(cs_inventory *inv)
{
    if (!inv)
        return;
    json_decref(inv->rows);
    free(inv);
}

size_t cs_inventory_count(const cs_inventory *inv)
{
    return json_array_size(inv->rows);
}

void cs_inventory_add(cs_inventory *inv, const cs_result *r)
{
    if (!r->product)
        return;
    json_t *row = json_object();
    json_object_set_new(row, "product", cs_json_product(r->product));
    cs_json_set_path(row, r->path);
    cs_json_member_chain(row, r);
    json_object_set_new(row, "size", json_integer((json_int_t)r->size));
    json_object_set_new(row, "filetype", cs_json_opt_string(r->filetype));
    if (r->has_sha256) {
        char hex[65];
        cs_hex(hex, r->sha256, 32);
        json_object_set_new(row, "sha256", json_string(hex));
    }
    if (r->signature)
        json_object_set_new(row, "signature", json_string(r->signature));
    if (r->signer)
        json_object_set_new(row, "signer", cs_json_opt_string(r->signer));
    if (r->team_id)
        json_object_set_new(row, "team_id", cs_json_opt_string(r->team_id));
    if (r->tlsh[0])
        json_object_set_new(row, "tlsh", json_string(r->tlsh));
    json_t *adv = json_array();
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *x = &r->reasons[i];
        if (strcmp(x->detector, "advisory") != 0)
            continue;
        json_t *a = json_object();
        json_object_set_new(a, "id", cs_json_opt_string(x->rule));
        json_object_set_new(a, "score", json_integer(x->score));
        json_object_set_new(a, "description", cs_json_opt_string(x->description));
        json_array_append_new(adv, a);
    }
    json_object_set_new(row, "advisories", adv);
    if (r->error)
        json_object_set_new(row, "warning", cs_json_opt_string(r->error));
    json_array_append_new(inv->rows, row);
}

/* ---- row fields ---- */

static const char *product_field(json_t *row, const char *key)
{
    return json_string_value(json_object_get(json_object_get(row, "product"), key));
}

static const char *row_field(json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static int cmp_opt(const char *a, const char *b, int (*cmp)(const char *, const char *))
{
    if (!a || !b)
        return (a == NULL) - (b == NULL); /* rows without the field last */
    return cmp(a, b);
}

static int by_product(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int d = cmp_opt(product_field(a, "name"), product_field(b, "name"), strcasecmp);
    if (!d)
        d = cmp_opt(product_field(a, "version"), product_field(b, "version"), cs_version_compare);
    if (!d)
        d = strcmp(row_field(a, "path"), row_field(b, "path"));
    return d;
}

static void sort_rows(cs_inventory *inv)
{
    size_t n = json_array_size(inv->rows);
    if (n < 2)
        return;
    json_t **v = cs_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(inv->rows, i));
    qsort(v, n, sizeof *v, by_product);
    json_array_clear(inv->rows);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(inv->rows, v[i]);
    free(v);
}

/* The CN of an X509_NAME_oneline subject ("/C=GB/O=3CX Ltd/CN=3CX Ltd"). */
static void subject_cn(const char *subject, char *out, size_t n)
{
    const char *cn = subject ? strstr(subject, "/CN=") : NULL;
    if (!cn) {
        snprintf(out, n, "%s", subject ? subject : "-");
        return;
    }
    cn += 4;
    size_t len = strcspn(cn, "/");
    snprintf(out, n, "%.*s", (int)len, cn);
}

static void advisory_ids(json_t *row, cs_buf *b)
{
    json_t *adv = json_object_get(row, "advisories");
    size_t i;
    json_t *a;
    json_array_foreach(adv, i, a)
    {
        if (i)
            cs_buf_puts(b, ",");
        cs_buf_puts(b, json_string_value(json_object_get(a, "id")));
    }
    if (!b->len)
        cs_buf_puts(b, "-");
}

/* ---- table ---- */

enum { COL_PRODUCT, COL_VERSION, COL_COMPANY, COL_SIGNATURE, COL_SIGNER, COL_ADVISORIES, COL_SHA256, COL_PATH, N_COLS };
static const char *const col_names[N_COLS] = {"PRODUCT", "VERSION", "COMPANY", "SIGNATURE",
                                              "SIGNER", "ADVISORIES", "SHA256", "PATH"};
#define COL_MAX 40

/* Names and paths come from scanned files: no terminal control characters
 * (C0, DEL, and C1 as UTF-8) reach the table. */
static void sanitize_cell(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            p[0] = '?', p[1] = '?';
    }
}

static void row_cells(json_t *row, char cells[N_COLS][512])
{
    const char *v[N_COLS] = {product_field(row, "name"), product_field(row, "version"),
                             product_field(row, "company"), row_field(row, "signature"),
                             NULL, NULL, row_field(row, "sha256"),
                             row_field(row, "display_path") ? row_field(row, "display_path") : row_field(row, "path")};
    for (int c = 0; c < N_COLS; c++)
        snprintf(cells[c], 512, "%s", v[c] && *v[c] ? v[c] : "-");
    subject_cn(row_field(row, "signer"), cells[COL_SIGNER], 512);
    cs_buf ids = {0};
    advisory_ids(row, &ids);
    snprintf(cells[COL_ADVISORIES], 512, "%s", ids.data);
    cs_buf_free(&ids);
    for (int c = 0; c < N_COLS; c++)
        sanitize_cell(cells[c]);
}

static void render_table(cs_inventory *inv, cs_buf *b)
{
    size_t n = json_array_size(inv->rows);
    size_t width[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        width[c] = strlen(col_names[c]);
    char cells[N_COLS][512];
    for (size_t i = 0; i < n; i++) {
        row_cells(json_array_get(inv->rows, i), cells);
        for (int c = 0; c < N_COLS; c++) {
            size_t len = strlen(cells[c]);
            width[c] = len > width[c] ? (len > COL_MAX && c < COL_SHA256 ? COL_MAX : len) : width[c];
        }
    }
    for (size_t i = 0; i <= n; i++) {
        if (i == 0)
            for (int c = 0; c < N_COLS; c++)
                snprintf(cells[c], 512, "%s", col_names[c]);
        else
            row_cells(json_array_get(inv->rows, i - 1), cells);
        for (int c = 0; c < N_COLS; c++) {
            if (c == N_COLS - 1)
                cs_buf_printf(b, "%s\n", cells[c]);
            else
                cs_buf_printf(b, "%-*.*s  ", (int)width[c], (int)width[c], cells[c]);
        }
    }
}

/* ---- JSON ---- */

static void dump(json_t *j, cs_buf *b)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    if (s) {
        cs_buf_puts(b, s);
        cs_buf_puts(b, "\n");
        free(s);
    }
}

/* ---- CycloneDX 1.5 ---- */

/* A random (version 4) UUID; -1 without an entropy source. */
static int uuid_v4(char out[37])
{
    unsigned char u[16];
    if (RAND_bytes(u, sizeof u) != 1)
        return -1;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    char hex[33];
    cs_hex(hex, u, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
}

static const char *component_type(const char *path, const char *source)
{
    const char *dot = strrchr(path, '.');
    if (strcmp(source, "pe-version-info") == 0 && dot) {
        if (strcasecmp(dot, ".dll") == 0 || strcasecmp(dot, ".ocx") == 0 || strcasecmp(dot, ".cpl") == 0)
            return "library";
        if (strcasecmp(dot, ".sys") == 0)
            return "device-driver";
    }
    return "application";
}

static void add_property(json_t *props, const char *name, json_t *value)
{
    if (!value || !json_is_string(value)) {
        json_decref(value);
        return;
    }
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string(name));
    json_object_set_new(p, "value", value);
    json_array_append_new(props, p);
}

static json_t *component(json_t *row, size_t index)
{
    json_t *prod = json_object_get(row, "product");
    const char *path = row_field(row, "path");
    const char *name = product_field(row, "name");
    const char *slash = strrchr(path, '/');
    char ref[96];
    const char *sha = row_field(row, "sha256");
    snprintf(ref, sizeof ref, "file-%zu-%.16s", index + 1, sha ? sha : "nohash");
    json_t *c = json_object();
    json_object_set_new(c, "type", json_string(component_type(path, product_field(row, "source"))));
    json_object_set_new(c, "bom-ref", json_string(ref));
    const char *company = product_field(row, "company");
    if (company)
        json_object_set_new(c, "publisher", json_string(company));
    json_object_set_new(c, "name", json_string(name ? name : slash ? slash + 1 : path));
    const char *version = product_field(row, "version");
    if (version)
        json_object_set_new(c, "version", json_string(version));
    const char *desc = product_field(row, "description");
    if (desc)
        json_object_set_new(c, "description", json_string(desc));
    if (sha) {
        json_t *h = json_object();
        json_object_set_new(h, "alg", json_string("SHA-256"));
        json_object_set_new(h, "content", json_string(sha));
        json_t *hashes = json_array();
        json_array_append_new(hashes, h);
        json_object_set_new(c, "hashes", hashes);
    }
    json_t *occ = json_object();
    json_t *where = json_object_get(row, "display_path");
    json_object_set(occ, "location", where ? where : json_object_get(row, "path"));
    json_t *occs = json_array();
    json_array_append_new(occs, occ);
    json_t *ev = json_object();
    json_object_set_new(ev, "occurrences", occs);
    json_object_set_new(c, "evidence", ev);
    json_t *props = json_array();
    add_property(props, "chainsweep:source", json_incref(json_object_get(prod, "source")));
    add_property(props, "chainsweep:source_path", json_incref(json_object_get(prod, "source_path")));
    add_property(props, "chainsweep:file_version", json_incref(json_object_get(prod, "file_version")));
    add_property(props, "chainsweep:original_filename", json_incref(json_object_get(prod, "original_filename")));
    add_property(props, "chainsweep:bundle_id", json_incref(json_object_get(prod, "bundle_id")));
    add_property(props, "chainsweep:signature", json_incref(json_object_get(row, "signature")));
    add_property(props, "chainsweep:signer", json_incref(json_object_get(row, "signer")));
    add_property(props, "chainsweep:team_id", json_incref(json_object_get(row, "team_id")));
    add_property(props, "chainsweep:tlsh", json_incref(json_object_get(row, "tlsh")));
    add_property(props, "chainsweep:path_b64", json_incref(json_object_get(row, "path_b64")));
    json_object_set_new(c, "properties", props);
    return c;
}

/* One vulnerability per advisory id, affecting every component it hit. */
static void add_vulnerability(json_t *vulns, json_t *adv, const char *component_ref)
{
    const char *id = json_string_value(json_object_get(adv, "id"));
    size_t i;
    json_t *v;
    json_array_foreach(vulns, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0) {
            json_t *a = json_object();
            json_object_set_new(a, "ref", json_string(component_ref));
            json_array_append_new(json_object_get(v, "affects"), a);
            return;
        }
    }
    v = json_object();
    char ref[160];
    snprintf(ref, sizeof ref, "advisory-%s", id);
    json_object_set_new(v, "bom-ref", json_string(ref));
    json_object_set_new(v, "id", json_string(id));
    json_t *src = json_object();
    json_object_set_new(src, "name", json_string("chainsweep advisories"));
    json_object_set_new(v, "source", src);
    json_object_set(v, "description", json_object_get(adv, "description"));
    json_t *affects = json_array();
    json_t *a = json_object();
    json_object_set_new(a, "ref", json_string(component_ref));
    json_array_append_new(affects, a);
    json_object_set_new(v, "affects", affects);
    json_array_append_new(vulns, v);
}

/* Is row a's member chain a strict prefix of row b's (same outer file)? */
static size_t chain_len(json_t *row)
{
    return json_array_size(json_object_get(row, "members"));
}

static int chain_prefix(json_t *a, json_t *b)
{
    size_t na = chain_len(a), nb = chain_len(b);
    if (na >= nb || !json_equal(json_object_get(a, "path"), json_object_get(b, "path")))
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!json_equal(json_object_get(json_array_get(json_object_get(a, "members"), i), "member"),
                        json_object_get(json_array_get(json_object_get(b, "members"), i), "member")))
            return 0;
    return 1;
}

static void append_child(json_t *parent, json_t *child)
{
    json_t *kids = json_object_get(parent, "components");
    if (!kids) {
        kids = json_array();
        json_object_set_new(parent, "components", kids);
    }
    json_array_append_new(kids, child);
}

/* Installer contents as nested components: a member's component goes into
 * the component of its nearest container that names a product (an MSI), or
 * into a "file" component for its outer file (a ZIP that names none). Rows
 * of one outer file are few, so the search is by path over a small index. */
static void nest_components(json_t *rows, json_t **built, json_t *top)
{
    size_t n = json_array_size(rows);
    json_t *by_path = json_object(), *outer_files = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *p = row_field(json_array_get(rows, i), "path");
        json_t *list = json_object_get(by_path, p);
        if (!list)
            json_object_set_new(by_path, p, list = json_array());
        json_array_append_new(list, json_integer((json_int_t)i));
    }
    /* deepest rows first, so a container's component is complete when placed */
    size_t placed = 0;
    for (size_t depth = 64; depth-- > 0;) {
        for (size_t i = 0; i < n; i++) {
            json_t *row = json_array_get(rows, i);
            if (chain_len(row) != depth)
                continue;
            placed++;
            if (depth == 0) {
                json_array_append_new(top, built[i]);
                continue;
            }
            long best = -1;
            size_t best_len = 0, k;
            json_t *idx;
            json_array_foreach(json_object_get(by_path, row_field(row, "path")), k, idx)
            {
                json_t *cand = json_array_get(rows, (size_t)json_integer_value(idx));
                if (chain_prefix(cand, row) && (best < 0 || chain_len(cand) >= best_len)) {
                    best = (long)json_integer_value(idx);
                    best_len = chain_len(cand);
                }
            }
            if (best >= 0) {
                append_child(built[best], built[i]);
                continue;
            }
            const char *p = row_field(row, "path");
            json_t *file = json_object_get(outer_files, p);
            if (!file) {
                const char *slash = strrchr(p, '/');
                char ref[96];
                snprintf(ref, sizeof ref, "container-%zu", json_object_size(outer_files) + 1);
                file = json_object();
                json_object_set_new(file, "type", json_string("file"));
                json_object_set_new(file, "bom-ref", json_string(ref));
                json_object_set_new(file, "name", json_string(slash ? slash + 1 : p));
                json_t *occ = json_object(), *occs = json_array(), *ev = json_object();
                json_object_set(occ, "location", json_object_get(row, "path"));
                json_array_append_new(occs, occ);
                json_object_set_new(ev, "occurrences", occs);
                json_object_set_new(file, "evidence", ev);
                json_object_set_new(outer_files, p, file);
                json_array_append(top, file);
            }
            append_child(file, built[i]);
        }
    }
    for (size_t i = 0; placed < n && i < n; i++) /* deeper than 64: flat */
        if (chain_len(json_array_get(rows, i)) >= 64)
            json_array_append_new(top, built[i]), placed++;
    json_decref(by_path);
    json_decref(outer_files);
}

static void render_cyclonedx(cs_inventory *inv, const cs_report_opts *o, cs_buf *b)
{
    char uuid[37], ts[32], serial[64];
    cs_report_time(ts, sizeof ts, (int64_t)time(NULL));
    json_t *bom = json_object();
    json_object_set_new(bom, "$schema", json_string("http://cyclonedx.org/schema/bom-1.5.schema.json"));
    json_object_set_new(bom, "bomFormat", json_string("CycloneDX"));
    json_object_set_new(bom, "specVersion", json_string("1.5"));
    if (uuid_v4(uuid) == 0) { /* optional in the schema */
        snprintf(serial, sizeof serial, "urn:uuid:%s", uuid);
        json_object_set_new(bom, "serialNumber", json_string(serial));
    }
    json_object_set_new(bom, "version", json_integer(1));
    json_t *meta = json_object();
    json_object_set_new(meta, "timestamp", json_string(ts));
    json_t *tool = json_object();
    json_object_set_new(tool, "type", json_string("application"));
    json_object_set_new(tool, "name", json_string("chainsweep"));
    json_object_set_new(tool, "version", json_string(CS_VERSION));
    json_t *tools = json_array();
    json_array_append_new(tools, tool);
    json_t *tools_obj = json_object();
    json_object_set_new(tools_obj, "components", tools);
    json_object_set_new(meta, "tools", tools_obj);
    if (o && o->hostname) {
        json_t *host = json_object();
        json_object_set_new(host, "type", json_string("device"));
        json_object_set_new(host, "name", cs_json_opt_string(o->hostname));
        json_object_set_new(meta, "component", host);
    }
    json_object_set_new(bom, "metadata", meta);
    json_t *comps = json_array(), *vulns = json_array();
    size_t i, n = json_array_size(inv->rows);
    json_t *row;
    json_t **built = calloc(n ? n : 1, sizeof *built);
    if (!built)
        cs_out_of_memory();
    json_array_foreach(inv->rows, i, row)
    {
        built[i] = component(row, i);
        const char *ref = json_string_value(json_object_get(built[i], "bom-ref"));
        size_t k;
        json_t *adv;
        json_array_foreach(json_object_get(row, "advisories"), k, adv)
            add_vulnerability(vulns, adv, ref);
    }
    nest_components(inv->rows, built, comps);
    free(built);
    json_object_set_new(bom, "components", comps);
    if (json_array_size(vulns))
        json_object_set_new(bom, "vulnerabilities", vulns);
    else
        json_decref(vulns);
    dump(bom, b);
    json_decref(bom);
}

void cs_inventory_render(cs_inventory *inv, cs_inventory_format f, const cs_report_opts *o, cs_text *out)
{
    cs_buf b = {0};
    sort_rows(inv);
    if (f == CS_INVENTORY_TABLE) {
        render_table(inv, &b);
    } else if (f == CS_INVENTORY_JSON) {
        json_t *doc = cs_json_record(o, "inventory");
        json_object_set_new(doc, "version", json_string(CS_VERSION));
        json_object_set(doc, "products", inv->rows);
        dump(doc, &b);
        json_decref(doc);
    } else {
        render_cyclonedx(inv, o, &b);
    }
    cs_buf_append(&b, "", 0);
    out->data = b.data;
    out->len = b.len;
}
