/* core.c — the sink's writer thread: series, files, flush policy, timers
 * and notifications. Everything that touches HDF5 runs here. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "names.h"
#include "sink_internal.h"
#include "swmrbus/log.h"
#include "swmrbus/loop.h"
#include "swmrbus/notify.h"
#include "writer.h"

#define MS_NS 1000000ull
#define CLOSED_IDS 1024          /* closed series ids remembered */
#define STATUS_EVERY_NS (5000 * MS_NS)
/* A series that received something this recently keeps its slot when a new
 * series finds none free (README "When a series closes,
 * and series slots"). */
#define SLOT_BUSY_NS (1000 * MS_NS)

typedef struct series {
    bool used;
    uint64_t id;
    swmrbus_format fmt;           /* the unnamed dataset's (n_ds 1, no ds_raw) */
    size_t n_ds;                  /* payloads a frame carries: 1, or start.datasets' */
    swmrbus_format *fmts;         /* n_ds formats (fmts == &fmt without datasets) */
    char *ds_raw;                 /* start.datasets as received (a restart compares) */
    size_t ds_raw_len;
    char name[SWMRBUS_NAME_MAX + 1]; /* the name the series opened with ("" = none) */
    size_t name_len;
    swmrbus__writer *w;           /* NULL once failed and closed */
    swmrbus__series_stats *st;
    swmrbus__series_state state;
    char path[PATH_MAX];
    uint64_t first_unflushed_ns;  /* receipt of the oldest unflushed frame, 0 = none */
    uint64_t linger_until_ns;     /* lingering (after end) or failed: close at */
    uint64_t last_rx_ns;
    uint64_t expected;            /* start.frames, 0 = unknown */
    bool end_known;               /* end arrived with frames: close once complete */
    uint64_t end_frames;          /* end.frames */
    uint64_t notified_frames, notified_complete;
    swmrbus__lat_pending lat;     /* receipts of frames awaiting a flush (metrics) */
} series;

/* Frames of one series accepted from a batch and written together
 * (swmrbus__writer_write_rows: one room check, one extension): a run ends
 * before anything else happens (another series' frame, a start, an end, a
 * command, a rejection from the receive thread), at the batch's end, and
 * when the flush policy's count would be reached, so that flushes and
 * notifications come exactly where frame by frame writing put them. */
#define RUN_ROWS 256
#define RUN_PARTS SWMRBUS_MAX_DATASETS
typedef struct run {
    series *s;                    /* NULL: empty */
    size_t n, n_parts;
    swmrbus__row rows[RUN_ROWS];
    const swmrbus_header *h[RUN_ROWS]; /* each frame's header (alive until the batch ends) */
    uint64_t recv_ns[RUN_ROWS];
    uint64_t len[RUN_ROWS];       /* payload bytes */
    swmrbus__part parts[RUN_PARTS];
} run;

typedef struct core {
    swmrbus__sink *sk;
    const swmrbus_component_cfg *cfg;
    const char *name;
    series *slots;
    size_t n_slots;
    uint64_t closed_ids[CLOSED_IDS];   /* a ring of the last closed ids */
    bool closed_valid[CLOSED_IDS];     /* false: forgotten (reopened) */
    size_t n_closed, closed_head;
    swmrbus_notifier *nt;
    char err[1024];
    /* progress line */
    uint64_t last_status_ns, frames_since, bytes_since, total_frames;
    uint64_t files_opened, files_closed;
    uint64_t latest_n;            /* N of the last flushed notification */
    uint64_t m_published;         /* notifications already counted in metrics */
    uint64_t now;                 /* monotonic ns: at the batch's start, and after each
                                   * run written (writes are the slow part) */
    /* Tests only (README "Memory"): env SWMRBUS_FAULT_WRITE_DELAY_US, read
     * once when the writer thread starts, sleeps that long before each frame
     * is written: a slow disk for the memory-bound test. 0 = off. */
    uint64_t fault_write_delay_us;
    run *run;                     /* accepted frames not yet written */
    zmq_msg_t *start_parts;       /* the start in hand: its array parts (README
                                   * "Start arrays"), else NULL */
    size_t n_start_parts;
} core;

/* Frees what a series allocated for its named datasets. */
static void series_free_ds(series *s)
{
    if (s->fmts && s->fmts != &s->fmt) free(s->fmts);
    free(s->ds_raw);
    s->fmts = NULL;
    s->ds_raw = NULL;
    s->ds_raw_len = 0;
    s->n_ds = 0;
}

static int keep_format(const swmrbus_dataset *d, size_t index, void *user)
{
    ((swmrbus_format *)user)[index] = d->format;
    return 0;
}

/* Takes the series' datasets from its start: the named ones, or the one
 * unnamed of h->format. False when out of memory. */
