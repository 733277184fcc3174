/* metrics.c — the process-wide metrics registry and its text exposition.
 *
 * Families (one name, type and help) hold series (label values); both are
 * appended under one mutex and never freed, so a handle is a plain pointer
 * that stays valid for the life of the process. Values are C11 atomics: an
 * update is one relaxed atomic op, never a lock. The render walks the lists
 * under the mutex (registration is rare, a scrape is a few per minute) and
 * reads each value atomically. */
#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "swmrbus/metrics.h"

typedef enum mtype { T_COUNTER, T_GAUGE, T_HISTOGRAM } mtype;

typedef struct family family;

struct swmrbus_metric {
    swmrbus_metric *next;     /* in its family, registration order */
    family *fam;
    char *component;
    char *label, *value;      /* the optional second label, or NULL */
    _Atomic uint64_t v;       /* counter; gauge as two's complement int64 */
    _Atomic uint64_t sum;     /* histogram: sum of observations, in units */
    _Atomic uint64_t buckets[SWMRBUS_METRICS_MAX_BUCKETS + 1]; /* not cumulative */
};

struct family {
    family *next;
    char *name, *help;
    mtype type;
    size_t n_bounds;
    double bounds[SWMRBUS_METRICS_MAX_BUCKETS];
    uint64_t ubounds[SWMRBUS_METRICS_MAX_BUCKETS]; /* bounds in observation units */
    double scale;
    swmrbus_metric *head, *tail;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static family *g_head, *g_tail;

/* ---- names --------------------------------------------------------------- */

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s) return false;
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_' || (colon && s[0] == ':'))) return false;
    for (const char *p = s + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || (colon && *p == ':'))) return false;
    return true;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ---- registration ---------------------------------------------------------- */

