#include "util/lazylib.h"

#include <dlfcn.h>
#include <stdio.h>

void *cs_lazy_open(cs_lazy *l)
{
    /* RTLD_LOCAL: its symbols stay out of the global scope, found only here */
    l->handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!l->handle) {
        const char *e = dlerror();
        snprintf(l->why, sizeof l->why, "%s", e ? e : l->soname);
    }
    return l->handle;
}

void *cs_lazy_sym(cs_lazy *l, const char *name)
{
    dlerror();
    void *p = dlsym(l->handle, name);
    if (!p) {
        const char *e = dlerror();
        snprintf(l->why, sizeof l->why, "%s: %s", l->soname, e ? e : name);
    }
    return p;
}
