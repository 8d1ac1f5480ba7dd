"""Hostile inputs (property-based): every loader, the config, the op and the tracker either
work or fail with their documented exception type -- never a crash, a hang, a bare
KeyError/IndexError/OverflowError, or a NaN box.

Contracts checked here:
- dataset loaders (`load_dataset`, `read_gt_file`; PySOT JSON, OTB, VOT and GOT-10k-like
  `groundtruth.txt` sequences): load, or raise `DatasetError` (a ValueError);
- `load_config`: load (every key keeps its default's type), or raise `ConfigError`;
- `attention_xcorr`: equal to `attention_xcorr_reference`, or ValueError/TypeError;
- `RASNetTracker`: `init` raises ValueError (naming the box or the image) or every
  `track` returns a finite box with w, h > 0 (see `test_tracker_hostile_frames_and_boxes`
  for what counts as a sane result).
"""
import json
import math
import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rasnet_plugin.config import ConfigError, get_default_config, load_config
from rasnet_plugin.datasets import DatasetError, load_dataset, read_gt_file
from rasnet_plugin.models import build_model
from rasnet_plugin.ops import attention_xcorr, attention_xcorr_reference
from rasnet_plugin.tracker import RASNetTracker

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SLOW = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# ---------------------------------------------------------------- text / value strategies

NUM_TOKENS = ["0", "1", "-1", "10", "3.5", "-0", "1e3", "1e308", "1e400", "-1e400", "nan",
              "NaN", "inf", "-inf", "Infinity", "0x10", "1_000", "", "abc", "1,", "\u0661",
              "1e-320", "4.9e-324", "99999999999999999999999999999"]
SEPS = [",", " ", "\t", ", ", ";", ",,", "  "]

gt_lines = st.lists(
    st.tuples(st.lists(st.sampled_from(NUM_TOKENS) | st.floats(allow_nan=True).map(repr),
                       min_size=0, max_size=9),
              st.sampled_from(SEPS)).map(lambda t: t[1].join(t[0])),
    min_size=0, max_size=6)
gt_text = gt_lines.map("\n".join) | st.text(max_size=120)
gt_bytes = st.binary(max_size=200) | gt_text.map(lambda s: s.encode("utf-8", "surrogatepass"))

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-10 ** 30, max_value=10 ** 30)
                | st.sampled_from([10 ** 400, -10 ** 400, 2 ** 64])
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=5)
                           | st.dictionaries(st.text(max_size=6), c, max_size=4), max_leaves=12)
number = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10 ** 6, 10 ** 6)
          | st.sampled_from([10 ** 400, 0, -1]))


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _frames(folder, n, ext=".png"):
    import cv2
    os.makedirs(folder, exist_ok=True)
    img = np.full((12, 16, 3), 90, np.uint8)
    for i in range(1, n + 1):
        cv2.imwrite(os.path.join(folder, "%04d%s" % (i, ext)), img)


def _loads_or_dataset_error(fn, *args):
    """Call a loader: return its result, or None after a DatasetError (nothing else)."""
    try:
        return fn(*args)
    except DatasetError as e:
        assert isinstance(e, ValueError) and str(e)
        return None


def _check_dataset(ds):
    assert len(ds) >= 1
    for v in ds:
        assert v.gt.ndim == 2 and v.gt.shape[1] in (4, 8) and len(v.gt) == len(v) >= 1
        x, y, w, h = v.init_rect
        assert all(math.isfinite(t) for t in v.init_rect) and w > 0 and h > 0


@pytest.fixture(scope="module")
def frames3(tmp_path_factory):
    """Three tiny frames, reused (copied by hard link) by every generated dataset."""
    d = tmp_path_factory.mktemp("frames")
    _frames(str(d), 3)
    return str(d)


def _link_frames(src, dst):
    os.makedirs(dst, exist_ok=True)
    for f in sorted(os.listdir(src)):
        os.link(os.path.join(src, f), os.path.join(dst, f))


_counter = iter(range(10 ** 9))


def _fresh(tmp_path):
    d = tmp_path / ("case%d" % next(_counter))
    d.mkdir()
    return d


# ---------------------------------------------------------------- ground-truth text files

