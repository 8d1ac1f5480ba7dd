"""Hand-computed aggregation checks: multi-run VOT scoring, weighted EAO, per-tag VOT
failures / EAO, and LaSOT-style present / absent frames in one-pass scoring."""
import cv2
import numpy as np
import pytest

from rasnet_plugin.datasets import DatasetError, load_dataset
from rasnet_plugin.evaluation import evaluate, metrics as M, results as R
from test_eval_tool import BOX, POLY, SHIFT, _write_dataset  # noqa: E402  (tests/ on sys.path)

S = 16 / 26  # raster overlap of SHIFT with POLY: 21x21-pixel squares sharing 16 of 26 columns

# ------------------------------------------------------------------ multi-run VOT
#
# 30-frame videos; "a" has two runs, "b" one:
#   a_001: [1] + BOX * 29                                      (no failure)
#   a_002: [1] + SHIFT * 14 (1..14) + [2] (15) + [0] * 4 + [1] (20) + SHIFT * 9 (21..29)
#   b_001: [1] + BOX * 9 (1..9) + [2] (10) + [0] * 4 + [1] (15) + BOX * 14 (16..29)
A1 = [[1]] + [BOX] * 29
A2 = [[1]] + [SHIFT] * 14 + [[2]] + [[0]] * 4 + [[1]] + [SHIFT] * 9
B1 = [[1]] + [BOX] * 9 + [[2]] + [[0]] * 4 + [[1]] + [BOX] * 14
# occlusion tag: a frames 12..17 (run a_002 fails at 15, inside), b frames 8..9
TAGS = {"a": {"occlusion": [0] * 12 + [1] * 6}, "b": {"occlusion": [0] * 8 + [1] * 2}}


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multi")
    _write_dataset(tmp / "ds", "MULTI", {"a": ([POLY] * 30, []), "b": ([POLY] * 30, [])},
                   extra=TAGS)
    res = tmp / "results"
    for video, runs in (("a", (A1, A2)), ("b", (B1,))):
        for k, rec in enumerate(runs, 1):
            R.save_result(res, "MULTI", "t", video, rec, "vot", run=k)
    assert (res / "MULTI/t/baseline/a/a_002.txt").is_file()
    result = evaluate(load_dataset("MULTI", root=tmp / "ds"), res)
    assert result.protocol == "vot"
    return result.trackers["t"]


def test_vot_multi_run_accuracy_failures_and_lost_number(multi):
    a, b = multi.videos["a"], multi.videos["b"]
    # burn-in 10 from each [1]: a_001 scores frames 10..29 (overlap 1); a_002 only 10..14
    # (overlap S; 20..29 are its second burn-in). Per-frame mean over runs: frames 10..14
    # (1 + S) / 2 = 21/26, frames 15..29 just a_001's 1 -> (5 * 21/26 + 15) / 20 = 99/104
    # (pooling runs would give (20 + 5 S) / 25 = 12/13; mean of run accuracies 21/26)
    assert a.accuracy == pytest.approx(99 / 104, rel=1e-6)
    np.testing.assert_allclose(a.overlaps[10:15], 21 / 26, rtol=1e-6)
    assert np.isnan(a.overlaps[:10]).all() and (a.overlaps[15:] == 1).all()
    # b: burn-in 0..9 and 15..24, frames 25..29 scored at overlap 1
    assert b.accuracy == 1.0
    # overall: NaN-mean of the per-frame means, a's 20 frames and b's 5: (495/26 + 5) / 25
    assert multi.accuracy == pytest.approx(25 / 26, rel=1e-6)
    # failures: a's runs fail 0 and 1 times -> 0.5; b once -> lost 0.5 + 1 over 60 frames
    assert a.run_failures == [0, 1] and a.failures == 0.5 and b.failures == 1.0
    assert a.robustness == pytest.approx(0.5 / 30 * 100)
    assert multi.lost_number == 1.5 and multi.robustness == pytest.approx(2.5)
    assert multi.to_dict()["videos"]["a"]["runs"] == 2


