#!/usr/bin/python3
"""Writes the seed corpora of every fuzz target (run once; the seeds are
committed; re-running rewrites the same files).

fuzz_header: one msgpack object (header / notice map / request) followed by
optional payload bytes, as fuzz_header.c splits it. fuzz_notice: one byte
topic length, the topic, the map. fuzz_request: the request bytes.
fuzz_config: config text (YAML or JSON). Names: ok_* decode, bad_* are
rejected, edge_* probe corners."""
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

# start.datasets / start.static (several named per-row datasets)
DS = [{"name": "INDEX/trainId", "dtype": "uint64", "shape": [], "encoding": "raw"},
      {"name": "INSTRUMENT/SPB/DET/JF:daqOutput/data/adc", "dtype": "uint16",
       "shape": [1, 2, 3, 4, 5, 6, 7, 8], "encoding": "raw"},
      {"name": "data", "dtype": "float32", "shape": [64, 64], "encoding": "bslz4",
       "future": 1}]
STATIC = {"METADATA/dataFormatVersion": "1.0", "METADATA/dataSources/root": ["INSTRUMENT"],
          "METADATA/runNumber": 7, "METADATA/n": [1, -2], "METADATA/f": [0.5, 1],
          "METADATA/b": [True, False]}


def named(**extra):
    h = {"type": "start", "series": 7, "datasets": DS}
    h.update(extra)
    return h


def one(**kw):
    d = {"name": "a", "dtype": "uint8", "shape": [2], "encoding": "raw"}
    d.update(kw)
    return d


seeds.update({
    "ok_start_datasets": p(named()),
    "ok_start_datasets_static": p(named(static=STATIC, name="run", frames=3)),
    "ok_start_datasets_scalar": p(named(datasets=[one(shape=[])])),
    "bad_start_datasets_empty": p(named(datasets=[])),
    "bad_start_datasets_with_format": p(named(dtype="uint8", shape=[1], encoding="raw")),
    "bad_start_datasets_9dims": p(named(datasets=[one(shape=[1] * 9)])),
    "bad_start_datasets_dotdot": p(named(datasets=[one(name="a/../b")])),
    "bad_start_datasets_entry": p(named(datasets=[one(name="entry/data/x")])),
    "bad_start_datasets_slashes": p(named(datasets=[one(name="/a")])),
    "bad_start_datasets_nul": p(named(datasets=[one(name="a\x00b")])),
    "bad_start_datasets_dup": p(named(datasets=[one(), one()])),
    "bad_start_datasets_nested": p(named(datasets=[one(), one(name="a/b")])),
    "bad_start_datasets_no_name": p(named(datasets=[{"dtype": "uint8", "shape": [1],
                                                     "encoding": "raw"}])),
    "bad_start_datasets_zero_dim": p(named(datasets=[one(shape=[0])])),
    "bad_start_datasets_huge": p(named(datasets=[one(shape=[2**32, 2**32])])),
    "bad_start_datasets_not_list": p(named(datasets={"a": 1})),
    "bad_start_static_mixed": p(named(static={"a": [1, "x"]})),
    "bad_start_static_path": p(named(static={"../a": 1})),
    "bad_start_static_nested": p(named(static={"a": [[1]]})),
    "bad_start_static_big_neg": p(named(static={"a": [-1, 2**64 - 1]})),
})



def write(target, corpus):
    out = os.path.join(os.path.dirname(OUT), target)
    os.makedirs(out, exist_ok=True)
    for name, data in corpus.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(corpus)} seeds to {out}")


write("fuzz_header", seeds)


# ---- fuzz_notice: byte 0 = topic length, the topic, the map ----------------

def notice(topic, m):
    t = topic.encode() if isinstance(topic, str) else topic
    body = m if isinstance(m, bytes) else p(m)
    return bytes([len(t) % 256]) + t + body


OPEN = {"series": 1, "file": "/data/run42/det_1.h5", "dataset": "/entry/data/data",
        "frames": 0, "seq": 0, "t": 1700000000000000000, "sink": "writer"}
FLUSHED = {"series": 1, "file": "/data/run42/det_1.h5", "dataset": "/entry/data/data",
           "frames": 100, "written": 98, "complete": 90, "seq": 5, "t": 1, "sink": "writer"}
CLOSED = dict(FLUSHED, frames=120, written=120, complete=120, seq=6)
ERROR = {"series": 1, "error": "frame index out of range", "reason": "limit", "count": 3,
         "seq": 9, "t": 2, "sink": "writer"}
