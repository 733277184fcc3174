"""in.protocol: dectris-stream2 — a Dectris stream v2 sender written here
from the published spec (stream_v2/README.md, cbor/dectris-compression-tag.md
of Dectris's documentation repository; python3-cbor2) into a sink:

* bslz4 images (chunks made by h5py + bitshuffle, read back with
  read_direct_chunk) land byte for byte (read_direct_chunk returns the sent
  bytes) and decode to the sent pixels; row = image_id - the first image_id;
* the NXmx fields hold the start message's values (/entry/definition,
  detector fields with units, /entry/instrument/beam/incident_wavelength);
* lz4 and raw (uncompressed typed array) series too;
* an h5py swmr=True reader follows `flushed` while the series runs;
* malformed streams (truncated CBOR, wrong tags, indefinite lengths, lengths
  beyond the message, nesting beyond the limit, a bslz4 header disagreeing
  with the image, an element size disagreeing with the dtype, an image before
  its start, a start for an open series) are each counted and the series
  around them is written whole."""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401  (filter 32008 for h5py)
import cbor2  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402
from cbor2 import CBORTag  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (48, 40)  # image_size_y, image_size_x
TYPED = {"uint8": 64, "uint16": 69, "uint32": 70, "int32": 78, "float32": 85}

START_FIELDS = {
    "beam_center_x": 20.5, "beam_center_y": 23.25, "count_time": 0.0099,
    "frame_time": 0.01, "sensor_material": "CdTe", "sensor_thickness": 0.00075,
    "pixel_size_x": 7.5e-05, "pixel_size_y": 7.5e-05, "saturation_value": 123456,
    "detector_description": "Dectris EIGER2 CdTe 16M", "detector_serial_number": "E-32-0123",
    "incident_wavelength": 0.9762, "incident_energy": 12700.0,
    "countrate_correction_enabled": True, "flatfield_enabled": False,
    "pixel_mask_enabled": True, "virtual_pixel_interpolation_enabled": False,
}


def frames(series, n, dtype):
    """Smooth images with a little noise (compress, but not to nothing)."""
    rng = np.random.default_rng(series)
    base = (np.arange(SHAPE[0])[:, None] + np.arange(SHAPE[1])[None, :]) % 50
    return np.stack([(base + i + rng.integers(0, 4, size=SHAPE)).astype(dtype)
                     for i in range(n)])


def start_msg(series_id, n, unique=None, channels=("threshold_1",), **extra):
    m = {"type": "start", "series_id": series_id, "image_size_x": SHAPE[1],
         "image_size_y": SHAPE[0], "number_of_images": n, "channels": list(channels),
         "threshold_energy": {c: 6400.0 + 100 * i for i, c in enumerate(channels)},
         "arm_date": CBORTag(0, "2026-11-29T22:00:00.000Z"),
         "goniometer": {"omega": {"start": 10.0, "increment": 0.1}},
         "detector_translation": [0.0, 0.0, 0.125],
         "user_data": {"anything": [1, 2, {"x": "y"}]},
         "countrate_correction_lookup_table": CBORTag(70, bytes(64)),
         "vendor_future_key": "kept out, never fatal"}
    m.update(START_FIELDS)
    if unique is not None:
        m["series_unique_id"] = unique
    m.update(extra)
    return cbor2.dumps(m)


def image_msg(series_id, image_id, typed_tag, payload, compression=None, elem=None,
              channel="threshold_1", dims=SHAPE):
    data = payload if compression is None else CBORTag(56500, [compression, elem, payload])
    return cbor2.dumps({
        "type": "image", "series_id": series_id, "series_unique_id": "u",
        "image_id": image_id, "start_time": [image_id * 100, 10000],
        "stop_time": [image_id * 100 + 99, 10000], "real_time": [99, 10000],
        "series_date": CBORTag(0, "2026-11-29T22:00:00.000Z"),
        "data": {channel: CBORTag(40, [list(dims), CBORTag(typed_tag, data)])}})


