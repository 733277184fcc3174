"""Several named per-row datasets in one series (README "Wire protocol",
start.datasets and start.static): every dataset is created at its path when
the series opens, a frame carries one payload per dataset in their order,
`flushed` N means every dataset has N rows, 0-dim (a scalar a row) and
4-dim rows, the NeXus default links to the first image-like dataset, static
datasets are written once, and a frame with the wrong payload count is
rejected while the good frames around it are written.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

DATASETS = [
    {"name": "INDEX/trainId", "dtype": "uint64", "shape": [], "encoding": "raw"},
    {"name": "INSTRUMENT/DET/A:out/data/adc", "dtype": "uint16", "shape": [2, 3, 8, 16],
     "encoding": "raw"},
    {"name": "INSTRUMENT/DET/A:out/data/gain", "dtype": "float32", "shape": [5],
     "encoding": "raw"},
]


def row(i):
    return [np.array(1000 + i, dtype="<u8"),
            (np.arange(2 * 3 * 8 * 16, dtype="<u2") * (i + 1)).reshape(2, 3, 8, 16),
            np.arange(5, dtype="<f4") + i * 0.5]


class Datasets(H.SinkTestCase):

    def test_named_datasets_round_trip(self):
        sk = self.start_sink(flush_frames=4, flush_ms=100, linger_ms=200)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.send([H.pack({"type": "start", "series": 3, "name": "multi", "datasets": DATASETS,
                         "static": {"METADATA/dataFormatVersion": "1.0",
                                    "METADATA/dataSources/deviceId": ["DET/A", "DET/B"],
                                    "METADATA/runNumber": 7,
                                    "METADATA/gains": [0.5, 1, 2]}})])
        n = 12
        for i in range(n):
            if i == 5:  # one payload short: rejected, the rest goes on
                tx.send([H.pack({"type": "frame", "series": 3, "frame": i})]
                        + [a.tobytes() for a in row(i)[:2]])
            tx.send([H.pack({"type": "frame", "series": 3, "frame": i})]
                    + [a.tobytes() for a in row(i)])
        tx.end(3, n)
        closed = col.wait_closed(3)
        self.assertEqual(closed["frames"], n)
        self.assertEqual(closed["complete"], n)
        errors = [m for t, m in col.snapshot() if t == "swmrbus.error"]
        self.assertTrue(any(m.get("reason") == "bad_payload" for m in errors), errors)
        flushed = [m["frames"] for t, m in col.snapshot() if t == "swmrbus.flushed"]
        self.assertTrue(flushed)
        with h5py.File(closed["file"], "r") as f:
            for k, d in enumerate(DATASETS):
                ds = f[d["name"]]
                self.assertEqual(ds.shape, (n,) + tuple(d["shape"]), d["name"])
                self.assertEqual(ds.dtype, np.dtype(d["dtype"]))
                for i in range(n):
                    np.testing.assert_array_equal(ds[i], row(i)[k])
            self.assertIn(f.attrs["default"], ("entry", b"entry"))
            # the NeXus default: the first dataset of >= 2 dims
            np.testing.assert_array_equal(f["entry/data/data"][3], row(3)[1])
            names = [x.decode() if isinstance(x, bytes) else x
                     for x in f["entry/data"].attrs["datasets"]]
            self.assertEqual(names, [d["name"] for d in DATASETS])
            self.assertEqual(f["METADATA/dataFormatVersion"][0], b"1.0")
            self.assertEqual(list(f["METADATA/dataSources/deviceId"][:]), [b"DET/A", b"DET/B"])
            self.assertEqual(f["METADATA/runNumber"][0], 7)
            np.testing.assert_array_equal(f["METADATA/gains"][:], [0.5, 1, 2])
            self.assertEqual(f["entry/instrument/detector/timestamp"].shape, (n,))

    def test_flushed_means_every_dataset(self):
        """While the sink writes: at each flushed N, a SWMR reader sees N rows
        in every dataset, with the bytes sent."""
        sk = self.start_sink(flush_frames=3, flush_ms=5000, linger_ms=200)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.send([H.pack({"type": "start", "series": 1, "datasets": DATASETS})])
        for i in range(3):
            tx.send([H.pack({"type": "frame", "series": 1, "frame": i})]
                    + [a.tobytes() for a in row(i)])
        m = col.wait_for(lambda t, m: t == "swmrbus.flushed" and m.get("frames", 0) >= 3)
        with h5py.File(m["file"], "r", swmr=True) as f:
            for k, d in enumerate(DATASETS):
                ds = f[d["name"]]
                self.assertGreaterEqual(ds.shape[0], 3)
                for i in range(3):
                    np.testing.assert_array_equal(ds[i], row(i)[k])
        tx.end(1, 3)
        col.wait_closed(1)

    def test_bad_datasets_rejected(self):
        sk = self.start_sink()
        col = self.collector(sk)
        tx = self.sender(sk)
        bad = [
            [{"name": "../x", "dtype": "uint8", "shape": [1], "encoding": "raw"}],
            [{"name": "entry/x", "dtype": "uint8", "shape": [1], "encoding": "raw"}],
            [{"name": "a//b", "dtype": "uint8", "shape": [1], "encoding": "raw"}],
            [{"name": "a", "dtype": "uint8", "shape": [1] * 9, "encoding": "raw"}],
            [{"name": "a", "dtype": "uint8", "shape": [1], "encoding": "raw"},
             {"name": "a/b", "dtype": "uint8", "shape": [1], "encoding": "raw"}],
            [],
        ]
        for k, ds in enumerate(bad):
            tx.send([H.pack({"type": "start", "series": 10 + k, "datasets": ds})])
        tx.send([H.pack({"type": "start", "series": 20, "datasets": DATASETS,
                         "dtype": "uint8", "shape": [1], "encoding": "raw"})])
        H.wait_until(lambda: len([1 for t, m in col.snapshot() if t == "swmrbus.error"])
                     >= len(bad) + 1, what="errors")
        self.assertFalse([m for t, m in col.snapshot() if t == "swmrbus.open"])


if __name__ == "__main__":
    H.main()
