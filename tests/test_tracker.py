"""RASNetTracker: crops, SiamFC-3s motion/scale logic, precision, input handling,
the pytracking adapter, build_tracker and checkpoint loading."""
import math
import os
import shutil
import warnings

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import rasnet_plugin
from rasnet_plugin import api
from rasnet_plugin.config import REPO_ROOT, get_default_config
from rasnet_plugin.models import build_model
from rasnet_plugin.tracker import RASNetTracker, crop_pyramid, crop_square
from rasnet_plugin.tracker.pytracking import (RASNetParams, RASNetPyTracker, get_tracker_class,
                                              parameters)

from _data import check_video


# ---------------------------------------------------------------- synthetic scenes

def texture(size, seed, blur=5.0):
    """A smooth random BGR texture (smooth, so that a stride-8 response is not aliased)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    t = cv2.GaussianBlur(t, (0, 0), blur)
    t = (t - t.mean()) / (t.std() + 1e-6) * 60 + 128
    return np.clip(t, 0, 255).astype(np.uint8)


def render(patch, center, size, shape=(200, 240), background=128):
    """Frame with `patch` scaled to `size` (w, h) and centred on `center` (pixel coords)."""
    frame = np.full(shape + (3,), background, np.uint8)
    ph, pw = patch.shape[:2]
    sx, sy = size[0] / pw, size[1] / ph
    # patch pixel k -> frame x = cx + (k - (pw - 1) / 2) * sx  (same convention as the tracker)
    M = np.array([[sx, 0, center[0] - sx * (pw - 1) / 2],
                  [0, sy, center[1] - sy * (ph - 1) / 2]])
    cv2.warpAffine(patch, M, (shape[1], shape[0]), dst=frame, flags=cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_TRANSPARENT)
    return frame


def box_of(center, size):
    return [center[0] - (size[0] - 1) / 2, center[1] - (size[1] - 1) / 2, size[0], size[1]]


def moving_sequence(n=12, velocity=(3.0, -2.0), growth=1.0, start=(90.0, 110.0),
                    size0=(40.0, 36.0), seed=0):
    patch = texture(64, seed)
    frames, boxes = [], []
    for i in range(n):
        c = (start[0] + velocity[0] * i, start[1] + velocity[1] * i)
        s = (size0[0] * growth ** i, size0[1] * growth ** i)
        frames.append(render(patch, c, s))
        boxes.append(box_of(c, s))
    return frames, boxes


def center_of(box):
    return np.array([box[0] + (box[2] - 1) / 2, box[1] + (box[3] - 1) / 2])


def iou(a, b):
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


class PixelMatcher(nn.Module):
    """Ideal stand-in for RASNet: matches the raw template pixels against the search crop
    at stride 8 (17x17 for 127 in 255), response = 1 / (1 + mean squared difference / 100),
    positive with its maximum at the true displacement. Records every call."""

    def __init__(self, stride=8):
        super().__init__()
        self.stride = stride
        self.dummy = nn.Parameter(torch.zeros(1))  # gives the tracker a device to find
        self.calls = []

    def template(self, z):
        self.z = z.float().contiguous()
        self.z2 = (self.z ** 2).sum()

    def track(self, x):
        self.calls.append(x)
        x = x.float()
        k = self.z.shape[-1]
        xz = F.conv2d(x, self.z, stride=self.stride)
        x2 = F.conv2d(x ** 2, torch.ones_like(self.z), stride=self.stride)
        msd = (x2 - 2 * xz + self.z2).clamp_min(0) / (3 * k * k)
        return 1.0 / (1.0 + msd / 100.0)


def ideal_tracker(**track):
    cfg = get_default_config()
    # the tracking-logic tests check fp32 arithmetic (PRECISION auto is bf16 on some CPUs)
    cfg.TRACK.PRECISION = "fp32"
    for k, v in track.items():
        cfg.TRACK[k] = v
    model = PixelMatcher()
    return RASNetTracker(model, cfg, device="cpu"), model


def untrained_model(seed=0):
    torch.manual_seed(seed)
    return build_model(get_default_config())


# ---------------------------------------------------------------- crops

def test_crop_equals_image_region_and_pads_with_channel_mean():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    avg = img.reshape(-1, 3).mean(0)
    # odd size: the centre pixel (10, 8) sits in the middle of a 5x5 crop
    np.testing.assert_array_equal(crop_square(img, (10, 8), 5, 5, avg), img[6:11, 8:13])
    # even size: the centre (10.5, 8.5) lies between the middle 4 pixels
    np.testing.assert_array_equal(crop_square(img, (10.5, 8.5), 4, 4, avg), img[7:11, 9:13])
    # a crop over the top-left corner: row 0 and column 0 fall outside -> channel mean
    c = crop_square(img, (1, 1), 5, 5, avg)
    np.testing.assert_array_equal(c[1:, 1:], img[0:4, 0:4])
    expected_pad = np.round(avg).astype(np.uint8)
    assert (c[0] == expected_pad).all() and (c[:, 0] == expected_pad).all()
    # float images keep the exact mean
    cf = crop_square(img.astype(np.float32), (1, 1), 5, 5, avg)
    np.testing.assert_allclose(cf[0, 0], avg, rtol=1e-6)


def test_crop_downscale_and_pyramid_buffer():
    # 2x2 constant blocks: a 2x downscale sampling between the two pixels of each block
    # returns the block values exactly
    blocks = np.arange(64, dtype=np.uint8).reshape(8, 8)
    img = np.repeat(np.repeat(blocks, 2, 0), 2, 1)[:, :, None].repeat(3, 2)
    avg = img.reshape(-1, 3).mean(0)
    c = crop_square(img, (7.5, 7.5), 8, 4, avg)
    np.testing.assert_array_equal(c[:, :, 0], blocks[2:6, 2:6])
    out = np.zeros((3, 4, 4, 3), np.uint8)
    res = crop_pyramid(img, (7.5, 7.5), [4, 8, 16], 4, avg, out=out)
    assert res is out
    np.testing.assert_array_equal(out[1], c)
    zoomed = np.repeat(np.repeat(blocks[3:5, 3:5], 2, 0), 2, 1)  # side 4: no resampling
    np.testing.assert_array_equal(out[0][:, :, 0], zoomed)
    with pytest.raises(ValueError):
        crop_square(img, (4, 4), 0, 4, avg)


# ---------------------------------------------------------------- tracking logic

def test_tracker_contract_and_single_batched_call():
    frames, boxes = moving_sequence(n=5)
    tracker, model = ideal_tracker()
    assert tracker.init(frames[0], boxes[0]) is None
    for f in frames[1:]:
        out = tracker.track(f)
        assert set(out) == {"bbox", "best_score", "failed"} and out["failed"] is False
        assert isinstance(out["best_score"], float)
        assert len(out["bbox"]) == 4 and all(type(v) is float for v in out["bbox"])
        x, y, w, h = out["bbox"]
        assert w > 0 and h > 0 and 0 <= x + (w - 1) / 2 <= f.shape[1] - 1
    # one model call per frame, with the whole pyramid, channels-last
    assert len(model.calls) == len(frames) - 1
    for x in model.calls:
        assert tuple(x.shape) == (3, 3, 255, 255) and x.dtype == torch.float32
        assert x.is_contiguous(memory_format=torch.channels_last)
    # the input buffer is reused, not reallocated frame after frame
    assert len({x.data_ptr() for x in model.calls}) == 1


def test_static_target_keeps_its_box():
    frames, boxes = moving_sequence(n=6, velocity=(0, 0))
    tracker, _ = ideal_tracker()
    tracker.init(frames[0], boxes[0])
    for f in frames[1:]:
        out = tracker.track(f)
        # the 272x272 map has no centre pixel (135.5): the peak lands half a bin off,
        # 1/64 of the stride in the search crop, ~0.15 px here; it must not accumulate
        np.testing.assert_allclose(out["bbox"][:2], boxes[0][:2], atol=0.2)
        np.testing.assert_allclose(out["bbox"][2:], boxes[0][2:], rtol=1e-9)
        assert 0.8 < out["best_score"] <= 1.0  # a near-perfect match (sub-pixel resampling)


@pytest.mark.parametrize("velocity", [(3.0, -2.0), (-4.5, 1.5)])
def test_follows_a_moving_textured_target(velocity):
    frames, boxes = moving_sequence(n=16, velocity=velocity)
    tracker, _ = ideal_tracker()
    tracker.init(frames[0], boxes[0])
    for f, gt in zip(frames[1:], boxes[1:]):
        out = tracker.track(f)
        err = np.linalg.norm(center_of(out["bbox"]) - center_of(gt))
        assert err < 2.0, (out["bbox"], gt)
        assert iou(out["bbox"], gt) > 0.85


def test_follows_scale_changes():
    # SiamFC-3s changes size by at most LR * (1.0375 - 1) ~ 2.2% a frame: stay below
    for growth in (1.015, 1 / 1.015):
        frames, boxes = moving_sequence(n=20, velocity=(1.0, 0.5), growth=growth,
                                        start=(120.0, 100.0))
        tracker, _ = ideal_tracker()
        tracker.init(frames[0], boxes[0])
        for f in frames[1:]:
            out = tracker.track(f)
        true_w, est_w = boxes[-1][2], out["bbox"][2]
        # SiamFC-3s lags a steady zoom by a few percent (the scale penalty must be beaten)
        assert abs(est_w / true_w - 1) < 0.1, (growth, est_w, true_w)
        assert abs(est_w / boxes[0][2] - 1) > 0.15  # it did change size, in the right direction
        assert np.linalg.norm(center_of(out["bbox"]) - center_of(boxes[-1])) < 3.0


class ScriptedModel(nn.Module):
    """Returns a smooth bump at grid offset (dy, dx) from the centre on pyramid level
    `level` (peak 1) and a lower one (peak 0.5) at the centre on the other levels."""

    def __init__(self, level, dx, dy, size=17):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        g = torch.arange(size, dtype=torch.float32)
        c = size // 2

        def bump(ox, oy):
            return torch.exp(-((g[None, :] - c - ox) ** 2 + (g[:, None] - c - oy) ** 2) / 2.0)
        self.level, self.hit, self.miss = level, bump(dx, dy), 0.5 * bump(0, 0)

    def template(self, z):
        pass

    def track(self, x):
        out = self.miss.expand(x.shape[0], 1, -1, -1).clone()
        out[self.level, 0] = self.hit
        return out


@pytest.mark.parametrize("level,dx,dy", [(0, 2, -1), (1, -3, 0), (2, 0, 4)])
def test_displacement_and_scale_arithmetic(level, dx, dy):
    cfg = get_default_config()
    cfg.TRACK.WINDOW_INFLUENCE = 0.0  # the cosine window would pull the peak to the centre
    tracker = RASNetTracker(ScriptedModel(level, dx, dy), cfg, device="cpu")
    box = [100.0, 80.0, 40.0, 30.0]
    tracker.init(np.full((300, 320, 3), 90, np.uint8), box)
    out = tracker.track(np.full((300, 320, 3), 90, np.uint8))
    t = cfg.TRACK
    ctx = t.CONTEXT_AMOUNT * (40 + 30)
    x_size = math.sqrt((40 + ctx) * (30 + ctx)) * t.INSTANCE_SIZE / t.EXEMPLAR_SIZE
    f = t.SCALE_STEP ** (level - 1)
    px = t.TOTAL_STRIDE * x_size * f / t.INSTANCE_SIZE  # image px per response cell
    expected = center_of(box) + np.array([dx, dy]) * px
    # the 16x map has no pixel exactly on a cell centre: within half an upsampled pixel
    half_bin = 0.5 * px / t.RESPONSE_UP
    np.testing.assert_allclose(center_of(out["bbox"]), expected, atol=half_bin + 1e-9)
    scale = (1 - t.LR) + t.LR * f
    np.testing.assert_allclose(out["bbox"][2:], [40 * scale, 30 * scale], rtol=1e-12)
    assert out["best_score"] == pytest.approx(1.0, abs=1e-6)  # the raw peak, unpenalised


def test_box_stays_sane_near_borders():
    # a target leaving the frame: the centre is clipped into the image, the size bounded
    frames, boxes = moving_sequence(n=25, velocity=(9.0, 0.0), start=(150.0, 100.0))
    tracker, _ = ideal_tracker()
    tracker.init(frames[0], boxes[0])
    for f in frames[1:]:
        x, y, w, h = tracker.track(f)["bbox"]
        cx, cy = x + (w - 1) / 2, y + (h - 1) / 2
        assert 0 <= cx <= f.shape[1] - 1 and 0 <= cy <= f.shape[0] - 1
        assert 8 <= w <= 5 * boxes[0][2] and 7 <= h <= 5 * boxes[0][3]


def test_precision_bf16_matches_fp32():
    frames, boxes = moving_sequence(n=5, velocity=(2.0, 1.0))
    results = {}
    for prec in ("fp32", "bf16"):
        cfg = get_default_config()
        cfg.TRACK.PRECISION = prec
        tracker = RASNetTracker(untrained_model(), cfg, device="cpu")
        tracker.init(frames[0], boxes[0])
        results[prec] = [tracker.track(f) for f in frames[1:]]
    for a, b in zip(results["fp32"], results["bf16"]):
        np.testing.assert_allclose(a["bbox"], b["bbox"], atol=1.0)
        assert b["best_score"] == pytest.approx(a["best_score"], rel=0.05)


def test_precision_fp16_needs_cuda_and_unknown_rejected():
    cfg = get_default_config()
    cfg.TRACK.PRECISION = "fp16"
    with pytest.raises(ValueError, match="fp16"):
        RASNetTracker(PixelMatcher(), cfg, device="cpu")
    cfg.TRACK.PRECISION = "int8"
    with pytest.raises(ValueError, match="PRECISION"):
        RASNetTracker(PixelMatcher(), cfg, device="cpu")


def test_grayscale_and_alpha_frames():
    frames, boxes = moving_sequence(n=4)
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    ref_frames = [cv2.cvtColor(g, cv2.COLOR_GRAY2BGR) for g in gray]

    def run(seq):
        tracker, _ = ideal_tracker()
        tracker.init(seq[0], boxes[0])
        return [tracker.track(f)["bbox"] for f in seq[1:]]

    ref = run(ref_frames)
    assert run(gray) == ref                               # HxW
    assert run([g[:, :, None] for g in gray]) == ref      # HxWx1
    alpha = [np.dstack([f, np.full(f.shape[:2], 7, np.uint8)]) for f in frames]
    assert run(alpha) == run(frames)                      # HxWx4: alpha dropped
    tracker, _ = ideal_tracker()
    with pytest.raises(ValueError, match="image"):
        tracker.init(np.zeros((10, 10, 2), np.uint8), [1, 1, 4, 4])


@pytest.mark.parametrize("box", [[10, 10, 0, 20], [10, 10, 20, -5], [float("nan"), 1, 5, 5],
                                 [1, 1, float("inf"), 5], [500, 10, 20, 20], [-50, 10, 20, 20],
                                 [10, 250, 20, 20], [1, 2, 3], "abcd"])
def test_bad_init_box_rejected(box):
    tracker, _ = ideal_tracker()
    frame = np.zeros((200, 240, 3), np.uint8)
    with pytest.raises(ValueError) as e:
        tracker.init(frame, box)
    assert "box" in str(e.value)
    if isinstance(box, list) and len(box) == 4 and all(math.isfinite(v) for v in box):
        assert str(float(box[0])) in str(e.value)  # names the box


def test_track_before_init():
    tracker, _ = ideal_tracker()
    with pytest.raises(RuntimeError, match="before init"):
        tracker.track(np.zeros((50, 50, 3), np.uint8))


def test_real_sequence_contract(tmp_path):
    video = check_video(tmp_path)    # Crossing, else a bundled video
    cfg = get_default_config()
    t = cfg.TRACK
    # SiamFC-3s: each frame the size is multiplied by one of these (no clipping this early:
    # the box stays far from 0.2x / 5x its first size and from the frame size)
    half = t.SCALE_NUM // 2
    steps = [(1 - t.LR) + t.LR * t.SCALE_STEP ** k for k in range(-half, half + 1)]

    def run():
        tracker = RASNetTracker(untrained_model(), cfg, device="cpu")
        frame = video.load_frame(0)
        assert tracker.init(frame, video.init_rect) is None
        return frame.shape[:2], [tracker.track(video.load_frame(i)) for i in range(1, 4)]

    (H, W), outs = run()
    size = np.array(video.init_rect[2:], dtype=np.float64)
    for out in outs:
        assert set(out) == {"bbox", "best_score", "failed"} and out["failed"] is False
        assert type(out["best_score"]) is float and math.isfinite(out["best_score"])
        assert len(out["bbox"]) == 4 and all(type(v) is float for v in out["bbox"])
        x, y, w, h = out["bbox"]
        assert 0 <= x + (w - 1) / 2 <= W - 1 and 0 <= y + (h - 1) / 2 <= H - 1
        ratio = w / size[0]
        assert min(abs(ratio - s) for s in steps) < 1e-12, (ratio, steps)
        np.testing.assert_allclose([w, h], size * ratio, rtol=1e-12)  # aspect ratio kept
        size = np.array([w, h])
    assert run()[1] == outs  # the same input gives the same boxes and scores


# ---------------------------------------------------------------- pytracking adapter

def test_pytracking_adapter_round_trip():
    frames, boxes = moving_sequence(n=5)
    direct, _ = ideal_tracker()
    direct.init(frames[0], boxes[0])
    expected = [direct.track(f)["bbox"] for f in frames[1:]]

    wrapped, _ = ideal_tracker()
    pt = get_tracker_class()(RASNetParams(tracker=wrapped))
    assert isinstance(pt, RASNetPyTracker)
    rgb = [f[:, :, ::-1].copy() for f in frames]
    out = pt.initialize(rgb[0], {"init_bbox": np.array(boxes[0])})
    # pytracking reads the init box back from initialize()'s dict: plain floats, as given
    assert out == {"target_bbox": [float(v) for v in boxes[0]]}
    assert all(type(v) is float for v in out["target_bbox"])
    got = [pt.track(f, {}) for f in rgb[1:]]
    for g in got:
        assert set(g) == {"target_bbox", "object_presence_score", "best_score", "failed"}
        assert g["failed"] is False and g["object_presence_score"] == g["best_score"]
        assert type(g["object_presence_score"]) is float
    assert [g["target_bbox"] for g in got] == expected


def test_pytracking_builds_the_network_once_for_a_run_of_sequences(monkeypatch):
    """pytracking makes a new tracker object per sequence: the network is built for the
    first and reused by the next (not rebuilt inside each timed first frame), while
    adapters alive at once (parallel multi-object mode) get a tracker each."""
    import gc

    import rasnet_plugin.api
    from rasnet_plugin.integrations import pytracking as P

    built = []

    def fake_build(config, snapshot, device):
        built.append((config, snapshot, device))
        return ideal_tracker()[0]
    monkeypatch.setattr(rasnet_plugin.api, "build_tracker", fake_build)
    monkeypatch.setattr(P, "_IDLE", {})
    frames, boxes = moving_sequence(n=3)
    rgb = [f[:, :, ::-1].copy() for f in frames]
    firsts = []
    for _ in range(3):       # three sequences, one after the other
        pt = get_tracker_class()(parameters(config="c.yaml", device="cpu"))
        pt.initialize(rgb[0], {"init_bbox": boxes[0]})
        firsts.append(pt.track(rgb[1])["target_bbox"])
        del pt
        gc.collect()
    assert built == [("c.yaml", None, "cpu")]
    assert firsts[0] == firsts[1] == firsts[2]      # a reused tracker starts afresh
    a, b = (get_tracker_class()(parameters(config="c.yaml", device="cpu")) for _ in range(2))
    a.initialize(rgb[0], {"init_bbox": boxes[0]})
    b.initialize(rgb[0], {"init_bbox": boxes[0]})
    assert a.tracker is not b.tracker and len(built) == 2
    other = get_tracker_class()(parameters(config="other.yaml", device="cpu"))
    other.initialize(rgb[0], {"init_bbox": boxes[0]})
    assert len(built) == 3 and built[-1][0] == "other.yaml"


def test_pytracking_parameters_object():
    p = parameters(snapshot="x.pth", device="cpu")
    assert p.snapshot == "x.pth" and p.device == "cpu" and p.config is None
    assert p.get("debug") == 0 and p.get("missing", 3) == 3 and p.has("visualization")
    assert not p.has("missing")


# ---------------------------------------------------------------- build_tracker / checkpoints

@pytest.fixture
def no_bundled_weights(monkeypatch, tmp_path):
    (tmp_path / "no_weights").mkdir()
    monkeypatch.setattr(api, "BUNDLED_DIR", str(tmp_path / "no_weights"))


def test_build_tracker_defaults_warn_untrained(no_bundled_weights):
    with pytest.warns(UserWarning, match="UNTRAINED"):
        tracker = rasnet_plugin.build_tracker()
    assert isinstance(tracker, RASNetTracker)
    if not torch.cuda.is_available():
        assert tracker.device.type == "cpu"
    frames, boxes = moving_sequence(n=2)
    tracker.init(frames[0], boxes[0])
    assert isinstance(tracker.track(frames[1])["best_score"], float)
    # the random initialisation is seeded: two builds hold the same weights
    with pytest.warns(UserWarning):
        other = rasnet_plugin.build_tracker(device="cpu")
    for a, b in zip(tracker.model.state_dict().values(), other.model.state_dict().values()):
        assert torch.equal(a.cpu(), b)


def test_build_tracker_with_snapshot(tmp_path, no_bundled_weights):
    model = untrained_model(seed=5)
    sd = model.state_dict()
    variants = {"plain.pth": sd, "wrapped.pth": {"state_dict": sd, "epoch": 3},
                "module.pth": {"model": {"module." + k: v for k, v in sd.items()}}}
    for name, obj in variants.items():
        torch.save(obj, tmp_path / name)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no "untrained" warning now
            tracker = rasnet_plugin.build_tracker(
                os.path.join(REPO_ROOT, "experiments", "rasnet.yaml"), tmp_path / name, "cpu")
        for k, v in tracker.model.state_dict().items():
            assert torch.equal(v, sd[k]), (name, k)
    # the bundled weights file is the default snapshot when it exists
    shutil.copy(tmp_path / "plain.pth", os.path.join(api.BUNDLED_DIR, "rasnet.pth"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tracker = rasnet_plugin.build_tracker(os.path.join(REPO_ROOT, "experiments", "rasnet.yaml"),
                                              device="cpu")
    assert torch.equal(tracker.model.adjust.weight, sd["adjust.weight"])


class _Evidence:
    """Unpickling this calls open(marker, "w"): if the loader ever runs the code inside a
    checkpoint, the marker file appears."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoint_errors(tmp_path):
    model = untrained_model()
    bad = {
        "random.pth": ({"w": torch.randn(3, 3), "b": torch.randn(3)}, "missing keys"),
        "code.pth": ({"state_dict": model.state_dict(), "x": _Evidence(tmp_path / "ran")},
                     "refused to unpickle code"),
        "text.pth": (None, "not a torch checkpoint file"),
        "empty.pth": (b"", "not a torch checkpoint file"),
        "list.pth": ([torch.zeros(1)], "not a RASNet checkpoint"),
        "strings.pth": ({"a": "b"}, "not a RASNet checkpoint"),
    }
    for name, (obj, match) in bad.items():
        path = tmp_path / name
        if name == "text.pth":
            path.write_text("this is not a checkpoint\n")
        elif isinstance(obj, bytes):
            path.write_bytes(obj)
        else:
            torch.save(obj, path)
        with pytest.raises(ValueError, match=match) as e:
            api.load_checkpoint(untrained_model(), path)
        assert str(path) in str(e.value)
    assert not (tmp_path / "ran").exists()  # code.pth was refused, not run
    # one wrong shape
    sd = dict(model.state_dict())
    sd["adjust.weight"] = torch.zeros(1, 1, 2, 2)
    torch.save(sd, tmp_path / "shape.pth")
    with pytest.raises(ValueError, match="shape mismatch.*adjust.weight"):
        api.load_checkpoint(untrained_model(), tmp_path / "shape.pth")
    # one extra key
    sd = dict(model.state_dict(), extra=torch.zeros(1))
    torch.save(sd, tmp_path / "extra.pth")
    with pytest.raises(ValueError, match="unexpected keys: extra"):
        api.load_checkpoint(untrained_model(), tmp_path / "extra.pth")
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*nope.pth"):
        api.load_checkpoint(untrained_model(), tmp_path / "nope.pth")


