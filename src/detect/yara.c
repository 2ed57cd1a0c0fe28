/* YARA rules through libyara: every .yar/.yara file is test-compiled on its
 * own (a broken file is reported with file:line and skipped), the good ones
 * go into one shared rule set, each in its own namespace so that a rule
 * name used twice across files does not sink the whole set. One scanner
 * per thread, THOR's externals set per file. */
#include <ctype.h>
#include <dirent.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <yara.h>

#include "detect/detector.h"
#include "detect/vectorscan.h"
#include "format/pe.h"
#include "format/yara_literals.h"
#include "format/yara_split.h"
#include "util/digest.h"

/* libyara (and libmagic), loaded when rules are compiled or read (util/lazylib.h) */
#define YARA_FUNCS(X)                                                                                           \
    X(yr_compiler_add_file)                                                                                     \
    X(yr_compiler_add_string)                                                                                   \
    X(yr_compiler_create)                                                                                       \
    X(yr_compiler_define_integer_variable)                                                                      \
    X(yr_compiler_define_string_variable)                                                                       \
    X(yr_compiler_destroy)                                                                                      \
    X(yr_compiler_get_rules)                                                                                    \
    X(yr_compiler_set_callback)                                                                                 \
    X(yr_finalize)                                                                                              \
    X(yr_initialize)                                                                                            \
    X(yr_rules_destroy)                                                                                         \
    X(yr_rules_load)                                                                                            \
    X(yr_rules_load_stream)                                                                                     \
    X(yr_rules_save_stream)                                                                                     \
    X(yr_scanner_create)                                                                                        \
    X(yr_scanner_define_integer_variable)                                                                       \
    X(yr_scanner_define_string_variable)                                                                        \
    X(yr_scanner_destroy)                                                                                       \
    X(yr_scanner_scan_mem)                                                                                      \
    X(yr_scanner_set_callback)                                                                                  \
    X(yr_scanner_set_flags)                                                                                     \
    X(yr_scanner_set_timeout)
CS_LAZY_API(ly, CS_SONAME_YARA, YARA_FUNCS)

#define YARA_DEFAULT_SCORE 75   /* THOR and Loki-RS: rules without "score" */
#define YARA_MAX_MATCHES 8      /* matched strings kept per rule */
#define YARA_MAX_DATA 64        /* bytes kept per matched string */

/* File classes (type x size tier): each gets its own rule set holding only
 * the rules whose guards (a magic at offset 0, a "filesize <" bound) can hold
 * for it, plus every unguarded rule. Large files skip the many rules meant
 * for small ones, which is where most of the bytes are. */
enum { CLASS_PE, CLASS_ELF, CLASS_MACHO, CLASS_OTHER, N_TYPES };
/* size tiers: empty files (only rules that need no byte run on them),
 * under 512 KiB (where most size-bounded rules stop: 100-500 KB), under
 * 2 MiB, 2 MiB and more (measured against 3 and 5 tiers: docs/performance.md) */
#define N_TIERS 4
#define N_CLASSES (N_TYPES * N_TIERS)
static const uint64_t tier_min[N_TIERS] = {0, 1, 512u << 10, 2u << 20};
static const uint64_t tier_max[N_TIERS] = {0, (512u << 10) - 1, (2u << 20) - 1, UINT64_MAX};
typedef uint32_t class_mask;       /* one bit per class */
_Static_assert(N_CLASSES <= 32, "a class_mask holds every class");

static int size_tier(uint64_t size)
{
    int t = 0;
    while (t + 1 < N_TIERS && size >= tier_min[t + 1])
        t++;
    return t;
}

static const struct {
    unsigned char bytes[4];
    size_t len;
    int cls;
} class_magics[] = {
    {{'M', 'Z'}, 2, CLASS_PE},
    {{0x7f, 'E', 'L', 'F'}, 4, CLASS_ELF},
    {{0xfe, 0xed, 0xfa, 0xce}, 4, CLASS_MACHO},
    {{0xfe, 0xed, 0xfa, 0xcf}, 4, CLASS_MACHO},
    {{0xce, 0xfa, 0xed, 0xfe}, 4, CLASS_MACHO},
    {{0xcf, 0xfa, 0xed, 0xfe}, 4, CLASS_MACHO},
    {{0xca, 0xfe, 0xba, 0xbe}, 4, CLASS_MACHO},
};
#define N_MAGICS (sizeof class_magics / sizeof *class_magics)

static int file_class(const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < N_MAGICS; i++)
        if (n >= class_magics[i].len && memcmp(d, class_magics[i].bytes, class_magics[i].len) == 0)
            return class_magics[i].cls;
    return CLASS_OTHER;
}

/* Can a rule with these guards match some file of type c? */
static int rule_fits_type(const cs_yara_rule_span *r, int c)
{
    if (!r->guard_len)
        return 1;
    if (c != CLASS_OTHER) {
        for (size_t i = 0; i < N_MAGICS; i++)
            if (class_magics[i].cls == c && cs_yara_guard_compatible(r, class_magics[i].bytes, class_magics[i].len))
                return 1;
        return 0;
    }
    /* OTHER holds every file not starting with a class magic: the rule fits
     * unless its guard already implies one of those magics */
    for (size_t i = 0; i < N_MAGICS; i++)
        if (r->guard_len >= class_magics[i].len && memcmp(r->guard, class_magics[i].bytes, class_magics[i].len) == 0)
            return 0;
    return 1;
}

typedef struct rule_file {
    char *path;
    char *text;
    size_t len;
    cs_yara_split split;
    unsigned char *filterable;     /* per rule: a literal prefilter can rule it out (prepare) */
    const class_mask *learned;     /* per rule: classes whose lean set runs it anyway (learned
                                      from earlier sweeps: LEARN_RULES), or NULL */
} rule_file;

/* The literal prefilter (format/yara_literals.c): most rules match only if
 * one of their literals occurs. Per class, a lean set holds the rules no
 * literal can rule out (and the rules they name); a file in which no
 * literal of the class's other rules occurs is scanned with the lean set. */
#define PREFILTER_MIN_QUALITY 16

/* Candidate sets: a file whose literals name a few of the rules a literal
 * can rule out runs its class's lean set and then a set of just those
 * rules (with the rules they name, as private ones), compiled when first
 * needed, kept in memory and in the cache. The full set's automaton and
 * its thousands of conditions cost as much again as the lean set; such a
 * small set costs one more pass over the bytes (docs/performance.md). More
 * candidates than CAND_MAX, an import-hash key, or a set
 * that cannot be built: the class's full set, as before. */
#define CAND_MAX 64
#define CAND_TABLE 8192            /* slots of the in-memory table (a power of two) */
#define CAND_KEEP 4096             /* sets kept in memory; past that, the full set */
#define CAND_SAVE_MAX 1024         /* sets written to the cache per run */
#define KSCAN_SLOTS 32             /* per thread: scanners of the sets used last */
#define CAND_SET_ID 99             /* in the cache: yara-<key>-99-<members>.yarc */

/* Learned lean sets: a file with candidates pays a second libyara pass, and
 * every pass costs at least 2.6 ns per byte whatever its rules. A few rules
 * are candidates in most files of a class (their literals are common in
 * real files), and a rule the lean set runs is never a candidate. So a
 * sweep counts, per class, the bytes of the files each rule was a candidate
 * in, and the cache keeps the LEARN_RULES most frequent rules of each class
 * with LEARN_MIN_FILES files (or LEARN_MIN_BYTES) with candidates and a
 * non-empty lean set: later sweeps with the same rules put them in that
 * class's lean set, and most files then need no second pass. Lossless
 * whatever the profile says: a rule moved to a lean set runs on every file
 * of the class (docs/performance.md). */
#define LEARN_RULES 20
#define LEARN_MIN_FILES 32
#define LEARN_MIN_BYTES (64u << 20) /* or files of this many bytes (a few large ones) */
#define LEARN_MAGIC "chainsweep yara profile 1\n"

typedef struct cand_set {
    uint64_t hash;                 /* 0: a free slot */
    uint32_t *rules;               /* rule numbers, ascending */
    size_t n;
    YR_RULES *set;                 /* NULL: could not be built (the full set runs) */
} cand_set;

typedef struct imphash_key {
    char hash[33];
    class_mask classes;              /* classes whose full set holds a rule asking for it */
} imphash_key;

typedef struct name_key {
    char *name;                    /* the "filename" external a rule asks for */
    size_t len;
    int caseless;                  /* iequals */
    class_mask classes;
    uint32_t rule;                 /* its rule's number */
} name_key;

typedef struct yara_state {
    rule_file *files_loaded;
    size_t n_files, files_cap;
    YR_RULES *rules[N_CLASSES];    /* classes with the same rules share one set */
    int owns[N_CLASSES];
    int partitioned;
    size_t files, skipped, n_rules, guarded;
    int needs_md5;
    int timeout;
    int initialized;
    /* the literal prefilter */
    int prefilter;
    YR_RULES *lean[N_CLASSES];
    int owns_lean[N_CLASSES];
    int lean_empty[N_CLASSES];     /* no rule at all: such a file needs no YARA pass */
    int lean_is_full[N_CLASSES];   /* no rule of the class is left out: no prefilter for it */
    hs_database_t *lits;
    hs_scratch_t *scratch;         /* cloned per thread */
    class_mask *lit_classes;         /* per literal: classes whose full set holds its rule */
    imphash_key *imphashes;        /* sorted */
    name_key *names;
    size_t n_lits, n_imphashes, n_names, n_filterable;
    size_t n_public_filtered;      /* public rules a literal can rule out that no lean set holds */
    /* candidate sets (the sources are kept for them) */
    cs_engine *engine;             /* the cache directory, at scan time */
    char key[33];                  /* the rules' cache key; "" when not cached */
    uint32_t *lit_rule;            /* per literal: its rule's number */
    size_t *rule_base;             /* per rule file: the number of its first rule */
    size_t n_numbers;              /* rule numbers in all */
    class_mask *lean_of;           /* per rule number: classes whose lean set holds it */
    pthread_mutex_t cand_lock;     /* also guards full sets loaded on demand */
    int cand_lock_ready;
    char *full_members[N_CLASSES]; /* a full set not kept in memory: its membership, to load it */
    int full_id[N_CLASSES];        /* the class whose number names its full set in the cache: the
                                      first of that membership (classes share equal sets) */
    int ready;                     /* prepared, with rules */
    cand_set *cands;               /* CAND_TABLE slots */
    size_t n_cands, cands_saved;
    /* learned lean sets */
    class_mask *learned;           /* per rule number: classes whose lean set the profile adds it to */
    class_mask learned_classes;    /* classes the profile has learned (perhaps with no rule) */
    int learning;                  /* this sweep counts candidates for the profile */
    int learn_lost;                /* a thread's counts were lost (no memory): no profile written */
    uint64_t *learn_bytes[N_CLASSES]; /* per class, per rule number: bytes of files it was a candidate in */
    uint64_t learn_files[N_CLASSES];  /* per class: files with candidates */
    uint64_t learn_total[N_CLASSES];  /* ... and their bytes */
} yara_state;

