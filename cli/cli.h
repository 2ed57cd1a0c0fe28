/* What the CLI's commands share. */
#ifndef CS_CLI_H
#define CS_CLI_H

enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_ERROR = 2 };

/* "chainsweep: MESSAGE" on stderr; returns EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* chainsweep serve (cli/serve.c): runs until SIGINT or SIGTERM */
#include <stdint.h>
#include "chainsweep/chainsweep.h"
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
} cli_serve_opts;
int cli_serve(cs_engine *e, const cli_serve_opts *o);

/* chainsweep sim add|build|query (cli/sim.c) */
int cli_sim(int argc, char **argv);

#endif
