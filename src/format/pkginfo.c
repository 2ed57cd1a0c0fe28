#include "format/pkginfo.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

int cs_pkg_xml_name(const char *name)
{
    if (!name)
        return 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    return strcmp(base, "Distribution") == 0 || strcmp(base, "PackageInfo") == 0;
}

static xmlNode *child(xmlNode *n, const char *tag)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, tag) == 0)
            return c;
    return NULL;
}

/* An attribute or an element's text, copied into the arena; NULL if absent or empty. */
static const char *keep(cs_arena *a, xmlChar *s)
{
    const char *r = NULL;
    if (s && *s)
        r = cs_arena_strdup(a, (const char *)s);
    xmlFree(s);
    return r;
}

int cs_pkg_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why)
{
    if (n > (16u << 20)) {
        *why = "package XML larger than 16 MiB";
        return -1;
    }
    /* no network, no entities substituted, no external DTD: the file is hostile */
    xmlDoc *doc = xmlReadMemory((const char *)d, (int)n, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
    if (!doc) {
        *why = "package XML is not well-formed";
        return -1;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (root && strcmp((const char *)root->name, "installer-gui-script") == 0) {
        out->source = "pkg-distribution";
        xmlNode *t = child(root, "title"), *p = child(root, "product");
        out->name = t ? keep(a, xmlNodeGetContent(t)) : NULL;
        if (p) {
            out->version = keep(a, xmlGetProp(p, (const xmlChar *)"version"));
            out->bundle_id = keep(a, xmlGetProp(p, (const xmlChar *)"id"));
        }
        rc = out->name || out->version || out->bundle_id;
    } else if (root && strcmp((const char *)root->name, "pkg-info") == 0) {
        out->source = "pkg-info";
        out->version = keep(a, xmlGetProp(root, (const xmlChar *)"version"));
        out->bundle_id = keep(a, xmlGetProp(root, (const xmlChar *)"identifier"));
        rc = out->version || out->bundle_id;
    }
    if (out->version)
        out->file_version = out->version;
    xmlFreeDoc(doc);
    return rc;
}
