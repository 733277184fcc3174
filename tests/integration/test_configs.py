"""The example configs run as shipped.

configs/pipeline.yaml (sim → sink → source in one process): its text with
only the tcp ports (free ones) and the sink's `dir` (this test's temp dir)
replaced, run for its short series: a pyzmq PULL reader on the source's
`out` gets start, every frame byte for byte and end; the sink's file holds
every frame (h5py); SIGTERM ends `swmrbus run` with 0.

configs/two-hosts/daq.yaml and analysis.yaml, in two processes on this one
host: 0.0.0.0 and the placeholder `daq-host` become 127.0.0.1 (tests listen
on loopback only), ports free ones, the sink's `dir` and the source's `dirs`
a temp dir (both "hosts" see it at the same path, as the shared file system
must). A detector sends into the
DAQ sink; a PULL reader on the analysis source gets every frame.

Why a rewritten copy rather than relative paths in the configs: an example
keeps an absolute `dir` (a sink's files must be found by absolute path, the
notifications carry it, and a relative one would land wherever `run` was
started), and fixed ports must be replaced anyway so parallel tests never
collide. Only those values change; every other key runs as shipped."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

import source_harness as S  # noqa: E402
import swmrbus_harness as H  # noqa: E402

CONFIGS = os.path.join(H.SOURCE_DIR, "configs")
TCP = re.compile(r"tcp://(127\.0\.0\.1|0\.0\.0\.0|daq-host):(\d+)")
DIR = re.compile(r"(\n\s*dir:\s*)(\S+)")
DIRS = re.compile(r"(\n\s*dirs:\s*)(\[[^\]\n]*\])")  # a source's, in flow form


def rewrite(text, ports, data_dir):
    """text with every tcp endpoint moved to 127.0.0.1 and a free port (the
    same shipped port gets the same free one in every file: ports maps them)
    and every `dir:` (and a source's `dirs:`) set to data_dir. Returns
    (text, endpoints replaced, dir and dirs keys replaced)."""
    def port(m):
        if m.group(2) not in ports:
            ports[m.group(2)] = H.free_tcp_port()
        return "tcp://127.0.0.1:%d" % ports[m.group(2)]
    text, n_tcp = TCP.subn(port, text)
    text, n_dir = DIR.subn(lambda m: m.group(1) + data_dir, text)
    text, n_dirs = DIRS.subn(lambda m: m.group(1) + "[%s]" % data_dir, text)
    return text, n_tcp, n_dir + n_dirs


def sim_frame(f, shape, dtype="uint16"):
    """What the simulator sends as frame f: pixel i holds f + i (wrapping)."""
    n = int(np.prod(shape))
    return ((np.arange(n, dtype=np.uint64) + np.uint64(f)) % (1 << 16)).astype(
        np.dtype(dtype).newbyteorder("<")).reshape(shape)


def endpoint(sock):
    return sock.get("endpoint") or sock["endpoints"][-1]


class ExampleConfigs(S.SourceTestCase):

    def write_copy(self, rel, ports, data_dir, want_tcp, want_dir):
        with open(os.path.join(CONFIGS, rel)) as f:
            text = f.read()
        text, _, n_dir = rewrite(text, ports, data_dir)  # comments' tcp:// count too
        self.assertEqual(n_dir, want_dir, rel)
        path = os.path.join(self.tmp, os.path.basename(rel))
        with open(path, "w") as f:
            f.write(text)
        cfg = yaml.safe_load(text)
        # Every tcp endpoint a socket names now is loopback with a free port.
        tcp = [e for c in cfg["components"] for k in ("in", "out", "notify", "control")
               if k in c for e in ([c[k]["endpoint"]] if "endpoint" in c[k]
                                   else c[k]["endpoints"]) if e.startswith("tcp://")]
        self.assertEqual(len(tcp), want_tcp, (rel, tcp))
        for e in tcp:
            self.assertIn(int(e.rsplit(":", 1)[1]), ports.values(), e)
            self.assertTrue(e.startswith("tcp://127.0.0.1:"), e)
        return path, {c["name"]: c for c in cfg["components"]}

    def start(self, path, control_ep, tag):
        p = H.RunProcess(path, os.path.join(self.tmp, tag + ".log"), control_ep, label=tag)
        p.tag = tag  # tearDown prints the log of a failed test under this name
        self._procs.append(p)
        return p.start()

    def wait_closed(self, control_ep, series):
        """The sink's status once the series' file is closed."""
        def closed():
            st = H.request(control_ep, {"cmd": "status"})
            e = [x for x in st["series"] if x["series"] == series]
            return e[-1] if e and e[-1]["state"] == "closed" else None
        return H.wait_until(closed, S.TIMEOUT, "series %d closed" % series)

    def test_pipeline_as_shipped(self):
        data = os.path.join(self.tmp, "data")
        path, comps = self.write_copy("pipeline.yaml", {}, data, want_tcp=4, want_dir=1)
        sim, sink, src = comps["sim"], comps["writer"], comps["reader"]
        self.assertEqual(sim["kind"], "sim")
        n, shape = sim["frames"], tuple(sim["shape"])
        self.assertLessEqual(n, 1000)  # "a short series"
        self.assertTrue(endpoint(sim["out"]).startswith("inproc://"))
        self.assertEqual(endpoint(src["in"]), endpoint(sink["notify"]))
        self.assertTrue(endpoint(src["out"]).startswith("tcp://127.0.0.1:"))

        proc = self.start(path, endpoint(sink["control"]), "pipeline")
        # The sim may be done before this connects: the source's PUSH holds
        # the frames until a reader takes them.
        frames = self.closing(S.FrameCollector(endpoint(src["out"])))
        frames.wait_end(sim["series"])
        st = self.wait_closed(endpoint(sink["control"]), sim["series"])
        self.assertEqual((st["written"], st["complete"], st["gaps"]), (n, n, 0))

        with h5py.File(st["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (n,) + shape)
            rows = d[:]
        for i in range(n):
            np.testing.assert_array_equal(rows[i], sim_frame(i, shape), "row %d" % i)
        start = S.check_stream(self, frames.of_series(sim["series"]),
                               [rows[i].tobytes() for i in range(n)], series=sim["series"])
        self.assertEqual(start["origin"]["file"], st["file"])
        self.assertEqual(start["origin"]["sink"], "writer")

        src_st = H.request(endpoint(src["control"]), {"cmd": "status"})
        self.assertTrue(src_st["ok"])
        self.assertEqual(src_st["kind"], "source")
        self.assertEqual(proc.stop(), 0, proc.log_text())

    def test_two_hosts_on_one(self):
        data = os.path.join(self.tmp, "shared")  # the "shared file system"
        ports = {}
        dpath, dcomps = self.write_copy(os.path.join("two-hosts", "daq.yaml"), ports, data,
                                        want_tcp=3, want_dir=1)
        apath, acomps = self.write_copy(os.path.join("two-hosts", "analysis.yaml"), ports, data,
                                        want_tcp=4, want_dir=1)  # its dirs
        sink, src = dcomps["writer"], acomps["reader"]
        self.assertEqual(endpoint(src["in"]), endpoint(sink["notify"]))
        self.assertEqual(src["dirs"], [sink["dir"]])

        # The analysis host first: it reconnects until the DAQ host is up.
        self.start(apath, endpoint(src["control"]), "analysis")
        self.start(dpath, endpoint(sink["control"]), "daq")
        # Margin for the source's SUB to reconnect (every 100 ms) and
        # subscribe; one it misses would still be picked up mid-way from
        # row 0 (from: start), this only keeps the test on its main path.
        S.time.sleep(1.0)
        frames = self.closing(S.FrameCollector(endpoint(src["out"])))
        tx = self.closing(S.Sender(endpoint(sink["in"])))
        n, shape = 120, (16, 24)
        payloads = [H.frame_data(3, i, shape).tobytes() for i in range(n)]
        tx.start(3, shape=shape, frames=n, name="run")
        for i in range(n):
            tx.frame(3, i, payloads[i])
        tx.end(3, n)
        frames.wait_end(3)
        S.check_stream(self, frames.of_series(3), payloads, series=3)
        st = self.wait_closed(endpoint(sink["control"]), 3)
        self.assertEqual(os.path.dirname(st["file"]), data)
        with h5py.File(st["file"], "r") as f:
            self.assertEqual(f[H.DATASET].shape, (n,) + shape)
            np.testing.assert_array_equal(f[H.DATASET][n - 1], H.frame_data(3, n - 1, shape))
        for p in self._procs:
            self.assertEqual(p.stop(), 0, p.log_text())


if __name__ == "__main__":
    S.main()
