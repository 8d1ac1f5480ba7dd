"""tools/test.py end to end: PySOT's result layout, the VOT reset protocol, resuming,
--force, broken videos, bad snapshots, parallel workers and the bundled default."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import rasnet_plugin
from rasnet_plugin.cli import test as test_cli
from rasnet_plugin.config import REPO_ROOT
from rasnet_plugin.evaluation import reset_protocol
from rasnet_plugin.tracker import RASNetTracker

TOOL = os.path.join(REPO_ROOT, "tools", "test.py")
W, H = 200, 160


# ---------------------------------------------------------------- tiny datasets

def _scene(seed):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (H, W, 3)).astype(np.float32), (0, 0), 3)
    img = (img - img.mean()) / img.std() * 50 + 120
    return np.clip(img, 0, 255).astype(np.uint8)


def _moving_frames(n, seed, step=(2, 1)):
    base = _scene(seed)
    return [np.roll(base, (step[1] * i, step[0] * i), axis=(0, 1)) for i in range(n)]


def make_json_dataset(root, name, videos):
    """videos: {video: (frames, gt rows, init_rect or None)} -> PySOT JSON dataset folder."""
    folder = os.path.join(root, name)
    meta = {}
    for vid, (frames, gt, init) in videos.items():
        os.makedirs(os.path.join(folder, vid, "img"))
        names = []
        for i, f in enumerate(frames, 1):
            rel = "%s/img/%04d.png" % (vid, i)
            cv2.imwrite(os.path.join(folder, rel), f)
            names.append(rel)
        meta[vid] = {"video_dir": vid, "init_rect": init or gt[0], "img_names": names,
                     "gt_rect": gt, "attr": []}
    with open(os.path.join(folder, name + ".json"), "w") as f:
        json.dump(meta, f)
    return folder


def make_vot_dataset(folder, videos):
    """videos: {video: (frames, gt rows)} -> VOT toolkit layout."""
    for vid, (frames, gt) in videos.items():
        os.makedirs(os.path.join(folder, vid, "color"))
        for i, f in enumerate(frames, 1):
            cv2.imwrite(os.path.join(folder, vid, "color", "%08d.jpg" % i), f)
        with open(os.path.join(folder, vid, "groundtruth.txt"), "w") as fh:
            fh.writelines(",".join("%.2f" % v for v in row) + "\n" for row in gt)
        with open(os.path.join(folder, vid, "sequence"), "w") as fh:
            fh.write("channels.color=color/%08d.jpg\n")
    with open(os.path.join(folder, "list.txt"), "w") as fh:
        fh.writelines(v + "\n" for v in videos)
    return folder


def _track_gt(n, start, step=(2, 1), size=(40, 32)):
    return [[start[0] + step[0] * i, start[1] + step[1] * i, size[0], size[1]] for i in range(n)]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("tool")
    td = os.path.join(root, "testing_dataset")
    make_json_dataset(td, "TinyOTB", {
        "alpha": (_moving_frames(8, 1), _track_gt(8, (70, 60)), None),
        "beta": (_moving_frames(6, 2, (-1, 2)), _track_gt(6, (90, 50), (-1, 2)), None),
    })
    # VOT: "jump" is a static image whose ground truth teleports at frame 3 -> a failure
    n = 12
    static = [_scene(3)] * n
    gt = [[40, 40, 40, 36]] * 3 + [[150, 115, 40, 36]] * (n - 3)
    poly = []
    for x, y, w, h in _track_gt(6, (60, 50)):  # 8-value polygons, slightly rotated
        poly.append([x, y + 2, x + w, y, x + w + 2, y + h, x + 2, y + h + 2])
    make_vot_dataset(os.path.join(root, "TinyVOT"), {
        "jump": (static, gt), "poly": (_moving_frames(6, 4), poly)})
    return str(root)


def run_tool(cwd, *args, timeout=300):
    env = dict(os.environ, PYTHONWARNINGS="default")
    return subprocess.run([sys.executable, TOOL, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _is_box(line, decimals=None):
    parts = line.split(",")
    if len(parts) != 4:
        return False
    vals = [float(p) for p in parts]
    if decimals is not None and not all(len(p.split(".")[1]) == decimals for p in parts):
        return False
    return all(np.isfinite(vals)) and vals[2] > 0 and vals[3] > 0


# ---------------------------------------------------------------- one-pass

def test_one_pass_layout_resume_force_and_workers(datasets, tmp_path):
    td = os.path.join(datasets, "testing_dataset")
    res = str(tmp_path / "results")
    common = ["--dataset", "TinyOTB", "--dataset-root", td, "--results", res]
    out = run_tool(str(tmp_path), *common, "--vis")
    assert out.returncode == 0, out.stderr
    assert "--vis" in out.stderr  # headless: warned, then ran on
    folder = os.path.join(res, "TinyOTB", "rasnet")
    assert sorted(os.listdir(folder)) == ["alpha.txt", "beta.txt"]  # no temp files left
    for vid, n, start in (("alpha", 8, (70, 60)), ("beta", 6, (90, 50))):
        lines = _lines(os.path.join(folder, vid + ".txt"))
        assert len(lines) == n
        assert [float(v) for v in lines[0].split(",")] == [start[0], start[1], 40, 32]
        assert all(_is_box(ln) for ln in lines)
    assert "alpha" in out.stdout and "fps" in out.stdout

    # a second run skips both videos and rewrites nothing
    paths = [os.path.join(folder, v) for v in ("alpha.txt", "beta.txt")]
    for p in paths:
        os.utime(p, (1_000_000_000, 1_000_000_000))
    contents = [open(p).read() for p in paths]
    out = run_tool(str(tmp_path), *common)
    assert out.returncode == 0, out.stderr
    assert all(os.path.getmtime(p) == 1_000_000_000 for p in paths)
    assert out.stdout.count("skip") == 2

    # --force re-runs (same result: the untrained weights are seeded)
    out = run_tool(str(tmp_path), *common, "--force", "--video", "beta")
    assert out.returncode == 0, out.stderr
    assert os.path.getmtime(paths[0]) == 1_000_000_000  # not asked for: skipped
    assert os.path.getmtime(paths[1]) > 1_000_000_000
    assert [open(p).read() for p in paths] == contents

    # a result cut short by hand is not trusted on resume: named, tracked again, whole
    with open(paths[0], "w") as f:
        f.write(contents[0].splitlines(keepends=True)[0])
    out = run_tool(str(tmp_path), *common)
    assert out.returncode == 0, out.stderr
    assert "re-run: the result there was unusable" in out.stdout and paths[0] in out.stdout
    assert "1 result lines but the ground truth has 8 frames" in out.stdout
    assert [open(p).read() for p in paths] == contents and out.stdout.count("skip") == 1

    # two worker processes write the same files as one
    out = run_tool(str(tmp_path), *common, "--num-workers", "2", "--model-name", "rasnet_w2")
    assert out.returncode == 0, out.stderr
    folder2 = os.path.join(res, "TinyOTB", "rasnet_w2")
    assert sorted(os.listdir(folder2)) == ["alpha.txt", "beta.txt"]
    for v in ("alpha.txt", "beta.txt"):
        a = np.loadtxt(os.path.join(folder, v), delimiter=",")
        b = np.loadtxt(os.path.join(folder2, v), delimiter=",")
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-3)  # thread counts may change the last bits


# ---------------------------------------------------------------- VOT

def test_vot_reset_protocol_layout(datasets, tmp_path):
    res = str(tmp_path / "results")
    out = run_tool(str(tmp_path), "--dataset", os.path.join(datasets, "TinyVOT"),
                   "--results", res, "--model-name", "rasnet")
    assert out.returncode == 0, out.stderr
    base = os.path.join(res, "TinyVOT", "rasnet", "baseline")
    assert sorted(os.listdir(base)) == ["jump", "poly"]
    assert os.listdir(os.path.join(base, "jump")) == ["jump_001.txt"]
    rec = _lines(os.path.join(base, "jump", "jump_001.txt"))
    assert len(rec) == 12
    # PySOT: 1 at init, 2 at the failure (frame 3), 0 for frames 4..7, 1 again at 3 + 5
    assert rec[0] == "1" and rec[3] == "2" and rec[4:8] == ["0"] * 4 and rec[8] == "1"
    assert all(_is_box(ln, decimals=4) for ln in rec[1:3] + rec[9:])
    rec = _lines(os.path.join(base, "poly", "poly_001.txt"))
    assert len(rec) == 6 and rec[0] == "1"
    assert all(_is_box(ln, 4) or ln == "2" or ln == "0" or ln == "1" for ln in rec[1:])
    assert "total lost" in out.stdout and "Lost: 1" in out.stdout


def test_vot_protocol_helpers():
    tool = reset_protocol
    # a 4-value box goes through PySOT's polygon and comes back unchanged
    assert tool.gt_polygon([10, 20, 30, 40]) == [10, 20, 10, 59, 39, 59, 39, 20]
    np.testing.assert_allclose(tool.pysot_init_box([10, 20, 30, 40]), [10, 20, 30, 40])
    # a rotated square: area-preserving axis-aligned box around the mean
    box = tool.pysot_init_box([50, 40, 60, 50, 50, 60, 40, 50])
    side = np.sqrt(200) + 1
    np.testing.assert_allclose(box, [50 - (side - 1) / 2, 50 - (side - 1) / 2, side, side])
    assert tool.overlap([0, 0, 10, 10], tool.gt_polygon([50, 50, 10, 10]), (100, 100)) == 0
    # the rectangle [50, 50, 10, 10] spans pixels 50..60 (11 x 11), its PySOT polygon
    # 50..59 (10 x 10): 100 shared of 121
    assert tool.overlap([50, 50, 10, 10], tool.gt_polygon([50, 50, 10, 10]),
                        (100, 100)) == pytest.approx(100 / 121, rel=1e-6)


# ---------------------------------------------------------------- failures

def test_broken_videos_fail_alone(datasets, tmp_path):
    td = str(tmp_path / "td")
    folder = make_json_dataset(td, "Broken", {
        "good": (_moving_frames(5, 5), _track_gt(5, (60, 50)), None),
        "bad_frame": (_moving_frames(6, 6), _track_gt(6, (60, 50)), None),
        "bad_box": (_moving_frames(4, 7), _track_gt(4, (60, 50)), [60, 50, 0, 30]),
    })
    missing = os.path.join(folder, "bad_frame", "img", "0004.png")
    os.remove(missing)
    res = str(tmp_path / "results")
    out = run_tool(str(tmp_path), "--dataset", "Broken", "--dataset-root", td, "--results", res)
    assert out.returncode != 0
    assert os.listdir(os.path.join(res, "Broken", "rasnet")) == ["good.txt"]
    assert len(_lines(os.path.join(res, "Broken", "rasnet", "good.txt"))) == 5
    err = out.stderr
    assert "bad_frame" in err and missing in err and "frame 3" in err
    assert "bad_box" in err and "init box" in err
    assert "2 video(s) failed: bad_box, bad_frame" in err


def test_ground_truth_length_mismatch_fails_alone(tmp_path):
    folder = make_vot_dataset(str(tmp_path / "VOTBad"), {
        "ok": (_moving_frames(4, 8), _track_gt(4, (60, 50))),
        "short": (_moving_frames(4, 9), _track_gt(5, (60, 50)))})
    res = str(tmp_path / "results")
    out = run_tool(str(tmp_path), "--dataset", folder, "--results", res)
    assert out.returncode != 0
    assert os.listdir(os.path.join(res, "VOTBad", "rasnet", "baseline")) == ["ok"]
    assert "short" in out.stderr and "groundtruth.txt" in out.stderr


def test_bad_snapshot_and_unknown_video(datasets, tmp_path):
    td = os.path.join(datasets, "testing_dataset")
    bad = tmp_path / "bad.pth"
    bad.write_text("not a checkpoint")
    res = str(tmp_path / "results")
    out = run_tool(str(tmp_path), "--dataset", "TinyOTB", "--dataset-root", td,
                   "--results", res, "--snapshot", str(bad))
    assert out.returncode != 0
    assert "not a torch checkpoint" in out.stderr and str(bad) in out.stderr
    assert not os.path.exists(res)
    out = run_tool(str(tmp_path), "--dataset", "TinyOTB", "--dataset-root", td,
                   "--results", res, "--video", "nope")
    assert out.returncode != 0 and "nope" in out.stderr
    out = run_tool(str(tmp_path), "--dataset", "Missing", "--dataset-root", td, "--results", res)
    assert out.returncode != 0 and "Missing" in out.stderr
    # a device that is not there: named, no traceback, nothing written
    for device in ["gpu"] + ([] if torch.cuda.is_available() else ["cuda"]):
        out = run_tool(str(tmp_path), "--dataset", "TinyOTB", "--dataset-root", td,
                       "--results", res, "--device", device)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert "device" in out.stderr and device in out.stderr
    assert not os.path.exists(res)


# ---------------------------------------------------------------- default dataset

class _FastModel(nn.Module):
    """A cheap stand-in network (raw pixel matching) so the bundled video runs fast."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def template(self, z):
        self.z = F.avg_pool2d(z.float(), 8)

    def track(self, x):
        xs = F.avg_pool2d(x.float(), 8)
        return F.conv2d(xs, self.z) / self.z.numel() / 255  # (S,1,17,17)


