/* test_curve.c — CURVE (issue 9): the certificate parser (files as pyzmq,
 * czmq and swmrbus keygen write them, and malformed ones), allow sets, the
 * curve config keys with their error paths, the control-on-the-network
 * rule, and a CURVE server socket whose ZAP handler admits the allowed key,
 * refuses the others, counts them and ends with its context. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "swmrbus/config.h"
#include "swmrbus/curve.h"
#include "swmrbus/socket.h"

/* Written by pyzmq's zmq.auth.create_certificates. */
static const char py_secret[] =
    "#   ****  Generated on 2026-11-29 22:03:00.595326 by pyzmq  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
    "\n"
    "metadata\n"
    "curve\n"
    "    public-key = \"&9Ovu4B{<-(vi/d)Sy$F=AfSN[xs11Z4D$U7Z)Ga\"\n"
    "    secret-key = \"l%)co=Pn$[q*yW$iKlPV6vr!L]g?Z?>*ejwlF&d2\"\n";
static const char py_public[] =
    "#   ****  Generated on 2026-11-29 22:03:00.595326 by pyzmq  ****\n"
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange. Store public certificates in your home\n"
    "#   directory, in the .curve subdirectory.\n"
    "\n"
    "metadata\n"
    "curve\n"
    "    public-key = \"&9Ovu4B{<-(vi/d)Sy$F=AfSN[xs11Z4D$U7Z)Ga\"\n";
/* Written by swmrbus keygen (czmq's zcert writes the same shape). */
static const char kg_secret[] =
    "#   ****  Generated on 2026-11-29 22:03:08 UTC by swmrbus keygen  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
    "\n"
    "metadata\n"
    "    name = \"good\"\n"
    "curve\n"
    "    public-key = \"G.+pUd^nTt<Ygv3u6L.vA<V<V(6m$]&Yz1sI3r2R\"\n"
    "    secret-key = \"@d}gIPTqRv9vWMMYRWOQ-)L12(.9E^JKtpVKOi29\"\n";
#define KG_PUB "G.+pUd^nTt<Ygv3u6L.vA<V<V(6m$]&Yz1sI3r2R"
#define KG_SEC "@d}gIPTqRv9vWMMYRWOQ-)L12(.9E^JKtpVKOi29"
#define PY_PUB "&9Ovu4B{<-(vi/d)Sy$F=AfSN[xs11Z4D$U7Z)Ga"
#define PY_SEC "l%)co=Pn$[q*yW$iKlPV6vr!L]g?Z?>*ejwlF&d2"
/* a third pair, for a client that is not allowed */
#define OTHER_PUB "Z.$[/l(y9r4ny&c-y}zGKgsd.kHs+hTUQ]Hk7vrI"
#define OTHER_SEC "K46dDx%>80VWP&q.OuuPi^@!+uYBjS-^$GQdA2l$"

