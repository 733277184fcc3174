"""Karabo bridge in with `in.pattern: req`: the sink asks "next" before each
train, as karabo_bridge.Client does, from the real simulator
(karabo_bridge's SimServer, what `karabo-bridge-server-sim -z REP -d
AGIPDModule -r` runs, bound to 127.0.0.1 here). When the server restarts,
the sink asks again and goes on; the restarted server's train ids start over,
so its trains go to a new series (a new file), and both files validate.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402

import karabo_harness as K  # noqa: E402
import swmrbus_harness as H  # noqa: E402

SIM = ("import sys\n"
       "from karabo_bridge.server import SimServer\n"
       "SimServer(sys.argv[1], sock='REP', detector='AGIPDModule', raw=True,"
       " debug=False).loop()\n")


class KaraboReq(H.SinkTestCase):

    def sim(self, port):
        p = subprocess.Popen(["/usr/bin/python3", "-c", SIM, "tcp://127.0.0.1:%d" % port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (p.kill(), p.wait()))
        return p

    def test_req_and_server_restart(self):
        port = H.free_tcp_port()
        sk = K.bridge_sink(self, port, pattern="req", flush_frames=1, flush_ms=100)
        col = self.collector(sk)
        first = self.sim(port)
        col.wait_flushed(1, 3)
        first.kill()
        first.wait()
        self.sim(port)
        col.wait_flushed(2, 3, timeout=H.TIMEOUT)
        self.assertEqual(sk.request({"cmd": "close"}).get("ok"), True)
        for series in (1, 2):
            closed = col.wait_closed(series)
            self.assertGreaterEqual(closed["frames"], 3)
            v = subprocess.run(["/usr/bin/extra-data-validate", closed["file"]],
                               capture_output=True, timeout=H.TIMEOUT)
            self.assertEqual(v.returncode, 0, v.stdout.decode())
            with h5py.File(closed["file"], "r") as f:
                d = f["INSTRUMENT/SPB_DET_AGIPD1M-1/DET/0CH0:xtdf/image/data"]
                self.assertGreaterEqual(d.ndim, 4)  # a row: one train of the module
                self.assertEqual(d.shape[0], closed["frames"])
                tids = f["INDEX/trainId"][:]
                self.assertTrue((tids[1:] > tids[:-1]).all())


if __name__ == "__main__":
    H.main()
