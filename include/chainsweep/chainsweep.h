/*
 * chainsweep: a scanner for trojanized software.
 *
 * The library never prints, exits or aborts: every call that can fail
 * returns a cs_status and fills a cs_error with a message; out of memory
 * is CS_ERR_NOMEM (or, inside a scan, an error record for that file).
 *
 * Typical use:
 *   cs_config cfg = CS_CONFIG_INIT;          // or cs_config_init(&cfg)
 *   cs_engine *e; cs_engine_new(&e, &cfg, &err);
 *   cs_engine_load_pack(e, "packs/3cx-2023", &err);
 *   cs_engine_prepare(e, &err);              // compile rules and IOCs
 *   cs_scan(e, targets, n, on_result, ud, &summary, &err);
 *   cs_engine_free(e);
 *
 * Threads: after cs_engine_prepare the engine is immutable and may be shared
 * by any number of threads; each thread that scans on its own uses its own
 * cs_scanner (cs_scanner_new). cs_scan runs its own worker threads.
 */
#ifndef CHAINSWEEP_H
#define CHAINSWEEP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_VERSION "0.1.0"
/* Version of the JSON Lines output schema (docs/output.md). */
#define CS_OUTPUT_SCHEMA 2

/* Append-only: values never change meaning or number. */
typedef enum cs_status {
    CS_OK = 0,
    CS_ERR_ARG,      /* bad argument or configuration */
    CS_ERR_IO,       /* a file or directory could not be read */
    CS_ERR_NOMEM,
    CS_ERR_RULES,    /* no usable rules, or rules failed to compile */
    CS_ERR_INTERNAL,
    CS_ERR_CANCELLED /* the result callback asked to stop */
} cs_status;

/* "ok", "bad argument", ...; never NULL. */
const char *cs_status_str(cs_status s);

typedef struct cs_error {
    cs_status code;
    char message[512];
} cs_error;

typedef enum cs_level {
    CS_LEVEL_NONE = 0,
    CS_LEVEL_NOTICE,
    CS_LEVEL_WARNING,
    CS_LEVEL_ALERT
} cs_level;

/* Versioned (libgit2 style): set version to CS_CONFIG_VERSION, or start
 * from CS_CONFIG_INIT / cs_config_init. Fields are only ever appended. */
#define CS_CONFIG_VERSION 2

typedef struct cs_config {
    unsigned version;          /* CS_CONFIG_VERSION */
    unsigned threads;          /* 0: number of online CPUs */
    uint64_t max_size;         /* YARA scans at most this many bytes of one file or member;
                                  larger ones get a note and every other layer */
    int follow_symlinks;
    int cross_fs;
    int max_depth;             /* -1: unlimited; 0: only the roots */
    int yara_timeout;          /* seconds per file, 0: none */
    int notice_level;          /* score thresholds (THOR defaults 40/60/80) */
    int warning_level;
    int alert_level;
    int alert_subscore;        /* an alert also needs one sub-score >= this */
    int cpu_limit;             /* percent of one CPU per worker thread, 0: no limit */
    int low_priority;          /* nice 19 and idle I/O class for the scan threads */
    int no_yara_partition;     /* one YARA rule set for every file (no per-class sets) */
    int products;              /* fill cs_result.product/signature/signer (inventory) */
    /* containers (version 2): installers and archives are scanned inside */
    int no_archives;           /* only the outer files */
    unsigned max_unpack_depth; /* containers inside containers; deeper ones are a skipped record */
    uint64_t max_members;      /* members read per container */
    uint64_t max_member_size;  /* bytes of one member */
    uint64_t max_unpack_total; /* bytes unpacked from one outer file, all levels */
    unsigned max_ratio;        /* unpacked size / packed size of one member */
    unsigned max_unpack_time;  /* seconds spent unpacking one outer file, 0: none */
    const char *tmpdir;        /* where members over 64 MiB are held (unlinked); NULL: $TMPDIR */
    int scan_own_files;        /* also enter the loaded packs and the cache directory */
} cs_config;

#define CS_CONFIG_INIT                                                                                 \
    {                                                                                                \
        .version = CS_CONFIG_VERSION, .max_size = 256ull << 20, .max_depth = -1, .yara_timeout = 60,    \
        .notice_level = 40, .warning_level = 60, .alert_level = 80, .alert_subscore = 75,               \
        .max_unpack_depth = 8, .max_members = 100000, .max_member_size = 1ull << 30,                    \
        .max_unpack_total = 4ull << 30, .max_ratio = 250, .max_unpack_time = 300                        \
    }

