/* Mach-O code signatures (Apple's "codesign" format), verified on any
 * platform: the SuperBlob in LC_CODE_SIGNATURE, every CodeDirectory
 * (SHA-1, SHA-256, SHA-384; alternates) with its code slots recomputed over
 * the file's pages and its special slots checked where the sealed thing is
 * in the file (requirements, entitlements), the CMS signature over the
 * first CodeDirectory with its CDHashes attributes checked against the
 * CodeDirectories as they are, the signer's certificate and Team ID.
 * Ad-hoc and linker-signed signatures are recognised as such. Universal
 * files are verified slice by slice. An RFC 3161 timestamp token is
 * verified (imprint and signature; its TSA's chain with anchors); with
 * anchors, the signer's chain is checked at the token's time (else now),
 * Apple's critical certificate extensions understood. Without anchors the
 * verdict says "intact", never "valid". */
#ifndef CHAINSWEEP_CODESIGN_H
#define CHAINSWEEP_CODESIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chainsweep/authenticode.h"
#include "chainsweep/chainsweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append-only: the values are part of the JSON output (by name). */
typedef enum cs_mc_issue {
    CS_MC_PAGE_HASH_MISMATCH = 0,   /* a code page changed after signing */
    CS_MC_SPECIAL_SLOT_MISMATCH,    /* Info.plist, requirements, CodeResources or entitlements changed after signing */
    CS_MC_CDHASH_NOT_SIGNED,        /* the CMS signs other CodeDirectories than these */
    CS_MC_BAD_SIGNATURE,            /* the CMS signature does not verify */
    CS_MC_MALFORMED,                /* SuperBlob, blob or CodeDirectory out of bounds */
    CS_MC_TRUNCATED,                /* LC_CODE_SIGNATURE runs past the end of the file */
    CS_MC_DATA_AFTER_SIGNATURE,     /* bytes after the signature, in no page hash */
    CS_MC_UNSEALED_BYTES,           /* code limit short of the signature: bytes in no page hash */
    CS_MC_TEAM_MISMATCH,            /* the CodeDirectory's Team ID is not the certificate's */
    CS_MC_DATA_AFTER_SLICES,        /* a universal file: bytes after its last slice, in no slice */
    CS_MC_BAD_TIMESTAMP,            /* the timestamp token does not verify or its TSA is not trusted */
    CS_MC_EXPIRED,                  /* signer outside its validity at the timestamp's time (else now) */
    CS_MC_UNTRUSTED,                /* no chain to the given anchors, or revoked */
    CS_MC_RESOURCE_CHANGED,         /* a file the bundle's CodeResources seals differs */
    CS_MC_RESOURCE_MISSING,         /* a file the bundle's CodeResources seals is gone */
    CS_MC_NESTED_CODE,              /* nested code is not the sealed one (re-signed, replaced, unsigned) */
    CS_MC_RPATH_HIJACK,             /* a library loaded through @rpath/@executable_path is in none of its bundle places */
    CS_MC_RESOURCE_ADDED,           /* a file in a signed bundle that its CodeResources neither seals nor omits */
    CS_MC__COUNT
} cs_mc_issue;

const char *cs_mc_issue_name(cs_mc_issue i);        /* "page_hash_mismatch" */
const char *cs_mc_issue_description(cs_mc_issue i);
int cs_mc_issue_score(cs_mc_issue i);

typedef struct cs_mc_finding {
    cs_mc_issue issue;
    int slice;                      /* index into slices */
    char detail[256];
} cs_mc_finding;

enum { CS_MC_SLOT_ABSENT = 0, CS_MC_SLOT_OK = 1, CS_MC_SLOT_BAD = -1, CS_MC_SLOT_UNCHECKED = 2 };

typedef struct cs_mc_cd {
    uint32_t slot;                  /* 0, or 0x1000 + n for an alternate CodeDirectory */
    uint32_t version, flags;
    char hash[12];                  /* "sha1", "sha256", "sha256-20", "sha384" */
    unsigned char cdhash[48];       /* the CodeDirectory's digest with its own hash */
    size_t cdhash_len;
    uint32_t page_size;             /* 0: one page over the whole code */
    uint64_t code_limit;
    uint32_t n_code_slots, bad_code_slots, first_bad_slot;
    int special[8];                 /* by -slot (1 Info.plist .. 7 DER entitlements): CS_MC_SLOT_* */
    char identifier[128], team_id[32];
} cs_mc_cd;

typedef enum cs_mc_kind {
    CS_MC_KIND_UNSIGNED = 0,
    CS_MC_KIND_ADHOC,               /* no CMS signer (codesign -s -) */
    CS_MC_KIND_LINKER_SIGNED,       /* ad-hoc by the linker (CS_LINKER_SIGNED) */
    CS_MC_KIND_SIGNED               /* a CMS signature with a signer */
} cs_mc_kind;

typedef struct cs_mc_slice {
    char arch[24];
    uint64_t offset, size;          /* in the file */
    cs_mc_kind kind;
    cs_mc_cd cds[4];
    size_t n_cds;
    int cms;                        /* 0 absent, 1 present, 2 empty wrapper */
    int cms_ok;                     /* the signature over the first CodeDirectory verifies */
    char cms_error[160];
    int cdhashes_plist, cdhashes2;  /* attribute: 0 absent, 1 matches, -1 differs */
    int has_signer;
    cs_ac_cert signer;
    char signer_team[32];           /* the leaf certificate's OU */
    time_t signing_time;            /* signed attribute, 0 when absent */
    int timestamp;                  /* an RFC 3161 token is attached */
    int timestamp_ok;               /* ... and it verifies: timestamp_time is its genTime */
    time_t timestamp_time;
    cs_ac_cert tsa;
    cs_ac_chain chain_status;       /* CS_AC_CHAIN_NOT_CHECKED without anchors */
    cs_ac_cert chain[8];            /* signer first, as built */
    size_t chain_len;
    char chain_error[128];
    uint32_t sig_offset, sig_size;
    char parse_error[96];           /* the slice is not a well-formed Mach-O: why */
} cs_mc_slice;

