"""The outside SWMR reader of the crash loop (tests/fault/test_crash_loop.py),
run as its own process after the sink was killed, as a user's reader would
be: opens each file with h5py swmr=True and checks, byte for byte, every row
below the N of the last `flushed` notification the test received.

    swmr_check.py JSON   JSON: [{"file", "series", "n", "shape", "dtype", "ts0"}, ...]

Prints one JSON line {"rows": checked, "files": [extent, ...]} and exits 0,
or prints what is wrong on stderr and exits 1.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))

import h5py  # noqa: E402

import swmrbus_harness as H  # noqa: E402


def main():
    jobs = json.loads(sys.argv[1])
    rows, extents = 0, []
    for j in jobs:
        try:
            with h5py.File(j["file"], "r", libver="latest", swmr=True) as f:
                d = f[H.DATASET]
                rows += H.verify_rows(d, j["series"], j["n"], tuple(j["shape"]), j["dtype"],
                                      ts=f[H.TIMESTAMP], ts0=j["ts0"])
                extents.append(d.shape[0])
        except Exception as e:  # reported with the file, the test fails
            sys.stderr.write("SWMR read of %s (series %d, N %d): %s\n"
                             % (j["file"], j["series"], j["n"], e))
            return 1
    print(json.dumps({"rows": rows, "files": extents}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
