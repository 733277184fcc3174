/* swmrbus/log.h — the one logging path of the library.
 *
 * A library never prints: every component logs through swmrbus_log(), and the
 * host decides where lines go. The default handler writes one line per call to
 * stderr as "2026-11-27T20:06:19.123Z LEVEL [component] text". */
#ifndef SWMRBUS_LOG_H
#define SWMRBUS_LOG_H

#include <stdarg.h>
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum swmrbus_log_level {
    SWMRBUS_LOG_DEBUG = 0,
    SWMRBUS_LOG_INFO = 1,
    SWMRBUS_LOG_WARN = 2,
    SWMRBUS_LOG_ERROR = 3,
} swmrbus_log_level;

/* A log handler receives the level, the component name ("" when none) and
 * the formatted text (no trailing newline). It may be called from any thread
 * at once; it must be thread-safe itself. */
typedef void (*swmrbus_log_fn)(swmrbus_log_level level, const char *component,
                               const char *text, void *user);

/* Installs fn (NULL restores the stderr handler) and the minimum level that
 * reaches it. Call before starting components; not synchronised with
 * concurrent swmrbus_log() calls. */
SWMRBUS_API void swmrbus_log_set_handler(swmrbus_log_fn fn, void *user);
SWMRBUS_API void swmrbus_log_set_level(swmrbus_log_level min_level);

/* Formats and emits one log line. Thread-safe; lines are never interleaved
 * with the default handler. component may be NULL. */
SWMRBUS_API void swmrbus_log(swmrbus_log_level level, const char *component,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
SWMRBUS_API void swmrbus_vlog(swmrbus_log_level level, const char *component,
                              const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
SWMRBUS_API int swmrbus_log_level_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
