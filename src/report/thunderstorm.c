/* Findings in the shapes THOR Thunderstorm answers with
 * (../shared/intel/thunderstorm-api.md 1.5): THOR 10's, which the
 * collectors, thunderstormAPI, the Cortex analyzer and postfix2thunderstorm
 * parse (level, module, message, score, context{...}, matches[...]), and
 * THOR 11's log_version v3 objects on request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_internal.h"

static const char *thor_level(cs_level l)
{
    return l == CS_LEVEL_ALERT ? "Alert" : l == CS_LEVEL_WARNING ? "Warning" : "Notice";
}

static const char *thor_message(cs_level l)
{
    return l == CS_LEVEL_ALERT ? "Malware file found" : l == CS_LEVEL_WARNING ? "Possibly Dangerous file found"
                                                                               : "Suspicious file found";
}

/* THOR 11's signature kinds by our detector */
static const char *thor_kind(const char *detector)
{
    if (!strcmp(detector, "yara"))
        return "YARA Rule";
    if (!strcmp(detector, "hash") || !strcmp(detector, "similarity"))
        return "Hash IOC";
    if (!strcmp(detector, "filename"))
        return "Filename IOC";
    if (!strcmp(detector, "c2"))
        return "Domain IOC";
    return "Internal Heuristic";
}

/* THOR's firstBytes: the first 20 bytes in hex, " / ", and as text. */
static void first_bytes(const unsigned char *p, size_t n, char *hex, char *ascii)
{
    n = n > 20 ? 20 : n;
    cs_hex(hex, p, n);
    for (size_t i = 0; i < n; i++)
        ascii[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
    ascii[n] = '\0';
}

static const char *extension(const char *name)
{
    const char *base = strrchr(name, '/'), *bs = strrchr(name, '\\');
    if (bs && (!base || bs > base))
        base = bs;
    const char *dot = strrchr(base ? base + 1 : name, '.');
    return dot && dot[1] ? dot : "";
}

static json_t *matched_strings(const cs_reason *rs)
{
    json_t *a = json_array();
    for (size_t m = 0; m < rs->n_matches; m++) {
        cs_buf e = {0};
        cs_escape_bytes(&e, rs->matches[m].data, rs->matches[m].len);
        json_array_append_new(a, cs_json_opt_string(e.data ? e.data : ""));
        cs_buf_free(&e);
    }
    return a;
}

static json_t *thor10(const cs_result *r, const char *file, const unsigned char *fb, size_t fb_len)
{
    json_t *j = json_object(), *ctx = json_object(), *matches = json_array();
    char hex[65], fbhex[41], fbtxt[21];
    json_object_set_new(j, "level", json_string(thor_level(r->level)));
    json_object_set_new(j, "module", json_string("Filescan"));
    json_object_set_new(j, "message", json_string(thor_message(r->level)));
    json_object_set_new(j, "score", json_integer(r->score));
    json_object_set_new(ctx, "file", cs_json_opt_string(file));
    if (r->has_md5)
        cs_hex(hex, r->md5, 16), json_object_set_new(ctx, "md5", json_string(hex));
    if (r->has_sha1)
        cs_hex(hex, r->sha1, 20), json_object_set_new(ctx, "sha1", json_string(hex));
    if (r->has_sha256)
        cs_hex(hex, r->sha256, 32), json_object_set_new(ctx, "sha256", json_string(hex));
    json_object_set_new(ctx, "size", json_integer((json_int_t)r->size));
    json_object_set_new(ctx, "type", cs_json_opt_string(r->filetype ? r->filetype : "UNKNOWN"));
    json_object_set_new(ctx, "ext", cs_json_opt_string(extension(file)));
    if (fb) {
        first_bytes(fb, fb_len, fbhex, fbtxt);
        char both[80];
        snprintf(both, sizeof both, "%s / %s", fbhex, fbtxt);
        json_object_set_new(ctx, "firstBytes", json_string(both));
    }
    json_object_set_new(ctx, "reasons_count", json_integer((json_int_t)r->n_reasons));
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *rs = &r->reasons[i];
        json_t *m = json_object();
        json_object_set_new(m, "matched", matched_strings(rs));
        json_object_set_new(m, "reason", cs_json_opt_string(rs->description ? rs->description : rs->rule));
        json_object_set_new(m, "ref", cs_json_opt_string(rs->reference ? rs->reference : "-"));
        json_object_set_new(m, "rulename", cs_json_opt_string(rs->rule));
        json_object_set_new(m, "subscore", json_integer(rs->score));
        json_object_set_new(m, "sigtype", json_string(rs->detector));
        if (rs->author)
            json_object_set_new(m, "author", cs_json_opt_string(rs->author));
        json_array_append_new(matches, m);
    }
    json_object_set_new(j, "context", ctx);
    json_object_set_new(j, "matches", matches);
    return j;
}

