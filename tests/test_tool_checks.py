"""Checks of the tool libraries the other tests leave out: the soak loop and its CLI, the
training-curve CSVs on resume, the trainer's config.yaml round trip, the PySOT conversion
CLI and the VOT record comparison (tools/vot_compare.py)."""
import csv
import json
import os

import cv2
import numpy as np
import pytest
import torch

from rasnet_plugin.cli import soak as soak_cli
from rasnet_plugin.config import get_default_config, load_config
from rasnet_plugin.evaluation import soak as S
from rasnet_plugin.fileio import atomic_write_text
from rasnet_plugin.training.curves import CurveLogger


# ---------------------------------------------------------------- soak

def test_pingpong_plays_forward_then_backward():
    # period 2n - 2: the end frames are not repeated at the turns
    idx = S.pingpong(4)
    assert [idx(k) for k in range(14)] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1]
    assert [S.pingpong(2)(k) for k in range(5)] == [0, 1, 0, 1, 0]
    assert [S.pingpong(1)(k) for k in range(3)] == [0, 0, 0]   # one frame: always it


class _StubTracker:
    """Records the frames it gets; box = [frame value, 1, 4, 3], x NaN at one frame."""

    def __init__(self, nan_at=()):
        self.nan_at, self.seen = set(nan_at), []
        self.precision, self.scale_num, self.device = "fp32", 1, "cpu"

    def init(self, img, box):
        self.init_frame = int(img[0, 0, 0])

    def track(self, img):
        self.seen.append(int(img[0, 0, 0]))
        x = float("nan") if len(self.seen) in self.nan_at else float(img[0, 0, 0])
        return {"bbox": [x, 1.0, 4.0, 3.0]}


def _frames(n):
    return [np.full((8, 8, 3), i, np.uint8) for i in range(n)]


def test_soak_counts_bad_boxes_and_samples_rss():
    tr = _StubTracker(nan_at=[7])
    logged = []
    times, rss_at, bad, total = S.soak(tr, _frames(4), [0, 0, 4, 3], 205, 50, log=logged.append)
    # init on frame 0, then the ping-pong from k = 1: 1, 2, 3, 2, 1, 0, 1, ...
    assert tr.init_frame == 0 and tr.seen[:8] == [1, 2, 3, 2, 1, 0, 1, 2]
    assert len(tr.seen) == 205 and len(times) == 205 and np.all(times >= 0)
    assert bad == 1
    # every 100 frames, at `mark` and at the last frame
    assert sorted(rss_at) == [50, 100, 200, 205]
    assert all(v > 0 for v in rss_at.values()) and total >= 0
    assert logged == []                                     # progress only every 1,000


def test_soak_counts_empty_boxes_too():
    class Empty(_StubTracker):
        def track(self, img):
            super().track(img)
            return {"bbox": [1.0, 1.0, 0.0, 3.0] if len(self.seen) % 2 else [1.0, 1.0, 2.0, 3.0]}
    assert S.soak(Empty(), _frames(3), [0, 0, 4, 3], 10, 5)[2] == 5


def _tiny_dataset(root):
    """A 6-frame PySOT JSON dataset (small frames: the soak decodes each once)."""
    folder = os.path.join(root, "Tiny")
    os.makedirs(os.path.join(folder, "v", "img"))
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (120, 160, 3)).astype(np.float32), (0, 0), 3)
    names = []
    for i in range(6):
        names.append("v/img/%04d.png" % (i + 1))
        cv2.imwrite(os.path.join(folder, names[-1]), np.roll(base, 2 * i, axis=1).astype(np.uint8))
    gt = [[50 + 2 * i, 40, 40, 32] for i in range(6)]
    with open(os.path.join(folder, "Tiny.json"), "w") as f:
        json.dump({"v": {"video_dir": "v", "init_rect": gt[0], "img_names": names,
                         "gt_rect": gt, "attr": []}}, f)
    return folder


