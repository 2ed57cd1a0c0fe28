/* Fuzz the similarity index: the input's text (up to its first NUL byte) is
 * read as similarity TSV rows and built into an index image; the bytes after
 * it are patches (4-byte offset, 1-byte XOR) applied to the image, whose
 * checksums are then made right again so that the checks behind them are
 * reached. An image that opens must answer like a linear scan: every search
 * (each reference's digest at 0, 30 and 70, with and without the lengths)
 * returns exactly the references
 * within the distance, and every known-good reference is found by its name. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "format/simdb.h"
#include "util/util.h"

typedef struct count {
    const cs_simdb *db;
    const cs_tlsh_digest *q;
    int max, len_diff;
    size_t n;
} count;

static int on_hit(void *ud, uint32_t id, int dist)
{
    count *c = ud;
    cs_simdb_entry e;
    if (id >= cs_simdb_count(c->db))
        abort();
    cs_simdb_get(c->db, id, &e);
    if (dist != cs_tlsh_distance(c->q, &e.digest, c->len_diff) || dist > c->max)
        abort();
    c->n++;
    return 0;
}

static int on_name(void *ud, uint32_t id, int dist)
{
    (void)id;
    (void)dist;
    ++*(size_t *)ud;
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t text_len = nul ? (size_t)(nul - data) : size;
    char *text = malloc(text_len + 1);
    memcpy(text, data, text_len);
    text[text_len] = '\0';
    cs_simdb_builder *b = cs_simdb_builder_new();
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && lines < 64; l = strtok_r(NULL, "\n", &save), lines++) {
        cs_simdb_entry e;
        unsigned char sha[32];
        const char *why;
        if (cs_simdb_parse_tsv_line(l, &e, sha, &why) == 0)
            cs_simdb_builder_add(b, &e, &why);
    }
    size_t len;
    unsigned char *img = cs_simdb_builder_image(b, &len);
    cs_simdb_builder_free(b);
    free(text);

    const uint8_t *p = nul ? nul + 1 : data + size;
    size_t patches = 0;
    for (; p + 5 <= data + size; p += 5, patches++) {
        uint32_t off = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        img[off % len] ^= p[4];
    }
    if (patches && !(patches & 1)) { /* an even number of patches: checksums made right */
        put32(img + 40, (uint32_t)crc32(0, img + 96, (uInt)(len - 96)));
        put32(img + 92, (uint32_t)crc32(0, img, 92));
    }
    char why[200];
    cs_simdb *db = cs_simdb_open(img, len, why, sizeof why);
    if (!db) {
        if (!patches) /* what the builder makes must open */
            abort();
        free(img);
        return 0;
    }
    uint32_t n = cs_simdb_count(db);
    static const int distances[3] = {0, 30, 70};
    for (uint32_t i = 0; i < n && i < 4; i++) {
        cs_simdb_entry e;
        cs_simdb_get(db, i, &e);
        for (int k = 0; k < 6; k++) { /* each distance with the lengths and without */
            int len_diff = k < 3;
            count c = {db, &e.digest, distances[k % 3], len_diff, 0};
            cs_simdb_search(db, &e.digest, distances[k % 3], len_diff, (cs_simdb_method)(k % 3), on_hit, &c);
            size_t want = 0;
            for (uint32_t j = 0; j < n; j++) {
                cs_simdb_entry f;
                cs_simdb_get(db, j, &f);
                want += cs_tlsh_distance(&e.digest, &f.digest, len_diff) <= distances[k % 3];
            }
            if (c.n != want)
                abort();
        }
        if (e.kind == CS_SIMDB_GOOD) {
            size_t found = 0;
            cs_simdb_by_name(db, e.file_name, on_name, &found);
            if (!found)
                abort();
        }
    }
    cs_simdb_close(db);
    free(img);
    return 0;
}
