#!/usr/bin/python3
"""An outside plugin, as a DAQ engineer builds one: swmrbus installed into a
temporary prefix (cmake --install), the example hit finder in
examples/plugins/hitfinder built against that install twice (pkg-config and
CMake find_package), loaded by config (a path, a name in the install's plugin
directory, a name on SWMRBUS_PLUGIN_PATH) between a detector and a sink, its
results and the sink's file checked from outside; and every way a plugin can
fail to load or configure, each a clear error naming the file or the key
path, before any component runs."""
import os
import shutil
import subprocess
import sys
import unittest

import h5py
import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swmrbus_harness as H  # noqa: E402

BUILD = os.path.dirname(os.path.dirname(H.BIN))
EXAMPLE = os.path.join(H.SOURCE_DIR, "examples", "plugins", "hitfinder")
SHAPE = (32, 48)
FRAMES = 20
THRESHOLD = 1000
MIN_PIXELS = 10


def run(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, timeout=600)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), r.returncode,
                                                          r.stdout.decode(), r.stderr.decode()))
    return r


def frame(i):
    """Even frames are hits: 50 pixels at 5000 over a background below the
    threshold; odd frames are background only."""
    a = (np.arange(SHAPE[0] * SHAPE[1], dtype=np.uint16).reshape(SHAPE) + i) % 700
    if i % 2 == 0:
        a.flat[i:i + 50] = 5000
    return a


