/* Directory walker: never follows symlinks or crosses file systems unless
 * asked, never opens anything but directories, skips pseudo file systems. */
#ifndef CS_WALK_WALK_H
#define CS_WALK_WALK_H

#include <sys/stat.h>

#include "engine/engine.h"

typedef struct cs_walk_entry {
    const char *path;          /* valid during the callback only */
    const struct stat *st;     /* NULL for errors */
    cs_skip_reason skip;       /* CS_SKIP_NONE: a regular file to scan */
    const char *error;         /* non-NULL: could not be listed or examined */
} cs_walk_entry;

typedef void (*cs_walk_fn)(void *ud, const cs_walk_entry *entry);

/* Walk one root (a file or a directory). A symlink given as the root itself
 * is followed, as `find -H` does. Returns -1 when the root is missing. */
int cs_walk(const cs_engine *e, const char *root, cs_walk_fn fn, void *ud);

#endif
