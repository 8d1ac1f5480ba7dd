"""Raw benchmark downloads as they come: OTB-100's partly annotated sequences and empty
target files, GOT-10k val/test folders, VOT-LT folders, frame-numbering messages and
UTF-8 byte-order marks."""
import json
import os

import cv2
import numpy as np
import pytest

from rasnet_plugin.cli import test as test_cli
from rasnet_plugin.datasets import (Dataset, DatasetError, detect_layout, load_dataset,
                                    load_dataset_lenient, loaders)
from rasnet_plugin.evaluation import evaluate
from rasnet_plugin.evaluation import results as R

BOM = "\ufeff"
BOX = [2.0, 3.0, 4.0, 3.0]


def _frames(folder, n, pattern, size=(8, 8), start=1):
    os.makedirs(folder, exist_ok=True)
    img = np.full((size[1], size[0], 3), 90, np.uint8)
    for i in range(start, start + n):
        cv2.imwrite(os.path.join(folder, pattern % i), img)


def _text(path, text, encoding="utf-8"):
    with open(path, "w", encoding=encoding) as f:
        f.write(text)


def _gt_lines(n, box=BOX):
    return ",".join("%g" % v for v in box) + "\n" if n == 1 else \
        "".join("%g,%g,%g,%g\n" % (box[0] + i, box[1], box[2], box[3]) for i in range(n))


# ---------------------------------------------------------------- OTB-100 raw download

def _otb_seq(root, name, n_images, gt_files):
    seq = os.path.join(root, name)
    _frames(os.path.join(seq, "img"), n_images, "%04d.jpg")
    for fname, text in gt_files.items():
        _text(os.path.join(seq, fname), text)
    return seq


def test_otb_david_keeps_its_annotated_frames_300_to_770(tmp_path):
    # the real counts: 770 images, 471 boxes for frames 300..770
    _otb_seq(tmp_path / "OTB2015", "David", 770, {"groundtruth_rect.txt": _gt_lines(471)})
    _otb_seq(tmp_path / "OTB2015", "Car", 3, {"groundtruth_rect.txt": _gt_lines(3)})
    for ds in (load_dataset(str(tmp_path / "OTB2015")),
               load_dataset_lenient(str(tmp_path / "OTB2015"))[0]):
        david = ds["David"]
        assert len(david) == 471 and len(david.gt) == 471
        assert os.path.basename(david.img_paths[0]) == "0300.jpg"
        assert os.path.basename(david.img_paths[-1]) == "0770.jpg"
        assert david.init_rect == BOX and len(ds["Car"]) == 3
    assert load_dataset_lenient(str(tmp_path / "OTB2015"))[1] == []


def test_otb_frame_range_applies_only_when_both_counts_match(tmp_path, monkeypatch):
    monkeypatch.setitem(loaders.OTB_FRAME_RANGES, "Diving", (1, 4, 6))
    root = tmp_path / "OTB"
    seq = _otb_seq(root, "Diving", 6, {"groundtruth_rect.txt": _gt_lines(4)})
    ds = load_dataset(str(root))
    assert [os.path.basename(p) for p in ds["Diving"].img_paths] == \
        ["0001.jpg", "0002.jpg", "0003.jpg", "0004.jpg"]
    # one box more or less than the range, or one image more than the download: refused
    gt = os.path.join(seq, "groundtruth_rect.txt")
    _text(gt, _gt_lines(5))
    with pytest.raises(DatasetError, match=r"5 ground-truth lines but 6 images .*"
                                           r"OTB's Diving has 6 images, annotated on frames 1-4"):
        load_dataset(str(root))
    _text(gt, _gt_lines(4))
    _frames(os.path.join(seq, "img"), 1, "%04d.jpg", start=7)
    with pytest.raises(DatasetError, match="4 ground-truth lines but 7 images"):
        load_dataset(str(root))


def test_otb_table_holds_the_benchmark_ranges():
    assert loaders.OTB_FRAME_RANGES == {"David": (300, 770, 770), "Diving": (1, 215, 231),
                                        "Football1": (1, 74, 81), "Freeman3": (1, 460, 474),
                                        "Freeman4": (1, 283, 297)}