flushed_bytes = p(FLUSHED)

notice_seeds = {
    "ok_open": notice("swmrbus.open", OPEN),
    "ok_flushed": notice("swmrbus.flushed", FLUSHED),
    "ok_closed": notice("swmrbus.closed", CLOSED),
    "ok_error": notice("swmrbus.error", ERROR),
    "ok_relayed": notice("swmrbus.flushed", dict(FLUSHED, via="reader", seq=0)),
    "ok_every_reason": notice("swmrbus.error", {"reason": "closed_series", "error": "x",
                                                "count": 2**64 - 1}),
    "ok_max_uints": notice("swmrbus.flushed", {k: 2**64 - 1 for k in
                                               ("series", "frames", "written", "complete",
                                                "seq", "t", "count")}),
    "ok_unknown_keys": notice("swmrbus.open", dict(OPEN, **{"x-future": {"a": [None, 1.5]},
                                                            "bin": b"\x00\x01"})),
    "ok_empty_map": notice("swmrbus.closed", b"\x80"),
    "ok_str8_keys": notice("swmrbus.open", b"\x81\xd9\x06series\x05"),
    "ok_signed_series": notice("swmrbus.open", b"\x81\xa6series\xd3" + struct.pack(">q", 5)),
    "ok_unknown_reason": notice("swmrbus.error", {"reason": "disk_on_fire", "error": "x"}),
    "ok_deep_unknown_8": notice("swmrbus.open", {"deep": [[[[[[[]]]]]]]}),  # map + 7
    "bad_deep_unknown_9": notice("swmrbus.open", {"deep": [[[[[[[[]]]]]]]]}),
    "bad_topic_unknown": notice("swmrbus.opened", OPEN),
    "bad_topic_prefix": notice("swmrbus.ope", OPEN),
    "bad_topic_nul": notice("swmrbus.open\x00", OPEN),
    "bad_topic_empty": notice("", OPEN),
    "bad_topic_len_past_end": bytes([31]) + b"swmrbus.open",
    "bad_not_a_map": notice("swmrbus.open", p([1, 2])),
    "bad_series_str": notice("swmrbus.open", {"series": "1"}),
    "bad_series_negative": notice("swmrbus.open", {"series": -1}),
    "bad_series_float": notice("swmrbus.open", {"series": 1.0}),
    "bad_series_nil": notice("swmrbus.open", {"series": None}),
    "bad_file_bin": notice("swmrbus.open", {"file": b"/x.h5"}),
    "bad_file_int": notice("swmrbus.open", {"file": 5}),
    "bad_reason_int": notice("swmrbus.error", {"reason": 3}),
    "bad_key_int": notice("swmrbus.open", b"\x81\x01\x02"),
    "bad_duplicate_series": notice("swmrbus.open", b"\x82" + p("series") + p(1) + p("series")
                                   + p(2)),
    "bad_duplicate_via": notice("swmrbus.open", b"\x82" + p("via") + p("a") + p("via") + p("b")),
    "bad_map_2p32": notice("swmrbus.open", b"\xdf\xff\xff\xff\xff"),
    "bad_str_2p32": notice("swmrbus.open", b"\x81\xa4file\xdb\xff\xff\xff\xff"),
    "bad_array_2p32_unknown": notice("swmrbus.open", b"\x81\xa1x\xdd\xff\xff\xff\xff"),
    "bad_trailing": notice("swmrbus.open", p(OPEN) + b"\xc0"),
    "bad_garbage": notice("swmrbus.open", b"\xc1\xc1\xc1"),
    "bad_over_65536": notice("swmrbus.open", {"x": "y" * 66000}),
    # scale-out (issue 12): a sharded sink's shard/shards, a coordinator's shards array
    "ok_shard_sink": notice("swmrbus.flushed", dict(FLUSHED, shard=2, shards=3)),
    "ok_shard_coordinator": notice("swmrbus.flushed", dict(FLUSHED, shards=[40, 39, 2**64 - 1])),
    "ok_shard_coordinator_empty": notice("swmrbus.closed", dict(CLOSED, shards=[])),
    "edge_shards_64": notice("swmrbus.flushed", {"shards": list(range(64))}),
    "bad_shards_65": notice("swmrbus.flushed", {"shards": list(range(65))}),
    "bad_shards_str": notice("swmrbus.flushed", {"shards": "3"}),
    "bad_shards_item_negative": notice("swmrbus.flushed", {"shards": [1, -1]}),
    "bad_shard_array": notice("swmrbus.flushed", {"shard": [1]}),
    "bad_duplicate_shards": notice("swmrbus.open", b"\x82" + p("shards") + p(1) + p("shards")
                                   + p([1])),
    "edge_empty": b"",
    "edge_only_topic_len": b"\x0c",
    "edge_just_65536": notice("swmrbus.open", {"x": "y" * (65536 - 8)}),
}
for cut in (1, 2, 9, len(flushed_bytes) // 2, len(flushed_bytes) - 1):
    notice_seeds[f"bad_truncated_{cut}"] = notice("swmrbus.flushed", flushed_bytes[:cut])
write("fuzz_notice", notice_seeds)


# ---- fuzz_request: the request bytes -----------------------------------------

status_series = p({"cmd": "flush", "series": 42})
request_seeds = {
    "ok_status": p({"cmd": "status"}),
    "ok_flush": p({"cmd": "flush"}),
    "ok_flush_series": status_series,
    "ok_close_series_0": p({"cmd": "close", "series": 0}),
    "ok_close_series_max": p({"cmd": "close", "series": 2**64 - 1}),
    "ok_series_first": p({"series": 3, "cmd": "close"}),
    "ok_unknown_keys": p({"cmd": "status", "x-client": {"a": [1, None, b"b", 2.5]}}),
    "ok_str8_cmd": b"\x81\xd9\x03cmd\xd9\x06status",
    "ok_signed_series": b"\x82\xa3cmd\xa5flush\xa6series\xd0\x07",
    "ok_deep_8": p({"cmd": "status", "deep": [[[[[[[]]]]]]]}),  # the map + 7 arrays
    "bad_deep_9": p({"cmd": "status", "deep": [[[[[[[[]]]]]]]]}),
    "bad_unknown_cmd": p({"cmd": "reboot"}),
    "bad_cmd_case": p({"cmd": "STATUS"}),
    "bad_cmd_nul": p({"cmd": "status\x00"}),
    "bad_cmd_bin": p({"cmd": b"status"}),
    "bad_cmd_int": p({"cmd": 1}),
    "bad_cmd_nil": p({"cmd": None}),
    "bad_no_cmd": p({"series": 1}),
    "bad_duplicate_cmd": b"\x82" + p("cmd") + p("status") + p("cmd") + p("flush"),
    "bad_duplicate_series": b"\x83" + p("cmd") + p("flush") + p("series") + p(1)
    + p("series") + p(2),
    "bad_series_negative": p({"cmd": "flush", "series": -1}),
    "bad_series_str": p({"cmd": "flush", "series": "1"}),
    "bad_series_float": p({"cmd": "flush", "series": 1.0}),
    "bad_not_a_map": p(["cmd", "status"]),
    "bad_key_int": b"\x81\x01" + p("status"),
    "bad_map_2p32": b"\xdf\xff\xff\xff\xff",
    "bad_str_2p32": b"\x81\xa3cmd\xdb\xff\xff\xff\xff",
    "bad_array_2p32_unknown": b"\x82\xa3cmd\xa6status\xa1x\xdd\xff\xff\xff\xff",
    "bad_trailing": p({"cmd": "status"}) + b"\x00",
    "bad_over_4096": p({"cmd": "status", "pad": "x" * 5000}),
    "bad_garbage": b"\xc1",
    "edge_empty": b"",
    "edge_just_4096": p({"cmd": "status", "pad": "x" * (4096 - 20)}),
    "edge_long_unknown_cmd": p({"cmd": "c" * 300}),
    "edge_cmd_control_chars": p({"cmd": "\x1b[31mred\n"}),
}
for cut in range(1, len(status_series)):
    request_seeds[f"bad_truncated_{cut}"] = status_series[:cut]
write("fuzz_request", request_seeds)


# ---- fuzz_config: config text (YAML, JSON) ------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "..", "..", "configs")
SINK = "{name: w, kind: sink, dir: /tmp/d, in: {endpoint: 'tcp://127.0.0.1:5555'}}"
SOURCE = "{name: r, kind: source, in: {endpoint: 'tcp://127.0.0.1:5556'}}"
SIM = "{name: s, kind: sim, out: {endpoint: 'inproc://frames'}}"


def comps(*c):
    return ("components: [" + ", ".join(c) + "]\n").encode()


def sink_with(extra):
    return comps("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, " + extra + "}")


EVERY_KEY = b"""components:
  - name: writer
    kind: sink
    in:
      endpoints: ['tcp://127.0.0.1:5555', 'ipc:///tmp/x', 'inproc://y']
      pattern: sub
      bind: true
      hwm: 7
    notify: {endpoint: 'tcp://127.0.0.1:5556', bind: false, hwm: 8}
    control: {endpoint: 'tcp://127.0.0.1:5557', bind: false, hwm: 9}
    dir: /data/run42
    file: 'run_{series}_{name}.h5'
    flush: {frames: 10, ms: 20}
    linger_ms: 30
    idle_close_ms: 40
    compression: bslz4
    limits:
      max_header_bytes: 64
      max_frame_bytes: 4294967296
      max_frames: 1099511627776
      max_open_series: 4096
      max_queue_bytes: 1099511627776
  - name: reader
    kind: source
    in: {endpoint: 'tcp://127.0.0.1:5556', pattern: sub, bind: true, hwm: 1000000}
    out: {endpoint: 'tcp://127.0.0.1:5600', pattern: pub, bind: false, hwm: 11}
    notify: {endpoints: ['tcp://127.0.0.1:5601']}
    control: {endpoint: 'tcp://127.0.0.1:5602'}
    from: latest
    stale_ms: 86400000
    limits: {max_open_series: 2}
  - name: sim
    kind: sim
    out: {endpoint: 'inproc://frames', pattern: push, bind: false, hwm: 12}
    series: 1000000
    frames: 0
    shape: [3, 4, 5]
    dtype: float64
    encoding: lz4
    rate_hz: 2.5
  - name: plug
    kind: /usr/lib/swmrbus/plugins/libthing.so
    in: {endpoint: 'tcp://h:1'}
    limits: {max_frames: 5}
"""


def lol(levels, fan, where):
    """A 'billion laughs' document: fan**levels copies of one string."""
    lines = ["components:", "  - {name: &l0 lol, kind: sim, out: {endpoint: 'inproc://f'}}"]
    for lvl in range(1, levels + 1):
        lines.append(f"  - &l{lvl} [" + ", ".join([f"*l{lvl - 1}"] * fan) + "]")
    if where == "top":
        lines = ["l0: &l0 lol"] + [f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * fan) + "]"
                                   for k in range(1, levels + 1)] + ["components: *l9"]
    return ("\n".join(lines) + "\n").encode()