def test_soak_cli_exit_status(tmp_path, capsys, monkeypatch):
    # a real (untrained) tracker on the cheapest settings: AlexNet, one scale, fp32
    data = _tiny_dataset(str(tmp_path))
    common = ["--dataset", data, "--frames", "20", "--window", "5", "--scale-num", "1",
              "--precision", "fp32", "--threads", "1", "--max-decode", "4"]
    assert soak_cli.main(common + ["--max-rss-growth", "100", "--max-time-growth", "100"]) == 0
    out = capsys.readouterr().out
    assert "Tiny/v, 4 decoded frames (160x120)" in out and "soak: ok" in out
    assert "non-finite/empty boxes: 0" in out
    # any growth at all exceeds a negative threshold: exit status 1, the reason printed
    assert soak_cli.main(common + ["--max-rss-growth", "-1", "--max-time-growth", "100"]) == 1
    out = capsys.readouterr().out
    assert "soak: FAILED: RSS grew by" in out and "median frame time grew" not in out
    # a non-finite box fails the soak even with generous thresholds
    import rasnet_plugin
    monkeypatch.setattr(rasnet_plugin, "build_tracker", lambda *a: _StubTracker(nan_at=[3]))
    assert soak_cli.main(common + ["--max-rss-growth", "100", "--max-time-growth", "100"]) == 1
    assert "soak: FAILED: 1 non-finite or empty boxes" in capsys.readouterr().out
    with pytest.raises(SystemExit):                   # an empty timing window: refused
        soak_cli.main(common + ["--window", "0"])
    assert "--window must be >= 1" in capsys.readouterr().err


@pytest.fixture
def no_build(monkeypatch):
    """Fails the test if the soak builds a tracker (the bad input must be found first)."""
    import rasnet_plugin
    monkeypatch.setattr(rasnet_plugin, "build_tracker",
                        lambda *a: pytest.fail("tracker built before the bad input was reported"))


def test_soak_unknown_video_is_an_error_listing_the_videos(tmp_path, capsys, no_build):
    data = _tiny_dataset(str(tmp_path))
    assert soak_cli.main(["--dataset", data, "--video", "Crosing", "--frames", "20"]) == 2
    out, err = capsys.readouterr()
    assert "error: --dataset %s --video Crosing: " % data in err
    assert "no video 'Crosing' (its videos: v)" in err
    assert "soak: ok" not in out and "synthetic" not in out     # no stand-in measured


