"""tools/compare.py (rasnet_plugin.cli.compare, .evaluation.compare): the scores by hand, and a run on a tiny OTB-layout dataset."""
import json
import os

import cv2
import numpy as np
import pytest

from rasnet_plugin.cli import compare as compare_cli
from rasnet_plugin.config import CONFIG_DIR
from rasnet_plugin.evaluation import compare

SIAMFC_CFG = os.path.join(CONFIG_DIR, "siamfc.yaml")


def test_scores_hand_computed():
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    boxes = np.array([[50, 50, 10, 10],      # frame 0 is the given box: never scored
                      [0, 0, 10, 10],        # IoU 1, centre error 0
                      [5, 0, 10, 10],        # IoU 50 / 150 = 1/3, centre error 5
                      [100, 100, 10, 10]])   # IoU 0, centre error 141
    auc, prec = compare.score(gt, boxes)
    # success(t) = share of frames with IoU > t over t = 0, 0.05, ..., 1:
    # 2/3 for the 7 thresholds up to 0.3, 1/3 for the 13 from 0.35 to 0.95, 0 at 1
    assert auc == pytest.approx((7 * 2 / 3 + 13 * 1 / 3) / 21)
    assert prec == pytest.approx(2 / 3)


def test_parse_tracker():
    assert compare.parse_tracker("csrt") == ("csrt", None, None)
    assert compare.parse_tracker("rasnet")[1].endswith("rasnet.yaml")
    assert compare.parse_tracker("m=a.yaml,b.pth") == ("m", "a.yaml", "b.pth")
    assert compare.parse_tracker("m=a.yaml") == ("m", "a.yaml", None)
    for bad in ("nope", "=a.yaml", "m="):
        with pytest.raises(ValueError, match="--tracker"):
            compare.parse_tracker(bad)


def make_otb(root, n=8):
    """One OTB sequence: a textured square moving over a smooth background."""
    rng = np.random.default_rng(0)
    bg = cv2.GaussianBlur(rng.random((120, 160, 3)).astype(np.float32), (0, 0), 6)
    bg = (255 * (bg - bg.min()) / np.ptp(bg)).astype(np.uint8)
    obj = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    seq = root / "OTBtiny" / "Square"
    (seq / "img").mkdir(parents=True)
    gt = []
    for k in range(n):
        x, y = 40 + 3 * k, 50 + k
        img = bg.copy()
        img[y:y + 24, x:x + 24] = obj
        cv2.imwrite(str(seq / "img" / ("%04d.jpg" % (k + 1))), img)
        gt.append("%d\t%d\t24\t24" % (x, y))
    (seq / "groundtruth_rect.txt").write_text("\n".join(gt) + "\n")
    return str(root / "OTBtiny")


def test_compare_runs_resumes_and_reports(tmp_path, capsys, monkeypatch):
    data, res = make_otb(tmp_path), str(tmp_path / "res")
    argv = ["--dataset", data, "--results", res, "--threads", "1",
            "--tracker", "csrt", "mine=%s" % SIAMFC_CFG]
    assert compare_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "| tracker | OTBtiny AUC / P@20 / fps |" in out
    table = json.loads(open(os.path.join(res, "compare.json")).read())
    assert sorted(table) == ["csrt", "mine"]
    for name in table:
        row = table[name]["OTBtiny"]
        assert row["videos"]["Square"]["frames"] == 8 and row["fps"] > 0
        assert 0 <= row["auc"] <= 1 and 0 <= row["precision"] <= 1
        boxes = os.path.join(res, "OTBtiny", name, "Square", "Square_001.txt")
        assert len(open(boxes).read().splitlines()) == 8
    # an easy sequence: CSRT and the shipped SiamFC ablation both follow it (0.905 AUC each)
    assert table["csrt"]["OTBtiny"]["auc"] > 0.5
    assert table["mine"]["OTBtiny"]["auc"] > 0.7 and table["mine"]["OTBtiny"]["precision"] == 1.0

    # a rerun reuses the results: no tracker is built, the table is the same
    def no_build(*_):
        raise AssertionError("rebuilt a tracker although its results exist")
    monkeypatch.setattr(compare, "make_tracker", no_build)
    assert compare_cli.main(argv) == 0
    assert json.loads(open(os.path.join(res, "compare.json")).read()) == table
    with pytest.raises(AssertionError, match="rebuilt"):
        compare_cli.main(argv + ["--force"])


