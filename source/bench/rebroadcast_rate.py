#!/usr/bin/python3
"""Rebroadcast rate of the source against the write rate of the sink, in
the same run.

    sim --frames--> sink --file (SWMR)--> source --PUSH--> this script (PULL)
                      `--"flushed at N"-------^

The built-in simulator sends FRAMES frames as fast as it can; the sink
writes them, the source reads them back from the file and sends them on.
The sink's rate is taken from its own notifications (`t` of the first
`flushed` this script hears to `t` of the one that reaches N = FRAMES:
frames/s = (N_last - N_first) / dt); the source's from the frames this
script receives (first to last); and the lag of the last frame out behind
the sink's last flush. Every payload's size is checked, every index counted.

    /usr/bin/python3 source/bench/rebroadcast_rate.py BUILD/bin/swmrbus \
        [--frames 20000] [--shape 64x128] [--dtype uint16] [--encoding raw]
        [--split]   # the source in a second process (cross-process SWMR)

Prints one line per measurement and a summary. Needs pyzmq and msgpack.
"""
import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("swmrbus")
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--shape", default="64x128")
    ap.add_argument("--dtype", default="uint16")
    ap.add_argument("--encoding", default="raw")
    ap.add_argument("--split", action="store_true",
                    help="run the source in a process of its own")
    ap.add_argument("--flush-frames", type=int, default=100)
    a = ap.parse_args()
    shape = [int(x) for x in a.shape.split("x")]
    tmp = tempfile.mkdtemp(prefix="swmrbus-rate-")
    ep = lambda n: "ipc://%s/%s.sock" % (tmp, n)  # noqa: E731
    sink = """
  - name: sim
    kind: sim
    out: {endpoint: "inproc://frames", pattern: push, bind: false}
    series: 1
    frames: %d
    shape: %s
    dtype: %s
    encoding: %s
  - name: writer
    kind: sink
    in: {endpoint: "inproc://frames", pattern: pull, bind: true}
    notify: {endpoints: ["inproc://writer-notify", "%s"], bind: true}
    dir: %s/data
    flush: {frames: %d, ms: 200}
    linger_ms: 200
""" % (a.frames, shape, a.dtype, a.encoding, ep("wn"), tmp, a.flush_frames)
    source = """
  - name: reader
    kind: source
    in: {endpoint: "%s", pattern: sub}
    out: {endpoint: "%s", pattern: push, bind: true, hwm: 1000}
    dirs: ["%s/data"]
""" % (ep("wn") if a.split else "inproc://writer-notify", ep("out"), tmp)
    configs = [sink, source] if a.split else [sink + source]

    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 1000)
    pull.connect(ep("out"))
    notes = ctx.socket(zmq.SUB)
    notes.setsockopt(zmq.SUBSCRIBE, b"")
    notes.connect(ep("wn"))

    t_begin = time.monotonic()
    procs = []
    # The source first (when split), so it hears the sink's first notices.
    for k, text in enumerate(reversed(configs)):
        path = os.path.join(tmp, "c%d.yaml" % k)
        with open(path, "w") as f:
            f.write("components:" + text)
        log = open(os.path.join(tmp, "c%d.log" % k), "wb")
        procs.append(subprocess.Popen([a.swmrbus, "run", path], stdout=log,
                                      stderr=subprocess.STDOUT))
        time.sleep(0.5)
    sink_open_t = sink_done_t = None
    first_rx = last_rx = None
    got, nbytes, bad = 0, 0, 0
    deadline = time.monotonic() + 600
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(notes, zmq.POLLIN)
    ended = False
    try:
        while not ended and time.monotonic() < deadline:
            for s, _ in poller.poll(1000):
                if s is notes:
                    topic, m = notes.recv_multipart()
                    m = msgpack.unpackb(m)
                    if topic == b"swmrbus.flushed" and sink_open_t is None:
                        sink_open_t = m["t"] / 1e9
                        sink_first_n = m["frames"]
                    if topic == b"swmrbus.flushed" and m["frames"] >= a.frames and \
                            sink_done_t is None:
                        sink_done_t = m["t"] / 1e9
                    continue
                parts = pull.recv_multipart(copy=False)
                now = time.time()
                h = msgpack.unpackb(parts[0].bytes)
                if h["type"] == "frame":
                    if first_rx is None:
                        first_rx = now
                    last_rx = now
                    got += 1
                    nbytes += len(parts[1].buffer)
                    if h["frame"] != got - 1:
                        bad += 1
                elif h["type"] == "end":
                    ended = True
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
    wall = time.monotonic() - t_begin
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    if not (sink_open_t and sink_done_t and first_rx and ended):
        print("incomplete run: open %s done %s first %s end %s (logs in %s)"
              % (sink_open_t, sink_done_t, first_rx, ended, tmp))
        return 1
    sink_s = sink_done_t - sink_open_t
    sink_n = a.frames - sink_first_n
    src_s = last_rx - first_rx
    lag_s = last_rx - sink_done_t
    mb = nbytes / 1e6
    print("frames %d of %s %s %s (%.1f KiB each), %s" % (
        got, "x".join(map(str, shape)), a.dtype, a.encoding, nbytes / max(got, 1) / 1024,
        "source in its own process" if a.split else "sink and source in one process"))
    fb = mb / max(got, 1)
    print("sink   (flushed N=%d -> N=%d): %7.3f s  %8.0f frames/s  %7.1f MB/s"
          % (sink_first_n, a.frames, sink_s, sink_n / sink_s, sink_n * fb / sink_s))
    print("source (first -> last frame out): %7.3f s  %8.0f frames/s  %7.1f MB/s"
          % (src_s, got / src_s, mb / src_s))
    print("last frame out %.3f s after the sink's last flush" % lag_s)
    print("CPU over the %.1f s run: swmrbus processes %.1f s, this consumer %.1f s (%d cores)"
          % (wall, ch.ru_utime + ch.ru_stime, me.ru_utime + me.ru_stime, os.cpu_count()))
    print("source/sink rate: %.2f; out-of-order or missing: %d"
          % ((got / src_s) / (sink_n / sink_s), bad))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if got == a.frames and bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
