#!/usr/bin/python3
"""bench/run.py — how close swmrbus comes to what this machine can do at all.

One command (`make bench`, or `/usr/bin/python3 bench/run.py --bin
build/bin/swmrbus`) measures, in one run and interleaved (for each frame
size, repetition r runs every row once before repetition r+1 starts; the
figure is the median of the repetitions, a ratio is the median of the
per-repetition ratios, so neighbours in time are compared):

  ceilings   ZeroMQ PUSH->PULL alone over tcp, ipc and inproc (two-part
             messages, dropped on receipt); the "C ceiling", a minimal C
             receiver doing only H5Dset_extent + H5Dwrite_chunk from the
             received message and H5Fflush every 100 frames (SWMR file, no
             validation, no notifications); plain sequential write(2)s of
             the same bytes.
  product    a separate sender process -> `swmrbus run` sink over tcp and
             ipc; the frame simulator -> sink in one process (inproc); a sink
             and a source in one process rebroadcasting the series to a
             downstream consumer (when this build has `kind: source`).
  peer       Debian's python3-h5py + python3-zmq appending in SWMR mode
             (resize + assign, flush every 100 frames).

Sizes: 16x32 (1 KiB), 64x128 (16 KiB), 256x512 (256 KiB), 512x1024 (1 MiB),
1024x2048 (4 MiB), 2048x4096 (16 MiB) uint16 raw and 1024x2048 bslz4
pre-compressed (a chunk made once with h5py + bitshuffle); 1 KiB, 256 KiB and
16 MiB run only the picture's rows, with fewer repetitions. The sinks run with
limits.max_frame_bytes at the frame's size (README "Memory"). Throughput =
frames / (first send -> the moment the last frame is durable: the sink's
`flushed` (or `closed`) notification covering it, the receivers' last
H5Fflush, the last received message for the transport ceilings). CPU
seconds per GB and peak RSS are the receiving process's (the sink's
/proc/<pid>/stat and VmHWM; the helpers' getrusage).

Also: the CPU an idle sink burns; frame -> `flushed` latency (p50/p99) at
flush.ms 10 under a steady 1 kHz stream; the sink's RSS sampled across 10^6
frames of 8x8 uint16 (and its peak with the default queue limit).

Options for a shorter look: --reps 1 --scale 0.2, --sizes 64x128, --rows
sink_tcp,c_tcp (diagnostic rows sink_tcp_pipe, sim_inproc_pipe run the sink
with a stdin that never becomes readable), --skip table,latency,rss.

Writes the report to bench/results/latest.md too, and the picture (GB/s
against frame size, log axes: sink over tcp/ipc, the source chain, the C
ceiling, ZeroMQ alone, the h5py peer) to bench/results/latest.png with
Debian's python3-matplotlib. Data files go under
--dir (default /var/tmp/swmrbus-bench: a real disk with its page cache) and
are removed after every run. Uses only Debian's python3-zmq, -msgpack,
-h5py, -numpy (and bitshuffle for the bslz4 chunk).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import numpy as np
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
GB = 1e9

# frames per run: ~1-3 s each on a 2-core VM; multiples of flush.frames
# (100) so the flush that covers the last frame happens on its arrival.
SIZES = [
    # plot=True: a point of the throughput-vs-frame-size picture (1 KiB ... 16 MiB);
    # sizes marked "rows" run only the picture's rows, "reps" caps the repetitions
    # (fewer at large sizes: they are the long runs and the least noisy).
    dict(key="16x32", shape=(16, 32), enc="raw", frames=40000, peer_frames=10000,
         rows="plot", reps=2),
    dict(key="64x128", shape=(64, 128), enc="raw", frames=30000, peer_frames=10000),
    dict(key="256x512", shape=(256, 512), enc="raw", frames=4000, peer_frames=2000,
         rows="plot", reps=2),
    dict(key="512x1024", shape=(512, 1024), enc="raw", frames=1500, peer_frames=1000),
    dict(key="1024x2048", shape=(1024, 2048), enc="raw", frames=400, peer_frames=300),
    dict(key="2048x4096", shape=(2048, 4096), enc="raw", frames=100, peer_frames=60,
         rows="plot", reps=1),
    dict(key="1024x2048 bslz4", shape=(1024, 2048), enc="bslz4", frames=1000,
         peer_frames=600),
]

# the picture's rows (bench/results/latest.png): (row id, label, style)
PLOT_ROWS = [
    ("sink_tcp", "sink, sender -> tcp", dict(color="C0", marker="o", lw=2.2)),
    ("sink_ipc", "sink, sender -> ipc", dict(color="C0", marker="s", ls="--", lw=2.2)),
    ("source", "sink -> source -> consumer (tcp)", dict(color="C2", marker="^", lw=1.8)),
    ("c_tcp", "C ceiling (one thread), tcp", dict(color="k", marker="x", lw=1.2)),
    ("c_ipc", "C ceiling (one thread), ipc", dict(color="k", marker="+", ls="--", lw=1.2)),
    ("zmq_tcp", "ZeroMQ PUSH->PULL alone, tcp", dict(color="0.6", marker=".", lw=1.2)),
    ("peer", "h5py + pyzmq peer, tcp", dict(color="C3", marker="v", lw=1.5)),
]

ROWS = [
    # (id, label, group)
    ("zmq_tcp", "ZeroMQ PUSH->PULL tcp", "ceiling"),
    ("zmq_ipc", "ZeroMQ PUSH->PULL ipc", "ceiling"),
    ("zmq_inproc", "ZeroMQ PUSH->PULL inproc (zero-copy)", "ceiling"),
    ("c_tcp", "C ceiling tcp", "ceiling"),
    ("c_ipc", "C ceiling ipc", "ceiling"),
    ("c_inproc", "C ceiling inproc", "ceiling"),
    ("seqwrite", "sequential write(2)", "ceiling"),
    ("sink_tcp", "sink, sender -> tcp", "product"),
    ("sink_ipc", "sink, sender -> ipc", "product"),
    ("sim_inproc", "sim -> sink, inproc", "product"),
    ("source", "sink -> source -> consumer (tcp)", "product"),
    ("peer", "h5py + pyzmq peer (tcp)", "peer"),
]


# diagnostic rows, only when named in --rows: the sink with a stdin that never
# becomes readable (a receive loop that polls fd 0 spins on /dev/null)
EXTRA_ROWS = [
    ("sink_tcp_pipe", "sink, sender -> tcp (stdin a silent pipe)", "product"),
    ("sim_inproc_pipe", "sim -> sink, inproc (stdin a silent pipe)", "product"),
]


class NA(Exception):
    """This row does not apply here (printed as n/a with the reason)."""


class Ctx:
    def __init__(self, args):
        self.args = args
        self.bin = os.path.abspath(args.bin)
        self.bindir = os.path.dirname(self.bin)
        self.tmp = tempfile.mkdtemp(prefix="swmrbus-bench-")  # configs, ipc, payloads
        self.data = args.dir
        self.zctx = zmq.Context.instance()
        self.procs = []
        self.has_source = None
        self.payloads = {}

    def helper(self, name):
        p = os.path.join(self.bindir, name)
        if not os.access(p, os.X_OK):
            sys.exit("bench: %s is missing (build the tree first: make build)" % p)
        return p


# ---- processes ---------------------------------------------------------------

def _die_with_parent():
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def spawn(ctx, argv, log=None, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE):
    out = open(log, "ab") if log else subprocess.DEVNULL
    p = subprocess.Popen(argv, stdout=stdout if stdout is not None else out, stderr=out,
                         stdin=stdin, preexec_fn=_die_with_parent)
    if log:
        out.close()
    ctx.procs.append(p)
    return p


def reap(ctx, p, timeout=10.0, sig=signal.SIGTERM):
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in ctx.procs:
        ctx.procs.remove(p)


def read_json_line(p, timeout):
    """The last JSON line a helper prints; waits for it to exit."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise RuntimeError("%s timed out" % os.path.basename(p.args[0]))
    for line in reversed(out.decode().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("%s printed no result (exit %s)" % (os.path.basename(p.args[0]),
                                                          p.returncode))


def wait_ready(p, timeout=10.0):
    """Reads the helper's "ready" line."""
    t = time.monotonic() + timeout
    line = p.stdout.readline()
    if line.strip() != b"ready" or time.monotonic() > t:
        raise RuntimeError("%s did not get ready" % os.path.basename(p.args[0]))


def proc_usage(pid):
    """(cpu seconds, VmHWM KiB, VmRSS KiB) of a live process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    hwm = rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return cpu, hwm, rss


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def endpoint(ctx, transport, name):
    if transport == "tcp":
        return "tcp://127.0.0.1:%d" % free_port()
    if transport == "ipc":
        return "ipc://%s/%s.ipc" % (ctx.tmp, name)
    return "inproc://%s" % name


def warm_up(ctx, gb):
    """Writes and deletes a file of `gb` GB once: a VM may back guest memory
    lazily, and the first touch of a page then costs several times a later
    one (seen here: 0.5 vs 3.9 GB/s into tmpfs). Without this, whichever row
    first needs fresh page-cache pages pays for it."""
    clean_data(ctx)
    n = int(gb * GB / (4 << 20))
    try:
        r = read_json_line(spawn(ctx, [ctx.helper("bench_seqwrite"), "--file",
                                       os.path.join(ctx.data, "warm-up.bin"), "--frames",
                                       str(n), "--bytes", str(4 << 20)]), 300)
    finally:
        clean_data(ctx)
    return r["bytes"] / ((r["t_done"] - r["t_first"]) / 1e9) / GB


def clean_data(ctx):
    if os.path.isdir(ctx.data):
        shutil.rmtree(ctx.data, ignore_errors=True)
    os.makedirs(ctx.data, exist_ok=True)


# ---- payloads ------------------------------------------------------------------

def bslz4_payload(ctx, shape):
    """One 1024x2048 uint16 frame (Poisson, mean 2: a detector's low-count
    image) compressed once by h5py + bitshuffle (filter 32008), read back
    with read_direct_chunk: the bytes a detector sending bslz4 emits."""
    key = ("bslz4", shape)
    if key in ctx.payloads:
        return ctx.payloads[key]
    import h5py
    import bitshuffle.h5
    rng = np.random.default_rng(20240601)
    frame = rng.poisson(2.0, size=shape).astype("<u2")
    f = h5py.File(os.path.join(ctx.tmp, "mkchunk.h5"), "w", driver="core",
                  backing_store=False)
    d = f.create_dataset("d", shape=(1,) + shape, chunks=(1,) + shape, dtype="<u2",
                         compression=bitshuffle.h5.H5FILTER,
                         compression_opts=(0, bitshuffle.h5.H5_COMPRESS_LZ4))
    d[0] = frame
    _, chunk = d.id.read_direct_chunk((0,) * (len(shape) + 1))
    f.close()
    path = os.path.join(ctx.tmp, "frame_%s_bslz4.bin" % "x".join(map(str, shape)))
    with open(path, "wb") as fp:
        fp.write(chunk)
    ctx.payloads[key] = (path, len(chunk))
    return ctx.payloads[key]


def format_args(size):
    """--shape, --dtype, --encoding for a size."""
    return ["--shape", "x".join(map(str, size["shape"])), "--dtype", "uint16", "--encoding",
            size["enc"]]


def size_args(ctx, size):
    """format_args plus the --payload file of a pre-compressed size."""
    a = format_args(size)
    if size["enc"] != "raw":
        a += ["--payload", bslz4_payload(ctx, size["shape"])[0]]
    return a


def frame_bytes(ctx, size):
    if size["enc"] == "raw":
        return int(np.prod(size["shape"])) * 2
    return bslz4_payload(ctx, size["shape"])[1]


def sender(ctx, ep, size, frames, rate=0, log=None):
    argv = [ctx.helper("bench_sender"), "--endpoint", ep, "--frames", str(frames)]
    argv += size_args(ctx, size)
    if rate:
        argv += ["--rate", str(rate)]
    return spawn(ctx, argv, log)


def result(frames, nbytes, t0, t1, cpu_s, rss_kb, **extra):
    dt = (t1 - t0) / 1e9
    r = dict(frames=frames, bytes=nbytes, seconds=dt, gbps=nbytes / dt / GB,
             fps=frames / dt, cpu_per_gb=cpu_s / (nbytes / GB), rss_mb=rss_kb / 1024.0)
    r.update(extra)
    return r


# ---- ceilings ------------------------------------------------------------------

def run_zmq(ctx, size, frames, transport):
    if transport == "inproc":
        p = spawn(ctx, [ctx.helper("bench_zmq_ceiling"), "--inproc", "--frames", str(frames)]
                  + size_args(ctx, size))
        r = read_json_line(p, 120)
        return result(r["frames"], r["bytes"], r["t_first"], r["t_done"], r["cpu_s"],
                      r["maxrss_kb"])
    ep = endpoint(ctx, transport, "zmq")
    recv = spawn(ctx, [ctx.helper("bench_zmq_ceiling"), "--endpoint", ep, "--frames",
                       str(frames)])
    try:
        wait_ready(recv)
        snd = sender(ctx, ep, size, frames)
        s = read_json_line(snd, 120)
        r = read_json_line(recv, 120)
    finally:
        reap(ctx, recv)
    return result(r["frames"], r["bytes"], s["t_first"], r["t_done"], r["cpu_s"],
                  r["maxrss_kb"])


def run_c_ceiling(ctx, size, frames, transport):
    clean_data(ctx)
    argv = [ctx.helper("bench_c_ceiling"), "--frames", str(frames), "--file",
            os.path.join(ctx.data, "c_ceiling.h5")]
    if transport == "inproc":
        try:
            r = read_json_line(spawn(ctx, argv + ["--inproc"] + size_args(ctx, size)), 120)
        finally:
            clean_data(ctx)
        return result(r["frames"], r["bytes"], r["t_first"], r["t_done"], r["cpu_s"],
                      r["maxrss_kb"])
    ep = endpoint(ctx, transport, "c")
    recv = spawn(ctx, argv + ["--endpoint", ep] + format_args(size))
    try:
        wait_ready(recv)
        snd = sender(ctx, ep, size, frames)
        s = read_json_line(snd, 120)
        r = read_json_line(recv, 120)
    finally:
        reap(ctx, recv)
        clean_data(ctx)
    return result(r["frames"], r["bytes"], s["t_first"], r["t_done"], r["cpu_s"],
                  r["maxrss_kb"])


def run_seqwrite(ctx, size, frames):
    clean_data(ctx)
    argv = [ctx.helper("bench_seqwrite"), "--file", os.path.join(ctx.data, "seq.bin"),
            "--frames", str(frames)]
    if size["enc"] == "raw":
        argv += ["--bytes", str(frame_bytes(ctx, size))]
    else:
        argv += ["--payload", bslz4_payload(ctx, size["shape"])[0]]
    try:
        r = read_json_line(spawn(ctx, argv), 120)
    finally:
        clean_data(ctx)
    return result(r["frames"], r["bytes"], r["t_first"], r["t_done"], r["cpu_s"],
                  r["maxrss_kb"])


def run_peer(ctx, size, frames):
    clean_data(ctx)
    ep = endpoint(ctx, "tcp", "peer")
    recv = spawn(ctx, ["/usr/bin/python3", os.path.join(HERE, "peer_h5py.py"), "--endpoint",
                       ep, "--frames", str(frames), "--shape",
                       "x".join(map(str, size["shape"])), "--encoding", size["enc"],
                       "--file", os.path.join(ctx.data, "peer.h5")])
    try:
        wait_ready(recv, 30)
        snd = sender(ctx, ep, size, frames)
        s = read_json_line(snd, 300)
        r = read_json_line(recv, 300)
    finally:
        reap(ctx, recv)
        clean_data(ctx)
    return result(r["frames"], r["bytes"], s["t_first"], r["t_done"], r["cpu_s"],
                  r["maxrss_kb"])


# ---- the product -----------------------------------------------------------------

class Notes:
    """A SUB on a sink's notify endpoint, connected before the sink starts
    (ZeroMQ reconnects until the PUB is bound)."""

    def __init__(self, ctx, ep):
        self.sub = ctx.zctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.setsockopt(zmq.RECONNECT_IVL, 10)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"swmrbus.")
        self.mon = self.sub.get_monitor_socket(zmq.EVENT_CONNECTED)
        self.sub.connect(ep)
        self.connected = False

    def wait_connected(self, timeout=10.0):
        from zmq.utils.monitor import recv_monitor_message
        deadline = time.monotonic() + timeout
        while not self.connected:
            left = deadline - time.monotonic()
            if left <= 0 or not self.mon.poll(int(left * 1000)):
                raise RuntimeError("the sink's notify socket did not come up")
            if recv_monitor_message(self.mon)["event"] == zmq.EVENT_CONNECTED:
                self.connected = True
        time.sleep(0.05)  # the subscription travels to the PUB

    def wait_for(self, pred, timeout, proc=None):
        """Returns (recv wall ns, topic, note) of the first note with pred."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("swmrbus exited (%s)" % proc.returncode)
            if not self.sub.poll(200):
                continue
            topic, body = self.sub.recv_multipart()
            t = time.time_ns()
            note = msgpack.unpackb(body)
            if topic == b"swmrbus.error":
                raise RuntimeError("sink error: %s" % note.get("error"))
            if pred(topic, note):
                return t, topic, note
        raise RuntimeError("timed out waiting for a notification")

    def close(self):
        self.sub.disable_monitor()
        self.mon.close()
        self.sub.close()


def covers(frames):
    return lambda topic, n: (topic in (b"swmrbus.flushed", b"swmrbus.closed")
                             and n.get("complete", 0) >= frames)


def sink_cfg(ctx, name, in_ep, notify_ep, flush_ms=200, extra=(), **keys):
    comps = [dict(name=name, kind="sink",
                  **{"in": dict(endpoint=in_ep, pattern="pull", bind=True)},
                  notify=dict(endpoint=notify_ep, bind=True),
                  dir=ctx.data, flush=dict(frames=100, ms=flush_ms), linger_ms=100, **keys)]
    comps += list(extra)
    path = os.path.join(ctx.tmp, "%s.json" % name)
    with open(path, "w") as f:
        json.dump(dict(components=comps), f)
    return path


def frame_limits(ctx, size):
    """The sink's limits for a size: limits.max_frame_bytes at the frame's raw size
    (README "Memory": the memory bound sizes every message it counts by it; at the
    default 64 MiB the input's receive pipe holds 2 messages, which costs small frames
    throughput). --sink-limits default leaves the defaults."""
    if ctx.args.sink_limits == "default":
        return {}
    return dict(limits=dict(max_frame_bytes=int(np.prod(size["shape"])) * 2))


def start_swmrbus(ctx, cfg, stdin_pipe=False):
    """`swmrbus run CFG`, stdin /dev/null as under a service manager (or,
    with --sink-stdin pipe, a pipe that never becomes readable)."""
    log = os.path.join(ctx.tmp, "swmrbus.log")
    pipe = stdin_pipe or ctx.args.sink_stdin == "pipe"
    stdin = subprocess.PIPE if pipe else subprocess.DEVNULL
    return spawn(ctx, [ctx.bin, "run", cfg, "--log-level", "warn"], log, stdin=stdin,
                 stdout=None)


def run_idle(ctx, seconds=1.0):
    """CPU seconds per second of a sink with nothing to do (the table's
    config: no control socket)."""
    clean_data(ctx)
    nep = endpoint(ctx, "tcp", "notify")
    notes = Notes(ctx, nep)
    sk = start_swmrbus(ctx, sink_cfg(ctx, "idle", endpoint(ctx, "tcp", "idle-in"), nep))
    try:
        notes.wait_connected()
        c0, _, _ = proc_usage(sk.pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        c1, _, _ = proc_usage(sk.pid)
        return (c1 - c0) / (time.monotonic() - t0)
    finally:
        notes.close()
        reap(ctx, sk)
        clean_data(ctx)


def run_sink(ctx, size, frames, transport, stdin_pipe=False):
    clean_data(ctx)
    in_ep = endpoint(ctx, transport, "sink-in")
    nep = endpoint(ctx, "tcp", "notify")
    notes = Notes(ctx, nep)
    sk = start_swmrbus(ctx, sink_cfg(ctx, "bench", in_ep, nep, **frame_limits(ctx, size)),
                       stdin_pipe)
    try:
        notes.wait_connected()
        cpu0 = proc_usage(sk.pid)[0]  # the run's CPU only, not the start-up's
        snd = sender(ctx, in_ep, size, frames)
        _, _, note = notes.wait_for(covers(frames), 300, sk)
        cpu, hwm, _ = proc_usage(sk.pid)
        cpu -= cpu0
        s = read_json_line(snd, 60)
    finally:
        notes.close()
        reap(ctx, sk)
        clean_data(ctx)
    return result(frames, frames * frame_bytes(ctx, size), s["t_first"], note["t"], cpu, hwm)


def run_sim(ctx, size, frames, stdin_pipe=False):
    if size["enc"] != "raw":
        raise NA("the sim generates raw and lz4 only")
    import h5py
    clean_data(ctx)
    nep = endpoint(ctx, "tcp", "notify")
    sim = dict(name="sim", kind="sim", out=dict(endpoint="inproc://frames", pattern="push",
                                                  bind=False),
               series=1, frames=frames, shape=list(size["shape"]), dtype="uint16",
               encoding="raw", rate_hz=0)
    notes = Notes(ctx, nep)
    sk = start_swmrbus(ctx, sink_cfg(ctx, "bench", "inproc://frames", nep, extra=[sim],
                                     **frame_limits(ctx, size)), stdin_pipe)
    try:
        _, _, note = notes.wait_for(covers(frames), 300, sk)
        cpu, hwm, _ = proc_usage(sk.pid)
        reap(ctx, sk)
        # the sim stamps every frame (ts, wall ns) just before sending it
        with h5py.File(note["file"], "r") as f:
            t0 = int(f["/entry/instrument/detector/timestamp"][0])
    finally:
        notes.close()
        reap(ctx, sk)
        clean_data(ctx)
    return result(frames, frames * frame_bytes(ctx, size), t0, note["t"], cpu, hwm,
                  note_cpu="includes the sim thread")


def probe_source(ctx):
    """True when this build's host knows `kind: source`."""
    if ctx.has_source is not None:
        return ctx.has_source
    cfg = os.path.join(ctx.tmp, "probe.json")
    with open(cfg, "w") as f:
        json.dump(dict(components=[dict(name="probe", kind="source", dirs=[ctx.tmp],
                                        **{"in": dict(endpoint="inproc://probe-notify",
                                                      pattern="sub")},
                                        out=dict(endpoint="inproc://probe-out",
                                                 pattern="push", bind=True))]), f)
    log = os.path.join(ctx.tmp, "probe.log")
    p = spawn(ctx, [ctx.bin, "run", cfg, "--log-level", "warn"], log)
    try:
        p.wait(1.0)
    except subprocess.TimeoutExpired:
        pass
    alive = p.poll() is None
    reap(ctx, p)
    with open(log, errors="replace") as f:
        text = f.read()
    ctx.has_source = alive or "unknown kind" not in text
    return ctx.has_source


def run_source(ctx, size, frames):
    if not probe_source(ctx):
        raise NA("no kind: source in this build")
    clean_data(ctx)
    in_ep = endpoint(ctx, "tcp", "sink-in")
    nep = endpoint(ctx, "tcp", "notify")
    out_ep = endpoint(ctx, "tcp", "consumer")
    src = dict(name="relay", kind="source",
               **{"in": dict(endpoint="inproc://bench-notify", pattern="sub")},
               out=dict(endpoint=out_ep, pattern="push", bind=False),
               notify=dict(endpoint=nep, bind=True))
    comps = [dict(name="bench", kind="sink",
                  **{"in": dict(endpoint=in_ep, pattern="pull", bind=True)},
                  notify=dict(endpoint="inproc://bench-notify", bind=True),
                  dir=ctx.data, flush=dict(frames=100, ms=200), linger_ms=100,
                  **frame_limits(ctx, size)), src]
    cfg = os.path.join(ctx.tmp, "source.json")
    with open(cfg, "w") as f:
        json.dump(dict(components=comps), f)
    consumer = spawn(ctx, [ctx.helper("bench_zmq_ceiling"), "--endpoint", out_ep, "--frames",
                           str(frames)])
    sk = None
    try:
        wait_ready(consumer)
        sk = start_swmrbus(ctx, cfg)
        snd = sender(ctx, in_ep, size, frames)
        s = read_json_line(snd, 300)
        r = read_json_line(consumer, 300)
        cpu, hwm, _ = proc_usage(sk.pid)
    finally:
        reap(ctx, consumer)
        if sk:
            reap(ctx, sk)
        clean_data(ctx)
    return result(frames, frames * frame_bytes(ctx, size), s["t_first"], r["t_done"], cpu,
                  hwm)


RUNNERS = {
    "zmq_tcp": lambda c, s, n: run_zmq(c, s, n, "tcp"),
    "zmq_ipc": lambda c, s, n: run_zmq(c, s, n, "ipc"),
    "zmq_inproc": lambda c, s, n: run_zmq(c, s, n, "inproc"),
    "c_tcp": lambda c, s, n: run_c_ceiling(c, s, n, "tcp"),
    "c_ipc": lambda c, s, n: run_c_ceiling(c, s, n, "ipc"),
    "c_inproc": lambda c, s, n: run_c_ceiling(c, s, n, "inproc"),
    "seqwrite": run_seqwrite,
    "sink_tcp": lambda c, s, n: run_sink(c, s, n, "tcp"),
    "sink_ipc": lambda c, s, n: run_sink(c, s, n, "ipc"),
    "sim_inproc": run_sim,
    "source": run_source,
    "sink_tcp_pipe": lambda c, s, n: run_sink(c, s, n, "tcp", stdin_pipe=True),
    "sim_inproc_pipe": lambda c, s, n: run_sim(c, s, n, stdin_pipe=True),
    "peer": run_peer,
}


# ---- latency and memory -------------------------------------------------------------

def run_latency(ctx, frames, rate=1000, flush_ms=10):
    """Frame -> flushed latency: the sender stamps each frame's header with
    its send time (ts, wall ns), the sink stores it; the latency of frame i
    is the first `flushed` note with complete > i, taken at its publication
    (`t`) and at its receipt by a subscriber."""
    import h5py
    clean_data(ctx)
    size = dict(shape=(64, 128), enc="raw")
    in_ep = endpoint(ctx, "tcp", "lat-in")
    nep = endpoint(ctx, "tcp", "notify")
    notes = Notes(ctx, nep)
    sk = start_swmrbus(ctx, sink_cfg(ctx, "bench", in_ep, nep, flush_ms=flush_ms))
    got = []
    try:
        notes.wait_connected()
        snd = sender(ctx, in_ep, size, frames, rate=rate)

        def pred(topic, n):
            if topic == b"swmrbus.flushed":
                got.append((time.time_ns(), n["t"], n["complete"]))
            return n.get("complete", 0) >= frames
        _, _, note = notes.wait_for(pred, frames / rate + 60, sk)
        read_json_line(snd, 60)
        reap(ctx, sk)
        with h5py.File(note["file"], "r") as f:
            ts = f["/entry/instrument/detector/timestamp"][:].astype(np.int64)
    finally:
        notes.close()
        reap(ctx, sk)
        clean_data(ctx)
    lat_pub = np.empty(frames)
    lat_rcv = np.empty(frames)
    i = 0
    for rcv, pub, complete in got:
        while i < min(complete, frames):
            lat_pub[i] = (pub - ts[i]) / 1e6
            lat_rcv[i] = (rcv - ts[i]) / 1e6
            i += 1
    lat_pub, lat_rcv = lat_pub[:i], lat_rcv[:i]
    return dict(frames=i, p50_pub=float(np.percentile(lat_pub, 50)),
                p99_pub=float(np.percentile(lat_pub, 99)),
                p50_rcv=float(np.percentile(lat_rcv, 50)),
                p99_rcv=float(np.percentile(lat_rcv, 99)),
                max_rcv=float(lat_rcv.max()), max_pub=float(lat_pub.max()), notes=len(got))


def run_rss(ctx, frames, every=0.1, max_queue_bytes=None):
    """The sink's RSS sampled while it takes `frames` frames of 8x8 uint16
    over tcp, as fast as the sender goes."""
    clean_data(ctx)
    size = dict(shape=(8, 8), enc="raw")
    in_ep = endpoint(ctx, "tcp", "rss-in")
    nep = endpoint(ctx, "tcp", "notify")
    notes = Notes(ctx, nep)
    limits = dict(limits=dict(max_queue_bytes=max_queue_bytes)) if max_queue_bytes else {}
    sk = start_swmrbus(ctx, sink_cfg(ctx, "bench", in_ep, nep, **limits))
    samples = []  # (seconds, latest N, VmRSS KiB)
    state = dict(n=0, stop=False)

    def sampler():
        t0 = time.monotonic()
        while not state["stop"]:
            try:
                _, _, rss = proc_usage(sk.pid)
            except (OSError, IndexError):
                break
            samples.append((time.monotonic() - t0, state["n"], rss))
            time.sleep(every)
    th = threading.Thread(target=sampler, daemon=True)
    try:
        notes.wait_connected()
        th.start()
        snd = sender(ctx, in_ep, size, frames)

        def pred(topic, n):
            state["n"] = n.get("complete", state["n"])
            return covers(frames)(topic, n)
        _, _, note = notes.wait_for(pred, 900, sk)
        cpu, hwm, rss_end = proc_usage(sk.pid)
        s = read_json_line(snd, 60)
        state["stop"] = True
        th.join()
    finally:
        state["stop"] = True
        notes.close()
        reap(ctx, sk)
        clean_data(ctx)
    dt = (note["t"] - s["t_first"]) / 1e9
    return dict(frames=frames, seconds=dt, fps=frames / dt, hwm_kb=hwm, rss_end_kb=rss_end,
                cpu_s=cpu, samples=samples)


# ---- the report -------------------------------------------------------------------

def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    import h5py
    try:
        deb = open("/etc/debian_version").read().strip()
    except OSError:
        deb = "?"
    return dict(cpu=cpu, cores=os.cpu_count(), mem_gib=mem, kernel=platform.release(),
                debian=deb, zmq=zmq.zmq_version(), hdf5=h5py.version.hdf5_version,
                h5py=h5py.__version__, pyzmq=zmq.__version__)


def fs_of(path):
    best = ("?", "?", "")
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            if path.startswith(mnt) and len(mnt) >= len(best[2]):
                best = (dev, typ, mnt)
    return "%s (%s on %s)" % (best[2], best[1], best[0])


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# the C ceiling each row is compared with: the same transport into the process
CEILING_OF = {"sink_tcp": "c_tcp", "sink_ipc": "c_ipc", "sim_inproc": "c_inproc",
              "source": "c_tcp", "peer": "c_tcp", "sink_tcp_pipe": "c_tcp",
              "sim_inproc_pipe": "c_inproc"}


def ratio(per, a, b):
    """Median over the repetitions of fps(a) / fps(b), paired by repetition."""
    if a not in per or b not in per:
        return None
    return med([x["fps"] / y["fps"] for x, y in zip(per[a], per[b])
                if "na" not in x and "na" not in y])


def render_size(out, size, per, rows, frames, peer_frames, fb):
    kind = "bslz4 pre-compressed" if size["enc"] == "bslz4" else "raw"
    each = ("%.1f KiB" % (fb / 1024)) if fb < 2 ** 20 else ("%.2f MiB" % (fb / 2 ** 20))
    out()
    out("## %s uint16 %s: %s per frame, %d frames per run (h5py peer: %d)" %
        ("x".join(map(str, size["shape"])), kind, each, frames, peer_frames))
    out()
    out("| | GB/s | frames/s | CPU s/GB | peak RSS MB | x C ceiling | x h5py peer |")
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rid, label, group in rows:
        rs = per[rid]
        ok = [r for r in rs if "na" not in r]
        if not ok:
            out("| %s | n/a %s | | | | | |" % (label, rs[0]["na"] if rs else ""))
            continue
        xc = xp = ""
        if rid in CEILING_OF:
            c = CEILING_OF[rid]
            xc = "%s (%s)" % (fmt(ratio(per, rid, c), ".2f"), c.split("_")[1])
        if group == "product" or rid == "c_tcp":
            xp = fmt(ratio(per, rid, "peer"), ".2f")
        b = "**" if group == "product" else ""
        out("| %s%s%s | %.3f | %s | %.2f | %.0f | %s | %s |" % (
            b, label, b, med([r["gbps"] for r in ok]), format(med([r["fps"] for r in ok]), ",.0f"),
            med([r["cpu_per_gb"] for r in ok]), med([r["rss_mb"] for r in ok]), xc, xp))
    spread = []
    for rid, _, _ in rows:
        g = [r["fps"] for r in per[rid] if "na" not in r]
        if len(g) > 1:
            spread.append("%s %.0f%%" % (rid, 100 * (max(g) - min(g)) / statistics.median(g)))
    if spread:
        out()
        out("Spread of frames/s over the repetitions, (max-min)/median: " + ", ".join(spread) + ".")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin", "swmrbus"))
    ap.add_argument("--dir", default="/var/tmp/swmrbus-bench",
                    help="data files go here (removed after every run)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply frame counts")
    ap.add_argument("--sizes", help="comma-separated size keys (default: all)")
    ap.add_argument("--rows", help="comma-separated row ids (default: all)")
    ap.add_argument("--latency-frames", type=int, default=3000)
    ap.add_argument("--rss-frames", type=int, default=1000000)
    ap.add_argument("--sink-stdin", choices=("devnull", "pipe"), default="devnull",
                    help="the sink's stdin (devnull, as under a service manager)")
    ap.add_argument("--sink-limits", choices=("frame", "default"), default="frame",
                    help="frame: limits.max_frame_bytes = the frame's raw size (as README "
                    "advises); default: the 64 MiB default (in.hwm 2)")
    ap.add_argument("--rss-queue-mib", type=float, default=16,
                    help="limits.max_queue_bytes (MiB) in the 10^6-frame RSS run")
    ap.add_argument("--rss-default-frames", type=int, default=300000,
                    help="frames of the RSS run with the default limits (0: skip)")
    ap.add_argument("--warm-up-gb", type=float, default=2.0,
                    help="write and delete this much once before measuring")
    ap.add_argument("--skip", default="", help="comma-separated: table,latency,rss,plot")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "latest.md"))
    args = ap.parse_args()
    ctx = Ctx(args)
    if not os.access(ctx.bin, os.X_OK):
        sys.exit("bench: %s is missing (make build)" % ctx.bin)
    skip = set(filter(None, args.skip.split(",")))
    sizes = [s for s in SIZES if not args.sizes or s["key"] in args.sizes.split(",")]
    rows = [r for r in ROWS + EXTRA_ROWS
            if (r in ROWS and not args.rows) or (args.rows and r[0] in args.rows.split(","))]
    os.makedirs(ctx.data, exist_ok=True)
    st = os.statvfs(ctx.data)
    free_gb = st.f_bavail * st.f_frsize / GB
    need_gb = max(2 * s["frames"] * int(np.prod(s["shape"])) * 2 for s in SIZES) / GB * args.scale
    need_gb = max(need_gb, args.warm_up_gb)
    if free_gb < need_gb + 1:
        sys.exit("bench: %s has %.1f GB free; the biggest run needs ~%.1f GB" %
                 (ctx.data, free_gb, need_gb))
    t_start = time.monotonic()
    m = machine()
    load0 = os.getloadavg()
    lines = []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    def progress(s):
        print("  .. %4.0fs %s" % (time.monotonic() - t_start, s), file=sys.stderr, flush=True)

    out("# swmrbus benchmark")
    out()
    out("%s; %s, %d cores, %.0f GiB RAM; Linux %s, Debian %s; libzmq %s, HDF5 %s, "
        "h5py %s, pyzmq %s; data dir %s; load average at start %.2f." %
        (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), m["cpu"], m["cores"],
         m["mem_gib"], m["kernel"], m["debian"], m["zmq"], m["hdf5"], m["h5py"], m["pyzmq"],
         fs_of(os.path.realpath(ctx.data)), load0[0]))
    out()
    out("Median of %d interleaved repetitions (each repetition runs every row once); a "
        "ratio is the median of the per-repetition ratios. frames/s = frames / (first send "
        "-> last frame durable: the sink's `flushed` note covering it, the receiver's last "
        "H5Fflush; the last receipt for ZeroMQ alone, the downstream consumer's last receipt "
        "for the source). GB/s counts payload bytes as sent (compressed for bslz4). CPU s/GB "
        "and peak RSS are the receiving process's (sink: /proc/PID/stat and VmHWM; helpers: "
        "getrusage); inproc rows include their sender thread (the sim sends pre-built frames "
        "zero-copy). \"x C ceiling\" compares with the C ceiling over the same transport; the "
        "sender is bench/sender.c (pre-built headers, zero-copy payloads) in every "
        "tcp/ipc row. %.1f GB were written and deleted first (a VM may back guest memory "
        "lazily: the first touch of a page costs several times a later one)." %
        (args.reps, args.warm_up_gb))
    results = {}
    try:
        if args.warm_up_gb > 0:
            progress("warm-up: writing and deleting %.1f GB" % args.warm_up_gb)
            progress("warm-up: %.2f GB/s" % warm_up(ctx, args.warm_up_gb))
        try:
            idle = run_idle(ctx)
            out()
            out("Idle sink (table config: no control socket; stdin %s): %.2f CPU-s per s." %
                ("/dev/null" if args.sink_stdin == "devnull" else "a silent pipe", idle))
            results["idle_cpu"] = idle
        except Exception as e:
            out()
            out("Idle sink: the probe failed: %s" % e)
        if "table" not in skip:
            for size in sizes:
                frames = max(100, int(size["frames"] * args.scale) // 100 * 100)
                peer_frames = max(100, int(size["peer_frames"] * args.scale) // 100 * 100)
                fb = frame_bytes(ctx, size)
                srows = rows
                if size.get("rows") == "plot":
                    srows = [r for r in rows if r[0] in {p[0] for p in PLOT_ROWS}]
                if not srows:
                    continue
                per = {r[0]: [] for r in srows}
                for rep in range(min(args.reps, size.get("reps", args.reps))):
                    for rid, label, _ in srows:
                        n = peer_frames if rid == "peer" else frames
                        try:
                            r = RUNNERS[rid](ctx, size, n)
                            progress("%s rep %d %-10s %8.3f GB/s %9.0f frames/s" %
                                     (size["key"], rep + 1, rid, r["gbps"], r["fps"]))
                        except NA as e:
                            r = dict(na="(%s)" % e)
                        except Exception as e:  # reported in the table; the rest goes on
                            r = dict(na="(failed: %s)" % e)
                            progress("%s rep %d %s FAILED: %s" % (size["key"], rep + 1, rid, e))
                        per[rid].append(r)
                results[size["key"]] = per
                render_size(out, size, per, srows, frames, peer_frames, fb)
        if "latency" not in skip:
            lat = []
            for rep in range(args.reps):
                try:
                    lat.append(run_latency(ctx, args.latency_frames))
                    progress("latency rep %d: p50 %.2f ms, p99 %.2f ms" %
                             (rep + 1, lat[-1]["p50_rcv"], lat[-1]["p99_rcv"]))
                except Exception as e:
                    progress("latency rep %d FAILED: %s" % (rep + 1, e))
            out()
            out("## frame -> flushed latency: 64x128 uint16 at 1 kHz over tcp, flush.ms 10 "
                "(%d frames per run, median of %d runs; load average %.1f)" % (
                    args.latency_frames, len(lat), os.getloadavg()[0]))
            out()
            if lat:
                out("| taken at | p50 ms | p99 ms | max ms |")
                out("| --- | ---: | ---: | ---: |")
                out("| publication of the `flushed` note (its `t`) | %.2f | %.2f | %.2f |" %
                    (med([x["p50_pub"] for x in lat]), med([x["p99_pub"] for x in lat]),
                     med([x["max_pub"] for x in lat])))
                out("| its receipt by a Python SUB client | %.2f | %.2f | %.2f |" %
                    (med([x["p50_rcv"] for x in lat]), med([x["p99_rcv"] for x in lat]),
                     med([x["max_rcv"] for x in lat])))
                out()
                out("Latency of frame i = the first note with complete > i minus the frame's "
                    "send time (its `ts`, stored by the sink). Per run, p50/p99 ms at receipt: "
                    + ", ".join("%.1f/%.1f" % (x["p50_rcv"], x["p99_rcv"]) for x in lat) +
                    " (p99 follows the machine's load: a busy core delays the flush timer).")
            results["latency"] = lat
        if "rss" not in skip:
            qb = int(args.rss_queue_mib * 2 ** 20)
            progress("rss: %d frames of 8x8 uint16 over tcp, max_queue_bytes %d" %
                     (args.rss_frames, qb))
            try:
                rs = run_rss(ctx, args.rss_frames, max_queue_bytes=qb)
                rs["queue_bytes"] = qb
                dflt = None
                if args.rss_default_frames:
                    progress("rss: %d frames of 8x8 uint16, default limits" %
                             args.rss_default_frames)
                    dflt = run_rss(ctx, args.rss_default_frames)
                render_rss(out, rs, dflt)
                results["rss"] = {k: v for k, v in rs.items() if k != "samples"}
                results["rss"]["samples"] = rs["samples"]
                if dflt:
                    results["rss_default"] = {k: v for k, v in dflt.items() if k != "samples"}
            except Exception as e:
                out()
                out("## sink RSS: the run failed: %s" % e)
        render_targets(out, results)
        if "plot" not in skip:
            png = os.path.splitext(args.out)[0] + ".png"
            note = plot(results, png, m, ctx)
            out()
            out(note)
    finally:
        for p in list(ctx.procs):
            reap(ctx, p, 2, signal.SIGKILL)
        shutil.rmtree(ctx.tmp, ignore_errors=True)
        shutil.rmtree(ctx.data, ignore_errors=True)
    out()
    out("Total %.0f s; load average at the end %.2f (the machine may be shared: compare "
        "rows within a table, not across runs)." % (time.monotonic() - t_start,
                                                    os.getloadavg()[0]))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(dict(machine=m, results=results), f, indent=1, default=str)
    print("\nwritten to %s" % os.path.relpath(args.out), file=sys.stderr)


def plot(results, png, m, ctx):
    """Throughput against frame size, log axes, one line per PLOT_ROWS row,
    from this run's medians (raw sizes only). Returns a line for the report."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("No picture: python3-matplotlib is missing (`make bench` installs it; "
                "apt-get install python3-matplotlib).")
    raw = [s for s in SIZES if s["enc"] == "raw" and s["key"] in results]
    fig, ax = plt.subplots(figsize=(8.5, 5.5), dpi=110)
    drawn = 0
    for rid, label, style in PLOT_ROWS:
        xs, ys = [], []
        for s in raw:
            ok = [r for r in results[s["key"]].get(rid, []) if "na" not in r]
            if ok:
                xs.append(frame_bytes(ctx, s))
                ys.append(med([r["gbps"] for r in ok]))
        if xs:
            ax.plot(xs, ys, label=label, ms=6, **style)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return "No picture: no raw size was measured."
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = [2 ** k for k in range(10, 25, 2)]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["%d KiB" % (t >> 10) if t < 2 ** 20 else "%d MiB" % (t >> 20)
                        for t in ticks])
    ax.set_xlabel("frame size (uint16 raw; one frame = one HDF5 chunk)")
    ax.set_ylabel("GB/s, first send -> last frame durable (median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title("swmrbus throughput vs frame size, one run of `make bench`\n%s, %d cores, %s" %
                 (datetime.datetime.now().strftime("%Y-%m-%d"), m["cores"], m["cpu"][:40]),
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return "Picture: %s (GB/s against frame size, log axes, the medians above)." % (
        os.path.relpath(png))


def render_rss(out, rs, dflt=None):
    out()
    out("## sink RSS across %s frames of 8x8 uint16 (tcp, as fast as the sender goes: "
        "%s frames/s, %.1f s; limits.max_queue_bytes %s MiB)" % (
            format(rs["frames"], ","), format(rs["fps"], ",.0f"), rs["seconds"],
            format(rs["queue_bytes"] / 2 ** 20, "g")))
    out()
    smp = [s for s in rs["samples"] if s[1] > 0]
    marks = []
    for frac in (0.01, 0.1, 0.25, 0.5, 0.75):
        at = [s for s in smp if s[1] >= frac * rs["frames"]]
        if at:
            marks.append(at[0])
    marks.append((rs["seconds"], rs["frames"], rs["rss_end_kb"]))
    out("| frames flushed | " + " | ".join(format(s[1], ",") for s in marks) +
        " | peak (VmHWM) |")
    out("| --- |" + " ---: |" * (len(marks) + 1))
    out("| RSS MB | " + " | ".join("%.1f" % (s[2] / 1024) for s in marks) +
        " | %.1f |" % (rs["hwm_kb"] / 1024))
    # steady state: the samples taken while frames streamed in, from a
    # quarter of the run on (HDF5's metadata cache and glibc's arenas fill
    # first: a few MB over the first ~250k frames, in the C ceiling too)
    steady = [x for x in smp if 0.25 * rs["frames"] <= x[1] < rs["frames"]]
    rs["growth_mb"] = rs["slope_mb"] = None
    if len(steady) >= 3:
        xs = np.array([x[1] for x in steady], dtype=float)
        ys = np.array([x[2] / 1024 for x in steady])
        slope = np.polyfit(xs, ys, 1)[0] if np.ptp(xs) > 0 else 0.0
        rs["slope_mb"] = float(slope * 1e6)
        rs["growth_mb"] = float(ys[-1] - ys[0])
        out()
        out("While streaming, from %s to %s frames: RSS %+.1f MB (%.1f -> %.1f MB); "
            "least-squares slope %+.2f MB per 10^6 frames; %d samples every 100 ms." % (
                format(int(xs[0]), ","), format(int(xs[-1]), ","), rs["growth_mb"], ys[0],
                ys[-1], rs["slope_mb"], len(rs["samples"])))
    if dflt:
        out()
        out("With the default limits (max_queue_bytes 256 MiB), %s frames of 8x8 as fast as "
            "the sender goes (%s frames/s): peak RSS (VmHWM) %.1f MB, %.1f MB after the queue "
            "drained. The queue between the receive and writer threads fills to its byte "
            "limit when the writer is the slower one; that bounds the peak, the run length "
            "does not." % (format(dflt["frames"], ","), format(dflt["fps"], ",.0f"),
                           dflt["hwm_kb"] / 1024, dflt["rss_end_kb"] / 1024))


def render_targets(out, results):
    out()
    out("## targets")
    out()
    sizes = [s for s in SIZES if s["key"] in results]
    if sizes:
        parts = []
        for s in sizes:
            r = ratio(results[s["key"]], "sink_tcp", "c_tcp")
            parts.append("%s %s" % (s["key"], fmt(r, ".2f")))
        rs = [ratio(results[s["key"]], "sink_tcp", "c_tcp") for s in sizes]
        ok = all(r is not None and r >= 0.9 for r in rs)
        out("* sink over tcp >= 0.9x the C ceiling (tcp) at every size: %s (%s)." %
            ("holds" if ok else "MISSED", "; ".join(parts)))
        if "64x128" in results:
            per = results["64x128"]
            rt, ri = ratio(per, "sink_tcp", "c_tcp"), ratio(per, "sink_ipc", "c_ipc")
            out("* small frames: sink >= 1.0x the one-thread C ceiling at 64x128 over tcp and "
                "ipc: %s (tcp %s, ipc %s)." % (
                    "holds" if rt is not None and ri is not None and rt >= 1 and ri >= 1
                    else "MISSED", fmt(rt, ".2f"), fmt(ri, ".2f")))
            r = ratio(results["64x128"], "c_tcp", "peer")
            out("* h5py peer ~2.3-4x slower than the C ceiling (tcp) at 64x128: it is %sx "
                "slower." % fmt(r, ".2f"))
    lat = results.get("latency")
    if lat:
        p99 = med([x["p99_rcv"] for x in lat])
        out("* frame -> flushed p99 <= flush.ms + 5 = 15 ms: %s (p99 %.2f ms at receipt, "
            "%.2f ms at publication)." % ("holds" if p99 <= 15 else "MISSED", p99,
                                          med([x["p99_pub"] for x in lat])))
    rss = results.get("rss")
    if rss and rss.get("slope_mb") is not None:
        out("* peak RSS independent of run length: %s (slope %+.2f MB per 10^6 frames while "
            "streaming, %+.1f MB over the run; VmHWM %.1f MB; 'holds' = under 2 MB per 10^6 "
            "frames)." % ("holds" if rss["slope_mb"] < 2 else "MISSED", rss["slope_mb"],
                          rss["growth_mb"], rss["hwm_kb"] / 1024))


if __name__ == "__main__":
    main()
