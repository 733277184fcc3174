#!/usr/bin/python3
"""Writes the seed corpus of fuzz_dectris2 (run once; the seeds are
committed; re-running rewrites the same files). An input is a sequence of
messages, each a 2-byte little-endian length and the bytes (fuzz_dectris2.c).
Messages are Dectris stream v2 CBOR (python3-cbor2). Names: ok_* decode,
bad_* are rejected, edge_* probe corners."""
import os
import struct

import cbor2
from cbor2 import CBORTag

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_dectris2")
X, Y = 12, 8


def seq(*msgs):
    return b"".join(struct.pack("<H", len(m)) + m for m in msgs)


def start(sid=1, **kw):
    m = {"type": "start", "series_id": sid, "series_unique_id": "u%d" % sid,
         "image_size_x": X, "image_size_y": Y, "number_of_images": 3,
         "channels": ["threshold_1"], "beam_center_x": 1.5, "beam_center_y": 2,
         "count_time": 0.1, "frame_time": 0.1, "sensor_material": "Si",
         "sensor_thickness": 0.00045, "pixel_size_x": 7.5e-5, "pixel_size_y": 7.5e-5,
         "saturation_value": 1000, "detector_description": "EIGER",
         "detector_serial_number": "E-1", "incident_wavelength": 1.0,
         "threshold_energy": {"threshold_1": 6000.0}, "arm_date": CBORTag(0, "2026-01-01T00:00:00Z"),
         "goniometer": {"omega": {"start": 1.0, "increment": 0.1}},
         "detector_translation": [0.0, 0.0, 0.1], "flatfield_enabled": True,
         "user_data": {"a": [1, 2]}}
    m.update(kw)
    return cbor2.dumps(m)


def chunk(raw, block=64, body=b"\x00" * 90):
    return struct.pack(">QI", raw, block) + body


def image(sid=1, iid=1, typed=70, data=None, alg="bslz4", elem=4, dims=(Y, X), ch="threshold_1"):
    if data is None:
        data = chunk(X * Y * 4)
    d = data if alg is None else CBORTag(56500, [alg, elem, data])
    return cbor2.dumps({"type": "image", "series_id": sid, "image_id": iid,
                        "start_time": [1, 10], "stop_time": [2, 10], "real_time": [1, 10],
                        "data": {ch: CBORTag(40, [list(dims), CBORTag(typed, d)])}})


def end(sid=1):
    return cbor2.dumps({"type": "end", "series_id": sid})


