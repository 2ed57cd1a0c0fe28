/* The detector interface: a table of operations per layer, the findings a
 * detector adds for one file view, and the pack files it loads. Detectors
 * see only the view (view/view.h) and what the engine hands them. */
#ifndef CS_DETECT_DETECTOR_H
#define CS_DETECT_DETECTOR_H

#include "chainsweep/chainsweep.h"
#include "util/util.h"
#include "view/view.h"

/* ---- findings of one file ---- */

typedef struct cs_findings {
    cs_arena *arena;
    cs_reason *reasons;
    size_t n, cap;
    int suppressed;             /* a known-good hash: drop everything */
    int suppress_only;          /* the detector runs only to suppress (left out by --detectors) */
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

/* What detectors may use of the engine while loading and preparing. */
const cs_config *cs_engine_config(const cs_engine *e);
/* Compiled-rule cache directory, or NULL. */
const char *cs_engine_cache_dir(const cs_engine *e);
void cs_engine_diag_add(cs_engine *e, const char *file, unsigned line, int is_error,
                        const char *fmt, ...) CS_PRINTF(5, 6);


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
    unsigned hashes;                       /* CS_HASH_* it asks of every file: computed in
                                              the view's first digest pass, whoever asks first */
    int content_capped;                    /* skipped for content over cs_config.max_size */
    void *(*create)(void);
    void (*destroy)(void *st);
    /* Pack loading: claim files by name, then load them. */
    int (*claims)(const char *basename);
    cs_status (*load)(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err);
    /* Compile what was loaded; called once, before the scan. */
    cs_status (*prepare)(void *st, cs_engine *e, cs_error *err);
    int (*active)(const void *st);         /* runs in the scan? */
    /* Optional: it can suppress findings (known-good lists). Such a detector
     * still runs when --detectors leaves it out, with findings.suppress_only
     * set, so that trusted files stay trusted whatever layers run. */
    int (*suppresses)(const void *st);
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

/* Load an IOC-style pack file line by line: calls fn for every non-comment
 * line with the last comment as context; reports malformed lines. */
typedef int (*cs_ioc_line_fn)(void *ud, char *line, const char *comment, const char **why);
cs_status cs_load_lines(cs_engine *e, const cs_pack_file *pf, cs_ioc_line_fn fn, void *ud, size_t *n_ok,
                        cs_error *err);

#endif
