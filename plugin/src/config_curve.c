/* config_curve.c — the "curve" map of a socket (issue 9):
 *
 *     curve:
 *       secret_key: /etc/swmrbus/sink.key_secret   # this side's certificate
 *       allow: /etc/swmrbus/clients                # binding: allowed clients (dir or file)
 *       server_key: /etc/swmrbus/sink.key          # connecting: the server's certificate
 *
 * Deny by default: a binding socket with curve must name its allowed
 * clients. The certificate files are read here, at load time, so that a
 * config check finds a missing or malformed key before anything runs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_curve.h"
#include "swmrbus/curve.h"

static swmrbus_err cfail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static swmrbus_err cfail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) return SWMRBUS_ECONFIG;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return SWMRBUS_ECONFIG;
}

void swmrbus__curve_cfg_clear(swmrbus_curve_cfg *cc)
{
    if (!cc) return;
    free(cc->secret_key_path);
    free(cc->allow_path);
    free(cc->server_key_path);
    free(cc->component);
    free(cc->allow);
    explicit_bzero(cc, sizeof *cc);
}

/* A path value: not empty, no control characters. */
static swmrbus_err check_path(const char *v, const char *path, const char *key, char *err,
                              size_t errlen)
{
    if (v[0] == '\0') return cfail(err, errlen, "%s.%s: must not be empty", path, key);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return cfail(err, errlen, "%s.%s: contains a control character", path, key);
    return SWMRBUS_OK;
}

static swmrbus_err load_one(const swmrbus__raw_curve *rc, swmrbus_socket_cfg *s,
                            const char *component, const char *spath, char *err, size_t errlen)
{
    char path[96], why[400];
    swmrbus_curve_cfg cc;
    swmrbus_cert cert;
    swmrbus_err rc2 = SWMRBUS_ECONFIG;

    memset(&cc, 0, sizeof cc);
    memset(&cert, 0, sizeof cert);
    snprintf(path, sizeof path, "%s.curve", spath);
    for (unsigned i = 0; i < s->n_endpoints; i++)
        if (strncmp(s->endpoints[i], "inproc://", 9) == 0) {
            cfail(err, errlen, "%s: curve does not apply to inproc:// endpoints (%s has no "
                  "handshake)", path, s->endpoints[i]);
            goto out;
        }
    if (!rc->secret_key) {
        cfail(err, errlen, "%s.secret_key: required (this side's certificate with its secret "
              "key, e.g. made by swmrbus keygen)", path);
        goto out;
    }
    if (check_path(rc->secret_key, path, "secret_key", err, errlen) != SWMRBUS_OK) goto out;
    if (swmrbus_cert_load(rc->secret_key, &cert, why, sizeof why) != SWMRBUS_OK) {
        cfail(err, errlen, "%s.secret_key: %s", path, why);
        goto out;
    }
    if (!cert.has_secret) {
        cfail(err, errlen, "%s.secret_key: %s has no secret-key (give the NAME.key_secret file)",
              path, rc->secret_key);
        goto out;
    }
    memcpy(cc.public_key, cert.public_key, sizeof cc.public_key);
    memcpy(cc.secret_key, cert.secret_key, sizeof cc.secret_key);

    if (s->bind) {
        if (rc->server_key) {
            cfail(err, errlen, "%s.server_key: only for a connecting socket (this one binds; "
                  "it is the server)", path);
            goto out;
        }
        if (!rc->allow) {
            cfail(err, errlen, "%s.allow: required on a binding socket (the allowed clients' "
                  "public certificates: a directory of *.key files or one file)", path);
            goto out;
        }
        if (check_path(rc->allow, path, "allow", err, errlen) != SWMRBUS_OK) goto out;
        rc2 = swmrbus_cert_load_allow(rc->allow, &cc.allow, &cc.n_allow, why, sizeof why);
        if (rc2 != SWMRBUS_OK) {
            if (rc2 != SWMRBUS_ENOMEM) {
                rc2 = SWMRBUS_ECONFIG;
                cfail(err, errlen, "%s.allow: %s", path, why);
            }
            goto out;
        }
        rc2 = SWMRBUS_ECONFIG;
    } else {
        if (rc->allow) {
            cfail(err, errlen, "%s.allow: only for a binding socket (this one connects; give "
                  "server_key)", path);
            goto out;
        }
        if (!rc->server_key) {
            cfail(err, errlen, "%s.server_key: required on a connecting socket (the server's "
                  "public certificate)", path);
            goto out;
        }
        if (check_path(rc->server_key, path, "server_key", err, errlen) != SWMRBUS_OK) goto out;
        if (swmrbus_cert_load(rc->server_key, &cert, why, sizeof why) != SWMRBUS_OK) {
            cfail(err, errlen, "%s.server_key: %s", path, why);
            goto out;
        }
        memcpy(cc.server_key, cert.public_key, sizeof cc.server_key);
    }
    cc.secret_key_path = strdup(rc->secret_key);
    cc.allow_path = rc->allow ? strdup(rc->allow) : NULL;
    cc.server_key_path = rc->server_key ? strdup(rc->server_key) : NULL;
    cc.component = strdup(component);
    if (!cc.secret_key_path || (rc->allow && !cc.allow_path) ||
        (rc->server_key && !cc.server_key_path) || !cc.component) {
        rc2 = SWMRBUS_ENOMEM;
        goto out;
    }
    cc.present = true;
    swmrbus__curve_cfg_clear(&s->curve);
    s->curve = cc;
    memset(&cc, 0, sizeof cc);
    rc2 = SWMRBUS_OK;
out:
    swmrbus__curve_cfg_clear(&cc);
    explicit_bzero(&cert, sizeof cert);
    if (rc2 == SWMRBUS_ENOMEM) cfail(err, errlen, "out of memory loading the config");
    return rc2;
}

