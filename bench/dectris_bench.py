#!/usr/bin/python3
"""bench/dectris_bench.py — a Dectris stream v2 series (bslz4 uint32 images)
into `swmrbus run` (in.protocol: dectris-stream2) against the C ceiling of
the same compressed sizes and against the sender alone, in one run,
interleaved (repetition r runs every row before r+1; medians reported):

  sender alone   this script's CBOR sender -> a PULL socket that drops
                 every message (another process)
  C ceiling      bench_sender (the same chunk, swmrbus wire protocol) ->
                 bench_c_ceiling: H5Dset_extent + H5Dwrite_chunk from the
                 received message + H5Fflush every 100 frames
  sink           this script's CBOR sender -> `swmrbus run` sink, in.protocol
                 dectris-stream2, flush.frames 100; until its `closed`

Throughput = frames / (first send -> last frame durable: the sink's closed
notification, the ceiling's last H5Fflush, the dropper's last receipt).
The CBOR messages are built before the clock starts and sent zero-copy (as
bench_sender sends its chunk). Transport ipc://. Sizes: 4148x4362 (EIGER2 16M) and 1028x1062 (1M) uint32,
one bslz4 chunk made with h5py + bitshuffle from a Poisson image (the
compression ratio is printed), sent as every image of the series.

  /usr/bin/python3 bench/dectris_bench.py --bin build/bin/swmrbus [--reps 3]
      [--frames16 60] [--frames1 1000] [--lam 4] [--dir /var/tmp/swmrbus-dectris-bench]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bitshuffle.h5  # noqa: F401
import cbor2
import h5py
import msgpack
import numpy as np
import zmq
from cbor2 import CBORTag

HERE = os.path.dirname(os.path.abspath(__file__))


def make_chunk(shape, lam):
    rng = np.random.default_rng(42)
    a = rng.poisson(lam, size=shape).astype("<u4")
    with h5py.File("c.h5", "w", driver="core", backing_store=False) as f:
        d = f.create_dataset("d", shape=(1,) + shape, dtype="<u4", chunks=(1,) + shape,
                             compression=32008, compression_opts=(0, 2))
        d[0] = a
        return bytes(d.id.read_direct_chunk((0, 0, 0))[1]), a.nbytes


PLACEHOLDER = 2 ** 40


def templates(shape, chunk, n):
    start = cbor2.dumps({"type": "start", "series_id": 1, "series_unique_id": "bench",
                         "image_size_x": shape[1], "image_size_y": shape[0],
                         "number_of_images": n, "channels": ["threshold_1"],
                         "count_time": 0.001, "frame_time": 0.001})
    img = cbor2.dumps({"type": "image", "series_id": 1, "image_id": PLACEHOLDER,
                       "data": {"threshold_1": CBORTag(40, [list(shape), CBORTag(
                           70, CBORTag(56500, ["bslz4", 4, chunk]))])}})
    mark = b"\x1b" + PLACEHOLDER.to_bytes(8, "big")
    at = img.index(mark) + 1
    end = cbor2.dumps({"type": "end", "series_id": 1})
    return start, img, at, end


def send_series(ep, shape, chunk, n):
    """Connects, sends start + n images + end; returns the first send's
    wall time (ns)."""
    start, img, at, end = templates(shape, chunk, n)
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.SNDHWM, 8)
    s.setsockopt(zmq.LINGER, -1)
    s.setsockopt(zmq.IMMEDIATE, 1)
    s.connect(ep)
    msgs = []
    for i in range(n):  # built before the clock starts: sent zero-copy
        b = bytearray(img)
        b[at:at + 8] = (i + 1).to_bytes(8, "big")
        msgs.append(zmq.Frame(b))
    while not s.poll(100, zmq.POLLOUT):
        pass
    t0 = time.time_ns()
    s.send(start)
    for m in msgs:
        s.send(m, copy=False)
    s.send(end)
    s.close()
    return t0


DROPPER = r"""
import sys, time, zmq
s = zmq.Context.instance().socket(zmq.PULL)
s.bind(sys.argv[1]); print("ready", flush=True)
n = int(sys.argv[2]) + 2
for i in range(n):
    s.recv(copy=False)
