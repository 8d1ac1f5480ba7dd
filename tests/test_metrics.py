"""Hand-computed checks of every metric (PySOT's definitions)."""
import math

import numpy as np
import pytest

from rasnet_plugin.evaluation import metrics as M

BOX = [0.0, 0.0, 10.0, 10.0]


def shifted(dx, dy=0.0):
    return [BOX[0] + dx, BOX[1] + dy, 10.0, 10.0]


# ------------------------------------------------------------------ IoU / success


def test_iou_hand_values():
    gt = np.array([BOX, BOX, BOX, BOX, BOX])
    pred = np.array([BOX, shifted(5), shifted(2), shifted(20), [2, 2, 5, 5]])
    np.testing.assert_allclose(M.iou(gt, pred), [1.0, 50 / 150, 80 / 120, 0.0, 25 / 100])
    # symmetric, and a single box works as a row
    assert M.iou(shifted(5), BOX)[0] == pytest.approx(1 / 3)


def test_success_thresholds_are_pysots():
    # PySOT's np.arange(0, 1.05, 0.05): 0, 0.05, ..., 1, exactly (the curve compares IoU > t)
    np.testing.assert_array_equal(M.SUCCESS_THRESHOLDS, np.arange(0, 1.05, 0.05))
    np.testing.assert_array_equal(M.PRECISION_THRESHOLDS, np.arange(51))


def test_success_curve_and_auc_four_frames():
    # IoUs 1, 2/3, 1/3, 0: IoU > t holds for 20, 14, 7 and 0 of the 21 thresholds
    gt = np.array([BOX] * 4)
    pred = np.array([BOX, shifted(2), shifted(5), shifted(30)])
    curve = M.success_curve(gt, pred)
    expected = np.array([sum(int(v > t) for v in (1, 2 / 3, 1 / 3, 0))
                         for t in M.SUCCESS_THRESHOLDS]) / 4
    np.testing.assert_array_equal(curve, expected)
    assert curve[0] == 0.75  # strict '>': IoU 0 is no success even at threshold 0
    assert M.success_auc(curve) == pytest.approx(41 / 84)


def test_perfect_tracker_auc_is_20_over_21():
    gt = np.array([[3, 4, 20, 30], [5, 6, 22, 31], [7, 8, 25, 28]], float)
    curve = M.success_curve(gt, gt)
    assert curve[-1] == 0.0  # IoU 1 is not > 1
    assert M.success_auc(curve) == pytest.approx(20 / 21)


def test_success_invalid_gt_counts_as_miss_but_stays_in_denominator():
    gt = np.array([BOX, BOX, [0, 0, 0, 10], [np.nan] * 4])
    pred = np.array([BOX, BOX, [0, 0, 0, 10], BOX])
    curve = M.success_curve(gt, pred)
    assert curve[0] == 0.5 and curve[10] == 0.5
    assert M.success_auc(curve) == pytest.approx(0.5 * 20 / 21)


def test_success_absent_frames_count_as_misses():
    gt = np.array([BOX] * 4)
    curve = M.success_curve(gt, gt, present=[1, 1, 0, 1])
    assert curve[0] == 0.75
    assert M.success_auc(curve) == pytest.approx(0.75 * 20 / 21)


# ------------------------------------------------------------------ precision


def test_box_centres_use_pysots_pixel_convention():
    np.testing.assert_array_equal(M.box_centers([[10, 20, 10, 4]]), [[14.5, 21.5]])


def test_precision_curve_on_known_centre_errors():
    gt = np.array([[10, 10, 10, 10]] * 4, float)
    pred = gt + np.array([[0, 0, 0, 0], [3, 4, 0, 0], [12, 16, 0, 0], [0, 21, 0, 0]])
    # centre errors 0, 5, 20, 21 px
    curve = M.precision_curve(gt, pred)
    assert len(curve) == 51
    np.testing.assert_array_equal(curve[:5], 0.25)
    np.testing.assert_array_equal(curve[5:20], 0.5)
    assert curve[20] == 0.75 and M.precision_at(curve) == 0.75
    np.testing.assert_array_equal(curve[21:], 1.0)


def test_precision_non_positive_gt_centre_is_a_hit_as_in_pysot():
    gt = np.array([[10, 10, 10, 10], [-30, -30, 10, 10]], float)
    pred = np.array([[200, 200, 10, 10], [500, 500, 10, 10]], float)
    curve = M.precision_curve(gt, pred)
    np.testing.assert_array_equal(curve, 0.5)  # frame 1 (GT centre < 0) always "precise"
    # ... but an absent frame is a miss
    np.testing.assert_array_equal(M.precision_curve(gt, pred, present=[1, 0]), 0.0)


