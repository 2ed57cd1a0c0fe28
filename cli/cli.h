/* What the CLI's commands share. */
#ifndef CS_CLI_H
#define CS_CLI_H

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

/* "chainsweep: MESSAGE" on stderr; returns EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "chainsweep/chainsweep.h"
#include "chainsweep/report.h"

/* Findings to syslog (cli/syslog.c): spec udp://HOST:PORT, tcp://HOST:PORT,
 * tls://HOST:PORT (6514) or HOST[:PORT] (UDP, 514); format cef, json or
 * ecs; ca: the CA file that vouches for a tls:// server, or NULL (the
 * system's). */
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct cli_syslog {
    int fd, tcp, format;
    int tls;                     /* tls://: TCP with TLS (RFC 5425), the server's certificate checked */
    SSL_CTX *ctx;
    SSL *ssl;
    const char *ca;              /* CA file for tls:// (default: the system's) */
    char host[256], port[16], hostname[256];
    unsigned long sent, failed;
    int last_errno;
    pthread_mutex_t mu;
} cli_syslog;
int cli_syslog_open(cli_syslog *s, const char *spec, const char *format, const char *ca, char *err, size_t n);
/* One finding at or above o->min_level (thread-safe). */
void cli_syslog_finding(cli_syslog *s, const cs_report_opts *o, const cs_result *r);
/* Closes; -1 (and a line on stderr) when some findings could not be sent. */
int cli_syslog_close(cli_syslog *s);

/* chainsweep serve (cli/serve.c): runs until SIGINT or SIGTERM */
typedef struct cli_serve_opts {
    const char *listen;          /* address, default 127.0.0.1 */
    int port;                    /* default 8080 */
    unsigned workers;            /* async scan threads */
    uint64_t max_upload;         /* bytes of one upload's body */
    unsigned max_connections;
    unsigned async_queue;        /* queued async uploads, and their bytes: */
    uint64_t async_bytes;
    size_t result_cache;         /* async results kept */
    unsigned idle_timeout;       /* seconds without a byte */
    unsigned request_timeout;    /* seconds for a whole upload, 0: none */
    const char *tls_cert, *tls_key, *token;
    int thor11;                  /* THOR 11 (log_version v3) findings by default */
    unsigned instance, instances; /* async ids are instance + k * instances */
    int quiet;
    /* every finding also goes to out (JSON Lines, or ECS) and to syslog */
    cs_report_opts report;
    FILE *out;
    cli_syslog *syslog;
} cli_serve_opts;
int cli_serve(cs_engine *e, const cli_serve_opts *o);

/* chainsweep sim add|build|query (cli/sim.c) */
int cli_sim(int argc, char **argv);

#endif