typedef enum cs_mc_verdict {
    CS_MC_INTACT = 0,               /* every hash and the CMS signature check out (chain not checked) */
    CS_MC_ADHOC,                    /* intact, ad-hoc or linker-signed: no identity */
    CS_MC_TAMPERED,
    CS_MC_UNSIGNED,
    CS_MC_PARTLY_SIGNED,            /* a universal file with signed and unsigned slices, all intact */
    CS_MC_NOT_MACHO,
    CS_MC_VALID,                    /* intact and every signed slice chains to a given anchor */
    CS_MC_INVALID                   /* intact, but a chain, validity period or timestamp fails */
} cs_mc_verdict;

/* intact, adhoc, tampered, unsigned, partly-signed, not-macho, valid, invalid */
const char *cs_mc_verdict_id(cs_mc_verdict v);
const char *cs_mc_kind_id(cs_mc_kind k);            /* unsigned, adhoc, linker-signed, signed */

typedef struct cs_mc_report {
    int bundle;                     /* verified as a bundle's main executable */
    size_t sealed, sealed_checked;  /* files CodeResources lists; those read and compared */
    cs_mc_verdict verdict;
    const char *not_macho_reason;
    cs_mc_slice *slices;
    size_t n_slices;
    cs_mc_finding *findings;
    size_t n_findings;
} cs_mc_report;

/* Verify the code signature of every slice of a Mach-O (thin or universal)
 * held in memory. trust may be NULL (chains not checked); now: the time to
 * check validity at without a valid timestamp (0: the current time). Fails
 * only on allocation errors; damage is in the report. */
cs_status cs_codesign_verify(const unsigned char *data, size_t size, const cs_trust *trust, time_t now,
                             cs_mc_report **out, cs_error *err);
/* A bundle around the Mach-O (its main executable: <X>.app/Contents/MacOS/
 * <name>, or a framework's <X>.framework/Versions/<v>/<X>): read returns a
 * file of the bundle by its path relative to the bundle's root (Contents/,
 * or Versions/<v>/ for a framework)
 * (malloc'd, at most max bytes; NULL when absent or larger), so that the
 * Info.plist (-1) and CodeResources (-3) special slots are checked and
 * every file CodeResources seals (files2, else files) is compared: SHA-256
 * or SHA-1 for resources, the cdhash for nested code. Paths that climb
 * out of the bundle are never read. With exists, every library the
 * executable loads through @rpath (tried in each LC_RPATH that points into
 * the bundle), @executable_path or @loader_path must be in the bundle:
 * one that is not is where a planted library would be loaded from. */
typedef struct cs_mc_bundle {
    unsigned char *(*read)(void *ud, const char *relpath, size_t max, size_t *len);
    int (*exists)(void *ud, const char *relpath);  /* a file of the bundle is there (optional) */
    void *ud;
    const char *info_plist;       /* its Info.plist from the root: NULL "Info.plist" (an app),
                                     "Resources/Info.plist" (a framework) */
    const char *exe_dir;          /* the executable's directory from the root: NULL "MacOS" (an
                                     app), "" (a framework), for @executable_path */
} cs_mc_bundle;
cs_status cs_codesign_verify_bundle(const unsigned char *data, size_t size, const cs_mc_bundle *bundle,
                                    const cs_trust *trust, time_t now, cs_mc_report **out, cs_error *err);

/* The same for a file, opened and mapped as cs_authenticode_verify_path does
 * (never blocking on FIFOs or devices; a file that shrinks while read is
 * CS_ERR_IO). A file that is not a Mach-O gives the verdict not-macho. */
cs_status cs_codesign_verify_path(const char *path, const cs_trust *trust, time_t now, cs_mc_report **out,
                                  cs_error *err);
void cs_mc_report_free(cs_mc_report *r);
/* A bundle directory's main executable: <dir>/Contents/MacOS/<CFBundleExecutable
 * of <dir>/Contents/Info.plist> into out. CS_ERR_ARG when dir is not a
 * bundle (no Contents/Info.plist, or no executable named). */
cs_status cs_bundle_main_executable(const char *dir, char *out, size_t n, cs_error *err);

/* A signed bundle's seal as a set: which paths (relative to Contents/) its
 * CodeResources lists (files2, else files; a nested bundle's entry covers
 * what is inside it) or omits (rules2, else rules: "omit" patterns; the
 * signature, Info.plist, PkgInfo and the main executable are sealed by the
 * CodeDirectory). For finding files added after signing. */
typedef struct cs_mc_seal cs_mc_seal;
/* From the CodeResources plist (XML), the main executable's and the
 * Info.plist's paths from the bundle's root ("MacOS/App" and "Info.plist"
 * for an app; "X" and "Resources/Info.plist" for a framework); NULL when it
 * is not a property list with files. */
cs_mc_seal *cs_mc_seal_new(const unsigned char *code_resources, size_t len, const char *main_exe,
                           const char *info_plist);
/* Is the file at relpath (relative to Contents/) sealed or omitted? */
int cs_mc_seal_covers(const cs_mc_seal *s, const char *relpath);
void cs_mc_seal_free(cs_mc_seal *s);

#ifdef __cplusplus
}
#endif
#endif