static const char *tmp_dir(void)
{
    static char dir[1024];
    const char *env = getenv("SWMRBUS_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/curve-%ld", env && *env ? env : "/tmp/swmrbus-test-tmp",
             (long)getpid());
    for (char *p = dir + 1; *p; p++) { /* mkdir -p */
        if (*p != '/') continue;
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", dir, strerror(errno));
    return dir;
}

static const char *tpath(const char *name)
{
    static _Thread_local char buf[8][1200];
    static _Thread_local int i;
    char *p = buf[i++ % 8];
    snprintf(p, 1200, "%s/%s", tmp_dir(), name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* ---- the parser ------------------------------------------------------------- */

static void parse_good(const char *text, const char *pub, const char *sec)
{
    swmrbus_cert c;
    char err[256] = "";
    swmrbus_err rc = swmrbus_cert_parse(text, strlen(text), "x.key", &c, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("expected OK: %s", err);
    assert_string_equal(c.public_txt, pub);
    uint8_t key[32];
    assert_non_null(zmq_z85_decode(key, pub));
    assert_memory_equal(c.public_key, key, 32);
    if (sec) {
        assert_true(c.has_secret);
        assert_string_equal(c.secret_txt, sec);
    } else {
        assert_false(c.has_secret);
        assert_string_equal(c.secret_txt, "");
    }
}

static void test_good_files(void **state)
{
    (void)state;
    parse_good(py_secret, PY_PUB, PY_SEC);
    parse_good(py_public, PY_PUB, NULL);
    parse_good(kg_secret, KG_PUB, KG_SEC);
    /* czmq shapes: metadata children, single quotes, no quotes, trailing
     * comments and spaces, CRLF, no final newline, curve before metadata */
    parse_good("metadata\n    name = 'x'\n    email = \"a@b.c\"\ncurve\n"
               "    public-key = '" KG_PUB "'   # the key\n", KG_PUB, NULL);
    parse_good("curve\r\n    public-key = \"" KG_PUB "\"  \r\n", KG_PUB, NULL);
    parse_good("curve\n    public-key = \"" KG_PUB "\"", KG_PUB, NULL);
    parse_good("curve\n    public-key=\"" KG_PUB "\"\nmetadata\n", KG_PUB, NULL);
    parse_good("# only a comment\n\n   # indented comment\ncurve\n    public-key = " KG_PUB
               "\n", KG_PUB, NULL);
}

static void parse_bad(const char *text, const char *want)
{
    swmrbus_cert c;
    char err[256] = "";
    memset(&c, 0x5a, sizeof c);
    swmrbus_err rc = swmrbus_cert_parse(text, strlen(text), "bad.key", &c, err, sizeof err);
    if (rc != SWMRBUS_EINVAL) fail_msg("expected EINVAL, got %d for:\n%s", rc, text);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\"", err, want);
    assert_null(strchr(err, '\n'));
    assert_false(c.has_secret); /* zeroed */
    assert_string_equal(c.public_txt, "");
}

static void test_malformed(void **state)
{
    (void)state;
    parse_bad("", "bad.key: no curve public-key");
    parse_bad("# nothing\n", "bad.key: no curve public-key");
    parse_bad("metadata\n", "no curve public-key");
    parse_bad("curve\n\tpublic-key = \"" KG_PUB "\"\n", "bad.key:2: a tab");
    parse_bad("curve\n  public-key = \"" KG_PUB "\"\n", "bad.key:2: indentation of 2 spaces");
    parse_bad("curve\n        public-key = \"" KG_PUB "\"\n", "bad.key:2: public-key: nested too deep");
    parse_bad("    public-key = \"" KG_PUB "\"\n", "bad.key:1: public-key: nested too deep");
    parse_bad("curves\n", "bad.key:1: unknown section curves");
    parse_bad("curve = 1\n", "bad.key:1: curve: a section takes no value");
    parse_bad("curve\ncurve\n", "bad.key:2: second curve section");
    parse_bad("curve\n    public-key\n", "bad.key:2: public-key: expected name = \"value\"");
    parse_bad("curve\n    public_key = \"" KG_PUB "\"\n", "bad.key:2: unknown key public_key in curve");
    parse_bad("curve\n    public-key = \"" KG_PUB "\n", "bad.key:2: unterminated quoted value");
    parse_bad("curve\n    public-key = \"" KG_PUB "\" x\n", "bad.key:2: unexpected 'x'");
    parse_bad("curve\n    public-key = \"abc\"\n", "bad.key:2: public-key: not a CURVE key");
    parse_bad("curve\n    public-key = \"" KG_PUB "A\"\n", "bad.key:2: public-key: not a CURVE key");
    parse_bad("curve\n    public-key = \"G.+pUd^nTt<Ygv3u6L.vA<V<V(6m$]&Yz1sI3r2~\"\n",
              "bad.key:2: public-key: not a CURVE key");
    parse_bad("curve\n    public-key = \"" KG_PUB "\"\n    public-key = \"" KG_PUB "\"\n",
              "bad.key:3: public-key given twice");
    parse_bad("curve\n    public-key = \"" KG_PUB "\"\n    secret-key = \"" PY_SEC "\"\n",
              "bad.key: public-key does not belong to secret-key");
    parse_bad("curve\n    secret-key = \"" KG_SEC "\"\n", "no curve public-key");
    parse_bad("curve\n    public-key = \"" KG_PUB "\x01\"\n", "bad.key:2: control character 0x01");
    parse_bad("curve\n    = \"x\"\n", "bad.key:2: expected a name, got '='");

    /* bounded size */
    size_t big = SWMRBUS_CERT_MAX_BYTES + 1;
    char *t = malloc(big + 1);
    assert_non_null(t);
    memset(t, '#', big);
    t[big] = '\0';
    parse_bad(t, "bad.key: larger than 65536 bytes");
    free(t);
}

static void test_files(void **state)
{
    (void)state;
    swmrbus_cert c;
    char err[600] = "";
    write_file(tpath("kg.key_secret"), kg_secret);
    assert_int_equal(swmrbus_cert_load(tpath("kg.key_secret"), &c, err, sizeof err), SWMRBUS_OK);
    assert_string_equal(c.secret_txt, KG_SEC);

    assert_int_equal(swmrbus_cert_load(tpath("missing.key"), &c, err, sizeof err),
                     SWMRBUS_ENOTFOUND);
    assert_non_null(strstr(err, "missing.key: cannot open: No such file"));
    assert_int_equal(swmrbus_cert_load(tmp_dir(), &c, err, sizeof err), SWMRBUS_EIO);
    assert_non_null(strstr(err, "not a regular file"));
    write_file(tpath("broken.key"), "curve\n    public-key = \"nope\"\n");
    assert_int_equal(swmrbus_cert_load(tpath("broken.key"), &c, err, sizeof err), SWMRBUS_EINVAL);
    assert_non_null(strstr(err, "broken.key:2: public-key: not a CURVE key"));

    /* an allow directory: *.key files only, duplicates once */
    mkdir(tpath("allow"), 0755);
    write_file(tpath("allow/py.key"), py_public);
    write_file(tpath("allow/kg.key"), "curve\n    public-key = \"" KG_PUB "\"\n");
    write_file(tpath("allow/again.key"), py_secret); /* the same key, with its secret */
    write_file(tpath("allow/kg.key_secret"), "not read");
    write_file(tpath("allow/README"), "not read");
    uint8_t(*keys)[32] = NULL;
    size_t n = 0;
    assert_int_equal(swmrbus_cert_load_allow(tpath("allow"), &keys, &n, err, sizeof err),
                     SWMRBUS_OK);
    assert_int_equal(n, 2);
    free(keys);
    /* one file */
    assert_int_equal(swmrbus_cert_load_allow(tpath("allow/kg.key"), &keys, &n, err, sizeof err),
                     SWMRBUS_OK);
    assert_int_equal(n, 1);
    free(keys);
    /* a bad file in the directory names itself */
    write_file(tpath("allow/zz.key"), "curve\n    public-key = \"" KG_PUB "\"\n    x = 1\n");
    assert_int_not_equal(swmrbus_cert_load_allow(tpath("allow"), &keys, &n, err, sizeof err),
                         SWMRBUS_OK);
    assert_non_null(strstr(err, "allow/zz.key:3: unknown key x in curve"));
    assert_null(keys);
    /* an empty directory */
    mkdir(tpath("empty"), 0755);
    assert_int_equal(swmrbus_cert_load_allow(tpath("empty"), &keys, &n, err, sizeof err),
                     SWMRBUS_ENOTFOUND);
    assert_non_null(strstr(err, "no *.key certificate"));
}

/* ---- config ------------------------------------------------------------------ */

static void write_keys(void)
{
    write_file(tpath("srv.key_secret"), kg_secret);
    write_file(tpath("srv.key"), "curve\n    public-key = \"" KG_PUB "\"\n");
    mkdir(tpath("clients"), 0755);
    write_file(tpath("clients/py.key"), py_public);
}

static const char *sink_with(const char *in_extra, const char *control)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "components:\n"
             "  - name: w\n"
             "    kind: sink\n"
             "    dir: /tmp/d\n"
             "    in: {endpoint: 'tcp://127.0.0.1:5555'%s}\n"
             "%s",
             in_extra, control ? control : "");
    return buf;
}

static void cfg_bad(const char *yaml, const char *want)
{
    swmrbus_config *cfg = NULL;
    char err[600] = "";
    swmrbus_err rc = swmrbus_config_parse(yaml, strlen(yaml), &cfg, err, sizeof err);
    if (rc != SWMRBUS_ECONFIG) fail_msg("expected ECONFIG, got %d (%s) for:\n%s", rc, err, yaml);
    assert_null(cfg);
    if (!strstr(err, want)) fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static swmrbus_config *cfg_ok(const char *yaml)
{
    swmrbus_config *cfg = NULL;
    char err[600] = "";
    swmrbus_err rc = swmrbus_config_parse(yaml, strlen(yaml), &cfg, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("expected OK, got %d: %s\n%s", rc, err, yaml);
    return cfg;
}

static void test_config_keys(void **state)
{
    (void)state;
    char extra[2048];
    write_keys();

    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s', allow: '%s'}",
             tpath("srv.key_secret"), tpath("clients"));
    swmrbus_config *cfg = cfg_ok(sink_with(extra, NULL));
    const swmrbus_curve_cfg *cc = &cfg->components[0].in.curve;
    assert_true(cc->present);
    assert_string_equal(cc->component, "w");
    assert_int_equal(cc->n_allow, 1);
    assert_false(cfg->components[0].notify.curve.present);
    uint8_t key[32];
    zmq_z85_decode(key, KG_PUB);
    assert_memory_equal(cc->public_key, key, 32);
    zmq_z85_decode(key, PY_PUB);
    assert_memory_equal(cc->allow[0], key, 32);
    swmrbus_config_destroy(&cfg);

    /* a connecting socket */
    snprintf(extra, sizeof extra, ", bind: false, curve: {secret_key: '%s', server_key: '%s'}",
             tpath("srv.key_secret"), tpath("srv.key"));
    cfg = cfg_ok(sink_with(extra, NULL));
    zmq_z85_decode(key, KG_PUB);
    assert_memory_equal(cfg->components[0].in.curve.server_key, key, 32);
    swmrbus_config_destroy(&cfg);

    /* errors, each naming its path */
    cfg_bad(sink_with(", curve: {}", NULL), "components[0].in.curve.secret_key: required");
    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s'}", tpath("srv.key_secret"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.allow: required on a binding socket");
    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s', allow: '%s', server_key: '%s'}",
             tpath("srv.key_secret"), tpath("clients"), tpath("srv.key"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.server_key: only for a connecting");
    snprintf(extra, sizeof extra, ", bind: false, curve: {secret_key: '%s'}",
             tpath("srv.key_secret"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.server_key: required on a connecting");
    snprintf(extra, sizeof extra, ", bind: false, curve: {secret_key: '%s', allow: '%s'}",
             tpath("srv.key_secret"), tpath("clients"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.allow: only for a binding socket");
    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s', allow: '%s'}",
             tpath("srv.key"), tpath("clients"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.secret_key: ");
    cfg_bad(sink_with(extra, NULL), "srv.key has no secret-key");
    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s', allow: '%s'}",
             tpath("nope.key_secret"), tpath("clients"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.secret_key: ");
    cfg_bad(sink_with(extra, NULL), "nope.key_secret: cannot open: No such file or directory");
    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s', allow: '%s'}",
             tpath("srv.key_secret"), tpath("no-such-dir"));
    cfg_bad(sink_with(extra, NULL), "components[0].in.curve.allow: ");
    cfg_bad(sink_with(extra, NULL), "no-such-dir: No such file or directory");
    cfg_bad(sink_with(", curve: {secret_key: a, alow: b}", NULL),
            "components[0].in.curve.alow: unknown key");
    snprintf(extra, sizeof extra, "    notify: {endpoint: 'inproc://n', curve: {secret_key: '%s', "
             "allow: '%s'}}\n", tpath("srv.key_secret"), tpath("clients"));
    cfg_bad(sink_with("", extra), "components[0].notify.curve: curve does not apply to inproc://");
}

static void test_control_needs_curve_off_loopback(void **state)
{
    (void)state;
    char ctl[2048];
    write_keys();
    static const char *const network[] = {
        "tcp://0.0.0.0:5557", "tcp://*:5557", "tcp://192.168.1.5:5557", "tcp://eth0:5557",
        "tcp://[::]:5557", "tcp://127.example.org:5557", "tcp://127.0.0.1;10.0.0.1:5557",
    };
    for (size_t i = 0; i < sizeof network / sizeof network[0]; i++) {
        snprintf(ctl, sizeof ctl, "    control: {endpoint: '%s'}\n", network[i]);
        cfg_bad(sink_with("", ctl), "components[0].control: a control socket on a non-loopback "
                                    "address needs curve");
    }
    snprintf(ctl, sizeof ctl, "    control: {endpoints: ['tcp://127.0.0.1:5557', 'tcp://*:5558']}\n");
    cfg_bad(sink_with("", ctl), "needs curve (tcp://*:5558)");
    static const char *const local[] = {
        "tcp://127.0.0.1:5557", "tcp://127.1.2.3:5557", "tcp://localhost:5557",
        "tcp://[::1]:5557", "ipc:///tmp/ctl", "inproc://ctl", "tcp://10.0.0.1;127.0.0.1:5557",
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        snprintf(ctl, sizeof ctl, "    control: {endpoint: '%s'}\n", local[i]);
        swmrbus_config *cfg = cfg_ok(sink_with("", ctl));
        swmrbus_config_destroy(&cfg);
    }
    snprintf(ctl, sizeof ctl,
             "    control: {endpoint: 'tcp://0.0.0.0:5557', curve: {secret_key: '%s', allow: '%s'}}\n",
             tpath("srv.key_secret"), tpath("clients"));
    swmrbus_config *cfg = cfg_ok(sink_with("", ctl));
    swmrbus_config_destroy(&cfg);
}

/* ---- a CURVE server socket and its ZAP handler -------------------------------- */

static void *client(void *ctx, const char *ep, const char *pub, const char *sec)
{
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int zero = 0;
    assert_non_null(s);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (pub) {
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, KG_PUB, 40), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
    }
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

static void test_server_socket(void **state)
{
    (void)state;
    char extra[2048], ep[256], buf[64], err[512] = "";
    size_t eplen = sizeof ep;
    write_keys();
    snprintf(extra, sizeof extra, ", curve: {secret_key: '%s', allow: '%s'}",
             tpath("srv.key_secret"), tpath("clients"));
    swmrbus_config *cfg = cfg_ok(
        "components: [{name: curve-unit, kind: sink, dir: /tmp/d, in: {endpoint: 'tcp://127.0.0.1:*'"
        "}}]");
    swmrbus_config_destroy(&cfg);
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "components: [{name: curve-unit, kind: sink, dir: /tmp/d, in: {endpoint: "
             "'tcp://127.0.0.1:*'%s}}]", extra);
    cfg = cfg_ok(yaml);

    void *ctx = zmq_ctx_new(), *cctx = zmq_ctx_new(), *pull = NULL;
    const swmrbus_socket_opts o = {.name = "in"};
    assert_int_equal(swmrbus_socket_open(ctx, ZMQ_PULL, &cfg->components[0].in, &o, &pull, err,
                                         sizeof err), SWMRBUS_OK);
    assert_int_equal(zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    int tmo = 300;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &tmo, sizeof tmo);

    /* refused: a key not in allow, and a client without CURVE */
    void *bad = client(cctx, ep, OTHER_PUB, OTHER_SEC);
    void *plain = client(cctx, ep, NULL, NULL);
    zmq_send(bad, "bad", 3, ZMQ_DONTWAIT);
    zmq_send(plain, "plain", 5, ZMQ_DONTWAIT);
    uint64_t denied = 0;
    for (int i = 0; i < 200 && denied < 2; i++) { /* up to ~60 s on a loaded machine */
        assert_int_equal(zmq_recv(pull, buf, sizeof buf, 0), -1); /* nothing gets through */
        denied = swmrbus_auth_denied("curve-unit");
    }
    assert_true(denied >= 2);
    assert_int_equal(swmrbus_auth_denied("no-such-component"), 0);

    /* admitted: the allowed key (pyzmq's) */
    void *good = client(cctx, ep, PY_PUB, PY_SEC);
    assert_int_equal(zmq_send(good, "good", 4, 0), 4);
    tmo = 30000;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    int n = zmq_recv(pull, buf, sizeof buf, 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "good", 4);

    zmq_close(good);
    zmq_close(bad);
    zmq_close(plain);
    zmq_ctx_term(cctx);
    zmq_close(pull);
    /* the handler ends with its context, and its counts with it */
    assert_int_equal(zmq_ctx_term(ctx), 0);
    assert_int_equal(swmrbus_auth_denied("curve-unit"), 0);
    swmrbus_config_destroy(&cfg);

    /* a second context gets a handler of its own */
    ctx = zmq_ctx_new();
    cfg = cfg_ok(yaml);
    assert_int_equal(swmrbus_socket_open(ctx, ZMQ_PULL, &cfg->components[0].in, &o, &pull, err,
                                         sizeof err), SWMRBUS_OK);
    zmq_close(pull);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    swmrbus_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_control_needs_curve_off_loopback),
        cmocka_unit_test(test_server_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
