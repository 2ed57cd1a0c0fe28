/* Internal view of the engine shared by the pipeline and the detectors. */
#ifndef CS_ENGINE_ENGINE_H
#define CS_ENGINE_ENGINE_H

#include <sys/stat.h>

#include "chainsweep/authenticode.h"
#include "chainsweep/chainsweep.h"
#include "format/filetype.h"
#include "format/pe.h"
#include "util/util.h"

/* ---- the file view: one open, one mapping, hashes computed once ---- */

enum { CS_HASH_MD5 = 1, CS_HASH_SHA1 = 2, CS_HASH_SHA256 = 4, CS_HASH_ALL = 7 };

typedef struct cs_file {
    const char *path;
    size_t path_len;
    const char *name;           /* basename, points into path */
    size_t dir_len;             /* length of the directory part, no trailing '/' */
    char ext[32];               /* ".exe", lower case; "" when none or too long */
    struct stat st;
    const unsigned char *data;  /* NULL when the content was not read */
    size_t size;
    const char *filetype;
    unsigned hashes;            /* CS_HASH_* already computed */
    unsigned char md5[16], sha1[20], sha256[32];
    int pe_state;               /* 0 not parsed, 1 PE, -1 not a PE */
    cs_pe pe;
    cs_arena *arena;            /* the job's: strings that outlive the file */
    const cs_trust *trust;      /* Authenticode anchors, or NULL */
    int sig_state;              /* 0 not verified, 1 report, -1 no signature */
    cs_ac_report *sig;
    int product_state;          /* 0 not read, 1 product, -1 none */
    cs_product product;
    const char *product_error;  /* malformed version info, Info.plist... */
} cs_file;

/* Compute the missing hashes of mask in one pass over the mapped bytes. */
void cs_file_hash(cs_file *f, unsigned mask);
/* The PE headers, parsed on first use and shared by every detector;
 * NULL when the content is not a PE. */
const cs_pe *cs_file_pe(cs_file *f);
/* The Authenticode report of a signed PE, verified on first use and shared
 * by every detector; NULL when the file is not a signed PE. */
const cs_ac_report *cs_file_signature(cs_file *f, cs_error *err);
/* What the file says it is (PE version information; an MSI's Property
 * table; the Info.plist of the bundle whose main executable it is), read on
 * first use; NULL when it names nothing. Malformed data sets f->product_error. */
const cs_product *cs_file_product(cs_file *f);
/* Free what the view computed (the signature report). */
void cs_file_release(cs_file *f);

/* ---- findings of one file ---- */

typedef struct cs_findings {
    cs_arena *arena;
    cs_reason *reasons;
    size_t n, cap;
    int suppressed;             /* a known-good hash: drop everything */
    const char *warning;        /* partial scan (e.g. YARA timeout) */
} cs_findings;

/* Strings passed in must outlive the result (engine-owned or arena). */
cs_reason *cs_findings_add(cs_findings *out, const char *detector, const char *rule,
                           const char *description, int score);
/* Append one match to r; data is copied into the arena. */
void cs_reason_add_match(cs_findings *out, cs_reason *r, const char *id, uint64_t offset,
                         const unsigned char *data, size_t len);

/* ---- detectors ---- */

typedef struct cs_engine cs_engine;

/* A pack file, read once at load: its text feeds the rules fingerprint and
 * the detector that claims it. text is NULL when the file could not be read
 * (already diagnosed); otherwise NUL-terminated. */
typedef struct cs_pack_file {
    const char *path;
    const char *text;
    size_t len;
} cs_pack_file;

typedef struct cs_detector_ops {
    const char *name;
    int needs_content;                     /* 0: runs on the path alone */
    void *(*create)(void);
    void (*destroy)(void *st);
    /* Pack loading: claim files by name, then load them. */
    int (*claims)(const char *basename);
    cs_status (*load)(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err);
    /* Compile what was loaded; called once, before the scan. */
    cs_status (*prepare)(void *st, cs_engine *e, cs_error *err);
    int (*active)(const void *st);         /* runs in the scan? */
    /* Pack content loaded? (NULL: same as active). Detectors with built-in
     * checks are active without content, but alone they are not "rules". */
    int (*loaded)(const void *st);
    void (*stats)(const void *st, cs_load_stats *out);
    /* Per-worker state; NULL for detectors that need none (scan then gets
     * the detector state as its thread state). */
    void *(*thread_init)(void *st, cs_error *err);
    void (*thread_fini)(void *st, void *ts);
    cs_status (*scan)(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err);
} cs_detector_ops;

/* The one list of detectors, in scan order (cheap ones first; the hash
 * detector first among content detectors so known-good files stop early). */
extern const cs_detector_ops *const cs_detectors[];
extern const size_t cs_detector_count;

#define CS_MAX_DETECTORS 16

struct cs_engine {
    cs_config cfg;
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
};

/* Does the named detector run in scans (not left out by --detectors)? */
int cs_engine_runs_detector(const cs_engine *e, const char *name);

void cs_engine_diag_add(cs_engine *e, const char *file, unsigned line, int is_error,
                        const char *fmt, ...) CS_PRINTF(5, 6);

/* Path exclusion (globs and regexes from --exclude). match_data: a
 * pcre2_match_data* the caller owns (one per walk, not one per path). */
int cs_engine_is_excluded(const cs_engine *e, const char *path, const char *basename, void *match_data);

/* Load an IOC-style pack file line by line: calls fn for every non-comment
 * line with the last comment as context; reports malformed lines. */
typedef int (*cs_ioc_line_fn)(void *ud, char *line, const char *comment, const char **why);
cs_status cs_load_lines(cs_engine *e, const cs_pack_file *pf, cs_ioc_line_fn fn, void *ud, size_t *n_ok,
                        cs_error *err);

#endif
