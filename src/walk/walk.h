/* Directory walker: never follows symlinks or crosses file systems unless
 * asked, never opens anything but directories, skips pseudo file systems. */
#ifndef CS_WALK_WALK_H
#define CS_WALK_WALK_H

#include <sys/stat.h>

#include "chainsweep/chainsweep.h"

typedef struct cs_walk_entry {
    const char *path;          /* valid during the callback only */
    const struct stat *st;     /* NULL for errors */
    cs_skip_reason skip;       /* CS_SKIP_NONE: a regular file to scan */
    const char *error;         /* non-NULL: could not be listed, examined or opened */
    /* A regular file to scan, opened with openat on its directory's
     * descriptor (never by re-resolving the path), and a descriptor of that
     * directory for related objects (a bundle's Info.plist). Both belong to
     * the callback, which must close them; -1 otherwise. */
    int fd, dirfd;
} cs_walk_entry;

/* Non-zero: stop the walk (an interrupted sweep); the entry still belongs to the callback. */
typedef int (*cs_walk_fn)(void *ud, const cs_walk_entry *entry);
/* Should path (basename: name, metadata: st) be left out, and why
 * (CS_SKIP_NONE: no)? A directory left out is not entered. */
typedef cs_skip_reason (*cs_walk_exclude_fn)(void *ud, const char *path, const char *name, const struct stat *st);

/* Does the caller take this regular file without its being opened (it can
 * answer for it otherwise: unchanged since the last sweep)? 0: no, the
 * walker opens it and calls the entry callback; 1: taken, no callback;
 * -1: stop the walk. */
typedef int (*cs_walk_claim_fn)(void *ud, const char *path, const struct stat *st);

typedef struct cs_walk_opts {
    int follow_symlinks;
    int cross_fs;
    int max_depth;             /* -1: unlimited */
    cs_walk_exclude_fn exclude; /* may be NULL */
    void *exclude_ud;
    cs_walk_claim_fn claim;    /* may be NULL */
    void *claim_ud;
} cs_walk_opts;

/* Walk one root (a file or a directory). A symlink given as the root itself
 * is followed, as `find -H` does. Returns -1 when the root is missing. */
int cs_walk(const cs_walk_opts *o, const char *root, cs_walk_fn fn, void *ud);

#endif
