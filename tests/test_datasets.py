"""Dataset loaders: OTB / VOT / PySOT-JSON layouts, validation errors, frame reading."""
import json
import math
import os

import cv2
import numpy as np
import pytest

from _data import REAL_DATA, SKIP_REASON
from rasnet_plugin.datasets import Dataset, DatasetError, Video, load_dataset, load_dataset_lenient


# ---------------------------------------------------------------- tiny layouts

def _write_frames(folder, n, pattern="%04d.jpg", start=1):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        img = np.full((24, 32, 3), 10 * i, np.uint8)
        paths.append(os.path.join(folder, pattern % (i + start)))
        cv2.imwrite(paths[-1], img)
    return paths


def _boxes(n, k=0):
    return [[2.0 + i + k, 3.0 + k, 10.0, 8.0 + 0.5 * i] for i in range(n)]


def _polys(n):
    # a 10 x 6 rectangle rotated by 90 degrees then shifted: corners in VOT order
    return [[5.0 + i, 4.0, 15.0 + i, 4.0, 15.0 + i, 10.0, 5.0 + i, 10.0] for i in range(n)]


def _write_gt(path, rows, sep=","):
    with open(path, "w") as f:
        f.writelines(sep.join(f"{v:g}" for v in r) + "\n" for r in rows)


def make_otb(root, seqs=(("Basketball", 5), ("Car", 4)), sep="\t"):
    for k, (name, n) in enumerate(seqs):
        _write_frames(os.path.join(root, name, "img"), n)
        _write_gt(os.path.join(root, name, "groundtruth_rect.txt"), _boxes(n, k), sep)
    return str(root)


def make_vot(root, seqs=(("bag", 6), ("ball", 4)), sequence_file=True):
    os.makedirs(root, exist_ok=True)
    for name, n in seqs:
        seq = os.path.join(root, name)
        if sequence_file:
            _write_frames(os.path.join(seq, "color"), n, "%08d.jpg")
            with open(os.path.join(seq, "sequence"), "w") as f:
                f.write("channels.color=color/%08d.jpg\nfps=30\n")
        else:
            _write_frames(seq, n, "%08d.jpg")
        _write_gt(os.path.join(seq, "groundtruth.txt"), _polys(n))
    with open(os.path.join(root, "list.txt"), "w") as f:
        f.writelines(name + "\n" for name, _ in seqs)
    return str(root)


def make_pysot(ds_dir, name, videos=(("Basketball", 4), ("Car", 3)), prefix="", gt=_boxes,
               extra=None):
    """PySOT JSON at ds_dir/<name>.json; img_names = prefix + '<video>/img/0001.jpg'."""
    meta = {}
    for vid, n in videos:
        _write_frames(os.path.join(ds_dir, vid, "img"), n)
        rows = gt(n)
        init = rows[0] if len(rows[0]) == 4 else [5.0, 4.0, 10.0, 6.0]  # box of _polys(n)[0]
        names = [f"{prefix}{vid}/img/{i + 1:04d}.jpg" for i in range(n)]
        meta[vid] = {"video_dir": vid, "init_rect": init, "img_names": names, "gt_rect": rows,
                     "attr": ["SV", "OCC"], **(extra or {})}
    path = os.path.join(ds_dir, f"{name}.json")
    with open(path, "w") as f:
        json.dump(meta, f)
    return path


# ---------------------------------------------------------------- OTB

@pytest.mark.parametrize("sep", ["\t", ",", " ", ", "])
def test_otb_roundtrip(tmp_path, sep):
    root = make_otb(tmp_path / "OTBtiny", sep=sep)
    ds = load_dataset(root)
    assert isinstance(ds, Dataset) and ds.name == "OTBtiny" and not ds.is_vot
    assert [v.name for v in ds] == ["Basketball", "Car"] and len(ds) == 2
    v = ds["Basketball"]
    assert isinstance(v, Video) and len(v) == 5
    np.testing.assert_array_equal(v.gt, np.array(_boxes(5)))
    assert v.gt.dtype == np.float64 and v.init_rect == [2.0, 3.0, 10.0, 8.0]
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in v.img_paths)
    assert v.img_paths[-1].endswith(os.path.join("Basketball", "img", "0005.jpg"))
    assert v.attr == [] and v.tags == {}
    np.testing.assert_array_equal(v.gt_xywh(), v.gt)