def test_vot_multi_run_eao_weights_runs_by_one_over_runs(multi):
    # EAO (no burn-in, restart = failure + 5). Fragments (weight):
    #   a_001 open [0, 1 x 29] (1/2); a_002 failed [0, S x 14, 0 ...] (1/2) and open from 20,
    #   10 frames [0, S x 9] (1/2); b failed [0, 1 x 9, 0 ...] (1) and open from 15, 15 frames (1)
    # length 30 (the clipped interval [30, 30]): a_001 -> 1, a_002 failed -> 14 S / 29,
    #   b failed -> 9/29:  (1/2 + 7 S / 29 + 9/29) / 2 = (188.5 + 56 + 117) / 754 = 723/1508
    #   (weight 1 per run instead: (1 + 14 S / 29 + 9/29) / 3 = 606/1131)
    assert multi.eao_interval == (30, 30) and len(multi.eao_curve) == 30
    assert multi.eao == pytest.approx(723 / 1508, rel=1e-6)
    # length 10: all five fragments defined; a_001 1, a_002's two S, b's two 1:
    #   (1/2 + S/2 + S/2 + 1 + 1) / 3.5 = (2.5 + 8/13) / 3.5 = 81/91
    assert multi.eao_curve[0] == 1.0
    assert multi.eao_curve[9] == pytest.approx(81 / 91, rel=1e-6)


def test_vot_tag_failures_accuracy_and_eao(multi):
    occ = multi.attributes["occlusion"]
    assert occ["frames"] == 8  # 6 in a, 2 in b (b's are in burn-in, so not scored)
    # a frames 12..14 at 21/26, 15..17 at 1 -> (21/26 + 1) / 2
    assert occ["accuracy"] == pytest.approx(47 / 52, rel=1e-6)
    # a_002's failure at 15 is tagged, weight 1/2; b's at 10 is not
    assert occ["failures"] == 0.5
    # tag EAO: fragment weight = run weight x tagged share of the fragment's frames
    #   a_001: 6 of 30 -> 1/2 * 1/5 = 1/10 (value 1 at length 30)
    #   a_002 failed fragment, frames 0..20: 6 of 21 -> 1/2 * 2/7 = 1/7 (value 14 S / 29)
    #   b failed fragment, frames 0..15: 2 of 16 -> 1/8 (value 9/29); the open ones: 0
    # (1/10 + 16/377 + 117/3016) / (1/10 + 1/7 + 1/8) = (2733/15080) / (103/280) = 19131/38831
    assert occ["eao"] == pytest.approx(19131 / 38831, rel=1e-6)


# ------------------------------------------------------------------ weighted EAO curve

# as test_metrics: A = 4 frames, no failure; B = 8 frames, failure at 2 (restart at 7)
OV_A = np.array([np.nan, 1.0, 0.5, 0.5])
OV_B = np.array([np.nan, 1.0] + [np.nan] * 6)


def test_eao_curve_non_uniform_weights():
    # fragments: A [0, 1, .5, .5] weight 1; B0 [0, 1, 0 ...] weight 0.5 (to the end);
    # B1 (1 frame) weight 0.5, never defined past length 1.
    #   length 3: (1 * 0.75 + 0.5 * 0.5) / 1.5 = 2/3;  length 4: (1 * 2/3 + 0.5 * 1/3) / 1.5 = 5/9
    #   lengths 5..8: B0 alone -> 1/4 .. 1/7 (uniform weights give 0.625 and 0.5 at 3 and 4)
    expected = [1, 1, 2 / 3, 5 / 9, 1 / 4, 1 / 5, 1 / 6, 1 / 7]
    curve = M.eao_curve([OV_A, OV_B], [[], [2]], weights=[1, 0.5])
    np.testing.assert_allclose(curve, expected)
    # only relative weights matter
    np.testing.assert_allclose(M.eao_curve([OV_A, OV_B], [[], [2]], weights=[2, 1]), expected)
    assert M.expected_average_overlap([OV_A, OV_B], [[], [2]], low=2, high=4,
                                      weights=[1, 0.5]) == pytest.approx(20 / 27)
    # weights and tags multiply: B0 spans frames 0..7 (up to the restart), B tagged on 0..1
    # -> 0.5 * 2/8 = 1/8; length 3: (0.75 + 1/8 * 0.5) / (1 + 1/8) = 13/18
    tags = [np.ones(4), np.array([1, 1, 0, 0, 0, 0, 0, 0])]
    curve = M.eao_curve([OV_A, OV_B], [[], [2]], tags=tags, weights=[1, 0.5])
    assert curve[2] == pytest.approx(13 / 18)


# ------------------------------------------------------------------ present / absent (LaSOT)