def test_soak_explicit_dataset_that_does_not_load_is_an_error(tmp_path, capsys, no_build):
    typo = str(tmp_path / "Tyny")
    assert soak_cli.main(["--dataset", typo, "--frames", "20"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: --dataset %s: " % typo) and "not found" in err
    assert "synthetic" not in out
    # the default dataset named with --video, where it is missing: an error too
    empty_root = str(tmp_path / "empty_root")
    assert soak_cli.main(["--dataset-root", empty_root, "--video", "Crossing",
                          "--frames", "20"]) == 2
    assert "--video Crossing" in capsys.readouterr().err


def test_soak_default_dataset_missing_falls_back_to_synthetic(tmp_path, capsys, monkeypatch):
    import rasnet_plugin
    monkeypatch.chdir(tmp_path)                     # no RASNetBench here either
    monkeypatch.setattr(rasnet_plugin, "build_tracker", lambda *a: _StubTracker())
    assert soak_cli.main(["--dataset-root", str(tmp_path / "none"), "--frames", "20",
                          "--window", "5", "--max-rss-growth", "100",
                          "--max-time-growth", "100"]) == 0
    out = capsys.readouterr().out
    assert "note: the default dataset RASNetBench is not under --dataset-root" in out
    assert "soak: synthetic, 200 decoded frames" in out and "soak: ok" in out


def test_soak_counts_are_checked(tmp_path, capsys, no_build):
    data = _tiny_dataset(str(tmp_path))
    for flags, named in ((["--max-decode", "0"], "--max-decode must be >= 1, got 0"),
                         (["--max-decode", "-5"], "--max-decode must be >= 1, got -5"),
                         (["--threads", "-1"], "--threads must be >= 0"),
                         (["--scale-num", "2"], "--scale-num must be odd and >= 1, got 2")):
        with pytest.raises(SystemExit) as e:
            soak_cli.main(["--dataset", data, "--frames", "20"] + flags)
        assert e.value.code == 2, flags
        assert named in capsys.readouterr().err


def test_soak_bad_snapshot_or_device_reported_before_decoding(tmp_path, capsys, monkeypatch):
    from rasnet_plugin.datasets.video import Video
    data = _tiny_dataset(str(tmp_path))
    monkeypatch.setattr(Video, "load_frame",
                        lambda self, i: pytest.fail("decoded before the tracker was built"))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    assert soak_cli.main(["--dataset", data, "--frames", "20", "--scale-num", "1",
                          "--snapshot", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(junk) in err and "Traceback" not in err
    if not torch.cuda.is_available():
        assert soak_cli.main(["--dataset", data, "--frames", "20", "--device", "cuda"]) == 2
        assert "error: --device cuda: " in capsys.readouterr().err
    assert soak_cli.main(["--dataset", data, "--frames", "20", "--device", "bogus"]) == 2
    assert "error: --device bogus: " in capsys.readouterr().err


def test_real_sequence_decodes_at_most_max_decode_frames(tmp_path):
    data = _tiny_dataset(str(tmp_path))
    frames, box, name = S.real_sequence(data, "", str(tmp_path), 4)
    assert len(frames) == 4 and name == "Tiny/v" and box == [50, 40, 40, 32]
    with pytest.raises(ValueError, match="max_decode must be >= 1"):
        S.real_sequence(data, "v", str(tmp_path), 0)


# ---------------------------------------------------------------- training curves

def _steps(path):
    with open(path, newline="") as f:
        return [int(float(r["step"])) for r in csv.DictReader(f)]


def test_curve_logger_resume_keeps_rows_up_to_the_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    log = CurveLogger(out)
    for s in range(1, 6):
        log.log_train(step=s, epoch=0, lr=0.01, loss=0.7 - 0.01 * s, pairs_per_s=10.0,
                      skipped=0, rejected=0)
        log.log_val(step=s, epoch=0, val_loss=0.6)
    assert _steps(log.train_csv) == _steps(log.val_csv) == [1, 2, 3, 4, 5]
    before = [open(p).read().splitlines() for p in (log.train_csv, log.val_csv)]
    # resumed from the step-3 checkpoint: rows 4 and 5 belonged to the interrupted run
    log = CurveLogger(out, resume_step=3)
    assert _steps(log.train_csv) == _steps(log.val_csv) == [1, 2, 3]
    # the kept rows are the lines as written (header + steps 1..3), not re-formatted
    assert [open(p).read().splitlines() for p in (log.train_csv, log.val_csv)] == \
        [lines[:4] for lines in before]
    log.log_train(step=4, epoch=0, lr=0.01, loss=0.5, pairs_per_s=10.0, skipped=0, rejected=0)
    assert _steps(log.train_csv) == [1, 2, 3, 4]
    # a fresh run: both files start empty (the header only)
    log = CurveLogger(out, None)
    assert _steps(log.train_csv) == _steps(log.val_csv) == []
    with open(log.train_csv) as f:
        assert f.read().strip() == "step,epoch,lr,loss,pairs_per_s,skipped,rejected"


# ---------------------------------------------------------------- config.yaml

def test_dumped_config_loads_back_equal(tmp_path):
    # what the trainer writes as config.yaml must rebuild the same run with load_config
    cfg = get_default_config()
    cfg.CUDA = False
    cfg.BACKBONE.TYPE = "mobilenetv2"
    cfg.BACKBONE.KWARGS.width_mult = 1.4                  # a new_allowed node
    cfg.BACKBONE.TRAIN_LAYERS = ["conv5"]
    cfg.RASNET.CHANNEL_ATTENTION = False
    cfg.TRACK.SCALE_NUM, cfg.TRACK.PRECISION = 5, "bf16"
    cfg.TRAIN.BASE_LR, cfg.TRAIN.SEED, cfg.TRAIN.AUG.SHIFT = 3e-3, 7, 0
    cfg.TRAIN.DATASETS.NAMES = ["STILL", "GOT10K"]
    cfg.TRAIN.DATASETS.GOT10K.ROOT = "/data/got10k/train"
    path = str(tmp_path / "config.yaml")
    atomic_write_text(path, cfg.dump())
    back = load_config(path)
    assert back == cfg
    assert back.TRAIN.BASE_LR == 3e-3 and back.BACKBONE.KWARGS.width_mult == 1.4
    assert back.TRACK.SCALE_NUM == 5 and back.CUDA is False
    assert back.dump() == cfg.dump()


# ---------------------------------------------------------------- PySOT conversion CLI

def test_pysot_convert_cli_round_trip(tmp_path, capsys):
    from rasnet_plugin.integrations import pysot
    from rasnet_plugin.models import build_model
    torch.manual_seed(0)
    state = build_model(get_default_config()).state_dict()
    src, dst = str(tmp_path / "plugin.pth"), str(tmp_path / "out" / "pysot.pth")
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, src)
    pysot.main([src, dst])
    assert "wrote %s" % dst in capsys.readouterr().out
    saved = torch.load(dst, weights_only=True)
    expected = pysot.convert_checkpoint_to_pysot(state)
    got = saved          # a bare state_dict, which PySOT's demo.py loads strictly
    assert got.keys() == expected.keys()
    assert all(got[k].dtype == expected[k].dtype and torch.equal(got[k], expected[k])
               for k in got)


# ---------------------------------------------------------------- VOT record comparison

def _vot():
    return pytest.importorskip("rasnet_plugin.vot.compare")


GT = [[60, 60, 20, 20]] + [[10, 10, 20, 20]] * 3   # frame 0 elsewhere: gt[i] is used
BOUNDS = (100, 100)


def test_compare_records_codes_and_boxes():
    C = _vot()
    rec = [[1], [10.0, 10.0, 20.0, 20.0], [11.0, 10.0, 20.0, 20.0], [0]]
    assert C.compare_records(rec, [list(r) for r in rec], 1e-3) == []
    assert C.compare_records(rec, rec[:3], 1e-3) == ["4 frames vs 3"]
    # a different code: the frame is named
    d = C.compare_records(rec, rec[:3] + [[2]], 1e-3)
    assert len(d) == 1 and d[0].startswith("frame 3:")
    # a box beyond box_tol (but not one within it)
    off = [rec[0], rec[1], [11.0, 10.0, 20.0, 20.002], rec[3]]
    d = C.compare_records(rec, off, 1e-3)
    assert len(d) == 1 and d[0].startswith("frame 2: box")
    assert C.compare_records(rec, off, 0.01) == []
    # a code against a box, without the ground truth: always a disagreement
    d = C.compare_records(rec, [rec[0], [2], rec[2], rec[3]], 1e-3)
    assert len(d) == 1 and d[0].startswith("frame 1:")


def test_compare_records_borderline_failures():
    C = _vot()
    pytest.importorskip("vot.region")
    # the toolkit calls a failure at frame 1; our box there touches the gt in one pixel
    # (toolkit raster: pixels 29..48 vs 10..29, IoU 1 / 799) -> the runs part, no error
    touch = [29.0, 29.0, 20.0, 20.0]
    assert C.borderline_overlap(touch, GT[1], BOUNDS) == pytest.approx(1 / 799)
    ours, theirs = [[1], touch, [0], [0]], [[1], [2], [0], [0]]
    assert C.compare_records(ours, theirs, 1e-3, GT, BOUNDS) == []
    assert C.compare_records(theirs, ours, 1e-3, GT, BOUNDS) == []    # either side
    assert C.first_divergence(ours, theirs) == 1
    # the same with a clear overlap: half the gt (toolkit: 200 / 600 px; ours is lower)
    half = [20.0, 10.0, 20.0, 20.0]
    ov = C.borderline_overlap(half, GT[1], BOUNDS)
    assert ov == pytest.approx(1 / 3)
    d = C.compare_records([[1], half, [0], [0]], theirs, 1e-3, GT, BOUNDS)
    assert len(d) == 1 and d[0].startswith("frame 1:") and "not borderline" in d[0]
    # "at most `border`": an overlap equal to the threshold is still borderline
    assert C.compare_records([[1], half, [0], [0]], theirs, 1e-3, GT, BOUNDS, border=ov) == []
    # disjoint boxes overlap 0 by both tests; identical ones 1
    assert C.borderline_overlap([60, 60, 20, 20], GT[1], BOUNDS) == 0
    assert C.borderline_overlap([10, 10, 20, 20], GT[1], BOUNDS) == pytest.approx(1)


def test_first_divergence():
    C = _vot()
    a = [[1], [1.0, 2.0, 3.0, 4.0], [2], [0]]
    assert C.first_divergence(a, a) is None
    assert C.first_divergence(a, [[1], [1.5, 2.0, 3.0, 4.0], [2], [0]]) is None  # boxes only
    assert C.first_divergence(a, [[1], [1.0, 2.0, 3.0, 4.0], [1], [0]]) == 2     # codes differ
    assert C.first_divergence(a, [[1], [2], [0], [0]]) == 1                       # code vs box
