"""Training data that are broken in the ways real datasets are: malformed boxes, empty
videos, a ROOT that is not the annotation's crop folder, truncated JPEGs, and data so
broken that no pair can be drawn inside a DataLoader worker."""
import json
import logging
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from rasnet_plugin.config import get_default_config
from rasnet_plugin.datasets import DatasetError
from rasnet_plugin.training import pairs
from rasnet_plugin.training import (AugParams, DataUnusable, GOT10kSource, PairDataset,
                                    PySOTSource, Trainer)

LOG = "rasnet_plugin.training"
NO_AUG = AugParams(stretch=0, shift=0, color=0, blur=0, gray=0)


def _texture(side, seed):
    n = np.random.default_rng(seed).random((side, side, 3)).astype(np.float32)
    return (cv2.GaussianBlur(n, (0, 0), 2.0) * 255).astype(np.uint8)


def _pysot(root, boxes, side=127):
    """PySOT's layout under `root`: crop/<video>/<frame>.00.x.jpg and train.json, one
    track "00" per video; `boxes` is {video: {frame number: box}}; a crop is written for
    every frame."""
    anno = {}
    for video, frames in boxes.items():
        anno[video] = {"00": {}} if frames is not None else {}
        for f, box in (frames or {}).items():
            path = os.path.join(root, "crop", video, "%06d.00.x.jpg" % f)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            assert cv2.imwrite(path, _texture(side, f))
            anno[video]["00"]["%06d" % f] = box
    with open(os.path.join(root, "train.json"), "w") as fh:
        json.dump(anno, fh)        # NaN and Infinity as Python's json writes (and reads) them
    return os.path.join(root, "crop"), os.path.join(root, "train.json")


def _frames(src):
    return {v: t[0]["frames"].tolist() for v, t in src.items}


def _truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])


def test_pysot_malformed_boxes_are_counted_and_named(tmp_path, caplog):
    good = [10, 10, 60, 50]
    root, anno = _pysot(str(tmp_path), {
        "vid/a": {0: good, 2: [float("nan"), 10, 60, 50], 4: [60, 10, 20, 50],
                  6: [10, 10, float("inf"), 50], 8: "1234", 10: [0, 0, 0, 5], 12: good},
        "vid/b": {0: good, 2: [40, -3]},
        "vid/empty": None,                 # a video without a track
        "vid/blank": {0: [5, 5, 5, 9]},    # one empty (zero-width) box only
    })
    with caplog.at_level(logging.WARNING, logger=LOG):
        src = PySOTSource(root, anno)
    # NaN, a negative width, inf, a string and a negative [w, h]: counted, each named;
    # the zero-width box is PySOT's "no target here": dropped, not counted
    assert src.load_skipped == 5
    assert _frames(src) == {"vid/a": [0, 12], "vid/b": [0]}
    for what in ("vid/a track 00 frame 000002: bad box [nan, 10, 60, 50] (NaN or inf)",
                 "vid/a track 00 frame 000004: bad box [60, 10, 20, 50] (a negative size)",
                 "vid/a track 00 frame 000006", "vid/a track 00 frame 000008",
                 "vid/b track 00 frame 000002: bad box [40, -3] (a negative size)"):
        assert what in caplog.text
    assert "000010" not in caplog.text
    # the videos left with nothing are named, not dropped silently
    assert "2 video(s) of %s have no usable box and are left out: vid/blank, vid/empty" \
        % anno in caplog.text


def test_got10k_nan_and_negative_boxes_are_counted_and_named(tmp_path, caplog):
    seq = tmp_path / "train" / "GOT-10k_Train_000001"
    lines = ["10,10,30,20", "nan,10,30,20", "10,10,-30,20", "10,10,0,0", "12,10,30,20"]
    for k in range(len(lines)):
        os.makedirs(seq, exist_ok=True)
        assert cv2.imwrite(str(seq / ("%08d.jpg" % (k + 1))), _texture(64, k))
    (seq / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "train" / "list.txt").write_text("GOT-10k_Train_000001\n")
    with caplog.at_level(logging.WARNING, logger=LOG):
        src = GOT10kSource(str(tmp_path / "train"))
    assert src.load_skipped == 2                         # 0,0 is an empty box: not counted
    assert _frames(src) == {"GOT-10k_Train_000001": [1, 5]}
    assert "groundtruth.txt line 2: box 'nan,10,30,20' has NaN or inf" in caplog.text
    assert "groundtruth.txt line 3: box '10,10,-30,20' has a negative size" in caplog.text


def test_a_pysot_root_without_the_crops_or_without_anno_is_refused(tmp_path):
    root, anno = _pysot(str(tmp_path), {"v%d" % k: {0: [0, 0, 40, 30], 2: [0, 0, 40, 30]}
                                        for k in range(3)})
    # the parent of the crop folder: every sample would fail inside a DataLoader worker
    with pytest.raises(DatasetError, match="ROOT %s holds none of the crops %s names "
                       r"\(looked for %s" % (tmp_path, anno, os.path.join(str(tmp_path), "v0",
                                                                           "000000.00.x.jpg"))):
        PySOTSource(str(tmp_path), anno)
    with pytest.raises(DatasetError, match="no ANNO: a pysot source needs the JSON"):
        PySOTSource(root, "")
    # one video's crops missing is not a wrong ROOT: that video fails at sampling time
    os.remove(os.path.join(root, "v1", "000000.00.x.jpg"))
    assert len(PySOTSource(root, anno)) == 3


