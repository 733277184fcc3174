"""Karabo bridge in: the malformed-train stream. Trains that are not valid
msgpack, arrays whose byte length disagrees with dtype x shape, unknown
dtypes, nesting beyond the limit, source and key names that would leave the
file's groups ('..', '/' runs, NUL), a one-part (protocol 1.0) message, a
train without a train id: each is counted (status `rejected`), the stream
goes on, and the good trains around them are written and validate.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import msgpack  # noqa: E402
import numpy as np  # noqa: E402
import zmq  # noqa: E402
from karabo_bridge.serializer import serialize  # noqa: E402

import karabo_harness as K  # noqa: E402
import swmrbus_harness as H  # noqa: E402

SRC = "SPB_DET/DET/A:daqOutput"


def train(tid, extra_sources=(), extra_keys=None):
    data, meta = {}, {}
    for src in (SRC,) + tuple(extra_sources):
        data[src] = {"data.trainId": tid, "data.energy": 9.3 + tid,
                     "data.adc": (np.arange(64, dtype="uint16") * 3 + tid).reshape(8, 8),
                     "data.cells": np.arange(4, dtype="uint8") + 1}
        if extra_keys:
            data[src].update(extra_keys)
        meta[src] = {"source": src, "timestamp": 1700000000.5 + tid, "timestamp.tid": tid}
    return [bytes(p) for p in serialize(data, meta)]


def pk(o):
    return msgpack.packb(o, use_bin_type=True)


def hdr(tid, **h):
    h.setdefault("source", SRC)
    h["metadata"] = {"timestamp.tid": tid}
    return pk(h)


class KaraboBad(H.SinkTestCase):

    def test_malformed_trains(self):
        port = H.free_tcp_port()
        ctx = zmq.Context.instance()
        tx = ctx.socket(zmq.PUSH)
        tx.setsockopt(zmq.LINGER, 5000)
        tx.bind("tcp://127.0.0.1:%d" % port)
        self.addCleanup(tx.close)
        sk = K.bridge_sink(self, port, flush_frames=1, flush_ms=100)
        col = self.collector(sk)
        t = 1000
        # first train: a good source and two whose names would leave the groups
        tx.send_multipart(train(t, extra_sources=("../../etc:x", "A//B:x"),
                                extra_keys={}))
        bad = [
            [b"\xc1\xc1\xc1", b"x"],                                   # not msgpack
            [pk({"A:o": {"x": 1}})],                                   # protocol 1.0
            train(t + 1)[:3],                                          # odd parts
            [pk({"source": SRC, "content": "msgpack"}), pk({})],       # no train id
            [hdr(t + 1, content="msgpack"), pk({"a": [[[[[[[[[[1]]]]]]]]]]})],  # nesting
        ]
        good2 = train(t + 2)
        # array whose byte length disagrees with dtype x shape
        short = good2[:-1] + [good2[-1][:-1]]
        # unknown dtype
        unknown = train(t + 3)
        for i in range(0, len(unknown), 2):
            h = msgpack.unpackb(unknown[i], raw=False)
            if h.get("path") == "data.adc":
                h["dtype"] = "complex64"
                unknown[i] = pk(h)
        for parts in bad + [short, unknown]:
            tx.send_multipart(parts)
        tx.send_multipart(train(t + 4, extra_keys={"data.x\x00y": 1, "data.late": 2}))
        tx.send_multipart(train(t + 5))
        col.wait_flushed(1, 6)
        st = sk.status()
        rej = st["rejected"]
        self.assertGreaterEqual(sum(rej.values()), 9, rej)
        self.assertGreaterEqual(st["late_keys"], 1)  # data.late, first seen in train 1004
        for reason in ("bad_name", "bad_header", "bad_payload", "bad_msgpack"):
            self.assertGreater(rej.get(reason, 0), 0, (reason, rej))
        self.assertEqual(sk.request({"cmd": "close"}).get("ok"), True)
        closed = col.wait_closed(1)
        with h5py.File(closed["file"], "r") as f:
            tids = f["INDEX/trainId"][:]
            # every train with a train id has its row; a bad part of it is
            # counted and left at zeros (its source's count 0 when nothing of
            # the source could be read)
            np.testing.assert_array_equal(tids, [1000, 1001, 1002, 1003, 1004, 1005])
            adc = f["INSTRUMENT/%s/data/adc" % SRC]
            count = f["INDEX/%s/data/count" % SRC][:]
            for row, tid in ((0, 1000), (4, 1004), (5, 1005)):
                np.testing.assert_array_equal(
                    adc[row], (np.arange(64, dtype="uint16") * 3 + tid).reshape(8, 8))
                self.assertEqual(count[row], 1)
            self.assertEqual(count[1], 0)
            cells = f["INSTRUMENT/%s/data/cells" % SRC]
            self.assertFalse(cells[2].any())  # the short array (the last part)
            self.assertTrue(adc[2].any())
            self.assertFalse(adc[3].any())  # the unknown dtype
            self.assertEqual(f["INSTRUMENT/%s/data/trainId" % SRC][3], 1003)
            self.assertNotIn("etc", f)
            names = []
            f.visit(names.append)
            self.assertFalse([n for n in names if ".." in n or "A/B:x" in n], names)
            self.assertEqual(f["INSTRUMENT/%s/data/energy" % SRC][5], 9.3 + 1005)
        self.assertEqual(closed["written"], 6)

    def test_new_file_on_new_keys(self):
        """karabo.new_file_on_new_keys: true: a key first seen after the file
        was laid out is counted, and the next train starts a new file that
        has it."""
        port = H.free_tcp_port()
        tx = zmq.Context.instance().socket(zmq.PUSH)
        tx.setsockopt(zmq.LINGER, 5000)
        tx.bind("tcp://127.0.0.1:%d" % port)
        self.addCleanup(tx.close)
        sk = K.bridge_sink(self, port, flush_frames=1, flush_ms=100,
                           extra=["    karabo: {new_file_on_new_keys: true}"])
        col = self.collector(sk)
        tx.send_multipart(train(50))
        tx.send_multipart(train(51, extra_keys={"data.late": 7}))
        tx.send_multipart(train(52, extra_keys={"data.late": 8}))
        tx.send_multipart(train(53, extra_keys={"data.late": 9}))
        c1 = col.wait_closed(1)
        self.assertEqual(c1["frames"], 2)
        col.wait_flushed(2, 2)
        self.assertEqual(sk.request({"cmd": "close"}).get("ok"), True)
        c2 = col.wait_closed(2)
        with h5py.File(c2["file"], "r") as f:
            self.assertEqual(list(f["INDEX/trainId"][:]), [52, 53])
            self.assertEqual(list(f["INSTRUMENT/%s/data/late" % SRC][:]), [8, 9])
        with h5py.File(c1["file"], "r") as f:
            self.assertNotIn("late", f["INSTRUMENT/%s/data" % SRC])
        self.assertGreaterEqual(sk.status()["late_keys"], 1)


if __name__ == "__main__":
    H.main()