static family *find_family(const char *name)
{
    for (family *f = g_head; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

static swmrbus_err reg(mtype type, const char *name, const char *help, const char *component,
                       const char *label, const char *value, const double *bounds,
                       size_t n_bounds, double scale, swmrbus_metric **out)
{
    swmrbus_err rc = SWMRBUS_OK;
    family *f = NULL, *fnew = NULL;
    swmrbus_metric *m = NULL;

    if (out) *out = NULL;
    if (!out || !valid_name(name, true) || !help || !component || (!label != !value))
        return SWMRBUS_EINVAL;
    if (label && (!valid_name(label, false) || strcmp(label, "component") == 0 ||
                  strncmp(label, "__", 2) == 0 || (type == T_HISTOGRAM)))
        return SWMRBUS_EINVAL;
    if (type == T_HISTOGRAM) {
        if (n_bounds < 1 || n_bounds > SWMRBUS_METRICS_MAX_BUCKETS || !bounds ||
            !(scale > 0) || !isfinite(scale))
            return SWMRBUS_EINVAL;
        for (size_t i = 0; i < n_bounds; i++)
            if (!isfinite(bounds[i]) || bounds[i] < 0 || (i && bounds[i] <= bounds[i - 1]))
                return SWMRBUS_EINVAL;
    }

    pthread_mutex_lock(&g_mu);
    f = find_family(name);
    if (f) {
        if (f->type != type) {
            rc = SWMRBUS_EINVAL;
            goto out;
        }
        if (type == T_HISTOGRAM &&
            (f->n_bounds != n_bounds || f->scale != scale ||
             memcmp(f->bounds, bounds, n_bounds * sizeof *bounds) != 0)) {
            rc = SWMRBUS_EINVAL;
            goto out;
        }
        for (swmrbus_metric *e = f->head; e; e = e->next)
            if (strcmp(e->component, component) == 0 && same(e->label, label) &&
                same(e->value, value)) {
                *out = e;
                goto out;
            }
    } else {
        fnew = f = calloc(1, sizeof *f);
        if (!f) goto nomem;
        f->name = strdup(name);
        f->help = strdup(help);
        if (!f->name || !f->help) goto nomem;
        f->type = type;
        if (type == T_HISTOGRAM) {
            f->n_bounds = n_bounds;
            f->scale = scale;
            for (size_t i = 0; i < n_bounds; i++) {
                double u = bounds[i] / scale * (1 + 1e-12); /* >= 0: the cast floors */
                f->bounds[i] = bounds[i];
                f->ubounds[i] = u >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)u;
            }
        }
    }
    m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->fam = f;
    m->component = strdup(component);
    if (!m->component) goto nomem;
    if (label) {
        m->label = strdup(label);
        m->value = strdup(value);
        if (!m->label || !m->value) goto nomem;
    }
    if (fnew) {
        if (g_tail) g_tail->next = fnew;
        else g_head = fnew;
        g_tail = fnew;
        fnew = NULL;
    }
    if (f->tail) f->tail->next = m;
    else f->head = m;
    f->tail = m;
    *out = m;
    m = NULL;
    goto out;
nomem:
    rc = SWMRBUS_ENOMEM;
out:
    pthread_mutex_unlock(&g_mu);
    if (m) {
        free(m->component);
        free(m->label);
        free(m->value);
        free(m);
    }
    if (fnew) {
        free(fnew->name);
        free(fnew->help);
        free(fnew);
    }
    return rc;
}

swmrbus_err swmrbus_metrics_counter(const char *name, const char *help, const char *component,
                                    const char *label, const char *value, swmrbus_metric **out)
{
    return reg(T_COUNTER, name, help, component, label, value, NULL, 0, 0, out);
}

swmrbus_err swmrbus_metrics_gauge(const char *name, const char *help, const char *component,
                                  const char *label, const char *value, swmrbus_metric **out)
{
    return reg(T_GAUGE, name, help, component, label, value, NULL, 0, 0, out);
}

swmrbus_err swmrbus_metrics_histogram(const char *name, const char *help, const char *component,
                                      const double *bounds, size_t n_bounds, double scale,
                                      swmrbus_metric **out)
{
    return reg(T_HISTOGRAM, name, help, component, NULL, NULL, bounds, n_bounds, scale, out);
}

/* ---- updates (lock-free) ---------------------------------------------------- */

void swmrbus_metrics_add(swmrbus_metric *m, uint64_t n)
{
    if (m && m->fam->type != T_HISTOGRAM) atomic_fetch_add_explicit(&m->v, n, memory_order_relaxed);
}

void swmrbus_metrics_sub(swmrbus_metric *m, uint64_t n)
{
    if (m && m->fam->type == T_GAUGE) atomic_fetch_sub_explicit(&m->v, n, memory_order_relaxed);
}

void swmrbus_metrics_set(swmrbus_metric *m, int64_t v)
{
    if (m && m->fam->type == T_GAUGE)
        atomic_store_explicit(&m->v, (uint64_t)v, memory_order_relaxed);
}

void swmrbus_metrics_observe(swmrbus_metric *m, uint64_t v, uint64_t count)
{
    if (!m || m->fam->type != T_HISTOGRAM || count == 0) return;
    const family *f = m->fam;
    size_t i = 0;
    while (i < f->n_bounds && v > f->ubounds[i]) i++;
    atomic_fetch_add_explicit(&m->buckets[i], count, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum, v * count, memory_order_relaxed);
}

int64_t swmrbus_metrics_value(const swmrbus_metric *m)
{
    if (!m) return 0;
    if (m->fam->type != T_HISTOGRAM)
        return (int64_t)atomic_load_explicit(&m->v, memory_order_relaxed);
    uint64_t n = 0;
    for (size_t i = 0; i <= m->fam->n_bounds; i++)
        n += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
    return (int64_t)n;
}

/* ---- rendering ------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_grow(sbuf *b, size_t need)
{
    if (b->oom || b->len + need + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + need + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    sb_grow(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Label values escape \, " and newline; HELP text escapes \ and newline. */
static void sb_escaped(sbuf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') sb_printf(b, "\\\\");
        else if (*s == '\n') sb_printf(b, "\\n");
        else if (quote && *s == '"') sb_printf(b, "\\\"");
        else sb_printf(b, "%c", *s);
    }
}

/* name{component="...",label="..."[,le="..."]} */
static void sb_series(sbuf *b, const char *name, const char *suffix, const swmrbus_metric *m,
                      const char *le)
{
    sb_printf(b, "%s%s{component=\"", name, suffix);
    sb_escaped(b, m->component, true);
    sb_printf(b, "\"");
    if (m->label) {
        sb_printf(b, ",%s=\"", m->label);
        sb_escaped(b, m->value, true);
        sb_printf(b, "\"");
    }
    if (le) sb_printf(b, ",le=\"%s\"", le);
    sb_printf(b, "} ");
}

