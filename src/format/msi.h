/* Windows Installer packages: the product an MSI installs, from its
 * Property table (OLE compound file read with libgsf, from memory). */
#ifndef CS_FORMAT_MSI_H
#define CS_FORMAT_MSI_H

#include <stddef.h>

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* ProductName, ProductVersion and Manufacturer. 0 on success (fields the
 * package lacks stay NULL); -1 with *why when the compound file, its
 * string pool or its Property table is malformed. */
int cs_msi_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why);

#endif
