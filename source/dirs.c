/* source/dirs.c — the directories a source reads files from (config `dirs`,
 * by default every sink's `dir` of the same config), and the refusal of a
 * notification naming a file outside them.
 *
 * The dirs are made canonical (realpath) when the source is created; a dir
 * that does not exist yet is resolved as far as it exists, the rest appended
 * (those parts cannot be symlinks at that time; if a symlink appears there
 * later, files resolve elsewhere and are refused: it fails safe). A file is
 * inside when its realpath (symlinks and `..` resolved) starts with one of
 * them followed by '/'. Nothing but realpath touches a refused file: it is
 * never opened or stat'ed. A refusal is counted (`rejected.bad_name` in
 * status), logged at most once a second, and reported on the notify socket
 * as `swmrbus.error` (reason bad_name) at most once a second, each carrying
 * in `count` the refusals it stands for (those held back go out at the next
 * tick after their second). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "dirs.h"
#include "source_internal.h"
#include "swmrbus/log.h"

#define MS_NS UINT64_C(1000000)
#define REPORT_NS (1000 * MS_NS)

/* Appends "/" name to a canonical path (no trailing '/', except "/"). */
static bool append(char *path, size_t cap, const char *name, size_t n)
{
    size_t len = strlen(path);
    size_t sep = len > 1 || path[0] != '/';
    if (len + sep + n + 1 > cap) return false;
    if (sep) path[len++] = '/';
    memcpy(path + len, name, n);
    path[len + n] = '\0';
    return true;
}

/* realpath of dir, or of its longest existing prefix with the rest appended
 * ("." dropped, ".." taking back a part appended). */
bool swmrbus__dirs_canonical(const char *dir, char *out)
{
    char buf[PATH_MAX];
    if (realpath(dir, out)) return true;
    if (errno != ENOENT) return false;
    if (strlen(dir) >= sizeof buf) return false;
    strcpy(buf, dir);
    /* Cut parts off the end until what is left resolves. */
    size_t cut = strlen(buf);
    for (;;) {
        while (cut > 0 && buf[cut - 1] == '/') cut--;
        while (cut > 0 && buf[cut - 1] != '/') cut--;
        if (cut == 0) {
            if (buf[0] == '/' || !realpath(".", out)) return false; /* "/" always resolves */
            break;
        }
        char keep = buf[cut];
        buf[cut] = '\0';
        bool ok = realpath(buf, out) != NULL;
        buf[cut] = keep;
        if (ok) break;
        if (errno != ENOENT) return false;
    }
    size_t base = strlen(out);
    const char *p = dir + cut;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(out, '/');
            if (strlen(out) <= base) return false; /* above what exists: refuse */
            if (slash == out) out[1] = '\0';
            else if (slash) *slash = '\0';
        } else if (n > 0 && !append(out, PATH_MAX, p, n)) {
            return false;
        }
        p += n;
        while (*p == '/') p++;
    }
    return true;
}

swmrbus_err swmrbus__src_dirs_init(swmrbus__source *s, char *err, size_t errlen)
{
    const swmrbus_component_cfg *cfg = s->cfg;
    char line[1024] = "";
    size_t used = 0;
    if (cfg->n_dirs == 0) {
        snprintf(err, errlen, "dirs: required (the directories this source reads files from)");
        return SWMRBUS_ECONFIG;
    }
    if (!(s->dirs = calloc(cfg->n_dirs, sizeof *s->dirs))) return SWMRBUS_ENOMEM;
    for (size_t i = 0; i < cfg->n_dirs; i++) {
        char real[PATH_MAX];
        if (!swmrbus__dirs_canonical(cfg->dirs[i], real)) {
            char eb[128];
            snprintf(err, errlen, "dirs[%zu]: cannot resolve %s: %s", i, cfg->dirs[i],
                     strerror_r(errno ? errno : EINVAL, eb, sizeof eb));
            return SWMRBUS_ECONFIG;
        }
        if (!(s->dirs[i] = strdup(real))) return SWMRBUS_ENOMEM;
        s->n_dirs = i + 1;
        int k = snprintf(line + used, sizeof line - used, "%s%s", i ? ", " : "", real);
        if (k > 0 && (size_t)k < sizeof line - used) used += (size_t)k;
    }
    swmrbus_log(SWMRBUS_LOG_INFO, s->name, "reads files only under %s", line);
    return SWMRBUS_OK;
}

