/* bench/common.c — see common.h. */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

uint64_t bench_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool bench_set_dtype(const char *name, bench_format *f)
{
    static const struct { const char *n; size_t s; } t[] = {
        {"uint8", 1}, {"int8", 1}, {"uint16", 2}, {"int16", 2}, {"uint32", 4},
        {"int32", 4}, {"float32", 4}, {"uint64", 8}, {"int64", 8}, {"float64", 8},
    };
    size_t size = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && !size; i++)
        if (strcmp(t[i].n, name) == 0) size = t[i].s;
    if (!size) return false;
    if (name != f->dtype) snprintf(f->dtype, sizeof f->dtype, "%s", name);
    f->itemsize = size;
    f->raw_bytes = f->itemsize;
    for (int i = 0; i < f->ndim; i++) f->raw_bytes *= f->shape[i];
    return true;
}

bool bench_parse_shape(const char *s, bench_format *f)
{
    unsigned long long d[3] = {0, 0, 0};
    int n = sscanf(s, "%llux%llux%llu", &d[0], &d[1], &d[2]);
    if (n < 1) return false;
    f->ndim = n;
    for (int i = 0; i < n; i++) {
        if (d[i] == 0 || d[i] > 1u << 20) return false;
        f->shape[i] = d[i];
    }
    if (f->itemsize) bench_set_dtype(f->dtype, f);
    return true;
}

uint8_t *bench_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) != 0) goto out;
    long n = ftell(fp);
    if (n <= 0 || fseek(fp, 0, SEEK_SET) != 0) goto out;
    buf = malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) *len = (size_t)n;
out:
    fclose(fp);
    return buf;
}

uint8_t *bench_make_raw(const bench_format *f)
{
    uint8_t *p = malloc(f->raw_bytes ? f->raw_bytes : 1);
    if (!p) return NULL;
    uint64_t n = f->raw_bytes / f->itemsize;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = i;
        memcpy(p + i * f->itemsize, &v, f->itemsize); /* little-endian host */
    }
    return p;
}

/* ---- a minimal msgpack writer ------------------------------------------ */

typedef struct mp {
    uint8_t b[512];
    size_t n;
} mp;

static void mp_byte(mp *m, uint8_t c) { m->b[m->n++] = c; }

static void mp_map(mp *m, unsigned n) { mp_byte(m, (uint8_t)(0x80 | n)); }

static void mp_array(mp *m, unsigned n) { mp_byte(m, (uint8_t)(0x90 | n)); }

static void mp_str(mp *m, const char *s)
{
    size_t l = strlen(s);
    mp_byte(m, (uint8_t)(0xa0 | l)); /* fixstr: every string here is < 32 */
    memcpy(m->b + m->n, s, l);
    m->n += l;
}

/* uint64 in its fixed 9-byte form; returns the offset of the 8 value bytes. */
static size_t mp_u64_fixed(mp *m, uint64_t v)
{
    mp_byte(m, 0xcf);
    size_t at = m->n;
    for (int i = 0; i < 8; i++) mp_byte(m, (uint8_t)(v >> (56 - 8 * i)));
    return at;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* ---- the sender loop ------------------------------------------------------ */

static int send_copy(void *sock, const void *p, size_t n, int flags)
{
    return zmq_send(sock, p, n, flags) < 0 ? zmq_errno() : 0;
}

void bench_send(const bench_send_opts *o, bench_send_result *r)
{
    const bench_format *f = o->fmt;
    memset(r, 0, sizeof *r);
    mp start = {.n = 0}, frame = {.n = 0}, end = {.n = 0};

    mp_map(&start, 7);
    mp_str(&start, "type");
    mp_str(&start, "start");
    mp_str(&start, "series");
    mp_u64_fixed(&start, o->series);
    mp_str(&start, "dtype");
    mp_str(&start, f->dtype);
    mp_str(&start, "shape");
    mp_array(&start, (unsigned)f->ndim);
    for (int i = 0; i < f->ndim; i++) mp_u64_fixed(&start, f->shape[i]);
    mp_str(&start, "encoding");
    mp_str(&start, f->encoding);
    mp_str(&start, "frames");
    mp_u64_fixed(&start, o->frames);
    mp_str(&start, "name");
    mp_str(&start, "bench");

    mp_map(&frame, o->no_ts ? 3 : 4);
    mp_str(&frame, "type");
    mp_str(&frame, "frame");
    mp_str(&frame, "series");
    mp_u64_fixed(&frame, o->series);
    mp_str(&frame, "frame");
    size_t at_index = mp_u64_fixed(&frame, 0);
    size_t at_ts = 0;
    if (!o->no_ts) {
        mp_str(&frame, "ts");
        at_ts = mp_u64_fixed(&frame, 0);
    }

    mp_map(&end, 3);
    mp_str(&end, "type");
    mp_str(&end, "end");
    mp_str(&end, "series");
    mp_u64_fixed(&end, o->series);
    mp_str(&end, "frames");
    mp_u64_fixed(&end, o->frames);

    uint64_t t0 = bench_mono_ns();
    r->t_first = bench_wall_ns();
    if (o->start_end && (r->error = send_copy(o->sock, start.b, start.n, 0))) goto out;
    for (uint64_t i = 0; i < o->frames; i++) {
        if (o->stride > 1 && i % o->stride != o->offset) continue; /* one shard's frames */
        if (o->rate_hz > 0) {
            uint64_t due = t0 + (uint64_t)((double)i * 1e9 / o->rate_hz);
            struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        }
        put_be64(frame.b + at_index, i);
        if (at_ts) put_be64(frame.b + at_ts, bench_wall_ns());
        if ((r->error = send_copy(o->sock, frame.b, frame.n, ZMQ_SNDMORE))) goto out;
        zmq_msg_t m;
        zmq_msg_init_data(&m, (void *)o->payload, o->len, NULL, NULL);
        if (zmq_msg_send(&m, o->sock, 0) < 0) {
            r->error = zmq_errno();
            zmq_msg_close(&m);
            goto out;
        }
        r->frames++;
        r->bytes += o->len;
    }
    if (o->start_end) r->error = send_copy(o->sock, end.b, end.n, 0);
out:
    r->t_last = bench_wall_ns();
}

static void *inproc_sender_main(void *p)
{
    bench_inproc_sender *s = p;
    void *sock = zmq_socket(s->zctx, ZMQ_PUSH);
    int hwm = 1000, linger = -1;
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(sock, s->endpoint);
    s->o.sock = sock;
    bench_send(&s->o, &s->r);
    zmq_close(sock);
    return NULL;
}

int bench_inproc_sender_start(bench_inproc_sender *s)
{
    return pthread_create(&s->thread, NULL, inproc_sender_main, s) != 0 ? -1 : 0;
}

void bench_inproc_sender_join(bench_inproc_sender *s)
{
    pthread_join(s->thread, NULL);
}

void bench_self_usage(double *cpu_s, long *maxrss_kb)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *maxrss_kb = ru.ru_maxrss;
}
