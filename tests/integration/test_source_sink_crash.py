"""The sink killed with kill -9 in the middle of a series: the source (in
another process) sends every frame that was notified, byte-identical and
in order, keeps running, shows the series `stale` after stale_ms, and
follows the next sink that comes up on the same endpoint."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402

SHAPE = (16, 24)


class SinkCrash(H.SourceTestCase):

    def sink_text(self):
        return H.sink_yaml("victim", self.ep("in"), [self.ep("sn")], self.ep("sc"),
                           os.path.join(self.tmp, "data"), flush_frames=10, flush_ms=50)

    def test_kill9_mid_series(self):
        src = self.run_config(
            H.source_yaml("survivor", [self.ep("sn")], self.ep("out"), self.ep("rn"),
                          self.ep("rc"), stale_ms=500, dirs=[os.path.join(self.tmp, "data")]),
            "source", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        relays = self.closing(H.NoticeCollector(self.ep("rn")))
        sink = self.run_config(self.sink_text(), "sink", self.ep("sc"))
        tx = self.closing(H.Sender(self.ep("in")))
        payloads = [H.frame_data(1, i, SHAPE).tobytes() for i in range(2000)]
        # The source subscribes a moment after the sink is up: feed the
        # series until it has heard of it (N is cumulative), then go on.
        tx.start(1, shape=SHAPE, frames=2000)
        sent = [0]

        def feed():
            for k in range(sent[0], min(sent[0] + 5, 1500)):
                tx.frame(1, k, payloads[k])
            sent[0] = min(sent[0] + 5, 1500)
        H.feed_until(lambda: H.request(self.ep("rc"), {"cmd": "status"})["series"], feed,
                     what="the source to hear of the series")
        first = sent[0]
        for i in range(first, first + 200):
            tx.frame(1, i, payloads[i])
        relays.wait_topic("swmrbus.flushed", lambda m: m["complete"] >= first + 200)
        for i in range(first + 200, first + 260):
            tx.frame(1, i, payloads[i])
        sink.kill9()

        def settled():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            e = st["series"][0] if st["series"] else None
            if e and e["state"] == "stale" and e["sent"] == e["complete"] and \
                    e["next"] == e["complete"]:
                return st
            return None
        st = H.wait_until(settled, what="the source to send what was notified and go stale")
        e = st["series"][0]
        k = e["complete"]
        self.assertGreaterEqual(k, first + 200)
        self.assertEqual(e["gaps"], 0)
        # Everything the relays announced went out before them.
        last_relayed = max(m["complete"] for m in relays.of("swmrbus.flushed"))
        self.assertGreaterEqual(k, last_relayed)
        msgs = frames.of_series(1)
        self.assertEqual(msgs[0][0]["type"], "start")
        got = [(h["frame"], p) for h, p, _ in msgs if h["type"] == "frame"]
        self.assertEqual([f for f, _ in got], list(range(k)))
        for f, p in got:
            self.assertEqual(p, payloads[f], "frame %d" % f)
        self.assertFalse([h for h, _, _ in msgs if h["type"] == "end"])
        self.assertTrue(src.alive())

        # A new sink on the same endpoints: the source follows its series.
        sink2 = self.run_config(self.sink_text(), "sink2", self.ep("sc"))
        tx2 = self.closing(H.Sender(self.ep("in")))
        n2 = 200
        p2 = [H.frame_data(2, i, SHAPE).tobytes() for i in range(n2)]
        tx2.start(2, shape=SHAPE)
        # The source's SUB reconnects to the new sink a moment after it is
        # up, and PUB drops what goes out before. An end whose frames have
        # all arrived closes the series at once (no linger to catch up in),
        # so keep series 2 going until the source has heard of it.
        sent2 = [0]

        def feed2():
            if sent2[0] < n2 - 10:
                tx2.frame(2, sent2[0], p2[sent2[0]])
                sent2[0] += 1
        H.feed_until(lambda: [m for t, m in relays.snapshot()
                              if m.get("file", "").endswith("victim_2.h5")], feed2,
                     what="the source to hear of series 2")
        for i in range(sent2[0], n2):
            tx2.frame(2, i, p2[i])
        tx2.end(2, n2)
        frames.wait_end(2)
        H.check_stream(self, frames.of_series(2), p2, series=2)
        self.assertEqual(sink2.stop(), 0)
        self.assertEqual(src.stop(), 0)


if __name__ == "__main__":
    H.main()
