/* Findings to a syslog server: RFC 5424 messages (facility local0, the
 * finding's level as severity, APP-NAME chainsweep, MSGID finding) over UDP
 * or TCP (octet-counted framing, RFC 6587 3.4.1), or TLS over TCP (RFC
 * 5425, the server's certificate and name checked), the message in CEF, JSON
 * (our JSON Lines record) or ECS. A message that cannot be sent is counted
 * and reported at the end (the run then exits 2), never dropped silently. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "chainsweep/report.h"
#include "cli.h"
#include "util/lazylib.h"

/* libssl, loaded for the first TLS connection (util/lazylib.h) */
#define SSL_FUNCS(X)                                                                                            \
    X(TLS_client_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_load_verify_locations)                       \
    X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_set_verify) X(SSL_CTX_ctrl) X(SSL_new) X(SSL_free)           \
    X(SSL_set_fd) X(SSL_set1_host) X(SSL_ctrl) X(SSL_connect) X(SSL_write) X(SSL_shutdown)
CS_LAZY_API(ls, CS_SONAME_SSL, SSL_FUNCS)

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

/* The TLS session on s->fd, the server's certificate checked against the
 * CA and the host name. */
static int tls_start(cli_syslog *s, char *err, size_t n)
{
    if (!s->ctx) {
        s->ctx = ls.SSL_CTX_new(ls.TLS_client_method());
        if (!s->ctx || (s->ca ? ls.SSL_CTX_load_verify_locations(s->ctx, s->ca, NULL)
                              : ls.SSL_CTX_set_default_verify_paths(s->ctx)) != 1) {
            unsigned long e = ERR_get_error();
            snprintf(err, n, "syslog tls: cannot load %s: %s", s->ca ? s->ca : "the system's CA certificates",
                     e ? ERR_reason_error_string(e) : "no certificates");
            return -1;
        }
        ls.SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
        ls.SSL_CTX_ctrl(s->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL); /* ..._set_min_proto_version */
    }
    s->ssl = ls.SSL_new(s->ctx);
    if (!s->ssl || ls.SSL_set_fd(s->ssl, s->fd) != 1 || ls.SSL_set1_host(s->ssl, s->host) != 1 ||
        ls.SSL_ctrl(s->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, s->host) != 1 || /* SNI */
        ls.SSL_connect(s->ssl) != 1) {
        unsigned long e = ERR_get_error();
        snprintf(err, n, "syslog tls %s:%s: %s", s->host, s->port, e ? ERR_reason_error_string(e) : "handshake failed");
        ls.SSL_free(s->ssl);
        s->ssl = NULL;
        return -1;
    }
    return 0;
}

static int reconnect(cli_syslog *s, char *err, size_t n)
{
    if (s->ssl) {
        ls.SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    const char *why;
    if (s->tls && !ls_load(&why)) { /* said before any connection is tried */
        snprintf(err, n, "syslog tls: %s", why);
        return -1;
    }
    s->fd = connect_to(s->host, s->port, s->tcp, err, n);
    if (s->fd >= 0 && s->tls && tls_start(s, err, n) != 0) {
        close(s->fd);
        s->fd = -1;
    }
    return s->fd >= 0 ? 0 : -1;
}

int cli_syslog_open(cli_syslog *s, const char *spec, const char *format, const char *ca, char *err, size_t n)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->fd = -1;
    s->ca = ca;
    const char *p = spec;
    if (strncmp(p, "udp://", 6) == 0)
        p += 6;
    else if (strncmp(p, "tcp://", 6) == 0)
        p += 6, s->tcp = 1;
    else if (strncmp(p, "tls://", 6) == 0)
        p += 6, s->tcp = s->tls = 1;
    else if (strstr(p, "://")) {
        snprintf(err, n, "--syslog: udp://, tcp:// or tls://HOST:PORT, not '%s'", spec);
        return -1;
    }
    const char *colon = strrchr(p, ':');
    snprintf(s->host, sizeof s->host, "%.*s", (int)(colon ? (size_t)(colon - p) : strlen(p)), p);
    snprintf(s->port, sizeof s->port, "%s", colon ? colon + 1 : s->tls ? "6514" : "514");
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
    if (reconnect(s, err, n) != 0) {
        if (s->ctx) /* nothing else is held: reconnect closed the socket */
            ls.SSL_CTX_free(s->ctx);
        s->ctx = NULL;
        return -1;
    }
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
        ssize_t k = s->ssl ? ls.SSL_write(s->ssl, p, n > 1u << 30 ? 1 << 30 : (int)n) : send(s->fd, p, n, MSG_NOSIGNAL);
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
            reconnect(s, err, sizeof err);
        }
    } else {
        s->sent++;
    }
    pthread_mutex_unlock(&s->mu);
    cs_text_free(&t);
}

/* An orderly end of a TCP stream: our side closed, then what the collector
 * still sends (TLS session tickets, its close_notify) read until its EOF, 5 s
 * at most. Closing with unread bytes queued would send a reset, and the
 * collector's kernel would drop the findings it had not read yet. */
static void drain_and_close(int fd)
{
    shutdown(fd, SHUT_WR);
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += 5;
    char buf[4096];
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (ms <= 0 || poll(&p, 1, (int)ms) <= 0)
            break;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k == 0 || (k < 0 && errno != EINTR))
            break;
    }
    close(fd);
}

int cli_syslog_close(cli_syslog *s)
{
    if (s->ssl) {
        ls.SSL_shutdown(s->ssl); /* sends our close_notify */
        ls.SSL_free(s->ssl);
    }
    if (s->ctx) /* libssl is loaded only for TLS */
        ls.SSL_CTX_free(s->ctx);
    if (s->fd >= 0) {
        if (s->tcp)
            drain_and_close(s->fd);
        else
            close(s->fd);
    }
    if (s->failed) {
        fprintf(stderr, "chainsweep: syslog %s:%s: %lu of %lu findings not sent (%s)\n", s->host, s->port, s->failed,
                s->failed + s->sent, strerror(s->last_errno));
        return -1;
    }
    return 0;
}