def test_otb_single_sequence_and_multi_target(tmp_path):
    root = make_otb(tmp_path / "d", seqs=(("Jogging", 4),))
    seq = os.path.join(root, "Jogging")
    ds = load_dataset(seq)
    assert ds.name == "Jogging" and [v.name for v in ds] == ["Jogging"]
    os.rename(os.path.join(seq, "groundtruth_rect.txt"),
              os.path.join(seq, "groundtruth_rect.1.txt"))
    _write_gt(os.path.join(seq, "groundtruth_rect.2.txt"), _boxes(4, 7))
    ds = load_dataset(root)
    assert [v.name for v in ds] == ["Jogging-1", "Jogging-2"]
    assert ds["Jogging-2"].init_rect == [9.0, 10.0, 10.0, 8.0]


def test_dataset_container_api(tmp_path):
    ds = load_dataset(make_otb(tmp_path / "d"))
    assert ds[0] is ds["Basketball"] and "Car" in ds and "Nope" not in ds
    assert [v.name for v in iter(ds)] == ["Basketball", "Car"]
    with pytest.raises(KeyError, match="Nope"):
        ds["Nope"]
    with pytest.raises(IndexError, match="no frame 5"):
        ds["Car"].load_frame(5)
    assert ds.root == os.path.abspath(tmp_path / "d")


def test_named_dataset_under_root(tmp_path):
    make_otb(tmp_path / "testing" / "MYOTB")
    ds = load_dataset("MYOTB", root=str(tmp_path / "testing"))
    assert ds.name == "MYOTB" and len(ds) == 2


# ---------------------------------------------------------------- VOT

def test_vot_roundtrip_with_tags(tmp_path):
    root = make_vot(tmp_path / "VOTtiny")
    seq = os.path.join(root, "bag")
    with open(os.path.join(seq, "occlusion.tag"), "w") as f:
        f.write("0\n1\n1\n")  # shorter than the sequence: padded with 0
    with open(os.path.join(seq, "camera_motion.tag"), "w") as f:
        f.write("0\n0\n0\n0\n0\n0\n")
    ds = load_dataset(root)
    assert ds.is_vot and ds.name == "VOTtiny" and [v.name for v in ds] == ["bag", "ball"]
    v = ds["bag"]
    assert len(v) == 6 and v.gt.shape == (6, 8)
    assert v.img_paths[0].endswith(os.path.join("bag", "color", "00000001.jpg"))
    assert v.init_rect == [5.0, 4.0, 10.0, 6.0]
    np.testing.assert_allclose(v.gt_xywh()[2], [7.0, 4.0, 10.0, 6.0])
    assert v.tags["occlusion"].dtype == np.bool_
    assert v.tags["occlusion"].tolist() == [False, True, True, False, False, False]
    assert not v.tags["camera_motion"].any()
    assert v.attr == ["occlusion"]


def test_vot_images_in_sequence_folder_and_no_list(tmp_path):
    root = make_vot(tmp_path / "V", sequence_file=False)
    os.remove(os.path.join(root, "list.txt"))
    ds = load_dataset(root)
    assert ds.is_vot and [len(v) for v in ds] == [6, 4]
    single = load_dataset(os.path.join(root, "ball"))
    assert single.is_vot and single.name == "ball" and len(single["ball"]) == 4


def test_vot_absent_target_rows(tmp_path):
    root = make_vot(tmp_path / "V", seqs=(("s", 4),))
    rows = _polys(4)
    rows[2] = [0.0] * 8
    rows[3] = [float("nan")] * 8
    _write_gt(os.path.join(root, "s", "groundtruth.txt"), rows)
    box = load_dataset(root)["s"].gt_xywh()
    assert box[2].tolist() == [0, 0, 0, 0] and np.isnan(box[3]).all()
    assert np.isfinite(box[:2]).all()


# ---------------------------------------------------------------- PySOT JSON

def test_pysot_json_relative_to_dataset_dir(tmp_path):
    ds_dir = tmp_path / "testing_dataset" / "OTB100"
    make_pysot(str(ds_dir), "OTB100")
    for ds in (load_dataset("OTB100", root=str(tmp_path / "testing_dataset")),
               load_dataset(str(ds_dir)),
               load_dataset(str(ds_dir / "OTB100.json"))):
        assert ds.name == "OTB100" and not ds.is_vot and len(ds) == 2
        v = ds["Basketball"]
        assert v.img_paths[0] == str(ds_dir / "Basketball" / "img" / "0001.jpg")
        assert v.attr == ["SV", "OCC"] and v.init_rect == [2.0, 3.0, 10.0, 8.0]
        assert v.load_frame(3).shape == (24, 32, 3)


