"""`end` closes at once (issue 9, item 3): once a series' `end` has arrived
and every frame 0 .. end.frames-1 with it, the sink flushes, closes the
file and publishes `closed` without waiting for linger_ms; linger_ms only
waits for frames still missing.

The sink runs with linger_ms: 30000. "At once" is asserted as "well before
the 30 s linger" (the closed notification comes long before it), which
holds on the slowest machine; no finer timing is asserted.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402

import swmrbus_harness as H  # noqa: E402

LINGER_MS = 30000
SHAPE = (16, 32)
N = 50


def check_file(test, path, series, n):
    """The file opens as a plain HDF5 file (not swmr) and holds every frame."""
    with h5py.File(path, "r") as f:
        d = f[H.DATASET]
        test.assertEqual(d.shape, (n,) + SHAPE)
        for i in range(n):
            test.assertEqual(d[i].tobytes(), H.frame_data(series, i, SHAPE).tobytes(),
                             "series %d frame %d" % (series, i))


class EndCloses(H.SinkTestCase):

    def test_end_with_every_frame_closes_at_once(self):
        sk = self.start_sink(linger_ms=LINGER_MS, flush_frames=1000, flush_ms=10000)
        col = self.collector(sk)
        tx = self.sender(sk)
        t0 = time.monotonic()
        tx.start(1, dtype="uint16", shape=SHAPE)
        for i in range(N):
            tx.frame(1, i, H.frame_data(1, i, SHAPE).tobytes())
        tx.end(1, N)
        closed = col.wait_closed(1, timeout=LINGER_MS / 1000.0 / 2)
        took = time.monotonic() - t0
        self.assertLess(took, LINGER_MS / 1000.0 / 2)
        self.assertEqual(closed["frames"], N)
        self.assertEqual(closed["complete"], N)
        # The final flush is published before closed (readers that follow
        # flushed see N), as the flush timer would have done.
        flushed = col.of("swmrbus.flushed", 1)
        self.assertEqual([m["frames"] for m in flushed], [N])
        self.assertLess(flushed[-1]["seq"], closed["seq"])
        self.assertEqual(sk.series_status(1)["state"], "closed")
        check_file(self, closed["file"], 1, N)
        # The log line follows the notification: wait for it, don't race it.
        H.wait_until(lambda: "every frame arrived" in sk.log_text(),
                     what="the close's log line")

    def test_end_before_the_last_frames(self):
        """end overtakes frames (several senders): closing waits for them."""
        sk = self.start_sink(linger_ms=LINGER_MS)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(2, dtype="uint16", shape=SHAPE)
        for i in range(N - 5):
            tx.frame(2, i, H.frame_data(2, i, SHAPE).tobytes())
        tx.end(2, N)
        for i in range(N - 5, N):
            tx.frame(2, i, H.frame_data(2, i, SHAPE).tobytes())
        closed = col.wait_closed(2, timeout=LINGER_MS / 1000.0 / 2)
        self.assertEqual(closed["complete"], N)
        check_file(self, closed["file"], 2, N)

    def test_missing_frame_lingers_until_the_straggler(self):
        sk = self.start_sink(linger_ms=LINGER_MS, flush_frames=10, flush_ms=100)
        col = self.collector(sk)
        tx = self.sender(sk)
        missing = 17
        tx.start(3, dtype="uint16", shape=SHAPE)
        for i in range(N):
            if i != missing:
                tx.frame(3, i, H.frame_data(3, i, SHAPE).tobytes())
        tx.end(3, N)

        def lingering():
            e = sk.series_status(3)
            return e is not None and e["received"] == N - 1 and e["state"] == "lingering"
        H.wait_until(lingering, what="series 3 lingering with %d frames" % (N - 1))
        # Still lingering a moment later: nothing closes it but the straggler
        # (or the 30 s linger).
        time.sleep(1.0)
        self.assertEqual(sk.series_status(3)["state"], "lingering")
        self.assertEqual(col.of("swmrbus.closed", 3), [])

        t0 = time.monotonic()
        tx.frame(3, missing, H.frame_data(3, missing, SHAPE).tobytes())
        closed = col.wait_closed(3, timeout=LINGER_MS / 1000.0 / 2)
        self.assertLess(time.monotonic() - t0, LINGER_MS / 1000.0 / 2)
        self.assertEqual(closed["frames"], N)
        self.assertEqual(closed["complete"], N)
        self.assertEqual(sk.series_status(3)["state"], "closed")
        check_file(self, closed["file"], 3, N)

    def test_end_without_frames_still_lingers(self):
        """An end short of frames (frame 0 never came) keeps the linger."""
        sk = self.start_sink(linger_ms=1500)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(4, dtype="uint16", shape=SHAPE)
        for i in range(1, 5):
            tx.frame(4, i, H.frame_data(4, i, SHAPE).tobytes())
        tx.end(4, 5)
        closed = col.wait_closed(4)
        self.assertEqual(closed["frames"], 5)
        self.assertEqual(closed["complete"], 0)
        self.assertEqual(closed["written"], 4)


if __name__ == "__main__":
    H.main()
