#include "chainsweep/report.h"
#include "report/report_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

void cs_text_free(cs_text *t)
{
    free(t->data);
    t->data = NULL;
    t->len = 0;
}

static void take(cs_buf *b, cs_text *out)
{
    out->data = b->data;
    out->len = b->len;
}

/* Paths for a terminal: valid UTF-8 kept, control bytes escaped; anything
 * else fully escaped so a hostile name cannot drive the terminal. */
static void put_path_text(cs_buf *b, const char *path)
{
    size_t n = strlen(path);
    const unsigned char *p = (const unsigned char *)path;
    if (!cs_utf8_valid(p, n)) {
        cs_escape_bytes(b, p, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            cs_escape_bytes(b, p + i, 1);
        else
            cs_buf_append(b, p + i, 1);
    }
}

void cs_report_time(char *out, size_t n, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *level_tag(cs_level l)
{
    static const char *const tags[] = {"NONE", "NOTICE", "WARNING", "ALERT"};
    return tags[l];
}

/* An error record, or a file whose scan was partial (a detector failed on
 * it: malformed version information, a YARA timeout) and found nothing:
 * reported as an error so the failure is never silent. */
static int is_error(const cs_result *r)
{
    return r->kind == CS_RECORD_ERROR || (r->kind == CS_RECORD_FILE && !r->n_reasons && r->error);
}

/* A member that was not read (a limit, encryption, a method the unpacker
 * cannot read) hides content: always shown, unlike skipped files on disk. */
static int is_unread_member(const cs_result *r)
{
    return r->kind == CS_RECORD_SKIPPED && r->n_members && r->skip != CS_SKIP_KNOWN_GOOD;
}

/* A scanned file with a note and nothing else to say (a container that
 * could not be unpacked, a file too large for YARA). */
static int is_note(const cs_result *r)
{
    return r->kind == CS_RECORD_FILE && !r->n_reasons && !r->error && r->note;
}

static int wanted(const cs_report_opts *o, const cs_result *r)
{
    if (is_error(r) || is_note(r) || is_unread_member(r))
        return 1;
    if (r->n_reasons && (int)r->level >= o->min_level)
        return 1;
    if (o->with_clean && r->kind == CS_RECORD_FILE)
        return 1;
    return (o->with_skipped || o->with_clean) && r->kind == CS_RECORD_SKIPPED;
}

/* What text and CSV show: the outer path, and a member's chain after it. */
static const char *shown_path(const cs_result *r)
{
    return r->display_path ? r->display_path : r->path;
}

/* ---- text ---- */

static void text_result(const cs_report_opts *o, const cs_result *r, cs_buf *b)
{
    static const char *const colors[] = {"", "\033[36m", "\033[33m", "\033[1;31m"};
    if (is_error(r)) {
        cs_buf_puts(b, o->color ? "\033[35m[ERROR]\033[0m " : "[ERROR] ");
        put_path_text(b, shown_path(r));
        cs_buf_printf(b, ": %s\n", r->error);
        return;
    }
    if (is_note(r)) {
        cs_buf_puts(b, "[NOTE] ");
        put_path_text(b, shown_path(r));
        cs_buf_printf(b, ": %s\n", r->note);
        return;
    }
    if (!r->n_reasons && r->kind == CS_RECORD_FILE) {
        cs_buf_puts(b, "[CLEAN] ");
        put_path_text(b, shown_path(r));
        cs_buf_printf(b, ": %s, %llu bytes%s\n", r->filetype, (unsigned long long)r->size,
                      r->cached ? " (unchanged since the last sweep)" : "");
        return;
    }
    if (!r->n_reasons) {
        cs_buf_puts(b, "[SKIPPED] ");
        put_path_text(b, shown_path(r));
        cs_buf_printf(b, ": %s", cs_skip_reason_name(r->skip));
        if (r->note)
            cs_buf_printf(b, " (%s)", r->note);
        cs_buf_puts(b, "\n");
        return;
    }
    cs_buf_printf(b, "%s[%s]%s score %d  ", o->color ? colors[r->level] : "", level_tag(r->level),
                  o->color ? "\033[0m" : "", r->score);
    put_path_text(b, shown_path(r));
    cs_buf_printf(b, "\n    type %s, %llu bytes", r->filetype, (unsigned long long)r->size);
    if (r->container)
        cs_buf_printf(b, ", %s container, %llu members read", r->container, (unsigned long long)r->members_read);
    char hex[65];
    if (r->has_sha256)
        cs_hex(hex, r->sha256, 32), cs_buf_printf(b, ", sha256 %s", hex);
    if (r->has_sha1)
        cs_hex(hex, r->sha1, 20), cs_buf_printf(b, ", sha1 %s", hex);
    if (r->has_md5)
        cs_hex(hex, r->md5, 16), cs_buf_printf(b, ", md5 %s", hex);
    if (r->imphash[0])
        cs_buf_printf(b, ", imphash %s", r->imphash);
    cs_buf_puts(b, "\n");
    if (r->error)
        cs_buf_printf(b, "    warning: %s\n", r->error);
    if (r->note)
        cs_buf_printf(b, "    note: %s\n", r->note);
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *x = &r->reasons[i];
        cs_buf_printf(b, "    - %s %s (score %d)", x->detector, x->rule, x->score);
        if (x->description && *x->description)
            cs_buf_printf(b, ": %s", x->description);
        if (x->author)
            cs_buf_printf(b, " [author: %s]", x->author);
        if (x->reference)
            cs_buf_printf(b, " [ref: %s]", x->reference);
        cs_buf_puts(b, "\n");
        for (size_t m = 0; m < x->n_matches; m++) {
            const cs_match *mt = &x->matches[m];
            if (!mt->data) {
                cs_buf_printf(b, "        %s\n", mt->id);
                continue;
            }
            cs_buf_printf(b, "        %s @ 0x%llx: '", mt->id, (unsigned long long)mt->offset);
            cs_escape_bytes(b, mt->data, mt->len);
            cs_buf_puts(b, "'\n");
        }
    }
}

/* ---- JSON ---- */

json_t *cs_json_record(const cs_report_opts *o, const char *type)
{
    char ts[32];
    cs_report_time(ts, sizeof ts, (int64_t)time(NULL));
    json_t *j = json_object();
    json_object_set_new(j, "type", json_string(type));
    json_object_set_new(j, "schema", json_integer(CS_OUTPUT_SCHEMA));
    json_object_set_new(j, "time", json_string(ts));
    if (o && o->hostname)
        json_object_set_new(j, "host", cs_json_opt_string(o->hostname));
    return j;
}

void cs_json_emit(json_t *j, cs_buf *b)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (s) {
        cs_buf_puts(b, s);
        cs_buf_puts(b, "\n");
        free(s);
    }
}