def _write_vot_folder(root, seqs):
    """VOT layout root/<seq>/{color/*.png, groundtruth.txt, <tag files>} and list.txt."""
    img = np.full((48, 64, 3), 127, np.uint8)
    for name, (n, tag_files) in seqs.items():
        (root / name / "color").mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / name / "color" / f"{i + 1:08d}.png"), img)
        (root / name / "groundtruth.txt").write_text("10,10,20,20\n" * n)
        for fname, text in tag_files.items():
            (root / name / fname).write_text(text)
    (root / "list.txt").write_text("".join(s + "\n" for s in seqs))


def test_absent_and_present_tags_make_frames_misses_in_ope(tmp_path):
    # reachable from the VOT folder loader: <seq>/absent.tag and <seq>/present.label become
    # video tags; a tracker with only one-pass results is scored one-pass
    _write_vot_folder(tmp_path / "LT", {"s1": (4, {"absent.tag": "0\n0\n1\n0\n"}),
                                        "s2": (4, {"present.label": "1\n1\n0\n0\n"})})
    ds = load_dataset(str(tmp_path / "LT"))
    assert ds.is_vot and ds["s1"].tags["absent"].tolist() == [False, False, True, False]
    for video in ("s1", "s2"):
        R.save_result(tmp_path / "res", "LT", "t", video, np.array([[10.0, 10, 20, 20]] * 4))
    result = evaluate(ds, tmp_path / "res")
    assert result.protocol == "ope"
    t = result.trackers["t"]
    # perfect boxes; as PySOT, absent frames are dropped but the frame count stays 4:
    # s1 3 of 4 frames present -> success 3/4 at the 20 thresholds below 1 -> AUC 15/21
    # s2 2 of 4 -> AUC 10/21; precision / norm precision 3/4 and 1/2
    assert t.videos["s1"].auc == pytest.approx(15 / 21)
    assert t.videos["s2"].auc == pytest.approx(10 / 21)
    assert t.videos["s1"].precision_20 == 0.75 and t.videos["s1"].norm_precision_20 == 0.75
    assert t.videos["s2"].precision_20 == 0.5 and t.videos["s2"].norm_precision_20 == 0.5
    assert t.overall.auc == pytest.approx(25 / 42) and t.overall.precision_20 == 0.625


def test_lasot_json_absent_field_keeps_present_frames(tmp_path):
    # PySOT's LaSOT JSON: absent == 1 marks frames where the target IS present. Frame 3 is
    # absent (gt [0, 0, 0, 0]); boxes perfect elsewhere. As PySOT: that frame is dropped,
    # the count stays 4 -> precision 3/4, AUC 3/4 * 20/21
    box = [10.0, 10.0, 20.0, 20.0]
    _write_dataset(tmp_path / "ds", "LASOTLIKE", {"v": ([box] * 3 + [[0, 0, 0, 0]], [])},
                   extra={"v": {"absent": [1, 1, 1, 0]}})
    ds = load_dataset("LASOTLIKE", root=tmp_path / "ds")
    assert ds["v"].tags["present"].tolist() == [True, True, True, False]
    R.save_result(tmp_path / "res", "LASOTLIKE", "t", "v", np.array([box] * 4))
    t = evaluate(ds, tmp_path / "res").trackers["t"]
    assert t.videos["v"].precision_20 == 0.75
    assert t.videos["v"].auc == pytest.approx(15 / 21)


@pytest.mark.parametrize("absent, message", [([1, 1], "'absent' has 2 values for 4 frames"),
                                             ([1, 2, 1, 1], "'absent' must be a list of 0/1")])
def test_lasot_json_absent_field_is_checked(tmp_path, absent, message):
    box = [10.0, 10.0, 20.0, 20.0]
    _write_dataset(tmp_path / "ds", "BAD", {"v": ([box] * 4, [])}, extra={"v": {"absent": absent}})
    with pytest.raises(DatasetError, match=message):
        load_dataset("BAD", root=tmp_path / "ds")


def test_vot_scoring_warns_when_a_first_frame_is_unreadable(tmp_path):
    # without the image size the regions are not clipped: the scores may change, so say so
    _write_dataset(tmp_path / "ds", "VOTW", {"a": ([POLY] * 4, [])})
    (tmp_path / "ds/VOTW/a/0001.png").write_bytes(b"not a png")
    R.save_result(tmp_path / "res", "VOTW", "t", "a", [[1]] + [BOX] * 3, "vot", run=1)
    with pytest.warns(UserWarning, match=r"0001.png: unreadable, so video a is scored without"):
        evaluate(load_dataset("VOTW", root=tmp_path / "ds"), tmp_path / "res")
