"""Receive batching (README "Memory": "Receive batching"): with
limits.max_frame_bytes near the frame size the input's receive pipe is
long, so the sink pauses its input for 1 ms when it ran dry and reads only
16 MiB ahead of its writer. Every frame must still land, byte for byte, in
order, whether frames come in a flood, in bursts or one by one."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (64, 64)  # 8 KiB of uint16


class ReceiveBatching(H.SinkTestCase):

    def test_flood_bursts_and_trickle_all_land(self):
        for tcp in (True, False):
            with self.subTest(tcp=tcp):
                self._run(tcp)

    def _run(self, tcp):
        sk = self.start_sink(tcp=tcp, flush_frames=100, flush_ms=50, linger_ms=100,
                             limits={"max_frame_bytes": 8192})
        st = sk.status()
        # the paths under test only run with a long receive pipe
        self.assertGreaterEqual(st["memory"]["in_hwm"], 16, st["memory"])
        tx = self.sender(sk)
        col = self.collector(sk)
        series, n_flood, n_trickle = 5, 3000, 12
        tx.start(series, shape=SHAPE, frames=n_flood + n_trickle)
        for i in range(n_flood):  # as fast as pyzmq goes
            tx.frame(series, i, H.frame_data(series, i, SHAPE))
        for i in range(n_flood, n_flood + n_trickle):  # one by one
            time.sleep(0.03)
            tx.frame(series, i, H.frame_data(series, i, SHAPE))
        tx.end(series, n_flood + n_trickle)
        total = n_flood + n_trickle

        def closed():
            return any(t == "swmrbus.closed" and m.get("series") == series
                       for t, m in list(col.items))
        H.wait_until(closed, what="series %d closed" % series)
        path = [m for t, m in list(col.items) if t == "swmrbus.closed"][-1]["file"]
        e = sk.series_status(series)
        self.assertEqual(e["received"], total)
        self.assertEqual(e["written"], total)
        self.assertEqual(e["gaps"], 0)
        self.assertEqual(sk.status()["rejected"], {})
        tx.close()
        with h5py.File(path, "r") as f:
            d = f[H.DATASET][:]
        self.assertEqual(d.shape, (total,) + SHAPE)
        want = np.stack([H.frame_data(series, i, SHAPE) for i in range(total)])
        np.testing.assert_array_equal(d, want)


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
