/* plugin/h5/h5util.c — HDF5 process/thread set-up and error text for the
 * components that use HDF5. See h5util.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <hdf5.h>

#include "h5util.h"

static pthread_once_t h5_once = PTHREAD_ONCE_INIT;

static void h5_init_process(void)
{
    /* Another component may have called it first: then it fails, harmless. */
    (void)H5dont_atexit();
}

void swmrbus__h5_init(void)
{
    static _Thread_local bool quiet;
    pthread_once(&h5_once, h5_init_process);
    if (!quiet) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        quiet = true;
    }
}

void swmrbus__errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

typedef struct h5_first {
    bool found;
    hid_t maj, min;
    char func[64];
    char desc[400];
} h5_first;

static herr_t h5_walk_first(unsigned n, const H5E_error2_t *e, void *user)
{
    h5_first *f = user;
    (void)n;
    if (f->found) return 1;
    f->found = true;
    f->maj = e->maj_num;
    f->min = e->min_num;
    snprintf(f->func, sizeof f->func, "%s", e->func_name ? e->func_name : "?");
    snprintf(f->desc, sizeof f->desc, "%s", e->desc ? e->desc : "");
    return 1;
}

void swmrbus__h5_err(char *err, size_t errlen, const char *fmt, ...)
{
    /* Copy the stack first: every later API call clears the live one. */
    hid_t stack = H5Eget_current_stack();
    if (!err || errlen == 0) goto out;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    h5_first f = {0};
    if (stack >= 0) (void)H5Ewalk2(stack, H5E_WALK_UPWARD, h5_walk_first, &f);
    if (!f.found) {
        snprintf(err, errlen, "%s: HDF5 error", what);
        goto out;
    }
    char maj[128] = "?", min[128] = "?";
    H5E_type_t type;
    if (H5Eget_msg(f.maj, &type, maj, sizeof maj) < 0) snprintf(maj, sizeof maj, "?");
    if (H5Eget_msg(f.min, &type, min, sizeof min) < 0) snprintf(min, sizeof min, "?");
    snprintf(err, errlen, "%s: %s: %s (%s: %s)", what, maj, min, f.func, f.desc);
    /* one line: sec2's texts carry ctime()'s newline */
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
out:
    if (stack >= 0) H5Eclose_stack(stack);
}
