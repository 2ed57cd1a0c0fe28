/* Fuzz TLSH: the input is streamed through the digest in two parts, and
 * parsed as a digest string. A parsed digest must format back to the same
 * text (upper case, "T1"), and its distance to itself is 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/tlsh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_tlsh t;
    cs_tlsh_init(&t);
    cs_tlsh_update(&t, data, size / 2);
    cs_tlsh_update(&t, data + size / 2, size - size / 2);
    cs_tlsh_digest d, e;
    char s[CS_TLSH_CHARS + 1];
    if (cs_tlsh_final(&t, 0, &d) == 0) {
        cs_tlsh_format(&d, s);
        if (cs_tlsh_parse(s, &e) != 0 || memcmp(&d, &e, sizeof d) != 0 || cs_tlsh_distance(&d, &e, 1) != 0)
            abort();
    }
    char text[80];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    if (cs_tlsh_parse(text, &d) == 0) {
        cs_tlsh_format(&d, s);
        const char *body = strncmp(text, "T1", 2) == 0 ? text + 2 : text;
        if (strncasecmp(s + 2, body, 70) != 0)
            abort();
    }
    return 0;
}