void swmrbus__src_dirs_free(swmrbus__source *s)
{
    for (size_t i = 0; i < s->n_dirs; i++) free(s->dirs[i]);
    free(s->dirs);
    s->dirs = NULL;
    s->n_dirs = 0;
}

static bool inside(char *const *dirs, size_t n_dirs, const char *real)
{
    for (size_t i = 0; i < n_dirs; i++) {
        const char *d = dirs[i];
        size_t n = strlen(d);
        if (n == 1 && d[0] == '/') return real[0] == '/' && real[1] != '\0';
        if (strncmp(real, d, n) == 0 && real[n] == '/' && real[n + 1] != '\0') return true;
    }
    return false;
}

swmrbus_err swmrbus__dirs_check(char *const *dirs, size_t n_dirs, const char *file,
                                bool must_exist, char *real, char *why, size_t whylen)
{
    if (realpath(file, real)) {
        if (inside(dirs, n_dirs, real)) return SWMRBUS_OK;
        snprintf(why, whylen, "%s resolves to %s, outside dirs", file, real);
        return SWMRBUS_EINVAL;
    }
    int e = errno;
    if (e == ENOENT && !must_exist) {
        /* Not there yet: its directory must be inside, and the name a plain
         * one; the whole path is resolved again before it is opened. */
        const char *slash = strrchr(file, '/');
        char dir[PATH_MAX];
        if (slash && slash[1] && strcmp(slash + 1, ".") && strcmp(slash + 1, "..") &&
            (size_t)(slash - file) < sizeof dir) {
            memcpy(dir, file, (size_t)(slash - file));
            dir[slash - file] = '\0';
            if (realpath(dir[0] ? dir : "/", real) && append(real, PATH_MAX, slash + 1,
                                                             strlen(slash + 1)) &&
                inside(dirs, n_dirs, real))
                return SWMRBUS_OK;
        }
        snprintf(why, whylen, "%s is not under dirs", file);
        return SWMRBUS_EINVAL;
    }
    char eb[128];
    snprintf(why, whylen, "%s: %s", file, strerror_r(e, eb, sizeof eb));
    return e == ENOENT ? SWMRBUS_EIO : SWMRBUS_EINVAL;
}

swmrbus_err swmrbus__src_dirs_check(const swmrbus__source *s, const char *file, bool must_exist,
                                    char *real, char *why, size_t whylen)
{
    return swmrbus__dirs_check(s->dirs, s->n_dirs, file, must_exist, real, why, whylen);
}

/* One swmrbus.error notification for the refusals not reported yet. */
static void publish(swmrbus__source *s, uint64_t now)
{
    uint64_t count = s->bad_name_unreported;
    s->bad_name_unreported = 0;
    s->bad_name_report_ns = now;
    if (!s->notify || count == 0) return;
    char text[PATH_MAX + 64];
    snprintf(text, sizeof text, "notification naming a file outside dirs refused: %s",
             s->bad_name_file);
    swmrbus_notice n;
    memset(&n, 0, sizeof n);
    n.topic = SWMRBUS_NOTICE_ERROR;
    n.error = (swmrbus_str){text, strlen(text)};
    n.file = (swmrbus_str){s->bad_name_file, strlen(s->bad_name_file)};
    n.has_reason = true;
    n.reason = SWMRBUS_R_BAD_NAME;
    n.count = count;
    n.has_count = true;
    n.via = (swmrbus_str){s->name, strlen(s->name)};
    /* seq, t and sink: the notifier's (one counter with the relays) */
    swmrbus_notifier_publish(s->nt, &n);
}

void swmrbus__src_bad_name(swmrbus__source *s, const char *file, const char *why,
                           uint64_t now)
{
    s->rejected[SWMRBUS_R_BAD_NAME]++;
    s->bad_name_unreported++;
    snprintf(s->bad_name_file, sizeof s->bad_name_file, "%s", file);
    if (s->bad_name_report_ns && now - s->bad_name_report_ns < REPORT_NS) return;
    swmrbus_log(SWMRBUS_LOG_WARN, s->name, "notification refused (bad_name, %" PRIu64
                " so far): %s; the file is not opened", s->rejected[SWMRBUS_R_BAD_NAME], why);
    publish(s, now);
}

void swmrbus__src_dirs_tick(swmrbus__source *s, uint64_t now)
{
    if (s->bad_name_unreported && now - s->bad_name_report_ns >= REPORT_NS) {
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "%" PRIu64 " more notification(s) refused "
                    "(bad_name), the last naming %s", s->bad_name_unreported, s->bad_name_file);
        publish(s, now);
    }
}