static void render_family(sbuf *b, const family *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    sb_printf(b, "# HELP %s ", f->name);
    sb_escaped(b, f->help, false);
    sb_printf(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
    for (const swmrbus_metric *m = f->head; m; m = m->next) {
        if (f->type == T_COUNTER) {
            sb_series(b, f->name, "", m, NULL);
            sb_printf(b, "%" PRIu64 "\n", atomic_load_explicit(&m->v, memory_order_relaxed));
        } else if (f->type == T_GAUGE) {
            sb_series(b, f->name, "", m, NULL);
            sb_printf(b, "%" PRId64 "\n",
                      (int64_t)atomic_load_explicit(&m->v, memory_order_relaxed));
        } else {
            uint64_t cum = 0;
            char le[40];
            for (size_t i = 0; i <= f->n_bounds; i++) {
                cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
                if (i < f->n_bounds) snprintf(le, sizeof le, "%.15g", f->bounds[i]);
                else snprintf(le, sizeof le, "+Inf");
                sb_series(b, f->name, "_bucket", m, le);
                sb_printf(b, "%" PRIu64 "\n", cum);
            }
            /* The sum is read after the buckets: it may include an
             * observation the buckets do not yet, never the reverse by much. */
            double sum = (double)atomic_load_explicit(&m->sum, memory_order_relaxed) * f->scale;
            sb_series(b, f->name, "_sum", m, NULL);
            sb_printf(b, "%.15g\n", sum);
            sb_series(b, f->name, "_count", m, NULL);
            sb_printf(b, "%" PRIu64 "\n", cum);
        }
    }
}

/* process_* from /proc (as the Prometheus client libraries export them). */
static void render_process(sbuf *b)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[1024];
    FILE *fp = fopen("/proc/self/stat", "r");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp) fclose(fp);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    bool have_stat = p && tick > 0 && page > 0 &&
                     sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                            "%*d %*d %*d %llu %llu %lld",
                            &utime, &stime, &start, &vsize, &rss) == 5;
    if (have_stat) {
        sb_printf(b, "# HELP process_cpu_seconds_total Total user and system CPU time spent "
                     "in seconds.\n# TYPE process_cpu_seconds_total counter\n"
                     "process_cpu_seconds_total %.2f\n",
                  (double)(utime + stime) / (double)tick);
        sb_printf(b, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                     "# TYPE process_resident_memory_bytes gauge\n"
                     "process_resident_memory_bytes %lld\n", rss * (long long)page);
        sb_printf(b, "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                     "# TYPE process_virtual_memory_bytes gauge\n"
                     "process_virtual_memory_bytes %llu\n", vsize);
        unsigned long long btime = 0;
        FILE *sf = fopen("/proc/stat", "r");
        char line[256];
        while (sf && fgets(line, sizeof line, sf))
            if (sscanf(line, "btime %llu", &btime) == 1) break;
        if (sf) fclose(sf);
        if (btime)
            sb_printf(b, "# HELP process_start_time_seconds Start time of the process since "
                         "unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
                         "process_start_time_seconds %.2f\n",
                      (double)btime + (double)start / (double)tick);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long fds = -1; /* not counting the one opendir holds */
        for (struct dirent *e; (e = readdir(d));) fds += e->d_name[0] != '.';
        closedir(d);
        sb_printf(b, "# HELP process_open_fds Number of open file descriptors.\n"
                     "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n", fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        sb_printf(b, "# HELP process_max_fds Maximum number of open file descriptors.\n"
                     "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                  (unsigned long long)rl.rlim_cur);
}

swmrbus_err swmrbus_metrics_render(char **text, size_t *len)
{
    sbuf b = {0};
    if (!text || !len) return SWMRBUS_EINVAL;
    *text = NULL;
    *len = 0;
    sb_grow(&b, 0);
    pthread_mutex_lock(&g_mu);
    for (const family *f = g_head; f && !b.oom; f = f->next) render_family(&b, f);
    pthread_mutex_unlock(&g_mu);
    render_process(&b);
    if (b.oom) {
        free(b.p);
        return SWMRBUS_ENOMEM;
    }
    b.p[b.len] = '\0';
    *text = b.p;
    *len = b.len;
    return SWMRBUS_OK;
}
