"""VOT ground truth with NaN rows (the VOT toolkit's "target not annotated" frames): overlaps
are NaN and left out of accuracy, never a crash; the reset protocol neither fails on such a
frame nor re-initialises on one. All expectations are hand-computed."""
import os

import cv2
import numpy as np
import pytest

from rasnet_plugin.datasets import load_dataset
from rasnet_plugin.evaluation import evaluate, metrics as M, results as R
from rasnet_plugin.evaluation import reset_protocol
from rasnet_plugin.evaluation.running import track_vot
from test_eval_tool import _rows, _run  # noqa: E402  (tests/ is on sys.path)

W, H = 64, 48
NAN = float("nan")
B = [10.0, 10.0, 20.0, 16.0]       # covers 21 x 17 pixels in PySOT's raster convention
SHIFT = [15.0, 10.0, 20.0, 16.0]   # 5 px right: raster 16/26 columns shared, exact 15/25
FAR = [44.0, 30.0, 10.0, 10.0]     # no overlap with B


def _poly(box):
    x, y, w, h = box
    return [x, y, x + w, y, x + w, y + h, x, y + h]


def make_vot_dataset(folder, videos):
    """videos: {video: gt rows} -> VOT toolkit layout (list.txt, groundtruth.txt, color/)."""
    img = np.full((H, W, 3), 127, np.uint8)
    for vid, gt in videos.items():
        os.makedirs(os.path.join(folder, vid, "color"))
        for i in range(len(gt)):
            cv2.imwrite(os.path.join(folder, vid, "color", "%08d.jpg" % (i + 1)), img)
        with open(os.path.join(folder, vid, "groundtruth.txt"), "w") as fh:
            fh.writelines(",".join("%.2f" % v for v in row) + "\n" for row in gt)  # NaN: "nan"
    with open(os.path.join(folder, "list.txt"), "w") as fh:
        fh.writelines(v + "\n" for v in videos)
    return folder


# ---------------------------------------------------------------- overlaps


@pytest.mark.parametrize("method", ["raster", "exact"])
def test_overlap_with_a_non_finite_region_is_nan(method):
    bounds = (W, H)
    for gt in ([NAN] * 4, [NAN] * 8, [10, NAN, 20, 16], [10, 10, np.inf, 16]):
        assert np.isnan(M.region_overlap(B, gt, bounds, method))   # ground truth
        assert np.isnan(M.region_overlap(gt, B, bounds, method))   # prediction
        assert np.isnan(M.region_overlap(gt, B, None, method))
    # finite regions are unchanged: raster 16/26 (PySOT's pixels), exact 15/25
    expected = {"raster": 16 / 26, "exact": 15 / 25}[method]
    assert M.region_overlap(B, SHIFT, bounds, method) == pytest.approx(expected, rel=1e-6)
    assert M.region_overlap(B, _poly(SHIFT), bounds, method) == pytest.approx(expected, rel=1e-6)


def test_raster_overlap_and_reset_protocol_overlap_are_nan():
    assert np.isnan(M.raster_overlap(B, [NAN] * 4))
    assert np.isnan(M.raster_overlap([NAN] * 8, _poly(B), (W, H)))
    poly = reset_protocol.gt_polygon([NAN] * 4)
    assert np.isnan(reset_protocol.overlap(B, poly, (W, H)))
    assert not reset_protocol.annotated([NAN] * 4) and not reset_protocol.annotated([1, 2, np.inf, 4])
    assert reset_protocol.annotated(B) and reset_protocol.annotated(_poly(B))


@pytest.mark.parametrize("method", ["raster", "exact"])
@pytest.mark.parametrize("width", [4, 8])
def test_vot_overlaps_nan_rows(method, width):
    gt = np.array([B, B, [NAN] * 4, SHIFT])
    if width == 8:
        gt = np.array([_poly(b) if np.isfinite(b).all() else [NAN] * 8 for b in gt])
    rec = [[1], B, B, [NAN] * 4]
    ov = M.vot_overlaps(rec, gt, bounds=(W, H), method=method)
    # frame 0 a code, frame 2 no ground truth, frame 3 no prediction: NaN; frame 1: 1
    assert np.isnan(ov[[0, 2, 3]]).all() and ov[1] == pytest.approx(1.0)
    acc, _ = M.vot_accuracy(rec, gt, burnin=0, bounds=(W, H), method=method)
    assert acc == pytest.approx(1.0)


# ---------------------------------------------------------------- scoring


N_EVAL = 14


@pytest.fixture()
def nan_scoring(tmp_path, request):
    """VOT dataset NANVOT, one video whose frame 12 is NaN, and two trackers:
    'steady' (B, but SHIFT at frame 11 and FAR at the NaN frame 12) and 'nanbox'
    (B, but a NaN region at frame 11)."""
    width = request.param
    gt = [B] * N_EVAL
    gt[12] = [NAN] * 4
    if width == 8:
        gt = [_poly(b) if np.isfinite(b).all() else [NAN] * 8 for b in gt]
    make_vot_dataset(str(tmp_path / "testing_dataset" / "NANVOT"), {"seq": gt})
    res = tmp_path / "results"
    steady = [[1]] + [B] * 10 + [SHIFT, FAR, B]
    R.save_result(res, "NANVOT", "steady", "seq", steady, "vot")
    p = R.result_path(res, "NANVOT", "nanbox", "seq", "vot")
    p.parent.mkdir(parents=True)
    p.write_text("1\n" + "10,10,20,16\n" * 10 + "nan,nan,nan,nan\n" + "10,10,20,16\n" * 2)
    return tmp_path