def test_pysot_json_relative_to_parent_and_absolute(tmp_path):
    ds_dir = tmp_path / "OTB100"
    make_pysot(str(ds_dir), "OTB100", prefix="OTB100/")
    v = load_dataset(str(ds_dir))["Car"]
    assert v.img_paths[2] == str(ds_dir / "Car" / "img" / "0003.jpg")
    assert os.path.isfile(v.img_paths[2])

    json_path = make_pysot(str(tmp_path / "ABS"), "ABS", prefix=str(tmp_path / "ABS") + "/")
    v = load_dataset(json_path)["Car"]
    assert v.img_paths[0] == str(tmp_path / "ABS" / "Car" / "img" / "0001.jpg")


def test_pysot_json_path_escape_rejected(tmp_path):
    make_pysot(str(tmp_path / "outside"), "outside")  # frames that do exist, one level up
    json_path = make_pysot(str(tmp_path / "DS"), "DS", prefix="../outside/")
    with pytest.raises(DatasetError, match=r"escapes the dataset folder") as e:
        load_dataset(json_path)
    assert "DS.json" in str(e.value) and "img_names[0]" in str(e.value)
    json_path = make_pysot(str(tmp_path / "DS2"), "DS2", prefix="Car/../../../etc/")
    with pytest.raises(DatasetError, match="escapes"):
        load_dataset(json_path)


def test_pysot_json_vot_detection_and_tags(tmp_path):
    tags = {"occlusion": [0, 1, 1], "camera_motion": [1, 0, 0, 0], "size_change": []}
    make_pysot(str(tmp_path / "VOT2018"), "VOT2018", videos=(("bag", 4),), gt=_polys,
               extra=tags)
    ds = load_dataset(str(tmp_path / "VOT2018"))
    assert ds.is_vot
    v = ds["bag"]
    assert v.gt.shape == (4, 8) and v.init_rect == [5.0, 4.0, 10.0, 6.0]
    assert v.tags["occlusion"].tolist() == [False, True, True, False]
    assert v.tags["camera_motion"].tolist() == [True, False, False, False]
    assert not v.tags["size_change"].any()
    # by name alone (4-float gt), and long-term VOT is one-pass
    make_pysot(str(tmp_path / "VOT2016"), "VOT2016")
    assert load_dataset(str(tmp_path / "VOT2016")).is_vot
    make_pysot(str(tmp_path / "VOT2018-LT"), "VOT2018-LT")
    assert not load_dataset(str(tmp_path / "VOT2018-LT")).is_vot
    make_pysot(str(tmp_path / "POLY"), "POLY", gt=_polys)
    assert load_dataset(str(tmp_path / "POLY")).is_vot


# ---------------------------------------------------------------- errors

def _expect_error(path, *fragments):
    with pytest.raises(DatasetError) as e:
        load_dataset(str(path))
    for frag in fragments:
        assert frag in str(e.value), (frag, str(e.value))


def test_error_unknown_folder_and_missing_dataset(tmp_path):
    (tmp_path / "empty").mkdir()
    _expect_error(tmp_path / "empty", "Looked for", "list.txt", "groundtruth_rect.txt", ".json")
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("NoSuchDataset", root=str(tmp_path))
    (tmp_path / "x.txt").write_text("hi")
    _expect_error(tmp_path / "x.txt", "x.txt")


def test_error_otb_ground_truth(tmp_path):
    root = make_otb(tmp_path / "d", seqs=(("A", 4),))
    gt = os.path.join(root, "A", "groundtruth_rect.txt")
    _write_gt(gt, _boxes(3))
    _expect_error(root, gt, "3 ground-truth lines but 4 images")
    # a frame deleted from the middle: the message names it
    _write_gt(gt, _boxes(4))
    os.remove(os.path.join(root, "A", "img", "0003.jpg"))
    _expect_error(root, gt, "4 ground-truth lines but 3 images", "0003.jpg is missing")
    _write_frames(os.path.join(root, "A", "img"), 1, start=3)
    with open(gt, "w") as f:
        f.write("1,2,3,4\n1,2,3,4\nfoo,2,3,4\n1,2,3,4\n")
    _expect_error(root, gt, "line 3", "non-numeric")
    with open(gt, "w") as f:
        f.write("1,2,3,4\n1,2,3\n1,2,3,4\n1,2,3,4\n")
    _expect_error(root, gt, "line 2", "expected 4 numbers, got 3")
    with open(gt, "w") as f:
        f.write("1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n")
    _expect_error(root, gt, "line 1", "got 5")
    with open(gt, "w") as f:
        f.write("1,2,3,4\n\n1,2,3,4\n1,2,3,4\n")
    _expect_error(root, gt, "line 2")


