/* Advisories: products and versions that are compromised, vulnerable or
 * retired (docs/advisories.md describes advisories.json). */
#ifndef CS_FORMAT_ADVISORY_H
#define CS_FORMAT_ADVISORY_H

#include <stddef.h>

#include "chainsweep/chainsweep.h"

typedef enum cs_advisory_status {
    CS_ADVISORY_COMPROMISED,
    CS_ADVISORY_VULNERABLE,
    CS_ADVISORY_RETIRED
} cs_advisory_status;

/* One way to recognise the product; every field given must match
 * (case-insensitive glob), NULL fields are not checked. */
typedef struct cs_advisory_matcher {
    char *product, *company, *file, *bundle_id, *signer;
    char *platform;             /* "windows" (PE, MSI) or "macos" (Info.plist) */
} cs_advisory_matcher;

/* An affected range: [introduced, fixed) or [introduced, last_affected],
 * or a list of exact versions. */
typedef struct cs_advisory_range {
    char *introduced, *fixed, *last_affected;
    char **versions;
    size_t n_versions;
} cs_advisory_range;

typedef struct cs_advisory {
    char *id, *title, *date, *fixed_in;
    cs_advisory_status status;
    int score;
    cs_advisory_matcher *matchers;
    size_t n_matchers;
    cs_advisory_range *ranges;  /* none: every version */
    size_t n_ranges;
    char **references;
    size_t n_references;
    int uses_signer;
} cs_advisory;

typedef struct cs_advisory_set {
    cs_advisory *items;
    size_t n, cap;
} cs_advisory_set;

/* Parse an advisories.json text and append its advisories. Entries with
 * errors are skipped and reported through diag (message per entry); a
 * file that is not an advisories document fails with *why. */
typedef void (*cs_advisory_diag_fn)(void *ud, const char *msg);
int cs_advisory_parse(const char *text, size_t len, cs_advisory_set *set, cs_advisory_diag_fn diag, void *ud,
                      const char **why);
void cs_advisory_set_free(cs_advisory_set *set);

const char *cs_advisory_status_name(cs_advisory_status s);

/* Does the advisory name this product? basename: the scanned file's name;
 * signer: its primary signer's subject, or NULL. */
int cs_advisory_matches_product(const cs_advisory *a, const cs_product *p, const char *basename,
                                const char *signer);
/* Is the version affected? A product without a version is affected only
 * by advisories that affect every version. */
int cs_advisory_affects_version(const cs_advisory *a, const char *version);

#endif
