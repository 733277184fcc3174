/* ctl.c — `swmrbus ctl ENDPOINT status|flush|close [SERIES] [--timeout S]`:
 * one control request; the reply, checked by the bounded scanner before it
 * is unpacked, printed as JSON. Exit 0 on {ok: true}, 1 on {ok: false} or a
 * malformed reply, 2 on a usage error or no reply within the timeout. */
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cli.h"
#include "swmrbus/wire.h"

#define CTL_DEFAULT_TIMEOUT_MS 5000
#define CTL_MAX_REPLY (64u << 20) /* a status of many series stays far below */

static const char ctl_usage[] =
    "usage: swmrbus ctl ENDPOINT status|flush|close [SERIES] [--timeout S]\n"
    "                   [--secret-key FILE --server-key FILE]\n";

void swmrbus_cli_ctl_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus ctl - one control request to a sink or a source\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus ctl ENDPOINT status|flush|close [SERIES] [--timeout S]\n"
            "                [--secret-key FILE --server-key FILE]\n"
            "\n"
            "DESCRIPTION\n"
            "    Sends {cmd, series?} to the component's control (REP) endpoint, e.g.\n"
            "    tcp://127.0.0.1:5557, and prints the reply as one line of JSON on stdout.\n"
            "    status: counters of every series; flush: flush now and publish\n"
            "    `flushed`; close: close the file and publish `closed`. Without SERIES,\n"
            "    flush and close act on every open series. The reply is validated (bounded\n"
            "    scan) before it is decoded.\n"
            "\n"
            "OPTIONS\n"
            "    SERIES        a series id, a decimal number\n"
            "    --timeout S   seconds to wait for the reply (5; fractions allowed)\n"
            "    --secret-key FILE   CURVE: this client's secret certificate (keygen's\n"
            "                  NAME.key_secret; its public key must be in the socket's allow)\n"
            "    --server-key FILE   CURVE: the control socket's public certificate\n"
            "    --help        this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0   the reply says ok: true\n"
            "    1   the reply says ok: false (its error text on stderr), or is malformed\n"
            "    2   usage error, or no reply within the timeout\n");
}

/* The reply's "ok" (a bool) and "error" (a string) when the map has them. */
static void reply_fields(const msgpack_object *o, int *ok, const msgpack_object **error)
{
    *ok = -1;
    *error = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) continue;
        if (k->via.str.size == 2 && !memcmp(k->via.str.ptr, "ok", 2) &&
            v->type == MSGPACK_OBJECT_BOOLEAN)
            *ok = v->via.boolean ? 1 : 0;
        else if (k->via.str.size == 5 && !memcmp(k->via.str.ptr, "error", 5) &&
                 v->type == MSGPACK_OBJECT_STR)
            *error = v;
    }
}