static bool series_set_ds(series *s, const swmrbus_header *h)
{
    s->fmt = h->format;
    if (h->n_datasets == 0 && h->n_channels > 1) { /* README "Channels": a part each */
        if (!(s->fmts = calloc(h->n_channels, sizeof *s->fmts))) return false;
        for (uint32_t k = 0; k < h->n_channels; k++) s->fmts[k] = h->format;
        s->n_ds = h->n_channels;
        return true;
    }
    if (h->n_datasets == 0) {
        s->n_ds = 1;
        s->fmts = &s->fmt;
        return true;
    }
    s->fmts = calloc(h->n_datasets, sizeof *s->fmts);
    s->ds_raw = malloc(h->datasets.len);
    if (!s->fmts || !s->ds_raw) {
        free(s->fmts);
        free(s->ds_raw);
        s->fmts = NULL;
        s->ds_raw = NULL;
        return false;
    }
    memcpy(s->ds_raw, h->datasets.ptr, h->datasets.len);
    s->ds_raw_len = h->datasets.len;
    s->n_ds = h->n_datasets;
    (void)swmrbus_datasets_foreach(h->datasets, keep_format, s->fmts);
    return true;
}

/* A start's datasets equal the open series'. */
static bool same_ds(const series *s, const swmrbus_header *h)
{
    if (h->n_datasets == 0)
        return s->ds_raw == NULL && swmrbus_format_equal(&s->fmt, &h->format) &&
               s->n_ds == (h->n_channels > 1 ? h->n_channels : 1);
    return s->ds_raw && h->datasets.len == s->ds_raw_len &&
           memcmp(h->datasets.ptr, s->ds_raw, s->ds_raw_len) == 0;
}

static series *find_series(core *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].used && c->slots[i].id == id) return &c->slots[i];
    return NULL;
}

static bool closed_remembered(const core *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_closed; i++)
        if (c->closed_valid[i] && c->closed_ids[i] == id) return true;
    return false;
}

static void remember_closed(core *c, uint64_t id)
{
    if (closed_remembered(c, id)) return;
    c->closed_ids[c->closed_head] = id;
    c->closed_valid[c->closed_head] = true;
    c->closed_head = (c->closed_head + 1) % CLOSED_IDS;
    if (c->n_closed < CLOSED_IDS) c->n_closed++;
}

static void forget_closed(core *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_closed; i++)
        if (c->closed_ids[i] == id) c->closed_valid[i] = false;
}

