#include "store/result_blob.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/json.h"
#include "format/product_json.h"
#include "util/util.h"

static void put_hex(json_t *o, const char *key, int has, const unsigned char *p, size_t n)
{
    if (!has)
        return;
    char hex[65];
    cs_hex(hex, p, n);
    json_object_set_new(o, key, json_string(hex));
}

char *cs_result_to_blob(const cs_result *r, const char *members)
{
    json_t *o = json_object();
    if (r->skip == CS_SKIP_KNOWN_GOOD)
        json_object_set_new(o, "known_good", json_true());
    else if (r->kind == CS_RECORD_SKIPPED)
        json_object_set_new(o, "skip", json_integer(r->skip));
    if (r->note)
        json_object_set_new(o, "note", cs_json_raw(r->note));
    if (r->container) {
        json_object_set_new(o, "container", cs_json_raw(r->container));
        json_object_set_new(o, "members_read", json_integer((json_int_t)r->members_read));
    }
    if (r->n_members) {
        json_t *chain = json_array();
        for (size_t i = 0; i < r->n_members; i++)
            json_array_append_new(chain, json_pack("[oo]", cs_json_raw(r->members[i].name),
                                                   cs_json_raw(r->members[i].type)));
        json_object_set_new(o, "chain", chain);
        json_object_set_new(o, "dp", cs_json_raw(r->display_path));
        json_object_set_new(o, "size", json_integer((json_int_t)r->size));
    }
    json_t *sub = members ? json_loads(members, 0, NULL) : NULL;
    if (sub)
        json_object_set_new(o, "sub", sub);
    json_object_set_new(o, "t", json_string(r->filetype ? r->filetype : "UNKNOWN"));
    put_hex(o, "md5", r->has_md5, r->md5, 16);
    put_hex(o, "sha1", r->has_sha1, r->sha1, 20);
    put_hex(o, "sha256", r->has_sha256, r->sha256, 32);
    if (r->imphash[0])
        json_object_set_new(o, "imphash", json_string(r->imphash));
    if (r->tlsh[0])
        json_object_set_new(o, "tlsh", json_string(r->tlsh));
    if (r->authentihash[0])
        json_object_set_new(o, "authentihash", json_string(r->authentihash));
    if (r->rich_hash[0])
        json_object_set_new(o, "rich_hash", json_string(r->rich_hash));
    json_t *rs = json_array();
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *x = &r->reasons[i];
        json_t *j = json_object();
        json_object_set_new(j, "d", cs_json_raw(x->detector));
        json_object_set_new(j, "r", cs_json_raw(x->rule));
        json_object_set_new(j, "s", json_integer(x->score));
        json_object_set_new(j, "desc", cs_json_raw(x->description));
        json_object_set_new(j, "a", cs_json_raw(x->author));
        json_object_set_new(j, "ref", cs_json_raw(x->reference));
        json_t *ms = json_array();
        for (size_t k = 0; k < x->n_matches; k++) {
            const cs_match *m = &x->matches[k];
            json_t *jm = json_object();
            json_object_set_new(jm, "id", cs_json_raw(m->id));
            json_object_set_new(jm, "o", json_integer((json_int_t)m->offset));
            if (m->data) {
                char *hx = cs_xmalloc(2 * m->len + 1);
                cs_hex(hx, m->data, m->len);
                json_object_set_new(jm, "x", json_string(hx));
                free(hx);
            }
            json_array_append_new(ms, jm);
        }
        json_object_set_new(j, "m", ms);
        json_array_append_new(rs, j);
    }
    json_object_set_new(o, "reasons", rs);
    if (r->product)
        json_object_set_new(o, "product", cs_json_product(r->product));
    if (r->signature)
        json_object_set_new(o, "signature", json_string(r->signature));
    if (r->signer)
        json_object_set_new(o, "signer", cs_json_raw(r->signer));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static int get_hex(json_t *o, const char *key, unsigned char *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && strlen(s) == 2 * n && cs_unhex(out, s, n) == 0;
}

