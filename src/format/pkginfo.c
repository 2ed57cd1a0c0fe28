#include "format/pkginfo.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "util/lazylib.h"

/* libxml2, loaded on the first package (util/lazylib.h) */
#define XML_FUNCS(X) X(xmlReadMemory) X(xmlDocGetRootElement) X(xmlHasProp) X(xmlFreeDoc)
CS_LAZY_API(lx, CS_SONAME_XML2, XML_FUNCS)

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

/* The text in the nodes from n on and below them (as xmlNodeGetContent
 * has it, without its allocation, which only libxml2's xmlFree may free) */
static void gather_text(xmlNode *n, cs_buf *b)
{
    for (; n; n = n->next) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content)
            cs_buf_puts(b, (const char *)n->content);
        else if (n->type == XML_ELEMENT_NODE)
            gather_text(n->children, b);
    }
}

/* An element's or attribute's text (its first child node: first), copied
 * into the arena; NULL if absent or empty. */
static const char *keep(cs_arena *a, xmlNode *first)
{
    cs_buf b = {0};
    gather_text(first, &b);
    const char *r = b.len ? cs_arena_strdup(a, b.data) : NULL;
    cs_buf_free(&b);
    return r;
}

static const char *attribute(cs_arena *a, xmlNode *n, const char *name)
{
    xmlAttr *at = lx.xmlHasProp(n, (const xmlChar *)name);
    return at ? keep(a, at->children) : NULL;
}

int cs_pkg_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why)
{
    if (n > (16u << 20)) {
        *why = "package XML larger than 16 MiB";
        return -1;
    }
    if (!lx_load(why))
        return -1;
    /* no network, no entities substituted, no external DTD: the file is hostile */
    xmlDoc *doc = lx.xmlReadMemory((const char *)d, (int)n, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
    if (!doc) {
        *why = "package XML is not well-formed";
        return -1;
    }
    xmlNode *root = lx.xmlDocGetRootElement(doc);
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (root && strcmp((const char *)root->name, "installer-gui-script") == 0) {
        out->source = "pkg-distribution";
        xmlNode *t = child(root, "title"), *p = child(root, "product");
        out->name = t ? keep(a, t->children) : NULL;
        if (p) {
            out->version = attribute(a, p, "version");
            out->bundle_id = attribute(a, p, "id");
        }
        rc = out->name || out->version || out->bundle_id;
    } else if (root && strcmp((const char *)root->name, "pkg-info") == 0) {
        out->source = "pkg-info";
        out->version = attribute(a, root, "version");
        out->bundle_id = attribute(a, root, "identifier");
        rc = out->version || out->bundle_id;
    }
    if (out->version)
        out->file_version = out->version;
    lx.xmlFreeDoc(doc);
    return rc;
}
