/* Electron asar archives: a Chromium pickle holding a JSON header
 * ({"files": {...}}), then the packed files' bytes. Newer writers add
 * per-file integrity (SHA-256 of the file and of each block). Files marked
 * "unpacked" live beside the archive in "<name>.unpacked/". */
#ifndef CS_FORMAT_ASAR_H
#define CS_FORMAT_ASAR_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_asar_entry {
    const char *path;           /* '/'-joined names from the header, as stored (UTF-8 from JSON) */
    uint64_t offset, size;      /* offset from the start of the archive file (the data base added) */
    int unpacked;               /* stored in <archive>.unpacked/<path>, not in the archive */
    int executable;
    const char *link;           /* a symbolic link's target, or NULL */
    const char *error;          /* a damaged entry (offset past the end, bad size): why; the rest is unset */
    /* integrity, when the header has it (has_integrity) */
    int has_integrity;
    unsigned char sha256[32];
    uint64_t block_size;        /* 0 when there are no block hashes */
    size_t n_blocks;
    const unsigned char (*blocks)[32];
} cs_asar_entry;

/* Called for each file and link in header order; nonzero stops the walk. */
typedef int (*cs_asar_entry_fn)(void *ctx, const cs_asar_entry *e);

/* Is this an asar archive? 2: the pickle sizes fit and the JSON header
 * starts with {"files"; 1: only the pickle sizes fit (a damaged header, if
 * the name says asar); 0: no. */
int cs_asar_probe(const unsigned char *d, size_t n);
/* Walk the header of the archive d[0..n): 0, or -1 with why (static text or
 * a message in why_buf) when the header itself is damaged. Entries that are
 * damaged are passed with their error set; the walk goes on. */
int cs_asar_walk(const unsigned char *d, size_t n, cs_asar_entry_fn fn, void *ctx, char *why, size_t why_n);

#endif
