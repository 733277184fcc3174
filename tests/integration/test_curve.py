"""CURVE on every socket (README "Security"): a sink with curve on in,
notify and control, on 127.0.0.1.

Allowed clients (one key made by `swmrbus keygen`, one by pyzmq's
zmq.auth.create_certificates) send frames that land in the file, receive
notifications and get status through control. A client with a key that is
not allowed and a client without CURVE get nothing through in either
direction: their frames are not in any file, they receive no notification,
their control requests get no reply; `auth_denied` in status counts them.
Also: keygen's files (modes, no overwrite, pyzmq reads them) and the config
errors that `swmrbus run` refuses to start with.
"""
import glob
import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import zmq  # noqa: E402
import zmq.auth  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (8, 16)
FRAMES = 6
# How long a refused client is given to get anything through. Not a timing
# assertion: nothing may arrive however long it waits; this bounds the test.
REFUSED_WAIT_S = 3.0


def keygen(*args):
    return subprocess.run([H.BIN, "keygen"] + list(args), capture_output=True, text=True,
                          timeout=H.TIMEOUT)


class Client:
    """A set of sockets of one client identity: keys (public, secret) as
    Z85 bytes, or None for a client without CURVE."""

    def __init__(self, keys, server_public):
        self.keys = keys
        self.server_public = server_public
        self.ctx = zmq.Context()
        self.socks = []

    def socket(self, kind):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if self.keys is not None:
            s.curve_publickey, s.curve_secretkey = self.keys
            s.curve_serverkey = self.server_public
        self.socks.append(s)
        return s

    def request(self, endpoint, req, timeout):
        """The decoded reply, or None when none came within timeout s."""
        s = self.socket(zmq.REQ)
        s.connect(endpoint)
        s.send(H.pack(req))
        if not s.poll(int(timeout * 1000)):
            return None
        return H.unpack(s.recv())

    def close(self):
        for s in self.socks:
            s.close()
        self.ctx.term()