def test_compare_bad_input_is_named_and_others_still_run(tmp_path, capsys):
    data, res = make_otb(tmp_path, n=4), str(tmp_path / "res")
    assert compare_cli.main(["--dataset", data, "--tracker", "nope"]) == 1
    assert "'nope'" in capsys.readouterr().err
    assert compare_cli.main(["--dataset", str(tmp_path / "none"), "--tracker", "csrt"]) == 1
    capsys.readouterr()
    argv = ["--dataset", data, "--results", res, "--threads", "1",
            "--tracker", "gone=%s,%s" % (SIAMFC_CFG, tmp_path / "absent.pth"), "csrt"]
    assert compare_cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "absent.pth" in captured.err and "| csrt |" in captured.out


def test_summary_merges_runs_on_other_datasets(tmp_path):
    path = str(tmp_path / "compare.json")
    compare.save_table(path, {"a": {"D1": {"auc": 0.5}}})
    compare.save_table(path, {"a": {"D2": {"auc": 0.6}}, "b": {"D2": {"auc": 0.7}}})
    assert json.loads(open(path).read()) == {"a": {"D1": {"auc": 0.5}, "D2": {"auc": 0.6}},
                                             "b": {"D2": {"auc": 0.7}}}
    open(path, "w").write("{broken")
    compare.save_table(path, {"c": {"D": {"auc": 0.1}}})
    assert json.loads(open(path).read()) == {"c": {"D": {"auc": 0.1}}}


def test_compare_tracks_again_a_result_cut_by_hand_and_reports_a_video_it_cannot_track(tmp_path, capsys):
    data, res = make_otb(tmp_path, n=6), str(tmp_path / "res")
    # a second sequence whose frame 3 is not an image
    good = os.path.join(data, "Square")
    bad = os.path.join(data, "Broken")
    os.makedirs(os.path.join(bad, "img"))
    for k in range(1, 7):
        src = os.path.join(good, "img", "%04d.jpg" % k)
        dst = os.path.join(bad, "img", "%04d.jpg" % k)
        if k == 3:
            open(dst, "w").write("not a jpeg")
        else:
            os.link(src, dst)
    open(os.path.join(bad, "groundtruth_rect.txt"), "w").write(
        open(os.path.join(good, "groundtruth_rect.txt")).read())
    argv = ["--dataset", data, "--results", res, "--threads", "1", "--tracker", "csrt"]
    assert compare_cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "error: csrt: OTBtiny/Broken:" in captured.err and "0003.jpg" in captured.err
    table = json.loads(open(os.path.join(res, "compare.json")).read())["csrt"]["OTBtiny"]
    assert "0003.jpg" in table["videos"]["Broken"]["error"]
    square = table["videos"]["Square"]
    assert table["auc"] == pytest.approx(square["auc"])   # the mean leaves the error out
    assert "| Broken | error |" in captured.out

    # cut Square's result by hand: the rerun names it, tracks it again, scores it the same
    boxes = os.path.join(res, "OTBtiny", "csrt", "Square", "Square_001.txt")
    lines = open(boxes).read().splitlines()
    open(boxes, "w").write("\n".join(lines[:3]) + "\n")
    assert compare_cli.main(argv) == 1            # Broken still cannot be tracked
    captured = capsys.readouterr()
    assert "Square" in captured.out and "result unusable, tracking it again" in captured.out
    assert len(open(boxes).read().splitlines()) == 6
    again = json.loads(open(os.path.join(res, "compare.json")).read())["csrt"]["OTBtiny"]
    assert again["videos"]["Square"]["auc"] == pytest.approx(square["auc"], abs=0.05)


def test_compare_unwritable_results_is_named_before_tracking(tmp_path, capsys, monkeypatch):
    """--results blocked by a file: one `error:` naming it, before any tracker runs (it
    used to track everything, lose each video's result, then end in a traceback)."""
    data = make_otb(tmp_path)
    blocker = tmp_path / "res"
    blocker.write_text("a file, not a folder")
    calls = []

    def tracked(*args, **kwargs):
        calls.append(args)
        raise OSError("tracked, then could not write")

    monkeypatch.setattr(compare, "evaluate_tracker", tracked)
    assert compare_cli.main(["--dataset", data, "--results", str(blocker),
                             "--tracker", "m=" + SIAMFC_CFG]) == 1
    assert "error: cannot write results to %s" % blocker in capsys.readouterr().err
    assert not calls
