/* bench/c_ceiling.c — the "C ceiling": the least a ZeroMQ-to-HDF5-SWMR
 * writer can do. A PULL socket; on the first message it creates a SWMR file
 * with one chunked, extendible dataset (chunk = one frame, the bslz4 filter
 * for --encoding bslz4); then for every two-part message H5Dset_extent(i+1)
 * and H5Dwrite_chunk straight from the received message, and H5Fflush every
 * --flush-every frames. No validation, no timestamps, no notifications.
 *
 *   bench_c_ceiling --endpoint EP --frames N --shape HxW [--dtype uint16]
 *                   [--encoding raw|bslz4] --file PATH [--flush-every 100]
 *       binds EP (tcp:// or ipc://; the sender is bench_sender) and prints
 *       "ready";
 *   bench_c_ceiling --inproc [--payload FILE] ... (the same options)
 *       the sender loop runs in a second thread of this process over
 *       inproc:// (zero-copy), as the frame simulator does inside a host.
 *
 * Then the JSON line after the final flush:
 * {"t_first": wall ns of the first send (inproc only, else 0),
 *  "t_first_recv", "t_done": wall ns after the last H5Fflush, "frames",
 *  "bytes", "cpu_s", "maxrss_kb"} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <hdf5.h>

#include "common.h"

static hid_t dtype_of(const char *n)
{
    if (!strcmp(n, "uint8")) return H5T_STD_U8LE;
    if (!strcmp(n, "uint16")) return H5T_STD_U16LE;
    if (!strcmp(n, "uint32")) return H5T_STD_U32LE;
    if (!strcmp(n, "uint64")) return H5T_STD_U64LE;
    if (!strcmp(n, "int8")) return H5T_STD_I8LE;
    if (!strcmp(n, "int16")) return H5T_STD_I16LE;
    if (!strcmp(n, "int32")) return H5T_STD_I32LE;
    if (!strcmp(n, "int64")) return H5T_STD_I64LE;
    if (!strcmp(n, "float32")) return H5T_IEEE_F32LE;
    return H5T_IEEE_F64LE;
}

static int create(const char *path, const bench_format *f, hid_t *file, hid_t *dset)
{
    int rank = f->ndim + 1;
    hsize_t dims[4] = {0}, maxd[4] = {H5S_UNLIMITED}, chunk[4] = {1};
    for (int i = 1; i < rank; i++) dims[i] = maxd[i] = chunk[i] = f->shape[i - 1];
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    *file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (*file < 0) return -1;
    hid_t space = H5Screate_simple(rank, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    if (!strcmp(f->encoding, "bslz4")) {
        const unsigned cd[2] = {0, 2};
        H5Pset_filter(dcpl, 32008, H5Z_FLAG_OPTIONAL, 2, cd);
    } else if (!strcmp(f->encoding, "lz4")) {
        const unsigned cd[1] = {0};
        H5Pset_filter(dcpl, 32004, H5Z_FLAG_OPTIONAL, 1, cd);
    }
    *dset = H5Dcreate2(*file, "data", dtype_of(f->dtype), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (*dset < 0) return -1;
    return H5Fstart_swmr_write(*file) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *ep = NULL, *path = NULL, *payload_path = NULL;
    int inproc = 0;
    bench_format fmt;
    memset(&fmt, 0, sizeof fmt);
    snprintf(fmt.encoding, sizeof fmt.encoding, "raw");
    bench_set_dtype("uint16", &fmt);
    uint64_t frames = 1000, flush_every = 100;
    int hwm = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--inproc")) {
            inproc = 1;
            continue;
        }
        if (!v) goto usage;
        i++;
        if (!strcmp(a, "--endpoint")) ep = v;
        else if (!strcmp(a, "--payload")) payload_path = v;
        else if (!strcmp(a, "--file")) path = v;
        else if (!strcmp(a, "--shape")) { if (!bench_parse_shape(v, &fmt)) goto usage; }
        else if (!strcmp(a, "--dtype")) { if (!bench_set_dtype(v, &fmt)) goto usage; }
        else if (!strcmp(a, "--encoding")) snprintf(fmt.encoding, sizeof fmt.encoding, "%s", v);
        else if (!strcmp(a, "--frames")) frames = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--flush-every")) flush_every = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--hwm")) hwm = atoi(v);
        else goto usage;
    }
    if (inproc) ep = "inproc://bench-c-ceiling";
    if (!ep || !path || !fmt.ndim || !flush_every) goto usage;
    H5dont_atexit();

    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    int linger = 0;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(pull, ep) != 0) {
        fprintf(stderr, "bench_c_ceiling: bind %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 1;
    }
    bench_inproc_sender sa;
    memset(&sa, 0, sizeof sa);
    uint8_t *payload = NULL;
    if (inproc) {
        size_t len = (size_t)fmt.raw_bytes;
        payload = payload_path ? bench_read_file(payload_path, &len) : bench_make_raw(&fmt);
        if (!payload) {
            fprintf(stderr, "bench_c_ceiling: no payload\n");
            return 1;
        }
        sa.zctx = ctx;
        sa.endpoint = ep;
        sa.o = (bench_send_opts){NULL, &fmt, payload, len, frames, 1, 0, true, false, 0, 0};
        if (bench_inproc_sender_start(&sa) != 0) return 1;
    } else {
        printf("ready\n");
        fflush(stdout);
    }
    hid_t file = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    uint64_t got = 0, bytes = 0, t_first_recv = 0;
    hsize_t dims[4] = {0}, off[4] = {0};
    for (int i = 0; i < fmt.ndim; i++) dims[i + 1] = fmt.shape[i];
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (got < frames) {
        if (zmq_msg_recv(&m, pull, 0) < 0) {
            fprintf(stderr, "bench_c_ceiling: recv: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
        if (!t_first_recv) {
            t_first_recv = bench_wall_ns();
            if (create(path, &fmt, &file, &dset) != 0) {
                fprintf(stderr, "bench_c_ceiling: cannot create %s\n", path);
                return 1;
            }
        }
        if (!zmq_msg_more(&m)) continue; /* start or end */
        zmq_msg_recv(&m, pull, 0);
        dims[0] = got + 1;
        off[0] = got;
        if (H5Dset_extent(dset, dims) < 0 ||
            H5Dwrite_chunk(dset, H5P_DEFAULT, 0, off, zmq_msg_size(&m), zmq_msg_data(&m)) < 0) {
            fprintf(stderr, "bench_c_ceiling: write frame %llu failed\n",
                    (unsigned long long)got);
            return 1;
        }
        bytes += zmq_msg_size(&m);
        got++;
        if (got % flush_every == 0 && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
            fprintf(stderr, "bench_c_ceiling: flush failed\n");
            return 1;
        }
    }
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) return 1;
    uint64_t t_done = bench_wall_ns();
    zmq_msg_close(&m);
    H5Dclose(dset);
    H5Fclose(file);
    if (inproc) {
        zmq_msg_init(&m); /* the end message */
        zmq_msg_recv(&m, pull, 0);
        zmq_msg_close(&m);
        bench_inproc_sender_join(&sa);
    }
    double cpu;
    long rss;
    bench_self_usage(&cpu, &rss);
    printf("{\"t_first\": %llu, \"t_first_recv\": %llu, \"t_done\": %llu, \"frames\": %llu, "
           "\"bytes\": %llu, \"cpu_s\": %.4f, \"maxrss_kb\": %ld}\n",
           (unsigned long long)sa.r.t_first, (unsigned long long)t_first_recv,
           (unsigned long long)t_done,
           (unsigned long long)got, (unsigned long long)bytes, cpu, rss);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    free(payload);
    return 0;
usage:
    fprintf(stderr, "usage: bench_c_ceiling (--endpoint EP | --inproc [--payload FILE]) --frames N\n"
                    "       --shape HxW [--dtype T] [--encoding raw|bslz4|lz4] --file PATH\n"
                    "       [--flush-every 100]\n");
    return 2;
}
