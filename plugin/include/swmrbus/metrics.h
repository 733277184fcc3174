/* swmrbus/metrics.h — process-wide Prometheus metrics and their HTTP endpoint.
 *
 * One registry per process (per copy of libswmrbus; the swmrbus CLI exports
 * its static copy, so an outside plugin linked to libswmrbus.so and loaded
 * by `swmrbus run` uses the CLI's registry). Components register the
 * metrics they keep once (at create) and get a handle; an update is one
 * atomic operation on that handle, lock-free, from any thread. A NULL handle
 * (registration failed) makes every update a no-op, so component code never
 * checks. Metrics live until the process ends: a handle stays valid after
 * its component is destroyed, and registering the same name and labels
 * again (a component created twice) returns the same handle, values kept.
 *
 * Every metric carries the label component="<name>"; it may carry one more
 * label (e.g. reason="bad_header"). Names follow Prometheus conventions:
 * counters end in _total, units are base units (_bytes, _seconds).
 *
 * swmrbus_metrics_render() writes the text exposition format 0.0.4 (HELP
 * and TYPE for each family, then its samples), plus process_* metrics read
 * from /proc. swmrbus_metrics_server_start() serves it over HTTP at
 * /metrics (libmicrohttpd, its own thread). */
#ifndef SWMRBUS_METRICS_H
#define SWMRBUS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One time series (a name and its label values). Owned by the registry. */
typedef struct swmrbus_metric swmrbus_metric;

/* Most buckets a histogram may have (not counting +Inf). */
#define SWMRBUS_METRICS_MAX_BUCKETS 24

/* Registers a counter (or returns the one registered with the same name and
 * labels) in *out. name: [a-zA-Z_:][a-zA-Z0-9_:]*; help: one line of text;
 * component: the value of the component label (required); label/value: an
 * optional second label (both NULL, or both set; label not "component", not
 * starting with "__"). The first registration of a name sets its help
 * (components sharing a family, e.g. swmrbus_rejected_total, may word it
 * alike or not). EINVAL for a bad name or label, or when name is already
 * registered as another type; ENOMEM. *out is NULL on error. Thread-safe
 * (takes the registry's lock). */
SWMRBUS_API swmrbus_err swmrbus_metrics_counter(const char *name, const char *help,
                                                const char *component, const char *label,
                                                const char *value, swmrbus_metric **out);

/* The same for a gauge: a signed 64-bit value that goes up and down. */
SWMRBUS_API swmrbus_err swmrbus_metrics_gauge(const char *name, const char *help,
                                              const char *component, const char *label,
                                              const char *value, swmrbus_metric **out);

/* The same for a histogram with n_bounds (1..SWMRBUS_METRICS_MAX_BUCKETS)
 * strictly increasing upper bounds (le) in the exported unit, +Inf added.
 * Observations are unsigned integers in a unit of `scale` exported units
 * (scale 1e-9: observe nanoseconds, export seconds). A histogram registered
 * again must give the same bounds and scale (else EINVAL). */
SWMRBUS_API swmrbus_err swmrbus_metrics_histogram(const char *name, const char *help,
                                                  const char *component,
                                                  const double *bounds, size_t n_bounds,
                                                  double scale, swmrbus_metric **out);

/* Counter or gauge: adds n. One atomic add; any thread; NULL: no-op. */
SWMRBUS_API void swmrbus_metrics_add(swmrbus_metric *m, uint64_t n);

/* Gauge: subtracts n. One atomic op; any thread; NULL: no-op. */
SWMRBUS_API void swmrbus_metrics_sub(swmrbus_metric *m, uint64_t n);

/* Gauge: sets the value. One atomic store; any thread; NULL: no-op. Not for
 * counters (a counter only goes up; ignored). */
SWMRBUS_API void swmrbus_metrics_set(swmrbus_metric *m, int64_t v);

/* Histogram: count observations of value v (in the histogram's unit), e.g.
 * a batch of frames that waited the same time. Two atomic adds; any thread;
 * NULL or a non-histogram: no-op. */
SWMRBUS_API void swmrbus_metrics_observe(swmrbus_metric *m, uint64_t v, uint64_t count);

/* The current value of a counter or gauge (0 for NULL); for tests and
 * status. A histogram gives its observation count. */
SWMRBUS_API int64_t swmrbus_metrics_value(const swmrbus_metric *m);

/* Renders every registered metric, and process_* metrics, in Prometheus
 * text format 0.0.4 into a new NUL-terminated buffer: *text (free with
 * free()) of *len bytes. ENOMEM. Thread-safe; updates go on meanwhile (a
 * scrape sees each value at some moment during the render). */
SWMRBUS_API swmrbus_err swmrbus_metrics_render(char **text, size_t *len);

/* ---- the HTTP endpoint ---------------------------------------------------- */

typedef struct swmrbus_metrics_server swmrbus_metrics_server;

/* Checks an endpoint "http://HOST:PORT" (optionally ending in "/" or
 * "/metrics"): HOST an IPv4 address, [IPv6 address] or localhost, PORT
 * 1..65535. On error returns EINVAL and writes the reason to why (no key
 * path: the caller adds it). Thread-safe. */
SWMRBUS_API swmrbus_err swmrbus_metrics_endpoint_check(const char *endpoint, char *why,
                                                       size_t whylen);

/* Starts serving the registry at endpoint (as checked above): GET or HEAD
 * of /metrics answers the text format with Content-Type
 * "text/plain; version=0.0.4; charset=utf-8", any other path 404, other
 * methods 405. Runs in a thread of its own (libmicrohttpd); block the
 * signals the caller takes with sigwait before starting it. On error (the
 * address is taken, ...) returns EINVAL / EIO / ENOMEM with one line in err.
 * Used from one thread with destroy. */
SWMRBUS_API swmrbus_err swmrbus_metrics_server_start(const char *endpoint,
                                                     swmrbus_metrics_server **out, char *err,
                                                     size_t errlen);

/* The TCP port the server listens on. */
SWMRBUS_API uint16_t swmrbus_metrics_server_port(const swmrbus_metrics_server *s);

/* Stops the server (closes the listening socket, ends its thread after the
 * requests in progress), frees *s and sets it to NULL. Safe with NULL. */
SWMRBUS_API void swmrbus_metrics_server_destroy(swmrbus_metrics_server **s);

#ifdef __cplusplus
}
#endif
#endif
