/* host.c — runs the components of a config, one thread each, sharing one
 * ZeroMQ context; loads outside plugins with dlopen. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "swmrbus/host.h"
#include "swmrbus/log.h"

#define MAX_KINDS 32
#define MAX_DLS 64

typedef struct host_comp {
    swmrbus_host *host;
    const swmrbus_component_vtable *vt;
    const swmrbus_component_cfg *cfg;
    void *self;
    void *dl;          /* dlopen handle of an outside plugin, or NULL */
    pthread_t thread;
    bool started;
    bool done;         /* run() returned; guarded by host->mu */
    swmrbus_err rc;
} host_comp;

struct swmrbus_host {
    void *zctx;
    const swmrbus_component_vtable *kinds[MAX_KINDS];
    size_t n_kinds;
    void *dls[MAX_DLS];   /* plugins to unload after the context is gone */
    size_t n_dls;
    host_comp *comps;
    size_t n_comps;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t running;
    atomic_bool stopping;
    pthread_t stopper;
    bool stopper_started;
    bool joined;
};

static bool abi_ok(const swmrbus_component_vtable *vt)
{
    return vt && vt->abi_version == SWMRBUS_ABI_VERSION &&
           vt->struct_size >= SWMRBUS_VTABLE_MIN_SIZE && vt->kind && vt->create &&
           vt->run && vt->stop && vt->destroy;
}

/* The table's check(), when its struct_size says it has one. */
static swmrbus_err (*vt_check(const swmrbus_component_vtable *vt))(
    const swmrbus_component_args *, char *, size_t)
{
    return vt->struct_size >= offsetof(swmrbus_component_vtable, check) + sizeof vt->check
               ? vt->check
               : NULL;
}

/* "components[i] (name): why", or "why (name)" when why names its own key
 * path below components[i] already. */
static void name_error(char *err, size_t errlen, size_t i, const char *name, const char *why)
{
    char own[48];
    int n = snprintf(own, sizeof own, "components[%zu]", i);
    if (strncmp(why, own, (size_t)n) == 0 && (why[n] == '.' || why[n] == ':'))
        snprintf(err, errlen, "%s (%s)", why, name);
    else
        snprintf(err, errlen, "components[%zu] (%s): %s", i, name, why);
}

