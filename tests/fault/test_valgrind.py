"""Memcheck: the demo and a whole round trip run clean under valgrind.

  demo        `swmrbus demo --frames 200` (the simulator feeding a sink)
  round trip  `swmrbus run` with four components in one process:
              sim (200 raw frames) ─▶ writer (sink, bslz4 through the filter
              pipeline, also bound to an ipc:// input that an outside PUSH
              feeds bad messages and a good series) ─notify▶ reader (source)
              ─frames▶ copy (sink, direct chunk writes); control requests to
              all three and a scrape of the /metrics server; then SIGTERM.

Both run under valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
--errors-for-leak-kinds=definite with tests/fault/valgrind.supp (every
suppression there says why it is not our code). Pass: exit code 0 (99 =
memcheck errors, definite leaks included), "ERROR SUMMARY: 0 errors", and the
copy sink's files hold every frame byte for byte.

SWMRBUS_VALGRIND: the valgrind binary (tests/CMakeLists.txt sets it; the
tests are skipped when it is empty: no valgrind, or an ASan/fuzz build).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

VALGRIND = os.environ.get("SWMRBUS_VALGRIND", "valgrind")
SUPP = os.path.join(HERE, "valgrind.supp")
VG_ARGS = ["--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--num-callers=40",
           "--suppressions=" + SUPP]
SIM_FRAMES, SIM_SHAPE = 200, (32, 64)
OUT_SERIES, OUT_FRAMES, OUT_SHAPE = 7, 30, (16, 24)


def memcheck_summary(text):
    """The count of ERROR SUMMARY (None when valgrind did not print it)."""
    m = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    return int(m[-1]) if m else None


@unittest.skipUnless(VALGRIND, "valgrind not found, or a sanitizer build")
class Valgrind(H.SinkTestCase):

    def setUp(self):
        self.tmp = H.make_tempdir("vg")
        self.addCleanup(self._remove_tmp)

    def _remove_tmp(self):
        if not self._failed() and not os.environ.get("SWMRBUS_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_demo(self):
        r = subprocess.run([VALGRIND] + VG_ARGS + [H.BIN, "demo", "--frames", "200",
                                                   "--dir", os.path.join(self.tmp, "demo")],
                           capture_output=True, timeout=600)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, "demo under memcheck: exit %d\n%s"
                         % (r.returncode, err[-6000:]))
        self.assertEqual(memcheck_summary(err), 0, err[-6000:])
        self.assertIn("200/200 frames flushed", r.stdout.decode() + err)

    def test_round_trip(self):
        t = self.tmp
        sockdir = t
        if len(t) > 80:  # sun_path holds 108 bytes
            sockdir = tempfile.mkdtemp(prefix="vg")
            self.addCleanup(shutil.rmtree, sockdir, True)
        ep = {k: "ipc://%s/%s.sock" % (sockdir, k) for k in ("in", "wc", "rc", "rn", "cc")}
        config = os.path.join(t, "rt.yaml")
        metrics_port = H.free_tcp_port()
        with open(config, "w") as f:
            f.write("""\
metrics: {endpoint: "http://127.0.0.1:%d"}
components:
  - name: sim
    kind: sim
    out: {endpoint: "inproc://frames", pattern: push, bind: false}
    series: 1
    frames: %d
    shape: %s
  - name: writer
    kind: sink
    in: {endpoints: ["inproc://frames", "%s"], pattern: pull, bind: true}
    notify: {endpoint: "inproc://notify"}
    control: {endpoint: "%s"}
    dir: %s/a
    flush: {frames: 20, ms: 50}
    linger_ms: 200
    compression: bslz4
  - name: reader
    kind: source
    in: {endpoint: "inproc://notify"}
    out: {endpoint: "inproc://relay", pattern: push}
    notify: {endpoint: "%s"}
    control: {endpoint: "%s"}
  - name: copy
    kind: sink
    in: {endpoint: "inproc://relay", pattern: pull, bind: false}
    control: {endpoint: "%s"}
    dir: %s/b
    flush: {frames: 20, ms: 50}
    linger_ms: 200
