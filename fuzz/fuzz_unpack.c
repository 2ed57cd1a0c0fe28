/* Fuzz the unpackers end to end: the input is a file handed to the
 * per-thread scanner as a buffer, so file-type detection, every unpacker's
 * claims and iterate (libarchive formats, MSI with its cabinets and name
 * maps, PE overlays), the member limits, the display-path escaping and the
 * unsafe-name checks all run on it, recursively. Small limits keep each run
 * fast; a pack with one C2 indicator makes the engine usable. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chainsweep/chainsweep.h"

static cs_engine *engine;
static cs_scanner *scanner;

static int count_record(const cs_result *r, void *ud)
{
    size_t *n = ud;
    (*n)++;
    /* touch what a reporter reads */
    if (r->display_path && strlen(r->display_path) == 0)
        abort();
    for (size_t i = 0; i < r->n_members; i++)
        if (!r->members[i].name || !r->members[i].type)
            abort();
    return 0;
}

static void setup(void)
{
    char dir[] = "/tmp/cs-fuzz-unpack-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char path[256];
    snprintf(path, sizeof path, "%s/fuzz-c2-iocs.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs("evil.example.org\n", f);
    fclose(f);
    cs_config cfg = CS_CONFIG_INIT;
    cfg.threads = 1;
    cfg.max_member_size = 4u << 20;
    cfg.max_unpack_total = 16u << 20;
    cfg.max_members = 256;
    cfg.max_unpack_depth = 4;
    cfg.max_unpack_time = 5;
    cs_error err;
    if (cs_engine_new(&engine, &cfg, &err) != CS_OK || cs_engine_load_pack(engine, dir, &err) != CS_OK ||
        cs_engine_prepare(engine, &err) != CS_OK || cs_scanner_new(engine, &scanner, &err) != CS_OK)
        abort();
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!engine)
        setup();
    size_t n = 0;
    cs_error err;
    cs_status rc = cs_scanner_scan_buffer(scanner, data, size, "fuzz.bin", count_record, &n, &err);
    if (rc != CS_OK && rc != CS_ERR_NOMEM)
        abort();
    if (n == 0) /* every input gives at least its own record */
        abort();
    return 0;
}