/* Counts and reports one rejection. */
static void reject(core *c, series *s, swmrbus_reason r, bool has_series, uint64_t id,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void reject(core *c, series *s, swmrbus_reason r, bool has_series, uint64_t id,
                   const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    swmrbus__stats_reject(&c->sk->stats, s ? s->st : NULL, r);
    swmrbus_notifier_error(c->nt, r, has_series, id, s ? s->path : NULL, text);
}

/* Publishes open / flushed / closed for s with the figures of fi. */
static void notify_series(core *c, const series *s, swmrbus_topic topic,
                          const swmrbus__flush_info *fi)
{
    swmrbus_notifier_series(c->nt, topic, s->id, s->path, fi->frames, fi->written,
                            fi->complete);
}

static void update_stats(core *c, series *s, const swmrbus__flush_info *fi, bool flushed)
{
    swmrbus__stats_lock(&c->sk->stats);
    s->st->state = s->state;
    if (fi) {
        s->st->frames = fi->frames;
        s->st->complete = fi->complete;
        s->st->gaps = fi->frames - fi->written;
    }
    if (flushed) {
        s->st->flushes++;
        s->st->last_flush_t = swmrbus_wall_ns();
    }
    if (s->state == SWMRBUS__CLOSED) s->st->closed_order = ++c->sk->stats.closed_counter;
    swmrbus__stats_unlock(&c->sk->stats);
}

/* The first failure of a series is final: report it, close the file once
 * (the writer shrinks the extent to the durable N), take no more frames. */
static void fail_series(core *c, series *s, swmrbus_err rc, const char *why)
{
    swmrbus_reason r = SWMRBUS_R_IO;
    reject(c, s, r, true, s->id, "series %" PRIu64 " stopped, %s: %s", s->id,
           rc == SWMRBUS_ELIMIT ? "no room left" : "write failed", why);
    swmrbus__flush_info fi = {0};
    char err[512] = "";
    swmrbus__writer_close(&s->w, &fi, err, sizeof err);
    s->state = SWMRBUS__FAILED;
    s->first_unflushed_ns = 0;
    update_stats(c, s, &fi, false);
    notify_series(c, s, SWMRBUS_NOTICE_CLOSED, &fi);
    swmrbus_log(SWMRBUS_LOG_ERROR, c->name, "series %" PRIu64 " failed; %s keeps %" PRIu64
                " notified frames", s->id, s->path, fi.frames);
}

static void flush_series(core *c, series *s)
{
    if (!s->w) return;
    swmrbus__flush_info fi;
    swmrbus_err rc = swmrbus__writer_flush(s->w, &fi, c->err, sizeof c->err);
    if (rc != SWMRBUS_OK) {
        fail_series(c, s, rc, c->err);
        return;
    }
    s->first_unflushed_ns = 0;
    bool raised = fi.frames > s->notified_frames || fi.complete > s->notified_complete;
    update_stats(c, s, &fi, true);
    swmrbus_metrics_add(c->sk->stats.m.flushes, 1);
    if (!raised) {
        swmrbus__lat_flushed(&s->lat, c->sk->stats.m.latency, swmrbus_mono_ns());
        return;
    }
    s->notified_frames = fi.frames;
    s->notified_complete = fi.complete;
    c->latest_n = fi.frames;
    notify_series(c, s, SWMRBUS_NOTICE_FLUSHED, &fi);
    swmrbus__lat_flushed(&s->lat, c->sk->stats.m.latency, swmrbus_mono_ns());
}

static void close_series(core *c, series *s, const char *why)
{
    swmrbus__flush_info fi = {0};
    if (s->w) {
        swmrbus_err rc = swmrbus__writer_close(&s->w, &fi, c->err, sizeof c->err);
        if (rc != SWMRBUS_OK)
            reject(c, s, SWMRBUS_R_IO, true, s->id, "closing %s: %s", s->path, c->err);
        s->state = SWMRBUS__CLOSED;
        update_stats(c, s, &fi, false);
        notify_series(c, s, SWMRBUS_NOTICE_CLOSED, &fi);
        if (rc == SWMRBUS_OK) swmrbus__lat_flushed(&s->lat, c->sk->stats.m.latency, swmrbus_mono_ns());
        swmrbus_log(SWMRBUS_LOG_INFO, c->name,
                    "series %" PRIu64 " closed (%s): %s, %" PRIu64 " frames, %" PRIu64
                    " written, %" PRIu64 " gaps",
                    s->id, why, s->path, fi.frames, fi.written, fi.frames - fi.written);
        if (s->expected && s->expected != fi.written)
            swmrbus_log(SWMRBUS_LOG_WARN, c->name,
                        "series %" PRIu64 ": start announced %" PRIu64 " frames, %" PRIu64
                        " written", s->id, s->expected, fi.written);
        c->files_closed++;
    } else {
        s->state = SWMRBUS__CLOSED;
        update_stats(c, s, NULL, false);
    }
    remember_closed(c, s->id);
    series_free_ds(s);
    s->used = false;
}

/* Flushes (publishing `flushed` with the final N, as the flush timer would
 * have) and closes, unless the flush failed the series (then it is closed
 * already, `closed` published). */
static void flush_and_close(core *c, series *s, const char *why)
{
    flush_series(c, s);
    if (s->state != SWMRBUS__FAILED) close_series(c, s, why);
}

/* After `end`: once every frame below end.frames has arrived, there is
 * nothing left to wait for; flush, close and publish `closed` at once. */
static void close_if_complete(core *c, series *s)
{
    if (s->state != SWMRBUS__LINGERING || !s->end_known || !s->w) return;
    if (swmrbus__writer_complete(s->w) < s->end_frames) return;
    flush_and_close(c, s, "end, every frame arrived");
}

/* Frees the slot of a failed series (its file is closed already); its
 * status entry keeps `failed` and may now be evicted like a closed one. */
static void release_failed(core *c, series *s, uint64_t for_id)
{
    swmrbus_log(SWMRBUS_LOG_WARN, c->name,
                "series %" PRIu64 " (failed) gives up its slot to series %" PRIu64, s->id,
                for_id);
    swmrbus__stats_lock(&c->sk->stats);
    s->st->closed_order = ++c->sk->stats.closed_counter;
    c->sk->stats.slots_freed_failed++;
    swmrbus__stats_unlock(&c->sk->stats);
    remember_closed(c, s->id);
    series_free_ds(s);
    s->used = false;
}

static size_t open_count(const core *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_slots; i++) n += c->slots[i].used;
    return n;
}

/* Every slot is taken and series id needs one: frees the slot of a failed
 * series, else closes the series idle longest, unless every series received
 * something in the last SLOT_BUSY_NS. */
static void make_room(core *c, uint64_t id, uint64_t now)
{
    series *victim = NULL;
    for (size_t i = 0; i < c->n_slots; i++) {
        series *s = &c->slots[i];
        if (!s->used) return;
        if (s->state == SWMRBUS__FAILED && !s->w) {
            release_failed(c, s, id);
            return;
        }
        if (!victim || s->last_rx_ns < victim->last_rx_ns) victim = s;
    }
    if (!victim || now - victim->last_rx_ns < SLOT_BUSY_NS) return;
    char why[160];
    snprintf(why, sizeof why, "idle for %" PRIu64 " ms, its slot went to series %" PRIu64,
             (uint64_t)((now - victim->last_rx_ns) / MS_NS), id);
    swmrbus__stats_lock(&c->sk->stats);
    c->sk->stats.slots_freed_idle++;
    swmrbus__stats_unlock(&c->sk->stats);
    flush_and_close(c, victim, why);
    if (victim->used) release_failed(c, victim, id); /* the flush failed it */
}

/* Scale-out (issue 12): how many of the global frames below frames belong to
 * this shard (its rows); frames itself when not sharded. */
static uint64_t shard_rows(const core *c, uint64_t frames)
{
    uint64_t n = c->cfg->shard_count, k = c->cfg->shard_index;
    if (!n) return frames;
    return frames > k ? (frames - k + n - 1) / n : 0;
}

