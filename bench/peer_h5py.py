#!/usr/bin/python3
"""bench/peer_h5py.py — the peer a user would write instead of swmrbus:
Debian's python3-zmq + python3-h5py appending frames to an HDF5 file in SWMR
mode (resize + assign; write_direct_chunk for pre-compressed bslz4 frames,
as the h5py docs suggest), flushing every 100 frames. No notifications.

    peer_h5py.py --endpoint EP --frames N --shape HxW [--dtype uint16]
                 [--encoding raw|bslz4] --file PATH [--flush-every 100]

Binds a PULL socket on EP, prints "ready", takes frames until N are written,
flushes, prints one JSON line (the same keys as the C ceilings):
{"t_first_recv", "t_done": wall ns after the last flush, "frames", "bytes",
 "cpu_s", "maxrss_kb"}
"""
import argparse
import json
import resource
import sys
import time

import h5py
import msgpack
import numpy as np
import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--frames", type=int, required=True)
    ap.add_argument("--shape", required=True)
    ap.add_argument("--dtype", default="uint16")
    ap.add_argument("--encoding", default="raw")
    ap.add_argument("--file", required=True)
    ap.add_argument("--flush-every", type=int, default=100)
    a = ap.parse_args()
    shape = tuple(int(x) for x in a.shape.split("x"))
    dtype = np.dtype(a.dtype).newbyteorder("<")

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    pull.bind(a.endpoint)
    print("ready", flush=True)

    f = d = None
    n = nbytes = 0
    t_first_recv = 0
    while n < a.frames:
        parts = pull.recv_multipart()
        if not t_first_recv:
            t_first_recv = time.time_ns()
        if f is None:
            f = h5py.File(a.file, "w", libver="latest")
            kw = {}
            if a.encoding == "bslz4":
                import bitshuffle.h5  # registers filter 32008
                kw = dict(compression=bitshuffle.h5.H5FILTER,
                          compression_opts=(0, bitshuffle.h5.H5_COMPRESS_LZ4))
            d = f.create_dataset("data", shape=(0,) + shape, maxshape=(None,) + shape,
                                 chunks=(1,) + shape, dtype=dtype, **kw)
            f.swmr_mode = True
        if len(parts) != 2:
            continue  # start / end
        h = msgpack.unpackb(parts[0])
        i = h["frame"]
        if i >= d.shape[0]:
            d.resize(i + 1, axis=0)
        if a.encoding == "raw":
            d[i] = np.frombuffer(parts[1], dtype=dtype).reshape(shape)
        else:
            d.id.write_direct_chunk((i,) + (0,) * len(shape), parts[1])
        n += 1
        nbytes += len(parts[1])
        if n % a.flush_every == 0:
            f.flush()
    f.flush()
    t_done = time.time_ns()
    f.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"t_first_recv": t_first_recv, "t_done": t_done, "frames": n,
                      "bytes": nbytes, "cpu_s": ru.ru_utime + ru.ru_stime,
                      "maxrss_kb": ru.ru_maxrss}), flush=True)
    pull.close()
    ctx.term()


if __name__ == "__main__":
    sys.exit(main())