def test_checkpoint_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "code.pth"
    torch.save({"state_dict": untrained_model().state_dict(), "x": _Evidence(marker)}, path)
    for load in (api.load_checkpoint, lambda model, p: api.read_checkpoint(p)):
        with pytest.raises(ValueError, match="refused to unpickle code") as e:
            load(untrained_model(), path)
        assert str(path) in str(e.value)
        assert not marker.exists(), "loading the checkpoint ran the code inside it"
    # the payload is live: a plain unpickler does run it (so the check above can fail)
    torch.load(path, weights_only=False)["x"].close()
    assert marker.exists()


# ---------------------------------------------------------------- TRACK geometry, named

@pytest.mark.parametrize("key,value,match", [
    ("TOTAL_STRIDE", 0, "TRACK.TOTAL_STRIDE must be an integer >= 1, got 0"),
    ("RESPONSE_UP", 0, "TRACK.RESPONSE_UP must be an integer >= 1, got 0"),
    ("EXEMPLAR_SIZE", 0, "TRACK.EXEMPLAR_SIZE must be an integer >= 1, got 0"),
    ("EXEMPLAR_SIZE", 127.5, "TRACK.EXEMPLAR_SIZE must be an integer >= 1, got 127.5"),
    ("INSTANCE_SIZE", 100,
     r"TRACK.INSTANCE_SIZE must be >= TRACK.EXEMPLAR_SIZE \(127\), got 100"),
    ("INSTANCE_SIZE", 260, r"TRACK.INSTANCE_SIZE 260: INSTANCE_SIZE - TRACK.EXEMPLAR_SIZE "
                           r"\(127\) must be a multiple of TRACK.TOTAL_STRIDE 8, else every box "
                           r"is off by 2.5 search pixels"),
    ("CONTEXT_AMOUNT", -0.5, "TRACK.CONTEXT_AMOUNT must be a number >= 0, got -0.5"),
    ("SCALE_STEP", 0.0, "TRACK.SCALE_STEP must be a number > 0, got 0.0"),
    ("SCALE_NUM", 2, "TRACK.SCALE_NUM must be odd and >= 1, got 2"),
    ("LR", math.nan, "TRACK.LR must be a number, got nan"),
    ("WINDOW_INFLUENCE", math.nan, "TRACK.WINDOW_INFLUENCE must be a number, got nan"),
    ("SCALE_PENALTY", math.inf, "TRACK.SCALE_PENALTY must be a number, got inf"),
])
def test_bad_track_geometry_is_named(key, value, match):
    with pytest.raises(ValueError, match="^" + match):
        ideal_tracker(**{key: value})


def test_a_stride_the_network_does_not_have_is_named():
    tracker, _ = ideal_tracker(TOTAL_STRIDE=4)          # PixelMatcher has stride 8
    frames, boxes = moving_sequence(n=2)
    tracker.init(frames[0], boxes[0])
    with pytest.raises(ValueError, match=r"response is 3x1x17x17, .* TOTAL_STRIDE 4 make it "
                                         r"33x33 per scale: TOTAL_STRIDE must be the network's"):
        tracker.track(frames[1])