int swmrbus_cli_ctl(int argc, char **argv)
{
    const char *endpoint = NULL, *cmd = NULL, *series_arg = NULL;
    unsigned long long series = 0;
    int timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
    int status = 2;
    void *ctx = NULL, *req = NULL;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    zmq_msg_t rep;
    msgpack_unpacked up;
    char why[256];
    swmrbus_cli_curve curve = {0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int cv = swmrbus_cli_curve_arg(&curve, argc, argv, &i, "ctl");
        if (cv < 0) {
            fputs(ctl_usage, stderr);
            return 2;
        } else if (cv > 0) {
            continue;
        } else if (strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc || !swmrbus_cli_parse_seconds(argv[i + 1], &timeout_ms)) {
                fprintf(stderr, "swmrbus ctl: --timeout takes seconds > 0, e.g. 5 or 0.5\n%s",
                        ctl_usage);
                return 2;
            }
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "swmrbus ctl: unknown option %s\n%s", a, ctl_usage);
            return 2;
        } else if (!endpoint) {
            endpoint = a;
        } else if (!cmd) {
            cmd = a;
        } else if (!series_arg) {
            series_arg = a;
        } else {
            fprintf(stderr, "swmrbus ctl: unexpected argument %s\n%s", a, ctl_usage);
            return 2;
        }
    }
    if (!endpoint || !cmd) {
        fputs(ctl_usage, stderr);
        return 2;
    }
    if (strcmp(cmd, "status") && strcmp(cmd, "flush") && strcmp(cmd, "close")) {
        fprintf(stderr, "swmrbus ctl: unknown request %s (status, flush or close)\n%s", cmd,
                ctl_usage);
        return 2;
    }
    if (series_arg && !swmrbus_cli_parse_u64(series_arg, &series)) {
        fprintf(stderr, "swmrbus ctl: SERIES must be a decimal number, got %s\n%s", series_arg,
                ctl_usage);
        return 2;
    }

    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_init(&up);
    zmq_msg_init(&rep);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_map(&pk, series_arg ? 2 : 1) || msgpack_pack_str_with_body(&pk, "cmd", 3) ||
        msgpack_pack_str_with_body(&pk, cmd, strlen(cmd)) ||
        (series_arg && (msgpack_pack_str_with_body(&pk, "series", 6) ||
                        msgpack_pack_uint64(&pk, (uint64_t)series)))) {
        fprintf(stderr, "swmrbus ctl: out of memory\n");
        status = 1;
        goto out;
    }

    int linger = 0;
    int64_t maxmsg = CTL_MAX_REPLY;
    ctx = zmq_ctx_new();
    req = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    if (!req) {
        fprintf(stderr, "swmrbus ctl: %s\n", zmq_strerror(zmq_errno()));
        status = 1;
        goto out;
    }
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(req, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (!swmrbus_cli_curve_apply(&curve, req, "ctl")) goto out; /* 2: a usage error */
    if (zmq_connect(req, endpoint) != 0) {
        fprintf(stderr, "swmrbus ctl: %s: %s\n%s", endpoint, zmq_strerror(zmq_errno()),
                ctl_usage);
        goto out; /* 2: a malformed endpoint is a usage error */
    }
    /* REQ queues the request until the peer is there (the pipe exists from
     * connect on); the send timeout only guards that. */
    zmq_setsockopt(req, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_pollitem_t item = {req, 0, ZMQ_POLLIN, 0};
    if (zmq_send(req, sb.data, sb.size, 0) < 0 || zmq_poll(&item, 1, timeout_ms) <= 0) {
        fprintf(stderr, "swmrbus ctl: %s: no reply within %.3g s\n", endpoint,
                (double)timeout_ms / 1000.0);
        goto out;
    }
    if (zmq_msg_recv(&rep, req, 0) < 0) {
        fprintf(stderr, "swmrbus ctl: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        goto out;
    }
    status = 1; /* an answer: from here on a failure is 1 */
    if (zmq_msg_more(&rep)) {
        fprintf(stderr, "swmrbus ctl: %s: malformed reply: more than one part\n", endpoint);
        goto out;
    }
    if (swmrbus_msgpack_scan(zmq_msg_data(&rep), zmq_msg_size(&rep), CTL_MAX_REPLY,
                             SWMRBUS_MAX_DEPTH, why, sizeof why) != SWMRBUS_OK) {
        fprintf(stderr, "swmrbus ctl: %s: malformed reply: %s\n", endpoint, why);
        goto out;
    }
    if (msgpack_unpack_next(&up, zmq_msg_data(&rep), zmq_msg_size(&rep), NULL) !=
            MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, "swmrbus ctl: %s: malformed reply: not a msgpack map\n", endpoint);
        goto out;
    }
    int ok;
    const msgpack_object *error;
    reply_fields(&up.data, &ok, &error);
    swmrbus_cli_json(stdout, &up.data);
    putchar('\n');
    fflush(stdout);
    if (ok == 1) {
        status = 0;
    } else if (ok == 0) {
        fprintf(stderr, "swmrbus ctl: %s: %s: ", endpoint, cmd);
        if (error) swmrbus_cli_text(stderr, error->via.str.ptr, error->via.str.size);
        else fputs("failed (no error text)", stderr);
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "swmrbus ctl: %s: malformed reply: no boolean \"ok\"\n", endpoint);
    }
out:
    msgpack_unpacked_destroy(&up);
    zmq_msg_close(&rep);
    msgpack_sbuffer_destroy(&sb);
    if (req) zmq_close(req);
    if (ctx) zmq_ctx_term(ctx);
    return status;
}
