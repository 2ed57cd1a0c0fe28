/* chainsweep command line. Exit codes: 0 clean, 1 warning or alert found,
 * 2 error (bad arguments, missing target or pack, no usable rules). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "chainsweep/authenticode.h"
#include "chainsweep/codesign.h"
#include "chainsweep/chainsweep.h"
#include "chainsweep/report.h"

#ifndef CS_INSTALLED_PACK_DIR
#define CS_INSTALLED_PACK_DIR "share/chainsweep/packs"
#endif
#ifndef CS_DEFAULT_PACK_DIR
#define CS_DEFAULT_PACK_DIR "/usr/share/chainsweep/packs"
#endif

#include "cli.h"

typedef struct cli {
    cs_report_opts report;
    cs_inventory *inv;         /* chainsweep inventory: rows collected here */
    FILE *out;
    int write_errno;           /* first failed write of the results */
    int write_failed;          /* and it has been reported */
    int quiet, verbose, progress;
    cli_syslog *syslog;        /* findings also to syslog, or NULL */
    double last_progress, start;
    unsigned long long files, bytes;
} cli;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: chainsweep scan [options] PATH...\n"
            "       chainsweep inventory [options] [--json | --cyclonedx] PATH...\n"
            "       chainsweep verify [--trust PEM]... [--trust-partial|--uefi] [--crl CRL]... [--json] FILE...\n"
            "       chainsweep serve [options] [--listen ADDR] [--port N]   (a Thunderstorm-compatible service)\n"
            "       chainsweep sim add|build|query ...   (similarity references: chainsweep sim help)\n"
            "       chainsweep version\n"
            "\n"
            "Rules and IOCs:\n"
            "  --pack DIR             load a detection pack too (repeatable): it adds to the bundled packs\n"
            "  --no-default-packs     do not load the bundled packs ($CHAINSWEEP_PACKS, or the install's)\n"
            "  --signature-base DIR   load a Neo23x0/signature-base checkout (iocs/, yara/, misc/)\n"
            "  --trust PEM            Authenticode trust anchors, file or dir (repeatable); without them\n"
            "                         chains are not checked, tampering is found either way\n"
            "  --crl FILE             CRL for the Authenticode chain check (repeatable)\n"
            "  --detectors LIST       run only these (comma-separated: filename,hash,yara,c2,authenticode\n"
            "                         (signer: the same), codesign, advisory, integrity)\n"
            "Service (chainsweep serve; docs/service.md):\n"
            "  --listen ADDR          address to listen on (default 127.0.0.1: loopback only)\n"
            "  --port N               TCP port (default 8080)\n"
            "  --max-upload SIZE      largest upload body (default 100M); larger ones are answered, not scanned\n"
            "  --max-connections N    concurrent connections (default 64); more wait in the listen queue\n"
            "  --async-queue N        queued async uploads (default 1000) and --async-bytes SIZE (default 1G):\n"
            "                         when full, new uploads wait for room\n"
            "  --result-cache N       async results kept (default 10000)\n"
            "  --idle-timeout SEC     close a connection idle this long (default 60)\n"
            "  --request-timeout SEC  longest time to upload one request (default 600, 0: none)\n"
            "  --tls-cert PEM --tls-key PEM   HTTPS\n"
            "  --token T              require 'Authorization: Bearer T' (the stock collectors cannot send it)\n"
            "  --thor11               THOR 11 (log_version v3) findings; ?log_version=v3 per request\n"
            "  --instance K/N         this is instance K of N behind a balancer: async ids are K mod N\n"
            "Outputs (scan and serve):\n"
            "  --log-format FMT       text, json, csv or ecs (Elastic Common Schema, one document per finding)\n"
            "  --syslog DEST          every finding also to syslog (RFC 5424): udp://HOST:PORT, tcp://HOST:PORT,\n"
            "                         tls://HOST:PORT (RFC 5425; the certificate and name are checked)\n"
            "  --syslog-format FMT    cef (default), json or ecs\n"
            "  --syslog-ca PEM        CA certificates for tls:// (default: the system's)\n"
            "Walking:\n"
            "  -p, --threads N        worker threads (default: number of CPUs)\n"
            "  --exclude PATTERN      glob on path or name, or re:REGEX (repeatable)\n"
            "  --exclude-file FILE    one exclude per line\n"
            "  --max-depth N          directory levels below each root (default: unlimited)\n"
            "  --max-size SIZE        YARA scans at most SIZE of one file or member (default 256M; K, M, G\n"
            "                         suffixes); larger ones get a note, every other layer still runs\n"
            "Installers and archives (MSI, ZIP, 7z, RAR, CAB, ISO, XAR/.pkg, tar.*, cpio, ar/.deb, RPM,\n"
            "gz/bz2/xz/zstd/lz4, a PE's appended archive) are scanned inside:\n"
            "  --no-archives          only the outer files\n"
            "  --max-unpack-depth N   containers inside containers (default 8)\n"
            "  --max-members N        members read per container (default 100000)\n"
            "  --max-member-size SIZE bytes of one member (default 1G)\n"
            "  --max-unpack-total SIZE bytes unpacked from one outer file (default 4G)\n"
            "  --max-ratio N          unpacked/packed bytes of one container (default 250)\n"
            "  --max-unpack-time SEC  unpacking time per outer file (default 300, 0: none)\n"
            "  --tmpdir DIR           where members over 64M are held, unlinked (default $TMPDIR or /tmp)\n"
            "  --follow-symlinks      follow symbolic links (loops are detected)\n"
            "  --cross-fs             descend into other file systems\n"
            "  --yara-timeout SEC     YARA time limit per file (default 60, 0: none)\n"
            "  --no-yara-partition    one YARA rule set for all files (default: one per file class)\n"
            "  --cache-dir DIR        where compiled YARA sets are kept (default $XDG_CACHE_HOME/chainsweep\n"
            "                         or ~/.cache/chainsweep)\n"
            "  --no-cache             compile YARA rules every time\n"
            "  --cpu-limit PCT        each worker uses at most PCT%% of a CPU (1-100)\n"
            "  --nice                 lowest CPU and I/O priority (nice 19, idle I/O class)\n"
            "Incremental sweeps:\n"
            "  --incremental          skip files unchanged since the last sweep with the same rules\n"
            "                         (state in the cache directory: state.sqlite)\n"
            "  --state FILE           the state store to use (implies --incremental)\n"
            "Scoring:\n"
            "  --notice-level N --warning-level N --alert-level N   (40, 60, 80)\n"
            "  --alert-subscore N     an alert needs one sub-score >= N (75)\n"
            "  --min-level LEVEL      report notice|warning|alert and above (notice)\n"
            "Output:\n"
            "  --json                 JSON Lines (docs/output.md)\n"
            "  --csv                  CSV, RFC 4180\n"
            "  -o, --output FILE      write results to FILE\n"
            "  --log-skipped          also report skipped files\n"
            "  --print-all            report every file and member, clean ones too (Loki's --printall)\n"
            "  --scan-own-files       also enter the loaded packs and the cache directory (skipped by\n"
            "                         default: their rules match themselves; counted as own_files)\n"
            "  --no-color             no ANSI colours\n"
            "  -q, --quiet            no progress line, no summary on stderr\n"
            "  -v, --verbose          list every skipped IOC line and rule-file problem\n"
            "\n"
            "Exit status: 0 clean, 1 warning or alert found, 2 error.\n"
            "\n"
            "inventory: the products found (PE version information, macOS bundles' Info.plist): product,\n"
            "  version, company, signature and signer, advisories, SHA-256, path. Takes the scan options;\n"
            "  runs the advisory and authenticode detectors unless --detectors says otherwise.\n"
            "  (default)                a table\n"
            "  --json                   one JSON document (docs/advisories.md)\n"
            "  --cyclonedx              a CycloneDX 1.5 JSON SBOM\n"
            "  Exit status: 0 listed, 1 a product matches a warning or alert advisory, 2 error.\n"
            "\n"
            "verify: full Authenticode verification of PE files, Mach-O code signatures (every slice),\n"
            "  one report per file.\n"
            "  --trust PEM-FILE-OR-DIR  trust anchors (repeatable); without them the chain is not checked\n"
            "  --trust-partial          an anchor need not be self-signed (an intermediate, a UEFI db cert)\n"
            "  --uefi                   as firmware: partial-chain anchors, validity periods and timestamps\n"
            "                           play no part\n"
            "  --crl FILE               CRL, PEM or DER (repeatable)\n"
            "  --time EPOCH             check validity at this time when there is no timestamp\n"
            "  --json                   JSON Lines\n"
            "  Exit status: 0 valid (or intact, chain not checked; Mach-O: intact or ad-hoc), 1 invalid,\n"
            "  tampered or unsigned, 2 error.\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Interrupts: the first SIGINT/SIGTERM asks the scan to stop (the results
 * so far and the summary are written, exit 130/143); a second one exits at
 * once. Records are written with both signals blocked and flushed one by one,
 * so even then the output holds only complete records. */