/* Opens a series for a start (or an implicit-start frame). */
static series *open_series(core *c, const swmrbus_header *h, uint64_t now)
{
    series *s = NULL;
    if (open_count(c) >= c->n_slots) make_room(c, h->series, now);
    for (size_t i = 0; i < c->n_slots && !s; i++)
        if (!c->slots[i].used) s = &c->slots[i];
    if (!s) {
        reject(c, NULL, SWMRBUS_R_LIMIT, true, h->series,
               "series %" PRIu64 " not opened: %" PRIu64 " series are open "
               "(limits.max_open_series) and each received something in the last %llu ms",
               h->series, c->cfg->limits.max_open_series, SLOT_BUSY_NS / MS_NS);
        return NULL;
    }
    char stem[SWMRBUS_NAME_MAX + 1], file[PATH_MAX];
    if (h->name.len) {
        if (!swmrbus__name_acceptable(h->name)) {
            reject(c, NULL, SWMRBUS_R_BAD_NAME, true, h->series,
                   "series %" PRIu64 ": name refused (empty, '/', '..', control "
                   "character or too long)", h->series);
            return NULL;
        }
        swmrbus__name_sanitise(h->name, stem, sizeof stem);
    } else {
        swmrbus_str n = {c->name, strlen(c->name)};
        swmrbus__name_sanitise(n, stem, sizeof stem);
    }
    bool renamed = false;
    memset(s, 0, sizeof *s);
    if (!swmrbus__name_expand(c->cfg->file, stem, h->series, file, sizeof file) ||
        !swmrbus__name_free_path(c->sk->dir, file, s->path, sizeof s->path, &renamed)) {
        reject(c, NULL, SWMRBUS_R_BAD_NAME, true, h->series,
               "series %" PRIu64 ": no usable file name from template '%s'", h->series,
               c->cfg->file);
        return NULL;
    }
    swmrbus__writer_opts o = {0};
    o.path = s->path;
    o.format = h->format;
    o.compression = c->cfg->compression;
    o.name = h->name;
    o.frames_expected = h->type == SWMRBUS_MSG_START && h->has_frames ? shard_rows(c, h->frames) : 0;
    o.meta = h->type == SWMRBUS_MSG_START ? h->meta : (swmrbus_str){0};
    o.mode = c->cfg->file_mode;
    if (h->type == SWMRBUS_MSG_START) {
        o.datasets = h->datasets;
        o.n_datasets = h->n_datasets;
        o.statics = h->statics;
        o.times = h->times; /* per-frame times (README "Per-frame times") */
        if (h->n_channels > 1 && h->n_datasets == 0) { /* README "Channels" */
            o.channels = h->channels;
            o.n_channels = h->n_channels;
        }
    }
    swmrbus__part arr[SWMRBUS_MAX_START_ARRAYS];
    if (h->type == SWMRBUS_MSG_START && h->n_arrays && c->start_parts &&
        c->n_start_parts == h->n_arrays) { /* README "Start arrays" */
        for (size_t k = 0; k < h->n_arrays; k++)
            arr[k] = (swmrbus__part){zmq_msg_data(&c->start_parts[k]),
                                     zmq_msg_size(&c->start_parts[k])};
        o.arrays = h->arrays;
        o.array_parts = arr;
        o.n_arrays = h->n_arrays;
    }
    swmrbus_err rc = swmrbus__writer_create(&o, &s->w, c->err, sizeof c->err);
    if (rc != SWMRBUS_OK) {
        reject(c, NULL, SWMRBUS_R_IO, true, h->series, "series %" PRIu64 ": cannot create %s: %s",
               h->series, s->path, c->err);
        return NULL;
    }
    s->st = swmrbus__stats_add(&c->sk->stats, h->series, s->path);
    if (!s->st || !series_set_ds(s, h)) {
        swmrbus__writer_close(&s->w, NULL, c->err, sizeof c->err);
        reject(c, NULL, SWMRBUS_R_LIMIT, true, h->series, "series %" PRIu64 ": no memory",
               h->series);
        return NULL;
    }
    s->used = true;
    s->id = h->series;
    s->name_len = h->name.len <= SWMRBUS_NAME_MAX ? h->name.len : 0;
    memcpy(s->name, h->name.ptr ? h->name.ptr : "", s->name_len);
    s->state = SWMRBUS__OPEN;
    s->last_rx_ns = now;
    s->expected = o.frames_expected;
    forget_closed(c, h->series);
    c->files_opened++;
    swmrbus__flush_info zero = {0};
    update_stats(c, s, &zero, false);
    notify_series(c, s, SWMRBUS_NOTICE_OPEN, &zero);
    char shape[64];
    int k = 0;
    for (uint32_t i = 0; i < h->format.ndim; i++)
        k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%" PRIu64, i ? "x" : "",
                      h->format.shape[i]);
    if (h->n_datasets)
        swmrbus_log(SWMRBUS_LOG_INFO, c->name, "series %" PRIu64 " opened: %s (%u datasets)%s",
                    h->series, s->path, h->n_datasets,
                    renamed ? " — the name was taken, a suffix was added" : "");
    else
        swmrbus_log(SWMRBUS_LOG_INFO, c->name, "series %" PRIu64 " opened: %s (%s %s %s)%s",
                    h->series, s->path, shape, swmrbus_dtype_name(h->format.dtype),
                    swmrbus_encoding_name(h->format.encoding),
                    renamed ? " — the name was taken, a suffix was added" : "");
    return s;
}

