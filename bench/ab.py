#!/usr/bin/python3
"""bench/ab.py — before/after on one machine in one run: bench/run.py's rows for
one size, for several binaries or limits, interleaved (repetition r runs every
variant once before r+1), with medians and per-repetition ratios to the C
ceiling over the same transport.

  /usr/bin/python3 bench/ab.py --size 64x128 --frames 30000 --reps 7 \
      c_tcp sink_tcp:OLD/bin/swmrbus:default sink_tcp::frame c_ipc sink_ipc::frame

A variant is ROW[:BIN[:LIMITS]]: ROW one of bench/run.py's rows, BIN a swmrbus
binary (its directory must hold the bench_* helpers; empty: build/bin/swmrbus),
LIMITS `frame` (max_frame_bytes = the frame size), `default`, or qN (frame and
max_queue_bytes N MiB). Data go under /var/tmp/swmrbus-ab."""
import argparse
import os
import shutil
import statistics
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402
ap = argparse.ArgumentParser()
ap.add_argument("--size", default="64x128")
ap.add_argument("--frames", type=int, default=30000)
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("variants", nargs="+")  # e.g. c_tcp sink_tcp:BIN:limits
a = ap.parse_args()
h, w = map(int, a.size.split("x"))
size = dict(key=a.size, shape=(h, w), enc="raw", frames=a.frames, peer_frames=a.frames)
_fl = R.frame_limits
def _frame_limits(ctx, size):
    d = _fl(ctx, size)
    q = getattr(ctx.args, "queue", None)
    if q:
        d.setdefault("limits", {})["max_queue_bytes"] = q
    return d
R.frame_limits = _frame_limits
def mkctx(binp, limits):
    q = None
    if limits.startswith("q"):
        q = int(limits[1:]) << 20
        limits = "frame"
    args = types.SimpleNamespace(bin=binp, dir="/var/tmp/swmrbus-ab", sink_limits=limits, sink_stdin="devnull", queue=q)
    return R.Ctx(args)
res = {v: [] for v in a.variants}
for rep in range(a.reps):
    for v in a.variants:
        parts = v.split(":")
        rid = parts[0]
        binp = parts[1] if len(parts) > 1 and parts[1] else os.path.join(os.path.dirname(HERE), "build", "bin", "swmrbus")
        lim = parts[2] if len(parts) > 2 else "frame"
        ctx = mkctx(binp, lim)
        try:
            r = R.RUNNERS[rid](ctx, size, a.frames)
            res[v].append(r)
            print("rep %d %-50s %9.0f fps cpu/GB %.2f" % (rep, v, r["fps"], r["cpu_per_gb"]), flush=True)
        except Exception as e:
            print("rep %d %s FAILED %s" % (rep, v, e), flush=True)
            res[v].append(None)
        finally:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
base = a.variants[0]
print("== size %s frames %d reps %d; ratio to %s (median of per-rep ratios)" % (a.size, a.frames, a.reps, base))
for v in a.variants:
    f = [r["fps"] for r in res[v] if r]
    b = base
    rid = v.split(":")[0]
    if rid.startswith("sink_"):
        b = "c_" + rid.split("_")[1]
        if b not in res: b = base
    rat = [x["fps"] / y["fps"] for x, y in zip(res[v], res[b]) if x and y]
    print("%-55s median %9.0f best %9.0f  x %-6s %.2f  cpu/GB %.2f" % (v, statistics.median(f) if f else 0, max(f) if f else 0, b, statistics.median(rat) if rat else 0,
          statistics.median([r["cpu_per_gb"] for r in res[v] if r]) if f else 0))
