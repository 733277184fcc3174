/* tests/unit/test_source_dirs.c — source/dirs.c: which files a source may
 * read. Dirs are canonical; a file is inside when its realpath starts with a
 * dir and '/', so a sibling sharing the prefix ("data2" next to "data"), a
 * `..` escape and symlinks out of the dir (to a file or through a directory)
 * are refused, a symlink staying inside is fine, a missing file is judged by
 * its directory until it must exist, and a dir that does not exist yet is
 * resolved as far as it exists. Files go to $SWMRBUS_TEST_TMP. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "source_internal.h"

static char g_base[PATH_MAX / 2];

static void at(char *out, const char *rel)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", g_base, rel);
    if (n < 0 || n >= PATH_MAX) fail_msg("path too long");
}

static void touch(const char *rel)
{
    char p[PATH_MAX];
    at(p, rel);
    FILE *f = fopen(p, "w");
    if (!f) fail_msg("create %s", p);
    fclose(f);
}

static void dir(const char *rel)
{
    char p[PATH_MAX];
    at(p, rel);
    if (mkdir(p, 0755) != 0) fail_msg("mkdir %s", p);
}

static void link_to(const char *target_rel, const char *rel)
{
    char t[PATH_MAX], p[PATH_MAX];
    at(t, target_rel);
    at(p, rel);
    if (symlink(t, p) != 0) fail_msg("symlink %s", p);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("SWMRBUS_TEST_TMP");
    char raw[PATH_MAX / 2];
    snprintf(raw, sizeof raw, "%s/dirs_%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    char mk[2 * sizeof raw + 32];
    snprintf(mk, sizeof mk, "mkdir -p '%s' && rm -rf '%s'/*", raw, raw);
    if (system(mk) != 0) return -1;
    if (!realpath(raw, g_base)) return -1;
    dir("data");
    dir("data2");
    dir("other");
    touch("data/in.h5");
    touch("data2/f.h5");
    touch("other/f.h5");
    link_to("other/f.h5", "data/out_link.h5");
    link_to("other", "data/out_dir");
    link_to("data/in.h5", "data/in_link.h5");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char rm[PATH_MAX + 16];
    snprintf(rm, sizeof rm, "rm -rf '%s'", g_base);
    return system(rm) == 0 ? 0 : -1;
}

/* A source with just cfg and name: what dirs.c uses. */
typedef struct fake {
    swmrbus_component_cfg cfg;
    swmrbus__source s;
    char *dirs[2];
} fake;

static void fake_init(fake *f, const char *d0, const char *d1)
{
    memset(f, 0, sizeof *f);
    f->dirs[0] = (char *)d0;
    f->dirs[1] = (char *)d1;
    f->cfg.dirs = f->dirs;
    f->cfg.n_dirs = d1 ? 2 : (d0 ? 1 : 0);
    f->s.cfg = &f->cfg;
    f->s.name = "t";
}

static swmrbus_err check(fake *f, const char *rel, bool must_exist, char *real)
{
    char p[PATH_MAX], why[PATH_MAX + 64];
    if (rel[0] == '/') snprintf(p, sizeof p, "%s", rel);
    else at(p, rel);
    return swmrbus__src_dirs_check(&f->s, p, must_exist, real, why, sizeof why);
}