/* true when ep is not on the network (ipc://, inproc://) or is a tcp
 * address on the loopback interface: 127.x.y.z, [::1], localhost. */
static bool local_endpoint(const char *ep)
{
    const char *a, *semi, *end;
    char host[256];
    size_t n;

    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0) return true;
    a = strstr(ep, "://");
    if (!a) return false;
    a += 3;
    semi = strrchr(a, ';'); /* connect: "source;destination" */
    if (semi) a = semi + 1;
    if (*a == '[') {
        end = strchr(a, ']');
        if (!end) return false;
        a++;
    } else {
        end = strrchr(a, ':');
        if (!end) end = a + strlen(a);
    }
    n = (size_t)(end - a);
    if (n == 0 || n >= sizeof host) return false;
    memcpy(host, a, n);
    host[n] = '\0';
    if (!strcmp(host, "localhost") || !strcmp(host, "::1")) return true;
    if (strncmp(host, "127.", 4) != 0) return false;
    /* 127.a.b.c, digits and dots only (not a name like 127.example.org) */
    unsigned dots = 0;
    for (const char *p = host; *p; p++) {
        if (*p == '.') dots++;
        else if (*p < '0' || *p > '9') return false;
    }
    return dots == 3;
}

swmrbus_err swmrbus__config_curve(const swmrbus__raw_component *r, swmrbus_component_cfg *c,
                                  const char *path, char *err, size_t errlen)
{
    const swmrbus__raw_socket *raw[4] = {r->in, r->out, r->notify, r->control};
    swmrbus_socket_cfg *sock[4] = {&c->in, &c->out, &c->notify, &c->control};
    static const char *const role[4] = {"in", "out", "notify", "control"};
    swmrbus_err rc;

    for (int i = 0; i < 4; i++) {
        char spath[80];
        if (!raw[i] || !raw[i]->curve || !sock[i]->present) continue;
        snprintf(spath, sizeof spath, "%s.%s", path, role[i]);
        rc = load_one(raw[i]->curve, sock[i], c->name, spath, err, errlen);
        if (rc != SWMRBUS_OK) return rc;
    }
    if (c->control.present && !c->control.curve.present)
        for (unsigned i = 0; i < c->control.n_endpoints; i++)
            if (!local_endpoint(c->control.endpoints[i]))
                return cfail(err, errlen, "%s.control: a control socket on a non-loopback "
                             "address needs curve (%s)", path, c->control.endpoints[i]);
    return SWMRBUS_OK;
}
