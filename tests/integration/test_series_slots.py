"""Series slots are never pinned for ever (issue 9, item 3): a failed
series and a detector that vanished without `end` give their slot of
limits.max_open_series to a new series (README "Series slots").

* 3 + 1 abandoned series with max_open_series 3: the 4th evicts the one idle
  longest (closed, `closed` published, counted in status slots_freed.idle);
  every file ends up complete and readable as a plain HDF5 file.
* A failed series gives up its slot first (slots_freed.failed); its status
  stays `failed`.
* When every open series received something in the last second, the new
  one is still rejected with reason `limit`.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (16, 32)
N = 10
BUSY_S = 1.0  # the sink's SLOT_BUSY_NS


def send_series(tx, series, n=N, end=False):
    tx.start(series, dtype="uint16", shape=SHAPE)
    for i in range(n):
        tx.frame(series, i, H.frame_data(series, i, SHAPE).tobytes())
    if end:
        tx.end(series, n)


def check_file(test, path, series, n=N):
    with h5py.File(path, "r") as f:  # plain, not swmr: the file is closed
        d = f[H.DATASET]
        test.assertEqual(d.shape, (n,) + SHAPE)
        for i in range(n):
            test.assertEqual(d[i].tobytes(), H.frame_data(series, i, SHAPE).tobytes())


class SeriesSlots(H.SinkTestCase):

    def test_abandoned_series_give_up_their_slots(self):
        sk = self.start_sink(limits={"max_open_series": 3}, linger_ms=30000)
        col = self.collector(sk)
        tx = self.sender(sk)
        for s in (1, 2, 3):
            send_series(tx, s)          # no end: the detectors vanished
        for s in (1, 2, 3):
            sk.wait_received(s, N)
        time.sleep(BUSY_S + 0.5)        # idle for longer than the busy window
        send_series(tx, 4, end=True)

        c1 = col.wait_closed(1)          # idle longest: evicted
        c4 = col.wait_closed(4)          # complete at end: closed at once
        self.assertEqual((c1["frames"], c1["complete"]), (N, N))
        self.assertEqual((c4["frames"], c4["complete"]), (N, N))
        check_file(self, c1["file"], 1)
        check_file(self, c4["file"], 4)
        st = sk.status()
        self.assertEqual(st["slots_freed"], {"failed": 0, "idle": 1})
        self.assertEqual(st["rejected"], {})
        self.assertEqual(sk.series_status(1, st)["state"], "closed")
        self.assertEqual(sk.series_status(2, st)["state"], "open")
        self.assertEqual(sk.series_status(3, st)["state"], "open")
        self.assertEqual(sk.series_status(4, st)["state"], "closed")
        self.assertIn("idle for", sk.log_text())
        self.assertIn("its slot went to series 4", sk.log_text())
        self.assertEqual(col.of("swmrbus.closed", 2) + col.of("swmrbus.closed", 3), [])

        sk.stop_ok()                     # closes the two still open
        files = {s: sk.series_status(s, st)["file"] for s in (1, 2, 3, 4)}
        self.assertEqual(len(set(files.values())), 4)
        for s, path in files.items():
            check_file(self, path, s)

    def test_busy_series_keep_their_slots(self):
        sk = self.start_sink(limits={"max_open_series": 2})
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(1, dtype="uint16", shape=SHAPE)
        tx.start(2, dtype="uint16", shape=SHAPE)
        tx.frame(1, 0, H.frame_data(1, 0, SHAPE).tobytes())
        tx.frame(2, 0, H.frame_data(2, 0, SHAPE).tobytes())
        tx.start(3, dtype="uint16", shape=SHAPE)
        err = col.wait_topic("swmrbus.error", 3, pred=lambda m: m["reason"] == "limit")
        self.assertIn("max_open_series", err["error"])
        st = sk.status()
        self.assertEqual(st["slots_freed"], {"failed": 0, "idle": 0})
        self.assertEqual(st["rejected"], {"limit": 1})
        self.assertIsNone(sk.series_status(3, st))
        self.assertEqual(col.of("swmrbus.closed"), [])

    def test_failed_series_gives_up_its_slot_first(self):
        limit = 3 * 1024 * 1024          # RLIMIT_FSIZE: series 1 fails
        big = (64, 128)
        sk = self.start_sink(limits={"max_open_series": 3}, rlimit_fsize=limit,
                             flush_frames=20, flush_ms=100)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(1, dtype="uint16", shape=big)
        for i in range(400):
            tx.frame(1, i, H.frame_data(1, i, big).tobytes())
        col.wait_topic("swmrbus.error", 1, pred=lambda m: m["reason"] == "io")
        H.wait_until(lambda: sk.series_status(1)["state"] == "failed", what="series 1 failed")
        send_series(tx, 2)
        send_series(tx, 3)
        sk.wait_received(3, N)
        time.sleep(BUSY_S + 0.5)         # 2 and 3 are idle too: the failed one goes first
        send_series(tx, 4, end=True)
        c4 = col.wait_closed(4)
        check_file(self, c4["file"], 4)
        st = sk.status()
        self.assertEqual(st["slots_freed"], {"failed": 1, "idle": 0})
        self.assertEqual(sk.series_status(1, st)["state"], "failed")
        self.assertEqual(sk.series_status(2, st)["state"], "open")
        self.assertEqual(sk.series_status(3, st)["state"], "open")
        self.assertIn("(failed) gives up its slot to series 4", sk.log_text())
        # The freed id is remembered as closed: a stray frame is refused.
        tx.frame(1, 500, H.frame_data(1, 0, big).tobytes())
        H.wait_until(lambda: sk.status()["rejected"].get("closed_series") == 1,
                     what="closed_series rejection")


if __name__ == "__main__":
    H.main()