@FAST
@given(data=gt_bytes)
def test_read_gt_file_random_content(tmp_path, data):
    p = str(_fresh(tmp_path) / "groundtruth.txt")
    _write(p, data)
    gt = _loads_or_dataset_error(read_gt_file, p)
    if gt is not None:
        assert gt.dtype == np.float64 and gt.ndim == 2 and gt.shape[1] in (4, 8) and len(gt)


@FAST
@given(data=gt_bytes, layout=st.sampled_from(["otb", "otb-seq", "vot", "vot-seq", "got10k"]),
       nframes=st.sampled_from([0, 1, 3]), tag=st.none() | gt_bytes,
       seqfile=st.none() | st.sampled_from(["channels.color=%04d.png", "channels.color=%",
                                            "channels.color=%s%s", "channels.color=%(a)d",
                                            "channels.color=%*d", "channels.color=\x00%d",
                                            "channels.color=../%04d.png", "garbage"]),
       listfile=st.none() | st.sampled_from(["seq\n", "seq\nmissing\n", "\n\n", "../x\n",
                                             "seq\nseq\n"]))
def test_text_layouts_random_groundtruth(tmp_path, frames3, data, layout, nframes, tag,
                                         seqfile, listfile):
    """OTB (folder of sequences, or one sequence), VOT (list.txt, sequence file, tags) and a
    GOT-10k-like train folder (seq/groundtruth.txt + frames, no list) with random content."""
    root = _fresh(tmp_path) / "DS"
    if layout.startswith("otb"):
        seq = root / "seq" if layout == "otb" else root
        (seq / "img").mkdir(parents=True)
        if nframes:
            _link_frames(frames3, str(seq / "img"))
        _write(str(seq / "groundtruth_rect.txt"), data)
    else:
        seq = root / "seq" if layout != "vot-seq" else root
        seq.mkdir(parents=True)
        if nframes:
            _link_frames(frames3, str(seq))
        _write(str(seq / "groundtruth.txt"), data)
        if tag is not None:
            _write(str(seq / "occlusion.tag"), tag)
        if seqfile is not None:
            _write(str(seq / "sequence"), seqfile)
        if layout == "vot" and listfile is not None:
            _write(str(root / "list.txt"), listfile)
    ds = _loads_or_dataset_error(load_dataset, str(root))
    if ds is not None:
        _check_dataset(ds)


# ---------------------------------------------------------------- PySOT JSON

VIDEO_FIELDS = ["video_dir", "init_rect", "img_names", "gt_rect", "attr", "camera_motion",
                "illum_change", "motion_change", "size_change", "occlusion"]


def _good_entry():
    return {"video_dir": "seq", "init_rect": [1, 1, 5, 5],
            "img_names": ["seq/%04d.png" % i for i in (1, 2, 3)],
            "gt_rect": [[1, 1, 5, 5]] * 3, "attr": ["a"], "occlusion": [0, 1, 0]}


def _dump(obj):
    return json.dumps(obj, allow_nan=True)


@FAST
@given(field=st.sampled_from(VIDEO_FIELDS), value=json_values | st.lists(number, max_size=9)
       | st.lists(st.lists(number, min_size=3, max_size=9), max_size=4), drop=st.booleans())
def test_pysot_json_random_field_values(tmp_path, frames3, field, value, drop):
    """One field of a valid entry replaced by a random JSON value (or removed)."""
    root = _fresh(tmp_path) / "DS"
    _link_frames(frames3, str(root / "seq"))
    entry = _good_entry()
    if drop:
        entry.pop(field, None)
    else:
        entry[field] = value
    _write(str(root / "DS.json"), _dump({"seq": entry}))
    ds = _loads_or_dataset_error(load_dataset, str(root))
    if ds is not None:
        _check_dataset(ds)


@FAST
@given(doc=json_values | st.dictionaries(st.text(max_size=5), json_values, max_size=3),
       cut=st.none() | st.integers(0, 400), raw=st.none() | st.binary(max_size=100))
