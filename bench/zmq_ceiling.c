/* bench/zmq_ceiling.c — the transport ceiling: a PULL socket that only
 * receives two-part messages and drops them.
 *
 *   bench_zmq_ceiling --endpoint EP --frames N [--hwm N]
 *       binds EP (tcp:// or ipc://), prints "ready", receives N frames (the
 *       sender is bench_sender, another process), prints its JSON line.
 *   bench_zmq_ceiling --inproc --shape HxW [--dtype T] --frames N
 *                     [--payload FILE --encoding E]
 *       the same with the sender loop in a second thread of this process
 *       over inproc:// (zero-copy end to end).
 *
 * JSON: {"t_first": wall ns of the first send (inproc only, else 0),
 *        "t_first_recv", "t_done": wall ns after the N-th frame, "frames",
 *        "bytes", "cpu_s", "maxrss_kb"} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common.h"

int main(int argc, char **argv)
{
    const char *ep = NULL, *payload_path = NULL;
    bench_format fmt;
    memset(&fmt, 0, sizeof fmt);
    snprintf(fmt.encoding, sizeof fmt.encoding, "raw");
    bench_set_dtype("uint16", &fmt);
    uint64_t frames = 1000;
    int inproc = 0, hwm = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--inproc")) inproc = 1;
        else if (!v) goto usage;
        else if (!strcmp(a, "--endpoint")) ep = argv[++i];
        else if (!strcmp(a, "--shape")) { if (!bench_parse_shape(argv[++i], &fmt)) goto usage; }
        else if (!strcmp(a, "--dtype")) { if (!bench_set_dtype(argv[++i], &fmt)) goto usage; }
        else if (!strcmp(a, "--encoding")) snprintf(fmt.encoding, sizeof fmt.encoding, "%s", argv[++i]);
        else if (!strcmp(a, "--payload")) payload_path = argv[++i];
        else if (!strcmp(a, "--frames")) frames = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--hwm")) hwm = atoi(argv[++i]);
        else goto usage;
    }
    if (inproc ? !fmt.ndim : !ep) goto usage;

    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    int linger = 0;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(pull, inproc ? "inproc://bench-ceiling" : ep) != 0) {
        fprintf(stderr, "bench_zmq_ceiling: bind %s: %s\n", inproc ? "inproc" : ep,
                zmq_strerror(zmq_errno()));
        return 1;
    }
    bench_inproc_sender sa;
    memset(&sa, 0, sizeof sa);
    uint8_t *payload = NULL;
    if (inproc) {
        size_t len;
        if (payload_path) {
            payload = bench_read_file(payload_path, &len);
        } else {
            payload = bench_make_raw(&fmt);
            len = (size_t)fmt.raw_bytes;
        }
        if (!payload) {
            fprintf(stderr, "bench_zmq_ceiling: no payload\n");
            return 1;
        }
        sa.zctx = ctx;
        sa.endpoint = "inproc://bench-ceiling";
        sa.o = (bench_send_opts){NULL, &fmt, payload, len, frames, 1, 0, true, false, 0, 0};
        if (bench_inproc_sender_start(&sa) != 0) return 1;
    } else {
        printf("ready\n");
        fflush(stdout);
    }
    uint64_t got = 0, bytes = 0, t_first_recv = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (got < frames) {
        if (zmq_msg_recv(&m, pull, 0) < 0) {
            fprintf(stderr, "bench_zmq_ceiling: recv: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
        if (!t_first_recv) t_first_recv = bench_wall_ns();
        if (!zmq_msg_more(&m)) continue; /* start or end */
        zmq_msg_recv(&m, pull, 0);
        bytes += zmq_msg_size(&m);
        got++;
        while (zmq_msg_more(&m)) zmq_msg_recv(&m, pull, 0);
    }
    uint64_t t_done = bench_wall_ns();
    zmq_msg_close(&m);
    if (inproc) {
        /* the end message */
        zmq_msg_init(&m);
        zmq_msg_recv(&m, pull, 0);
        zmq_msg_close(&m);
        bench_inproc_sender_join(&sa);
    }
    double cpu;
    long rss;
    bench_self_usage(&cpu, &rss);
    printf("{\"t_first\": %llu, \"t_first_recv\": %llu, \"t_done\": %llu, \"frames\": %llu, "
           "\"bytes\": %llu, \"cpu_s\": %.4f, \"maxrss_kb\": %ld}\n",
           (unsigned long long)sa.r.t_first, (unsigned long long)t_first_recv,
           (unsigned long long)t_done, (unsigned long long)got, (unsigned long long)bytes, cpu,
           rss);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    free(payload);
    return 0;
usage:
    fprintf(stderr, "usage: bench_zmq_ceiling --endpoint EP --frames N\n"
                    "       bench_zmq_ceiling --inproc --shape HxW [--dtype T] --frames N "
                    "[--payload FILE --encoding E]\n");
    return 2;
}
