/* Splits a YARA rule file into its rules and finds each rule's file-type
 * guard (a top-level "uintN(0) == MAGIC" conjunct), so that the engine can
 * compile one rule set per file class and scan each file only with the rules
 * that can match it. Conservative: anything it does not understand leaves
 * the rule (or the whole file) unguarded, which is always lossless. */
#ifndef CS_FORMAT_YARA_SPLIT_H
#define CS_FORMAT_YARA_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_yara_rule_span {
    size_t start, end;            /* bytes of the rule, modifiers included */
    char name[128];
    int is_global, is_private;
    unsigned char guard[4];       /* the file must start with these bytes */
    size_t guard_len;             /* 0: no guard */
    uint64_t max_size;            /* the file must be smaller than this; 0: no bound */
    uint64_t min_size;            /* the file must have at least this many bytes (a string
                                     must match, a magic test, filesize >); 0: none */
    size_t refs_at, n_refs;       /* cs_yara_split.refs[refs_at..+n_refs): the guarded rules
                                     of the file that this rule's condition names */
    size_t deps_at, n_deps;       /* cs_yara_split.deps[...]: every rule of the file it names */
    size_t strings_start, strings_end; /* the strings section's text (0, 0: none) */
    size_t cond_start, cond_end;  /* the condition's text */
} cs_yara_rule_span;

/* An `import "module"` statement: its bytes and the module's name. */
typedef struct cs_yara_import {
    size_t start, end;
    char module[32];
} cs_yara_import;

typedef struct cs_yara_split {
    cs_yara_rule_span *rules;
    size_t n;
    cs_yara_import *imports;      /* so that a class's view can leave out modules no kept rule uses */
    size_t n_imports;
    size_t *refs;                 /* rule indices, see cs_yara_rule_span.refs_at */
    size_t n_refs;
    size_t *deps;                 /* rule indices, see cs_yara_rule_span.deps_at */
    size_t n_deps;
    int whole_file;               /* includes, globals, or text not understood: never split */
    int has_include;              /* its rules depend on other files' text */
} cs_yara_split;

/* 0 on success; on failure (or for files that must not be split) sets
 * whole_file. Free with cs_yara_split_free. */
int cs_yara_split_parse(const char *text, size_t len, cs_yara_split *out);
void cs_yara_split_free(cs_yara_split *s);

/* Could a file of at least min_size bytes satisfy the size bound? */
int cs_yara_size_compatible(const cs_yara_rule_span *r, uint64_t min_size);
/* Could a file of at most max_size bytes satisfy the rule's lower bound? */
int cs_yara_fits_below(const cs_yara_rule_span *r, uint64_t max_size);

/* keep[i] (one per rule, set by the caller to "rule i can match") is also
 * set for every rule that a kept rule names, directly or not: a rule
 * referred to must be compiled wherever the rule naming it is. */
void cs_yara_keep_referenced(const cs_yara_split *s, unsigned char *keep);

/* Could a file whose first bytes are prefix[0..n) satisfy the guard? */
int cs_yara_guard_compatible(const cs_yara_rule_span *r, const unsigned char *prefix, size_t n);

#endif
