"""Training: loss, labels, Omega, schedule, data sources, augmentation, the loop, checkpoints."""
import json
import math
import os

import cv2
import numpy as np
import pytest
import torch

from rasnet_plugin.config import ConfigError, get_default_config
from rasnet_plugin.models.model_load import CheckpointError
from rasnet_plugin.training import (AugParams, DataUnusable, EpochBatches, GOT10kSource, LossGuard,
                                    PairDataset, PySOTSource, SampleRejected, StillImageSource,
                                    Trainer, TrainingDiverged, VideoFolderSource,
                                    atomic_save, balanced_logistic_loss, build_sources,
                                    context_size, label_maps, lr_at, make_crops, omega,
                                    pair_losses, pair_rng, split_items, warp_crop)
from rasnet_plugin.training import sources as sources_mod
from rasnet_plugin.training.pairs import RawPair
from rasnet_plugin.training.sources import still as still_sources
from rasnet_plugin.training.trainer import _collate

NO_COLOR = AugParams(stretch=0.05, shift=8, color=0, blur=0, gray=0)


# ---------------------------------------------------------------- synthetic data

def texture(h, w, seed, sigma=1.5):
    """Smooth random colour texture, uint8."""
    n = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    n = (n - n.min()) / (n.max() - n.min())
    return (n * 255).astype(np.uint8)


def red_patch(h, w, seed):
    """A textured, unmistakably red object (BGR: B, G low; R high)."""
    t = texture(h, w, seed).astype(np.float32) / 255
    out = np.empty((h, w, 3), np.uint8)
    out[..., 0] = 10 + 50 * t[..., 0]
    out[..., 1] = 10 + 50 * t[..., 1]
    out[..., 2] = 170 + 85 * t[..., 2]
    return out


def red_centroid(img):
    mask = (img[..., 2] > 130) & (img[..., 1] < 100) & (img[..., 0] < 100)
    assert mask.sum() > 20, "the red target is not in the crop"
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean(), xs.max() - xs.min() + 1


def frame_with_object(W, H, box, seed, bg=(90, 140, 90)):
    img = np.empty((H, W, 3), np.uint8)
    img[:] = bg
    if box is not None:
        x, y, w, h = box
        img[y:y + h, x:x + w] = red_patch(h, w, seed)
    return img


def imwrite(path, img):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 100])


