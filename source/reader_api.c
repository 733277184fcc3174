/* source/reader_api.c — swmrbus_reader: notifications in, SWMR reads of the
 * rows they declare readable, for downstream programs (see swmrbus/source.h).
 * It keeps the figures of the last 64 series heard of and at most 8 files
 * open; memory does not grow with the run. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "dirs.h"
#include "sfile.h"
#include "swmrbus/clock.h"
#include "swmrbus/source.h"

#define READER_SERIES 64
#define READER_FILES 8
#define READER_PUBS 16
#define READER_DIRS 16

typedef struct rseries {
    bool used;
    char file[SWMRBUS_READER_PATH_MAX];
    char sink[SWMRBUS_NAME_MAX + 1];
    bool has_series, notified, closed;
    uint64_t series, frames, complete;
    uint64_t seen;            /* reader clock at the last notification or use */
    swmrbus__sfile *f;
} rseries;

typedef struct rpub {
    bool used;
    char name[SWMRBUS_NAME_MAX + 1];
    uint64_t last, seen;
} rpub;

struct swmrbus_reader {
    void *ctx;
    bool own_ctx;
    void *sub;
    swmrbus_limits lim;
    uint64_t clock;
    uint64_t rejected;
    char *dirs[READER_DIRS]; /* canonical; none: any file */
    size_t n_dirs;
    rseries s[READER_SERIES];
    rpub pubs[READER_PUBS];
};

