"""A stuck downstream consumer. PUSH: the source waits (bounded: it holds
no frame, rows stay in the file) and, once the consumer reads again,
delivers every frame once, in order; meanwhile the sink is not held back
and the source answers control requests. PUB: ZeroMQ's high-water mark
drops for the stuck subscriber, the drops are counted, the source goes on."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402

SHAPE = (64, 128)  # 16 KiB frames: far more than socket buffers hold


class Backpressure(H.SourceTestCase):

    def start(self, pattern):
        text = (H.sink_yaml("w", self.ep("in"), ["inproc://w-notify"], self.ep("wc"),
                            os.path.join(self.tmp, "data"), flush_frames=20)
                + H.source_yaml("r", ["inproc://w-notify"], self.ep("out"), self.ep("rn"),
                                self.ep("rc"), pattern=pattern, hwm=4))
        return self.run_config(text, "pipeline", self.ep("rc"))

    def test_push_consumer_stuck_then_back(self):
        proc = self.start("push")
        frames = H.FrameCollector(self.ep("out"), rcvhwm=4)
        self.closing(frames)
        frames.paused = True
        tx = self.closing(H.Sender(self.ep("in")))
        n = 1000
        payloads = [H.frame_data(5, i, SHAPE).tobytes() for i in range(n)]
        tx.start(5, shape=SHAPE)
        for i in range(n):
            tx.frame(5, i, payloads[i])
        tx.end(5, n)

        # The sink writes everything and closes although nobody reads the
        # source; the source has heard it all but waits at the consumer.
        def sink_closed():
            st = H.request(self.ep("wc"), {"cmd": "status"})
            return st["series"] and st["series"][0]["state"] == "closed" and st
        H.wait_until(sink_closed, what="the sink to close the series")

        # (the sink's flushed N and its closed come a moment apart: wait for
        # both, the closed one showing as the source's "lingering")
        def heard_all():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return (st["series"] and st["series"][0]["frames"] == n and
                    st["series"][0]["state"] == "lingering" and st)
        st = H.wait_until(heard_all, what="the source to hear N = %d and closed" % n)
        e = st["series"][0]
        self.assertLess(e["sent"], n)      # blocked: the consumer reads nothing
        self.assertEqual(e["dropped"], 0)

        frames.paused = False
        frames.wait_end(5)
        H.check_stream(self, frames.of_series(5), payloads, series=5)
        st = H.request(self.ep("rc"), {"cmd": "status"})
        self.assertEqual(st["series"][0]["state"], "closed")
        self.assertEqual(st["dropped"], 0)
        self.assertEqual(proc.stop(), 0)

    def test_pub_stuck_subscriber_does_not_stop_the_live_one(self):
        """PUB at the default hwm with one subscriber that reads nothing: the
        frames its pipe holds must not stop the source (a pool of frame
        buffers that made the source wait once they were all in flight did:
        518 frames, then nothing for anyone). The live subscriber gets every
        frame, once, in order, and the series closes."""
        shape = (64, 128)
        text = (H.sink_yaml("w", self.ep("in"), ["inproc://w-notify"], self.ep("wc"),
                            os.path.join(self.tmp, "data"), flush_frames=20)
                + H.source_yaml("r", ["inproc://w-notify"], self.ep("out"), self.ep("rn"),
                                self.ep("rc"), pattern="pub"))
        proc = self.run_config(text, "pipeline", self.ep("rc"))
        stuck = self.closing(H.FrameCollector(self.ep("out"), pattern="sub", rcvhwm=4))
        stuck.paused = True
        live = self.closing(H.FrameCollector(self.ep("out"), pattern="sub"))
        H.time.sleep(0.5)  # both subscriptions reach the PUB
        tx = self.closing(H.Sender(self.ep("in")))
        n = 2000
        payloads = [H.frame_data(6, i, shape).tobytes() for i in range(n)]
        tx.start(6, shape=shape)
        for i in range(n):
            tx.frame(6, i, payloads[i])
        tx.end(6, n)

        def closed():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return st["series"] and st["series"][0]["state"] == "closed" and st
        st = H.wait_until(closed, what="the source to send the whole series")
        self.assertEqual(st["series"][0]["sent"], n)
        live.wait_end(6)
        H.check_stream(self, live.of_series(6), payloads, series=6)
        self.assertEqual(proc.stop(), 0)
        self.assertEqual(proc.stop(), 0)

    def test_pub_stuck_subscriber_drops_counted(self):
        proc = self.start("pub")
        stuck = H.FrameCollector(self.ep("out"), pattern="sub", rcvhwm=4)
        self.closing(stuck)
        stuck.paused = True
        live = self.closing(H.FrameCollector(self.ep("out"), pattern="sub"))
        H.time.sleep(0.5)  # let both subscriptions reach the PUB (not asserted on)
        tx = self.closing(H.Sender(self.ep("in")))
        n = 600
        payloads = [H.frame_data(6, i, SHAPE).tobytes() for i in range(n)]
        tx.start(6, shape=SHAPE)
        for i in range(n):
            tx.frame(6, i, payloads[i])
        tx.end(6, n)

        def done():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return st["series"] and st["series"][0]["state"] == "closed" and st
        st = H.wait_until(done, what="the source to finish the series")
        e = st["series"][0]
        self.assertEqual(e["sent"], n)
        self.assertGreater(st["dropped"], 0)
        self.assertEqual(st["dropped"], e["dropped"])
        # The live subscriber: frames once each, in order, as stored; on a
        # PUB every frame carries its format (an implicit start).
        H.wait_until(lambda: live.of_series(6), what="frames at the live subscriber")
        got = [(h, p) for h, p, _ in live.of_series(6) if h["type"] == "frame"]
        idx = [h["frame"] for h, _ in got]
        self.assertEqual(idx, sorted(set(idx)))
        for h, p in got:
            self.assertEqual(p, payloads[h["frame"]])
            self.assertEqual((h["dtype"], h["shape"], h["encoding"]),
                             ("uint16", list(SHAPE), "raw"))
        self.assertTrue(H.request(self.ep("rc"), {"cmd": "status"})["ok"])
        self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    H.main()
