/* Sources: memory, sub-ranges, member buffers spilling to an unlinked
 * temporary file, files opened by descriptor, related objects, and the
 * resolution of a member's relative paths. */
#include "helpers.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "view/source.h"

static void memory_and_range(void **state)
{
    (void)state;
    static const char text[] = "0123456789";
    cs_source *m, *r;
    assert_int_equal(cs_source_memory(text, 10, 0, &m, NULL), CS_OK);
    assert_int_equal(cs_source_range(m, 3, 4, &r, NULL), CS_OK);
    cs_source_unref(m); /* the range keeps its parent */
    const unsigned char *p = cs_source_map(r, NULL);
    assert_memory_equal(p, "3456", 4);
    char buf[8];
    assert_int_equal(r->methods->read_at(r, buf, 8, 2), 2);
    assert_memory_equal(buf, "56", 2);
    assert_int_equal(r->methods->read_at(r, buf, 8, 9), 0);
    cs_source *bad;
    assert_int_equal(cs_source_range(r, 2, 3, &bad, NULL), CS_ERR_ARG); /* past its end */
    cs_source_unref(r);
}

static void buffer_spills_to_an_unlinked_file(void **state)
{
    (void)state;
    char *dir = th_mkdtemp();
    cs_source *b;
    assert_int_equal(cs_source_buffer(16, dir, &b, NULL), CS_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(cs_source_write(b, "abcdefgh", 8, NULL), CS_OK);
    assert_int_equal(b->meta.size, 80);
    const unsigned char *p = cs_source_map(b, NULL);
    assert_non_null(p);
    assert_memory_equal(p + 72, "abcdefgh", 8);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "[ -z \"$(ls -A '%s')\" ]", dir);
    assert_int_equal(system(cmd), 0); /* nothing visible in the temporary directory */
    assert_int_equal(cs_source_write(b, "x", 1, NULL), CS_ERR_ARG); /* mapped: final */
    cs_source_unref(b);
    cs_source *small;
    assert_int_equal(cs_source_buffer(1024, dir, &small, NULL), CS_OK);
    assert_int_equal(cs_source_write(small, "hello", 5, NULL), CS_OK);
    assert_memory_equal(cs_source_map(small, NULL), "hello", 5);
    cs_source_unref(small);
    cs_source *empty;
    assert_int_equal(cs_source_buffer(1024, dir, &empty, NULL), CS_OK);
    assert_non_null(cs_source_map(empty, NULL)); /* no bytes, a valid pointer */
    cs_source_unref(empty);
    th_rmrf(dir);
    free(dir);
}

static void file_and_related(void **state)
{
    (void)state;
    char *dir = th_mkdtemp(), p[4200];
    snprintf(p, sizeof p, "%s/Contents", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/Contents/MacOS", dir);
    mkdir(p, 0755);
    th_write(p, "app", "MACHO", 5);
    snprintf(p, sizeof p, "%s/Contents", dir);
    th_write(p, "Info.plist", "<plist/>", 8);
    snprintf(p, sizeof p, "%s/Contents/MacOS/app", dir);
    int fd = open(p, O_RDONLY);
    snprintf(p, sizeof p, "%s/Contents/MacOS", dir);
    int dfd = open(p, O_RDONLY | O_DIRECTORY);
    cs_source *f, *rel;
    assert_int_equal(cs_source_file(fd, dfd, &f, NULL), CS_OK);
    assert_int_equal(f->meta.size, 5);
    assert_true(f->meta.has_owner && f->meta.has_identity);
    assert_memory_equal(cs_source_map(f, NULL), "MACHO", 5);
    assert_non_null(rel = cs_source_open_related(f, "../Info.plist", NULL));
    size_t n = 0;
    unsigned char *d = cs_source_read_all(rel, 1024, &n, NULL);
    assert_int_equal(n, 8);
    assert_memory_equal(d, "<plist/>", 8);
    free(d);
    cs_source_unref(rel);
    cs_error err = {0};
    assert_null(cs_source_open_related(f, "../missing", &err));
    assert_int_equal(err.code, CS_ERR_IO);
    cs_source_unref(f);
    /* a directory is not a file source (the descriptor is closed either way) */
    int dd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_int_equal(cs_source_file(dd, -1, &f, NULL), CS_ERR_ARG);
    th_rmrf(dir);
    free(dir);
}

static void member_paths(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(cs_member_path_resolve("A.app/Contents/MacOS/x", "../Info.plist", out, sizeof out), 0);
    assert_string_equal(out, "A.app/Contents/Info.plist");
    assert_int_equal(cs_member_path_resolve("a/b/c", "./d/../e", out, sizeof out), 0);
    assert_string_equal(out, "a/b/e");
    assert_int_equal(cs_member_path_resolve("./A.app//Contents/./MacOS/x", "../Info.plist", out, sizeof out), 0);
    assert_string_equal(out, "A.app/Contents/Info.plist"); /* tar's "./" and doubled slashes */
    assert_int_equal(cs_member_path_resolve("top", "../x", out, sizeof out), -1); /* above the container */
    assert_int_equal(cs_member_path_resolve("../a/b", "c", out, sizeof out), -1);
    assert_int_equal(cs_member_path_resolve("a/b", "../../x", out, sizeof out), -1);
    assert_int_equal(cs_member_path_resolve("a/b", "x", out, 3), -1); /* does not fit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_and_range),
        cmocka_unit_test(buffer_spills_to_an_unlinked_file),
        cmocka_unit_test(file_and_related),
        cmocka_unit_test(member_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
