/* cli_util.c — helpers the subcommands share: JSON output of msgpack
 * objects, strict number arguments, CURVE client options, --help detection. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "swmrbus/curve.h"

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char b = s[0], lo = 0x80, hi = 0xbf;
    size_t k;

    if (b < 0x80) return 1;
    if (b >= 0xc2 && b <= 0xdf) k = 1;
    else if (b >= 0xe0 && b <= 0xef) k = 2;
    else if (b >= 0xf0 && b <= 0xf4) k = 3;
    else return 0;
    if (b == 0xe0) lo = 0xa0;      /* overlong */
    else if (b == 0xed) hi = 0x9f; /* surrogates */
    else if (b == 0xf0) lo = 0x90; /* overlong */
    else if (b == 0xf4) hi = 0x8f; /* > U+10FFFF */
    if (k >= n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t j = 2; j <= k; j++)
        if (s[j] < 0x80 || s[j] > 0xbf) return 0;
    return k + 1;
}

void swmrbus_cli_json_str(FILE *to, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;

    fputc('"', to);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t k;
        switch (c) {
        case '"': fputs("\\\"", to); i++; continue;
        case '\\': fputs("\\\\", to); i++; continue;
        case '\b': fputs("\\b", to); i++; continue;
        case '\f': fputs("\\f", to); i++; continue;
        case '\n': fputs("\\n", to); i++; continue;
        case '\r': fputs("\\r", to); i++; continue;
        case '\t': fputs("\\t", to); i++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(to, "\\u%04x", c);
            i++;
            continue;
        }
        k = utf8_len(s + i, len - i);
        if (k == 0) {
            fputs("\\ufffd", to);
            i++;
            continue;
        }
        if (k == 2 && c == 0xc2 && s[i + 1] < 0xa0) { /* C1: escaped for terminals */
            fprintf(to, "\\u%04x", s[i + 1]);
            i += 2;
            continue;
        }
        fwrite(s + i, 1, k, to);
        i += k;
    }
    fputc('"', to);
}

/* The shortest of %.15g / %.17g that reads back as d. */
static void json_double(FILE *to, double d)
{
    char buf[40];
    if (!isfinite(d)) {
        fputs("null", to);
        return;
    }
    snprintf(buf, sizeof buf, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, sizeof buf, "%.17g", d);
    fputs(buf, to);
}

static void json_key(FILE *to, const msgpack_object *k)
{
    char buf[48];
    switch (k->type) {
    case MSGPACK_OBJECT_STR: swmrbus_cli_json_str(to, k->via.str.ptr, k->via.str.size); return;
    case MSGPACK_OBJECT_BIN: swmrbus_cli_json_str(to, k->via.bin.ptr, k->via.bin.size); return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: snprintf(buf, sizeof buf, "%" PRIu64, k->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: snprintf(buf, sizeof buf, "%" PRId64, k->via.i64); break;
    case MSGPACK_OBJECT_BOOLEAN: snprintf(buf, sizeof buf, "%s", k->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_NIL: snprintf(buf, sizeof buf, "null"); break;
    default: snprintf(buf, sizeof buf, "<key of msgpack type %d>", (int)k->type); break;
    }
    swmrbus_cli_json_str(to, buf, strlen(buf));
}

void swmrbus_cli_json(FILE *to, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: fputs("null", to); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", to); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(to, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(to, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: json_double(to, o->via.f64); break;
    case MSGPACK_OBJECT_STR: swmrbus_cli_json_str(to, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_BIN: swmrbus_cli_json_str(to, o->via.bin.ptr, o->via.bin.size); break;
    case MSGPACK_OBJECT_ARRAY:
        fputc('[', to);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i) fputs(", ", to);
            swmrbus_cli_json(to, &o->via.array.ptr[i]);
        }
        fputc(']', to);
        break;
    case MSGPACK_OBJECT_MAP:
        fputc('{', to);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i) fputs(", ", to);
            json_key(to, &o->via.map.ptr[i].key);
            fputs(": ", to);
            swmrbus_cli_json(to, &o->via.map.ptr[i].val);
        }
        fputc('}', to);
        break;
    default: fputs("null", to); break; /* ext */
    }
}

void swmrbus_cli_text(FILE *to, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_len(s + i, len - i);
        /* C0, DEL, C1 (U+0080..U+009F: 0xc2 0x80..0x9f) and broken UTF-8 */
        if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f)) ||
            (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)) {
            fputc('?', to);
            i += k ? k : 1;
            continue;
        }
        fwrite(s + i, 1, k, to);
        i += k;
    }
}

bool swmrbus_cli_parse_seconds(const char *s, int *ms)
{
    char *end = NULL;
    double d;

    if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]))))
        return false;
    if (strpbrk(s, "xXpPeEiInN")) return false; /* no hex, exponents, inf, nan */
    errno = 0;
    d = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !(d > 0) || d > 86400) return false;
    d *= 1000.0;
    *ms = (int)d; /* <= 86400000: fits */
    if ((double)*ms < d) (*ms)++; /* rounded up, so 0.0001 s is 1 ms, not 0 */
    if (*ms < 1) *ms = 1;
    return true;
}

bool swmrbus_cli_parse_u64(const char *s, unsigned long long *out)
{
    unsigned long long n = 0;

    if (!s || !*s || strspn(s, "0123456789") != strlen(s)) return false;
    for (const char *p = s; *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10) return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

bool swmrbus_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    }
    return false;
}

int swmrbus_cli_curve_arg(swmrbus_cli_curve *c, int argc, char **argv, int *i,
                          const char *cmd)
{
    const char *a = argv[*i];
    const char **to = strcmp(a, "--secret-key") == 0   ? &c->secret_key
                      : strcmp(a, "--server-key") == 0 ? &c->server_key
                                                       : NULL;
    if (!to) return 0;
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        fprintf(stderr, "swmrbus %s: %s takes a certificate file\n", cmd, a);
        return -1;
    }
    *to = argv[++*i];
    return 1;
}

bool swmrbus_cli_curve_apply(const swmrbus_cli_curve *c, void *sock, const char *cmd)
{
    swmrbus_cert mine, server;
    char err[512];
    bool ok = false;
    if (!c->secret_key && !c->server_key) return true;
    if (!c->secret_key || !c->server_key) {
        fprintf(stderr, "swmrbus %s: CURVE needs both --secret-key and --server-key\n", cmd);
        return false;
    }
    if (swmrbus_cert_load(c->secret_key, &mine, err, sizeof err) != SWMRBUS_OK ||
        swmrbus_cert_load(c->server_key, &server, err, sizeof err) != SWMRBUS_OK) {
        fprintf(stderr, "swmrbus %s: %s\n", cmd, err);
        goto out;
    }
    if (!mine.has_secret) {
        fprintf(stderr, "swmrbus %s: %s: no secret key (give the .key_secret file)\n", cmd,
                c->secret_key);
        goto out;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server.public_key, sizeof server.public_key) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, mine.public_key, sizeof mine.public_key) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, mine.secret_key, sizeof mine.secret_key)) {
        fprintf(stderr, "swmrbus %s: CURVE: %s\n", cmd, zmq_strerror(zmq_errno()));
        goto out;
    }
    ok = true;
out:
    memset(&mine, 0, sizeof mine); /* no secret left on the stack */
    return ok;
}
