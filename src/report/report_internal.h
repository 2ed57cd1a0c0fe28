/* Pieces shared by the scan report and the inventory. The JSON helpers
 * they share with the state store are in format/json.h and
 * format/product_json.h. */
#ifndef CS_REPORT_INTERNAL_H
#define CS_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "chainsweep/chainsweep.h"
#include "chainsweep/report.h"
#include "format/json.h"
#include "format/product_json.h"
#include "util/util.h"

/* A record's common head: type, schema, time, host. */
json_t *cs_json_record(const cs_report_opts *o, const char *type);
/* j as one compact JSON line appended to b; j is released. */
void cs_json_emit(json_t *j, cs_buf *b);
/* One ECS document (a line) for a finding (report/siem.c). */
void cs_ecs_finding(const cs_report_opts *o, const cs_result *r, cs_buf *b);
/* ISO 8601 UTC, "2026-11-28T07:00:00Z". */
void cs_report_time(char *out, size_t n, int64_t t);

/* A member's chain ("members": [{"member", "type"}]) and "display_path"; nothing
 * for a file on disk. */
void cs_json_member_chain(json_t *j, const cs_result *r);

#endif
