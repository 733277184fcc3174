"""A source rebroadcasts every named dataset of a series (start.datasets):
the start carries the same datasets (name, dtype, shape, encoding, in order),
each frame one payload part per dataset, byte for byte what the sink took,
including 0-dim rows (shared chunks), 4-dim rows and a bslz4 dataset
written as stored. A second sink fed by that source writes the same file
content (the stream composes)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import source_harness as H  # noqa: E402
import swmrbus_harness as SH  # noqa: E402

DATASETS = [
    {"name": "INDEX/trainId", "dtype": "uint64", "shape": [], "encoding": "raw"},
    {"name": "INSTRUMENT/DET/A:out/data/adc", "dtype": "uint16", "shape": [2, 3, 8, 16],
     "encoding": "raw"},
    {"name": "INSTRUMENT/DET/A:out/data/img", "dtype": "uint32", "shape": [16, 16],
     "encoding": "bslz4"},
    {"name": "INSTRUMENT/DET/A:out/data/gain", "dtype": "float32", "shape": [5],
     "encoding": "raw"},
]
N = 9


def rows():
    imgs = [(np.arange(256, dtype="<u4") * (i + 1)).reshape(16, 16) for i in range(N)]
    chunks, _ = SH.bslz4_chunks(imgs)
    out = []
    for i in range(N):
        out.append([np.array(5000 + i, dtype="<u8").tobytes(),
                    (np.arange(768, dtype="<u2") * (i + 2)).tobytes(),
                    bytes(chunks[i]),
                    (np.arange(5, dtype="<f4") + i).tobytes()])
    return out


class AllParts(H.FrameCollector):
    @staticmethod
    def decode(parts):
        return (H.unpack(parts[0]), [bytes(p) for p in parts[1:]], len(parts))


class SourceDatasets(H.SourceTestCase):

    def test_rebroadcast_every_dataset(self):
        data2 = os.path.join(self.tmp, "data2")
        text = (H.sink_yaml("writer", self.ep("in"), ["inproc://wn"], self.ep("wc"),
                            os.path.join(self.tmp, "data"), flush_frames=2)
                + H.source_yaml("reader", ["inproc://wn"], self.ep("out"), self.ep("rn"),
                                self.ep("rc")))
        self.run_config(text, "pipeline", self.ep("rc"))
        frames = self.closing(AllParts(self.ep("out")))
        tx = self.closing(H.Sender(self.ep("in")))
        payloads = rows()
        tx.s.send(H.pack({"type": "start", "series": 4, "name": "multi", "datasets": DATASETS}))
        for i in range(N):
            tx.s.send_multipart([H.pack({"type": "frame", "series": 4, "frame": i})]
                                + payloads[i])
        tx.end(4, N)
        frames.wait_end(4)
        msgs = frames.of_series(4)
        types = [h["type"] for h, _, _ in msgs]
        self.assertEqual(types[0], "start")
        self.assertEqual(types[-1], "end")
        start = msgs[0][0]
        self.assertEqual(start["datasets"], DATASETS)
        self.assertNotIn("dtype", start)
        got = [(h["frame"], p) for h, p, _ in msgs if h["type"] == "frame"]
        self.assertEqual([i for i, _ in got], list(range(N)))
        for i, p in got:
            self.assertEqual(len(p), len(DATASETS))
            self.assertEqual(p, payloads[i], "frame %d" % i)
        self.assertEqual(msgs[-1][0]["frames"], N)

        # the stream composes: replayed into a second sink, the same rows
        text2 = H.sink_yaml("writer2", self.ep("in2"), [self.ep("n2")], self.ep("c2"), data2)
        self.run_config(text2, "sink2", self.ep("c2"))
        notes = self.closing(H.NoticeCollector(self.ep("n2")))
        tx2 = self.closing(H.Sender(self.ep("in2")))
        for h, p, _ in msgs:
            tx2.s.send_multipart([H.pack(h)] + p)
        closed = notes.wait_topic("swmrbus.closed")
        with h5py.File(closed["file"], "r") as f:
            for k, d in enumerate(DATASETS[:2] + DATASETS[3:]):
                ds = f[d["name"]]
                self.assertEqual(ds.shape[0], N)
            np.testing.assert_array_equal(f["INDEX/trainId"][:], 5000 + np.arange(N))
            np.testing.assert_array_equal(f["INSTRUMENT/DET/A:out/data/img"][3],
                                          (np.arange(256, dtype="<u4") * 4).reshape(16, 16))


if __name__ == "__main__":
    H.main()
