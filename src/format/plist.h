/* A macOS bundle's Info.plist (XML or binary, read with libplist). */
#ifndef CS_FORMAT_PLIST_H
#define CS_FORMAT_PLIST_H

#include <stddef.h>

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* Read CFBundleIdentifier, CFBundleName (or CFBundleDisplayName),
 * CFBundleShortVersionString, CFBundleVersion and CFBundleExecutable.
 * *executable (may be NULL) gets the latter. 0 on success; -1 with *why
 * when the data is not a property list with a dictionary at the top. */
int cs_info_plist_parse(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **executable,
                        const char **why);

#endif
