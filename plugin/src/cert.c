/* cert.c — CURVE certificate files (czmq zcert / pyzmq zmq.auth format):
 * a strict parser of the ZPL subset those files use, and allow sets.
 *
 *     #   ZeroMQ CURVE **Secret** Certificate          comments, blank lines
 *     metadata                                        top level: a section
 *         name = "detector-1"                         4 spaces: name = value
 *     curve
 *         public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 *         secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
 *
 * Every error names the file and, where it has one, the line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "swmrbus/curve.h"

#define NAME_MAX_LEN 64

static swmrbus_err cert_fail(char *err, size_t errlen, const char *name, size_t line,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static swmrbus_err cert_fail(char *err, size_t errlen, const char *name, size_t line,
                             const char *fmt, ...)
{
    char what[200];
    va_list ap;
    if (!err || errlen == 0) return SWMRBUS_EINVAL;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(err, errlen, "%s:%zu: %s", name, line, what);
    else
        snprintf(err, errlen, "%s: %s", name, what);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return SWMRBUS_EINVAL;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("$-_@.&+/", c) != NULL;
}

/* Decodes 40 Z85 characters into 32 bytes; false when malformed. */
static bool z85_key(const char *v, size_t len, uint8_t key[SWMRBUS_CURVE_KEY_BYTES],
                    char txt[SWMRBUS_CURVE_Z85_LEN + 1])
{
    if (len != SWMRBUS_CURVE_Z85_LEN) return false;
    memcpy(txt, v, len);
    txt[len] = '\0';
    return zmq_z85_decode(key, txt) != NULL;
}

typedef enum { SEC_NONE, SEC_METADATA, SEC_CURVE } section;

