/* The Mach-O code-signature layer of a scan: every Mach-O is verified
 * (include/chainsweep/codesign.h) and each finding becomes a reason with
 * its score. A universal file's slices are verified as its members when
 * containers are unpacked (the default); with --no-archives, here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainsweep/codesign.h"
#include "detect/detector.h"
#include "format/macho.h"
#include "format/plist.h"
#include "view/source.h"

typedef struct mc_state {
    int unpacking;          /* universal files arrive as slices */
} mc_state;

static void *mc_create(void)
{
    return calloc(1, sizeof(mc_state));
}

static void mc_destroy(void *st)
{
    free(st);
}

static cs_status mc_prepare(void *st, cs_engine *e, cs_error *err)
{
    (void)err;
    ((mc_state *)st)->unpacking = !cs_engine_config(e)->no_archives;
    return CS_OK;
}

static int mc_active(const void *st)
{
    (void)st;
    return 1; /* built-in checks, no pack content */
}

static int mc_loaded(const void *st)
{
    (void)st;
    return 0;
}

/* Per worker: the seal of the last signed bundle seen (files of one bundle
 * mostly come one after another). */
typedef struct mc_thread {
    char root[4096];          /* display path up to ".app", "" when none cached */
    cs_mc_seal *seal;         /* NULL: that bundle has no readable CodeResources */
} mc_thread;

static void *mc_thread_init(void *st, cs_error *err)
{
    (void)st;
    mc_thread *t = calloc(1, sizeof *t);
    if (!t)
        cs_error_set(err, CS_ERR_NOMEM, "out of memory");
    return t;
}

static void mc_thread_fini(void *st, void *ts)
{
    (void)st;
    mc_thread *t = ts;
    cs_mc_seal_free(t->seal);
    free(t);
}

static unsigned char *read_related(cs_source *src, const char *rel, size_t max, size_t *len)
{
    cs_source *s = cs_source_open_related(src, rel, NULL);
    unsigned char *b = s && s->meta.size > 0 ? cs_source_read_all(s, max, len, NULL) : NULL;
    cs_source_unref(s);
    return b;
}

/* The signed bundle a file sits in (in its container level): the root its
 * seal is relative to (<X>.app|.bundle/Contents/ or <X>.framework/Versions/<v>/),
 * the file's path from there, and for a framework its binary's name. */
static int bundle_root(const char *path, size_t *root_len, const char **rel, char *fw_name, size_t fw_n)
{
    const char *level = path, *sep;
    while ((sep = strstr(level, "!/")) != NULL)
        level = sep + 2;
    const char *app = NULL, *fw = NULL;
    for (const char *q = strstr(level, ".app/Contents/"); q; q = strstr(q + 1, ".app/Contents/"))
        app = q + 14;
    for (const char *q = strstr(level, ".bundle/Contents/"); q; q = strstr(q + 1, ".bundle/Contents/"))
        if (q + 17 > (app ? app : level))
            app = q + 17; /* a loadable bundle: the same layout as an app */
    for (const char *q = strstr(level, ".framework/Versions/"); q; q = strstr(q + 1, ".framework/Versions/")) {
        const char *v = q + 20, *slash = strchr(v, '/');
        if (slash && slash > v) {
            fw = slash + 1;
            const char *name = q;
            while (name > level && name[-1] != '/')
                name--;
            snprintf(fw_name, fw_n, "%.*s", (int)(q - name), name);
        }
    }
    const char *r = fw && (!app || fw > app) ? fw : app;
    if (!r || !*r)
        return 0;
    if (r == app)
        *fw_name = '\0';
    *root_len = (size_t)(r - path);
    *rel = r;
    return 1;
}

/* Is the file sealed or omitted by its signed bundle's CodeResources? One
 * that is neither was added after signing (a planted library, a swapped
 * script): the finding is on the file itself. */
static void check_added(mc_thread *t, cs_file *f, cs_findings *out)
{
    size_t root_len;
    const char *rel;
    char fw_name[256];
    if (!f->src || !bundle_root(f->path, &root_len, &rel, fw_name, sizeof fw_name) || root_len >= sizeof t->root)
        return;
    if (strlen(t->root) != root_len || strncmp(t->root, f->path, root_len) != 0) {
        cs_mc_seal_free(t->seal);
        t->seal = NULL;
        memcpy(t->root, f->path, root_len);
        t->root[root_len] = '\0';
        /* the bundle's files relative to this file's directory */
        cs_buf up = {0};
        for (const char *p = rel; (p = strchr(p, '/')) != NULL; p++)
            cs_buf_puts(&up, "../");
        cs_buf p = {0};
        cs_buf_printf(&p, "%s_CodeSignature/CodeResources", up.data ? up.data : "");
        size_t len = 0, plen = 0;
        unsigned char *cr = read_related(f->src, p.data, 64u << 20, &len);
        cs_buf_free(&p);
        if (cr && *fw_name) {
            t->seal = cs_mc_seal_new(cr, len, fw_name, "Resources/Info.plist");
        } else if (cr) { /* an app: its Info.plist names the main executable */
            cs_buf_printf(&p, "%sInfo.plist", up.data ? up.data : "");
            unsigned char *pl = read_related(f->src, p.data, 1u << 20, &plen);
            cs_buf_free(&p);
            cs_arena a = {0};
            cs_product prod;
            const char *exe = NULL, *why;
            if (pl)
                cs_info_plist_parse(pl, plen, &a, &prod, &exe, &why);
            cs_buf main = {0};
            if (exe)
                cs_buf_printf(&main, "MacOS/%s", exe);
            t->seal = cs_mc_seal_new(cr, len, main.data, "Info.plist");
            cs_buf_free(&main);
            cs_arena_free(&a);
            free(pl);
        }
        free(cr);
        cs_buf_free(&up);
    }
    if (!t->seal || cs_mc_seal_covers(t->seal, rel))
        return;
    cs_buf b = {0};
    cs_buf_printf(&b, "%s: %s in %.*s", cs_mc_issue_description(CS_MC_RESOURCE_ADDED), rel,
                  (int)(root_len ? root_len - 1 : 0), t->root);
    cs_findings_add(out, "codesign", cs_mc_issue_name(CS_MC_RESOURCE_ADDED), cs_arena_strdup(out->arena, b.data),
                    cs_mc_issue_score(CS_MC_RESOURCE_ADDED));
    cs_buf_free(&b);
}

