"""tools/bench_peer.py's measurement (rasnet_plugin/evaluation/peer.py) with a stand-in for a
siamfc-pytorch checkout: how frames, boxes and timing reach the peer, the busy processes of
the load phase, the table's ratios, and the CLI end to end."""
import os

import numpy as np
import pytest

from rasnet_plugin.evaluation import peer

from _data import forbid_expensive_work, noise_otb

FAKE_SIAMFC = '''
import time
import numpy as np
import torch.nn as nn

CALLS = []

class TrackerSiamFC:
    def __init__(self, net_path=None):
        self.net = nn.Conv2d(3, 1, 1)
        self.net_path = net_path
        self.device = "cuda:0"     # as siamfc-pytorch does wherever CUDA exists
    def init(self, img, box):
        CALLS.append(("init", img.copy(), np.array(box)))
    def update(self, img):
        CALLS.append(("update", img[0, 0].copy(), None))
        time.sleep(0.01)
        return np.zeros(4)
'''


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "siamfc").mkdir()
    (tmp_path / "siamfc" / "__init__.py").write_text(FAKE_SIAMFC)
    yield str(tmp_path)
    import sys
    sys.modules.pop("siamfc", None)


def _frames(n=6):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (40, 50, 3), dtype=np.uint8) for _ in range(n)]


def test_peer_gets_rgb_frames_and_one_based_boxes(checkout):
    tracker = peer.load_siamfc_pytorch(checkout)
    assert tracker.name == "siamfc-pytorch" and tracker.tracker.net_path is None
    assert str(tracker.tracker.device) == "cpu"           # CPU against CPU
    import siamfc
    frames = _frames()
    rows = peer.interleaved_fps({"siamfc-pytorch": tracker}, frames, [3, 4, 10, 12],
                                rounds=2, load=0, warmup=False)
    calls = siamfc.CALLS
    assert [c[0] for c in calls] == (["init"] + ["update"] * 5) * 2
    np.testing.assert_array_equal(calls[0][1], frames[0][:, :, ::-1])     # RGB
    np.testing.assert_array_equal(calls[1][1], frames[1][0, 0, ::-1])
    np.testing.assert_allclose(calls[0][2], [4, 5, 10, 12])              # 1-based x, y
    row = rows["siamfc-pytorch"]
    assert len(row.quiet) == 2 and row.loaded == []
    # 10 ms per update: about 100 fps (sleep only overshoots)
    assert 40 < row.quiet_fps <= 101, row.quiet


def test_checkout_and_weights_are_checked(tmp_path, checkout):
    with pytest.raises(FileNotFoundError, match="no siamfc/__init__.py"):
        peer.load_siamfc_pytorch(str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="weights .*missing.pth: no such file"):
        peer.load_siamfc_pytorch(checkout, str(tmp_path / "missing.pth"))


def test_bad_measurement_options_are_refused(checkout):
    tracker = peer.load_siamfc_pytorch(checkout)
    for kw, frames in (({"rounds": 0}, 5), ({"load": -1}, 5), ({}, 1)):
        with pytest.raises(ValueError, match="need rounds >= 1"):
            peer.interleaved_fps({"p": tracker}, _frames(frames), [1, 1, 5, 5], **kw)


def test_cpu_load_runs_and_stops_its_processes():
    with peer.cpu_load(2) as procs:
        assert len(procs) == 2 and all(p.poll() is None for p in procs)
        pids = [p.pid for p in procs]
    assert all(p.poll() is not None for p in procs)
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"


class Sleeper:
    def __init__(self, seconds):
        self.seconds = seconds

    def init(self, img, box):
        pass

    def track(self, img):
        import time
        time.sleep(self.seconds)


def test_rounds_interleave_and_rotate():
    order = []

    class Logged(Sleeper):
        def __init__(self, name):
            super().__init__(0.001)
            self.name = name

        def init(self, img, box):
            order.append(self.name)

    rows = peer.interleaved_fps({"a": Logged("a"), "b": Logged("b")}, _frames(3), [1, 1, 5, 5],
                                rounds=3, load=1, warmup=False)
    assert order == ["a", "b", "b", "a", "a", "b"] * 2      # quiet, then under load
    assert all(len(r.quiet) == len(r.loaded) == 3 for r in rows.values())


