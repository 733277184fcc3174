#!/usr/bin/python3
"""Karabo bridge throughput: `karabo-bridge-serve-files RUN -z PUSH` of a
JUNGFRAU run (extra_data's make_jungfrau_run, one module, arrays filled) into
(a) a plain Python PULL client that only counts bytes (the sender alone) and
(b) a swmrbus sink (in.protocol: karabo-bridge) writing the SWMR file.
The same run, one after the other; trains/s and GB/s from the first to the
last train received (a: the client's clock; b: the sink's status, polled).

    /usr/bin/python3 bench/karabo_bench.py --bin build/bin/swmrbus \\
        --trains 60 [--keys data.adc] [--dir /tmp/kbbench]
    /usr/bin/python3 bench/karabo_bench.py --bin build/bin/swmrbus --trains 60 --synthetic
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import karabo_harness as K  # noqa: E402
import swmrbus_harness as H  # noqa: E402


def serve(run, port, key):
    args = ["/usr/bin/karabo-bridge-serve-files", run, "tcp://127.0.0.1:%d" % port, "-z", "PUSH"]
    if key:
        args += ["--key", key]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sender_alone(run, trains, key):
    port = H.free_tcp_port()
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.PULL)
    s.connect("tcp://127.0.0.1:%d" % port)
    p = serve(run, port, key)
    n = nbytes = 0
    t0 = None
    while n < trains:
        parts = s.recv_multipart(copy=False)
        if t0 is None:
            t0 = time.monotonic()
        n += 1
        nbytes += sum(len(x) for x in parts)
    t1 = time.monotonic()
    p.wait()
    s.close()
    return n, nbytes, t1 - t0


def sink(binary, run, trains, key, tmp):
    port = H.free_tcp_port()
    ctl = "ipc://%s/c.sock" % tmp
    cfg = os.path.join(tmp, "sink.yaml")
    with open(cfg, "w") as f:
        f.write("components:\n  - name: kb\n    kind: sink\n"
                "    in: {endpoint: tcp://127.0.0.1:%d, pattern: pull, bind: false, "
                "protocol: karabo-bridge}\n" % port +
                "    control: {endpoint: '%s', bind: true}\n" % ctl +
                "    dir: %s\n    flush: {frames: 10, ms: 200}\n" % os.path.join(tmp, "data"))
    proc = subprocess.Popen([binary, "run", cfg], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, "sink.log"), "w"))
    time.sleep(0.5)
    p = serve(run, port, key)
    t0 = None
    while True:
        st = H.request(ctl, {"cmd": "status"})
        ser = st.get("series") or []
        got = ser[0]["written"] if ser else 0
        if got and t0 is None:
            t0 = time.monotonic()
        if got >= trains:
            t1 = time.monotonic()
            nbytes = ser[0]["bytes"]
            break
        time.sleep(0.01)
    p.wait()
    proc.terminate()
    proc.wait()
    return got, nbytes, t1 - t0


def synthetic(binary, trains, tmp, karabo):
    """A Python PUSH sending prepared 16 MiB trains as fast as it can: Karabo
    bridge trains (one source, data.adc (16, 512, 1024) uint16 and a scalar),
    or (karabo=False) the same arrays as wire protocol v1 frames: the sink's
    own raw rate. Returns (trains, bytes, seconds) from the sink's status."""
    import msgpack
    import numpy as np
    from karabo_bridge.serializer import serialize
    port = H.free_tcp_port()
    ctl = "ipc://%s/c2.sock" % tmp
    cfg = os.path.join(tmp, "sink2.yaml")
    proto = ", protocol: karabo-bridge" if karabo else ""
    with open(cfg, "w") as f:
        f.write("components:\n  - name: kb\n    kind: sink\n"
                "    in: {endpoint: tcp://127.0.0.1:%d, pattern: pull, bind: true%s}\n"
                % (port, proto) +
                "    control: {endpoint: '%s', bind: true}\n" % ctl +
                "    dir: %s\n    flush: {frames: 10, ms: 200}\n" % os.path.join(tmp, "data"))
    proc = subprocess.Popen([binary, "run", cfg], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, "sink2.log"), "w"))
    time.sleep(0.5)
    ctx = zmq.Context.instance()
    tx = ctx.socket(zmq.PUSH)
    tx.setsockopt(zmq.SNDHWM, 4)
    tx.connect("tcp://127.0.0.1:%d" % port)
    adc = (np.arange(16 * 512 * 1024, dtype=np.uint64) % 65521).astype(np.uint16).reshape(
        16, 512, 1024)
    src = "SPB_IRDA_JF4M/DET/JNGFR01:daqOutput"
    if not karabo:
        tx.send(msgpack.packb({"type": "start", "series": 1, "dtype": "uint16",
                               "shape": [16, 512, 1024], "encoding": "raw"}))
    for i in range(trains):
        tid = 10000 + i
        if karabo:
            parts = serialize({src: {"data.trainId": tid, "data.adc": adc}},
                              {src: {"source": src, "timestamp.tid": tid}})
        else:
            parts = [msgpack.packb({"type": "frame", "series": 1, "frame": i}), adc.data]
        tx.send_multipart(parts, copy=False)
    while True:  # until the sink wrote them all
        st = H.request(ctl, {"cmd": "status"})
        ser = st.get("series") or []
        got = ser[0]["written"] if ser else 0
        if got >= trains:
            break
        time.sleep(0.005)
    proc.terminate()
    proc.wait()
    tx.close()
    return got, ser[0]["bytes"]