/* Where a member sits: the chain from the outer file and the display path. */
void cs_json_member_chain(json_t *j, const cs_result *r)
{
    if (!r->n_members)
        return;
    json_t *chain = json_array();
    for (size_t i = 0; i < r->n_members; i++) {
        json_t *m = json_object();
        cs_json_set_raw(m, "member", r->members[i].name);
        json_object_set_new(m, "type", cs_json_opt_string(r->members[i].type));
        json_array_append_new(chain, m);
    }
    json_object_set_new(j, "members", chain);
    cs_json_set_raw(j, "display_path", r->display_path);
}

static void json_result(const cs_report_opts *o, const cs_result *r, cs_buf *b)
{
    const char *type = is_error(r)                     ? "error"
                       : r->n_reasons                  ? "finding"
                       : is_note(r)                    ? "note"
                       : r->kind == CS_RECORD_SKIPPED  ? "skipped"
                                                       : "file";
    json_t *j = cs_json_record(o, type);
    cs_json_set_path(j, r->path);
    cs_json_member_chain(j, r);
    if (r->note)
        json_object_set_new(j, "note", cs_json_opt_string(r->note));
    if (is_error(r)) {
        json_object_set_new(j, "message", cs_json_opt_string(r->error));
        cs_json_emit(j, b);
        return;
    }
    if (r->kind == CS_RECORD_SKIPPED)
        json_object_set_new(j, "skipped", json_string(cs_skip_reason_name(r->skip)));
    if (!r->n_reasons && r->kind != CS_RECORD_FILE) {
        cs_json_emit(j, b);
        return;
    }
    char ts[32], hex[65];
    json_object_set_new(j, "level", json_string(cs_level_name(r->level)));
    json_object_set_new(j, "score", json_integer(r->score));
    json_object_set_new(j, "size", json_integer((json_int_t)r->size));
    cs_report_time(ts, sizeof ts, r->mtime);
    json_object_set_new(j, "mtime", json_string(ts));
    json_object_set_new(j, "filetype", cs_json_opt_string(r->filetype));
    if (r->container) {
        json_object_set_new(j, "container", json_string(r->container));
        json_object_set_new(j, "members_read", json_integer((json_int_t)r->members_read));
    }
    if (r->has_md5)
        cs_hex(hex, r->md5, 16), json_object_set_new(j, "md5", json_string(hex));
    if (r->has_sha1)
        cs_hex(hex, r->sha1, 20), json_object_set_new(j, "sha1", json_string(hex));
    if (r->has_sha256)
        cs_hex(hex, r->sha256, 32), json_object_set_new(j, "sha256", json_string(hex));
    if (r->imphash[0])
        json_object_set_new(j, "imphash", json_string(r->imphash));
    if (r->tlsh[0])
        json_object_set_new(j, "tlsh", json_string(r->tlsh));
    if (r->authentihash[0])
        json_object_set_new(j, "authentihash", json_string(r->authentihash));
    if (r->rich_hash[0])
        json_object_set_new(j, "rich_hash", json_string(r->rich_hash));
    if (r->cached)
        json_object_set_new(j, "cached", json_true());
    if (r->product)
        json_object_set_new(j, "product", cs_json_product(r->product));
    cs_json_set_opt(j, "signature", r->signature);
    cs_json_set_opt(j, "signer", r->signer);
    if (r->error)
        json_object_set_new(j, "warning", cs_json_opt_string(r->error));
    json_t *reasons = json_array();
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *x = &r->reasons[i];
        json_t *jr = json_object();
        json_object_set_new(jr, "detector", json_string(x->detector));
        json_object_set_new(jr, "rule", cs_json_opt_string(x->rule));
        json_object_set_new(jr, "score", json_integer(x->score));
        json_object_set_new(jr, "description", cs_json_opt_string(x->description));
        json_object_set_new(jr, "author", cs_json_opt_string(x->author));
        json_object_set_new(jr, "reference", cs_json_opt_string(x->reference));
        json_t *ms = json_array();
        for (size_t m = 0; m < x->n_matches; m++) {
            const cs_match *mt = &x->matches[m];
            json_t *jm = json_object();
            json_object_set_new(jm, "id", cs_json_opt_string(mt->id));
            if (mt->data) {
                cs_buf esc = {0};
                cs_escape_bytes(&esc, mt->data, mt->len);
                char *hx = cs_xmalloc(2 * mt->len + 1);
                cs_hex(hx, mt->data, mt->len);
                json_object_set_new(jm, "offset", json_integer((json_int_t)mt->offset));
                json_object_set_new(jm, "data", json_string(esc.data ? esc.data : ""));
                json_object_set_new(jm, "hex", json_string(hx));
                free(hx);
                cs_buf_free(&esc);
            }
            json_array_append_new(ms, jm);
        }
        json_object_set_new(jr, "matches", ms);
        json_array_append_new(reasons, jr);
    }
    json_object_set_new(j, "reason_count", json_integer((json_int_t)r->n_reasons));
    json_object_set_new(j, "reasons", reasons);
    cs_json_emit(j, b);
}

