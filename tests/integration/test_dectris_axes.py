"""The image_id axis of /entry/data as Dectris's file writer (NXmx 2024.02,
filewriter/README.md of Dectris's documentation repository) has it:
/entry/data/image_id (uint64, one per row: the detector's id of the row,
first_image_id + row), @axes naming it at dimension 0, @image_id_indices = 0,
and start_time as a second axis of dimension 0 (@start_time_indices = 0, a
link to the detector's per-image start_time). Checked for:

* a stream v2 series whose ids start at 1 (the detector's default);
* a series with a gap and out-of-order arrival (ids 5, 6, 8, 7, 10: image_id
  is 5 ... 10, the gap row 9 holds the id its image would have had, and its
  data stay at the fill value);
* an h5py swmr=True reader that sees image_id grow with each flushed N;
* silx still finds the default NXdata with the axis;
* a native swmrbus series without first_image_id gets no image_id (and the
  axes of before), one with it does."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import silx.io  # noqa: E402
import silx.io.nxdata  # noqa: E402

import swmrbus_harness as H  # noqa: E402
import test_dectris2 as D2  # noqa: E402  (the stream v2 sender of that test)


def strs(v):
    return [x.decode() if isinstance(x, bytes) else x for x in v]


class DectrisAxes(H.SinkTestCase):

    def dectris_sink(self, **kw):
        return D2.Dectris2.start_dectris_sink(self, **kw)

    def test_image_id_from_one_and_silx(self):
        sk = self.dectris_sink(flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = D2.frames(41, 6, "uint32")
        chunks, _ = H.bslz4_chunks(arrays)
        tx.send([D2.start_msg(41, len(arrays), unique="axes_from_one")])
        for i, c in enumerate(chunks):
            tx.send([D2.image_msg(41, i + 1, D2.TYPED["uint32"], c, "bslz4", 4)])
        tx.send([D2.end_msg(41)])
        closed = col.wait_closed(41)
        with h5py.File(closed["file"], "r") as f:
            data = f["/entry/data"]
            ids = data["image_id"]
            self.assertEqual(ids.dtype, np.dtype("<u8"))
            self.assertEqual(list(ids[()]), [1, 2, 3, 4, 5, 6])
            self.assertEqual(strs(data.attrs["axes"]), ["image_id", ".", "."])
            self.assertEqual(data.attrs["image_id_indices"], 0)
            self.assertEqual(data.attrs["signal"], b"data")
            self.assertEqual(data.attrs["start_time_indices"], 0)
            np.testing.assert_allclose(data["start_time"][()],
                                       f["/entry/instrument/detector/start_time"][()])
            self.assertEqual(f["/entry/instrument/detector/first_image_id"][()], 1)
        with silx.io.open(closed["file"]) as f:
            nxd = silx.io.nxdata.get_default(f)
            self.assertIsNotNone(nxd, "silx finds no default NXdata")
            self.assertTrue(nxd.is_valid, nxd.issues)
            self.assertEqual(nxd.signal.name, "/entry/data/data")
            np.testing.assert_array_equal(nxd.signal[...], arrays)
            self.assertEqual(nxd.axes_dataset_names, ["image_id", None, None])
            np.testing.assert_array_equal(nxd.axes[0][()], np.arange(1, 7))
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def test_gap_and_out_of_order(self):
        sk = self.dectris_sink(flush_frames=100, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = D2.frames(42, 6, "uint16")
        tx.send([D2.start_msg(42, 6, unique="axes_gap")])
        for image_id in (5, 6, 8, 7, 10):  # 9 never comes
            tx.send([D2.image_msg(42, image_id, D2.TYPED["uint16"],
                                  arrays[image_id - 5].tobytes())])
        tx.send([D2.end_msg(42)])
        closed = col.wait_closed(42)
        self.assertEqual(closed["frames"], 6)
        with h5py.File(closed["file"], "r") as f:
            data = f["/entry/data"]
            self.assertEqual(list(data["image_id"][()]), [5, 6, 7, 8, 9, 10])
            d = data["data"]
            for row in (0, 1, 2, 3, 5):
                np.testing.assert_array_equal(d[row], arrays[row])
            self.assertFalse(d[4].any(), "the gap row stays at the fill value")
            self.assertEqual(f["/entry/instrument/detector/first_image_id"][()], 5)
        sk.stop_ok()

    def test_swmr_reader_sees_image_id_grow(self):
        sk = self.dectris_sink(flush_frames=4, flush_ms=100000, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = D2.frames(43, 12, "uint16")
        chunks, _ = H.bslz4_chunks(arrays)
        tx.send([D2.start_msg(43, 12, unique="axes_live")])
        for i in range(4):
            tx.send([D2.image_msg(43, i + 1, D2.TYPED["uint16"], chunks[i], "bslz4", 2)])
        fl = col.wait_flushed(43, 4)
        with h5py.File(fl["file"], "r", libver="latest", swmr=True) as f:
            ids = f["/entry/data/image_id"]
            self.assertGreaterEqual(ids.shape[0], fl["frames"])
            self.assertEqual(list(ids[:fl["frames"]]), list(range(1, fl["frames"] + 1)))
            for i in range(4, 12):
                tx.send([D2.image_msg(43, i + 1, D2.TYPED["uint16"], chunks[i], "bslz4", 2)])
            fl = col.wait_flushed(43, 12)
            ids.refresh()
            self.assertEqual(ids.shape[0], 12)
            self.assertEqual(list(ids[()]), list(range(1, 13)))
            d = f[H.DATASET]
            d.refresh()
            np.testing.assert_array_equal(d[:12], arrays)
        tx.send([D2.end_msg(43)])
        col.wait_closed(43)
        sk.stop_ok()

    def test_native_series_with_and_without_first_image_id(self):
        sk = self.start_sink(flush_frames=100, flush_ms=100, linger_ms=300)
        col = self.collector(sk)
        tx = self.sender(sk)
        a = [np.full((4, 5), i, "<u2") for i in range(3)]
        tx.start(51, dtype="uint16", shape=(4, 5))
        tx.start(52, dtype="uint16", shape=(4, 5), meta={"first_image_id": 100})
        for s in (51, 52):
            for i, x in enumerate(a):
                tx.frame(s, i, x.tobytes())
            tx.end(s, len(a))
        c51, c52 = col.wait_closed(51), col.wait_closed(52)
        with h5py.File(c51["file"], "r") as f:
            self.assertNotIn("image_id", f["/entry/data"])
            self.assertNotIn("axes", f["/entry/data"].attrs)
        with h5py.File(c52["file"], "r") as f:
            self.assertEqual(list(f["/entry/data/image_id"][()]), [100, 101, 102])
            self.assertEqual(strs(f["/entry/data"].attrs["axes"]), ["image_id", ".", "."])
            self.assertNotIn("start_time", f["/entry/data"])  # no per-frame times
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
