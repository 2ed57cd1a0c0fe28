/* Helpers for unit tests that need real files: a private temp tree. */
#ifndef CS_TEST_HELPERS_H
#define CS_TEST_HELPERS_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *th_mkdtemp(void)
{
    char tmpl[] = "/tmp/cs-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void th_write(const char *dir, const char *name, const void *data, size_t n)
{
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    FILE *f = fopen(p, "wb");
    free(p);
    if (!f)
        abort();
    fwrite(data, 1, n, f);
    fclose(f);
}

static inline void th_rmrf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

#endif