/* ---- CSV (RFC 4180) ---- */

static void csv_field(cs_buf *b, const char *s, int last)
{
    if (!s) /* an empty cs_buf has no data yet */
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        cs_buf_puts(b, "\"");
        for (; *s; s++) {
            if (*s == '"')
                cs_buf_puts(b, "\"\"");
            else
                cs_buf_append(b, s, 1);
        }
        cs_buf_puts(b, "\"");
    } else {
        cs_buf_puts(b, s);
    }
    cs_buf_puts(b, last ? "\r\n" : ",");
}

static void csv_result(const cs_result *r, cs_buf *b)
{
    char num[32], hex[65];
    cs_buf path = {0}, reasons = {0};
    put_path_text(&path, shown_path(r));
    csv_field(b,
              is_error(r)                      ? "error"
              : r->n_reasons                   ? cs_level_name(r->level)
              : is_note(r)                     ? "note"
              : r->kind == CS_RECORD_SKIPPED   ? "skipped"
                                               : "clean",
              0);
    snprintf(num, sizeof num, "%d", r->score);
    csv_field(b, num, 0);
    csv_field(b, path.data, 0);
    csv_field(b, r->filetype ? r->filetype : "", 0);
    snprintf(num, sizeof num, "%llu", (unsigned long long)r->size);
    csv_field(b, num, 0);
    csv_field(b, r->has_md5 ? (cs_hex(hex, r->md5, 16), hex) : "", 0);
    csv_field(b, r->has_sha1 ? (cs_hex(hex, r->sha1, 20), hex) : "", 0);
    csv_field(b, r->has_sha256 ? (cs_hex(hex, r->sha256, 32), hex) : "", 0);
    if (is_error(r))
        cs_buf_puts(&reasons, r->error);
    else if (is_note(r))
        cs_buf_puts(&reasons, r->note);
    else if (!r->n_reasons)
        cs_buf_printf(&reasons, "%s%s%s", cs_skip_reason_name(r->skip), r->note ? ": " : "", r->note ? r->note : "");
    for (size_t i = 0; i < r->n_reasons; i++) {
        const cs_reason *x = &r->reasons[i];
        cs_buf_printf(&reasons, "%s%s %s (%d): %s", i ? " | " : "", x->detector, x->rule, x->score,
                      x->description ? x->description : "");
        if (x->author)
            cs_buf_printf(&reasons, " [author: %s]", x->author);
    }
    csv_field(b, reasons.data ? reasons.data : "", 1);
    cs_buf_free(&path);
    cs_buf_free(&reasons);
}

/* ECS: findings as alerts; an unreadable file as an event with its error
 * (a failure stays visible); nothing for the rest. */
static void ecs_result(const cs_report_opts *o, const cs_result *r, cs_buf *b)
{
    if (r->kind == CS_RECORD_FILE && r->n_reasons) {
        cs_ecs_finding(o, r, b);
        return;
    }
    if (!is_error(r))
        return;
    char ts[32];
    cs_report_time(ts, sizeof ts, (int64_t)time(NULL));
    json_t *j = json_object(), *event = json_object(), *file = json_object(), *error = json_object();
    json_object_set_new(j, "@timestamp", json_string(ts));
    json_object_set_new(event, "kind", json_string("event"));
    json_object_set_new(event, "module", json_string("chainsweep"));
    json_object_set_new(event, "dataset", json_string("chainsweep.error"));
    json_object_set_new(j, "event", event);
    json_object_set_new(file, "path", cs_json_opt_string(shown_path(r)));
    json_object_set_new(j, "file", file);
    json_object_set_new(error, "message", cs_json_opt_string(r->error ? r->error : "error"));
    json_object_set_new(j, "error", error);
    cs_json_emit(j, b);
}

void cs_report_header(const cs_report_opts *o, cs_text *out)
{
    cs_buf b = {0};
    if (o->format == CS_FORMAT_CSV)
        cs_buf_puts(&b, "level,score,path,filetype,size,md5,sha1,sha256,reasons\r\n");
    take(&b, out);
}

