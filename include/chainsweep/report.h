/* Rendering of scan records: human text, JSON Lines (docs/output.md) and
 * CSV (RFC 4180). Renders into a caller-owned buffer; never writes. */
#ifndef CHAINSWEEP_REPORT_H
#define CHAINSWEEP_REPORT_H

#include <stddef.h>

#include "chainsweep/authenticode.h"
#include "chainsweep/codesign.h"
#include "chainsweep/chainsweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ECS: one Elastic Common Schema document per finding (docs/output.md). */
typedef enum cs_format { CS_FORMAT_TEXT, CS_FORMAT_JSON, CS_FORMAT_CSV, CS_FORMAT_ECS } cs_format;

typedef struct cs_report_opts {
    cs_format format;
    int color;                 /* ANSI colours (text only) */
    int min_level;             /* report files at or above this cs_level */
    int with_skipped;          /* also report skipped files */
    const char *hostname;
    int with_clean;            /* also report clean files and members (JSON type "file") */
} cs_report_opts;

typedef struct cs_text {
    char *data;                /* NUL-terminated; free with cs_text_free */
    size_t len;
} cs_text;

void cs_text_free(cs_text *t);

/* Header line (CSV only; empty for the others). */
void cs_report_header(const cs_report_opts *o, cs_text *out);
/* Zero or more lines for one record; empty when below min_level. */
void cs_report_result(const cs_report_opts *o, const cs_result *r, cs_text *out);
void cs_report_summary(const cs_report_opts *o, const cs_scan_summary *s, const cs_load_stats *ls,
                       cs_text *out);
/* A finding as THOR Thunderstorm answers (docs/service.md): THOR 10's
 * object (level, module, message, score, context{file, md5, sha1, sha256,
 * size, type, ext, firstBytes}, matches[]) or, with v3, THOR 11's
 * log_version v3.0.0 object. file: the name the upload was sent under (a
 * member: its display path under it); first: the content's first bytes,
 * or NULL. Empty when r is not a finding. */
/* A finding as one ArcSight CEF line (no syslog header); empty otherwise. */
void cs_report_cef(const cs_report_opts *o, const cs_result *r, cs_text *out);
void cs_report_thunderstorm(const cs_result *r, const char *file, const unsigned char *first, size_t first_len,
                            int v3, const char *hostname, cs_text *out);

/* A `chainsweep verify` report for one file (text or JSON Lines). */
void cs_report_authenticode(const cs_report_opts *o, const char *path, const cs_ac_report *r, cs_text *out);
/* The same for a Mach-O's code signature (chainsweep/codesign.h). */
void cs_report_codesign(const cs_report_opts *o, const char *path, const cs_mc_report *r, cs_text *out);
/* A file verify could not read (missing, empty, a directory, shrank while
 * read): in JSON the same "verify" object with verdict "error" and the
 * message, so that every FILE given has its object. */
void cs_report_verify_error(const cs_report_opts *o, const char *path, const char *message, cs_text *out);

/* ---- inventory: the products found (chainsweep inventory) ---- */

typedef enum cs_inventory_format {
    CS_INVENTORY_TABLE,
    CS_INVENTORY_JSON,         /* one JSON document (docs/advisories.md) */
    CS_INVENTORY_CYCLONEDX     /* a CycloneDX 1.5 JSON SBOM */
} cs_inventory_format;

typedef struct cs_inventory cs_inventory;

cs_inventory *cs_inventory_new(void);
void cs_inventory_free(cs_inventory *inv);
/* Keep a copy of r's product, signature and advisory findings; records
 * without a product are ignored. */
void cs_inventory_add(cs_inventory *inv, const cs_result *r);
size_t cs_inventory_count(const cs_inventory *inv);
/* Sorted by product, version and path. */
void cs_inventory_render(cs_inventory *inv, cs_inventory_format f, const cs_report_opts *o, cs_text *out);

#ifdef __cplusplus
}
#endif
#endif
