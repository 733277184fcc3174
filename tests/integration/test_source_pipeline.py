"""A sink and a source in one process (one config, inproc:// between them):
a PULL consumer gets start, every frame byte-identical and in order, end;
a SUB gets the relayed notifications (via = the source, the source's own
seq), and the relayed `closed` means the file is final on disk. Also the
example configs/sink-source.yaml, run with its endpoints moved to ipc://,
and the control socket's answers."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

import source_harness as H  # noqa: E402

SHAPE = (32, 48)


class SinkAndSourceInOneProcess(H.SourceTestCase):

    def start_pipeline(self, **src_kw):
        text = (H.sink_yaml("writer", self.ep("in"), ["inproc://writer-notify", self.ep("wn")],
                            self.ep("wc"), os.path.join(self.tmp, "data"))
                + H.source_yaml("reader", ["inproc://writer-notify"], self.ep("out"),
                                self.ep("rn"), self.ep("rc"), **src_kw))
        return self.run_config(text, "pipeline", self.ep("rc"))

    def test_frames_and_relays(self):
        proc = self.start_pipeline()
        frames = self.closing(H.FrameCollector(self.ep("out")))
        notes = self.closing(H.NoticeCollector(self.ep("rn")))
        tx = self.closing(H.Sender(self.ep("in")))
        n = 237
        meta = {"exposure_s": 0.01, "gain": 3, "mode": "fast", "roi": [1, 2, 3, 4],
                "cooled": True, "offset": -5}
        tx.start(7, shape=SHAPE, frames=n, name="scan_a", meta=meta)
        payloads = [H.frame_data(7, i, SHAPE).tobytes() for i in range(n)]
        ts = [1700000000000000000 + 1000 * i if i % 3 else 0 for i in range(n)]
        for i in range(n):
            tx.frame(7, i, payloads[i], **({"ts": ts[i]} if ts[i] else {}))
        tx.end(7, n)

        frames.wait_end(7)
        closed = notes.wait_topic("swmrbus.closed")
        msgs = frames.of_series(7)
        start = H.check_stream(self, msgs, payloads, series=7,
                               ts=[t if t else None for t in ts])
        self.assertEqual(start["dtype"], "uint16")
        self.assertEqual(start["shape"], list(SHAPE))
        self.assertEqual(start["encoding"], "raw")
        self.assertEqual(start["frames"], n)
        self.assertEqual(start["name"], "scan_a")
        self.assertEqual(start["meta"], meta)
        self.assertEqual(start["origin"]["sink"], "writer")
        self.assertEqual(start["origin"]["series"], 7)
        self.assertTrue(start["origin"]["file"].endswith(".h5"))

        # Relays: via and our own seq (0, 1, 2, ...), topics in order.
        seen = [(t, m) for t, m in notes.snapshot()]
        self.assertEqual(seen[0][0], "swmrbus.open")
        self.assertEqual(seen[-1][0], "swmrbus.closed")
        flushed = [m for t, m in seen if t == "swmrbus.flushed"]
        self.assertTrue(flushed)
        for k, (t, m) in enumerate(seen):
            self.assertEqual(m["via"], "reader")
            self.assertEqual(m["sink"], "writer")
            self.assertEqual(m["seq"], k)
            self.assertEqual(m["file"], start["origin"]["file"])
        self.assertEqual(flushed[-1]["frames"], n)
        self.assertEqual(closed["frames"], n)

        # The relayed closed means final on disk: a normal (non-SWMR) open.
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (n,) + SHAPE)
            np.testing.assert_array_equal(d[n - 1], H.frame_data(7, n - 1, SHAPE))

        st = H.request(self.ep("rc"), {"cmd": "status"})
        self.assertTrue(st["ok"])
        self.assertEqual(st["kind"], "source")
        self.assertEqual(st["name"], "reader")
        e = [x for x in st["series"] if x["series"] == 7][-1]
        self.assertEqual(e["state"], "closed")
        self.assertEqual(e["sent"], n)
        self.assertEqual(e["gaps"], 0)
        self.assertEqual(st["missed"], 0)
        self.assertEqual(st["rejected"], {})
        self.assertEqual(proc.stop(), 0)

    def test_control_answers(self):
        self.start_pipeline()
        for req in ({"cmd": "flush"}, {"cmd": "close"}, {"cmd": "nope"}, {"x": 1}):
            r = H.request(self.ep("rc"), req)
            self.assertIs(r["ok"], False, req)
            self.assertIsInstance(r["error"], str)
        s = H.CTX.socket(H.zmq.REQ)
        s.setsockopt(H.zmq.LINGER, 0)
        s.connect(self.ep("rc"))
        s.send(b"\xc1garbage")
        self.assertTrue(s.poll(int(H.TIMEOUT * 1000)))
        r = H.unpack(s.recv())
        s.close()
        self.assertIs(r["ok"], False)
        self.assertTrue(H.request(self.ep("rc"), {"cmd": "status"})["ok"])

    def test_example_config(self):
        """configs/sink-source.yaml as shipped, with every tcp:// endpoint
        moved to an ipc:// socket of this test and dir to its temp dir."""
        path = os.path.join(H.SOURCE_DIR, "configs", "sink-source.yaml")
        with open(path) as f:
            text = f.read()
        text = re.sub(r"tcp://[0-9.]+:(\d+)", lambda m: self.ep("p" + m.group(1)), text)
        text = re.sub(r"(\n\s*dir:\s*)\S+", lambda m: m.group(1) + os.path.join(self.tmp, "data"),
                      text)
        cfg = yaml.safe_load(text)
        comps = {c["kind"]: c for c in cfg["components"]}
        sink, src = comps["sink"], comps["source"]

        def one(sock):
            return sock.get("endpoint") or sock["endpoints"][-1]
        # The harness writes "components:" itself.
        body = text[text.index("components:") + len("components:"):].lstrip("\n")
        proc = self.run_config(body + "\n", "example", one(src["control"]))
        frames = self.closing(H.FrameCollector(one(src["out"])))
        notes = self.closing(H.NoticeCollector(one(src["notify"])))
        tx = self.closing(H.Sender(one(sink["in"])))
        n = 150
        payloads = [H.frame_data(1, i, SHAPE).tobytes() for i in range(n)]
        tx.start(1, shape=SHAPE)
        for i in range(n):
            tx.frame(1, i, payloads[i])
        tx.end(1, n)
        frames.wait_end(1)
        notes.wait_topic("swmrbus.closed")
        H.check_stream(self, frames.of_series(1), payloads, series=1)
        self.assertEqual(proc.stop(), 0)


if __name__ == "__main__":
    H.main()
