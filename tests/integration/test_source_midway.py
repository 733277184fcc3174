"""A source started in the middle of a series (sink and source in two
processes): with `from: start` (the default) it delivers the series from
frame 0 (catch-up), then follows it to the end; with `from: latest` it
starts at the N of the first notification it hears."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402

SHAPE = (16, 24)


class MidWay(H.SourceTestCase):

    def run_midway(self, frm):
        sink = self.run_config(
            H.sink_yaml("early", self.ep("in"), [self.ep("sn")], self.ep("sc"),
                        os.path.join(self.tmp, "data"), flush_frames=10, flush_ms=50),
            "sink", self.ep("sc"))
        sn = self.closing(H.NoticeCollector(self.ep("sn")))
        tx = self.closing(H.Sender(self.ep("in")))
        n, half = 2000, 150  # room to keep the series going until the source hears
        payloads = [H.frame_data(2, i, SHAPE).tobytes() for i in range(n)]
        tx.start(2, shape=SHAPE, frames=n, name="mid")
        for i in range(half):
            tx.frame(2, i, payloads[i])
        sn.wait_topic("swmrbus.flushed", lambda m: m["frames"] >= half)

        src = self.run_config(
            H.source_yaml("late", [self.ep("sn")], self.ep("out"), self.ep("rn"),
                          self.ep("rc"), frm=frm, dirs=[os.path.join(self.tmp, "data")]),
            "source", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        # Keep the series going until the source has heard of it (its SUB
        # subscribes a moment after it starts), then send the rest.
        sent = [half]

        def feed():
            i = sent[0]
            for k in range(i, min(i + 5, n - 50)):
                tx.frame(2, k, payloads[k])
            sent[0] = min(i + 5, n - 50)
        H.feed_until(lambda: H.request(self.ep("rc"), {"cmd": "status"})["series"], feed,
                     what="the source to hear of the series")
        for k in range(sent[0], n):
            tx.frame(2, k, payloads[k])
        tx.end(2, n)
        frames.wait_end(2)
        st = H.request(self.ep("rc"), {"cmd": "status"})
        self.assertEqual(H.request(self.ep("sc"), {"cmd": "status"})["rejected"], {})
        return frames.of_series(2), payloads, st, half, src, sink

    def test_from_start_catches_up(self):
        msgs, payloads, st, half, src, sink = self.run_midway(None)
        start = H.check_stream(self, msgs, payloads, series=2, first=0)
        self.assertEqual(start["name"], "mid")
        self.assertEqual(start["frames"], len(payloads))
        e = st["series"][-1]
        self.assertEqual(e["sent"], len(payloads))
        self.assertEqual(src.stop(), 0)
        self.assertEqual(sink.stop(), 0)

    def test_from_latest(self):
        msgs, payloads, st, half, src, sink = self.run_midway("latest")
        first = [h["frame"] for h, _, _ in msgs if h["type"] == "frame"][0]
        self.assertGreaterEqual(first, half)
        H.check_stream(self, msgs, payloads, series=2, first=first)
        self.assertEqual(src.stop(), 0)
        self.assertEqual(sink.stop(), 0)


if __name__ == "__main__":
    H.main()