void cs_config_init(cs_config *cfg);

typedef struct cs_engine cs_engine;

cs_status cs_engine_new(cs_engine **out, const cs_config *cfg, cs_error *err);
void cs_engine_free(cs_engine *e);

/* Exclude paths: a glob (fnmatch, matched on the full path and on the
 * basename) or, with the prefix "re:", a PCRE2 regex searched in the path. */
cs_status cs_engine_add_exclude(cs_engine *e, const char *pattern, cs_error *err);
/* One exclude per line; blank lines and lines starting with '#' ignored. */
cs_status cs_engine_add_exclude_file(cs_engine *e, const char *path, cs_error *err);

/* Trust anchors (PEM file or directory) and CRLs for the Authenticode layer
 * of a scan. Without anchors, chains are not checked (and not reported as
 * untrusted); tampering is found either way. */
cs_status cs_engine_add_trust(cs_engine *e, const char *pem_path, cs_error *err);
cs_status cs_engine_add_crl(cs_engine *e, const char *crl_path, cs_error *err);

/* Run only the named detectors (comma-separated: filename, hash, yara, c2,
 * authenticode, advisory; "signer" runs with authenticode); by default all
 * run. Unknown names are an error. */
cs_status cs_engine_only_detectors(cs_engine *e, const char *names, cs_error *err);
/* Comma-separated names of all detectors, in scan order. */
const char *cs_detector_names(void);

/* Keep compiled YARA rule sets in dir (keyed by the rules fingerprint), so
 * that later runs with the same rules load instead of compiling. */
cs_status cs_engine_set_cache_dir(cs_engine *e, const char *dir, cs_error *err);

/* Incremental sweeps: remember each file's identity and verdict in a SQLite
 * store at path; a later scan with the same rules re-reports unchanged files
 * without reading them. */
cs_status cs_engine_set_state(cs_engine *e, const char *path, cs_error *err);

/* Load every IOC file, YARA rule file and file-type table below dir
 * (signature-base layout or a chainsweep pack). Problems in single files
 * or lines become diagnostics; only an unreadable dir is an error. */
cs_status cs_engine_load_pack(cs_engine *e, const char *dir, cs_error *err);
/* Compile everything loaded. Fails with CS_ERR_RULES when nothing usable.
 * With a state store (cs_engine_set_state) that a sweep with the same rules
 * and options already filled, nothing is compiled here: cs_scan compiles
 * when the first file the store cannot answer needs the rules, and a
 * failure then ends the scan with its error (cs_load_stats.compiled). */
cs_status cs_engine_prepare(cs_engine *e, cs_error *err);

typedef struct cs_diag {
    const char *file;          /* may be NULL */
    unsigned line;             /* 0 when not about a line */
    int is_error;              /* 0: warning */
    const char *message;
} cs_diag;

size_t cs_engine_diag_count(const cs_engine *e);
const cs_diag *cs_engine_diag(const cs_engine *e, size_t i);

typedef struct cs_load_stats {
    size_t hash_iocs, good_hashes, filename_iocs, filename_iocs_pcre;
    size_t c2_iocs;
    size_t yara_files, yara_files_skipped, yara_rules;
    size_t yara_rules_guarded;  /* left out of the sets of file classes they cannot match */
    size_t signers;
    size_t advisories;
    size_t filetype_signatures;
    int compiled;               /* 0: nothing compiled yet (a rescan the state store answered
                                   so far; the counts are those of the sweep that compiled) */
} cs_load_stats;

void cs_engine_load_stats(const cs_engine *e, cs_load_stats *out);
/* Lines describing what was loaded, for --version and logs. */
const char *cs_engine_yara_version(void);
/* The SHA-256 of everything loaded and the options that change results
 * (hex), once prepared: a rule set's version for logs and services. */
const char *cs_engine_fingerprint(const cs_engine *e);

/* ---- scan results ---- */

typedef struct cs_match {
    const char *id;            /* YARA string id, or the IOC */
    uint64_t offset;
    const unsigned char *data; /* raw bytes, not NUL-terminated */
    size_t len;
} cs_match;

typedef struct cs_reason {
    const char *detector;      /* "filename", "hash", "yara", "c2", "authenticode", "signer",
                                  "advisory", "contains" (a member has findings) */
    const char *rule;          /* rule name, IOC value */
    const char *description;
    const char *author;        /* may be NULL */
    const char *reference;     /* may be NULL */
    int score;
    const cs_match *matches;
    size_t n_matches;
} cs_reason;