static bool same_name(const series *s, swmrbus_str name)
{
    return name.len == s->name_len && memcmp(name.ptr, s->name, name.len) == 0;
}

static void on_start(core *c, const swmrbus_header *h, uint64_t now)
{
    series *s = find_series(c, h->series);
    if (s && s->state == SWMRBUS__LINGERING) {
        /* The run ended; this start begins a new one in a new file. */
        close_series(c, s, "a new start after end");
        s = NULL;
    }
    if (!s) {
        open_series(c, h, now);
        return;
    }
    if (!same_ds(s, h) || !same_name(s, h->name)) {
        reject(c, s, SWMRBUS_R_MISMATCH, true, h->series,
               "start for open series %" PRIu64 " with other dtype/shape/encoding", h->series);
        return;
    }
    s->last_rx_ns = now;
    swmrbus__stats_lock(&c->sk->stats);
    s->st->restarts++;
    swmrbus__stats_unlock(&c->sk->stats);
}

/* Writes the run: the rows, then per row what writing it frame by frame
 * did (counters, latency, the flush policy), with one stats lock. A failed
 * write fails the series at that frame; the run's later frames are then
 * dropped as frames for a failed series are. */
static void run_flush(core *c, uint64_t now)
{
    run *r = c->run;
    series *s = r->s;
    if (!s) return;
    size_t n = r->n, done = 0;
    r->s = NULL;
    r->n = r->n_parts = 0;
    if (c->fault_write_delay_us) {
        uint64_t us = c->fault_write_delay_us * n;
        struct timespec d = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
        nanosleep(&d, NULL);
    }
    /* Room for the run's per-frame times first: once a row is written,
     * keeping its times must not fail (it would be in the file, counted
     * rejected). */
    size_t timed = 0;
    for (size_t i = 0; i < n; i++) timed += r->h[i]->has_frame_times;
    swmrbus_err rc = swmrbus__writer_times_reserve(s->w, timed, c->err, sizeof c->err);
    if (rc == SWMRBUS_OK)
        rc = swmrbus__writer_write_rows(s->w, r->rows, n, &done, c->err, sizeof c->err);
    for (size_t i = 0; i < done && rc == SWMRBUS_OK; i++) {
        if (r->rows[i].dup || !r->h[i]->has_frame_times) continue;
        rc = swmrbus__writer_times(s->w, r->rows[i].index, r->h[i]->frame_times, c->err,
                                   sizeof c->err);
        if (rc != SWMRBUS_OK) done = i; /* counted as received, not written */
    }
    uint64_t written = 0, dups = 0, bytes = 0;
    for (size_t i = 0; i < done; i++) {
        if (r->rows[i].dup) {
            dups++;
            continue;
        }
        written++;
        bytes += r->len[i];
        swmrbus__lat_add(&s->lat, r->recv_ns[i] ? r->recv_ns[i] : now);
    }
    uint64_t received = done + (rc != SWMRBUS_OK);
    swmrbus__stats_lock(&c->sk->stats);
    s->st->received += received;
    s->st->duplicates += dups;
    s->st->written += written;
    s->st->bytes += bytes;
    swmrbus__stats_unlock(&c->sk->stats);
    swmrbus_metrics_add(c->sk->stats.m.received, received);
    if (dups) swmrbus_metrics_add(c->sk->stats.m.duplicates, dups);
    if (written) {
        swmrbus_metrics_add(c->sk->stats.m.written, written);
        swmrbus_metrics_add(c->sk->stats.m.bytes, bytes);
        c->frames_since += written;
        c->total_frames += written;
        c->bytes_since += bytes;
        if (!s->first_unflushed_ns) s->first_unflushed_ns = now;
    }
    c->now = swmrbus_mono_ns();
    if (rc != SWMRBUS_OK) {
        fail_series(c, s, rc, c->err);
        for (size_t i = done + 1; i < n; i++)
            reject(c, s, SWMRBUS_R_IO, true, s->id,
                   "frame %" PRIu64 " dropped: series %" PRIu64 " has failed", r->h[i]->frame,
                   s->id);
        return;
    }
    if (swmrbus__writer_unflushed(s->w) >= c->cfg->flush_frames) flush_series(c, s);
    close_if_complete(c, s);
    c->now = swmrbus_mono_ns();
}

