/* chainsweep serve: a Thunderstorm-compatible scanning service
 * (docs/service.md) on libmicrohttpd. One thread per connection reads the
 * upload into memory (bounded), sync checks are scanned in that thread,
 * async ones queue (bounded by count and bytes) for the scan workers; when
 * the queue is full an upload waits for room instead of being refused (the
 * collectors handle refusals badly). Samples are never written to disk,
 * executed or forwarded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chainsweep/chainsweep.h"
#include "chainsweep/report.h"
#include "cli.h"
#include "chainsweep/service.h"
#include "util/lazylib.h"

/* libmicrohttpd (and GnuTLS), loaded when the service starts (util/lazylib.h) */
#define MHD_FUNCS(X)                                                                                            \
    X(MHD_add_response_header) X(MHD_create_response_from_buffer) X(MHD_destroy_response)                       \
    X(MHD_get_connection_info) X(MHD_get_connection_values) X(MHD_lookup_connection_value) X(MHD_queue_response) \
    X(MHD_start_daemon) X(MHD_stop_daemon)
CS_LAZY_API(lm, CS_SONAME_MHD, MHD_FUNCS)

/* ---- scanners: one per thread at a time, reused ---- */

typedef struct pool {
    pthread_mutex_t mu;
    cs_engine *e;
    cs_scanner **free;
    size_t n_free, cap;
} pool;

static cs_scanner *pool_take(pool *p, cs_error *err)
{
    pthread_mutex_lock(&p->mu);
    cs_scanner *s = p->n_free ? p->free[--p->n_free] : NULL;
    pthread_mutex_unlock(&p->mu);
    if (!s && cs_scanner_new(p->e, &s, err) != CS_OK)
        return NULL;
    return s;
}

static void pool_give(pool *p, cs_scanner *s)
{
    pthread_mutex_lock(&p->mu);
    if (p->n_free == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        cs_scanner **f = realloc(p->free, cap * sizeof *f);
        if (!f) {
            pthread_mutex_unlock(&p->mu);
            cs_scanner_free(s);
            return;
        }
        p->free = f;
        p->cap = cap;
    }
    p->free[p->n_free++] = s;
    pthread_mutex_unlock(&p->mu);
}

/* ---- one scan: the findings as a JSON array ---- */

/* Every finding also as a record on out (JSON Lines, or ECS) and to
 * syslog: one lock for out, so that lines never interleave. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void emit(const cli_serve_opts *o, const cs_result *r)
{
    if (r->kind != CS_RECORD_FILE || !r->n_reasons)
        return;
    if (o->syslog)
        cli_syslog_finding(o->syslog, &o->report, r);
    if (!o->out)
        return;
    cs_text t;
    cs_report_result(&o->report, r, &t);
    pthread_mutex_lock(&out_mu);
    if (t.len && (fwrite(t.data, 1, t.len, o->out) != t.len || fflush(o->out) != 0))
        fprintf(stderr, "chainsweep: writing a finding: %s\n", strerror(errno));
    pthread_mutex_unlock(&out_mu);
    cs_text_free(&t);
}

typedef struct findings {
    char *json;              /* "[...]" */
    size_t len, cap;
    size_t n;
    int max_score;
    const char *name;
    const unsigned char *data;
    size_t data_len;
    int v3;
    const char *host;
    const cli_serve_opts *o;
} findings;

static int append(findings *f, const char *s, size_t n)
{
    if (f->len + n + 2 > f->cap) {
        size_t cap = (f->len + n + 2) * 2;
        char *j = realloc(f->json, cap);
        if (!j)
            return -1;
        f->json = j;
        f->cap = cap;
    }
    memcpy(f->json + f->len, s, n);
    f->len += n;
    f->json[f->len] = '\0';
    return 0;
}

static int on_result(const cs_result *r, void *ud)
{
    findings *f = ud;
    emit(f->o, r);
    cs_text t;
    const char *name = r->n_members ? r->display_path : f->name;
    cs_report_thunderstorm(r, name, r->n_members ? NULL : f->data, f->data_len, f->v3, f->host, &t);
    if (t.len) {
        if ((f->n++ && append(f, ",", 1) != 0) || append(f, t.data, t.len) != 0) {
            cs_text_free(&t);
            return 1;
        }
        if (r->score > f->max_score)
            f->max_score = r->score;
    }
    cs_text_free(&t);
    return 0;
}