typedef struct name_cache {
    unsigned id;
    int valid;
    char name[64];
} name_cache;

typedef struct yara_thread {
    YR_SCANNER *scanner[N_CLASSES];
    YR_SCANNER *lean[N_CLASSES];   /* the lean sets' (the class's full one where they are equal) */
    hs_scratch_t *scratch;
    uint32_t cand[CAND_MAX];       /* this file's candidate rules */
    size_t n_cand;
    int cand_overflow;
    unsigned char *cand_seen;      /* per rule number */
    int prefiltering;              /* inside the Vectorscan pass */
    struct {
        YR_RULES *rules;
        YR_SCANNER *sc;
    } kscan[KSCAN_SLOTS];
    size_t kscan_next;
    cs_findings *out;
    name_cache owner, group;
    int scanning;              /* inside yr_scanner_scan_mem */
    uint64_t *learn_bytes[N_CLASSES]; /* this thread's counts (merged into the state's at its end) */
    uint64_t learn_files[N_CLASSES], learn_total[N_CLASSES];
    int learn_off;             /* no memory for the counts: this thread does not count */
} yara_thread;

static const char *const string_externals[] = {
    "filename", "filepath", "extension", "filetype", "md5", "owner", "group",
    "timezone", "language", "unpack_parent", "unpack_source",
};
static const char *const integer_externals[] = {"filemode", "osversion", "id"};

static void *yara_create(void)
{
    /* libyara is initialised when rules are compiled or loaded: a rescan
     * the store answers never needs it */
    return calloc(1, sizeof(yara_state));
}

static void free_names(yara_state *s)
{
    for (size_t i = 0; i < s->n_names; i++)
        free(s->names[i].name);
    free(s->names);
    s->names = NULL;
    s->n_names = 0;
}

static void profile_save(const yara_state *s);

static void yara_destroy(void *st)
{
    yara_state *s = st;
    profile_save(s);
    free(s->learned);
    for (int c = 0; c < N_CLASSES; c++)
        free(s->learn_bytes[c]);
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files_loaded[i].path);
        free(s->files_loaded[i].text);
        free(s->files_loaded[i].filterable);
        cs_yara_split_free(&s->files_loaded[i].split);
    }
    free(s->files_loaded);
    for (int c = 0; c < N_CLASSES; c++) {
        if (s->owns[c])
            ly.yr_rules_destroy(s->rules[c]);
        if (s->owns_lean[c])
            ly.yr_rules_destroy(s->lean[c]);
    }
    cs_hs_free_scratch(s->scratch);
    cs_hs_free_database(s->lits);
    free(s->lit_classes);
    free(s->imphashes);
    free_names(s);
    for (size_t i = 0; s->cands && i < CAND_TABLE; i++) {
        free(s->cands[i].rules);
        if (s->cands[i].set)
            ly.yr_rules_destroy(s->cands[i].set);
    }
    free(s->cands);
    for (int c = 0; c < N_CLASSES; c++)
        free(s->full_members[c]);
    free(s->lit_rule);
    free(s->rule_base);
    free(s->lean_of);
    if (s->cand_lock_ready)
        pthread_mutex_destroy(&s->cand_lock);
    if (s->initialized)
        ly.yr_finalize();
    free(s);
}

static int yara_claims(const char *basename)
{
    const char *dot = strrchr(basename, '.');
    return dot && (strcmp(dot, ".yar") == 0 || strcmp(dot, ".yara") == 0);
}

static int define_externals(YR_COMPILER *c)
{
    for (size_t i = 0; i < sizeof string_externals / sizeof *string_externals; i++)
        if (ly.yr_compiler_define_string_variable(c, string_externals[i], "") != ERROR_SUCCESS)
            return -1;
    for (size_t i = 0; i < sizeof integer_externals / sizeof *integer_externals; i++)
        if (ly.yr_compiler_define_integer_variable(c, integer_externals[i], 0) != ERROR_SUCCESS)
            return -1;
    return 0;
}

typedef struct compile_ctx {
    cs_engine *e;
    int report;
} compile_ctx;

static void on_compile_message(int level, const char *file, int line, const YR_RULE *rule, const char *msg,
                               void *ud)
{
    compile_ctx *c = ud;
    (void)rule;
    if (c->report && level == YARA_ERROR_LEVEL_ERROR)
        cs_engine_diag_add(c->e, file, line > 0 ? (unsigned)line : 0, 1, "%s", msg);
}

/* Does the rule text use the md5 external (not hash.md5)? Only then is an
 * MD5 computed for every file, as Loki always does. */
static int uses_md5_external(const char *text)
{
    static const char *const ops[] = {"==", "!=", "contains", "icontains", "matches", "startswith",
                                      "istartswith", "endswith", "iendswith", "iequals"};
    for (const char *p = text; (p = strstr(p, "md5")) != NULL; p += 3) {
        if (p > text && (isalnum((unsigned char)p[-1]) || strchr("_.$\"", p[-1])))
            continue;
        const char *q = p + 3;
        while (*q == ' ' || *q == '\t')
            q++;
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
            if (strncmp(q, ops[i], strlen(ops[i])) == 0)
                return 1;
    }
    return 0;
}

/* Add a rule file, or a rewritten view of it, from the text the pack loader
 * read: the file is never opened again. It goes in as a FILE* over that text
 * under the file's path, not as a string, so that libyara resolves relative
 * includes against the file's directory and names the file in its messages,
 * exactly as when it read the file itself. The namespace is the path. */
static int add_rule_file(YR_COMPILER *c, const char *path, const char *text, size_t len)
{
    if (len == 0) /* fmemopen may refuse an empty buffer; nothing to compile */
        return ly.yr_compiler_add_string(c, "", path);
    FILE *f = fmemopen((void *)text, len, "r");
    if (!f)
        return -1;
    int errors = ly.yr_compiler_add_file(c, f, path, path);
    fclose(f);
    return errors;
}

static size_t count_public_rules(YR_RULES *rules)
{
    size_t n = 0;
    YR_RULE *rule;
    yr_rules_foreach(rules, rule)
    {
        if (!RULE_IS_PRIVATE(rule))
            n++;
    }
    return n;
}

static cs_status yara_load(void *st, cs_engine *e, const cs_pack_file *pf, cs_error *err)
{
    yara_state *s = st;
    (void)e;
    (void)err;
    if (!pf->text) { /* diagnosed by the loader */
        s->skipped++;
        return CS_OK;
    }
    /* compiled in prepare: all files at once first, one by one only if that fails */
    cs_grow((void **)&s->files_loaded, &s->files_cap, s->n_files + 1, sizeof *s->files_loaded);
    rule_file *rf = &s->files_loaded[s->n_files++];
    memset(rf, 0, sizeof *rf);
    rf->path = cs_strdup(pf->path);
    rf->text = cs_xmalloc(pf->len + 1); /* kept until prepare */
    memcpy(rf->text, pf->text, pf->len + 1);
    rf->len = pf->len;
    return CS_OK; /* split in prepare: a rescan that compiles nothing needs no split */
}

/* Compile each file alone, report and drop the ones that fail. */
static cs_status drop_broken_files(yara_state *s, cs_engine *e, cs_error *err)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        rule_file *rf = &s->files_loaded[i];
        YR_COMPILER *test;
        if (ly.yr_compiler_create(&test) != ERROR_SUCCESS || define_externals(test) != 0) {
            for (; i < s->n_files; i++) /* the rest stays, unchecked: the list stays whole */
                s->files_loaded[kept++] = s->files_loaded[i];
            s->n_files = kept;
            return cs_error_set(err, CS_ERR_NOMEM, "cannot create a YARA compiler");
        }
        compile_ctx c = {e, 1};
        ly.yr_compiler_set_callback(test, on_compile_message, &c);
        int errors = add_rule_file(test, rf->path, rf->text, rf->len);
        ly.yr_compiler_destroy(test);
        if (errors != 0) {
            cs_engine_diag_add(e, rf->path, 0, 0, "rule file skipped: it does not compile");
            s->skipped++;
            free(rf->path);
            free(rf->text);
            free(rf->filterable); /* set when a prefilter was tried first (a stale compile mark) */
            cs_yara_split_free(&rf->split);
            continue;
        }
        s->files_loaded[kept++] = *rf;
    }
    s->n_files = kept;
    return CS_OK;
}

static int rule_fits_class(const cs_yara_rule_span *r, int c)
{
    return rule_fits_type(r, c / N_TIERS) && cs_yara_size_compatible(r, tier_min[c % N_TIERS]) &&
           cs_yara_fits_below(r, tier_max[c % N_TIERS]);
}

/* Every rule a kept rule names, directly or not, is kept too (keep[] 1). */
static void keep_named(const rule_file *rf, unsigned char *keep)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < rf->split.n; i++)
            for (size_t k = 0; keep[i] && k < rf->split.rules[i].n_deps; k++) {
                size_t d = rf->split.deps[rf->split.rules[i].deps_at + k];
                if (!keep[d])
                    keep[d] = 1, changed = 1;
            }
    }
}

/* Which rules of the file class c compiles: those that can match it and
 * those they name; for the lean set (lean != 0), only those a literal
 * cannot rule out or the profile adds, and every rule they name. One byte
 * per rule; the caller frees. */
static unsigned char *class_keep(const rule_file *rf, int c, int lean)
{
    unsigned char *keep = cs_xmalloc(rf->split.n ? rf->split.n : 1);
    for (size_t i = 0; i < rf->split.n; i++)
        keep[i] = (unsigned char)(rule_fits_class(&rf->split.rules[i], c) &&
                                  !(lean && rf->filterable && rf->filterable[i] &&
                                    !(rf->learned && (rf->learned[i] & (1u << c)))));
    if (!lean)
        cs_yara_keep_referenced(&rf->split, keep);
    else
        keep_named(rf, keep);
    return keep;
}

/* Does a kept rule (keep[i] != 0) of rf use the module of import im:
 * "module." in its text, read from t (rf's text or a view of the same
 * layout)? libyara loads every imported module for every file (the pe
 * module alone sets hundreds of values per file), so a view leaves out
 * the imports no rule of it uses. */
static int module_used(const rule_file *rf, const char *t, const unsigned char *keep, const cs_yara_import *im)
{
    char use[40];
    int n = snprintf(use, sizeof use, "%s.", im->module);
    for (size_t i = 0; i < rf->split.n; i++) {
        const cs_yara_rule_span *r = &rf->split.rules[i];
        if (keep[i] && r->end <= rf->len && memmem(t + r->start, r->end - r->start, use, (size_t)n) != NULL)
            return 1;
    }
    return 0;
}

/* The rule file as class c (or its lean set) sees it: rules that cannot
 * match c blanked out (newlines kept, so compiler messages keep their line
 * numbers). */