""" % (metrics_port, SIM_FRAMES, list(SIM_SHAPE), ep["in"], ep["wc"], t, ep["rn"], ep["rc"], ep["cc"], t))
        proc = H.RunProcess(config, os.path.join(t, "run.log"), ep["wc"],
                            label="swmrbus run under memcheck", wrapper=[VALGRIND] + VG_ARGS)
        self.addCleanup(proc.cleanup)
        proc.start(timeout=max(H.TIMEOUT, 120))

        # Bad input and a good series from outside, on the writer's ipc input.
        tx = H.Sender(ep["in"])
        self.addCleanup(tx.close)
        tx.send([b"\xc1\xc1not msgpack"])                                   # bad_msgpack
        tx.send([H.pack([1, 2, 3])])                                        # bad_header
        tx.send([b"\xdf\xff\xff\xff\xff"])                                  # map claims 4G
        tx.start(OUT_SERIES + 1, dtype="uint16", shape=OUT_SHAPE, name="../escape")
        tx.send(H.frame_msg(OUT_SERIES + 2, 0, b"abc"))                     # no dtype
        payloads = [H.frame_data(OUT_SERIES, i, OUT_SHAPE).tobytes() for i in range(OUT_FRAMES)]
        tx.start(OUT_SERIES, dtype="uint16", shape=OUT_SHAPE, name="outside", frames=OUT_FRAMES,
                 meta={"gain": 3, "offset": -5, "exposure": 0.5, "mode": "fast",
                       "cooled": True, "roi": [1, 2, 300]})
        tx.frame(OUT_SERIES, 0, payloads[0][:-2])                           # bad_payload
        for i in range(OUT_FRAMES):
            tx.frame(OUT_SERIES, i, payloads[i], ts=1000 + i)
        tx.frame(OUT_SERIES, 3, payloads[3])                                # duplicate
        tx.end(OUT_SERIES, OUT_FRAMES)

        for e in (ep["wc"], ep["rc"], ep["cc"]):
            self.assertTrue(H.request(e, {"cmd": "status"})["ok"])
        self.assertTrue(H.request(ep["wc"], {"cmd": "flush"})["ok"])
        self.assertFalse(H.request(ep["wc"], {"cmd": "nonsense"})["ok"])

        def copied():
            st = H.request(ep["cc"], {"cmd": "status"})
            done = [s for s in st["series"] if s["state"] == "closed"]
            return st if len(done) >= 2 else None
        st = H.wait_until(copied, max(H.TIMEOUT, 180), "the copy sink to close both series")
        # The metrics server (libmicrohttpd, its own thread) under memcheck too.
        url = "http://127.0.0.1:%d" % metrics_port
        with urllib.request.urlopen(url + "/metrics", timeout=H.TIMEOUT) as r:
            text = r.read().decode()
        self.assertIn('swmrbus_frames_written_total{component="copy"} %d'
                      % (SIM_FRAMES + OUT_FRAMES), text)
        with self.assertRaises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "/nothing", timeout=H.TIMEOUT)
        wst = H.request(ep["wc"], {"cmd": "status"})
        self.assertGreaterEqual(wst.get("rejected_total", 0), 4, wst)

        rc = proc.stop(timeout=max(H.TIMEOUT, 180))
        log = proc.log_text(tail=400)
        self.assertEqual(rc, 0, "exit %s (99: memcheck found errors)\n%s" % (rc, log))
        self.assertEqual(memcheck_summary(log), 0, log)

        # The copy holds every frame of both series.
        by_written = sorted(st["series"], key=lambda s: s["written"])
        self.assertEqual([s["written"] for s in by_written], [OUT_FRAMES, SIM_FRAMES], st)
        with h5py.File(by_written[0]["file"], "r") as f:
            H.verify_rows(f[H.DATASET], OUT_SERIES, OUT_FRAMES, OUT_SHAPE,
                          ts=f[H.TIMESTAMP], ts0=1000, extent=OUT_FRAMES)
        with h5py.File(by_written[1]["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (SIM_FRAMES,) + SIM_SHAPE)
            base = np.arange(int(np.prod(SIM_SHAPE)), dtype=np.int64)
            for i in range(SIM_FRAMES):   # the sim: pixel k of frame f holds f + k
                want = ((base + i) % 65536).astype("<u2").reshape(SIM_SHAPE)
                self.assertTrue(np.array_equal(d[i], want), "sim frame %d" % i)


if __name__ == "__main__":
    H.main()
