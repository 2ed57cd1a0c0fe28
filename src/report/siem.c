/* Findings for SIEMs: Elastic Common Schema documents (one per finding,
 * the mapping in docs/output.md, field names from ECS's ecs_flat.yml) and
 * ArcSight CEF lines (for syslog). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_internal.h"

#define ECS_VERSION "8.11.0"

static int is_finding(const cs_result *r)
{
    return r->kind == CS_RECORD_FILE && r->n_reasons > 0;
}

static const char *path_of(const cs_result *r)
{
    return r->display_path ? r->display_path : r->path;
}

/* ECS's file.extension has no dot. */
static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot[1] && !strchr(dot, '/') ? dot + 1 : NULL;
}

static const char *indicator_type(const char *detector)
{
    if (!strcmp(detector, "hash") || !strcmp(detector, "similarity"))
        return "file";
    if (!strcmp(detector, "c2"))
        return "domain-name";
    return NULL;
}

void cs_ecs_finding(const cs_report_opts *o, const cs_result *r, cs_buf *b)
{
    json_t *j = json_object(), *event = json_object(), *file = json_object(), *hash = json_object();
    json_t *rule = json_object(), *names = json_array(), *related = json_array(), *own = json_object();
    char ts[32], hex[65];
    cs_report_time(ts, sizeof ts, (int64_t)time(NULL));
    json_object_set_new(j, "@timestamp", json_string(ts));
    json_t *ecs = json_object();
    json_object_set_new(ecs, "version", json_string(ECS_VERSION));
    json_object_set_new(j, "ecs", ecs);
    json_object_set_new(event, "kind", json_string("alert"));
    json_t *cat = json_array(), *type = json_array();
    json_array_append_new(cat, json_string("malware"));
    json_array_append_new(cat, json_string("file"));
    json_array_append_new(type, json_string("info"));
    json_object_set_new(event, "category", cat);
    json_object_set_new(event, "type", type);
    json_object_set_new(event, "module", json_string("chainsweep"));
    json_object_set_new(event, "dataset", json_string("chainsweep.finding"));
    json_object_set_new(event, "severity", json_integer(r->score));
    json_object_set_new(event, "risk_score", json_real(r->score));
    json_object_set_new(event, "risk_score_norm", json_real(r->score > 100 ? 100 : r->score < 0 ? 0 : r->score));
    json_object_set_new(j, "event", event);
    json_t *log = json_object();
    json_object_set_new(log, "level", json_string(cs_level_name(r->level)));
    json_object_set_new(j, "log", log);
    const cs_reason *top = &r->reasons[0];
    cs_buf msg = {0};
    cs_buf_printf(&msg, "%s: %s (%s)", cs_level_name(r->level), top->description ? top->description : top->rule,
                  top->rule);
    json_object_set_new(j, "message", cs_json_opt_string(msg.data));
    cs_buf_free(&msg);
    if (o->hostname) {
        json_t *host = json_object();
        json_object_set_new(host, "name", cs_json_opt_string(o->hostname));
        json_object_set_new(j, "host", host);
    }
    json_t *obs = json_object();
    json_object_set_new(obs, "vendor", json_string("chainsweep"));
    json_object_set_new(obs, "product", json_string("chainsweep"));
    json_object_set_new(obs, "version", json_string(CS_VERSION));
    json_object_set_new(obs, "type", json_string("scanner"));
    json_object_set_new(j, "observer", obs);

    const char *path = path_of(r), *slash = strrchr(path, '/');
    json_object_set_new(file, "path", cs_json_opt_string(path));
    json_object_set_new(file, "name", cs_json_opt_string(slash ? slash + 1 : path));
    if (slash) {
        char *dir = cs_strndup(path, (size_t)(slash - path));
        json_object_set_new(file, "directory", cs_json_opt_string(*dir ? dir : "/"));
        free(dir);
    }
    const char *ext = extension(slash ? slash + 1 : path);
    if (ext)
        json_object_set_new(file, "extension", cs_json_opt_string(ext));
    json_object_set_new(file, "size", json_integer((json_int_t)r->size));
    if (r->has_md5)
        cs_hex(hex, r->md5, 16), json_object_set_new(hash, "md5", json_string(hex)),
            json_array_append_new(related, json_string(hex));
    if (r->has_sha1)
        cs_hex(hex, r->sha1, 20), json_object_set_new(hash, "sha1", json_string(hex)),
            json_array_append_new(related, json_string(hex));
    if (r->has_sha256)
        cs_hex(hex, r->sha256, 32), json_object_set_new(hash, "sha256", json_string(hex)),
            json_array_append_new(related, json_string(hex));
    if (r->tlsh[0])
        json_object_set_new(hash, "tlsh", json_string(r->tlsh));
    json_object_set_new(file, "hash", hash);
    if (r->imphash[0]) {
        json_t *pe = json_object();
        json_object_set_new(pe, "imphash", json_string(r->imphash));
        json_object_set_new(file, "pe", pe);
    }
    if (r->signature) {
        json_t *cs = json_object();
        json_object_set_new(cs, "exists", json_boolean(strcmp(r->signature, "unsigned") != 0));
        json_object_set_new(cs, "status", json_string(r->signature));
        if (r->signer)
            json_object_set_new(cs, "subject_name", cs_json_opt_string(r->signer));
        if (r->team_id)
            json_object_set_new(cs, "team_id", cs_json_opt_string(r->team_id));
        json_object_set_new(file, "code_signature", cs);
    }
    json_object_set_new(j, "file", file);
    if (json_array_size(related)) {
        json_t *rel = json_object();
        json_object_set_new(rel, "hash", related);
        json_object_set_new(j, "related", rel);
    } else {
        json_decref(related);
    }

    json_t *reasons = json_array();
    const char *indicator = NULL;
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *rs = &r->reasons[i];
        json_array_append_new(names, cs_json_opt_string(rs->rule));
        if (!indicator)
            indicator = indicator_type(rs->detector);
        json_t *x = json_object();
        json_object_set_new(x, "detector", json_string(rs->detector));
        json_object_set_new(x, "rule", cs_json_opt_string(rs->rule));
        json_object_set_new(x, "score", json_integer(rs->score));
        if (rs->description)
            json_object_set_new(x, "description", cs_json_opt_string(rs->description));
        json_array_append_new(reasons, x);
    }
    json_object_set_new(rule, "name", names);
    if (top->description)
        json_object_set_new(rule, "description", cs_json_opt_string(top->description));
    if (top->author)
        json_object_set_new(rule, "author", cs_json_opt_string(top->author));
    if (top->reference)
        json_object_set_new(rule, "reference", cs_json_opt_string(top->reference));
    json_object_set_new(rule, "ruleset", json_string(top->detector));
    json_object_set_new(j, "rule", rule);
    if (indicator) {
        json_t *threat = json_object(), *ind = json_object();
        json_object_set_new(ind, "type", json_string(indicator));
        json_object_set_new(threat, "indicator", ind);
        json_object_set_new(j, "threat", threat);
    }
    /* ours, under our own name as ECS asks of custom fields */
    json_object_set_new(own, "level", json_string(cs_level_name(r->level)));
    json_object_set_new(own, "score", json_integer(r->score));
    json_object_set_new(own, "reasons", reasons);
    if (r->filetype)
        json_object_set_new(own, "filetype", cs_json_opt_string(r->filetype));
    json_object_set_new(j, "chainsweep", own);
    cs_json_emit(j, b);
}

