/* Partition maps on a disk: Apple Partition Map ("ER" driver descriptor,
 * "PM" entries) and GPT (protective MBR, "EFI PART" header, entries), the
 * maps DMGs and xorriso's HFS+ images carry. Lists the partitions with
 * their type; bounds-checked, at most CS_PARTMAP_MAX entries. */
#ifndef CS_FORMAT_PARTMAP_H
#define CS_FORMAT_PARTMAP_H

#include <stddef.h>
#include <stdint.h>

#define CS_PARTMAP_MAX 128

/* Read n bytes at disk offset off: 0, or -1 with why. */
typedef int (*cs_disk_read_fn)(void *ctx, uint64_t off, void *buf, size_t n, char *why, size_t why_n);

typedef struct cs_partition {
    char type[40];           /* APM pmParType ("Apple_HFS", "Apple_partition_map") or, for GPT, the
                                type GUID's name ("Apple_HFS", "Apple_APFS", "EFI", ...) or the GUID */
    char name[40];           /* the partition's name, UTF-8, may be empty */
    uint64_t offset, size;   /* bytes on the disk */
} cs_partition;

/* Fill out[0..*n) from the map at the start of a disk of disk_size bytes
 * (out has room for CS_PARTMAP_MAX entries; *n is set, 0 on failure).
 * Returns 1 when a map was found, 0 when there is none (the disk may be a
 * bare volume), -1 with why when a map is there but damaged. Entries that
 * point past the disk are dropped. */
int cs_partmap_read(cs_disk_read_fn rd, void *ctx, uint64_t disk_size, cs_partition *out, size_t *n, char *why,
                    size_t why_n);

#endif
