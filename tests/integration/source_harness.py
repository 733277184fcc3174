"""source_harness — what the integration tests of the source share.

The tests drive the real CLI (`swmrbus run CONFIG`) as outside clients:
frames go into a sink through a PUSH socket, the source's frames come out
through PULL (or SUB), notifications through SUB, control through REQ, and
files are read back with h5py. Nothing here imports swmrbus code.

Environment (set by tests/CMakeLists.txt; defaults for a run by hand):
  SWMRBUS_BIN         the `swmrbus` binary
  SWMRBUS_TEST_TMP    scratch directory (each test gets a fresh one below it)
  SWMRBUS_SOURCE_DIR  the repository

Every process is killed at the end of its test, at interpreter exit, and
(PR_SET_PDEATHSIG) when the test process itself dies. Endpoints are ipc://
sockets inside the test's own temp dir, so parallel ctest runs never collide.
Timeouts are generous and never asserted on.
"""
import json
import os
import signal  # noqa: F401  (tests use H.signal)
import sys
import tempfile
import threading
import time
import unittest

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swmrbus_harness as H  # noqa: E402  the basics both harnesses share
from swmrbus_harness import _die_with_parent, pack, unpack  # noqa: E402,F401  re-exported

SOURCE_DIR = os.environ.get(
    "SWMRBUS_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("SWMRBUS_BIN",
                     os.path.join(SOURCE_DIR, "build-source", "bin", "swmrbus"))
TMP_ROOT = os.environ.get("SWMRBUS_TEST_TMP", tempfile.gettempdir())
TIMEOUT = float(os.environ.get("SWMRBUS_TEST_TIMEOUT", "90"))

DATASET = "/entry/data/data"
TIMESTAMP = "/entry/instrument/detector/timestamp"
DETECTOR = "/entry/instrument/detector"

CTX = zmq.Context.instance()



def wait_until(pred, timeout=TIMEOUT, what="condition", interval=0.02):
    return H.wait_until(pred, timeout, what, interval)


def make_tempdir(prefix="src"):
    d = H.make_tempdir(prefix)
    if len(d) > 70:  # ipc:// paths are limited to ~107 bytes
        d = tempfile.mkdtemp(prefix=prefix)
    return d


def frame_data(series, index, shape=(32, 48), dtype="uint16"):
    return H.frame_data(series, index, shape, dtype)


def bslz4_chunks(arrays):
    """The chunks h5py + bitshuffle store for arrays (filter 32008, one frame
    a chunk): what a detector sends as encoding bslz4."""
    return H.bslz4_chunks(arrays)[0]


# ---- configs --------------------------------------------------------------

def _y(v):
    return json.dumps(v)  # JSON is YAML flow syntax


def sink_yaml(name, in_ep, notify_eps, control_ep, data_dir, flush_frames=10, flush_ms=50,
              linger_ms=200, in_bind=True, extra=""):
    """One sink component (a YAML list item)."""
    lines = ["  - name: %s" % _y(name),
             "    kind: sink",
             "    in: {endpoint: %s, pattern: pull, bind: %s}" % (_y(in_ep), _y(in_bind)),
             "    notify: {endpoints: %s, bind: true}" % _y(list(notify_eps)),
             "    control: {endpoint: %s, bind: true}" % _y(control_ep),
             "    dir: %s" % _y(data_dir),
             "    flush: {frames: %d, ms: %d}" % (flush_frames, flush_ms),
             "    linger_ms: %d" % linger_ms]
    if extra:
        lines.append(extra.rstrip("\n"))
    return "\n".join(lines) + "\n"


def source_yaml(name, in_eps, out_ep, notify_ep, control_ep, pattern="push", hwm=None,
                stale_ms=None, frm=None, extra="", dirs=None):
    """One source component (a YAML list item). dirs: the directories it
    reads from (required when no sink is in the same config)."""
    out = "{endpoint: %s, pattern: %s, bind: true%s}" % (
        _y(out_ep), pattern, ", hwm: %d" % hwm if hwm is not None else "")
    lines = ["  - name: %s" % _y(name),
             "    kind: source",
             "    in: {endpoints: %s, pattern: sub}" % _y(list(in_eps)),
             "    out: %s" % out,
             "    notify: {endpoint: %s, bind: true}" % _y(notify_ep),
             "    control: {endpoint: %s, bind: true}" % _y(control_ep)]
    if stale_ms is not None:
        lines.append("    stale_ms: %d" % stale_ms)
    if frm is not None:
        lines.append("    from: %s" % frm)
    if dirs is not None:
        lines.append("    dirs: %s" % _y(list(dirs)))
    if extra:
        lines.append(extra.rstrip("\n"))
    return "\n".join(lines) + "\n"


