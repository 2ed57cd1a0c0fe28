/* Fuzz what the inventory reads besides PE resources: a VS_VERSIONINFO
 * block on its own, an Info.plist (libplist, XML or binary), a flat
 * package's Distribution or PackageInfo (libxml2), an MSI
 * (libgsf and our string pool / Property table reader) and an
 * advisories.json; the first input byte picks which. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/advisory.h"
#include "format/msi.h"
#include "format/pkginfo.h"
#include "format/plist.h"
#include "format/versioninfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    cs_arena a = {0};
    cs_product p;
    const char *why, *exe;
    switch (data[0] % 5) {
    case 0:
        (void)cs_versioninfo_parse(d, n, &a, &p, &why);
        break;
    case 1:
        (void)cs_info_plist_parse(d, n, &a, &p, &exe, &why);
        break;
    case 3:
        (void)cs_msi_product(d, n, &a, &p, &why);
        break;
    case 4:
        (void)cs_pkg_product(d, n, &a, &p, &why);
        break;
    default: {
        cs_advisory_set set = {0};
        (void)cs_advisory_parse((const char *)d, n, &set, NULL, NULL, &why);
        cs_product_strings t;
        memset(&t, 0, sizeof t);
        memset(&p, 0, sizeof p);
        p.source = "pe-version-info";
        p.name = "3CX Desktop App";
        p.tables = &t;
        p.n_tables = 1;
        for (size_t i = 0; i < set.n; i++)
            if (cs_advisory_matches_product(&set.items[i], &p, "a.exe", "/CN=x"))
                (void)cs_advisory_affects_version(&set.items[i], "18.12.416");
        cs_advisory_set_free(&set);
        break;
    }
    }
    cs_arena_free(&a);
    return 0;
}