static uint64_t mono_ms(void)
{
    return swmrbus_mono_ns() / 1000000u;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

swmrbus_err swmrbus_reader_create(void *zmq_ctx, const char *endpoint, swmrbus_reader **out,
                                  char *err, size_t errlen)
{
    if (!endpoint || !out) {
        set_err(err, errlen, "%s", "reader: missing argument");
        return SWMRBUS_EINVAL;
    }
    *out = NULL;
    swmrbus_reader *r = calloc(1, sizeof *r);
    if (!r) return SWMRBUS_ENOMEM;
    swmrbus_limits_default(&r->lim);
    r->ctx = zmq_ctx;
    if (!r->ctx) {
        if (!(r->ctx = zmq_ctx_new())) {
            free(r);
            set_err(err, errlen, "zmq context: %s", zmq_strerror(zmq_errno()));
            return SWMRBUS_EZMQ;
        }
        r->own_ctx = true;
    }
    int zero = 0;
    int64_t maxsize = (int64_t)r->lim.max_header_bytes + 4096;
    if (!(r->sub = zmq_socket(r->ctx, ZMQ_SUB)) ||
        zmq_setsockopt(r->sub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(r->sub, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize) != 0 ||
        zmq_setsockopt(r->sub, ZMQ_SUBSCRIBE, "", 0) != 0 || zmq_connect(r->sub, endpoint) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "subscribe to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        swmrbus_reader_destroy(&r);
        return SWMRBUS_EZMQ;
    }
    *out = r;
    return SWMRBUS_OK;
}

void swmrbus_reader_destroy(swmrbus_reader **pr)
{
    swmrbus_reader *r = pr ? *pr : NULL;
    if (!r) return;
    for (size_t i = 0; i < READER_SERIES; i++) swmrbus__sfile_close(&r->s[i].f);
    for (size_t i = 0; i < r->n_dirs; i++) free(r->dirs[i]);
    if (r->sub) zmq_close(r->sub);
    if (r->own_ctx) zmq_ctx_term(r->ctx);
    free(r);
    *pr = NULL;
}

uint64_t swmrbus_reader_rejected(const swmrbus_reader *r) { return r ? r->rejected : 0; }

static bool str_is(const char *a, swmrbus_str b)
{
    return strlen(a) == b.len && (b.len == 0 || memcmp(a, b.ptr, b.len) == 0);
}

static rseries *find_file(swmrbus_reader *r, const char *file)
{
    for (size_t i = 0; i < READER_SERIES; i++)
        if (r->s[i].used && !strcmp(r->s[i].file, file)) return &r->s[i];
    return NULL;
}

/* An entry for file: the free one, else the one seen longest ago. */
static rseries *take_entry(swmrbus_reader *r, const char *file, size_t len)
{
    rseries *e = NULL;
    for (size_t i = 0; i < READER_SERIES && !e; i++)
        if (!r->s[i].used) e = &r->s[i];
    for (size_t i = 0; i < READER_SERIES && !e; i++)
        if (!e || r->s[i].seen < e->seen) e = &r->s[i];
    if (!e) e = &r->s[0];
    swmrbus__sfile_close(&e->f);
    memset(e, 0, sizeof *e);
    e->used = true;
    memcpy(e->file, file, len);
    e->file[len] = '\0';
    return e;
}

static uint64_t seq_missed(swmrbus_reader *r, const swmrbus_notice *n)
{
    if (!n->has_seq) return 0;
    swmrbus_str who = n->via.ptr ? n->via : n->sink;
    if (who.len > SWMRBUS_NAME_MAX) who.len = SWMRBUS_NAME_MAX;
    rpub *p = NULL, *victim = NULL;
    for (size_t i = 0; i < READER_PUBS && !p; i++)
        if (r->pubs[i].used && str_is(r->pubs[i].name, who)) p = &r->pubs[i];
    for (size_t i = 0; i < READER_PUBS && !p && !victim; i++)
        if (!r->pubs[i].used) victim = &r->pubs[i];
    for (size_t i = 0; i < READER_PUBS && !p; i++)
        if (!victim || r->pubs[i].seen < victim->seen) victim = &r->pubs[i];
    uint64_t missed = 0;
    if (!p) {
        p = victim;
        memset(p, 0, sizeof *p);
        p->used = true;
        if (who.len) memcpy(p->name, who.ptr, who.len);
        p->name[who.len] = '\0';
    } else if (n->seq > p->last + 1) {
        missed = n->seq - p->last - 1;
    }
    p->last = n->seq;
    p->seen = ++r->clock;
    return missed;
}

/* Takes one notification and updates the series it names; fills ev. */
static void take(swmrbus_reader *r, const swmrbus_notice *n, swmrbus_reader_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->topic = n->topic;
    ev->has_series = n->has_series;
    ev->series = n->series;
    ev->missed = seq_missed(r, n);
    size_t sl = n->sink.len > SWMRBUS_NAME_MAX ? SWMRBUS_NAME_MAX : n->sink.len;
    if (sl) memcpy(ev->sink, n->sink.ptr, sl);
    ev->sink[sl] = '\0';
    ev->frames = n->has_frames ? n->frames : 0;
    ev->complete = n->has_complete ? n->complete : ev->frames;
    bool usable = n->file.len > 0 && n->file.len < SWMRBUS_READER_PATH_MAX &&
                  !memchr(n->file.ptr, '\0', n->file.len);
    if (!usable) return;
    memcpy(ev->file, n->file.ptr, n->file.len);
    ev->file[n->file.len] = '\0';
    if (n->topic == SWMRBUS_NOTICE_ERROR) return;
    rseries *e = find_file(r, ev->file);
    if (!e || (e->closed && n->topic == SWMRBUS_NOTICE_OPEN))
        e = e ? e : take_entry(r, n->file.ptr, n->file.len);
    if (n->topic == SWMRBUS_NOTICE_OPEN && e->closed) {
        swmrbus__sfile_close(&e->f);
        e->closed = false;
        e->frames = e->complete = 0;
    }
    e->notified = true;
    e->has_series = n->has_series;
    e->series = n->series;
    memcpy(e->sink, ev->sink, sl + 1);
    if (ev->frames > e->frames) e->frames = ev->frames;
    if (ev->complete > e->complete) e->complete = ev->complete;
    if (n->topic == SWMRBUS_NOTICE_CLOSED) {
        e->closed = true;
        /* Let the file go: in the sink's own process a handle kept open
         * would keep it marked open for writing. */
        swmrbus__sfile_close(&e->f);
    }
    e->seen = ++r->clock;
    ev->frames = e->frames;
    ev->complete = e->complete;
    ev->closed = e->closed;
}

swmrbus_err swmrbus_reader_next(swmrbus_reader *r, int timeout_ms, swmrbus_reader_event *ev)
{
    if (!r || !ev) return SWMRBUS_EINVAL;
    uint64_t until = timeout_ms >= 0 ? mono_ms() + (uint64_t)timeout_ms : UINT64_MAX;
    for (;;) {
        uint64_t now = mono_ms();
        long wait = until == UINT64_MAX ? -1 : (long)(until > now ? until - now : 0);
        zmq_pollitem_t pi = {r->sub, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&pi, 1, wait);
        if (rc < 0) {
            if (zmq_errno() == EINTR) continue;
            return SWMRBUS_EZMQ;
        }
        if (rc == 0) return SWMRBUS_ETIMEDOUT;
        zmq_msg_t topic, map;
        zmq_msg_init(&topic);
        zmq_msg_init(&map);
        int parts = 0;
        if (zmq_msg_recv(&topic, r->sub, ZMQ_DONTWAIT) >= 0) {
            parts = 1;
            if (zmq_msg_more(&topic) && zmq_msg_recv(&map, r->sub, 0) >= 0) parts = 2;
            if (parts == 2 && zmq_msg_more(&map)) {
                zmq_msg_t extra;
                zmq_msg_init(&extra);
                bool more = true;
                while (more && zmq_msg_recv(&extra, r->sub, 0) >= 0) {
                    parts++;
                    more = zmq_msg_more(&extra);
                }
                zmq_msg_close(&extra);
            }
        }
        swmrbus_notice n;
        bool ok = parts == 2 &&
                  swmrbus_notice_decode(zmq_msg_data(&topic), zmq_msg_size(&topic),
                                        zmq_msg_data(&map), zmq_msg_size(&map),
                                        (size_t)r->lim.max_header_bytes, &n, NULL, 0) ==
                      SWMRBUS_OK;
        if (ok) take(r, &n, ev);
        else if (parts) r->rejected++;
        zmq_msg_close(&map);
        zmq_msg_close(&topic);
        if (ok) return SWMRBUS_OK;
    }
}

static void fill_event(const rseries *e, swmrbus_reader_event *ev)
{
    if (!ev) return;
    memset(ev, 0, sizeof *ev);
    ev->topic = e->closed ? SWMRBUS_NOTICE_CLOSED : SWMRBUS_NOTICE_FLUSHED;
    ev->has_series = e->has_series;
    ev->series = e->series;
    snprintf(ev->file, sizeof ev->file, "%s", e->file);
    snprintf(ev->sink, sizeof ev->sink, "%s", e->sink);
    ev->frames = e->frames;
    ev->complete = e->complete;
    ev->closed = e->closed;
}

static bool satisfied(const rseries *e, uint64_t n)
{
    return e->used && e->notified && (e->frames >= n || e->closed);
}

swmrbus_err swmrbus_reader_wait(swmrbus_reader *r, const char *file, uint64_t n, int timeout_ms,
                                swmrbus_reader_event *ev)
{
    if (!r) return SWMRBUS_EINVAL;
    /* Already known? */
    const rseries *best = NULL;
    for (size_t i = 0; i < READER_SERIES; i++) {
        const rseries *e = &r->s[i];
        if (!satisfied(e, n) || (file && strcmp(e->file, file))) continue;
        if (!best || e->seen > best->seen) best = e;
    }
    if (best) {
        fill_event(best, ev);
        return SWMRBUS_OK;
    }
    uint64_t until = timeout_ms >= 0 ? mono_ms() + (uint64_t)timeout_ms : UINT64_MAX;
    swmrbus_reader_event *tmp = malloc(sizeof *tmp);
    if (!tmp) return SWMRBUS_ENOMEM;
    swmrbus_err rc;
    for (;;) {
        uint64_t now = mono_ms();
        int left = until == UINT64_MAX ? -1 : (int)(until > now ? until - now : 0);
        if ((rc = swmrbus_reader_next(r, left, tmp)) != SWMRBUS_OK) break;
        if (!tmp->file[0] || tmp->topic == SWMRBUS_NOTICE_ERROR) continue;
        if (file && strcmp(tmp->file, file)) continue;
        const rseries *e = find_file(r, tmp->file);
        if (e && satisfied(e, n)) {
            fill_event(e, ev);
            break;
        }
    }
    free(tmp);
    return rc;
}

/* The file's entry with its file open (the least recently used open file
 * is closed when READER_FILES are open). */
static swmrbus_err open_entry(swmrbus_reader *r, const char *file, rseries **out, char *err,
                             size_t errlen)
{
    size_t len = strlen(file);
    if (len == 0 || len >= SWMRBUS_READER_PATH_MAX) {
        set_err(err, errlen, "%s", "reader: bad file path");
        return SWMRBUS_EINVAL;
    }
    rseries *e = find_file(r, file);
    if (!e) e = take_entry(r, file, len);
    e->seen = ++r->clock;
    if (!e->f) {
        size_t open_n = 0;
        rseries *lru = NULL;
        for (size_t i = 0; i < READER_SERIES; i++) {
            rseries *c = &r->s[i];
            if (!c->f) continue;
            open_n++;
            if (!lru || c->seen < lru->seen) lru = c;
        }
        const char *path = file;
        char real[PATH_MAX];
        if (r->n_dirs) {
            char why[PATH_MAX + 64];
            swmrbus_err rc = swmrbus__dirs_check(r->dirs, r->n_dirs, file, true, real, why,
                                                 sizeof why);
            if (rc != SWMRBUS_OK) {
                set_err(err, errlen, "%s%s", why,
                        rc == SWMRBUS_EINVAL ? " (outside the reader's dirs)" : "");
                return rc;
            }
            path = real;
        }
        if (open_n >= READER_FILES && lru) swmrbus__sfile_close(&lru->f);
        swmrbus_err rc = swmrbus__sfile_open(path, &r->lim, &e->f, err, errlen);
        if (rc != SWMRBUS_OK) return rc;
    }
    *out = e;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_reader_allow_dir(swmrbus_reader *r, const char *dir, char *err,
                                     size_t errlen)
{
    char real[PATH_MAX];
    if (!r || !dir || !*dir) {
        set_err(err, errlen, "%s", "reader: missing directory");
        return SWMRBUS_EINVAL;
    }
    if (r->n_dirs >= READER_DIRS) {
        set_err(err, errlen, "reader: at most %d dirs", READER_DIRS);
        return SWMRBUS_ELIMIT;
    }
    if (!swmrbus__dirs_canonical(dir, real)) {
        set_err(err, errlen, "reader: cannot resolve %s: %s", dir, strerror(errno ? errno : EINVAL));
        return SWMRBUS_EINVAL;
    }
    if (!(r->dirs[r->n_dirs] = strdup(real))) {
        set_err(err, errlen, "%s", "reader: out of memory");
        return SWMRBUS_ENOMEM;
    }
    r->n_dirs++;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_reader_format(swmrbus_reader *r, const char *file, swmrbus_format *fmt,
                                  size_t *row_bytes, char *err, size_t errlen)
{
    if (!r || !file) {
        set_err(err, errlen, "%s", "reader: missing argument");
        return SWMRBUS_EINVAL;
    }
    rseries *e;
    swmrbus_err rc = open_entry(r, file, &e, err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    const swmrbus__sfile_info *in = swmrbus__sfile_get_info(e->f);
    if (fmt) {
        *fmt = in->fmt;
        fmt->encoding = SWMRBUS_ENC_RAW;
    }
    if (row_bytes) *row_bytes = (size_t)in->raw_bytes;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_reader_read(swmrbus_reader *r, const char *file, uint64_t first,
                                uint64_t count, void *buf, size_t buflen, char *err,
                                size_t errlen)
{
    if (!r || !file || (!buf && count)) {
        set_err(err, errlen, "%s", "reader: missing argument");
        return SWMRBUS_EINVAL;
    }
    rseries *e;
    swmrbus_err rc = open_entry(r, file, &e, err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    uint64_t rows = 0;
    if ((rc = swmrbus__sfile_refresh(e->f, &rows, err, errlen)) != SWMRBUS_OK) return rc;
    uint64_t limit = e->notified && e->frames < rows ? e->frames : rows;
    if (first > limit || count > limit - first) {
        if (err && errlen)
            snprintf(err, errlen, "rows [%llu, %llu) not readable yet: %llu are",
                     (unsigned long long)first, (unsigned long long)(first + count),
                     (unsigned long long)limit);
        return SWMRBUS_ELIMIT;
    }
    rc = swmrbus__sfile_read_rows(e->f, first, count, buf, buflen, err, errlen);
    if (e->closed) swmrbus__sfile_close(&e->f); /* final: no handle kept */
    return rc;
}
