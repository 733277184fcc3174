/* swmrbus/host.h — runs the components of a config in threads of one
 * process, sharing one ZeroMQ context.
 *
 * Usage: create, register the built-in kinds, start with a config, then wait
 * (and stop from a signal thread). A host is used from one thread, except
 * swmrbus_host_stop(), which any thread may call. */
#ifndef SWMRBUS_HOST_H
#define SWMRBUS_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct swmrbus_host swmrbus_host;

/* Creates a host with a new ZeroMQ context. ENOMEM / EZMQ on failure. */
SWMRBUS_API swmrbus_err swmrbus_host_create(swmrbus_host **out);

/* Makes kind vt->kind available to configs. The table must outlive the host.
 * EABI when its ABI version does not match; EINVAL when the kind exists. */
SWMRBUS_API swmrbus_err swmrbus_host_register(swmrbus_host *h,
                                              const swmrbus_component_vtable *vt);

/* The shared ZeroMQ context (owned by the host): a caller may open its own
 * inproc:// sockets to the components with it. */
SWMRBUS_API void *swmrbus_host_zmq_ctx(swmrbus_host *h);

/* Creates every component of cfg in order (binding their sockets), then
 * runs each in its own thread. cfg must outlive the host's run. A kind that
 * is not registered is loaded as a plugin (see plugin.h for where it is
 * looked for). On error nothing runs, the components created so far are
 * destroyed and err names the component and, for a plugin, its file. */
SWMRBUS_API swmrbus_err swmrbus_host_start(swmrbus_host *h, const swmrbus_config *cfg,
                                           char *err, size_t errlen);

/* The install's plugin directory, searched after SWMRBUS_PLUGIN_PATH. */
SWMRBUS_API const char *swmrbus_plugin_dir(void);

/* Called by swmrbus_host_check with one problem (one line, naming the
 * component and key path). */
typedef void (*swmrbus_problem_fn)(const char *problem, void *user);

/* Checks cfg without running anything: every kind resolves (outside plugins
 * are loaded, their ABI checked, then unloaded) and every component whose
 * table has a check() accepts its config. Nothing is bound or created.
 * Calls fn for each problem; returns how many there were (0: all good). */
SWMRBUS_API size_t swmrbus_host_check(swmrbus_host *h, const swmrbus_config *cfg,
                                      swmrbus_problem_fn fn, void *user);

/* Asks every component to stop, in config order, each after the one before
 * it has returned (so a sink's last notifications reach a source behind it).
 * Thread-safe and idempotent; returns at once. */
SWMRBUS_API void swmrbus_host_stop(swmrbus_host *h);

/* Waits up to timeout_ms (-1: forever) for every component to return, then
 * joins their threads. Returns ETIMEDOUT if some still run, else OK or the
 * first error a component returned. */
SWMRBUS_API swmrbus_err swmrbus_host_wait(swmrbus_host *h, int timeout_ms);

/* Number of components whose run() has not returned yet. */
SWMRBUS_API size_t swmrbus_host_running(swmrbus_host *h);

/* Stops and waits for the components if needed, destroys them, terminates
 * the context, frees *h and sets it to NULL. Safe with NULL. */
SWMRBUS_API void swmrbus_host_destroy(swmrbus_host **h);

#ifdef __cplusplus
}
#endif
#endif
