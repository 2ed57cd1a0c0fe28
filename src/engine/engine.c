/* Engine: configuration, pack loading, diagnostics, excludes. */
#define _GNU_SOURCE
#include "engine/engine.h"
#include "util/digest.h"
#include "util/guard.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "format/ioc.h"
#include "store/state.h"

void cs_config_init(cs_config *cfg)
{
    *cfg = (cs_config)CS_CONFIG_INIT;
}

const char *cs_status_str(cs_status s)
{
    static const char *const names[] = {"ok", "bad argument", "input/output error", "out of memory",
                                        "no usable rules", "internal error", "cancelled"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown status";
}

const cs_config *cs_engine_config(const cs_engine *e)
{
    return &e->cfg;
}

const char *cs_engine_cache_dir(const cs_engine *e)
{
    return e->cache_dir;
}

const char *cs_level_name(cs_level l)
{
    static const char *const names[] = {"none", "notice", "warning", "alert"};
    return (unsigned)l < 4 ? names[l] : "none";
}

const char *cs_skip_reason_name(cs_skip_reason r)
{
    static const char *const names[CS_SKIP__COUNT] = {
        "none", "too_large", "not_regular", "symlink", "excluded",
        "other_fs", "pseudo_fs", "depth", "loop", "known_good",
        "unpack_depth", "members", "unpack_total", "ratio", "unpack_time",
        "encrypted", "not_unpacked", "link_member", "own_files", "outside",
    };
    return (unsigned)r < CS_SKIP__COUNT ? names[r] : "unknown";
}

cs_status cs_engine_new(cs_engine **out, const cs_config *cfg, cs_error *err)
{
    if (!out || !cfg)
        return cs_error_set(err, CS_ERR_ARG, "cs_engine_new: NULL argument");
    if (cfg->version != CS_CONFIG_VERSION) /* the first versioned layout: 2 */
        return cs_error_set(err, CS_ERR_ARG, "cs_config version %u not supported (this library: %d)",
                            cfg->version, CS_CONFIG_VERSION);
    if (cfg->notice_level > cfg->warning_level || cfg->warning_level > cfg->alert_level)
        return cs_error_set(err, CS_ERR_ARG, "score levels must satisfy notice <= warning <= alert");
    if (cs_detector_count > CS_MAX_DETECTORS)
        return cs_error_set(err, CS_ERR_INTERNAL, "too many detectors");
    cs_engine *e = calloc(1, sizeof *e);
    if (!e)
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    e->cfg = *cfg;
    if (e->cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        e->cfg.threads = n > 0 ? (unsigned)n : 1;
    }
    cs_filetypes_init(&e->types);
    pthread_mutex_init(&e->compile_mu, NULL);
    e->fingerprint = EVP_MD_CTX_new();
    if (!e->fingerprint || !EVP_DigestInit_ex(e->fingerprint, cs_md_sha256(), NULL)) {
        cs_engine_free(e);
        return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    }
    EVP_DigestUpdate(e->fingerprint, CS_VERSION, sizeof CS_VERSION);
    for (size_t i = 0; i < cs_detector_count; i++) {
        e->det[i] = cs_detectors[i]->create();
        if (!e->det[i]) {
            cs_engine_free(e);
            return cs_error_set(err, CS_ERR_NOMEM, "out of memory");
        }
    }
    *out = e;
    return CS_OK;
}

void cs_engine_free(cs_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < cs_detector_count; i++)
        if (e->det[i])
            cs_detectors[i]->destroy(e->det[i]);
    for (size_t i = 0; i < e->n_diags; i++) {
        free((char *)e->diags[i].file);
        free((char *)e->diags[i].message);
    }
    free(e->diags);
    for (size_t i = 0; i < e->n_ex_globs; i++)
        free(e->ex_globs[i]);
    free(e->ex_globs);
    for (size_t i = 0; i < e->n_ex_regex; i++)
        pcre2_code_free(e->ex_regex[i]);
    free(e->ex_regex);
    cs_filetypes_free(&e->types);
    cs_trust_free(e->trust);
    EVP_MD_CTX_free(e->fingerprint);
    free(e->state_path);
    free(e->cache_dir);
    free(e->own);
    free(e->pack_files);
    pthread_mutex_destroy(&e->compile_mu);
    free(e);
}