def make_got10k(root, n_frames=(8, 6)):
    """GOT-10k/train with moving red targets; frame 3 of the first sequence is absent."""
    train = os.path.join(root, "train")
    names = ["GOT-10k_Train_%06d" % (k + 1) for k in range(len(n_frames))]
    truth = {}
    for s, (name, n) in enumerate(zip(names, n_frames)):
        lines, absence, boxes = [], [], {}
        for k in range(n):
            box = (20 + 4 * k + 7 * s, 30 + 2 * k, 30, 24)
            absent = s == 0 and k == 2
            imwrite(os.path.join(train, name, "%08d.jpg" % (k + 1)),
                    frame_with_object(200, 150, None if absent else box, 100 * s + k))
            lines.append("0,0,0,0" if absent else "%d,%d,%d,%d" % box)
            absence.append("1" if absent else "0")
            if not absent:
                boxes[k + 1] = box
        with open(os.path.join(train, name, "groundtruth.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(train, name, "absence.label"), "w") as f:
            f.write("\n".join(absence) + "\n")
        truth[name] = boxes
    with open(os.path.join(train, "list.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    return truth


def make_still_folder(root, n=4, size=(200, 160)):
    for k in range(n):
        imwrite(os.path.join(root, "img%d.jpg" % k), texture(size[1], size[0], 50 + k, sigma=2.5))
    return root


def ncc(a, b):
    a = a.astype(np.float32).ravel() - a.mean()
    b = b.astype(np.float32).ravel() - b.mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def subpatch(img, cx, cy, w, h):
    return cv2.getRectSubPix(img, (int(round(w)), int(round(h))), (float(cx), float(cy)))


# ---------------------------------------------------------------- loss and labels

def test_loss_hand_computed_3x3():
    # stride 8, radius 8: the centre and its 4 neighbours are positive (distance 0 or 8),
    # the 4 corners negative (distance 11.3); weights 0.5/5 and 0.5/4
    labels, weights = label_maps(torch.zeros(1, 2), size=3, stride=8, radius=8)
    assert labels[0, 0].tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    v = torch.tensor([[1.0, -1.0, 2.0], [0.0, 3.0, -2.0], [0.5, 1.0, -1.0]]).view(1, 1, 3, 3)
    sp = lambda t: math.log(1 + math.exp(t))  # noqa: E731  log(1 + e^t)
    # positives: log(1 + exp(-v)) at -1, 0, 3, -2, 1; negatives: log(1 + exp(v)) at 1, 2, .5, -1
    expected = 0.1 * (sp(1) + sp(0) + sp(-3) + sp(2) + sp(-1)) + \
        0.125 * (sp(1) + sp(2) + sp(0.5) + sp(-1))
    got = balanced_logistic_loss(v, labels, weights)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # by hand: 0.1 * 4.495186 + 0.125 * 4.727528
    assert expected == pytest.approx(1.0404596, rel=1e-6)


def test_labels_17x17_radius_and_balance():
    labels, weights = label_maps(torch.zeros(1, 2))  # 17x17, stride 8, radius 16
    pos = labels[0, 0].nonzero().tolist()
    assert len(pos) == 13  # all (r, c) with (r-8)^2 + (c-8)^2 <= 4
    assert all((r - 8) ** 2 + (c - 8) ** 2 <= 4 for r, c in pos)
    assert weights.sum().item() == pytest.approx(1.0)
    assert (weights * labels).sum().item() == pytest.approx(0.5)
    # a map of zeros scores log 2 whatever the labels
    assert balanced_logistic_loss(torch.zeros(1, 1, 17, 17), labels, weights).item() == \
        pytest.approx(math.log(2))


@pytest.mark.parametrize("dx,dy", [(8, -8), (16, 0), (-11.5, 5.25), (4, 4)])
def test_labels_follow_the_shift(dx, dy):
    labels, _ = label_maps(torch.tensor([[dx, dy]]))
    r, c = np.mgrid[0:17, 0:17]
    # cell (r, c) sees the search pixel 127 + 8 * (c - 8), 127 + 8 * (r - 8)
    expected = (8 * (c - 8) - dx) ** 2 + (8 * (r - 8) - dy) ** 2 <= 16 ** 2
    assert (labels[0, 0].numpy().astype(bool) == expected).all()
    ys, xs = np.nonzero(expected)
    if dx == dy == 4:  # a sub-cell shift: positives centred half a cell off
        assert xs.mean() == pytest.approx(8.5) and ys.mean() == pytest.approx(8.5)


def test_omega_weighting_follows_the_formula():
    assert omega([0, 50, 100, -100], 100).tolist() == pytest.approx(
        [1, math.exp(-0.5), math.exp(-1), math.exp(-1)])
    labels, weights = label_maps(torch.zeros(2, 2))
    resp = torch.stack([torch.full((1, 17, 17), 0.5), torch.full((1, 17, 17), -2.0)])
    l1, l2 = pair_losses(resp, labels, weights).tolist()
    assert l1 != pytest.approx(l2)
    w = omega([0, 100], 100)
    got = balanced_logistic_loss(resp, labels, weights, w).item()
    assert got == pytest.approx((l1 + math.exp(-1) * l2) / (1 + math.exp(-1)), rel=1e-6)
    # far pairs count less: moving pair 2 further away moves the loss towards pair 1's
    far = balanced_logistic_loss(resp, labels, weights, omega([0, 300], 100)).item()
    assert abs(far - l1) < abs(got - l1)
    # sigma <= 0 switches Omega off: the plain mean
    assert balanced_logistic_loss(resp, labels, weights, omega([0, 100], 0)).item() == \
        pytest.approx((l1 + l2) / 2)


def test_lr_schedule_log_spaced_per_epoch():
    assert lr_at(0, 1e-2, 1e-5, 50) == pytest.approx(1e-2)
    assert lr_at(49, 1e-2, 1e-5, 50) == pytest.approx(1e-5)
    lrs = [lr_at(e, 1e-2, 1e-5, 50) for e in range(50)]
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert ratios == pytest.approx([1e-3 ** (1 / 49)] * 49)   # geometric (log-spaced)
    assert lr_at(0, 1e-2, 1e-5, 1) == pytest.approx(1e-2)


def test_loss_guard():
    g0 = LossGuard()                                    # defaults: factor 20 from step 2 on
    g0.check(1, 0.8)
    with pytest.raises(TrainingDiverged, match="step 2: the loss exploded"):
        g0.check(2, 3188.0)                             # a blow-up (adjust gain at full lr)
    g = LossGuard(factor=5, warmup=3)
    for s, v in enumerate([1.0, 0.9, 1.1, 4.0], 1):
        g.check(s, v)                                   # 4 < 5 x running mean
    with pytest.raises(TrainingDiverged, match="step 5: the loss exploded"):
        g.check(5, 100.0)
    with pytest.raises(TrainingDiverged, match="step 6: the loss is nan"):
        g.check(6, float("nan"))
    g2 = LossGuard(factor=5, warmup=3)
    g2.load_state_dict(g.state_dict())
    assert g2.state_dict() == g.state_dict()


# ---------------------------------------------------------------- sampling

def test_epoch_batches_shard_deterministically():
    world = 3
    shards = [list(EpochBatches(4, steps=5, batch=2, rank=r, world=world)) for r in range(world)]
    flat = [k for s in shards for b in s for (_, k) in b]
    assert sorted(flat) == list(range(5 * 2 * world))        # disjoint, complete
    assert all(e == 4 for s in shards for b in s for (e, _) in b)
    assert shards[1] == list(EpochBatches(4, 5, 2, rank=1, world=world))   # deterministic
    assert list(EpochBatches(4, 5, 2, 1, world, start=3)) == shards[1][3:]   # resume
    assert len(EpochBatches(4, 5, 2, 1, world, start=3)) == 2


def test_split_items_is_stable_and_disjoint():
    names = ["seq%03d" % k for k in range(200)]
    tr, va = split_items(names, "train", 0.1), split_items(names, "val", 0.1)
    assert set(tr).isdisjoint(va) and len(tr) + len(va) == 200
    assert 8 <= len(va) <= 35
    assert va == split_items(list(names), "val", 0.1)
    assert split_items(["a", "b"], "val", 0.01) and split_items(["a", "b"], "train", 0.01)
    assert split_items(["only"], "val", 0.5) == [] and split_items(["only"], "train", 0.5) == [0]


def test_pairs_are_a_function_of_seed_epoch_index(tmp_path):
    src = StillImageSource(make_still_folder(str(tmp_path / "img")))
    ds = PairDataset([src], AugParams(), seed=3)
    a, b = ds[(2, 7)], ds[(2, 7)]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(ds[(2, 8)]["search"], a["search"])
    assert not torch.equal(PairDataset([src], AugParams(), seed=4)[(2, 7)]["search"], a["search"])


# ---------------------------------------------------------------- crops

def test_crop_geometry_stretch_and_shift():
    img = frame_with_object(300, 240, (130, 100, 40, 30), 1)
    cx, cy, w, h = 130 + 19.5, 100 + 14.5, 40, 30
    s_z = context_size(w, h)
    for stretch, offset in [((1, 1), (0, 0)), ((1.05, 0.95), (7.5, -6.0)), ((0.95, 1.0), (-8, 3))]:
        crop = warp_crop(img, (cx, cy), s_z * 255 / 127, 255, (90, 140, 90), stretch, offset)
        mx, my, width = red_centroid(crop)
        assert mx == pytest.approx(127 + offset[0], abs=0.6)
        assert my == pytest.approx(127 + offset[1], abs=0.6)
        # the target spans w * 127 / s_z pixels, times the stretch
        assert width == pytest.approx(w * 127 / s_z * stretch[0], abs=2.5)


# ---------------------------------------------------------------- sources

def _check_red_pairs(ds, n, tol=1.5):
    for k in range(n):
        item = ds[(0, k)]
        z = item["template"].permute(1, 2, 0).numpy()
        x = item["search"].permute(1, 2, 0).numpy()
        assert z.shape == (127, 127, 3) and x.shape == (255, 255, 3)
        zx, zy, _ = red_centroid(z)
        assert (zx, zy) == (pytest.approx(63, abs=tol), pytest.approx(63, abs=tol))
        dx, dy = item["offset"].tolist()
        assert abs(dx) <= 8 and abs(dy) <= 8
        xx, xy, _ = red_centroid(x)
        assert (xx, xy) == (pytest.approx(127 + dx, abs=tol), pytest.approx(127 + dy, abs=tol))
        # ... and the label map agrees: its positives are centred on the target
        labels, _ = label_maps(item["offset"].view(1, 2))
        ys, xs = np.nonzero(labels[0, 0].numpy())
        assert 127 + 8 * (xs.mean() - 8) == pytest.approx(xx, abs=4.5)
        assert 127 + 8 * (ys.mean() - 8) == pytest.approx(xy, abs=4.5)


def test_got10k_source(tmp_path):
    truth = make_got10k(str(tmp_path / "GOT-10k"))
    src = GOT10kSource(str(tmp_path / "GOT-10k"), max_frame_gap=3)   # parent of train/
    assert len(src) == 2 and src.load_skipped == 0
    tracks = {v: t[0] for v, t in src.items}
    seq = "GOT-10k_Train_000001"
    assert tracks[seq]["frames"].tolist() == [1, 2, 4, 5, 6, 7, 8]   # frame 3 is absent
    x, y, w, h = truth[seq][4]
    assert tuple(tracks[seq]["boxes"][2]) == (x + (w - 1) / 2, y + (h - 1) / 2, w, h)
    rng = np.random.default_rng(0)
    for _ in range(20):
        raw = src.sample(rng)
        i, j = raw.info["frames"]
        assert raw.gap == abs(i - j) <= 3 and i != j
    _check_red_pairs(PairDataset([src], NO_COLOR, seed=1), 12)


def test_got10k_source_reads_files_with_a_utf8_bom(tmp_path):
    make_got10k(str(tmp_path / "G"))
    train = tmp_path / "G" / "train"
    for f in [train / "list.txt"] + sorted(train.glob("*/groundtruth.txt")) + \
            sorted(train.glob("*/absence.label")):
        f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())     # as some editors save them
    src = GOT10kSource(str(tmp_path / "G"), max_frame_gap=3)
    assert len(src) == 2 and src.load_skipped == 0
    frames = {v: t[0]["frames"].tolist() for v, t in src.items}
    assert frames["GOT-10k_Train_000001"] == [1, 2, 4, 5, 6, 7, 8]


def test_got10k_corrupt_samples_are_skipped_and_counted(tmp_path, caplog):
    make_got10k(str(tmp_path / "G"), n_frames=(8, 8))
    seq = tmp_path / "G" / "train" / "GOT-10k_Train_000002"
    lines = (seq / "groundtruth.txt").read_text().splitlines()
    lines[2] = "12,abc,30,24"                                  # broken annotation line
    (seq / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    os.remove(seq / "00000005.jpg")                            # missing image
    (seq / "00000006.jpg").write_bytes(b"not a jpeg at all")   # undecodable image
    src = GOT10kSource(str(tmp_path / "G" / "train"), max_frame_gap=100)
    assert src.load_skipped == 1
    assert 3 not in {v: t[0] for v, t in src.items}["GOT-10k_Train_000002"]["frames"].tolist()
    ds = PairDataset([src], NO_COLOR, seed=0)
    skipped = 0
    for k in range(30):
        item = ds[(0, k)]                                      # never raises
        skipped += int(item["skipped"])
        assert item["search"].shape == (3, 255, 255)
    assert skipped > 0
    assert "skipped a corrupt sample" in caplog.text


def test_unusable_data_raises_after_max_retries(tmp_path):
    make_got10k(str(tmp_path / "G"), n_frames=(4,))
    for p in (tmp_path / "G" / "train" / "GOT-10k_Train_000001").glob("*.jpg"):
        p.write_bytes(b"garbage")
    ds = PairDataset([GOT10kSource(str(tmp_path / "G"))], NO_COLOR, max_retries=5)
    with pytest.raises(DataUnusable, match="no usable training pair after 5 tries"):
        ds[(0, 0)]


def _pysot_crop(w, h, seed, W=511):
    """A crop511 image as PySOT's par_crop.py makes it: target centred, s_z -> 127."""
    s_z = context_size(w, h)
    a = (W - 1) / (s_z * W / 127)
    img = frame_with_object(W, W, None, 0)
    mx, my = int(round((w * a - 1) / 2)), int(round((h * a - 1) / 2))
    c = (W - 1) // 2
    img[c - my:c + my + 1, c - mx:c + mx + 1] = red_patch(2 * my + 1, 2 * mx + 1, seed)
    return img


def test_pysot_source(tmp_path):
    root = tmp_path / "crop511"
    anno = {"vid/ILSVRC2015_train_0001": {"00": {}, "01": {}}, "coco/img42": {"00": {}}}
    for f in range(0, 12, 2):               # frames 0, 2, ..., 10 (a sparse track)
        x1, y1 = 100 + 3 * f, 80 + f
        anno["vid/ILSVRC2015_train_0001"]["00"]["%06d" % f] = [x1, y1, x1 + 60, y1 + 40]
        imwrite(str(root / "vid/ILSVRC2015_train_0001" / ("%06d.00.x.jpg" % f)),
                _pysot_crop(60, 40, f))
    anno["vid/ILSVRC2015_train_0001"]["01"] = {"000003": [50, 30], "000004": [0, 0, 0, 5],
                                               "000005": [1, 2, 3], "frames": [3]}
    imwrite(str(root / "vid/ILSVRC2015_train_0001/000003.01.x.jpg"), _pysot_crop(50, 30, 7))
    anno["coco/img42"]["00"] = {"000000": [10, 10, 110, 60]}
    imwrite(str(root / "coco/img42/000000.00.x.jpg"), _pysot_crop(100, 50, 9))
    with open(tmp_path / "train.json", "w") as f:
        json.dump(anno, f)

    src = PySOTSource(str(root), str(tmp_path / "train.json"), frame_range=4)
    assert src.load_skipped == 1                     # [1, 2, 3] is no box; [0,0,0,5] is empty
    tracks = {(v, t["track"]): t for v, ts in src.items for t in ts}
    assert tracks[("vid/ILSVRC2015_train_0001", "01")]["frames"].tolist() == [3]
    assert tracks[("vid/ILSVRC2015_train_0001", "00")]["frames"].tolist() == [0, 2, 4, 6, 8, 10]
    vid = "vid/ILSVRC2015_train_0001"
    img, box = src._load(vid, tracks[(vid, "00")], 0)
    assert box[:2] == (255.0, 255.0)
    rng = np.random.default_rng(1)
    for _ in range(20):
        raw = src.sample(rng)
        i, j = raw.info["frames"]
        assert raw.gap == abs(i - j) <= 4
    _check_red_pairs(PairDataset([src], NO_COLOR, seed=2), 12)
    # the template shows the target at SiamFC's scale of the ORIGINAL frame: w * 127 / s_z
    p = AugParams(stretch=0, shift=0, color=0, blur=0, gray=0)
    for (v, t), w in ((("vid/ILSVRC2015_train_0001", "00"), 60), (("coco/img42", "00"), 100)):
        img, box = src._load(v, tracks[(v, t)], 0)
        raw = RawPair(img, box, img, box)
        z, x, _ = make_crops(raw, np.random.default_rng(0), p)
        h = 40 if w == 60 else 50
        assert red_centroid(z)[2] == pytest.approx(w * 127 / context_size(w, h), abs=2)


def _still_ncc(src, n=12):
    """NCC of the template's target patch with the search crop's patch at the label."""
    p = AugParams(stretch=0, shift=8, color=0, blur=0, gray=0)
    good, wrong = [], []
    for k in range(n):
        rng = pair_rng(0, 0, k)
        raw = src.sample(rng)
        z, x, (dx, dy) = make_crops(raw, rng, p)
        w, h = raw.template_box[2:]
        s = 127 / context_size(w, h)
        tw, th = w * s, h * s                       # the target's size in both crops
        zt = subpatch(z, 63, 63, tw, th)
        good.append(ncc(zt, subpatch(x, 127 + dx, 127 + dy, tw, th)))
        wrong.append(ncc(zt, subpatch(x, 127 + dx + tw / 2, 127 + dy, tw, th)))
    return np.array(good), np.array(wrong)


@pytest.mark.parametrize("root", ["folder", "skimage:coins,clock"])
def test_still_image_source_target_is_at_the_label(tmp_path, root):
    if root == "folder":
        root = make_still_folder(str(tmp_path / "img"))
    # zoom and translation only: the crops normalise the scale, the patches are the same
    src = StillImageSource(root, OCCLUDER=0.0, DISTRACTORS=0, ROTATION=0.0, PHOTOMETRIC=0.0)
    assert len(src) == (4 if "skimage" not in root else 2)
    good, wrong = _still_ncc(src)
    assert good.min() > 0.97, good
    assert np.median(wrong) < 0.5
    # with rotation and colour change (the defaults) the match degrades, but stays clear
    good, wrong = _still_ncc(StillImageSource(root, OCCLUDER=0.0, DISTRACTORS=0))
    assert np.median(good) > 0.75 and np.median(good) > np.median(wrong) + 0.4


def test_default_photos_are_not_the_benchmarks():
    assert set(sources_mod.SKIMAGE_PHOTOS).isdisjoint(still_sources._benchmark_photos())
    assert "chelsea" in still_sources._benchmark_photos()


def test_still_image_distractors_and_occluders(tmp_path):
    src = StillImageSource(make_still_folder(str(tmp_path / "img"), n=1), DISTRACTORS=3)
    img = texture(200, 260, 5, sigma=2.5)
    box = (120.0, 100.0, 40.0, 30.0)
    target = (slice(85, 115), slice(100, 140))       # rows, cols of the box
    changed_any = 0
    for k in range(6):
        search = img.copy()
        src._add_distractors(search, box, np.random.default_rng(k))
        diff = (search != img).any(axis=2)
        assert not diff[target].any()                # the target itself is untouched
        changed_any += int(diff.any())
        if diff.any():
            ys, xs = np.nonzero(diff)                # copies lie within the search crop
            reach = context_size(40, 30) * 255 / 127 / 2 + 40
            assert np.abs(xs - 120).max() <= reach and np.abs(ys - 100).max() <= reach
    assert changed_any >= 3
    src.opts["OCCLUDER"] = 1.0
    covered = []
    for k in range(6):
        search = img.copy()
        src._add_occluder(img, search, box, np.random.default_rng(k))
        covered.append((search[target] != img[target]).any(axis=2).mean())
    assert max(covered) > 0.05 and max(covered) < 0.6   # part of the target, never all


def _write_video(path, frames):
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    assert vw.isOpened()
    for f in frames:
        vw.write(f)
    vw.release()


def test_video_source_follows_the_moving_object(tmp_path):
    # a textured object moving (2, 1) px per frame over a flat background
    frames = [frame_with_object(160, 120, (30 + 2 * k, 30 + k, 40, 40), 0) for k in range(20)]
    for k, f in enumerate(frames):       # the object's texture moves with it
        f[30 + k:70 + k, 30 + 2 * k:70 + 2 * k] = red_patch(40, 40, 0)
    _write_video(str(tmp_path / "clip.avi"), frames)
    src = VideoFolderSource(str(tmp_path), MIN_SIZE=0.25, MAX_SIZE=0.35, MAX_GAP=4)
    assert len(src) == 1 and src.items[0][2] == 20
    rng = np.random.default_rng(0)
    accepted = 0
    for _ in range(30):
        try:
            raw = src.sample(rng)
        except SampleRejected:
            continue
        accepted += 1
        i, j = raw.info["frames"]
        assert 1 <= abs(i - j) <= 4 and raw.gap == abs(i - j)
        (cx, cy, w, h), (nx, ny, nw, nh) = raw.template_box, raw.search_box
        assert nx - cx == pytest.approx(2 * (j - i), abs=0.5)
        assert ny - cy == pytest.approx(1 * (j - i), abs=0.5)
        assert nw / w == pytest.approx(1, abs=0.03)
        # the content of the box is the same in both frames
        assert ncc(subpatch(raw.template, cx, cy, w, h), subpatch(raw.search, nx, ny, w, h)) > 0.8
    assert accepted >= 10


def test_video_source_rejects_pairs_across_a_scene_cut(tmp_path):
    folder = tmp_path / "clips" / "cut"
    for k in range(12):   # a static textured scene, then another one
        imwrite(str(folder / ("%04d.jpg" % k)), texture(120, 160, 1 if k < 6 else 2, sigma=2))
    src = VideoFolderSource(str(tmp_path / "clips"), MAX_GAP=3)
    rng = np.random.default_rng(0)
    same = rejected = 0
    for _ in range(60):
        try:
            raw = src.sample(rng)
        except SampleRejected:
            rejected += 1
            continue
        i, j = raw.info["frames"]
        assert (i < 6) == (j < 6), "a pair across the scene cut was accepted"
        same += 1
        assert raw.search_box[:2] == pytest.approx(raw.template_box[:2], abs=0.5)
    assert same >= 10 and rejected >= 5


def test_sources_mix_by_weight_and_config_errors(tmp_path):
    a = make_still_folder(str(tmp_path / "a"), n=2)
    b = make_still_folder(str(tmp_path / "b"), n=2)
    cfg = get_default_config()
    cfg.TRAIN.VAL_FRACTION = 0.0
    cfg.TRAIN.DATASETS.NAMES = ["STILL", "MORE"]
    cfg.TRAIN.DATASETS.STILL.ROOT = a
    cfg.TRAIN.DATASETS.STILL.WEIGHT = 3.0
    from yacs.config import CfgNode as CN
    cfg.TRAIN.DATASETS.MORE = CN({"TYPE": "still", "ROOT": b})
    srcs = build_sources(cfg)
    ds = PairDataset(srcs, NO_COLOR)
    assert ds.probs.tolist() == pytest.approx([0.75, 0.25])
    picks = [int(ds[(0, k)]["source"]) for k in range(80)]
    assert 0.6 < picks.count(0) / 80 < 0.9
    cfg.TRAIN.DATASETS.MORE.TYPO = 1
    with pytest.raises(ConfigError, match=r"TRAIN.DATASETS.MORE \(TYPE still\): unknown key\(s\) TYPO"):
        build_sources(cfg)
    cfg.TRAIN.DATASETS.NAMES = ["NOPE"]
    with pytest.raises(ConfigError, match="no such node"):
        build_sources(cfg)


# ---------------------------------------------------------------- the training loop

def tiny_cfg(img_dir, **train):
    cfg = get_default_config()
    t = cfg.TRAIN
    t.EPOCH, t.PAIRS_PER_EPOCH, t.BATCH_SIZE = 2, 4, 2
    t.VAL_PAIRS, t.NUM_WORKERS, t.CHECKPOINT_INTERVAL, t.LOG_INTERVAL = 2, 0, 1, 1
    t.DATASETS.NAMES = ["STILL"]
    t.DATASETS.STILL.ROOT = img_dir
    for k, v in train.items():
        t[k] = v
    return cfg


@pytest.fixture(scope="module")
def img_dir(tmp_path_factory):
    return make_still_folder(str(tmp_path_factory.mktemp("stills")), n=5)


def test_sgd_at_siamfc_lr_reduces_the_loss_and_does_not_diverge(img_dir, tmp_path):
    cfg = tiny_cfg(img_dir, BASE_LR=1e-2, VAL_PAIRS=0)
    tr = Trainer(cfg, str(tmp_path), device="cpu", progress=False)
    lrs = {g["name"]: g["lr"] for g in tr.optimizer.param_groups}
    assert lrs["head"] == pytest.approx(1e-2) and lrs["adjust_gain"] == pytest.approx(1e-8)
    batch = _collate([tr.train_set[(0, k)] for k in range(2)])
    losses = [tr.train_step(batch) for _ in range(5)]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0] - 0.05
    assert 5e-4 < tr.model.adjust.weight.item() < 2e-3     # the gain moves, gently


def test_adjust_gain_at_the_full_lr_diverges(img_dir, tmp_path):
    # the reason for ADJUST_LR_SCALE: at lr 1e-2 the gain's gradient (the raw
    # correlation, ~1e2) throws it far off within one step, then the loss blows up
    cfg = tiny_cfg(img_dir, BASE_LR=1e-2, ADJUST_LR_SCALE=1.0, VAL_PAIRS=0)
    tr = Trainer(cfg, str(tmp_path), device="cpu", progress=False)
    batch = _collate([tr.train_set[(0, k)] for k in range(2)])
    with pytest.raises(TrainingDiverged, match="step [2-6]: the loss (is|exploded)"):
        for _ in range(6):
            tr.train_step(batch)


@pytest.mark.parametrize("poison_after,failing_step", [(3, 4), (4, 4)])
def test_divergence_stops_and_keeps_the_last_good_checkpoint(img_dir, tmp_path, poison_after,
                                                             failing_step):
    # checkpoints every 2 steps (step 2's is written once step 3's loss is fine). Poisoned
    # after step 3: step 4's loss is NaN. Poisoned after step 4 (its checkpoint is due):
    # the weights are checked before they are even copied.
    cfg = tiny_cfg(img_dir, EPOCH=1, PAIRS_PER_EPOCH=12, CHECKPOINT_INTERVAL=2, VAL_PAIRS=0)
    tr = Trainer(cfg, str(tmp_path), device="cpu", progress=False)

    def poison(t):
        if t.step == poison_after:
            with torch.no_grad():
                t.model.backbone.conv3[0].weight.view(-1)[0] = float("nan")
    tr.after_step = poison
    with pytest.raises(TrainingDiverged, match="step %d: .*not finite.*; the last good checkpoint "
                       "is kept: .*checkpoint_latest.pth \\(step 2\\)" % failing_step):
        tr.train()
    latest = tmp_path / "checkpoint_latest.pth"
    ckpt = torch.load(latest, weights_only=True)
    assert ckpt["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values()
               if v.is_floating_point())
    assert not list(tmp_path.glob("*.tmp*")) and not (tmp_path / "model_final.pth").exists()


def test_resume_continues_exactly(img_dir, tmp_path):
    # 2 epochs x 2 steps of 1 pair, 2 validation pairs, checkpoints at the epoch ends
    cfg = tiny_cfg(img_dir, PAIRS_PER_EPOCH=2, BATCH_SIZE=1, CHECKPOINT_INTERVAL=0)
    a = Trainer(cfg, str(tmp_path / "a"), device="cpu", progress=False)
    final_a = a.train()
    b = Trainer(cfg, str(tmp_path / "b"), device="cpu", progress=False)
    assert b.train(max_steps=3) is None                 # stopped mid epoch 2 (lr changed)
    ck = torch.load(tmp_path / "b" / "checkpoint_latest.pth", weights_only=True)
    assert ck["step"] == 3 and ck["epoch"] == 1 and ck["sampler"]["position"] == 1
    b2 = Trainer(cfg, str(tmp_path / "b"), device="cpu", progress=False, resume="auto")
    assert b2.step == 3
    final_b = b2.train()
    sa = torch.load(final_a, weights_only=True)["state_dict"]
    sb = torch.load(final_b, weights_only=True)["state_dict"]
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa), "resumed run differs"
    # the optimizer state and the curves agree too
    oa = torch.load(tmp_path / "a" / "checkpoint_latest.pth", weights_only=True)
    ob = torch.load(tmp_path / "b" / "checkpoint_latest.pth", weights_only=True)
    for s in oa["optimizer"]["state"]:
        assert torch.equal(oa["optimizer"]["state"][s]["momentum_buffer"],
                           ob["optimizer"]["state"][s]["momentum_buffer"])
    rows = lambda p: (p / "train_log.csv").read_text().splitlines()  # noqa: E731
    loss = lambda p: [r.split(",")[3] for r in rows(p)]  # noqa: E731
    assert loss(tmp_path / "a") == loss(tmp_path / "b")
    assert len((tmp_path / "b" / "val_log.csv").read_text().splitlines()) == 3
    # every file loads with weights_only=True and has the documented keys
    for name in ("checkpoint_e1.pth", "checkpoint_e2.pth", "checkpoint_latest.pth"):
        ck = torch.load(tmp_path / "a" / name, weights_only=True)
        assert {"state_dict", "optimizer", "step", "epoch", "cfg", "rng", "sampler"} <= set(ck)
        assert isinstance(ck["cfg"], str) and "TRAIN:" in ck["cfg"]
    assert set(sa) == set(a.model.state_dict())
    assert set(torch.load(final_a, weights_only=True)) == {"state_dict", "cfg", "videos", "recipe"}


def test_an_earlier_run_is_never_wiped_and_a_bad_checkpoint_is_skipped(img_dir, tmp_path):
    cfg = tiny_cfg(img_dir, PAIRS_PER_EPOCH=2, BATCH_SIZE=1, CHECKPOINT_INTERVAL=0)
    out = tmp_path / "run"
    assert Trainer(cfg, str(out), device="cpu", progress=False).train(max_steps=3) is None
    files = {n: (out / n).read_bytes() for n in ("checkpoint_latest.pth", "checkpoint_e1.pth",
                                                 "train_log.csv", "val_log.csv")}
    # the same command again: refused before anything is written
    with pytest.raises(FileExistsError, match="--resume auto.*--overwrite"):
        Trainer(cfg, str(out), device="cpu", progress=False)
    assert {n: (out / n).read_bytes() for n in files} == files
    # a truncated latest checkpoint: --resume auto falls back to the epoch-1 one (step 2)
    (out / "checkpoint_latest.pth").write_bytes(files["checkpoint_latest.pth"][:1000])
    assert Trainer(cfg, str(out), device="cpu", progress=False, resume="auto").step == 2
    (out / "checkpoint_e1.pth").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="no checkpoint in .* loads"):
        Trainer(cfg, str(out), device="cpu", progress=False, resume="auto")
    # weights alone are not a training checkpoint: named, with what they lack
    weights = tmp_path / "weights.pth"
    fresh = Trainer(cfg, str(tmp_path / "w"), device="cpu", progress=False)
    torch.save({"state_dict": fresh.model.state_dict()}, weights)
    with pytest.raises(CheckpointError, match="weights.pth: not a training checkpoint .*'optimizer'"):
        Trainer(cfg, str(tmp_path / "other"), device="cpu", progress=False, resume=str(weights))
    # --overwrite starts afresh over it
    assert Trainer(cfg, str(out), device="cpu", progress=False, overwrite=True).step == 0


def test_stop_request_checkpoints_and_returns(img_dir, tmp_path):
    # what SIGTERM does (Trainer.install_signal_handlers): finish the step, checkpoint, return
    tr = Trainer(tiny_cfg(img_dir, CHECKPOINT_INTERVAL=0), str(tmp_path), device="cpu",
                 progress=False)
    tr.after_step = lambda t: t.request_stop()
    assert tr.train() is None and tr.step == 1
    ck = torch.load(tmp_path / "checkpoint_latest.pth", weights_only=True)
    assert ck["step"] == 1 and ck["sampler"]["position"] == 1


def test_pretrained_backbone_is_loaded(img_dir, tmp_path):
    src = Trainer(tiny_cfg(img_dir, VAL_PAIRS=0), str(tmp_path / "a"), device="cpu")
    torch.save({"state_dict": src.model.state_dict()}, tmp_path / "whole.pth")
    cfg = tiny_cfg(img_dir, VAL_PAIRS=0, SEED=5)
    cfg.BACKBONE.PRETRAINED = str(tmp_path / "whole.pth")
    tr = Trainer(cfg, str(tmp_path / "b"), device="cpu")
    a, b = src.model.backbone.state_dict(), tr.model.backbone.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    head = lambda t: t.model.residual_attention.encoder[0].weight  # noqa: E731
    assert not torch.equal(head(src), head(tr))       # the rest: initialised from SEED 5


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = str(tmp_path / "ck.pth")
    atomic_save({"step": 1, "w": torch.ones(3)}, path)

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["step"] == 1
    assert os.listdir(tmp_path) == ["ck.pth"]


def test_bf16_step_on_cpu_and_fp16_needs_cuda(img_dir, tmp_path):
    cfg = tiny_cfg(img_dir, PRECISION="bf16", VAL_PAIRS=0)
    tr = Trainer(cfg, str(tmp_path), device="cpu", progress=False)
    batch = _collate([tr.train_set[(0, k)] for k in range(2)])
    assert math.isfinite(tr.train_step(batch))
    assert not tr.scaler.is_enabled()
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        Trainer(tiny_cfg(img_dir, PRECISION="fp16"), str(tmp_path), device="cpu")


def test_smaller_training_search_crop(img_dir, tmp_path):
    cfg = tiny_cfg(img_dir, SEARCH_SIZE=191, OUTPUT_SIZE=9, VAL_PAIRS=0)
    tr = Trainer(cfg, str(tmp_path), device="cpu", progress=False)
    item = tr.train_set[(0, 0)]
    assert tuple(item["search"].shape[-2:]) == (191, 191)
    assert tuple(item["template"].shape[-2:]) == (127, 127)
    batch = _collate([tr.train_set[(0, k)] for k in range(2)])
    z, x, labels, _, _ = tr._inputs(batch)
    assert tuple(tr.net(z, x).shape[-2:]) == tuple(labels.shape[-2:]) == (9, 9)
    assert math.isfinite(tr.train_step(batch))
    with pytest.raises(ConfigError, match="OUTPUT_SIZE 17 does not match.*191x191"):
        Trainer(tiny_cfg(img_dir, SEARCH_SIZE=191), str(tmp_path / "b"), device="cpu")
    with pytest.raises(ConfigError, match="smaller than TRACK.EXEMPLAR_SIZE"):
        Trainer(tiny_cfg(img_dir, SEARCH_SIZE=100), str(tmp_path / "c"), device="cpu")


# ---------------------------------------------------------------- bad input, named

def _two_still_sources(tmp_path, **more):
    """cfg.TRAIN.DATASETS: STILL (2 images) and MORE, a node added as a YAML file adds it
    (yacs never type-checks its keys)."""
    from yacs.config import CfgNode as CN
    cfg = get_default_config()
    cfg.TRAIN.VAL_FRACTION = 0.0
    cfg.TRAIN.DATASETS.NAMES = ["STILL", "MORE"]
    cfg.TRAIN.DATASETS.STILL.ROOT = make_still_folder(str(tmp_path / "a"), n=2)
    cfg.TRAIN.DATASETS.MORE = CN(dict({"TYPE": "still",
                                       "ROOT": make_still_folder(str(tmp_path / "b"), n=2)},
                                      **more))
    return cfg


@pytest.mark.parametrize("key,value,match", [
    ("WEIGHT", "heavy", "WEIGHT must be a number >= 0, got 'heavy'"),
    ("WEIGHT", -1.0, "WEIGHT must be a number >= 0, got -1.0"),
    ("WEIGHT", float("nan"), "WEIGHT must be a number >= 0, got nan"),
    ("WEIGHT", True, "WEIGHT must be a number >= 0, got True"),
    ("NUM_USE", "lots", r"NUM_USE must be -1 \(all items\) or an integer >= 1, got 'lots'"),
    ("NUM_USE", 2.5, r"NUM_USE must be -1 \(all items\) or an integer >= 1, got 2.5"),
    ("NUM_USE", 0, r"NUM_USE must be -1 \(all items\) or an integer >= 1, got 0"),
    ("NUM_USE", -3, r"NUM_USE must be -1 \(all items\) or an integer >= 1, got -3"),
    ("FRAME_RANGE", "far", "FRAME_RANGE must be an integer, got 'far'"),
])
def test_source_weight_and_num_use_are_checked(tmp_path, key, value, match):
    cfg = _two_still_sources(tmp_path, **{key: value})
    with pytest.raises(ConfigError, match=r"^TRAIN\.DATASETS\.MORE\." + match):
        build_sources(cfg)


def test_source_weight_and_num_use_that_are_fine(tmp_path):
    cfg = _two_still_sources(tmp_path, WEIGHT="0.5", NUM_USE=4.0)   # coerced
    more = build_sources(cfg)[1]
    assert (more.weight, more.num_use, more.share()) == (0.5, 4, 2.0)
    cfg.TRAIN.DATASETS.MORE.WEIGHT = 0      # one source left out of the mix is fine
    assert [s.share() for s in build_sources(cfg)] == [2.0, 0.0]


def test_all_sources_of_weight_zero_is_a_config_error(tmp_path):
    cfg = _two_still_sources(tmp_path, WEIGHT=0.0)
    cfg.TRAIN.DATASETS.STILL.WEIGHT = 0.0
    with pytest.raises(ConfigError, match=r"TRAIN.DATASETS: every source has WEIGHT 0 "
                                          r"\(STILL, MORE\)"):
        build_sources(cfg)
    srcs = [StillImageSource(str(tmp_path / "a"), weight=0.0)]
    with pytest.raises(ConfigError, match=r"every source \(STILL\) has a zero share"):
        PairDataset(srcs, NO_COLOR)


def test_a_weight_zero_source_is_left_out_of_validation(tmp_path):
    # ONE trains (one image: no validation item), NEVER has WEIGHT 0 and holds the only
    # validation items: they are never drawn, so validation has no source, not a crash
    from yacs.config import CfgNode as CN
    cfg = tiny_cfg(make_still_folder(str(tmp_path / "one"), n=1), VAL_PAIRS=2,
                   VAL_FRACTION=0.5)
    cfg.TRAIN.DATASETS.NAMES = ["STILL", "NEVER"]
    cfg.TRAIN.DATASETS.NEVER = CN({"TYPE": "still", "WEIGHT": 0.0,
                                   "ROOT": make_still_folder(str(tmp_path / "never"), n=4)})
    assert [s.name for s in build_sources(cfg, "val")] == []
    tr = Trainer(cfg, str(tmp_path / "out"), device="cpu", progress=False)
    assert tr.val_set is None and tr.train_set.probs.tolist() == [1.0, 0.0]


def test_an_empty_validation_split_is_skipped_and_no_other_dataset_error(tmp_path):
    from rasnet_plugin.datasets import DatasetError
    from rasnet_plugin.training import EmptySource
    make_got10k(str(tmp_path / "G"), n_frames=(6,))         # one sequence: it trains
    cfg = get_default_config()
    cfg.TRAIN.VAL_FRACTION = 0.5
    cfg.TRAIN.DATASETS.NAMES = ["GOT10K"]
    cfg.TRAIN.DATASETS.GOT10K.ROOT = str(tmp_path / "G")
    assert [len(s) for s in build_sources(cfg, "train")] == [1]
    assert build_sources(cfg, "val") == []                   # skipped: nothing to hold out
    with pytest.raises(EmptySource, match="GOT10K: no usable GOT-10k sequence under"):
        GOT10kSource(str(tmp_path / "G"), split="val", val_fraction=0.5, name="GOT10K")
    # another DatasetError is not skipped, whatever its message says
    cfg.TRAIN.DATASETS.GOT10K.ROOT = str(tmp_path / "no usable" / "GOT-10k")
    with pytest.raises(DatasetError, match="GOT-10k root not found") as e:
        build_sources(cfg, "val")
    assert not isinstance(e.value, EmptySource)


def test_dataloader_workers_ignore_ctrl_c():
    # the terminal's SIGINT reaches the workers too; the main process stops, checkpoints
    # and ends them (test_train_tool.py: the Ctrl-C run)
    import signal
    from rasnet_plugin.training.trainer import _worker_init
    before, threads = signal.getsignal(signal.SIGINT), torch.get_num_threads()
    cv_threads = cv2.getNumThreads()
    try:
        _worker_init(0)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)


def test_first_ctrl_c_stops_like_sigterm_and_a_second_interrupts(img_dir, tmp_path):
    import signal
    tr = Trainer(tiny_cfg(img_dir, CHECKPOINT_INTERVAL=0), str(tmp_path), device="cpu",
                 progress=False)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)}
    try:
        tr.install_signal_handlers()
        tr.after_step = lambda t: os.kill(os.getpid(), signal.SIGINT) if t.step == 1 else None
        try:
            result = tr.train()
        except KeyboardInterrupt:       # (caught: pytest would end the whole session)
            pytest.fail("the first SIGINT interrupted the step")
        assert result is None and tr.step == 1 and tr.stop_signal == signal.SIGINT
        ck = torch.load(tmp_path / "checkpoint_latest.pth", weights_only=True)
        assert ck["step"] == 1
        with pytest.raises(KeyboardInterrupt):              # the second one
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        for s, h in before.items():
            signal.signal(s, h)
