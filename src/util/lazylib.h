/* Libraries loaded on first use (dlopen) instead of at process start.
 * Linked, libarchive (with libxml2 and ICU), libgsf (with GLib) and
 * libmicrohttpd (with GnuTLS) cost every start of the CLI ~7 ms of mapping
 * and relocation, more than a rescan of an unchanged tree takes; most
 * sweeps and every rescan need none of them. A module lists the functions
 * it calls and calls them through its table:
 *
 *   #define ARCHIVE_FUNCS(X) X(archive_read_new) X(archive_read_free)
 *   CS_LAZY_API(la, CS_SONAME_ARCHIVE, ARCHIVE_FUNCS)
 *   ...
 *   const char *why;
 *   if (!la_load(&why))
 *       return fail(why);            // "libarchive.so.13: cannot open ..."
 *   struct archive *a = la.archive_read_new();
 *
 * The table's types are the header's (typeof), so a call is checked as a
 * direct one would be. Loaded once per process (any thread); never unloaded. */
#ifndef CS_UTIL_LAZYLIB_H
#define CS_UTIL_LAZYLIB_H

#include <pthread.h>
#include <string.h>

typedef struct cs_lazy {
    pthread_once_t once;
    const char *soname;
    void *handle;
    int ok;
    char why[256];
} cs_lazy;

/* The library's handle, or NULL with l->why said. */
void *cs_lazy_open(cs_lazy *l);
/* A symbol of it, or NULL with l->why said. */
void *cs_lazy_sym(cs_lazy *l, const char *name);

#define CS_LAZY_MEMBER_(name) __typeof__(&name) name;
#define CS_LAZY_RESOLVE_(name)                                                                                 \
    if (!(sym_ = cs_lazy_sym(lib_, #name)))                                                                    \
        return;                                                                                                \
    memcpy(&tbl_->name, &sym_, sizeof sym_);

/* The table, its library and its loader; storage: static, or empty for
 * one shared by several files (CS_LAZY_DECLARE in a header). */
#define CS_LAZY_BODY_(storage, api, soname, FUNCS)                                                             \
    storage struct api##_table api;                                                                            \
    static cs_lazy api##_lib = {PTHREAD_ONCE_INIT, soname, NULL, 0, ""};                                       \
    static void api##_resolve(void)                                                                            \
    {                                                                                                          \
        cs_lazy *lib_ = &api##_lib;                                                                            \
        struct api##_table *tbl_ = &api;                                                                       \
        void *sym_;                                                                                            \
        if (!cs_lazy_open(lib_))                                                                               \
            return;                                                                                            \
        FUNCS(CS_LAZY_RESOLVE_)                                                                                \
        lib_->ok = 1;                                                                                          \
    }                                                                                                          \
    /* 1 when every function is there; else 0 and *why says what failed */                                   \
    storage int api##_load(const char **why)                                                                   \
    {                                                                                                          \
        pthread_once(&api##_lib.once, api##_resolve);                                                          \
        if (!api##_lib.ok && why)                                                                              \
            *why = api##_lib.why;                                                                              \
        return api##_lib.ok;                                                                                   \
    }

/* A table for one file. */
#define CS_LAZY_API(api, soname, FUNCS)                                                                        \
    struct api##_table {                                                                                       \
        FUNCS(CS_LAZY_MEMBER_)                                                                                 \
    };                                                                                                         \
    CS_LAZY_BODY_(static, api, soname, FUNCS)

/* A table several files share: declared in a header, defined in one file. */
#define CS_LAZY_DECLARE(api, FUNCS)                                                                            \
    struct api##_table {                                                                                       \
        FUNCS(CS_LAZY_MEMBER_)                                                                                 \
    };                                                                                                         \
    extern struct api##_table api;                                                                             \
    int api##_load(const char **why);
#define CS_LAZY_DEFINE(api, soname, FUNCS) CS_LAZY_BODY_(, api, soname, FUNCS)

#endif
