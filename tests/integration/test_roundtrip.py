"""Round trip: frames in through ZeroMQ, the file read back through h5py.

Covers DESIGN.md "Wire protocol v1", "Notifications" and "The file": row i
holds frame i byte for byte, the NeXus layout and its attributes, the
timestamp and meta datasets, the notification sequence (open, flushed...,
closed; seq without holes; the keys every notification carries), implicit
starts, several dtypes and ranks, lz4 pre-compressed chunks, the `_1`
suffix instead of overwriting, and tcp:// endpoints.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402


def attr_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


class RoundTrip(H.SinkTestCase):

    def check_series_notifications(self, sk, notes, series, frames):
        """open first (frames 0), flushed with non-decreasing frames,
        closed last with frames = complete = frames."""
        mine = [(t, m) for t, m in notes if m.get("series") == series
                and t != "swmrbus.error"]
        self.assertGreaterEqual(len(mine), 2, mine)
        t0, m0 = mine[0]
        self.assertEqual(t0, "swmrbus.open")
        self.assertEqual(m0["frames"], 0)
        tl, ml = mine[-1]
        self.assertEqual(tl, "swmrbus.closed")
        self.assertEqual(ml["frames"], frames)
        self.assertEqual(ml["complete"], frames)
        self.assertEqual(ml["written"], frames)
        last = 0
        for t, m in mine[1:-1]:
            self.assertEqual(t, "swmrbus.flushed", mine)
            self.assertGreaterEqual(m["frames"], last)
            self.assertLessEqual(m["frames"], frames)
            self.assertLessEqual(m["complete"], m["frames"])
            last = m["frames"]
        files = {m["file"] for _, m in mine}
        self.assertEqual(len(files), 1, files)
        for t, m in mine:
            self.assertNotification(m, sk, t)
        return ml

    def test_explicit_start_200_frames(self):
        sk = self.start_sink(flush_frames=50, flush_ms=200, linger_ms=200)
        col = self.collector(sk)
        tx = self.sender(sk)
        meta = {"energy_keV": 12.4, "exposure_count": 7, "temperature": -3,
                "label": "sample A", "roi": [1, 2, 3, 4], "gains": [0.5, 1.5, 2.25],
                "inverted": True,
                # names sanitised; "timestamp" is reserved for the per-row dataset
                "timestamp": 5, "a/b": "slash"}
        tx.start(1, dtype="uint16", shape=(64, 128), encoding="raw", name="roundtrip",
                 frames=200, meta=meta,
                 origin={"sink": "upstream", "series": 77, "file": "/elsewhere/x.h5"},
                 some_future_key=[1, {"x": 2}])  # unknown keys are ignored
        sent, stamps = [], []
        for i in range(200):
            a = H.frame_data(1, i)
            sent.append(a)
            stamps.append(1_700_000_000_000_000_000 + i * 1_000_003)
            tx.frame(1, i, a.tobytes(), ts=stamps[-1])
        tx.end(1, 200)
        closed = col.wait_closed(1)
        notes = col.snapshot()
        self.assertEqual(col.bad, [])

        # Notifications.
        self.check_series_notifications(sk, notes, 1, 200)
        self.assertEqual([m["seq"] for _, m in notes], list(range(len(notes))))
        self.assertEqual(os.path.basename(closed["file"]), "roundtrip_1.h5")
        self.assertTrue(any(t == "swmrbus.flushed" for t, _ in notes))

        # Counters.
        e = sk.series_status(1)
        self.assertEqual((e["received"], e["written"], e["gaps"], e["duplicates"]),
                         (200, 200, 0, 0))
        self.assertEqual(e["state"], "closed")
        self.assertEqual(e["bytes"], 200 * 64 * 128 * 2)
        self.assertEqual(sk.status()["rejected"], {})

        # The file, opened normally while the sink still runs (closed means final).
        with h5py.File(closed["file"], "r") as f:
            self.assertEqual(attr_str(f.attrs["default"]), "entry")
            entry = f["entry"]
            self.assertEqual(attr_str(entry.attrs["NX_class"]), "NXentry")
            self.assertEqual(attr_str(entry.attrs["default"]), "data")
            grp = f["entry/data"]
            self.assertEqual(attr_str(grp.attrs["NX_class"]), "NXdata")
            self.assertEqual(attr_str(grp.attrs["signal"]), "data")
            self.assertEqual(attr_str(grp.attrs["name"]), "roundtrip")
            self.assertEqual(int(grp.attrs["frames_expected"]), 200)
            self.assertEqual(attr_str(f["entry/instrument"].attrs["NX_class"]), "NXinstrument")
            self.assertEqual(attr_str(f[H.DETECTOR].attrs["NX_class"]), "NXdetector")
            d = f[H.DATASET]
            self.assertEqual(d.shape, (200, 64, 128))
            self.assertEqual(d.dtype, np.dtype("<u2"))
            self.assertEqual(d.chunks, (1, 64, 128))
            self.assertEqual(d.maxshape[0], None)
            for i in range(200):
                self.assertEqual(d[i].tobytes(), sent[i].tobytes(), "row %d" % i)
            ts = f[H.TIMESTAMP]
            self.assertEqual(ts.dtype, np.dtype("<u8"))
            self.assertEqual(ts.chunks, (1024,))
            self.assertEqual(ts.maxshape, (None,))
            self.assertEqual(ts[...].tolist(), stamps)
            det = f[H.DETECTOR]
            self.assertAlmostEqual(float(det["energy_keV"][()]), 12.4)
            self.assertEqual(int(det["exposure_count"][()]), 7)
            self.assertEqual(int(det["temperature"][()]), -3)
            self.assertEqual(attr_str(det["label"][()]), "sample A")
            self.assertEqual(det["roi"][...].tolist(), [1, 2, 3, 4])
            self.assertEqual(det["gains"][...].tolist(), [0.5, 1.5, 2.25])
            self.assertTrue(bool(det["inverted"][()]))
            # The reserved and the unsafe key got other names, not a group "a"
            # and not the timestamp dataset.
            others = {k: det[k][()] for k in det if k not in (
                "timestamp", "energy_keV", "exposure_count", "temperature", "label", "roi",
                "gains", "inverted")}
            self.assertEqual(len(others), 2, others)
            self.assertTrue(all(isinstance(det[k], h5py.Dataset) for k in others), others)
            self.assertEqual(sorted(attr_str(v) if isinstance(v, bytes) else int(v)
                                    for v in others.values()
                                    if isinstance(v, bytes)), ["slash"])
            self.assertIn(5, [int(v) for v in others.values() if not isinstance(v, bytes)])
        sk.stop_ok()

    def test_implicit_start_dtypes_and_ranks_over_tcp(self):
        # The one test on tcp://127.0.0.1 (free ports found by binding port 0).
        sk = self.start_sink(tcp=True, flush_frames=7, flush_ms=100, linger_ms=200)
        self.assertTrue(sk.in_ep.startswith("tcp://127.0.0.1:"))
        col = self.collector(sk)
        tx = self.sender(sk)
        cases = {  # series: (dtype, shape, frames)
            2: ("float32", (16,), 23),
            3: ("int8", (4, 8, 16), 19),
            4: ("uint16", (64, 128), 11),
            5: ("float64", (3, 5), 9),
            6: ("int64", (2, 2, 2), 5),
            7: ("uint32", (10,), 4),
        }
        sent = {}
        for series, (dtype, shape, n) in cases.items():
            sent[series] = []
            for i in range(n):
                a = H.frame_data(series, i, shape, dtype)
                sent[series].append(a)
                # No start: every frame carries dtype/shape/encoding.
                tx.frame(series, i, a.tobytes(), dtype=dtype, shape=list(shape),
                         encoding="raw", ts=i + 1)
            tx.end(series, n)
        for series in cases:
            col.wait_closed(series)
        notes = col.snapshot()
        self.assertEqual(col.bad, [])
        self.assertEqual([m["seq"] for _, m in notes], list(range(len(notes))))
        self.assertEqual(sk.status()["rejected"], {})
        for series, (dtype, shape, n) in cases.items():
            closed = self.check_series_notifications(sk, notes, series, n)
            # No name: the stem is the component name.
            self.assertEqual(os.path.basename(closed["file"]), "writer_%d.h5" % series)
            with h5py.File(closed["file"], "r") as f:
                d = f[H.DATASET]
                self.assertEqual(d.shape, (n,) + tuple(shape))
                self.assertEqual(d.dtype, np.dtype(dtype).newbyteorder("<"))
                for i in range(n):
                    self.assertEqual(d[i].tobytes(), sent[series][i].tobytes(),
                                     "series %d row %d" % (series, i))
                self.assertEqual(f[H.TIMESTAMP][...].tolist(), list(range(1, n + 1)))
                self.assertNotIn("name", f["entry/data"].attrs)
                self.assertNotIn("frames_expected", f["entry/data"].attrs)
        sk.stop_ok()

    def test_lz4_precompressed(self):
        sk = self.start_sink(flush_frames=10, flush_ms=100, linger_ms=200)
        col = self.collector(sk)
        tx = self.sender(sk)
        shape = (32, 48)
        tx.start(8, dtype="uint16", shape=shape, encoding="lz4", frames=30)
        sent, chunks = [], []
        for i in range(30):
            a = H.frame_data(8, i, shape)
            sent.append(a)
            # Several blocks, the last one short (3072 bytes in blocks of 1000).
            chunks.append(H.lz4_stored_chunk(a.tobytes(), block=1000))
            tx.frame(8, i, chunks[-1])
        tx.end(8, 30)
        closed = col.wait_closed(8)
        self.assertEqual(sk.status()["rejected"], {})
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (30,) + shape)
            plist = d.id.get_create_plist()
            self.assertEqual(plist.get_nfilters(), 1)
            self.assertEqual(plist.get_filter(0)[0], 32004)
            for i in range(30):
                # Stored as pushed (direct chunk write), decoded by the filter.
                _, raw = d.id.read_direct_chunk((i, 0, 0))
                self.assertEqual(bytes(raw), chunks[i], "chunk %d" % i)
                self.assertEqual(d[i].tobytes(), sent[i].tobytes(), "row %d" % i)
        sk.stop_ok()

    def test_existing_file_never_overwritten(self):
        # file: "{name}.h5", so series with the same name compete for a file.
        sk = self.start_sink(flush_frames=5, flush_ms=100, linger_ms=200, file="{name}.h5")
        os.makedirs(sk.data_dir, exist_ok=True)
        decoy_text = b"not an HDF5 file, must stay as it is\n"
        with open(os.path.join(sk.data_dir, "taken.h5"), "wb") as f:
            f.write(decoy_text)
        # A dangling symlink out of dir, named as the next file would be: not
        # followed (nothing created outside dir), the name counts as taken.
        outside = os.path.join(sk.tmp, "outside")
        os.makedirs(outside)
        os.symlink(os.path.join(outside, "target.h5"), os.path.join(sk.data_dir, "link.h5"))
        col = self.collector(sk)
        tx = self.sender(sk)

        def one_series(series, n, base):
            tx.start(series, dtype="uint8", shape=(8, 8), encoding="raw", name="taken")
            rows = []
            for i in range(n):
                a = H.frame_data(base, i, (8, 8), "uint8")
                rows.append(a)
                tx.frame(series, i, a.tobytes())
            return rows

        real = os.path.realpath(sk.data_dir)
        rows = {}
        # Two series with the same name, open at the same time.
        rows[9] = one_series(9, 6, 100)
        rows[10] = one_series(10, 4, 200)
        tx.end(9, 6)
        tx.end(10, 4)
        files = {9: col.wait_closed(9)["file"], 10: col.wait_closed(10)["file"]}
        self.assertEqual(files[9], os.path.join(real, "taken_1.h5"))
        self.assertEqual(files[10], os.path.join(real, "taken_2.h5"))
        for s in (9, 10):  # `open` names the suffixed file
            self.assertEqual(col.of("swmrbus.open", s)[0]["file"], files[s])
        # A start reopens the closed id 9: a new file again, nothing overwritten.
        rows["9b"] = one_series(9, 3, 300)
        tx.end(9, 3)
        col.wait_for(lambda t, m: t == "swmrbus.closed" and m["series"] == 9
                     and m["file"] != files[9], what="second closed of series 9")
        opened = col.of("swmrbus.open", 9)
        self.assertEqual(len(opened), 2)
        files["9b"] = opened[1]["file"]
        self.assertEqual(files["9b"], os.path.join(real, "taken_3.h5"))
        with open(os.path.join(sk.data_dir, "taken.h5"), "rb") as f:
            self.assertEqual(f.read(), decoy_text)
        # The symlinked name: a suffixed file inside dir, the target untouched.
        tx.start(12, dtype="uint8", shape=(8, 8), encoding="raw", name="link")
        tx.frame(12, 0, H.frame_data(12, 0, (8, 8), "uint8").tobytes())
        tx.end(12, 1)
        files[12] = col.wait_closed(12)["file"]
        rows[12] = [H.frame_data(12, 0, (8, 8), "uint8")]
        self.assertEqual(files[12], os.path.join(real, "link_1.h5"))
        self.assertEqual(os.listdir(outside), [])
        self.assertTrue(os.path.islink(os.path.join(sk.data_dir, "link.h5")))
        for key, path in files.items():
            with h5py.File(path, "r") as f:
                d = f[H.DATASET]
                self.assertEqual(d.shape[0], len(rows[key]))
                for i, a in enumerate(rows[key]):
                    self.assertEqual(d[i].tobytes(), a.tobytes(), "%s row %d" % (key, i))
        self.assertEqual(sorted(os.listdir(sk.data_dir)),
                         ["link.h5", "link_1.h5", "taken.h5", "taken_1.h5", "taken_2.h5",
                          "taken_3.h5"])
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()
    def test_small_queue_pushes_back(self):
        # limits.max_queue_bytes far below what is sent at once: the sink
        # stops reading (ZeroMQ's high-water marks push back), loses nothing.
        sk = self.start_sink(flush_frames=50, flush_ms=100, linger_ms=200,
                             limits={"max_queue_bytes": 65536})
        col = self.collector(sk)
        tx = self.sender(sk)
        rows = [H.frame_data(14, i) for i in range(300)]  # 16 KiB each, ~5 MB
        tx.start(14, dtype="uint16", shape=(64, 128), encoding="raw")
        for i, a in enumerate(rows):
            tx.frame(14, i, a.tobytes())
        tx.end(14, len(rows))
        closed = col.wait_closed(14)
        self.assertEqual((closed["frames"], closed["complete"]), (300, 300))
        self.assertEqual(sk.status()["rejected"], {})
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            for i, a in enumerate(rows):
                self.assertEqual(d[i].tobytes(), a.tobytes(), "row %d" % i)
        sk.stop_ok()

    def test_series_id_uint64_max_after_a_reopen(self):
        sk = self.start_sink(flush_frames=10, flush_ms=100, linger_ms=100)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(5, dtype="uint8", shape=[4], encoding="raw")
        tx.frame(5, 0, b"abcd")
        tx.end(5, 1)
        col.wait_closed(5)
        tx.start(5, dtype="uint8", shape=[4], encoding="raw")  # reopens the closed id 5
        top = 2 ** 64 - 1  # never opened, never closed
        tx.frame(top, 0, b"wxyz", dtype="uint8", shape=[4], encoding="raw")
        tx.end(top, 1)
        tx.end(5, 0)
        closed = col.wait_for(lambda t, m: t in ("swmrbus.closed", "swmrbus.error")
                              and m.get("series") == top, what="series 2**64-1 outcome")
        self.assertEqual(sk.status()["rejected"], {})
        self.assertEqual(closed["frames"], 1)
        with h5py.File(closed["file"], "r") as f:
            self.assertEqual(f[H.DATASET][0].tobytes(), b"wxyz")
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
