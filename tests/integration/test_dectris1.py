"""in.protocol: dectris-stream1 — the legacy Dectris stream (SIMPLON
"stream" interface, multipart JSON + binary) from a sender written here
into a sink, for each header_detail level (all, basic, none):

* dheader-1.0 (+ the detector config for basic/all, + flatfield, pixel mask
  and countrate table with their blobs for all, + an appendix);
* per image dimage-1.0, dimage_d-1.0 (shape [x, y], type, encoding, size),
  the blob, dconfig-1.0; dseries_end-1.0 at the end.

bs32-lz4< / bs16-lz4< blobs (chunks made by h5py + bitshuffle) are stored
byte for byte; lz4< blobs (bare LZ4 blocks, python3-lz4) get filter 32004's
framing; `<` is raw. Every image reads back equal to what was sent; the
NXmx fields hold the config's values (basic/all), and a header_detail none
series is written with no detector fields. Bad messages are counted and the
stream goes on."""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bitshuffle.h5  # noqa: E402,F401  (filter 32008 for h5py)
import h5py  # noqa: E402
import lz4.block  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (36, 52)  # y, x
CONFIG = {
    "beam_center_x": 25.5, "beam_center_y": 17.0, "count_time": 0.0199, "frame_time": 0.02,
    "sensor_material": "Si", "sensor_thickness": 0.00045, "x_pixel_size": 7.5e-05,
    "y_pixel_size": 7.5e-05, "description": "Dectris EIGER 1M", "detector_number": "E-08-0101",
    "wavelength": 1.0332, "photon_energy": 12000.0, "threshold_energy": 6000.0,
    "countrate_correction_count_cutoff": 765063, "data_collection_date":
    "2026-11-29T22:10:00.000+01:00", "nimages": 4, "ntrigger": 2, "omega_start": 5.0,
    "omega_increment": 0.25, "pixel_mask_applied": True, "flatfield_correction_applied": True,
    "x_pixels_in_detector": SHAPE[1], "y_pixels_in_detector": SHAPE[0],
    "software_version": "1.8.0", "some_future_key": [1, 2, {"a": None}],
}


def j(obj):
    return json.dumps(obj).encode()


def frames(series, n, dtype):
    rng = np.random.default_rng(series)
    base = (np.arange(SHAPE[0])[:, None] * 2 + np.arange(SHAPE[1])[None, :]) % 40
    return np.stack([(base + i + rng.integers(0, 3, size=SHAPE)).astype(dtype)
                     for i in range(n)])


def _mask():
    m = np.zeros(SHAPE, "<u4")
    m[:, 7] = 1      # a gap column
    m[3, 5] = 2      # a dead pixel
    m[10, 11] = 8    # a noisy one
    return m


FLATFIELD = (1.0 + np.arange(SHAPE[0] * SHAPE[1]).reshape(SHAPE) / 10000.0).astype("<f4")
PIXEL_MASK = _mask()


def header_parts(series, detail):
    parts = [j({"htype": "dheader-1.0", "series": series, "header_detail": detail})]
    if detail in ("basic", "all"):
        parts.append(j(CONFIG))
    if detail == "all":
        x, y = SHAPE[1], SHAPE[0]
        parts += [j({"htype": "dflatfield-1.0", "shape": [x, y], "type": "float32"}),
                  FLATFIELD.tobytes(),
                  j({"htype": "dpixelmask-1.0", "shape": [x, y], "type": "uint32"}),
                  PIXEL_MASK.tobytes(),
                  j({"htype": "dcountrate_table-1.0", "shape": [2, 1000], "type": "float32"}),
                  np.zeros((1000, 2), "<f4").tobytes()]
    parts.append(j({"user": "appendix"}))
    return parts


def image_parts(series, frame, dtype, encoding, blob, **dd):
    d = {"htype": "dimage_d-1.0", "shape": [SHAPE[1], SHAPE[0]], "type": dtype,
         "encoding": encoding, "size": len(blob)}
    d.update(dd)
    return [j({"htype": "dimage-1.0", "series": series, "frame": frame, "hash": "0" * 32}),
            j(d), blob,
            j({"htype": "dconfig-1.0", "start_time": frame * 20000000,
               "stop_time": frame * 20000000 + 19900000, "real_time": 19900000})]


def end_parts(series):
    return [j({"htype": "dseries_end-1.0", "series": series})]


def det_arrays(f):
    return {k for k in ("flatfield", "pixel_mask") if k in f["/entry/instrument/detector"]}


