/* test_scale.c — scale-out (issue 12): the coordinator's G, relative shard
 * paths, the notification keys shard/shards, and the config keys shard and
 * shards. */
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

#include "scale.h"
#include "swmrbus/config.h"
#include "swmrbus/wire.h"

/* The largest G by brute force: every frame below G is in its shard's prefix. */
static uint64_t g_brute(const uint64_t *complete, size_t s)
{
    uint64_t g = 0;
    while (g / s < complete[g % s]) g++;
    return g;
}

static void test_g_examples(void **state)
{
    (void)state;
    uint64_t none[3] = {0, 0, 0};
    assert_int_equal(swmrbus__scale_g(none, 3), 0);
    uint64_t even[3] = {4, 4, 4}; /* frames 0..11 */
    assert_int_equal(swmrbus__scale_g(even, 3), 12);
    uint64_t lag2[3] = {10, 10, 3}; /* shard 2 lags: frame 2 + 3*3 = 11 missing */
    assert_int_equal(swmrbus__scale_g(lag2, 3), 11);
    uint64_t lag0[3] = {2, 5, 5}; /* frame 6 missing */
    assert_int_equal(swmrbus__scale_g(lag0, 3), 6);
    uint64_t end10[3] = {4, 3, 3}; /* a series of 10 frames, all on disk */
    assert_int_equal(swmrbus__scale_g(end10, 3), 10);
    uint64_t one[1] = {7};
    assert_int_equal(swmrbus__scale_g(one, 1), 7);
    assert_int_equal(swmrbus__scale_g(one, 0), 0);
    uint64_t dead[3] = {100, 0, 100}; /* a shard that never wrote: frame 1 */
    assert_int_equal(swmrbus__scale_g(dead, 3), 1);
    uint64_t huge[2] = {UINT64_MAX, UINT64_MAX / 2};
    assert_true(swmrbus__scale_g(huge, 2) >= UINT64_MAX - 2);
}

static void test_g_brute(void **state)
{
    (void)state;
    for (size_t s = 1; s <= 5; s++) {
        uint64_t c[5];
        for (unsigned seed = 0; seed < 400; seed++) {
            for (size_t k = 0; k < s; k++) c[k] = (seed * 7 + k * 13 + seed / (k + 1)) % 9;
            assert_int_equal(swmrbus__scale_g(c, s), g_brute(c, s));
        }
    }
}

static void test_relpath(void **state)
{
    (void)state;
    char base[] = "/tmp/swmrbus-scale-XXXXXX";
    assert_non_null(mkdtemp(base));
    char d[512], s0[512], master[512], rel[512], err[256], f[600];
    snprintf(master, sizeof master, "%s/run/master", base);
    snprintf(d, sizeof d, "%s/run", base);
    mkdir(d, 0755);
    mkdir(master, 0755);
    snprintf(s0, sizeof s0, "%s/s0", base);
    mkdir(s0, 0755);
    snprintf(f, sizeof f, "%s/x_1.h5", master);
    assert_int_equal(swmrbus__scale_relpath(master, f, rel, sizeof rel, err, sizeof err), 0);
    assert_string_equal(rel, "x_1.h5");
    snprintf(f, sizeof f, "%s/x_1.h5", s0);
    assert_int_equal(swmrbus__scale_relpath(master, f, rel, sizeof rel, err, sizeof err), 0);
    assert_string_equal(rel, "../../s0/x_1.h5");
    snprintf(f, sizeof f, "%s/x_1.h5", d);
    assert_int_equal(swmrbus__scale_relpath(master, f, rel, sizeof rel, err, sizeof err), 0);
    assert_string_equal(rel, "../x_1.h5");
    snprintf(f, sizeof f, "%s/run/master/../../s0/y.h5", base); /* resolved */
    assert_int_equal(swmrbus__scale_relpath(master, f, rel, sizeof rel, err, sizeof err), 0);
    assert_string_equal(rel, "../../s0/y.h5");
    assert_int_not_equal(swmrbus__scale_relpath(master, "x.h5", rel, sizeof rel, err, sizeof err), 0);
    snprintf(f, sizeof f, "%s/nodir/x.h5", base);
    assert_int_not_equal(swmrbus__scale_relpath(master, f, rel, sizeof rel, err, sizeof err), 0);
    assert_int_equal(swmrbus__scale_relpath(master, f, rel, 4, err, sizeof err) != 0, 1);
    rmdir(master);
    rmdir(d);
    rmdir(s0);
    rmdir(base);
}