void cs_report_result(const cs_report_opts *o, const cs_result *r, cs_text *out)
{
    cs_buf b = {0};
    if (wanted(o, r)) {
        if (o->format == CS_FORMAT_JSON)
            json_result(o, r, &b);
        else if (o->format == CS_FORMAT_ECS)
            ecs_result(o, r, &b);
        else if (o->format == CS_FORMAT_CSV)
            csv_result(r, &b);
        else
            text_result(o, r, &b);
    }
    take(&b, out);
}

void cs_report_summary(const cs_report_opts *o, const cs_scan_summary *s, const cs_load_stats *ls,
                       cs_text *out)
{
    cs_buf b = {0};
    uint64_t skipped = 0;
    for (int i = 0; i < CS_SKIP__COUNT; i++)
        skipped += s->skipped[i];
    double mb = s->bytes_scanned / 1e6;
    double mbps = s->elapsed > 0 ? mb / s->elapsed : 0;
    char cached[128] = "";
    if (s->files_cached)
        snprintf(cached, sizeof cached, "; %llu unchanged files from the state store%s",
                 (unsigned long long)s->files_cached, ls && !ls->compiled ? " (no rules loaded)" : "");
    if (o->format == CS_FORMAT_JSON) {
        json_t *j = cs_json_record(o, "summary");
        json_object_set_new(j, "version", json_string(CS_VERSION));
        json_object_set_new(j, "files_scanned", json_integer((json_int_t)s->files_scanned));
        json_object_set_new(j, "files_cached", json_integer((json_int_t)s->files_cached));
        json_object_set_new(j, "interrupted", json_boolean(s->interrupted));
        json_object_set_new(j, "members_scanned", json_integer((json_int_t)s->members_scanned));
        json_object_set_new(j, "notes", json_integer((json_int_t)s->notes));
        json_object_set_new(j, "bytes_scanned", json_integer((json_int_t)s->bytes_scanned));
        json_t *sk = json_object();
        for (int i = 1; i < CS_SKIP__COUNT; i++)
            json_object_set_new(sk, cs_skip_reason_name((cs_skip_reason)i), json_integer((json_int_t)s->skipped[i]));
        json_object_set_new(j, "skipped", sk);
        json_object_set_new(j, "errors", json_integer((json_int_t)s->errors));
        json_t *lv = json_object();
        for (int i = CS_LEVEL_ALERT; i >= CS_LEVEL_NOTICE; i--)
            json_object_set_new(lv, cs_level_name((cs_level)i), json_integer((json_int_t)s->by_level[i]));
        json_object_set_new(j, "findings", lv);
        json_object_set_new(j, "elapsed_seconds", json_real(s->elapsed));
        json_object_set_new(j, "mb_per_second", json_real(mbps));
        if (ls) {
            json_t *l = json_object();
            json_object_set_new(l, "hash_iocs", json_integer((json_int_t)ls->hash_iocs));
            json_object_set_new(l, "known_good_hashes", json_integer((json_int_t)ls->good_hashes));
            json_object_set_new(l, "filename_iocs", json_integer((json_int_t)ls->filename_iocs));
            json_object_set_new(l, "filename_iocs_pcre2", json_integer((json_int_t)ls->filename_iocs_pcre));
            json_object_set_new(l, "signers", json_integer((json_int_t)ls->signers));
            json_object_set_new(l, "advisories", json_integer((json_int_t)ls->advisories));
            json_object_set_new(l, "c2_iocs", json_integer((json_int_t)ls->c2_iocs));
            json_object_set_new(l, "yara_files", json_integer((json_int_t)ls->yara_files));
            json_object_set_new(l, "yara_files_skipped", json_integer((json_int_t)ls->yara_files_skipped));
            json_object_set_new(l, "yara_rules", json_integer((json_int_t)ls->yara_rules));
            json_object_set_new(l, "yara_rules_guarded", json_integer((json_int_t)ls->yara_rules_guarded));
            json_object_set_new(l, "compiled", json_boolean(ls->compiled));
            json_object_set_new(j, "loaded", l);
        }
        cs_json_emit(j, &b);
    } else if (o->format == CS_FORMAT_TEXT) {
        cs_buf_printf(&b,
                      "\nSummary: %llu files scanned (%llu of them members of containers; %.1f MB) in %.2f s, "
                      "%.1f MB/s%s\n"
                      "  findings: %llu alert, %llu warning, %llu notice\n"
                      "  notes: %llu\n"
                      "  errors: %llu\n  skipped: %llu",
                      (unsigned long long)s->files_scanned, (unsigned long long)s->members_scanned, mb, s->elapsed,
                      mbps, cached,
                      (unsigned long long)s->by_level[CS_LEVEL_ALERT],
                      (unsigned long long)s->by_level[CS_LEVEL_WARNING],
                      (unsigned long long)s->by_level[CS_LEVEL_NOTICE], (unsigned long long)s->notes,
                      (unsigned long long)s->errors,
                      (unsigned long long)skipped);
        const char *sep = " (";
        for (int i = 1; i < CS_SKIP__COUNT; i++) {
            if (!s->skipped[i])
                continue;
            cs_buf_printf(&b, "%s%s %llu", sep, cs_skip_reason_name((cs_skip_reason)i),
                          (unsigned long long)s->skipped[i]);
            sep = ", ";
        }
        cs_buf_puts(&b, skipped ? ")\n" : "\n");
        if (s->interrupted)
            cs_buf_puts(&b, "  interrupted: the files not read yet are not in the results\n");
    }
    take(&b, out);
}