static void on_frame(core *c, const swmrbus_header *h, zmq_msg_t *payload, size_t n_payloads,
                     uint64_t recv_ns, uint64_t now)
{
    series *s = find_series(c, h->series);
    uint64_t row = h->frame; /* scale-out (issue 12): frame f at row f / count */
    run *r = c->run;
    if (r->s && r->s != s) run_flush(c, now); /* frames of another series: in order */
    if (c->cfg->shard_count) {
        if (h->frame % c->cfg->shard_count != c->cfg->shard_index) {
            reject(c, s, SWMRBUS_R_MISMATCH, true, h->series,
                   "frame %" PRIu64 " is not for shard %" PRIu64 " of %" PRIu64, h->frame,
                   c->cfg->shard_index, c->cfg->shard_count);
            return;
        }
        row = h->frame / c->cfg->shard_count;
    }
    if (!s) {
        if (closed_remembered(c, h->series)) {
            reject(c, NULL, SWMRBUS_R_CLOSED_SERIES, true, h->series,
                   "frame %" PRIu64 " for closed series %" PRIu64 " (send a start to reopen it)",
                   h->frame, h->series);
            return;
        }
        if (!h->has_format) {
            reject(c, NULL, SWMRBUS_R_BAD_HEADER, true, h->series,
                   "frame %" PRIu64 " for series %" PRIu64
                   " which is not open, without dtype/shape/encoding",
                   h->frame, h->series);
            return;
        }
        if (!(s = open_series(c, h, now))) return;
    }
    s->last_rx_ns = now;
    if (s->state == SWMRBUS__FAILED) {
        reject(c, s, SWMRBUS_R_IO, true, h->series,
               "frame %" PRIu64 " dropped: series %" PRIu64 " has failed", h->frame, h->series);
        return;
    }
    if ((h->has_format && (s->ds_raw || !swmrbus_format_equal(&s->fmt, &h->format))) ||
        (h->name.len && !same_name(s, h->name))) {
        reject(c, s, SWMRBUS_R_MISMATCH, true, h->series,
               "frame %" PRIu64 ": dtype/shape/encoding/name differ from series %" PRIu64,
               h->frame, h->series);
        return;
    }
    char why[240];
    if (n_payloads != s->n_ds) {
        reject(c, s, SWMRBUS_R_BAD_PAYLOAD, true, h->series,
               "frame %" PRIu64 ": %zu payloads, series %" PRIu64 " has %zu datasets", h->frame,
               n_payloads, h->series, s->n_ds);
        return;
    }
    for (size_t k = 0; k < n_payloads; k++) {
        if (swmrbus_payload_check(&s->fmts[k], zmq_msg_data(&payload[k]),
                                  zmq_msg_size(&payload[k]), why, sizeof why) != SWMRBUS_OK) {
            reject(c, s, SWMRBUS_R_BAD_PAYLOAD, true, h->series,
                   "frame %" PRIu64 ", dataset %zu: %s", h->frame, k, why);
            return;
        }
    }
    /* Accepted: into the run (which ends first when it has no room; a
     * failed write there fails the series: the frame goes as any frame of
     * a failed series). */
    if (r->n == RUN_ROWS || r->n_parts + n_payloads > RUN_PARTS) {
        run_flush(c, now);
        if (!s->used || s->state == SWMRBUS__FAILED || !s->w) {
            reject(c, s->used ? s : NULL, SWMRBUS_R_IO, true, h->series,
                   "frame %" PRIu64 " dropped: series %" PRIu64 " has failed", h->frame,
                   h->series);
            return;
        }
    }
    size_t i = r->n++;
    r->s = s;
    r->h[i] = h;
    r->recv_ns[i] = recv_ns;
    r->len[i] = 0;
    r->rows[i] = (swmrbus__row){.index = row, .parts = &r->parts[r->n_parts],
                                .ts = h->has_ts ? h->ts : 0};
    for (size_t k = 0; k < n_payloads; k++) {
        size_t pl = zmq_msg_size(&payload[k]);
        r->parts[r->n_parts++] = (swmrbus__part){zmq_msg_data(&payload[k]), pl};
        r->len[i] += pl;
    }
    /* Written now when the flush policy's count is reached, and after an
     * end (each straggler may complete the series). */
    if (s->state != SWMRBUS__OPEN ||
        swmrbus__writer_unflushed(s->w) + r->n >= c->cfg->flush_frames)
        run_flush(c, now);
}

static void on_end(core *c, const swmrbus_header *h, uint64_t now)
{
    series *s = find_series(c, h->series);
    if (!s) {
        bool closed = closed_remembered(c, h->series);
        reject(c, NULL, closed ? SWMRBUS_R_CLOSED_SERIES : SWMRBUS_R_BAD_HEADER, true,
               h->series, "end for series %" PRIu64 " which is %s", h->series,
               closed ? "closed" : "not open");
        return;
    }
    s->last_rx_ns = now;
    if (s->state == SWMRBUS__OPEN) s->state = SWMRBUS__LINGERING;
    s->linger_until_ns = now + c->cfg->linger_ms * MS_NS;
    if (h->has_frames && s->expected && shard_rows(c, h->frames) != s->expected)
        swmrbus_log(SWMRBUS_LOG_WARN, c->name,
                    "series %" PRIu64 ": end says %" PRIu64 " frames sent, start announced %" PRIu64,
                    h->series, h->frames, s->expected);
    if (h->has_frames) {
        s->expected = shard_rows(c, h->frames); /* issue 12: this shard's rows */
        s->end_known = true;
        s->end_frames = s->expected;
    }
    if (s->st) update_stats(c, s, NULL, false);
    close_if_complete(c, s);
}