class PluginSdk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = H.make_tempdir("plug")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        cls.libdir = os.path.join(cls.prefix, "lib")
        cls.cli = os.path.join(cls.prefix, "bin", "swmrbus")
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(cls.libdir, "pkgconfig"))
        cls.env = env
        # 1. pkg-config --cflags --libs swmrbus
        cls.pc_out = os.path.join(cls.tmp, "pc")
        os.makedirs(cls.pc_out)
        run(["make", "-s", "-C", EXAMPLE, "OUT=" + cls.pc_out], env=env)
        cls.pc_plugin = os.path.join(cls.pc_out, "libswmrbus_hitfinder.so")
        # 2. CMake find_package(swmrbus), installed into the plugin directory
        cls.cm_build = os.path.join(cls.tmp, "cm")
        run(["cmake", "-S", EXAMPLE, "-B", cls.cm_build, "-DCMAKE_PREFIX_PATH=" + cls.prefix])
        run(["cmake", "--build", cls.cm_build])
        run(["cmake", "--install", cls.cm_build])

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("SWMRBUS_TEST_KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- the install ----------------------------------------------------------

    def test_install_layout(self):
        p = self.prefix
        for f in ("bin/swmrbus", "lib/libswmrbus.so", "lib/pkgconfig/swmrbus.pc",
                  "lib/cmake/swmrbus/swmrbusConfig.cmake", "include/swmrbus/loop.h",
                  "include/swmrbus/stream.h", "include/swmrbus/notify.h",
                  "include/swmrbus/options.h", "include/swmrbus/plugin.h",
                  "lib/swmrbus/plugins/libswmrbus_hitfinder.so"):
            self.assertTrue(os.path.exists(os.path.join(p, f)), f)
        # Only what libswmrbus provides: the sink and source are not in it.
        for f in ("include/swmrbus/sink.h", "include/swmrbus/source.h"):
            self.assertFalse(os.path.exists(os.path.join(p, f)), f)
        r = run(["pkg-config", "--variable=plugindir", "swmrbus"], env=self.env)
        self.assertEqual(os.path.realpath(r.stdout.decode().strip()),
                         os.path.realpath(os.path.join(p, "lib", "swmrbus", "plugins")))
        # The installed CLI runs from the prefix, on the installed library.
        r = run([self.cli, "version"])
        self.assertIn("plugin ABI 2", r.stdout.decode())
        ldd = run(["ldd", self.cli]).stdout.decode().split("\n")
        lib = [ln.split("=>")[1].split()[0] for ln in ldd if "libswmrbus.so" in ln]
        self.assertEqual(os.path.dirname(os.path.realpath(lib[0])),
                         os.path.realpath(self.libdir), ldd)

    # ---- a pipeline with the plugin -----------------------------------------

    def pipeline(self, kind, forward="all", env=None):
        d = H.make_tempdir("hf")
        self.addCleanup(shutil.rmtree, d, True)
        eps = {k: "tcp://127.0.0.1:%d" % H.free_tcp_port()
               for k in ("in", "results", "hf_control", "notify", "control")}
        cfg = os.path.join(d, "pipeline.yaml")
        with open(cfg, "w") as f:
            f.write("""components:
  - name: hits
    kind: %s
    in: {endpoint: "%s", pattern: pull, bind: true}
    out: {endpoint: "inproc://hits-to-sink", pattern: push, bind: true}
    notify: {endpoint: "%s"}
    control: {endpoint: "%s"}
    options:
      threshold: %d
      min_pixels: %d
      forward: %s
  - name: writer
    kind: sink
    in: {endpoint: "inproc://hits-to-sink", pattern: pull, bind: false}
    notify: {endpoint: "%s"}
    control: {endpoint: "%s"}
    dir: %s
    flush: {frames: 5, ms: 50}
""" % (kind, eps["in"], eps["results"], eps["hf_control"], THRESHOLD, MIN_PIXELS, forward,
                eps["notify"], eps["control"], os.path.join(d, "data")))
        p = H.RunProcess(cfg, os.path.join(d, "run.log"), eps["control"], bin=self.cli,
                         env=env)
        self.addCleanup(p.cleanup)
        p.start()
        results = H.Collector(eps["results"])
        self.addCleanup(results.close)
        notes = H.Collector(eps["notify"])
        self.addCleanup(notes.close)
        s = H.Sender(eps["in"])
        self.addCleanup(s.close)
        s.start(1, dtype="uint16", shape=SHAPE)
        for i in range(FRAMES):
            s.frame(1, i, frame(i).tobytes())
        s.end(1, FRAMES)
        H.wait_until(lambda: len(results.of("hitfinder.result")) >= FRAMES,
                     what="a result per frame")
        notes.wait_closed(1)
        st = H.request(eps["hf_control"], {"cmd": "status"})
        p.stop_ok()
        return d, [m for t, m in results.snapshot() if t == "hitfinder.result"], st, notes

    def check_results(self, res, st):
        self.assertEqual(sorted(r["frame"] for r in res), list(range(FRAMES)))
        for r in res:
            a = frame(r["frame"])
            self.assertTrue(r["analysed"])
            self.assertEqual(r["series"], 1)
            self.assertEqual(r["sum"], float(a.sum(dtype=np.float64)), r)
            self.assertEqual(r["max"], float(a.max()), r)
            self.assertEqual(r["lit"], int((a > THRESHOLD).sum()), r)
            self.assertEqual(r["hit"], r["frame"] % 2 == 0, r)
        self.assertTrue(st["ok"])
        self.assertEqual(st["kind"], "hitfinder")
        self.assertEqual((st["frames"], st["hits"]), (FRAMES, FRAMES // 2))

    def test_pkgconfig_build_loaded_by_path(self):
        d, res, st, notes = self.pipeline(self.pc_plugin)
        self.check_results(res, st)
        self.assertEqual(st["forwarded"], FRAMES + 2)  # start, frames, end
        closed = notes.of("swmrbus.closed", 1)[-1]
        with h5py.File(closed["file"], "r") as f:
            data = f[H.DATASET][...]
        self.assertEqual(data.shape, (FRAMES,) + SHAPE)
        for i in range(FRAMES):
            np.testing.assert_array_equal(data[i], frame(i))

    def test_cmake_build_loaded_by_name_from_plugin_dir(self):
        # No SWMRBUS_PLUGIN_PATH: found in <prefix>/lib/swmrbus/plugins.
        env = dict(os.environ)
        env.pop("SWMRBUS_PLUGIN_PATH", None)
        d, res, st, notes = self.pipeline("hitfinder", forward="hits", env=env)
        self.check_results(res, st)
        self.assertEqual(st["vetoed"], FRAMES // 2)
        closed = notes.of("swmrbus.closed", 1)[-1]
        self.assertEqual(closed["written"], FRAMES // 2)
        with h5py.File(closed["file"], "r") as f:
            data = f[H.DATASET][...]
        for i in range(0, FRAMES, 2):
            np.testing.assert_array_equal(data[i], frame(i))

    def test_name_on_plugin_path(self):
        # A plugin directory of one's own, first on the search path.
        own = os.path.join(self.tmp, "own")
        os.makedirs(own, exist_ok=True)
        shutil.copy(self.pc_plugin, os.path.join(own, "libswmrbus_myhits.so"))
        env = dict(os.environ, SWMRBUS_PLUGIN_PATH="/nonexistent:" + own)
        d, res, st, _ = self.pipeline("myhits", env=env)
        self.check_results(res, st)

    # ---- plugins that must not run ---------------------------------------------

    def fails(self, kind, options="{}", env=None):
        """Runs a sink (first) and a component of kind; asserts a non-zero
        exit before anything ran (the sink's dir is not even created) and
        returns stderr."""
        d = H.make_tempdir("bad")
        self.addCleanup(shutil.rmtree, d, True)
        data = os.path.join(d, "data")
        cfg = os.path.join(d, "bad.yaml")
        with open(cfg, "w") as f:
            f.write("""components:
  - name: writer
    kind: sink
    in: {endpoint: "inproc://x", bind: true}
    dir: %s
  - name: plug
    kind: %s
    in: {endpoint: "tcp://127.0.0.1:%d", pattern: pull, bind: true}
    out: {endpoint: "inproc://x", pattern: push, bind: false}
    options: %s
""" % (data, kind, H.free_tcp_port(), options))
        r = subprocess.run([self.cli, "run", cfg], capture_output=True, timeout=60, env=env,
                           stdin=subprocess.DEVNULL)
        err = r.stderr.decode()
        self.assertNotEqual(r.returncode, 0, err)
        self.assertFalse(os.path.exists(data), "a component ran before the error: " + err)
        return err

    def cc(self, name, source):
        src = os.path.join(self.tmp, name + ".c")
        out = os.path.join(self.tmp, "lib%s.so" % name)
        with open(src, "w") as f:
            f.write(source)
        run(["cc", "-shared", "-fPIC", "-o", out, src, "-I" + os.path.join(self.prefix, "include")]
            + subprocess.run(["pkg-config", "--cflags", "libzmq", "msgpack"],
                             capture_output=True).stdout.decode().split())
        return out

    def test_wrong_abi_version(self):
        so = self.cc("abi99", """#include <swmrbus/plugin.h>
static swmrbus_err c(const swmrbus_component_args *a, void **s, char *e, size_t n)
{ (void)a; (void)s; (void)e; (void)n; return SWMRBUS_EINVAL; }
static swmrbus_err r(void *s) { (void)s; return SWMRBUS_OK; }
static void st(void *s) { (void)s; }
static void d(void **s) { (void)s; }
static const swmrbus_component_vtable vt = {99, sizeof vt, "abi99", c, r, st, d, 0};
const swmrbus_component_vtable *swmrbus_plugin_component(void) { return &vt; }
""")
        err = self.fails(so)
        self.assertIn(so, err)
        self.assertIn("built for plugin ABI 99", err)

    def test_missing_entry_symbol(self):
        so = self.cc("noentry", "int not_a_plugin(void) { return 1; }\n")
        err = self.fails(so)
        self.assertIn(so, err)
        self.assertIn("no symbol swmrbus_plugin_component", err)

    def test_not_loadable(self):
        junk = os.path.join(self.tmp, "libswmrbus_junk.so")
        with open(junk, "w") as f:
            f.write("this is not an ELF file\n")
        err = self.fails("junk", env=dict(os.environ, SWMRBUS_PLUGIN_PATH=self.tmp))
        self.assertIn(junk, err)
        self.assertIn("cannot load", err)

    def test_not_found(self):
        err = self.fails("nosuchthing", env=dict(os.environ, SWMRBUS_PLUGIN_PATH=self.tmp))
        self.assertIn("libswmrbus_nosuchthing.so", err)
        self.assertIn(self.tmp, err)
        err = self.fails("../../etc/evil")  # a path: its own file, not found
        self.assertIn("../../etc/evil", err)

    def test_option_errors_name_their_path(self):
        err = self.fails(self.pc_plugin, "{threshold: lots}")
        self.assertIn("components[1].options.threshold: expected a number", err)
        err = self.fails(self.pc_plugin, "{treshold: 5}")
        self.assertIn("components[1].options.treshold: unknown key", err)
        err = self.fails(self.pc_plugin, "{forward: some}")
        self.assertIn("components[1].options.forward: expected all or hits", err)
        err = self.fails(self.pc_plugin, "[1, 2]")
        self.assertIn("components[1].options: expected a map", err)

    def test_check_loads_the_plugin_and_checks_its_options(self):
        d = H.make_tempdir("chk")
        self.addCleanup(shutil.rmtree, d, True)
        cfg = os.path.join(d, "c.yaml")
        def check(options):
            with open(cfg, "w") as f:
                f.write("components:\n  - name: plug\n    kind: %s\n"
                        "    in: {endpoint: 'tcp://127.0.0.1:%d', bind: true}\n"
                        "    out: {endpoint: 'inproc://x', pattern: push}\n"
                        "    options: %s\n" % (self.pc_plugin, H.free_tcp_port(), options))
            r = subprocess.run([self.cli, "check", cfg], capture_output=True, timeout=60)
            return r.returncode, r.stdout.decode()
        rc, out = check("{threshold: 5, forward: hits}")
        self.assertEqual(rc, 0, out)
        self.assertIn("plugin (loaded, ABI 2, config checked)", out)
        rc, out = check("{threshold: 5, forward: sometimes}")
        self.assertEqual(rc, 1, out)
        self.assertIn("%s: components[0].options.forward: expected all or hits" % cfg, out)
        self.assertEqual(sorted(os.listdir(d)), ["c.yaml"])

    def test_options_on_a_builtin_are_an_error(self):
        d = H.make_tempdir("opt")
        self.addCleanup(shutil.rmtree, d, True)
        cfg = os.path.join(d, "c.yaml")
        with open(cfg, "w") as f:
            f.write("components:\n  - {name: w, kind: sink, in: {endpoint: 'inproc://a'}, "
                    "dir: %s, options: {x: 1}}\n" % os.path.join(d, "data"))
        r = subprocess.run([self.cli, "run", cfg], capture_output=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("components[0].options: only outside plugins take options",
                      r.stderr.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
