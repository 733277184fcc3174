"""The source against a file it did not see made: an h5py writer with the
swmrbus layout and a PUB socket of this test standing in for a sink. The
`open` notification comes before the writer is in SWMR mode: the source
retries (no crash, no frame), and once `swmr_mode` is on it serves the rows
each `flushed` declares, then `end` at `closed`. Also: notifications with
holes in `seq` are counted as missed, malformed ones rejected."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import source_harness as H  # noqa: E402

SHAPE = (8, 8)


class OutsideWriter(H.SourceTestCase):

    def test_retry_until_swmr_then_follow(self):
        pub = self.closing(H.CTX.socket(H.zmq.PUB))
        pub.setsockopt(H.zmq.LINGER, 0)
        pub.bind(self.ep("fake"))
        src = self.run_config(
            H.source_yaml("src", [self.ep("fake")], self.ep("out"), self.ep("rn"), self.ep("rc"),
                          dirs=[self.tmp]),
            "source", self.ep("rc"))
        frames = self.closing(H.FrameCollector(self.ep("out")))
        path = os.path.join(self.tmp, "outside.h5")
        seq = [0]

        def notice(topic, n, complete=None, seq_step=1):
            m = {"series": 5, "file": path, "dataset": H.DATASET, "frames": n, "written": n,
                 "complete": n if complete is None else complete, "seq": seq[0],
                 "sink": "h5py", "t": 1}
            seq[0] += seq_step
            pub.send_multipart([topic.encode(), H.pack(m)])

        f = h5py.File(path, "w", libver="latest")
        d = f.create_dataset(H.DATASET, shape=(0,) + SHAPE, maxshape=(None,) + SHAPE,
                             chunks=(1,) + SHAPE, dtype="<u2")
        f["/entry/data"].attrs["name"] = "outside"
        ts = f.create_dataset(H.TIMESTAMP, shape=(0,), maxshape=(None,), chunks=(1024,),
                              dtype="<u8")
        f[H.DETECTOR].create_dataset("temperature_k", data=77.5)
        f[H.DETECTOR].create_dataset("operator", data="Ada")  # variable-length UTF-8
        f.flush()

        # `open` while the writer is not in SWMR mode: the source retries.
        def heard():
            notice("swmrbus.open", 0)
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return st["series"] and st
        st = H.wait_until(heard, what="the source to hear of the file")
        self.assertEqual(st["series"][0]["sent"], 0)
        self.assertTrue(src.alive())

        f.swmr_mode = True
        payloads = []
        for chunk in range(4):
            n0 = len(payloads)
            new = [H.frame_data(5, n0 + i, SHAPE) for i in range(25)]
            payloads += [a.tobytes() for a in new]
            d.resize(len(payloads), axis=0)
            d[n0:] = np.stack(new)
            ts.resize(len(payloads), axis=0)
            ts[n0:] = np.arange(n0, len(payloads), dtype=np.uint64) + 10**18
            f.flush()
            notice("swmrbus.flushed", len(payloads), seq_step=1 if chunk != 2 else 3)
        f.close()
        notice("swmrbus.closed", len(payloads))
        # garbage on the notification stream is rejected, not followed
        pub.send_multipart([b"swmrbus.flushed", b"\xc1"])
        pub.send_multipart([b"swmrbus.nonsense", H.pack({"series": 1})])

        frames.wait_end(5)
        start = H.check_stream(self, frames.of_series(5), payloads, series=5,
                               ts=[10**18 + i for i in range(len(payloads))])
        self.assertEqual(start["name"], "outside")
        self.assertEqual(start["meta"], {"temperature_k": 77.5, "operator": "Ada"})
        self.assertEqual(start["origin"], {"sink": "h5py", "series": 5, "file": path})

        def counted():
            st = H.request(self.ep("rc"), {"cmd": "status"})
            return sum(st["rejected"].values()) >= 2 and st
        st = H.wait_until(counted, what="malformed notifications counted")
        self.assertEqual(st["missed"], 2)
        self.assertEqual(st["series"][0]["state"], "closed")
        self.assertEqual(src.stop(), 0)


if __name__ == "__main__":
    H.main()