static char *class_view(const rule_file *rf, int c, int lean)
{
    if (rf->split.whole_file)
        return NULL; /* compiled as it is */
    char *t = cs_strndup(rf->text, rf->len);
    unsigned char *keep = class_keep(rf, c, lean);
    for (size_t i = 0; i < rf->split.n; i++) {
        const cs_yara_rule_span *r = &rf->split.rules[i];
        if (keep[i])
            continue;
        for (size_t k = r->start; k < r->end && k < rf->len; k++)
            if (t[k] != '\n')
                t[k] = ' ';
    }
    for (size_t m = 0; m < rf->split.n_imports; m++) {
        const cs_yara_import *im = &rf->split.imports[m];
        if (module_used(rf, t, keep, im))
            continue;
        for (size_t k = im->start; k < im->end && k < rf->len; k++)
            if (t[k] != '\n')
                t[k] = ' ';
    }
    free(keep);
    return t;
}

/* A candidate set's view of rule file rf: the imports its rules use, the
 * candidates (keep[i] 2) as they are and the rules they name (keep[i] 1)
 * as private rules, so that only candidates are reported from this set
 * (the others cannot match, or the lean set reports them). */
static char *candidate_view(const rule_file *rf, const unsigned char *keep, size_t *len)
{
    cs_buf b = {0};
    for (size_t m = 0; m < rf->split.n_imports; m++) {
        const cs_yara_import *im = &rf->split.imports[m];
        if (im->end <= rf->len && module_used(rf, rf->text, keep, im)) {
            cs_buf_append(&b, rf->text + im->start, im->end - im->start);
            cs_buf_append(&b, "\n", 1);
        }
    }
    for (size_t i = 0; i < rf->split.n; i++) {
        const cs_yara_rule_span *r = &rf->split.rules[i];
        if (!keep[i] || r->end > rf->len)
            continue;
        if (keep[i] == 1 && !r->is_private)
            cs_buf_puts(&b, "private ");
        cs_buf_append(&b, rf->text + r->start, r->end - r->start);
        cs_buf_append(&b, "\n", 1);
    }
    cs_buf_append(&b, "", 0);
    *len = b.len;
    return b.data;
}

static cs_status build_set(yara_state *s, cs_engine *e, int c, int lean, YR_RULES **out, cs_error *err)
{
    YR_COMPILER *comp;
    if (ly.yr_compiler_create(&comp) != ERROR_SUCCESS || define_externals(comp) != 0)
        return cs_error_set(err, CS_ERR_NOMEM, "cannot create a YARA compiler");
    compile_ctx cc = {e, 0}; /* a failure is diagnosed file by file */
    ly.yr_compiler_set_callback(comp, on_compile_message, &cc);
    for (size_t i = 0; i < s->n_files; i++) {
        const rule_file *rf = &s->files_loaded[i];
        char *t = c < 0 ? NULL : class_view(rf, c, lean);
        int errors = add_rule_file(comp, rf->path, t ? t : rf->text, rf->len); /* a view keeps the length */
        free(t);
        if (errors) {
            ly.yr_compiler_destroy(comp);
            return cs_error_set(err, CS_ERR_RULES, "%s compiled alone but not in the rule set",
                                s->files_loaded[i].path);
        }
    }
    int rc = ly.yr_compiler_get_rules(comp, out);
    ly.yr_compiler_destroy(comp);
    if (rc != ERROR_SUCCESS)
        return cs_error_set(err, CS_ERR_RULES, "YARA: cannot build the rule set (error %d)", rc);
    return CS_OK;
}

/* A compiled set written to memory and read back: the compiler's arenas
 * hold about 10 MB however few rules there are (196 candidate sets took a
 * first run to 2.1 GB), a set read back only what it uses. The bytes are
 * what the cache file holds: a set in use is never saved (libyara's save
 * rewrites the set's pointers while it runs, and leaves them rewritten
 * when a write fails). */
typedef struct mem_stream {
    unsigned char *data;
    size_t len, cap, pos;
} mem_stream;

static size_t mem_write(const void *p, size_t size, size_t count, void *ud)
{
    mem_stream *m = ud;
    size_t n = size * count;
    if (m->cap - m->len < n) {
        size_t cap = (m->cap ? m->cap * 2 : 65536) + n;
        unsigned char *d = realloc(m->data, cap);
        if (!d)
            return 0;
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    return count;
}

static size_t mem_read(void *p, size_t size, size_t count, void *ud)
{
    mem_stream *m = ud;
    size_t n = size * count;
    if (m->len - m->pos < n)
        return 0;
    memcpy(p, m->data + m->pos, n);
    m->pos += n;
    return count;
}

static int compact_rules(YR_RULES **set, mem_stream *m)
{
    YR_STREAM st = {m, mem_read, mem_write};
    YR_RULES *back = NULL;
    int ok = ly.yr_rules_save_stream(*set, &st) == ERROR_SUCCESS && ly.yr_rules_load_stream(&st, &back) == ERROR_SUCCESS;
    ly.yr_rules_destroy(*set); /* saved or not, its pointers may be rewritten */
    *set = ok ? back : NULL;
    return ok ? 0 : -1;
}

/* A candidate set: the rules numbered rules[0..n) (ascending), with the
 * rules they name, each file's in its own namespace as in the full sets;
 * *bytes: the set saved (for the cache). */
static int build_candidate_set(const yara_state *s, const uint32_t *rules, size_t n, YR_RULES **out, mem_stream *bytes)
{
    YR_COMPILER *comp;
    if (ly.yr_compiler_create(&comp) != ERROR_SUCCESS)
        return -1;
    int rc = define_externals(comp);
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < s->n_files && k < n; i++) {
        const rule_file *rf = &s->files_loaded[i];
        size_t base = s->rule_base[i], nr = rf->split.n;
        if (rules[k] >= base + nr)
            continue;
        unsigned char *keep = cs_xmalloc(nr ? nr : 1);
        memset(keep, 0, nr ? nr : 1);
        for (; k < n && rules[k] < base + nr; k++)
            keep[rules[k] - base] = 2;
        keep_named(rf, keep);
        size_t len;
        char *text = candidate_view(rf, keep, &len);
        rc = add_rule_file(comp, rf->path, text, len) != 0 ? -1 : 0;
        free(text);
        free(keep);
    }
    if (rc == 0 && ly.yr_compiler_get_rules(comp, out) != ERROR_SUCCESS)
        rc = -1;
    ly.yr_compiler_destroy(comp);
    if (rc == 0)
        rc = compact_rules(out, bytes);
    return rc;
}

/* ---- compiled-set cache: <dir>/yara-<fingerprint>-<set>-<members>.yarc ---- */

/* The cache key covers the rule files alone (paths and text) and this
 * build's class layout: other packs or detectors do not invalidate it. */
static void rules_key(const yara_state *s, char out[33])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned len = 0;
    char layout[128];
    /* v2: class views leave out unused module imports; v3: rules named by
     * a kept rule are kept, the others get the size bounds of magic reads
     * and pe values */
    snprintf(layout, sizeof layout, "%s/%d/%d/%d/v3/lean%d", YR_VERSION, N_TYPES, N_TIERS, (int)sizeof(YR_RULES *),
             PREFILTER_MIN_QUALITY);
    if (ctx && EVP_DigestInit_ex(ctx, cs_md_sha256(), NULL)) {
        EVP_DigestUpdate(ctx, layout, strlen(layout));
        EVP_DigestUpdate(ctx, tier_min, sizeof tier_min);
        for (size_t i = 0; i < s->n_files; i++) {
            EVP_DigestUpdate(ctx, s->files_loaded[i].path, strlen(s->files_loaded[i].path) + 1);
            EVP_DigestUpdate(ctx, s->files_loaded[i].text, s->files_loaded[i].len);
        }
        EVP_DigestFinal_ex(ctx, md, &len);
    }
    EVP_MD_CTX_free(ctx);
    cs_hex(out, md, 16);
}

/* A set's file: the rule files' key, the set's number and a digest of
 * which rules it holds (members: a '1' or '0' per rule). A change in the
 * splitter or the literal analysis that moves a rule in or out of a set
 * names another file: a set from the cache never holds other rules than
 * this build would put in it. */
static void cache_path(char *out, size_t n, const cs_engine *e, const char *key, int c, const char *members)
{
    uint64_t h = cs_fnv1a(CS_FNV1A_INIT, members, strlen(members));
    snprintf(out, n, "%s/yara-%.32s-%d-%016llx.yarc", cs_engine_cache_dir(e), key, c, (unsigned long long)h);
}

static int cache_load(const cs_engine *e, const char *key, int c, const char *members, YR_RULES **out)
{
    char p[4096];
    if (!cs_engine_cache_dir(e) || !key)
        return -1;
    cache_path(p, sizeof p, e, key, c, members);
    if (ly.yr_rules_load(p, out) != ERROR_SUCCESS)
        return -1;
    utimes(p, NULL); /* recently used: kept by cache_prune */
    return 0;
}

/* A set's saved bytes into its cache file: a cache that cannot be written
 * is only slower next time. */
static void cache_write(const cs_engine *e, const char *key, int c, const char *members, const mem_stream *m)
{
    char p[4096];
    cs_error ignored;
    cache_path(p, sizeof p, e, key, c, members);
    cs_write_file_replace(p, m->data, m->len, 0644, &ignored);
}

/* Save a set just compiled (not yet in use): it is read back from the
 * saved bytes (compact_rules), which go to the cache. A cache that cannot
 * be written is only slower next time; CS_OK unless the set itself was
 * lost (*rules NULL: out of memory). */
static cs_status cache_save(const cs_engine *e, const char *key, int c, const char *members, YR_RULES **rules,
                            cs_error *err)
{
    if (!cs_engine_cache_dir(e) || !key)
        return CS_OK;
    mem_stream m = {0};
    if (compact_rules(rules, &m) != 0) {
        free(m.data);
        return cs_error_set(err, CS_ERR_NOMEM, "YARA: a compiled rule set could not be saved");
    }
    cache_write(e, key, c, members, &m);
    free(m.data);
    return CS_OK;
}

/* Keep the sets of the few most recently used rule versions (a machine may
 * alternate between packs); older ones are dead weight. */
#define CACHE_KEEP_VERSIONS 8

static void cache_prune(const cs_engine *e, const char *key)
{
    DIR *d = cs_engine_cache_dir(e) ? opendir(cs_engine_cache_dir(e)) : NULL;
    if (!d)
        return;
    struct {
        char fp[33];
        long long newest; /* ns: versions written within one second are still ordered */
    } seen[64];
    size_t n_seen = 0;
    struct dirent *de;
    char p[4400];
    for (int pass = 0; pass < 2; pass++) {
        rewinddir(d);
        while ((de = readdir(d)) != NULL) {
            const char *name = de->d_name;
            size_t len = strlen(name);
            if (strncmp(name, "yara-", 5) != 0 || len < 5 + 32 + 5 ||
                (strcmp(name + len - 5, ".yarc") != 0 && strcmp(name + len - 5, ".hsdb") != 0 &&
                 strcmp(name + len - 5, ".prof") != 0 && strcmp(name + len - 3, ".ok") != 0))
                continue;
            snprintf(p, sizeof p, "%s/%s", cs_engine_cache_dir(e), name);
            struct stat sb;
            if (stat(p, &sb) != 0)
                continue;
            size_t i = 0;
            while (i < n_seen && strncmp(seen[i].fp, name + 5, 32) != 0)
                i++;
            long long mt = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
            if (pass == 0) {
                if (i == n_seen && n_seen < 64) {
                    memcpy(seen[n_seen].fp, name + 5, 32);
                    seen[n_seen].fp[32] = '\0';
                    seen[n_seen++].newest = mt;
                } else if (i < n_seen && mt > seen[i].newest) {
                    seen[i].newest = mt;
                }
                continue;
            }
            /* pass 1: drop versions with CACHE_KEEP_VERSIONS newer ones */
            if (strncmp(name + 5, key, 32) == 0 || i == n_seen)
                continue;
            size_t newer = 0; /* a total order: time, then the fingerprint on a tie */
            for (size_t k = 0; k < n_seen; k++)
                newer += seen[k].newest > seen[i].newest ||
                         (seen[k].newest == seen[i].newest && strcmp(seen[k].fp, seen[i].fp) > 0);
            if (newer >= CACHE_KEEP_VERSIONS)
                unlink(p);
        }
    }
    closedir(d);
}

