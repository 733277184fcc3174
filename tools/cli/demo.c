/* demo.c — `swmrbus demo`: the frame simulator feeding a sink in one
 * process over inproc://, on built-in defaults; prints progress, a summary
 * and how to read the file from Python. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "swmrbus/clock.h"
#include "swmrbus/config.h"
#include "swmrbus/log.h"
#include "swmrbus/wire.h"

typedef struct demo {
    void *sub;
    uint64_t total, frame_bytes;
    uint64_t n_notes, n_open, n_flushed, n_closed, n_error;
    uint64_t last_n;
    char file[4096];
    uint64_t t0, last_print; /* swmrbus_mono_ns() */
    bool closed;
    bool tty; /* progress on one line, rewritten */
    bool final_printed;
} demo;

static double since(uint64_t a)
{
    return (double)(swmrbus_mono_ns() - a) / 1e9;
}

/* Takes the notifications that arrived; prints a progress line. Returns
 * non-zero once the series is closed. */
static int demo_tick(void *user)
{
    demo *d = user;
    for (;;) {
        char topic[64];
        uint8_t map[4096];
        int tl = zmq_recv(d->sub, topic, sizeof topic, ZMQ_DONTWAIT);
        if (tl < 0) break;
        int ml = zmq_recv(d->sub, map, sizeof map, 0);
        if (ml < 0 || tl > (int)sizeof topic || ml > (int)sizeof map) continue;
        swmrbus_notice n;
        char why[128];
        if (swmrbus_notice_decode(topic, (size_t)tl, map, (size_t)ml, sizeof map, &n, why,
                                  sizeof why) != SWMRBUS_OK)
            continue;
        d->n_notes++;
        if (n.has_frames) d->last_n = n.frames;
        if (n.file.len && n.file.len < sizeof d->file) {
            memcpy(d->file, n.file.ptr, n.file.len);
            d->file[n.file.len] = '\0';
        }
        switch (n.topic) {
        case SWMRBUS_NOTICE_OPEN: d->n_open++; break;
        case SWMRBUS_NOTICE_FLUSHED: d->n_flushed++; break;
        case SWMRBUS_NOTICE_CLOSED: d->n_closed++; d->closed = true; break;
        case SWMRBUS_NOTICE_ERROR: d->n_error++; break;
        default: break;
        }
    }
    if (since(d->last_print) >= 0.5 || d->closed) {
        d->last_print = swmrbus_mono_ns();
        double t = since(d->t0);
        fprintf(stderr, "%sdemo: %" PRIu64 "/%" PRIu64 " frames flushed (N), %.0f MB/s, %" PRIu64
                " notifications%s",
                d->tty ? "\r" : "", d->last_n, d->total, (double)(d->last_n * d->frame_bytes) / t / 1e6, d->n_notes, d->tty ? "   " : "\n");
        if (d->closed && d->tty) fputc('\n', stderr);
    }
    return d->closed;
}

#define SEQ_MAX_BYTES (1ull << 30) /* the disk measurement writes at most this */

/* The disk's rate for what the sink just did, the way bench/seqwrite.c
 * measures it: plain sequential write(2)s, one per frame, of as many bytes as
 * the demo wrote (at most SEQ_MAX_BYTES) into a new file in dir, through the
 * page cache and without fsync (the sink's flush does not fsync either).
 * The file is removed. Returns bytes/s, or a negative value when it could
 * not write. */
static double seqwrite_rate(const char *dir, uint64_t frame_bytes, uint64_t frames)
{
    char path[4096];
    double rate = -1;
    if (frame_bytes == 0 || (size_t)snprintf(path, sizeof path, "%s/.swmrbus-demo-seqwrite",
                                             dir) >= sizeof path)
        return -1;
    uint64_t n = frames;
    if (n * frame_bytes > SEQ_MAX_BYTES) n = SEQ_MAX_BYTES / frame_bytes;
    if (n == 0) n = 1;
    uint8_t *buf = malloc((size_t)frame_bytes);
    if (!buf) return -1;
    for (size_t i = 0; i < frame_bytes; i++) buf[i] = (uint8_t)(i >> 1);
    int fd = -1;
    /* best of two passes, each into a new file */
    for (int pass = 0; pass < 2; pass++) {
        if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) goto out;
        uint64_t t0 = swmrbus_mono_ns();
        for (uint64_t f = 0; f < n; f++) {
            size_t done = 0;
            while (done < frame_bytes) {
                ssize_t w = write(fd, buf + done, (size_t)frame_bytes - done);
                if (w <= 0) goto out;
                done += (size_t)w;
            }
        }
        double t = since(t0);
        if (t > 0 && (double)(n * frame_bytes) / t > rate) rate = (double)(n * frame_bytes) / t;
        close(fd);
        fd = -1;
        unlink(path);
    }
out:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(buf);
    return rate;
}

/* `--sim-only`: the simulator alone, into a socket that drops what it
 * receives (in this thread, over inproc, zero-copy), to show what it can
 * send. Returns the exit status. */
static int sim_only(swmrbus_host *h, swmrbus_config *cfg, uint64_t frames,
                    uint64_t frame_bytes)
{
    int status = 1;
    char err[2048] = "";
    void *pull = zmq_socket(swmrbus_host_zmq_ctx(h), ZMQ_PULL);
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (!pull || zmq_bind(pull, "inproc://demo-frames") != 0) {
        fprintf(stderr, "swmrbus demo: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    int to = 200;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &to, sizeof to);
    uint64_t t0 = swmrbus_mono_ns(), got = 0, parts = 0;
    if (swmrbus_host_start(h, cfg, err, sizeof err) != SWMRBUS_OK) {
        fprintf(stderr, "swmrbus demo: %s\n", err);
        goto out;
    }
    while (got < frames && since(t0) < 600) {
        if (zmq_msg_recv(&m, pull, 0) < 0) {
            if (swmrbus_host_running(h) == 0) break;
            continue;
        }
        parts++;
        if (!zmq_msg_more(&m)) {
            got += parts == 2; /* header + payload: a frame */
            parts = 0;
        }
    }
    double t = since(t0);
    printf("\nsummary (the simulator alone, frames dropped on receipt)\n"
           "  frames            %" PRIu64 " of %" PRIu64 "\n"
           "  sim alone         %.3f GB/s, %.0f frames/s (%.2f s)\n",
           got, frames, (double)(got * frame_bytes) / t / 1e9, (double)got / t, t);
    status = got == frames ? 0 : 1;
out:
    zmq_msg_close(&m);
    if (pull) zmq_close(pull);
    return status;
}

static bool parse_shape(const char *s, swmrbus_format *f)
{
    unsigned long long a, b;
    if (sscanf(s, "%llux%llu", &a, &b) != 2 || !a || !b || a > 65536 || b > 65536) return false;
    f->ndim = 2;
    f->shape[0] = a;
    f->shape[1] = b;
    return true;
}

int swmrbus_cli_demo(int argc, char **argv)
{
    uint64_t frames = 4000;
    const char *dir = "swmrbus-demo";
    bool only_sim = false;
    swmrbus_format fmt = {SWMRBUS_DTYPE_UINT16, SWMRBUS_ENC_RAW, 2, {256, 512, 0}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            frames = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--sim-only") == 0) {
            only_sim = true;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc && parse_shape(argv[i + 1], &fmt)) {
            i++;
        } else {
            fprintf(stderr, "usage: swmrbus demo [--frames N] [--shape HxW] [--dir DIR] [--sim-only]\n");
            return 2;
        }
    }
    if (frames == 0) frames = 1;
    swmrbus_cli_signals();
    swmrbus_cli_tune_heap();
    int status = 1;
    swmrbus_config cfg = {0};
    swmrbus_component_cfg comps[2];
    memset(comps, 0, sizeof comps);
    cfg.components = comps;
    cfg.n_components = 2;
    demo d;
    memset(&d, 0, sizeof d);
    swmrbus_host *h = NULL;
    char err[2048] = "";
    if (swmrbus_component_cfg_init(&comps[0], "demo-sink", "sink") != SWMRBUS_OK ||
        swmrbus_component_cfg_init(&comps[1], "demo-detector", "sim") != SWMRBUS_OK ||
        swmrbus_socket_cfg_set(&comps[0].in, "inproc://demo-frames", SWMRBUS_PATTERN_PULL, true) ||
        swmrbus_socket_cfg_set(&comps[0].notify, "inproc://demo-notify", SWMRBUS_PATTERN_DEFAULT, true) ||
        swmrbus_socket_cfg_set(&comps[1].out, "inproc://demo-frames", SWMRBUS_PATTERN_PUSH, false)) {
        fprintf(stderr, "swmrbus demo: out of memory\n");
        goto out;
    }
    comps[0].dir = strdup(dir);
    comps[0].linger_ms = 100;
    comps[1].sim_frames = frames;
    comps[1].sim_format = fmt;
    if (!comps[0].dir || !(h = swmrbus_cli_host())) goto out;
    if (only_sim) {
        cfg.components = &comps[1];
        cfg.n_components = 1;
        status = sim_only(h, &cfg, frames, swmrbus_format_raw_bytes(&fmt));
        goto out;
    }
    /* Subscribe before anything runs: inproc connects before the bind. */
    d.sub = zmq_socket(swmrbus_host_zmq_ctx(h), ZMQ_SUB);
    int linger = 0, hwm = 0;
    zmq_setsockopt(d.sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d.sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(d.sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect(d.sub, "inproc://demo-notify");
    d.total = frames;
    d.tty = isatty(2);
    d.frame_bytes = swmrbus_format_raw_bytes(&fmt);
    printf("swmrbus demo: a simulated detector sends %" PRIu64 " frames of %" PRIu64 "x%" PRIu64
           " uint16 (%.1f MB) to a sink writing HDF5 in SWMR mode under %s/\n",
           frames, fmt.shape[0], fmt.shape[1], (double)(frames * d.frame_bytes) / 1e6, dir);
    fflush(stdout);
    d.t0 = swmrbus_mono_ns();
    d.last_print = d.t0;
    if (swmrbus_host_start(h, &cfg, err, sizeof err) != SWMRBUS_OK) {
        fprintf(stderr, "swmrbus demo: %s\n", err);
        goto out;
    }
    swmrbus_err rc = swmrbus_cli_wait(h, demo_tick, &d);
    /* The sim returned early; wait for the sink's closed notification. */
    while (!d.closed && since(d.t0) < 600 && swmrbus_host_running(h) > 0) {
        struct timespec ms = {0, 50000000L};
        nanosleep(&ms, NULL);
        demo_tick(&d);
    }
    demo_tick(&d);
    double t = since(d.t0);
    double bytes = (double)(d.last_n * d.frame_bytes);
    printf("\nsummary\n"
           "  frames on disk    %" PRIu64 " of %" PRIu64 "\n"
           "  bytes             %.1f MB\n"
           "  throughput        %.3f GB/s, %.0f frames/s (send, write, flush, close: %.2f s)\n"
           "  files             1: %s\n"
           "  notifications     %" PRIu64 " (open %" PRIu64 ", flushed %" PRIu64 ", closed %" PRIu64
           ", error %" PRIu64 ")\n",
           d.last_n, frames, bytes / 1e6, bytes / t / 1e9, (double)d.last_n / t, t, d.file,
           d.n_notes, d.n_open, d.n_flushed, d.n_closed, d.n_error);
    /* The machine's limit for the same bytes, measured now, in the same dir. */
    double disk = seqwrite_rate(dir, d.frame_bytes, d.last_n ? d.last_n : frames);
    if (disk > 0)
        printf("  disk write(2)     %.3f GB/s sequential, the same bytes into %s/ just now "
               "(the sink ran at %.0f%% of it)\n",
               disk / 1e9, dir, 100.0 * bytes / t / disk);
    printf("\nread it from Python (Debian's python3-h5py), also while a sink is still writing:\n"
           "  /usr/bin/python3 -c \"import h5py; f = h5py.File('%s', 'r', swmr=True); "
           "d = f['/entry/data/data']; d.refresh(); print(d.shape, d[0, :2, :4])\"\n",
           d.file);
    status = rc == SWMRBUS_OK && d.last_n == frames ? 0 : 1;
out:
    if (d.sub) zmq_close(d.sub);
    swmrbus_host_destroy(&h);
    swmrbus_component_cfg_clear(&comps[0]);
    swmrbus_component_cfg_clear(&comps[1]);
    return status;
}

void swmrbus_cli_demo_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus demo - a simulated detector into a sink, in one process\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus demo [--frames N] [--shape HxW] [--dir DIR] [--sim-only]\n"
            "\n"
            "DESCRIPTION\n"
            "    Runs the built-in frame simulator feeding a sink over inproc://, prints\n"
            "    progress from the sink's notifications, a summary, and how to read the\n"
            "    file it wrote from Python. Beside the sink's rate it prints the disk's\n"
            "    rate for plain sequential write(2)s of as many bytes (at most 1 GiB,\n"
            "    best of two passes) into DIR, measured right after, so you see how\n"
            "    close to the machine's limit the sink ran.\n"
            "    Stops early on SIGINT/SIGTERM.\n"
            "\n"
            "OPTIONS\n"
            "    --frames N    frames to send (4000)\n"
            "    --shape HxW   frame shape, uint16 (256x512)\n"
            "    --dir DIR     where the file goes (./swmrbus-demo, created if missing)\n"
            "    --sim-only    no sink: the simulator alone into a socket that drops\n"
            "                  the frames, to show how fast it sends\n"
            "    --help        this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0 the series was written and closed; 1 it was not; 2 usage error.\n");
}
