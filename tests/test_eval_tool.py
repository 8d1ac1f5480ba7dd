"""tools/eval.py end to end on small synthetic PySOT-JSON datasets written in tmp_path."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rasnet_plugin.evaluation import evaluate, results as R

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "eval.py"
W, H = 64, 48


def _write_dataset(root, name, videos, extra=None):
    """videos: {video: (gt rows, attr)}; writes images and <root>/<name>/<name>.json.

    ``extra``: {video: {field: value}} added to the JSON entries (e.g. VOT tag lists)."""
    ds_dir = root / name
    meta = {}
    img = np.full((H, W, 3), 127, np.uint8)
    for video, (gt, attr) in videos.items():
        (ds_dir / video).mkdir(parents=True)
        names = []
        for i in range(len(gt)):
            cv2.imwrite(str(ds_dir / video / f"{i + 1:04d}.png"), img)
            names.append(f"{video}/{i + 1:04d}.png")
        gt = [list(map(float, g)) for g in gt]
        xs, ys = gt[0][0::2], gt[0][1::2]
        init = gt[0] if len(gt[0]) == 4 else [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        meta[video] = {"video_dir": video, "init_rect": init, "img_names": names,
                       "gt_rect": gt, "attr": attr, **(extra or {}).get(video, {})}
    (ds_dir / f"{name}.json").write_text(json.dumps(meta))
    return ds_dir


def _run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(TOOL), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _rows(stdout):
    """{tracker: [numbers]} from the first table of the output."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1:
            try:
                rows[cells[0]] = [float(c) for c in cells[1:]]
            except ValueError:
                continue
    return rows


@pytest.fixture(scope="module")
def ope_setup(tmp_path_factory):
    """Dataset SYN (2 videos of 10x10 boxes) and trackers 'perfect' and 'shift5'."""
    tmp = tmp_path_factory.mktemp("ope")
    walk = [[5 + i, 8, 10, 10] for i in range(12)]
    jump = [[20, 5 + i, 10, 10] for i in range(8)]
    _write_dataset(tmp / "testing_dataset", "SYN", {"walk": (walk, ["IV", "OCC"]),
                                                    "jump": (jump, ["OCC"])})
    res = tmp / "results"
    for video, gt in (("walk", walk), ("jump", jump)):
        gt = np.array(gt, float)
        R.save_result(res, "SYN", "perfect", video, gt)
        R.save_result(res, "SYN", "shift5", video, gt + [5, 0, 0, 0])  # IoU 1/3, 5 px off
    return tmp


def test_ope_table_numbers_and_plots(ope_setup):
    tmp = ope_setup
    out = _run("--tracker_path", "results", "--dataset", "SYN", "--show_video_level", cwd=tmp)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stdout.splitlines()
    header = next(l for l in lines if "Tracker name" in l)
    assert [c.strip() for c in header.strip("|").split("|")] == \
        ["Tracker name", "Success", "Norm Precision", "Precision"]
    rows = _rows(out.stdout)
    # perfect: IoU 1 is > every threshold but 1.0 -> 20/21; every centre error 0
    assert rows["perfect"] == [round(20 / 21, 3), 1.0, 1.0]
    # shift5: IoU 1/3 -> 7 of 21 thresholds; 5 px <= 20 px; 5/10 = 0.5 > 0.2 normalised
    assert rows["shift5"] == [round(7 / 21, 3), 0.0, 1.0]
    # sorted by success
    table = [l for l in lines if l.startswith("|") and ("perfect" in l or "shift5" in l)]
    assert "perfect" in table[0] and "shift5" in table[1]
    # video level table lists both videos
    assert any("walk" in l for l in lines) and any("jump" in l for l in lines)
    plots = tmp / "results" / "SYN" / "plots"
    pngs = sorted(p.name for p in plots.glob("*.png"))
    assert pngs == ["norm_precision_ALL.png", "precision_ALL.png", "precision_IV.png",
                    "precision_OCC.png", "success_ALL.png", "success_IV.png", "success_OCC.png"]
    for p in plots.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000

    # second run: the plots folder is not mistaken for a tracker; prefix and --num work
    out = _run("--tracker_path", "results", "--dataset", "SYN", "--tracker_prefix", "shi",
               "--num", "2", "--plot_dir", str(tmp / "p2"), cwd=tmp)
    assert out.returncode == 0, out.stderr
    assert set(_rows(out.stdout)) == {"shift5"}
    assert (tmp / "p2" / "success_ALL.png").is_file()