def test_markdown_ratios_by_hand():
    quiet = {"ours": peer.PeerRow("ours", quiet=[30]), "p": peer.PeerRow("p", quiet=[10])}
    assert peer.markdown(quiet, "p", 0).splitlines()[2] == "| ours | 30.0 | 3.00 |"
    rows = {"ours": peer.PeerRow("ours", quiet=[20, 24, 22], loaded=[10, 12, 11]),
            "siamfc-pytorch": peer.PeerRow("siamfc-pytorch", quiet=[10, 11, 12],
                                           loaded=[4, 5, 6])}
    table = peer.markdown(rows, "siamfc-pytorch", 1).splitlines()
    assert table[0].startswith("| tracker | fps quiet | x siamfc-pytorch | fps with 1 busy process |")
    # medians 22 / 11 quiet, 11 / 5 loaded: 2.00x, 2.20x; kept 50% and 45%
    assert table[2] == "| ours | 22.0 | 2.00 | 11.0 | 2.20 | 50% |"
    assert table[3] == "| siamfc-pytorch | 11.0 | 1.00 | 5.0 | 1.00 | 45% |"


def test_cli_end_to_end(checkout, tmp_path, capsys):
    import torch
    from rasnet_plugin.cli.bench_peer import main
    from rasnet_plugin.datasets import ensure_bundled
    root = ensure_bundled(str(tmp_path / "bench"))
    threads = torch.get_num_threads()
    try:
        assert main(["--siamfc-pytorch", checkout, "--config", "rasnet", "--dataset", root,
                     "--rounds", "1", "--load", "0", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "1 thread(s)" in out
    assert "| RASNet rasnet (" in out and "int8 backbone" in out
    assert "| siamfc-pytorch | " in out and out.rstrip().endswith("| 1.00 |")
    assert "nan" not in out and "busy" not in out.split("\n\n")[-1]     # no load columns


# ---------------------------------------------------------------- the CLI's bad input

@pytest.fixture
def no_work(monkeypatch):
    forbid_expensive_work(monkeypatch)


def _peer_main(argv):
    from rasnet_plugin.cli.bench_peer import main
    return main(argv)


def test_cli_wrong_checkout_is_refused_before_decoding(tmp_path, capsys, no_work):
    wrong = str(tmp_path / "wrong" / "path")
    with pytest.raises(SystemExit) as e:
        _peer_main(["--siamfc-pytorch", wrong, "--dataset", noise_otb(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--siamfc-pytorch %s: no siamfc/__init__.py" % wrong in err


def test_cli_missing_weights_are_refused_before_decoding(tmp_path, checkout, capsys, no_work):
    missing = str(tmp_path / "missing.pth")
    with pytest.raises(SystemExit) as e:
        _peer_main(["--siamfc-pytorch", checkout, "--siamfc-weights", missing,
                    "--dataset", noise_otb(tmp_path)])
    assert e.value.code == 2
    assert "--siamfc-weights %s: no such file" % missing in capsys.readouterr().err


def test_cli_bad_dataset_and_config_are_errors(tmp_path, checkout, capsys, no_work):
    typo = str(tmp_path / "typo")
    assert _peer_main(["--siamfc-pytorch", checkout, "--dataset", typo]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and typo in err and "Traceback" not in err
    assert _peer_main(["--siamfc-pytorch", checkout, "--dataset", noise_otb(tmp_path),
                       "--config", "no_such_config"]) == 1
    assert "error: config file not found: no_such_config" in capsys.readouterr().err


def test_cli_zero_threads_refused(tmp_path, checkout, capsys, no_work):
    with pytest.raises(SystemExit) as e:
        _peer_main(["--siamfc-pytorch", checkout, "--dataset", noise_otb(tmp_path),
                    "--threads", "0"])
    assert e.value.code == 2
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err