@pytest.mark.parametrize("nan_scoring", [4, 8], indirect=True)
@pytest.mark.parametrize("method", ["raster", "exact"])
def test_scoring_skips_the_nan_frame(nan_scoring, method):
    tmp = nan_scoring
    dataset = load_dataset("NANVOT", root=tmp / "testing_dataset")
    result = evaluate(dataset, tmp / "results", overlap_method=method)
    # burn-in 10 leaves frames 10..13; frame 12 has no ground truth: 10 (1), 11, 13 (1)
    shift = {"raster": 16 / 26, "exact": 15 / 25}[method]
    steady, nanbox = result.trackers["steady"], result.trackers["nanbox"]
    assert steady.accuracy == pytest.approx((2 + shift) / 3, rel=1e-6)
    assert nanbox.accuracy == pytest.approx(1.0)   # frame 11 (a NaN region) left out too
    for t in (steady, nanbox):
        assert t.lost_number == 0 and t.robustness == 0 and t.videos["seq"].failures == 0
        assert np.isnan(t.videos["seq"].overlaps[12]) and np.isfinite(t.eao)


@pytest.mark.parametrize("nan_scoring", [8], indirect=True)
def test_eval_tool_scores_nan_ground_truth(nan_scoring):
    out = _run("--dataset", "NANVOT", "--tracker_path", "results", cwd=nan_scoring)
    assert out.returncode == 0, out.stderr
    rows = _rows(out.stdout)  # Accuracy, Robustness, Lost Number (EAO not checked here)
    assert rows["steady"][:3] == [round((2 + 16 / 26) / 3, 3), 0.0, 0.0]
    assert rows["nanbox"][:3] == [1.0, 0.0, 0.0]


# ---------------------------------------------------------------- tracking (reset protocol)


class ScriptedTracker:
    """Returns the scripted boxes in order, one per `track`; logs the init boxes."""

    def __init__(self, boxes):
        self.boxes, self.inits = list(boxes), []

    def init(self, img, box):
        if not np.isfinite(box).all():
            raise ValueError("init box %r has NaN or inf" % (box,))  # as RASNetTracker
        self.inits.append(list(box))

    def track(self, img):
        return {"bbox": list(self.boxes.pop(0))}


def test_track_vot_with_nan_ground_truth(tmp_path):
    n = 20
    gt = [B] * n
    for i in (2, 8, 9, 17, 18, 19):
        gt[i] = [NAN] * 4
    make_vot_dataset(str(tmp_path / "NANVOT"), {"seq": gt})
    video = load_dataset(str(tmp_path / "NANVOT"))["seq"]
    assert np.isnan(video.gt[2]).all()
    # track calls at frames 1, 2, 3, 11, 12
    tracker = ScriptedTracker([B, FAR, FAR, B, FAR])
    record, times, lost = track_vot(tracker, video)
    # 0: init; 1: on target; 2: FAR but no ground truth -> kept, not a failure;
    # 3: FAR -> failure, re-init due at 3 + 5 = 8; 4..7 skipped; 8, 9 NaN -> 0, init at 10;
    # 11: on target; 12: failure, re-init due at 17; 13..16 skipped; 17..19 NaN, none left -> 0
    assert reset_protocol.SKIP_AFTER_FAILURE == 5
    expected = [1, B, FAR, 2, 0, 0, 0, 0, 0, 0, 1, B, 2, 0, 0, 0, 0, 0, 0, 0]
    assert record == expected
    assert lost == 2 and len(times) == n
    assert tracker.inits == [B, B] and tracker.boxes == []  # inits at frames 0 and 10 only
    assert all(t == 0.0 for i, t in enumerate(times) if record[i] == 0)
    # the record is a valid VOT result file, read back as written
    path = R.result_path(tmp_path / "results", "NANVOT", "m", "seq", "vot")
    R.save_result(tmp_path / "results", "NANVOT", "m", "seq", record, "vot")
    back = R.read_vot_record(path, num_frames=n)
    assert [r if len(r) > 1 else int(r[0]) for r in back] == expected


def test_track_vot_nan_first_row_initialises_from_init_rect(tmp_path):
    """A PySOT-JSON VOT video may have a valid init_rect but a NaN first row: frame 0 is
    still the initialisation (from init_rect), so the record starts with 1, reads back, and
    a second run skips it instead of calling it unusable."""
    from rasnet_plugin.datasets import Video
    from rasnet_plugin.evaluation.running import RunJob, run_video

    n = 5
    gt = [[NAN] * 4] + [B] * (n - 1)
    make_vot_dataset(str(tmp_path / "src"), {"seq": gt})
    paths = [str(tmp_path / "src" / "seq" / "color" / ("%08d.jpg" % (i + 1))) for i in range(n)]
    video = Video("seq", paths, np.array(gt), init_rect=B)
    tracker = ScriptedTracker([B] * (n - 1))
    record, times, lost = track_vot(tracker, video)
    assert record == [1] + [B] * (n - 1) and lost == 0 and len(times) == n
    assert tracker.inits == [B] and tracker.boxes == []  # initialised once, at frame 0
    res = tmp_path / "results"
    R.save_result(res, "NANVOT", "m", "seq", record, "vot")
    R.check_result(res, "NANVOT", "m", "seq", n, protocol="vot")  # no ResultError
    back = R.read_vot_record(R.result_path(res, "NANVOT", "m", "seq", "vot"), num_frames=n)
    assert [r if len(r) > 1 else int(r[0]) for r in back] == record
    # through run_video: tracked once, then skipped (not re-tracked as "unusable")
    job = RunJob("vot", str(tmp_path / "results2"), "NANVOT", "m")
    st = run_video(ScriptedTracker([B] * (n - 1)), video, job)
    assert st["error"] is None and not st["skipped"] and st["redone"] is None
    st = run_video(ScriptedTracker([]), video, job)  # would raise on a track call
    assert st["skipped"] and st["redone"] is None and st["error"] is None
