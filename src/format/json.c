#include "format/json.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int cs_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += k + 1;
    }
    return 1;
}

void cs_json_set_raw(json_t *o, const char *key, const char *s)
{
    size_t n = strlen(s);
    if (cs_utf8_valid((const unsigned char *)s, n)) {
        json_object_set_new(o, key, json_stringn(s, n));
        return;
    }
    /* lossless: an escaped, readable form and the raw bytes in base64 */
    cs_buf esc = {0}, k64 = {0};
    cs_escape_bytes(&esc, (const unsigned char *)s, n);
    json_object_set_new(o, key, json_string(esc.data));
    cs_buf_free(&esc);
    char *b64 = cs_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)s, (int)n);
    cs_buf_printf(&k64, "%s_b64", key);
    json_object_set_new(o, k64.data, json_string(b64));
    cs_buf_free(&k64);
    free(b64);
}

void cs_json_set_path(json_t *o, const char *path)
{
    cs_json_set_raw(o, "path", path);
}

json_t *cs_json_opt_string(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    /* rule metadata is not always UTF-8 */
    cs_buf esc = {0};
    cs_escape_bytes(&esc, (const unsigned char *)s, strlen(s));
    j = json_string(esc.data);
    cs_buf_free(&esc);
    return j;
}

void cs_json_set_opt(json_t *o, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(o, key, cs_json_opt_string(value));
}

json_t *cs_json_raw(const char *s)
{
    if (!s)
        return json_null();
    size_t n = strlen(s);
    if (cs_utf8_valid((const unsigned char *)s, n))
        return json_stringn(s, n);
    /* bytes from a scanned file (a CP437 member name): kept exactly, as hex */
    char *hex = cs_xmalloc(2 * n + 1);
    cs_hex(hex, (const unsigned char *)s, n);
    json_t *o = json_pack("{s:s}", "x", hex);
    free(hex);
    return o;
}

const char *cs_json_arena_raw(cs_arena *a, json_t *v)
{
    if (json_is_string(v))
        return cs_arena_strdup(a, json_string_value(v));
    const char *hex = json_string_value(json_object_get(v, "x"));
    size_t n = hex ? strlen(hex) / 2 : 0;
    if (!hex || strlen(hex) % 2)
        return NULL;
    char *out = cs_arena_alloc(a, n + 1);
    if (cs_unhex((unsigned char *)out, hex, n) != 0)
        return NULL;
    out[n] = '\0';
    return out;
}

const char *cs_json_arena_string(cs_arena *a, json_t *o, const char *key)
{
    return cs_json_arena_raw(a, json_object_get(o, key));
}
