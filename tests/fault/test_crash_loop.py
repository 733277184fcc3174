"""Crash loop: DESIGN.md promises 1 and 2 under SIGKILL at random points.

Each trial starts `swmrbus run` with one sink (notify + control, flush every
7 frames or 20 ms), connects an outside SUB to its notifications, feeds it
from a pyzmq PUSH (frame i of series s holds frame_data(s, i), its `ts` is
ts0(s) + i, so every row can be verified) and kills it with SIGKILL at a
random point of the series' life:

  startup      while the process starts (nothing sent)
  before_open  0-6 ms after `start`: before, while or just after the file is created
  mid          at a random time while frames flow
  flush        a few ms after the k-th `flushed` (k random): around a flush
  after_end    after `end`, around linger and close
  two_series   while a second series is open (the first ended or not)

Each trial also picks how frames reach the file: raw, raw compressed by the
sink (`compression: lz4` or `bslz4`), or lz4 chunks from the sender.

After the kill: an outside SWMR reader (tests/fault/swmr_check.py, its own
process, h5py swmr=True) checks every row below the N of the last `flushed`
the subscriber received, byte for byte, and the timestamps; then
`swmrbus recover FILE` runs and a plain h5py open checks the same rows again
(recover must keep every notified frame; rows beyond N hold their frame or
the fill value). A series whose `closed` arrived must hold every frame sent.

SWMRBUS_CRASH_TRIALS (20) sets the number of trials, SWMRBUS_CRASH_SEED the
seed (random, printed); SWMRBUS_CRASH_TRIAL=k replays only trial k of a
seed. The kill point is a time, so a replay repeats the plan (phase, sizes,
delays), not the exact instant.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import h5py  # noqa: E402
import zmq  # noqa: E402

import swmrbus_harness as H  # noqa: E402

TRIALS = int(os.environ.get("SWMRBUS_CRASH_TRIALS", "20"))
SEED = int(os.environ.get("SWMRBUS_CRASH_SEED") or random.SystemRandom().randrange(1 << 31))
ONLY = os.environ.get("SWMRBUS_CRASH_TRIAL")
SHAPE = (8, 32)
DTYPE = "uint16"
PHASES = ("startup", "before_open", "mid", "flush", "after_end", "two_series")
# How frames reach the file: raw input written as is, raw input compressed by
# the sink (filter pipeline), or lz4 chunks from the sender (direct write).
MODES_CFG = {"raw": (None, "raw"), "sink-lz4": ("lz4", "raw"),
             "sink-bslz4": ("bslz4", "raw"), "lz4-in": (None, "lz4")}
MODES = ("raw", "raw", "sink-lz4", "sink-bslz4", "lz4-in")
BURST, PAUSE = 7, 0.003  # the feeder's pace: ~2000 frames/s at most
CHECKER = os.path.join(HERE, "swmr_check.py")


def ts0(series):
    return 1_600_000_000_000_000_000 + series * 10**12


class Feeder(threading.Thread):
    """Plays a script on its own PUSH socket until it ends or stop is set:
    ("start", s), ("frames", [(s, a, b), ...]) sends frames a..b-1 of each
    listed series round-robin, in bursts with short pauses, ("end", s)."""

    def __init__(self, endpoint, script, encoding="raw"):
        threading.Thread.__init__(self, daemon=True)
        self.endpoint = endpoint
        self.script = script
        self.encoding = encoding
        self.stop = threading.Event()
        self.done = threading.Event()
        self.sent = {}     # series -> frames handed to ZeroMQ
        self.ended = set()
        self.error = None

    def run(self):
        sock = H._CTX.socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 100000)
        sock.connect(self.endpoint)
        try:
            for act in self.script:
                if self.stop.is_set():
                    break
                if act[0] == "start":
                    s = act[1]
                    sock.send_multipart(H.start_msg(s, dtype=DTYPE, shape=SHAPE,
                                                    encoding=self.encoding,
                                                    name="s%d" % s, frames=100000))
                    self.sent.setdefault(s, 0)
                elif act[0] == "end":
                    sock.send_multipart(H.end_msg(act[1], self.sent.get(act[1], 0)))
                    self.ended.add(act[1])
                else:
                    todo = [list(r) for r in act[1]]
                    k = 0
                    while todo and not self.stop.is_set():
                        r = todo[k % len(todo)]
                        s, i = r[0], r[1]
                        payload = H.frame_data(s, i, SHAPE, DTYPE).tobytes()
                        if self.encoding == "lz4":
                            payload = H.lz4_stored_chunk(payload, block=256)
                        sock.send_multipart(H.frame_msg(s, i, payload, ts=ts0(s) + i))
                        self.sent[s] = i + 1
                        r[1] += 1
                        if r[1] >= r[2]:
                            todo.remove(r)
                        k += 1
                        if k % BURST == 0:
                            time.sleep(PAUSE)
        except Exception as e:  # reported by the trial
            self.error = repr(e)
        finally:
            sock.close()
            self.done.set()


def wait_flushes(col, series, k, timeout=H.TIMEOUT):
    H.wait_until(lambda: len(col.of("swmrbus.flushed", series)) >= k, timeout,
                 "%d flushes of series %d" % (k, series), interval=0.001)


def plan(phase, rng):
    """(script, kill, params): kill(sk, col, feeder) returns at the kill point."""
    p = {}
    if phase == "before_open":
        p["frames"] = rng.randint(20, 150)
        p["delay_ms"] = round(rng.uniform(0, 6), 2)
        script = [("start", 1), ("frames", [(1, 0, p["frames"])])]

        def kill(sk, col, fd):
            time.sleep(p["delay_ms"] / 1000)
    elif phase == "mid":
        p["frames"] = rng.randint(200, 700)
        p["delay_ms"] = round(rng.uniform(20, 350), 2)
        script = [("start", 1), ("frames", [(1, 0, p["frames"])]), ("end", 1)]

        def kill(sk, col, fd):
            time.sleep(p["delay_ms"] / 1000)
    elif phase == "flush":
        p["frames"] = 700
        p["after_flush"] = rng.randint(1, 12)
        p["delay_ms"] = round(rng.uniform(0, 4), 2)
        script = [("start", 1), ("frames", [(1, 0, p["frames"])]), ("end", 1)]

        def kill(sk, col, fd):
            wait_flushes(col, 1, p["after_flush"])
            time.sleep(p["delay_ms"] / 1000)
    elif phase == "after_end":
        p["frames"] = rng.randint(20, 300)
        p["delay_ms"] = round(rng.uniform(0, 350), 2)  # linger_ms is 100
        script = [("start", 1), ("frames", [(1, 0, p["frames"])]), ("end", 1)]

        def kill(sk, col, fd):
            fd.done.wait(H.TIMEOUT)
            time.sleep(p["delay_ms"] / 1000)
    elif phase == "two_series":
        a, b, c = rng.randint(10, 100), rng.randint(50, 300), rng.randint(50, 300)
        p.update(first=a, mixed=b, tail=c, end_first=rng.random() < 0.5,
                 after_flush=rng.randint(1, 8) if rng.random() < 0.5 else 0,
                 delay_ms=0.0)
        script = [("start", 1), ("frames", [(1, 0, a)]), ("start", 2),
                  ("frames", [(1, a, a + b), (2, 0, b)])]
        if p["end_first"]:
            script.append(("end", 1))
        script.append(("frames", [(2, b, b + c)]))
        if p["after_flush"]:
            p["delay_ms"] = round(rng.uniform(0, 4), 2)
        else:
            p["delay_ms"] = round(rng.uniform(30, 400), 2)

        def kill(sk, col, fd):
            if p["after_flush"]:
                wait_flushes(col, 2, p["after_flush"])
            time.sleep(p["delay_ms"] / 1000)
    else:
        raise ValueError(phase)
    return script, kill, p


class Stats:
    def __init__(self):
        self.trials = 0
        self.phases = {}
        self.modes = {}
        self.swmr_rows = 0
        self.plain_rows = 0
        self.series = 0
        self.killed_open = 0      # series open (no `closed`) at the kill
        self.two_open = 0         # trials killed with two series open
        self.n_at_kill = []       # N of every series that had an `open`
        self.no_open = 0          # trials killed before any `open` arrived
        self.unannounced = 0      # files with no `open` received (killed first)
        self.unannounced_ok = 0   # ... that `recover` opened (must be all of them)
        self.parts = 0            # hidden `.NAME.PID.part` files (killed while creating)
        self.seconds = 0.0

    def line(self, failures):
        n = self.n_at_kill or [0]
        return ("crash loop: seed %d, %d trials %s %s, %d series (%d killed while open, %d "
                "trials with two open), frames checked: %d by the SWMR reader, %d after "
                "recover; N at kill min %d max %d; %d trials killed before `open`, "
                "%d files named before `open` (%d recovered), %d part files left; %d failures; "
                "%.1f s"
                % (SEED, self.trials, json.dumps(self.phases, sort_keys=True),
                   json.dumps(self.modes, sort_keys=True), self.series,
                   self.killed_open, self.two_open, self.swmr_rows, self.plain_rows,
                   min(n), max(n), self.no_open, self.unannounced, self.unannounced_ok, self.parts, failures,
                   self.seconds))


def run_trial(trial, stats):
    """Runs one trial; returns None or a failure text (with how to replay)."""
    rng = random.Random("%d/%d" % (SEED, trial))
    phase = PHASES[trial % len(PHASES)]
    mode = rng.choice(MODES)
    compression, encoding = MODES_CFG[mode]
    sk = H.SinkProcess(name="crash", flush_frames=7, flush_ms=20, linger_ms=100,
                       compression=compression)
    col = fd = None
    params = {"mode": mode}
    try:
        if phase == "startup":
            params["delay_ms"] = round(rng.uniform(0, 150), 2)
            sk.start(wait=False)
            time.sleep(params["delay_ms"] / 1000)
            sk.kill9()
        else:
            sk.start()
            col = sk.collector()
            script, kill, p = plan(phase, rng)
            params.update(p)
            fd = Feeder(sk.in_ep, script, encoding)
            fd.start()
            kill(sk, col, fd)
            sk.kill9()
        if fd is not None:
            fd.stop.set()
            fd.join(H.TIMEOUT)
            if fd.error:
                raise AssertionError("feeder: %s" % fd.error)
        notes = col.snapshot() if col is not None else []
        if col is not None and col.bad:
            raise AssertionError("malformed notifications: %r" % col.bad[:3])
        check(sk, fd, notes, stats)
        stats.trials += 1
        stats.phases[phase] = stats.phases.get(phase, 0) + 1
        stats.modes[mode] = stats.modes.get(mode, 0) + 1
        if not os.environ.get("SWMRBUS_TEST_KEEP"):
            shutil.rmtree(sk.tmp, ignore_errors=True)
            if getattr(sk, "sockdir", sk.tmp) != sk.tmp:
                shutil.rmtree(sk.sockdir, ignore_errors=True)
        return None
    except Exception as e:
        return ("trial %d (%s, %s): %s\n  replay: SWMRBUS_CRASH_SEED=%d SWMRBUS_CRASH_TRIAL=%d\n"
                "  files and log kept in %s\n---- sink log ----\n%s\n----"
                % (trial, phase, json.dumps(params), e, SEED, trial, sk.tmp, sk.log_text(30)))
    finally:
        if fd is not None:
            fd.stop.set()
        if col is not None:
            col.close()
        sk.cleanup()


def check(sk, fd, notes, stats):
    series = {}
    for topic, m in notes:
        if topic == "swmrbus.error":
            raise AssertionError("unexpected error notification: %r" % m)
        e = series.setdefault(m["series"], {"file": m["file"], "n": 0, "open": False,
                                            "closed": False})
        if m["file"] != e["file"]:
            raise AssertionError("series %d in two files: %s, %s"
                                 % (m["series"], e["file"], m["file"]))
        if topic == "swmrbus.open":
            e["open"] = True
        elif topic == "swmrbus.flushed":
            if m["frames"] < e["n"]:
                raise AssertionError("series %d: N went down, %d after %d"
                                     % (m["series"], m["frames"], e["n"]))
            e["n"] = m["frames"]
        elif topic == "swmrbus.closed":  # final: its frames count as N too
            e["closed"] = True
            e["n"] = max(e["n"], m.get("frames", 0))

    announced = set()
    for s, e in series.items():
        if not os.path.exists(e["file"]):
            raise AssertionError("series %d: notified file %s does not exist" % (s, e["file"]))
        announced.add(os.path.realpath(e["file"]))

    # 1. The outside SWMR reader, in its own process, before anything touches the files.
    jobs = [{"file": e["file"], "series": s, "n": e["n"], "shape": list(SHAPE),
             "dtype": DTYPE, "ts0": ts0(s)} for s, e in sorted(series.items())]
    if jobs:
        r = subprocess.run(["/usr/bin/python3", CHECKER, json.dumps(jobs)],
                           capture_output=True, timeout=H.TIMEOUT)
        if r.returncode != 0:
            raise AssertionError("SWMR reader: %s%s" % (r.stderr.decode()[-2000:],
                                                        r.stdout.decode()[-500:]))
        stats.swmr_rows += json.loads(r.stdout.decode().strip().splitlines()[-1])["rows"]

    # 2. recover, then a plain (non-SWMR) open checks the same rows again.
    for s, e in sorted(series.items()):
        r = subprocess.run([H.BIN, "recover", e["file"]], capture_output=True,
                           timeout=H.TIMEOUT)
        out = r.stdout.decode()
        if r.returncode != 0:
            raise AssertionError("recover %s (series %d, N %d) failed: %s"
                                 % (e["file"], s, e["n"], r.stderr.decode().strip()))
        mo = re.search(r"recovered, (\d+) frames", out)
        if not mo or int(mo.group(1)) < e["n"]:
            raise AssertionError("recover kept fewer frames than N %d: %s" % (e["n"], out))
        with h5py.File(e["file"], "r") as f:
            d = f[H.DATASET]
            extent = d.shape[0]
            if extent != int(mo.group(1)):
                raise AssertionError("recover said %s, the file has %d rows" % (out, extent))
            n = e["n"]
            if e["closed"]:  # closed after `end`: every frame sent is there
                sent = fd.sent.get(s, 0)
                if s not in fd.ended or extent != sent or n != sent:
                    raise AssertionError("series %d closed with extent %d, N %d, %d sent"
                                         % (s, extent, n, sent))
            stats.plain_rows += H.verify_rows(d, s, n, SHAPE, DTYPE, ts=f[H.TIMESTAMP],
                                              ts0=ts0(s), extent=extent)
        stats.series += 1
        stats.n_at_kill.append(e["n"])
        if not e["closed"]:
            stats.killed_open += 1
    if not any(e["open"] for e in series.values()):
        stats.no_open += 1
    if sum(1 for e in series.values() if e["open"] and not e["closed"]) >= 2:
        stats.two_open += 1

    # A file gets its name only after SWMR writing started (before that it is
    # a hidden `.NAME.PID.part`): a named file whose `open` never came (killed
    # between naming and the notification) must still recover; a part file
    # was never named, holds no frame, and is only counted.
    if os.path.isdir(sk.data_dir):
        for name in sorted(os.listdir(sk.data_dir)):
            path = os.path.realpath(os.path.join(sk.data_dir, name))
            if path in announced:
                continue
            if name.startswith(".") and name.endswith(".part"):
                stats.parts += 1
                continue
            stats.unannounced += 1
            r = subprocess.run([H.BIN, "recover", path], capture_output=True,
                               timeout=H.TIMEOUT)
            if r.returncode != 0:
                raise AssertionError("%s was named but never announced and does not "
                                     "recover: %s" % (name, r.stderr.decode(errors="replace")))
            stats.unannounced_ok += 1


class CrashLoop(unittest.TestCase):

    def test_crash_loop(self):
        trials = [int(ONLY)] if ONLY else range(TRIALS)
        print("crash loop: seed %d (replay: SWMRBUS_CRASH_SEED=%d), %d trials"
              % (SEED, SEED, len(trials)), flush=True)
        stats = Stats()
        failures = []
        t0 = time.monotonic()
        for k in trials:
            f = run_trial(k, stats)
            if f:
                failures.append(f)
                sys.stderr.write("FAIL " + f + "\n")
        stats.seconds = time.monotonic() - t0
        print(stats.line(len(failures)), flush=True)
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertEqual(stats.trials, len(trials))
        self.assertGreater(stats.swmr_rows, 0)


if __name__ == "__main__":
    H.main()