static swmrbus__ack on_cmd(core *c, const swmrbus_request *rq)
{
    swmrbus__ack ack = {.ok = true};
    series *one = NULL;
    if (rq->has_series && !(one = find_series(c, rq->series))) {
        ack.ok = false;
        snprintf(ack.error, sizeof ack.error, "series %" PRIu64 " is not open", rq->series);
        return ack;
    }
    for (size_t i = 0; i < c->n_slots; i++) {
        series *s = &c->slots[i];
        if (!s->used || (one && s != one)) continue;
        if (rq->cmd == SWMRBUS_CMD_FLUSH)
            flush_series(c, s);
        else if (rq->cmd == SWMRBUS_CMD_CLOSE)
            close_series(c, s, "close command");
    }
    return ack;
}

static void close_all(core *c, const char *why)
{
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].used) close_series(c, &c->slots[i], why);
}

/* Gauges and counters the writer keeps elsewhere, into the metrics. */
static void sync_metrics(core *c)
{
    uint64_t published = swmrbus_notifier_published(c->nt);
    swmrbus_metrics_set(c->sk->stats.m.open, (int64_t)open_count(c));
    swmrbus_metrics_add(c->sk->stats.m.notifications, published - c->m_published);
    c->m_published = published;
}

/* Runs the timers (the writer loop's work handler); returns the monotonic
 * ns when the next one is due. */
static uint64_t timers(swmrbus_loop *loop, uint64_t now, void *user)
{
    core *c = user;
    (void)loop;
    sync_metrics(c);
    uint64_t next = swmrbus_notifier_tick(c->nt, now);
    for (size_t i = 0; i < c->n_slots; i++) {
        series *s = &c->slots[i];
        if (!s->used) continue;
        if (s->first_unflushed_ns) {
            uint64_t due = s->first_unflushed_ns + c->cfg->flush_ms * MS_NS;
            if (now >= due)
                flush_series(c, s);
            else if (due - now < next)
                next = due - now;
        }
        if (s->state == SWMRBUS__LINGERING || (s->state == SWMRBUS__FAILED && s->linger_until_ns)) {
            if (now >= s->linger_until_ns) {
                close_series(c, s, "end");
                continue;
            }
            if (s->linger_until_ns - now < next) next = s->linger_until_ns - now;
        }
        if (c->cfg->idle_close_ms) {
            uint64_t due = s->last_rx_ns + c->cfg->idle_close_ms * MS_NS;
            if (now >= due) {
                close_series(c, s, "idle");
                continue;
            }
            if (due - now < next) next = due - now;
        }
    }
    if (now - c->last_status_ns >= STATUS_EVERY_NS) {
        if (c->frames_since) {
            double dt = (double)(now - c->last_status_ns) / 1e9;
            uint64_t rej = 0;
            swmrbus__stats_lock(&c->sk->stats);
            for (int r = 0; r < SWMRBUS_R_COUNT; r++) rej += c->sk->stats.rejected[r];
            swmrbus__stats_unlock(&c->sk->stats);
            swmrbus_log(SWMRBUS_LOG_INFO, c->name,
                        "%.0f frames/s, %.1f MB/s, latest N %" PRIu64 ", %zu open, %" PRIu64
                        " rejected",
                        (double)c->frames_since / dt, (double)c->bytes_since / dt / 1e6, c->latest_n,
                        open_count(c), rej);
        }
        c->frames_since = c->bytes_since = 0;
        c->last_status_ns = now;
    }
    if (next > STATUS_EVERY_NS) next = STATUS_EVERY_NS;
    return now + next;
}

/* Takes one item of a batch (its parts are closed with the batch). */
static void handle_entry(core *c, swmrbus_loop *loop, swmrbus__entry *e, zmq_msg_t *parts)
{
    swmrbus__sink *sk = c->sk;
    swmrbus__item *it = &e->it;
    size_t n = e->n;
    bool frame = it->kind == SWMRBUS__ITEM_MSG && it->h.type == SWMRBUS_MSG_FRAME;
    if (!frame) {
        run_flush(c, c->now); /* everything else happens after the frames before it */
        /* a fresh clock: a file created or closed before may have taken
         * long (an end's linger starts now, not at the batch's start) */
        c->now = swmrbus_mono_ns();
    }
    uint64_t now = c->now;
    switch (it->kind) {
    case SWMRBUS__ITEM_MSG: {
        if (n < 1) break;
        /* Re-point the header's slices at where the bytes are now. */
        const char *base = zmq_msg_data(&parts[0]);
        swmrbus_str *sl[] = {&it->h.name, &it->h.meta, &it->h.origin_sink, &it->h.origin_file,
                             &it->h.arrays, &it->h.channels, &it->h.datasets, &it->h.statics};
        for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++)
            if (sl[i]->ptr) sl[i]->ptr = base + (sl[i]->ptr - it->hdr_base);
        if (it->h.type == SWMRBUS_MSG_START) {
            c->start_parts = n > 1 ? &parts[1] : NULL;
            c->n_start_parts = n > 1 ? n - 1 : 0;
            on_start(c, &it->h, now);
            c->start_parts = NULL;
            c->n_start_parts = 0;
        } else if (it->h.type == SWMRBUS_MSG_END) {
            on_end(c, &it->h, now);
        } else if (n >= 2) {
            on_frame(c, &it->h, &parts[1], n - 1, it->recv_ns, now);
        }
        break;
    }
    case SWMRBUS__ITEM_REJECT: {
        const char *why = n >= 1 ? zmq_msg_data(&parts[0]) : "";
        if (n >= 1 && (zmq_msg_size(&parts[0]) == 0 || why[zmq_msg_size(&parts[0]) - 1]))
            why = "";
        reject(c, it->has_series ? find_series(c, it->series) : NULL, it->reason,
               it->has_series, it->series, "%s", why);
        break;
    }
    case SWMRBUS__ITEM_CMD: {
        swmrbus__ack ack = on_cmd(c, &it->req);
        zmq_send(sk->pair_wx, &ack, sizeof ack, 0);
        break;
    }
    case SWMRBUS__ITEM_STOP:
        swmrbus_loop_end(loop);
        break;
    }
}

