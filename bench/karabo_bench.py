#!/usr/bin/python3
"""Karabo bridge throughput: `karabo-bridge-serve-files RUN -z PUSH` of a
JUNGFRAU run (extra_data's make_jungfrau_run, one module, arrays filled) into
(a) a plain Python PULL client that only counts bytes (the sender alone) and
(b) a swmrbus sink (in.protocol: karabo-bridge) writing the SWMR file.
The same run, one after the other; trains/s and GB/s from the first to the
last train received (a: the client's clock; b: the sink's status, polled).

    /usr/bin/python3 bench/karabo_bench.py --bin build/bin/swmrbus \\
        --trains 60 [--keys data.adc] [--dir /tmp/kbbench]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin/swmrbus")
    ap.add_argument("--trains", type=int, default=60)
    ap.add_argument("--keys", default=None, help="serve-files --key glob (data.adc: 16 MiB)")
    ap.add_argument("--dir", default="/tmp/kbbench")
    a = ap.parse_args()
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
