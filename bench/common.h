/* bench/common.h — what the benchmark's C programs share: clocks, options,
 * a tiny msgpack writer for the frame protocol's headers, the frame sender
 * loop (pre-built headers, zero-copy payloads) and the one-line JSON report
 * every program prints (the orchestrator, bench/run.py, parses it).
 *
 * These programs are outside clients of swmrbus: they use libzmq, libhdf5
 * and libc only, never libswmrbus, so they measure the machine, not us. */
#ifndef SWMRBUS_BENCH_COMMON_H
#define SWMRBUS_BENCH_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t bench_wall_ns(void);
uint64_t bench_mono_ns(void);

/* One frame's description, from --shape HxW[xD] --dtype --encoding. */
typedef struct bench_format {
    char dtype[16];       /* numpy name */
    size_t itemsize;
    char encoding[8];     /* raw | bslz4 | lz4 */
    int ndim;
    uint64_t shape[3];
    uint64_t raw_bytes;
} bench_format;

bool bench_parse_shape(const char *s, bench_format *f);
bool bench_set_dtype(const char *name, bench_format *f);

/* Reads a whole file (a pre-compressed chunk) into a fresh buffer. */
uint8_t *bench_read_file(const char *path, size_t *len);

/* A raw payload of f: pixel i holds i (as the dtype's width, truncated). */
uint8_t *bench_make_raw(const bench_format *f);

/* The sender loop: [start], frames [header, payload], [end] on sock.
 * Headers are pre-built templates whose frame index and ts are patched in
 * place; payloads go out zero-copy (zmq_msg_init_data, no free function:
 * the buffer outlives the socket). rate_hz > 0 paces on an absolute
 * schedule. */
typedef struct bench_send_opts {
    void *sock;
    const bench_format *fmt;
    const uint8_t *payload;
    size_t len;
    uint64_t frames;
    uint64_t series;
    double rate_hz;
    bool start_end;       /* send start and end messages */
    bool no_ts;           /* frame headers without "ts" */
    uint64_t stride;      /* scale-out: send only frames i % stride == offset (0: all) */
    uint64_t offset;
} bench_send_opts;

typedef struct bench_send_result {
    uint64_t t_first;     /* wall ns just before the first message */
    uint64_t t_last;      /* wall ns after the last send returned */
    uint64_t frames, bytes;
    int error;            /* zmq errno, 0 = fine */
} bench_send_result;

void bench_send(const bench_send_opts *o, bench_send_result *r);

/* The sender loop in a thread of this process, on a PUSH socket of zctx
 * connected to an inproc endpoint (connect before bind works on inproc). */
typedef struct bench_inproc_sender {
    void *zctx;
    const char *endpoint;
    bench_send_opts o;
    bench_send_result r;
    pthread_t thread;
} bench_inproc_sender;

int bench_inproc_sender_start(bench_inproc_sender *s);
void bench_inproc_sender_join(bench_inproc_sender *s);

/* CPU seconds (user + system) and peak RSS (KiB) of this process. */
void bench_self_usage(double *cpu_s, long *maxrss_kb);

#endif
