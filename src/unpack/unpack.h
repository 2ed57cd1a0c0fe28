/* Unpackers: a table like the detectors' (name, claims, iterate), each
 * turning one container view into members. The engine owns the limits: an
 * unpacker announces each member and streams its bytes through the
 * context, which counts them against the per-member, per-container and
 * per-outer-file limits and makes each member a job of its own. Unpackers
 * never write to disk (a large member spills into an unlinked private
 * temporary file through its source) and never run external programs. */
#ifndef CS_UNPACK_UNPACK_H
#define CS_UNPACK_UNPACK_H

#include <stdint.h>

#include "chainsweep/chainsweep.h"
#include "view/view.h"

typedef struct cs_unpack_ctx cs_unpack_ctx;

/* Better names for a nested container's entries, known to the container
 * holding it: an MSI's File table names the keys its cabinets store
 * (F_ffmpeg_dll_1 -> ProgramFiles64Folder/3CX Desktop App/ffmpeg.dll).
 * keys sorted by strcmp. */
typedef struct cs_name_map {
    size_t n;
    const char *const *keys;
    const char *const *names;
} cs_name_map;

/* What the container says about a member before its bytes are read. */
typedef struct cs_member_info {
    const char *name;          /* as stored; raw bytes */
    uint64_t size;             /* declared size, UINT64_MAX when unknown */
    int encrypted;             /* no password: reported, not read */
    int is_link;               /* symbolic or hard link: reported, not followed */
    const cs_name_map *names;  /* for the member's own entries, or NULL (copied) */
    const cs_integrity *integrity; /* hashes the container records for it, or NULL (copied) */
} cs_member_info;

/* The name a stored entry of this container should be reported under (the
 * container's name map, or stored itself). */
const char *cs_unpack_name(const cs_unpack_ctx *c, const char *stored);
/* Refine the container's format once it is open ("TAR+GZIP"); static string. */
void cs_unpack_set_format(cs_unpack_ctx *c, const char *format);

/* Next block of a member's bytes: returns the count, 0 at the end, -1 with
 * *why on a read error (an unsupported method, corrupt data). At the end,
 * *why may carry a warning about bytes already handed out (a bad CRC): the
 * member is scanned and its record carries the warning. */
typedef long (*cs_member_read_fn)(void *rd, const void **block, const char **why);

/* Should the unpacker go on? 0 once a container-level limit (members, total
 * bytes, time) stopped it; the context already reported why. */
int cs_unpack_more(cs_unpack_ctx *c);
/* A member whose bytes the unpacker streams: checked against the limits
 * while it is read, then scanned as a job of its own. */
void cs_unpack_stream(cs_unpack_ctx *c, const cs_member_info *m, cs_member_read_fn read, void *rd);
/* A member stored uncompressed at [off, off+len) of the container: no copy. */
void cs_unpack_range(cs_unpack_ctx *c, const cs_member_info *m, uint64_t off, uint64_t len);
/* A member the unpacker cannot read: a visible skipped record. */
void cs_unpack_skip(cs_unpack_ctx *c, const cs_member_info *m, cs_skip_reason why, const char *detail);
/* The container itself could not be read completely (truncated, corrupt):
 * its record carries the message; members already read keep their records. */
void cs_unpack_fail(cs_unpack_ctx *c, const char *why);
/* The container cannot be unpacked on this host (a library loaded on first
 * use is missing: why says which): its record says "not unpacked: why", as
 * cs_unpack_fail would, and the outer file's record is not kept in the
 * state store, so that a later sweep tries again. */
void cs_unpack_unavailable(cs_unpack_ctx *c, const char *why);
/* The configuration (limits) and the file-type table, for unpackers that
 * need them. */
const cs_config *cs_unpack_config(const cs_unpack_ctx *c);

typedef struct cs_unpacker_ops {
    const char *name;
    /* The container format this view is ("ZIP", "MSI"), or NULL. */
    const char *(*claims)(const cs_file *f);
    /* Announce every member through c. A returned error is the container's
     * (like cs_unpack_fail). */
    cs_status (*iterate)(cs_file *f, const char *format, cs_unpack_ctx *c, cs_error *err);
    /* Optional: read one member by name (a sibling a member asks for: a
     * bundle's Contents/Info.plist). Members of unpackers that have it can
     * open related objects. */
    cs_extract_fn extract;
} cs_unpacker_ops;

/* The archive format libarchive would be asked to read for these bytes
 * ("ZIP", "7Z", "GZIP"), by magic; NULL when none. */
const char *cs_archive_format(const unsigned char *d, size_t n);

/* The one list of unpackers, in the order they are asked. */
extern const cs_unpacker_ops *const cs_unpackers[];
extern const size_t cs_unpacker_count;

#endif
