"""Bad input never crashes the sink and never damages a file (DESIGN.md
promise 3): every kind of bad message is sent between the good frames of
open series; then the sink still answers, `status` counts every rejection
by reason exactly (top level, and per series where the rejection is tied
to an open series), every good frame is in its file with the right bytes,
error notifications carry reason codes and counts whose sums equal the
counters, and nothing was created outside the data dir.

Which reason each rejection gets follows sink/sink.c, sink/core.c and
plugin/src/wire.c (DESIGN.md names the codes, not always which applies):
  * a header that fails to decode (missing or mistyped keys, unknown
    dtype/encoding, bad shape, NUL in name, frame index >= max_frames) is
    tied to the open series it names when the decoder could read a valid
    `series` (a map whose `series` key comes before any nested value);
    undecodable msgpack and headers over max_header_bytes count at the top
    level only;
  * a message with the wrong number of parts is `bad_payload`, tied to
    the series its (valid) header names;
  * rejections found by the writer for an open series (payload check,
    mismatch) are tied to it; those for a series that is not open (no
    format, closed id, name refused, too many series) count at the top
    level only.
"""
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (16, 32)
RAW = int(np.prod(SHAPE)) * 2  # uint16
G, L, B, C = 1, 2, 3, 4        # raw, lz4, bslz4 series; C is closed early
MAX_FRAMES = 1000
MAX_OPEN = 5
MAX_FRAME_BYTES = 65536


def be(n, k):
    return int(n).to_bytes(k, "big")


