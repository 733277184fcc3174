/* log.c — the one log function; routes lines to a handler (stderr by default). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "swmrbus/log.h"

static swmrbus_log_fn g_fn;
static void *g_user;
static swmrbus_log_level g_min = SWMRBUS_LOG_INFO;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_name(swmrbus_log_level l)
{
    switch (l) {
    case SWMRBUS_LOG_DEBUG: return "DEBUG";
    case SWMRBUS_LOG_INFO: return "INFO";
    case SWMRBUS_LOG_WARN: return "WARN";
    case SWMRBUS_LOG_ERROR: return "ERROR";
    }
    return "?";
}

void swmrbus_log_set_handler(swmrbus_log_fn fn, void *user)
{
    g_fn = fn;
    g_user = user;
}

void swmrbus_log_set_level(swmrbus_log_level min_level) { g_min = min_level; }

int swmrbus_log_level_parse(const char *name)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0) return i;
    return -1;
}

void swmrbus_vlog(swmrbus_log_level level, const char *component, const char *fmt, va_list ap)
{
    if (level < g_min) return;
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    if (!component) component = "";
    if (g_fn) {
        g_fn(level, component, text, g_user);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&g_lock);
    if (*component)
        fprintf(stderr, "%s.%03ldZ %-5s [%s] %s\n", stamp, ts.tv_nsec / 1000000L,
                level_name(level), component, text);
    else
        fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000L, level_name(level),
                text);
    fflush(stderr);
    pthread_mutex_unlock(&g_lock);
}

void swmrbus_log(swmrbus_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    swmrbus_vlog(level, component, fmt, ap);
    va_end(ap);
}