@pytest.mark.parametrize("empty", ["", "\n", "  \n\t\n", BOM + "\n"])
def test_otb_empty_target_file_is_skipped_with_a_warning(tmp_path, empty):
    # OTB-100's Human4: an empty groundtruth_rect.1.txt next to the real .2; PySOT's name
    # for it is Human4-2
    root = tmp_path / "OTB"
    _otb_seq(root, "Human4", 5, {"groundtruth_rect.1.txt": empty,
                                 "groundtruth_rect.2.txt": _gt_lines(5)})
    _otb_seq(root, "Jogging", 4, {"groundtruth_rect.1.txt": _gt_lines(4),
                                  "groundtruth_rect.2.txt": _gt_lines(4, [5, 5, 3, 3])})
    with pytest.warns(UserWarning, match=r"groundtruth_rect.1.txt: empty ground truth file, "
                                         r"no target Human4-1; skipped"):
        ds = load_dataset(str(root))
    assert [v.name for v in ds] == ["Human4-2", "Jogging-1", "Jogging-2"]
    assert len(ds["Human4-2"]) == 5
    with pytest.warns(UserWarning, match="Human4-1"):
        ds, broken = load_dataset_lenient(str(root))
    assert [v.name for v in ds] == ["Human4-2", "Jogging-1", "Jogging-2"] and broken == []


def test_otb_empty_single_target_file_is_still_an_error(tmp_path):
    root = tmp_path / "OTB"
    seq = _otb_seq(root, "A", 3, {"groundtruth_rect.txt": "\n"})
    with pytest.raises(DatasetError, match="empty ground truth file"):
        load_dataset(str(root))
    os.remove(os.path.join(seq, "groundtruth_rect.txt"))
    _text(os.path.join(seq, "groundtruth_rect.1.txt"), "")
    _text(os.path.join(seq, "groundtruth_rect.2.txt"), " ")
    with pytest.warns(UserWarning), pytest.raises(DatasetError, match="every ground truth file "
                                                                      "is empty"):
        load_dataset(str(root))


# ---------------------------------------------------------------- GOT-10k

def _got10k(root, seqs, markers=("meta_info.ini", "absence.label", "cover.label"), size=(8, 8)):
    """root/list.txt + <seq>/{00000001.jpg.., groundtruth.txt, markers}; seqs: {name:
    (frames, gt lines, absence flags or None)}."""
    os.makedirs(root, exist_ok=True)
    for name, (n, n_gt, absence) in seqs.items():
        seq = os.path.join(root, name)
        _frames(seq, n, "%08d.jpg", size)
        _text(os.path.join(seq, "groundtruth.txt"), _gt_lines(n_gt))
        absence = absence or [0] * n
        if "absence.label" in markers:
            _text(os.path.join(seq, "absence.label"), "".join("%d\n" % a for a in absence))
        if "cover.label" in markers:
            _text(os.path.join(seq, "cover.label"),
                  "".join("%d\n" % (0 if a else 8) for a in absence))
        if "meta_info.ini" in markers:
            _text(os.path.join(seq, "meta_info.ini"), "[METAINFO]\nanno_fps: 10Hz\n")
    _text(os.path.join(root, "list.txt"), "".join(s + "\n" for s in seqs))
    return str(root)


@pytest.mark.parametrize("folder, seq, markers", [
    ("val", "s1", ("meta_info.ini", "absence.label", "cover.label")),
    ("val", "s1", ("meta_info.ini",)),
    ("val", "s1", ("absence.label",)),
    ("val", "s1", ("cover.label",)),
    ("GOT-10k", "s1", ()),                        # the folder's name
    ("test", "GOT-10k_Test_000001", ()),          # the sequences' names
])
def test_got10k_folder_is_its_own_one_pass_layout(tmp_path, folder, seq, markers):
    root = _got10k(tmp_path / folder, {seq: (5, 5, None)}, markers)
    assert detect_layout(root) == ("got10k", root)
    for ds in (load_dataset(root), load_dataset_lenient(root)[0]):
        assert not ds.is_vot and ds.layout == "got10k" and [v.name for v in ds] == [seq]
        assert len(ds[seq]) == 5
    # a single sequence folder too, when its files say so
    if markers:
        assert detect_layout(os.path.join(root, seq))[0] == "got10k-seq"
        single = load_dataset(os.path.join(root, seq))
        assert not single.is_vot and single.layout == "got10k"


def test_vot_folder_stays_vot(tmp_path):
    root = tmp_path / "VOT2018"
    seq = root / "bag"
    _frames(str(seq / "color"), 4, "%08d.jpg")
    _text(str(seq / "groundtruth.txt"), _gt_lines(4))
    _text(str(seq / "occlusion.tag"), "0\n1\n")
    _text(str(root / "list.txt"), "bag\n")
    ds = load_dataset(str(root))
    assert ds.is_vot and ds.layout == "vot" and detect_layout(str(root))[0] == "vot"


