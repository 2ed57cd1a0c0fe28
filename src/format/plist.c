#include "format/plist.h"

#include <limits.h>
#include <plist/plist.h>
#include <string.h>

static const char *dict_string(plist_t dict, const char *key, cs_arena *a)
{
    plist_t v = plist_dict_get_item(dict, key);
    if (!v || plist_get_node_type(v) != PLIST_STRING)
        return NULL;
    uint64_t len = 0;
    const char *s = plist_get_string_ptr(v, &len);
    if (!s || len == 0 || len > 4096)
        return NULL;
    char *copy = cs_arena_memdup(a, s, (size_t)len + 1);
    if (copy)
        copy[len] = '\0';
    return copy;
}

int cs_info_plist_parse(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **executable,
                        const char **why)
{
    memset(out, 0, sizeof *out);
    out->source = "info-plist";
    if (executable)
        *executable = NULL;
    if (n == 0 || n > UINT32_MAX) {
        *why = "Info.plist empty or too large";
        return -1;
    }
    plist_t root = NULL;
    plist_from_memory((const char *)d, (uint32_t)n, &root);
    if (!root || plist_get_node_type(root) != PLIST_DICT) {
        if (root)
            plist_free(root);
        *why = "Info.plist is not a property list with a dictionary at the top";
        return -1;
    }
    out->bundle_id = dict_string(root, "CFBundleIdentifier", a);
    out->name = dict_string(root, "CFBundleName", a);
    if (!out->name)
        out->name = dict_string(root, "CFBundleDisplayName", a);
    out->version = dict_string(root, "CFBundleShortVersionString", a);
    out->file_version = dict_string(root, "CFBundleVersion", a);
    if (!out->version)
        out->version = out->file_version;
    out->description = dict_string(root, "CFBundleGetInfoString", a);
    /* no company: bundles do not name one (NSHumanReadableCopyright is free text) */
    if (executable)
        *executable = dict_string(root, "CFBundleExecutable", a);
    plist_free(root);
    return 0;
}
