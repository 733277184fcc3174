"""Source output with holes (DESIGN.md "Source output"): frames go out in
order; rows past `complete` wait until it passes them or `closed` comes;
at `closed`, rows with no stored chunk are gaps, skipped and counted, and
`end` carries the count sent. Out-of-order arrival is served in order."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402

SHAPE = (8, 8)


class Gaps(H.SourceTestCase):

    def start(self, flush_frames=5):
        text = (H.sink_yaml("w", self.ep("in"), ["inproc://w-notify", self.ep("wn")],
                            self.ep("wc"), os.path.join(self.tmp, "data"),
                            flush_frames=flush_frames, flush_ms=30, linger_ms=300)
                + H.source_yaml("r", ["inproc://w-notify"], self.ep("out"), self.ep("rn"),
                                self.ep("rc")))
        return self.run_config(text, "pipeline", self.ep("rc"))

    def test_rows_past_a_hole_wait_for_closed(self):
        proc = self.start()
        frames = self.closing(H.FrameCollector(self.ep("out")))
        sink_notes = self.closing(H.NoticeCollector(self.ep("wn")))
        tx = self.closing(H.Sender(self.ep("in")))
        n, hole = 60, {20, 41, 42}
        payloads = [H.frame_data(3, i, SHAPE).tobytes() for i in range(n)]
        tx.start(3, shape=SHAPE)
        for i in range(n):
            if i not in hole:
                tx.frame(3, i, payloads[i])
        # Everything is flushed (N = 60, complete = 20) before the end.
        sink_notes.wait_topic("swmrbus.flushed", lambda m: m["frames"] == n)

        def caught_up():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return st["series"] and st["series"][0]["frames"] == n and \
                st["series"][0]["next"] == 20 and st
        H.wait_until(caught_up, what="the source to send up to complete")
        H.wait_until(lambda: len([m for m in frames.of_series(3) if m[0]["type"] == "frame"]) == 20,
                     what="rows below complete at the consumer")
        got = [h["frame"] for h, _, _ in frames.of_series(3) if h["type"] == "frame"]
        self.assertEqual(got, list(range(20)))   # nothing past the hole yet

        tx.end(3, n - len(hole))
        end = frames.wait_end(3)[0]
        got = [(h["frame"], p) for h, p, _ in frames.of_series(3) if h["type"] == "frame"]
        self.assertEqual([f for f, _ in got], [i for i in range(n) if i not in hole])
        for f, p in got:
            self.assertEqual(p, payloads[f])
        self.assertEqual(end["frames"], n - len(hole))
        e = H.request(self.ep("rc"), {"cmd": "status"})["series"][0]
        self.assertEqual((e["gaps"], e["sent"], e["state"]), (len(hole), n - len(hole), "closed"))
        self.assertEqual(proc.stop(), 0)

    def test_late_rows_keep_their_timestamps(self):
        """Rows past a hole that arrive after the rows below it went out
        carry their own ts (the source never caches a timestamp it may not
        send yet)."""
        proc = self.start(flush_frames=1000)  # one flush (timer): N = 30, complete = 10
        frames = self.closing(H.FrameCollector(self.ep("out")))
        tx = self.closing(H.Sender(self.ep("in")))
        n = 40
        payloads = [H.frame_data(5, i, SHAPE).tobytes() for i in range(n)]
        tx.start(5, shape=SHAPE)
        for i in list(range(10)) + list(range(12, 30)):
            tx.frame(5, i, payloads[i], ts=1000 + i)

        def sent_ten():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return st["series"] and st["series"][0]["frames"] == 30 and \
                st["series"][0]["sent"] == 10
        H.wait_until(sent_ten, what="rows below the hole out")
        for i in [11, 10] + list(range(30, n)):
            tx.frame(5, i, payloads[i], ts=1000 + i)
        tx.end(5, n)
        frames.wait_end(5)
        H.check_stream(self, frames.of_series(5), payloads, series=5,
                       ts=[1000 + i for i in range(n)])
        self.assertEqual(proc.stop(), 0)

    def test_out_of_order_goes_out_in_order(self):
        proc = self.start()
        frames = self.closing(H.FrameCollector(self.ep("out")))
        tx = self.closing(H.Sender(self.ep("in")))
        n = 90
        payloads = [H.frame_data(4, i, SHAPE).tobytes() for i in range(n)]
        order = list(range(30, 60)) + list(range(0, 30)) + list(range(89, 59, -1))
        tx.start(4, shape=SHAPE)
        for i in order:
            tx.frame(4, i, payloads[i])
        tx.end(4, n)
        frames.wait_end(4)
        H.check_stream(self, frames.of_series(4), payloads, series=4)
        self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    H.main()