SEEDS = {
    "ok_series_bslz4": seq(start(), image(iid=1), image(iid=2), image(iid=3), end()),
    "ok_series_lz4": seq(start(2), image(2, 0, 69, chunk(X * Y * 2), "lz4", 0), end(2)),
    "ok_series_raw": seq(start(3), image(3, 5, 64, bytes(X * Y), None), end(3)),
    "ok_two_series": seq(start(4), start(5), image(5, 1), image(4, 1), end(4), end(5)),
    "ok_evict": seq(start(6), start(7), start(8), image(6, 1), image(8, 1)),
    "bad_image_before_start": seq(image(9, 1), start(9), image(9, 1)),
    "bad_start_open": seq(start(10), start(10), image(10, 1)),
    "bad_elem_size": seq(start(11), image(11, 1, elem=2)),
    "bad_dims": seq(start(12), image(12, 1, dims=(X, Y))),
    "bad_big_endian": seq(start(13), image(13, 1, typed=66)),
    "bad_float16": seq(start(13), image(13, 1, typed=84, alg=None, data=bytes(X * Y * 2))),
    "bad_zstd": seq(start(14), image(14, 1, alg="zstd")),
    "bad_channels": seq(start(15, channels=["a", "b"]), image(15, 1)),
    "bad_channel_name": seq(start(16), image(16, 1, ch="other\n")),
    "bad_truncated": seq(start(17), image(17, 1)[:-5]),
    "bad_indefinite_map": seq(b"\xbf\x64type\x63end\xff"),
    "bad_indefinite_bytes": seq(start(18), b"\xa1\x64type\x5f\x41a\xff"),
    "bad_beyond": seq(b"\xa2\x64type\x63end\x61x\x5a\x00\x10\x00\x00ab"),
    "bad_count": seq(b"\xa2\x64type\x63end\x61x\x9b" + b"\xff" * 8),
    "bad_nested": seq(b"\xa2\x64type\x63end\x61x" + b"\x81" * 40 + b"\x00"),
    "bad_tag_chain": seq(b"\xa2\x64type\x63end\x61x" + b"\xc1" * 40 + b"\x00"),
    "bad_trailing": seq(end(1) + b"\x00"),
    "bad_not_map": seq(cbor2.dumps([1, 2, 3])),
    "bad_no_type": seq(cbor2.dumps({"series_id": 1})),
    "bad_type": seq(cbor2.dumps({"type": "frame"})),
    "bad_big_start": seq(start(19, user_data="x" * 5000)),
    "bad_no_size": seq(start(20, image_size_x=0), image(20, 1)),
    "edge_empty": b"",
    "edge_empty_msg": seq(b""),
    "edge_end_unknown": seq(end(21)),
    "edge_types_wrong": seq(start(22, beam_center_x="a", sensor_material=1.0,
                                  threshold_energy=[1], goniometer=[1], saturation_value=-5),
                            image(22, 1)),
    "edge_image_id_below": seq(start(23), image(23, 5), image(23, 4), end(23)),
    "edge_dtypes": seq(start(24), image(24, 1, 86, bytes(X * Y * 8), None)),
    "edge_dates": seq(start(25), *[cbor2.dumps({
        "type": "image", "series_id": 25, "image_id": i + 1, "start_time": t,
        "series_date": CBORTag(0, dt), "data": {"threshold_1": CBORTag(40, [[Y, X], CBORTag(
            70, CBORTag(56500, ["bslz4", 4, chunk(X * Y * 4)]))])}})
        for i, (dt, t) in enumerate([("2026-11-29T22:00:00.5+01:00", [1, 3]),
                                     ("2026-11-29T22:00:00Z", [2**64 - 1, 1]),
                                     ("1969-01-01T00:00:00Z", [1, 0]),
                                     ("2026-02-30T99:00:00Z", [1, 2, 3]),
                                     ("x", "y")])]),
    # countrate_correction_lookup_table: a TypedArray kept as a 1-D start array;
    # odd lengths, compressed, big-endian or not typed: skipped, never fatal
    "ok_countrate_lut": seq(start(26, countrate_correction_lookup_table=CBORTag(
        70, bytes(range(64)))), image(26, 1), end(26)),
    "edge_countrate_odd": seq(start(27, countrate_correction_lookup_table=CBORTag(70, bytes(7))),
                              start(28, countrate_correction_lookup_table=CBORTag(
                                  70, CBORTag(56500, ["bslz4", 4, chunk(64)]))),
                              start(29, countrate_correction_lookup_table=CBORTag(66, bytes(8))),
                              start(30, countrate_correction_lookup_table=[1, 2]),
                              image(27, 1), image(28, 1), image(29, 1), image(30, 1)),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()


# ---- fuzz_dectris1: multipart messages: a part-count byte (count - 1), then
# per part a 2-byte little-endian length and the bytes.
import json  # noqa: E402

OUT1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_dectris1")


def msg(*parts):
    return bytes([len(parts) - 1]) + b"".join(struct.pack("<H", len(p)) + p for p in parts)


def js(o):
    return json.dumps(o).encode()


CFG = js({"beam_center_x": 1.0, "beam_center_y": 2.0, "count_time": 0.1, "frame_time": 0.1,
          "sensor_material": "Si", "sensor_thickness": 0.00045, "x_pixel_size": 7.5e-5,
          "y_pixel_size": 7.5e-5, "description": "EIGER", "detector_number": "E-1",
          "wavelength": 1.0, "photon_energy": 12000, "threshold_energy": 6000,
          "countrate_correction_count_cutoff": 1000, "nimages": 2, "ntrigger": 1,
          "omega_start": 0, "omega_increment": 0.1, "pixel_mask_applied": True,
          "data_collection_date": "2026-01-01T00:00:00"})


def hdr(sid, detail="basic"):
    return msg(*hdr_parts(sid, detail))


def hdr_parts(sid, detail="basic"):
    parts = [js({"htype": "dheader-1.0", "series": sid, "header_detail": detail})]
    if detail in ("basic", "all"):
        parts.append(CFG)
    if detail == "all":
        parts += [js({"htype": "dflatfield-1.0", "shape": [X, Y], "type": "float32"}),
                  bytes(X * Y * 4),
                  js({"htype": "dpixelmask-1.0", "shape": [X, Y], "type": "uint32"}),
                  bytes(X * Y * 4)]
    return parts


def img(sid, frame, typ="uint32", enc="bs32-lz4<", blob=None, **kw):
    if blob is None:
        blob = chunk(X * Y * 4)
    d = {"htype": "dimage_d-1.0", "shape": [X, Y], "type": typ, "encoding": enc,
         "size": len(blob)}
    d.update(kw)
    return msg(js({"htype": "dimage-1.0", "series": sid, "frame": frame}), js(d), blob,
               js({"htype": "dconfig-1.0", "start_time": 1, "stop_time": 2, "real_time": 1}))


def fin(sid):
    return msg(js({"htype": "dseries_end-1.0", "series": sid}))


SEEDS1 = {
    "ok_all": hdr(1, "all") + img(1, 0) + img(1, 1) + fin(1),
    "ok_basic_bs16": hdr(2) + img(2, 0, "uint16", "bs16-lz4<", chunk(X * Y * 2)) + fin(2),
    "ok_none_raw": hdr(3, "none") + img(3, 0, "uint8", "<", bytes(X * Y)) + fin(3),
    "ok_lz4": hdr(4) + img(4, 0, "uint16", "lz4<", b"\x1f\x00\x01\x00" * 8) + fin(4),
    "ok_evict": hdr(5) + hdr(6) + hdr(7) + img(5, 0) + img(7, 0),
    "bad_not_json": msg(b"{x"),
    "bad_not_object": msg(b"[1]"),
    "bad_htype": msg(js({"htype": "dimage-9"})),
    "bad_detail": msg(js({"htype": "dheader-1.0", "series": 1, "header_detail": "x"})),
    "bad_no_config": msg(js({"htype": "dheader-1.0", "series": 1})),
    "bad_config_array": msg(js({"htype": "dheader-1.0", "series": 1}), b"[]"),
    "bad_before_header": img(9, 0),
    "bad_header_open": hdr(10) + hdr(10),
    "bad_bits": hdr(11) + img(11, 0, enc="bs16-lz4<"),
    "bad_enc": hdr(12) + img(12, 0, enc="bs32-lz4>") + img(12, 0, enc="bs32-lz4<x"),
    "bad_size": hdr(13) + img(13, 0, size=3),
    "bad_shape": hdr(14) + img(14, 0, shape=[X]) + img(14, 0, shape=[0, -1]),
    "bad_type": hdr(15) + img(15, 0, typ="float16"),
    "bad_parts": hdr(16) + msg(js({"htype": "dimage-1.0", "series": 16, "frame": 0})),
    "bad_lz4_size": hdr(17) + img(17, 0, "uint8", "lz4<", bytes(X * Y)),
    "bad_deep": msg(b"[" * 3000 + b"]" * 3000),
    "bad_dup_key": msg(b'{"htype": "dseries_end-1.0", "series": 1, "series": 2}'),
    "bad_utf8": msg(b'{"htype": "\xff\xfe"}'),
    "edge_frame_below": hdr(18) + img(18, 5) + img(18, 4) + fin(18),
    "edge_end_unknown": fin(19),
    "edge_empty_parts": msg(b"", b"", b""),
    # dcountrate_table-1.0 + blob (shape [w, h]) after the mask: a 2-D start array
    "ok_all_countrate": msg(*(list(hdr_parts(20, "all")) + [
        js({"htype": "dcountrate_table-1.0", "shape": [4, 2], "type": "float32"}),
        bytes(32)])) + img(20, 0) + fin(20),
    "edge_countrate_bad": msg(*(list(hdr_parts(21, "all")) + [
        js({"htype": "dcountrate_table-1.0", "shape": [4, 2], "type": "float32"}),
        bytes(31)])) + msg(*(list(hdr_parts(22, "all")) + [
            js({"htype": "dcountrate_table-1.0", "shape": [0], "type": "x"}), b""])) +
    img(21, 0) + img(22, 0),
}


def main1():
    os.makedirs(OUT1, exist_ok=True)
    for name, data in SEEDS1.items():
        with open(os.path.join(OUT1, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS1), OUT1))


if __name__ == "__main__":
    main1()