/* An upload that was not scanned, in the finding shape every client
 * parses (level Error: thunderstormAPI accepts it; no "reason" in it: the
 * bash collector would resend). */
static char *not_scanned(const char *name, uint64_t size, const char *why)
{
    json_t *j = json_object(), *ctx = json_object();
    json_object_set_new(j, "level", json_string("Error"));
    json_object_set_new(j, "module", json_string("Filescan"));
    char msg[600];
    snprintf(msg, sizeof msg, "file not scanned: %s", why);
    json_object_set_new(j, "message", json_string(msg));
    json_object_set_new(j, "score", json_integer(0));
    json_t *file = json_string(name);
    json_object_set_new(ctx, "file", file ? file : json_string("(not UTF-8)"));
    json_object_set_new(ctx, "size", json_integer((json_int_t)size));
    json_object_set_new(j, "context", ctx);
    json_t *a = json_array();
    json_array_append_new(a, j);
    char *s = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(a);
    return s;
}

/* ---- the service ---- */

typedef struct job job;
struct job {
    uint64_t id;
    unsigned char *data;
    size_t len;
    char *name, *source;
    int v3;
    double queued;
    job *next;
};

enum { ST_FREE = 0, ST_WAITING, ST_SCANNING, ST_DONE, ST_FAILED };

typedef struct slot {
    uint64_t id;
    int state;
    char *result;
} slot;

typedef struct service {
    cs_engine *e;
    const cli_serve_opts *o;
    pool scanners;
    struct MHD_Daemon *d;
    char host[256];
    double started;
    pthread_mutex_t mu;
    pthread_cond_t has_job, has_room;
    job *head, *tail;
    size_t queued, queued_bytes;
    int stopping;
    uint64_t next_id;
    slot *cache;             /* async results, a ring of o->result_cache */
    /* statistics */
    uint64_t scanned, denied;
    double scan_ms_total, wait_ms_total;
    uint64_t waits;
    pthread_t *workers;
} service;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Scan one upload; the JSON array of its findings (malloc'd). */
static char *scan_upload(service *sv, const unsigned char *data, size_t len, const char *name, int v3, int *score)
{
    cs_error err;
    double t0 = now_s();
    cs_scanner *sc = pool_take(&sv->scanners, &err);
    if (!sc)
        return not_scanned(name, len, err.message);
    findings f = {.name = name, .data = data, .data_len = len, .v3 = v3, .host = sv->host, .o = sv->o};
    append(&f, "[", 1);
    cs_status st = cs_scanner_scan_buffer(sc, data, len, name, on_result, &f, &err);
    pool_give(&sv->scanners, sc);
    if (st != CS_OK || !f.json) {
        free(f.json);
        return not_scanned(name, len, st != CS_OK ? err.message : "out of memory");
    }
    append(&f, "]", 1);
    pthread_mutex_lock(&sv->mu);
    sv->scanned++;
    sv->scan_ms_total += (now_s() - t0) * 1000;
    pthread_mutex_unlock(&sv->mu);
    *score = f.max_score;
    return f.json;
}

static slot *cache_slot(service *sv, uint64_t id)
{
    slot *s = &sv->cache[id % sv->o->result_cache];
    return s->state != ST_FREE && s->id == id ? s : NULL;
}

static void *worker(void *arg)
{
    service *sv = arg;
    for (;;) {
        pthread_mutex_lock(&sv->mu);
        while (!sv->head && !sv->stopping)
            pthread_cond_wait(&sv->has_job, &sv->mu);
        if (!sv->head) {
            pthread_mutex_unlock(&sv->mu);
            return NULL;
        }
        job *j = sv->head;
        sv->head = j->next;
        if (!sv->head)
            sv->tail = NULL;
        sv->queued--;
        sv->queued_bytes -= j->len;
        sv->wait_ms_total += (now_s() - j->queued) * 1000;
        sv->waits++;
        slot *s = cache_slot(sv, j->id);
        if (s)
            s->state = ST_SCANNING;
        pthread_cond_broadcast(&sv->has_room);
        pthread_mutex_unlock(&sv->mu);
        int score = 0;
        char *res = scan_upload(sv, j->data, j->len, j->name, j->v3, &score);
        pthread_mutex_lock(&sv->mu);
        s = cache_slot(sv, j->id);
        if (s) {
            free(s->result);
            s->result = res;
            s->state = ST_DONE;
            res = NULL;
        }
        pthread_mutex_unlock(&sv->mu);
        free(res);
        free(j->data);
        free(j->name);
        free(j->source);
        free(j);
    }
}

/* ---- HTTP ---- */

typedef struct request {
    unsigned char *body;
    size_t len, cap;
    int too_large;
    uint64_t received;
    double started;
} request;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *json, int copy)
{
    struct MHD_Response *r =
        lm.MHD_create_response_from_buffer(strlen(json), (void *)json, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
    if (!r)
        return MHD_NO;
    lm.MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = lm.MHD_queue_response(c, code, r);
    lm.MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_message(struct MHD_Connection *c, unsigned code, const char *message)
{
    json_t *j = json_object();
    json_object_set_new(j, "message", json_string(message));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s ? reply(c, code, s, 0) : MHD_NO;
}

/* A query argument by name, any case ("source" and PowerShell's "Source"). */
typedef struct arg_find {
    const char *name;
    const char *value;
} arg_find;

static enum MHD_Result find_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    arg_find *a = cls;
    (void)kind;
    if (!a->value && key && strcasecmp(key, a->name) == 0) {
        a->value = value ? value : "";
        return MHD_NO;
    }
    return MHD_YES;
}

static const char *query_arg(struct MHD_Connection *c, const char *name)
{
    arg_find a = {name, NULL};
    lm.MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, find_arg, &a);
    return a.value;
}