/* ---- chainsweep verify ---- */

static json_t *json_cert(const cs_ac_cert *c)
{
    char nb[32], na[32];
    cs_report_time(nb, sizeof nb, (int64_t)c->not_before);
    cs_report_time(na, sizeof na, (int64_t)c->not_after);
    json_t *j = json_object();
    json_object_set_new(j, "subject", cs_json_opt_string(c->subject));
    json_object_set_new(j, "issuer", cs_json_opt_string(c->issuer));
    json_object_set_new(j, "serial", json_string(c->serial));
    json_object_set_new(j, "sha1", json_string(c->sha1));
    json_object_set_new(j, "sha256", json_string(c->sha256));
    json_object_set_new(j, "not_before", json_string(nb));
    json_object_set_new(j, "not_after", json_string(na));
    return j;
}

static const char *chain_name(cs_ac_chain c)
{
    return c == CS_AC_CHAIN_OK ? "ok" : c == CS_AC_CHAIN_FAILED ? "failed" : "not checked against a trust anchor";
}

static void json_authenticode(const cs_report_opts *o, const char *path, const cs_ac_report *r, cs_buf *b)
{
    json_t *j = cs_json_record(o, "verify");
    cs_json_set_path(j, path);
    json_object_set_new(j, "verdict", json_string(cs_ac_verdict_name(r->verdict)));
    if (r->not_pe_reason)
        json_object_set_new(j, "not_pe_reason", json_string(r->not_pe_reason));
    if (r->table_size) {
        json_object_set_new(j, "table_offset", json_integer(r->table_offset));
        json_object_set_new(j, "table_size", json_integer(r->table_size));
        json_object_set_new(j, "entries", json_integer((json_int_t)r->entries));
    }
    json_t *sigs = json_array();
    for (size_t i = 0; i < r->n_signatures; i++) {
        const cs_ac_signature *s = &r->signatures[i];
        char hex[129];
        json_t *js = json_object();
        json_object_set_new(js, "entry", json_integer(s->entry));
        json_object_set_new(js, "nested", json_integer(s->nested));
        json_object_set_new(js, "digest_algorithm", json_string(s->digest_alg));
        cs_hex(hex, s->signed_digest, s->digest_len);
        json_object_set_new(js, "signed_digest", json_string(hex));
        cs_hex(hex, s->computed_digest, s->digest_len);
        json_object_set_new(js, "computed_digest", json_string(hex));
        json_object_set_new(js, "digest_ok", json_boolean(s->digest_ok));
        json_object_set_new(js, "message_digest_ok", json_boolean(s->message_digest_ok));
        json_object_set_new(js, "signature_ok", json_boolean(s->signature_ok));
        if (s->has_signer)
            json_object_set_new(js, "signer", json_cert(&s->signer));
        json_t *chain = json_array();
        for (size_t k = 0; k < s->chain_len; k++)
            json_array_append_new(chain, json_cert(&s->chain[k]));
        json_object_set_new(js, "chain", chain);
        json_object_set_new(js, "chain_status", json_string(chain_name(s->chain_status)));
        if (s->chain_error[0])
            json_object_set_new(js, "chain_error", cs_json_opt_string(s->chain_error));
        json_object_set_new(js, "program_name", cs_json_opt_string(s->program_name));
        json_object_set_new(js, "program_url", cs_json_opt_string(s->program_url));
        if (s->timestamp) {
            char ts[32];
            cs_report_time(ts, sizeof ts, (int64_t)s->timestamp_time);
            json_t *jt = json_object();
            json_object_set_new(jt, "kind", json_string(s->timestamp == 2 ? "rfc3161" : "pkcs9"));
            json_object_set_new(jt, "ok", json_boolean(s->timestamp_ok));
            json_object_set_new(jt, "time", s->timestamp_ok ? json_string(ts) : json_null());
            if (s->tsa.subject[0])
                json_object_set_new(jt, "tsa", json_cert(&s->tsa));
            json_object_set_new(js, "timestamp", jt);
        }
        if (s->page_hashes)
            json_object_set_new(js, "page_hashes_ok", json_boolean(s->page_hashes_ok));
        json_array_append_new(sigs, js);
    }
    json_object_set_new(j, "signatures", sigs);
    json_t *fs = json_array();
    for (size_t i = 0; i < r->n_findings; i++) {
        const cs_ac_finding *f = &r->findings[i];
        json_t *jf = json_object();
        json_object_set_new(jf, "finding", json_string(cs_ac_issue_name(f->issue)));
        json_object_set_new(jf, "score", json_integer(cs_ac_issue_score(f->issue)));
        json_object_set_new(jf, "tampering", json_boolean(cs_ac_issue_is_tampering(f->issue)));
        json_object_set_new(jf, "signature", f->signature >= 0 ? json_integer(f->signature) : json_null());
        json_object_set_new(jf, "description", json_string(cs_ac_issue_description(f->issue)));
        json_object_set_new(jf, "detail", cs_json_opt_string(f->detail));
        json_array_append_new(fs, jf);
    }
    json_object_set_new(j, "findings", fs);
    cs_json_emit(j, b);
}

