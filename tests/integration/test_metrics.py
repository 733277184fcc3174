"""Prometheus metrics of `swmrbus run` (top-level `metrics: {endpoint}`).

A sink and a source in one process with metrics on a free port: frames go
in with pyzmq, /metrics is scraped with urllib, and the counters must equal
what was sent (frames, bytes, one rejection per malformed header by reason)
and what `status` says; the source's lag is N while no consumer takes its
frames, 0 after; the latency histogram counts every written frame once.
The scraped text passes `promtool check metrics` (Debian's prometheus
package). Also: 404 elsewhere, HEAD, an outside plugin's own counter, and
a taken port stopping the run before any component starts."""
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import source_harness as H  # noqa: E402
import swmrbus_harness as SH  # noqa: E402

SHAPE = (32, 48)
FRAME_BYTES = 32 * 48 * 2

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')


def parse(text):
    """{(name, frozenset(labels.items())): float} and the TYPE of each family."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(" ", 3)
            types[name] = t
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = {}
        if m.group(3):
            for part in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3)):
                labels[part[0]] = part[1]
        key = (m.group(1), frozenset(labels.items()))
        assert key not in samples, "duplicate sample %r" % (key,)
        samples[key] = float(m.group(4))
    return samples, types


def value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%r in the scrape" % (name, labels)
    return samples[key]


def scrape(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=H.TIMEOUT) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


class Metrics(H.SourceTestCase):

    def start_pipeline(self, port):
        text = (H.sink_yaml("writer", self.ep("in"), ["inproc://writer-notify"],
                            self.ep("wc"), os.path.join(self.tmp, "data"))
                + H.source_yaml("reader", ["inproc://writer-notify"], self.ep("out"),
                                self.ep("rn"), self.ep("rc"))
                + "metrics: {endpoint: \"http://127.0.0.1:%d\"}\n" % port)
        return self.run_config(text, "metrics", self.ep("rc"))

    def test_counters_match_what_was_sent(self):
        port = SH.free_tcp_port()
        proc = self.start_pipeline(port)
        url = "http://127.0.0.1:%d" % port

        # Before any frame: every family is there, at zero.
        status, ctype, text = scrape(url + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        s, types = parse(text)
        self.assertEqual(value(s, "swmrbus_frames_received_total", component="writer"), 0)
        self.assertEqual(value(s, "swmrbus_source_frames_sent_total", component="reader"), 0)
        for name, t in [("swmrbus_frames_received_total", "counter"),
                        ("swmrbus_bytes_written_total", "counter"),
                        ("swmrbus_rejected_total", "counter"),
                        ("swmrbus_flushes_total", "counter"),
                        ("swmrbus_flush_latency_seconds", "histogram"),
                        ("swmrbus_queue_bytes", "gauge"),
                        ("swmrbus_open_series", "gauge"),
                        ("swmrbus_notifications_total", "counter"),
                        ("swmrbus_dropped_total", "counter"),
                        ("swmrbus_source_frames_sent_total", "counter"),
                        ("swmrbus_source_bytes_sent_total", "counter"),
                        ("swmrbus_source_lag_frames", "gauge"),
                        ("process_resident_memory_bytes", "gauge")]:
            self.assertEqual(types.get(name), t, name)
            self.assertIn("# HELP %s " % name, text)

        tx = self.closing(H.Sender(self.ep("in")))
        n = 150
        tx.start(7, shape=SHAPE, frames=n)
        for i in range(n):
            if i == 40:
                tx.s.send(b"\xc1 not msgpack")                              # bad_msgpack
                tx.s.send(H.pack({"type": "frame", "series": 7, "frame": "x"}))  # bad_header
            tx.frame(7, i, H.frame_data(7, i, SHAPE).tobytes())
        tx.end(7, n)

        # No consumer on the source's PUSH yet: every notified row waits.
        def lagging():
            sm, _ = parse(scrape(url + "/metrics")[2])
            return value(sm, "swmrbus_source_lag_frames", component="reader") == n
        H.wait_until(lagging, what="source lag to reach %d" % n)
        s, _ = parse(scrape(url + "/metrics")[2])
        self.assertEqual(value(s, "swmrbus_source_frames_sent_total", component="reader"), 0)
        self.assertEqual(value(s, "swmrbus_open_series", component="reader"), 1)

        frames = self.closing(H.FrameCollector(self.ep("out")))
        frames.wait_end(7)

        # The relayed `closed` is the last thing the pipeline does.
        def settled():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            ser = [e for e in st["series"] if e.get("state") == "closed"]
            return st if ser else None
        src_status = H.wait_until(settled, what="the source to finish the series")
        sink_status = H.request(self.ep("wc"), {"cmd": "status"})

        def scraped_settled():
            sm, _ = parse(scrape(url + "/metrics")[2])
            ok = (value(sm, "swmrbus_open_series", component="writer") == 0 and
                  value(sm, "swmrbus_open_series", component="reader") == 0 and
                  value(sm, "swmrbus_notifications_total", component="reader") ==
                  H.request(self.ep("rc"), {"cmd": "status"})["relayed"])
            return sm if ok else None
        s = H.wait_until(scraped_settled, what="the metrics to settle")

        # sink
        self.assertEqual(value(s, "swmrbus_frames_received_total", component="writer"), n)
        self.assertEqual(value(s, "swmrbus_frames_written_total", component="writer"), n)
        self.assertEqual(value(s, "swmrbus_bytes_written_total", component="writer"),
                         n * FRAME_BYTES)
        self.assertEqual(value(s, "swmrbus_duplicate_frames_total", component="writer"), 0)
        rejected = {r: value(s, "swmrbus_rejected_total", component="writer", reason=r)
                    for r in SH.REASONS}
        self.assertEqual(rejected, {r: (1 if r in ("bad_msgpack", "bad_header") else 0)
                                    for r in SH.REASONS})
        self.assertEqual(rejected, {r: sink_status["rejected"].get(r, 0) for r in SH.REASONS})
        ser = [e for e in sink_status["series"] if e["series"] == 7][-1]
        self.assertEqual(value(s, "swmrbus_flushes_total", component="writer"), ser["flushes"])
        self.assertGreaterEqual(ser["flushes"], 1)
        self.assertEqual(value(s, "swmrbus_queue_bytes", component="writer"), 0)
        # every written frame observed once, cumulative buckets, +Inf = count
        count = value(s, "swmrbus_flush_latency_seconds_count", component="writer")
        self.assertEqual(count, n)
        self.assertEqual(value(s, "swmrbus_flush_latency_seconds_bucket", component="writer",
                               le="+Inf"), n)
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in s.items()
                         if k[0] == "swmrbus_flush_latency_seconds_bucket"
                         and dict(k[1]).get("component") == "writer")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertGreater(value(s, "swmrbus_flush_latency_seconds_sum", component="writer"), 0)
        # open, flushed..., closed went out to the source over inproc
        self.assertGreaterEqual(value(s, "swmrbus_notifications_total", component="writer"), 3)

        # source
        self.assertEqual(value(s, "swmrbus_source_frames_sent_total", component="reader"), n)
        self.assertEqual(value(s, "swmrbus_source_bytes_sent_total", component="reader"),
                         n * FRAME_BYTES)
        self.assertEqual(src_status["frames_sent"], n)
        self.assertEqual(value(s, "swmrbus_source_lag_frames", component="reader"), 0)
        self.assertEqual(value(s, "swmrbus_dropped_total", component="reader", reason="pub_hwm"),
                         0)
        for r in SH.REASONS:
            self.assertEqual(value(s, "swmrbus_rejected_total", component="reader", reason=r), 0)

        # process basics
        self.assertGreater(value(s, "process_resident_memory_bytes"), 0)
        self.assertGreater(value(s, "process_open_fds"), 0)

        # promtool, on exactly what was scraped
        text = scrape(url + "/metrics")[2]
        promtool = shutil.which("promtool")
        if promtool is None:
            self.skipTest("promtool (Debian package prometheus) is not installed")
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode())
        self.assertEqual((r.stdout + r.stderr).decode().strip(), "")
        proc.stop_ok()  # the server and every component end cleanly

    def test_paths_and_methods(self):
        port = SH.free_tcp_port()
        proc = self.start_pipeline(port)
        url = "http://127.0.0.1:%d" % port
        for path in ("/", "/metric", "/metrics/x", "/favicon.ico"):
            with self.assertRaises(urllib.error.HTTPError) as cm:
                scrape(url + path)
            self.assertEqual(cm.exception.code, 404, path)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            scrape(url + "/metrics", method="POST")
        self.assertEqual(cm.exception.code, 405)
        status, ctype, body = scrape(url + "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        # a clean stop closes the port
        proc.stop_ok()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    def test_outside_plugin_shares_the_registry(self):
        """A plugin linked to the shared libswmrbus registers a counter; the
        host's /metrics (the CLI's static copy) shows it."""
        plugin = os.path.join(os.path.dirname(os.path.dirname(H.BIN)), "lib",
                              "libswmrbus_testmetrics.so")
        self.assertTrue(os.path.exists(plugin), plugin)
        port = SH.free_tcp_port()
        text = ("  - name: plug\n    kind: %s\n" % H._y(plugin)
                + H.sink_yaml("writer", self.ep("in"), [self.ep("wn")], self.ep("wc"),
                              os.path.join(self.tmp, "data"))
                + "metrics: {endpoint: \"http://127.0.0.1:%d\"}\n" % port)
        proc = self.run_config(text, "plugin", self.ep("wc"))
        s, types = parse(scrape("http://127.0.0.1:%d/metrics" % port)[2])
        self.assertEqual(value(s, "test_plugin_ticks_total", component="plug"), 7)
        self.assertEqual(types["test_plugin_ticks_total"], "counter")
        self.assertEqual(value(s, "swmrbus_frames_received_total", component="writer"), 0)
        proc.stop_ok()

    def test_taken_port_stops_the_run(self):
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        try:
            data = os.path.join(self.tmp, "data")
            text = ("# test_metrics.py\ncomponents:\n"
                    + H.sink_yaml("writer", self.ep("in"), [self.ep("wn")], self.ep("wc"), data)
                    + "metrics: {endpoint: \"http://127.0.0.1:%d\"}\n" % port)
            path = os.path.join(self.tmp, "taken.yaml")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([H.BIN, "run", path], capture_output=True, timeout=H.TIMEOUT)
            err = r.stderr.decode()
            self.assertNotEqual(r.returncode, 0, err)
            self.assertIn("metrics.endpoint", err)
            self.assertIn("in use", err)
            self.assertFalse(os.path.exists(data), "a component started")
        finally:
            held.close()


if __name__ == "__main__":
    H.main()
