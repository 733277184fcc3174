"""Control requests, gaps and duplicates, closing and shutdown (DESIGN.md
"Control", "Semantics", "Config").

Order "notification before reply" is checked with the notification's own
`t` (wall clock at publication, same machine) against the wall clock read
when the reply arrived: no timing threshold is involved.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (16, 16)


class Control(H.SinkTestCase):

    def open_series(self, tx, series, n, **start):
        rows = [H.frame_data(series, i, SHAPE) for i in range(n)]
        tx.start(series, dtype="uint16", shape=SHAPE, encoding="raw", **start)
        for i, a in enumerate(rows):
            tx.frame(series, i, a.tobytes())
        return rows

    def test_flush_command(self):
        # Only a command flushes: flush.frames and flush.ms are far off.
        sk = self.start_sink(flush_frames=100000, flush_ms=60000)
        col = self.collector(sk)
        tx = self.sender(sk)
        self.open_series(tx, 1, 5)
        sk.wait_received(1, 5)
        self.assertEqual(col.of("swmrbus.flushed"), [])

        rep = sk.request({"cmd": "flush"})
        t_reply = time.time_ns()
        self.assertEqual(rep, {"ok": True})
        m = col.wait_topic("swmrbus.flushed", 1)
        self.assertLessEqual(m["t"], t_reply, "flushed published after the reply")
        self.assertEqual((m["frames"], m["written"], m["complete"]), (5, 5, 5))
        self.assertNotification(m, sk, "swmrbus.flushed")

        # A flush that raises nothing publishes nothing (and still says ok).
        self.assertEqual(sk.request({"cmd": "flush"}), {"ok": True})
        self.assertEqual(sk.request({"cmd": "flush", "series": 1}), {"ok": True})
        # Next: one more frame and a flush through the CLI (series given).
        tx.frame(1, 5, H.frame_data(1, 5, SHAPE).tobytes())
        sk.wait_received(1, 6)
        rc, out, err = sk.ctl_cli("flush", 1)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip().replace(" ", ""), '{"ok":true}')
        col.wait_flushed(1, 6)
        flushed = [(t, m) for t, m in col.snapshot() if t != "swmrbus.error"]
        # open, flushed(5), flushed(6): the no-op flushes put nothing between.
        self.assertEqual([(t, m["frames"]) for t, m in flushed],
                         [("swmrbus.open", 0), ("swmrbus.flushed", 5), ("swmrbus.flushed", 6)])
        self.assertEqual([m["seq"] for _, m in flushed], [0, 1, 2])

        # A series that is not open: an error reply.
        rep = sk.request({"cmd": "flush", "series": 99})
        self.assertIs(rep["ok"], False)
        self.assertIsInstance(rep["error"], str)
        e = sk.series_status(1)
        self.assertEqual((e["frames"], e["complete"], e["state"]), (6, 6, "open"))
        self.assertIn("last_flush_t", e)
        sk.stop_ok()

    def test_close_command_and_unknown_requests(self):
        sk = self.start_sink(flush_frames=100000, flush_ms=60000, linger_ms=60000)
        col = self.collector(sk)
        tx = self.sender(sk)
        rows2 = self.open_series(tx, 2, 7)
        rows3 = self.open_series(tx, 3, 3)
        sk.wait_received(2, 7)
        sk.wait_received(3, 3)

        rep = sk.request({"cmd": "close", "series": 2})
        t_reply = time.time_ns()
        self.assertEqual(rep, {"ok": True})
        m = col.wait_closed(2)
        self.assertLessEqual(m["t"], t_reply, "closed published after the reply")
        self.assertEqual((m["frames"], m["written"], m["complete"]), (7, 7, 7))
        self.assertTrue(sk.alive())
        # Closed means final on disk: a normal open while the sink still runs.
        with h5py.File(m["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape[0], 7)
            for i, a in enumerate(rows2):
                self.assertEqual(d[i].tobytes(), a.tobytes())
        st = sk.status()
        self.assertEqual(sk.series_status(2, st)["state"], "closed")
        self.assertEqual(sk.series_status(3, st)["state"], "open")
        # Closing it again: it is not open any more.
        rep = sk.request({"cmd": "close", "series": 2})
        self.assertIs(rep["ok"], False)
        self.assertIsInstance(rep["error"], str)

        # Unknown or malformed requests: {ok: false, error}.
        for req in ({"cmd": "reboot"}, {"cmd": 5}, {"nocmd": "status"},
                    {"cmd": "flush", "series": "3"}, {"cmd": "close", "series": -1}):
            rep = sk.request(req)
            self.assertIs(rep.get("ok"), False, req)
            self.assertIsInstance(rep.get("error"), str, req)
            self.assertTrue(rep["error"], req)
        for parts in ([b"\xc1"], [H.pack([1, 2])], [b"\xdf\xff\xff\xff\xff"],
                      [H.pack({"cmd": "status"}), b"second part"]):
            rep = sk.request_raw(parts)
            self.assertIs(rep.get("ok"), False, parts)
            self.assertIsInstance(rep.get("error"), str)
        # Unknown keys in a request are ignored.
        self.assertIs(sk.request({"cmd": "status", "verbose": True})["ok"], True)
        rc, out, err = sk.ctl_cli("status")
        self.assertEqual(rc, 0, err)
        self.assertIn('"kind": "sink"', out)

        # A straggler after `end` (within linger_ms) is still written. The
        # end announces 5 and frame 4 never comes, so the series lingers (an
        # end whose frames have all arrived closes at once).
        tx.end(3, 5)
        tx.frame(3, 3, H.frame_data(3, 3, SHAPE).tobytes())
        rows3.append(H.frame_data(3, 3, SHAPE))
        sk.wait_received(3, 4)
        self.assertEqual(sk.series_status(3)["state"], "lingering")
        # close with no series closes every open one.
        self.assertEqual(sk.request({"cmd": "close"}), {"ok": True})
        m = col.wait_closed(3)
        self.assertEqual(m["frames"], 4)
        with h5py.File(m["file"], "r") as f:
            for i, a in enumerate(rows3):
                self.assertEqual(f[H.DATASET][i].tobytes(), a.tobytes())
        st = sk.status()
        self.assertEqual([e["state"] for e in st["series"]], ["closed", "closed"])
        self.assertEqual(st["name"], sk.name)
        self.assertEqual(st["kind"], "sink")
        self.assertIsInstance(st["uptime_s"], (int, float))
        sk.stop_ok()

    def test_gaps_and_duplicates(self):
        sk = self.start_sink(flush_frames=100000, flush_ms=60000)
        col = self.collector(sk)
        tx = self.sender(sk)
        tx.start(4, dtype="uint16", shape=SHAPE, encoding="raw")
        rows = {i: H.frame_data(4, i, SHAPE) for i in (0, 1, 2, 5, 6)}
        for i in (0, 1, 2, 5, 6):
            tx.frame(4, i, rows[i].tobytes(), ts=100 + i)
        # A duplicate of row 1 with other bytes: counted, the first copy stays.
        tx.frame(4, 1, H.frame_data(99, 1, SHAPE).tobytes(), ts=999)
        sk.wait_received(4, 6)
        self.assertEqual(sk.request({"cmd": "flush"}), {"ok": True})
        m = col.wait_topic("swmrbus.flushed", 4)
        self.assertEqual((m["frames"], m["written"], m["complete"]), (7, 5, 3))
        e = sk.series_status(4)
        self.assertEqual((e["received"], e["written"], e["gaps"], e["duplicates"]),
                         (6, 5, 2, 1))
        self.assertEqual((e["frames"], e["complete"]), (7, 3))
        self.assertEqual(e["rejected"], {})
        self.assertEqual(sk.request({"cmd": "close", "series": 4}), {"ok": True})
        m = col.wait_closed(4)
        self.assertEqual((m["frames"], m["written"], m["complete"]), (7, 5, 3))
        with h5py.File(m["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape[0], 7)
            self.assertEqual(d.id.get_num_chunks(), 5)  # gaps: no chunk stored
            for i in range(7):
                want = rows[i] if i in rows else np.zeros(SHAPE, "<u2")
                self.assertEqual(d[i].tobytes(), want.tobytes(), "row %d" % i)
            self.assertEqual(f[H.TIMESTAMP][...].tolist(), [100, 101, 102, 0, 0, 105, 106])
        sk.stop_ok()

    def test_sigterm_closes_open_series(self):
        sk = self.start_sink(flush_frames=100000, flush_ms=60000)
        col = self.collector(sk)
        tx = self.sender(sk)
        rows = self.open_series(tx, 5, 12, name="term")
        sk.wait_received(5, 12)
        opened = col.wait_topic("swmrbus.open", 5)
        sk.stop_ok()  # SIGTERM, exit code 0
        # `closed` is published on the way out.
        m = col.wait_closed(5, timeout=10)
        self.assertEqual((m["frames"], m["complete"]), (12, 12))
        self.assertEqual(m["file"], opened["file"])
        with h5py.File(opened["file"], "r") as f:  # a normal HDF5 file, complete
            d = f[H.DATASET]
            self.assertEqual(d.shape[0], 12)
            for i, a in enumerate(rows):
                self.assertEqual(d[i].tobytes(), a.tobytes())
        r = subprocess.run(["h5dump", "-H", opened["file"]], capture_output=True,
                           timeout=H.TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_idle_close(self):
        sk = self.start_sink(flush_frames=100000, flush_ms=100, idle_close_ms=700)
        col = self.collector(sk)
        tx = self.sender(sk)
        rows = self.open_series(tx, 6, 4)  # no end: only idleness closes it
        m = col.wait_closed(6)
        self.assertEqual(m["frames"], 4)
        self.assertEqual(sk.series_status(6)["state"], "closed")
        with h5py.File(m["file"], "r") as f:
            for i, a in enumerate(rows):
                self.assertEqual(f[H.DATASET][i].tobytes(), a.tobytes())
        sk.stop_ok()

    def test_unknown_config_key(self):
        sk = H.SinkProcess()
        self.addCleanup(self._cleanup_sink, sk)
        text = sk.config_text.replace("flush: {frames: 100,", "flush: {frmaes: 100,")
        self.assertNotEqual(text, sk.config_text)
        with open(sk.config_path, "w") as f:
            f.write(text)
        r = subprocess.run([H.BIN, "run", sk.config_path], capture_output=True,
                           timeout=H.TIMEOUT, preexec_fn=H._die_with_parent)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("components[0].flush.frmaes", r.stderr.decode() + r.stdout.decode())
        self.assertFalse(os.path.exists(sk.data_dir))


if __name__ == "__main__":
    H.main()
