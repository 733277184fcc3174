"""The memory bound is true (issue 9, item 3): limits.max_memory_bytes
bounds the queue, ZeroMQ's receive pipe and the kernel's buffer together.

A sender floods the sink over tcp with maximum-size frames (max_frame_bytes
4 MiB, max_memory_bytes 96 MiB, max_queue_bytes 16 MiB) while the disk is
slow (the test-only fault knob SWMRBUS_FAULT_WRITE_DELAY_US makes the
writer sleep before each frame). The sink's RSS, sampled from
/proc/PID/status VmRSS and read as the kernel's peak VmHWM at the end, stays
under status memory_bound_bytes plus a baseline (the idle sink's RSS plus
BASELINE_SLACK for HDF5's caches and the threads' malloc arenas). No frame
is lost: PUSH backpressure blocks the sender, and every frame sent is in the
file at the end.

What is sent (FRAMES x 4 MiB) is far more than the bound, so a pipe that
took everything (the old in.hwm of 1000 messages) would show here.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import zmq  # noqa: E402

import swmrbus_harness as H  # noqa: E402

MiB = 1024 * 1024
SHAPE = (2048, 2048)          # uint8: 4 MiB a frame = max_frame_bytes
FRAMES = 100                  # 400 MiB sent
DELAY_US = 25000              # the slow disk: 40 frames/s
MAX_MEMORY = 96 * MiB
BASELINE_SLACK = 48 * MiB


def under_asan(pid):
    """ASan keeps freed memory in its quarantine (256 MiB by default): RSS
    says nothing about the sink's own bound then (make check-asan)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kib(pid, key="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("%s not in /proc/%d/status" % (key, pid))


class MemoryBound(H.SinkTestCase):

    def test_flood_with_a_slow_disk(self):
        os.environ["SWMRBUS_FAULT_WRITE_DELAY_US"] = str(DELAY_US)
        try:
            sk = self.start_sink(tcp=True, flush_frames=10, flush_ms=200,
                                 limits={"max_frame_bytes": 4 * MiB,
                                         "max_queue_bytes": 16 * MiB,
                                         "max_memory_bytes": MAX_MEMORY})
        finally:
            del os.environ["SWMRBUS_FAULT_WRITE_DELAY_US"]
        pid = sk.proc.pid
        st = sk.status()
        bound = st["memory_bound_bytes"]
        mem = st["memory"]
        self.assertLessEqual(bound, MAX_MEMORY)
        self.assertEqual(mem["max_memory_bytes"], MAX_MEMORY)
        self.assertGreaterEqual(mem["in_hwm"], 1)
        self.assertLess(mem["in_hwm"], 1000)
        self.assertEqual(mem["senders"], 1)
        self.assertIn("fault injection", sk.log_text())
        base = rss_kib(pid) * 1024
        limit = bound + base + BASELINE_SLACK

        col = self.collector(sk)
        push = zmq.Context.instance().socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 1)   # the sender feels the backpressure
        push.setsockopt(zmq.LINGER, 60000)
        push.connect(sk.in_ep)
        self.addCleanup(push.close)
        rng = np.random.default_rng(9)
        base_frame = rng.integers(0, 256, size=SHAPE, dtype=np.uint8)

        def frame(i):
            a = base_frame.copy()
            a[0, :8] = np.frombuffer(i.to_bytes(8, "little"), dtype=np.uint8)
            return a

        sent = []

        def send_all():
            push.send_multipart(H.start_msg(1, dtype="uint8", shape=SHAPE))
            for i in range(FRAMES):
                push.send_multipart(H.frame_msg(1, i, frame(i).tobytes()))
                sent.append(time.monotonic())
            push.send_multipart(H.end_msg(1, FRAMES))

        t = threading.Thread(target=send_all, daemon=True)
        t0 = time.monotonic()
        t.start()
        samples = []
        while t.is_alive() or not col.of("swmrbus.closed", 1):
            samples.append(rss_kib(pid) * 1024)
            if time.monotonic() - t0 > H.TIMEOUT * 3:
                raise AssertionError("no closed in %.0f s; sent %d" % (H.TIMEOUT * 3, len(sent)))
            time.sleep(0.02)
        t.join(H.TIMEOUT)
        closed = col.wait_closed(1)
        peak = rss_kib(pid, "VmHWM") * 1024
        sys.stderr.write("memory bound %.1f MiB (in.hwm %d, rcvbuf %d KiB); idle RSS %.1f MiB; "
                         "peak sampled RSS %.1f MiB, VmHWM %.1f MiB over %d samples; "
                         "%d x 4 MiB sent in %.1f s\n"
                         % (bound / MiB, mem["in_hwm"], mem["in_rcvbuf"] // 1024, base / MiB,
                            max(samples) / MiB, peak / MiB, len(samples), FRAMES,
                            time.monotonic() - t0))
        if not under_asan(pid):
            self.assertLessEqual(max(samples), limit)
            self.assertLessEqual(peak, limit)

        # Nothing lost: every frame sent is in the file, with its bytes.
        self.assertEqual(len(sent), FRAMES)
        self.assertEqual((closed["frames"], closed["complete"]), (FRAMES, FRAMES))
        e = sk.series_status(1)
        self.assertEqual((e["received"], e["written"], e["rejected"]), (FRAMES, FRAMES, {}))
        self.assertEqual(sk.status()["rejected"], {})
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (FRAMES,) + SHAPE)
            for i in range(FRAMES):
                self.assertTrue(np.array_equal(d[i], frame(i)), "frame %d" % i)

    def test_too_small_a_bound_is_a_config_error(self):
        sk = H.SinkProcess(limits={"max_frame_bytes": 4 * MiB, "max_memory_bytes": 64 * MiB})
        self.addCleanup(sk.cleanup)
        sk.control_ep = None  # it never answers: it must exit
        sk.start()
        rc = sk.proc.wait(H.TIMEOUT)
        self.assertNotEqual(rc, 0)
        self.assertIn("limits.max_memory_bytes", sk.log_text())
        self.assertIn("limits.max_queue_bytes", sk.log_text())


if __name__ == "__main__":
    H.main()