/* The operation: the path without an absolute-form prefix, "/api/" or
 * "/api/v1/"; NULL when it is not an API path. */
static const char *operation(const char *url)
{
    if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0) {
        url = strchr(url + 8, '/');
        if (!url)
            return "";
    }
    if (strncmp(url, "/api/v1/", 8) == 0)
        return url + 8;
    if (strncmp(url, "/api/", 5) == 0)
        return url + 5;
    return NULL;
}

static void log_request(service *sv, struct MHD_Connection *c, const char *method, const char *url, unsigned code,
                        const char *name, uint64_t size, int score, double started)
{
    if (sv->o->quiet)
        return;
    char ip[INET6_ADDRSTRLEN] = "?";
    const union MHD_ConnectionInfo *ci = lm.MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip, sizeof ip);
    }
    /* names and paths are data: escaped, never interpreted */
    json_t *j = json_object();
    json_object_set_new(j, "client", json_string(ip));
    json_object_set_new(j, "method", json_string(method));
    json_t *u = json_string(url);
    json_object_set_new(j, "url", u ? u : json_string("(not UTF-8)"));
    json_object_set_new(j, "status", json_integer(code));
    if (name) {
        json_t *n = json_string(name);
        json_object_set_new(j, "file", n ? n : json_string("(not UTF-8)"));
        json_object_set_new(j, "size", json_integer((json_int_t)size));
        json_object_set_new(j, "score", json_integer(score));
    }
    json_object_set_new(j, "ms", json_integer((json_int_t)((now_s() - started) * 1000)));
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (s) {
        fprintf(stderr, "%s\n", s);
        free(s);
    }
}

/* libmicrohttpd's own messages, as log lines like ours */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    json_t *j = json_object();
    json_t *m = json_string(msg);
    json_object_set_new(j, "httpd", m ? m : json_string("(not UTF-8)"));
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (s) {
        fprintf(stderr, "%s\n", s);
        free(s);
    }
}

