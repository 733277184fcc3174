"""Karabo bridge through: karabo_bridge's simulator (what
`karabo-bridge-server-sim -z REP -d AGIPDModule -r` runs, on 127.0.0.1) ->
sink (in.pattern: req, in.protocol: karabo-bridge) -> source
(out.protocol: karabo-bridge, out.pattern rep | pub | push) ->
karabo_bridge.Client (REQ | SUB | PULL). The client gets the trains the sink
wrote: the same train ids in order, equal arrays (dtype, shape, bytes), the
metadata keys the simulator sent.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from karabo_bridge import Client  # noqa: E402

import source_harness as SH  # noqa: E402
import swmrbus_harness as H  # noqa: E402

SIM = ("import sys\n"
       "from karabo_bridge.server import SimServer\n"
       "SimServer(sys.argv[1], sock='REP', detector='AGIPDModule', raw=True,"
       " debug=False).loop()\n")
SRC = "SPB_DET_AGIPD1M-1/DET/0CH0:xtdf"
META_KEYS = {"source", "timestamp", "timestamp.sec", "timestamp.frac", "timestamp.tid"}


class KaraboOut(SH.SourceTestCase):

    def pipeline(self, pattern):
        sim_port, out_port = H.free_tcp_port(), H.free_tcp_port()
        sim = subprocess.Popen(["/usr/bin/python3", "-c", SIM, "tcp://127.0.0.1:%d" % sim_port],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.closing(type("K", (), {"close": lambda _: (sim.kill(), sim.wait())})())
        data = os.path.join(self.tmp, "data")
        text = (SH.sink_yaml("writer", "tcp://127.0.0.1:%d" % sim_port, ["inproc://wn"],
                             self.ep("wc"), data, flush_frames=1, flush_ms=100, in_bind=False)
                .replace("pattern: pull", "pattern: req, protocol: karabo-bridge")
                + SH.source_yaml("bridge", ["inproc://wn"], "tcp://127.0.0.1:%d" % out_port,
                                 self.ep("rn"), self.ep("rc"), pattern=pattern)
                .replace("bind: true}", "bind: true, protocol: karabo-bridge}", 1))
        self.run_config(text, "pipeline", self.ep("rc"))
        return "tcp://127.0.0.1:%d" % out_port, data

    def check(self, pattern, sock):
        ep, data = self.pipeline(pattern)
        got = []
        with Client(ep, sock=sock, timeout=H.TIMEOUT) as c:
            for _ in range(4):
                got.append(c.next())
        tids = [meta[SRC]["timestamp.tid"] for _, meta in got]
        self.assertEqual(tids, sorted(tids))
        self.assertEqual(len(set(tids)), len(tids))
        files = [os.path.join(data, f) for f in os.listdir(data) if f.endswith(".h5")]
        self.assertEqual(len(files), 1, files)
        import h5py
        with h5py.File(files[0], "r", swmr=True) as f:  # the sink's file, still growing
            ftids = list(f["INDEX/trainId"][:])
            src = f["INSTRUMENT/" + SRC]
            fkeys = set()
            src.visititems(lambda n, o: fkeys.add(n.replace("/", "."))
                           if isinstance(o, h5py.Dataset) else None)
            for (d, meta), tid in zip(got, tids):
                self.assertEqual(set(meta[SRC]), META_KEYS)
                self.assertEqual(set(d), {SRC})
                keys = {k for k in d[SRC] if k != "metadata"}
                self.assertEqual(keys, fkeys)
                row = ftids.index(tid)
                for k in keys:
                    want = src[k.replace(".", "/")][row]
                    self.assertEqual(d[SRC][k].dtype, want.dtype, k)
                    np.testing.assert_array_equal(d[SRC][k], want, err_msg=k)

    def test_rep_to_req_client(self):
        self.check("rep", "REQ")

    def test_push_to_pull_client(self):
        self.check("push", "PULL")

    def test_pub_to_sub_client(self):
        self.check("pub", "SUB")


if __name__ == "__main__":
    SH.main()