def test_norm_precision_on_known_normalised_errors():
    gt = np.array([[0, 0, 10, 20]] * 2, float)
    pred = gt + np.array([[1, 0, 0, 0], [0, 5, 0, 0]])  # errors 1/10 = 0.10 and 5/20 = 0.25
    curve = M.norm_precision_curve(gt, pred)
    assert len(curve) == 51 and M.NORM_PRECISION_THRESHOLDS[20] == pytest.approx(0.2)
    assert curve[9] == 0.0
    np.testing.assert_array_equal(curve[11:24], 0.5)
    assert M.precision_at(curve) == 0.5
    np.testing.assert_array_equal(curve[26:], 1.0)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 predicted boxes for 2"):
        M.success_curve(np.array([BOX] * 2), np.array([BOX] * 3))


# ------------------------------------------------------------------ region overlap

DIAMOND = [5, 0, 10, 5, 5, 10, 0, 5]  # area 50, inside BOX


def test_exact_polygon_overlap():
    assert M.region_overlap(BOX, DIAMOND) == pytest.approx(0.5)
    assert M.region_overlap([5, 0, 5, 10], DIAMOND) == pytest.approx(25 / 75)
    assert M.region_overlap(DIAMOND, DIAMOND) == pytest.approx(1.0)
    assert M.region_overlap(shifted(5), BOX) == pytest.approx(1 / 3)
    assert M.region_overlap(shifted(40), DIAMOND) == 0.0
    assert math.isnan(M.region_overlap([2], BOX))


def test_exact_overlap_is_bounded_to_the_image():
    pred, gt = [-5, 0, 10, 10], [0, 0, 5, 10]
    assert M.region_overlap(pred, gt) == pytest.approx(0.5)
    assert M.region_overlap(pred, gt, bounds=(10, 10)) == pytest.approx(1.0)
    assert M.region_overlap([20, 20, 5, 5], [22, 22, 5, 5], bounds=(10, 10)) == 0.0


def test_raster_overlap_counts_pixels_like_pysot():
    # a 10x10 box covers 11x11 pixels: 66 shared columns-rows of 176 -> 0.375 (not 1/3)
    assert M.region_overlap(BOX, shifted(5), method="raster") == pytest.approx(66 / 176)
    assert M.raster_overlap(BOX, shifted(2)) == pytest.approx(99 / 143, rel=1e-6)
    # the diamond's rows 1..9 cover 3, 5, 7, 9, 11, 9, 7, 5, 3 pixels (a lone apex pixel is
    # skipped by the scan line): 59 of the box's 121
    assert M.raster_overlap(BOX, DIAMOND) == pytest.approx(59 / 121, rel=1e-6)
    assert M.raster_overlap(DIAMOND, DIAMOND) == 1.0
    # bounds: outside-image columns are cut, as in PySOT
    assert M.raster_overlap([-5, 0, 10, 10], [0, 0, 5, 10]) == pytest.approx(66 / 121, rel=1e-6)
    assert M.raster_overlap([-5, 0, 10, 10], [0, 0, 5, 10], bounds=(10, 10)) == 1.0
    assert M.raster_overlap(BOX, shifted(40)) == 0.0


