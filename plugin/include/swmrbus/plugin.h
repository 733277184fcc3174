/* swmrbus/plugin.h — the component ABI (version 2).
 *
 * Every component (the built-in sink, source and sim, and outside plugins
 * loaded from a .so) is one table of four functions. The host calls create()
 * for every component of a config from its main thread, then run() for each
 * in a thread of its own, stop() from any thread to end run(), and destroy()
 * after run() has returned. An outside plugin exports a function named
 * SWMRBUS_PLUGIN_ENTRY_NAME of type swmrbus_plugin_entry_fn.
 *
 * Finding a plugin: `kind: /path/to/libfoo.so` loads that file; `kind: foo`
 * loads libswmrbus_foo.so from the directories of SWMRBUS_PLUGIN_PATH
 * (colon-separated), then from the install's plugin directory
 * (swmrbus_plugin_dir() in host.h; pkg-config --variable=plugindir swmrbus). A
 * plugin links libswmrbus.so and uses its public headers (the SDK: loop.h,
 * socket.h, stream.h, notify.h, pack.h, options.h, log.h).
 *
 * Compatibility: the host refuses a table whose abi_version differs from its
 * own SWMRBUS_ABI_VERSION, or whose struct_size is smaller than the first
 * table of its version (up to destroy). Within a version fields are only ever
 * appended; struct_size tells the host which exist (check, for one).
 *
 * Versions: 1 had the table alone (no SDK, no plugin ever built on it); 2 is
 * the first with the component SDK, and the structs a component reads grew
 * (a socket's `curve` and `protocol`, a series' `datasets`, shapes of 8
 * dimensions): a plugin built for 1 is refused, not misread. */
#ifndef SWMRBUS_PLUGIN_H
#define SWMRBUS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWMRBUS_ABI_VERSION 2u
#define SWMRBUS_PLUGIN_ENTRY_NAME "swmrbus_plugin_component"

/* What the host hands a component at creation. Everything stays valid until
 * the component's destroy() has returned. */
typedef struct swmrbus_component_args {
    uint32_t abi_version;             /* the host's SWMRBUS_ABI_VERSION */
    void *zmq_ctx;                    /* shared by all components: inproc:// works */
    const swmrbus_component_cfg *cfg; /* this component's settings */
} swmrbus_component_args;

typedef struct swmrbus_component_vtable {
    uint32_t abi_version;  /* SWMRBUS_ABI_VERSION the component was built for */
    uint32_t struct_size;  /* sizeof(swmrbus_component_vtable) at build time */
    const char *kind;      /* "sink", "source", ... */

    /* Builds the component: validates cfg, creates and binds its sockets (so
     * that every bind of a config is done before any component runs). On
     * error returns non-OK, writes a line to err and leaves *self NULL. */
    swmrbus_err (*create)(const swmrbus_component_args *args, void **self,
                          char *err, size_t errlen);

    /* Runs the component until it is done (a sim that sent its frames) or
     * stop() is called; a sink flushes and closes every file before it
     * returns. Called once, from one thread. Returns OK on a clean end. */
    swmrbus_err (*run)(void *self);

    /* Asks run() to return soon. Thread-safe, idempotent, non-blocking;
     * may be called before run() starts. */
    void (*stop)(void *self);

    /* Frees the component and sets *self to NULL; run() has returned (or
     * never started). */
    void (*destroy)(void **self);

    /* Optional (NULL, or absent from a shorter table): validates the
     * component's config, its options included, WITHOUT binding, connecting
     * or creating anything (`swmrbus check`). On a problem returns non-OK
     * and writes one line naming the key path to err. */
    swmrbus_err (*check)(const swmrbus_component_args *args, char *err, size_t errlen);
} swmrbus_component_vtable;

/* The size of the first table of this version (the four functions); a
 * table at least this large is accepted. */
#define SWMRBUS_VTABLE_MIN_SIZE offsetof(swmrbus_component_vtable, check)

/* The symbol an outside plugin exports. */
typedef const swmrbus_component_vtable *(*swmrbus_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