swmrbus_err swmrbus_host_create(swmrbus_host **out)
{
    swmrbus_host *h = calloc(1, sizeof *h);
    if (!h) return SWMRBUS_ENOMEM;
    h->zctx = zmq_ctx_new();
    if (!h->zctx) {
        free(h);
        return SWMRBUS_EZMQ;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    *out = h;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_host_register(swmrbus_host *h, const swmrbus_component_vtable *vt)
{
    if (!abi_ok(vt)) return SWMRBUS_EABI;
    for (size_t i = 0; i < h->n_kinds; i++)
        if (strcmp(h->kinds[i]->kind, vt->kind) == 0) return SWMRBUS_EINVAL;
    if (h->n_kinds == MAX_KINDS) return SWMRBUS_ELIMIT;
    h->kinds[h->n_kinds++] = vt;
    return SWMRBUS_OK;
}

void *swmrbus_host_zmq_ctx(swmrbus_host *h) { return h->zctx; }

/* <libdir>/swmrbus/plugins beside the libswmrbus.so this code runs from
 * (so an install under any prefix finds its plugins), else the directory
 * configured at build time. */
static pthread_once_t plugin_dir_once = PTHREAD_ONCE_INIT;
static char plugin_dir[4096] = SWMRBUS_PLUGIN_DIR;

static void find_plugin_dir(void)
{
    Dl_info info;
    if (!dladdr((void *)swmrbus_plugin_dir, &info) || !info.dli_fname) return;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash || !strstr(slash, "libswmrbus.so")) return; /* linked statically */
    snprintf(plugin_dir, sizeof plugin_dir, "%.*s/swmrbus/plugins",
             (int)(slash - info.dli_fname), info.dli_fname);
}

const char *swmrbus_plugin_dir(void)
{
    pthread_once(&plugin_dir_once, find_plugin_dir);
    return plugin_dir;
}

/* A plugin name (kind: foo) is a plain word: no path games. */
static bool plain_name(const char *kind)
{
    if (!kind[0] || strlen(kind) > 128) return false;
    for (const char *p = kind; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') return false;
    return true;
}

/* Where kind's .so is: the path itself (kind holds a '/'), else the first
 * libswmrbus_<kind>.so in SWMRBUS_PLUGIN_PATH, then the plugin directory. */
static swmrbus_err plugin_path(const char *kind, char *path, size_t cap, char *err,
                               size_t errlen)
{
    if (strchr(kind, '/')) {
        if (snprintf(path, cap, "%s", kind) >= (int)cap) {
            snprintf(err, errlen, "plugin path too long");
            return SWMRBUS_EINVAL;
        }
        return SWMRBUS_OK;
    }
    if (!plain_name(kind)) {
        snprintf(err, errlen, "kind '%s': not built in (sink, source, sim); a plugin is named "
                 "by a word of letters, digits, _ and - (libswmrbus_<kind>.so) or by a path "
                 "to its .so", kind);
        return SWMRBUS_ENOTFOUND;
    }
    const char *env = getenv("SWMRBUS_PLUGIN_PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s%s%s", env ? env : "", env && env[0] ? ":" : "",
             swmrbus_plugin_dir());
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (snprintf(path, cap, "%s/libswmrbus_%s.so", d, kind) >= (int)cap) continue;
        if (access(path, F_OK) == 0) return SWMRBUS_OK;
    }
    snprintf(err, errlen, "kind '%s': not built in (sink, source, sim) and no "
             "libswmrbus_%s.so in SWMRBUS_PLUGIN_PATH (%s) or %s", kind, kind,
             env && env[0] ? env : "unset", swmrbus_plugin_dir());
    return SWMRBUS_ENOTFOUND;
}

/* Finds a registered kind, or loads an outside plugin for it. */
static swmrbus_err find_kind(swmrbus_host *h, const char *kind, host_comp *c, char *err,
                             size_t errlen)
{
    for (size_t i = 0; i < h->n_kinds; i++)
        if (strcmp(h->kinds[i]->kind, kind) == 0) {
            c->vt = h->kinds[i];
            return SWMRBUS_OK;
        }
    char path[4096];
    swmrbus_err rc = plugin_path(kind, path, sizeof path, err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!c->dl) {
        snprintf(err, errlen, "plugin %s: cannot load: %s", path, dlerror());
        return SWMRBUS_ENOTFOUND;
    }
    swmrbus_plugin_entry_fn entry;
    *(void **)&entry = dlsym(c->dl, SWMRBUS_PLUGIN_ENTRY_NAME);
    const swmrbus_component_vtable *vt = entry ? entry() : NULL;
    if (!entry)
        snprintf(err, errlen, "plugin %s: no symbol %s (is it a swmrbus plugin? see "
                 "swmrbus/plugin.h)", path, SWMRBUS_PLUGIN_ENTRY_NAME);
    else if (!vt)
        snprintf(err, errlen, "plugin %s: %s() returned no table", path,
                 SWMRBUS_PLUGIN_ENTRY_NAME);
    else if (vt->abi_version != SWMRBUS_ABI_VERSION)
        snprintf(err, errlen, "plugin %s: built for plugin ABI %u, this swmrbus has ABI %u "
                 "(rebuild it against these headers)", path, vt->abi_version,
                 SWMRBUS_ABI_VERSION);
    else if (!abi_ok(vt))
        snprintf(err, errlen, "plugin %s: incomplete component table (struct_size %u; kind, "
                 "create, run, stop and destroy are required)", path, vt->struct_size);
    if (!abi_ok(vt)) {
        dlclose(c->dl);
        c->dl = NULL;
        return SWMRBUS_EABI;
    }
    c->vt = vt;
    return SWMRBUS_OK;
}

size_t swmrbus_host_check(swmrbus_host *h, const swmrbus_config *cfg, swmrbus_problem_fn fn,
                          void *user)
{
    size_t problems = 0;
    for (size_t i = 0; i < cfg->n_components; i++) {
        host_comp c = {0};
        char why[4608] = "", line[4800];
        c.cfg = &cfg->components[i];
        swmrbus_err rc = find_kind(h, c.cfg->kind, &c, why, sizeof why);
        if (rc == SWMRBUS_OK && vt_check(c.vt)) {
            swmrbus_component_args args = {SWMRBUS_ABI_VERSION, h->zctx, c.cfg};
            rc = vt_check(c.vt)(&args, why, sizeof why);
        }
        if (rc != SWMRBUS_OK) {
            name_error(line, sizeof line, i, c.cfg->name, why[0] ? why : swmrbus_strerror(rc));
            if (fn) fn(line, user);
            problems++;
        }
        if (c.dl) dlclose(c.dl);
    }
    return problems;
}

static void *comp_main(void *arg)
{
    host_comp *c = arg;
    swmrbus_err rc = c->vt->run(c->self);
    if (rc != SWMRBUS_OK)
        swmrbus_log(SWMRBUS_LOG_ERROR, c->cfg->name, "component ended: %s", swmrbus_strerror(rc));
    swmrbus_host *h = c->host;
    pthread_mutex_lock(&h->mu);
    c->rc = rc;
    c->done = true;
    h->running--;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Destroys the components. Their plugins stay loaded until the context is
 * terminated: a message a plugin sent zero-copy may still sit in a pipe with
 * a free function in the plugin's code. */
static void destroy_comps(swmrbus_host *h)
{
    for (size_t i = h->n_comps; i-- > 0;) {
        host_comp *c = &h->comps[i];
        if (c->self) c->vt->destroy(&c->self);
        if (c->dl && h->n_dls < MAX_DLS)
            h->dls[h->n_dls++] = c->dl;
        else if (c->dl)
            dlclose(c->dl);
    }
    free(h->comps);
    h->comps = NULL;
    h->n_comps = 0;
}

swmrbus_err swmrbus_host_start(swmrbus_host *h, const swmrbus_config *cfg, char *err,
                               size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    if (h->comps) return SWMRBUS_ESTATE;
    h->comps = calloc(cfg->n_components ? cfg->n_components : 1, sizeof *h->comps);
    if (!h->comps) return SWMRBUS_ENOMEM;
    h->n_comps = cfg->n_components;
    /* Every kind first (plugins loaded, their tables checked), so that a
     * plugin that does not load stops the run before any component binds. */
    for (size_t i = 0; i < cfg->n_components; i++) {
        host_comp *c = &h->comps[i];
        char why[4608] = "";
        c->host = h;
        c->cfg = &cfg->components[i];
        rc = find_kind(h, c->cfg->kind, c, why, sizeof why);
        if (rc != SWMRBUS_OK) {
            snprintf(err, errlen, "components[%zu] (%s): %s", i, c->cfg->name, why);
            goto out;
        }
    }
    /* Then every config a component can check without binding (a plugin's
     * options): a typo stops the run before anything is bound or created. */
    for (size_t i = 0; i < cfg->n_components; i++) {
        host_comp *c = &h->comps[i];
        char why[4608] = "";
        swmrbus_component_args args = {SWMRBUS_ABI_VERSION, h->zctx, c->cfg};
        if (vt_check(c->vt) && (rc = vt_check(c->vt)(&args, why, sizeof why)) != SWMRBUS_OK) {
            name_error(err, errlen, i, c->cfg->name, why[0] ? why : swmrbus_strerror(rc));
            goto out;
        }
    }
    for (size_t i = 0; i < cfg->n_components; i++) {
        host_comp *c = &h->comps[i];
        char why[4608] = "";
        swmrbus_component_args args = {SWMRBUS_ABI_VERSION, h->zctx, c->cfg};
        rc = c->vt->create(&args, &c->self, why, sizeof why);
        if (rc != SWMRBUS_OK) {
            name_error(err, errlen, i, c->cfg->name, why[0] ? why : swmrbus_strerror(rc));
            goto out;
        }
    }
    for (size_t i = 0; i < h->n_comps; i++) {
        host_comp *c = &h->comps[i];
        pthread_mutex_lock(&h->mu);
        h->running++;
        pthread_mutex_unlock(&h->mu);
        if (pthread_create(&c->thread, NULL, comp_main, c) != 0) {
            pthread_mutex_lock(&h->mu);
            h->running--;
            pthread_mutex_unlock(&h->mu);
            snprintf(err, errlen, "components[%zu] (%s): cannot start thread", i, c->cfg->name);
            swmrbus_host_stop(h);
            swmrbus_host_wait(h, -1);
            rc = SWMRBUS_ENOMEM;
            goto out;
        }
        c->started = true;
    }
out:
    if (rc != SWMRBUS_OK && !h->running) destroy_comps(h);
    return rc;
}

/* Stops the components in config order, each after the one before it has
 * returned (bounded: 30 s each), so downstream components see the last
 * notifications of the upstream ones. */
static void *stopper_main(void *arg)
{
    swmrbus_host *h = arg;
    for (size_t i = 0; i < h->n_comps; i++) {
        host_comp *c = &h->comps[i];
        c->vt->stop(c->self);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        pthread_mutex_lock(&h->mu);
        while (c->started && !c->done)
            if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT) break;
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

void swmrbus_host_stop(swmrbus_host *h)
{
    if (!h || atomic_exchange(&h->stopping, true)) return;
    if (pthread_create(&h->stopper, NULL, stopper_main, h) == 0) {
        h->stopper_started = true;
        return;
    }
    for (size_t i = 0; i < h->n_comps; i++) h->comps[i].vt->stop(h->comps[i].self);
}

size_t swmrbus_host_running(swmrbus_host *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->running;
    pthread_mutex_unlock(&h->mu);
    return n;
}

swmrbus_err swmrbus_host_wait(swmrbus_host *h, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&h->mu);
    while (h->running > 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&h->cv, &h->mu);
        else if (timeout_ms == 0 || pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
            break;
    }
    size_t running = h->running;
    pthread_mutex_unlock(&h->mu);
    if (running > 0) return SWMRBUS_ETIMEDOUT;
    swmrbus_err rc = SWMRBUS_OK;
    if (!h->joined) {
        for (size_t i = 0; i < h->n_comps; i++) {
            if (h->comps[i].started) pthread_join(h->comps[i].thread, NULL);
            if (rc == SWMRBUS_OK) rc = h->comps[i].rc;
        }
        if (h->stopper_started) pthread_join(h->stopper, NULL);
        h->joined = true;
    }
    return rc;
}

void swmrbus_host_destroy(swmrbus_host **hp)
{
    if (!hp || !*hp) return;
    swmrbus_host *h = *hp;
    if (h->comps) {
        swmrbus_host_stop(h);
        swmrbus_host_wait(h, -1);
        destroy_comps(h);
    }
    zmq_ctx_term(h->zctx);
    for (size_t i = 0; i < h->n_dls; i++) dlclose(h->dls[i]);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    *hp = NULL;
}