swmrbus_err swmrbus_cert_parse(const char *text, size_t len, const char *name,
                               swmrbus_cert *out, char *err, size_t errlen)
{
    swmrbus_cert c;
    section sec = SEC_NONE;
    bool seen_meta = false, seen_curve = false, seen_pub = false;
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    swmrbus_err rc = SWMRBUS_EINVAL;

    if (!name) name = "certificate";
    memset(&c, 0, sizeof c);
    if (out) memset(out, 0, sizeof *out);
    if (!out || (!text && len)) return cert_fail(err, errlen, name, 0, "invalid argument");
    if (len > SWMRBUS_CERT_MAX_BYTES)
        return cert_fail(err, errlen, name, 0, "larger than %d bytes", SWMRBUS_CERT_MAX_BYTES);

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end; /* line is [p, le) */
        const char *q = p;
        size_t indent = 0, nlen;
        const char *nm, *val = NULL;
        size_t vlen = 0;

        lineno++;
        for (const char *s = p; s < le; s++) {
            unsigned char ch = (unsigned char)*s;
            if (ch == '\t') {
                cert_fail(err, errlen, name, lineno, "a tab (ZPL indents with 4 spaces)");
                goto out;
            }
            if ((ch < 0x20 && !(ch == '\r' && s + 1 == le)) || ch == 0x7f) {
                cert_fail(err, errlen, name, lineno, "control character 0x%02x", ch);
                goto out;
            }
        }
        while (le > p && (le[-1] == ' ' || le[-1] == '\r')) le--;
        p = nl ? nl + 1 : end;

        while (q < le && *q == ' ') q++, indent++;
        if (q == le || *q == '#') continue; /* blank line or comment */
        if (indent % 4) {
            cert_fail(err, errlen, name, lineno, "indentation of %zu spaces (ZPL: multiples of 4)",
                      indent);
            goto out;
        }
        nm = q;
        while (q < le && name_char(*q)) q++;
        nlen = (size_t)(q - nm);
        if (nlen == 0) {
            cert_fail(err, errlen, name, lineno, "expected a name, got '%c'", *q);
            goto out;
        }
        if (nlen > NAME_MAX_LEN) {
            cert_fail(err, errlen, name, lineno, "name longer than %d characters", NAME_MAX_LEN);
            goto out;
        }
        while (q < le && *q == ' ') q++;
        if (q < le && *q == '=') {
            q++;
            while (q < le && *q == ' ') q++;
            if (q < le && (*q == '"' || *q == '\'')) {
                char quote = *q++;
                val = q;
                while (q < le && *q != quote) q++;
                if (q == le) {
                    cert_fail(err, errlen, name, lineno, "unterminated quoted value");
                    goto out;
                }
                vlen = (size_t)(q - val);
                q++;
            } else {
                val = q;
                while (q < le && *q != ' ' && *q != '#') q++;
                vlen = (size_t)(q - val);
            }
            while (q < le && *q == ' ') q++;
        }
        if (q < le && *q != '#') {
            cert_fail(err, errlen, name, lineno, "unexpected '%c' after %.*s", *q, (int)nlen, nm);
            goto out;
        }

        if (indent == 0) {
            if (val) {
                cert_fail(err, errlen, name, lineno, "%.*s: a section takes no value", (int)nlen,
                          nm);
                goto out;
            }
            if (nlen == 8 && !memcmp(nm, "metadata", 8)) {
                if (seen_meta) {
                    cert_fail(err, errlen, name, lineno, "second metadata section");
                    goto out;
                }
                seen_meta = true;
                sec = SEC_METADATA;
            } else if (nlen == 5 && !memcmp(nm, "curve", 5)) {
                if (seen_curve) {
                    cert_fail(err, errlen, name, lineno, "second curve section");
                    goto out;
                }
                seen_curve = true;
                sec = SEC_CURVE;
            } else {
                cert_fail(err, errlen, name, lineno,
                          "unknown section %.*s (expected metadata or curve)", (int)nlen, nm);
                goto out;
            }
            continue;
        }
        if (indent != 4 || sec == SEC_NONE) {
            cert_fail(err, errlen, name, lineno, "%.*s: nested too deep (a certificate has "
                      "sections and name = value lines)", (int)nlen, nm);
            goto out;
        }
        if (!val) {
            cert_fail(err, errlen, name, lineno, "%.*s: expected name = \"value\"", (int)nlen, nm);
            goto out;
        }
        if (sec == SEC_METADATA) continue; /* free-form, not used */
        if (nlen == 10 && !memcmp(nm, "public-key", 10)) {
            if (seen_pub) {
                cert_fail(err, errlen, name, lineno, "public-key given twice");
                goto out;
            }
            if (!z85_key(val, vlen, c.public_key, c.public_txt)) {
                cert_fail(err, errlen, name, lineno,
                          "public-key: not a CURVE key (40 Z85 characters)");
                goto out;
            }
            seen_pub = true;
        } else if (nlen == 10 && !memcmp(nm, "secret-key", 10)) {
            if (c.has_secret) {
                cert_fail(err, errlen, name, lineno, "secret-key given twice");
                goto out;
            }
            if (!z85_key(val, vlen, c.secret_key, c.secret_txt)) {
                cert_fail(err, errlen, name, lineno,
                          "secret-key: not a CURVE key (40 Z85 characters)");
                goto out;
            }
            c.has_secret = true;
        } else {
            cert_fail(err, errlen, name, lineno,
                      "unknown key %.*s in curve (expected public-key, secret-key)", (int)nlen, nm);
            goto out;
        }
    }
    if (!seen_pub) {
        cert_fail(err, errlen, name, 0, "no curve public-key (not a CURVE certificate)");
        goto out;
    }
    if (c.has_secret) {
        char derived[SWMRBUS_CURVE_Z85_LEN + 1];
        if (zmq_curve_public(derived, c.secret_txt) != 0) {
            cert_fail(err, errlen, name, 0, "cannot derive the public key: %s",
                      zmq_strerror(zmq_errno()));
            goto out;
        }
        if (strcmp(derived, c.public_txt) != 0) {
            cert_fail(err, errlen, name, 0, "public-key does not belong to secret-key");
            goto out;
        }
    }
    *out = c;
    rc = SWMRBUS_OK;
out:
    explicit_bzero(&c, sizeof c);
    return rc;
}

/* Reads a regular file of at most SWMRBUS_CERT_MAX_BYTES into buf. */
static swmrbus_err read_small(const char *path, char *buf, size_t cap, size_t *len, char *err,
                              size_t errlen)
{
    struct stat st;
    ssize_t got;
    size_t n = 0;
    swmrbus_err rc = SWMRBUS_EIO;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? SWMRBUS_ENOTFOUND : SWMRBUS_EIO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (err && errlen) snprintf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    while ((got = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)got;
        if (n == cap) break;
    }
    if (got < 0) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (n == cap) {
        if (err && errlen)
            snprintf(err, errlen, "%s: larger than %d bytes", path, SWMRBUS_CERT_MAX_BYTES);
        rc = SWMRBUS_EINVAL;
        goto out;
    }
    *len = n;
    rc = SWMRBUS_OK;
out:
    close(fd);
    return rc;
}

swmrbus_err swmrbus_cert_load(const char *path, swmrbus_cert *out, char *err, size_t errlen)
{
    size_t len = 0;
    swmrbus_err rc;
    char *buf;

    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) return cert_fail(err, errlen, "certificate", 0, "invalid argument");
    buf = malloc(SWMRBUS_CERT_MAX_BYTES + 1);
    if (!buf) {
        if (err && errlen) snprintf(err, errlen, "%s: out of memory", path);
        return SWMRBUS_ENOMEM;
    }
    rc = read_small(path, buf, SWMRBUS_CERT_MAX_BYTES + 1, &len, err, errlen);
    if (rc == SWMRBUS_OK) rc = swmrbus_cert_parse(buf, len, path, out, err, errlen);
    explicit_bzero(buf, SWMRBUS_CERT_MAX_BYTES + 1);
    free(buf);
    return rc;
}