static char *status_json(service *sv)
{
    pthread_mutex_lock(&sv->mu);
    json_t *j = json_object();
    double avg = sv->scanned ? sv->scan_ms_total / (double)sv->scanned : 0;
    double wait = sv->waits ? sv->wait_ms_total / (double)sv->waits : 0;
    json_object_set_new(j, "uptime_seconds", json_integer((json_int_t)(now_s() - sv->started)));
    json_object_set_new(j, "scanned_samples", json_integer((json_int_t)sv->scanned));
    json_object_set_new(j, "queued_async_requests", json_integer((json_int_t)sv->queued));
    json_object_set_new(j, "queued_async_bytes", json_integer((json_int_t)sv->queued_bytes));
    json_object_set_new(j, "avg_scan_time_milliseconds", json_integer((json_int_t)avg));
    json_object_set_new(j, "avg_wait_time_milliseconds", json_integer((json_int_t)wait));
    json_object_set_new(j, "denied_requests", json_integer((json_int_t)sv->denied));
    pthread_mutex_unlock(&sv->mu);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static char *info_json(service *sv)
{
    json_t *j = json_object(), *vi = json_object();
    char version[64];
    snprintf(version, sizeof version, "chainsweep %s", CS_VERSION);
    json_object_set_new(j, "thor_version", json_string(version));
    json_object_set_new(j, "signature_version", json_string(cs_engine_fingerprint(sv->e)));
    json_object_set_new(j, "yara_version", json_string(cs_engine_yara_version()));
    json_object_set_new(j, "threads", json_integer(sv->o->workers));
    json_object_set_new(j, "allowed_samples_per_hour", json_integer(0));
    json_object_set_new(vi, "thor", json_string(version));
    json_object_set_new(vi, "build", json_string(CS_VERSION));
    json_object_set_new(vi, "signatures", json_string(cs_engine_fingerprint(sv->e)));
    json_object_set_new(vi, "sigma", json_string(""));
    json_object_set_new(j, "version_info", vi);
    json_object_set_new(j, "arguments", json_array());
    json_object_set_new(j, "license_expiration", json_string(""));
    json_object_set_new(j, "license_owner", json_string("Apache-2.0 (no licence needed)"));
    json_object_set_new(j, "scan_speed_limitation", json_integer(0));
    json_object_set_new(j, "max_upload_bytes", json_integer((json_int_t)sv->o->max_upload));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static const char landing[] =
    "<!doctype html><html><head><title>chainsweep serve</title></head><body><h1>chainsweep serve</h1>"
    "<p>A Thunderstorm-compatible scanning service. POST a file as the multipart part <code>file</code> to "
    "<code>/api/check</code> (findings now) or <code>/api/checkAsync</code> (an id for "
    "<code>/api/getAsyncResults?id=N</code>); <code>/api/status</code>, <code>/api/info</code>. "
    "Every path also under <code>/api/v1/</code>.</p></body></html>";

static enum MHD_Result handle_upload(service *sv, struct MHD_Connection *c, const char *op, request *rq,
                                     const char *method, const char *url)
{
    const char *ct = lm.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    char boundary[80];
    cs_multipart_file f;
    const char *why = NULL;
    int ok = ct && strncasecmp(ct, "multipart/form-data", 19) == 0 &&
             cs_multipart_boundary(ct, boundary, sizeof boundary) == 0;
    if (!ok)
        why = "expected multipart/form-data with a boundary";
    else if (!rq->too_large && cs_multipart_find_file(rq->body, rq->len, boundary, &f, &why) != 0)
        ok = 0;
    if (!ok && !rq->too_large) {
        pthread_mutex_lock(&sv->mu);
        sv->denied++;
        pthread_mutex_unlock(&sv->mu);
        log_request(sv, c, method, url, 400, NULL, rq->received, 0, rq->started);
        return reply_message(c, MHD_HTTP_BAD_REQUEST, why);
    }
    const char *v = query_arg(c, "log_version");
    int v3 = sv->o->thor11 || (v && strcasecmp(v, "v3") == 0);
    const char *name = rq->too_large ? "(upload)" : f.filename[0] ? f.filename : "upload";
    if (rq->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "larger than the upload limit (%llu bytes)", (unsigned long long)sv->o->max_upload);
        log_request(sv, c, method, url, 200, name, rq->received, 0, rq->started);
        char *s = not_scanned(name, rq->received, msg);
        return s ? reply(c, MHD_HTTP_OK, s, 0) : MHD_NO;
    }
    if (strcmp(op, "check") == 0) {
        int score = 0;
        char *res = scan_upload(sv, f.data, f.len, name, v3, &score);
        log_request(sv, c, method, url, 200, name, f.len, score, rq->started);
        return res ? reply(c, MHD_HTTP_OK, res, 0) : MHD_NO;
    }
    /* async: a copy of the file queued; wait for room rather than refuse */
    job *j = calloc(1, sizeof *j);
    unsigned char *copy = malloc(f.len ? f.len : 1);
    char *nm = strdup(name);
    if (!j || !copy || !nm) {
        free(j), free(copy), free(nm);
        return reply_message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    memcpy(copy, f.data, f.len);
    j->data = copy;
    j->len = f.len;
    j->name = nm;
    j->v3 = v3;
    pthread_mutex_lock(&sv->mu);
    while (!sv->stopping && sv->queued &&
           (sv->queued >= sv->o->async_queue || sv->queued_bytes + f.len > sv->o->async_bytes))
        pthread_cond_wait(&sv->has_room, &sv->mu);
    j->id = sv->next_id;
    sv->next_id += sv->o->instances;
    slot *s = &sv->cache[j->id % sv->o->result_cache];
    free(s->result);
    s->result = NULL;
    s->id = j->id;
    s->state = ST_WAITING;
    j->queued = now_s();
    if (sv->tail)
        sv->tail->next = j;
    else
        sv->head = j;
    sv->tail = j;
    sv->queued++;
    sv->queued_bytes += f.len;
    pthread_cond_signal(&sv->has_job);
    uint64_t id = j->id;
    pthread_mutex_unlock(&sv->mu);
    char body[64];
    snprintf(body, sizeof body, "{\"id\":%llu}", (unsigned long long)id);
    log_request(sv, c, method, url, 200, name, f.len, 0, rq->started);
    return reply(c, MHD_HTTP_OK, body, 1);
}

static enum MHD_Result handle_results(service *sv, struct MHD_Connection *c)
{
    const char *v = query_arg(c, "id");
    char *end = NULL;
    unsigned long long id = v ? strtoull(v, &end, 10) : 0;
    if (!v || !*v || *end)
        return reply_message(c, MHD_HTTP_BAD_REQUEST, "no ID specified, or ID invalid or not present in cache");
    pthread_mutex_lock(&sv->mu);
    slot *s = cache_slot(sv, id);
    if (!s) {
        pthread_mutex_unlock(&sv->mu);
        return reply_message(c, MHD_HTTP_BAD_REQUEST, "no ID specified, or ID invalid or not present in cache");
    }
    json_t *j = json_object();
    static const char *names[] = {"", "Waiting for execution", "Currently being scanned", "Sample analysis complete",
                                  "Sample analysis failed"};
    json_object_set_new(j, "status", json_string(names[s->state]));
    if (s->state == ST_DONE) {
        json_error_t je;
        json_t *res = json_loads(s->result, 0, &je);
        json_object_set_new(j, "result", res ? res : json_array());
    }
    pthread_mutex_unlock(&sv->mu);
    char *out = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    return out ? reply(c, MHD_HTTP_OK, out, 0) : MHD_NO;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    service *sv = cls;
    (void)version;
    request *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->started = now_s();
        *con_cls = rq;
        return MHD_YES; /* headers only: "100 Continue" goes out now */
    }
    if (*upload_data_size) {
        /* a slow client gets the whole request deadline, not more */
        if (sv->o->request_timeout && now_s() - rq->started > sv->o->request_timeout)
            return MHD_NO;
        size_t n = *upload_data_size;
        rq->received += n;
        if (!rq->too_large && rq->len + n > sv->o->max_upload + 65536) {
            rq->too_large = 1; /* the rest is read and dropped: memory stays bounded */
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
        }
        if (!rq->too_large) {
            if (rq->len + n > rq->cap) {
                size_t cap = rq->cap ? rq->cap : 65536;
                while (cap < rq->len + n)
                    cap *= 2;
                unsigned char *b = realloc(rq->body, cap);
                if (!b)
                    return MHD_NO;
                rq->body = b;
                rq->cap = cap;
            }
            memcpy(rq->body + rq->len, upload_data, n);
            rq->len += n;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (sv->o->token) {
        const char *auth = lm.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth || strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, sv->o->token) != 0) {
            log_request(sv, c, method, url, 401, NULL, 0, 0, rq->started);
            return reply_message(c, MHD_HTTP_UNAUTHORIZED, "a bearer token is required");
        }
    }
    const char *op = operation(url);
    const char *q = op ? strchr(op, '?') : NULL;
    char name[32] = "";
    if (op)
        snprintf(name, sizeof name, "%.*s", (int)(q ? (size_t)(q - op) : strlen(op)), op);
    int post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (!op && get && (strcmp(url, "/") == 0 || strncasecmp(url, "http", 4) == 0)) {
        struct MHD_Response *r = lm.MHD_create_response_from_buffer(sizeof landing - 1, (void *)landing, MHD_RESPMEM_PERSISTENT);
        lm.MHD_add_response_header(r, "Content-Type", "text/html");
        enum MHD_Result rc = lm.MHD_queue_response(c, MHD_HTTP_OK, r);
        lm.MHD_destroy_response(r);
        return rc;
    }
    if (!strcmp(name, "check") || !strcmp(name, "checkAsync")) {
        if (!post)
            return reply_message(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST with a multipart part named file");
        return handle_upload(sv, c, name, rq, method, url);
    }
    if (!get)
        return reply_message(c, op ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND, "no such method here");
    if (!strcmp(name, "getAsyncResults"))
        return handle_results(sv, c);
    if (!strcmp(name, "status") || !strcmp(name, "info")) {
        char *s = !strcmp(name, "status") ? status_json(sv) : info_json(sv);
        return s ? reply(c, MHD_HTTP_OK, s, 0) : MHD_NO;
    }
    if (!strcmp(name, "queueHistory") || !strcmp(name, "sampleHistory") || !strcmp(name, "deniedHistory"))
        return reply(c, MHD_HTTP_OK, "{}", 1);
    log_request(sv, c, method, url, 404, NULL, 0, 0, rq->started);
    return reply_message(c, MHD_HTTP_NOT_FOUND, "no such path (the API is under /api/ and /api/v1/)");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (m)
        fclose(m);
    return buf;
}

int cli_serve(cs_engine *e, const cli_serve_opts *o)
{
    service sv = {.e = e, .o = o};
    pthread_mutex_init(&sv.mu, NULL);
    pthread_cond_init(&sv.has_job, NULL);
    pthread_cond_init(&sv.has_room, NULL);
    pthread_mutex_init(&sv.scanners.mu, NULL);
    const char *why;
    if (!lm_load(&why))
        return cli_fail("the service needs libmicrohttpd: %s", why);
    sv.scanners.e = e;
    sv.next_id = o->instance + o->instances; /* never 0: the mock's "failed" id */
    gethostname(sv.host, sizeof sv.host - 1);
    sv.started = now_s();
    sv.cache = calloc(o->result_cache, sizeof *sv.cache);
    sv.workers = calloc(o->workers, sizeof *sv.workers);
    if (!sv.cache || !sv.workers)
        return cli_fail("out of memory");
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    struct sockaddr *sa;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, o->listen, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)o->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, o->listen, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)o->port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return cli_fail("--listen: an IPv4 or IPv6 address, not '%s'", o->listen);
    }
    char *cert = NULL, *key = NULL;
    if (o->tls_cert || o->tls_key) {
        if (!o->tls_cert || !o->tls_key)
            return cli_fail("--tls-cert and --tls-key go together");
        if (!(cert = read_file(o->tls_cert)) || !(key = read_file(o->tls_key)))
            return cli_fail("cannot read %s", cert ? o->tls_key : o->tls_cert);
        flags |= MHD_USE_TLS;
    }
    for (unsigned i = 0; i < o->workers; i++)
        if (pthread_create(&sv.workers[i], NULL, worker, &sv) != 0)
            return cli_fail("cannot start scan workers: %s", strerror(errno));
    sv.d = lm.MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, &sv, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_CONNECTION_LIMIT, o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                            o->idle_timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            /* without TLS the list ends here */
                            cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                            MHD_OPTION_END);
    if (!sv.d) {
        pthread_mutex_lock(&sv.mu);
        sv.stopping = 1;
        pthread_cond_broadcast(&sv.has_job);
        pthread_mutex_unlock(&sv.mu);
        for (unsigned i = 0; i < o->workers; i++)
            pthread_join(sv.workers[i], NULL);
        return cli_fail("cannot listen on %s port %d (in use, or not allowed)", o->listen, o->port);
    }
    struct sigaction act = {0};
    act.sa_handler = on_signal;
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    fprintf(stderr, "chainsweep: serving on %s port %d%s (%u scan workers, uploads up to %llu bytes)\n", o->listen,
            o->port, cert ? " with TLS" : "", o->workers, (unsigned long long)o->max_upload);
    while (!stop_signal)
        pause();
    fprintf(stderr, "chainsweep: stopping (signal %d)\n", (int)stop_signal);
    lm.MHD_stop_daemon(sv.d);
    pthread_mutex_lock(&sv.mu);
    sv.stopping = 1;
    pthread_cond_broadcast(&sv.has_job);
    pthread_cond_broadcast(&sv.has_room);
    pthread_mutex_unlock(&sv.mu);
    for (unsigned i = 0; i < o->workers; i++)
        pthread_join(sv.workers[i], NULL);
    for (size_t i = 0; i < o->result_cache; i++)
        free(sv.cache[i].result);
    for (size_t i = 0; i < sv.scanners.n_free; i++)
        cs_scanner_free(sv.scanners.free[i]);
    free(sv.scanners.free);
    free(sv.cache);
    free(sv.workers);
    free(cert);
    free(key);
    return EXIT_CLEAN;
}