/* Everything that decides a verdict goes into the rules fingerprint: a
 * change to any loaded file invalidates the incremental state. */
static void fingerprint_file(cs_engine *e, const cs_pack_file *pf)
{
    EVP_DigestUpdate(e->fingerprint, pf->path, strlen(pf->path) + 1);
    if (pf->text)
        EVP_DigestUpdate(e->fingerprint, pf->text, pf->len);
}

/* Trust anchors and CRLs are read by OpenSSL from their path (a file or a
 * directory); their bytes join the fingerprint from a read of our own. */
static void fingerprint_path(cs_engine *e, const char *path)
{
    cs_error ignored;
    cs_pack_file pf = {path, NULL, 0};
    char *text = cs_read_text_file(path, &pf.len, &ignored);
    pf.text = text;
    fingerprint_file(e, &pf);
    free(text);
}

const char *cs_detector_names(void)
{
    static char names[256];
    if (!names[0]) {
        size_t at = 0;
        for (size_t d = 0; d < cs_detector_count && at < sizeof names; d++)
            at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", d ? "," : "", cs_detectors[d]->name);
    }
    return names;
}

static size_t detector_index(const char *name)
{
    /* signers.txt is matched by the Authenticode layer, which reads the signer */
    if (strcmp(name, "signer") == 0)
        name = "authenticode";
    size_t d = 0;
    while (d < cs_detector_count && strcmp(cs_detectors[d]->name, name) != 0)
        d++;
    return d;
}

cs_status cs_engine_only_detectors(cs_engine *e, const char *names, cs_error *err)
{
    int want[CS_MAX_DETECTORS] = {0};
    char *copy = cs_strdup(names), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        t = cs_trim(t);
        size_t d = detector_index(t);
        if (d == cs_detector_count) {
            cs_error_set(err, CS_ERR_ARG, "unknown detector '%s' (known: %s)", t, cs_detector_names());
            free(copy);
            return CS_ERR_ARG;
        }
        want[d] = 1;
    }
    free(copy);
    for (size_t d = 0; d < cs_detector_count; d++)
        e->disabled[d] = !want[d];
    return CS_OK;
}

const char *cs_engine_fingerprint(const cs_engine *e)
{
    return e->fingerprint_hex;
}

int cs_engine_runs_detector(const cs_engine *e, const char *name)
{
    size_t d = detector_index(name);
    return d < cs_detector_count && !e->disabled[d] && cs_detectors[d]->active(e->det[d]);
}