@pytest.mark.parametrize("first, word", [("1,2,0,4", "empty"), ("1,2,5,-3", "negative"),
                                         ("1,nan,5,3", "NaN"), ("1,2,inf,3", "inf")])
def test_error_bad_init_box_text(tmp_path, first, word):
    root = make_otb(tmp_path / "d", seqs=(("A", 3),))
    gt = os.path.join(root, "A", "groundtruth_rect.txt")
    with open(gt, "w") as f:
        f.write(first + "\n1,2,3,4\n1,2,3,4\n")
    _expect_error(root, gt, "video 'A'", "init box", word)


def test_error_vot(tmp_path):
    root = make_vot(tmp_path / "V", seqs=(("s", 4),))
    gt = os.path.join(root, "s", "groundtruth.txt")
    _write_gt(gt, _polys(5))
    _expect_error(root, gt, "5 ground-truth lines but 4 frames", "color")
    _write_gt(gt, _polys(4))
    with open(os.path.join(root, "s", "occlusion.tag"), "w") as f:
        f.write("0\nyes\n")
    _expect_error(root, "occlusion.tag", "line 2")
    with open(os.path.join(root, "s", "occlusion.tag"), "w") as f:
        f.write("0\n" * 7)
    _expect_error(root, "occlusion.tag", "7 lines")
    os.remove(os.path.join(root, "s", "occlusion.tag"))
    with open(os.path.join(root, "list.txt"), "a") as f:
        f.write("ghost\n")
    _expect_error(root, "list.txt", "'ghost'")


def _json_case(tmp_path, mutate):
    path = make_pysot(str(tmp_path / "J"), "J")
    with open(path) as f:
        meta = json.load(f)
    meta = mutate(meta)
    with open(path, "w") as f:
        json.dump(meta, f)
    return path


def _set(video, field, value):
    def mutate(meta):
        if value is _DELETE:
            del meta[video][field]
        else:
            meta[video][field] = value
        return meta
    return mutate


_DELETE = object()

JSON_ERRORS = [
    (lambda m: list(m.values()), ["top level must be an object", "list"]),
    (lambda m: {}, ["no videos"]),
    (lambda m: {**m, "Car": [1, 2]}, ["video 'Car'", "entry must be an object"]),
    (_set("Car", "gt_rect", _DELETE), ["video 'Car'", "missing field 'gt_rect'"]),
    (_set("Car", "img_names", _DELETE), ["video 'Car'", "missing field 'img_names'"]),
    (_set("Car", "init_rect", _DELETE), ["video 'Car'", "missing field 'init_rect'"]),
    (_set("Car", "img_names", "Car/img"), ["video 'Car'", "'img_names' must be list", "str"]),
    (_set("Car", "img_names", ["Car/img/0001.jpg", 7, "x"]), ["img_names[1]"]),
    (_set("Car", "gt_rect", [[1, 2, 3, 4], [1, "2", 3, 4], [1, 2, 3, 4]]), ["gt_rect[1]"]),
    (_set("Car", "gt_rect", [[1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4]]), ["gt_rect[1]", "3 numbers"]),
    (_set("Car", "gt_rect", [[1, 2, 3, 4], [1, 2, 3, 4]]), ["2 gt_rect rows but 3 img_names"]),
    (_set("Car", "gt_rect", [[1, 2, 3, 4], None, [1, 2, 3, 4]]), ["gt_rect[1]"]),
    (_set("Car", "init_rect", [1, 2, 3]), ["'init_rect' must be 4 numbers"]),
    (_set("Car", "init_rect", {"x": 1}), ["'init_rect' must be list"]),
    (_set("Car", "init_rect", [1, 2, 0, 3]), ["init box is empty"]),
    (_set("Car", "init_rect", [1, 2, -4, 3]), ["negative size"]),
    (_set("Car", "init_rect", [1, 2, math.inf, 3]), ["NaN or inf"]),
    (_set("Car", "init_rect", [1, math.nan, 3, 3]), ["NaN or inf"]),
    (_set("Car", "attr", "SV"), ["'attr' must be list"]),
    (_set("Car", "attr", ["SV", 3]), ["'attr' must be a list of strings"]),
    (_set("Car", "occlusion", [0, 1, 0, 1, 1]), ["'occlusion' has 5 values for 3 frames"]),
    (_set("Car", "occlusion", ["a"]), ["'occlusion' must be a list of 0/1"]),
    (_set("Car", "video_dir", 3), ["'video_dir' must be str"]),
]


