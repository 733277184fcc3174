/* test_names.c — file names from the wire stay inside the data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "names.h"

static swmrbus_str S(const char *s) { return (swmrbus_str){s, strlen(s)}; }

static void test_acceptable(void **state)
{
    (void)state;
    assert_true(swmrbus__name_acceptable(S("run42")));
    assert_true(swmrbus__name_acceptable(S("a.b-c_d e")));
    assert_false(swmrbus__name_acceptable(S("")));
    assert_false(swmrbus__name_acceptable(S("../evil")));
    assert_false(swmrbus__name_acceptable(S("a/b")));
    assert_false(swmrbus__name_acceptable(S("..")));
    assert_false(swmrbus__name_acceptable(S("x\ty")));
    swmrbus_str nul = {"x\0y", 3};
    assert_false(swmrbus__name_acceptable(nul));
    char longname[SWMRBUS_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(swmrbus__name_acceptable(S(longname)));
}

static void test_sanitise(void **state)
{
    (void)state;
    char out[64];
    swmrbus__name_sanitise(S("run 42:ü"), out, sizeof out);
    assert_string_equal(out, "run_42___");
    swmrbus__name_sanitise(S(".hidden"), out, sizeof out);
    assert_string_equal(out, "_hidden");
    swmrbus__name_sanitise(S(""), out, sizeof out);
    assert_string_equal(out, "_");
}

static void test_expand(void **state)
{
    (void)state;
    char out[64];
    assert_true(swmrbus__name_expand("{name}_{series}.h5", "scan", 7, out, sizeof out));
    assert_string_equal(out, "scan_7.h5");
    assert_true(swmrbus__name_expand("d/{name}.h5", "x", 1, out, sizeof out));
    assert_string_equal(out, "d_x.h5");
    assert_true(swmrbus__name_expand("..", "x", 1, out, sizeof out));
    assert_string_equal(out, "_.");
    assert_false(swmrbus__name_expand("{name}{name}{name}", "0123456789012345678901234", 1, out,
                                      sizeof out));
}

static void test_free_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/swmrbus-names-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[4096], taken[4096];
    bool renamed = true;
    assert_true(swmrbus__name_free_path(dir, "a_1.h5", path, sizeof path, &renamed));
    assert_false(renamed);
    snprintf(taken, sizeof taken, "%s/a_1.h5", dir);
    assert_string_equal(path, taken);
    FILE *f = fopen(taken, "w");
    assert_non_null(f);
    fclose(f);
    /* a dangling symlink counts as taken too */
    snprintf(taken, sizeof taken, "%s/a_1_1.h5", dir);
    assert_int_equal(symlink("/nonexistent/target", taken), 0);
    assert_true(swmrbus__name_free_path(dir, "a_1.h5", path, sizeof path, &renamed));
    assert_true(renamed);
    snprintf(taken, sizeof taken, "%s/a_1_2.h5", dir);
    assert_string_equal(path, taken);
    snprintf(taken, sizeof taken, "%s/a_1_1.h5", dir);
    unlink(taken);
    snprintf(taken, sizeof taken, "%s/a_1.h5", dir);
    unlink(taken);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acceptable),
        cmocka_unit_test(test_sanitise),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_free_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
