#!/usr/bin/python3
"""bench/source_ab.py — the source chain against the sink alone, before/after,
in one interleaved run, with the CPU of each thread of the swmrbus process.

  flock /tmp/bench.lock /usr/bin/python3 bench/source_ab.py --size 64x128 \
      --frames 30000 --reps 5 sink_tcp:OLD/bin/swmrbus source:OLD/bin/swmrbus \
      sink_tcp source

A variant is ROW[:BIN] (bench/run.py's `sink_tcp` or `source` rows; BIN a
swmrbus binary whose directory holds the bench_* helpers; empty:
build/bin/swmrbus). Repetition r runs every variant once before r+1.

Prints per variant the median frames/s, the median of the per-repetition
ratios to the sink_tcp variant of the same binary (else the first sink_tcp),
the process's CPU s/GB, and the CPU s/GB of its threads by name, read from
/proc/PID/task/*/stat right after the consumer (or the sink) finished: the
source's own thread shows as "src:NAME" (builds that name it), ZeroMQ's I/O
thread as "ZMQbg/IO/0" (shared by the sink's input and the source's output).
"source - sink" is the process's CPU s/GB of the source row minus that of
the sink row, per repetition (the source's whole share, its part of the I/O
thread included). "cores busy" is the CPU of every process of the run
(swmrbus, the sender, the consumer) per second of the run; "helpers s/GB"
the sender's and consumer's, "all processes s/GB" the sum: on a machine
whose cores are all busy, the rows' rates go as the inverse of that sum.

--perf DIR records `perf record -F 999 -g -p PID` of the swmrbus process of
the last repetition of every source variant into DIR/<n>.data."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--size", default="64x128")
ap.add_argument("--frames", type=int, default=30000)
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--perf", default="")
ap.add_argument("variants", nargs="+")
a = ap.parse_args()
h, w = map(int, a.size.split("x"))
size = dict(key=a.size, shape=(h, w), enc="raw", frames=a.frames, peer_frames=a.frames)
GB = R.GB

_threads = {}
_pu = R.proc_usage


def proc_usage(pid):
    """run.py's proc_usage, and each thread's CPU seconds by name."""
    th = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                text = f.read()
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / R.CLK_TCK
            th[name] = th.get(name, 0.0) + cpu
    except OSError:
        pass
    _threads["last"] = th
    return _pu(pid)


R.proc_usage = proc_usage
_start = R.start_swmrbus
_sender = R.sender
_perf = {}


def start_swmrbus(ctx, cfg, stdin_pipe=False):
    p = _start(ctx, cfg, stdin_pipe)
    _perf["pid"] = p.pid
    return p


def sender(ctx, ep, size, frames, rate=0, log=None):
    """perf attaches to the threads there are (it follows no new one): once
    the components run, before the first frame is sent."""
    out = _perf.pop("next", None)
    if out:
        time.sleep(0.5)
        _perf["proc"] = subprocess.Popen(["perf", "record", "-q", "-F", os.environ.get("PERF_FREQ", "999"), "--call-graph",
                                          os.environ.get("PERF_CG", "fp"), "-p",
                                          str(_perf["pid"]), "-o", out],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    return _sender(ctx, ep, size, frames, rate, log)


R.start_swmrbus = start_swmrbus
R.sender = sender
_rj = R.read_json_line
_helpers = []


def read_json_line(p, timeout):
    """run.py's, keeping the helpers' reports (their cpu_s)."""
    d = _rj(p, timeout)
    _helpers.append(d)
    return d


R.read_json_line = read_json_line


def mkctx(binp):
    args = types.SimpleNamespace(bin=binp, dir="/var/tmp/swmrbus-ab", sink_limits="frame",
                                 sink_stdin="devnull", queue=None)
    return R.Ctx(args)


def parse(v):
    parts = v.split(":", 1)
    binp = parts[1] if len(parts) > 1 and parts[1] else os.path.join(os.path.dirname(HERE),
                                                                      "build", "bin", "swmrbus")
    return parts[0], binp


res = {v: [] for v in a.variants}
if a.perf:
    os.makedirs(a.perf, exist_ok=True)
for rep in range(a.reps):
    for i, v in enumerate(a.variants):
        rid, binp = parse(v)
        ctx = mkctx(binp)
        del _helpers[:]
        if a.perf and rep == a.reps - 1 and rid == "source":
            _perf["next"] = os.path.join(a.perf, "%d.data" % i)
        try:
            r = R.RUNNERS[rid](ctx, size, a.frames)
            r["threads"] = dict(_threads.get("last", {}))
            # every process of the run (swmrbus, sender, consumer): CPU
            # seconds per second of the run, of the machine's cores
            hcpu = sum(d.get("cpu_s", 0.0) for d in _helpers)
            r["load"] = (r["cpu_per_gb"] * r["bytes"] / GB + hcpu) / r["seconds"]
            r["helpers_per_gb"] = hcpu / (r["bytes"] / GB)  # sender (+ consumer)
            r["all_per_gb"] = r["cpu_per_gb"] + r["helpers_per_gb"]
            res[v].append(r)
            th = " ".join("%s=%.2f" % (k, c / (r["bytes"] / GB))
                          for k, c in sorted(r["threads"].items()) if c > 0)
            print("rep %d %-40s %9.0f fps cpu/GB %.2f load %.2f [%s]" % (
                rep, v, r["fps"], r["cpu_per_gb"], r["load"], th), flush=True)
        except Exception as e:  # a failed run counts as missing, the rest go on
            print("rep %d %s FAILED %s" % (rep, v, e), flush=True)
            res[v].append(None)
        finally:
            p = _perf.pop("proc", None)
            if p:
                p.wait()
            shutil.rmtree(ctx.tmp, ignore_errors=True)


def base_of(v):
    rid, binp = parse(v)
    for u in a.variants:
        if parse(u) == ("sink_tcp", binp):
            return u
    for u in a.variants:
        if parse(u)[0] == "sink_tcp":
            return u
    return a.variants[0]


def med(x):
    return statistics.median(x) if x else float("nan")


print("== size %s frames %d reps %d" % (a.size, a.frames, a.reps))
for v in a.variants:
    ok = [r for r in res[v] if r]
    b = base_of(v)
    rat = [x["fps"] / y["fps"] for x, y in zip(res[v], res[b]) if x and y]
    diff = [x["cpu_per_gb"] - y["cpu_per_gb"] for x, y in zip(res[v], res[b]) if x and y]
    names = sorted({k for r in ok for k in r["threads"]})
    th = []
    for k in names:
        c = [r["threads"].get(k, 0.0) / (r["bytes"] / GB) for r in ok]
        if med(c) >= 0.005:
            th.append("%s %.2f" % (k, med(c)))
    print("%-40s median %8.0f fps  x %-30s %.2f (per rep: %s)" % (
        v, med([r["fps"] for r in ok]), b, med(rat), " ".join("%.2f" % x for x in rat)))
    print("    cpu/GB %.2f; source - sink %.2f; cores busy %.2f; helpers s/GB %.2f; "
          "all processes s/GB %.2f; threads s/GB: %s" % (
              med([r["cpu_per_gb"] for r in ok]), med(diff) if parse(v)[0] == "source" else 0.0,
              med([r["load"] for r in ok]), med([r["helpers_per_gb"] for r in ok]),
              med([r["all_per_gb"] for r in ok]), ", ".join(th)))
