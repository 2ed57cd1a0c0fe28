/* chainsweep sim: similarity references and indexes.
 *   sim add (--good|--bad) [--product P] [--vendor V] [--label L] [--score N] [-o LIST.tsv] PATH...
 *   sim add --bad --digests FILE [--score N] [-o LIST.tsv]
 *   sim build -o INDEX.csim LIST.tsv...
 *   sim query [-d N] [-x] INDEX.csim|LIST.tsv DIGEST|FILE... */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainsweep/similarity.h"
#include "cli.h"

static void sim_usage(FILE *f)
{
    fprintf(f, "usage: chainsweep sim add (--good | --bad) [--product P] [--vendor V] [--label L] [--score N]\n"
               "                         [-o LIST.tsv] PATH...\n"
               "       chainsweep sim add --bad --digests FILE [--score N] [-o LIST.tsv]\n"
               "       chainsweep sim build -o INDEX.csim LIST.tsv...\n"
               "       chainsweep sim query [-d DISTANCE] [-x] INDEX.csim|LIST.tsv DIGEST|FILE...\n"
               "\n"
               "add     one similarity TSV row per file (TLSH, SHA-256, name): --good for the vendor's files\n"
               "        (near_miss_of_known_good), --bad for samples (similar_to_known_bad); directories are\n"
               "        walked without following links or leaving the file system; --digests takes published\n"
               "        TLSH digests, one per line, each followed by its label. Rows are appended to -o.\n"
               "build   an index (a pack's .csim file) from lists; exact lookups, mapped by the scanner\n"
               "query   every reference within DISTANCE (default 70) of each digest or file, nearest first;\n"
               "        exit 1 when any is found; -x (--ignore-length): TLSH's distance without the lengths\n"
               "        (tlsh_unittest -xlen), so that a file padded or cut to another size stays near\n");
}

/* A TSV field: no tabs or line breaks inside; "-" when absent. */
static void put_field(FILE *out, const char *s, int last)
{
    if (!s || !*s)
        fputc('-', out);
    for (; s && *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, out);
    fputc(last ? '\n' : '\t', out);
}

static void put_row(FILE *out, const cs_sim_ref *r)
{
    char score[16];
    snprintf(score, sizeof score, "%d", r->score);
    put_field(out, r->good ? "good" : "bad", 0);
    put_field(out, r->tlsh, 0);
    put_field(out, score, 0);
    put_field(out, r->file_name, 0);
    put_field(out, r->product, 0);
    put_field(out, r->vendor, 0);
    put_field(out, r->sha256, 0);
    put_field(out, r->label, 1);
}

typedef struct add_opts {
    cs_sim_ref tmpl;
    FILE *out;
    unsigned long rows, skipped, errors;
} add_opts;

static add_opts *walk_opts; /* nftw has no user pointer */

static void add_file(add_opts *a, const char *path)
{
    char tlsh[CS_SIM_TLSH_CHARS + 1], sha[65];
    cs_error err;
    if (cs_sim_digest_file(path, tlsh, sha, &err) != CS_OK) {
        fprintf(stderr, "chainsweep: %s\n", err.message);
        a->errors++;
        return;
    }
    if (!tlsh[0]) {
        fprintf(stderr, "chainsweep: %s: no TLSH (under 50 bytes or too uniform), not added\n", path);
        a->skipped++;
        return;
    }
    const char *base = strrchr(path, '/');
    cs_sim_ref r = a->tmpl;
    r.tlsh = tlsh;
    r.sha256 = sha;
    r.file_name = base ? base + 1 : path;
    if (!r.label)
        r.label = path;
    put_row(a->out, &r);
    a->rows++;
}

static int walk_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F)
        add_file(walk_opts, path);
    else if (type == FTW_DNR || type == FTW_NS) {
        fprintf(stderr, "chainsweep: %s: cannot read\n", path);
        walk_opts->errors++;
    }
    return 0;
}

/* Published digests: "T1... label" per line ('#' comments). */
static int add_digests(add_opts *a, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail("%s: %s", path, strerror(errno));
    /* every row is checked as it will be when built */
    cs_sim_builder *check = NULL;
    cs_error err;
    if (cs_sim_builder_new(&check, &err) != CS_OK) {
        fclose(f);
        return cli_fail("%s", err.message);
    }
    char line[4096];
    unsigned lineno = 0;
    int rc = EXIT_CLEAN;
    while (rc == EXIT_CLEAN && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        if (!*p || *p == '#')
            continue;
        char *label = p + strcspn(p, " \t;,");
        if (*label)
            *label++ = '\0';
        label += strspn(label, " \t;,");
        cs_sim_ref r = a->tmpl;
        r.tlsh = p;
        r.label = *label ? label : a->tmpl.label;
        if (cs_sim_builder_add(check, &r, &err) != CS_OK) {
            rc = cli_fail("%s:%u: %s", path, lineno, err.message);
            break;
        }
        put_row(a->out, &r);
        a->rows++;
    }
    if (rc == EXIT_CLEAN && ferror(f))
        rc = cli_fail("%s: read error", path);
    cs_sim_builder_free(check);
    fclose(f);
    return rc;
}

