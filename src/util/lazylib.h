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

#define CS_LAZY_API(api, soname, FUNCS)                                                                        \
    static struct {                                                                                            \
        FUNCS(CS_LAZY_MEMBER_)                                                                                 \
    } api;                                                                                                     \
    static cs_lazy api##_lib = {PTHREAD_ONCE_INIT, soname, NULL, 0, ""};                                       \
    static void api##_resolve(void)                                                                            \
    {                                                                                                          \
        cs_lazy *lib_ = &api##_lib;                                                                            \
        __typeof__(api) *tbl_ = &api;                                                                          \
        void *sym_;                                                                                            \
        if (!cs_lazy_open(lib_))                                                                               \
            return;                                                                                            \
        FUNCS(CS_LAZY_RESOLVE_)                                                                                \
        lib_->ok = 1;                                                                                          \
    }                                                                                                          \
    /* 1 when every function is there; else 0 and *why says what failed */                                   \
    static int api##_load(const char **why)                                                                    \
    {                                                                                                          \
        pthread_once(&api##_lib.once, api##_resolve);                                                          \
        if (!api##_lib.ok && why)                                                                              \
            *why = api##_lib.why;                                                                              \
        return api##_lib.ok;                                                                                   \
    }

#endif
