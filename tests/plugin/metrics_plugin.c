/* metrics_plugin.c — an outside plugin (kind: path to its .so) for
 * test_metrics.py: links the shared libswmrbus, as outside plugins do, and
 * registers a counter of its own, to show that it lands in the registry the
 * host process serves. It counts `ticks` at create and runs until stop. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "swmrbus/metrics.h"
#include "swmrbus/plugin.h"

typedef struct plug {
    atomic_bool stop;
} plug;

static swmrbus_err p_create(const swmrbus_component_args *args, void **self, char *err,
                            size_t errlen)
{
    (void)err;
    (void)errlen;
    plug *p = calloc(1, sizeof *p);
    if (!p) return SWMRBUS_ENOMEM;
    swmrbus_metric *m = NULL;
    swmrbus_err rc = swmrbus_metrics_counter("test_plugin_ticks_total", "Ticks of the test plugin.",
                                             args->cfg->name, NULL, NULL, &m);
    if (rc != SWMRBUS_OK) {
        free(p);
        return rc;
    }
    swmrbus_metrics_add(m, 7);
    *self = p;
    return SWMRBUS_OK;
}

static swmrbus_err p_run(void *self)
{
    plug *p = self;
    struct timespec ts = {0, 20000000L};
    while (!atomic_load(&p->stop)) nanosleep(&ts, NULL);
    return SWMRBUS_OK;
}

static void p_stop(void *self) { atomic_store(&((plug *)self)->stop, true); }

static void p_destroy(void **self)
{
    free(*self);
    *self = NULL;
}

static const swmrbus_component_vtable vt = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "test_metrics",
    .create = p_create,
    .run = p_run,
    .stop = p_stop,
    .destroy = p_destroy,
};

__attribute__((visibility("default"))) const swmrbus_component_vtable *
swmrbus_plugin_component(void)
{
    return &vt;
}
