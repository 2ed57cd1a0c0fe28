/* The engine through its public API: pack loading with diagnostics, the
 * filename, hash, YARA and C2 detectors on real files (Authenticode, signer
 * and advisory run end to end in e2e_authenticode and e2e_advisories),
 * known-good suppression, scoring of results, the per-thread scanner. */
#include "helpers.h"

#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chainsweep/chainsweep.h"
#include "engine/engine.h"
#include "util/util.h"

typedef struct got {
    char name[32][64];
    int score[32];
    cs_level level[32];
    char detectors[32][128];
    cs_record_kind kind[32];
    cs_skip_reason skip[32];
    uint64_t c2_offset[32];
    int n;
} got;

static int on_result(const cs_result *r, void *ud)
{
    got *g = ud;
    if (g->n >= 32)
        return 0;
    const char *slash = strrchr(r->path, '/');
    snprintf(g->name[g->n], sizeof g->name[0], "%s", slash ? slash + 1 : r->path);
    g->score[g->n] = r->score;
    g->level[g->n] = r->level;
    g->kind[g->n] = r->kind;
    g->skip[g->n] = r->skip;
    g->detectors[g->n][0] = '\0';
    for (size_t i = 0; i < r->n_reasons; i++) {
        strncat(g->detectors[g->n], r->reasons[i].detector, 16);
        strcat(g->detectors[g->n], ",");
        if (strcmp(r->reasons[i].detector, "c2") == 0 && r->reasons[i].n_matches)
            g->c2_offset[g->n] = r->reasons[i].matches[0].offset;
    }
    g->n++;
    return 0;
}

static int find(const got *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->name[i], name) == 0)
            return i;
    return -1;
}

static void hex_digest(const EVP_MD *md, const char *data, char *out)
{
    unsigned char d[64];
    unsigned len;
    EVP_Digest(data, strlen(data), d, &len, md, NULL);
    cs_hex(out, d, len);
}

static const char bad_content[] = "this file is a known bad sample for the test";
static const char ext_content[] = "MZ external variables test";
static const char good_content[] = "known good file that also mentions evil-c2.example.com";

static char *make_pack(void)
{
    char *d = th_mkdtemp();
    char sha[65], md5[33], line[512];
    hex_digest(EVP_sha256(), bad_content, sha);
    snprintf(line, sizeof line,
             "# test hashes\n%s;90;known bad test sample\nnot-a-hash;x\n"
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855;empty file\n",
             sha);
    th_write(d, "test-hash-iocs.txt", line, strlen(line));
    hex_digest(EVP_md5(), good_content, md5);
    snprintf(line, sizeof line, "%s;vendor file\n", md5);
    th_write(d, "trusted-hashes.txt", line, strlen(line));
    const char *fn = "# test names\nevil_name\\.exe$;70\n"
                     "/fp_dir/;50;/fp_dir/allowed\n"
                     "UPPERCASE_PLAIN;45\n"
                     "(a)\\1b;40\n" /* back-reference: PCRE2 path */
                     "bad(regex;50\n";
    th_write(d, "filename-iocs.txt", fn, strlen(fn));
    const char *c2 = "# test C2\nevil-c2.example.com\n10.66.77.88;80\n";
    th_write(d, "c2-iocs.txt", c2, strlen(c2));
    const char *yar = "rule Test_Marker { meta: author = \"tester\" description = \"marker\" score = 65\n"
                      " strings: $m = \"YARA_TEST_MARKER\" condition: $m and extension == \".dat\" }\n";
    th_write(d, "test.yar", yar, strlen(yar));
    char ext_rule[1024], ext_md5[33];
    hex_digest(EVP_md5(), ext_content, ext_md5);
    snprintf(ext_rule, sizeof ext_rule,
             "rule Externals { condition: filename == \"ext.exe\" and filetype == \"EXE\" and\n"
             " extension == \".exe\" and owner != \"\" and group != \"\" and filemode & 0x8000 and\n"
             " filepath startswith \"/tmp/cs-test-\" and not (filepath endswith \"/\") and\n"
             " md5 == \"%s\" }\n",
             ext_md5);
    th_write(d, "externals.yara", ext_rule, strlen(ext_rule));
    const char *broken = "rule Broken { condition: undefined_thing }\n";
    th_write(d, "broken.yar", broken, strlen(broken));
    return d;
}