def test_vectorised_box_overlaps_equal_the_scalar_ones():
    rng = np.random.default_rng(0)
    pred = np.round(rng.uniform([-20, -20, 1, 1], [100, 80, 60, 60], (300, 4)), 4)
    gt = np.round(pred + rng.normal(0, 8, (300, 4)), 4)
    for bounds in (None, (100, 80)):
        rec = [list(p) for p in pred]
        for method in ("raster", "exact"):
            vec = M.vot_overlaps(rec, gt, bounds=bounds, method=method)
            ref = [M.region_overlap(p, g, bounds, method) for p, g in zip(rec, gt)]
            np.testing.assert_allclose(vec, ref, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ VOT accuracy / robustness

# frame: 0    1    2           3    4           5    6-9        10   11   12          13
RECORD = [[1], BOX, shifted(5), BOX, shifted(2), [2], *[[0]] * 4, [1], BOX, shifted(5), BOX]
GT = np.array([BOX] * 14)
R5, R2 = 66 / 176, 99 / 143  # raster overlaps of the 5 px and 2 px shifts


def test_vot_failures():
    assert M.vot_failures(RECORD) == (1, [5])


def test_vot_accuracy_with_burnin():
    acc, ov = M.vot_accuracy(RECORD, GT, burnin=3)
    assert np.isnan(ov[[0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12]]).all()
    assert acc == pytest.approx((1 + R2 + 1) / 3, rel=1e-6)


def test_vot_accuracy_without_burnin_and_exact_geometry():
    acc, _ = M.vot_accuracy(RECORD, GT, burnin=0)
    assert acc == pytest.approx((4 + 2 * R5 + R2) / 7, rel=1e-6)
    acc, _ = M.vot_accuracy(RECORD, GT, burnin=0, method="exact")
    assert acc == pytest.approx((4 + 2 / 3 + 2 / 3) / 7)  # 16/21


def test_vot_accuracy_default_burnin_10():
    acc, _ = M.vot_accuracy(RECORD, GT)  # every region is within 10 frames of a (re)init
    assert math.isnan(acc)
    rec = [[1]] + [BOX] * 10 + [shifted(5)] * 14  # frames 10..24 scored: one BOX, 14 shifts
    acc, ov = M.vot_accuracy(rec, np.array([BOX] * 25))
    assert np.isnan(ov[:10]).all() and not np.isnan(ov[10:]).any()
    assert acc == pytest.approx((1 + 14 * R5) / 15, rel=1e-6)


def test_robustness_is_failures_per_100_frames():
    assert M.robustness(1, 14) == pytest.approx(100 / 14)
    assert M.robustness(3, 300) == pytest.approx(1.0)


# ------------------------------------------------------------------ EAO

# sequence A: 4 frames, no failure; sequence B: 8 frames, failure at frame 2, restart at 7
OV_A = np.array([np.nan, 1.0, 0.5, 0.5])
OV_B = np.array([np.nan, 1.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
# fragments: A = [0, 1, .5, .5] (open); B0 = [0, 1, 0, 0, 0, 0, 0, 0] (failed, zero-padded);
# B1 = [0] (open, 1 frame). curve[i] = mean over fragments defined at i of mean(frag[1:i+1])
CURVE = [1, (1 + 1) / 2, (0.75 + 0.5) / 2, (2 / 3 + 1 / 3) / 2, 1 / 4, 1 / 5, 1 / 6, 1 / 7]


def test_eao_curve_hand_case():
    curve = M.eao_curve([OV_A, OV_B], [[], [2]])
    np.testing.assert_allclose(curve, CURVE)


def test_eao_over_interval_and_clipping():
    assert M.expected_average_overlap([OV_A, OV_B], [[], [2]], low=2, high=4) == \
        pytest.approx((1 + 0.625 + 0.5) / 3)
    # VOT2018's [100, 356] on an 8-frame dataset is clipped to [8, 8]: never NaN
    assert M.eao_interval(100, 356, 8) == (8, 8)
    assert M.expected_average_overlap([OV_A, OV_B], [[], [2]]) == pytest.approx(1 / 7)


def test_eao_failure_too_close_to_the_end_is_not_cut():
    # failure at frame 5 of 8: 5 + 5 > 8, so (as PySOT) the run stays one open fragment
    ov = np.array([np.nan, 1, 1, 1, 1, np.nan, np.nan, np.nan])
    curve = M.eao_curve([ov], [[5]])
    np.testing.assert_allclose(curve, [1, 1, 1, 1, 1, 4 / 5, 4 / 6, 4 / 7])


def test_eao_tag_weights():
    # B tagged nowhere: only A counts; lengths that only B reaches have no weight -> NaN
    tags = [np.ones(4), np.zeros(8)]
    curve = M.eao_curve([OV_A, OV_B], [[], [2]], tags=tags)
    np.testing.assert_allclose(curve[:4], [1, 1, 0.75, 2 / 3])
    assert np.isnan(curve[4:]).all()
    assert M.eao_from_curve(curve, 2, 8) == pytest.approx((1 + 0.75 + 2 / 3) / 3)


def test_eao_from_a_vot_record():
    gt = np.array([BOX] * 8)
    rec = [[1], BOX, [2], [0], [0], [0], [0], [1]]
    ov = M.vot_overlaps(rec, gt)
    np.testing.assert_array_equal(np.isnan(ov), [1, 0, 1, 1, 1, 1, 1, 1])
    curve = M.eao_curve([ov], [M.vot_failures(rec)[1]])
    np.testing.assert_allclose(curve, [1, 1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7])
