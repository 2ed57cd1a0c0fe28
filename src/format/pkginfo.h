/* What a flat macOS package says it installs: the Distribution file
 * (<title>, <product id= version=>) and a sub-package's PackageInfo
 * (<pkg-info identifier= version=>), read with libxml2 (no network, no
 * entity expansion, no DTD loading). */
#ifndef CS_FORMAT_PKGINFO_H
#define CS_FORMAT_PKGINFO_H

#include <stddef.h>

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* Is this member name one of those files ("Distribution", or a path ending
 * in "/PackageInfo" or equal to it)? */
int cs_pkg_xml_name(const char *name);
/* Fill *out (strings in a): source "pkg-distribution" or "pkg-info", name
 * (Distribution's title), version, bundle_id (the product id or the
 * package identifier). 1 when something was read, 0 when the XML is not
 * one of these documents, -1 with *why when it is not well-formed XML (or
 * libxml2, loaded on first use, cannot be loaded). */
/* Text is read from the document's text and CDATA nodes: entity references
 * and attribute defaults from a DTD are not expanded (Apple's tools write
 * neither; an attacker's entities stay unexpanded). */
int cs_pkg_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why);

#endif