static cs_status mc_scan(void *st, void *ts, cs_file *f, cs_findings *out, cs_error *err)
{
    const mc_state *s = st;
    check_added(ts, f, out);
    if (!f->data || strcmp(f->filetype, "MACH-O") != 0)
        return CS_OK;
    if (cs_macho_is_fat(f->data, f->size) && s->unpacking) {
        /* the slices are verified as members; what lies in no slice is the container's */
        uint64_t end = cs_macho_fat_end(f->data, f->size);
        if (end && end < f->size) {
            cs_buf b = {0};
            cs_buf_printf(&b, "%s: %llu bytes after the last slice (which ends at %llu)",
                          cs_mc_issue_description(CS_MC_DATA_AFTER_SLICES), (unsigned long long)(f->size - end),
                          (unsigned long long)end);
            cs_findings_add(out, "codesign", cs_mc_issue_name(CS_MC_DATA_AFTER_SLICES),
                            cs_arena_strdup(out->arena, b.data), cs_mc_issue_score(CS_MC_DATA_AFTER_SLICES));
            cs_buf_free(&b);
        }
        return CS_OK;
    }
    const cs_mc_report *r = cs_file_codesign(f, err);
    if (!r) /* not a Mach-O, or no memory (err says which) */
        return err->code == CS_OK ? CS_OK : err->code;
    for (size_t i = 0; i < r->n_findings; i++) {
        const cs_mc_finding *fi = &r->findings[i];
        cs_buf b = {0};
        if (r->n_slices > 1)
            cs_buf_printf(&b, "[%s] ", r->slices[fi->slice].arch);
        cs_buf_printf(&b, "%s: %s", cs_mc_issue_description(fi->issue), fi->detail);
        cs_findings_add(out, "codesign", cs_mc_issue_name(fi->issue), cs_arena_strdup(out->arena, b.data),
                        cs_mc_issue_score(fi->issue));
        cs_buf_free(&b);
    }
    return CS_OK;
}

const cs_detector_ops cs_codesign_detector = {
    .name = "codesign",
    .needs_content = 1,
    .create = mc_create,
    .destroy = mc_destroy,
    .prepare = mc_prepare,
    .active = mc_active,
    .loaded = mc_loaded,
    .thread_init = mc_thread_init,
    .thread_fini = mc_thread_fini,
    .scan = mc_scan,
};

typedef struct verify_args {
    const cs_trust *trust;
    time_t now;
    cs_mc_report **out;
} verify_args;

typedef struct verify_args_path {
    verify_args a;
    const char *path;
} verify_args_path;

static cs_status verify_mapped(cs_source *src, const unsigned char *d, size_t n, void *ud, cs_error *err)
{
    verify_args_path *ap = ud;
    cs_mc_bundle b;
    cs_bundle_ref ref;
    int in_bundle = cs_source_bundle(src, ap->path, &b, &ref);
    return cs_codesign_verify_bundle(d, n, in_bundle ? &b : NULL, ap->a.trust, ap->a.now, ap->a.out, err);
}

cs_status cs_codesign_verify_path(const char *path, const cs_trust *trust, time_t now, cs_mc_report **out,
                                  cs_error *err)
{
    *out = NULL;
    verify_args_path a = {{trust, now, out}, path};
    cs_status rc = cs_source_map_path(path, verify_mapped, &a, err);
    if (rc != CS_OK) {
        cs_mc_report_free(*out);
        *out = NULL;
    }
    return rc;
}

cs_status cs_bundle_main_executable(const char *dir, char *out, size_t n, cs_error *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/Contents/Info.plist", dir);
    FILE *f = fopen(p, "rb");
    if (!f)
        return cs_error_set(err, CS_ERR_ARG, "not a bundle: no Contents/Info.plist");
    unsigned char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cs_arena a = {0};
    cs_product prod;
    const char *exe = NULL, *why = NULL;
    cs_status rc = CS_OK;
    if (cs_info_plist_parse(buf, len, &a, &prod, &exe, &why) != 0 || !exe || !*exe || strchr(exe, '/'))
        rc = cs_error_set(err, CS_ERR_ARG, "bundle: Contents/Info.plist names no main executable%s%s", why ? ": " : "",
                          why ? why : "");
    else if ((size_t)snprintf(out, n, "%s/Contents/MacOS/%s", dir, exe) >= n)
        rc = cs_error_set(err, CS_ERR_ARG, "bundle: path too long");
    cs_arena_free(&a);
    return rc;
}