static void test_notice_shard_keys(void **state)
{
    (void)state;
    swmrbus_buf b = {0};
    swmrbus_notice n, back;
    char why[200];
    memset(&n, 0, sizeof n);
    n.topic = SWMRBUS_NOTICE_FLUSHED;
    n.series = 3;
    n.has_series = true;
    n.shard = 2;
    n.has_shard = true;
    n.shards = 3;
    n.has_shards = true;
    assert_int_equal(swmrbus_notice_encode(&n, &b), SWMRBUS_OK);
    assert_int_equal(swmrbus_notice_decode("swmrbus.flushed", 15, b.data, b.len, 65536, &back,
                                           why, sizeof why), SWMRBUS_OK);
    assert_true(back.has_shard && back.has_shards && !back.has_shard_frames);
    assert_int_equal(back.shard, 2);
    assert_int_equal(back.shards, 3);
    /* a coordinator's: each shard's N */
    n.has_shard = false;
    n.has_shard_frames = true;
    n.shard_frames[0] = 10;
    n.shard_frames[1] = 9;
    n.shard_frames[2] = 9;
    assert_int_equal(swmrbus_notice_encode(&n, &b), SWMRBUS_OK);
    assert_int_equal(swmrbus_notice_decode("swmrbus.flushed", 15, b.data, b.len, 65536, &back,
                                           why, sizeof why), SWMRBUS_OK);
    assert_true(back.has_shards && back.has_shard_frames && !back.has_shard);
    assert_int_equal(back.shards, 3);
    assert_int_equal(back.shard_frames[0], 10);
    assert_int_equal(back.shard_frames[2], 9);
    /* absent when not sharded */
    memset(&n, 0, sizeof n);
    n.topic = SWMRBUS_NOTICE_OPEN;
    assert_int_equal(swmrbus_notice_encode(&n, &b), SWMRBUS_OK);
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, b.data, b.len, 65536, &back, why,
                                           sizeof why), SWMRBUS_OK);
    assert_false(back.has_shard || back.has_shards);
    /* wrong types: errors */
    const uint8_t bad_str[] = {0x81, 0xa6, 's', 'h', 'a', 'r', 'd', 's', 0xa1, 'x'};
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, bad_str, sizeof bad_str, 65536,
                                           &back, why, sizeof why), SWMRBUS_EINVAL);
    const uint8_t bad_item[] = {0x81, 0xa6, 's', 'h', 'a', 'r', 'd', 's', 0x92, 0x01, 0xff};
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, bad_item, sizeof bad_item, 65536,
                                           &back, why, sizeof why), SWMRBUS_EINVAL);
    swmrbus_buf_free(&b);
}

static swmrbus_err parse(const char *yaml, swmrbus_config **cfg, char *err, size_t errlen)
{
    return swmrbus_config_parse(yaml, strlen(yaml), cfg, err, errlen);
}

static void test_config_keys(void **state)
{
    (void)state;
    swmrbus_config *cfg = NULL;
    char err[512] = "";
    const char *ok =
        "components:\n"
        "  - {name: s1, kind: sink, in: {endpoint: 'tcp://127.0.0.1:7001'}, dir: /tmp,\n"
        "     shard: {index: 1, count: 3}}\n"
        "  - {name: sp, kind: shard, in: {endpoint: 'tcp://127.0.0.1:7000'},\n"
        "     out: {endpoints: ['tcp://127.0.0.1:7001', 'tcp://127.0.0.1:7002'], bind: false}}\n"
        "  - {name: co, kind: coordinator, in: {endpoints: ['tcp://127.0.0.1:7101']},\n"
        "     dir: /tmp, shards: 3}\n";
    assert_int_equal(parse(ok, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(cfg->components[0].shard_index, 1);
    assert_int_equal(cfg->components[0].shard_count, 3);
    assert_true(cfg->components[1].in.bind);             /* a splitter binds its pull */
    assert_int_equal(cfg->components[1].out.n_endpoints, 2);
    assert_int_equal(cfg->components[2].shards, 3);
    assert_int_equal(cfg->components[2].in.pattern, SWMRBUS_PATTERN_SUB);
    assert_false(cfg->components[2].in.bind);
    swmrbus_config_destroy(&cfg);

    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"components:\n  - {name: a, kind: sink, in: {endpoint: 'tcp://127.0.0.1:1'}, dir: /tmp,"
         " shard: {index: 3, count: 3}}\n", "components[0].shard.index: must be below count"},
        {"components:\n  - {name: a, kind: sink, in: {endpoint: 'tcp://127.0.0.1:1'}, dir: /tmp,"
         " shard: {count: 3}}\n", "components[0].shard.index: required"},
        {"components:\n  - {name: a, kind: sink, in: {endpoint: 'tcp://127.0.0.1:1'}, dir: /tmp,"
         " shard: {index: 0, count: 0}}\n", "components[0].shard.count:"},
        {"components:\n  - {name: a, kind: sink, in: {endpoint: 'tcp://127.0.0.1:1'}, dir: /tmp,"
         " shard: {index: 0, cuont: 2}}\n", "components[0].shard.cuont: unknown key"},
        {"components:\n  - {name: a, kind: source, in: {endpoint: 'tcp://127.0.0.1:1'},"
         " dirs: [/tmp], shard: {index: 0, count: 2}}\n", "components[0].shard: not a key of kind"},
        {"components:\n  - {name: c, kind: coordinator, in: {endpoint: 'tcp://127.0.0.1:1'},"
         " dir: /tmp}\n", "components[0].shards: required for kind coordinator"},
        {"components:\n  - {name: c, kind: coordinator, in: {endpoint: 'tcp://127.0.0.1:1'},"
         " shards: 2}\n", "components[0].dir: required for kind coordinator"},
        {"components:\n  - {name: c, kind: coordinator, in: {endpoint: 'tcp://127.0.0.1:1'},"
         " dir: /tmp, shards: 65}\n", "components[0].shards:"},
        {"components:\n  - {name: p, kind: shard, in: {endpoint: 'tcp://127.0.0.1:1'}}\n",
         "components[0].out: required for kind shard"},
        {"components:\n  - {name: p, kind: shard, in: {endpoint: 'tcp://127.0.0.1:1'},"
         " out: {endpoint: 'tcp://127.0.0.1:2'}, dir: /tmp}\n",
         "components[0].dir: not a key of kind shard"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse(bad[i].yaml, &cfg, err, sizeof err), SWMRBUS_ECONFIG);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err, bad[i].want);
        assert_null(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_g_examples),       cmocka_unit_test(test_g_brute),
        cmocka_unit_test(test_relpath),          cmocka_unit_test(test_notice_shard_keys),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