def test_a_truncated_jpeg_is_a_named_sample_error_not_grey_pixels(tmp_path, caplog, monkeypatch):
    # the skip warnings thin out after the first 10 of a process: count from 0 here
    monkeypatch.setitem(pairs._warned, "n", 0)
    root, anno = _pysot(str(tmp_path), {"v": {f: [0, 0, 40, 30] for f in range(0, 8, 2)}})
    cut = os.path.join(root, "v", "000002.00.x.jpg")
    _truncate(cut)
    assert cv2.imread(cut) is not None      # what OpenCV does with it: rows of grey
    src = PySOTSource(root, anno)
    video, tracks = src.items[0]
    assert src._load(video, tracks[0], 0)[0].shape == (127, 127, 3)
    with pytest.raises(DatasetError, match="frame 2: truncated JPEG file .*000002.00.x.jpg"):
        src._load(video, tracks[0], 1)
    ds = PairDataset([src], NO_AUG, seed=0, max_retries=50)
    with caplog.at_level(logging.WARNING, logger=LOG):
        skipped = sum(int(ds[(0, k)]["skipped"]) for k in range(6))
    assert skipped > 0 and "truncated JPEG file" in caplog.text
    # a PNG under a .jpg name (opencv-doc has three) is no JPEG: it loads
    from rasnet_plugin.training.sources.base import read_image
    png = str(tmp_path / "figure.jpg")
    ok, data = cv2.imencode(".png", _texture(40, 1))
    with open(png, "wb") as f:
        f.write(data.tobytes())
    assert read_image(png).shape == (40, 40, 3)


def test_unusable_data_in_a_worker_names_the_files_without_its_traceback(tmp_path):
    root, anno = _pysot(str(tmp_path), {"v": {0: [0, 0, 40, 30], 2: [0, 0, 40, 30]}})
    for name in os.listdir(os.path.join(root, "v")):
        with open(os.path.join(root, "v", name), "wb") as f:
            f.write(b"not an image at all")
    # in a fresh process: a DataLoader worker forked from this long-lived test process can
    # inherit a lock another test's threads held at the fork, and never start
    script = f"""
import sys
from rasnet_plugin.config import get_default_config
from rasnet_plugin.training import DataUnusable, PySOTSource, Trainer
cfg = get_default_config()
t = cfg.TRAIN
t.EPOCH, t.PAIRS_PER_EPOCH, t.BATCH_SIZE, t.VAL_PAIRS = 1, 2, 1, 0
t.NUM_WORKERS, t.MAX_RETRIES, t.PRECISION = 1, 3, "fp32"
tr = Trainer(cfg, {str(tmp_path / "out")!r}, device="cpu", progress=False,
             sources=[PySOTSource({root!r}, {anno!r})], val_sources=[])
try:
    tr.train()
except DataUnusable as e:
    print("DataUnusable:", e)
    sys.exit(0)
sys.exit("no DataUnusable")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    msg = run.stdout.split("DataUnusable: ", 1)[1]
    assert msg.startswith("no usable training pair after 3 tries (epoch 0, pair 0)"), msg
    assert "cannot decode image file" in msg and "Traceback" not in msg


@pytest.mark.parametrize("size,out,error", [(199, 10, None), (191, 9, None),
                                            (206, 10, "off the response by 3.5 px"),
                                            (200, 10, "off the response by 0.5 px")])
def test_training_search_size_must_keep_the_labels_on_the_response(size, out, error):
    from rasnet_plugin.config import ConfigError
    from rasnet_plugin.training import label_maps
    from rasnet_plugin.training.trainer import check_train_config
    cfg = get_default_config()
    cfg.TRAIN.SEARCH_SIZE, cfg.TRAIN.OUTPUT_SIZE = size, out
    if error:
        # 206 gives the 10x10 map of 199: its middle is 3.5 px left of the crop's centre
        with pytest.raises(ConfigError, match="TRAIN.SEARCH_SIZE %d: .*multiple of "
                           "TRACK.TOTAL_STRIDE 8.*%s" % (size, error)):
            check_train_config(cfg, "cpu")
        return
    check_train_config(cfg, "cpu")
    # the network's cell k looks at crop pixel 63 + 8 k: the positives of an unshifted
    # target are centred on the crop's centre pixel, for even and odd maps alike
    labels, _ = label_maps([[0.0, 0.0]], out, 8, 16)
    ys, xs = np.nonzero(labels[0, 0].numpy())
    assert 63 + 8 * xs.mean() == 63 + 8 * ys.mean() == (size - 1) / 2
