"""The contamination guard: result videos a checkpoint was trained on are marked, and
--exclude-trained leaves them out of the averages (tools/eval.py, tools/compare.py)."""
import numpy as np
import pytest
import torch

from rasnet_plugin.evaluation import contamination as C
from rasnet_plugin.evaluation import results as R

from test_eval_tool import _rows, _run, _write_dataset


def test_video_key_ignores_case_prefixes_and_paths():
    assert C.video_key("uav_bike1") == C.video_key("bike1") == "bike1"
    assert C.video_key("UAVDT_S0310") == "s0310"
    assert C.video_key("dtb_Gull2") == C.video_key("DTB70/Gull2") == "gull2"
    assert C.video_key("OTB100/Jogging-1") == "jogging-1"
    assert C.video_key("stills/photo3.jpg") == "photo3"
    assert C.video_key("uav") == "uav"                 # a bare prefix is a name
    assert C.video_key("bike1") != C.video_key("bike10")


def test_trained_matches_hand_made_case(tmp_path):
    path = tmp_path / "ck.pth"
    torch.save({"state_dict": {"w": torch.ones(1)},
                "videos": [{"source": "TRAIN_REAL", "name": "uav_bike1", "split": "train"},
                           {"source": "TRAIN_REAL", "name": "Dog1", "split": "val"},
                           {"source": "STILL", "name": "photo0.jpg", "split": "train"}]}, path)
    trained = C.trained_videos(path)
    assert set(trained) == {"bike1", "dog1", "photo0"}
    got = C.trained_matches(["bike1", "Bike10", "DOG1", "Crossing"], trained)
    assert got == {"bike1": [("TRAIN_REAL", "uav_bike1")], "DOG1": [("TRAIN_REAL", "Dog1")]}
    # a file from before the list existed lists nothing
    torch.save({"state_dict": {"w": torch.ones(1)}}, tmp_path / "old.pth")
    assert C.trained_videos(tmp_path / "old.pth") == {}


@pytest.fixture()
def setup(tmp_path):
    """Dataset SYN: 'bike1' tracked perfectly, 'walk' 5 px off (IoU 1/3); a checkpoint
    trained on uav_bike1."""
    bike = [[5 + i, 8, 10, 10] for i in range(6)]
    walk = [[20, 5 + i, 10, 10] for i in range(6)]
    _write_dataset(tmp_path / "testing_dataset", "SYN", {"bike1": (bike, []), "walk": (walk, [])})
    R.save_result(tmp_path / "results", "SYN", "m", "bike1", np.array(bike, float))
    R.save_result(tmp_path / "results", "SYN", "m", "walk", np.array(walk, float) + [5, 0, 0, 0])
    torch.save({"state_dict": {"w": torch.ones(1)},
                "videos": [{"source": "TRAIN_REAL", "name": "uav_bike1", "split": "train"}]},
               tmp_path / "ck.pth")
    return tmp_path


def test_eval_marks_and_excludes_trained_videos(setup):
    args = ("--tracker_path", "results", "--dataset", "SYN", "--snapshot", "ck.pth",
            "--show_video_level")
    out = _run(*args, cwd=setup)
    assert out.returncode == 0, out.stderr
    assert "trained on: bike1 (TRAIN_REAL/uav_bike1)" in out.stdout
    assert "bike1 *" in out.stdout and "walk *" not in out.stdout
    both = _rows(out.stdout)["m"][0]
    out = _run(*args, "--exclude-trained", cwd=setup)
    assert out.returncode == 0, out.stderr
    assert "excluded" in out.stdout
    walk_only = _rows(out.stdout)["m"][0]
    # success AUC of IoU 1/3 on frames 0..5: 7 of 21 thresholds (0 .. 0.30) pass
    assert walk_only == pytest.approx(7 / 21, abs=1e-3)
    assert both == pytest.approx((20 / 21 + 7 / 21) / 2, abs=1e-3)   # IoU 1 fails t = 1


def test_compare_marks_and_excludes_per_tracker(setup, monkeypatch):
    from rasnet_plugin.evaluation import compare
    from rasnet_plugin.datasets import load_dataset
    ds = load_dataset(str(setup / "testing_dataset" / "SYN"))
    gt = {v.name: v.gt_xywh() for v in ds}
    monkeypatch.setattr(compare, "make_tracker", lambda spec, device: None)
    monkeypatch.setattr(compare, "run_video", lambda tr, v: (
        gt[v.name] + ([0, 0, 0, 0] if v.name == "bike1" else [5, 0, 0, 0]),
        np.full(len(v), 0.01)))
    spec = ("m", "unused.yaml", str(setup / "ck.pth"))
    kept = compare.evaluate_tracker(spec, [ds], str(setup / "cmp"), "cpu", log=lambda s: None)
    out = compare.evaluate_tracker(spec, [ds], str(setup / "cmp"), "cpu", log=lambda s: None,
                                   exclude_trained=True)
    assert kept["SYN"]["videos"]["bike1"]["trained"] and not kept["SYN"]["videos"]["walk"]["trained"]
    assert out["SYN"]["excluded"] == ["bike1"] and kept["SYN"]["excluded"] == []
    # scored on frames 1..: bike1 AUC 20/21 (IoU 1 fails only t = 1), walk 7/21
    assert kept["SYN"]["auc"] == pytest.approx((20 / 21 + 7 / 21) / 2)
    assert out["SYN"]["auc"] == pytest.approx(7 / 21)
    table = compare.markdown_videos({"m": out}, ["SYN"])
    assert "| bike1 | 0.952 / 1.000 * |" in table and "| **mean** | 0.333 / 1.000" in table
