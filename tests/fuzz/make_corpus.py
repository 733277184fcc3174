#!/usr/bin/python3
"""Writes the seed corpus of fuzz_header (run once; the seeds are committed).

A seed is one msgpack object (header / notice map / request) followed by
optional payload bytes, as fuzz_header.c splits it. Names: ok_* decode, bad_*
are rejected, edge_* probe corners."""
import os
import struct
import msgpack

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_header")


def p(obj, **kw):
    return msgpack.packb(obj, use_bin_type=True, **kw)


def chunk(raw, block, body):
    return struct.pack(">QI", raw, block) + body


def start(**extra):
    h = {"type": "start", "series": 7, "dtype": "uint16", "shape": [4, 5], "encoding": "raw"}
    h.update(extra)
    return h


def frame(**extra):
    h = {"type": "frame", "series": 7, "frame": 3}
    h.update(extra)
    return h


META = {"exposure": 5, "offset": -3, "gain": 0.25, "on": True, "sample": "lysozyme",
        "ints": [1, -2, 3], "uints": [1, 2, 2**64 - 1], "floats": [0.5, 1, -2],
        "bools": [True, False], "empty": []}
ORIGIN = {"sink": "writer", "series": 3, "file": "/data/run42/det_3.h5"}

seeds = {
    "ok_start_raw": p(start(frames=100, name="run42")),
    "ok_start_meta_origin": p(start(meta=META, origin=ORIGIN, name="scan_7")),
    "ok_start_bslz4_3d": p(start(dtype="float32", shape=[2, 3, 4], encoding="bslz4")),
    "ok_start_lz4": p(start(dtype="int64", shape=[16], encoding="lz4", frames=2**40)),
    "ok_frame_raw": p(frame(ts=1700000000123456789)) + bytes(40),
    "ok_frame_implicit_raw": p(frame(dtype="uint8", shape=[3, 3], encoding="raw",
                                     name="det")) + bytes(range(9)),
    "ok_frame_implicit_bslz4": p(frame(dtype="uint32", shape=[64, 64], encoding="bslz4"))
    + chunk(16384, 8192, b"\x00\x00\x00\x10" + bytes(16) * 2),
    "ok_frame_implicit_lz4": p(frame(dtype="uint16", shape=[10, 10], encoding="lz4"))
    + chunk(200, 1 << 30, b"\x00\x00\x00\x08" + bytes(8)),
    "ok_end": p({"type": "end", "series": 7, "frames": 10}),
    "ok_frame_unknown_keys": p(frame(**{"x-future": {"a": [None, 1.5, b"bin"]},
                                        "Type": None})),
    "ok_notice_open": p({"series": 1, "file": "/data/run42/det_1.h5",
                         "dataset": "/entry/data/data", "frames": 0, "seq": 0,
                         "t": 1700000000000000000, "sink": "writer"}),
    "ok_notice_flushed": p({"series": 1, "frames": 100, "written": 98, "complete": 90,
                            "seq": 5, "t": 1, "sink": "writer", "via": "reader"}),
    "ok_notice_error": p({"series": 1, "error": "frame index out of range",
                          "reason": "limit", "count": 3, "seq": 9}),
    "ok_request_status": p({"cmd": "status"}),
    "ok_request_flush_series": p({"cmd": "flush", "series": 4}),
    "ok_request_close": p({"cmd": "close", "x-client": "cli"}),
    "ok_meta_4096": p(start(meta={"many": list(range(100)) * 40 + list(range(96))})),
    "bad_frame_partial_format": p(frame(dtype="float32", shape=[2])),
    "bad_dtype_float128": p(start(dtype="float128")),
    "bad_encoding_zstd": p(start(encoding="zstd")),
    "bad_shape_empty": p(start(shape=[])),
    "bad_shape_4d": p(start(shape=[2, 2, 2, 2])),
    "bad_shape_zero": p(start(shape=[4, 0])),
    "bad_shape_too_big": p(start(dtype="uint64", shape=[2**40, 2**40, 16])),
    "bad_frame_2p63": p(frame(frame=2**63)),
    "bad_frame_negative": p(frame(frame=-1)),
    "bad_array_2p32": b"\xdd\xff\xff\xff\xff",
    "bad_map_2p32_in_map": b"\x81\xa4type\xdf\xff\xff\xff\xff",
    "bad_str_2p32": b"\x81\xa4name\xdb\xff\xff\xff\xff",
    "bad_depth_9": p(frame(deep=[[[[[[[[]]]]]]]])),
    "bad_truncated_start": p(start(name="abc"))[:-3],
    "bad_garbage": b"\xc1\xde\xad\xbe\xef",
    "bad_not_a_map": p(["type", "start"]),
    "bad_meta_nested": p(start(meta={"nested": {"a": 1}})),
    "bad_meta_4097": p(start(meta={"huge": [1] * 4097})),
    "bad_meta_nil": p(start(meta={"nil": None})),
    "bad_name_nul": p(start(name="a\x00b")),
    "bad_name_long": p(start(name="n" * 256)),
    "bad_name_bin": p(start(name=b"abc")),
    # duplicate "series" key: python dicts cannot hold it, so by hand
    "bad_duplicate_key": b"\x84" + p("type") + p("frame") + p("series") + p(1)
    + p("frame") + p(0) + p("series") + p(2),
    "bad_bslz4_block0": p(frame(dtype="uint32", shape=[8], encoding="bslz4"))
    + chunk(32, 0, bytes(8)),
    "bad_bslz4_rawsize": p(frame(dtype="uint32", shape=[8], encoding="bslz4"))
    + chunk(31, 32, bytes(8)),
    "bad_bslz4_block_not_mult": p(frame(dtype="uint32", shape=[8], encoding="bslz4"))
    + chunk(32, 20, bytes(8)),
    "bad_lz4_body_over_bound": p(frame(dtype="uint8", shape=[4], encoding="lz4"))
    + chunk(4, 4, bytes(100)),
    "bad_raw_short": p(frame(dtype="uint16", shape=[4], encoding="raw")) + bytes(7),
    "bad_notice_nil": p({"series": None}),
    "bad_request_unknown_cmd": p({"cmd": "reboot"}),
    "bad_request_no_cmd": p({"series": 1}),
    "edge_notice_unknown_reason": p({"reason": "disk_on_fire", "error": "x"}),
    "edge_empty": b"",
    "edge_empty_map": b"\x80",
    "edge_float32_meta": p(start(meta={"g": 0.25}), use_single_float=True),
    # "type" as str8, series as int64 (a signed format), a fixext and ext32
    "edge_formats": b"\x85\xd9\x04type\xa5frame\xa6series\xd3" + struct.pack(">q", 5)
    + b"\xa5frame\xd0\x03\xa1x\xd6\x01abcd\xa1y\xc9\x00\x00\x00\x02\x05hi",
    "edge_signed_meta": b"\x86" + p("type") + p("start") + p("series") + p(1) + p("dtype")
    + p("int8") + p("shape") + p([2]) + p("encoding") + p("raw") + p("meta")
    + b"\x82" + p("a") + b"\xd3" + struct.pack(">q", 7) + p("b")
    + b"\x92\xd0\x01\xcf" + struct.pack(">Q", 2**63),
    "bad_origin_sink_long": p(start(origin={"sink": "s" * 256})),
    "bad_origin_series_str": p(start(origin={"series": "3"})),
    "edge_origin_partial": p(start(origin={"sink": "", "x": [1, 2]})),
    "edge_trailing_nil": p(frame()) + b"\xc0",
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
