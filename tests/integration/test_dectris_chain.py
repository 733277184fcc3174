"""What the source passes on of a Dectris series (issue 11): enough for a
second sink to write the same NXmx file, and for a stream v2 client to see
the times and thresholds.

* dectris stream v2 sender -> sink "eiger" -> source "relay" (wire protocol
  v1) -> sink "copy": h5py compares both files: every stored chunk
  (read_direct_chunk, both channels), the gap row absent in both,
  /entry/data/image_id, the channel names and @axes, per-image start_time /
  stop_time / real_time (NaN at the gap), timestamp, each channel's
  pixel_mask / flatfield / threshold_energy, the countrate lookup table,
  first_image_id and the NXmx fields NXmx moves out of the detector group
  (/entry/definition, /entry/start_time, /entry@user_data, beam); and a
  stream v1 series (one channel: mask, flatfield, the legacy countrate
  table, threshold_energy in the detector group).
* the same series through a source with out.protocol: dectris-stream2 -> a
  cbor2 client: the start's threshold_energy by channel name (the detector
  sent the map in another order than its channels), pixel_mask, flatfield
  and countrate table; each image's start_time / stop_time / real_time."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401  (filter 32008 for h5py)
import cbor2  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import zmq  # noqa: E402
from cbor2 import CBORTag  # noqa: E402

import source_harness as S  # noqa: E402
import swmrbus_harness as H  # noqa: E402
import test_dectris1 as D1  # noqa: E402
import test_dectris2 as D2  # noqa: E402

NAMES = ("threshold_1", "threshold_2")
SENT_IDS = (1, 2, 3, 5, 6)  # image 4 never comes: a gap at row 3
N_ROWS = 6


class DectrisChain(H.SinkTestCase):

    def setUp(self):
        t = self.tmp = S.make_tempdir("dxc")
        self.in_ep = "ipc://%s/in.sock" % t
        self.nat_ep = "ipc://%s/nat.sock" % t
        self.v2_ep = "ipc://%s/v2.sock" % t
        self.copy_notify = "ipc://%s/copyn.sock" % t
        self.eiger_notify = "ipc://%s/eign.sock" % t
        text = S.sink_yaml(
            "eiger", self.in_ep, ["inproc://n", self.eiger_notify], "ipc://%s/c1.sock" % t,
            os.path.join(t, "data"), flush_frames=2, flush_ms=50, linger_ms=300).replace(
            "pattern: pull, bind: true}", "pattern: pull, bind: true, protocol: dectris-stream2}")
        self.in1_ep = "ipc://%s/in1.sock" % t
        text += S.sink_yaml(
            "eiger1", self.in1_ep, ["inproc://n1", self.eiger_notify + "1"],
            "ipc://%s/c3.sock" % t, os.path.join(t, "data1"), flush_frames=2, flush_ms=50,
            linger_ms=300).replace(
            "pattern: pull, bind: true}", "pattern: pull, bind: true, protocol: dectris-stream1}")
        text += S.source_yaml("relay", ["inproc://n", "inproc://n1"], self.nat_ep,
                              "ipc://%s/rn.sock" % t, "ipc://%s/rc.sock" % t)
        text += S.sink_yaml("copy", self.nat_ep, [self.copy_notify], "ipc://%s/c2.sock" % t,
                            os.path.join(t, "copy"), flush_frames=2, flush_ms=50,
                            linger_ms=300, in_bind=False)
        text += S.source_yaml("v2out", ["inproc://n"], self.v2_ep, "ipc://%s/vn.sock" % t,
                              "ipc://%s/vc.sock" % t).replace(
            "pattern: push, bind: true}", "pattern: push, bind: true, protocol: dectris-stream2}")
        self.proc = S.Proc(t, text, "dectris-chain", control_ep="ipc://%s/rc.sock" % t)
        self.addCleanup(self.proc.stop)
        self.proc.start()
        self.v2 = S.CTX.socket(zmq.PULL)
        self.v2.setsockopt(zmq.LINGER, 0)
        self.v2.connect(self.v2_ep)
        self.addCleanup(self.v2.close)
        self.copy_n = S.NoticeCollector(self.copy_notify)
        self.addCleanup(self.copy_n.close)
        self.eiger_n = S.NoticeCollector(self.eiger_notify)
        self.addCleanup(self.eiger_n.close)
        self.eiger1_n = S.NoticeCollector(self.eiger_notify + "1")
        self.addCleanup(self.eiger1_n.close)

    def send_series(self, sid):
        """A 2-channel bslz4 series with masks, flatfields, thresholds (the
        map in the other order), a countrate table and per-image times."""
        tx = H.Sender(self.in_ep)
        self.addCleanup(tx.close)
        sent = [D2.frames(sid, N_ROWS, "uint32"), D2.frames(sid + 1, N_ROWS, "uint32") * 2]
        chunks = [H.bslz4_chunks(a)[0] for a in sent]
        masks = [np.zeros(D2.SHAPE, "<u4"), np.zeros(D2.SHAPE, "<u4")]
        masks[0][1, 2] = 1
        masks[1][:, 3] = 8
        flats = [np.full(D2.SHAPE, 1.25, "<f4"), np.full(D2.SHAPE, 0.75, "<f4")]
        lut = np.arange(256, dtype="<u4") * 2
        tx.send([D2.start_msg(
            sid, N_ROWS, unique="chain_%d" % sid, channels=NAMES,
            threshold_energy={"threshold_2": 9100.0, "threshold_1": 6400.0},
            pixel_mask={n: CBORTag(40, [list(D2.SHAPE), CBORTag(70, m.tobytes())])
                        for n, m in zip(NAMES, masks)},
            flatfield={n: CBORTag(40, [list(D2.SHAPE), CBORTag(85, f.tobytes())])
                       for n, f in zip(NAMES, flats)},
            countrate_correction_lookup_table=CBORTag(70, lut.tobytes()))])
        for iid in SENT_IDS:
            r = iid - 1
            data = {n: CBORTag(40, [list(D2.SHAPE), CBORTag(70, CBORTag(
                56500, ["bslz4", 4, chunks[c][r]]))]) for c, n in enumerate(NAMES)}
            tx.send([cbor2.dumps({
                "type": "image", "series_id": sid, "image_id": iid,
                "start_time": [iid * 100, 10000], "stop_time": [iid * 100 + 90, 10000],
                "real_time": [90, 10000],
                "series_date": CBORTag(0, "2026-11-29T22:00:00.000Z"), "data": data})])
        tx.send([D2.end_msg(sid)])
        return sent, chunks, masks, flats, lut

    def test_second_sink_writes_the_same_file(self):
        sent, chunks, masks, flats, lut = self.send_series(81)
        first = self.eiger_n.wait_topic("swmrbus.closed", lambda m: m["series"] == 81)
        copy = self.copy_n.wait_topic("swmrbus.closed")
        self.assertEqual(copy["frames"], N_ROWS)
        with h5py.File(first["file"], "r") as a, h5py.File(copy["file"], "r") as b:
            da, db = a[H.DATASET], b[H.DATASET]
            self.assertEqual(da.shape, (N_ROWS, 2) + D2.SHAPE)
            self.assertEqual(db.shape, da.shape)
            self.assertEqual(db.chunks, da.chunks)
            for iid in SENT_IDS:
                for c in range(2):
                    ca = bytes(da.id.read_direct_chunk((iid - 1, c, 0, 0))[1])
                    self.assertEqual(ca, chunks[c][iid - 1])
                    self.assertEqual(bytes(db.id.read_direct_chunk((iid - 1, c, 0, 0))[1]), ca)
            self.assertIsNone(db.id.get_chunk_info_by_coord((3, 0, 0, 0)).byte_offset,
                              "the gap row has no chunk in the copy either")
            np.testing.assert_array_equal(db[[0, 1, 2, 4, 5]], da[[0, 1, 2, 4, 5]])
            for p in ("/entry/data/image_id", "/entry/data/channel",
                      "/entry/instrument/detector/timestamp",
                      "/entry/instrument/detector/first_image_id",
                      "/entry/instrument/detector/countrate_correction_lookup_table",
                      "/entry/definition", "/entry/start_time",
                      "/entry/instrument/beam/incident_wavelength",
                      "/entry/instrument/beam/incident_energy",
                      "/entry/instrument/detector/beam_center_x",
                      "/entry/instrument/detector/sensor_material"):
                self.assertIn(p, b, p)
                np.testing.assert_array_equal(b[p][()], a[p][()], p)
                self.assertEqual(b[p].dtype, a[p].dtype, p)
            self.assertEqual(list(b["/entry/data/image_id"][()]), list(range(1, 7)))
            self.assertEqual([x.decode() for x in b["/entry/data/channel"][()]], list(NAMES))
            self.assertEqual(list(b["/entry/data"].attrs["axes"]),
                             list(a["/entry/data"].attrs["axes"]))
            np.testing.assert_array_equal(b["/entry/instrument/detector/"
                                            "countrate_correction_lookup_table"][()], lut)
            self.assertEqual(b["/entry"].attrs["user_data"], a["/entry"].attrs["user_data"])
            self.assertEqual(b["/entry/instrument/beam/incident_wavelength"].attrs["units"],
                             b"angstrom")
            for k in ("start_time", "stop_time", "real_time"):
                ta = a["/entry/instrument/detector/" + k][()]
                tb = b["/entry/instrument/detector/" + k][()]
                np.testing.assert_array_equal(tb, ta, k)
                self.assertTrue(np.isnan(tb[3]), "%s: NaN at the gap" % k)
            np.testing.assert_allclose(b["/entry/instrument/detector/start_time"][[0, 1, 2, 4, 5]],
                                       np.array(SENT_IDS) / 100)
            for n, m, f, e in zip(NAMES, masks, flats, (6400.0, 9100.0)):
                g = b["/entry/instrument/detector/%s_channel" % n]
                np.testing.assert_array_equal(g["pixel_mask"][()], m)
                np.testing.assert_array_equal(g["flatfield"][()], f)
                self.assertEqual(g["flatfield"].dtype, np.dtype("<f4"))
                self.assertEqual(g["threshold_energy"][()], e)
        self.proc.stop()

    def test_stream1_single_channel(self):
        """A legacy stream v1 series (header_detail all: flatfield, mask,
        countrate table; dconfig times) through the same chain: one
        channel, its arrays in the detector group."""
        tx = H.Sender(self.in1_ep)
        self.addCleanup(tx.close)
        table = np.stack([np.arange(1000, dtype="<f4"),
                          np.arange(1000, dtype="<f4") * 2], axis=1)
        parts = D1.header_parts(91, "all")
        parts[7] = table.tobytes()
        tx.send(parts)
        arrays = D1.frames(91, 3, "uint16")
        for i, a in enumerate(arrays):
            tx.send(D1.image_parts(91, i, "uint16", "<", a.tobytes()))
        tx.send(D1.end_parts(91))
        first = self.eiger1_n.wait_topic("swmrbus.closed", lambda m: m["series"] == 91)
        copy = self.copy_n.wait_topic("swmrbus.closed")
        det = "/entry/instrument/detector/"
        with h5py.File(first["file"], "r") as a, h5py.File(copy["file"], "r") as b:
            np.testing.assert_array_equal(b[H.DATASET][()], arrays)
            for p in ("/entry/data/image_id", det + "pixel_mask", det + "flatfield",
                      det + "detectorSpecific/countrate_correction_table",
                      det + "threshold_energy", det + "start_time", det + "stop_time",
                      det + "real_time", det + "timestamp", "/entry/definition",
                      "/entry/start_time", "/entry/instrument/beam/incident_wavelength"):
                self.assertIn(p, b, p)
                np.testing.assert_array_equal(b[p][()], a[p][()], p)
                self.assertEqual(b[p].dtype, a[p].dtype, p)
            self.assertEqual(list(b["/entry/data/image_id"][()]), [0, 1, 2])
            np.testing.assert_array_equal(b[det + "pixel_mask"][()], D1.PIXEL_MASK)
            np.testing.assert_array_equal(
                b[det + "detectorSpecific/countrate_correction_table"][()], table)
            self.assertEqual(b[det + "threshold_energy"].attrs["units"], b"eV")
            np.testing.assert_allclose(b[det + "start_time"][()], np.arange(3) * 0.02)
        self.proc.stop()

    def test_stream2_client_gets_times_and_thresholds(self):
        sent, chunks, masks, flats, lut = self.send_series(82)
        got = []
        deadline = time.time() + S.TIMEOUT
        while time.time() < deadline:
            if not self.v2.poll(200):
                continue
            m = cbor2.loads(self.v2.recv())
            if m.get("series_id") != 82:
                continue
            got.append(m)
            if m["type"] == "end":
                break
        self.assertEqual([m["type"] for m in got], ["start"] + ["image"] * 5 + ["end"])
        start = got[0]
        self.assertEqual(start["channels"], list(NAMES))
        self.assertEqual(start["threshold_energy"], {"threshold_1": 6400.0, "threshold_2": 9100.0})
        self.assertEqual(start["incident_wavelength"], D2.START_FIELDS["incident_wavelength"])
        for n, m, f in zip(NAMES, masks, flats):
            pm = start["pixel_mask"][n].value
            self.assertEqual(list(pm[0]), list(D2.SHAPE))
            self.assertEqual(pm[1].tag, 70)
            np.testing.assert_array_equal(np.frombuffer(pm[1].value, "<u4").reshape(D2.SHAPE), m)
            ff = start["flatfield"][n].value
            self.assertEqual(ff[1].tag, 85)
            np.testing.assert_array_equal(np.frombuffer(ff[1].value, "<f4").reshape(D2.SHAPE), f)
        crt = start["countrate_correction_lookup_table"]
        self.assertEqual(crt.tag, 70)
        np.testing.assert_array_equal(np.frombuffer(crt.value, "<u4"), lut)
        imgs = got[1:-1]
        self.assertEqual([m["image_id"] for m in imgs], list(SENT_IDS))
        for m in imgs:
            iid = m["image_id"]
            for k, v in (("start_time", iid / 100), ("stop_time", (iid * 100 + 90) / 10000),
                         ("real_time", 90 / 10000)):
                num, den = m[k]
                self.assertAlmostEqual(num / den, v, places=9, msg=k)
            for c, n in enumerate(NAMES):
                typed = m["data"][n].value[1]
                self.assertEqual(typed.value.value[2], chunks[c][iid - 1])
        self.proc.stop()


if __name__ == "__main__":
    H.main()
