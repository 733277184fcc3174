"""Memcheck over the unit tests and the fuzz corpus replay.

Every unit test binary (build/bin/test_*) and every fuzz replay
(build/bin/fuzz_*_replay over tests/fuzz/corpus/fuzz_*) runs under
valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
--errors-for-leak-kinds=definite with tests/fault/valgrind.supp and
valgrind-units.supp (one HDF5 leak a unit test provokes on purpose, explained
there). The decoders then also meet hostile bytes with uninitialised-read
checks, which ASan does not make. Pass: every run exits 0 with "ERROR
SUMMARY: 0 errors" (a unit test that fails on its own is
reported by its own ctest entry, not here).

SWMRBUS_VALGRIND: the valgrind binary (empty: skipped, as in an ASan build).
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import swmrbus_harness as H  # noqa: E402

VALGRIND = os.environ.get("SWMRBUS_VALGRIND", "valgrind")
VG_ARGS = ["--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--num-callers=40",
           "--suppressions=" + os.path.join(HERE, "valgrind.supp"),
           "--suppressions=" + os.path.join(HERE, "valgrind-units.supp")]
BIN_DIR = os.path.dirname(H.BIN)


@unittest.skipUnless(VALGRIND, "valgrind not found, or a sanitizer build")
class ValgrindUnits(unittest.TestCase):

    def memcheck(self, argv):
        # Its own scratch dir: the same binaries may run beside it (ctest -j),
        # and some use fixed file names there.
        tmp = H.make_tempdir("vgu")
        env = dict(os.environ, SWMRBUS_TEST_TMP=tmp, SWMRBUS_SOURCE_DIR=H.SOURCE_DIR)
        r = subprocess.run([VALGRIND] + VG_ARGS + argv, capture_output=True, env=env,
                           timeout=600)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        m = re.findall(r"ERROR SUMMARY: (\d+) errors", out)
        self.assertTrue(r.returncode != 99 and m and int(m[-1]) == 0,
                        "%s under memcheck: exit %d (99: memcheck errors)\n%s"
                        % (os.path.basename(argv[0]), r.returncode, out[-8000:]))
        if r.returncode != 0:  # its own failure: its own ctest entry reports it
            sys.stderr.write("note: %s failed on its own (exit %d) under memcheck, "
                             "with no memcheck error\n" % (os.path.basename(argv[0]),
                                                           r.returncode))
        shutil.rmtree(tmp, ignore_errors=True)

    def test_unit_tests(self):
        tests = sorted(glob.glob(os.path.join(BIN_DIR, "test_*")))
        self.assertTrue(tests, "no unit test binaries in %s" % BIN_DIR)
        for t in tests:
            with self.subTest(test=os.path.basename(t)):
                self.memcheck([t])

    def test_fuzz_replays(self):
        replays = sorted(glob.glob(os.path.join(BIN_DIR, "fuzz_*_replay")))
        self.assertTrue(replays, "no fuzz replay binaries in %s" % BIN_DIR)
        for t in replays:
            name = os.path.basename(t)[:-len("_replay")]
            corpus = os.path.join(H.SOURCE_DIR, "tests", "fuzz", "corpus", name)
            with self.subTest(target=name):
                self.memcheck([t, corpus])


if __name__ == "__main__":
    H.main()
