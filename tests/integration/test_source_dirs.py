#!/usr/bin/python3
"""A source reads only files under its dirs (issue 9): forged notifications
naming /etc/passwd, a file in another directory, a `../` escape out of dirs,
a symlink inside dirs pointing outside, and a symlink planted after the
notification under a name inside dirs are each refused and counted
(`rejected.bad_name`), reported as `swmrbus.error` (reason bad_name) on the
source's notify socket, not relayed, and no frame of the outside file ever
comes out, although it is a valid SWMR file a source would serve. A file
inside dirs is served as before; a sink and a source in one config work on
the default dirs (the sink's dir, here reached through a symlink)."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import source_harness as H  # noqa: E402

SHAPE = (8, 8)


def make_file(path, n, series):
    """A complete file as a sink leaves it (n frames), closed."""
    with h5py.File(path, "w", libver="latest") as f:
        d = f.create_dataset(H.DATASET, shape=(n,) + SHAPE, maxshape=(None,) + SHAPE,
                             chunks=(1,) + SHAPE, dtype="<u2")
        d[:] = np.stack([H.frame_data(series, i, SHAPE) for i in range(n)])
    return [H.frame_data(series, i, SHAPE).tobytes() for i in range(n)]


class Dirs(H.SourceTestCase):

    def test_outside_files_refused(self):
        data = os.path.join(self.tmp, "data")
        other = os.path.join(self.tmp, "other")
        os.mkdir(data)
        os.mkdir(other)
        outside = os.path.join(other, "outside.h5")
        make_file(outside, 30, 9)
        good = os.path.join(data, "good.h5")
        payloads = make_file(good, 12, 4)
        link = os.path.join(data, "link.h5")
        os.symlink(outside, link)
        outside_mtime = os.stat(outside).st_mtime_ns

        pub = self.closing(H.CTX.socket(H.zmq.PUB))
        pub.setsockopt(H.zmq.LINGER, 0)
        pub.bind(self.ep("fake"))
        src = self.run_config(
            H.source_yaml("src", [self.ep("fake")], self.ep("out"), self.ep("rn"), self.ep("rc"),
                          dirs=[data]),
            "source", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        relays = self.closing(H.NoticeCollector(self.ep("rn")))
        seq = [0]

        def notice(topic, path, n, series=9):
            m = {"series": series, "file": path, "dataset": H.DATASET, "frames": n,
                 "written": n, "complete": n, "seq": seq[0], "sink": "forger", "t": 1}
            seq[0] += 1
            pub.send_multipart([topic.encode(), H.pack(m)])

        # Both subscriptions up: an error notice goes through and is relayed.
        def connected():
            pub.send_multipart([b"swmrbus.error", H.pack({"error": "hello", "seq": seq[0]})])
            seq[0] += 1
            return relays.of("swmrbus.error") and H.request(self.ep("rc"), {"cmd": "status"})
        st0 = H.wait_until(connected, what="source and relay subscribers connected")
        self.assertEqual(st0["rejected"].get("bad_name", 0), 0)

        bad = ["/etc/passwd", outside, os.path.join(data, "..", "other", "outside.h5"), link,
               os.path.join(data, "sub", "..", "..", "other", "outside.h5")]
        for path in bad:
            notice("swmrbus.open", path, 0)
            notice("swmrbus.flushed", path, 30)
            notice("swmrbus.closed", path, 30)
        refused = 3 * len(bad)

        # A name inside dirs that does not exist yet passes the notification's
        # check; a symlink planted there before the open is refused at open.
        late = os.path.join(data, "late.h5")
        notice("swmrbus.open", late, 0, series=7)
        H.wait_until(lambda: any(s["file"] == late for s in
                                 H.request(self.ep("rc"), {"cmd": "status"})["series"]),
                     what="the source to wait for late.h5")
        os.symlink(outside, late)
        refused += 1

        notice("swmrbus.open", good, 0, series=4)
        notice("swmrbus.flushed", good, 12, series=4)
        notice("swmrbus.closed", good, 12, series=4)
        frames.wait_end(4)

        def counted():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return st["rejected"].get("bad_name", 0) >= refused and st
        st = H.wait_until(counted, what="every refusal counted")
        self.assertEqual(st["rejected"].get("bad_name", 0), refused)
        by_file = {s["file"]: s for s in st["series"]}
        self.assertEqual(by_file[late]["state"], "failed")
        self.assertEqual(by_file[late]["sent"], 0)
        self.assertEqual(by_file[good]["state"], "closed")
        for path in bad:
            self.assertNotIn(path, by_file)

        # Nothing of the outside file went out: only series 4, byte-exact.
        msgs = frames.snapshot()
        self.assertEqual({h["series"] for h, _, _ in msgs}, {4})
        H.check_stream(self, msgs, payloads, series=4)
        self.assertEqual(msgs[0][0]["origin"]["file"], good)

        # Reported on notify (rate-limited: the counts add up), not relayed.
        def reported():
            errs = [m for m in relays.of("swmrbus.error") if m.get("reason") == "bad_name"]
            return sum(m["count"] for m in errs) >= refused and errs
        errs = H.wait_until(reported, what="bad_name error notifications")
        self.assertEqual(sum(m["count"] for m in errs), refused)
        for m in errs:
            self.assertEqual(m["via"], "src")
            self.assertIn("outside dirs", m["error"])
        for topic in ("swmrbus.open", "swmrbus.flushed", "swmrbus.closed"):
            for path in bad:  # (late.h5's open was inside dirs when it came)
                self.assertEqual(relays.of(topic, path), [], (topic, path))
        self.assertEqual(len(relays.of("swmrbus.closed", good)), 1)

        self.assertEqual(os.stat(outside).st_mtime_ns, outside_mtime)
        log = src.log_text()
        self.assertNotIn("following %s" % outside, log)
        self.assertIn("bad_name", log)
        self.assertEqual(src.stop(), 0)

    def test_source_alone_needs_dirs(self):
        text = H.source_yaml("src", [self.ep("fake")], self.ep("out"), self.ep("rn"),
                             self.ep("rc"))
        path = os.path.join(self.tmp, "alone.yaml")
        with open(path, "w") as f:
            f.write("components:\n" + text)
        import subprocess
        r = subprocess.run([H.BIN, "run", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=H.TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"components[0].dirs: required when no sink in this config", r.stdout)

    def test_default_dirs_sink_and_source(self):
        real = os.path.join(self.tmp, "real")
        os.mkdir(real)
        via = os.path.join(self.tmp, "via")
        os.symlink(real, via)  # the sink's dir is reached through a symlink
        text = (H.sink_yaml("w", self.ep("in"), ["inproc://w-notify"], self.ep("wc"), via,
                            flush_frames=10)
                + H.source_yaml("r", ["inproc://w-notify"], self.ep("out"), self.ep("rn"),
                                self.ep("rc")))
        p = self.run_config(text, "both", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        tx = self.closing(H.Sender(self.ep("in")))
        n = 40
        payloads = [H.frame_data(3, i, SHAPE).tobytes() for i in range(n)]
        tx.start(3, shape=SHAPE, frames=n)
        for i in range(n):
            tx.frame(3, i, payloads[i])
        tx.end(3, n)
        frames.wait_end(3)
        H.check_stream(self, frames.of_series(3), payloads, series=3)
        st = H.request(self.ep("rc"), {"cmd": "status"})
        self.assertEqual(st["rejected"].get("bad_name", 0), 0)
        self.assertEqual(p.stop(), 0)


if __name__ == "__main__":
    H.main()