def test_got10k_labels_and_the_visible_frames(tmp_path):
    root = _got10k(tmp_path / "val", {"s1": (5, 5, [0, 0, 1, 1, 0])})
    _text(os.path.join(root, "s1", "cut_by_image.label"), "0\n1\n0\n0\n0\n")
    v = load_dataset(root)["s1"]
    assert v.tags["absence"].tolist() == [False, False, True, True, False]
    assert v.tags["visible"].tolist() == [True, True, False, False, True]
    assert v.attr == ["absence", "cut_by_image"]  # not cover / visible: true nearly always
    # cover 0 while not marked absent (fully occluded): not visible either, as GOT-10k scores
    _text(os.path.join(root, "s1", "cover.label"), "8\n0\n0\n0\n5\n")
    assert load_dataset(root)["s1"].tags["visible"].tolist() == [True, False, False, False, True]


def test_got10k_results_score_without_the_absent_frames(tmp_path):
    # perfect boxes on the visible frames, a far-off box on the two absent ones: as the
    # GOT-10k toolkit, those frames are left out -> every visible frame counts as a hit
    root = _got10k(tmp_path / "val", {"s1": (5, 5, [0, 0, 1, 1, 0]),
                                      "s2": (4, 4, None)})
    ds = load_dataset(root)
    gt1 = ds["s1"].gt.copy()
    gt1[2:4] = [50, 50, 2, 2]
    R.save_result(tmp_path / "res", ds.name, "t", "s1", gt1, "got10k", times=[0.01] * 5)
    R.save_result(tmp_path / "res", ds.name, "t", "s2", ds["s2"].gt, "got10k",
                  times=[0.01] * 4)
    result = evaluate(ds, tmp_path / "res")
    assert result.protocol == "ope"
    t = result.trackers["t"]
    # IoU 1 on every scored frame: success 1 for the 20 thresholds below 1, 0 at 1.0
    assert t.videos["s1"].auc == pytest.approx(20 / 21) and t.videos["s1"].precision_20 == 1
    assert t.videos["s2"].auc == pytest.approx(20 / 21)


def test_got10k_test_split_tracks_from_the_first_box_but_cannot_be_scored(tmp_path):
    root = _got10k(tmp_path / "test", {"GOT-10k_Test_000001": (5, 1, None),
                                       "GOT-10k_Test_000002": (3, 1, None)},
                   markers=("meta_info.ini",))
    for ds, broken in ((load_dataset(root), []), load_dataset_lenient(root)):
        assert broken == [] and not ds.is_vot and ds.layout == "got10k"
        v = ds["GOT-10k_Test_000001"]
        assert len(v) == 5 and v.init_rect == BOX
        assert v.gt.shape == (5, 4) and np.isnan(v.gt[1:]).all()
    for name in ("GOT-10k_Test_000001", "GOT-10k_Test_000002"):
        n = len(ds[name])
        R.save_result(tmp_path / "res", ds.name, "t", name, [BOX] * n, "got10k",
                      times=[0.01] * n)
    with pytest.raises(DatasetError, match=r"2 video\(s\) have no ground truth beyond frame 0 "
                                           r"\(GOT-10k_Test_000001, GOT-10k_Test_000002\)"):
        evaluate(ds, tmp_path / "res")
    # a one-line ground truth is still an error where the reset protocol needs all of it
    vot = tmp_path / "VOT" / "a"
    _frames(str(vot / "color"), 3, "%08d.jpg")
    _text(str(vot / "groundtruth.txt"), _gt_lines(1))
    with pytest.raises(DatasetError, match="1 ground-truth lines but 3 frames"):
        load_dataset(str(vot.parent))


@pytest.mark.parametrize("name", ["VOT2018-LT", "VOT-LT2019", "vot2019_lt", "longterm"])
def test_vot_long_term_folder_is_one_pass(tmp_path, name):
    root = tmp_path / name
    seq = root / "car9"
    _frames(str(seq / "color"), 4, "%08d.jpg")
    _text(str(seq / "groundtruth.txt"), _gt_lines(3) + "nan,nan,nan,nan\n")
    _text(str(root / "list.txt"), "car9\n")
    for ds in (load_dataset(str(root)), load_dataset_lenient(str(root))[0]):
        assert not ds.is_vot and ds.layout == "vot"


def test_lenient_loader_keeps_the_layout_when_a_video_is_broken(tmp_path):
    # the lenient loader builds the dataset itself once load_dataset refused it
    root = _got10k(tmp_path / "val", {"ok": (4, 4, [0, 1, 0, 0]), "bad": (4, 3, None)})
    ds, broken = load_dataset_lenient(root)
    assert [b[0] for b in broken] == ["bad"] and "3 ground-truth lines but 4" in broken[0][1]
    assert not ds.is_vot and ds.layout == "got10k"
    assert ds["ok"].tags["visible"].tolist() == [True, False, True, True]
    lt = tmp_path / "VOT2018-LT"
    for name, n_gt in (("car9", 4), ("bad", 3)):
        _frames(str(lt / name / "color"), 4, "%08d.jpg")
        _text(str(lt / name / "groundtruth.txt"), _gt_lines(n_gt))
    _text(str(lt / "list.txt"), "car9\nbad\n")
    ds, broken = load_dataset_lenient(str(lt))
    assert [b[0] for b in broken] == ["bad"] and not ds.is_vot and ds.layout == "vot"


