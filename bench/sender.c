/* bench/sender.c — a detector stand-in that pushes pre-built frames as fast
 * as it can (or at --rate HZ) over tcp:// or ipc://:
 *
 *   bench_sender --endpoint EP --shape HxW [--dtype uint16] --frames N
 *                [--payload FILE --encoding bslz4] [--rate HZ] [--series S]
 *                [--bind] [--hwm N] [--no-start-end] [--no-ts] [--wait-peer-ms MS]
 *                [--stride S --offset K]   (only frames f % S == K: one shard's)
 *
 * It waits until a peer is connected (ZMQ_IMMEDIATE + POLLOUT), so the
 * first-send time is not a connection set-up time, sends, waits for the
 * queue to drain (linger), and prints one JSON line:
 *   {"t_first": wall ns, "t_last": wall ns, "frames": n, "bytes": b,
 *    "cpu_s": s, "maxrss_kb": k}
 * Payloads go out zero-copy from one buffer; headers are patched templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common.h"

static void usage(void)
{
    fprintf(stderr, "usage: bench_sender --endpoint EP --shape HxW [--dtype uint16] --frames N\n"
                    "       [--payload FILE --encoding bslz4|lz4] [--rate HZ] [--series S]\n"
                    "       [--bind] [--hwm N] [--no-start-end] [--no-ts] [--wait-peer-ms MS]\n");
}

int main(int argc, char **argv)
{
    const char *ep = NULL, *payload_path = NULL;
    bench_format fmt;
    memset(&fmt, 0, sizeof fmt);
    snprintf(fmt.encoding, sizeof fmt.encoding, "raw");
    bench_set_dtype("uint16", &fmt);
    uint64_t frames = 1000, series = 1, stride = 0, offset = 0;
    double rate = 0;
    int bind = 0, hwm = 1000, start_end = 1, wait_ms = 10000, no_ts = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--bind")) bind = 1;
        else if (!strcmp(a, "--no-start-end")) start_end = 0;
        else if (!strcmp(a, "--no-ts")) no_ts = 1;
        else if (!v) { usage(); return 2; }
        else if (!strcmp(a, "--endpoint")) ep = argv[++i];
        else if (!strcmp(a, "--shape")) { if (!bench_parse_shape(argv[++i], &fmt)) { usage(); return 2; } }
        else if (!strcmp(a, "--dtype")) { if (!bench_set_dtype(argv[++i], &fmt)) { usage(); return 2; } }
        else if (!strcmp(a, "--encoding")) snprintf(fmt.encoding, sizeof fmt.encoding, "%s", argv[++i]);
        else if (!strcmp(a, "--payload")) payload_path = argv[++i];
        else if (!strcmp(a, "--frames")) frames = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--series")) series = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--rate")) rate = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--hwm")) hwm = atoi(argv[++i]);
        else if (!strcmp(a, "--wait-peer-ms")) wait_ms = atoi(argv[++i]);
        else if (!strcmp(a, "--stride")) stride = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--offset")) offset = strtoull(argv[++i], NULL, 10);
        else { usage(); return 2; }
    }
    if (!ep || !fmt.ndim) {
        usage();
        return 2;
    }
    uint8_t *payload;
    size_t len;
    if (payload_path) {
        payload = bench_read_file(payload_path, &len);
        if (!payload) {
            fprintf(stderr, "bench_sender: cannot read %s\n", payload_path);
            return 1;
        }
    } else {
        payload = bench_make_raw(&fmt);
        len = (size_t)fmt.raw_bytes;
    }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int one = 1, linger = -1, ivl = 10;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    if ((bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0) {
        fprintf(stderr, "bench_sender: %s %s: %s\n", bind ? "bind" : "connect", ep,
                zmq_strerror(zmq_errno()));
        return 1;
    }
    zmq_pollitem_t pi = {s, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&pi, 1, wait_ms) != 1) {
        fprintf(stderr, "bench_sender: no peer on %s after %d ms\n", ep, wait_ms);
        return 1;
    }
    bench_send_opts o = {s, &fmt, payload, len, frames, series, rate, start_end != 0,
                         no_ts != 0, stride, offset};
    bench_send_result r;
    bench_send(&o, &r);
    if (r.error) fprintf(stderr, "bench_sender: send: %s\n", zmq_strerror(r.error));
    zmq_close(s);      /* linger -1: everything queued is delivered first */
    zmq_ctx_term(ctx);
    double cpu;
    long rss;
    bench_self_usage(&cpu, &rss);
    printf("{\"t_first\": %llu, \"t_last\": %llu, \"t_drained\": %llu, \"frames\": %llu, "
           "\"bytes\": %llu, \"cpu_s\": %.4f, \"maxrss_kb\": %ld}\n",
           (unsigned long long)r.t_first, (unsigned long long)r.t_last,
           (unsigned long long)bench_wall_ns(), (unsigned long long)r.frames,
           (unsigned long long)r.bytes, cpu, rss);
    free(payload);
    return r.error ? 1 : 0;
}