/* The profile of earlier sweeps with these rules (LEARN_RULES). */
static void profile_path(char *out, size_t n, const cs_engine *e, const char *key)
{
    snprintf(out, n, "%s/yara-%.32s-learned.prof", cs_engine_cache_dir(e), key);
}

/* Read the profile into s->learned and s->learned_classes; this sweep
 * counts candidates (s->learning) when a profile can be written for its
 * rules. A profile that is missing or not wholly well formed is no
 * profile. Its entries only move rules into lean sets, which is lossless;
 * class_keep still leaves out a rule that cannot match the class. */
static void profile_load(yara_state *s, const cs_engine *e, const char *key)
{
    s->learned = calloc(s->n_numbers + 1, sizeof *s->learned);
    if (!s->learned || !key || !cs_engine_cache_dir(e) || s->skipped)
        return; /* with dropped files, rule numbers name other rules */
    s->learning = 1;
    char path[4200];
    profile_path(path, sizeof path, e, key);
    size_t len = 0;
    cs_error ignored;
    char *text = cs_read_text_file(path, &len, &ignored);
    if (!text || strncmp(text, LEARN_MAGIC, strlen(LEARN_MAGIC)) != 0 || strlen(text) != len) {
        free(text);
        return;
    }
    int ok = 1;
    char *save = NULL;
    for (char *line = strtok_r(text + strlen(LEARN_MAGIC), "\n", &save); line && ok;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned c = 0, r = 0;
        int end = 0;
        if (sscanf(line, "class %u%n", &c, &end) == 1 && line[end] == '\0' && c < N_CLASSES)
            s->learned_classes |= (class_mask)(1u << c);
        else if (sscanf(line, "rule %u %u%n", &c, &r, &end) == 2 && line[end] == '\0' && c < N_CLASSES &&
                 r < s->n_numbers && (s->learned_classes & (1u << c)))
            s->learned[r] |= (class_mask)(1u << c);
        else
            ok = 0;
    }
    free(text);
    if (!ok) {
        memset(s->learned, 0, (s->n_numbers + 1) * sizeof *s->learned);
        s->learned_classes = 0;
    }
}

/* This sweep's counts, for a class the profile has not learned: the rule
 * numbers of this file's candidates (t->cand) and its size. */
static void profile_count(const yara_state *s, yara_thread *t, int c, uint64_t size)
{
    if (!s->learning || t->learn_off || (s->learned_classes & (1u << c)))
        return;
    if (!t->learn_bytes[c] && !(t->learn_bytes[c] = calloc(s->n_numbers + 1, sizeof *t->learn_bytes[c]))) {
        t->learn_off = 1; /* only a profile less well informed: it is not written */
        return;
    }
    for (size_t i = 0; i < t->n_cand; i++)
        t->learn_bytes[c][t->cand[i]] += size;
    t->learn_files[c]++;
    t->learn_total[c] += size;
}

/* A thread's counts into the state's (at its end). */
static void profile_merge(yara_state *s, yara_thread *t)
{
    if (!s->learning || !s->cand_lock_ready)
        return;
    pthread_mutex_lock(&s->cand_lock); /* other threads may still scan: they read s->learning */
    s->learn_lost |= t->learn_off;
    for (int c = 0; c < N_CLASSES && !s->learn_lost; c++) {
        if (!t->learn_bytes[c])
            continue;
        if (!s->learn_bytes[c] && !(s->learn_bytes[c] = calloc(s->n_numbers + 1, sizeof *s->learn_bytes[c]))) {
            s->learn_lost = 1;
            break;
        }
        for (size_t r = 0; r < s->n_numbers; r++)
            s->learn_bytes[c][r] += t->learn_bytes[c][r];
        s->learn_files[c] += t->learn_files[c];
        s->learn_total[c] += t->learn_total[c];
    }
    pthread_mutex_unlock(&s->cand_lock);
}

/* Write the profile when this sweep learned a class it did not have (one
 * with LEARN_MIN_FILES files or LEARN_MIN_BYTES with candidates, and a lean
 * set: where it is empty, a file without candidates needs no pass at all,
 * and one with candidates a single one already): the classes it had, as they
 * were, and the new ones. A class once learned stays as it is, so its lean
 * set is compiled once (a cache that cannot be written is only slower next
 * time). */
static void profile_save(const yara_state *s)
{
    if (!s->learning || s->learn_lost || !s->engine || !s->key[0] || !s->learned)
        return;
    class_mask add = 0;
    for (int c = 0; c < N_CLASSES; c++) /* (lean_empty: of the set without learned rules, then) */
        if (!(s->learned_classes & (1u << c)) && s->learn_bytes[c] && !s->lean_empty[c] &&
            (s->learn_files[c] >= LEARN_MIN_FILES || s->learn_total[c] >= LEARN_MIN_BYTES))
            add |= (class_mask)(1u << c);
    if (!add)
        return;
    cs_buf b = {0};
    cs_buf_puts(&b, LEARN_MAGIC);
    for (int c = 0; c < N_CLASSES; c++)
        if ((s->learned_classes | add) & (1u << c))
            cs_buf_printf(&b, "class %d\n", c);
    for (size_t r = 0; r < s->n_numbers; r++)
        for (int c = 0; c < N_CLASSES; c++)
            if (s->learned[r] & s->learned_classes & (1u << c))
                cs_buf_printf(&b, "rule %d %zu\n", c, r);
    for (int c = 0; c < N_CLASSES; c++) {
        if (!(add & (1u << c)))
            continue;
        uint64_t below = UINT64_MAX; /* the LEARN_RULES rules with the most bytes, in order */
        size_t last = SIZE_MAX;
        for (int k = 0; k < LEARN_RULES; k++) {
            size_t best = SIZE_MAX;
            for (size_t r = 0; r < s->n_numbers; r++) {
                uint64_t v = s->learn_bytes[c][r];
                if (v && (v < below || (v == below && r > last)) &&
                    (best == SIZE_MAX || v > s->learn_bytes[c][best]))
                    best = r;
            }
            if (best == SIZE_MAX)
                break;
            cs_buf_printf(&b, "rule %d %zu\n", c, best);
            below = s->learn_bytes[c][best];
            last = best;
        }
    }
    char path[4200];
    cs_error ignored;
    profile_path(path, sizeof path, s->engine, s->key);
    if (b.data)
        cs_write_file_replace(path, b.data, b.len, 0644, &ignored);
    cs_buf_free(&b);
}

/* Which rules class c keeps, one byte per rule of every splittable file:
 * classes with equal membership share one compiled set. */
static char *class_membership(const yara_state *s, int c, int lean)
{
    cs_buf b = {0};
    for (size_t i = 0; i < s->n_files; i++) {
        unsigned char *keep = class_keep(&s->files_loaded[i], c, lean);
        for (size_t k = 0; k < s->files_loaded[i].split.n; k++)
            cs_buf_append(&b, keep[k] ? "1" : "0", 1);
        free(keep);
    }
    if (!b.data)
        cs_buf_append(&b, "", 0);
    return b.data;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Public rules across these sets (one per class, some shared, some NULL),
 * each counted once (a rule sits in every class its guards admit, and in
 * at least one). */
static size_t count_distinct_public_rules(YR_RULES *const *sets)
{
    cs_buf names = {0};
    size_t n = 0;
    for (int c = 0; c < N_CLASSES; c++) {
        int seen = !sets[c];
        for (int k = 0; k < c && !seen; k++)
            seen = sets[k] == sets[c];
        if (seen)
            continue;
        YR_RULE *rule;
        yr_rules_foreach(sets[c], rule)
        {
            if (RULE_IS_PRIVATE(rule))
                continue;
            cs_buf_append(&names, rule->ns->name, strlen(rule->ns->name) + 1);
            cs_buf_append(&names, rule->identifier, strlen(rule->identifier) + 1);
            n++;
        }
    }
    char **v = n ? malloc(n * sizeof *v) : NULL;
    size_t distinct = 0;
    if (v) {
        /* "namespace\0identifier\0" pairs: join each into one key */
        char *p = names.data;
        for (size_t i = 0; i < n; i++) {
            v[i] = p;
            p += strlen(p);
            *p++ = '\x01';
            p += strlen(p) + 1;
        }
        qsort(v, n, sizeof *v, by_string);
        for (size_t i = 0; i < n; i++)
            distinct += i == 0 || strcmp(v[i], v[i - 1]) != 0;
    }
    free(v);
    free(names.data);
    return distinct;
}

static void release_sets(yara_state *s)
{
    for (int c = 0; c < N_CLASSES; c++) {
        if (s->owns[c])
            ly.yr_rules_destroy(s->rules[c]);
        s->owns[c] = 0;
        s->rules[c] = NULL;
    }
}

/* Point every class at its set: shared with an earlier class of the same
 * membership, loaded from the cache, or (when build is set) compiled, the
 * "all rules" set being reused for classes that keep every rule. Without
 * build, any cache miss fails. Sets are cached only when no rule file was
 * dropped, so a broken file is diagnosed on every run. */
static cs_status assign_class_sets(yara_state *s, cs_engine *e, const char *key, YR_RULES **all, int build,
                                   cs_error *err)
{
    char *members[N_CLASSES] = {0};
    cs_status rc = CS_OK;
    for (int c = 0; c < N_CLASSES && rc == CS_OK; c++) {
        members[c] = class_membership(s, c, 0);
        int same = -1;
        for (int k = 0; k < c && same < 0; k++)
            if (strcmp(members[k], members[c]) == 0)
                same = k;
        if (same >= 0) {
            s->rules[c] = s->rules[same];
        } else if (cache_load(e, key, c, members[c], &s->rules[c]) == 0) {
            s->owns[c] = 1;
        } else if (!build) {
            rc = CS_ERR_RULES;
        } else {
            if (*all && !strchr(members[c], '0')) { /* keeps every rule */
                s->rules[c] = *all;
                *all = NULL;
            } else {
                rc = build_set(s, e, c, 0, &s->rules[c], err);
            }
            if (rc == CS_OK && s->skipped == 0)
                rc = cache_save(e, key, c, members[c], &s->rules[c], err);
            s->owns[c] = rc == CS_OK;
        }
    }
    for (int c = 0; c < N_CLASSES; c++)
        free(members[c]);
    if (rc != CS_OK)
        release_sets(s);
    return rc;
}

/* What the sources say: whether the md5 external is used, how many rules
 * carry a guard. */
static void survey_sources(yara_state *s)
{
    s->needs_md5 = 0;
    s->guarded = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        if (uses_md5_external(s->files_loaded[i].text))
            s->needs_md5 = 1;
        for (size_t k = 0; k < s->files_loaded[i].split.n; k++) {
            const cs_yara_rule_span *r = &s->files_loaded[i].split.rules[k];
            s->guarded += r->guard_len != 0 || r->max_size != 0;
        }
    }
}