config_seeds = {
    "ok_sink": comps(SINK),
    "ok_source": comps(SOURCE),
    "ok_sim": comps(SIM),
    "ok_three": comps(SINK, SOURCE, SIM),
    "ok_every_key": EVERY_KEY,
    "ok_json": b'{"components": [{"name": "w", "kind": "sink", "dir": "/d", '
               b'"in": {"endpoint": "tcp://h:1", "hwm": "1000"}, "flush": {"frames": "5"}}]}\n',
    "ok_block_comments": b"# a comment\ncomponents:\n  - name: s   # the sim\n    kind: sim\n"
                         b"    out:\n      endpoint: 'inproc://f'\n",
    "ok_crlf_bom": b"\xef\xbb\xbfcomponents:\r\n  - " + SIM.encode() + b"\r\n",
    "ok_doc_markers": b"%YAML 1.2\n---\n" + comps(SIM) + b"...\n",
    "ok_tags": comps("{name: !!str s, kind: sim, out: {endpoint: 'inproc://f'}, frames: !!int 5}"),
    "ok_anchor_no_alias": comps("{name: &n s, kind: sim, out: &o {endpoint: 'inproc://f'}}"),
    "ok_utf8_name": comps("{name: 'd\u00e9tecteur-\u03bb', kind: sim, out: {endpoint: 'inproc://f'}}"),
    "ok_max_bounds": sink_with("flush: {frames: 1099511627776, ms: 86400000}, linger_ms: 86400000,"
                               " idle_close_ms: 86400000, limits: {max_header_bytes: 16777216, "
                               "max_frame_bytes: 4294967296, max_frames: 1099511627776, "
                               "max_open_series: 4096, max_queue_bytes: 1099511627776}"),
    "ok_min_bounds": sink_with("flush: {frames: 1, ms: 0}, linger_ms: 0, limits: "
                               "{max_header_bytes: 64, max_frame_bytes: 1, max_frames: 1, "
                               "max_open_series: 1, max_queue_bytes: 1}"),
    "ok_sim_4gib": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, "
                         "shape: [65536, 32768], dtype: uint16}"),
    "ok_many_components": comps(*[f"{{name: s{i}, kind: sim, out: {{endpoint: 'inproc://f{i}'}}}}"
                                  for i in range(300)]),
    # scale-out (issue 12): a sharded sink, the splitter, the coordinator
    "ok_scale_out": comps("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                          "shard: {index: 2, count: 3}}",
                          "{name: p, kind: shard, in: {endpoint: 'tcp://h:2'}, out: {endpoints: "
                          "['tcp://h:3', 'tcp://h:4'], bind: false}}",
                          "{name: c, kind: coordinator, in: {endpoints: ['tcp://h:5']}, dir: /m, "
                          "shards: 3, stale_ms: 100}"),
    "bad_shard_index": sink_with("shard: {index: 3, count: 3}"),
    "bad_shard_count_zero": sink_with("shard: {index: 0, count: 0}"),
    "bad_shards_on_sink": sink_with("shards: 3"),
    "bad_alias_component": b"components:\n  - &c " + SIM.encode() + b"\n  - *c\n",
    "bad_alias_scalar": comps("{name: &n w, kind: sink, dir: *n, in: {endpoint: 'tcp://h:1'}}"),
    "bad_alias_unknown": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, frames: *nope}"),
    "bad_merge_key": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, <<: {dir: x}}"),
    "bad_billion_laughs": lol(9, 9, "components"),
    "bad_billion_laughs_top": lol(9, 9, "top"),
    "bad_alias_endpoints": b"components:\n  - {name: &s " + b"w" * 20000
    + b", kind: sim, out: {endpoints: [" + b", ".join([b"*s"] * 16) + b"]}}\n",
    "bad_deep_flow": b"components: [" + b"[" * 5000 + b"]" * 5000 + b"]\n",
    "bad_deep_flow_unclosed": b"components: " + b"{a: " * 3000,
    "bad_deep_block": b"components:\n" + b"".join(b" " * (2 * i) + b"- \n" for i in range(1, 250)),
    "bad_deep_unknown_key": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, x: "
                                  + "[" * 2000 + "]" * 2000 + "}"),
    "bad_unknown_key": comps("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                             "flush: {frmaes: 1}}"),
    "bad_duplicate_key": comps("{name: w, name: v, kind: sink}"),
    "bad_duplicate_json": b'{"components": [], "components": []}',
    "bad_duplicate_names": comps(SIM, SIM),
    "bad_wrong_type_map": comps("{name: w, kind: {a: b}}"),
    "bad_wrong_type_list": comps("{name: [w], kind: sink}"),
    "bad_wrong_type_top": b"- a\n- b\n",
    "bad_hwm_0": sink_with("notify: {endpoint: 'tcp://h:2', hwm: 0}"),
    "bad_ms_over_a_day": sink_with("flush: {ms: 86400001}"),
    "bad_header_63": sink_with("limits: {max_header_bytes: 63}"),
    "bad_frame_bytes_over": sink_with("limits: {max_frame_bytes: 4294967297}"),
    "bad_u64_overflow": sink_with("limits: {max_queue_bytes: 18446744073709551616}"),
    "bad_digits_1000": sink_with("linger_ms: " + "9" * 1000),
    "bad_number_forms": sink_with("flush: {frames: 0x10, ms: 1e3}, linger_ms: -1"),
    "bad_shape_overflow": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, "
                                "shape: [4294967296, 4294967296, 4294967296]}"),
    "bad_sim_over_4gib": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, "
                               "shape: [65536, 32769], dtype: uint16}"),
    "bad_rate_nan": comps("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, rate_hz: .nan}"),
    "bad_endpoints_17": comps("{name: s, kind: sim, out: {endpoints: ["
                              + ", ".join(f"'inproc://f{i}'" for i in range(17)) + "]}}"),
    "edge_two_documents": comps(SIM) + b"---\n" + comps(SINK),
    "bad_nul": b"components: [\x00]\n",
    "bad_utf8": b"components: [{name: \xc3\x28}]\n",
    "bad_tab_indent": b"components:\n\t- name: s\n",
    "bad_syntax": b"components: [\n",
    "bad_long_value": comps("{name: r, kind: source, in: {endpoint: 'tcp://h:1'}, from: "
                            + "x" * 60000 + "}"),
    "bad_binary_tag": comps("{name: !!binary aGVsbG8=, kind: sim}"),
    "edge_empty": b"",
    "edge_null_doc": b"~\n",
    "edge_components_null": b"components:\n",
    "edge_components_empty": b"components: []\n",
    "edge_comment_only": b"# nothing\n",
}
for root, _, files in sorted(os.walk(CONFIGS)):  # subfolders too (two-hosts/)
    for name in sorted(files):
        if not name.endswith((".yaml", ".json")):
            continue  # a folder's README.md
        rel = os.path.relpath(os.path.join(root, name), CONFIGS)
        with open(os.path.join(root, name), "rb") as f:
            config_seeds["ok_example_" + rel.replace(os.sep, "_").replace(".", "_")] = f.read()
