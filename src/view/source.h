/* Sources: where the bytes of a scanned object come from, behind a method
 * table (in the style of SQLite's sqlite3_io_methods). A file view is built
 * on a source; detectors and unpackers see only the view.
 *
 * Implementations: a real file (a descriptor the walker opened with openat
 * on its directory descriptor, never by re-resolving the path), a memory
 * buffer (borrowed or owned), and a member of a container (a zero-copy
 * sub-range of its parent, or bytes the unpacker read into a bounded buffer
 * or, when large, into an unlinked temporary file).
 *
 * Sources are reference counted: a member that is a sub-range of its parent
 * keeps the parent alive. Reading mapped bytes can fault when the file
 * shrinks; callers read them inside a guard (util/guard.h). */
#ifndef CS_VIEW_SOURCE_H
#define CS_VIEW_SOURCE_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "chainsweep/chainsweep.h"

/* Metadata of what a source reads; a member has no owner, group or mode. */
typedef struct cs_meta {
    uint64_t size;
    int64_t mtime;             /* seconds; 0 when unknown */
    int has_owner;             /* uid, gid and mode are real */
    unsigned uid, gid, mode;
    /* identity for the incremental store (real files only) */
    int has_identity;
    uint64_t dev, ino;
    int64_t mtime_ns, ctime_ns;
} cs_meta;

typedef struct cs_source cs_source;

#define CS_SOURCE_METHODS_VERSION 2 /* 2: release */

typedef struct cs_source_methods {
    int version;               /* CS_SOURCE_METHODS_VERSION */
    const char *kind;          /* "file", "memory", "member" */
    /* Read up to len bytes at off; returns the count (0 at the end), or -1
     * with errno set. */
    ssize_t (*read_at)(cs_source *s, void *buf, size_t len, uint64_t off);
    /* The whole content, read-only, valid until close; NULL with err when it
     * cannot be mapped. Optional: NULL means read_at only. */
    const unsigned char *(*map)(cs_source *s, cs_error *err);
    /* A source for a related object named relative to this one ("../Info.plist"
     * beside a bundle's executable); CS_ERR_IO with ENOENT-like message when
     * absent. Optional. */
    cs_status (*open_related)(cs_source *s, const char *relpath, cs_source **out, cs_error *err);
    void (*close)(cs_source *s);
    /* Version 2, optional: bytes [p, p+len) of the mapping were read and may
     * leave the process's memory (a later read brings them back). */
    void (*release)(cs_source *s, const unsigned char *p, size_t len);
} cs_source_methods;

struct cs_source {
    const cs_source_methods *methods;
    atomic_int refs;
    cs_meta meta;
};

void cs_source_ref(cs_source *s);
void cs_source_unref(cs_source *s);

/* A real file's metadata and identity, as a file source records them. */
void cs_meta_from_stat(const struct stat *st, cs_meta *m);
/* A regular file the caller opened (ownership of fd passes to the source,
 * also on failure). dirfd: a descriptor of its directory for related
 * objects, or -1 (ownership passes too). */
cs_status cs_source_file(int fd, int dirfd, cs_source **out, cs_error *err);
/* Borrowed bytes (the caller keeps them alive), or owned ones freed with
 * free() at close when own is set. */
cs_status cs_source_memory(const void *data, size_t len, int own, cs_source **out, cs_error *err);
/* A zero-copy sub-range of a parent (which stays referenced). */
cs_status cs_source_range(cs_source *parent, uint64_t off, uint64_t len, cs_source **out, cs_error *err);
/* A buffer for a member an unpacker decompresses: bytes are appended with
 * cs_source_write; up to spill bytes stay in memory, more go to an unlinked
 * temporary file in tmpdir (NULL: $TMPDIR or /tmp) that is mapped at the
 * end. cs_source_write fails with CS_ERR_IO when the disk is full. */
cs_status cs_source_buffer(size_t spill, const char *tmpdir, cs_source **out, cs_error *err);
cs_status cs_source_write(cs_source *s, const void *p, size_t n, cs_error *err);

/* Reads a sibling of a member out of its container: the member named name
 * (a path inside the container, '/'-separated), at most max bytes. */
typedef cs_status (*cs_extract_fn)(cs_source *container, const char *name, size_t max, cs_source **out,
                                   cs_error *err);
/* A member as its own source: the bytes of inner (taken over), its name in
 * the container, and related objects ("../Info.plist") looked up in the
 * container through extract (which keeps the container referenced). */
cs_status cs_source_member(cs_source *inner, cs_source *container, const char *name, cs_extract_fn extract,
                           cs_source **out, cs_error *err);
/* Resolve relpath against the directory of name ("a/b/c" + "../d" ->
 * "a/d"), '/'-separated, into out; -1 when it climbs above the top. */
int cs_member_path_resolve(const char *name, const char *relpath, char *out, size_t n);

/* Open path read-only (never blocking on a FIFO or device: those and empty
 * files are CS_ERR_ARG), map it and call fn on the bytes inside a guard: a
 * file that shrinks or vanishes while it is read is CS_ERR_IO for it, not a
 * crash (SIGBUS), and an allocation failure is CS_ERR_NOMEM. For the
 * verifiers' path entry points. */
typedef cs_status (*cs_mapped_fn)(cs_source *src, const unsigned char *d, size_t n, void *ud, cs_error *err);
cs_status cs_source_map_path(const char *path, cs_mapped_fn fn, void *ud, cs_error *err);

/* If path names a bundle's main executable (<X>.app|.bundle/Contents/MacOS/
 * <name>, or <X>.framework/Versions/<v>/<X>), fill *b with a reader of the
 * bundle's files through src's related-object lookup (relative to the
 * bundle's root, never through a link; ref holds what the reader needs and
 * must live as long as b) and return 1. */
struct cs_mc_bundle;
typedef struct cs_bundle_ref {
    cs_source *src;
    const char *up;           /* from the executable's directory to the root: "../" or "" */
} cs_bundle_ref;
int cs_source_bundle(cs_source *src, const char *path, struct cs_mc_bundle *b, cs_bundle_ref *ref);

/* Map the whole content (once; later calls return the same bytes). Empty
 * sources give a valid pointer to no bytes. */
const unsigned char *cs_source_map(cs_source *s, cs_error *err);
/* Give back mapped bytes already read (large files: RSS stays bounded);
 * a no-op for sources whose bytes are not a file's. */
void cs_source_release(cs_source *s, const unsigned char *p, size_t len);
/* The related object, or NULL (err set) when absent or unsupported. */
cs_source *cs_source_open_related(cs_source *s, const char *relpath, cs_error *err);
/* Read a whole small source (at most max bytes) into a malloc'd buffer. */
unsigned char *cs_source_read_all(cs_source *s, size_t max, size_t *len, cs_error *err);

#endif
