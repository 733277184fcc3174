"""start.channels in wire protocol v1 (README "Channels"): a 2-channel raw
series into a sink, stored uncompressed (direct chunk writes at (row, c, 0, 0))
and with `compression: bslz4` (through the filter pipeline, one channel at a
time): h5py reads (N, 2, y, x) equal to the sent pixels, chunk (1, 1, y, x),
/entry/data/channel the names; a frame with the wrong part count is
bad_payload; a bad channels key is bad_header."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401
import h5py  # noqa: E402
import msgpack  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (8, 6)


def start(series, channels, **kw):
    h = {"type": "start", "series": series, "dtype": "uint16", "shape": list(SHAPE),
         "encoding": "raw", "channels": channels, "name": "ch%d" % series}
    h.update(kw)
    return [msgpack.packb(h)]


def frame(series, i, parts):
    return [msgpack.packb({"type": "frame", "series": series, "frame": i})] + \
        [p.tobytes() for p in parts]


def end(series, n):
    return [msgpack.packb({"type": "end", "series": series, "frames": n})]


class Channels(H.SinkTestCase):

    def run_series(self, compression):
        sk = self.start_sink(flush_frames=2, flush_ms=100, linger_ms=300,
                             compression=compression)
        col = self.collector(sk)
        tx = self.sender(sk)
        names = ["low", "high"]
        data = np.arange(5 * 2 * SHAPE[0] * SHAPE[1], dtype="<u2").reshape((5, 2) + SHAPE)
        tx.send(start(1, names))
        for i in range(5):
            tx.send(frame(1, i, [data[i, 0], data[i, 1]]))
        tx.send(frame(1, 5, [data[0, 0]]))  # one part for two channels
        tx.send(end(1, 5))
        tx.send(start(2, ["a/b", "c"]))     # not a channel name
        closed = col.wait_closed(1)
        self.assertEqual(closed["frames"], 5)
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (5, 2) + SHAPE)
            self.assertEqual(d.chunks, (1, 1) + SHAPE)
            np.testing.assert_array_equal(d[...], data)
            if compression:
                self.assertEqual(d.id.get_create_plist().get_filter(0)[0], 32008)
            else:
                self.assertEqual(bytes(d.id.read_direct_chunk((3, 1, 0, 0))[1]),
                                 data[3, 1].tobytes())
            self.assertEqual([x.decode() for x in f["/entry/data/channel"][()]], names)
            self.assertEqual(f["/entry/data"].attrs["channel_indices"], 1)
        rej = H.wait_until(lambda: sk.status()["rejected"]
                           if len(sk.status()["rejected"]) >= 2 else None, what="2 rejections")
        self.assertEqual(rej.get("bad_payload"), 1, rej)
        self.assertEqual(rej.get("bad_header"), 1, rej)
        sk.stop_ok()

    def test_raw_direct(self):
        self.run_series(None)

    def test_bslz4_pipeline(self):
        self.run_series("bslz4")


if __name__ == "__main__":
    H.main()
