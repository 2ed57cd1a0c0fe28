/* HFS+ and HFSX volumes (read only): the volume header, the catalog B-tree
 * (leaf nodes walked by their links, every node visited at most once), the
 * extents overflow B-tree for forks with more than eight extents, data
 * forks, symbolic links, hard links (through the private metadata folder)
 * and decmpfs-compressed files (recognised and reported, not decoded).
 * Reads go through a callback so the volume can sit in a file, in memory
 * or inside a UDIF image. Hostile input: every node, record, key and
 * extent is bounds-checked; damage yields a clear message, never a crash,
 * a hang or unbounded memory. Not thread-safe per handle. */
#ifndef CS_FORMAT_HFSPLUS_H
#define CS_FORMAT_HFSPLUS_H

#include <stddef.h>
#include <stdint.h>

/* Read n bytes at offset off of the volume (0 = the volume's first byte,
 * the header being at 1024): 0, or -1 with a message in why. */
typedef int (*cs_hfs_read_fn)(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n);

typedef struct cs_hfs cs_hfs;

enum { CS_HFS_FILE = 1, CS_HFS_SYMLINK = 2 };

typedef struct cs_hfs_entry {
    const char *path;        /* UTF-8, '/'-separated from the volume's root, no leading '/'; owned by the handle,
                                valid until the next cs_hfs_next or cs_hfs_close */
    int kind;                /* CS_HFS_FILE or CS_HFS_SYMLINK */
    int hard_link;           /* a hard link: size and data are the linked file's */
    int compressed;          /* decmpfs (UF_COMPRESSED): the data fork is not the content */
    uint64_t size;           /* logical size of the data fork */
    uint32_t id;             /* catalog node ID of the file holding the data */
    uint32_t mode;           /* BSD mode bits (permissions and file type) */
    int64_t mtime;           /* content modification time, Unix seconds */
} cs_hfs_entry;

/* Open the volume of volume_size bytes read through rd/ctx: reads the
 * header and the catalog's structure. 0, or -1 with why (not HFS+/HFSX, a
 * damaged header or catalog). */
int cs_hfs_open(cs_hfs_read_fn rd, void *ctx, uint64_t volume_size, cs_hfs **out, char *why, size_t why_n);
/* Is there an HFS+ ("H+") or HFSX ("HX") volume header at offset 1024 of
 * these bytes (the first 1536 or more of a volume)? */
int cs_hfs_probe(const unsigned char *first, size_t n);
/* The next file or symbolic link, in catalog order (directories are not
 * returned; their names are in the paths): 1 with *e filled, 0 at the end,
 * -1 with why (the catalog is damaged past this point; entries already
 * returned stand). */
int cs_hfs_next(cs_hfs *h, cs_hfs_entry *e, char *why, size_t why_n);
/* Read n bytes at off of the data fork of the file with catalog ID id (for
 * a symbolic link: its target). Returns the count (short at the end of the
 * fork, 0 past it) or -1 with why. */
long cs_hfs_read(cs_hfs *h, uint32_t id, uint64_t off, void *buf, size_t n, char *why, size_t why_n);
/* Find a file by path ('/'-separated from the root, as cs_hfs_next gives
 * them): 1 with *e (path points into the handle until the next call), 0
 * when absent, -1 with why. */
int cs_hfs_lookup(cs_hfs *h, const char *path, cs_hfs_entry *e, char *why, size_t why_n);
void cs_hfs_close(cs_hfs *h);

#endif
