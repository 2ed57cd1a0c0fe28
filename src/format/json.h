/* JSON pieces shared by the reports and the state store (jansson): paths
 * and strings that may not be UTF-8, and strings read back into an arena. */
#ifndef CS_FORMAT_JSON_H
#define CS_FORMAT_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "util/util.h"

/* Is s[0..n) well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF)? */
int cs_utf8_valid(const unsigned char *s, size_t n);
/* s (raw bytes) under key: as is when UTF-8, else escaped plus key_b64
 * with the raw bytes in base64. */
void cs_json_set_raw(json_t *o, const char *key, const char *s);
/* "path" as UTF-8, or escaped plus "path_b64" with the raw bytes. */
void cs_json_set_path(json_t *o, const char *path);
/* A string, escaped when not UTF-8; null for NULL. */
json_t *cs_json_opt_string(const char *s);
/* key: value when value is non-empty (escaped when not UTF-8). */
void cs_json_set_opt(json_t *o, const char *key, const char *value);
/* s as a JSON value that keeps every byte: a string when s is UTF-8, else
 * {"x": HEX}; null for NULL. cs_json_arena_raw reads either back. */
json_t *cs_json_raw(const char *s);
const char *cs_json_arena_raw(cs_arena *a, json_t *v);
/* The string member key of o copied into the arena, or NULL. */
const char *cs_json_arena_string(cs_arena *a, json_t *o, const char *key);

#endif