/* Takes one batch from the hand-off; false when none is waiting. Every
 * item in order; frames of a series are written together (run_flush). */
static size_t handle_batch(core *c, swmrbus_loop *loop)
{
    swmrbus__sink *sk = c->sk;
    swmrbus__batch *b = NULL;
    if (zmq_recv(sk->pair_wx, &b, sizeof b, ZMQ_DONTWAIT) != (int)sizeof b || !b) return 0;
    size_t items = b->n ? b->n : 1;
    c->now = swmrbus_mono_ns();
    for (size_t k = 0; k < b->n; k++) handle_entry(c, loop, &b->e[k], &b->parts[b->e[k].first]);
    run_flush(c, c->now);
    for (size_t i = 0; i < b->n_parts; i++) zmq_msg_close(&b->parts[i]);
    atomic_fetch_sub(&sk->queue_bytes, b->queued);
    swmrbus_metrics_sub(sk->stats.m.queue, b->queued);
    swmrbus__batch_release(sk, b);
    return items;
}

/* The hand-off has batches: take them until ITEMS_PER_WAKE items or
 * WAKE_NS have gone, then let the timers run (flush.ms, linger): a slow
 * disk must not hold a due flush back behind many batches. */
#define ITEMS_PER_WAKE 256
#define WAKE_NS (5 * MS_NS)
static int on_items(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    (void)socket;
    (void)revents;
    uint64_t t0 = swmrbus_mono_ns();
    size_t items = 0, k;
    while ((k = handle_batch(user, loop)) > 0) {
        items += k;
        if (items >= ITEMS_PER_WAKE || swmrbus_mono_ns() - t0 >= WAKE_NS) break;
    }
    return 0;
}

void *swmrbus__core_main(void *arg)
{
    swmrbus__sink *sk = arg;
    core c = {0};
    c.sk = sk;
    c.cfg = sk->cfg;
    c.name = sk->name;
    c.nt = sk->nt;
    c.n_slots = (size_t)sk->cfg->limits.max_open_series;
    c.slots = calloc(c.n_slots, sizeof *c.slots);
    c.run = calloc(1, sizeof *c.run);
    c.last_status_ns = swmrbus_mono_ns();
    const char *delay = getenv("SWMRBUS_FAULT_WRITE_DELAY_US");
    if (delay && *delay) {
        char *end = NULL;
        unsigned long long v = strtoull(delay, &end, 10);
        if (end && !*end && v <= 10000000ull) {
            c.fault_write_delay_us = v;
            swmrbus_log(SWMRBUS_LOG_WARN, c.name,
                        "fault injection: each frame write is delayed by %llu us "
                        "(SWMRBUS_FAULT_WRITE_DELAY_US; tests only)", v);
        }
    }
    if (!c.slots || !c.run) {
        swmrbus_log(SWMRBUS_LOG_ERROR, c.name, "out of memory for the series table");
        c.n_slots = 0;
    }
    /* The writer's loop ends at the STOP item the receive thread sends
     * last (it has no stop handler of its own: stop() reaches the receive
     * thread's loop). */
    if (c.run &&
        swmrbus_loop_add(sk->writer_loop, sk->pair_wx, ZMQ_POLLIN, on_items, &c) ==
            SWMRBUS_OK) {
        swmrbus_loop_set_work(sk->writer_loop, timers, &c);
        swmrbus_loop_run(sk->writer_loop);
    }
    close_all(&c, "shutdown");
    sync_metrics(&c);
    swmrbus_log(SWMRBUS_LOG_INFO, c.name,
                "writer done: %" PRIu64 " frames written, %" PRIu64 " files, %" PRIu64
                " notifications",
                c.total_frames, c.files_opened, swmrbus_notifier_published(c.nt));
    free(c.slots);
    /* Batches after STOP (none, unless the loop could not run): freed. */
    swmrbus__batch *b = NULL;
    while (zmq_recv(sk->pair_wx, &b, sizeof b, ZMQ_DONTWAIT) == (int)sizeof b && b) {
        for (size_t i = 0; i < b->n_parts; i++) zmq_msg_close(&b->parts[i]);
        atomic_fetch_sub(&sk->queue_bytes, b->queued);
        swmrbus_metrics_sub(sk->stats.m.queue, b->queued);
        swmrbus__batch_release(sk, b);
    }
    free(c.run);
    return NULL;
}
