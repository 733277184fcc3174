/* source/h5share.c — see h5share.h. A short list under a mutex: a process
 * follows a handful of files at a time. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "h5share.h"

typedef struct entry {
    struct entry *next;
    unsigned long fileno; /* HDF5's number of the open file */
    haddr_t addr;         /* the dataset's object header in it */
    hid_t id;
    unsigned uses;
    bool retired; /* a refresh failed: no new user gets it */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *list;

hid_t swmrbus__h5share_open(hid_t loc, const char *path)
{
    H5O_info_t oi;
    hid_t id = H5I_INVALID_HID;
    /* The key: the object itself, whatever link or relative name led to it
     * (a soft link /entry/data/data, a group-relative name). */
    if (H5Oget_info_by_name2(loc, path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return H5I_INVALID_HID;
    if (oi.type != H5O_TYPE_DATASET) return H5Dopen2(loc, path, H5P_DEFAULT); /* its error */
    pthread_mutex_lock(&lock);
    for (entry *e = list; e; e = e->next) {
        if (!e->retired && e->fileno == oi.fileno && e->addr == oi.addr) {
            e->uses++;
            id = e->id;
            goto out;
        }
    }
    entry *e = calloc(1, sizeof *e);
    if (!e || (e->id = H5Dopen2(loc, path, H5P_DEFAULT)) < 0) {
        free(e);
        goto out;
    }
    e->fileno = oi.fileno;
    e->addr = oi.addr;
    e->uses = 1;
    e->next = list;
    list = e;
    id = e->id;
out:
    pthread_mutex_unlock(&lock);
    return id;
}

void swmrbus__h5share_close(hid_t d)
{
    if (d < 0) return;
    pthread_mutex_lock(&lock);
    entry **p = &list;
    while (*p && (*p)->id != d) p = &(*p)->next;
    entry *e = *p;
    bool ours = e != NULL, last = false;
    if (e && --e->uses == 0) {
        *p = e->next;
        last = true;
    }
    pthread_mutex_unlock(&lock); /* e is only this thread's when last */
    if (!ours) { /* not one of ours (an object that was not a dataset) */
        if (H5Iis_valid(d) > 0) H5Dclose(d);
        return;
    }
    if (!last) return;
    if (H5Iis_valid(d) > 0) H5Dclose(d);
    free(e);
}

herr_t swmrbus__h5share_refresh(hid_t d)
{
    herr_t rc = H5Drefresh(d);
    /* Retired only when HDF5 let go of the id: while it is valid, another
     * id of the same dataset beside it would bring the bug back; the
     * refresh is tried again next time. */
    if (rc < 0 && H5Iis_valid(d) <= 0) {
        pthread_mutex_lock(&lock);
        for (entry *e = list; e; e = e->next)
            if (e->id == d) e->retired = true;
        pthread_mutex_unlock(&lock);
    }
    return rc;
}
