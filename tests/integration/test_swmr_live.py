"""A live SWMR reader in another process (DESIGN.md promise 1: every frame
covered by a `flushed` notification is readable, with the right bytes, by
any SWMR reader, at once).

The reader is this file run with --reader: it subscribes to the sink's
notifications itself, opens the file with h5py swmr=True after `open`, and
on every `flushed` refreshes and compares every row below N (and its
timestamp) with what the sender sends, while the sink goes on writing. It
prints a JSON report on its last line.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SERIES = 3
FRAMES = 300
SHAPE = (64, 128)
TS0 = 1_650_000_000_000_000_000


def expected_rows():
    return np.stack([H.frame_data(SERIES, i, SHAPE) for i in range(FRAMES)])


def reader_main(notify_ep):
    """The reader process. Exit 0 with a report; the test judges the report."""
    import h5py
    import zmq
    report = {"ns": [], "checks": 0, "errors": [], "rows_checked": 0, "final": None,
              "mid_series_reads": 0}
    expected = expected_rows()
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    mon = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    sub.connect(notify_ep)
    from zmq.utils.monitor import recv_monitor_message
    if not mon.poll(60000):
        print(json.dumps({"errors": ["no connection to " + notify_ep]}))
        return 1
    recv_monitor_message(mon)
    sub.disable_monitor()
    mon.close()
    time.sleep(0.3)
    print("READY", flush=True)

    f = d = ts = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if not sub.poll(1000):
            continue
        topic, body = sub.recv_multipart()
        m = H.unpack(body)
        topic = topic.decode()
        if m.get("series") != SERIES:
            continue
        if topic == "swmrbus.open":
            # From now on a SWMR reader may open the file.
            f = h5py.File(m["file"], "r", libver="latest", swmr=True)
            d = f[H.DATASET]
            ts = f[H.TIMESTAMP]
            continue
        if topic not in ("swmrbus.flushed", "swmrbus.closed") or f is None:
            continue
        n = m["frames"]
        d.refresh()
        ts.refresh()
        report["checks"] += 1
        if topic == "swmrbus.flushed":
            report["ns"].append(n)
            if n < FRAMES:
                report["mid_series_reads"] += 1
        if d.shape[0] < n or ts.shape[0] < n:
            report["errors"].append("N=%d but data has %d rows, timestamp %d"
                                    % (n, d.shape[0], ts.shape[0]))
        else:
            rows = d[0:n]
            bad = [i for i in range(n) if rows[i].tobytes() != expected[i].tobytes()]
            if bad:
                report["errors"].append("N=%d: rows %s differ" % (n, bad[:10]))
            got_ts = ts[0:n].tolist()
            want_ts = [TS0 + i for i in range(n)]
            if got_ts != want_ts:
                report["errors"].append("N=%d: timestamps differ" % n)
            report["rows_checked"] = max(report["rows_checked"], n)
        if topic == "swmrbus.closed":
            report["final"] = n
            break
    if f is not None:
        f.close()
    sub.close()
    ctx.term()
    print(json.dumps(report), flush=True)
    return 0


class SwmrLive(H.SinkTestCase):

    def test_reader_process_follows_flushes(self):
        # Only the timer flushes (frames: large), every ~50 ms.
        sk = self.start_sink(flush_frames=100000, flush_ms=50, linger_ms=300)
        col = self.collector(sk)
        reader = subprocess.Popen(
            ["/usr/bin/python3",
             os.path.abspath(__file__), "--reader", sk.notify_ep],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=H._die_with_parent)
        self.addCleanup(lambda: reader.poll() is None and (reader.kill(), reader.wait()))
        line = reader.stdout.readline().decode().strip()
        self.assertEqual(line, "READY", reader.stderr.read().decode() if not line else line)

        tx = self.sender(sk)
        expected = expected_rows()
        tx.start(SERIES, dtype="uint16", shape=SHAPE, encoding="raw", frames=FRAMES)
        # Paced: the series takes ~3 s, so the reader reads while the sink writes.
        t0 = time.monotonic()
        for i in range(FRAMES):
            tx.frame(SERIES, i, expected[i].tobytes(), ts=TS0 + i)
            lag = t0 + (i + 1) * 0.01 - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        tx.end(SERIES, FRAMES)
        col.wait_closed(SERIES)
        out, err = reader.communicate(timeout=H.TIMEOUT * 2)
        self.assertEqual(reader.returncode, 0, err.decode())
        report = json.loads(out.decode().strip().splitlines()[-1])
        self.assertEqual(report["errors"], [])
        self.assertEqual(report["final"], FRAMES)
        self.assertEqual(report["rows_checked"], FRAMES)
        distinct = sorted(set(report["ns"]))
        print("reader saw %d flushed, %d distinct N" % (len(report["ns"]), len(distinct)),
              file=sys.stderr)
        # Several distinct N read back while the sink was still writing.
        self.assertGreaterEqual(len(distinct), 3, report["ns"])
        self.assertGreaterEqual(report["mid_series_reads"], 2, report["ns"])
        self.assertEqual(report["ns"], sorted(report["ns"]), "N went down")
        # The sink's own view: every flushed N the reader got was published.
        published = {m["frames"] for m in col.of("swmrbus.flushed", SERIES)}
        self.assertTrue(set(report["ns"]) <= published)
        sk.stop_ok()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--reader":
        sys.exit(reader_main(sys.argv[2]))
    H.main()