@pytest.mark.parametrize("mutate, fragments", JSON_ERRORS)
def test_error_pysot_json(tmp_path, mutate, fragments):
    path = _json_case(tmp_path, mutate)
    _expect_error(path, "J.json", *fragments)


def test_error_json_syntax(tmp_path):
    path = make_pysot(str(tmp_path / "J"), "J")
    with open(path, "w") as f:
        f.write('{"Car": {\n "img_names": [,]\n}}')
    _expect_error(path, "J.json", "line 2", "invalid JSON")


# ---------------------------------------------------------------- frames

def _one_frame_video(tmp_path, img, ext=".png"):
    path = str(tmp_path / f"frame{ext}")
    assert cv2.imwrite(path, img)
    return Video("v", [path], [[1, 1, 4, 4]]), path


def test_frame_grayscale_alpha_16bit(tmp_path):
    gray = (np.arange(12 * 16).reshape(12, 16) % 256).astype(np.uint8)
    v, _ = _one_frame_video(tmp_path, gray)
    f = v.load_frame(0)
    assert f.shape == (12, 16, 3) and f.dtype == np.uint8
    assert (f[:, :, 0] == gray).all() and (f[:, :, 2] == gray).all()

    bgra = np.dstack([np.full((12, 16), c, np.uint8) for c in (10, 20, 30, 128)])
    v, _ = _one_frame_video(tmp_path, bgra)
    f = v.load_frame(0)
    assert f.shape == (12, 16, 3) and f.dtype == np.uint8 and f[0, 0].tolist() == [10, 20, 30]

    deep = np.zeros((12, 16, 3), np.uint16)
    deep[0, 0] = [65535, 257 * 100, 0]
    v, _ = _one_frame_video(tmp_path, deep)
    f = v.load_frame(0)
    assert f.shape == (12, 16, 3) and f.dtype == np.uint8 and f[0, 0].tolist() == [255, 100, 0]

    v, _ = _one_frame_video(tmp_path, (gray.astype(np.uint16) * 256))
    f = v.load_frame(0)
    assert f.shape == (12, 16, 3) and f.dtype == np.uint8
    assert np.abs(f[:, :, 1].astype(int) - gray).max() <= 1


def test_frame_missing_or_corrupt(tmp_path):
    root = make_otb(tmp_path / "d", seqs=(("A", 4),))
    v = load_dataset(root)["A"]
    os.remove(v.img_paths[2])
    with pytest.raises(DatasetError) as e:
        v.load_frame(2)
    assert "frame 2" in str(e.value) and v.img_paths[2] in str(e.value)
    with open(v.img_paths[1], "wb") as f:
        f.write(b"not a jpeg at all")
    with pytest.raises(DatasetError) as e:
        v.load_frame(1)
    assert "frame 1" in str(e.value) and "0002.jpg" in str(e.value)


def test_video_validates_tags_and_counts(tmp_path):
    with pytest.raises(DatasetError, match="2 ground-truth rows but 1 frames"):
        Video("v", ["a.jpg"], [[1, 1, 4, 4], [1, 1, 4, 4]], source="x.json")
    with pytest.raises(DatasetError, match="tag 'occlusion'"):
        Video("v", ["a.jpg"], [[1, 1, 4, 4]], tags={"occlusion": [0, 1]})


# ---------------------------------------------------------------- lenient loading