typedef enum cs_record_kind {
    CS_RECORD_FILE = 0,        /* a file was scanned */
    CS_RECORD_SKIPPED,         /* a file was not read; see skip */
    CS_RECORD_ERROR            /* could not be scanned; see error */
} cs_record_kind;

typedef enum cs_skip_reason {
    CS_SKIP_NONE = 0,
    CS_SKIP_TOO_LARGE,
    CS_SKIP_NOT_REGULAR,       /* FIFO, socket, device */
    CS_SKIP_SYMLINK,           /* not followed */
    CS_SKIP_EXCLUDED,
    CS_SKIP_OTHER_FS,          /* on another file system */
    CS_SKIP_PSEUDO_FS,         /* /proc, /sys, /dev */
    CS_SKIP_DEPTH,
    CS_SKIP_LOOP,              /* symlink loop when following links */
    CS_SKIP_KNOWN_GOOD,        /* known-good hash: findings suppressed */
    /* members of containers (append-only, like every value here) */
    CS_SKIP_UNPACK_DEPTH,      /* a container deeper than max_unpack_depth */
    CS_SKIP_MEMBERS,           /* members past max_members of one container */
    CS_SKIP_UNPACK_TOTAL,      /* past max_unpack_total bytes of one outer file */
    CS_SKIP_RATIO,             /* compression ratio over max_ratio (a bomb) */
    CS_SKIP_UNPACK_TIME,       /* past max_unpack_time of one outer file */
    CS_SKIP_ENCRYPTED,         /* an encrypted member: no password */
    CS_SKIP_NOT_UNPACKED,      /* a method or format the unpacker cannot read; see error */
    CS_SKIP_LINK_MEMBER,       /* a symbolic or hard link member: not followed */
    CS_SKIP_OWN_FILES,         /* chainsweep's own: a loaded pack, the cache directory */
    CS_SKIP_OUTSIDE,           /* a member stored outside its container (an asar's .unpacked folder) */
    CS_SKIP__COUNT
} cs_skip_reason;

const char *cs_skip_reason_name(cs_skip_reason r);
const char *cs_level_name(cs_level l);

/* What a file says it is: PE version information (every language's
 * string table), a macOS bundle's Info.plist, an MSI's properties. Strings
 * are UTF-8 or NULL when absent, and never point into the struct itself,
 * so a copy by value stays valid. */
typedef struct cs_product_strings {
    char lang[9];              /* language and code page, "040904b0" */
    const char *company, *product, *description, *file_version, *product_version,
        *original_filename, *internal_name, *copyright;
} cs_product_strings;

typedef struct cs_product {
    const char *source;        /* "pe-version-info", "info-plist", "msi" */
    const char *source_path;   /* the file the fields were read from */
    const char *name;          /* ProductName, CFBundleName, MSI ProductName */
    const char *version;       /* the version advisories compare (see docs/advisories.md) */
    const char *file_version;  /* FileVersion, CFBundleVersion */
    const char *company;       /* CompanyName, MSI Manufacturer */
    const char *description;   /* FileDescription */
    const char *original_filename;
    const char *bundle_id;     /* CFBundleIdentifier */
    char fixed_file_version[24], fixed_product_version[24]; /* VS_FIXEDFILEINFO, "" when none */
    const cs_product_strings *tables; /* PE: every StringTable; the first is the primary */
    size_t n_tables;
} cs_product;

/* One step into a container: the member's name as the container stores it
 * (raw bytes; an MSI cabinet's file key mapped to its install path) and the
 * member's own file type. */
typedef struct cs_member {
    const char *name;
    const char *type;          /* "CAB", "EXE", "UNKNOWN" */
} cs_member;

