"""A sink killed with SIGKILL (DESIGN.md promises 1 and 2): every notified
row reads right through a SWMR reader after the crash; `swmrbus recover`
clears the SWMR flags without losing a frame, after which h5py opens the
file normally and h5dump reads its header."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SERIES = 4
SENT = 105
TS0 = 1_600_000_000_000_000_000


class CrashRecover(H.SinkTestCase):

    def test_kill9_then_recover(self):
        # Flushes every 10 frames only (the timer is far off).
        sk = self.start_sink(flush_frames=10, flush_ms=60000)
        col = self.collector(sk)
        tx = self.sender(sk)
        rows = [H.frame_data(SERIES, i) for i in range(SENT)]
        tx.start(SERIES, dtype="uint16", shape=(64, 128), encoding="raw", name="crash",
                 frames=1000)
        for i in range(SENT):
            tx.frame(SERIES, i, rows[i].tobytes(), ts=TS0 + i)
        col.wait_flushed(SERIES, 100)
        sk.wait_received(SERIES, SENT)
        sk.kill9()
        self.assertEqual(sk.returncode, -9)
        flushed = col.of("swmrbus.flushed", SERIES)
        n = max(m["frames"] for m in flushed)
        self.assertGreaterEqual(n, 100)
        path = flushed[-1]["file"]
        self.assertEqual(col.of("swmrbus.closed", SERIES), [])

        # A SWMR reader opens the crashed file: every notified row is right.
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            d = f[H.DATASET]
            self.assertGreaterEqual(d.shape[0], n)
            for i in range(n):
                self.assertEqual(d[i].tobytes(), rows[i].tobytes(), "row %d" % i)
            self.assertEqual(f[H.TIMESTAMP][0:n].tolist(), [TS0 + i for i in range(n)])

        # Before recovery a plain (non-SWMR) open is refused: the file is
        # still marked open for SWMR writing.
        with self.assertRaises(OSError) as cm:
            h5py.File(path, "r").close()
        self.assertIn("open", str(cm.exception).lower())

        r = subprocess.run([H.BIN, "recover", path], capture_output=True, timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn("recovered", r.stdout.decode())

        # Now a plain open works and loses nothing that was notified.
        with h5py.File(path, "r") as f:
            d = f[H.DATASET]
            extent = d.shape[0]
            self.assertGreaterEqual(extent, n)
            self.assertLessEqual(extent, SENT)
            self.assertIn("%d frames" % extent, r.stdout.decode())
            zero = np.zeros((64, 128), "<u2").tobytes()
            for i in range(extent):
                got = d[i].tobytes()
                if i < n:
                    self.assertEqual(got, rows[i].tobytes(), "row %d" % i)
                else:  # beyond N: the frame or the fill value, never garbage
                    self.assertIn(got, (rows[i].tobytes(), zero), "row %d" % i)
            ts = f[H.TIMESTAMP][...].tolist()
            self.assertGreaterEqual(len(ts), n)
            self.assertEqual(ts[:n], [TS0 + i for i in range(n)])
            self.assertEqual(int(f["entry/data"].attrs["frames_expected"]), 1000)

        r = subprocess.run(["h5dump", "-H", path], capture_output=True, timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertIn('GROUP "entry"', r.stdout.decode())
        self.assertIn('DATASET "data"', r.stdout.decode())

        # recover on a file that is already clean is harmless.
        r = subprocess.run([H.BIN, "recover", path], capture_output=True, timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        # and on a missing file fails.
        r = subprocess.run([H.BIN, "recover", path + ".missing"], capture_output=True,
                           timeout=H.TIMEOUT)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    H.main()
