"""silx opens what a Dectris series becomes (issue 11: "silx opens it"): a
stream v2 bslz4 series into a sink, then the closed file through silx as a
beamline user would: silx.io.open, and the NeXus default plot data that
silx's viewer shows (silx.io.nxdata.get_default: /entry@default ->
/entry/data@signal), whose signal holds the sent pixels. Debian's
python3-silx (Makefile TEST_DEBS)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import silx.io  # noqa: E402
import silx.io.nxdata  # noqa: E402

import swmrbus_harness as H  # noqa: E402
import test_dectris2 as D2  # noqa: E402  (the stream v2 sender of that test)


class DectrisSilx(H.SinkTestCase):

    def test_silx_opens_nxmx_file(self):
        sk = D2.Dectris2.start_dectris_sink(self, flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = D2.frames(11, 6, "uint32")
        chunks, _ = H.bslz4_chunks(arrays)
        tx.send([D2.start_msg(11, len(arrays), unique="silx_scan")])
        for i, c in enumerate(chunks):
            tx.send([D2.image_msg(11, i + 1, D2.TYPED["uint32"], c, "bslz4", 4)])
        tx.send([D2.end_msg(11)])
        closed = col.wait_closed(11)
        self.assertEqual(closed["frames"], len(arrays))
        with silx.io.open(closed["file"]) as f:
            self.assertTrue(silx.io.is_file(f))
            self.assertTrue(silx.io.nxdata.is_NXentry_with_default_NXdata(f["entry"]))
            nxd = silx.io.nxdata.get_default(f)
            self.assertIsNotNone(nxd, "silx finds no default NXdata")
            self.assertTrue(nxd.is_valid, nxd.issues)
            self.assertEqual(nxd.signal.name, "/entry/data/data")
            self.assertEqual(nxd.signal.shape, arrays.shape)
            np.testing.assert_array_equal(nxd.signal[...], arrays)
            self.assertEqual(nxd.signal_ndim, 3)  # an image stack (rows, y, x)
            det = f["/entry/instrument/detector"]
            self.assertTrue(silx.io.is_group(det))
            np.testing.assert_allclose(det["start_time"][()], np.arange(1, 7) * 0.01)
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