static void text_cert(cs_buf *b, const char *label, const cs_ac_cert *c)
{
    char nb[32], na[32];
    cs_report_time(nb, sizeof nb, (int64_t)c->not_before);
    cs_report_time(na, sizeof na, (int64_t)c->not_after);
    cs_buf_printf(b, "    %-14s %s\n", label, c->subject);
    cs_buf_printf(b, "    %-14s issuer %s\n", "", c->issuer);
    cs_buf_printf(b, "    %-14s serial %s, sha1 %s, valid %s .. %s\n", "", c->serial, c->sha1, nb, na);
}

static void text_authenticode(const cs_report_opts *o, const char *path, const cs_ac_report *r, cs_buf *b)
{
    static const char *const colors[] = {"\033[32m", "\033[36m", "\033[33m", "\033[1;31m", "\033[33m", ""};
    put_path_text(b, path);
    cs_buf_printf(b, ": %s%s%s\n", o->color ? colors[r->verdict] : "", cs_ac_verdict_name(r->verdict),
                  o->color ? "\033[0m" : "");
    if (r->not_pe_reason)
        cs_buf_printf(b, "    %s\n", r->not_pe_reason);
    if (r->table_size)
        cs_buf_printf(b, "    certificate table at 0x%x, %u bytes, %zu entr%s\n", r->table_offset, r->table_size,
                      r->entries, r->entries == 1 ? "y" : "ies");
    for (size_t i = 0; i < r->n_signatures; i++) {
        const cs_ac_signature *s = &r->signatures[i];
        char hex[129];
        cs_buf_printf(b, "  signature %zu (entry %d%s):\n", i, s->entry, s->nested ? ", nested" : "");
        cs_hex(hex, s->signed_digest, s->digest_len);
        cs_buf_printf(b, "    digest         %s signed   %s\n", s->digest_alg, hex);
        cs_hex(hex, s->computed_digest, s->digest_len);
        cs_buf_printf(b, "                   %*s computed %s %s\n", (int)strlen(s->digest_alg), "", hex,
                      s->digest_ok ? "(match)" : "(MISMATCH)");
        cs_buf_printf(b, "    signed attrs   messageDigest %s, signer signature %s\n",
                      s->message_digest_ok ? "ok" : "FAILED", s->signature_ok ? "ok" : "FAILED");
        if (s->program_name[0] || s->program_url[0])
            cs_buf_printf(b, "    program        %s %s\n", s->program_name, s->program_url);
        if (s->has_signer)
            text_cert(b, "signer", &s->signer);
        for (size_t k = 1; k < s->chain_len; k++)
            text_cert(b, "issued by", &s->chain[k]);
        cs_buf_printf(b, "    chain          %s%s%s\n", chain_name(s->chain_status), s->chain_error[0] ? ": " : "",
                      s->chain_error);
        if (s->timestamp) {
            char ts[32];
            cs_report_time(ts, sizeof ts, (int64_t)s->timestamp_time);
            cs_buf_printf(b, "    timestamp      %s, %s%s\n", s->timestamp == 2 ? "RFC 3161" : "PKCS#9",
                          s->timestamp_ok ? "ok at " : "FAILED", s->timestamp_ok ? ts : "");
            if (s->tsa.subject[0])
                text_cert(b, "TSA", &s->tsa);
        }
        if (s->page_hashes)
            cs_buf_printf(b, "    page hashes    %s\n", s->page_hashes_ok ? "ok" : "MISMATCH");
    }
    for (size_t i = 0; i < r->n_findings; i++) {
        const cs_ac_finding *f = &r->findings[i];
        cs_buf_printf(b, "  ! %s (score %d%s): %s", cs_ac_issue_name(f->issue), cs_ac_issue_score(f->issue),
                      cs_ac_issue_is_tampering(f->issue) ? ", tampering" : "", cs_ac_issue_description(f->issue));
        if (f->signature >= 0)
            cs_buf_printf(b, " [signature %d]", f->signature);
        cs_buf_puts(b, "\n      ");
        cs_escape_bytes(b, (const unsigned char *)f->detail, strlen(f->detail));
        cs_buf_puts(b, "\n");
    }
}

void cs_report_verify_error(const cs_report_opts *o, const char *path, const char *message, cs_text *out)
{
    cs_buf b = {0};
    if (o->format == CS_FORMAT_JSON) {
        json_t *j = cs_json_record(o, "verify");
        cs_json_set_path(j, path);
        json_object_set_new(j, "verdict", json_string("error"));
        json_object_set_new(j, "error", cs_json_opt_string(message));
        cs_json_emit(j, &b);
    } else {
        put_path_text(&b, path);
        cs_buf_printf(&b, ": error: %s\n", message);
    }
    take(&b, out);
}

static const char *slot_state(int st)
{
    return st == CS_MC_SLOT_OK ? "ok" : st == CS_MC_SLOT_BAD ? "MISMATCH" : st == CS_MC_SLOT_UNCHECKED ? "not checked" : NULL;
}

