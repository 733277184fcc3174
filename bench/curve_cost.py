#!/usr/bin/python3
"""bench/curve_cost.py — what CURVE costs a sink's input.

A pyzmq PUSH sends one series of N raw uint16 frames of 256x256 (128 KiB)
to `swmrbus run` with a sink on tcp://127.0.0.1, once plain and once with
curve on `in` (the sender's key in `allow`), alternating for R repetitions;
prints each run and the medians. Time = first send -> the sink's status
shows every frame written.

    /usr/bin/python3 bench/curve_cost.py --bin build/bin/swmrbus [-n 2000] [-r 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin", "swmrbus"))
ap.add_argument("-n", type=int, default=2000)
ap.add_argument("-r", type=int, default=3)
args = ap.parse_args()
os.environ["SWMRBUS_BIN"] = os.path.abspath(args.bin)

import swmrbus_harness as H  # noqa: E402
import zmq  # noqa: E402
import zmq.auth  # noqa: E402

SHAPE = (256, 256)


def run(curve, n):
    tmp = H.make_tempdir("bc")
    keys, allow = os.path.join(tmp, "k"), os.path.join(tmp, "a")
    os.makedirs(keys)
    os.makedirs(allow)
    subprocess.run([H.BIN, "keygen", "sink", "--dir", keys], check=True, capture_output=True)
    zmq.auth.create_certificates(allow, "c")
    in_ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
    ctl = "tcp://127.0.0.1:%d" % H.free_tcp_port()
    cv = (", curve: {secret_key: %s, allow: %s}"
          % (H._yaml(keys + "/sink.key_secret"), H._yaml(allow))) if curve else ""
    cfg = os.path.join(tmp, "c.yaml")
    with open(cfg, "w") as f:
        f.write("components:\n  - name: w\n    kind: sink\n    dir: %s\n"
                "    in: {endpoint: %s%s}\n    control: {endpoint: %s}\n"
                % (H._yaml(tmp + "/d"), H._yaml(in_ep), cv, H._yaml(ctl)))
    p = H.RunProcess(cfg, tmp + "/log", control_ep=ctl).start()
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.sndhwm = 100000
    if curve:
        s.curve_publickey, s.curve_secretkey = zmq.auth.load_certificate(allow + "/c.key_secret")
        s.curve_serverkey = zmq.auth.load_certificate(keys + "/sink.key")[0]
    s.connect(in_ep)
    a = H.frame_data(1, 0, SHAPE).tobytes()
    t0 = time.monotonic()
    s.send_multipart(H.start_msg(1, shape=SHAPE))
    for i in range(n):
        s.send_multipart(H.frame_msg(1, i, a), copy=False)
    s.send_multipart(H.end_msg(1, n))
    H.wait_until(lambda: any(x["written"] == n for x in
                             H.request(ctl, {"cmd": "status"})["series"]), interval=0.05)
    dt = time.monotonic() - t0
    s.close()
    ctx.term()
    p.stop_ok()
    return n * len(a) / dt / 1e6


res = {False: [], True: []}
for _ in range(args.r):
    for curve in (False, True):
        mbs = run(curve, args.n)
        res[curve].append(mbs)
        print("%-5s %d frames x 128 KiB: %4.0f MB/s" % ("curve" if curve else "plain", args.n, mbs))
for curve in (False, True):
    print("median %-5s %4.0f MB/s" % ("curve" if curve else "plain", statistics.median(res[curve])))
