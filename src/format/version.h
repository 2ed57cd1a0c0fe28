/* Version strings as products state them, compared segment by segment. */
#ifndef CS_FORMAT_VERSION_H
#define CS_FORMAT_VERSION_H

/* Compare two version strings: <0, 0, >0. Numeric segments compare as
 * numbers of any length ("18.12.416" < "18.12.4160", "018" == "18");
 * missing segments are 0 ("18.12" == "18.12.0"); '.' and ',' separate
 * segments, with optional spaces (Windows writes "18, 12, 416, 0"). What
 * follows the numbers is the tail: "-beta", "~rc1", "rc1", "alpha"... mark
 * a pre-release (before the plain version), "+build" and "(x64)" are
 * ignored, any other tail ("1.1.1w") comes after the plain version; two
 * tails of the same kind compare as text. */
int cs_version_compare(const char *a, const char *b);

/* Does s start like a version (a digit after optional spaces)? */
int cs_version_valid(const char *s);

#endif