static void json_codesign(const cs_report_opts *o, const char *path, const cs_mc_report *r, cs_buf *b)
{
    json_t *j = cs_json_record(o, "verify");
    cs_json_set_path(j, path);
    json_object_set_new(j, "format", json_string("mach-o"));
    json_object_set_new(j, "verdict", json_string(cs_mc_verdict_id(r->verdict)));
    if (r->not_macho_reason)
        json_object_set_new(j, "not_macho_reason", json_string(r->not_macho_reason));
    if (r->bundle) {
        json_t *jb = json_object();
        json_object_set_new(jb, "sealed", json_integer((json_int_t)r->sealed));
        json_object_set_new(jb, "checked", json_integer((json_int_t)r->sealed_checked));
        json_object_set_new(j, "bundle", jb);
    }
    json_t *slices = json_array();
    for (size_t i = 0; i < r->n_slices; i++) {
        const cs_mc_slice *sl = &r->slices[i];
        json_t *js = json_object();
        json_object_set_new(js, "arch", cs_json_opt_string(sl->arch));
        json_object_set_new(js, "offset", json_integer((json_int_t)sl->offset));
        json_object_set_new(js, "size", json_integer((json_int_t)sl->size));
        json_object_set_new(js, "kind", json_string(cs_mc_kind_id(sl->kind)));
        if (sl->parse_error[0])
            json_object_set_new(js, "parse_error", json_string(sl->parse_error));
        json_t *cds = json_array();
        for (size_t k = 0; k < sl->n_cds; k++) {
            const cs_mc_cd *cd = &sl->cds[k];
            char hex[97], ver[16];
            json_t *jc = json_object();
            json_object_set_new(jc, "slot", json_integer(cd->slot));
            snprintf(ver, sizeof ver, "0x%x", cd->version);
            json_object_set_new(jc, "version", json_string(ver));
            json_object_set_new(jc, "flags", json_integer(cd->flags));
            json_object_set_new(jc, "hash", json_string(cd->hash));
            cs_hex(hex, cd->cdhash, cd->cdhash_len);
            json_object_set_new(jc, "cdhash", json_string(hex));
            json_object_set_new(jc, "identifier", cs_json_opt_string(cd->identifier));
            json_object_set_new(jc, "team_id", cs_json_opt_string(cd->team_id));
            json_object_set_new(jc, "page_size", json_integer(cd->page_size));
            json_object_set_new(jc, "code_limit", json_integer((json_int_t)cd->code_limit));
            json_object_set_new(jc, "code_slots", json_integer(cd->n_code_slots));
            json_object_set_new(jc, "bad_code_slots", json_integer(cd->bad_code_slots));
            json_t *sp = json_object();
            static const char *const names[8] = {NULL, "info_plist", "requirements", "resources", "application", "entitlements", "rep_specific", "der_entitlements"};
            for (int k2 = 1; k2 < 8; k2++)
                if (slot_state(cd->special[k2]))
                    json_object_set_new(sp, names[k2], json_string(slot_state(cd->special[k2])));
            json_object_set_new(jc, "special_slots", sp);
            json_array_append_new(cds, jc);
        }
        json_object_set_new(js, "code_directories", cds);
        if (sl->cms) {
            json_t *jm = json_object();
            json_object_set_new(jm, "empty", json_boolean(sl->cms == 2));
            if (sl->cms == 1) {
                json_object_set_new(jm, "signature_ok", json_boolean(sl->cms_ok));
                json_object_set_new(jm, "cdhashes_plist", sl->cdhashes_plist ? json_boolean(sl->cdhashes_plist > 0) : json_null());
                json_object_set_new(jm, "cdhashes2", sl->cdhashes2 ? json_boolean(sl->cdhashes2 > 0) : json_null());
                if (sl->has_signer)
                    json_object_set_new(jm, "signer", json_cert(&sl->signer));
                json_object_set_new(jm, "team_id", cs_json_opt_string(sl->signer_team));
                if (sl->signing_time) {
                    char ts[32];
                    cs_report_time(ts, sizeof ts, (int64_t)sl->signing_time);
                    json_object_set_new(jm, "signing_time", json_string(ts));
                }
                json_object_set_new(jm, "timestamp_token", json_boolean(sl->timestamp));
                if (sl->timestamp) {
                    char ts[32];
                    cs_report_time(ts, sizeof ts, (int64_t)sl->timestamp_time);
                    json_t *jt = json_object();
                    json_object_set_new(jt, "ok", json_boolean(sl->timestamp_ok));
                    json_object_set_new(jt, "time", sl->timestamp_ok ? json_string(ts) : json_null());
                    if (sl->tsa.subject[0])
                        json_object_set_new(jt, "tsa", json_cert(&sl->tsa));
                    json_object_set_new(jm, "timestamp", jt);
                }
                json_t *chain = json_array();
                for (size_t k = 0; k < sl->chain_len; k++)
                    json_array_append_new(chain, json_cert(&sl->chain[k]));
                json_object_set_new(jm, "chain", chain);
                json_object_set_new(jm, "chain_status", json_string(chain_name(sl->chain_status)));
                if (sl->chain_error[0])
                    json_object_set_new(jm, "chain_error", cs_json_opt_string(sl->chain_error));
            }
            json_object_set_new(js, "cms", jm);
        }
        json_array_append_new(slices, js);
    }
    json_object_set_new(j, "slices", slices);
    json_t *fs = json_array();
    for (size_t i = 0; i < r->n_findings; i++) {
        const cs_mc_finding *f = &r->findings[i];
        json_t *jf = json_object();
        json_object_set_new(jf, "finding", json_string(cs_mc_issue_name(f->issue)));
        json_object_set_new(jf, "score", json_integer(cs_mc_issue_score(f->issue)));
        json_object_set_new(jf, "slice", json_integer(f->slice));
        json_object_set_new(jf, "description", json_string(cs_mc_issue_description(f->issue)));
        json_object_set_new(jf, "detail", cs_json_opt_string(f->detail));
        json_array_append_new(fs, jf);
    }
    json_object_set_new(j, "findings", fs);
    cs_json_emit(j, b);
}