enum { OPT_GOOD = 256, OPT_BAD, OPT_PRODUCT, OPT_VENDOR, OPT_LABEL, OPT_SCORE, OPT_DIGESTS };

static int sim_add(int argc, char **argv)
{
    static const struct option opts[] = {
        {"good", no_argument, 0, OPT_GOOD},          {"bad", no_argument, 0, OPT_BAD},
        {"product", required_argument, 0, OPT_PRODUCT}, {"vendor", required_argument, 0, OPT_VENDOR},
        {"label", required_argument, 0, OPT_LABEL},   {"score", required_argument, 0, OPT_SCORE},
        {"digests", required_argument, 0, OPT_DIGESTS}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0},
    };
    add_opts a = {{0}, stdout, 0, 0, 0};
    int kind = -1, score_set = 0, opt;
    const char *digests = NULL, *output = NULL;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_GOOD: kind = 1; break;
        case OPT_BAD: kind = 0; break;
        case OPT_PRODUCT: a.tmpl.product = optarg; break;
        case OPT_VENDOR: a.tmpl.vendor = optarg; break;
        case OPT_LABEL: a.tmpl.label = optarg; break;
        case OPT_SCORE: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < -1000 || v > 1000)
                return cli_fail("--score: an integer from -1000 to 1000, not '%s'", optarg);
            a.tmpl.score = (int)v;
            score_set = 1;
            break;
        }
        case OPT_DIGESTS: digests = optarg; break;
        case 'o': output = optarg; break;
        case 'h': sim_usage(stdout); return EXIT_CLEAN;
        default: sim_usage(stderr); return EXIT_ERROR;
        }
    }
    if (kind < 0)
        return cli_fail("sim add: say --good (the vendor's files) or --bad (samples)");
    if (digests && kind != 0)
        return cli_fail("sim add: --digests are known-bad (--bad)");
    if (!digests && optind >= argc)
        return cli_fail("sim add: no PATH given");
    a.tmpl.good = kind;
    if (!score_set)
        a.tmpl.score = kind ? 0 : 75;
    if (output && !(a.out = fopen(output, "a")))
        return cli_fail("%s: %s", output, strerror(errno));
    int rc = EXIT_CLEAN;
    if (digests)
        rc = add_digests(&a, digests);
    walk_opts = &a;
    for (int i = optind; i < argc && rc == EXIT_CLEAN; i++)
        if (nftw(argv[i], walk_one, 32, FTW_PHYS | FTW_MOUNT) != 0) {
            fprintf(stderr, "chainsweep: %s: %s\n", argv[i], strerror(errno));
            a.errors++;
        }
    if (fflush(a.out) != 0 || ferror(a.out) || (output && fclose(a.out) != 0))
        return cli_fail("%s: write failed: %s", output ? output : "standard output", strerror(errno));
    fprintf(stderr, "chainsweep: %lu reference(s) written, %lu file(s) without TLSH, %lu error(s)\n", a.rows,
            a.skipped, a.errors);
    return rc != EXIT_CLEAN ? rc : a.errors ? EXIT_ERROR : EXIT_CLEAN;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int sim_build(int argc, char **argv)
{
    const char *output = NULL;
    int opt;
    optind = 1;
    static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (opt == 'o')
            output = optarg;
        else if (opt == 'h') {
            sim_usage(stdout);
            return EXIT_CLEAN;
        } else {
            sim_usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (!output || optind >= argc)
        return cli_fail("sim build: -o INDEX.csim and at least one LIST.tsv");
    cs_sim_builder *b = NULL;
    cs_error err;
    cs_status st = cs_sim_builder_new(&b, &err);
    for (int i = optind; i < argc && st == CS_OK; i++)
        st = cs_sim_builder_add_tsv(b, argv[i], &err);
    if (st == CS_OK)
        st = cs_sim_builder_write(b, output, &err);
    if (st == CS_OK)
        fprintf(stderr, "chainsweep: %s: %zu reference(s)\n", output, cs_sim_builder_count(b));
    cs_sim_builder_free(b);
    return st == CS_OK ? EXIT_CLEAN : cli_fail("%s", err.message);
}

typedef struct hit {
    int distance, good, score;
    char *text;
} hit;

typedef struct hits {
    hit *v;
    size_t n, cap;
} hits;

static int collect(void *ud, const cs_sim_ref *r, int distance)
{
    hits *h = ud;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        hit *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return 1;
        h->v = v;
        h->cap = cap;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return 1;
    put_field(m, r->tlsh, 0);
    put_field(m, r->file_name, 0);
    put_field(m, r->product, 0);
    put_field(m, r->vendor, 0);
    put_field(m, r->sha256, 0);
    put_field(m, r->label, 1);
    fclose(m);
    h->v[h->n++] = (hit){distance, r->good, r->score, text};
    return 0;
}

static int by_distance(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->distance != y->distance)
        return x->distance - y->distance;
    return strcmp(x->text, y->text);
}