/* All rule files in one set: the files that do not compile are reported
 * and dropped (*all NULL when none is left). */
static cs_status check_all(yara_state *s, cs_engine *e, YR_RULES **all, cs_error *err)
{
    *all = NULL;
    cs_status rc = build_set(s, e, -1, 0, all, err);
    if (rc != CS_OK) {
        if ((rc = drop_broken_files(s, e, err)) != CS_OK)
            return rc;
        survey_sources(s);
        if (s->n_files == 0)
            return CS_OK;
        if ((rc = build_set(s, e, -1, 0, all, err)) != CS_OK)
            return rc;
    }
    s->n_rules = count_public_rules(*all);
    return CS_OK;
}

/* The rule files compiled together once (check_all, nothing dropped): a
 * mark in the cache, so that a later start with the same files need not
 * compile them all again to know it. */
static void compiles_mark(const cs_engine *e, const char *key, char *out, size_t n)
{
    snprintf(out, n, "%s/yara-%.32s-compiles.ok", cs_engine_cache_dir(e), key);
}

/* The class sets from all (check_all's; compiled here when NULL). */
static cs_status compile_class_sets(yara_state *s, cs_engine *e, const char *key, YR_RULES *all, cs_error *err)
{
    cs_status rc = CS_OK;
    if (!all && s->n_files && (rc = build_set(s, e, -1, 0, &all, err)) != CS_OK)
        return rc;
    if (all)
        s->n_rules = count_public_rules(all);
    if (s->partitioned) {
        rc = assign_class_sets(s, e, key, &all, 1, err);
        if (rc != CS_OK) { /* never lose rules over an optimisation */
            cs_engine_diag_add(e, NULL, 0, 0, "YARA: per-file-class rule sets failed (%s); one set for all files",
                               err ? err->message : "");
            s->partitioned = 0;
            rc = CS_OK;
        }
    }
    if (!s->partitioned) {
        release_sets(s);
        if (!all)
            rc = build_set(s, e, -1, 0, &all, err);
        s->rules[0] = all;
        s->owns[0] = all != NULL;
        all = NULL;
        for (int c = 1; c < N_CLASSES; c++)
            s->rules[c] = s->rules[0];
    }
    if (all)
        ly.yr_rules_destroy(all);
    return rc;
}

/* Compile the rules: all files at once, one by one only if that fails (to
 * drop the broken ones), then one set per file class unless that is off or
 * fails. */
static cs_status compile_sets(yara_state *s, cs_engine *e, const char *key, cs_error *err)
{
    YR_RULES *all;
    cs_status rc = check_all(s, e, &all, err);
    if (rc != CS_OK || s->n_files == 0)
        return rc;
    return compile_class_sets(s, e, key, all, err);
}

/* ---- the literal prefilter ---- */

typedef struct lit_list {
    const char **ptr;
    size_t *len;
    unsigned *flags, *ids;
    uint32_t *rule;                /* the number of the rule it is a literal of */
    size_t n, cap_ptr, cap_len, cap_flags, cap_ids, cap_classes, cap_rule;
} lit_list;

static void lit_push(lit_list *l, class_mask **classes, const char *p, size_t n, int caseless, class_mask mask,
                     uint32_t rule)
{
    cs_grow((void **)&l->rule, &l->cap_rule, l->n + 1, sizeof *l->rule);
    l->rule[l->n] = rule;
    cs_grow((void **)&l->ptr, &l->cap_ptr, l->n + 1, sizeof *l->ptr);
    cs_grow((void **)&l->len, &l->cap_len, l->n + 1, sizeof *l->len);
    cs_grow((void **)&l->flags, &l->cap_flags, l->n + 1, sizeof *l->flags);
    cs_grow((void **)&l->ids, &l->cap_ids, l->n + 1, sizeof *l->ids);
    cs_grow((void **)classes, &l->cap_classes, l->n + 1, sizeof **classes);
    l->ptr[l->n] = p;
    l->len[l->n] = n;
    l->flags[l->n] = HS_FLAG_SINGLEMATCH | (caseless ? HS_FLAG_CASELESS : 0);
    l->ids[l->n] = (unsigned)l->n;
    (*classes)[l->n] = mask;
    l->n++;
}

static int by_imphash(const void *a, const void *b)
{
    return strcmp(((const imphash_key *)a)->hash, ((const imphash_key *)b)->hash);
}

/* Vectorscan's literal API takes a literal that starts with NUL for an
 * empty one: such a literal goes in without its leading NULs (the rest is
 * required as well). */
static size_t leading_nuls(const unsigned char *p, size_t n)
{
    size_t k = 0;
    while (k < n && p[k] == 0)
        k++;
    return k;
}

/* The compiled literal database: from the cache when its literal list is
 * the same (the name carries a digest of the list), else compiled. */
static hs_database_t *literal_database(const cs_engine *e, const char *key, const lit_list *l, cs_error *err)
{
    const char *why;
    if (!cs_hs_load(&why)) {
        cs_error_set(err, CS_ERR_RULES, "Vectorscan: %s", why);
        return NULL;
    }
    char name[64];
    snprintf(name, sizeof name, "yara-%.32s-literals", key ? key : "");
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    if (cs_hs_compile_lit_cached(key ? cs_engine_cache_dir(e) : NULL, name, l->ptr, l->flags, l->ids, l->len,
                                 (unsigned)l->n, &db, &ce) != HS_SUCCESS) {
        cs_error_set(err, CS_ERR_RULES, "%s", ce && ce->message ? ce->message : "cannot compile");
        cs_hs.hs_free_compile_error(ce);
        return NULL;
    }
    return db;
}

/* Point every class at its lean set: the full one when nothing is left out,
 * shared with an earlier class of the same membership, from the cache, or
 * compiled. */
static cs_status assign_lean_sets(yara_state *s, cs_engine *e, const char *key, cs_error *err)
{
    char *lean[N_CLASSES] = {0};
    cs_status rc = CS_OK;
    for (int c = 0; c < N_CLASSES && rc == CS_OK; c++) {
        char *full = class_membership(s, c, 0);
        lean[c] = class_membership(s, c, 1);
        int same = -1;
        for (int k = 0; k < c && same < 0; k++)
            if (strcmp(lean[k], lean[c]) == 0)
                same = k;
        s->lean_is_full[c] = strcmp(full, lean[c]) == 0;
        if (s->lean_is_full[c] && !s->rules[c]) { /* a warm start loads full sets only where needed */
            int k = s->full_id[c];
            if (k != c && s->rules[k]) {
                s->rules[c] = s->rules[k];
            } else {
                if (cache_load(e, key, k, full, &s->rules[c]) != 0) { /* a cold start builds no full set */
                    rc = build_set(s, e, c, 0, &s->rules[c], err);
                    if (rc == CS_OK && s->skipped == 0)
                        rc = cache_save(e, key, k, full, &s->rules[c], err);
                }
                s->owns[c] = s->rules[c] != NULL;
            }
        }
        if (s->lean_is_full[c]) {
            s->lean[c] = s->rules[c];
        } else if (same >= 0) {
            s->lean[c] = s->lean[same];
        } else if (cache_load(e, key, N_CLASSES + c, lean[c], &s->lean[c]) == 0) {
            s->owns_lean[c] = 1;
        } else {
            rc = build_set(s, e, c, 1, &s->lean[c], err);
            if (rc == CS_OK && s->skipped == 0)
                rc = cache_save(e, key, N_CLASSES + c, lean[c], &s->lean[c], err);
            s->owns_lean[c] = rc == CS_OK;
        }
        free(full);
    }
    for (int c = 0; c < N_CLASSES; c++) {
        free(lean[c]);
        YR_RULE *rule;
        size_t n = 0;
        if (rc == CS_OK)
            yr_rules_foreach(s->lean[c], rule) n++;
        s->lean_empty[c] = rc == CS_OK && n == 0;
    }
    return rc;
}

/* Which rules a literal can rule out, their literals and import hashes,
 * the lean sets. Anything that fails leaves the prefilter off: never a
 * rule lost over an optimisation. */