static json_t *thor11(const cs_result *r, const char *file, const unsigned char *fb, size_t fb_len,
                      const char *hostname)
{
    json_t *j = json_object(), *meta = json_object(), *subj = json_object(), *hashes = json_object();
    json_t *reasons = json_array();
    char ts[32], hex[65], fbhex[41], fbtxt[21];
    json_object_set_new(j, "type", json_string("THOR finding"));
    cs_report_time(ts, sizeof ts, (int64_t)time(NULL));
    json_object_set_new(meta, "time", json_string(ts));
    json_object_set_new(meta, "level", json_string(thor_level(r->level)));
    json_object_set_new(meta, "module", json_string("HTTPServer"));
    json_object_set_new(meta, "hostname", cs_json_opt_string(hostname ? hostname : ""));
    json_object_set_new(j, "meta", meta);
    json_object_set_new(j, "message", json_string(r->level == CS_LEVEL_ALERT ? "Malicious file found"
                                                                              : "Suspicious file found"));
    json_object_set_new(subj, "type", json_string("file"));
    json_object_set_new(subj, "path", cs_json_opt_string(file));
    json_object_set_new(subj, "exists", json_string("yes"));
    json_object_set_new(subj, "extension", cs_json_opt_string(extension(file)));
    json_object_set_new(subj, "magic_header", cs_json_opt_string(r->filetype ? r->filetype : "UNKNOWN"));
    if (r->has_md5)
        cs_hex(hex, r->md5, 16), json_object_set_new(hashes, "md5", json_string(hex));
    if (r->has_sha1)
        cs_hex(hex, r->sha1, 20), json_object_set_new(hashes, "sha1", json_string(hex));
    if (r->has_sha256)
        cs_hex(hex, r->sha256, 32), json_object_set_new(hashes, "sha256", json_string(hex));
    json_object_set_new(subj, "hashes", hashes);
    if (fb) {
        json_t *f = json_object();
        first_bytes(fb, fb_len, fbhex, fbtxt);
        json_object_set_new(f, "hex", json_string(fbhex));
        json_object_set_new(f, "ascii", json_string(fbtxt));
        json_object_set_new(subj, "first_bytes", f);
    }
    json_object_set_new(subj, "size", json_integer((json_int_t)r->size));
    json_object_set_new(j, "subject", subj);
    json_object_set_new(j, "score", json_integer(r->score > 100 ? 100 : r->score));
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *rs = &r->reasons[i];
        json_t *x = json_object(), *sig = json_object(), *matched = json_array();
        json_object_set_new(x, "type", json_string("reason"));
        json_object_set_new(x, "summary", cs_json_opt_string(rs->description ? rs->description : rs->rule));
        json_object_set_new(sig, "score", json_integer(rs->score));
        json_t *refs = json_array();
        if (rs->reference)
            json_array_append_new(refs, cs_json_opt_string(rs->reference));
        json_object_set_new(sig, "reference", refs);
        json_object_set_new(sig, "origin", json_string("custom"));
        json_object_set_new(sig, "kind", json_string(thor_kind(rs->detector)));
        json_object_set_new(sig, "rule_name", cs_json_opt_string(rs->rule));
        json_object_set_new(sig, "description", cs_json_opt_string(rs->description ? rs->description : ""));
        if (rs->author)
            json_object_set_new(sig, "author", cs_json_opt_string(rs->author));
        json_object_set_new(x, "signature", sig);
        for (size_t m = 0; m < rs->n_matches; m++) {
            json_t *mm = json_object();
            cs_buf e = {0};
            cs_escape_bytes(&e, rs->matches[m].data, rs->matches[m].len);
            json_object_set_new(mm, "data", cs_json_opt_string(e.data ? e.data : ""));
            cs_buf_free(&e);
            json_object_set_new(mm, "offset", json_integer((json_int_t)rs->matches[m].offset));
            json_object_set_new(mm, "field", json_string("/content"));
            json_array_append_new(matched, mm);
        }
        json_object_set_new(x, "matched", matched);
        json_array_append_new(reasons, x);
    }
    json_object_set_new(j, "reasons", reasons);
    json_object_set_new(j, "reason_count", json_integer((json_int_t)r->n_reasons));
    json_object_set_new(j, "context", json_null());
    json_object_set_new(j, "log_version", json_string("v3.0.0"));
    return j;
}

void cs_report_thunderstorm(const cs_result *r, const char *file, const unsigned char *first, size_t first_len,
                            int v3, const char *hostname, cs_text *out)
{
    cs_buf b = {0};
    if (r->n_reasons && r->kind == CS_RECORD_FILE) {
        json_t *j = v3 ? thor11(r, file, first, first_len, hostname) : thor10(r, file, first, first_len);
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (s) {
            cs_buf_puts(&b, s);
            free(s);
        }
    }
    if (!b.data)
        cs_buf_append(&b, "", 0);
    out->data = b.data;
    out->len = b.len;
}
