#!/usr/bin/python3
"""The sink's files (issue 9): their mode is `file_mode` (default 0644)
whatever the process umask, already when `open` is published; and a symlink
under `dir` is never written through: a symlink planted with the name the
next file would get (to a file elsewhere, to a directory elsewhere, or
dangling) is left alone, the outside target unchanged (nothing created
there), and the sink takes the next name (`_1`)."""
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402

SHAPE = (8, 16)


class SinkFiles(H.SinkTestCase):

    def run_series(self, sk, col, tx, series, n=5):
        payloads = [H.frame_data(series, i, SHAPE).tobytes() for i in range(n)]
        tx.start(series, shape=SHAPE, frames=n)
        opened = col.wait_topic("swmrbus.open", series)
        # the mode is right as soon as `open` is out
        mode_at_open = stat.S_IMODE(os.stat(opened["file"]).st_mode)
        for i in range(n):
            tx.frame(series, i, payloads[i])
        tx.end(series, n)
        closed = col.wait_closed(series)
        self.assertEqual(closed["file"], opened["file"])
        with h5py.File(closed["file"], "r") as f:
            d = f[H.DATASET]
            self.assertEqual(d.shape[0], n)
            for i in range(n):
                self.assertEqual(d[i].tobytes(), payloads[i])
        return opened["file"], mode_at_open

    def test_default_mode_despite_umask_077(self):
        old = os.umask(0o077)  # inherited by the sink process
        try:
            sk = self.start_sink(flush_frames=5, flush_ms=50, linger_ms=50)
        finally:
            os.umask(old)
        col, tx = self.collector(sk), self.sender(sk)
        path, at_open = self.run_series(sk, col, tx, 1)
        self.assertEqual(at_open, 0o644)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644)

    def test_configured_mode(self):
        old = os.umask(0o022)
        try:
            sk = self.start_sink(flush_frames=5, flush_ms=50, linger_ms=50,
                                 extra_yaml='    file_mode: "0640"')
        finally:
            os.umask(old)
        col, tx = self.collector(sk), self.sender(sk)
        path, at_open = self.run_series(sk, col, tx, 1)
        self.assertEqual(at_open, 0o640)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)

    def test_symlinks_under_dir_not_followed(self):
        sk = self.start_sink(flush_frames=5, flush_ms=50, linger_ms=50)
        col, tx = self.collector(sk), self.sender(sk)
        data = sk.data_dir
        other = os.path.join(sk.tmp, "elsewhere")
        os.mkdir(other)
        target = os.path.join(other, "precious.h5")
        with open(target, "wb") as f:
            f.write(b"not yours\n")
        before = os.stat(target)
        target_dir = os.path.join(other, "a_dir")
        os.mkdir(target_dir)
        dangling = os.path.join(other, "would_be_created.h5")
        # the names series 1, 2 and 3 would get ("{name}_{series}.h5")
        os.symlink(target, os.path.join(data, "writer_1.h5"))
        os.symlink(target_dir, os.path.join(data, "writer_2.h5"))
        os.symlink(dangling, os.path.join(data, "writer_3.h5"))

        for series in (1, 2, 3):
            path, _ = self.run_series(sk, col, tx, series)
            self.assertEqual(path, os.path.join(os.path.realpath(data),
                                                "writer_%d_1.h5" % series))
            self.assertFalse(os.path.islink(path))
            self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode))

        # the symlinks and what they point to are untouched, nothing created
        for series, to in ((1, target), (2, target_dir), (3, dangling)):
            self.assertEqual(os.readlink(os.path.join(data, "writer_%d.h5" % series)), to)
        after = os.stat(target)
        self.assertEqual((after.st_size, after.st_mtime_ns, after.st_ino),
                         (before.st_size, before.st_mtime_ns, before.st_ino))
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"not yours\n")
        self.assertEqual(os.listdir(target_dir), [])
        self.assertFalse(os.path.lexists(dangling))
        self.assertEqual(sorted(os.listdir(other)), ["a_dir", "precious.h5"])
        st = sk.status()
        self.assertEqual(st["rejected"].get("bad_name", 0), 0)
        sk.stop_ok()


if __name__ == "__main__":
    H.main()
