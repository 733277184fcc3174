"""out.protocol: dectris-stream2 on a source: a stream v2 series goes into a
sink (in.protocol: dectris-stream2), and the source in the same process
serves it on as stream v2 CBOR that a client written from the spec
(python3-cbor2) decodes to the same images: tag 56500 ["bslz4", 4, chunk]
with the very bytes the detector sent, image_id as sent (first_image_id +
row), the start's fields under their stream v2 names; then end. A raw
(untagged) series and one sent in wire protocol v1 to a second sink go out
as stream v2 too."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401
import cbor2  # noqa: E402
import msgpack  # noqa: E402
import numpy as np  # noqa: E402
import zmq  # noqa: E402

import source_harness as S  # noqa: E402
import swmrbus_harness as H  # noqa: E402
from test_dectris2 import (START_FIELDS, TYPED, end_msg, frames, image_msg,  # noqa: E402
                           start_msg)


def decode(b):
    return cbor2.loads(b)


class Dectris2Source(H.SinkTestCase):

    def setUp(self):
        self.tmp = S.make_tempdir("d2s")
        t = self.tmp
        self.in_ep, self.in2_ep = "ipc://%s/in.sock" % t, "ipc://%s/in2.sock" % t
        self.out_ep = "ipc://%s/out.sock" % t
        data = os.path.join(t, "data")
        text = S.sink_yaml(
            "eiger", self.in_ep, ["inproc://n"], "ipc://%s/c1.sock" % t, data,
            flush_frames=4, flush_ms=50, linger_ms=300).replace(
            "pattern: pull, bind: true}", "pattern: pull, bind: true, protocol: dectris-stream2}")
        text += S.sink_yaml("native", self.in2_ep, ["inproc://n2"], "ipc://%s/c2.sock" % t,
                            os.path.join(t, "data2"), flush_frames=4, flush_ms=50, linger_ms=300)
        text += S.source_yaml("reader", ["inproc://n", "inproc://n2"], self.out_ep,
                              "ipc://%s/sn.sock" % t, "ipc://%s/sc.sock" % t).replace(
            "pattern: push, bind: true}", "pattern: push, bind: true, protocol: dectris-stream2}")
        # and the same series in the swmrbus protocol (multi-channel: a part a channel)
        self.nat_ep = "ipc://%s/outn.sock" % t
        text += S.source_yaml("native-out", ["inproc://n"], self.nat_ep,
                              "ipc://%s/sn2.sock" % t, "ipc://%s/sc2.sock" % t)
        self.proc = S.Proc(t, text, "dectris2-source", control_ep="ipc://%s/sc.sock" % t)
        self.addCleanup(self.proc.stop)
        self.proc.start()
        self.pull = S.CTX.socket(zmq.PULL)
        self.pull.setsockopt(zmq.LINGER, 0)
        self.pull.connect(self.out_ep)
        self.addCleanup(self.pull.close)
        self.npull = S.CTX.socket(zmq.PULL)
        self.npull.setsockopt(zmq.LINGER, 0)
        self.npull.connect(self.nat_ep)
        self.addCleanup(self.npull.close)

    def recv_until_end(self, series, timeout=S.TIMEOUT):
        got = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.pull.poll(200):
                continue
            parts = self.pull.recv_multipart()
            self.assertEqual(len(parts), 1, "stream v2 messages are single-part")
            m = decode(parts[0])
            got.append(m)
            if m["type"] == "end" and m["series_id"] == series:
                return got
        self.fail("no end of series %d from the source; got %d messages" % (series, len(got)))

    def test_served_on_as_stream_v2(self):
        tx = H.Sender(self.in_ep)
        self.addCleanup(tx.close)
        arrays = frames(21, 10, "uint32")
        chunks, _ = H.bslz4_chunks(arrays)
        tx.send([start_msg(21, len(arrays), unique="served")])
        for i, c in enumerate(chunks):
            tx.send([image_msg(21, i + 1, TYPED["uint32"], c, "bslz4", 4)])
        tx.send([end_msg(21)])
        msgs = self.recv_until_end(21)
        mine = [m for m in msgs if m["series_id"] == 21]
        start, images, end = mine[0], mine[1:-1], mine[-1]
        self.assertEqual(start["type"], "start")
        self.assertEqual(start["series_unique_id"], "served")
        self.assertEqual((start["image_size_y"], start["image_size_x"]), arrays.shape[1:])
        self.assertEqual(start["number_of_images"], 10)
        self.assertEqual(start["channels"], ["threshold_1"])
        for k in ("beam_center_x", "count_time", "sensor_material", "pixel_size_x",
                  "detector_serial_number", "saturation_value"):
            self.assertEqual(start[k], START_FIELDS[k], k)
        self.assertEqual(start["threshold_energy"], {"threshold_1": 6400.0})
        self.assertEqual(len(images), 10)
        for i, m in enumerate(images):
            self.assertEqual(m["type"], "image")
            self.assertEqual(m["image_id"], i + 1)
            md = m["data"]["threshold_1"]
            self.assertEqual(md.tag, 40)
            dims, typed = md.value
            self.assertEqual(tuple(dims), arrays.shape[1:])
            self.assertEqual(typed.tag, 70)
            self.assertEqual(typed.value.tag, 56500)
            alg, elem, blob = typed.value.value
            self.assertEqual((alg, elem), ("bslz4", 4))
            self.assertEqual(blob, chunks[i], "image %d: the bytes the detector sent" % i)
        self.assertEqual(end, {"type": "end", "series_id": 21})

    def test_two_channels_served_on(self):
        """A 2-channel series: the source sends each channel's chunk as stored, as
        stream v2 (data: {channel: ...} per image) and in the swmrbus protocol
        (start.channels, a payload part per channel)."""
        tx = H.Sender(self.in_ep)
        self.addCleanup(tx.close)
        names = ["threshold_1", "threshold_2"]
        sent = [frames(31, 5, "uint32"), frames(32, 5, "uint32") + 7]
        chunks = [H.bslz4_chunks(a)[0] for a in sent]
        tx.send([start_msg(31, 5, unique="two", channels=names,
                           threshold_energy={"threshold_1": 6400.0, "threshold_2": 9100.0})])
        for i in range(5):
            tx.send([cbor2.dumps({
                "type": "image", "series_id": 31, "image_id": i + 1,
                "data": {n: cbor2.CBORTag(40, [list(sent[c].shape[1:]), cbor2.CBORTag(
                    TYPED["uint32"], cbor2.CBORTag(56500, ["bslz4", 4, chunks[c][i]]))])
                         for c, n in enumerate(names)}})])
        tx.send([end_msg(31)])
        mine = [m for m in self.recv_until_end(31) if m["series_id"] == 31]
        start, images = mine[0], mine[1:-1]
        self.assertEqual(start["channels"], names)
        self.assertEqual(start["threshold_energy"], {"threshold_1": 6400.0, "threshold_2": 9100.0})
        self.assertEqual(len(images), 5)
        for i, m in enumerate(images):
            self.assertEqual(m["image_id"], i + 1)
            self.assertEqual(sorted(m["data"]), names)
            for c, n in enumerate(names):
                dims, typed = m["data"][n].value
                alg, elem, blob = typed.value.value
                self.assertEqual((alg, elem), ("bslz4", 4))
                self.assertEqual(blob, chunks[c][i], "image %d channel %s" % (i, n))
        # the swmrbus protocol
        got, deadline = [], time.time() + S.TIMEOUT
        while time.time() < deadline:
            if not self.npull.poll(200):
                continue
            parts = self.npull.recv_multipart()
            h = msgpack.unpackb(parts[0], raw=False)
            if h.get("series") != 31:
                continue
            got.append((h, parts[1:]))
            if h["type"] == "end":
                break
        self.assertEqual(got[0][0]["type"], "start")
        self.assertEqual(got[0][0]["channels"], names)
        self.assertEqual((got[0][0]["dtype"], got[0][0]["encoding"]), ("uint32", "bslz4"))
        self.assertEqual(list(got[0][0]["shape"]), list(sent[0].shape[1:]))
        frs = [(h, p) for h, p in got if h["type"] == "frame"]
        self.assertEqual(len(frs), 5)
        for h, p in frs:
            self.assertEqual(len(p), 2, "a payload part per channel")
            for c in range(2):
                self.assertEqual(p[c], chunks[c][h["frame"]])
        self.assertEqual(got[-1][0]["type"], "end")

    def test_raw_and_native_series(self):
        tx = H.Sender(self.in_ep)
        self.addCleanup(tx.close)
        a16 = frames(22, 4, "uint16")
        tx.send([start_msg(22, 4)])
        for i, a in enumerate(a16):
            tx.send([image_msg(22, i, TYPED["uint16"], a.tobytes())])
        tx.send([end_msg(22)])
        got = [m for m in self.recv_until_end(22) if m["series_id"] == 22]
        imgs = [m for m in got if m["type"] == "image"]
        self.assertEqual([m["image_id"] for m in imgs], [0, 1, 2, 3])
        for m, a in zip(imgs, a16):
            typed = m["data"]["threshold_1"].value[1]
            self.assertEqual(typed.tag, 69)
            np.testing.assert_array_equal(np.frombuffer(typed.value, "<u2").reshape(a.shape), a)
        # wire protocol v1 into the second sink: served as stream v2 too
        nat = S.Sender(self.in2_ep)
        self.addCleanup(nat.close)
        nat.start(23, dtype="int32", shape=(8, 6))
        raw = [np.arange(48, dtype="<i4").reshape(8, 6) * (i + 1) for i in range(3)]
        for i, a in enumerate(raw):
            nat.frame(23, i, a.tobytes())
        nat.end(23, 3)
        got = self.recv_until_end(23)
        imgs = [m for m in got if m["type"] == "image"]
        self.assertEqual(len(imgs), 3)
        for m, a in zip(imgs, raw):
            typed = m["data"]["threshold_1"].value[1]
            self.assertEqual(typed.tag, 78)
            np.testing.assert_array_equal(np.frombuffer(typed.value, "<i4").reshape(8, 6), a)


if __name__ == "__main__":
    H.main()