static cs_engine *volatile interrupt_engine;
static volatile sig_atomic_t interrupt_signal;

static void on_interrupt(int sig)
{
    if (interrupt_signal)
        _exit(128 + sig);
    interrupt_signal = sig;
    if (interrupt_engine)
        cs_scan_stop(interrupt_engine);
}

static void catch_interrupts(cs_engine *e)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    interrupt_engine = e;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void write_text(cli *c, cs_text *t)
{
    if (!t->len) { /* a quiet sweep's clean file: nothing to write */
        cs_text_free(t);
        return;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (fwrite(t->data, 1, t->len, c->out) != t->len && !c->write_errno)
        c->write_errno = errno ? errno : EIO;
    if (fflush(c->out) != 0 && !c->write_errno)
        c->write_errno = errno ? errno : EIO;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    cs_text_free(t);
}

/* Push out every result written so far. A result that could not be written
 * makes the sweep an error (exit 2): its summary would describe output that
 * is not there. */
static int flush_out(cli *c, const char *output, cs_error *err)
{
    if (fflush(c->out) != 0 && !c->write_errno)
        c->write_errno = errno ? errno : EIO;
    if (!c->write_errno && ferror(c->out))
        c->write_errno = EIO;
    if (!c->write_errno)
        return 0;
    snprintf(err->message, sizeof err->message, "writing the results to %s: %s", output ? output : "stdout",
             strerror(c->write_errno));
    c->write_failed = 1;
    return -1;
}

static void clear_progress(cli *c)
{
    if (c->progress)
        fputs("\r\033[K", stderr);
}

static int on_result(const cs_result *r, void *ud)
{
    cli *c = ud;
    if (r->kind == CS_RECORD_FILE) {
        c->files++;
        c->bytes += r->size;
    }
    if (c->inv) {
        cs_inventory_add(c->inv, r);
        if (!r->product && r->error && !c->quiet) { /* the inventory has no row for it */
            cs_report_opts text = c->report;
            text.format = CS_FORMAT_TEXT;
            text.color = 0;
            cs_text t;
            cs_report_result(&text, r, &t);
            clear_progress(c);
            fwrite(t.data, 1, t.len, stderr);
            cs_text_free(&t);
        }
    } else {
        if (c->syslog)
            cli_syslog_finding(c->syslog, &c->report, r);
        cs_text t;
        cs_report_result(&c->report, r, &t);
        if (t.len) {
            clear_progress(c);
            c->last_progress = 0;
        }
        write_text(c, &t);
    }
    if (c->progress) {
        double n = now();
        if (n - c->last_progress > 0.25) {
            double el = n - c->start;
            char shown[61];
            size_t len = strlen(r->path), from = len > 60 ? len - 60 : 0, k = 0;
            for (; r->path[from + k] && k < 60; k++) { /* tail of the path, no control bytes */
                unsigned char ch = (unsigned char)r->path[from + k];
                shown[k] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
            }
            shown[k] = '\0';
            fprintf(stderr, "\r\033[K%llu files, %.0f files/s, %.1f MB/s  %s", c->files,
                    el > 0 ? c->files / el : 0.0, el > 0 ? c->bytes / 1e6 / el : 0.0, shown);
            c->last_progress = n;
        }
    }
    return 0;
}

/* Problems found while loading packs: all of them with -v, else the first
 * few, so a broken IOC line is never silently ignored. */
/* Pack problems from the first not yet shown (a rescan compiles its rules
 * only when a file has changed: its problems come during the scan). */
static size_t print_diags(const cs_engine *e, int verbose, size_t first)
{
    const size_t shown_max = 20;
    size_t n = cs_engine_diag_count(e), shown = 0;
    for (size_t i = first; i < n; i++) {
        const cs_diag *d = cs_engine_diag(e, i);
        if (!verbose && !d->is_error && shown >= shown_max)
            continue;
        shown++;
        if (d->file && d->line)
            fprintf(stderr, "chainsweep: %s:%u: %s\n", d->file, d->line, d->message);
        else if (d->file)
            fprintf(stderr, "chainsweep: %s: %s\n", d->file, d->message);
        else
            fprintf(stderr, "chainsweep: %s\n", d->message);
    }
    if (shown < n - first)
        fprintf(stderr, "chainsweep: %zu more pack problems (-v lists them all)\n", n - first - shown);
    return n;
}

enum {
    OPT_PACK = 256, OPT_SIGBASE, OPT_EXCLUDE, OPT_EXCLUDE_FILE, OPT_MAX_DEPTH, OPT_MAX_SIZE,
    OPT_FOLLOW, OPT_CROSS_FS, OPT_YARA_TIMEOUT, OPT_NOTICE, OPT_WARNING, OPT_ALERT,
    OPT_ALERT_SUB, OPT_MIN_LEVEL, OPT_JSON, OPT_CSV, OPT_LOG_SKIPPED, OPT_NO_COLOR, OPT_SCAN_TRUST,
    OPT_SCAN_CRL, OPT_INCREMENTAL, OPT_STATE, OPT_DETECTORS, OPT_CPU_LIMIT, OPT_NICE, OPT_NO_PARTITION,
    OPT_CACHE_DIR, OPT_NO_CACHE, OPT_CYCLONEDX, OPT_NO_ARCHIVES, OPT_UNPACK_DEPTH, OPT_MAX_MEMBERS,
    OPT_MAX_MEMBER_SIZE, OPT_MAX_UNPACK_TOTAL, OPT_MAX_RATIO, OPT_MAX_UNPACK_TIME, OPT_TMPDIR, OPT_PRINT_ALL,
    OPT_SCAN_OWN, OPT_NO_DEFAULT_PACKS,
    /* serve */
    OPT_LISTEN, OPT_PORT, OPT_MAX_UPLOAD, OPT_MAX_CONNECTIONS, OPT_ASYNC_QUEUE, OPT_ASYNC_BYTES, OPT_RESULT_CACHE,
    OPT_IDLE_TIMEOUT, OPT_REQUEST_TIMEOUT, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TOKEN, OPT_THOR11, OPT_INSTANCE,
    OPT_LOG_FORMAT, OPT_SYSLOG, OPT_SYSLOG_FORMAT, OPT_SYSLOG_CA,
};

static const struct option long_opts[] = {
    {"pack", required_argument, 0, OPT_PACK},
    {"signature-base", required_argument, 0, OPT_SIGBASE},
    {"trust", required_argument, 0, OPT_SCAN_TRUST},
    {"incremental", no_argument, 0, OPT_INCREMENTAL},
    {"detectors", required_argument, 0, OPT_DETECTORS},
    {"cpu-limit", required_argument, 0, OPT_CPU_LIMIT},
    {"nice", no_argument, 0, OPT_NICE},
    {"no-yara-partition", no_argument, 0, OPT_NO_PARTITION},
    {"cache-dir", required_argument, 0, OPT_CACHE_DIR},
    {"no-cache", no_argument, 0, OPT_NO_CACHE},
    {"state", required_argument, 0, OPT_STATE},
    {"crl", required_argument, 0, OPT_SCAN_CRL},
    {"threads", required_argument, 0, 'p'},
    {"exclude", required_argument, 0, OPT_EXCLUDE},
    {"exclude-file", required_argument, 0, OPT_EXCLUDE_FILE},
    {"max-depth", required_argument, 0, OPT_MAX_DEPTH},
    {"max-size", required_argument, 0, OPT_MAX_SIZE},
    {"no-archives", no_argument, 0, OPT_NO_ARCHIVES},
    {"max-unpack-depth", required_argument, 0, OPT_UNPACK_DEPTH},
    {"max-members", required_argument, 0, OPT_MAX_MEMBERS},
    {"max-member-size", required_argument, 0, OPT_MAX_MEMBER_SIZE},
    {"max-unpack-total", required_argument, 0, OPT_MAX_UNPACK_TOTAL},
    {"max-ratio", required_argument, 0, OPT_MAX_RATIO},
    {"max-unpack-time", required_argument, 0, OPT_MAX_UNPACK_TIME},
    {"tmpdir", required_argument, 0, OPT_TMPDIR},
    {"follow-symlinks", no_argument, 0, OPT_FOLLOW},
    {"cross-fs", no_argument, 0, OPT_CROSS_FS},
    {"yara-timeout", required_argument, 0, OPT_YARA_TIMEOUT},
    {"notice-level", required_argument, 0, OPT_NOTICE},
    {"warning-level", required_argument, 0, OPT_WARNING},
    {"alert-level", required_argument, 0, OPT_ALERT},
    {"alert-subscore", required_argument, 0, OPT_ALERT_SUB},
    {"min-level", required_argument, 0, OPT_MIN_LEVEL},
    {"json", no_argument, 0, OPT_JSON},
    {"csv", no_argument, 0, OPT_CSV},
    {"cyclonedx", no_argument, 0, OPT_CYCLONEDX},
    {"output", required_argument, 0, 'o'},
    {"log-skipped", no_argument, 0, OPT_LOG_SKIPPED},
    {"print-all", no_argument, 0, OPT_PRINT_ALL},
    {"scan-own-files", no_argument, 0, OPT_SCAN_OWN},
    {"no-default-packs", no_argument, 0, OPT_NO_DEFAULT_PACKS},
    {"printall", no_argument, 0, OPT_PRINT_ALL}, /* Loki's spelling */
    {"listen", required_argument, 0, OPT_LISTEN},
    {"port", required_argument, 0, OPT_PORT},
    {"max-upload", required_argument, 0, OPT_MAX_UPLOAD},
    {"max-connections", required_argument, 0, OPT_MAX_CONNECTIONS},
    {"async-queue", required_argument, 0, OPT_ASYNC_QUEUE},
    {"async-bytes", required_argument, 0, OPT_ASYNC_BYTES},
    {"result-cache", required_argument, 0, OPT_RESULT_CACHE},
    {"idle-timeout", required_argument, 0, OPT_IDLE_TIMEOUT},
    {"request-timeout", required_argument, 0, OPT_REQUEST_TIMEOUT},
    {"tls-cert", required_argument, 0, OPT_TLS_CERT},
    {"tls-key", required_argument, 0, OPT_TLS_KEY},
    {"token", required_argument, 0, OPT_TOKEN},
    {"thor11", no_argument, 0, OPT_THOR11},
    {"instance", required_argument, 0, OPT_INSTANCE},
    {"log-format", required_argument, 0, OPT_LOG_FORMAT},
    {"syslog", required_argument, 0, OPT_SYSLOG},
    {"syslog-format", required_argument, 0, OPT_SYSLOG_FORMAT},
    {"syslog-ca", required_argument, 0, OPT_SYSLOG_CA},
    {"no-color", no_argument, 0, OPT_NO_COLOR},
    {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef struct pack_arg {
    const char *dir;
    int is_sigbase;
} pack_arg;

/* The bundled packs: beside an installed binary (PREFIX/bin/chainsweep ->
 * PREFIX/share/chainsweep/packs, wherever the package was unpacked), else
 * the source tree's (a build). */
static const char *bundled_pack_dir(char *buf, size_t n)
{
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                snprintf(buf, n, "%s/%s", exe, CS_INSTALLED_PACK_DIR);
                if (access(buf, R_OK) == 0)
                    return buf;
            }
        }
    }
    return CS_DEFAULT_PACK_DIR;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("chainsweep: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_ERROR;
}

enum { MODE_SCAN, MODE_INVENTORY, MODE_SERVE };

/* scan; the inventory (the same walk, packs and options; results collected
 * into a product list instead of printed); or the service (the same packs
 * and options, files from uploads). */
static int cmd_scan(int argc, char **argv, int mode)
{
    int inventory = mode == MODE_INVENTORY;
    cli_serve_opts so = {.listen = "127.0.0.1", .port = 8080, .max_upload = 100ull << 20, .max_connections = 64,
                         .async_queue = 1000, .async_bytes = 1ull << 30, .result_cache = 10000,
                         .idle_timeout = 60, .request_timeout = 600, .instances = 1};
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    so.workers = nproc > 0 ? (unsigned)nproc : 2;
    cs_config cfg;
    cs_config_init(&cfg);
    cfg.products = inventory;
    cli c = {0};
    int cyclonedx = 0;
    c.report.min_level = CS_LEVEL_NOTICE;
    int no_color = getenv("NO_COLOR") != NULL;
    const char *output = NULL, *state = NULL, *detectors = NULL, *cache_dir = NULL;
    int no_cache = 0, no_default_packs = 0;
    const char *syslog_spec = NULL, *syslog_format = "cef", *syslog_ca = NULL;
    cli_syslog syslog;
    int incremental = 0;
    pack_arg packs[64];
    size_t n_packs = 0;
    const char *excludes[256], *exclude_files[16], *trusts[16], *crls[16];
    size_t n_ex = 0, n_exf = 0, n_trust = 0, n_crl = 0;
    int opt, v;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:o:qvh", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_PACK:
        case OPT_SIGBASE:
            if (n_packs == 64)
                return cli_fail("%s", "too many packs");
            packs[n_packs++] = (pack_arg){optarg, opt == OPT_SIGBASE};
            break;
        case 'p':
            if (parse_int(optarg, 1, 1024, &v) != 0)
                return cli_fail("--threads: expected 1..1024, got '%s'", optarg);
            cfg.threads = (unsigned)v;
            break;
        case OPT_EXCLUDE:
            if (n_ex == 256)
                return cli_fail("%s", "too many --exclude");
            excludes[n_ex++] = optarg;
            break;
        case OPT_SCAN_TRUST:
        case OPT_SCAN_CRL:
            if ((opt == OPT_SCAN_TRUST ? n_trust : n_crl) == 16)
                return cli_fail("%s", "at most 16 --trust and 16 --crl");
            if (opt == OPT_SCAN_TRUST)
                trusts[n_trust++] = optarg;
            else
                crls[n_crl++] = optarg;
            break;
        case OPT_EXCLUDE_FILE:
            if (n_exf == 16)
                return cli_fail("%s", "too many --exclude-file");
            exclude_files[n_exf++] = optarg;
            break;
        case OPT_MAX_DEPTH:
            if (parse_int(optarg, 0, 100000, &cfg.max_depth) != 0)
                return cli_fail("--max-depth: expected a number >= 0, got '%s'", optarg);
            break;
        case OPT_MAX_SIZE:
            if (parse_size(optarg, &cfg.max_size) != 0)
                return cli_fail("--max-size: expected a size such as 256M, got '%s'", optarg);
            break;
        case OPT_NO_ARCHIVES: cfg.no_archives = 1; break;
        case OPT_UNPACK_DEPTH:
        case OPT_MAX_RATIO:
        case OPT_MAX_UNPACK_TIME:
            if (parse_int(optarg, 0, 1000000, &v) != 0)
                return cli_fail("%s: expected a number >= 0, got '%s'", argv[optind - 1], optarg);
            *(opt == OPT_UNPACK_DEPTH ? &cfg.max_unpack_depth
              : opt == OPT_MAX_RATIO  ? &cfg.max_ratio
                                      : &cfg.max_unpack_time) = (unsigned)v;
            break;
        case OPT_MAX_MEMBERS:
            if (parse_int(optarg, 0, 1000000000, &v) != 0)
                return cli_fail("--max-members: expected a number >= 0, got '%s'", optarg);
            cfg.max_members = (uint64_t)v;
            break;
        case OPT_MAX_MEMBER_SIZE:
        case OPT_MAX_UNPACK_TOTAL:
            if (parse_size(optarg, opt == OPT_MAX_MEMBER_SIZE ? &cfg.max_member_size : &cfg.max_unpack_total) != 0)
                return cli_fail("%s: expected a size such as 512M, got '%s'", argv[optind - 1], optarg);
            break;
        case OPT_TMPDIR: cfg.tmpdir = optarg; break;
        case OPT_INCREMENTAL: incremental = 1; break;
        case OPT_DETECTORS: detectors = optarg; break;
        case OPT_CPU_LIMIT:
            if (parse_int(optarg, 1, 100, &cfg.cpu_limit) != 0)
                return cli_fail("--cpu-limit: expected a percentage 1..100, got '%s'", optarg);
            break;
        case OPT_NICE: cfg.low_priority = 1; break;
        case OPT_NO_PARTITION: cfg.no_yara_partition = 1; break;
        case OPT_CACHE_DIR: cache_dir = optarg; break;
        case OPT_NO_CACHE: no_cache = 1; break;
        case OPT_STATE: state = optarg; incremental = 1; break;
        case OPT_FOLLOW: cfg.follow_symlinks = 1; break;
        case OPT_CROSS_FS: cfg.cross_fs = 1; break;
        case OPT_YARA_TIMEOUT:
            if (parse_int(optarg, 0, 86400, &cfg.yara_timeout) != 0)
                return cli_fail("--yara-timeout: expected seconds, got '%s'", optarg);
            break;
        case OPT_NOTICE:
        case OPT_WARNING:
        case OPT_ALERT:
        case OPT_ALERT_SUB:
            if (parse_int(optarg, 0, 1000, &v) != 0)
                return cli_fail("score levels are integers 0..1000, got '%s'", optarg);
            *(opt == OPT_NOTICE    ? &cfg.notice_level
              : opt == OPT_WARNING ? &cfg.warning_level
              : opt == OPT_ALERT   ? &cfg.alert_level
                                   : &cfg.alert_subscore) = v;
            break;
        case OPT_MIN_LEVEL:
            if (strcmp(optarg, "notice") == 0)
                c.report.min_level = CS_LEVEL_NOTICE;
            else if (strcmp(optarg, "warning") == 0)
                c.report.min_level = CS_LEVEL_WARNING;
            else if (strcmp(optarg, "alert") == 0)
                c.report.min_level = CS_LEVEL_ALERT;
            else
                return cli_fail("--min-level: expected notice, warning or alert, got '%s'", optarg);
            break;
        case OPT_JSON: c.report.format = CS_FORMAT_JSON; break;
        case OPT_LOG_FORMAT:
            if (!strcmp(optarg, "text"))
                c.report.format = CS_FORMAT_TEXT;
            else if (!strcmp(optarg, "json"))
                c.report.format = CS_FORMAT_JSON;
            else if (!strcmp(optarg, "csv"))
                c.report.format = CS_FORMAT_CSV;
            else if (!strcmp(optarg, "ecs"))
                c.report.format = CS_FORMAT_ECS;
            else
                return cli_fail("--log-format: text, json, csv or ecs, not '%s'", optarg);
            break;
        case OPT_SYSLOG: syslog_spec = optarg; break;
        case OPT_SYSLOG_FORMAT: syslog_format = optarg; break;
        case OPT_SYSLOG_CA: syslog_ca = optarg; break;
        case OPT_CSV: c.report.format = CS_FORMAT_CSV; break;
        case OPT_CYCLONEDX: cyclonedx = 1; break;
        case 'o': output = optarg; break;
        case OPT_LOG_SKIPPED: c.report.with_skipped = 1; break;
        case OPT_PRINT_ALL: c.report.with_clean = 1; break;
        case OPT_SCAN_OWN: cfg.scan_own_files = 1; break;
        case OPT_NO_DEFAULT_PACKS: no_default_packs = 1; break;
        case OPT_LISTEN: so.listen = optarg; goto serve_only;
        case OPT_TLS_CERT: so.tls_cert = optarg; goto serve_only;
        case OPT_TLS_KEY: so.tls_key = optarg; goto serve_only;
        case OPT_TOKEN: so.token = optarg; goto serve_only;
        case OPT_THOR11: so.thor11 = 1; goto serve_only;
        case OPT_MAX_UPLOAD:
        case OPT_ASYNC_BYTES:
            if (parse_size(optarg, opt == OPT_MAX_UPLOAD ? &so.max_upload : &so.async_bytes) != 0 ||
                (opt == OPT_MAX_UPLOAD ? so.max_upload : so.async_bytes) == 0)
                return cli_fail("%s: expected a size such as 100M, got '%s'", argv[optind - 1], optarg);
            goto serve_only;
        case OPT_PORT:
        case OPT_MAX_CONNECTIONS:
        case OPT_ASYNC_QUEUE:
        case OPT_RESULT_CACHE:
        case OPT_IDLE_TIMEOUT:
        case OPT_REQUEST_TIMEOUT:
            if (parse_int(optarg, opt == OPT_REQUEST_TIMEOUT ? 0 : 1, opt == OPT_PORT ? 65535 : 10000000, &v) != 0)
                return cli_fail("%s: expected a number, got '%s'", argv[optind - 1], optarg);
            if (opt == OPT_PORT)
                so.port = v;
            else if (opt == OPT_MAX_CONNECTIONS)
                so.max_connections = (unsigned)v;
            else if (opt == OPT_ASYNC_QUEUE)
                so.async_queue = (unsigned)v;
            else if (opt == OPT_RESULT_CACHE)
                so.result_cache = (size_t)v;
            else if (opt == OPT_IDLE_TIMEOUT)
                so.idle_timeout = (unsigned)v;
            else
                so.request_timeout = (unsigned)v;
            goto serve_only;
        case OPT_INSTANCE: {
            unsigned k, n;
            if (sscanf(optarg, "%u/%u", &k, &n) != 2 || n == 0 || n > 1024 || k >= n)
                return cli_fail("--instance: K/N with 0 <= K < N (this instance of N), got '%s'", optarg);
            so.instance = k;
            so.instances = n;
            goto serve_only;
        }
        serve_only:
            if (mode != MODE_SERVE)
                return cli_fail("%s: only for chainsweep serve", argv[optind - 1]);
            break;
        case OPT_NO_COLOR: no_color = 1; break;
        case 'q': c.quiet = 1; break;
        case 'v': c.verbose = 1; break;
        case 'h': usage(stdout); return EXIT_CLEAN;
        default: usage(stderr); return EXIT_ERROR;
        }
    }
    if (mode == MODE_SERVE) {
        if (optind < argc)
            return cli_fail("serve: no PATH (files come from uploads), got '%s'", argv[optind]);
        if (cfg.threads)
            so.workers = cfg.threads;
        so.quiet = c.quiet;
    } else if (optind >= argc) {
        usage(stderr);
        return cli_fail("%s: no PATH given", inventory ? "inventory" : "scan");
    }
    if (cyclonedx && !inventory)
        return cli_fail("%s", "--cyclonedx: only for chainsweep inventory");
    if (inventory && c.report.format == CS_FORMAT_CSV)
        return cli_fail("%s", "inventory: --csv is not supported (--json or --cyclonedx)");
    if (inventory && !detectors)
        detectors = "advisory,authenticode";

    cs_error err = {0};
    cs_engine *e = NULL;
    if (cs_engine_new(&e, &cfg, &err) != CS_OK)
        return cli_fail("%s", err.message);
    int rc = EXIT_ERROR;
    for (size_t i = 0; i < n_ex; i++)
        if (cs_engine_add_exclude(e, excludes[i], &err) != CS_OK)
            goto out;
    for (size_t i = 0; i < n_exf; i++)
        if (cs_engine_add_exclude_file(e, exclude_files[i], &err) != CS_OK)
            goto out;
    char default_state[4200], default_cache[4096];
    /* $XDG_CACHE_HOME/chainsweep, else ~/.cache/chainsweep, created when missing */
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CACHE_HOME");
    int have_home_cache = 0;
    if ((xdg && *xdg == '/') || (home && *home)) {
        if (xdg && *xdg == '/')
            snprintf(default_cache, sizeof default_cache, "%s", xdg);
        else
            snprintf(default_cache, sizeof default_cache, "%s/.cache", home);
        mkdir(default_cache, 0700);
        size_t len = strlen(default_cache);
        snprintf(default_cache + len, sizeof default_cache - len, "/chainsweep");
        mkdir(default_cache, 0700);
        struct stat sb;
        have_home_cache = stat(default_cache, &sb) == 0 && S_ISDIR(sb.st_mode);
    }
    if (incremental && !state) {
        if (!have_home_cache) {
            snprintf(err.message, sizeof err.message,
                     "--incremental: no usable cache directory ($XDG_CACHE_HOME or ~/.cache); use --state FILE");
            goto out;
        }
        snprintf(default_state, sizeof default_state, "%s/state.sqlite", default_cache);
        state = default_state;
    }
    if (!no_cache && (cache_dir || have_home_cache) &&
        cs_engine_set_cache_dir(e, cache_dir ? cache_dir : default_cache, &err) != CS_OK)
        goto out;
    if (state && cs_engine_set_state(e, state, &err) != CS_OK)
        goto out;
    if (detectors && cs_engine_only_detectors(e, detectors, &err) != CS_OK)
        goto out;
    for (size_t i = 0; i < n_trust; i++)
        if (cs_engine_add_trust(e, trusts[i], &err) != CS_OK)
            goto out;
    for (size_t i = 0; i < n_crl; i++)
        if (cs_engine_add_crl(e, crls[i], &err) != CS_OK)
            goto out;
    /* the bundled packs, then the user's: their signatures add to the bundled
     * ones, as THOR's and Loki's custom signatures do (a file named twice
     * loads once); CHAINSWEEP_PACKS names another bundled folder, or none */
    const char *bundled = getenv("CHAINSWEEP_PACKS");
    char installed[4200];
    if (!bundled)
        bundled = bundled_pack_dir(installed, sizeof installed);
    if (!no_default_packs && *bundled) {
        if (n_packs == 64)
            return cli_fail("%s", "too many packs");
        memmove(packs + 1, packs, n_packs * sizeof *packs);
        packs[0] = (pack_arg){bundled, 0};
        n_packs++;
    }
    if (n_packs == 0) {
        snprintf(err.message, sizeof err.message, "no packs: --no-default-packs needs --pack or --signature-base");
        goto out;
    }
    for (size_t i = 0; i < n_packs; i++) {
        if (packs[i].is_sigbase) {
            char probe[4096];
            snprintf(probe, sizeof probe, "%s/yara", packs[i].dir);
            if (access(probe, R_OK) != 0) {
                snprintf(probe, sizeof probe, "%s/iocs", packs[i].dir);
                if (access(probe, R_OK) != 0) {
                    snprintf(err.message, sizeof err.message,
                             "--signature-base %s: no yara/ or iocs/ folder", packs[i].dir);
                    goto out;
                }
            }
        }
        if (cs_engine_load_pack(e, packs[i].dir, &err) != CS_OK)
            goto out;
    }
    cs_status pst = cs_engine_prepare(e, &err);
    size_t diags_shown = print_diags(e, c.verbose, 0);
    if (pst != CS_OK)
        goto out;
    char host_name[256] = "";
    gethostname(host_name, sizeof host_name - 1);
    if (syslog_spec) {
        if (cli_syslog_open(&syslog, syslog_spec, syslog_format, syslog_ca, err.message, sizeof err.message) != 0)
            goto out;
        c.syslog = &syslog;
    }
    if (mode == MODE_SERVE) {
        so.report = c.report;
        so.report.hostname = host_name;
        if (so.report.format != CS_FORMAT_ECS)
            so.report.format = CS_FORMAT_JSON;
        so.out = stdout;
        so.syslog = c.syslog;
        rc = cli_serve(e, &so);
        if (c.syslog && cli_syslog_close(c.syslog) != 0)
            rc = EXIT_ERROR;
        cs_engine_free(e);
        return rc;
    }

    c.out = stdout;
    if (output && !(c.out = fopen(output, "w"))) {
        snprintf(err.message, sizeof err.message, "%s: %s", output, strerror(errno));
        goto out;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    c.report.hostname = host;
    c.report.color = !no_color && !output && c.report.format == CS_FORMAT_TEXT && isatty(STDOUT_FILENO);
    c.progress = !c.quiet && isatty(STDERR_FILENO);
    c.start = now();

    cs_load_stats ls;
    cs_engine_load_stats(e, &ls);
    if (!c.quiet) {
        fputs("chainsweep: packs:", stderr);
        for (size_t i = 0; i < n_packs; i++)
            fprintf(stderr, " %s%s%s", packs[i].dir, packs[i].is_sigbase ? " (signature-base)" : "",
                    i == 0 && !no_default_packs && packs[0].dir == bundled ? " (bundled)" : "");
        fputc('\n', stderr);
    }
    if (!c.quiet)
        fprintf(stderr,
                "chainsweep %s: %zu hash IOCs, %zu known-good hashes, %zu filename IOCs, %zu C2 IOCs, "
                "%zu YARA rules from %zu files (%zu files skipped), %zu signers, %zu advisories\n",
                CS_VERSION, ls.hash_iocs, ls.good_hashes, ls.filename_iocs, ls.c2_iocs, ls.yara_rules,
                ls.yara_files, ls.yara_files_skipped, ls.signers, ls.advisories);

    cs_text t;
    if (inventory && !(c.inv = cs_inventory_new())) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto out;
    }
    if (!inventory) {
        cs_report_header(&c.report, &t);
        write_text(&c, &t);
    }
    cs_scan_summary sum;
    catch_interrupts(e);
    cs_status st = cs_scan(e, (const char *const *)argv + optind, (size_t)(argc - optind), on_result, &c, &sum, &err);
    clear_progress(&c);
    print_diags(e, c.verbose, diags_shown);
    cs_engine_load_stats(e, &ls); /* compiled during the scan, or not at all */
    if (st != CS_OK && !(st == CS_ERR_CANCELLED && sum.interrupted))
        goto out;
    clear_progress(&c);
    if (inventory) {
        cs_inventory_render(c.inv, cyclonedx                                ? CS_INVENTORY_CYCLONEDX
                                   : c.report.format == CS_FORMAT_JSON ? CS_INVENTORY_JSON
                                                                        : CS_INVENTORY_TABLE,
                            &c.report, &t);
        write_text(&c, &t);
    } else if (c.report.format == CS_FORMAT_JSON) {
        cs_report_summary(&c.report, &sum, &ls, &t);
        write_text(&c, &t);
    }
    /* stdout is block-buffered on a pipe and stderr is not: with both on one
     * pipe (2>&1 | ...), the summary would land inside a finding */
    if (flush_out(&c, output, &err) != 0)
        goto out;
    if (inventory && !c.quiet)
        fprintf(stderr, "chainsweep: %zu products in %llu files\n", cs_inventory_count(c.inv), c.files);
    if (!c.quiet) {
        cs_report_opts text = c.report;
        text.format = CS_FORMAT_TEXT;
        cs_report_summary(&text, &sum, &ls, &t);
        fwrite(t.data, 1, t.len, stderr);
        cs_text_free(&t);
    }
    rc = sum.by_level[CS_LEVEL_ALERT] || sum.by_level[CS_LEVEL_WARNING] ? EXIT_FINDINGS : EXIT_CLEAN;
    if (c.syslog) {
        int failed = cli_syslog_close(c.syslog);
        c.syslog = NULL;
        if (failed)
            rc = EXIT_ERROR; /* findings that did not reach the collector */
    }
    if (sum.interrupted) /* like a shell: 128 + the signal */
        rc = 128 + (interrupt_signal ? interrupt_signal : SIGINT);
