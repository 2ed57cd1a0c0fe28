/* Parsers for signature-base / Loki / THOR simple IOC files. Each parser
 * takes one line (modified in place) and never reads outside it. */
#ifndef CS_FORMAT_IOC_H
#define CS_FORMAT_IOC_H

#include <stddef.h>

#include "util/util.h"

typedef enum cs_ioc_kind {
    CS_IOC_NONE = 0,
    CS_IOC_HASH,
    CS_IOC_GOOD_HASH,     /* trusted-hash / falsepositive-hash files */
    CS_IOC_FILENAME,
    CS_IOC_C2,
    CS_IOC_SIGNERS        /* code-signing certificates to flag (signers.txt) */
} cs_ioc_kind;

/* Classify an IOC file by the tags in its base name, like THOR: words
 * separated by non-alphanumerics ("my-c2-iocs.txt" is C2, "myc2.txt" not). */
cs_ioc_kind cs_ioc_classify(const char *basename);

/* Return values of the line parsers. */
enum { CS_LINE_SKIP = 0, CS_LINE_OK = 1, CS_LINE_BAD = -1 };

typedef struct cs_hash_line {
    int authentihash;             /* "authentihash:" prefix: the PE's Authenticode SHA-256 */
    int tlsh;                     /* a "T1" TLSH digest (72 characters): for the similarity layer;
                                     tlsh_text points into the line, digest_len is 0 */
    const char *tlsh_text;
    size_t digest_len;            /* 16 MD5, 20 SHA-1, 32 SHA-256 */
    unsigned char digest[32];
    int score;                    /* default 100 when absent */
    const char *description;      /* points into the line */
} cs_hash_line;

/* "hash;description" or "hash;score;description"; "authentihash:SHA256;..."
 * names a PE by its Authenticode digest (VirusTotal's authentihash). */
int cs_parse_hash_line(char *line, cs_hash_line *out, const char **why);

/* True for the hashes of an empty file, "\n" and "\r\n" (Loki's whitelist). */
int cs_hash_is_trivial(const unsigned char *digest, size_t len);

typedef struct cs_filename_line {
    const char *regex;            /* as written; points into the line */
    int score;
    const char *fp_regex;         /* NULL when absent */
} cs_filename_line;

/* "REGEX;SCORE[;FALSE_POSITIVE_REGEX]"; a negative score is allowed. */
int cs_parse_filename_line(char *line, cs_filename_line *out, const char **why);

/* Rewrite a Windows-centric filename IOC for POSIX paths: expand well-known
 * %VARS%, turn the regex for a backslash into '/', drop "C:". Also reports
 * whether the pattern is plain text (THOR matches those case-insensitively). */
void cs_filename_regex_for_posix(const char *in, cs_buf *out, int *is_plain);

typedef struct cs_c2_line {
    const char *value;            /* lower-cased in place */
    int score;                    /* default 100 */
    int is_ip;
} cs_c2_line;

/* "domain|ip[;score]". CIDR ranges are refused (not searchable in content). */
int cs_parse_c2_line(char *line, cs_c2_line *out, const char **why);

typedef struct cs_signer_line {
    char serial[80];              /* normalised: lower-case hex, no separators or leading zeros; "" for a team */
    char team[32];                /* "team:ID" in the serial field: an Apple Team ID, else "" */
    const char *issuer;           /* substring of the issuer DN, or "" */
    char thumbprint[65];          /* SHA-1 or SHA-256 of the certificate, lower hex, or "" */
    int score;
    const char *description;
} cs_signer_line;

/* "SERIAL;ISSUER;THUMBPRINT;SCORE[;DESCRIPTION]": serial in hex with or
 * without ':' or spaces; issuer and thumbprint may be empty. "team:ID" in
 * place of the serial names an Apple Team ID (the OU of a Developer ID
 * certificate, the Team ID of a CodeDirectory). */
int cs_parse_signer_line(char *line, cs_signer_line *out, const char **why);
/* Normalise a certificate serial ("00 85:38..." -> "8538..."); 0 on success. */
int cs_serial_normalize(const char *in, char *out, size_t outlen);

/* Iterate over the lines of a text buffer (modified in place), keeping the
 * last comment line as the description of the lines that follow it. */
typedef struct cs_line_iter {
    char *p, *end;
    unsigned lineno;
    const char *comment;          /* text of the last "# ..." line, or "" */
} cs_line_iter;

void cs_line_iter_init(cs_line_iter *it, char *text, size_t len);
/* Next non-blank, non-comment line (trimmed), or NULL at the end. */
char *cs_line_iter_next(cs_line_iter *it);

#endif
