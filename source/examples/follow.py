#!/usr/bin/python3
"""Follow swmrbus notifications and read each series' new rows with h5py.

    follow.py ENDPOINT [--exit-after-closed]

ENDPOINT is a notify socket: a sink's, or a source's (which relays them).
Needs the file system the sink writes to; pyzmq, msgpack and h5py (and, for
bslz4 files, the bitshuffle HDF5 plugin, which h5py finds on Debian).
"""
import sys
import time

import h5py
import msgpack
import zmq

sub = zmq.Context().socket(zmq.SUB)
sub.connect(sys.argv[1])
sub.setsockopt(zmq.SUBSCRIBE, b"swmrbus.")
files = {}  # path -> [h5py.File, rows read so far]

while True:
    topic, body = sub.recv_multipart()
    m = msgpack.unpackb(body)
    path = m.get("file")
    if topic == b"swmrbus.error" or path is None:
        print("error:", m.get("reason"), m.get("error"), flush=True)
        continue
    if path not in files:
        # First notification of this file (maybe not its `open`: notifications
        # can be missed, N is cumulative). swmr=True: read while it is written.
        for attempt in range(100):
            try:
                files[path] = [h5py.File(path, "r", libver="latest", swmr=True), 0]
                break
            except OSError:
                time.sleep(0.05)  # the writer is not in SWMR mode yet
        else:
            continue
    f, done = files[path]
    d = f["/entry/data/data"]
    d.refresh()
    # Rows below `complete` are there; at `closed`, all N rows are final
    # (rows never written read as zeros).
    upto = m["frames"] if topic == b"swmrbus.closed" else m["complete"]
    if upto > done:
        rows = d[done:upto]  # numpy array (n, *frame_shape), decoded
        ts = f["/entry/instrument/detector/timestamp"]
        ts.refresh()
        print("%s: rows %d..%d, mean %.3f, last ts %d"
              % (path, done, upto - 1, rows.mean(), ts[upto - 1]), flush=True)
        files[path][1] = upto
    if topic == b"swmrbus.closed":
        f.close()
        del files[path]
        print("%s: closed, %d rows" % (path, m["frames"]), flush=True)
        if "--exit-after-closed" in sys.argv:
            break