static char *make_tree(void)
{
    char *d = th_mkdtemp();
    char p[8192];
    th_write(d, "bad.bin", bad_content, strlen(bad_content));
    th_write(d, "good.txt", good_content, strlen(good_content));
    th_write(d, "evil_name.exe", "harmless", 8);
    th_write(d, "c2.txt", "GET http://www.EVIL-C2.example.com/x", 36);
    th_write(d, "notc2.txt", "notevil-c2.example.com and evil-c2.example.company", 51);
    static const char wide[] = " \0e\0v\0i\0l\0-\0c\0" "2\0.\0e\0x\0a\0m\0p\0l\0e\0.\0c\0o\0m\0\0\0";
    th_write(d, "wide.bin", wide, sizeof wide);
    th_write(d, "ip.txt", "connect 10.66.77.88:443", 23);
    th_write(d, "ip2.txt", "110.66.77.88 and 10.66.77.889", 29);
    th_write(d, "ext.exe", ext_content, strlen(ext_content));
    th_write(d, "marker.dat", "..YARA_TEST_MARKER..", 20);
    th_write(d, "marker.txt", "..YARA_TEST_MARKER..", 20);
    th_write(d, "aab", "x", 1);
    th_write(d, "uppercase_plain.txt", "x", 1);
    snprintf(p, sizeof p, "%s/fp_dir", d);
    mkdir(p, 0755);
    th_write(p, "allowed", "x", 1);
    th_write(p, "other", "x", 1);
    th_write(d, "empty", "", 0);
    return d;
}