def test_benchmark_api_per_video_and_attributes(ope_setup):
    from rasnet_plugin.datasets import load_dataset
    ds = load_dataset("SYN", root=ope_setup / "testing_dataset")
    res = evaluate(ds, ope_setup / "results", exclude=[ope_setup / "results/SYN/plots"])
    assert res.protocol == "ope" and res.ranking() == ["perfect", "shift5"]
    t = res.trackers["shift5"]
    assert set(t.videos) == {"walk", "jump"}
    assert t.videos["walk"].auc == pytest.approx(7 / 21)
    assert t.overall.precision_20 == 1.0 and t.overall.norm_precision_20 == 0.0
    assert res.attributes == {"IV": ["walk"], "OCC": ["jump", "walk"]}
    assert t.attributes["OCC"].num_videos == 2 and t.attributes["IV"].num_videos == 1
    assert res.to_dict()["trackers"]["perfect"]["overall"]["success"] == pytest.approx(20 / 21)


def _load_tool():
    from rasnet_plugin.cli import eval as eval_cli
    return eval_cli


@pytest.fixture
def broken(tmp_path, ope_setup):
    """A copy of the OPE setup's results whose files the test can damage."""
    import shutil
    shutil.copytree(ope_setup / "results" / "SYN" / "shift5", tmp_path / "results" / "SYN" / "shift5")
    return tmp_path


def _tool_error(broken, ope_setup, capsys, *extra):
    code = _load_tool().main(["--tracker_path", str(broken / "results"), "--dataset", "SYN",
                              "--dataset_root", str(ope_setup / "testing_dataset"), *extra])
    err = capsys.readouterr().err
    assert code == 1
    return err


def test_missing_video_result_is_a_clear_error(broken, ope_setup, capsys):
    os.remove(broken / "results/SYN/shift5/jump.txt")
    err = _tool_error(broken, ope_setup, capsys)
    assert "shift5" in err and "jump" in err and str(broken / "results/SYN/shift5/jump.txt") in err


def test_malformed_result_is_a_clear_error(broken, ope_setup, capsys):
    p = broken / "results/SYN/shift5/walk.txt"
    lines = p.read_text().splitlines()
    lines[4] = "1,2,oops,4"
    p.write_text("\n".join(lines) + "\n")
    err = _tool_error(broken, ope_setup, capsys)
    assert f"{p}:5:" in err and "oops" in err


def test_short_result_names_both_counts(broken, ope_setup, capsys):
    p = broken / "results/SYN/shift5/jump.txt"
    p.write_text("\n".join(p.read_text().splitlines()[:5]) + "\n")
    err = _tool_error(broken, ope_setup, capsys)
    assert str(p) in err and "5 result lines" in err and "8 frames" in err


def test_every_bad_result_is_named_at_once(broken, ope_setup, capsys):
    # two trackers, three problems: one run of the tool names them all
    import shutil
    shutil.copytree(broken / "results/SYN/shift5", broken / "results/SYN/other")
    os.remove(broken / "results/SYN/shift5/jump.txt")
    (broken / "results/SYN/shift5/walk.txt").write_text("1,2,3,4\n")
    (broken / "results/SYN/other/walk.txt").write_text("1,2,3\n")
    err = _tool_error(broken, ope_setup, capsys)
    assert "3 results are missing or malformed" in err
    assert str(broken / "results/SYN/shift5/jump.txt") in err
    assert str(broken / "results/SYN/shift5/walk.txt") in err and "1 result lines" in err
    assert str(broken / "results/SYN/other/walk.txt") + ":1:" in err


