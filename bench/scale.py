#!/usr/bin/python3
"""bench/scale.py — throughput against the number of sinks S (issue 12,
README "Scale-out").

One command (`make bench-scale`, or `/usr/bin/python3 bench/scale.py --bin
build/bin/swmrbus`) measures, in one run and interleaved (repetition r runs
every row of every size before repetition r+1; figures are medians, ratios
medians of per-repetition ratios against the S = 1 row of the same
repetition):

  S = 1           one bench_sender -> one `swmrbus run` sink (not sharded)
  S = 2, 3 send   S bench_senders, sender k sends frames f % S == k (a detector
                  with S streams), each to its own sink process (shard k of S)
  S = 2, 3 split  one bench_sender -> a splitter process (kind shard) -> S sink
                  processes (shard k of S)

Every sink is its own process with its own directory (all on the one disk
here); tcp on 127.0.0.1. Throughput = frames / (first send -> the last
sink's notification covering all of its rows, i.e. the whole series
durable). Sizes: 512x1024 uint16 (1 MiB) and 1024x2048 uint16 (4 MiB), raw.

Writes bench/results/scale.md and scale.json. Data go under --dir (default
/var/tmp/swmrbus-scale) and are removed after every run. Only Debian's
python3-zmq, -msgpack.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SIZES = [
    dict(key="1 MiB", shape=(512, 1024), frames=600),
    dict(key="4 MiB", shape=(1024, 2048), frames=150),
]
ROWS = [("s1", 1, None), ("s2_send", 2, "send"), ("s3_send", 3, "send"),
        ("s2_split", 2, "split"), ("s3_split", 3, "split")]
LABELS = {"s1": "S=1 (one sink)", "s2_send": "S=2, 2 senders", "s3_send": "S=3, 3 senders",
          "s2_split": "S=2, splitter", "s3_split": "S=3, splitter"}


def _die_with_parent():
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def tcp():
    return "tcp://127.0.0.1:%d" % free_port()


class Run:
    """Processes and files of one measurement; everything goes at close()."""

    def __init__(self, args):
        self.args = args
        self.procs = []
        self.zctx = zmq.Context.instance()
        self.tmp = os.path.join(args.dir, "run")
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp)

    def spawn(self, argv, log, stdout=subprocess.DEVNULL):
        with open(os.path.join(self.tmp, log), "ab") as f:
            p = subprocess.Popen(argv, stdout=stdout, stderr=f, stdin=subprocess.DEVNULL,
                                 preexec_fn=_die_with_parent)
        self.procs.append(p)
        return p

    def swmrbus(self, name, comps):
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump(dict(components=comps), f)
        return self.spawn([self.args.bin, "run", path, "--log-level", "warn"], name + ".log")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def sub(ctx, ep):
    s = ctx.zctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVHWM, 0)
    s.setsockopt(zmq.RECONNECT_IVL, 10)
    s.setsockopt(zmq.SUBSCRIBE, b"swmrbus.")
    s.connect(ep)
    return s


def measure(args, size, row):
    _, S, mode = ROWS[[r[0] for r in ROWS].index(row)]
    frames = max(6, int(size["frames"] * args.scale) // 6 * 6)
    shape = "x".join(map(str, size["shape"]))
    ctx = Run(args)
    subs = []
    try:
        sink_in, notes = [], []
        for k in range(S):
            d = os.path.join(ctx.tmp, "data%d" % k)
            os.makedirs(d)
            ep, nep = tcp(), tcp()
            comp = dict(name="sink%d" % k, kind="sink",
                        **{"in": dict(endpoint=ep, pattern="pull", bind=True)},
                        notify=dict(endpoint=nep, bind=True), dir=d,
                        flush=dict(frames=100, ms=200), linger_ms=100)
            if S > 1:
                comp["shard"] = dict(index=k, count=S)
            ctx.swmrbus("sink%d" % k, [comp])
            sink_in.append(ep)
            notes.append(nep)
            subs.append(sub(ctx, nep))
        time.sleep(0.5)  # sinks bound, subscriptions through
        sender = [os.path.join(args.helpers, "bench_sender"), "--shape", shape, "--dtype",
                  "uint16", "--frames", str(frames)]
        if mode == "split":
            sp_in = tcp()
            ctx.swmrbus("split", [dict(name="split", kind="shard",
                                       **{"in": dict(endpoint=sp_in, bind=True)},
                                       out=dict(endpoints=sink_in, bind=False))])
            time.sleep(0.3)
            snds = [ctx.spawn(sender + ["--endpoint", sp_in], "sender.log", subprocess.PIPE)]
        else:
            snds = [ctx.spawn(sender + ["--endpoint", sink_in[k]] +
                              (["--stride", str(S), "--offset", str(k)] if S > 1 else []),
                              "sender%d.log" % k, subprocess.PIPE) for k in range(S)]
        # wait for each sink's notification covering all of its rows
        want = [len(range(k, frames, S)) for k in range(S)]
        done_t = [None] * S
        deadline = time.monotonic() + 600
        poller = zmq.Poller()
        for s in subs:
            poller.register(s, zmq.POLLIN)
        while None in done_t:
            if time.monotonic() > deadline:
                raise RuntimeError("timed out (%s)" % row)
            for p in ctx.procs:
                if p.poll() not in (None, 0):
                    raise RuntimeError("a process exited with %s (%s)" % (p.returncode, row))
            for s, _ in poller.poll(200):
                k = subs.index(s)
                topic, body = s.recv_multipart()
                n = msgpack.unpackb(body)
                if topic == b"swmrbus.error":
                    raise RuntimeError("sink error: %s" % n.get("error"))
                if topic in (b"swmrbus.flushed", b"swmrbus.closed") and \
                        n.get("complete", 0) >= want[k] and done_t[k] is None:
                    done_t[k] = n["t"]
        t_first = []
        for p in snds:
            out, _ = p.communicate(timeout=120)
            line = [x for x in out.decode().splitlines() if x.startswith("{")][-1]
            t_first.append(json.loads(line)["t_first"])
        dt = (max(done_t) - min(t_first)) / 1e9
        nbytes = frames * size["shape"][0] * size["shape"][1] * 2
        return dict(frames=frames, seconds=dt, fps=frames / dt, gbps=nbytes / dt / 1e9)
    finally:
        for s in subs:
            s.close()
        ctx.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin", "swmrbus"))
    ap.add_argument("--helpers", default=None, help="where bench_sender is (default: beside --bin)")
    ap.add_argument("--dir", default="/var/tmp/swmrbus-scale")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the frame counts")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.helpers = args.helpers or os.path.dirname(args.bin)
    os.makedirs(args.dir, exist_ok=True)

    res = {s["key"]: {r[0]: [] for r in ROWS} for s in SIZES}
    for rep in range(args.reps):
        for size in SIZES:
            for row, _, _ in ROWS:
                r = measure(args, size, row)
                res[size["key"]][row].append(r)
                print("rep %d %-6s %-16s %7.1f frames/s %5.2f GB/s (%d frames, %.2f s)" % (
                    rep + 1, size["key"], LABELS[row], r["fps"], r["gbps"], r["frames"],
                    r["seconds"]), flush=True)

    lines = ["# Throughput against the number of sinks S (bench/scale.py)", "",
             "%s, %s, %d CPUs, %d repetitions, medians; ratio = median of per-repetition "
             "ratios to S=1. Every sink its own process and directory on the one disk "
             "(%s); tcp on 127.0.0.1; raw uint16 frames; flush every 100 frames." % (
                 datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 socket.gethostname(), os.cpu_count(), args.reps, args.dir), "",
             "| size | row | frames/s | GB/s | ratio to S=1 |", "| --- | --- | --- | --- | --- |"]
    summary = {}
    for size in SIZES:
        base = res[size["key"]]["s1"]
        for row, _, _ in ROWS:
            runs = res[size["key"]][row]
            fps = statistics.median(r["fps"] for r in runs)
            gbps = statistics.median(r["gbps"] for r in runs)
            ratio = statistics.median(r["fps"] / b["fps"] for r, b in zip(runs, base))
            summary.setdefault(size["key"], {})[row] = dict(fps=fps, gbps=gbps, ratio=ratio)
            lines.append("| %s | %s | %.1f | %.2f | %.2f |" % (size["key"], LABELS[row], fps,
                                                              gbps, ratio))
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scale.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "scale.json"), "w") as f:
        json.dump(dict(summary=summary, runs=res), f, indent=1)
    shutil.rmtree(os.path.join(args.dir, "run"), ignore_errors=True)


if __name__ == "__main__":
    main()