static void load_and_scan(void **state)
{
    (void)state;
    char *pack = make_pack(), *tree = make_tree();
    cs_config cfg;
    cs_config_init(&cfg);
    cfg.threads = 2;
    cs_engine *e;
    cs_error err = {0};
    assert_int_equal(cs_engine_new(&e, &cfg, &err), CS_OK);
    assert_int_equal(cs_engine_load_pack(e, pack, &err), CS_OK);
    assert_int_equal(cs_engine_prepare(e, &err), CS_OK);

    /* diagnostics name file and line */
    int saw_bad_hash = 0, saw_bad_regex = 0, saw_broken_yar = 0, saw_trivial = 0;
    for (size_t i = 0; i < cs_engine_diag_count(e); i++) {
        const cs_diag *dg = cs_engine_diag(e, i);
        if (strstr(dg->file, "test-hash-iocs.txt") && dg->line == 3)
            saw_bad_hash = 1;
        if (strstr(dg->file, "test-hash-iocs.txt") && dg->line == 4 && strstr(dg->message, "empty"))
            saw_trivial = 1;
        if (strstr(dg->file, "filename-iocs.txt") && dg->line == 6)
            saw_bad_regex = 1;
        if (strstr(dg->file, "broken.yar") && dg->line == 1 && dg->is_error)
            saw_broken_yar = 1;
    }
    assert_true(saw_bad_hash && saw_bad_regex && saw_broken_yar && saw_trivial);

    cs_load_stats ls;
    cs_engine_load_stats(e, &ls);
    assert_int_equal(ls.hash_iocs, 1);
    assert_int_equal(ls.good_hashes, 1);
    assert_int_equal(ls.filename_iocs, 4);
    assert_int_equal(ls.filename_iocs_pcre, 1);
    assert_int_equal(ls.c2_iocs, 2);
    assert_int_equal(ls.yara_files, 2);
    assert_int_equal(ls.yara_files_skipped, 1);
    assert_int_equal(ls.yara_rules, 2);

    got g = {0};
    cs_scan_summary sum;
    const char *targets[] = {tree};
    assert_int_equal(cs_scan(e, targets, 1, on_result, &g, &sum, &err), CS_OK);
    int i;
    assert_true((i = find(&g, "bad.bin")) >= 0);
    assert_string_equal(g.detectors[i], "hash,");
    assert_int_equal(g.score[i], 90);
    assert_int_equal(g.level[i], CS_LEVEL_ALERT);
    assert_true((i = find(&g, "good.txt")) >= 0);
    assert_int_equal(g.skip[i], CS_SKIP_KNOWN_GOOD);
    assert_string_equal(g.detectors[i], "");
    assert_true((i = find(&g, "evil_name.exe")) >= 0);
    assert_string_equal(g.detectors[i], "filename,");
    assert_int_equal(g.level[i], CS_LEVEL_WARNING);
    assert_true((i = find(&g, "c2.txt")) >= 0);
    assert_string_equal(g.detectors[i], "c2,");
    assert_int_equal(g.c2_offset[i], 15);
    assert_true((i = find(&g, "notc2.txt")) >= 0);
    assert_string_equal(g.detectors[i], "");
    assert_true((i = find(&g, "wide.bin")) >= 0);
    assert_string_equal(g.detectors[i], "c2,");
    assert_int_equal(g.c2_offset[i], 2);
    assert_true((i = find(&g, "ip.txt")) >= 0);
    assert_string_equal(g.detectors[i], "c2,");
    assert_true((i = find(&g, "ip2.txt")) >= 0);
    assert_string_equal(g.detectors[i], "");
    assert_true((i = find(&g, "marker.dat")) >= 0);
    assert_string_equal(g.detectors[i], "yara,");
    assert_int_equal(g.score[i], 65);
    assert_true((i = find(&g, "marker.txt")) >= 0);
    assert_string_equal(g.detectors[i], ""); /* extension external */
    assert_true((i = find(&g, "ext.exe")) >= 0);
    assert_string_equal(g.detectors[i], "yara,"); /* every THOR external set */
    assert_true((i = find(&g, "aab")) >= 0);
    assert_string_equal(g.detectors[i], "filename,");
    assert_true((i = find(&g, "uppercase_plain.txt")) >= 0); /* plain IOC: caseless */
    assert_string_equal(g.detectors[i], "filename,");
    assert_true((i = find(&g, "allowed")) >= 0);
    assert_string_equal(g.detectors[i], ""); /* false-positive regex */
    assert_true((i = find(&g, "other")) >= 0);
    assert_string_equal(g.detectors[i], "filename,");
    assert_int_equal(sum.skipped[CS_SKIP_KNOWN_GOOD], 1);
    assert_int_equal(sum.errors, 0);

    const char *missing[] = {"/nonexistent/x"};
    assert_int_equal(cs_scan(e, missing, 1, on_result, &g, &sum, &err), CS_ERR_ARG);
    cs_engine_free(e);
    th_rmrf(pack);
    th_rmrf(tree);
    free(pack);
    free(tree);
}

static void nothing_loaded_is_an_error(void **state)
{
    (void)state;
    char *d = th_mkdtemp();
    cs_config cfg;
    cs_config_init(&cfg);
    cs_engine *e;
    cs_error err = {0};
    assert_int_equal(cs_engine_new(&e, &cfg, &err), CS_OK);
    assert_int_equal(cs_engine_load_pack(e, d, &err), CS_OK);
    assert_int_equal(cs_engine_prepare(e, &err), CS_ERR_RULES);
    assert_int_equal(cs_engine_load_pack(e, "/nonexistent/pack", &err), CS_ERR_ARG);
    assert_non_null(strstr(err.message, "/nonexistent/pack"));
    cs_engine_free(e);
    cfg.notice_level = 90;
    assert_int_equal(cs_engine_new(&e, &cfg, &err), CS_ERR_ARG);
    th_rmrf(d);
    free(d);
}