static void text_codesign(const cs_report_opts *o, const char *path, const cs_mc_report *r, cs_buf *b)
{
    /* by cs_mc_verdict: intact, adhoc, tampered, unsigned, partly-signed, not-macho, valid, invalid */
    static const char *const colors[] = {"\033[36m", "\033[36m", "\033[1;31m", "\033[33m",
                                         "\033[33m", "",         "\033[32m",   "\033[33m"};
    put_path_text(b, path);
    cs_buf_printf(b, ": %s%s%s (Mach-O code signature)\n", o->color && (unsigned)r->verdict < 8 ? colors[r->verdict] : "",
                  cs_mc_verdict_id(r->verdict), o->color ? "\033[0m" : "");
    if (r->not_macho_reason)
        cs_buf_printf(b, "    %s\n", r->not_macho_reason);
    if (r->bundle)
        cs_buf_printf(b, "  bundle: %zu files sealed by CodeResources, %zu read and compared\n", r->sealed,
                      r->sealed_checked);
    for (size_t i = 0; i < r->n_slices; i++) {
        const cs_mc_slice *sl = &r->slices[i];
        cs_buf_printf(b, "  slice %zu [%s] at %llu, %llu bytes: %s\n", i, sl->arch, (unsigned long long)sl->offset,
                      (unsigned long long)sl->size, cs_mc_kind_id(sl->kind));
        if (sl->parse_error[0])
            cs_buf_printf(b, "    not a well-formed Mach-O: %s\n", sl->parse_error);
        for (size_t k = 0; k < sl->n_cds; k++) {
            const cs_mc_cd *cd = &sl->cds[k];
            char hex[97];
            cs_hex(hex, cd->cdhash, cd->cdhash_len);
            cs_buf_printf(b, "    CodeDirectory  slot 0x%x, v0x%x, %s, %s%s%s\n", cd->slot, cd->version, cd->hash,
                          cd->identifier, cd->team_id[0] ? ", team " : "", cd->team_id);
            cs_buf_printf(b, "      cdhash       %s\n", hex);
            cs_buf_printf(b, "      code slots   %u, %s\n", cd->n_code_slots,
                          cd->bad_code_slots ? "MISMATCH" : "all match");
            for (int k2 = 1; k2 < 8; k2++)
                if (slot_state(cd->special[k2]))
                    cs_buf_printf(b, "      special -%d   %s\n", k2, slot_state(cd->special[k2]));
        }
        if (sl->cms == 2)
            cs_buf_puts(b, "    CMS            empty (ad-hoc)\n");
        else if (sl->cms == 1) {
            cs_buf_printf(b, "    CMS            signature %s, CDHashes %s, CDHashes2 %s%s\n", sl->cms_ok ? "ok" : "FAILED",
                          sl->cdhashes_plist > 0 ? "ok" : sl->cdhashes_plist < 0 ? "MISMATCH" : "absent",
                          sl->cdhashes2 > 0 ? "ok" : sl->cdhashes2 < 0 ? "MISMATCH" : "absent",
                          "");
            if (sl->has_signer)
                text_cert(b, "signer", &sl->signer);
            for (size_t k = 1; k < sl->chain_len; k++)
                text_cert(b, "issued by", &sl->chain[k]);
            if (sl->signer_team[0])
                cs_buf_printf(b, "    team           %s\n", sl->signer_team);
            cs_buf_printf(b, "    chain          %s%s%s\n", chain_name(sl->chain_status), sl->chain_error[0] ? ": " : "",
                          sl->chain_error);
            if (sl->timestamp) {
                char ts[32];
                cs_report_time(ts, sizeof ts, (int64_t)sl->timestamp_time);
                cs_buf_printf(b, "    timestamp      RFC 3161, %s%s\n", sl->timestamp_ok ? "ok at " : "FAILED",
                              sl->timestamp_ok ? ts : "");
                if (sl->tsa.subject[0])
                    text_cert(b, "TSA", &sl->tsa);
            }
        }
    }
    for (size_t i = 0; i < r->n_findings; i++) {
        const cs_mc_finding *f = &r->findings[i];
        cs_buf_printf(b, "  ! %s (score %d) [slice %d]: %s\n      ", cs_mc_issue_name(f->issue),
                      cs_mc_issue_score(f->issue), f->slice, cs_mc_issue_description(f->issue));
        cs_escape_bytes(b, (const unsigned char *)f->detail, strlen(f->detail));
        cs_buf_puts(b, "\n");
    }
}

void cs_report_codesign(const cs_report_opts *o, const char *path, const cs_mc_report *r, cs_text *out)
{
    cs_buf b = {0};
    if (o->format == CS_FORMAT_JSON)
        json_codesign(o, path, r, &b);
    else
        text_codesign(o, path, r, &b);
    take(&b, out);
}

void cs_report_authenticode(const cs_report_opts *o, const char *path, const cs_ac_report *r, cs_text *out)
{
    cs_buf b = {0};
    if (o->format == CS_FORMAT_JSON)
        json_authenticode(o, path, r, &b);
    else
        text_authenticode(o, path, r, &b);
    take(&b, out);
}
