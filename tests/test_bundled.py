"""The bundled RASNetBench benchmark (deterministic, complete, exact GT) and export_vot."""
import hashlib
import json
import os
import time

import cv2
import numpy as np
import pytest

from rasnet_plugin.datasets import (BUNDLED_NAME, DatasetError, bundled, ensure_bundled,
                                    export_vot, load_dataset)
from _files import read_tree  # noqa: E402  (tests/ is on sys.path)


def _hashes(folder):
    return {k: hashlib.sha256(v).hexdigest() for k, v in read_tree(folder).items()}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("bench"))
    start = time.perf_counter()
    path = ensure_bundled(root)
    return root, path, time.perf_counter() - start


def test_build_is_fast_and_cached(bench):
    root, path, seconds = bench
    assert seconds < 30
    assert path == os.path.join(root, BUNDLED_NAME) and os.path.isabs(path)
    assert sorted(os.listdir(root)) == [BUNDLED_NAME]  # no temporary folders left behind
    start = time.perf_counter()
    assert ensure_bundled(root) == path
    assert time.perf_counter() - start < 0.5


def test_deterministic(bench, tmp_path):
    _, path, _ = bench
    again = ensure_bundled(str(tmp_path), BUNDLED_NAME)
    first, second = _hashes(path), _hashes(again)
    assert len(first) > 400 and first == second


def test_complete_and_gt_inside_frame(bench):
    root, path, _ = bench
    ds = load_dataset(BUNDLED_NAME, root=root)
    assert ds.name == BUNDLED_NAME and not ds.is_vot
    assert 6 <= len(ds) <= 8
    with open(os.path.join(path, f"{BUNDLED_NAME}.json")) as f:
        meta = json.load(f)
    assert sorted(meta) == [v.name for v in ds]
    seen = set()
    for v in ds:
        assert 60 <= len(v) <= 100 and v.gt.shape == (len(v), 4)
        assert all(os.path.isfile(p) for p in v.img_paths)
        assert v.attr and set(v.attr) <= {"SV", "IPR", "MB", "FM", "OCC", "BC", "IV"}
        seen |= set(v.attr)
        assert v.init_rect == v.gt[0].tolist()
        for i in (0, len(v) - 1):
            assert v.load_frame(i).shape == (bundled.FRAME_H, bundled.FRAME_W, 3)
        x, y, w, h = v.gt.T
        assert (w > 10).all() and (h > 10).all()
        assert (x >= 0).all() and (y >= 0).all()
        assert (x + w <= bundled.FRAME_W).all() and (y + h <= bundled.FRAME_H).all()
        steps = np.hypot(*np.diff(v.gt[:, :2] + v.gt[:, 2:] / 2, axis=0).T)
        assert steps.max() < 40  # smooth motion, even in fast-motion bursts
        if "OCC" in v.attr:
            assert v.tags["occlusion"].any() and not v.tags["occlusion"].all()
    assert seen == {"SV", "IPR", "MB", "FM", "OCC", "BC", "IV"}
    assert sum(len(v) for v in ds) < 800  # a CPU tracker at ~10 fps needs ~1 minute