typedef struct records {
    int n, stop_after;
    char display[8][256];
    char detectors[8][128];
    size_t depth[8];
} records;

static int collect_records(const cs_result *r, void *ud)
{
    records *rs = ud;
    if (rs->n < 8) {
        snprintf(rs->display[rs->n], sizeof rs->display[0], "%s", r->display_path ? r->display_path : r->path);
        rs->depth[rs->n] = r->n_members;
        rs->detectors[rs->n][0] = '\0';
        for (size_t i = 0; i < r->n_reasons; i++) {
            strncat(rs->detectors[rs->n], r->reasons[i].detector, 16);
            strcat(rs->detectors[rs->n], ",");
        }
    }
    rs->n++;
    return rs->stop_after && rs->n >= rs->stop_after;
}

/* The per-thread scanner: a buffer and a descriptor, members included, and
 * a callback that cancels. */
static void scanner_buffer_fd_cancel(void **state)
{
    (void)state;
    char *pack = make_pack(), *tree = make_tree();
    cs_config cfg = CS_CONFIG_INIT;
    cs_engine *e;
    cs_error err = {0};
    assert_int_equal(cs_engine_new(&e, &cfg, &err), CS_OK);
    assert_int_equal(cs_engine_load_pack(e, pack, &err), CS_OK);
    assert_int_equal(cs_engine_prepare(e, &err), CS_OK);
    char cmd[8192], zip[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && zip -q -X z.zip c2.txt notc2.txt", tree);
    if (system(cmd) != 0)
        skip(); /* zip is a test dependency (scripts/deps.sh) */
    snprintf(zip, sizeof zip, "%s/z.zip", tree);
    FILE *fp = fopen(zip, "rb");
    assert_non_null(fp);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);

    cs_scanner *sc;
    assert_int_equal(cs_scanner_new(e, &sc, &err), CS_OK);
    records rs = {0};
    assert_int_equal(cs_scanner_scan_buffer(sc, buf, n, "upload.zip", collect_records, &rs, &err), CS_OK);
    assert_int_equal(rs.n, 3); /* two members, then the container */
    assert_string_equal(rs.display[0], "upload.zip!/c2.txt");
    assert_int_equal(rs.depth[0], 1);
    assert_string_equal(rs.detectors[0], "c2,");
    assert_string_equal(rs.display[2], "upload.zip");
    assert_non_null(strstr(rs.detectors[2], "contains,")); /* (a stored zip shows the C2 name too) */

    int fd = open(zip, O_RDONLY);
    assert_true(fd >= 0);
    records rf = {0};
    assert_int_equal(cs_scanner_scan_fd(sc, fd, "z.zip", collect_records, &rf, &err), CS_OK);
    close(fd); /* the descriptor stays the caller's */
    assert_int_equal(rf.n, 3);
    assert_string_equal(rf.display[0], "z.zip!/c2.txt");

    records rc = {0};
    rc.stop_after = 1;
    assert_int_equal(cs_scanner_scan_buffer(sc, buf, n, "upload.zip", collect_records, &rc, &err), CS_ERR_CANCELLED);
    assert_int_equal(rc.n, 1); /* nothing after the callback said stop */
    assert_string_equal(cs_status_str(CS_ERR_CANCELLED), "cancelled");

    /* a directory through scan_path, like cs_scan but in this thread */
    records rp = {0};
    assert_int_equal(cs_scanner_scan_path(sc, tree, collect_records, &rp, &err), CS_OK);
    assert_true(rp.n > 10);
    cs_scanner_free(sc);

    /* cs_scan cancels too */
    got g = {0};
    const char *targets[] = {tree};
    records rcs = {0};
    rcs.stop_after = 2;
    (void)g;
    assert_int_equal(cs_scan(e, targets, 1, collect_records, &rcs, NULL, &err), CS_ERR_CANCELLED);
    assert_int_equal(rcs.n, 2);
    cs_engine_free(e);
    th_rmrf(pack);
    th_rmrf(tree);
    free(pack);
    free(tree);
}