# ---- processes ------------------------------------------------------------

class Proc(H.RunProcess):
    """One `swmrbus run` process of a config text (the component list)."""

    def __init__(self, tmp, config_text, tag, control_ep=None):
        self.tmp = tmp
        self.tag = tag
        config_path = os.path.join(tmp, "%s.yaml" % tag)
        with open(config_path, "w") as f:
            f.write("# written by tests/integration/source_harness.py\ncomponents:\n")
            f.write(config_text)
        H.RunProcess.__init__(self, config_path, os.path.join(tmp, "%s.log" % tag),
                              control_ep, label=tag)

    def start(self, timeout=TIMEOUT):
        return H.RunProcess.start(self, timeout)

    def stop(self, timeout=TIMEOUT):
        return H.RunProcess.stop(self, timeout)


def request(endpoint, req, timeout=TIMEOUT):
    """One control request and its decoded reply (fresh REQ socket)."""
    return H.request(endpoint, req, timeout)


# ---- clients --------------------------------------------------------------

class Sender:
    """A detector: PUSH connected to a sink's in."""

    def __init__(self, endpoint):
        self.s = CTX.socket(zmq.PUSH)
        self.s.setsockopt(zmq.LINGER, 5000)
        self.s.setsockopt(zmq.SNDHWM, 0)
        self.s.connect(endpoint)

    def start(self, series, dtype="uint16", shape=(32, 48), encoding="raw", **extra):
        h = {"type": "start", "series": series, "dtype": dtype, "shape": list(shape),
             "encoding": encoding}
        h.update(extra)
        self.s.send(pack(h))

    def frame(self, series, index, payload, **extra):
        h = {"type": "frame", "series": series, "frame": index}
        h.update(extra)
        self.s.send_multipart([pack(h), bytes(payload)])

    def end(self, series, frames):
        self.s.send(pack({"type": "end", "series": series, "frames": frames}))

    def close(self):
        self.s.close()


def _wait_handshake(mon, sock, endpoint):
    """Waits until a SUB socket is connected to its (already bound) PUB, then
    a moment more for the subscription to reach the PUB (slow joiner)."""
    from zmq.utils.monitor import recv_monitor_message
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError("%s: no connection" % endpoint)
            if mon.poll(200) and \
                    recv_monitor_message(mon)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                break
    finally:
        sock.disable_monitor()
        mon.close()
    time.sleep(0.3)