write("fuzz_config", config_seeds)


# ---- fuzz_karabo: Karabo bridge trains (karabo_bridge's own serializer) ----
# Each part as a 4-byte little-endian length and its bytes; 0xffffffff ends
# a message (fuzz_karabo.c).
def kb_input(*messages):
    out = b""
    for parts in messages:
        for part in parts:
            b = bytes(part)
            out += struct.pack("<I", len(b)) + b
        out += b"\xff\xff\xff\xff"
    return out


def kb_train(tid, sources=("DET/A:out",), extra=None, shape=(2, 3)):
    import numpy as np
    from karabo_bridge.serializer import serialize
    data, meta = {}, {}
    for k, src in enumerate(sources):
        data[src] = {"data.trainId": tid, "data.value": 1.5 * tid, "data.flag": True,
                     "data.adc": (np.arange(int(np.prod(shape)), dtype="uint16") + tid
                                  ).reshape(shape),
                     "image.pulseId": np.arange(4, dtype="uint64"),
                     "metadata": {"source": src, "timestamp.tid": tid}}
        if extra:
            data[src].update(extra)
        meta[src] = {"source": src, "timestamp": 1700000000.25 + tid,
                     "timestamp.sec": "1700000000", "timestamp.frac": "250000000000000000",
                     "timestamp.tid": tid}
    return [bytes(p) for p in serialize(data, meta)]


