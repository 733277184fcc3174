"""Components compose: sink -> source (one process) -> a second sink in
ANOTHER process. The second sink's file equals the first row by row (data,
timestamps, meta, name), read back with h5py; bslz4 chunks pass through the
whole chain byte-identical (read_direct_chunk on both files)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401  (filter 32008 for h5py)
import h5py  # noqa: E402
import numpy as np  # noqa: E402

import source_harness as H  # noqa: E402

SHAPE = (32, 48)


class Chain(H.SourceTestCase):

    def start_chain(self):
        first = (H.sink_yaml("first", self.ep("in"), ["inproc://first-notify", self.ep("n1")],
                             self.ep("c1"), os.path.join(self.tmp, "data1"), flush_frames=16)
                 + H.source_yaml("relay", ["inproc://first-notify"], self.ep("out"),
                                 self.ep("rn"), self.ep("rc")))
        second = H.sink_yaml("second", self.ep("out"), [self.ep("n2")], self.ep("c2"),
                             os.path.join(self.tmp, "data2"), flush_frames=16, in_bind=False)
        a = self.run_config(first, "first", self.ep("c1"))
        b = self.run_config(second, "second", self.ep("c2"))
        n1 = self.closing(H.NoticeCollector(self.ep("n1")))
        n2 = self.closing(H.NoticeCollector(self.ep("n2")))
        return a, b, n1, n2

    def test_second_file_equals_first(self):
        a, b, n1, n2 = self.start_chain()
        tx = self.closing(H.Sender(self.ep("in")))
        meta = {"energy_kev": 12.4, "frames_per_trigger": 1, "sample": "lysozyme",
                "flags": [0, 1, 1], "beam": True}
        n = 300
        tx.start(3, shape=SHAPE, frames=n, name="chain", meta=meta)
        for i in range(n):
            tx.frame(3, i, H.frame_data(3, i, SHAPE).tobytes(), ts=1600000000000000000 + i)
        tx.end(3, n)
        c1 = n1.wait_topic("swmrbus.closed")
        c2 = n2.wait_topic("swmrbus.closed")
        self.assertEqual(c1["frames"], n)
        self.assertEqual(c2["frames"], n)
        self.assertNotEqual(c1["file"], c2["file"])
        with h5py.File(c1["file"], "r") as f1, h5py.File(c2["file"], "r") as f2:
            d1, d2 = f1[H.DATASET], f2[H.DATASET]
            self.assertEqual(d1.shape, d2.shape)
            self.assertEqual(d1.dtype, d2.dtype)
            for i in range(n):
                np.testing.assert_array_equal(d1[i], d2[i], "row %d" % i)
            np.testing.assert_array_equal(f1[H.TIMESTAMP][...], f2[H.TIMESTAMP][...])
            g1, g2 = f1[H.DETECTOR], f2[H.DETECTOR]
            self.assertEqual(sorted(g1.keys()), sorted(g2.keys()))
            for k in g1.keys():
                np.testing.assert_array_equal(g1[k][()], g2[k][()], k)
                self.assertEqual(g1[k].dtype, g2[k].dtype, k)
            for attr in ("name", "frames_expected", "signal"):
                self.assertEqual(f1["/entry/data"].attrs[attr], f2["/entry/data"].attrs[attr])
        self.assertEqual(os.path.basename(c2["file"]), "chain_3.h5")
        st2 = H.request(self.ep("c2"), {"cmd": "status"})
        self.assertEqual(st2["rejected"], {})
        self.assertEqual(a.stop(), 0)
        self.assertEqual(b.stop(), 0)

    def test_bslz4_byte_identical(self):
        a, b, n1, n2 = self.start_chain()
        tx = self.closing(H.Sender(self.ep("in")))
        rng = np.random.default_rng(5)
        n = 64
        arrays = np.stack([
            (rng.integers(0, 60000, size=SHAPE, dtype=np.uint16) if i % 5 == 4 else
             np.full(SHAPE, i * 3, dtype=np.uint16) + np.arange(SHAPE[1], dtype=np.uint16))
            for i in range(n)]).astype("<u2")
        chunks = H.bslz4_chunks(arrays)
        tx.start(9, shape=SHAPE, encoding="bslz4", frames=n)
        for i, c in enumerate(chunks):
            tx.frame(9, i, c)
        tx.end(9, n)
        c1 = n1.wait_topic("swmrbus.closed")
        c2 = n2.wait_topic("swmrbus.closed")
        with h5py.File(c1["file"], "r") as f1, h5py.File(c2["file"], "r") as f2:
            d1, d2 = f1[H.DATASET], f2[H.DATASET]
            self.assertEqual(d2.shape, arrays.shape)
            self.assertEqual(d2.id.get_create_plist().get_filter(0)[0], 32008)
            for i in range(n):
                m1, r1 = d1.id.read_direct_chunk((i, 0, 0))
                m2, r2 = d2.id.read_direct_chunk((i, 0, 0))
                self.assertEqual((m1, m2), (0, 0))
                self.assertEqual(bytes(r1), chunks[i], "first file, chunk %d" % i)
                self.assertEqual(bytes(r2), chunks[i], "second file, chunk %d" % i)
            np.testing.assert_array_equal(d2[...], arrays)
        st = H.request(self.ep("rc"), {"cmd": "status"})
        e = [x for x in st["series"] if x["series"] == 9][-1]
        self.assertEqual((e["sent"], e["state"]), (n, "closed"))
        self.assertEqual(a.stop(), 0)
        self.assertEqual(b.stop(), 0)

    def test_bslz4_reaches_a_consumer_as_stored(self):
        """The same through a PULL consumer: encoding bslz4 in start, every
        payload the chunk that was pushed."""
        text = (H.sink_yaml("w", self.ep("in"), ["inproc://w-notify"], self.ep("c1"),
                            os.path.join(self.tmp, "data"))
                + H.source_yaml("r", ["inproc://w-notify"], self.ep("out"), self.ep("rn"),
                                self.ep("rc")))
        proc = self.run_config(text, "one", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        tx = self.closing(H.Sender(self.ep("in")))
        arrays = np.stack([H.frame_data(4, i, SHAPE) for i in range(40)])
        chunks = H.bslz4_chunks(arrays)
        tx.start(4, shape=SHAPE, encoding="bslz4")
        for i, c in enumerate(chunks):
            tx.frame(4, i, c)
        tx.end(4, len(chunks))
        frames.wait_end(4)
        start = H.check_stream(self, frames.of_series(4), chunks, series=4)
        self.assertEqual(start["encoding"], "bslz4")
        self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    H.main()