/* CEF: '|' and '\' escaped in the header, '=' and '\' and line breaks in
 * extension values; bytes outside printable ASCII as in every output. */
static void cef_text(cs_buf *b, const char *s, int header)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || (header && c == '|') || (!header && c == '='))
            cs_buf_printf(b, "\\%c", c);
        else if (c == '\n' || c == '\r')
            cs_buf_puts(b, header ? " " : "\\n");
        else if (c < 0x20 || c >= 0x7f)
            cs_buf_printf(b, "\\x%02x", c);
        else
            cs_buf_append(b, s, 1);
    }
}

void cs_report_cef(const cs_report_opts *o, const cs_result *r, cs_text *out)
{
    cs_buf b = {0};
    (void)o;
    if (is_finding(r)) {
        const cs_reason *top = &r->reasons[0];
        int sev = r->level == CS_LEVEL_ALERT ? 10 : r->level == CS_LEVEL_WARNING ? 7 : 4;
        char hex[65];
        cs_buf_printf(&b, "CEF:0|chainsweep|chainsweep|%s|", CS_VERSION);
        cef_text(&b, top->rule, 1);
        cs_buf_puts(&b, "|");
        cef_text(&b, top->description ? top->description : top->rule, 1);
        cs_buf_printf(&b, "|%d|filePath=", sev);
        const char *path = path_of(r), *slash = strrchr(path, '/');
        cef_text(&b, path, 0);
        cs_buf_puts(&b, " fname=");
        cef_text(&b, slash ? slash + 1 : path, 0);
        cs_buf_printf(&b, " fsize=%llu", (unsigned long long)r->size);
        if (r->has_sha256) {
            cs_hex(hex, r->sha256, 32);
            cs_buf_printf(&b, " fileHash=%s", hex);
        }
        if (r->filetype) {
            cs_buf_puts(&b, " fileType=");
            cef_text(&b, r->filetype, 0);
        }
        cs_buf_printf(&b, " cn1Label=score cn1=%d cs1Label=level cs1=%s cs2Label=detector cs2=", r->score,
                      cs_level_name(r->level));
        cef_text(&b, top->detector, 0);
        cs_buf_puts(&b, " cs3Label=rules cs3=");
        for (size_t i = 0; i < r->n_reasons; i++) {
            if (i)
                cs_buf_puts(&b, ",");
            cef_text(&b, r->reasons[i].rule, 0);
        }
        cs_buf_puts(&b, " msg=");
        cef_text(&b, top->description ? top->description : top->rule, 0);
    }
    if (!b.data)
        cs_buf_append(&b, "", 0);
    out->data = b.data;
    out->len = b.len;
}