class BadInput(H.SinkTestCase):

    def setUp(self):
        self.sk = self.start_sink(
            flush_frames=10, flush_ms=100, linger_ms=100,
            limits={"max_header_bytes": 4096, "max_frames": MAX_FRAMES,
                    "max_open_series": MAX_OPEN, "max_frame_bytes": MAX_FRAME_BYTES})
        self.col = self.collector(self.sk)
        self.tx = self.sender(self.sk)
        self.top = collections.Counter()
        self.per = collections.defaultdict(collections.Counter)
        self.good = collections.defaultdict(list)  # series -> [(payload, decoded array)]

    # -- sending, with the expected outcome recorded --

    def bad(self, parts, reason, tied=None):
        self.tx.send(parts)
        self.top[reason] += 1
        if tied is not None:
            self.per[tied][reason] += 1

    def good_frame(self, series, **extra):
        i = len(self.good[series])
        a = H.frame_data(series, i, SHAPE)
        if series == L:
            payload = H.lz4_stored_chunk(a.tobytes(), block=256)
        elif series == B:
            payload = self.bslz4[i]
        else:
            payload = a.tobytes()
        self.good[series].append((payload, a))
        self.tx.frame(series, i, payload, **extra)

    def hdr(self, **h):
        return H.pack(h)

    def next_g(self):
        return len(self.good[G])

    # -- the test --

    def test_every_kind_of_bad_input(self):
        sk, tx, col = self.sk, self.tx, self.col
        self.bslz4, _ = H.bslz4_chunks(np.stack([H.frame_data(B, i, SHAPE) for i in range(4)]))
        before = H.tree(sk.tmp)

        # A series that gets closed first (for closed_series).
        tx.start(C, dtype="uint16", shape=list(SHAPE), encoding="raw")
        self.good_frame(C)
        tx.end(C, 1)
        col.wait_closed(C)

        tx.start(G, dtype="uint16", shape=list(SHAPE), encoding="raw", name="good",
                 meta={"kind": "bad input test"})
        tx.start(L, dtype="uint16", shape=list(SHAPE), encoding="lz4")
        tx.start(B, dtype="uint16", shape=list(SHAPE), encoding="bslz4")
        self.good_frame(G)
        self.good_frame(L)
        self.good_frame(B)

        def step(parts, reason, tied=None):
            self.bad(parts, reason, tied)
            self.good_frame(G)

        payload = H.frame_data(G, 0, SHAPE).tobytes()
        # msgpack that does not decode, or is not a map
        step([b"\xc1"], "bad_msgpack")
        step([b"\xc1", payload], "bad_msgpack")
        step([b"\x82\xa4type\xa5frame\xa6ser"], "bad_msgpack")            # truncated
        step([H.pack([1, 2, 3])], "bad_msgpack")
        step([H.pack("frame"), payload], "bad_msgpack")
        step([H.pack(7)], "bad_msgpack")
        step([b""], "bad_msgpack")                                         # empty part
        step([b"\xdd\xff\xff\xff\xff", payload], "bad_msgpack")           # array of 2^32-1
        step([b"\xdf\xff\xff\xff\xff"], "bad_msgpack")                    # map of 2^32-1
        step([b"\x81\xa4type\xdd\xff\xff\xff\xff"], "bad_msgpack")        # nested claim
        step([b"\x91" * 20 + b"\x01"], "bad_msgpack")                     # too deep
        step([self.hdr(type="frame", series=G, frame=self.next_g()) + b"\x00", payload],
             "bad_msgpack")                                                # trailing byte
        # header over limits.max_header_bytes (4096)
        step([self.hdr(type="frame", series=G, frame=self.next_g(), pad="x" * 5000), payload],
             "limit")
        # wrong part counts (tied to the series the header names)
        step([self.hdr(type="frame", series=G, frame=self.next_g())], "bad_payload", G)
        step([self.hdr(type="start", series=G, dtype="uint16", shape=list(SHAPE),
                       encoding="raw"), b"extra"], "bad_payload", G)
        step([self.hdr(type="frame", series=G, frame=self.next_g()), payload, b"extra"],
             "bad_payload", G)
        step([self.hdr(type="end", series=G, frames=1), b"extra"], "bad_payload", G)
        # missing keys
        step([self.hdr(type="frame", series=G), payload], "bad_header", G)
        step([self.hdr(series=G, frame=self.next_g()), payload], "bad_header", G)
        step([self.hdr(type="frame", frame=self.next_g()), payload], "bad_header")
        step([self.hdr(type="end", series=G)], "bad_header", G)
        step([self.hdr(type="start", series=50, dtype="uint16", encoding="raw")], "bad_header")
        step([self.hdr(type="frame", series=G, frame=self.next_g(), dtype="uint16"), payload],
             "bad_header", G)                                     # dtype without shape/encoding
        # mistyped keys
        step([self.hdr(type="frame", series=str(G), frame=self.next_g()), payload],
             "bad_header")
        step([self.hdr(type="frame", series=G, frame=float(self.next_g())), payload],
             "bad_header", G)
        step([self.hdr(type="frame", series=G, frame=self.next_g(), ts="now"), payload],
             "bad_header", G)
        step([self.hdr(type=1, series=G, frame=self.next_g()), payload], "bad_header", G)
        step([self.hdr(type="frames", series=G, frame=self.next_g()), payload], "bad_header", G)
        step([self.hdr(type="start", series=51, dtype="uint16", shape=[4], encoding="raw",
                       name=5)], "bad_header")
        step([self.hdr(type="start", series=51, dtype="uint16", shape=[4], encoding="raw",
                       meta=[1, 2])], "bad_header")
        step([H.pack({1: "frame", "type": "frame", "series": G, "frame": 0}), payload],
             "bad_header", G)                                     # a key that is not a string
        # payload of the wrong size
        step(H.frame_msg(G, self.next_g(), payload[:-1]), "bad_payload", G)
        step(H.frame_msg(G, self.next_g(), payload + b"\x00"), "bad_payload", G)
        step(H.frame_msg(G, self.next_g(), b""), "bad_payload", G)
        # far more than the frame and than max_frame_bytes: still a counted
        # rejection, and the connection (the frames behind it) survives
        # (ZeroMQ drops a part over max_frame_bytes x 5/4 + max_header_bytes
        # + 64 KiB uncounted: README "Memory")
        step(H.frame_msg(G, self.next_g(), b"\x07" * (2 * MAX_FRAME_BYTES)), "bad_payload", G)
        # frame indices: -1, 2^63, 2^64-1, >= max_frames
        step(H.frame_msg(G, -1, payload), "bad_header", G)
        step(H.frame_msg(G, 2 ** 63, payload), "limit", G)
        step(H.frame_msg(G, 2 ** 64 - 1, payload), "limit", G)
        step(H.frame_msg(G, MAX_FRAMES, payload), "limit", G)
        step(H.frame_msg(G, MAX_FRAMES + 12345, payload), "limit", G)
        # dtype, encoding, shape
        step(H.start_msg(52, dtype="float128", shape=SHAPE), "bad_header")
        step(H.start_msg(52, dtype="complex64", shape=SHAPE), "bad_header")
        step(H.start_msg(52, encoding="zstd", shape=SHAPE), "bad_header")
        step(H.start_msg(52, shape=[]), "bad_header")
        step(H.start_msg(52, shape=[1, 2, 3, 4]), "bad_header")
        step(H.start_msg(52, shape=[0, 5]), "bad_header")
        step(H.start_msg(52, shape=[-1, 5]), "bad_header")
        step(H.start_msg(52, shape=[2 ** 40, 2 ** 40]), "limit")         # size overflows
        step(H.start_msg(52, shape=[300, 300]), "limit")                 # over max_frame_bytes
        step(H.frame_msg(53, 0, b"\x00" * 8, dtype="uint64", shape=[MAX_FRAME_BYTES],
                         encoding="raw"), "limit")
        step(H.frame_msg(53, 0, b"\x00" * 16, dtype="float128", shape=[2], encoding="raw"),
             "bad_header")
        # lz4 / bslz4 chunk headers that disagree (checked without decoding)
        body = H.lz4_stored_chunk(payload, block=256)[12:]
        step(H.frame_msg(L, 1, be(RAW - 2, 8) + be(256, 4) + body), "bad_payload", L)
        step(H.frame_msg(L, 1, be(RAW, 8) + be(0, 4) + body), "bad_payload", L)
        step(H.frame_msg(L, 1, be(RAW, 8) + be(256, 4)), "bad_payload", L)  # header only
        step(H.frame_msg(L, 1, b"\x00" * 5), "bad_payload", L)
        step(H.frame_msg(L, 1, be(RAW, 8) + be(256, 4) + b"\x00" * (4 * RAW)),
             "bad_payload", L)                                           # body over bound
        good_b = self.bslz4[1]
        step(H.frame_msg(B, 1, be(RAW * 2, 8) + good_b[8:]), "bad_payload", B)
        step(H.frame_msg(B, 1, good_b[:8] + be(0, 4) + good_b[12:]), "bad_payload", B)
        step(H.frame_msg(B, 1, good_b[:8] + be(12, 4) + good_b[12:]), "bad_payload", B)
        step(H.frame_msg(B, 1, good_b[:12]), "bad_payload", B)
        # names: refused while decoding (NUL, too long) or when opening
        step(H.start_msg(54, shape=SHAPE, name="x\x00y"), "bad_name")
        step(H.start_msg(54, shape=SHAPE, name=""), "bad_name")
        step(H.start_msg(54, shape=SHAPE, name="n" * 300), "bad_name")
        step(H.start_msg(54, shape=SHAPE, name="../evil"), "bad_name")
        step(H.start_msg(54, shape=SHAPE, name="a/b"), "bad_name")
        step(H.start_msg(54, shape=SHAPE, name=".."), "bad_name")
        step(H.start_msg(54, shape=SHAPE, name="tab\there"), "bad_name")
        step(H.frame_msg(55, 0, payload, dtype="uint16", shape=list(SHAPE), encoding="raw",
                         name="../../evil2"), "bad_name")
        # a frame for a series that was never opened, without a format
        step(H.frame_msg(56, 0, payload), "bad_header")
        step(H.end_msg(56, 3), "bad_header")
        # a frame whose format differs from its open series
        step(H.frame_msg(G, self.next_g(), payload[:RAW // 2], dtype="uint8",
                         shape=list(SHAPE), encoding="raw"), "mismatch", G)
        step(H.frame_msg(G, self.next_g(), payload, dtype="uint16", shape=[32, 16],
                         encoding="raw"), "mismatch", G)
        step(H.frame_msg(G, self.next_g(), payload, dtype="uint16", shape=list(SHAPE),
                         encoding="lz4"), "mismatch", G)
        # a second start: different parameters (mismatch), the same (ignored)
        step(H.start_msg(G, dtype="int16", shape=SHAPE), "mismatch", G)
        step(H.start_msg(G, dtype="uint16", shape=(16, 33)), "mismatch", G)
        tx.start(G, dtype="uint16", shape=list(SHAPE), encoding="raw", name="good")
        # a frame that repeats the matching format and an unknown key: fine
        self.good_frame(G, dtype="uint16", shape=list(SHAPE), encoding="raw",
                        future_key={"x": [1, 2]})
        # the closed series: frames (even with a format) and end are refused
        step(H.frame_msg(C, 1, payload), "closed_series")
        step(H.frame_msg(C, 1, payload, dtype="uint16", shape=list(SHAPE), encoding="raw"),
             "closed_series")
        step(H.end_msg(C, 2), "closed_series")
        # more series than limits.max_open_series (G, L, B open; 2 more fit)
        tx.start(60, dtype="uint8", shape=[4], encoding="raw")
        tx.frame(61, 0, b"\x01\x02\x03\x04", dtype="uint8", shape=[4], encoding="raw")
        step(H.start_msg(62, dtype="uint8", shape=[4]), "limit")
        step(H.frame_msg(63, 0, b"\x01\x02\x03\x04", dtype="uint8", shape=[4],
                         encoding="raw"), "limit")
        self.good_frame(L)
        self.good_frame(B)

        n_good = len(self.good[G])
        sk.wait_received(G, n_good)
        sk.wait_received(L, 2)
        sk.wait_received(B, 2)
        self.assertTrue(sk.alive())

        # The counters: exact, by reason.
        st = sk.status()
        self.assertEqual(st["rejected"], dict(self.top))
        self.assertEqual(st["rejected_total"], sum(self.top.values()))
        for s in (G, L, B):
            e = sk.series_status(s, st)
            self.assertEqual(e["rejected"], dict(self.per[s]), "series %d" % s)
            self.assertEqual(e["received"], len(self.good[s]), "series %d" % s)
            self.assertEqual(e["written"], len(self.good[s]), "series %d" % s)
            self.assertEqual(e["state"], "open")
        self.assertEqual(sk.series_status(G, st)["restarts"], 1)
        self.assertEqual(sk.series_status(C, st)["rejected"], {})
        self.assertEqual(sk.series_status(C, st)["state"], "closed")
        self.assertIsNone(sk.series_status(62, st))
        self.assertIsNone(sk.series_status(54, st))

        # Error notifications: reason codes, and counts summing to the
        # counters once every held-back report is out (one per reason per
        # series per second: wait a little over two seconds).
        time.sleep(2.5)

        def sums():
            c = collections.Counter()
            for m in col.of("swmrbus.error"):
                c[m["reason"]] += m["count"]
            return c
        H.wait_until(lambda: sums() == self.top, what="error counts to add up: %r vs %r"
                     % (sums(), self.top))
        errors = col.of("swmrbus.error")
        for m in errors:
            self.assertIn(m["reason"], H.REASONS)
            self.assertGreaterEqual(m["count"], 1)
            self.assertIsInstance(m["error"], str)
            self.assertTrue(m["error"])
            self.assertEqual(m["sink"], sk.name)
            self.assertIn("seq", m)
            self.assertIn("t", m)
            for k, v in m.items():
                self.assertIsNotNone(v, k)
        self.assertLess(len(errors), sum(self.top.values()))  # rate limited
        tied = [m for m in errors if m["reason"] == "mismatch"]
        self.assertTrue(all(m.get("series") == G for m in tied), tied)
        self.assertTrue(all("file" in m for m in tied), tied)
        self.assertTrue(all("series" not in m for m in errors
                            if m["reason"] == "bad_msgpack"))
        self.assertEqual(col.bad, [])
        seqs = [m["seq"] for _, m in col.snapshot()]
        self.assertEqual(seqs, list(range(len(seqs))))

        # Close the good series; every good frame is in its file, nothing else.
        for s in (G, L, B, 60, 61):
            tx.end(s, len(self.good[s]))
        for s in (G, L, B):
            closed = col.wait_closed(s)
            with h5py.File(closed["file"], "r") as f:
                d = f[H.DATASET]
                self.assertEqual(d.shape[0], len(self.good[s]),
                                 "series %d extent grew past its good frames" % s)
                for i, (pl, a) in enumerate(self.good[s]):
                    self.assertEqual(d[i].tobytes(), a.tobytes(), "series %d row %d" % (s, i))
                    if s in (L, B):
                        _, raw = d.id.read_direct_chunk((i, 0, 0))
                        self.assertEqual(bytes(raw), pl)
        col.wait_closed(60)
        col.wait_closed(61)
        self.assertTrue(sk.alive())
        self.assertEqual(sk.status()["rejected"], dict(self.top))

        # Nothing outside the data dir; inside it only the series' files.
        after = H.tree(sk.tmp)
        new = sorted(set(after) - set(before))
        self.assertEqual([p for p in new if not p.startswith("data/")], [], new)
        self.assertEqual(sorted(os.listdir(sk.data_dir)),
                         sorted(["writer_%d.h5" % C, "good_%d.h5" % G, "writer_%d.h5" % L,
                                 "writer_%d.h5" % B, "writer_60.h5", "writer_61.h5"]))
        sk.stop_ok()

    def test_error_notifications_are_rate_limited(self):
        sk, tx, col = self.sk, self.tx, self.col
        # 50 undecodable messages in a burst (well within a second).
        for _ in range(50):
            tx.send([b"\xc1"])

        def total():
            return sum(m["count"] for m in col.of("swmrbus.error")
                       if m["reason"] == "bad_msgpack")
        H.wait_until(lambda: sk.status()["rejected"].get("bad_msgpack") == 50,
                     what="50 rejections counted")
        time.sleep(2.5)  # the next second's report of those held back
        H.wait_until(lambda: total() == 50, what="counts summing to 50, got %d" % total())
        errors = col.of("swmrbus.error")
        self.assertLess(len(errors), 50)
        self.assertGreaterEqual(len(errors), 2)  # the first at once, the rest later
        self.assertEqual(errors[0]["count"], 1)
        self.assertEqual({m["reason"] for m in errors}, {"bad_msgpack"})
        self.assertEqual(sk.status()["rejected"], {"bad_msgpack": 50})
        sk.stop_ok()

    def test_frame_name_must_match_open_series(self):
        sk, tx, col = self.sk, self.tx, self.col
        tx.start(G, dtype="uint16", shape=list(SHAPE), encoding="raw", name="first")
        self.good_frame(G, name="first")           # the same name: fine
        self.bad(H.frame_msg(G, 1, H.frame_data(G, 1, SHAPE).tobytes(), name="second"),
                 "mismatch", G)
        self.bad(H.frame_msg(G, 1, H.frame_data(G, 1, SHAPE).tobytes(), dtype="uint16",
                             shape=list(SHAPE), encoding="raw", name="second"),
                 "mismatch", G)
        self.good_frame(G)
        sk.wait_received(G, 2)
        st = sk.status()
        self.assertEqual(st["rejected"], dict(self.top))
        self.assertEqual(sk.series_status(G, st)["rejected"], dict(self.per[G]))
        col.wait_topic("swmrbus.error", G, pred=lambda m: m["reason"] == "mismatch")
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