def test_pysot_json_random_documents_truncated_and_bytes(tmp_path, frames3, doc, cut, raw):
    root = _fresh(tmp_path) / "DS"
    _link_frames(frames3, str(root / "seq"))
    text = _dump(doc) if raw is None else None
    if cut is not None and text is None:
        text = _dump({"seq": _good_entry()})
    if cut is not None:
        text = text[:cut]                               # truncated file
    _write(str(root / "DS.json"), text if raw is None else raw)
    ds = _loads_or_dataset_error(load_dataset, str(root / "DS.json"))
    if ds is not None:
        _check_dataset(ds)


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,                          # nesting deeper than the parser
    '{"seq": {"init_rect": [1e999, 1, 5, 5]}}',             # inf from JSON text
    '{"seq": %s}' % _dump(dict(_good_entry(), init_rect=[10 ** 400, 1, 5, 5])),
    '{"seq": %s}' % _dump(dict(_good_entry(), gt_rect=[[10 ** 400, 1, 5, 5]] * 3)),
    '{"seq": %s}' % _dump(dict(_good_entry(), occlusion=[10 ** 400, 1, 0])),
], ids=["deep-nesting", "inf-init", "huge-int-init", "huge-int-gt", "huge-int-tag"])
def test_pysot_json_pathological(tmp_path, frames3, text):
    root = tmp_path / "DS"
    _link_frames(frames3, str(root / "seq"))
    _write(str(root / "DS.json"), text)
    ds = _loads_or_dataset_error(load_dataset, str(root))
    if ds is not None:
        _check_dataset(ds)


# ---------------------------------------------------------------- config

KNOWN_KEYS = [("TRACK", "SCALE_NUM"), ("TRACK", "LR"), ("TRACK", "PRECISION"),
              ("TRACK", "EXEMPLAR_SIZE"), ("TRAIN", "BATCH_SIZE"), ("TRAIN", "DATASETS"),
              ("TRAIN", "DATASETS", "NAMES"), ("BACKBONE", "TRAIN_LAYERS"), ("CUDA",),
              ("RASNET", "GENERAL_ATTENTION"), ("TRAIN", "AUG"), ("META_ARC",),
              ("TRAIN", "DATASETS", "GOT10K", "ROOT"), ("BACKBONE", "KWARGS")]
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=10), lambda c: st.lists(c, max_size=3)
    | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8)


def _load_cfg(path):
    try:
        return load_config(path)
    except ConfigError as e:
        assert isinstance(e, ValueError) and str(e)
        return None


def _same_types(node, ref, where=""):
    for k, v in node.items():
        if k in ref and not isinstance(ref[k], dict):
            # load_config rejects `null` for a key whose default is not None
            ok = (type(v) is type(ref[k]) or {type(v), type(ref[k])} <= {list, tuple}
                  or (v is None and ref[k] is None))
            assert ok, "%s%s: %r (default %r)" % (where, k, v, ref[k])
        elif k in ref and isinstance(v, dict):
            _same_types(v, ref[k], where + k + ".")


@FAST
@given(text=st.text(max_size=200) | st.binary(max_size=120))
def test_config_random_yaml_text(tmp_path, text):
    p = str(_fresh(tmp_path) / "c.yaml")
    _write(p, text)
    node = _load_cfg(p)
    if node is not None:
        _same_types(node, get_default_config())


@FAST
@given(key=st.sampled_from(KNOWN_KEYS) | st.lists(st.text(max_size=6), min_size=1, max_size=3)
       .map(tuple), value=yaml_values)
def test_config_random_values_and_unknown_keys(tmp_path, key, value):
    import yaml
    doc = value
    for k in reversed(key):
        doc = {k: doc}
    p = str(_fresh(tmp_path) / "c.yaml")
    _write(p, yaml.safe_dump(doc, allow_unicode=True))
    node = _load_cfg(p)
    if node is not None:
        _same_types(node, get_default_config())


# ---------------------------------------------------------------- the fused op

dims = st.integers(0, 5)


@FAST
@given(bz=st.integers(0, 3), bx=st.integers(0, 3), c=st.integers(0, 4), h=dims, w=dims,
       hh=st.integers(0, 8), ww=st.integers(0, 8),
       s_shape=st.none() | st.lists(st.integers(0, 4), min_size=1, max_size=5),
       b_shape=st.none() | st.lists(st.integers(0, 4), min_size=1, max_size=5),
       channel4=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64,
                                                      torch.bfloat16, torch.int32]),
       mixed=st.booleans(), layout=st.sampled_from(["contig", "cl", "slice"]),
       seed=st.integers(0, 2 ** 16))