cs_status cs_engine_set_cache_dir(cs_engine *e, const char *dir, cs_error *err)
{
    struct stat sb;
    if (!dir)
        return cs_error_set(err, CS_ERR_ARG, "cache directory: none given");
    if (stat(dir, &sb) != 0)
        return cs_error_set(err, CS_ERR_ARG, "cache directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cs_error_set(err, CS_ERR_ARG, "cache directory %s: not a directory", dir);
    free(e->cache_dir);
    e->cache_dir = cs_strdup(dir);
    cs_engine_add_own_dir(e, &sb);
    return CS_OK;
}

void cs_engine_add_own_dir(cs_engine *e, const struct stat *st)
{
    for (size_t i = 0; i < e->n_own; i++)
        if (e->own[i].dev == st->st_dev && e->own[i].ino == st->st_ino)
            return;
    cs_grow((void **)&e->own, &e->own_cap, e->n_own + 1, sizeof *e->own);
    e->own[e->n_own].dev = st->st_dev;
    e->own[e->n_own].ino = st->st_ino;
    e->n_own++;
}

int cs_engine_is_own_dir(const cs_engine *e, const struct stat *st)
{
    if (e->cfg.scan_own_files || !st || !S_ISDIR(st->st_mode))
        return 0;
    for (size_t i = 0; i < e->n_own; i++)
        if (e->own[i].dev == st->st_dev && e->own[i].ino == st->st_ino)
            return 1;
    return 0;
}

cs_status cs_engine_set_state(cs_engine *e, const char *path, cs_error *err)
{
    if (!path || !*path)
        return cs_error_set(err, CS_ERR_ARG, "empty state path");
    free(e->state_path);
    e->state_path = cs_strdup(path);
    return CS_OK;
}

static cs_status engine_trust(cs_engine *e, cs_error *err)
{
    if (e->prepared)
        return cs_error_set(err, CS_ERR_ARG, "trust must be added before cs_engine_prepare");
    return e->trust ? CS_OK : cs_trust_new(&e->trust, err);
}

static cs_status engine_add_trust_unguarded(cs_engine *e, const char *pem_path, cs_error *err)
{
    cs_status st = engine_trust(e, err);
    if (st == CS_OK && (st = cs_trust_add(e->trust, pem_path, err)) == CS_OK)
        fingerprint_path(e, pem_path);
    return st;
}

static cs_status engine_add_crl_unguarded(cs_engine *e, const char *crl_path, cs_error *err)
{
    cs_status st = engine_trust(e, err);
    if (st == CS_OK && (st = cs_trust_add_crl(e->trust, crl_path, err)) == CS_OK)
        fingerprint_path(e, crl_path);
    return st;
}

void cs_engine_diag_add(cs_engine *e, const char *file, unsigned line, int is_error,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = cs_xmalloc((size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    cs_grow((void **)&e->diags, &e->diags_cap, e->n_diags + 1, sizeof *e->diags);
    e->diags[e->n_diags++] = (cs_diag){cs_strdup(file), line, is_error, msg};
}

size_t cs_engine_diag_count(const cs_engine *e)
{
    return e->n_diags;
}

const cs_diag *cs_engine_diag(const cs_engine *e, size_t i)
{
    return i < e->n_diags ? &e->diags[i] : NULL;
}

static cs_status engine_add_exclude_unguarded(cs_engine *e, const char *pattern, cs_error *err)
{
    if (!pattern || !*pattern)
        return cs_error_set(err, CS_ERR_ARG, "empty exclude pattern");
    if (strncmp(pattern, "re:", 3) == 0) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern + 3, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            return cs_error_set(err, CS_ERR_ARG, "exclude regex '%s': %s at offset %zu", pattern + 3,
                                (char *)msg, (size_t)off);
        }
        cs_grow((void **)&e->ex_regex, &e->ex_regex_cap, e->n_ex_regex + 1, sizeof *e->ex_regex);
        e->ex_regex[e->n_ex_regex++] = re;
        return CS_OK;
    }
    cs_grow((void **)&e->ex_globs, &e->ex_globs_cap, e->n_ex_globs + 1, sizeof *e->ex_globs);
    e->ex_globs[e->n_ex_globs++] = cs_strdup(pattern);
    return CS_OK;
}

static cs_status engine_add_exclude_file_unguarded(cs_engine *e, const char *path, cs_error *err)
{
    size_t len;
    char *text = cs_read_text_file(path, &len, err);
    if (!text)
        return err ? err->code : CS_ERR_IO;
    cs_line_iter it;
    cs_line_iter_init(&it, text, len);
    cs_status st = CS_OK;
    for (char *l; st == CS_OK && (l = cs_line_iter_next(&it)) != NULL;) {
        st = cs_engine_add_exclude(e, l, err);
        if (st != CS_OK)
            cs_error_set(err, st, "%s:%u: %s", path, it.lineno, err ? err->message : "bad exclude");
    }
    free(text);
    return st;
}

int cs_engine_is_excluded(const cs_engine *e, const char *path, const char *basename, void *match_data)
{
    for (size_t i = 0; i < e->n_ex_globs; i++)
        if (fnmatch(e->ex_globs[i], path, 0) == 0 || fnmatch(e->ex_globs[i], basename, 0) == 0)
            return 1;
    for (size_t i = 0; i < e->n_ex_regex && match_data; i++)
        if (pcre2_match(e->ex_regex[i], (PCRE2_SPTR)path, PCRE2_ZERO_TERMINATED, 0, 0, match_data, NULL) >= 0)
            return 1;
    return 0;
}

static int filetype_line(void *ud, char *line, const char *comment, const char **why)
{
    cs_engine *e = ud;
    (void)comment;
    int rc = cs_filetypes_add_line(&e->types, line, why);
    return rc < 0 ? CS_LINE_BAD : rc ? CS_LINE_OK : CS_LINE_SKIP;
}

static int skip_name(const char *name)
{
    /* hidden, backup and disabled files, as Loki does */
    return name[0] == '.' || name[0] == '~' || name[0] == '_';
}

/* Each pack file is loaded once, whichever packs name it. */
static int loaded_before(cs_engine *e, const struct stat *sb)
{
    for (size_t i = 0; i < e->n_pack_files; i++)
        if (e->pack_files[i].dev == sb->st_dev && e->pack_files[i].ino == sb->st_ino)
            return 1;
    cs_grow((void **)&e->pack_files, &e->pack_files_cap, e->n_pack_files + 1, sizeof *e->pack_files);
    e->pack_files[e->n_pack_files].dev = sb->st_dev;
    e->pack_files[e->n_pack_files].ino = sb->st_ino;
    e->n_pack_files++;
    return 0;
}

static cs_status load_dir(cs_engine *e, const char *dir, int depth, cs_error *err)
{
    if (depth > 16)
        return CS_OK;
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0)
        return cs_error_set(err, CS_ERR_IO, "pack %s: cannot list it: %s", dir, strerror(errno));
    cs_status st = CS_OK;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (st == CS_OK && !skip_name(name)) {
            cs_buf p = {0};
            cs_buf_printf(&p, "%s/%s", dir, name);
            struct stat sb;
            if (stat(p.data, &sb) != 0) {
                cs_engine_diag_add(e, p.data, 0, 0, "%s", strerror(errno));
            } else if (S_ISDIR(sb.st_mode)) {
                cs_error sub;
                if (load_dir(e, p.data, depth + 1, &sub) != CS_OK)
                    cs_engine_diag_add(e, p.data, 0, 1, "%s", sub.message);
            } else if (S_ISREG(sb.st_mode) && loaded_before(e, &sb)) {
                /* the same file through two packs (the bundled packs and one of them named again) */
            } else if (S_ISREG(sb.st_mode)) {
                /* one read: the fingerprint and the claiming detector share it */
                cs_error rerr;
                size_t len = 0;
                char *text = cs_read_text_file(p.data, &len, &rerr);
                if (!text)
                    cs_engine_diag_add(e, p.data, 0, 1, "%s", rerr.message);
                cs_pack_file pf = {p.data, text, len};
                fingerprint_file(e, &pf);
                if (strncmp(name, "file-type-signatures", 20) == 0) {
                    st = cs_load_lines(e, &pf, filetype_line, e, &e->filetype_sigs, err);
                } else {
                    for (size_t d = 0; d < cs_detector_count && st == CS_OK; d++)
                        if (cs_detectors[d]->claims && cs_detectors[d]->claims(name))
                            st = cs_detectors[d]->load(e->det[d], e, &pf, err);
                }
                free(text);
            }
            cs_buf_free(&p);
        }
        free(list[i]);
    }
    free(list);
    return st;
}