static void prefilter_prepare(yara_state *s, cs_engine *e, const char *key)
{
    lit_list l = {0};
    class_mask *classes = NULL;
    size_t imp_cap = 0, names_cap = 0;
    cs_yara_needs *needs = NULL;
    size_t needs_cap = 0, n_needs = 0;
    s->n_filterable = 0;
    s->n_public_filtered = 0;
    /* rule numbers, and which lean sets hold each rule (there, a candidate
     * set need not run it) */
    s->rule_base = cs_xmalloc((s->n_files + 1) * sizeof *s->rule_base);
    s->n_numbers = 0;
    for (size_t i = 0; i < s->n_files; i++) {
        s->rule_base[i] = s->n_numbers;
        s->n_numbers += s->files_loaded[i].split.n;
    }
    s->lean_of = cs_xmalloc((s->n_numbers + 1) * sizeof *s->lean_of);
    memset(s->lean_of, 0, (s->n_numbers + 1) * sizeof *s->lean_of);
    profile_load(s, e, key);
    for (size_t i = 0; i < s->n_files; i++) {
        rule_file *rf = &s->files_loaded[i];
        rf->learned = s->learned ? s->learned + s->rule_base[i] : NULL;
        rf->filterable = cs_xmalloc(rf->split.n ? rf->split.n : 1);
        memset(rf->filterable, 0, rf->split.n ? rf->split.n : 1);
        if (rf->split.whole_file)
            continue;
        unsigned char *keep[N_CLASSES];
        for (int c = 0; c < N_CLASSES; c++)
            keep[c] = class_keep(rf, c, 0);
        for (size_t r = 0; r < rf->split.n; r++) {
            cs_grow((void **)&needs, &needs_cap, n_needs + 1, sizeof *needs);
            cs_yara_needs *n = &needs[n_needs++];
            cs_yara_rule_needs(rf->text, &rf->split, r, needs + (n_needs - 1 - r), PREFILTER_MIN_QUALITY, n);
            int ok = n->filterable;
            for (size_t k = 0; ok && k < n->n; k++)
                if (n->lits[k].kind == CS_YARA_LIT_BYTES &&
                    leading_nuls(n->bytes + n->lits[k].at, n->lits[k].len) == n->lits[k].len)
                    ok = 0;
            if (!ok)
                continue;
            class_mask mask = 0;
            for (int c = 0; c < N_CLASSES; c++)
                mask |= (class_mask)(keep[c][r] ? 1u << c : 0);
            rf->filterable[r] = 1;
            s->n_filterable++;
            for (size_t k = 0; k < n->n; k++) {
                const cs_yara_literal *lit = &n->lits[k];
                const unsigned char *p = n->bytes + lit->at;
                if (lit->kind == CS_YARA_LIT_IMPHASH) {
                    cs_grow((void **)&s->imphashes, &imp_cap, s->n_imphashes + 1, sizeof *s->imphashes);
                    imphash_key *ik = &s->imphashes[s->n_imphashes++];
                    memcpy(ik->hash, p, 32);
                    ik->hash[32] = '\0';
                    ik->classes = mask;
                    continue;
                }
                if (lit->kind == CS_YARA_LIT_FILENAME) {
                    cs_grow((void **)&s->names, &names_cap, s->n_names + 1, sizeof *s->names);
                    name_key *nk = &s->names[s->n_names++];
                    nk->name = cs_xmalloc(lit->len + 1);
                    memcpy(nk->name, p, lit->len);
                    nk->name[lit->len] = '\0';
                    nk->len = lit->len;
                    nk->caseless = lit->caseless;
                    nk->classes = mask;
                    nk->rule = (uint32_t)(s->rule_base[i] + r);
                    continue;
                }
                size_t skip = leading_nuls(p, lit->len);
                lit_push(&l, &classes, (const char *)p + skip, lit->len - skip, lit->caseless, mask,
                         (uint32_t)(s->rule_base[i] + r));
            }
        }
        for (int c = 0; c < N_CLASSES; c++) {
            free(keep[c]);
            unsigned char *lean = class_keep(rf, c, 1);
            for (size_t r = 0; r < rf->split.n; r++)
                if (lean[r])
                    s->lean_of[s->rule_base[i] + r] |= (class_mask)(1u << c);
            free(lean);
        }
        for (size_t r = 0; r < rf->split.n; r++)
            s->n_public_filtered += rf->filterable[r] && !rf->split.rules[r].is_private && !s->lean_of[s->rule_base[i] + r];
    }
    cs_error err = {0};
    if (s->n_filterable && l.n) {
        if (s->n_imphashes > 1)
            qsort(s->imphashes, s->n_imphashes, sizeof *s->imphashes, by_imphash);
        size_t w = 0; /* one key per hash, the classes of all its rules */
        for (size_t i = 0; i < s->n_imphashes; i++) {
            if (w && !strcmp(s->imphashes[w - 1].hash, s->imphashes[i].hash))
                s->imphashes[w - 1].classes |= s->imphashes[i].classes;
            else
                s->imphashes[w++] = s->imphashes[i];
        }
        s->n_imphashes = w;
        s->lits = literal_database(e, key, &l, &err);
        if (s->lits && cs_hs.hs_alloc_scratch(s->lits, &s->scratch) != HS_SUCCESS)
            cs_error_set(&err, CS_ERR_NOMEM, "no scratch space");
        else if (s->lits && assign_lean_sets(s, e, key, &err) == CS_OK)
            s->prefilter = 1;
        if (!s->prefilter)
            cs_engine_diag_add(e, NULL, 0, 0, "YARA: literal prefilter off (%s)", err.message);
    }
    if (!s->prefilter) { /* what was built goes */
        s->learning = 0;
        for (int c = 0; c < N_CLASSES; c++) {
            if (s->owns_lean[c])
                ly.yr_rules_destroy(s->lean[c]);
            s->lean[c] = NULL;
            s->owns_lean[c] = 0;
        }
        cs_hs_free_scratch(s->scratch);
        cs_hs_free_database(s->lits);
        s->scratch = NULL;
        s->lits = NULL;
        free(classes);
        classes = NULL;
        free(s->imphashes);
        s->imphashes = NULL;
        s->n_imphashes = 0;
        free_names(s);
    }
    s->lit_classes = classes;
    s->lit_rule = s->prefilter ? l.rule : NULL;
    if (!s->prefilter)
        free(l.rule);
    s->n_lits = l.n;
    for (size_t i = 0; i < n_needs; i++)
        cs_yara_needs_free(&needs[i]);
    free(needs);
    free(l.ptr);
    free(l.len);
    free(l.flags);
    free(l.ids);
}

typedef struct literal_hit {
    const yara_state *s;
    yara_thread *t;
    class_mask bit;
} literal_hit;

/* Rule r can match this file of class bit: a candidate, unless the lean
 * set runs it anyway. 1 past CAND_MAX candidates (the full set runs). */
static int add_candidate(const yara_state *s, yara_thread *t, class_mask bit, uint32_t r)
{
    if ((s->lean_of[r] & bit) || t->cand_seen[r])
        return 0;
    if (t->n_cand == CAND_MAX) {
        t->cand_overflow = 1;
        return 1;
    }
    t->cand_seen[r] = 1;
    t->cand[t->n_cand++] = r;
    return 0;
}

/* A literal of the file's class: its rule is a candidate. */
static int on_literal(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ud)
{
    (void)from, (void)to, (void)flags;
    literal_hit *h = ud;
    if (!(h->s->lit_classes[id] & h->bit))
        return 0;
    return add_candidate(h->s, h->t, h->bit, h->s->lit_rule[id]);
}

enum { PF_LEAN, PF_CANDIDATES, PF_FULL };

/* Which rules a literal could rule out can match this file of class c:
 * none (PF_LEAN), the candidates in t->cand (PF_CANDIDATES), or any
 * (PF_FULL: in doubt, or too many). */
static int prefilter_hit(const yara_state *s, yara_thread *t, cs_file *f, int c)
{
    class_mask bit = (class_mask)(1u << c);
    /* pe.imphash() is undefined for a file without "MZ" (libyara's pe
     * module needs it): the import hash keys matter for PE files only */
    if (s->n_imphashes && c / N_TIERS == CLASS_PE) {
        const char *mine = cs_file_imphash(f);
        const cs_pe *pe;
        /* a PE without an import directory: libyara hashes nothing (MD5 of
         * ""); pefile, and so our report field, has no import hash at all.
         * Only when the directory's address is 0 in a slot both readers
         * see: an address that leads nowhere here may lead to imports in
         * libyara's reading (it ignores NumberOfRvaAndSizes) */
        if (!mine && (pe = cs_file_pe(f)) != NULL && pe->n_dirs > CS_PE_DIR_IMPORT &&
            pe->dir_va[CS_PE_DIR_IMPORT] == 0)
            mine = "d41d8cd98f00b204e9800998ecf8427e";
        imphash_key want;
        if (!mine) {
            for (size_t i = 0; i < s->n_imphashes; i++)
                if (s->imphashes[i].classes & bit)
                    return PF_FULL;
        } else {
            memcpy(want.hash, mine, sizeof want.hash);
            const imphash_key *k = bsearch(&want, s->imphashes, s->n_imphashes, sizeof want, by_imphash);
            if (k && (k->classes & bit))
                return PF_FULL;
        }
    }
    if (f->size > UINT_MAX)
        return PF_FULL;
    t->n_cand = 0;
    t->cand_overflow = 0;
    /* the file's name, as the scanner gives libyara's "filename": its
     * rules are candidates */
    size_t name_len = strlen(f->name);
    for (size_t i = 0; i < s->n_names && !t->cand_overflow; i++) {
        const name_key *k = &s->names[i];
        if ((k->classes & bit) && k->len == name_len &&
            (k->caseless ? strncasecmp(k->name, f->name, name_len) : memcmp(k->name, f->name, name_len)) == 0)
            add_candidate(s, t, bit, k->rule);
    }
    literal_hit h = {s, t, bit};
    t->prefiltering = 1;
    hs_error_t rc = cs_hs.hs_scan(s->lits, (const char *)f->data, (unsigned int)f->size, 0, t->scratch, on_literal, &h);
    t->prefiltering = 0;
    for (size_t i = 0; i < t->n_cand; i++)
        t->cand_seen[t->cand[i]] = 0;
    if (t->cand_overflow || (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED))
        return PF_FULL;
    return t->n_cand ? PF_CANDIDATES : PF_LEAN;
}

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Find the rules list in the table: its slot, or the free slot where it
 * would go. Called with the lock held. */
static size_t cand_slot(const yara_state *s, uint64_t h, const uint32_t *rules, size_t n)
{
    size_t i = (size_t)h & (CAND_TABLE - 1);
    while (s->cands[i].hash &&
           !(s->cands[i].hash == h && s->cands[i].n == n && memcmp(s->cands[i].rules, rules, n * sizeof *rules) == 0))
        i = (i + 1) & (CAND_TABLE - 1);
    return i;
}

/* The compiled set of this file's candidates (t->cand, sorted here): from
 * memory, the cache, or compiled (outside the lock: two threads may build
 * the same set, and one keeps it). NULL: the full set runs. */
static YR_RULES *candidate_set(yara_state *s, yara_thread *t)
{
    qsort(t->cand, t->n_cand, sizeof *t->cand, by_u32);
    uint64_t h = cs_fnv1a(CS_FNV1A_INIT, t->cand, t->n_cand * sizeof *t->cand);
    h = h ? h : 1;
    pthread_mutex_lock(&s->cand_lock);
    size_t i = cand_slot(s, h, t->cand, t->n_cand);
    int known = s->cands[i].hash != 0, full = s->n_cands >= CAND_KEEP;
    YR_RULES *set = s->cands[i].set;
    pthread_mutex_unlock(&s->cand_lock);
    if (known || full)
        return set;
    /* the cache names a set by its members: the view's version (k2: the
     * candidates, the rules they name as private ones) and the rule numbers */
    cs_buf members = {0};
    cs_buf_puts(&members, "k2");
    for (size_t k = 0; k < t->n_cand; k++)
        cs_buf_printf(&members, ",%u", (unsigned)t->cand[k]);
    mem_stream bytes = {0};
    int cached = s->key[0] && cache_load(s->engine, s->key, CAND_SET_ID, members.data, &set) == 0;
    if (!cached && build_candidate_set(s, t->cand, t->n_cand, &set, &bytes) != 0)
        set = NULL;
    uint32_t *copy = malloc(t->n_cand * sizeof *copy);
    pthread_mutex_lock(&s->cand_lock);
    i = cand_slot(s, h, t->cand, t->n_cand);
    int save = 0;
    if (s->cands[i].hash || !copy || s->n_cands >= CAND_KEEP) { /* another thread's, or no room */
        if (set)
            ly.yr_rules_destroy(set);
        set = s->cands[i].hash ? s->cands[i].set : NULL;
        free(copy);
    } else {
        memcpy(copy, t->cand, t->n_cand * sizeof *copy);
        s->cands[i] = (cand_set){h, copy, t->n_cand, set};
        s->n_cands++;
        /* rule numbers name other rules when a file was dropped: not cached then */
        save = set && !cached && s->key[0] && !s->skipped && s->cands_saved < CAND_SAVE_MAX;
        s->cands_saved += save;
    }
    pthread_mutex_unlock(&s->cand_lock);
    if (save) /* the bytes the set was read back from, not the set */
        cache_write(s->engine, s->key, CAND_SET_ID, members.data, &bytes);
    free(bytes.data);
    cs_buf_free(&members);
    return set;
}