def test_no_results_and_unknown_dataset_exit_nonzero(tmp_path, ope_setup):
    out = _run("--tracker_path", str(tmp_path / "empty"), "--dataset", "SYN",
               "--dataset_root", str(ope_setup / "testing_dataset"), cwd=tmp_path)
    assert out.returncode == 1
    assert "no tracker results found" in out.stderr and "Traceback" not in out.stderr
    out = _run("--dataset", "NOPE", cwd=tmp_path)
    assert out.returncode == 1 and "NOPE" in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------------ VOT reset protocol

POLY = [10, 10, 30, 10, 30, 30, 10, 30]  # a 20x20 square given as a polygon
BOX = [10.0, 10.0, 20.0, 20.0]
SHIFT = [15.0, 10.0, 20.0, 20.0]


def test_vot_table(tmp_path):
    occlusion = [0] * 25 + [1] * 15  # frames 25..39
    _write_dataset(tmp_path / "testing_dataset", "VOTSYN", {"seq": ([POLY] * 40, [])},
                   extra={"seq": {"occlusion": occlusion}})
    res = tmp_path / "results"
    R.save_result(res, "VOTSYN", "perfect", "seq", [1] + [BOX] * 39, "vot")
    # failure at 15, restart at 20; frames 30..39 shifted 5 px
    lossy = [1] + [BOX] * 14 + [2, 0, 0, 0, 0, 1] + [BOX] * 9 + [SHIFT] * 10
    R.save_result(res, "VOTSYN", "lossy", "seq", lossy, "vot")
    out = _run("--dataset", "VOTSYN", "--tracker_path", "results", "--show_video_level", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    header = next(l for l in out.stdout.splitlines() if "Tracker Name" in l)
    assert [c.strip() for c in header.strip("|").split("|")] == \
        ["Tracker Name", "Accuracy", "Robustness", "Lost Number", "EAO"]
    rows = _rows(out.stdout)
    assert rows["perfect"] == [1.0, 0.0, 0.0, 1.0]
    # accuracy: burn-in leaves frames 10..14 (overlap 1) and 30..39 (pixel overlap: the
    # 21x21-pixel squares share 16 of 21 columns -> 16/26); robustness 1 / 40 * 100;
    # EAO clipped to length 40: only the failed fragment reaches it, 14 frames of 1 in 39
    acc = (5 + 10 * 16 / 26) / 15
    assert rows["lossy"] == [round(acc, 3), 2.5, 1.0, round(14 / 39, 3)]
    assert "EAO over sequence lengths [40, 40]" in out.stdout
    assert (res / "VOTSYN" / "plots" / "eao_curve.png").is_file()
    # the API gives the same numbers, per video and per tag
    from rasnet_plugin.datasets import load_dataset
    result = evaluate(load_dataset("VOTSYN", root=tmp_path / "testing_dataset"), res,
                      exclude=[res / "VOTSYN" / "plots"])
    assert result.protocol == "vot" and result.ranking() == ["perfect", "lossy"]
    t = result.trackers["lossy"]
    assert t.accuracy == pytest.approx(acc, rel=1e-6) and t.lost_number == 1.0
    assert t.videos["seq"].failures == 1.0 and t.videos["seq"].robustness == 2.5
    assert t.eao == pytest.approx(14 / 39, rel=1e-6) and t.eao_interval == (40, 40)
    occ = t.attributes["occlusion"]  # frames 25..29 overlap 1 are in burn-in; 30..39 scored
    assert occ["frames"] == 15 and occ["failures"] == 0
    assert occ["accuracy"] == pytest.approx(16 / 26, rel=1e-6)
    # a broken record is named with its line
    p = R.result_path(res, "VOTSYN", "lossy", "seq", "vot")
    p.write_text(p.read_text().replace("2\n", "7\n", 1))
    out = _run("--dataset", "VOTSYN", "--tracker_path", "results", cwd=tmp_path)
    rel = p.relative_to(tmp_path)
    assert out.returncode == 1 and f"{rel}:16:" in out.stderr and "Traceback" not in out.stderr