typedef struct cs_result {
    cs_record_kind kind;
    const char *path;          /* raw bytes of the outer file's path, NUL-terminated */
    /* a member of a container: the chain from the outer file, outermost first */
    const cs_member *members;
    size_t n_members;          /* 0: the outer file itself */
    const char *display_path;  /* path, then "!/" and each member name (docs/output.md) */
    const char *container;     /* the file's own container format when it was unpacked ("ZIP"), else NULL */
    uint64_t members_read;     /* members read from it (all levels below), when a container */
    const char *note;          /* not an error: e.g. larger than max_size, YARA did not run */
    cs_skip_reason skip;
    const char *error;         /* CS_RECORD_ERROR, or a partial-scan warning */
    uint64_t size;
    int64_t mtime;
    const char *filetype;      /* THOR/Loki type name, "UNKNOWN" */
    int has_md5, has_sha1, has_sha256;
    unsigned char md5[16], sha1[20], sha256[32];
    char tlsh[73];             /* TLSH of a finding or product ("T1" + 70 hex digits), "" when none */
    char imphash[33];          /* PE import hash of a finding, "" otherwise */
    char authentihash[65];     /* a PE finding's authentihash (Authenticode SHA-256, hex), "" otherwise */
    char rich_hash[33];        /* a PE finding's Rich header hash (MD5 of its clear data), "" otherwise */
    int cached;                /* re-reported from the state store, not read */
    int score;
    cs_level level;
    const cs_reason *reasons;  /* sorted by score, highest first */
    size_t n_reasons;
    /* with cs_config.products: what the file says it is, and its signature */
    const cs_product *product; /* NULL when the file names no product */
    const char *signature;     /* Authenticode verdict (cs_ac_verdict_id) or, for a Mach-O, its code-signature
                                  verdict (cs_mc_verdict_id); NULL when neither */
    const char *signer;        /* subject of the primary signer, NULL when none */
    const char *team_id;       /* a Mach-O signer's Apple Team ID, NULL when none */
} cs_result;

/* Called from one thread only (the collector), for every file and member
 * record; the members of a container come before the container. Return 0
 * to go on, non-zero to cancel the scan (cs_scan then returns
 * CS_ERR_CANCELLED after the work in flight is done). */
typedef int (*cs_result_cb)(const cs_result *r, void *ud);

typedef struct cs_scan_summary {
    uint64_t files_scanned;    /* content read */
    uint64_t members_scanned;  /* members of containers read (counted in files_scanned too) */
    uint64_t notes;            /* records with a note (e.g. too large for YARA) */
    uint64_t files_cached;     /* unchanged since the last incremental sweep */
    uint64_t bytes_scanned;
    uint64_t skipped[CS_SKIP__COUNT];
    uint64_t errors;
    uint64_t by_level[4];      /* indexed by cs_level */
    double elapsed;            /* seconds */
    int interrupted;           /* cs_scan_stop ended the scan early */
} cs_scan_summary;

/* Scan the targets (files or directories). Returns CS_ERR_ARG when a target
 * does not exist; per-file problems become CS_RECORD_ERROR records. */
cs_status cs_scan(cs_engine *e, const char *const *targets, size_t n_targets,
                  cs_result_cb cb, void *ud, cs_scan_summary *summary,
                  cs_error *err);

/* A scanner for one thread (libyara's YR_SCANNER shape): scans a path, an
 * open descriptor or a buffer with the engine's rules, members included,
 * in the calling thread, and calls cb for each record. The engine must be
 * prepared and outlive the scanner. */
typedef struct cs_scanner cs_scanner;

cs_status cs_scanner_new(cs_engine *e, cs_scanner **out, cs_error *err);
void cs_scanner_free(cs_scanner *s);
/* A path as a root: a directory is walked like cs_scan does. */
cs_status cs_scanner_scan_path(cs_scanner *s, const char *path, cs_result_cb cb, void *ud, cs_error *err);
/* A regular file open for reading; the descriptor stays the caller's.
 * name is what filename IOCs and results show. */
cs_status cs_scanner_scan_fd(cs_scanner *s, int fd, const char *name, cs_result_cb cb, void *ud,
                             cs_error *err);
/* Bytes in memory (a sample uploaded to a service); borrowed for the call. */
cs_status cs_scanner_scan_buffer(cs_scanner *s, const void *data, size_t len, const char *name,
                                 cs_result_cb cb, void *ud, cs_error *err);

/* Stop the scans of e (an interrupt): async-signal-safe (one atomic store),
 * callable from a signal handler or any thread, and the one change to an
 * engine after prepare. The walk stops, files not started are neither read
 * nor reported, files in progress are finished (a container stops before its
 * next member and its record says so), every record delivered is complete;
 * cs_scan then returns CS_ERR_CANCELLED with summary->interrupted set. Later
 * scans of e stop at once. */
void cs_scan_stop(cs_engine *e);

/* Combine sub-scores with THOR's formula; exposed for tests and tools. */
int cs_score_combine(const int *subscores, size_t n);
cs_level cs_score_level(const cs_config *cfg, int score, int max_subscore);

#ifdef __cplusplus
}
#endif
#endif
