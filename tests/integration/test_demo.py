"""`swmrbus demo` (what `make demo` runs) and the frame simulator: the demo
exits 0, says what it did, and its file holds exactly what the simulator
promises (pixel i of frame f = f + i); a config with `kind: sim` sending
lz4 frames into a sink lands them decoded right."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402


def expected(f, shape, dtype):
    n = int(np.prod(shape))
    return ((np.arange(n, dtype=np.uint64) + f) % (1 << (8 * np.dtype(dtype).itemsize))
            ).astype(dtype).reshape(shape)


class Demo(unittest.TestCase):

    def test_demo_writes_what_it_says(self):
        tmp = H.make_tempdir("demo")
        out = subprocess.run([H.BIN, "demo", "--frames", "300", "--shape", "32x48",
                              "--dir", os.path.join(tmp, "d")],
                             capture_output=True, text=True, timeout=H.TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("frames on disk    300 of 300", out.stdout)
        self.assertRegex(out.stdout, r"throughput\s+[0-9.]+ GB/s")
        # beside it, the disk's sequential-write rate measured in the same run
        self.assertRegex(out.stdout, r"disk write\(2\)\s+[0-9.]+ GB/s sequential")
        self.assertEqual([n for n in os.listdir(os.path.join(tmp, "d")) if n.startswith(".")],
                         [], "the disk measurement's file is removed")
        m = re.search(r"files\s+1: (\S+)", out.stdout)
        self.assertIsNotNone(m, out.stdout)
        path = m.group(1)
        self.assertTrue(path.startswith(os.path.join(tmp, "d")))
        with h5py.File(path, "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (300, 32, 48))
            for i in (0, 1, 150, 299):
                np.testing.assert_array_equal(d[i], expected(i, (32, 48), "uint16"))
            self.assertTrue((f[H.TIMESTAMP][:] > 0).all())
        # the python snippet it prints runs as is
        snippet = re.search(r'/usr/bin/python3 -c "(.*)"', out.stdout).group(1)
        r = subprocess.run(["/usr/bin/python3", "-c", snippet], capture_output=True, text=True,
                           timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("(300, 32, 48)", r.stdout)

    def test_demo_sim_only(self):
        out = subprocess.run([H.BIN, "demo", "--frames", "500", "--shape", "32x48",
                              "--sim-only"], capture_output=True, text=True, timeout=H.TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("frames            500 of 500", out.stdout)
        self.assertRegex(out.stdout, r"sim alone\s+[0-9.]+ GB/s")

    def test_sim_raw_pattern_across_windows(self):
        """Raw frames are slices of pre-built ramps, refilled every 1024 frames
        for wide dtypes and reused as the values wrap for narrow ones: every
        frame still holds f + i."""
        for dtype, frames in (("uint32", 2600), ("uint8", 600), ("int64", 1100)):
            with self.subTest(dtype=dtype):
                tmp = H.make_tempdir("simraw")
                data = os.path.join(tmp, "data")
                path = self._run_sim(tmp, data, """    series: 4
    frames: %d
    shape: [3, 5]
    dtype: %s
    encoding: raw
""" % (frames, dtype), os.path.join(data, "det_4.h5"), frames)
                with h5py.File(path, "r") as f:
                    d = f[H.DATASET][:]
                self.assertEqual(d.shape, (frames, 3, 5))
                want = np.stack([expected(i, (3, 5), dtype) for i in range(frames)])
                np.testing.assert_array_equal(d, want)

    def _run_sim(self, tmp, data, sim_keys, path, frames):
        cfg = os.path.join(tmp, "sim.yaml")
        with open(cfg, "w") as f:
            f.write("""components:
  - name: writer
    kind: sink
    in: {endpoint: "inproc://frames"}
    dir: %s
    linger_ms: 50
  - name: det
    kind: sim
    out: {endpoint: "inproc://frames", bind: false}
""" % data + sim_keys)
        p = subprocess.Popen([H.BIN, "run", cfg], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            H.wait_until(lambda: self._closed(path, frames), what="every frame in the file")
        finally:
            p.terminate()
            out, _ = p.communicate(timeout=H.TIMEOUT)
        self.assertEqual(p.returncode, 0, out)
        return path

    def test_sim_lz4_into_sink(self):
        tmp = H.make_tempdir("simlz4")
        data = os.path.join(tmp, "data")
        cfg = os.path.join(tmp, "sim.yaml")
        with open(cfg, "w") as f:
            f.write("""components:
  - name: writer
    kind: sink
    in: {endpoint: "inproc://frames"}
    notify: {endpoint: "ipc://%s/notify"}
    dir: %s
    linger_ms: 50
  - name: det
    kind: sim
    out: {endpoint: "inproc://frames", bind: false}
    series: 3
    frames: 120
    shape: [40, 50]
    dtype: uint32
    encoding: lz4
""" % (tmp, data))
        p = subprocess.Popen([H.BIN, "run", cfg], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        path = os.path.join(data, "det_3.h5")
        try:
            H.wait_until(lambda: self._closed(path), what="all 120 frames in the file")
        finally:
            p.terminate()
            out, _ = p.communicate(timeout=H.TIMEOUT)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("series 3 closed", out)
        with h5py.File(path, "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (120, 40, 50))
            self.assertEqual(d.id.get_create_plist().get_filter(0)[0], 32004)
            for i in (0, 57, 119):
                np.testing.assert_array_equal(d[i], expected(i, (40, 50), "uint32"))

    @staticmethod
    def _closed(path, frames=120):
        try:
            with h5py.File(path, "r") as f:  # only opens once the sink closed it
                return f[H.DATASET].shape[0] == frames
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
