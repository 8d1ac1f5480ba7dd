"""TRACK.SHARE_CORES (tracker/cores.py): frames run on the cores other busy processes leave
free, the caller's thread count comes back afterwards, and the count of busy tasks sees a
real busy process while leaving this process's own threads out."""
import subprocess
import sys
import time

import pytest
import torch

from rasnet_plugin.config import get_default_config
from rasnet_plugin.models import build_model
from rasnet_plugin.tracker import RASNetTracker
from rasnet_plugin.tracker import cores


@pytest.fixture
def two_threads(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(cores, "_cores", lambda: 2)
    yield
    torch.set_num_threads(threads)


def test_frame_uses_the_free_cores_then_restores(two_threads):
    calls = []

    def probe():
        calls.append(1)
        return 1                         # one busy task elsewhere: one core free
    share = cores.CoreShare(interval=60, probe=probe)
    with share.frame() as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with share.frame():
        pass
    assert len(calls) == 1               # refreshed once per interval, not per frame
    with pytest.raises(RuntimeError):
        with share.frame():
            raise RuntimeError("a failing frame")
    assert torch.get_num_threads() == 2  # restored on errors too


@pytest.mark.parametrize("busy, expected", [(0, 2), (1, 1), (5, 1), (None, 2)])
def test_thread_count_by_load(two_threads, busy, expected):
    share = cores.CoreShare(probe=lambda: busy)
    with share.frame() as n:
        assert n == expected == torch.get_num_threads()
    # free_cores still reports (5 busy of the cores: at least 1 left), frame() ignores it
    assert cores.CoreShare(enabled=False, probe=lambda: 5).free_cores() == \
        max(1, cores._cores() - 5)
    assert cores.CoreShare(probe=lambda: 0).free_cores() == cores._cores()
    with cores.CoreShare(enabled=False, probe=lambda: 5).frame() as n:
        assert n == 2                    # switched off: the caller's threads


def test_busy_elsewhere_sees_a_busy_process_not_our_threads():
    if cores.busy_elsewhere() is None:
        pytest.skip("no /proc on this platform")
    quiet = min(cores.busy_elsewhere() for _ in range(5))
    proc = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        time.sleep(0.5)
        loaded = [cores.busy_elsewhere() for _ in range(10)]
    finally:
        proc.kill()
        proc.wait()
    assert min(loaded) >= 1 and min(loaded) >= quiet, (quiet, loaded)


def test_tracker_switch():
    cfg = get_default_config()
    cfg.TRACK.PRECISION = "fp32"
    assert RASNetTracker(build_model(cfg), cfg, device="cpu").cores.enabled
    cfg.TRACK.SHARE_CORES = False
    assert not RASNetTracker(build_model(cfg), cfg, device="cpu").cores.enabled