class Dectris1(H.SinkTestCase):

    def start_dectris_sink(self, **kw):
        sk = H.SinkProcess(**kw)
        text = sk.config_text.replace("pattern: pull, bind: true}",
                                      "pattern: pull, bind: true, protocol: dectris-stream1}")
        assert text != sk.config_text
        with open(sk.config_path, "w") as f:
            f.write(text)
        self.addCleanup(self._cleanup_sink, sk)
        sk.start()
        return sk

    def check_nxmx(self, f):
        det = f["/entry/instrument/detector"]
        self.assertEqual(f["/entry/definition"][()], b"NXmx")
        self.assertEqual(f["/entry/start_time"][()], CONFIG["data_collection_date"].encode())
        for key, nx in (("beam_center_x", "beam_center_x"), ("beam_center_y", "beam_center_y"),
                        ("count_time", "count_time"), ("frame_time", "frame_time"),
                        ("sensor_thickness", "sensor_thickness"),
                        ("x_pixel_size", "x_pixel_size"), ("y_pixel_size", "y_pixel_size"),
                        ("threshold_energy", "threshold_energy")):
            self.assertEqual(det[nx][()], CONFIG[key], nx)
            self.assertIn("units", det[nx].attrs)
        self.assertEqual(det["sensor_material"][()], b"Si")
        self.assertEqual(det["description"][()], b"Dectris EIGER 1M")
        self.assertEqual(det["serial_number"][()], b"E-08-0101")
        self.assertEqual(det["saturation_value"][()], 765063)
        self.assertEqual(det["goniometer_omega_increment"][()], 0.25)
        self.assertEqual(bool(det["pixel_mask_applied"][()]), True)
        self.assertEqual(f["/entry/instrument/beam/incident_wavelength"][()], 1.0332)
        self.assertEqual(f["/entry/instrument/beam/incident_energy"][()], 12000.0)
        self.assertEqual(f["/entry/data"].attrs["frames_expected"], 8)

    def test_header_detail_levels(self):
        sk = self.start_dectris_sink(flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        sent = {}
        # all: bs32-lz4< uint32; basic: bs16-lz4< uint16; none: lz4< uint16 and < int32
        a32 = frames(1, 8, "uint32")
        c32, _ = H.bslz4_chunks(a32)
        tx.send(header_parts(1, "all"))
        for i, c in enumerate(c32):
            tx.send(image_parts(1, i, "uint32", "bs32-lz4<", c))
        tx.send(end_parts(1))
        sent[1] = (a32, c32, 32008)
        a16 = frames(2, 8, "uint16")
        c16, _ = H.bslz4_chunks(a16)
        tx.send(header_parts(2, "basic"))
        for i, c in enumerate(c16):
            tx.send(image_parts(2, i, "uint16", "bs16-lz4<", c))
        tx.send(end_parts(2))
        sent[2] = (a16, c16, 32008)
        al = frames(3, 6, "uint16")
        blobs = [lz4.block.compress(a.tobytes(), store_size=False) for a in al]
        tx.send(header_parts(3, "none"))
        for i, b in enumerate(blobs):
            tx.send(image_parts(3, i, "uint16", "lz4<", b))
        tx.send(end_parts(3))
        sent[3] = (al, None, 32004)
        ar = frames(4, 5, "int32")
        tx.send(header_parts(4, "none")[:1])  # no appendix either
        for i, a in enumerate(ar):
            tx.send(image_parts(4, i, "int32", "<", a.tobytes()))
        tx.send(end_parts(4))
        sent[4] = (ar, None, None)
        for series, (arrays, chunks, filt) in sent.items():
            closed = col.wait_closed(series)
            self.assertEqual(closed["frames"], len(arrays))
            self.assertEqual(os.path.basename(closed["file"]),
                             "series_%d_%d.h5" % (series, series))
            with h5py.File(closed["file"], "r") as f:
                d = f[H.DATASET]
                self.assertEqual(d.shape, arrays.shape)
                self.assertEqual(d.dtype, arrays.dtype.newbyteorder("<"))
                if filt:
                    self.assertEqual(d.id.get_create_plist().get_filter(0)[0], filt)
                np.testing.assert_array_equal(d[...], arrays)
                for i in range(len(arrays)):
                    raw = bytes(d.id.read_direct_chunk((i, 0, 0))[1])
                    if chunks:
                        self.assertEqual(raw, chunks[i])
                    elif filt == 32004:
                        self.assertEqual(raw[16:], blobs[i])  # the block, framed
                self.assertEqual(f["/entry/instrument/detector/first_image_id"][()], 0)
                if series != 4:  # the appendix part
                    self.assertEqual(json.loads(f["/entry"].attrs["user_data"]),
                                     {"user": "appendix"})
                else:
                    self.assertNotIn("user_data", f["/entry"].attrs)
                ts = f["/entry/instrument/detector/timestamp"][()]
                if series in (1, 2):  # data_collection_date + dconfig start_time
                    base = int(datetime.datetime(2026, 11, 29, 21, 10, tzinfo=datetime.timezone.utc)
                               .timestamp()) * 10**9
                    np.testing.assert_array_equal(ts, [base + i * 20000000
                                                       for i in range(len(arrays))])
                else:
                    self.assertTrue((ts == 0).all())
                # header_detail all: flatfield and pixel mask, before SWMR started
                if series == 1:
                    self.assertEqual(det_arrays(f), {"flatfield", "pixel_mask"})
                    np.testing.assert_array_equal(
                        f["/entry/instrument/detector/flatfield"][()], FLATFIELD)
                    np.testing.assert_array_equal(
                        f["/entry/instrument/detector/pixel_mask"][()], PIXEL_MASK)
                    self.assertEqual(f["/entry/instrument/detector/pixel_mask"].dtype,
                                     np.dtype("<u4"))
                else:
                    self.assertEqual(det_arrays(f), set())
                # per-image times from dconfig-1.0 (ns -> s), at every header_detail
                det = f["/entry/instrument/detector"]
                n = len(arrays)
                np.testing.assert_allclose(det["start_time"][()], np.arange(n) * 0.02)
                np.testing.assert_allclose(det["stop_time"][()], np.arange(n) * 0.02 + 0.0199)
                np.testing.assert_allclose(det["real_time"][()], np.full(n, 0.0199))
                if series in (1, 2):
                    self.check_nxmx(f)
                else:
                    self.assertEqual(f["/entry/definition"][()], b"NXmx")
                    self.assertNotIn("beam_center_x", f["/entry/instrument/detector"])
        self.assertEqual(sk.status()["rejected"], {})
        sk.stop_ok()

    def test_malformed_counted_stream_goes_on(self):
        sk = self.start_dectris_sink(flush_frames=4, flush_ms=100, linger_ms=500)
        col = self.collector(sk)
        tx = self.sender(sk)
        arrays = frames(6, 6, "uint32")
        chunks, _ = H.bslz4_chunks(arrays)
        bad_chunk = bytearray(chunks[1])
        bad_chunk[0:8] = (7).to_bytes(8, "big")
        good = lambda i: image_parts(6, i, "uint32", "bs32-lz4<", chunks[i])  # noqa: E731
        bad = [
            [b"{not json"],
            [j([1, 2])],
            [j({"htype": "dimage-2.0"})],
            image_parts(77, 0, "uint32", "bs32-lz4<", chunks[0]),   # before its header
            header_parts(6, "basic"),                               # header for open series
            image_parts(6, 1, "uint32", "bs16-lz4<", chunks[1]),    # bits != type
            image_parts(6, 1, "uint32", "bs32-lz4>", chunks[1]),    # big-endian
            image_parts(6, 1, "uint32", "bs32-lz4<", bytes(bad_chunk)),  # chunk header
            image_parts(6, 1, "uint32", "bs32-lz4<", chunks[1], size=5),  # size != blob
            image_parts(6, 1, "uint32", "bs32-lz4<", chunks[1], shape=[SHAPE[1]]),
            image_parts(6, 1, "float16", "<", b"\0" * 8),
            image_parts(6, 1, "uint32", "bs32-lz4<", chunks[1])[:2],  # no blob
            [j({"htype": "dheader-1.0", "series": 8, "header_detail": "most"})],
            [j({"htype": "dheader-1.0", "series": 8, "header_detail": "basic"}), b"[]"],
            [j({"htype": "dseries_end-1.0"})],
        ]
        tx.send(header_parts(6, "basic"))
        tx.send(good(0))
        for b in bad:
            tx.send(b)
        for i in range(1, 6):
            tx.send(good(i))
        tx.send(end_parts(6))
        closed = col.wait_closed(6)
        self.assertEqual(closed["frames"], 6)
        with h5py.File(closed["file"], "r") as f:
            np.testing.assert_array_equal(f[H.DATASET][...], arrays)

        def counted():
            return sum(sk.status()["rejected"].values()) >= len(bad)
        H.wait_until(counted, what="every bad message counted")
        self.assertEqual(sum(sk.status()["rejected"].values()), len(bad),
                         sk.status()["rejected"])
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