def test_op_random_shapes(bz, bx, c, h, w, hh, ww, s_shape, b_shape, channel4, dtype, mixed,
                          layout, seed):
    g = torch.Generator().manual_seed(seed)
    s_shape = s_shape or [bz, 1, h, w]
    b_shape = b_shape or ([bz, c, 1, 1] if channel4 else [bz, c])

    def rnd(shape, dt=dtype):
        return (torch.randn(*shape, generator=g) * 3).to(dt)

    z, x, s, b = rnd([bz, c, h, w]), rnd([bx, c, hh, ww]), rnd(s_shape), rnd(b_shape)
    if mixed:
        x = x.double() if dtype != torch.float64 else x.float()
    if layout == "cl" and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "slice" and x.dim() == 4 and x.shape[3] > 1:
        x = x[..., ::2]                                     # non-contiguous view
    try:
        ref = attention_xcorr_reference(z, x, s, b)
    except (ValueError, TypeError):
        ref = None
    except RuntimeError:
        ref = None  # conv2d itself declines (e.g. bf16 edge cases): the op may reject too
    try:
        out = attention_xcorr(z, x, s, b)
    except (ValueError, TypeError) as e:
        assert "attention_xcorr" in str(e)
        # rejected: fine if the reference also rejects, or the dtype is not a CPU kernel's
        assert ref is None or z.dtype not in (torch.float32, torch.float64), str(e)
        return
    assert ref is not None, "op accepted inputs the reference rejects"
    assert out.shape == ref.shape and out.dtype == ref.dtype
    tol = {torch.float64: 1e-9, torch.float32: 1e-4, torch.bfloat16: 5e-2}[out.dtype]
    scale = float(ref.abs().max()) + 1 if ref.numel() else 1
    assert torch.allclose(out.double(), ref.double(), rtol=tol, atol=tol * scale)


# ---------------------------------------------------------------- the tracker

@pytest.fixture(scope="module")
def tracker():
    torch.manual_seed(0)
    cfg = get_default_config()
    cfg.CUDA = False
    return RASNetTracker(build_model(cfg), cfg, device="cpu")


