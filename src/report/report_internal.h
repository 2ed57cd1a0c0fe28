/* JSON pieces shared by the scan report and the inventory. */
#ifndef CS_REPORT_INTERNAL_H
#define CS_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "chainsweep/chainsweep.h"
#include "chainsweep/report.h"
#include "util/util.h"

/* "path" as UTF-8, or escaped plus "path_b64" with the raw bytes. */
void cs_json_set_path(json_t *o, const char *path);
/* A string, escaped when not UTF-8; null for NULL. */
json_t *cs_json_opt_string(const char *s);
/* key: value when value is non-empty (escaped when not UTF-8). */
void cs_json_set_opt(json_t *o, const char *key, const char *value);
/* product_json.c: a product as JSON, and back into the arena (0, or -1
 * when the object is not a product). */
json_t *cs_json_product(const cs_product *p);
int cs_product_from_json(json_t *j, cs_arena *a, cs_product *out);
/* The string member key of o copied into the arena, or NULL. */
const char *cs_json_arena_string(cs_arena *a, json_t *o, const char *key);
/* A record's common head: type, schema, time, host. */
json_t *cs_json_record(const cs_report_opts *o, const char *type);
/* ISO 8601 UTC, "2026-11-28T07:00:00Z". */
void cs_report_time(char *out, size_t n, int64_t t);

#endif