static int sim_query(int argc, char **argv)
{
    cs_sim_search_opts search = CS_SIM_SEARCH_OPTS_INIT;
    int opt;
    optind = 1;
    static const struct option opts[] = {{"distance", required_argument, 0, 'd'},
                                         {"ignore-length", no_argument, 0, 'x'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    while ((opt = getopt_long(argc, argv, "d:xh", opts, NULL)) != -1) {
        if (opt == 'd') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 300)
                return cli_fail("-d: a distance from 0 to 300, not '%s'", optarg);
            search.max_distance = (int)v;
        } else if (opt == 'x') {
            search.ignore_length = 1;
        } else if (opt == 'h') {
            sim_usage(stdout);
            return EXIT_CLEAN;
        } else {
            sim_usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (argc - optind < 2)
        return cli_fail("sim query: an index (or list) and at least one digest or file");
    cs_sim_index *ix = NULL;
    cs_error err;
    const char *index = argv[optind];
    if (has_suffix(index, ".tsv")) {
        cs_sim_builder *b = NULL;
        cs_status st = cs_sim_builder_new(&b, &err);
        if (st == CS_OK)
            st = cs_sim_builder_add_tsv(b, index, &err);
        if (st == CS_OK)
            st = cs_sim_index_build(b, &ix, &err);
        cs_sim_builder_free(b);
        if (st != CS_OK)
            return cli_fail("%s", err.message);
    } else if (cs_sim_index_open(index, &ix, &err) != CS_OK) {
        return cli_fail("%s", err.message);
    }
    int rc = EXIT_CLEAN;
    for (int i = optind + 1; i < argc; i++) {
        char tlsh[CS_SIM_TLSH_CHARS + 1], sha[65];
        const char *q = argv[i];
        hits h = {0};
        /* a digest as given, else a file's */
        if (cs_sim_index_search_opts(ix, q, &search, collect, &h, &err) != CS_OK) {
            if (cs_sim_digest_file(argv[i], tlsh, sha, &err) != CS_OK) {
                fprintf(stderr, "chainsweep: %s\n", err.message);
                rc = EXIT_ERROR;
                continue;
            }
            if (!tlsh[0]) {
                fprintf(stderr, "chainsweep: %s: no TLSH (under 50 bytes or too uniform)\n", argv[i]);
                continue;
            }
            cs_sim_index_search_opts(ix, tlsh, &search, collect, &h, &err);
        }
        if (h.n)
            qsort(h.v, h.n, sizeof *h.v, by_distance);
        for (size_t k = 0; k < h.n; k++) {
            printf("%s\t%d\t%s\t%d\t%s", argv[i], h.v[k].distance, h.v[k].good ? "good" : "bad", h.v[k].score,
                   h.v[k].text);
            free(h.v[k].text);
        }
        if (h.n && rc == EXIT_CLEAN)
            rc = EXIT_FINDINGS;
        free(h.v);
    }
    cs_sim_index_close(ix);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail("standard output: write failed: %s", strerror(errno));
    return rc;
}

int cli_sim(int argc, char **argv)
{
    if (argc < 2) {
        sim_usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(argv[1], "add") == 0)
        return sim_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "build") == 0)
        return sim_build(argc - 1, argv + 1);
    if (strcmp(argv[1], "query") == 0)
        return sim_query(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        sim_usage(stdout);
        return EXIT_CLEAN;
    }
    fprintf(stderr, "chainsweep: unknown sim command '%s'\n", argv[1]);
    sim_usage(stderr);
    return EXIT_ERROR;
}
