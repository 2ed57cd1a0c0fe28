/* Apple UDIF disk images (.dmg): the 512-byte "koly" trailer, the XML
 * property list with its "blkx" table, and each partition's "mish" block
 * map of chunks (raw, zero/ignore, zlib, bzip2, ADC, XZ, and LZFSE with
 * our own decoder, src/format/lzfse.c). Presents the image as the disk it describes:
 * reads at disk offsets decompress only the chunks they touch (a small
 * cache keeps the last few). Hostile input: every offset and length is
 * checked against the image and the limits; never a crash, a clear reason.
 * Not thread-safe per handle (one reader per container job). */
#ifndef CS_FORMAT_UDIF_H
#define CS_FORMAT_UDIF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cs_udif cs_udif;

typedef struct cs_udif_partition {
    const char *name;        /* the blkx entry's Name ("disk image (Apple_HFS : 3)"), UTF-8 */
    uint64_t offset, size;   /* in bytes on the disk: first sector * 512, sectors * 512 */
} cs_udif_partition;

/* Does this look like UDIF (a koly trailer at the end)? */
int cs_udif_probe(const unsigned char *data, size_t size);

/* Parse the trailer, plist and block maps of the image at data[0..size)
 * (borrowed: it must stay mapped until cs_udif_close). max_chunk bounds the
 * decompressed size of one chunk (larger ones are refused). 0 on success;
 * -1 with a static or handle-independent message in why[0..why_n). */
int cs_udif_open(const unsigned char *data, size_t size, uint64_t max_chunk, cs_udif **out, char *why,
                 size_t why_n);
/* The disk's size in bytes (sum of the partitions' extents, the koly
 * sector count when larger). */
uint64_t cs_udif_disk_size(const cs_udif *u);
size_t cs_udif_partition_count(const cs_udif *u);
const cs_udif_partition *cs_udif_partition_at(const cs_udif *u, size_t i);
/* Read n bytes at disk offset off into buf: 0, or -1 with why (a corrupt
 * chunk, past the end of the disk). Regions no chunk covers
 * read as zeros. */
int cs_udif_read(cs_udif *u, uint64_t off, void *buf, size_t n, char *why, size_t why_n);
/* Chunk kinds seen, for the container's format name ("UDIF zlib+bzip2") and
 * for the container's format name: a bit per CS_UDIF_* kind. */
enum { CS_UDIF_RAW = 1, CS_UDIF_ZERO = 2, CS_UDIF_ZLIB = 4, CS_UDIF_BZIP2 = 8, CS_UDIF_ADC = 16, CS_UDIF_LZFSE = 32,
       CS_UDIF_LZMA = 64 };
unsigned cs_udif_chunk_kinds(const cs_udif *u);
void cs_udif_close(cs_udif *u);

#endif
