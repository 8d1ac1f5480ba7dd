"""rasnet_plugin.evaluation.running (the one loop every tool tracks through), its worker
thread share, and the tools' default datasets."""
import os

import numpy as np
import pytest

from rasnet_plugin.datasets import defaults
from rasnet_plugin.evaluation import running


class _Fake:
    """Moves the box 1 px right per frame; `nan_at`: track calls flagged as non-finite."""

    def __init__(self, nan_at=()):
        self.nan_at, self.calls, self.seen = set(nan_at), 0, []

    def init(self, img, box):
        if box[2] <= 0:
            raise ValueError("empty box")
        self.box = list(box)
        self.seen.append(int(img[0, 0]))

    def track(self, img):
        self.calls += 1
        self.seen.append(int(img[0, 0]))
        self.box = [self.box[0] + 1] + self.box[1:]
        return {"bbox": list(self.box), "failed": self.calls in self.nan_at}


def _frames(n):
    return [np.full((4, 4), i, np.uint8) for i in range(n)]


def test_one_pass_steps_from_a_list_and_from_a_generator():
    for frames in (_frames(4), iter(_frames(4))):
        tracker = _Fake(nan_at={2})
        steps = list(running.one_pass(tracker, frames, (1, 2, 3, 4)))
        assert [s.index for s in steps] == [0, 1, 2, 3] and tracker.seen == [0, 1, 2, 3]
        assert steps[0].box == [1.0, 2.0, 3.0, 4.0]
        assert [s.box[0] for s in steps] == [1, 2, 3, 4]
        assert [s.failed for s in steps] == [False, False, True, False]
        assert all(s.seconds >= 0 for s in steps)


def test_one_pass_is_lazy_and_names_the_refused_frame():
    decoded = []

    def frames():
        for f in _frames(3):
            decoded.append(int(f[0, 0]))
            yield f
    steps = running.one_pass(_Fake(), frames(), (0, 0, 5, 5))
    next(steps)
    assert decoded == [0]                  # nothing decoded ahead of the tracker
    with pytest.raises(running.FrameError, match="frame 0: empty box") as err:
        next(running.one_pass(_Fake(), _frames(2), (0, 0, 0, 5)))
    assert isinstance(err.value.error, ValueError) and err.value.index == 0


def test_worker_threads_share_the_cores(monkeypatch):
    monkeypatch.setattr(running, "cpu_count", lambda: 16)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [running.worker_threads(n) for n in (1, 2, 3, 16, 32)] == [16, 8, 5, 1, 1]
    assert running.worker_threads(4, threads=3) == 3         # --threads says otherwise
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert running.worker_threads(2) == 1                     # the user's own cap
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert running.worker_threads(2) == 8


def test_default_datasets_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(defaults.TEST_DATA_ENV, str(tmp_path))
    assert defaults.default_datasets("unused") == [str(tmp_path / "OTB-dev"),
                                                   str(tmp_path / "VOT-dev")]
    assert defaults.default_datasets("unused", order=("VOT-dev", "OTB-dev"))[0] == \
        os.path.join(str(tmp_path), "VOT-dev")
    monkeypatch.delenv(defaults.TEST_DATA_ENV)
    monkeypatch.setattr(defaults, "ensure_bundled", lambda root: os.path.join(root, "B"))
    assert defaults.default_datasets("root") == [os.path.join("root", "B")]
