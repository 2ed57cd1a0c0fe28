/* Findings to a syslog server: RFC 5424 messages (facility local0, the
 * finding's level as severity, APP-NAME chainsweep, MSGID finding) over UDP
 * or TCP (octet-counted framing, RFC 6587 3.4.1), the message in CEF, JSON
 * (our JSON Lines record) or ECS. A message that cannot be sent is counted
 * and reported at the end (the run then exits 2), never dropped silently. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "chainsweep/report.h"
#include "cli.h"

static int connect_to(const char *host, const char *port, int tcp, char *err, size_t n)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, n, "syslog %s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0}; /* a dead collector must not stall the sweep */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            snprintf(err, n, "syslog %s:%s: %s", host, port, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

int cli_syslog_open(cli_syslog *s, const char *spec, const char *format, char *err, size_t n)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->fd = -1;
    const char *p = spec;
    if (strncmp(p, "udp://", 6) == 0)
        p += 6;
    else if (strncmp(p, "tcp://", 6) == 0)
        p += 6, s->tcp = 1;
    else if (strstr(p, "://")) {
        snprintf(err, n, "--syslog: udp://HOST:PORT or tcp://HOST:PORT, not '%s'", spec);
        return -1;
    }
    const char *colon = strrchr(p, ':');
    snprintf(s->host, sizeof s->host, "%.*s", (int)(colon ? (size_t)(colon - p) : strlen(p)), p);
    snprintf(s->port, sizeof s->port, "%s", colon ? colon + 1 : "514");
    if (!strcmp(format, "cef"))
        s->format = 0;
    else if (!strcmp(format, "json"))
        s->format = 1;
    else if (!strcmp(format, "ecs"))
        s->format = 2;
    else {
        snprintf(err, n, "--syslog-format: cef, json or ecs, not '%s'", format);
        return -1;
    }
    if ((s->fd = connect_to(s->host, s->port, s->tcp, err, n)) < 0)
        return -1;
    char host[256] = "-";
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++) /* PRINTUSASCII only */
        if (*c <= 32 || *c >= 127)
            *c = '_';
    snprintf(s->hostname, sizeof s->hostname, "%s", host);
    return 0;
}

static int send_all(cli_syslog *s, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(s->fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

void cli_syslog_finding(cli_syslog *s, const cs_report_opts *o, const cs_result *r)
{
    if (r->kind != CS_RECORD_FILE || !r->n_reasons || (int)r->level < o->min_level)
        return;
    cs_report_opts ro = *o;
    cs_text t;
    if (s->format == 0) {
        cs_report_cef(&ro, r, &t);
    } else {
        ro.format = s->format == 1 ? CS_FORMAT_JSON : CS_FORMAT_ECS;
        cs_report_result(&ro, r, &t);
    }
    while (t.len && t.data[t.len - 1] == '\n')
        t.data[--t.len] = '\0';
    if (!t.len) {
        cs_text_free(&t);
        return;
    }
    int severity = r->level == CS_LEVEL_ALERT ? 1 : r->level == CS_LEVEL_WARNING ? 4 : 5;
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char head[512];
    int hn = snprintf(head, sizeof head, "<%d>1 %s.%03ldZ %s chainsweep %ld finding - ", 16 * 8 + severity, ts,
                      now.tv_nsec / 1000000, s->hostname, (long)getpid());
    pthread_mutex_lock(&s->mu);
    int bad = 0;
    if (s->tcp) {
        char len[32];
        int ln = snprintf(len, sizeof len, "%zu ", (size_t)hn + t.len);
        bad = send_all(s, len, (size_t)ln) || send_all(s, head, (size_t)hn) || send_all(s, t.data, t.len);
    } else {
        char *msg = malloc((size_t)hn + t.len);
        if (msg) {
            memcpy(msg, head, (size_t)hn);
            memcpy(msg + hn, t.data, t.len);
            bad = send(s->fd, msg, (size_t)hn + t.len, MSG_NOSIGNAL) < 0;
            free(msg);
        } else {
            bad = 1;
        }
    }
    if (bad) {
        s->failed++;
        s->last_errno = errno;
        if (s->tcp) { /* once: the collector may have restarted */
            char err[256];
            close(s->fd);
            s->fd = connect_to(s->host, s->port, 1, err, sizeof err);
        }
    } else {
        s->sent++;
    }
    pthread_mutex_unlock(&s->mu);
    cs_text_free(&t);
}

int cli_syslog_close(cli_syslog *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->failed) {
        fprintf(stderr, "chainsweep: syslog %s:%s: %lu of %lu findings not sent (%s)\n", s->host, s->port, s->failed,
                s->failed + s->sent, strerror(s->last_errno));
        return -1;
    }
    return 0;
}