def timed_synthetic(binary, trains, tmp, karabo):
    """From the first send (after the sink's 0.5 s start) to the last row written."""
    t0 = time.monotonic()
    n, b = synthetic(binary, trains, tmp, karabo)
    return n, b, time.monotonic() - t0 - 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin/swmrbus")
    ap.add_argument("--trains", type=int, default=60)
    ap.add_argument("--keys", default=None, help="serve-files --key glob (data.adc: 16 MiB)")
    ap.add_argument("--dir", default="/tmp/kbbench")
    ap.add_argument("--synthetic", action="store_true",
                    help="a fast Python sender of prepared 16 MiB trains instead of "
                    "serve-files: Karabo bridge decoding against the sink's own raw rate")
    a = ap.parse_args()
    if a.synthetic:
        shutil.rmtree(a.dir, ignore_errors=True)
        os.makedirs(a.dir)
        for label, kb in (("wire v1 frames -> sink", False), ("bridge trains -> sink", True)) * 3:
            shutil.rmtree(os.path.join(a.dir, "data"), ignore_errors=True)
            n, b, dt = timed_synthetic(os.path.abspath(a.bin), a.trains, a.dir, kb)
            print("%-24s %d x %.1f MiB: %.1f trains/s, %.2f GB/s (send start to last written)"
                  % (label, n, b / n / 2**20, n / dt, b / dt / 1e9))
        shutil.rmtree(a.dir, ignore_errors=True)
        return
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    run = K.make_run(os.path.join(a.dir, "run"), trains=a.trains, modules=1)
    sender_alone(run, a.trains, a.keys)  # warms the page cache: both runs read from it
    for label, f in (("sender alone -> PULL client", lambda: sender_alone(run, a.trains, a.keys)),
                     ("sender -> sink (SWMR file)",
                      lambda: sink(os.path.abspath(a.bin), run, a.trains, a.keys, a.dir)),
                     ("sender alone -> PULL client", lambda: sender_alone(run, a.trains, a.keys))):
        shutil.rmtree(os.path.join(a.dir, "data"), ignore_errors=True)
        n, b, dt = f()
        print("%-28s %d trains, %.1f MiB/train: %.1f trains/s, %.2f GB/s"
              % (label, n, b / n / 2**20, (n - 1) / dt, b * (n - 1) / n / dt / 1e9))
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
