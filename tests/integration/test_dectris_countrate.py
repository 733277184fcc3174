"""Countrate correction tables of a Dectris start, stored where Dectris's
file writers put them, before SWMR starts:

* stream v2 start's countrate_correction_lookup_table (a TypedArray) ->
  /entry/instrument/detector/countrate_correction_lookup_table (1-D, its
  dtype; the NXmx 2024.02 layout of filewriter/README.md), also with two
  channels (the table is the detector's, not a channel's);
* stream v1 dcountrate_table-1.0 + blob (header_detail all; shape [w, h]) ->
  /entry/instrument/detector/detectorSpecific/countrate_correction_table of
  shape [h, w] (the legacy file writer's place);
* a table over limits.max_frame_bytes is skipped, the series written."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cbor2  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
from cbor2 import CBORTag  # noqa: E402

import swmrbus_harness as H  # noqa: E402
import test_dectris1 as D1  # noqa: E402
import test_dectris2 as D2  # noqa: E402

LUT_PATH = "/entry/instrument/detector/countrate_correction_lookup_table"
TABLE_PATH = "/entry/instrument/detector/detectorSpecific/countrate_correction_table"


class DectrisCountrate(H.SinkTestCase):

    def test_stream2_lookup_table(self):
        sk = D2.Dectris2.start_dectris_sink(self, flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        lut = (np.arange(4096, dtype="<u4") * 1.07).astype("<u4")
        arrays = D2.frames(61, 3, "uint32")
        tx.send([D2.start_msg(61, 3, unique="crt_v2",
                              countrate_correction_lookup_table=CBORTag(70, lut.tobytes()))])
        for i, a in enumerate(arrays):
            tx.send([D2.image_msg(61, i + 1, D2.TYPED["uint32"], a.tobytes())])
        tx.send([D2.end_msg(61)])
        # two channels: still one table, in the detector group
        names = ("threshold_1", "threshold_2")
        lut16 = np.arange(100, dtype="<u2") * 3
        tx.send([D2.start_msg(62, 2, unique="crt_v2_two", channels=names,
                              countrate_correction_lookup_table=CBORTag(69, lut16.tobytes()))])
        for i in range(2):
            data = {n: CBORTag(40, [list(D2.SHAPE), CBORTag(69, arrays[i].astype("<u2")
                                                            .tobytes())]) for n in names}
            tx.send([cbor2.dumps({"type": "image", "series_id": 62, "image_id": i + 1,
                                  "data": data})])
        tx.send([D2.end_msg(62)])
        c61, c62 = col.wait_closed(61), col.wait_closed(62)
        with h5py.File(c61["file"], "r") as f:
            t = f[LUT_PATH]
            self.assertEqual(t.dtype, np.dtype("<u4"))
            np.testing.assert_array_equal(t[()], lut)
            np.testing.assert_array_equal(f[H.DATASET][()], arrays)
        with h5py.File(c62["file"], "r") as f:
            np.testing.assert_array_equal(f[LUT_PATH][()], lut16)
            self.assertEqual(f[LUT_PATH].dtype, np.dtype("<u2"))
            self.assertNotIn("countrate_correction_lookup_table",
                             f["/entry/instrument/detector/threshold_1_channel"])
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def test_stream2_table_over_limit_skipped(self):
        sk = D2.Dectris2.start_dectris_sink(self, flush_frames=4, flush_ms=100, linger_ms=500,
                                            limits={"max_frame_bytes": 16384})
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = D2.frames(63, 2, "uint16")
        tx.send([D2.start_msg(63, 2, countrate_correction_lookup_table=CBORTag(
            70, bytes(4 * 8192)))])
        for i, a in enumerate(arrays):
            tx.send([D2.image_msg(63, i + 1, D2.TYPED["uint16"], a.tobytes())])
        tx.send([D2.end_msg(63)])
        closed = col.wait_closed(63)
        with h5py.File(closed["file"], "r") as f:
            self.assertNotIn(LUT_PATH, f)
            np.testing.assert_array_equal(f[H.DATASET][()], arrays)
        sk.stop_ok()

    def test_stream1_countrate_table(self):
        sk = D1.Dectris1.start_dectris_sink(self, flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        table = np.stack([np.arange(1000, dtype="<f4"),
                          np.arange(1000, dtype="<f4") * 1.5], axis=1)  # (h, w) = (1000, 2)
        parts = D1.header_parts(71, "all")
        parts[7] = table.tobytes()  # after dcountrate_table-1.0 {shape [2, 1000]}
        tx.send(parts)
        arrays = D1.frames(71, 2, "uint16")
        for i, a in enumerate(arrays):
            tx.send(D1.image_parts(71, i, "uint16", "<", a.tobytes()))
        tx.send(D1.end_parts(71))
        closed = col.wait_closed(71)
        with h5py.File(closed["file"], "r") as f:
            t = f[TABLE_PATH]
            self.assertEqual(t.dtype, np.dtype("<f4"))
            self.assertEqual(t.shape, (1000, 2))
            np.testing.assert_array_equal(t[()], table)
            np.testing.assert_array_equal(f["/entry/instrument/detector/pixel_mask"][()],
                                          D1.PIXEL_MASK)
            np.testing.assert_array_equal(f[H.DATASET][()], arrays)
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