static void test_inside_and_outside(void **state)
{
    (void)state;
    char d[PATH_MAX], real[PATH_MAX], want[PATH_MAX], err[256] = "";
    fake f;
    at(d, "data/"); /* a trailing slash is fine */
    fake_init(&f, d, NULL);
    assert_int_equal(swmrbus__src_dirs_init(&f.s, err, sizeof err), SWMRBUS_OK);
    at(want, "data");
    assert_string_equal(f.s.dirs[0], want);

    assert_int_equal(check(&f, "data/in.h5", true, real), SWMRBUS_OK);
    at(want, "data/in.h5");
    assert_string_equal(real, want);
    assert_int_equal(check(&f, "data/in_link.h5", true, real), SWMRBUS_OK);
    assert_string_equal(real, want); /* a symlink inside, to inside */
    assert_int_equal(check(&f, "data/./in.h5", true, real), SWMRBUS_OK);

    assert_int_equal(check(&f, "data2/f.h5", true, real), SWMRBUS_EINVAL); /* prefix */
    assert_int_equal(check(&f, "data/../other/f.h5", true, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "data/../data2/f.h5", false, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "data/out_link.h5", true, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "data/out_link.h5", false, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "data/out_dir/f.h5", true, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "data", true, real), SWMRBUS_EINVAL); /* the dir itself */
    assert_int_equal(check(&f, "/etc/passwd", true, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "/", true, real), SWMRBUS_EINVAL);

    /* missing: fine by its directory until it must exist */
    assert_int_equal(check(&f, "data/later.h5", false, real), SWMRBUS_OK);
    at(want, "data/later.h5");
    assert_string_equal(real, want);
    assert_int_equal(check(&f, "data/later.h5", true, real), SWMRBUS_EIO);
    assert_int_equal(check(&f, "data/out_dir/later.h5", false, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "data/nodir/../../other/x.h5", false, real), SWMRBUS_EINVAL);
    assert_int_equal(check(&f, "other/later.h5", false, real), SWMRBUS_EINVAL);
    /* a symlink planted where the missing file was: refused once it exists */
    link_to("other/f.h5", "data/later.h5");
    assert_int_equal(check(&f, "data/later.h5", true, real), SWMRBUS_EINVAL);
    swmrbus__src_dirs_free(&f.s);
    assert_null(f.s.dirs);
}

static void test_dir_not_there_yet(void **state)
{
    (void)state;
    char d[PATH_MAX], d2[PATH_MAX], real[PATH_MAX], want[PATH_MAX], err[256] = "";
    fake f;
    at(d, "later/sub/../run");
    at(d2, "data2");
    fake_init(&f, d, d2);
    assert_int_equal(swmrbus__src_dirs_init(&f.s, err, sizeof err), SWMRBUS_OK);
    at(want, "later/run");
    assert_string_equal(f.s.dirs[0], want);
    assert_int_equal(check(&f, "data2/f.h5", true, real), SWMRBUS_OK); /* the second dir */
    dir("later");
    dir("later/run");
    touch("later/run/f.h5");
    assert_int_equal(check(&f, "later/run/f.h5", true, real), SWMRBUS_OK);
    assert_int_equal(check(&f, "data/in.h5", true, real), SWMRBUS_EINVAL);
    swmrbus__src_dirs_free(&f.s);

    /* ".." above what exists of a missing dir is refused */
    at(d, "nothere/../../x");
    fake_init(&f, d, NULL);
    assert_int_equal(swmrbus__src_dirs_init(&f.s, err, sizeof err), SWMRBUS_ECONFIG);
    assert_non_null(strstr(err, "dirs[0]"));
    swmrbus__src_dirs_free(&f.s);
    /* none at all: refused (the config fills them; an API caller may not) */
    fake_init(&f, NULL, NULL);
    assert_int_equal(swmrbus__src_dirs_init(&f.s, err, sizeof err), SWMRBUS_ECONFIG);
    assert_non_null(strstr(err, "dirs"));
    swmrbus__src_dirs_free(&f.s);
}

static void test_root_dir(void **state)
{
    (void)state;
    char real[PATH_MAX], err[256] = "";
    fake f;
    fake_init(&f, "/", NULL);
    assert_int_equal(swmrbus__src_dirs_init(&f.s, err, sizeof err), SWMRBUS_OK);
    assert_string_equal(f.s.dirs[0], "/");
    assert_int_equal(check(&f, "data/in.h5", true, real), SWMRBUS_OK);
    assert_int_equal(check(&f, "/", true, real), SWMRBUS_EINVAL);
    swmrbus__src_dirs_free(&f.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside_and_outside),
        cmocka_unit_test(test_dir_not_there_yet),
        cmocka_unit_test(test_root_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