/* Which class names each full set in the cache (full_id), and is every
 * one there? Nothing is loaded. */
static int class_sets_cached(yara_state *s, const cs_engine *e, const char *key)
{
    char p[4096], *members[N_CLASSES];
    struct stat sb;
    int all = key && cs_engine_cache_dir(e); /* without a cache: only full_id */
    for (int c = 0; c < N_CLASSES; c++) {
        members[c] = class_membership(s, c, 0);
        s->full_id[c] = c;
        for (int k = 0; k < c && s->full_id[c] == c; k++)
            if (strcmp(members[k], members[c]) == 0)
                s->full_id[c] = k;
        if (all) {
            cache_path(p, sizeof p, e, key, s->full_id[c], members[c]);
            all &= stat(p, &sb) == 0;
        }
    }
    for (int c = 0; c < N_CLASSES; c++)
        free(members[c]);
    return all;
}

/* With the prefilter, a class's full set runs only for files with more
 * candidates than a candidate set takes, or an import hash or file name
 * key (34 of the bench's 841 files): full sets that are in the cache and
 * serve no class as its lean set are let go after prepare and loaded again
 * when a file first needs one. A warm start does not load them at all
 * (class_sets_cached). */
static void release_full_sets(yara_state *s, const char *key)
{
    char p[4096];
    struct stat sb;
    for (int c = 0; c < N_CLASSES; c++) {
        YR_RULES *set = s->rules[c];
        int lean = 0;
        for (int x = 0; x < N_CLASSES; x++)
            lean |= s->lean[x] == set;
        if (!s->owns[c] || lean)
            continue;
        char *members = class_membership(s, c, 0);
        cache_path(p, sizeof p, s->engine, key, c, members);
        free(members);
        if (stat(p, &sb) != 0)
            continue; /* not in the cache: kept */
        for (int k = 0; k < N_CLASSES; k++)
            if (s->rules[k] == set) {
                s->rules[k] = NULL;
                s->full_members[k] = class_membership(s, k, 0);
            }
        ly.yr_rules_destroy(set);
        s->owns[c] = 0;
    }
}

/* Class c's full set: loaded again (or built from the kept sources) the
 * first time a file needs it, outside the lock (a build allocates, and an
 * allocation failure leaves through the engine's guard); another class's
 * of the same membership is shared. NULL when it can be neither. */
static YR_RULES *full_set(yara_state *s, int c)
{
    pthread_mutex_lock(&s->cand_lock);
    YR_RULES *set = s->rules[c];
    for (int k = 0; !set && k < N_CLASSES; k++)
        if (k != c && s->rules[k] && s->full_id[k] == s->full_id[c])
            set = s->rules[c] = s->rules[k];
    pthread_mutex_unlock(&s->cand_lock);
    if (set)
        return set;
    cs_error ignored;
    if (cache_load(s->engine, s->key[0] ? s->key : NULL, s->full_id[c], s->full_members[c], &set) != 0) {
        if (build_set(s, s->engine, c, 0, &set, &ignored) != CS_OK)
            return NULL;
        /* not in use yet: saved (and compacted) before another thread sees it */
        if (s->key[0] && !s->skipped &&
            cache_save(s->engine, s->key, s->full_id[c], s->full_members[c], &set, &ignored) != CS_OK)
            return NULL;
    }
    pthread_mutex_lock(&s->cand_lock);
    if (s->rules[c]) { /* another thread's came first */
        ly.yr_rules_destroy(set);
        set = s->rules[c];
    } else {
        s->rules[c] = set;
        s->owns[c] = 1;
    }
    pthread_mutex_unlock(&s->cand_lock);
    return set;
}

/* After compiling, the compilers' memory goes back to the system before
 * the scan maps files (every cached set was already read back from its
 * saved bytes by cache_save: no compiler arena is left in a set). */
static void trim_after_compile(int warm)
{
#ifdef __GLIBC__
    if (!warm)
        malloc_trim(0);
#else
    (void)warm;
#endif
}

static cs_status yara_prepare(void *st, cs_engine *e, cs_error *err)
{
    yara_state *s = st;
    s->timeout = cs_engine_config(e)->yara_timeout;
    if (s->n_files == 0)
        return CS_OK;
    if (!s->initialized) {
        const char *why;
        if (!ly_load(&why))
            return cs_error_set(err, CS_ERR_RULES, "YARA: %s", why);
        if (ly.yr_initialize() != ERROR_SUCCESS)
            return cs_error_set(err, CS_ERR_INTERNAL, "libyara cannot be initialised");
        s->initialized = 1;
    }
    for (size_t i = 0; i < s->n_files; i++)
        cs_yara_split_parse(s->files_loaded[i].text, s->files_loaded[i].len, &s->files_loaded[i].split);
    survey_sources(s);
    s->partitioned = !cs_engine_config(e)->no_yara_partition && s->guarded > 0;
    /* the key covers the files as given, before any is dropped; included
     * files are not part of it, so rule sets with includes are not cached */
    char key_text[33];
    const char *key = key_text;
    rules_key(s, key_text);
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files_loaded[i].split.has_include)
            key = NULL;
    cs_status rc = CS_OK;
    /* a warm cache: nothing compiled, and with the prefilter the full sets
     * are loaded only where a file needs one (full_set). With the
     * prefilter no full set is compiled on a cold start either: the rule
     * files are compiled together once to find the broken ones (check_all;
     * a mark in the cache says they were), then only the lean sets */
    char mark[4200] = "";
    struct stat sb;
    int cached = s->partitioned && key && cs_engine_cache_dir(e);
    int warm = class_sets_cached(s, e, cached ? key : NULL) && cached;
    if (cached)
        compiles_mark(e, key, mark, sizeof mark);
    int checked = warm || (mark[0] && stat(mark, &sb) == 0);
    YR_RULES *all = NULL;
    if (!checked) {
        rc = check_all(s, e, &all, err);
        if (rc == CS_OK && mark[0] && s->n_files && s->skipped == 0) {
            cs_error ignored; /* without the mark, the next start checks again */
            cs_write_file_replace(mark, "", 0, 0644, &ignored);
        }
    }
    s->files = s->n_files;
    if (rc == CS_OK && s->partitioned && s->n_files)
        prefilter_prepare(s, e, key);
    if (rc == CS_OK && s->prefilter) {
        s->n_rules = count_distinct_public_rules(s->lean) + s->n_public_filtered;
    } else if (rc == CS_OK && warm) {
        release_sets(s);
        if (assign_class_sets(s, e, key, NULL, 0, err) == CS_OK)
            s->n_rules = count_distinct_public_rules(s->rules);
        else
            rc = compile_sets(s, e, key, err);
    } else if (rc == CS_OK && s->n_files) {
        release_sets(s); /* the full sets the lean sets shared, if any */
        rc = compile_class_sets(s, e, key, all, err);
        all = NULL;
    }
    if (all)
        ly.yr_rules_destroy(all);
    if (rc != CS_OK && checked && !warm) {
        /* the mark said the files compile, but they do not (a library
         * upgrade, an included file): check them all again, as without it */
        unlink(mark);
        release_sets(s);
        rc = compile_sets(s, e, key, err);
        s->files = s->n_files;
    }
    if (s->partitioned && key)
        cache_prune(e, key);
    if (rc == CS_OK && s->prefilter) { /* candidate sets: the sources stay */
        s->engine = e;
        snprintf(s->key, sizeof s->key, "%s", key ? key : "");
        s->cands = calloc(CAND_TABLE, sizeof *s->cands);
        s->cand_lock_ready = s->cands && pthread_mutex_init(&s->cand_lock, NULL) == 0;
        if (!s->cand_lock_ready)
            return cs_error_set(err, CS_ERR_NOMEM, "YARA: no memory for candidate sets");
        if (key && cs_engine_cache_dir(e))
            release_full_sets(s, key);
        for (int c = 0; c < N_CLASSES; c++) /* not loaded, or let go: loaded on demand */
            if (!s->rules[c] && !s->full_members[c])
                s->full_members[c] = class_membership(s, c, 0);
        s->ready = 1;
        trim_after_compile(warm);
        return rc;
    }
    /* the sources are not needed any more */
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files_loaded[i].text);
        s->files_loaded[i].text = NULL;
        free(s->files_loaded[i].filterable);
        s->files_loaded[i].filterable = NULL;
        cs_yara_split_free(&s->files_loaded[i].split);
    }
    s->ready = rc == CS_OK && s->rules[0] != NULL;
    trim_after_compile(warm);
    return rc;
}

static int yara_active(const void *st)
{
    return ((const yara_state *)st)->ready;
}

/* Rules to run, not just rule files: a pack of empty .yar files is no rules. */
static int yara_loaded(const void *st)
{
    const yara_state *s = st;
    return s->ready && s->n_rules > 0;
}

static void yara_stats(const void *st, cs_load_stats *out)
{
    const yara_state *s = st;
    out->yara_files += s->files;
    out->yara_files_skipped += s->skipped;
    out->yara_rules += s->n_rules;
    out->yara_rules_guarded += s->partitioned ? s->guarded : 0;
}

/* libyara 4.2 hands out YR_MATCH records that are not 8-byte aligned (its
 * arena packs them); reading them through its own macros is its layout, so
 * UBSan's alignment check is off for this callback only. */