def feed_until(pred, feed, timeout=TIMEOUT, what="condition"):
    """Calls feed() every 50 ms until pred() is true (e.g. keep a series
    going until a late subscriber has heard of it). Returns pred()'s value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        feed()
        time.sleep(0.05)


class _Collector:
    """A socket drained by a thread of its own into a list (thread-owned
    socket; the list under a lock). paused=True stops reading (a stuck
    consumer)."""

    def __init__(self, kind, endpoint, rcvhwm=None):
        self.items = []
        self.lock = threading.Lock()
        self.paused = False
        self._stop = threading.Event()
        s = CTX.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if rcvhwm is not None:
            s.setsockopt(zmq.RCVHWM, rcvhwm)
        if kind == zmq.SUB:
            s.setsockopt(zmq.SUBSCRIBE, b"")
            mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
            s.connect(endpoint)
            _wait_handshake(mon, s, endpoint)
        else:
            s.connect(endpoint)
        self.t = threading.Thread(target=self._run, args=(s,), daemon=True)
        self.t.start()

    def _run(self, s):
        try:
            while not self._stop.is_set():
                if self.paused:
                    time.sleep(0.01)
                    continue
                if not s.poll(50):
                    continue
                parts = s.recv_multipart()
                with self.lock:
                    self.items.append((time.monotonic(), self.decode(parts)))
        finally:
            s.close()

    def snapshot(self):
        with self.lock:
            return [m for _, m in self.items]

    def wait_for(self, pred, timeout=TIMEOUT, what="message"):
        def ok():
            for m in self.snapshot():
                if pred(m):
                    return m
            return None
        return wait_until(ok, timeout, what)

    def close(self):
        self._stop.set()
        self.t.join(10)


class FrameCollector(_Collector):
    """Frames out of a source: items are (header dict, payload bytes|None)."""

    def __init__(self, endpoint, pattern="pull", rcvhwm=None):
        super().__init__(zmq.PULL if pattern == "pull" else zmq.SUB, endpoint, rcvhwm)

    @staticmethod
    def decode(parts):
        return (unpack(parts[0]), parts[1] if len(parts) > 1 else None, len(parts))

    def of_series(self, series):
        return [m for m in self.snapshot() if m[0].get("series") == series]

    def wait_end(self, series=None, timeout=TIMEOUT):
        return self.wait_for(lambda m: m[0].get("type") == "end" and
                             (series is None or m[0]["series"] == series), timeout,
                             "end of series %s" % series)


class NoticeCollector(_Collector):
    """Notifications: items are (topic str, map dict)."""

    def __init__(self, endpoint):
        super().__init__(zmq.SUB, endpoint)

    @staticmethod
    def decode(parts):
        return (parts[0].decode(), unpack(parts[1]) if len(parts) > 1 else None)

    def of(self, topic, file=None):
        return [m for t, m in self.snapshot() if t == topic and (file is None or m.get("file") == file)]

    def wait_topic(self, topic, pred=lambda m: True, timeout=TIMEOUT):
        return self.wait_for(lambda tm: tm[0] == topic and pred(tm[1]), timeout,
                             "notification %s" % topic)[1]


def check_stream(tc, msgs, payloads, series=None, first=0, ts=None):
    """Asserts msgs (FrameCollector items of one series) are: one start,
    every frame first..len(payloads)-1 in order with payloads byte-identical
    (and ts when given), one end with the right count. Returns the start."""
    tc.assertTrue(msgs, "no message")
    types = [h["type"] for h, _, _ in msgs]
    tc.assertEqual(types[0], "start", types[:5])
    tc.assertEqual(types[-1], "end", types[-5:])
    tc.assertEqual(types.count("start"), 1)
    tc.assertEqual(types.count("end"), 1)
    frames = [(h, p, n) for h, p, n in msgs if h["type"] == "frame"]
    idx = [h["frame"] for h, _, _ in frames]
    tc.assertEqual(idx, list(range(first, len(payloads))), "frame order / completeness")
    for h, p, n in frames:
        tc.assertEqual(n, 2)
        tc.assertEqual(p, bytes(payloads[h["frame"]]), "payload of frame %d" % h["frame"])
        if ts is not None:
            tc.assertEqual(h.get("ts"), ts[h["frame"]], "ts of frame %d" % h["frame"])
    tc.assertEqual(msgs[-1][0]["frames"], len(frames))
    if series is not None:
        tc.assertTrue(all(h["series"] == series for h, _, _ in msgs))
    return msgs[0][0]


class SourceTestCase(unittest.TestCase):
    """A temp dir per test and cleanup of everything started."""

    def setUp(self):
        self.tmp = make_tempdir()
        self._procs = []
        self._closers = []

    def ep(self, name):
        return "ipc://%s/%s.sock" % (self.tmp, name)

    def run_config(self, text, tag, control_ep):
        p = Proc(self.tmp, text, tag, control_ep)
        self._procs.append(p)
        return p.start()

    def closing(self, obj):
        self._closers.append(obj)
        return obj

    def tearDown(self):
        failed = self._failed()
        for c in reversed(self._closers):
            try:
                c.close()
            except Exception:
                pass
        for p in self._procs:
            if failed:
                print("---- %s log ----\n%s" % (p.tag, p.log_text()))
            p.cleanup()

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        result = getattr(outcome, "result", None)
        if result is not None:
            return any(t is self for t, _ in result.errors + result.failures)
        return any(exc for _, exc in getattr(outcome, "errors", []))


def main():
    unittest.main(verbosity=2)