def test_tools_test_runs_the_got10k_protocol_on_a_got10k_folder(tmp_path, capsys):
    # s1 as in the val split, t1 as in the test split (the first box only)
    root = _got10k(tmp_path / "val", {"s1": (4, 4, [0, 0, 1, 0]), "t1": (3, 1, None)},
                   size=(64, 48))
    res = tmp_path / "results"
    rc = test_cli.main(["--dataset", root, "--results", str(res), "--model-name", "m"])
    assert rc == 0, capsys.readouterr().err
    assert "2 videos (got10k protocol)" in capsys.readouterr().out
    folder = res / "val" / "m"
    assert sorted(os.listdir(folder)) == ["s1", "t1"]
    for seq, n in (("s1", 4), ("t1", 3)):
        assert sorted(os.listdir(folder / seq)) == [seq + "_001.txt", seq + "_time.txt"]
        boxes = np.loadtxt(folder / seq / (seq + "_001.txt"), delimiter=",")
        assert boxes.shape == (n, 4) and boxes[0].tolist() == BOX
    ds = load_dataset(root)
    scored = Dataset(ds.name, ds.root, [ds["s1"]])  # the video with ground truth: one-pass
    assert evaluate(scored, res).protocol == "ope"


# ---------------------------------------------------------------- frame numbering

def test_duplicate_frame_number_is_named_before_a_gap(tmp_path):
    root = tmp_path / "OTB"
    seq = _otb_seq(root, "A", 2, {"groundtruth_rect.txt": _gt_lines(2)})
    cv2.imwrite(os.path.join(seq, "img", "0001.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"2 ground-truth lines but 3 images .*, "
                                           r"0001 appears as 0001.jpg and 0001.png$"):
        load_dataset(str(root))
    # same number written two ways
    os.remove(os.path.join(seq, "img", "0001.png"))
    cv2.imwrite(os.path.join(seq, "img", "1.jpg"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"1 appears as "):
        load_dataset(str(root))
    # a real gap is still reported as one
    os.remove(os.path.join(seq, "img", "1.jpg"))
    os.remove(os.path.join(seq, "img", "0002.jpg"))
    _frames(os.path.join(seq, "img"), 2, "%04d.jpg", start=3)
    _text(os.path.join(seq, "groundtruth_rect.txt"), _gt_lines(2))
    with pytest.raises(DatasetError, match="0002.jpg is missing"):
        load_dataset(str(root))


# ---------------------------------------------------------------- byte-order marks

def test_bom_at_the_start_of_text_files_is_ignored(tmp_path):
    # OTB ground truth
    root = tmp_path / "OTB"
    _otb_seq(root, "A", 3, {"groundtruth_rect.txt": BOM + _gt_lines(3)})
    assert load_dataset(str(root))["A"].init_rect == BOX
    # VOT: list.txt, groundtruth.txt, a tag file and the sequence file
    vot = tmp_path / "VOT"
    seq = vot / "bag"
    _frames(str(seq / "frames"), 3, "%08d.jpg")
    _text(str(seq / "sequence"), BOM + "channels.color=frames/%08d.jpg\n")
    _text(str(seq / "groundtruth.txt"), BOM + _gt_lines(3))
    _text(str(seq / "occlusion.tag"), BOM + "0\n1\n")
    _text(str(vot / "list.txt"), BOM + "bag\n")
    ds = load_dataset(str(vot))
    assert [v.name for v in ds] == ["bag"] and len(ds["bag"]) == 3
    assert ds["bag"].tags["occlusion"].tolist() == [False, True, False]
    assert ds["bag"].img_paths[0].endswith(os.path.join("frames", "00000001.jpg"))
    # PySOT JSON
    js = tmp_path / "J"
    _frames(str(js / "v"), 2, "%04d.jpg")
    meta = {"v": {"video_dir": "v", "init_rect": BOX, "img_names": ["v/0001.jpg", "v/0002.jpg"],
                  "gt_rect": [BOX, BOX], "attr": []}}
    _text(str(js / "J.json"), BOM + json.dumps(meta))
    assert load_dataset(str(js))["v"].init_rect == BOX
    # the same files written by an editor that adds the mark ("utf-8-sig")
    _text(str(vot / "list.txt"), "bag\n", encoding="utf-8-sig")
    assert [v.name for v in load_dataset(str(vot))] == ["bag"]