static bool ends_with_key(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && strcmp(s + n - 4, ".key") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds c's public key to the set unless it is there already. */
static swmrbus_err add_key(uint8_t (**keys)[SWMRBUS_CURVE_KEY_BYTES], size_t *n, size_t *cap,
                           const swmrbus_cert *c, const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < *n; i++)
        if (!memcmp((*keys)[i], c->public_key, SWMRBUS_CURVE_KEY_BYTES)) return SWMRBUS_OK;
    if (*n == SWMRBUS_CURVE_MAX_ALLOW) {
        if (err && errlen)
            snprintf(err, errlen, "%s: more than %d certificates", path, SWMRBUS_CURVE_MAX_ALLOW);
        return SWMRBUS_ELIMIT;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *g = realloc(*keys, nc * SWMRBUS_CURVE_KEY_BYTES);
        if (!g) {
            if (err && errlen) snprintf(err, errlen, "%s: out of memory", path);
            return SWMRBUS_ENOMEM;
        }
        *keys = g;
        *cap = nc;
    }
    memcpy((*keys)[(*n)++], c->public_key, SWMRBUS_CURVE_KEY_BYTES);
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_cert_load_allow(const char *path, uint8_t (**keys)[SWMRBUS_CURVE_KEY_BYTES],
                                    size_t *n, char *err, size_t errlen)
{
    uint8_t(*set)[SWMRBUS_CURVE_KEY_BYTES] = NULL;
    size_t count = 0, cap = 0, nnames = 0, capnames = 0;
    char **names = NULL;
    DIR *d = NULL;
    struct stat st;
    swmrbus_cert c;
    swmrbus_err rc = SWMRBUS_OK;

    if (!path || !keys || !n) return cert_fail(err, errlen, "allow", 0, "invalid argument");
    *keys = NULL;
    *n = 0;
    if (stat(path, &st) != 0) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? SWMRBUS_ENOTFOUND : SWMRBUS_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = swmrbus_cert_load(path, &c, err, errlen);
        if (rc == SWMRBUS_OK) rc = add_key(&set, &count, &cap, &c, path, err, errlen);
        goto out;
    }
    /* A directory: its *.key files, in name order (stable error texts). */
    d = opendir(path);
    if (!d) {
        if (err && errlen) snprintf(err, errlen, "%s: cannot list: %s", path, strerror(errno));
        rc = SWMRBUS_EIO;
        goto out;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || !ends_with_key(e->d_name)) continue;
        if (nnames == SWMRBUS_CURVE_MAX_ALLOW) {
            if (err && errlen)
                snprintf(err, errlen, "%s: more than %d *.key files", path,
                         SWMRBUS_CURVE_MAX_ALLOW);
            rc = SWMRBUS_ELIMIT;
            goto out;
        }
        if (nnames == capnames) {
            size_t nc = capnames ? capnames * 2 : 16;
            char **g = realloc(names, nc * sizeof *names);
            if (!g) {
                rc = SWMRBUS_ENOMEM;
                goto out;
            }
            names = g;
            capnames = nc;
        }
        if (!(names[nnames] = strdup(e->d_name))) {
            rc = SWMRBUS_ENOMEM;
            goto out;
        }
        nnames++;
    }
    if (nnames == 0) {
        if (err && errlen) snprintf(err, errlen, "%s: no *.key certificate in the directory", path);
        rc = SWMRBUS_ENOTFOUND;
        goto out;
    }
    qsort(names, nnames, sizeof *names, cmp_str);
    for (size_t i = 0; i < nnames; i++) {
        char full[4096];
        if ((size_t)snprintf(full, sizeof full, "%s/%s", path, names[i]) >= sizeof full) {
            if (err && errlen) snprintf(err, errlen, "%s: path too long", path);
            rc = SWMRBUS_EINVAL;
            goto out;
        }
        rc = swmrbus_cert_load(full, &c, err, errlen);
        if (rc == SWMRBUS_OK) rc = add_key(&set, &count, &cap, &c, full, err, errlen);
        if (rc != SWMRBUS_OK) goto out;
    }
out:
    if (rc == SWMRBUS_ENOMEM && err && errlen) snprintf(err, errlen, "%s: out of memory", path);
    explicit_bzero(&c, sizeof c);
    if (d) closedir(d);
    for (size_t i = 0; i < nnames; i++) free(names[i]);
    free(names);
    if (rc != SWMRBUS_OK) {
        free(set);
        return rc;
    }
    *keys = set;
    *n = count;
    return SWMRBUS_OK;
}
