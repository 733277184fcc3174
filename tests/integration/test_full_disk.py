"""A file size limit (DESIGN.md "Faults"): the sink runs with RLIMIT_FSIZE
at 3 MiB and gets a series larger than that. The series stops with an `io`
error and `closed`; the sink goes on (status answers, the series shows
`failed`); the notified prefix reads back right; a new series afterwards
works.

Why the second series must work: RLIMIT_FSIZE bounds the size of each file
a process writes, not a total, so a new file starts with its whole 3 MiB;
DESIGN.md says "that series stops taking frames (counted) ... other series
go on".
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402

import swmrbus_harness as H  # noqa: E402

LIMIT = 3 * 1024 * 1024
SHAPE = (64, 128)            # 16 KiB a frame: ~190 fit
SENT = 400


class FullDisk(H.SinkTestCase):

    def test_file_size_limit(self):
        sk = self.start_sink(flush_frames=20, flush_ms=100, linger_ms=200,
                             rlimit_fsize=LIMIT)
        col = self.collector(sk)
        tx = self.sender(sk)
        rows = [H.frame_data(1, i, SHAPE) for i in range(SENT)]
        tx.start(1, dtype="uint16", shape=SHAPE, encoding="raw", name="big")
        for i, a in enumerate(rows):
            tx.frame(1, i, a.tobytes(), ts=i + 1)
        err = col.wait_topic("swmrbus.error", 1, pred=lambda m: m["reason"] == "io")
        closed = col.wait_closed(1)
        self.assertIsInstance(err["error"], str)
        self.assertGreaterEqual(err["count"], 1)
        self.assertEqual(err.get("file"), closed["file"])

        # Every frame reached the sink; the rest after the failure are refused.
        def all_seen():
            st = sk.status()
            e = sk.series_status(1, st)
            return e["written"] + e["rejected"].get("io", 0) == SENT and st
        st = H.wait_until(all_seen, what="all %d frames written or refused" % SENT)
        self.assertTrue(sk.alive())
        e = sk.series_status(1, st)
        self.assertEqual(e["state"], "failed")
        written = e["written"]
        self.assertGreater(written, 20)
        self.assertLess(written, SENT)
        self.assertEqual(set(e["rejected"]), {"io"})
        self.assertEqual(st["rejected"], {"io": SENT - written})
        n = closed["frames"]
        self.assertLessEqual(n, written)
        self.assertGreaterEqual(n, max([m["frames"] for m in col.of("swmrbus.flushed", 1)]
                                       + [0]))
        self.assertLessEqual(os.path.getsize(closed["file"]), LIMIT)

        # A new series still works (each file has its own size limit).
        small = [H.frame_data(2, i, (8, 8), "uint8") for i in range(10)]
        tx.start(2, dtype="uint8", shape=(8, 8), encoding="raw", name="small")
        for i, a in enumerate(small):
            tx.frame(2, i, a.tobytes())
        tx.end(2, len(small))
        c2 = col.wait_closed(2)
        self.assertEqual(c2["frames"], 10)
        with h5py.File(c2["file"], "r") as f:
            for i, a in enumerate(small):
                self.assertEqual(f[H.DATASET][i].tobytes(), a.tobytes())
        st = sk.status()
        self.assertEqual(sk.series_status(2, st)["state"], "closed")
        self.assertEqual(sk.series_status(2, st)["rejected"], {})
        # The failed series takes no more frames.
        tx.frame(1, SENT, rows[0].tobytes())
        H.wait_until(lambda: sk.status()["rejected"].get("io") == SENT - written + 1,
                     what="the late frame refused (io)")
        self.assertEqual(sk.series_status(1)["written"], written)
        sk.stop_ok()

        # The notified prefix reads right; recover first if the close failed.
        path = closed["file"]
        try:
            f = h5py.File(path, "r")
        except OSError:
            r = subprocess.run([H.BIN, "recover", path], capture_output=True,
                               timeout=H.TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            f = h5py.File(path, "r")
        with f:
            d = f[H.DATASET]
            self.assertGreaterEqual(d.shape[0], n)
            for i in range(n):
                self.assertEqual(d[i].tobytes(), rows[i].tobytes(), "row %d" % i)
            self.assertEqual(f[H.TIMESTAMP][0:n].tolist(), list(range(1, n + 1)))
        r = subprocess.run(["h5dump", "-H", path], capture_output=True, timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr.decode())


if __name__ == "__main__":
    H.main()
