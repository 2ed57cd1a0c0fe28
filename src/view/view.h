/* The file view: what detectors and unpackers see of one file or member.
 * Built on a source (view/source.h); the content is mapped once and every
 * layer reads the same bytes; hashes, PE headers, the Authenticode report
 * and the product are computed on first use and shared. */
#ifndef CS_VIEW_VIEW_H
#define CS_VIEW_VIEW_H

#include "chainsweep/authenticode.h"
#include "chainsweep/codesign.h"
#include "chainsweep/chainsweep.h"
#include "format/filetype.h"
#include "format/pe.h"
#include "util/util.h"
#include "view/source.h"

/* CS_HASH_ALL: the three cryptographic digests; TLSH is asked for by name */
enum { CS_HASH_MD5 = 1, CS_HASH_SHA1 = 2, CS_HASH_SHA256 = 4, CS_HASH_ALL = 7, CS_HASH_TLSH = 8 };

/* What a container says a member's bytes hash to (an asar header's
 * integrity): checked by the integrity detector against the member. */
typedef struct cs_integrity {
    const char *origin;         /* "asar header" */
    unsigned char sha256[32];
    uint64_t block_size;        /* 0: no block hashes */
    size_t n_blocks;
    const unsigned char (*blocks)[32];
} cs_integrity;

typedef struct cs_file {
    cs_source *src;
    const char *path;           /* display path: the outer path, and for a member its chain */
    size_t path_len;
    const char *name;           /* basename (of the member name for a member) */
    size_t dir_len;             /* length of path's directory part, no trailing '/' */
    char ext[32];               /* ".exe", lower case; "" when none or too long */
    cs_meta meta;
    /* where it sits: depth 0 for a file on disk */
    unsigned depth;
    const cs_member *chain;     /* the member chain from the outer file (depth entries) */
    const char *parent_type;    /* file type of the container holding it, NULL at depth 0 */
    const char *unpack_source;  /* container types from the outside in, "ZIP>MSI>CAB" */
    const cs_integrity *integrity; /* a member's expected hashes, or NULL */
    const unsigned char *data;  /* NULL when the content was not read */
    size_t size;
    const char *filetype;
    int content_scan_skipped;   /* larger than the content-scan cap (YARA does not run) */
    unsigned hashes;            /* CS_HASH_* already computed */
    unsigned hashes_wanted;     /* CS_HASH_* the running layers need: all in the first pass */
    unsigned char md5[16], sha1[20], sha256[32];
    char tlsh[73];              /* "T1" + 70 hex digits, "" when the content has none (CS_HASH_TLSH) */
    int authentihash_state;     /* 0 not computed, 1 computed, -1 not a PE (or no such digest) */
    unsigned char authentihash[32];
    int imphash_state;          /* 0 not computed, 1 computed, -1 not a PE (or no imports) */
    char imphash[33];
    int pe_state;               /* 0 not parsed, 1 PE, -1 not a PE */
    cs_pe pe;
    cs_arena *arena;            /* the job's: strings that outlive the file */
    const cs_trust *trust;      /* Authenticode anchors, or NULL */
    int sig_state;              /* 0 not verified, 1 report, -1 no signature */
    cs_ac_report *sig;
    int mc_state;               /* Mach-O code signature: 0 not verified, 1 report, -1 not a Mach-O */
    cs_mc_report *mc;
    int product_state;          /* 0 not read, 1 product, -1 none */
    cs_product product;
    const char *product_error;  /* malformed version info, Info.plist... */
} cs_file;

/* Set up a view of src named by path (the display path) and name (the
 * basename the name-based layers see). Does not map yet. */
void cs_file_init(cs_file *f, cs_source *src, const char *path, const char *name, cs_arena *arena);
/* Map the content and detect the file type; -1 with err when unmappable. */
int cs_file_map(cs_file *f, const cs_filetypes *types, cs_error *err);
/* Compute the missing hashes of mask, and of hashes_wanted, in one pass
 * over the mapped bytes. */
void cs_file_hash(cs_file *f, unsigned mask);
/* The PE headers, parsed on first use and shared by every detector;
 * NULL when the content is not a PE. */
const cs_pe *cs_file_pe(cs_file *f);
/* The Authenticode report of a signed PE, verified on first use and shared
 * by every detector; NULL when the file is not a signed PE. */
const cs_ac_report *cs_file_signature(cs_file *f, cs_error *err);
/* A PE's authentihash (its Authenticode SHA-256, signed or not), computed
 * on first use; NULL when the file is not a PE. */
const unsigned char *cs_file_authentihash(cs_file *f);
/* A PE's import hash as YARA's pe.imphash() gives it, computed once per
 * view (the report and the YARA prefilter both ask); NULL when none. */
const char *cs_file_imphash(cs_file *f);
/* The code-signature report of a Mach-O (thin or universal), verified on
 * first use and shared by every detector; NULL when the file is not a
 * Mach-O (or, with err set, on allocation failure). */
const cs_mc_report *cs_file_codesign(cs_file *f, cs_error *err);
/* What the file says it is (PE version information; an MSI's Property
 * table; the Info.plist of the bundle whose main executable it is, opened
 * through the source as a related object), read on first use; NULL when it
 * names nothing. Malformed data sets f->product_error. */
const cs_product *cs_file_product(cs_file *f);
/* A large file's bytes [p, p+len) were read: give them back (RSS bounded). */
void cs_file_release_range(cs_file *f, const unsigned char *p, size_t len);
/* Free what the view computed (the signature report). */
void cs_file_release(cs_file *f);

#endif
