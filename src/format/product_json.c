#include "format/product_json.h"

#include <stdio.h>
#include <string.h>

#include "format/json.h"
#include "format/versioninfo.h"

json_t *cs_json_product(const cs_product *p)
{
    json_t *j = json_object();
    cs_json_set_opt(j, "name", p->name);
    cs_json_set_opt(j, "version", p->version);
    cs_json_set_opt(j, "company", p->company);
    cs_json_set_opt(j, "description", p->description);
    cs_json_set_opt(j, "file_version", p->file_version);
    cs_json_set_opt(j, "original_filename", p->original_filename);
    cs_json_set_opt(j, "bundle_id", p->bundle_id);
    cs_json_set_opt(j, "fixed_file_version", p->fixed_file_version);
    cs_json_set_opt(j, "fixed_product_version", p->fixed_product_version);
    json_object_set_new(j, "source", json_string(p->source));
    if (p->source_path) {
        json_t *tmp = json_object();
        cs_json_set_path(tmp, p->source_path);
        json_object_set(j, "source_path", json_object_get(tmp, "path"));
        json_decref(tmp);
    }
    if (p->n_tables) {
        json_t *tables = json_array();
        for (size_t i = 0; i < p->n_tables; i++) {
            const cs_product_strings *t = &p->tables[i];
            json_t *jt = json_object();
            json_object_set_new(jt, "lang", json_string(t->lang));
            for (size_t k = 0; k < cs_vi_field_count; k++)
                cs_json_set_opt(jt, cs_vi_fields[k].key, cs_vi_field_value(t, &cs_vi_fields[k]));
            json_array_append_new(tables, jt);
        }
        json_object_set_new(j, "string_tables", tables);
    }
    return j;
}

int cs_product_from_json(json_t *j, cs_arena *a, cs_product *out)
{
    static const char *const sources[] = {"pe-version-info", "info-plist", "msi"};
    memset(out, 0, sizeof *out);
    const char *source = json_string_value(json_object_get(j, "source"));
    for (size_t i = 0; source && i < sizeof sources / sizeof *sources; i++)
        if (strcmp(source, sources[i]) == 0)
            out->source = sources[i];
    if (!out->source)
        return -1;
    out->name = cs_json_arena_string(a, j, "name");
    out->version = cs_json_arena_string(a, j, "version");
    out->company = cs_json_arena_string(a, j, "company");
    out->description = cs_json_arena_string(a, j, "description");
    out->file_version = cs_json_arena_string(a, j, "file_version");
    out->original_filename = cs_json_arena_string(a, j, "original_filename");
    out->bundle_id = cs_json_arena_string(a, j, "bundle_id");
    out->source_path = cs_json_arena_string(a, j, "source_path");
    const char *fixed = json_string_value(json_object_get(j, "fixed_file_version"));
    snprintf(out->fixed_file_version, sizeof out->fixed_file_version, "%s", fixed ? fixed : "");
    fixed = json_string_value(json_object_get(j, "fixed_product_version"));
    snprintf(out->fixed_product_version, sizeof out->fixed_product_version, "%s", fixed ? fixed : "");
    json_t *tables = json_object_get(j, "string_tables");
    size_t n = json_array_size(tables);
    cs_product_strings *t = n ? cs_arena_alloc(a, n * sizeof *t) : NULL;
    for (size_t i = 0; t && i < n; i++) {
        json_t *jt = json_array_get(tables, i);
        memset(&t[i], 0, sizeof t[i]);
        const char *lang = json_string_value(json_object_get(jt, "lang"));
        snprintf(t[i].lang, sizeof t[i].lang, "%s", lang ? lang : "");
        for (size_t k = 0; k < cs_vi_field_count; k++)
            *(const char **)((char *)&t[i] + cs_vi_fields[k].offset) = cs_json_arena_string(a, jt, cs_vi_fields[k].key);
    }
    out->tables = t;
    out->n_tables = t ? n : 0;
    return 0;
}
