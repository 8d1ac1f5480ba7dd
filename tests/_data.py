"""Where the tests find optional real annotated sequences: the folder named by the
environment variable RASNET_TEST_DATA (with OTB-dev/ and VOT-dev/ inside). `.ci/run` sets
it when such a folder is at hand; without it those tests skip and say why."""
import os

_path = os.environ.get("RASNET_TEST_DATA")
REAL_DATA = os.path.abspath(_path) if _path and os.path.isdir(_path) else None
SKIP_REASON = ("RASNET_TEST_DATA is not set" if not _path else
               "RASNET_TEST_DATA=%s is not a folder" % _path)

# A bundled RASNetBench video (scikit-image photographs moved synthetically, in no training
# set) that stands in for Crossing when RASNET_TEST_DATA is not set, so the tests that need
# a real-looking sequence still run under a plain `make test`.
STAND_IN = "cameraman_dusk"


def check_video(tmp_root):
    """OTB Crossing from RASNET_TEST_DATA when it is set, else the bundled STAND_IN video
    (built under `tmp_root`)."""
    from rasnet_plugin.datasets import ensure_bundled, load_dataset
    if REAL_DATA is not None:
        seq = os.path.join(REAL_DATA, "OTB-dev", "Crossing")
        assert os.path.isdir(seq), "RASNET_TEST_DATA has no OTB-dev/Crossing: %s" % REAL_DATA
        return load_dataset(seq).videos[0]
    return load_dataset(ensure_bundled(str(tmp_root)))[STAND_IN]


def noise_otb(root, frames=4):
    """An OTB folder `root`/tiny with one sequence of `frames` noise images: it loads in no
    time (for tests of what a tool refuses before it tracks anything)."""
    import cv2
    import numpy as np
    seq = root / "tiny" / "Seq"
    (seq / "img").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(frames):
        cv2.imwrite(str(seq / "img" / ("%04d.jpg" % (i + 1))),
                    rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    np.savetxt(str(seq / "groundtruth_rect.txt"), [[20, 15, 16, 12]] * frames, fmt="%d",
               delimiter=",")
    return str(root / "tiny")


def forbid_expensive_work(monkeypatch):
    """Make decoding a frame or building one of our trackers fail the test: the bad input
    must be reported before either."""
    import rasnet_plugin.api
    from rasnet_plugin.evaluation import speed

    def forbidden(*a, **k):
        raise AssertionError("expensive work started before the bad input was reported")
    monkeypatch.setattr(speed, "decode", forbidden)
    monkeypatch.setattr(rasnet_plugin.api, "build_tracker", forbidden)