def test_lenient_otb_good_video_loads_broken_one_reported(tmp_path):
    root = make_otb(tmp_path / "OTBmix", seqs=(("Good", 4), ("Short", 5)))
    gt = os.path.join(root, "Short", "groundtruth_rect.txt")
    _write_gt(gt, _boxes(3))                                  # 3 boxes for 5 images
    with pytest.raises(DatasetError):
        load_dataset(root)                                    # the strict loader refuses all
    ds, broken = load_dataset_lenient(root)
    assert isinstance(ds, Dataset) and ds.name == "OTBmix" and not ds.is_vot
    assert [v.name for v in ds] == ["Good"] and len(ds["Good"]) == 4
    assert [name for name, _ in broken] == ["Short"]
    msg = broken[0][1]
    assert gt in msg and "3 ground-truth lines but 5 images" in msg


def test_lenient_vot_and_json_name_file_and_reason(tmp_path):
    root = make_vot(tmp_path / "VOTmix", seqs=(("bag", 4), ("gone", 3)))
    os.remove(os.path.join(root, "gone", "groundtruth.txt"))
    ds, broken = load_dataset_lenient(root)
    assert ds.is_vot and [v.name for v in ds] == ["bag"]
    assert broken == [("gone", f"{os.path.join(root, 'gone')}: VOT sequence without groundtruth.txt")]

    path = make_pysot(str(tmp_path / "JS"), "JS", videos=(("a", 3), ("b", 3)))
    with open(path) as f:
        meta = json.load(f)
    meta["b"]["init_rect"] = [1, 2, 0, 5]                     # an empty first box
    with open(path, "w") as f:
        json.dump(meta, f)
    ds, broken = load_dataset_lenient("JS", root=str(tmp_path))
    assert ds.name == "JS" and [v.name for v in ds] == ["a"] and not ds.is_vot
    (name, msg), = broken
    assert name == "b" and path in msg and "init box is empty" in msg
    meta["b"].update(img_names=[], gt_rect=[])               # a video without frames
    with open(path, "w") as f:
        json.dump(meta, f)
    ds, broken = load_dataset_lenient("JS", root=str(tmp_path))
    assert [v.name for v in ds] == ["a"]
    (name, msg), = broken
    assert name == "b" and path in msg and "no frames" in msg


def test_lenient_whole_dataset_and_unsplittable_errors(tmp_path):
    root = make_otb(tmp_path / "OTBok")
    ds, broken = load_dataset_lenient(root)
    assert broken == [] and [v.name for v in ds] == ["Basketball", "Car"]
    with pytest.raises(DatasetError, match="not found"):
        load_dataset_lenient(str(tmp_path / "missing"))
    bad = tmp_path / "Bad"
    bad.mkdir()
    (bad / "Bad.json").write_text("{broken")
    with pytest.raises(DatasetError, match="invalid JSON"):
        load_dataset_lenient(str(bad))


# ---------------------------------------------------------------- the real sequences

def _shared(*parts):
    if REAL_DATA is None:
        pytest.skip(SKIP_REASON)
    path = os.path.join(REAL_DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"real sequences not present: {path}")
    return path


def test_real_otb_crossing():
    ds = load_dataset(_shared("OTB-dev"))
    assert not ds.is_vot and [v.name for v in ds] == ["Crossing"]
    v = ds["Crossing"]
    assert len(v) == 120 and v.gt.shape == (120, 4)
    assert v.init_rect == [205.0, 151.0, 17.0, 50.0]
    frame = v.load_frame(119)
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    assert len(load_dataset(_shared("OTB-dev", "Crossing"))["Crossing"]) == 120


def test_real_vot_polygons():
    ds = load_dataset(_shared("VOT-dev"))
    assert ds.is_vot and {v.name: len(v) for v in ds} == {"bag": 196, "ball1": 105}
    for v in ds:
        assert v.gt.shape == (len(v), 8)
        h, w = v.load_frame(0).shape[:2]
        boxes = v.gt_xywh()
        assert np.isfinite(boxes).all() and (boxes[:, 2:] > 1).all()
        cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
        assert (cx > 0).all() and (cx < w).all() and (cy > 0).all() and (cy < h).all()
        assert (boxes[:, 2] < w).all() and (boxes[:, 3] < h).all()
        x, y, bw, bh = v.init_rect
        assert bw > 0 and bh > 0 and v.init_rect == pytest.approx(boxes[0].tolist())
    np.testing.assert_allclose(ds["ball1"].init_rect, [492.0, 417.0, 47.0, 46.0])
    assert len(load_dataset(_shared("VOT-dev", "bag"))["bag"]) == 196
