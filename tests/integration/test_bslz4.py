"""bslz4: chunks made by h5py + bitshuffle (filter 32008) pushed as
encoding bslz4 are stored as they came (direct chunk write: byte-identical),
decode to the original arrays, and the dataset's filter is what h5py itself
stores for compression=32008, compression_opts=(0, 2) (DESIGN.md "The
file": requested as (0, 2), expanded by the plugin, e.g. (0, 3, 2, 0, 2)).
Also `compression: bslz4` / `lz4` in the config compresses raw input
through the filter pipeline."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401  (filter 32008 for h5py)
import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (64, 128)


def test_arrays(series, n, dtype="uint16"):
    """Smooth frames (compress well) and noisy ones (bitshuffle+LZ4 output
    larger than the raw frame)."""
    rng = np.random.default_rng(1234 + series)
    out = []
    for i in range(n):
        if i % 4 == 3:
            info = np.iinfo(dtype)
            a = rng.integers(info.min, info.max, size=SHAPE, dtype=dtype, endpoint=True)
        else:
            # constant along each row: compresses with LZ4 alone too
            rows = (np.arange(SHAPE[0]) * 3 + i + series) % 100
            a = np.repeat(rows[:, None], SHAPE[1], axis=1).astype(dtype)
        out.append(a.astype(np.dtype(dtype).newbyteorder("<")))
    return np.stack(out)


class Bslz4(H.SinkTestCase):

    def test_precompressed_bslz4_stored_as_pushed(self):
        sk = self.start_sink(flush_frames=10, flush_ms=100, linger_ms=200)
        col = self.collector(sk)
        tx = self.sender(sk)
        results = {}
        for series, dtype in ((11, "uint16"), (12, "uint32"), (13, "int8")):
            arrays = test_arrays(series, 24, dtype)
            chunks, h5py_filter = H.bslz4_chunks(arrays)
            self.assertTrue(any(len(c) > arrays[0].nbytes for c in chunks),
                            "no noisy chunk larger than its frame")
            tx.start(series, dtype=dtype, shape=SHAPE, encoding="bslz4", frames=len(arrays))
            for i, c in enumerate(chunks):
                tx.frame(series, i, c)
            tx.end(series, len(arrays))
            results[series] = (arrays, chunks, h5py_filter)
        for series, (arrays, chunks, h5py_filter) in results.items():
            closed = col.wait_closed(series)
            self.assertEqual(closed["frames"], len(arrays))
            with h5py.File(closed["file"], "r") as f:
                d = f[H.DATASET]
                self.assertEqual(d.shape, arrays.shape)
                self.assertEqual(d.dtype, arrays.dtype)
                for i in range(len(arrays)):
                    mask, raw = d.id.read_direct_chunk((i, 0, 0))
                    self.assertEqual(mask, 0)
                    self.assertEqual(bytes(raw), chunks[i], "series %d chunk %d" % (series, i))
                np.testing.assert_array_equal(d[...], arrays)
                plist = d.id.get_create_plist()
                self.assertEqual(plist.get_nfilters(), 1)
                fid, flags, cd, _ = plist.get_filter(0)
                self.assertEqual(fid, 32008)
                # As h5py stores it for compression_opts=(0, 2) ...
                self.assertEqual((fid, flags, tuple(cd)), h5py_filter)
                # ... which is the plugin's expansion of the requested (0, 2):
                # (major, minor, element size, block size 0, lz4 2).
                self.assertEqual(len(cd), 5)
                self.assertEqual(cd[2], arrays.dtype.itemsize)
                self.assertEqual(tuple(cd[3:]), (0, 2))
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def check_compressed_raw_input(self, compression, filter_id):
        sk = self.start_sink(flush_frames=10, flush_ms=100, linger_ms=200,
                             compression=compression)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = test_arrays(21, 16)
        tx.start(21, dtype="uint16", shape=SHAPE, encoding="raw")
        for i, a in enumerate(arrays):
            tx.frame(21, i, a.tobytes())
        tx.end(21, len(arrays))
        closed = col.wait_closed(21)
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.id.get_create_plist().get_filter(0)[0], filter_id)
            np.testing.assert_array_equal(d[...], arrays)
            if compression == "bslz4":
                # bitshuffle is deterministic: the chunks h5py would write.
                chunks, h5py_filter = H.bslz4_chunks(arrays)
                self.assertEqual(tuple(d.id.get_create_plist().get_filter(0)[2]),
                                 h5py_filter[2])
                for i in range(len(arrays)):
                    self.assertEqual(bytes(d.id.read_direct_chunk((i, 0, 0))[1]), chunks[i])
            smooth = d.id.get_chunk_info(0).size
            self.assertLess(smooth, arrays[0].nbytes)  # really compressed
        sk.stop_ok()

    def test_compression_bslz4_of_raw_input(self):
        self.check_compressed_raw_input("bslz4", 32008)

    def test_compression_lz4_of_raw_input(self):
        self.check_compressed_raw_input("lz4", 32004)


if __name__ == "__main__":
    H.main()
