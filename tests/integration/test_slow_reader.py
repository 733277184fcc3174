"""Promise 4: a slow or dead reader never stalls the sink. A subscriber
that never reads (receive high-water mark 1) and a subscriber process that
is frozen with SIGSTOP stay connected while a series of 3000 frames is
written with a flush every 10 frames (300+ notifications, far more than
they take): every frame lands, and a live subscriber sees the sink's
notifications through to `closed` with seq never going back."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import zmq  # noqa: E402

import swmrbus_harness as H  # noqa: E402

FRAMES = 3000
SHAPE = (16, 16)

FROZEN = """
import sys, zmq
s = zmq.Context().socket(zmq.SUB)
s.setsockopt(zmq.RCVHWM, 1)
s.setsockopt(zmq.SUBSCRIBE, b"")
s.connect(sys.argv[1])
print("ready", flush=True)
sys.stdin.read()   # never reads a notification
"""


class SlowReader(H.SinkTestCase):

    def test_stuck_subscribers_do_not_stall_the_sink(self):
        sk = self.start_sink(flush_frames=10, flush_ms=1000, linger_ms=100)
        # a subscriber in this process that never reads
        stuck = zmq.Context.instance().socket(zmq.SUB)
        stuck.setsockopt(zmq.RCVHWM, 1)
        stuck.setsockopt(zmq.SUBSCRIBE, b"")
        stuck.connect(sk.notify_ep)
        self.addCleanup(stuck.close, 0)
        # a subscriber process, frozen
        frozen = subprocess.Popen(["/usr/bin/python3", "-c", FROZEN, sk.notify_ep],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(frozen.kill)
        self.assertEqual(frozen.stdout.readline().strip(), b"ready")
        os.kill(frozen.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, frozen.pid, signal.SIGCONT)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(1, dtype="uint16", shape=list(SHAPE), encoding="raw")
        for i in range(FRAMES):
            tx.frame(1, i, H.frame_data(1, i, SHAPE).tobytes())
        tx.end(1, FRAMES)
        closed = col.wait_closed(1)
        self.assertEqual(closed["frames"], FRAMES)
        self.assertEqual(closed["complete"], FRAMES)
        notes = col.snapshot()
        flushed = [m for t, m in notes if t == "swmrbus.flushed"]
        self.assertGreaterEqual(len(flushed), FRAMES // 10 - 1)
        seqs = [m["seq"] for _, m in notes]
        self.assertEqual(seqs, sorted(seqs))
        st = sk.series_status(1)
        self.assertEqual(st["written"], FRAMES)
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (FRAMES,) + SHAPE)
            for i in (0, 1234, FRAMES - 1):
                np.testing.assert_array_equal(d[i], H.frame_data(1, i, SHAPE))
        self.assertTrue(sk.alive())
        sk.stop_ok()


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
