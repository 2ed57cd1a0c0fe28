/* Pieces of a scanning service (chainsweep serve, docs/service.md).
 *
 * multipart/form-data (RFC 7578) as Thunderstorm collectors send it: one
 * part named "file" in a body the service holds whole (bounded by its
 * upload limit). Lenient where the real clients are odd (measured:
 * ../shared/intel/thunderstorm-api.md): a quoted or bare boundary, LF or
 * CRLF line ends in part headers, file names with raw or escaped quotes,
 * raw Windows backslashes, absolute paths. Bounds-checked: the body is
 * hostile. */
#ifndef CHAINSWEEP_SERVICE_H
#define CHAINSWEEP_SERVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_MULTIPART_NAME_MAX 1024

/* The boundary parameter of a Content-Type header, unquoted, into out
 * (1 to 70 characters, RFC 2046). 0, or -1 when there is none. */
int cs_multipart_boundary(const char *content_type, char *out, size_t out_len);

typedef struct cs_multipart_file {
    const unsigned char *data;        /* inside the body */
    size_t len;
    char filename[CS_MULTIPART_NAME_MAX]; /* as sent, \" and %22 unescaped; "" when none */
    size_t parts;                     /* parts seen in the body */
} cs_multipart_file;

/* The first part named "file". 0, or -1 with why (no such part, no
 * delimiter, a part without its closing delimiter). */
int cs_multipart_find_file(const unsigned char *body, size_t len, const char *boundary, cs_multipart_file *out,
                           const char **why);

#ifdef __cplusplus
}
#endif

#endif
