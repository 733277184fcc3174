"""Karabo bridge in (in.protocol: karabo-bridge), against the real Debian
sender: extra_data's make_jungfrau_run (arrays filled with a known non-zero
pattern) -> `karabo-bridge-serve-files RUN tcp://127.0.0.1:PORT -z PUSH` ->
sink -> file. `extra-data-validate` finds no problem in the file, and for
every source and key `extra_data.H5File(out)` returns the same train ids and
equal arrays (same dtype) as `RunDirectory(run)`, and `lsxfel` lists it (the
sink's `file` template gives it European XFEL's naming). While the sink writes, an
h5py swmr=True reader, refreshed on each `flushed`, sees every notified
train with its data.
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import karabo_harness as K  # noqa: E402
import swmrbus_harness as H  # noqa: E402

TRAINS = 4


class SwmrFollower(threading.Thread):
    """Follows `flushed` notifications: on each, refreshes a swmr=True
    reader and checks that INDEX/trainId and every adc row below N hold."""

    def __init__(self, col, first_tid):
        super().__init__(daemon=True)
        self.col, self.first_tid = col, first_tid
        self.seen_n, self.errors, self.checked = 0, [], set()
        self.stop = threading.Event()

    def run(self):
        f = None
        try:
            done = 0
            while not self.stop.is_set():
                notes = [m for t, m in self.col.snapshot() if t == "swmrbus.flushed"]
                for m in notes[done:]:
                    if f is None:
                        f = h5py.File(m["file"], "r", swmr=True)
                    tid = f["INDEX/trainId"]
                    tid.refresh()
                    n = m["frames"]
                    if tid.shape[0] < n:
                        self.errors.append("trainId has %d rows < N %d" % (tid.shape[0], n))
                    got = tid[:n]
                    want = np.arange(self.first_tid, self.first_tid + n)
                    if not np.array_equal(got, want):
                        self.errors.append("trainIds %r at N %d" % (got, n))
                    for src in ("SPB_IRDA_JF4M/DET/JNGFR01:daqOutput",
                                "SPB_IRDA_JF4M/DET/JNGFR02:daqOutput"):
                        d = f["INSTRUMENT/%s/data/adc" % src]
                        d.refresh()
                        if d.shape[0] < n or not d[n - 1].any():
                            self.errors.append("%s adc row %d missing at N %d" % (src, n - 1, n))
                    self.checked.update(int(x) for x in got)
                    self.seen_n = max(self.seen_n, n)
                done = len(notes)
                self.stop.wait(0.02)
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))
        finally:
            if f is not None:
                f.close()


class KaraboFiles(H.SinkTestCase):

    def test_serve_files_push_to_sink(self):
        from extra_data import H5File, RunDirectory
        tmp = H.make_tempdir("kb")
        self.addCleanup(lambda: None if self._failed() else __import__("shutil").rmtree(
            tmp, ignore_errors=True))
        run = K.make_run(os.path.join(tmp, "run"), trains=TRAINS, modules=2)
        rd = RunDirectory(run)
        first = int(rd.train_ids[0])
        port = H.free_tcp_port()
        # European XFEL's file naming, which lsxfel requires
        sk = K.bridge_sink(self, port, flush_frames=1, flush_ms=100,
                           file="RAW-R0012-DA01-S{series}.h5")
        col = self.collector(sk)
        follower = SwmrFollower(col, first)
        follower.start()
        self.addCleanup(follower.stop.set)
        sender = subprocess.run(
            ["/usr/bin/karabo-bridge-serve-files", run, "tcp://127.0.0.1:%d" % port,
             "-z", "PUSH"], capture_output=True, timeout=H.TIMEOUT * 3)
        self.assertEqual(sender.returncode, 0, sender.stderr.decode()[-2000:])
        col.wait_flushed(1, TRAINS, timeout=H.TIMEOUT)
        H.wait_until(lambda: follower.seen_n >= TRAINS, what="the SWMR reader at N")
        follower.stop.set()
        follower.join(10)
        self.assertEqual(follower.errors, [])
        self.assertEqual(follower.checked, set(range(first, first + TRAINS)))
        self.assertEqual(sk.request({"cmd": "close"}).get("ok"), True)
        closed = col.wait_closed(1)
        out = closed["file"]
        self.assertEqual(closed["frames"], TRAINS)
        st = sk.status()
        self.assertEqual(sum(st["rejected"].values()), 0, st["rejected"])

        v = subprocess.run(["/usr/bin/extra-data-validate", out], capture_output=True,
                           timeout=H.TIMEOUT)
        self.assertEqual(v.returncode, 0, v.stdout.decode() + v.stderr.decode())
        self.assertIn("No problems found", v.stdout.decode())

        ls = subprocess.run(["/usr/bin/lsxfel", out], capture_output=True, timeout=H.TIMEOUT)
        self.assertEqual(ls.returncode, 0, ls.stdout.decode() + ls.stderr.decode())
        self.assertIn("JNGFR01:daqOutput", ls.stdout.decode())

        of = H5File(out)
        self.assertEqual(list(of.train_ids), list(rd.train_ids))
        self.assertEqual(sorted(of.all_sources), sorted(rd.all_sources))
        nkeys = 0
        for src in sorted(rd.all_sources):
            self.assertEqual(set(of.keys_for_source(src)), set(rd.keys_for_source(src)), src)
            for key in sorted(rd.keys_for_source(src)):
                a, b = rd[src, key], of[src, key]
                self.assertEqual(list(a.train_ids), list(b.train_ids), (src, key))
                x, y = a.ndarray(), b.ndarray()
                self.assertEqual(x.dtype, y.dtype, (src, key))
                np.testing.assert_array_equal(x, y, err_msg="%s %s" % (src, key))
                if key != "data.trainId":
                    self.assertTrue(x.any(), (src, key))  # the pattern, not zeros
                nkeys += 1
        self.assertEqual(nkeys, 14)
        # NeXus readers find a default image
        with h5py.File(out, "r") as f:
            self.assertEqual(f["entry/data/data"].ndim, 4)


if __name__ == "__main__":
    H.main()
