"""The Python reader example of source/README.md (source/examples/follow.py)
works: run against a source's relayed notifications, it reads every row of
a series with h5py (SWMR) as the notifications declare them, and sees the
series closed."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402

SHAPE = (8, 8)
EXAMPLE = os.path.join(H.SOURCE_DIR, "source", "examples", "follow.py")


class ReaderExample(H.SourceTestCase):

    def test_follow_example(self):
        text = (H.sink_yaml("w", self.ep("in"), ["inproc://w-notify"], self.ep("wc"),
                            os.path.join(self.tmp, "data"), flush_frames=10)
                + H.source_yaml("r", ["inproc://w-notify"], self.ep("out"), self.ep("rn"),
                                self.ep("rc")))
        proc = self.run_config(text, "pipeline", self.ep("rc"))
        self.closing(H.FrameCollector(self.ep("out")))  # a consumer, so the source goes on
        out_path = os.path.join(self.tmp, "follow.out")
        out = open(out_path, "wb")
        follower = subprocess.Popen(["/usr/bin/python3", EXAMPLE, self.ep("rn"),
                                     "--exit-after-closed"], stdout=out,
                                    stderr=subprocess.STDOUT, preexec_fn=H._die_with_parent,
                                    env=dict(os.environ, PYTHONFAULTHANDLER="1"))
        try:
            tx = self.closing(H.Sender(self.ep("in")))
            tx.start(1, shape=SHAPE)

            def text_now():
                with open(out_path, "rb") as f:
                    return f.read().decode()
            sent = [0]

            def feed():  # until the follower (a new process) has subscribed
                self.assertIsNone(follower.poll(), text_now())
                k = sent[0]
                if k < 1950:
                    for i in range(k, k + 5):
                        tx.frame(1, i, H.frame_data(1, i, SHAPE).tobytes(), ts=i + 1)
                    sent[0] = k + 5
            H.feed_until(lambda: "rows" in text_now(), feed, what="the follower's first rows")
            n = sent[0] + 50
            for k in range(sent[0], n):
                tx.frame(1, k, H.frame_data(1, k, SHAPE).tobytes(), ts=k + 1)
            tx.end(1, n)
            try:
                follower.wait(H.TIMEOUT)
            except subprocess.TimeoutExpired:
                follower.send_signal(H.signal.SIGABRT)  # faulthandler: its stack
                follower.wait(10)
                raise AssertionError("the follower did not finish:\n" + text_now())
            out.close()
            txt = text_now()
            self.assertEqual(follower.returncode, 0, txt)
            spans = [(int(a), int(b)) for a, b in re.findall(r"rows (\d+)\.\.(\d+)", txt)]
            self.assertEqual(spans[0][0], 0, txt)
            for (a0, b0), (a1, b1) in zip(spans, spans[1:]):
                self.assertEqual(a1, b0 + 1, txt)
            self.assertEqual(spans[-1][1], n - 1, txt)
            self.assertIn("last ts %d" % n, txt)
            self.assertIn("closed, %d rows" % n, txt)
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
            if not out.closed:
                out.close()
        self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    H.main()