def kb_hdr(**h):
    return p(h)


try:
    t1, t2 = kb_train(10000), kb_train(10001)
    karabo_seeds = {
        "ok_one_train": kb_input(t1),
        "ok_three_trains_gap": kb_input(t1, t2, kb_train(10005)),
        "ok_two_sources": kb_input(kb_train(5, sources=("DET/A:out", "CTRL/MOTOR"))),
        "ok_jump_back": kb_input(t2, t1),
        "ok_late_key": kb_input(t1, kb_train(10001, extra={"data.late": 3})),
        "ok_late_source": kb_input(t1, kb_train(10001, sources=("DET/A:out", "DET/B:out"))),
        "bad_not_msgpack": kb_input([b"\xc1\xc1", b"x"]),
        "bad_protocol_1": kb_input([p({"DET/A:out": {"x": 1}})]),
        "bad_odd_parts": kb_input(t1[:3]),
        "bad_no_tid": kb_input([kb_hdr(source="A:o", content="msgpack"), p({"x": 1})]),
        "bad_array_length": kb_input(t1, t2[:-1] + [t2[-1][:-1]]),
        "bad_unknown_dtype": kb_input(
            [kb_hdr(source="A:o", content="msgpack", metadata={"timestamp.tid": 1}), p({}),
             kb_hdr(source="A:o", content="array", path="data.c", dtype="complex64",
                    shape=[2]), bytes(16)]),
        "bad_nested": kb_input([kb_hdr(source="A:o", content="msgpack",
                                       metadata={"timestamp.tid": 1}),
                                p({"a": [[[[[[[[[[1]]]]]]]]]]})]),
        "bad_name_dotdot": kb_input(kb_train(1, sources=("../../etc:x",))),
        "bad_name_slashes": kb_input(kb_train(1, sources=("A//B:x",))),
        "bad_name_nul": kb_input(kb_train(1, extra={"data.a\x00b": 1})),
        "bad_huge_shape": kb_input(
            [kb_hdr(source="A:o", content="msgpack", metadata={"timestamp.tid": 1}), p({}),
             kb_hdr(source="A:o", content="array", path="data.c", dtype="uint8",
                    shape=[2**32, 2**32]), bytes(4)]),
        "bad_key_clash": kb_input(kb_train(1, extra={"data.adc.x": 1})),
    }
    write("fuzz_karabo", karabo_seeds)
except ImportError as e:  # python3-karabo-bridge (a test dependency) missing
    print("fuzz_karabo seeds not written:", e)