print(time.time_ns(), flush=True)
"""


def run_alone(d, shape, chunk, n):
    ep = "ipc://%s/drop.sock" % d
    p = subprocess.Popen([sys.executable, "-c", DROPPER, ep, str(n)], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    t0 = send_series(ep, shape, chunk, n)
    t1 = int(p.stdout.readline())
    p.wait(60)
    return n / ((t1 - t0) / 1e9)


def run_ceiling(d, bindir, shape, payload, n):
    ep = "ipc://%s/c.sock" % d
    shp = "%dx%d" % shape
    c = subprocess.Popen([os.path.join(bindir, "bench_c_ceiling"), "--endpoint", ep, "--frames",
                          str(n), "--shape", shp, "--dtype", "uint32", "--encoding", "bslz4",
                          "--file", os.path.join(d, "c.h5")], stdout=subprocess.PIPE, text=True)
    assert c.stdout.readline().strip() == "ready"
    s = subprocess.run([os.path.join(bindir, "bench_sender"), "--endpoint", ep, "--shape", shp,
                        "--dtype", "uint32", "--frames", str(n), "--payload", payload,
                        "--encoding", "bslz4"], capture_output=True, text=True, timeout=600)
    t0 = json.loads(s.stdout.strip().splitlines()[-1])["t_first"]
    r = json.loads(c.stdout.readline())
    c.wait(60)
    os.unlink(os.path.join(d, "c.h5"))
    return n / ((r["t_done"] - t0) / 1e9)


def run_sink(d, swmrbus, shape, chunk, n):
    data = os.path.join(d, "data")
    os.makedirs(data, exist_ok=True)
    cfg = os.path.join(d, "sink.yaml")
    ep, nep = "ipc://%s/in.sock" % d, "ipc://%s/notify.sock" % d
    with open(cfg, "w") as f:
        f.write("""components:
  - name: eiger
    kind: sink
    in: {endpoint: "%s", pattern: pull, bind: true, protocol: dectris-stream2}
    notify: {endpoint: "%s"}
    dir: %s
    flush: {frames: 100, ms: 200}
    limits: {max_frame_bytes: 80000000, max_memory_bytes: 2147483648}
""" % (ep, nep, data))
    p = subprocess.Popen([swmrbus, "run", cfg], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "sink.log"), "w"))
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"swmrbus.closed")
    sub.connect(nep)
    time.sleep(1.0)  # the sink binds; the subscription arrives
    try:
        t0 = send_series(ep, shape, chunk, n)
        if not sub.poll(600000):
            raise RuntimeError("no closed notification")
        m = msgpack.unpackb(sub.recv_multipart()[1])
        assert m["frames"] == n, m
        t1 = m["t"]
    finally:
        sub.close()
        p.terminate()
        p.wait(60)
        shutil.rmtree(data, ignore_errors=True)
    return n / ((t1 - t0) / 1e9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin", "swmrbus"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--frames16", type=int, default=60)
    ap.add_argument("--frames1", type=int, default=1000)
    ap.add_argument("--lam", type=float, default=4.0, help="Poisson mean of the pixels")
    ap.add_argument("--dir", default="/var/tmp/swmrbus-dectris-bench")
    a = ap.parse_args()
    bindir = os.path.dirname(os.path.abspath(a.bin))
    os.makedirs(a.dir, exist_ok=True)
    d = tempfile.mkdtemp(prefix="db", dir=a.dir)
    try:
        for shape, n in (((4148, 4362), a.frames16), ((1028, 1062), a.frames1)):
            chunk, raw = make_chunk(shape, a.lam)
            payload = os.path.join(d, "chunk.bin")
            with open(payload, "wb") as f:
                f.write(chunk)
            rows = {"sender alone": [], "C ceiling": [], "sink": []}
            for _ in range(a.reps):
                rows["sender alone"].append(run_alone(d, shape, chunk, n))
                rows["C ceiling"].append(run_ceiling(d, bindir, shape, payload, n))
                rows["sink"].append(run_sink(d, a.bin, shape, chunk, n))
            print("%dx%d uint32 bslz4: chunk %d bytes (%.1f %% of %d), %d frames, %d reps" %
                  (shape[0], shape[1], len(chunk), 100.0 * len(chunk) / raw, raw, n, a.reps))
            for k, v in rows.items():
                fps = statistics.median(v)
                print("  %-13s %8.1f frames/s  %6.2f GB/s compressed  %6.2f GB/s raw   (%s)" %
                      (k, fps, fps * len(chunk) / 1e9, fps * raw / 1e9,
                       ", ".join("%.1f" % x for x in v)))
            ratio = [s / c for s, c in zip(rows["sink"], rows["C ceiling"])]
            print("  sink / C ceiling: median %.2f (%s)" %
                  (statistics.median(ratio), ", ".join("%.2f" % x for x in ratio)))
            sys.stdout.flush()
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
