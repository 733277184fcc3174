"""One source following two sinks (in.endpoints) that both write a series 1
and a series 2, all at once: four complete streams out, output series ids
unique, each start naming its original {sink, series, file} in origin."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402

SHAPE = (8, 16)


class TwoSinks(H.SourceTestCase):

    def test_two_sinks_four_series(self):
        text = (H.sink_yaml("north", self.ep("in1"), ["inproc://north-n"], self.ep("c1"),
                            os.path.join(self.tmp, "north"))
                + H.sink_yaml("south", self.ep("in2"), ["inproc://south-n"], self.ep("c2"),
                              os.path.join(self.tmp, "south"))
                + H.source_yaml("both", ["inproc://north-n", "inproc://south-n"],
                                self.ep("out"), self.ep("rn"), self.ep("rc")))
        proc = self.run_config(text, "pipeline", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        txs = {"north": self.closing(H.Sender(self.ep("in1"))),
               "south": self.closing(H.Sender(self.ep("in2")))}
        n = 120
        want = {}
        for sink, tx in txs.items():
            for series in (1, 2):
                tx.start(series, shape=SHAPE, name="%s%d" % (sink, series))
                want[(sink, series)] = [H.frame_data(series + (10 if sink == "south" else 0), i,
                                                     SHAPE).tobytes() for i in range(n)]
        for i in range(n):  # interleaved: every series open at once
            for (sink, series), p in want.items():
                txs[sink].frame(series, i, p[i])
        for (sink, series) in want:
            txs[sink].end(series, n)

        H.wait_until(lambda: len([m for m in frames.snapshot() if m[0]["type"] == "end"]) == 4,
                     what="four ends")
        starts = [h for h, _, _ in frames.snapshot() if h["type"] == "start"]
        self.assertEqual(len(starts), 4)
        ids = [h["series"] for h in starts]
        self.assertEqual(len(set(ids)), 4, ids)
        origins = {(h["origin"]["sink"], h["origin"]["series"]): h for h in starts}
        self.assertEqual(set(origins), set(want))
        for key, h in origins.items():
            self.assertTrue(h["origin"]["file"].endswith("/%s%d_%d.h5" % (key[0], key[1], key[1])),
                            h["origin"])
            H.check_stream(self, frames.of_series(h["series"]), want[key], series=h["series"])
        st = H.request(self.ep("rc"), {"cmd": "status"})
        self.assertEqual(sorted(e["series"] for e in st["series"]), sorted(ids))
        self.assertTrue(all(e["state"] == "closed" for e in st["series"]))
        self.assertEqual(sorted(p["name"] for p in st["publishers"]), ["north", "south"])
        self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    H.main()
