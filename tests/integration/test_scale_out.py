"""Scale-out (issue 12, README "Scale-out"): S = 3 sharded sink processes, a
coordinator process writing the master file (a virtual dataset over the
shard files), h5py readers of the master, kill -9 of a shard, and the
splitter between one sender and three sinks.

Outside clients only: the sender is a PUSH socket per sink, the reader
subscribes to the coordinator and reads the master with h5py (swmr=True,
refresh() on every `flushed`)."""
import os
import sys
import time
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swmrbus_harness import (DATASET, TIMEOUT, Collector, RunProcess, Sender,  # noqa: E402
                             SinkTestCase, SinkProcess, frame_data, free_tcp_port,
                             make_tempdir, request, wait_until, _yaml)

S = 3
SHAPE = (16, 32)
SERIES = 5


def attr_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def coordinator_config(tmp, sinks, stale_ms=10000):
    d = os.path.join(tmp, "master")
    os.makedirs(d, exist_ok=True)
    notify = "ipc://%s/coord-notify.sock" % tmp
    control = "ipc://%s/coord-control.sock" % tmp
    text = "\n".join([
        "components:",
        "  - name: coord",
        "    kind: coordinator",
        "    in: {endpoints: %s}" % _yaml([sk.notify_ep for sk in sinks]),
        "    notify: {endpoint: %s}" % _yaml(notify),
        "    control: {endpoint: %s}" % _yaml(control),
        "    dir: %s" % _yaml(d),
        "    shards: %d" % len(sinks),
        "    stale_ms: %d" % stale_ms,
    ]) + "\n"
    path = os.path.join(tmp, "coord.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path, notify, control, d


class ScaleOut(SinkTestCase):

    def start_shards(self, slow=None, **kw):
        sinks = []
        for k in range(S):
            env_before = os.environ.get("SWMRBUS_FAULT_WRITE_DELAY_US")
            if k == slow:  # the lagging shard: a slow disk
                os.environ["SWMRBUS_FAULT_WRITE_DELAY_US"] = "4000"
            try:
                sinks.append(self.start_sink(
                    name="shard%d" % k, flush_frames=4, flush_ms=50,
                    extra_yaml="    shard: {index: %d, count: %d}" % (k, S), **kw))
            finally:
                if env_before is None:
                    os.environ.pop("SWMRBUS_FAULT_WRITE_DELAY_US", None)
                else:
                    os.environ["SWMRBUS_FAULT_WRITE_DELAY_US"] = env_before
        return sinks

    def start_coordinator(self, sinks, stale_ms=10000):
        tmp = make_tempdir()
        path, notify, control, d = coordinator_config(tmp, sinks, stale_ms)
        co = RunProcess(path, os.path.join(tmp, "coord.log"), control, label="coordinator")
        self.addCleanup(self._cleanup_coord, co)
        co.start()
        col = Collector(notify)
        self.addCleanup(col.close)
        time.sleep(0.5)  # the coordinator's subscriptions reach the sinks
        co.notify_ep, co.dir = notify, d
        return co, col

    def _cleanup_coord(self, co):
        failed = self._failed()
        co.cleanup()
        if failed:
            sys.stderr.write("\n---- coordinator log ----\n%s\n---- end ----\n" % co.log_text())

    def check_rows(self, ds, n, series=SERIES):
        for i in range(n):
            row = ds[i]
            self.assertTrue(np.array_equal(row, frame_data(series, i, SHAPE)),
                            "row %d of the master is wrong" % i)

    def test_live_reader_lagging_shard_and_final_read(self):
        sinks = self.start_shards(slow=2)
        co, col = self.start_coordinator(sinks)
        senders = [self.sender(sk) for sk in sinks]
        total = 240
        for s in senders:
            s.start(SERIES, shape=SHAPE, frames=total)
        reader = None
        checked = 0
        seen_g = []
        sent = 0
        deadline = time.monotonic() + 4 * TIMEOUT
        closed = None
        while closed is None:
            self.assertLess(time.monotonic(), deadline, "the series did not close")
            if sent < total:  # a few frames at a time, every shard in turn
                for f in range(sent, min(total, sent + 12)):
                    senders[f % S].frame(SERIES, f, frame_data(SERIES, f, SHAPE))
                sent = min(total, sent + 12)
                if sent == total:
                    for s in senders:
                        s.end(SERIES, total)
            time.sleep(0.02)
            flushed = col.of("swmrbus.flushed", SERIES)
            closed_l = col.of("swmrbus.closed", SERIES)
            if flushed and reader is None:
                opened = col.wait_topic("swmrbus.open", SERIES)
                self.assertEqual(opened["file"], flushed[0]["file"])
                self.assertEqual(opened["dataset"], DATASET)
                reader = h5py.File(opened["file"], "r", swmr=True)
                self.addCleanup(reader.close)
                ds = reader[DATASET]
                self.assertTrue(ds.is_virtual)
            for m in flushed[len(seen_g):]:
                seen_g.append(m["frames"])
                self.assertEqual(m["sink"], "coord")
                self.assertEqual(len(m["shards"]), S)
                # G never beyond what every shard has: min(complete_k * S + k)
                ds.refresh()
                self.assertGreaterEqual(ds.shape[0], m["frames"])
                self.check_rows(ds, m["frames"])
                checked = m["frames"]
            if closed_l:
                closed = closed_l[0]
        self.assertEqual(seen_g, sorted(seen_g), "G went back")
        self.assertGreater(len(seen_g), 2, "the reader saw the series grow: %r" % seen_g)
        self.assertEqual(closed["frames"], total)
        self.assertEqual(checked, total)
        reader.close()
        # after closed: the plain master reads every frame
        with h5py.File(closed["file"], "r") as f:
            ds = f[DATASET]
            self.assertEqual(ds.shape, (total,) + SHAPE)
            self.assertEqual(attr_str(f.attrs["default"]), "entry")
            self.assertEqual(attr_str(f["entry"].attrs["NX_class"]), "NXentry")
            self.assertEqual(attr_str(f["entry/data"].attrs["NX_class"]), "NXdata")
            self.assertEqual(attr_str(f["entry/data"].attrs["signal"]), "data")
            self.check_rows(ds, total)
        # the shards: frame f at row f // S of shard f % S, notifications carry shard keys
        st = request(co.control_ep, {"cmd": "status"})
        self.assertEqual(st["series"][0]["state"], "closed")
        for k, sk in enumerate(sinks):
            e = sk.series_status(SERIES)
            self.assertEqual(e["written"], len(range(k, total, S)))

    def test_source_follows_coordinator(self):
        import source_harness as SH
        sinks = self.start_shards(slow=1)
        co, col = self.start_coordinator(sinks)
        tmp = make_tempdir()
        out_ep, notify, control = ("ipc://%s/src-%s.sock" % (tmp, n)
                                   for n in ("out", "notify", "control"))
        text = SH.source_yaml("reader", [co.notify_ep], out_ep, notify, control, dirs=[co.dir])
        src = SH.Proc(tmp, text, "source", control)
        self.addCleanup(src.cleanup)
        src.start()
        frames = SH.FrameCollector(out_ep)
        self.addCleanup(frames.close)
        time.sleep(0.5)
        senders = [self.sender(sk) for sk in sinks]
        total = 150
        for s in senders:
            s.start(SERIES, shape=SHAPE, name="scan42")
        payloads = [frame_data(SERIES, f, SHAPE) for f in range(total)]
        ts = [1_700_000_000_000_000_000 + 1000 * f for f in range(total)]
        for f in range(total):
            senders[f % S].frame(SERIES, f, payloads[f], ts=ts[f])
        for s in senders:
            s.end(SERIES, total)
        frames.wait_end(SERIES, timeout=3 * TIMEOUT)
        msgs = [m for m in frames.snapshot() if m[0].get("type") in ("start", "frame", "end")]
        # the master maps the shards' timestamps too: every frame keeps its ts
        start = SH.check_stream(self, msgs, payloads, ts=ts)
        closed = col.wait_closed(SERIES)
        with h5py.File(closed["file"], "r") as f:
            self.assertEqual(list(f["/entry/instrument/detector/timestamp"][:]), ts)
            self.assertEqual(attr_str(f["/entry/instrument/detector"].attrs["NX_class"]),
                             "NXdetector")
        self.assertEqual(start["encoding"], "raw")
        self.assertEqual(start["shape"], list(SHAPE))
        self.assertEqual(start["origin"]["sink"], "coord")
        self.assertEqual(start["name"], "scan42")  # the shards' name, copied to the master
        src.stop_ok()

    def test_kill9_shard_holds_g(self):
        sinks = self.start_shards()
        co, col = self.start_coordinator(sinks, stale_ms=1500)
        senders = [self.sender(sk) for sk in sinks]
        for s in senders:
            s.start(SERIES, shape=SHAPE)
        first = 60
        for f in range(first):
            senders[f % S].frame(SERIES, f, frame_data(SERIES, f, SHAPE))
        col.wait_flushed(SERIES, first)
        victim = 1
        sinks[victim].kill9()
        g_at_kill = max(m["frames"] for m in col.of("swmrbus.flushed", SERIES))
        # the others go on; shard 1's frames have nowhere to go
        more = 150
        for f in range(first, more):
            if f % S != victim:
                senders[f % S].frame(SERIES, f, frame_data(SERIES, f, SHAPE))

        def shards_moved():
            st = request(co.control_ep, {"cmd": "status"})
            sh = st["series"][0]["shards"]
            return all(sh[k]["complete"] >= len(range(k, more, S))
                       for k in range(S) if k != victim)
        wait_until(shards_moved, TIMEOUT, "the live shards to flush")
        wait_until(lambda: request(co.control_ep, {"cmd": "status"})["series"][0]["state"]
                   == "stale", TIMEOUT, "the series to show stale")
        st = request(co.control_ep, {"cmd": "status"})
        self.assertEqual(st["series"][0]["shards"][victim]["state"], "stale")
        victim_complete = st["series"][0]["shards"][victim]["complete"]
        bound = victim_complete * S + victim
        gs = [m["frames"] for m in col.of("swmrbus.flushed", SERIES)]
        self.assertTrue(gs and max(gs) <= bound, "G %r beyond shard %d's %d rows"
                        % (gs, victim, victim_complete))
        self.assertGreaterEqual(max(gs), g_at_kill)
        self.assertGreaterEqual(max(gs), first)
        self.assertEqual(st["series"][0]["frames"], max(gs))
        # the last G is readable through the master (swmr reader)
        path = col.wait_topic("swmrbus.open", SERIES)["file"]
        with h5py.File(path, "r", swmr=True) as f:
            ds = f[DATASET]
            ds.refresh()
            self.check_rows(ds, max(gs))
        self.assertEqual(col.of("swmrbus.closed", SERIES), [])
        # giving up on the dead shard: closed with the G reached
        self.assertTrue(request(co.control_ep, {"cmd": "close", "series": SERIES})["ok"])
        closed = col.wait_closed(SERIES)
        self.assertEqual(closed["frames"], max(gs))
        self.assertEqual(request(co.control_ep, {"cmd": "status"})["series"][0]["state"],
                         "closed")
        self.assertFalse(request(co.control_ep, {"cmd": "close", "series": 99})["ok"])

    def start_splitter(self, sinks):
        tmp = make_tempdir()
        in_ep = "ipc://%s/split-in.sock" % tmp
        control = "ipc://%s/split-control.sock" % tmp
        path = os.path.join(tmp, "split.yaml")
        with open(path, "w") as f:
            f.write("\n".join([
                "components:",
                "  - name: split",
                "    kind: shard",
                "    in: {endpoint: %s}" % _yaml(in_ep),
                "    out: {endpoints: %s, bind: false, hwm: 4}" % _yaml(
                    [sk.in_ep for sk in sinks]),
                "    control: {endpoint: %s}" % _yaml(control),
            ]) + "\n")
        sp = RunProcess(path, os.path.join(tmp, "split.log"), control, label="splitter")
        self.addCleanup(sp.cleanup)
        sp.start()
        return sp, in_ep, control

    def test_splitter_passes_every_part(self):
        """A 2-channel series (a payload part per channel) through the
        splitter: every shard writes (rows, 2, y, x) with both channels right;
        a frame without its payload is dropped and counted."""
        import msgpack
        import zmq
        sinks = self.start_shards(linger_ms=500)
        sp, in_ep, control = self.start_splitter(sinks)
        cols = [self.collector(sk) for sk in sinks]
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 5000)
        push.connect(in_ep)
        self.addCleanup(ctx.term)
        self.addCleanup(push.close)
        pk = msgpack.packb
        total = 30
        push.send_multipart([pk({"type": "start", "series": SERIES, "dtype": "uint16",
                                 "shape": list(SHAPE), "encoding": "raw",
                                 "channels": ["low", "high"]})])
        push.send_multipart([pk({"type": "frame", "series": SERIES, "frame": 0})])  # no payload
        for f in range(total):
            push.send_multipart([pk({"type": "frame", "series": SERIES, "frame": f}),
                                 frame_data(SERIES, f, SHAPE).tobytes(),
                                 frame_data(SERIES + 1, f, SHAPE).tobytes()])
        push.send_multipart([pk({"type": "end", "series": SERIES, "frames": total})])
        for k, col in enumerate(cols):
            m = col.wait_closed(SERIES, timeout=3 * TIMEOUT)
            rows = len(range(k, total, S))
            self.assertEqual((m["frames"], m["complete"]), (rows, rows))
            with h5py.File(m["file"], "r") as f:
                ds = f[DATASET]
                self.assertEqual(ds.shape, (rows, 2) + SHAPE)
                for r in range(rows):
                    g = r * S + k
                    self.assertTrue(np.array_equal(ds[r, 0], frame_data(SERIES, g, SHAPE)))
                    self.assertTrue(np.array_equal(ds[r, 1], frame_data(SERIES + 1, g, SHAPE)))
        st = request(control, {"cmd": "status"})
        self.assertEqual((st["frames"], st["starts"], st["ends"], st["rejected"]),
                         (total, 1, 1, 1))
        sp.stop_ok()

    def test_splitter_loses_and_duplicates_nothing(self):
        sinks = self.start_shards(slow=0, linger_ms=500)
        sp, in_ep, control = self.start_splitter(sinks)
        cols = [self.collector(sk) for sk in sinks]
        snd = Sender(in_ep)
        self.addCleanup(snd.close)
        total = 300
        snd.start(SERIES, shape=SHAPE)
        for f in range(total):
            snd.frame(SERIES, f, frame_data(SERIES, f, SHAPE))
        snd.end(SERIES, total)
        for k, col in enumerate(cols):
            m = col.wait_closed(SERIES, timeout=3 * TIMEOUT)
            rows = len(range(k, total, S))
            self.assertEqual(m["frames"], rows)
            self.assertEqual(m["complete"], rows)
            self.assertEqual((m["shard"], m["shards"]), (k, S))
            e = sinks[k].series_status(SERIES)
            self.assertEqual((e["received"], e["written"], e["duplicates"]), (rows, rows, 0))
            self.assertEqual(e["rejected"], {})
            with h5py.File(m["file"], "r") as f:
                ds = f[DATASET]
                self.assertEqual(ds.shape[0], rows)
                for r in range(rows):
                    self.assertTrue(np.array_equal(ds[r], frame_data(SERIES, r * S + k, SHAPE)))
        st = request(control, {"cmd": "status"})
        self.assertEqual((st["frames"], st["starts"], st["ends"], st["rejected"]),
                         (total, 1, 1, 0))
        self.assertEqual([o["sent"] for o in st["outputs"]],
                         [len(range(k, total, S)) + 2 for k in range(S)])
        sp.stop_ok()

    def test_config_as_shipped(self):
        """configs/scale-out.yaml (splitter, 3 sharded sinks, coordinator in one
        process) with only its tcp ports (free ones) and its dirs (below a temp
        dir, keeping their names) replaced."""
        import re
        import yaml
        tmp = make_tempdir()
        with open(os.path.join(os.environ.get("SWMRBUS_SOURCE_DIR", os.path.join(
                os.path.dirname(os.path.abspath(__file__)), "..", "..")),
                "configs", "scale-out.yaml")) as f:
            text = f.read()
        ports = {}

        def port(m):
            ports.setdefault(m.group(1), free_tcp_port())
            return "tcp://127.0.0.1:%d" % ports[m.group(1)]
        text = re.sub(r"tcp://127\.0\.0\.1:(\d+)", port, text)
        text, n_dir = re.subn(r"(\n\s*dir:\s*)/tmp/swmrbus-scale/(\S+)",
                              lambda m: m.group(1) + os.path.join(tmp, m.group(2)), text)
        self.assertEqual(n_dir, 4)
        path = os.path.join(tmp, "scale-out.yaml")
        with open(path, "w") as f:
            f.write(text)
        cfg = {c["name"]: c for c in yaml.safe_load(text)["components"]}
        run = RunProcess(path, os.path.join(tmp, "run.log"), cfg["coord"]["control"]["endpoint"],
                         label="scale-out.yaml")
        self.addCleanup(self._cleanup_coord, run)
        run.start()
        col = Collector(cfg["coord"]["notify"]["endpoint"])
        self.addCleanup(col.close)
        snd = Sender(cfg["split"]["in"]["endpoint"])
        self.addCleanup(snd.close)
        total = 31
        snd.start(SERIES, shape=SHAPE)
        for f in range(total):
            snd.frame(SERIES, f, frame_data(SERIES, f, SHAPE))
        snd.end(SERIES, total)
        closed = col.wait_closed(SERIES)
        self.assertEqual((closed["frames"], closed["shards"]), (total, [11, 10, 10]))
        self.assertEqual(os.path.dirname(closed["file"]), os.path.join(tmp, "master"))
        with h5py.File(closed["file"], "r") as f:
            self.assertEqual(f[DATASET].shape[0], total)
            self.check_rows(f[DATASET], total)
        st = request(cfg["split"]["control"]["endpoint"], {"cmd": "status"})
        self.assertEqual(st["frames"], total)
        run.stop_ok()

    def test_sharded_sink_rejects_other_frames(self):
        sk = self.start_shards()[1]
        col = self.collector(sk)
        snd = self.sender(sk)
        snd.start(SERIES, shape=SHAPE)
        for f in range(9):
            snd.frame(SERIES, f, frame_data(SERIES, f, SHAPE))
        snd.end(SERIES, 9)
        m = col.wait_closed(SERIES)
        self.assertEqual((m["frames"], m["complete"], m["shard"], m["shards"]), (3, 3, 1, S))
        e = sk.series_status(SERIES)
        self.assertEqual(e["rejected"], {"mismatch": 6})
        with h5py.File(m["file"], "r") as f:
            for r in range(3):
                self.assertTrue(np.array_equal(f[DATASET][r], frame_data(SERIES, 3 * r + 1, SHAPE)))


if __name__ == "__main__":
    unittest.main()