def end_msg(series_id):
    return cbor2.dumps({"type": "end", "series_id": series_id, "series_unique_id": "u"})


class Dectris2(H.SinkTestCase):

    def start_dectris_sink(self, **kw):
        """A sink whose input takes stream v2 (the harness writes the `in`
        line; protocol is added to it)."""
        sk = H.SinkProcess(**kw)
        text = sk.config_text.replace("pattern: pull, bind: true}",
                                      "pattern: pull, bind: true, protocol: dectris-stream2}")
        assert text != sk.config_text
        with open(sk.config_path, "w") as f:
            f.write(text)
        self.addCleanup(self._cleanup_sink, sk)
        sk.start()
        return sk

    def check_nxmx(self, f, n_frames):
        self.assertEqual(f["/entry/definition"][()], b"NXmx")
        self.assertEqual(f["/entry/start_time"][()], b"2026-11-29T22:00:00.000Z")
        det = f["/entry/instrument/detector"]
        self.assertEqual(det.attrs["NX_class"], b"NXdetector")
        for key, nx, units in (("beam_center_x", "beam_center_x", "pixel"),
                               ("beam_center_y", "beam_center_y", "pixel"),
                               ("count_time", "count_time", "s"),
                               ("frame_time", "frame_time", "s"),
                               ("sensor_thickness", "sensor_thickness", "m"),
                               ("pixel_size_x", "x_pixel_size", "m"),
                               ("pixel_size_y", "y_pixel_size", "m")):
            self.assertEqual(det[nx][()], START_FIELDS[key], nx)
            self.assertEqual(det[nx].attrs["units"], units.encode(), nx)
        self.assertEqual(det["sensor_material"][()], b"CdTe")
        self.assertEqual(det["description"][()], START_FIELDS["detector_description"].encode())
        self.assertEqual(det["serial_number"][()], b"E-32-0123")
        self.assertEqual(det["saturation_value"][()], 123456)
        self.assertEqual(det["threshold_energy"][()], 6400.0)
        self.assertEqual(det["threshold_energy"].attrs["units"], b"eV")
        self.assertEqual(bool(det["countrate_correction_applied"][()]), True)
        self.assertEqual(bool(det["flatfield_applied"][()]), False)
        self.assertEqual(bool(det["pixel_mask_applied"][()]), True)
        self.assertEqual(det["goniometer_omega_start"][()], 10.0)
        np.testing.assert_array_equal(det["detector_translation"][()], [0.0, 0.0, 0.125])
        self.assertNotIn("vendor_future_key", det)
        self.assertNotIn("user_data", det)
        self.assertEqual(json.loads(f["/entry"].attrs["user_data"]),
                         {"anything": [1, 2, {"x": "y"}]})
        beam = f["/entry/instrument/beam"]
        self.assertEqual(beam.attrs["NX_class"], b"NXbeam")
        self.assertEqual(beam["incident_wavelength"][()], 0.9762)
        self.assertEqual(beam["incident_wavelength"].attrs["units"], b"angstrom")
        self.assertEqual(beam["incident_energy"][()], 12700.0)
        self.assertEqual(f["/entry/data"].attrs["frames_expected"], n_frames)

    def test_bslz4_series_byte_identical_with_nxmx(self):
        sk = self.start_dectris_sink(flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = frames(5, 12, "uint32")
        chunks, _ = H.bslz4_chunks(arrays)
        pmask = np.zeros(SHAPE, "<u4")
        pmask[:, 9] = 1
        pmask[4, 4] = 16
        flat = (1.0 + np.arange(SHAPE[0] * SHAPE[1]).reshape(SHAPE) / 5000.0).astype("<f4")
        tx.send([start_msg(5, len(arrays), unique="scan_0005",
                           pixel_mask={"threshold_1": CBORTag(40, [list(SHAPE),
                                                                   CBORTag(70, pmask.tobytes())])},
                           flatfield={"threshold_1": CBORTag(40, [list(SHAPE),
                                                                  CBORTag(85, flat.tobytes())])})])
        for i, c in enumerate(chunks):
            tx.send([image_msg(5, i + 1, TYPED["uint32"], c, "bslz4", 4)])  # counts from 1
        tx.send([end_msg(5)])
        closed = col.wait_closed(5)
        self.assertEqual(closed["frames"], len(arrays))
        self.assertEqual(os.path.basename(closed["file"]), "scan_0005_5.h5")
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, arrays.shape)
            self.assertEqual(d.dtype, np.dtype("<u4"))
            self.assertEqual(d.id.get_create_plist().get_filter(0)[0], 32008)
            for i in range(len(arrays)):
                mask, raw = d.id.read_direct_chunk((i, 0, 0))
                self.assertEqual(bytes(raw), chunks[i], "row %d" % i)
            np.testing.assert_array_equal(d[...], arrays)
            self.check_nxmx(f, len(arrays))
            self.assertEqual(f["/entry/instrument/detector/first_image_id"][()], 1)
            # ts = series_date + start_time (image_id * 100 / 10000 s)
            base = int(datetime.datetime(2026, 11, 29, 22, 0, tzinfo=datetime.timezone.utc)
                       .timestamp()) * 10**9
            ts = f["/entry/instrument/detector/timestamp"][()]
            np.testing.assert_array_equal(ts, [base + (i + 1) * 10**7 for i in range(12)])
            # the start's pixel_mask / flatfield (one channel: in the detector group)
            np.testing.assert_array_equal(f["/entry/instrument/detector/pixel_mask"][()], pmask)
            np.testing.assert_array_equal(f["/entry/instrument/detector/flatfield"][()], flat)
            self.assertEqual(f["/entry/instrument/detector/flatfield"].dtype, np.dtype("<f4"))
            # per-image times: the image's Rationals in seconds (README "Per-frame times")
            det = f["/entry/instrument/detector"]
            ids = np.arange(1, 13)
            np.testing.assert_allclose(det["start_time"][()], ids * 100 / 10000)
            np.testing.assert_allclose(det["stop_time"][()], (ids * 100 + 99) / 10000)
            np.testing.assert_allclose(det["real_time"][()], np.full(12, 99 / 10000))
            for k in ("start_time", "stop_time", "real_time"):
                self.assertEqual(det[k].dtype, np.dtype("<f8"))
                self.assertEqual(det[k].attrs["units"], b"s")
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def test_two_channel_series(self):
        """Two thresholds: /entry/data/data (N, 2, y, x), chunk (1, 1, y, x), each
        channel's chunk stored as sent at (row, c, 0, 0); the channel names and each
        channel's threshold_energy / pixel_mask as Dectris's NXmx 2024.02 layout."""
        sk = self.start_dectris_sink(flush_frames=3, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        names = ("threshold_1", "threshold_2")
        sent = [frames(21, 7, "uint16"), frames(22, 7, "uint16") * 3]
        chunks = [H.bslz4_chunks(a)[0] for a in sent]
        masks = [np.zeros(SHAPE, "<u4"), np.zeros(SHAPE, "<u4")]
        masks[0][2, 3] = 1
        masks[1][:, 0] = 4
        tx.send([start_msg(21, 7, unique="two_thresholds", channels=names,
                           threshold_energy={"threshold_1": 6400.0, "threshold_2": 9100.0},
                           pixel_mask={n: CBORTag(40, [list(SHAPE), CBORTag(70, m.tobytes())])
                                       for n, m in zip(names, masks)})])
        for i in range(7):
            # the map in the other order: the file keeps the start's order
            data = {n: CBORTag(40, [list(SHAPE), CBORTag(69, CBORTag(56500,
                                                                     ["bslz4", 2, chunks[c][i]]))])
                    for c, n in reversed(list(enumerate(names)))}
            tx.send([cbor2.dumps({"type": "image", "series_id": 21, "image_id": i + 1,
                                  "start_time": [i, 100], "stop_time": [i + 1, 100],
                                  "real_time": [1, 100],
                                  "series_date": CBORTag(0, "2026-11-29T22:00:00Z"),
                                  "data": data})])
        tx.send([end_msg(21)])
        closed = col.wait_closed(21)
        self.assertEqual(closed["frames"], 7)
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape, (7, 2) + SHAPE)
            self.assertEqual(d.chunks, (1, 1) + SHAPE)
            self.assertEqual(d.id.get_create_plist().get_filter(0)[0], 32008)
            for c in range(2):
                np.testing.assert_array_equal(d[:, c], sent[c])
                for i in range(7):
                    self.assertEqual(bytes(d.id.read_direct_chunk((i, c, 0, 0))[1]),
                                     chunks[c][i], "row %d channel %d" % (i, c))
            data = f["/entry/data"]
            self.assertEqual([x.decode() for x in data["channel"][()]], list(names))
            self.assertEqual([x.decode() if isinstance(x, bytes) else x
                              for x in data.attrs["axes"]], ["image_id", "channel", ".", "."])
            self.assertEqual(data.attrs["channel_indices"], 1)
            self.assertEqual(data.attrs["image_id_indices"], 0)
            self.assertEqual(list(data["image_id"][()]), list(range(1, 8)))
            det = f["/entry/instrument/detector"]
            for n, e, m in zip(names, (6400.0, 9100.0), masks):
                g = det[n + "_channel"]
                self.assertEqual(g["threshold_energy"][()], e)
                self.assertEqual(g["threshold_energy"].attrs["units"], b"eV")
                np.testing.assert_array_equal(g["pixel_mask"][()], m)
            np.testing.assert_allclose(det["start_time"][()], np.arange(7) / 100)
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def test_lz4_and_raw_series(self):
        sk = self.start_dectris_sink(flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        a16 = frames(7, 6, "uint16")
        lz = [H.lz4_stored_chunk(a.tobytes(), 512) for a in a16]
        tx.send([start_msg(7, 6)])  # no series_unique_id: series_7
        for i, c in enumerate(lz):
            tx.send([image_msg(7, i, TYPED["uint16"], c, "lz4", 0)])  # counts from 0
        tx.send([end_msg(7)])
        a8 = frames(8, 5, "int32")
        tx.send([start_msg(8, 5, unique="raw_series")])
        for i, a in enumerate(a8):
            tx.send([image_msg(8, 100 + i, TYPED["int32"], a.tobytes())])
        tx.send([end_msg(8)])
        c7, c8 = col.wait_closed(7), col.wait_closed(8)
        self.assertEqual(os.path.basename(c7["file"]), "series_7_7.h5")
        with h5py.File(c7["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.id.get_create_plist().get_filter(0)[0], 32004)
            np.testing.assert_array_equal(d[...], a16)
            for i in range(len(lz)):
                self.assertEqual(bytes(d.id.read_direct_chunk((i, 0, 0))[1]), lz[i])
        with h5py.File(c8["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.dtype, np.dtype("<i4"))
            np.testing.assert_array_equal(d[...], a8)
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def test_swmr_reader_follows_flushed(self):
        sk = self.start_dectris_sink(flush_frames=5, flush_ms=100000, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = frames(9, 20, "uint16")
        chunks, _ = H.bslz4_chunks(arrays)
        tx.send([start_msg(9, 20, unique="live")])
        for i in range(10):
            tx.send([image_msg(9, i + 1, TYPED["uint16"], chunks[i], "bslz4", 2)])
        fl = col.wait_flushed(9, 10)
        with h5py.File(fl["file"], "r", libver="latest", swmr=True) as f:
            d = f[H.DATASET]
            n = fl["frames"]
            self.assertGreaterEqual(d.shape[0], n)
            np.testing.assert_array_equal(d[:n], arrays[:n])
            self.assertEqual(f["/entry/definition"][()], b"NXmx")
            for i in range(10, 20):
                tx.send([image_msg(9, i + 1, TYPED["uint16"], chunks[i], "bslz4", 2)])
            fl = col.wait_flushed(9, 20)
            d.refresh()
            self.assertGreaterEqual(d.shape[0], 20)
            np.testing.assert_array_equal(d[:20], arrays)
        tx.send([end_msg(9)])
        col.wait_closed(9)
        sk.stop_ok()

    def test_malformed_counted_stream_goes_on(self):
        sk = self.start_dectris_sink(flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = frames(3, 8, "uint32")
        chunks, _ = H.bslz4_chunks(arrays)
        good = lambda i: image_msg(3, i + 1, TYPED["uint32"], chunks[i], "bslz4", 4)  # noqa
        bad_header = bytearray(chunks[0])
        bad_header[0:8] = (123).to_bytes(8, "big")  # uncompressed size != the image's
        deep = b"\x81" * 40 + b"\x00"  # 40 nested arrays
        bad = [
            good(1)[:-7],                                   # truncated CBOR
            image_msg(99, 1, TYPED["uint32"], chunks[0], "bslz4", 4),  # image before start
            image_msg(3, 2, 66, chunks[1], "bslz4", 4),     # big-endian typed array tag
            cbor2.dumps({"type": "image", "series_id": 3, "image_id": 2,  # tag 41, not 40
                         "data": {"threshold_1": CBORTag(41, [list(SHAPE), b""])}}),
            b"\xbf\x64type\x63end\xff",                     # indefinite-length map
            b"\xa2\x64type\x65image\x69series_id\x5a\x00\x00\x10\x00ab",  # bytes beyond
            b"\xa2\x64type\x63end\x69user_data" + deep,     # nesting beyond the limit
            b"\xa2\x64type\x63end\x61x\x9b\xff\xff\xff\xff\xff\xff\xff\xff",  # count > bytes
            image_msg(3, 2, TYPED["uint32"], bytes(bad_header), "bslz4", 4),  # chunk header
            image_msg(3, 2, TYPED["uint32"], chunks[1], "bslz4", 2),  # elem size != dtype
            start_msg(3, 8),                                # start for an open series
            image_msg(3, 2, TYPED["uint32"], chunks[1], "bslz4", 4, dims=(40, 48)),
            cbor2.dumps({"type": "image", "series_id": 3, "image_id": 2,
                         "data": {"threshold_1": CBORTag(40, [list(SHAPE), CBORTag(
                             70, CBORTag(56500, ["zstd", 4, chunks[1]]))])}}),
            cbor2.dumps([1, 2, 3]),                         # not a map
            cbor2.dumps({"series_id": 3}),                  # no type
            b"",                                            # empty message
        ]
        tx.send([start_msg(3, 8, unique="bad_input")])
        tx.send([good(0)])
        for b in bad:
            tx.send([b])
        for i in range(1, 8):
            tx.send([good(i)])
        tx.send([end_msg(3)])
        tx.send([end_msg(3)])  # end for a series with no start (any more)
        closed = col.wait_closed(3)
        self.assertEqual(closed["frames"], 8)
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            np.testing.assert_array_equal(d[...], arrays)
            for i in range(8):
                self.assertEqual(bytes(d.id.read_direct_chunk((i, 0, 0))[1]), chunks[i])

        def counted():
            st = sk.status()
            return st.get("rejected_total", sum(st["rejected"].values())) >= len(bad) + 1
        H.wait_until(counted, what="every bad message counted")
        st = sk.status()
        self.assertEqual(sum(st["rejected"].values()), len(bad) + 1, st["rejected"])
        for reason in ("bad_msgpack", "bad_header", "bad_payload", "mismatch"):
            self.assertIn(reason, st["rejected"])
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