out:
    if (c.out && !c.write_failed && rc == EXIT_ERROR) { /* the results so far, before the error */
        cs_error werr = {0};
        if (flush_out(&c, output, &werr) != 0)
            fprintf(stderr, "chainsweep: %s\n", werr.message);
    }
    if (rc == EXIT_ERROR && err.message[0])
        fprintf(stderr, "chainsweep: %s\n", err.message);
    if (c.out && c.out != stdout && fclose(c.out) != 0 && !c.write_failed) {
        fprintf(stderr, "chainsweep: writing the results to %s: %s\n", output, strerror(errno));
        rc = EXIT_ERROR;
    }
    if (c.syslog && cli_syslog_close(c.syslog) != 0)
        rc = EXIT_ERROR;
    cs_inventory_free(c.inv);
    cs_engine_free(e);
    return rc;
}

enum { OPT_TRUST = 512, OPT_CRL, OPT_TIME, OPT_VJSON, OPT_TRUST_PARTIAL, OPT_UEFI };

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trust", required_argument, 0, OPT_TRUST}, {"crl", required_argument, 0, OPT_CRL},
        {"time", required_argument, 0, OPT_TIME},   {"json", no_argument, 0, OPT_VJSON},
        {"trust-partial", no_argument, 0, OPT_TRUST_PARTIAL}, {"uefi", no_argument, 0, OPT_UEFI},
        {"no-color", no_argument, 0, 'C'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    cs_trust *trust = NULL;
    cs_error err = {0};
    cs_report_opts ro = {CS_FORMAT_TEXT, 0, CS_LEVEL_NOTICE, 0, NULL, 0};
    int no_color = getenv("NO_COLOR") != NULL, opt, rc = EXIT_CLEAN;
    unsigned trust_flags = 0;
    long long at = 0;
    if (cs_trust_new(&trust, &err) != CS_OK)
        return cli_fail("%s", err.message);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_TRUST:
            if (cs_trust_add(trust, optarg, &err) != CS_OK)
                goto error;
            break;
        case OPT_CRL:
            if (cs_trust_add_crl(trust, optarg, &err) != CS_OK)
                goto error;
            break;
        case OPT_TIME: {
            char *end;
            at = strtoll(optarg, &end, 10);
            if (*end || at <= 0) {
                snprintf(err.message, sizeof err.message, "--time: expected seconds since 1970, got '%s'", optarg);
                goto error;
            }
            break;
        }
        case OPT_VJSON: ro.format = CS_FORMAT_JSON; break;
        case OPT_TRUST_PARTIAL: trust_flags |= CS_TRUST_PARTIAL_CHAIN; break;
        case OPT_UEFI: trust_flags |= CS_TRUST_PARTIAL_CHAIN | CS_TRUST_IGNORE_TIME; break;
        case 'C': no_color = 1; break;
        case 'h': usage(stdout); cs_trust_free(trust); return EXIT_CLEAN;
        default: usage(stderr); cs_trust_free(trust); return EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        snprintf(err.message, sizeof err.message, "verify: no FILE given");
        goto error;
    }
    cs_trust_set_flags(trust, trust_flags);
    ro.color = !no_color && ro.format == CS_FORMAT_TEXT && isatty(STDOUT_FILENO);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    ro.hostname = host; /* like every other JSON object */
    for (int i = optind; i < argc; i++) {
        /* a bundle directory: its main executable, with the bundle's seal */
        char main_exe[4096];
        struct stat sb;
        const char *target = argv[i];
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode) &&
            cs_bundle_main_executable(argv[i], main_exe, sizeof main_exe, NULL) == CS_OK)
            target = main_exe;
        /* a Mach-O (thin or universal): its code signature; anything else: Authenticode */
        cs_mc_report *mc = NULL;
        if (cs_codesign_verify_path(target, cs_trust_count(trust) ? trust : NULL, (time_t)at, &mc, &err) == CS_OK &&
            mc->verdict != CS_MC_NOT_MACHO) {
            cs_text t;
            cs_report_codesign(&ro, target, mc, &t);
            fwrite(t.data, 1, t.len, stdout);
            cs_text_free(&t);
            if (mc->verdict != CS_MC_VALID && mc->verdict != CS_MC_INTACT && mc->verdict != CS_MC_ADHOC &&
                rc != EXIT_ERROR)
                rc = EXIT_FINDINGS;
            cs_mc_report_free(mc);
            continue;
        }
        cs_mc_report_free(mc);
        cs_ac_report *rep = NULL;
        cs_status st = cs_authenticode_verify_path(argv[i], cs_trust_count(trust) ? trust : NULL, (time_t)at, &rep, &err);
        if (st == CS_ERR_NOMEM)
            goto error;
        if (st != CS_OK) { /* this file: unreadable, not regular, shrank while read */
            fprintf(stderr, "chainsweep: %s: %s\n", argv[i], err.message);
            if (ro.format == CS_FORMAT_JSON) { /* every FILE has its object */
                cs_text t;
                cs_report_verify_error(&ro, argv[i], err.message, &t);
                fwrite(t.data, 1, t.len, stdout);
                cs_text_free(&t);
            }
            rc = EXIT_ERROR;
            continue;
        }
        cs_text t;
        cs_report_authenticode(&ro, argv[i], rep, &t);
        fwrite(t.data, 1, t.len, stdout);
        cs_text_free(&t);
        if (rep->verdict == CS_AC_NOT_PE)
            rc = EXIT_ERROR;
        else if (rep->verdict != CS_AC_VALID && rep->verdict != CS_AC_INTACT_UNANCHORED && rc != EXIT_ERROR)
            rc = EXIT_FINDINGS;
        cs_ac_report_free(rep);
    }
    cs_trust_free(trust);
    return rc;
error:
    cs_trust_free(trust);
    return cli_fail("%s", err.message);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(argv[1], "scan") == 0)
        return cmd_scan(argc - 1, argv + 1, MODE_SCAN);
    if (strcmp(argv[1], "inventory") == 0)
        return cmd_scan(argc - 1, argv + 1, MODE_INVENTORY);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_scan(argc - 1, argv + 1, MODE_SERVE);
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "sim") == 0)
        return cli_sim(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("chainsweep %s (libyara %s, output schema %d)\n", CS_VERSION, cs_engine_yara_version(),
               CS_OUTPUT_SCHEMA);
        return EXIT_CLEAN;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_CLEAN;
    }
    fprintf(stderr, "chainsweep: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_ERROR;
}