static cs_status engine_load_pack_unguarded(cs_engine *e, const char *dir, cs_error *err)
{
    struct stat sb;
    if (e->prepared)
        return cs_error_set(err, CS_ERR_ARG, "packs must be loaded before cs_engine_prepare");
    if (stat(dir, &sb) != 0)
        return cs_error_set(err, CS_ERR_ARG, "pack %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cs_error_set(err, CS_ERR_ARG, "pack %s: not a directory", dir);
    cs_engine_add_own_dir(e, &sb); /* its rules' strings would match themselves */
    return load_dir(e, dir, 0, err);
}

static cs_status engine_compile_unguarded(cs_engine *e, const char *unused, cs_error *err);

static cs_status engine_prepare_unguarded(cs_engine *e, const char *unused, cs_error *err)
{
    (void)unused;
    if (e->prepared)
        return CS_OK;
    /* settings that change verdicts are part of the fingerprint too; it is
     * final before the detectors compile (YARA keys its cache on it) */
    char knobs[256];
    const cs_config *c = &e->cfg;
    int k = snprintf(knobs, sizeof knobs,
                     "max_size=%llu products=%d archives=%d depth=%u members=%llu member_size=%llu total=%llu "
                     "ratio=%u detectors=",
                     (unsigned long long)c->max_size, c->products, !c->no_archives, c->max_unpack_depth,
                     (unsigned long long)c->max_members, (unsigned long long)c->max_member_size,
                     (unsigned long long)c->max_unpack_total, c->max_ratio);
    for (size_t d = 0; d < cs_detector_count && k < (int)sizeof knobs - 1; d++)
        knobs[k++] = e->disabled[d] ? '0' : '1';
    knobs[k] = '\0';
    EVP_DigestUpdate(e->fingerprint, knobs, strlen(knobs));
    unsigned char md[32];
    unsigned len;
    EVP_DigestFinal_ex(e->fingerprint, md, &len);
    cs_hex(e->fingerprint_hex, md, 32);
    e->prepared = 1;
    /* a rescan with the same rules: the store answers for unchanged files,
     * and nothing is compiled unless a file has changed */
    char saved[512];
    if (e->state_path && cs_state_peek_stats(e->state_path, e->fingerprint_hex, saved, sizeof saved) &&
        cs_load_stats_parse(saved, &e->saved_stats) == 0) {
        e->lazy = 1;
        return CS_OK;
    }
    cs_status rc = engine_compile_unguarded(e, NULL, err);
    if (rc != CS_OK)
        e->prepared = 0;
    return rc;
}

static cs_status engine_compile_unguarded(cs_engine *e, const char *unused, cs_error *err)
{
    (void)unused;
    int any = 0;
    for (size_t d = 0; d < cs_detector_count; d++) {
        const cs_detector_ops *ops = cs_detectors[d];
        if (ops->prepare) {
            cs_status st = ops->prepare(e->det[d], e, err);
            if (st != CS_OK)
                return st;
        }
        if (!e->disabled[d] && (ops->loaded ? ops->loaded(e->det[d]) : ops->active(e->det[d])))
            any = 1;
        if (!e->disabled[d] && ops->active(e->det[d]))
            e->hashes_wanted |= ops->hashes;
    }
    if (!any)
        return cs_error_set(err, CS_ERR_RULES, "no usable rules or IOCs were loaded");
    e->compiled = 1;
    return CS_OK;
}

void cs_load_stats_format(const cs_load_stats *s, char *out, size_t n)
{
    snprintf(out, n, "v1 %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu", s->hash_iocs, s->good_hashes,
             s->filename_iocs, s->filename_iocs_pcre, s->c2_iocs, s->yara_files, s->yara_files_skipped, s->yara_rules,
             s->yara_rules_guarded, s->signers, s->advisories, s->filetype_signatures);
}

int cs_load_stats_parse(const char *text, cs_load_stats *s)
{
    memset(s, 0, sizeof *s);
    int end = 0;
    int n = sscanf(text, "v1 %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu%n", &s->hash_iocs, &s->good_hashes,
                   &s->filename_iocs, &s->filename_iocs_pcre, &s->c2_iocs, &s->yara_files, &s->yara_files_skipped,
                   &s->yara_rules, &s->yara_rules_guarded, &s->signers, &s->advisories, &s->filetype_signatures,
                   &end);
    return n == 12 && text[end] == '\0' ? 0 : -1;
}

void cs_engine_load_stats(const cs_engine *e, cs_load_stats *out)
{
    if (e->lazy && !e->compiled) {
        *out = e->saved_stats;
        out->compiled = 0;
        return;
    }
    memset(out, 0, sizeof *out);
    out->compiled = e->compiled;
    for (size_t d = 0; d < cs_detector_count; d++)
        if (cs_detectors[d]->stats)
            cs_detectors[d]->stats(e->det[d], out);
    out->filetype_signatures = e->types.n;
}

/* Every entry point that allocates runs inside a guard: out of memory is
 * CS_ERR_NOMEM (the engine should then be freed), never abort(). */
typedef cs_status (*engine_call)(cs_engine *e, const char *arg, cs_error *err);

static cs_status guarded(engine_call fn, cs_engine *e, const char *arg, cs_error *err)
{
    cs_guard g;
    cs_status rc;
    cs_guard_enter(&g);
    if (sigsetjmp(g.jb, 1) == 0)
        rc = fn(e, arg, err);
    else
        rc = cs_error_set(err, g.why == CS_GUARD_NOMEM ? CS_ERR_NOMEM : CS_ERR_IO, "%s", cs_guard_message(g.why));
    cs_guard_leave(&g);
    return rc;
}

cs_status cs_engine_add_trust(cs_engine *e, const char *pem_path, cs_error *err)
{
    return guarded(engine_add_trust_unguarded, e, pem_path, err);
}

cs_status cs_engine_add_crl(cs_engine *e, const char *crl_path, cs_error *err)
{
    return guarded(engine_add_crl_unguarded, e, crl_path, err);
}

cs_status cs_engine_add_exclude(cs_engine *e, const char *pattern, cs_error *err)
{
    return guarded(engine_add_exclude_unguarded, e, pattern, err);
}

cs_status cs_engine_add_exclude_file(cs_engine *e, const char *path, cs_error *err)
{
    return guarded(engine_add_exclude_file_unguarded, e, path, err);
}

cs_status cs_engine_load_pack(cs_engine *e, const char *dir, cs_error *err)
{
    return guarded(engine_load_pack_unguarded, e, dir, err);
}

cs_status cs_engine_prepare(cs_engine *e, cs_error *err)
{
    return guarded(engine_prepare_unguarded, e, NULL, err);
}

void cs_engine_fail(cs_engine *e, const cs_error *why)
{
    pthread_mutex_lock(&e->compile_mu);
    if (!atomic_load(&e->compile_failed)) {
        e->compile_err = *why;
        if (e->compile_rc == CS_OK)
            e->compile_rc = why->code ? why->code : CS_ERR_INTERNAL;
        atomic_store(&e->compile_failed, 1);
    }
    pthread_mutex_unlock(&e->compile_mu);
}

cs_status cs_engine_compile(cs_engine *e, cs_error *err)
{
    pthread_mutex_lock(&e->compile_mu);
    if (!e->compiled && e->compile_rc == CS_OK) {
        cs_error ce = {0};
        e->compile_rc = guarded(engine_compile_unguarded, e, NULL, &ce);
        if (e->compile_rc != CS_OK) {
            e->compile_err = ce;
            atomic_store(&e->compile_failed, 1);
        }
    }
    cs_status rc = e->compiled ? CS_OK : e->compile_rc;
    if (rc != CS_OK && err)
        *err = e->compile_err;
    pthread_mutex_unlock(&e->compile_mu);
    return rc;
}