def _frame(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if dtype == np.uint16:
        return rng.integers(0, 65536, shape, dtype=np.uint16)
    if dtype in (np.float32, np.float64):
        return rng.random(shape).astype(dtype)              # 0..1 floats (taken as 0..255)
    return rng.integers(0, 256, shape).astype(dtype)


SIZES = [(1, 1), (2, 3), (3, 2), (16, 16), (48, 64), (2000, 3000)]
CHANNELS = [None, 1, 3, 4]
DTYPES = [np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_]
frame_spec = st.tuples(st.sampled_from(SIZES), st.sampled_from(CHANNELS),
                       st.sampled_from(DTYPES), st.integers(0, 1000))
coord = (st.floats(allow_nan=True, allow_infinity=True, width=64)
         | st.sampled_from([0.0, -1.0, 0.5, 1.0, 1e-300, 5e-324, 1e6, 1e9, 1e155, 1e200,
                            3000.0, 2999.5, -1e9]))


def _shape(size, ch):
    return size if ch is None else size + (ch,)


def _run_tracker(tracker, init_frame, box, frames):
    """init + track; ValueError at init must name the problem; boxes must be sane."""
    try:
        tracker.init(init_frame, box)
    except ValueError as e:
        msg = str(e)
        assert "box" in msg or "image" in msg, msg
        return False
    for f in frames:
        out = tracker.track(f)
        b = out["bbox"]
        assert len(b) == 4 and all(math.isfinite(v) for v in b), (box, b)
        assert b[2] > 0 and b[3] > 0, (box, b)
        H, W = f.shape[:2]
        cx, cy = b[0] + (b[2] - 1) / 2, b[1] + (b[3] - 1) / 2
        assert -1e-6 <= cx <= W - 1 + 1e-6 and -1e-6 <= cy <= H - 1 + 1e-6, (box, b, f.shape)
    return True


@SLOW
@given(init=frame_spec, box=st.tuples(coord, coord, coord, coord),
       rel=st.none() | st.tuples(st.floats(-0.5, 1.2), st.floats(-0.5, 1.2),
                                 st.floats(0.0, 1.5), st.floats(0.0, 1.5)),
       later=st.lists(frame_spec, min_size=1, max_size=2))
def test_tracker_hostile_frames_and_boxes(tracker, init, box, rel, later):
    """Sane result: init either raises ValueError (box not 4 finite numbers, w or h <= 0,
    box entirely outside the image, box so small/large its search region under/overflows,
    or an image that is not HxW[x1|3|4]) or every track() returns a finite box with w, h > 0
    whose centre lies inside the current frame (the tracker clamps its centre to the image
    and its size to [max(min(10 px, init), 0.2 init), 5 init], also capped by the frame
    size).  uint16 / int / bool frames are taken as numbers on the 0..255 scale, like
    float ones; frames of another size than the init frame are allowed."""
    (size, ch, dtype, seed) = init
    img = _frame(_shape(size, ch), dtype, seed)
    if rel is not None:  # a box relative to the image: hanging over borders, 1x1, ...
        H, W = size
        box = (rel[0] * W, rel[1] * H, rel[2] * W, rel[3] * H)
    frames = [_frame(_shape(s, c), d, k) for (s, c, d, k) in later]
    _run_tracker(tracker, img, list(box), frames)


@pytest.mark.parametrize("box,ok", [
    ([0, 0, 0, 0], False), ([10, 10, -5, 8], False), ([10, 10, 8, -5], False),
    ([float("nan"), 10, 8, 8], False), ([10, 10, float("inf"), 8], False),
    ([-100, -100, 20, 20], False), ([64, 10, 5, 5], False), ([10, 48, 5, 5], False),
    ([10, 10, 1e200, 1e200], False), ([10, 10, 5e-324, 5e-324], False),
    ([10, 10, 1, 1], True), ([-10, -10, 20, 20], True), ([60, 40, 30, 30], True),
    ([-1e6, -1e6, 2e6 + 64, 2e6 + 48], True), ([0, 0, 64, 48], True),
    ([10, 10, 1e-3, 1e-3], True), ([63.5, 47.5, 0.6, 0.6], True),
])
def test_tracker_degenerate_init_boxes(tracker, box, ok):
    img = _frame((48, 64, 3), np.uint8, 1)
    frames = [_frame((48, 64, 3), np.uint8, k) for k in (2, 3)]
    assert _run_tracker(tracker, img, box, frames) is ok


@pytest.mark.parametrize("size,ch,dtype", [
    ((1, 1), None, np.uint8), ((2, 3), 1, np.uint8), ((16, 16), 4, np.uint16),
    ((2000, 3000), 3, np.uint8), ((2000, 3000), None, np.float32), ((16, 16), 3, np.float64),
])
def test_tracker_tiny_and_large_frames(tracker, size, ch, dtype):
    H, W = size
    img = _frame(_shape(size, ch), dtype, 5)
    box = [W / 4, H / 4, max(W / 2, 1), max(H / 2, 1)]
    assert _run_tracker(tracker, img, box, [_frame(_shape(size, ch), dtype, 6)] * 2)


def test_tracker_non_finite_pixels(tracker):
    """NaN / inf pixels in a float frame must not turn into a NaN box."""
    img = _frame((48, 64, 3), np.float32, 7) * 255
    bad = img.copy()
    bad[::3, ::2] = np.nan
    bad[1::3, 1::2] = np.inf
    assert _run_tracker(tracker, img, [20, 15, 12, 10], [bad, bad, img])
    assert _run_tracker(tracker, bad, [20, 15, 12, 10], [img, bad])


@pytest.mark.parametrize("img", [np.zeros((0, 5, 3), np.uint8), np.zeros((5, 5, 2), np.uint8),
                                 np.zeros((5, 5, 3, 1), np.uint8), np.zeros(5, np.uint8)])
def test_tracker_rejects_non_images(tracker, img):
    with pytest.raises(ValueError, match="image"):
        tracker.init(img, [0, 0, 2, 2])
