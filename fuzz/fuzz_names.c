/* Fuzz the member-name mapping: a member's relative path resolved against
 * its name inside the container (cs_member_path_resolve), the lookup a
 * member's related objects go through. The result must never climb out of
 * the container: no "..", no empty or "." components, no leading '/'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "view/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* name NUL relpath */
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    size_t nlen = (size_t)(nul - data), rlen = size - nlen - 1;
    char *name = malloc(nlen + 1), *rel = malloc(rlen + 1);
    if (!name || !rel)
        abort();
    memcpy(name, data, nlen);
    name[nlen] = '\0';
    memcpy(rel, nul + 1, rlen);
    rel[rlen] = '\0';
    char out[256];
    size_t cap = 1 + (size % sizeof out); /* every buffer size, small ones too */
    if (cs_member_path_resolve(name, rel, out, cap) == 0) {
        size_t len = strlen(out);
        if (len >= cap || len == 0 || out[0] == '/')
            abort();
        for (const char *p = out; *p;) {
            size_t k = strcspn(p, "/");
            if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.'))
                abort();
            p += k;
            if (*p)
                p++;
        }
    }
    free(name);
    free(rel);
    return 0;
}
