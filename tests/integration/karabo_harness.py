"""Helpers for the Karabo bridge tests: a small JUNGFRAU run made by
extra_data's own example maker (its arrays filled with a known non-zero
pattern), and a sink that reads a bridge stream (in.protocol: karabo-bridge).
"""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import swmrbus_harness as H  # noqa: E402


def make_run(run_dir, trains=4, modules=2):
    """make_jungfrau_run(run_dir), kept to `modules` JUNGFRAU module files
    (the control file's sources are left out: extra_data 1.7 cannot iterate
    their dotted keys) and the first `trains` trains, every INSTRUMENT array
    filled with a pattern that differs per module, train and element."""
    from extra_data.tests.make_examples import make_jungfrau_run
    os.makedirs(run_dir, exist_ok=True)
    make_jungfrau_run(run_dir)
    for path in glob.glob(os.path.join(run_dir, "*.h5")):
        if not any("JNGFR%02d-" % m in path for m in range(1, modules + 1)):
            os.remove(path)
            continue
        seed = int(path.split("JNGFR")[1][:2])
        with h5py.File(path, "r+") as f:
            def shrink(name, obj):
                if (isinstance(obj, h5py.Dataset) and obj.shape and obj.shape[0] == 100
                        and obj.maxshape[0] is None):
                    obj.resize(trains, axis=0)
            f.visititems(shrink)

            def fill(name, obj):
                if (isinstance(obj, h5py.Dataset) and name.startswith("INSTRUMENT")
                        and not name.endswith("trainId")):
                    a = np.arange(int(np.prod(obj.shape)), dtype=np.uint64)
                    a = (a * 2654435761 + seed * 97 + 1) % 251 + 1
                    obj[...] = a.astype(obj.dtype).reshape(obj.shape)
            f.visititems(fill)
    return run_dir


def bridge_sink(case, port, pattern="pull", flush_frames=1, extra=None, **kw):
    """A SinkProcess whose input connects to a bridge sender on
    tcp://127.0.0.1:port (started, cleaned up with the test case)."""
    sk = H.SinkProcess(tcp=True, flush_frames=flush_frames, **kw)
    ep = "tcp://127.0.0.1:%d" % port
    sk.in_ep = ep
    text = sk.config_text.splitlines()
    for i, line in enumerate(text):
        if line.startswith("    in: "):
            text[i] = ("    in: {endpoint: %s, pattern: %s, bind: false, protocol: karabo-bridge}"
                       % (ep, pattern))
    if extra:
        text.extend(extra)
    sk.config_text = "\n".join(text) + "\n"
    with open(sk.config_path, "w") as f:
        f.write(sk.config_text)
    case.addCleanup(case._cleanup_sink, sk)
    sk.start()
    return sk
