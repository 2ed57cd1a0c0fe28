/* Windows Installer packages (OLE compound files read with libgsf, from
 * memory): the product an MSI installs, from its Property table; and what
 * an unpacker needs: the payload streams (embedded cabinets, Binary table
 * rows, anything else that is not a table) and the install path of every
 * file a cabinet holds. */
#ifndef CS_FORMAT_MSI_H
#define CS_FORMAT_MSI_H

#include <stddef.h>
#include <stdint.h>

#include "chainsweep/chainsweep.h"
#include "util/util.h"

/* ProductName, ProductVersion and Manufacturer. 0 on success (fields the
 * package lacks stay NULL); -1 with *why when the compound file, its
 * string pool or its Property table is malformed. */
int cs_msi_product(const unsigned char *d, size_t n, cs_arena *a, cs_product *out, const char **why);

typedef enum cs_msi_stream_kind {
    CS_MSI_CABINET,   /* named by a Media row: Cabinet "#cab1.cab" is stream "cab1.cab" */
    CS_MSI_BINARY,    /* a Binary table row (custom-action DLLs and scripts): stream "Binary.<Name>" */
    CS_MSI_SIGNATURE, /* "\005DigitalSignature", "\005MsiDigitalSignatureEx": the package's Authenticode signature */
    CS_MSI_SUMMARY,   /* "\005SummaryInformation", "\005DocumentSummaryInformation": property sets */
    CS_MSI_OTHER      /* any other stream that is not a table (Icon.*, streams no table names) */
} cs_msi_stream_kind;

/* "cabinet", "binary", "signature", "summary", "other". */
const char *cs_msi_stream_kind_name(cs_msi_stream_kind kind);

typedef struct cs_msi_stream {
    const char *name;         /* decoded stream name, UTF-8 ("cab1.cab", "Binary.CaDll", "\005SummaryInformation");
                                 a stream with the table prefix that is no table Windows reads starts with '!' */
    cs_msi_stream_kind kind;
    const char *row;          /* CS_MSI_BINARY: the row's Name ("CaDll"); else NULL */
    int disk_id;              /* CS_MSI_CABINET: the Media row's DiskId; else 0 */
    uint64_t size;            /* bytes in the stream */
    const unsigned char *data; /* the size bytes; NULL when too_large or opened without reading */
    int too_large;            /* size is over the caller's limit: not read */
    size_t index;             /* private: the compound-file child */
} cs_msi_stream;

typedef struct cs_msi_file {
    const char *key;           /* File: the entry's name inside its cabinet ("F_ffmpeg_dll_1") */
    const char *component;     /* Component_ */
    const char *name;          /* FileName, the long name ("short|long" -> long), as stored: use path on disk */
    const char *path;          /* relative install path, '/'-separated:
                                  "ProgramFiles64Folder/3CX Desktop App/ffmpeg.dll" (see below) */
    const cs_msi_stream *cabinet; /* the embedded cabinet that holds it (Media row by Sequence), or NULL
                                     (uncompressed, external cabinet, or no such stream) */
    int64_t size;              /* FileSize; -1 when NULL */
    int64_t sequence;          /* Sequence; -1 when NULL */
} cs_msi_file;

/* Paths: each directory contributes the long target name of its DefaultDir
 * ("[short|]long[:[short|]long]", the part before ':'); "." adds nothing.
 * A system folder (ProgramFiles64Folder, SystemFolder, ...) is named by its
 * key, whatever its parent, as Windows resolves it from the property of
 * that name. A root (no parent, or itself) adds nothing when it is TARGETDIR
 * or SourceDir, else its key. Components never contain '/', '\' or control
 * characters and are never "." or ".." (such characters become '_'), so a
 * path can be joined below an extraction directory as is. */

typedef struct cs_msi_package {
    cs_msi_stream *streams;    /* every non-table stream, in compound-file order */
    size_t n_streams;
    cs_msi_file *files;        /* every File row, sorted by key */
    size_t n_files;
    const char *names_error;   /* the File, Component or Directory tables are damaged: files
                                  is empty and cabinet entries keep their keys; NULL otherwise */
    struct cs_msi_chunk *mem;  /* private: the package's memory */
    struct msi_db *db;         /* private: the compound file, kept when streams are read later */
} cs_msi_package;

/* Read the package in d (n bytes; the caller keeps d alive only for the
 * call: streams are copies). Streams larger than stream_limit bytes are
 * listed with too_large set and not read. 0 and *out (free it with
 * cs_msi_package_free) on success; a package without some table has no
 * rows from it, which is not an error. -1, *out NULL and a static *why
 * when the compound file, the string pool, a table (row sizes, column
 * definitions, string ids, duplicate or missing keys, references between
 * File, Component and Directory, Directory parent cycles, more than 64
 * levels) or a stream is malformed, when its names and install paths
 * together would take more than 16 MiB plus 16 bytes per byte of the
 * package (at most 128 MiB), or when memory runs out. */
int cs_msi_open(const unsigned char *d, size_t n, uint64_t stream_limit, cs_msi_package **out, const char **why);

/* The package in d without reading any stream's data (streams have
 * data NULL, too_large 0): read each with cs_msi_stream_open while d and
 * the package are alive. A package whose File, Component or Directory
 * tables are damaged still gives its streams, with names_error set. Same
 * return values as cs_msi_open otherwise. */
int cs_msi_open_lazy(const unsigned char *d, size_t n, cs_msi_package **out, const char **why);
/* 1 when libgsf (loaded on first use) is there; else 0 and *why. */
int cs_msi_available(const char **why);

/* Stream s of a package opened with cs_msi_open_lazy, in blocks of at most
 * 1 MiB: cs_msi_stream_next gives the next block (valid until the next
 * call) and its length, 0 at the end, -1 with *why. */
typedef struct cs_msi_reader cs_msi_reader;
cs_msi_reader *cs_msi_stream_open(cs_msi_package *p, const cs_msi_stream *s, const char **why);
long cs_msi_stream_next(cs_msi_reader *r, const unsigned char **block, const char **why);
void cs_msi_stream_close(cs_msi_reader *r);

/* The File row whose key is key (a cabinet entry's name), or NULL. */
const cs_msi_file *cs_msi_file_by_key(const cs_msi_package *p, const char *key);

/* Its relative install path, or NULL when no File row has that key. */
const char *cs_msi_path(const cs_msi_package *p, const char *key);

/* Frees the package and everything in it; NULL is fine. */
void cs_msi_package_free(cs_msi_package *p);

#endif