int cs_result_from_blob(const char *blob, cs_arena *a, cs_result *r)
{
    json_error_t je;
    json_t *o = json_loads(blob, 0, &je);
    json_t *rs = o ? json_object_get(o, "reasons") : NULL;
    if (!json_is_array(rs)) {
        json_decref(o);
        return -1;
    }
    if (json_is_true(json_object_get(o, "known_good")))
        r->skip = CS_SKIP_KNOWN_GOOD;
    json_t *skip = json_object_get(o, "skip");
    if (json_is_integer(skip) && json_integer_value(skip) > 0 && json_integer_value(skip) < CS_SKIP__COUNT) {
        r->kind = CS_RECORD_SKIPPED;
        r->skip = (cs_skip_reason)json_integer_value(skip);
    }
    r->note = cs_json_arena_string(a, o, "note");
    r->container = cs_json_arena_string(a, o, "container");
    r->members_read = (uint64_t)json_integer_value(json_object_get(o, "members_read"));
    json_t *chain = json_object_get(o, "chain");
    if (json_array_size(chain)) {
        size_t nc = json_array_size(chain);
        cs_member *m = cs_arena_alloc(a, nc * sizeof *m);
        for (size_t i = 0; i < nc; i++) {
            json_t *e = json_array_get(chain, i);
            const char *name = cs_json_arena_raw(a, json_array_get(e, 0)), *type = cs_json_arena_raw(a, json_array_get(e, 1));
            if (!name || !type) {
                json_decref(o);
                return -1;
            }
            m[i] = (cs_member){name, type};
        }
        r->members = m;
        r->n_members = nc;
        r->display_path = cs_json_arena_string(a, o, "dp");
        r->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
    }
    const char *t = cs_json_arena_string(a, o, "t");
    r->filetype = t ? t : "UNKNOWN";
    r->has_md5 = get_hex(o, "md5", r->md5, 16);
    r->has_sha1 = get_hex(o, "sha1", r->sha1, 20);
    r->has_sha256 = get_hex(o, "sha256", r->sha256, 32);
    const char *imp = json_string_value(json_object_get(o, "imphash"));
    snprintf(r->imphash, sizeof r->imphash, "%s", imp && strlen(imp) == 32 ? imp : "");
    const char *tl = json_string_value(json_object_get(o, "tlsh"));
    snprintf(r->tlsh, sizeof r->tlsh, "%s", tl && strlen(tl) == sizeof r->tlsh - 1 ? tl : "");
    const char *ah = json_string_value(json_object_get(o, "authentihash"));
    snprintf(r->authentihash, sizeof r->authentihash, "%s", ah && strlen(ah) == 64 ? ah : "");
    const char *rh = json_string_value(json_object_get(o, "rich_hash"));
    snprintf(r->rich_hash, sizeof r->rich_hash, "%s", rh && strlen(rh) == 32 ? rh : "");
    size_t n = json_array_size(rs);
    cs_reason *reasons = n ? cs_arena_alloc(a, n * sizeof *reasons) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_array_get(rs, i);
        cs_reason *x = &reasons[i];
        memset(x, 0, sizeof *x);
        x->detector = cs_json_arena_string(a, j, "d");
        x->rule = cs_json_arena_string(a, j, "r");
        x->score = (int)json_integer_value(json_object_get(j, "s"));
        x->description = cs_json_arena_string(a, j, "desc");
        x->author = cs_json_arena_string(a, j, "a");
        x->reference = cs_json_arena_string(a, j, "ref");
        if (!x->detector || !x->rule) {
            json_decref(o);
            return -1;
        }
        if (!x->description)
            x->description = "";
        json_t *ms = json_object_get(j, "m");
        size_t nm = json_array_size(ms);
        cs_match *m = nm ? cs_arena_alloc(a, nm * sizeof *m) : NULL;
        for (size_t k = 0; k < nm; k++) {
            json_t *jm = json_array_get(ms, k);
            m[k].id = cs_json_arena_string(a, jm, "id");
            m[k].offset = (uint64_t)json_integer_value(json_object_get(jm, "o"));
            const char *hx = json_string_value(json_object_get(jm, "x"));
            size_t hl = hx ? strlen(hx) / 2 : 0;
            unsigned char *data = hx ? cs_arena_alloc(a, hl + 1) : NULL;
            if (hx && cs_unhex(data, hx, hl) != 0) {
                json_decref(o);
                return -1;
            }
            m[k].data = data;
            m[k].len = hl;
        }
        x->matches = m;
        x->n_matches = nm;
    }
    r->reasons = reasons;
    r->n_reasons = n;
    json_t *jp = json_object_get(o, "product");
    cs_product *p = jp ? cs_arena_alloc(a, sizeof *p) : NULL;
    if (p && cs_product_from_json(jp, a, p) == 0)
        r->product = p;
    r->signature = cs_json_arena_string(a, o, "signature");
    r->signer = cs_json_arena_string(a, o, "signer");
    json_decref(o);
    return 0;
}

char **cs_blob_members(const char *blob, size_t *n)
{
    *n = 0;
    json_t *o = json_loads(blob, 0, NULL);
    json_t *sub = o ? json_object_get(o, "sub") : NULL;
    size_t k = json_array_size(sub);
    char **out = k ? cs_xmalloc(k * sizeof *out) : NULL;
    for (size_t i = 0; i < k; i++)
        out[i] = json_dumps(json_array_get(sub, i), JSON_COMPACT);
    *n = k;
    json_decref(o);
    return out;
}