def test_rebuilds_incomplete_or_outdated(bench, tmp_path):
    _, path, _ = bench
    out = ensure_bundled(str(tmp_path))
    os.remove(os.path.join(out, bundled.STAMP_FILE))
    os.remove(os.path.join(out, "cat_zoom", "img", "0003.jpg"))
    assert ensure_bundled(str(tmp_path)) == out
    assert _hashes(out) == _hashes(path)
    with open(os.path.join(out, bundled.STAMP_FILE), "w") as f:
        f.write("RASNetBench format 0\n")
    ensure_bundled(str(tmp_path))
    assert _hashes(out) == _hashes(path)


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    def crash(folder, name):
        os.makedirs(os.path.join(folder, "half"))
        raise KeyboardInterrupt

    monkeypatch.setattr(bundled, "_write_benchmark", crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_bundled(str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_ground_truth_is_pixel_exact():
    rng = np.random.default_rng(0)
    patch = rng.uniform(0, 255, (40, 30, 3)).astype(np.float32)
    for _ in range(20):
        centre = rng.uniform(120, 360, 2)
        w, h, angle = rng.uniform(15, 90), rng.uniform(15, 90), rng.uniform(-80, 80)
        canvas = np.zeros((bundled.FRAME_H, bundled.FRAME_W, 3), np.float32)
        cover = bundled._draw(canvas, patch, bundled._affine(patch, centre, w, h, angle))
        ys, xs = np.nonzero(cover > 0.5)
        x, y, bw, bh = bundled._box(centre, w, h, angle)
        # covered pixels [xs.min(), xs.max()] span the continuous box [x, x + bw] to 1 px
        assert abs(xs.min() - x) <= 1 and abs(xs.max() + 1 - (x + bw)) <= 1
        assert abs(ys.min() - y) <= 1 and abs(ys.max() + 1 - (y + bh)) <= 1


def test_occlusion_is_partial():
    spec = next(s for s in bundled.VIDEOS if s["name"] == "badge_occluded")
    visible = [vis for _, _, vis in bundled.render_video(spec)]
    assert 0.3 < min(visible) < 0.8 and max(visible) == 1.0


def test_export_vot_roundtrip(bench, tmp_path):
    root, path, _ = bench
    ds = load_dataset(path)
    out = export_vot(ds, str(tmp_path / "vot"))
    with open(os.path.join(out, "list.txt")) as f:
        assert f.read().split() == [v.name for v in ds]
    with open(os.path.join(out, "cat_zoom", "sequence")) as f:
        assert "channels.color=color/%08d.jpg" in f.read()
    back = load_dataset(out)
    assert back.is_vot and [v.name for v in back] == [v.name for v in ds]
    for a, b in zip(ds, back):
        assert len(a) == len(b)
        np.testing.assert_allclose(b.gt, a.gt, atol=1e-4)
        assert b.init_rect == pytest.approx(a.init_rect, abs=1e-4)
        assert _hashes(os.path.dirname(b.img_paths[0]))["00000005.jpg"] == \
            _hashes(os.path.dirname(a.img_paths[0]))["0005.jpg"]
        for tag, flags in a.tags.items():
            assert (b.tags[tag] == flags).all()


def test_export_vot_polygons_and_png(tmp_path):
    seq = tmp_path / "src" / "s"
    (seq / "color").mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(seq / "color" / f"{i + 1:08d}.png"), np.full((20, 30), 50 * i, np.uint8))
    (seq / "sequence").write_text("channels.color=color/%08d.png\n")
    (seq / "groundtruth.txt").write_text("1,2,11,2,11,8,1,8\n" * 2 + ",".join(["nan"] * 8) + "\n")
    (tmp_path / "src" / "list.txt").write_text("s\n")
    out = export_vot(str(tmp_path / "src"), str(tmp_path / "out"))
    back = load_dataset(out)["s"]
    assert back.gt[:2].tolist() == [[1, 2, 10, 6], [1, 2, 10, 6]]
    assert np.isnan(back.gt[2]).all()  # still "not annotated"
    frame = back.load_frame(2)
    assert frame.shape == (20, 30, 3) and abs(int(frame[5, 5, 0]) - 100) <= 2
    os.remove(str(seq / "color" / "00000002.png"))
    with pytest.raises(DatasetError, match="but 1 frames .*00000002.png is missing"):
        export_vot(str(tmp_path / "src"), str(tmp_path / "out2"))


# ---------------------------------------------------------------- export_vot: NaN rows, re-export

class _ConstantTracker:
    """Always reports the box it was initialised with."""

    def init(self, img, box):
        self.box = list(box)

    def track(self, img):
        return {"bbox": list(self.box)}


def _vot_source(folder, gt, tags=None):
    """A VOT folder with one sequence 's' of len(gt) grey 20x20 JPEG frames."""
    seq = folder / "s"
    (seq / "color").mkdir(parents=True)
    for i in range(len(gt)):
        cv2.imwrite(str(seq / "color" / f"{i + 1:08d}.jpg"), np.full((20, 20, 3), 60 * i % 255,
                                                                       np.uint8))
    (seq / "groundtruth.txt").write_text("".join(",".join(str(v) for v in row) + "\n"
                                                 for row in gt))
    for tag, flags in (tags or {}).items():
        (seq / f"{tag}.tag").write_text("".join(f"{v}\n" for v in flags))
    (folder / "list.txt").write_text("s\n")
    return str(folder)


def test_export_vot_keeps_nan_rows_unannotated(tmp_path):
    from rasnet_plugin.evaluation.running import track_vot

    nan = float("nan")
    gt = [[2, 2, 6, 6]] * 5
    gt[2] = [nan] * 4
    src = load_dataset(_vot_source(tmp_path / "src", gt))
    src["s"].gt[3] = [2, 2, np.inf, 6]  # not finite either: exported as not annotated
    box = [2.0, 2.0, 6.0, 6.0]
    assert track_vot(_ConstantTracker(), src["s"])[0] == [1, box, box, box, box]
    out = export_vot(src, str(tmp_path / "out"))
    with open(os.path.join(out, "s", "groundtruth.txt")) as f:
        lines = f.read().splitlines()
    assert lines[2] == lines[3] == "nan,nan,nan,nan"
    back = load_dataset(out)["s"]
    assert np.isnan(back.gt[[2, 3]]).all() and back.gt[[0, 1, 4]].tolist() == [box] * 3
    # the reset protocol sees no target there: no failure, the same record as the source
    record, _, lost = track_vot(_ConstantTracker(), back)
    assert record == [1, box, box, box, box] and lost == 0
    # a re-initialisation due on an unannotated frame waits for an annotated one
    gt = [[2, 2, 6, 6]] + [[12, 12, 6, 6]] + [[nan] * 4] * 5 + [[12, 12, 6, 6]]
    back = load_dataset(export_vot(load_dataset(_vot_source(tmp_path / "src2", gt)),
                                   str(tmp_path / "out2")))["s"]
    tracker = _ConstantTracker()
    record, _, lost = track_vot(tracker, back)
    assert record == [1, 2, 0, 0, 0, 0, 0, 1] and lost == 1
    assert tracker.box == [12.0, 12.0, 6.0, 6.0]  # re-initialised at frame 7, not on a 2x2 box


def test_export_vot_writes_its_text_files_atomically(tmp_path, monkeypatch):
    gt = [[2, 2, 6, 6]] * 3
    src = load_dataset(_vot_source(tmp_path / "src", gt, tags={"occlusion": [0, 1, 1]}))
    written = []
    real = bundled.atomic_write_text
    monkeypatch.setattr(bundled, "atomic_write_text",
                        lambda path, text: written.append(os.path.basename(path)) or real(path, text),
                        raising=False)
    out = export_vot(src, str(tmp_path / "out"))
    assert sorted(written) == ["groundtruth.txt", "list.txt", "occlusion.tag", "sequence"]
    assert load_dataset(out)["s"].tags["occlusion"].tolist() == [False, True, True]


def test_export_vot_again_replaces_the_sequence(tmp_path):
    from rasnet_plugin.datasets import Dataset, Video

    gt = [[2, 2, 6, 6]] * 5
    src = load_dataset(_vot_source(tmp_path / "src", gt, tags={"occlusion": [0, 0, 0, 1, 1]}))
    out = str(tmp_path / "out")
    export_vot(src, out)
    assert len(load_dataset(out)["s"]) == 5
    v = src["s"]
    short = Video("s", v.img_paths[:3], v.gt[:3])  # and no tags
    export_vot(Dataset("short", str(tmp_path), [short], is_vot=True), out)
    back = load_dataset(out)["s"]
    assert len(back) == 3 and back.tags == {}
    assert sorted(os.listdir(os.path.join(out, "s", "color"))) == [
        f"{i:08d}.jpg" for i in (1, 2, 3)]
    assert sorted(os.listdir(os.path.join(out, "s"))) == ["color", "groundtruth.txt", "sequence"]
    # exporting a VOT folder into itself keeps its frames
    before = _hashes(os.path.join(out, "s", "color"))
    export_vot(out, out)
    assert _hashes(os.path.join(out, "s", "color")) == before and len(load_dataset(out)["s"]) == 3