class Curve(H.SinkTestCase):

    def setUp(self):
        self.tmp = H.make_tempdir("cv")
        self.keys = os.path.join(self.tmp, "keys")
        self.allow = os.path.join(self.tmp, "clients")
        os.makedirs(self.keys)
        os.makedirs(self.allow)

    def make_keys(self):
        """sink and alice by swmrbus keygen, bob by pyzmq; alice and bob
        allowed; mallory (a fresh pair) not."""
        for name in ("sink", "alice"):
            r = keygen(name, "--dir", self.keys)
            self.assertEqual(r.returncode, 0, r.stderr)
        zmq.auth.create_certificates(self.keys, "bob")
        for name in ("alice", "bob"):
            with open(os.path.join(self.keys, name + ".key"), "rb") as f:
                data = f.read()
            with open(os.path.join(self.allow, name + ".key"), "wb") as f:
                f.write(data)
        self.sink_public, _ = zmq.auth.load_certificate(os.path.join(self.keys, "sink.key"))
        self.alice = zmq.auth.load_certificate(os.path.join(self.keys, "alice.key_secret"))
        self.bob = zmq.auth.load_certificate(os.path.join(self.keys, "bob.key_secret"))
        self.mallory = zmq.curve_keypair()

    def test_keygen_files(self):
        r = keygen("det-1", "--dir", self.keys)
        self.assertEqual(r.returncode, 0, r.stderr)
        pub = os.path.join(self.keys, "det-1.key")
        sec = os.path.join(self.keys, "det-1.key_secret")
        self.assertEqual(stat.S_IMODE(os.stat(sec).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(pub).st_mode) & 0o077, 0o044)
        # pyzmq reads what keygen wrote: the same public key in both, and a
        # secret key that belongs to it
        p1, s1 = zmq.auth.load_certificate(sec)
        p2, s2 = zmq.auth.load_certificate(pub)
        self.assertEqual(p1, p2)
        self.assertIsNone(s2)
        self.assertEqual(len(p1), 40)
        self.assertEqual(zmq.curve_public(s1), p1)
        # never overwrites
        with open(sec, "rb") as f:
            before = f.read()
        r = keygen("det-1", "--dir", self.keys)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("refusing to overwrite", r.stderr)
        with open(sec, "rb") as f:
            self.assertEqual(f.read(), before)
        # usage errors
        self.assertEqual(keygen().returncode, 2)
        self.assertEqual(keygen("a/b").returncode, 2)
        self.assertNotEqual(keygen("x", "--dir", os.path.join(self.tmp, "nope")).returncode, 0)

    def write_config(self, text):
        path = os.path.join(self.tmp, "curve.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_check(self, config_path):
        return subprocess.run([H.BIN, "run", config_path], capture_output=True, text=True,
                              timeout=H.TIMEOUT, stdin=subprocess.DEVNULL)

    def test_config_refused(self):
        self.make_keys()
        data = os.path.join(self.tmp, "data")
        port = H.free_tcp_port()
        base = ("components:\n"
                "  - name: w\n"
                "    kind: sink\n"
                "    dir: %s\n"
                "    in: {endpoint: 'tcp://127.0.0.1:%d'}\n" % (data, port))
        cases = [
            ("    control: {endpoint: 'tcp://0.0.0.0:%d'}\n" % H.free_tcp_port(),
             "components[0].control: a control socket on a non-loopback address needs curve"),
            ("    notify: {endpoint: 'tcp://127.0.0.1:%d', curve: {secret_key: %s}}\n"
             % (H.free_tcp_port(), H._yaml(os.path.join(self.keys, "sink.key_secret"))),
             "components[0].notify.curve.allow: required on a binding socket"),
            ("    notify: {endpoint: 'tcp://127.0.0.1:%d', curve: {secret_key: %s, allow: %s}}\n"
             % (H.free_tcp_port(), H._yaml(os.path.join(self.keys, "missing.key_secret")),
                H._yaml(self.allow)),
             "components[0].notify.curve.secret_key: "),
        ]
        for extra, want in cases:
            r = self.run_check(self.write_config(base + extra))
            self.assertNotEqual(r.returncode, 0, r.stderr)
            self.assertIn(want, r.stderr)
        self.assertFalse(os.path.exists(data), "a refused config created the data dir")

    def test_sink_with_curve(self):
        self.make_keys()
        secret = H._yaml(os.path.join(self.keys, "sink.key_secret"))
        curve = "curve: {secret_key: %s, allow: %s}" % (secret, H._yaml(self.allow))
        in_ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
        notify_ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
        control_ep = "tcp://127.0.0.1:%d" % H.free_tcp_port()
        data = os.path.join(self.tmp, "data")
        cfg = self.write_config(
            "components:\n"
            "  - name: secure\n"
            "    kind: sink\n"
            "    dir: %s\n"
            "    linger_ms: 200\n"
            "    flush: {frames: 2, ms: 100}\n"
            "    in: {endpoint: %s, %s}\n"
            "    notify: {endpoint: %s, %s}\n"
            "    control: {endpoint: %s, %s}\n"
            % (H._yaml(data), H._yaml(in_ep), curve, H._yaml(notify_ep), curve,
               H._yaml(control_ep), curve))
        sk = H.RunProcess(cfg, os.path.join(self.tmp, "sink.log"), control_ep=None,
                          label="curve sink")
        self.addCleanup(sk.cleanup)
        sk.start()

        clients = {name: Client(keys, self.sink_public) for name, keys in
                   (("alice", self.alice), ("bob", self.bob), ("mallory", self.mallory),
                    ("plain", None))}
        for c in clients.values():
            self.addCleanup(c.close)
        alice, bob, mallory, plain = (clients[n] for n in ("alice", "bob", "mallory", "plain"))

        # control with curve: the allowed clients get status
        st = H.wait_until(lambda: alice.request(control_ep, {"cmd": "status"}, 2.0),
                          what="status through CURVE control (alice)")
        self.assertTrue(st["ok"])
        self.assertEqual(st["auth_denied"], 0)
        self.assertTrue(bob.request(control_ep, {"cmd": "status"}, H.TIMEOUT)["ok"])
        self.check_cli_ctl(control_ep)

        # notifications: one SUB per client; the allowed one is connected
        # once its handshake succeeded
        subs = {}
        for name, c in clients.items():
            s = c.socket(zmq.SUB)
            s.setsockopt(zmq.SUBSCRIBE, b"")
            if name == "alice":
                mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
            s.connect(notify_ep)
            subs[name] = s
        from zmq.utils.monitor import recv_monitor_message
        self.assertTrue(mon.poll(int(H.TIMEOUT * 1000)), "alice's SUB: no handshake")
        self.assertEqual(recv_monitor_message(mon)["event"], zmq.EVENT_HANDSHAKE_SUCCEEDED)
        subs["alice"].disable_monitor()
        mon.close()
        # The subscription reaches the publisher some time after the
        # handshake: prove it is live (a series closes at once now, so a late
        # subscription would miss it). A bad message from alice makes the sink
        # publish swmrbus.error; repeat until alice's SUB hears one.
        probe = alice.socket(zmq.PUSH)
        probe.connect(in_ep)
        heard = False
        deadline = time.monotonic() + H.TIMEOUT
        while not heard and time.monotonic() < deadline:
            probe.send(b"\xc1", zmq.NOBLOCK)  # never valid msgpack
            while subs["alice"].poll(300):
                topic, _ = subs["alice"].recv_multipart()
                heard = heard or topic == b"swmrbus.error"
        self.assertTrue(heard, "alice's SUB never heard the sink")
        # error notices are rate-limited: one held back may follow; drain it
        while subs["alice"].poll(1200):
            subs["alice"].recv_multipart()

        # frames: series 1 from alice, 2 from bob (allowed); 3 from mallory,
        # 4 from a client without CURVE (refused)
        rows = {}
        for series, c in ((1, alice), (2, bob), (3, mallory), (4, plain)):
            push = probe if c is alice else c.socket(zmq.PUSH)
            if c is not alice:
                push.connect(in_ep)
            push.send_multipart(H.start_msg(series, shape=SHAPE), zmq.NOBLOCK)
            rows[series] = [H.frame_data(series, i, SHAPE) for i in range(FRAMES)]
            for i, a in enumerate(rows[series]):
                push.send_multipart(H.frame_msg(series, i, a.tobytes()), zmq.NOBLOCK)
            push.send_multipart(H.end_msg(series, FRAMES), zmq.NOBLOCK)

        # alice's SUB sees both allowed series closed
        got = []
        deadline = time.monotonic() + H.TIMEOUT
        closed = set()
        while closed != {1, 2} and time.monotonic() < deadline:
            if subs["alice"].poll(500):
                topic, body = subs["alice"].recv_multipart()
                m = H.unpack(body)
                got.append((topic.decode(), m))
                if topic == b"swmrbus.closed":
                    closed.add(m["series"])
        self.assertEqual(closed, {1, 2}, "alice's notifications: %r\n%s" % (got, sk.log_text()))
        self.assertTrue(any(t == "swmrbus.flushed" and m["series"] == 1 for t, m in got))

        # the refused clients: no reply from control, no notification
        self.assertIsNone(mallory.request(control_ep, {"cmd": "status"}, REFUSED_WAIT_S))
        self.assertIsNone(plain.request(control_ep, {"cmd": "status"}, REFUSED_WAIT_S))
        for name in ("mallory", "plain"):
            self.assertEqual(subs[name].poll(0), 0, "%s received a notification" % name)

        # status: only the allowed series, and the refused clients counted
        # (each of their six sockets at least once; they retry, so more)
        def denied():
            s = alice.request(control_ep, {"cmd": "status"}, H.TIMEOUT)
            return s if s["auth_denied"] >= 6 else None
        st = H.wait_until(denied, what="auth_denied >= 6", interval=0.5)
        self.assertEqual(sorted(s["series"] for s in st["series"]), [1, 2])

        self.check_cli_tail(notify_ep, probe)

        # the files: exactly series 1 and 2, every frame right
        sk.stop_ok()
        files = sorted(glob.glob(os.path.join(data, "*.h5")))
        self.assertEqual(len(files), 2, files)
        seen = set()
        for path in files:
            with h5py.File(path, "r") as f:
                d = f[H.DATASET][...]
            self.assertEqual(d.shape, (FRAMES,) + SHAPE)
            series = 1 if np.array_equal(d[0], rows[1][0]) else 2
            seen.add(series)
            for i in range(FRAMES):
                np.testing.assert_array_equal(d[i], rows[series][i])
        self.assertEqual(seen, {1, 2})
        log = sk.log_text(400)
        self.assertIn("CURVE denied", log)
        self.assertIn("not in allow", log)

    def cli(self, *args, timeout=None):
        return subprocess.run([H.BIN] + list(args), capture_output=True, text=True,
                              timeout=timeout or H.TIMEOUT)

    def check_cli_ctl(self, control_ep):
        """swmrbus ctl with --secret-key/--server-key: keygen's and pyzmq's
        certificates get status; no keys or a key not allowed get no reply
        (exit 2); half the options, or a public file as the secret one, are
        usage errors naming the problem."""
        k = lambda n: os.path.join(self.keys, n)
        for who in ("alice", "bob"):
            r = self.cli("ctl", control_ep, "status", "--secret-key", k(who + ".key_secret"),
                         "--server-key", k("sink.key"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIs(json.loads(r.stdout)["ok"], True)
        zmq.auth.create_certificates(self.keys, "eve")  # a valid pair, not allowed
        for extra in ([], ["--secret-key", k("eve.key_secret"), "--server-key", k("sink.key")]):
            r = self.cli("ctl", control_ep, "status", "--timeout", "1", *extra)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("no reply", r.stderr)
        r = self.cli("ctl", control_ep, "status", "--secret-key", k("alice.key_secret"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("both --secret-key and --server-key", r.stderr)
        r = self.cli("ctl", control_ep, "status", "--secret-key", k("alice.key"),
                     "--server-key", k("sink.key"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no secret key", r.stderr)
        r = self.cli("ctl", control_ep, "status", "--secret-key", k("nope.key_secret"),
                     "--server-key", k("sink.key"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.key_secret", r.stderr)

    def check_cli_tail(self, notify_ep, probe):
        """swmrbus tail with CURVE keys hears the sink's error notices (made by
        bad messages on the allowed probe); with a key not allowed it hears
        nothing and its --timeout expires (exit 2)."""
        k = lambda n: os.path.join(self.keys, n)
        keys = lambda who: ["--secret-key", k(who + ".key_secret"), "--server-key",
                            k("sink.key")]
        good = subprocess.Popen([H.BIN, "tail", notify_ep, "--json", "--topic", "error",
                                 "--count", "1", "--timeout", str(H.TIMEOUT)] + keys("alice"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        bad = subprocess.Popen([H.BIN, "tail", notify_ep, "--topic", "error", "--timeout",
                                "4"] + keys("eve"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + H.TIMEOUT
        while good.poll() is None and time.monotonic() < deadline:
            probe.send(b"\xc1", zmq.NOBLOCK)  # never valid msgpack: an error notice
            time.sleep(0.3)
        out, err = good.communicate(timeout=H.TIMEOUT)
        self.assertEqual(good.returncode, 0, err)
        self.assertEqual(json.loads(out.splitlines()[0])["topic"], "swmrbus.error")
        out, err = bad.communicate(timeout=H.TIMEOUT)
        self.assertEqual(bad.returncode, 2, err)
        self.assertEqual(out, "")

    def test_sink_and_source_with_curve(self):
        """One process, a sink and a source: the source's in connects to the
        sink's notify with curve (server_key); each server socket admits only
        its own allow set (the sink's notify the source, the source's out
        the reader) through the one ZAP handler of the process."""
        self.make_keys()
        for name in ("source", "reader"):
            r = keygen(name, "--dir", self.keys)
            self.assertEqual(r.returncode, 0, r.stderr)
        dirs = {}
        for d, names in (("detectors", ["alice"]), ("sources", ["source"]),
                         ("readers", ["reader"])):
            dirs[d] = os.path.join(self.tmp, d)
            os.makedirs(dirs[d])
            for n in names:
                with open(os.path.join(self.keys, n + ".key"), "rb") as f:
                    data = f.read()
                with open(os.path.join(dirs[d], n + ".key"), "wb") as f:
                    f.write(data)
        key = lambda n: H._yaml(os.path.join(self.keys, n))  # noqa: E731
        ep = {k: "tcp://127.0.0.1:%d" % H.free_tcp_port()
              for k in ("in", "notify", "sctl", "out", "rctl")}
        data = os.path.join(self.tmp, "data")
        cfg = self.write_config(
            "components:\n"
            "  - name: writer\n"
            "    kind: sink\n"
            "    dir: %s\n"
            "    linger_ms: 200\n"
            "    flush: {frames: 2, ms: 100}\n"
            "    in: {endpoint: %s, curve: {secret_key: %s, allow: %s}}\n"
            "    notify: {endpoint: %s, curve: {secret_key: %s, allow: %s}}\n"
            "    control: {endpoint: %s}\n"
            "  - name: reader\n"
            "    kind: source\n"
            "    in: {endpoint: %s, curve: {secret_key: %s, server_key: %s}}\n"
            "    out: {endpoint: %s, pattern: push, curve: {secret_key: %s, allow: %s}}\n"
            "    control: {endpoint: %s}\n"
            % (H._yaml(data),
               H._yaml(ep["in"]), key("sink.key_secret"), H._yaml(dirs["detectors"]),
               H._yaml(ep["notify"]), key("sink.key_secret"), H._yaml(dirs["sources"]),
               H._yaml(ep["sctl"]),
               H._yaml(ep["notify"]), key("source.key_secret"), key("sink.key"),
               H._yaml(ep["out"]), key("source.key_secret"), H._yaml(dirs["readers"]),
               H._yaml(ep["rctl"])))
        proc = H.RunProcess(cfg, os.path.join(self.tmp, "pipeline.log"), control_ep=ep["rctl"],
                            label="sink+source with curve")
        self.addCleanup(proc.cleanup)
        proc.start()

        server = self.sink_public
        source_public, _ = zmq.auth.load_certificate(os.path.join(self.keys, "source.key"))
        reader = Client(zmq.auth.load_certificate(os.path.join(self.keys, "reader.key_secret")),
                        source_public)
        alice_out = Client(self.alice, source_public)  # a detector, not a reader
        alice_in = Client(self.alice, server)
        for c in (reader, alice_out, alice_in):
            self.addCleanup(c.close)
        pull = reader.socket(zmq.PULL)
        pull.connect(ep["out"])
        stolen = alice_out.socket(zmq.PULL)
        stolen.connect(ep["out"])

        push = alice_in.socket(zmq.PUSH)
        push.connect(ep["in"])
        rows = [H.frame_data(1, i, SHAPE) for i in range(FRAMES)]
        push.send_multipart(H.start_msg(1, shape=SHAPE))
        for i, a in enumerate(rows):
            push.send_multipart(H.frame_msg(1, i, a.tobytes()))
        push.send_multipart(H.end_msg(1, FRAMES))

        got = {}
        types = []
        deadline = time.monotonic() + H.TIMEOUT
        while "end" not in types and time.monotonic() < deadline:
            if pull.poll(500):
                parts = pull.recv_multipart()
                h = H.unpack(parts[0])
                types.append(h["type"])
                if h["type"] == "frame":
                    got[h["frame"]] = np.frombuffer(parts[1], "<u2").reshape(SHAPE)
        self.assertIn("end", types, "the reader got %r\n%s" % (types, proc.log_text()))
        self.assertEqual(sorted(got), list(range(FRAMES)))
        for i in range(FRAMES):
            np.testing.assert_array_equal(got[i], rows[i])
        self.assertEqual(stolen.poll(0), 0, "a client not in the source's allow got frames")

        # the source counts the refused reader; the sink counted nothing
        def denied():
            s = H.request(ep["rctl"], {"cmd": "status"})
            return s if s["auth_denied"] >= 1 else None
        H.wait_until(denied, what="the source's auth_denied >= 1", interval=0.5)
        self.assertEqual(H.request(ep["sctl"], {"cmd": "status"})["auth_denied"], 0)
        proc.stop_ok()


if __name__ == "__main__":
    H.main()
