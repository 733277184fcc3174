/* metrics_http.c — the /metrics endpoint: libmicrohttpd serves what
 * swmrbus_metrics_render() writes.
 *
 * It lives in libswmrbus, not in a component: any host (the CLI's `run`, or
 * a program embedding the host) serves the whole process's registry, and no
 * component links libmicrohttpd. The listening socket is bound here (so a
 * taken port is a clear error naming errno) and handed to libmicrohttpd,
 * which runs one internal thread and closes it at stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "swmrbus/log.h"
#include "swmrbus/metrics.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct swmrbus_metrics_server {
    struct MHD_Daemon *d;
    uint16_t port;
};

typedef struct parsed {
    int family;                 /* AF_INET or AF_INET6 */
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} parsed;

static swmrbus_err bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static swmrbus_err bad(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return SWMRBUS_EINVAL;
}

/* "http://HOST:PORT[/|/metrics]" into a socket address. */
static swmrbus_err parse(const char *ep, parsed *out, char *why, size_t whylen)
{
    static const char scheme[] = "http://";
    char host[64];
    const char *h, *end, *p;
    size_t hl;

    memset(out, 0, sizeof *out);
    if (!ep || strncmp(ep, scheme, sizeof scheme - 1) != 0)
        return bad(why, whylen, "expected http://HOST:PORT");
    h = ep + sizeof scheme - 1;
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end) return bad(why, whylen, "unclosed [ in the IPv6 address");
        h++;
        hl = (size_t)(end - h);
        p = end + 1;
    } else {
        end = h + strcspn(h, ":/");
        hl = (size_t)(end - h);
        p = end;
    }
    if (hl == 0 || hl >= sizeof host) return bad(why, whylen, "expected http://HOST:PORT");
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (*p != ':') return bad(why, whylen, "a port is required (http://HOST:PORT)");
    p++;
    unsigned long port = 0;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 5) return bad(why, whylen, "expected a port 1..65535");
    for (size_t i = 0; i < digits; i++) port = port * 10 + (unsigned long)(p[i] - '0');
    if (port < 1 || port > 65535) return bad(why, whylen, "expected a port 1..65535");
    p += digits;
    if (*p && strcmp(p, "/") != 0 && strcmp(p, "/metrics") != 0)
        return bad(why, whylen, "the path is always /metrics (give none, / or /metrics)");

    if (h[-1] == '[') {
        out->family = AF_INET6;
        out->in6.sin6_family = AF_INET6;
        out->in6.sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) != 1)
            return bad(why, whylen, "not an IPv6 address: [%s]", host);
        return SWMRBUS_OK;
    }
    out->family = AF_INET;
    out->in4.sin_family = AF_INET;
    out->in4.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0) {
        out->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return SWMRBUS_OK;
    }
    if (inet_pton(AF_INET, host, &out->in4.sin_addr) != 1)
        return bad(why, whylen, "HOST must be an IPv4 address, [IPv6 address] or localhost");
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_metrics_endpoint_check(const char *endpoint, char *why, size_t whylen)
{
    parsed p;
    return parse(endpoint, &p, why, whylen);
}

/* ---- the server ------------------------------------------------------------ */

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[256];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    swmrbus_log(SWMRBUS_LOG_WARN, "metrics", "http: %s", line);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body,
                             size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    static char not_found[] = "not found: the metrics are at /metrics\n";
    static char not_allowed[] = "method not allowed: GET or HEAD /metrics\n";
    static char oom[] = "out of memory\n";
    (void)cls;
    (void)version;
    (void)upload;
    (void)state;
    if (*upload_size) *upload_size = 0; /* a body is not read */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, sizeof not_allowed - 1,
                     MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, not_found, sizeof not_found - 1,
                     MHD_RESPMEM_PERSISTENT);
    char *text = NULL;
    size_t len = 0;
    if (swmrbus_metrics_render(&text, &len) != SWMRBUS_OK)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, oom, sizeof oom - 1,
                     MHD_RESPMEM_PERSISTENT);
    return reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE);
}

swmrbus_err swmrbus_metrics_server_start(const char *endpoint, swmrbus_metrics_server **out,
                                         char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus_metrics_server *s = NULL;
    parsed p;
    char why[200];
    int fd = -1, one = 1;

    if (out) *out = NULL;
    if (!out) return SWMRBUS_EINVAL;
    if (parse(endpoint, &p, why, sizeof why) != SWMRBUS_OK) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", endpoint ? endpoint : "(null)", why);
        return SWMRBUS_EINVAL;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        rc = SWMRBUS_ENOMEM;
        if (err && errlen) snprintf(err, errlen, "out of memory");
        goto out;
    }
    fd = socket(p.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) goto sys;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (p.family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (p.family == AF_INET ? bind(fd, (struct sockaddr *)&p.in4, sizeof p.in4)
                            : bind(fd, (struct sockaddr *)&p.in6, sizeof p.in6))
        goto sys;
    if (listen(fd, 16) != 0) goto sys;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) goto sys;
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                                (p.family == AF_INET6 ? MHD_USE_IPv6 : 0),
                            0, NULL, NULL, handle, NULL,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
    if (!s->d) {
        rc = SWMRBUS_EIO;
        if (err && errlen) snprintf(err, errlen, "%s: libmicrohttpd did not start", endpoint);
        goto out;
    }
    fd = -1; /* the daemon's now: closed by MHD_stop_daemon */
    *out = s;
    s = NULL;
    goto out;
sys: {
        int e = errno;
        char ebuf[128];
        rc = SWMRBUS_EIO;
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", endpoint, strerror_r(e, ebuf, sizeof ebuf));
    }
out:
    if (fd >= 0) close(fd);
    free(s);
    return rc;
}

uint16_t swmrbus_metrics_server_port(const swmrbus_metrics_server *s)
{
    return s ? s->port : 0;
}

void swmrbus_metrics_server_destroy(swmrbus_metrics_server **s)
{
    if (!s || !*s) return;
    if ((*s)->d) MHD_stop_daemon((*s)->d);
    free(*s);
    *s = NULL;
}
