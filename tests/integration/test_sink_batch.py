"""The writer takes frames in batches (issue 13: README "Benchmark", "Small
frames"): the receive thread hands over what one turn of its loop took, and
the writer writes a series' frames of a batch together, with one extension
to the highest row. What a user sees must not change:

* `flushed` comes where the flush policy puts it: with flush.frames = 7 and
  a flood of frames, every count-based notification has N a multiple of 7;
* a rejected frame in a batch (bad payload, mismatch, a duplicate) leaves no
  trace in the file: the extent never covers a frame that was not accepted,
  the frames around it are written byte for byte, and every rejection and
  duplicate is counted;
* frames of two series interleaved in one batch each land in their file."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (16, 32)  # 1 KiB of uint16: many frames per batch


class SinkBatch(H.SinkTestCase):

    def test_flush_points_do_not_move(self):
        sk = self.start_sink(flush_frames=7, flush_ms=60000, linger_ms=100,
                             limits={"max_frame_bytes": 1024})
        tx = self.sender(sk)
        col = self.collector(sk)
        n = 500
        tx.start(1, shape=SHAPE, frames=n)
        for i in range(n):
            tx.frame(1, i, H.frame_data(1, i, SHAPE))
        tx.end(1, n)
        col.wait_closed(1)
        flushed = [m["frames"] for m in col.of("swmrbus.flushed", 1)]
        closed = col.of("swmrbus.closed", 1)[-1]
        self.assertEqual(closed["frames"], n)
        # all but the last (the close's flush of the 500 % 7 left) by count
        self.assertTrue(flushed, "no flushed notification")
        for N in flushed[:-1]:
            self.assertEqual(N % 7, 0, flushed)
        self.assertEqual(flushed, sorted(set(flushed)))
        self.assertIn(flushed[-1], (n, n - n % 7), flushed)
        e = sk.series_status(1)
        self.assertEqual((e["received"], e["written"], e["gaps"]), (n, n, 0))
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET][:]
        np.testing.assert_array_equal(
            d, np.stack([H.frame_data(1, i, SHAPE) for i in range(n)]))

    def test_rejections_inside_batches(self):
        sk = self.start_sink(flush_frames=50, flush_ms=60000, linger_ms=100,
                             limits={"max_frame_bytes": 1024})
        tx = self.sender(sk)
        col = self.collector(sk)
        n = 300
        tx.start(1, shape=SHAPE, frames=n)
        tx.start(2, shape=SHAPE, frames=n)
        bad, dups, mism = 0, 0, 0
        for i in range(n):
            for s in (1, 2):  # two series, interleaved frame by frame
                tx.frame(s, i, H.frame_data(s, i, SHAPE))
            if i % 37 == 5:  # a short payload for a frame never sent right
                tx.frame(1, n + i, H.frame_data(1, i, SHAPE)[:-1])
                bad += 1
            if i % 41 == 7:  # a second copy: counted, the first stays
                tx.frame(2, i, H.frame_data(2, i + 1, SHAPE))
                dups += 1
            if i % 53 == 9:  # another dtype (of the same size) than the open series
                tx.frame(2, n + i, H.frame_data(2, i, SHAPE, dtype="int16"),
                         dtype="int16", shape=list(SHAPE), encoding="raw")
                mism += 1
        # last in the stream: a bad frame beyond every good one
        tx.frame(1, n + 1000, H.frame_data(1, 0, SHAPE)[:-1])
        bad += 1
        tx.end(1, n)
        tx.end(2, n)
        col.wait_closed(1)
        col.wait_closed(2)
        for s in (1, 2):
            closed = col.of("swmrbus.closed", s)[-1]
            self.assertEqual((closed["frames"], closed["written"], closed["complete"]),
                             (n, n, n), closed)
            e = sk.series_status(s)
            self.assertEqual(e["written"], n, e)
            self.assertEqual(e["gaps"], 0, e)
            with h5py.File(closed["file"], "r") as f:
                d = f[H.DATASET][:]
            self.assertEqual(d.shape, (n,) + SHAPE)  # no row for a rejected frame
            np.testing.assert_array_equal(
                d, np.stack([H.frame_data(s, i, SHAPE) for i in range(n)]))
        e1, e2 = sk.series_status(1), sk.series_status(2)
        self.assertEqual(e1["rejected"].get("bad_payload", 0), bad, e1)
        self.assertEqual(e2["duplicates"], dups, e2)
        self.assertEqual(e2["rejected"].get("mismatch", 0), mism, e2)
        tx.close()


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