def test_no_dataset_builds_the_bundled_benchmark(tmp_path, monkeypatch):
    tool = test_cli
    monkeypatch.setattr(rasnet_plugin, "build_tracker",
                        lambda cfg, snapshot, device: RASNetTracker(_FastModel(), cfg, "cpu"))
    root, res = str(tmp_path / "td"), str(tmp_path / "results")
    code = tool.main(["--dataset-root", root, "--results", res, "--video", "cat_zoom"])
    assert code == 0
    assert os.path.isfile(os.path.join(root, "RASNetBench", "RASNetBench.json"))
    lines = _lines(os.path.join(res, "RASNetBench", "rasnet", "cat_zoom.txt"))
    assert len(lines) == 80 and all(_is_box(ln) for ln in lines)


def test_results_folder_named_after_the_snapshot_as_in_pysot(datasets, tmp_path, monkeypatch):
    """PySOT's tools/test.py names the tracker folder after the snapshot's file stem, so runs
    of several checkpoints (checkpoint_e19.pth, checkpoint_e20.pth) keep apart: the second
    must track, not skip videos because the first one's results sit in the same folder."""
    monkeypatch.setattr(rasnet_plugin, "build_tracker",
                        lambda cfg, snapshot, device: RASNetTracker(_FastModel(), cfg, "cpu"))
    td, res = os.path.join(datasets, "testing_dataset"), str(tmp_path / "results")
    common = ["--dataset", "TinyOTB", "--dataset-root", td, "--results", res, "--video", "beta"]
    for epoch in (19, 20):
        snap = os.path.join("snapshot", "checkpoint_e%d.pth" % epoch)
        assert test_cli.main(common + ["--snapshot", snap]) == 0
        assert os.path.isfile(os.path.join(res, "TinyOTB", "checkpoint_e%d" % epoch, "beta.txt"))
    assert test_cli.main(common) == 0  # no snapshot: the config's stem, as before
    assert os.path.isfile(os.path.join(res, "TinyOTB", "rasnet", "beta.txt"))
    assert test_cli.main(common + ["--snapshot", "x.pth", "--model-name", "mine"]) == 0
    assert sorted(os.listdir(os.path.join(res, "TinyOTB"))) == [
        "checkpoint_e19", "checkpoint_e20", "mine", "rasnet"]
    assert test_cli.default_model_name("experiments/rasnet.yaml") == "rasnet"


def test_unknown_video_lists_the_videos(datasets, tmp_path, capsys):
    td = os.path.join(datasets, "testing_dataset")
    assert test_cli.main(["--dataset", "TinyOTB", "--dataset-root", td, "--results",
                          str(tmp_path / "r"), "--video", "gamma"]) == 1
    assert "no video 'gamma' (its videos: alpha, beta)" in capsys.readouterr().err


def test_unwritable_results_folder_is_named_before_tracking(datasets, tmp_path, monkeypatch,
                                                           capsys):
    """A --results path that cannot hold the results (a file in the way) is an error before
    the first video is tracked, not after every video has been tracked and thrown away."""
    tracked = []

    class _Counting(RASNetTracker):
        def track(self, img):
            tracked.append(1)
            return super().track(img)

    monkeypatch.setattr(rasnet_plugin, "build_tracker",
                        lambda cfg, snapshot, device: _Counting(_FastModel(), cfg, "cpu"))
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a folder")
    td = os.path.join(datasets, "testing_dataset")
    code = test_cli.main(["--dataset", "TinyOTB", "--dataset-root", td, "--results", str(blocker)])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot write results to %s" % os.path.join(str(blocker), "TinyOTB", "rasnet") in err
    assert not tracked
