"""The operator tools of the CLI, driven as a user would: `swmrbus tail`
against a real sink and against a publisher sending garbage, `swmrbus check`
on every example config and on a config with many problems, `swmrbus ctl`
exit codes, every `--help`, `--version`, and usage errors.

Nothing here waits a fixed time for a subscription to take: before a test's
real series, it publishes warm-up notifications until every tail has shown
one (ZeroMQ's PUB drops what it sends before a subscriber has joined)."""
import datetime
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

import msgpack
import yaml
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swmrbus_harness as H  # noqa: E402

SHAPE = (8, 16)
COMMANDS = ("run", "demo", "recover", "ctl", "tail", "check", "version")
LINE_RE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (open|flushed|closed|error) +(\S+)(.*)$")


def run_cli(*args, timeout=H.TIMEOUT):
    r = subprocess.run([H.BIN] + [str(a) for a in args], capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


class Tail:
    """A `swmrbus tail` process whose stdout and stderr lines are collected
    by threads as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([H.BIN, "tail"] + [str(a) for a in args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=H._die_with_parent)
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, args=(f, l), daemon=True)
                         for f, l in ((self.proc.stdout, self.out),
                                      (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    def _read(self, f, into):
        for raw in f:
            with self.cond:
                into.append(raw.decode("utf-8"))  # must be valid UTF-8
                self.cond.notify_all()

    def lines(self):
        with self.cond:
            return list(self.out)

    def errors(self):
        with self.cond:
            return list(self.err)

    def wait(self, timeout=H.TIMEOUT):
        rc = self.proc.wait(timeout)
        for t in self._threads:
            t.join(10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        return self.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        if not self.proc.stdout.closed:
            self.wait()


def parse_line(line):
    """A readable tail line -> (time, topic, sink, {key: value})."""
    m = LINE_RE.match(line.rstrip("\n"))
    assert m, "not a tail line: %r" % line
    when, topic, sink, rest = m.groups()
    fields = {}
    rest = rest.strip()
    err = None
    if " error: " in " " + rest:
        rest, err = (" " + rest).split(" error: ", 1)
        rest = rest.strip()
    words = rest.split(" ")
    # "file" comes last among key/value pairs and may hold spaces
    if "file" in words:
        i = words.index("file")
        fields["file"] = " ".join(words[i + 1:])
        words = words[:i]
    for k, v in zip(words[0::2], words[1::2]):
        fields[k] = int(v) if v.isdigit() else v
    if err is not None:
        fields["error"] = err
    return when, topic, sink, fields


def iso_ms(t_ns):
    dt = datetime.datetime.fromtimestamp(t_ns // 10**9, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (t_ns % 10**9 // 10**6)


class TailOnSink(H.SinkTestCase):

    def tail(self, *args):
        t = Tail(*args)
        self.addCleanup(t.kill)
        return t

    def warm_up(self, sk, tx, tails):
        """Publishes notifications for series 100 (a frame and a flush at a
        time) until every tail has printed one for it."""
        tx.start(100, dtype="uint16", shape=SHAPE)
        deadline = time.monotonic() + H.TIMEOUT
        i = 0
        while not all(any(" series 100 " in l or '"series": 100' in l for l in t.lines())
                      for t in tails):
            self.assertLess(time.monotonic(), deadline, "tail never printed a notification")
            for t in tails:
                self.assertIsNone(t.proc.poll(), "tail exited: %r" % t.errors())
            tx.frame(100, i, H.frame_data(100, i, SHAPE).tobytes())
            i += 1
            sk.wait_received(100, i)
            self.assertIs(sk.request({"cmd": "flush", "series": 100})["ok"], True)
            time.sleep(0.1)

    def test_lines_and_json_from_a_real_sink(self):
        sk = self.start_sink(flush_frames=2, flush_ms=200, linger_ms=100)
        plain = self.tail(sk.notify_ep)
        js = self.tail("--json", sk.notify_ep)
        only_closed = self.tail(sk.notify_ep, "--topic", "closed", "--json")
        tx = self.sender(sk)
        self.warm_up(sk, tx, [plain, js])

        frames = 6
        tx.start(1, dtype="uint16", shape=SHAPE)
        for i in range(frames):
            tx.frame(1, i, H.frame_data(1, i, SHAPE).tobytes())
        tx.end(1, frames)
        for t in (plain, js):
            H.wait_until(lambda: any(("closed" in l and " series 1 " in l) or
                                     ('"swmrbus.closed"' in l and '"series": 1,' in l)
                                     for l in t.lines()), what="closed of series 1 in tail")
        H.wait_until(lambda: any('"series": 1,' in l for l in only_closed.lines()),
                     what="closed in the --topic closed tail")
        self.assertEqual(plain.stop(signal.SIGINT), 0, plain.errors())
        self.assertEqual(js.stop(signal.SIGTERM), 0, js.errors())
        self.assertEqual(only_closed.stop(signal.SIGINT), 0)
        self.assertEqual(plain.errors(), [])
        self.assertEqual(js.errors(), [])

        expected_file = os.path.join(os.path.realpath(sk.data_dir), "writer_1.h5")
        # --json: one object per line, every key of the map and the topic.
        objs = [json.loads(l) for l in js.lines()]
        mine = [o for o in objs if o.get("series") == 1]
        topics = [o["topic"] for o in mine]
        self.assertEqual(topics[0], "swmrbus.open", topics)
        self.assertEqual(topics[-1], "swmrbus.closed", topics)
        self.assertIn("swmrbus.flushed", topics)
        self.assertEqual(set(topics), {"swmrbus.open", "swmrbus.flushed", "swmrbus.closed"})
        for o in mine:
            for k in ("series", "file", "dataset", "frames", "written", "complete", "seq",
                      "t", "sink"):
                self.assertIn(k, o)
            self.assertEqual(os.path.realpath(o["file"]), expected_file)
            self.assertEqual(o["sink"], sk.name)
            self.assertEqual(o["dataset"], H.DATASET)
        self.assertEqual(mine[0]["frames"], 0)
        flushed_n = [o["frames"] for o in mine if o["topic"] == "swmrbus.flushed"]
        self.assertEqual(flushed_n, sorted(flushed_n))
        self.assertEqual((mine[-1]["frames"], mine[-1]["complete"], mine[-1]["written"]),
                         (frames, frames, frames))
        seqs = [o["seq"] for o in objs]
        self.assertEqual(seqs, sorted(seqs))

        # The readable lines: the same notifications, field for field.
        parsed = [parse_line(l) for l in plain.lines()]
        by_seq = {f["seq"]: (when, topic, sink, f) for when, topic, sink, f in parsed}
        for o in mine:
            self.assertIn(o["seq"], by_seq, "tail missed seq %d" % o["seq"])
            when, topic, sink, f = by_seq[o["seq"]]
            self.assertEqual("swmrbus." + topic, o["topic"])
            self.assertEqual(sink, sk.name)
            self.assertEqual(when, iso_ms(o["t"]))
            for k in ("series", "frames", "complete", "written"):
                self.assertEqual(f[k], o[k], (k, plain.lines()))
            self.assertEqual(f["file"], o["file"])
        # e.g. "... closed   writer series 1 frames 6 complete 6 written 6 seq 9 file /..."
        closed = [l for l in plain.lines() if " closed " in l and " series 1 " in l]
        self.assertEqual(len(closed), 1, plain.lines())
        self.assertRegex(closed[0], r"Z closed   writer series 1 frames 6 complete 6 "
                                    r"written 6 seq \d+ file /")
        # --topic closed: only closed notifications.
        self.assertEqual({json.loads(l)["topic"] for l in only_closed.lines()},
                         {"swmrbus.closed"})
        sk.stop_ok()

    def test_error_notification_line(self):
        sk = self.start_sink()
        plain = self.tail(sk.notify_ep, "--topic", "error", "--topic", "swmrbus.open")
        tx = self.sender(sk)
        self.warm_up_errors(tx, plain)
        when, topic, sink, f = parse_line([l for l in plain.lines() if " error " in l][0])
        self.assertEqual((topic, sink), ("error", sk.name))
        self.assertEqual(f["reason"], "bad_msgpack")
        self.assertGreaterEqual(f["count"], 1)
        self.assertTrue(f["error"])
        self.assertEqual(plain.stop(), 0)

    def test_relayed_by_a_source(self):
        """A source in the sink's process relays the notifications: tail on
        its notify endpoint shows `via reader`."""
        sk = H.SinkProcess(flush_frames=2, flush_ms=200, linger_ms=100)
        self.addCleanup(self._cleanup_sink, sk)
        relay_ep = "ipc://%s/relay.sock" % sk.sockdir
        with open(sk.config_path, "a") as f:
            f.write("  - name: reader\n"
                    "    kind: source\n"
                    "    in: {endpoint: %s}\n"
                    "    notify: {endpoint: %s}\n" % (json.dumps(sk.notify_ep),
                                                      json.dumps(relay_ep)))
        sk.start()
        relayed = self.tail(relay_ep, "--json")
        plain = self.tail(relay_ep)
        tx = self.sender(sk)
        self.warm_up(sk, tx, [relayed, plain])
        tx.start(2, dtype="uint16", shape=SHAPE)
        for i in range(4):
            tx.frame(2, i, H.frame_data(2, i, SHAPE).tobytes())
        tx.end(2, 4)
        H.wait_until(lambda: any(" closed " in l and " series 2 " in l for l in plain.lines()),
                     what="the relayed closed of series 2")
        self.assertEqual(plain.stop(), 0)
        self.assertEqual(relayed.stop(), 0)
        mine = [json.loads(l) for l in relayed.lines()]
        mine = [o for o in mine if o.get("series") == 2]
        self.assertEqual(mine[-1]["topic"], "swmrbus.closed")
        self.assertEqual(mine[-1]["frames"], 4)
        for o in mine:
            self.assertEqual((o["via"], o["sink"]), ("reader", sk.name))
        for line in plain.lines():
            self.assertRegex(line, r" %s series \d+ .* via reader file /" % sk.name)
        sk.stop_ok()

    def warm_up_errors(self, tx, t):
        deadline = time.monotonic() + H.TIMEOUT
        while not any(" error " in l for l in t.lines()):
            self.assertLess(time.monotonic(), deadline, "no error line from tail")
            tx.send([b"\xc1 not msgpack"])
            time.sleep(0.3)  # error notices are limited to one per reason per second


class TailOnGarbage(unittest.TestCase):
    """A pyzmq PUB sending garbage, then a valid notification."""

    def setUp(self):
        self.ctx = zmq.Context.instance()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
        self.pub.bind(self.ep)
        self.addCleanup(self.pub.close)

    def test_warning_then_a_line(self):
        plain = Tail(self.ep, "--count", "1", "--timeout", "120")
        js = Tail("--json", self.ep, "--count", "1", "--timeout", "120")
        self.addCleanup(plain.kill)
        self.addCleanup(js.kill)
        deadline = time.monotonic() + H.TIMEOUT
        # garbage until both have warned (they have joined by then)
        while not (plain.errors() and js.errors()):
            self.assertLess(time.monotonic(), deadline, "no warning from tail")
            self.pub.send_multipart([b"swmrbus.flushed", b"\xc1"])
            time.sleep(0.1)
        garbage = [
            [b"swmrbus.flushed", b"\xdf\xff\xff\xff\xff"],           # a map claiming 4G pairs
            [b"swmrbus.flushed", msgpack.packb([1, 2])],             # not a map
            [b"swmrbus.flushed", msgpack.packb({"series": "one"})],  # mistyped key
            [b"swmrbus.bogus", msgpack.packb({"series": 1})],        # unknown topic
            [b"swmrbus.open"],                                        # one part
            [b"swmrbus.open", msgpack.packb({}), b"third"],           # three parts
            [b"swmrbus.open\x1b[2J", msgpack.packb({})],               # escape in the topic
        ]
        for parts in garbage:
            self.pub.send_multipart(parts)
        note = {"series": 7, "frames": 12, "complete": 11, "written": 12, "seq": 3,
                "t": 1795996862123456789, "sink": "w", "via": "relay",
                "file": '/d/a "q"\\\n\tü\u009b.h5', "dataset": H.DATASET,
                "extra": {"nested": [1, -2, 2.5, None, True], "s": "x"}}
        # "raw": bytes that are not UTF-8, packed as a msgpack str
        body = msgpack.packb(dict(note, raw=b"a\xff\xc3("), use_bin_type=False)
        while plain.proc.poll() is None or js.proc.poll() is None:
            self.assertLess(time.monotonic(), deadline, "tail did not exit after --count 1")
            self.pub.send_multipart([b"swmrbus.flushed", body])
            time.sleep(0.1)
        self.assertEqual(plain.wait(), 0, plain.errors())
        self.assertEqual(js.wait(), 0, js.errors())

        for t in (plain, js):
            errs = t.errors()
            self.assertTrue(errs)
            for e in errs:
                self.assertTrue(e.startswith("swmrbus tail: malformed notification skipped"), e)
                self.assertNotIn("\x1b", e)
            self.assertEqual(len(t.lines()), 1, t.lines())
            joined = "".join(errs)
            # the ones sent once reached it after its first warning
            for want in ("not a msgpack map", "series: must be an unsigned integer",
                         "unknown notification topic", "1 parts", "3 parts"):
                self.assertIn(want, joined)
        line = plain.lines()[0]
        self.assertEqual(line, iso_ms(note["t"]) + " flushed  w series 7 frames 12 "
                               "complete 11 written 12 seq 3 via relay "
                               "file /d/a \"q\"\\??ü?.h5\n")
        self.assertIn("\\u009b", js.lines()[0])  # C1 escaped, not raw
        obj = json.loads(js.lines()[0])
        expect = dict(note, topic="swmrbus.flushed", raw="a\ufffd\ufffd(")
        self.assertEqual(obj, expect)

    def test_timeout_and_usage(self):
        t0 = time.monotonic()
        rc, out, err = run_cli("tail", self.ep, "--timeout", "1")
        self.assertEqual(rc, 2, err)
        self.assertIn("nothing arrived", err)
        self.assertEqual(out, "")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        for args in ([], ["--json"], [self.ep, "--count", "0"], [self.ep, "--count", "x"],
                     [self.ep, "--timeout", "-1"], [self.ep, "--timeout"],
                     [self.ep, "--topic", "nope"], [self.ep, "--bogus"], ["not-an-endpoint"]):
            rc, out, err = run_cli("tail", *args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertIn("usage: swmrbus tail", err, args)
            self.assertEqual(out, "", args)


class Check(unittest.TestCase):

    def test_example_configs(self):
        """Every *.yaml and *.json under configs/, subfolders (two-hosts/)
        included, passes check: exit 0 and the ok line. check never binds or
        connects, so analysis.yaml's placeholder host daq-host passes too."""
        top = os.path.join(H.SOURCE_DIR, "configs")
        paths = sorted(p for ext in ("yaml", "json")
                       for p in glob.glob(os.path.join(top, "**", "*." + ext), recursive=True))
        self.assertGreaterEqual(len(paths), 8)
        self.assertIn(os.path.join(top, "pipeline.yaml"), paths)
        self.assertIn(os.path.join(top, "two-hosts", "daq.yaml"), paths)
        self.assertIn(os.path.join(top, "two-hosts", "analysis.yaml"), paths)
        for path in paths:
            with open(path) as f:
                comps = yaml.safe_load(f)["components"]
            rc, out, err = run_cli("check", path)
            self.assertEqual(rc, 0, (path, out, err))
            want = "%s: ok (%d component%s: %s)\n" % (
                path, len(comps), "" if len(comps) == 1 else "s",
                ", ".join("%s %s" % (c["name"], c["kind"]) for c in comps))
            self.assertEqual(out, want)

    def test_plugin_kind_that_cannot_be_found(self):
        d = H.make_tempdir("chk")
        path = os.path.join(d, "p.yaml")
        with open(path, "w") as f:
            f.write("components:\n"
                    "  - {name: w, kind: sink, dir: %s, in: {endpoint: 'tcp://127.0.0.1:1'}}\n"
                    "  - {name: ext, kind: myplugin, in: {endpoint: 'inproc://x'}}\n"
                    % json.dumps(os.path.join(d, "data")))
        rc, out, err = run_cli("check", path)
        self.assertEqual(rc, 1, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertTrue(lines[0].startswith("%s: components[1] (ext): kind 'myplugin': not built "
                                            "in" % path), out)
        self.assertIn("libswmrbus_myplugin.so", lines[0])
        self.assertEqual(lines[1], "%s: 1 problem" % path)
        self.assertEqual(H.tree(d), ["p.yaml"])

    def test_every_problem_and_nothing_created(self):
        d = H.make_tempdir("chk")
        data = os.path.join(d, "must-not-exist")
        path = os.path.join(d, "bad.yaml")
        with open(path, "w") as f:
            f.write("components:\n"
                    "  - name: writer\n"
                    "    kind: sink\n"
                    "    in: {endpoint: 'tcp//nowhere', pattern: push}\n"
                    "    notify: {endpoint: 'ipc://%s/n.sock'}\n"
                    "    dir: %s\n"
                    "    flush: {frames: 0, ms: fast}\n"
                    "    compression: zstd\n"
                    "  - name: writer\n"
                    "    kind: source\n"
                    "    from: middle\n"
                    "    notify: {endpoint: 'ipc://%s/n.sock'}\n"
                    "  - kind: sim\n"
                    "    out: {endpoint: 'inproc://frames'}\n"
                    "    dtype: uint12\n"
                    "    dir: /tmp\n" % (data, json.dumps(data), data))
        before = H.tree(d)
        rc, out, err = run_cli("check", path)
        self.assertEqual(rc, 1, (out, err))
        lines = out.splitlines()
        want = ["components[0].in.endpoint: ", "components[0].in.pattern: ",
                "components[0].flush.frames: ", "components[0].flush.ms: ",
                "components[0].compression: ", "components[1].in: required",
                "components[1].from: ", "components[1].name: duplicate",
                "components[2].name: required", "components[2].dir: not a key of kind sim",
                "components[2].dtype: ", "components[1].notify: binds"]
        self.assertEqual(len(lines), len(want) + 1, out)
        for line, w in zip(lines, want):
            self.assertTrue(line.startswith("%s: %s" % (path, w)), (line, w))
        self.assertEqual(lines[-1], "%s: %d problems" % (path, len(want)))
        self.assertFalse(os.path.exists(data))
        self.assertEqual(H.tree(d), before)

        # A structural problem (unknown key): the parser stops at it.
        with open(path, "w") as f:
            f.write("components:\n  - {name: w, kind: sink, flush: {frmaes: 1}}\n")
        rc, out, err = run_cli("check", path)
        self.assertEqual(rc, 1)
        self.assertEqual(out.splitlines(), ["%s: components[0].flush.frmaes: unknown key" % path,
                                            "%s: 1 problem" % path])
        rc, out, err = run_cli("check", os.path.join(d, "absent.yaml"))
        self.assertEqual(rc, 1)
        self.assertIn("cannot open", out)
        for args in ([], ["--bogus", path], [path, path]):
            rc, out, err = run_cli("check", *args)
            self.assertEqual(rc, 2, args)
            self.assertIn("usage: swmrbus check", err)


class HelpAndVersion(unittest.TestCase):

    def test_every_help(self):
        for cmd in COMMANDS:
            for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
                rc, out, err = run_cli(*args)
                self.assertEqual(rc, 0, (args, err))
                for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS"):
                    self.assertIn("\n" + section + "\n", "\n" + out, (args, section))
                self.assertIn("swmrbus " + cmd, out)
                self.assertEqual(err, "")
        rc, out, err = run_cli("--help")
        self.assertEqual(rc, 0)
        for cmd in COMMANDS:
            self.assertRegex(out, r"\n  %s\b" % cmd)
        rc, out, err = run_cli("ctl", "tcp://127.0.0.1:1", "status", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("SYNOPSIS", out)

    def test_version(self):
        rc1, out1, _ = run_cli("--version")
        rc2, out2, _ = run_cli("version")
        self.assertEqual((rc1, rc2), (0, 0))
        self.assertEqual(out1, out2)
        self.assertRegex(out1, r"^swmrbus \d+\.\d+\.\d+ \(wire protocol 1, plugin ABI 2\)\n$")

    def test_usage_errors(self):
        for args in (["bogus"], [], ["run", "--bogus"], ["run"], ["demo", "--bogus"],
                     ["recover", "--bogus"], ["recover"], ["ctl", "--bogus"],
                     ["check", "--bogus"], ["version", "--bogus"], ["tail", "--bogus"],
                     ["help", "bogus"]):
            rc, out, err = run_cli(*args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(out, "", args)
            self.assertIn("usage: swmrbus", err, args)


class FakeRep:
    """A REP socket answering each request with the next canned reply (raw
    bytes) and recording the requests."""

    def __init__(self, replies):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
        self.sock.bind(self.ep)
        self.replies = list(replies)
        self.requests = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.replies:
            if not self.sock.poll(int(H.TIMEOUT * 1000)):
                return
            self.requests.append(H.unpack(self.sock.recv()))
            self.sock.send(self.replies.pop(0))

    def close(self):
        self.thread.join(H.TIMEOUT)
        self.sock.close()


class Ctl(H.SinkTestCase):

    def test_exit_codes_against_a_sink(self):
        sk = self.start_sink(flush_frames=100000, flush_ms=60000)
        tx = self.sender(sk)
        tx.start(4, dtype="uint16", shape=SHAPE)
        tx.frame(4, 0, H.frame_data(4, 0, SHAPE).tobytes())
        sk.wait_received(4, 1)
        rc, out, err = sk.ctl_cli("status")
        self.assertEqual(rc, 0, err)
        st = json.loads(out)
        self.assertIs(st["ok"], True)
        self.assertEqual(st["series"][0]["series"], 4)
        rc, out, err = sk.ctl_cli("flush", 4, "--timeout", "30")
        self.assertEqual((rc, json.loads(out)), (0, {"ok": True}), err)
        rc, out, err = sk.ctl_cli("close", 99)
        self.assertEqual(rc, 1, (out, err))
        self.assertIs(json.loads(out)["ok"], False)
        self.assertIn("series 99", err)
        rc, out, err = sk.ctl_cli("close", 4)
        self.assertEqual(rc, 0, err)
        for bad in ("abc", "1.5", "0x10", "", "18446744073709551616", "4 5"):
            rc, out, err = sk.ctl_cli("close", bad)
            self.assertEqual(rc, 2, (bad, out, err))
            self.assertIn("SERIES must be a decimal number", err)
            self.assertEqual(out, "")
        for args in (["reboot"], [], ["close", "1", "2"], ["status", "--timeout", "0"],
                     ["status", "--timeout", "soon"], ["status", "--bogus"]):
            rc, out, err = sk.ctl_cli(*args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertIn("usage: swmrbus ctl", err)
        sk.stop_ok()

    def test_nothing_listening(self):
        ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
        rc, out, err = run_cli("ctl", ep, "status", "--timeout", "1")
        self.assertEqual(rc, 2, err)
        self.assertIn("no reply within 1 s", err)
        self.assertEqual(out, "")
        rc, out, err = run_cli("ctl", "nowhere", "status", "--timeout", "1")
        self.assertEqual(rc, 2, err)

    def test_bad_request_and_malformed_replies(self):
        replies = [H.pack({"ok": False, "error": "bad request: \x1b[31mno"}),
                   H.pack({"ok": True, "x": [1.5, None]}),
                   b"\xdf\xff\xff\xff\xff",          # a map claiming 4G pairs: scanner
                   b"\xc1",                          # never-used byte
                   H.pack([1, 2]),                   # not a map
                   H.pack({"status": "fine"}),       # no "ok"
                   H.pack({"ok": True}) + b"\x00"]   # trailing bytes
        rep = FakeRep(replies)
        self.addCleanup(rep.close)
        rc, out, err = run_cli("ctl", rep.ep, "flush", 7)
        self.assertEqual(rc, 1, err)
        self.assertIn("bad request: ?[31mno", err)
        self.assertEqual(json.loads(out), {"ok": False, "error": "bad request: \x1b[31mno"})
        rc, out, err = run_cli("ctl", rep.ep, "status")
        self.assertEqual((rc, json.loads(out)), (0, {"ok": True, "x": [1.5, None]}))
        for _ in replies[2:]:
            rc, out, err = run_cli("ctl", rep.ep, "close")
            self.assertEqual(rc, 1, (out, err))
            self.assertIn("malformed reply", err)
        self.assertEqual(rep.requests[:3], [{"cmd": "flush", "series": 7}, {"cmd": "status"},
                                            {"cmd": "close"}])


if __name__ == "__main__":
    H.main()