static int count_records(const cs_result *r, void *ud)
{
    (void)r;
    ++*(int *)ud;
    return 0;
}

/* Lazy loading: a rescan with a filled state store compiles nothing until a
 * scanner needs the rules; the counts it reports are the first sweep's. */
static void lazy_rescan(void **state)
{
    (void)state;
    char *pack = make_pack(), *tree = make_tree(), db[8300];
    snprintf(db, sizeof db, "%s/state.sqlite", tree);
    cs_load_stats first, again;
    for (int run = 0; run < 2; run++) {
        cs_config cfg = CS_CONFIG_INIT;
        cfg.scan_own_files = 1;
        cs_engine *e;
        cs_error err = {0};
        assert_int_equal(cs_engine_new(&e, &cfg, &err), CS_OK);
        assert_int_equal(cs_engine_load_pack(e, pack, &err), CS_OK);
        assert_int_equal(cs_engine_set_state(e, db, &err), CS_OK);
        assert_int_equal(cs_engine_prepare(e, &err), CS_OK);
        cs_engine_load_stats(e, run ? &again : &first);
        int n = 0;
        const char *targets[] = {pack};
        assert_int_equal(cs_scan(e, targets, 1, count_records, &n, NULL, &err), CS_OK);
        assert_true(n > 0);
        if (run) {
            cs_load_stats after;
            cs_engine_load_stats(e, &after);
            assert_int_equal(after.compiled, 0); /* the store answered every file */
            cs_scanner *sc;
            assert_int_equal(cs_scanner_new(e, &sc, &err), CS_OK); /* a scanner compiles */
            cs_engine_load_stats(e, &after);
            assert_int_equal(after.compiled, 1);
            assert_int_equal(after.yara_rules, first.yara_rules);
            cs_scanner_free(sc);
        }
        cs_engine_free(e);
    }
    assert_int_equal(first.compiled, 1);
    assert_int_equal(again.compiled, 0);
    again.compiled = 1;
    assert_memory_equal(&first, &again, sizeof first);
    th_rmrf(pack);
    th_rmrf(tree);
    free(pack);
    free(tree);
}

static void load_stats_text(void **state)
{
    (void)state;
    cs_load_stats a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1}, b;
    char text[512];
    cs_load_stats_format(&a, text, sizeof text);
    assert_int_equal(cs_load_stats_parse(text, &b), 0);
    a.compiled = 0; /* not part of the text */
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(cs_load_stats_parse("v1 1 2 3", &b), -1);
    assert_int_equal(cs_load_stats_parse("v2 1 2 3 4 5 6 7 8 9 10 11 12", &b), -1);
    strcat(text, " 13");
    assert_int_equal(cs_load_stats_parse(text, &b), -1);
}

static void config_versions(void **state)
{
    (void)state;
    cs_config a = CS_CONFIG_INIT, b;
    cs_config_init(&b);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.version, CS_CONFIG_VERSION);
    cs_engine *e;
    cs_error err = {0};
    a.version = 1; /* before the versioned layout */
    assert_int_equal(cs_engine_new(&e, &a, &err), CS_ERR_ARG);
    assert_non_null(strstr(err.message, "version"));
    for (int s = CS_OK; s <= CS_ERR_CANCELLED; s++)
        assert_true(strcmp(cs_status_str((cs_status)s), "unknown status") != 0);
    assert_string_equal(cs_status_str((cs_status)99), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_and_scan),
        cmocka_unit_test(nothing_loaded_is_an_error),
        cmocka_unit_test(scanner_buffer_fd_cancel),
        cmocka_unit_test(config_versions),
        cmocka_unit_test(lazy_rescan),
        cmocka_unit_test(load_stats_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
