/* What a YARA rule needs before it can match: when its condition requires
 * at least one of its strings (proved from the condition's shape), the
 * literals that any match of those strings must contain. A file holding
 * none of them cannot match the rule, so a literal prefilter can leave the
 * rule out for that file. Besides strings, a condition's import hash
 * (pe.imphash() == H), export names (pe.exports("N")) and signers' serial
 * numbers (pe.signatures[i].serial == "1b:66:...") stand for literals,
 * and so does the file's name (filename == "x", filename iequals "x");
 * "for any" loops require what their body requires, and a loop over
 * (1..#a), or a comparison of @a[i] or !a[i], requires $a. Conservative:
 * whatever is not understood (short literals, "for all" loops, counts
 * compared with expressions, ...) makes the rule "always run", which is
 * lossless. */
#ifndef CS_FORMAT_YARA_LITERALS_H
#define CS_FORMAT_YARA_LITERALS_H

#include <stddef.h>

#include "format/yara_split.h"

enum {
    CS_YARA_LIT_BYTES = 0,        /* the bytes occur in the file */
    CS_YARA_LIT_IMPHASH = 1,      /* the file is a PE whose pe.imphash() is these 32 characters */
    CS_YARA_LIT_FILENAME = 2      /* the "filename" external is these bytes (caseless: iequals) */
};

typedef struct cs_yara_literal {
    size_t at, len;               /* its bytes: cs_yara_needs.bytes[at..at+len) */
    int caseless;                 /* ASCII letters match either case (nocase, /i) */
    int kind;                     /* CS_YARA_LIT_* */
} cs_yara_literal;

typedef struct cs_yara_needs {
    int filterable;               /* 1: the rule matches only if a literal occurs */
    const char *why;              /* when not filterable: the reason (static text) */
    cs_yara_literal *lits;
    size_t n;
    unsigned char *bytes;
    size_t bytes_len;
} cs_yara_needs;

/* How rare a literal is likely to be in any file, like libyara's atom
 * quality: 1 for bytes common everywhere (00, FF, 20, CC, 90, 01) or a
 * third copy of a byte, 2 for a letter, 3 for anything else; at most 4
 * when it has two distinct bytes or fewer. */
size_t cs_yara_literal_quality(const unsigned char *p, size_t n);

/* Analyse rule r of a split rule file text (cs_yara_split_parse). prior
 * (NULL: none) holds the needs of rules 0 .. r-1: a rule the condition
 * names alone ("A or B") requires one of that rule's literals. A string
 * whose weakest literal has a quality under min_quality is not used (a
 * prefilter would find it in most files). Allocation failures go through
 * cs_xmalloc and cs_grow (a guard turns them into errors). */
void cs_yara_rule_needs(const char *text, const cs_yara_split *sp, size_t r, const cs_yara_needs *prior,
                        size_t min_quality, cs_yara_needs *out);
void cs_yara_needs_free(cs_yara_needs *n);

#endif