__attribute__((no_sanitize("alignment")))
static int on_scan_message(YR_SCAN_CONTEXT *ctx, int message, void *data, void *ud)
{
    if (message != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    yara_thread *t = ud;
    YR_RULE *rule = data;
    const char *desc = "", *author = NULL, *ref = NULL;
    int score = YARA_DEFAULT_SCORE;
    YR_META *meta;
    yr_rule_metas_foreach(rule, meta)
    {
        const char *id = meta->identifier;
        if (strcmp(id, "score") == 0) {
            if (meta->type == META_TYPE_INTEGER)
                score = (int)meta->integer;
            else if (meta->type == META_TYPE_STRING && meta->string[0])
                score = atoi(meta->string);
        } else if (meta->type != META_TYPE_STRING) {
            continue;
        } else if (strcmp(id, "description") == 0) {
            desc = meta->string;
        } else if (strcmp(id, "author") == 0) {
            author = meta->string;
        } else if (!ref && (strcmp(id, "reference") == 0 || strcmp(id, "ref") == 0)) {
            ref = meta->string;
        }
    }
    cs_reason *r = cs_findings_add(t->out, "yara", rule->identifier, desc, score);
    r->author = author;
    r->reference = ref;
    YR_STRING *string;
    size_t kept = 0;
    yr_rule_strings_foreach(rule, string)
    {
        YR_MATCH *m;
        yr_string_matches_foreach(ctx, string, m)
        {
            if (kept++ >= YARA_MAX_MATCHES)
                break;
            size_t n = (size_t)m->data_length < YARA_MAX_DATA ? (size_t)m->data_length : YARA_MAX_DATA;
            cs_reason_add_match(t->out, r, string->identifier, (uint64_t)(m->base + m->offset), m->data, n);
        }
    }
    return CALLBACK_CONTINUE;
}

static void drop_scanners(yara_thread *t)
{
    for (int c = 0; c < N_CLASSES; c++) {
        int shared = 0;
        for (int k = 0; k < c; k++)
            shared |= t->scanner[k] == t->scanner[c];
        if (t->scanner[c] && !shared)
            ly.yr_scanner_destroy(t->scanner[c]);
    }
    for (int c = 0; c < N_CLASSES; c++) {
        int shared = 0;
        for (int k = 0; k < N_CLASSES; k++)
            shared |= t->scanner[k] == t->lean[c] || (k < c && t->lean[k] == t->lean[c]);
        if (t->lean[c] && !shared)
            ly.yr_scanner_destroy(t->lean[c]);
    }
    memset(t->scanner, 0, sizeof t->scanner);
    memset(t->lean, 0, sizeof t->lean);
    for (size_t i = 0; i < KSCAN_SLOTS; i++)
        if (t->kscan[i].sc)
            ly.yr_scanner_destroy(t->kscan[i].sc);
    memset(t->kscan, 0, sizeof t->kscan);
}

static YR_SCANNER *new_scanner(yara_state *s, YR_RULES *rules, yara_thread *t)
{
    YR_SCANNER *sc = NULL;
    if (ly.yr_scanner_create(rules, &sc) != ERROR_SUCCESS)
        return NULL;
    ly.yr_scanner_set_callback(sc, on_scan_message, t);
    ly.yr_scanner_set_flags(sc, SCAN_FLAGS_NO_TRYCATCH);
    if (s->timeout > 0)
        ly.yr_scanner_set_timeout(sc, s->timeout);
    return sc;
}

/* This thread's scanner of class c's full set. */
static YR_SCANNER *full_scanner(yara_state *s, yara_thread *t, int c)
{
    if (t->scanner[c])
        return t->scanner[c];
    YR_RULES *set = full_set(s, c);
    return set ? (t->scanner[c] = new_scanner(s, set, t)) : NULL;
}

/* This thread's scanner for a candidate set: the last KSCAN_SLOTS are kept. */
static YR_SCANNER *candidate_scanner(yara_state *s, yara_thread *t, YR_RULES *set)
{
    for (size_t i = 0; i < KSCAN_SLOTS; i++)
        if (t->kscan[i].rules == set)
            return t->kscan[i].sc;
    YR_SCANNER *sc = new_scanner(s, set, t);
    if (!sc)
        return NULL;
    size_t slot = t->kscan_next++ % KSCAN_SLOTS;
    if (t->kscan[slot].sc)
        ly.yr_scanner_destroy(t->kscan[slot].sc);
    t->kscan[slot].rules = set;
    t->kscan[slot].sc = sc;
    return sc;
}

/* One scanner per distinct rule set. Scans run inside the engine's guard
 * (SCAN_FLAGS_NO_TRYCATCH: libyara's own SIGBUS handler would replace the
 * engine's while it scans); a scan the guard cut short leaves the scanners
 * dirty, and they are made anew before the next file. */
static int make_scanners(yara_state *s, yara_thread *t)
{
    for (int c = 0; !s->prefilter && c < N_CLASSES; c++) {
        if (!s->owns[c]) /* shares the set, and so the scanner, of an earlier class */
            continue;
        if (!(t->scanner[c] = new_scanner(s, s->rules[c], t))) {
            drop_scanners(t);
            return -1;
        }
    }
    for (int c = 0; !s->prefilter && c < N_CLASSES; c++)
        if (!t->scanner[c])
            for (int k = 0; k < c && !t->scanner[c]; k++)
                if (s->rules[k] == s->rules[c])
                    t->scanner[c] = t->scanner[k];
    /* with the prefilter, a full set's scanner is made when a file needs it
     * (full_scanner: another thread may be loading that set meanwhile) */
    for (int c = 0; s->prefilter && c < N_CLASSES; c++) {
        for (int k = 0; k < c && !t->lean[c]; k++) /* an earlier lean one's */
            if (s->lean[c] == s->lean[k])
                t->lean[c] = t->lean[k];
        if (!t->lean[c] && !(t->lean[c] = new_scanner(s, s->lean[c], t))) {
            drop_scanners(t);
            return -1;
        }
    }
    return 0;
}

static void yara_thread_fini(void *st, void *ts)
{
    yara_thread *t = ts;
    if (!t)
        return;
    profile_merge(st, t);
    for (int c = 0; c < N_CLASSES; c++)
        free(t->learn_bytes[c]);
    drop_scanners(t);
    cs_hs_free_scratch(t->scratch);
    free(t->cand_seen);
    free(t);
}

static void *yara_thread_init(void *st, cs_error *err)
{
    yara_state *s = st;
    yara_thread *t = calloc(1, sizeof *t);
    if (!t || make_scanners(s, t) != 0 ||
        (s->prefilter && (cs_hs.hs_clone_scratch(s->scratch, &t->scratch) != HS_SUCCESS ||
                          !(t->cand_seen = calloc(s->n_numbers + 1, 1))))) {
        cs_error_set(err, CS_ERR_NOMEM, "cannot create a YARA scanner");
        if (t) {
            drop_scanners(t);
            cs_hs_free_scratch(t->scratch);
        }
        free(t);
        return NULL;
    }
    return t;
}

/* owner/group names, cached for runs of files with the same owner */
static const char *cached_name(name_cache *c, unsigned id, int is_group)
{
    if (c->valid && c->id == id)
        return c->name;
    char buf[4096];
    const char *name = NULL;
    if (is_group) {
        struct group gr, *res = NULL;
        if (getgrgid_r((gid_t)id, &gr, buf, sizeof buf, &res) == 0 && res)
            name = res->gr_name;
    } else {
        struct passwd pw, *res = NULL;
        if (getpwuid_r((uid_t)id, &pw, buf, sizeof buf, &res) == 0 && res)
            name = res->pw_name;
    }
    if (name)
        snprintf(c->name, sizeof c->name, "%s", name);
    else
        snprintf(c->name, sizeof c->name, "%u", id);
    c->id = id;
    c->valid = 1;
    return c->name;
}

static cs_status yara_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    yara_state *s = st;
    yara_thread *t = ts;
    if (t->scanning) { /* the last scan was cut short by a fault in its file */
        drop_scanners(t);
        t->scanning = 0;
        if (make_scanners(s, t) != 0)
            return cs_error_set(err, CS_ERR_NOMEM, "cannot create a YARA scanner");
    }
    if (t->prefiltering) { /* so was the last Vectorscan pass: its scratch is still in use */
        for (size_t i = 0; i < t->n_cand; i++)
            t->cand_seen[t->cand[i]] = 0;
        cs_hs_free_scratch(t->scratch);
        t->scratch = NULL;
        t->prefiltering = 0;
        if (cs_hs.hs_clone_scratch(s->scratch, &t->scratch) != HS_SUCCESS)
            return cs_error_set(err, CS_ERR_NOMEM, "no scratch space for the literal prefilter");
    }
    int c = file_class(f->data, f->size) * N_TIERS + size_tier(f->size);
    YR_SCANNER *pass[2] = {s->prefilter ? t->lean[c] : t->scanner[c], NULL};
    if (s->prefilter && s->lean_is_full[c] && s->lean_empty[c])
        return CS_OK; /* no rule at all for this class */
    if (s->prefilter && !s->lean_is_full[c]) {
        int pf = prefilter_hit(s, t, f, c);
        if (pf == PF_CANDIDATES)
            profile_count(s, t, c, f->size);
        YR_RULES *cand = pf == PF_CANDIDATES ? candidate_set(s, t) : NULL;
        YR_SCANNER *csc = cand ? candidate_scanner(s, t, cand) : NULL;
        if (pf == PF_LEAN || csc) { /* the lean set, then the candidates if any */
            pass[0] = s->lean_empty[c] ? NULL : t->lean[c];
            pass[1] = csc;
            if (!pass[0] && !pass[1])
                return CS_OK; /* no rule can match this file */
        } else if (!(pass[0] = full_scanner(s, t, c))) {
            return cs_error_set(err, CS_ERR_NOMEM, "YARA: the rule set of this file's class cannot be loaded or built");
        }
    }
    char dir[4096], md5hex[33] = "";
    size_t dl = f->dir_len < sizeof dir ? f->dir_len : sizeof dir - 1;
    memcpy(dir, f->path, dl);
    dir[dl] = '\0';
    if (s->needs_md5) {
        cs_file_hash(f, CS_HASH_MD5);
        cs_hex(md5hex, f->md5, sizeof f->md5);
    }
    int rc = ERROR_SUCCESS;
    for (int k = 0; k < 2 && rc == ERROR_SUCCESS; k++) {
        YR_SCANNER *sc = pass[k];
        if (!sc)
            continue;
        ly.yr_scanner_define_string_variable(sc, "filename", f->name);
        ly.yr_scanner_define_string_variable(sc, "filepath", dir);
        ly.yr_scanner_define_string_variable(sc, "extension", f->ext);
        ly.yr_scanner_define_string_variable(sc, "filetype", f->filetype);
        ly.yr_scanner_define_string_variable(sc, "md5", md5hex);
        /* members have no owner: empty, as THOR leaves what it does not know */
        ly.yr_scanner_define_string_variable(sc, "owner",
                                             f->meta.has_owner ? cached_name(&t->owner, f->meta.uid, 0) : "");
        ly.yr_scanner_define_string_variable(sc, "group",
                                             f->meta.has_owner ? cached_name(&t->group, f->meta.gid, 1) : "");
        ly.yr_scanner_define_integer_variable(sc, "filemode", f->meta.has_owner ? (int64_t)f->meta.mode : 0);
        ly.yr_scanner_define_string_variable(sc, "unpack_parent", f->parent_type ? f->parent_type : "");
        ly.yr_scanner_define_string_variable(sc, "unpack_source", f->unpack_source ? f->unpack_source : "");
        t->out = out;
        t->scanning = 1;
        rc = ly.yr_scanner_scan_mem(sc, f->data, f->size);
        t->scanning = 0;
        t->out = NULL;
    }
    if (rc == ERROR_SCAN_TIMEOUT)
        return cs_error_set(err, CS_ERR_INTERNAL, "timeout after %d s; results are partial", s->timeout);
    if (rc != ERROR_SUCCESS)
        return cs_error_set(err, CS_ERR_INTERNAL, "scan error %d", rc);
    return CS_OK;
}

const char *cs_engine_yara_version(void)
{
    return YR_VERSION;
}

const cs_detector_ops cs_yara_detector = {
    .name = "yara",
    .needs_content = 1,
    .content_capped = 1,
    .create = yara_create,
    .destroy = yara_destroy,
    .claims = yara_claims,
    .load = yara_load,
    .prepare = yara_prepare,
    .active = yara_active,
    .loaded = yara_loaded,
    .stats = yara_stats,
    .thread_init = yara_thread_init,
    .thread_fini = yara_thread_fini,
    .scan = yara_scan,
};
