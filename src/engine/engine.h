/* Internal view of the engine shared by the pipeline and the detectors. */
#ifndef CS_ENGINE_ENGINE_H
#define CS_ENGINE_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "chainsweep/authenticode.h"
#include "chainsweep/chainsweep.h"
#include "detect/detector.h"
#include "format/filetype.h"
#include "util/util.h"

#define CS_MAX_DETECTORS 16

struct cs_engine {
    cs_config cfg;
    unsigned hashes_wanted;     /* CS_HASH_* every file gets in one pass (the running layers') */
    cs_filetypes types;
    void *det[CS_MAX_DETECTORS];
    cs_diag *diags;
    size_t n_diags, diags_cap;
    char **ex_globs;
    size_t n_ex_globs, ex_globs_cap;
    void **ex_regex;                       /* pcre2_code* */
    size_t n_ex_regex, ex_regex_cap;
    size_t filetype_sigs;
    cs_trust *trust;                       /* anchors for Authenticode chains, or NULL */
    void *fingerprint;                     /* EVP_MD_CTX over everything loaded */
    char fingerprint_hex[65];              /* final, set by prepare */
    char *state_path;                      /* incremental state store, or NULL */
    char *cache_dir;                       /* compiled YARA sets, or NULL */
    int disabled[CS_MAX_DETECTORS];        /* --detectors left these out */
    int prepared;
    /* Lazy loading: with a state store that already holds this fingerprint,
     * prepare only checks the fingerprint; the detectors compile when the
     * first file the store cannot answer needs them (cs_engine_compile). */
    int lazy;
    int compiled;
    pthread_mutex_t compile_mu;
    cs_status compile_rc;                  /* of the one compile attempt */
    cs_error compile_err;
    atomic_int compile_failed;             /* the sweep stops: its rules could not be loaded */
    cs_load_stats saved_stats;             /* what the store says was loaded (lazy, not compiled) */
    atomic_int stop;                       /* cs_scan_stop: the one thing that changes after prepare */
    struct cs_own_dir { dev_t dev; ino_t ino; } *own; /* loaded packs, the cache: not scanned */
    size_t n_own, own_cap;
    struct cs_own_dir *pack_files;         /* every pack file loaded, once */
    size_t n_pack_files, pack_files_cap;
};

/* Compile what the detectors loaded, once, by the first caller (any
 * thread); later calls return the first one's status. A failure sets
 * compile_failed so that a sweep stops. */
cs_status cs_engine_compile(cs_engine *e, cs_error *err);
/* A sweep's fatal error after prepare (rules that could not be compiled,
 * a worker that could not start its detectors): the first is kept. */
void cs_engine_fail(cs_engine *e, const cs_error *why);
/* cs_load_stats as one line for the state store, and back (0 on success). */
void cs_load_stats_format(const cs_load_stats *s, char *out, size_t n);
int cs_load_stats_parse(const char *text, cs_load_stats *out);

/* chainsweep's own directories (every loaded pack, the cache): a sweep
 * does not enter them unless cs_config.scan_own_files. */
void cs_engine_add_own_dir(cs_engine *e, const struct stat *st);
int cs_engine_is_own_dir(const cs_engine *e, const struct stat *st);

/* Does the named detector run in scans (not left out by --detectors)? */
int cs_engine_runs_detector(const cs_engine *e, const char *name);

/* Path exclusion (globs and regexes from --exclude). match_data: a
 * pcre2_match_data* the caller owns (one per walk, not one per path). */
int cs_engine_is_excluded(const cs_engine *e, const char *path, const char *basename, void *match_data);

/* --cpu-limit: how long a worker that used cpu seconds of CPU in wall
 * seconds must sleep so that it stays at limit percent of one CPU. */
double cs_throttle_delay(int limit, double cpu, double wall);

#endif
