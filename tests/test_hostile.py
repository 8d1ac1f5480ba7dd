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
import collections
import json
import math
import os
import re

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rasnet_plugin.config import ConfigError, get_default_config, load_config
from rasnet_plugin.datasets import DatasetError, load_dataset, read_gt_file
from rasnet_plugin.models import build_model
from rasnet_plugin.ops import attention_xcorr, attention_xcorr_reference
from rasnet_plugin.tracker import RASNetTracker

# derandomized: the same draws every run, so the minimum shares of working and refused
# draws each test asserts hold by construction instead of by luck (no CI flakes)
FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SLOW = settings(max_examples=30, deadline=None, derandomize=True,
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


@st.composite
def valid_gt(draw, rows=st.integers(1, 6), width=st.sampled_from([4, 8]),
             value=st.floats(allow_nan=True, allow_infinity=True)):
    """A well-formed ground-truth file and the array it holds."""
    n, k = draw(rows), draw(width)
    table = [[draw(value) for _ in range(k)] for _ in range(n)]
    sep = draw(st.sampled_from([",", "\t", " ", ", "]))
    end = draw(st.sampled_from(["", "\n", "\r\n"]))
    text = "\n".join(sep.join(repr(v) for v in row) for row in table) + end
    return text.encode(), np.array(table, dtype=np.float64)


# boxes a sequence can start from: 3 frames, finite, w and h > 0
valid_boxes = valid_gt(rows=st.just(3), width=st.just(4), value=st.floats(0.5, 8.0))

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


class Tally:
    """What a property test's draws came to. A test that accepts "worked" or "raised the
    documented error" would pass if every draw raised: counting the outcomes lets it check
    that enough draws really took the working path."""

    def __init__(self):
        self.counts = collections.Counter()

    def __call__(self, outcome):
        self.counts[outcome] += 1
        event(outcome)  # shown by pytest --hypothesis-show-statistics

    def require(self, outcome, fraction):
        total = sum(self.counts.values())
        assert total and self.counts[outcome] >= fraction * total, \
            "only %d of %d draws %s (want >= %d%%): %s" % (
                self.counts[outcome], total, outcome, 100 * fraction, dict(self.counts))


def _loads_or_dataset_error(tally, fn, *args):
    """Call a loader: return its result, or None after a DatasetError (nothing else);
    `tally` (if any) counts which."""
    tally = tally or (lambda outcome: None)
    try:
        result = fn(*args)
    except DatasetError as e:
        assert isinstance(e, ValueError) and str(e)
        tally("rejected")
        return None
    tally("loaded")
    return result


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

def test_read_gt_file_random_content(tmp_path):
    tally = Tally()

    @FAST
    @given(data=gt_bytes, valid=st.booleans(), table=valid_gt())
    def draw(data, valid, table):
        expected = None
        if valid:  # now and then a well-formed file: it must load, exactly
            data, expected = table
        p = str(_fresh(tmp_path) / "groundtruth.txt")
        _write(p, data)
        gt = _loads_or_dataset_error(tally, read_gt_file, p)
        if expected is not None:
            assert gt is not None, data
            np.testing.assert_array_equal(gt, expected)
        if gt is not None:
            assert gt.dtype == np.float64 and gt.ndim == 2 and gt.shape[1] in (4, 8) and len(gt)

    draw()
    tally.require("loaded", 0.1)
    tally.require("rejected", 0.1)


def test_text_layouts_random_groundtruth(tmp_path, frames3):
    """OTB (folder of sequences, or one sequence), VOT (list.txt, sequence file, tags) and a
    GOT-10k-like train folder (seq/groundtruth.txt + frames, no list) with random content."""
    tally = Tally()

    @FAST
    @given(data=gt_bytes, layout=st.sampled_from(["otb", "otb-seq", "vot", "vot-seq", "got10k"]),
           nframes=st.sampled_from([0, 1, 3]), tag=st.none() | gt_bytes,
           seqfile=st.none() | st.sampled_from(["channels.color=%04d.png", "channels.color=%",
                                                "channels.color=%s%s", "channels.color=%(a)d",
                                                "channels.color=%*d", "channels.color=\x00%d",
                                                "channels.color=../%04d.png", "garbage"]),
           listfile=st.none() | st.sampled_from(["seq\n", "seq\nmissing\n", "\n\n", "../x\n",
                                                 "seq\nseq\n"]),
           clean=st.booleans(), boxes=valid_boxes)
    def draw(data, layout, nframes, tag, seqfile, listfile, clean, boxes):
        if clean:  # a well-formed sequence of this layout: it must load, with its boxes
            data, nframes, tag, seqfile, listfile = boxes[0], 3, None, None, None
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
        ds = _loads_or_dataset_error(tally, load_dataset, str(root))
        if clean:
            assert ds is not None and len(ds) == 1, layout
            np.testing.assert_array_equal(ds[0].gt, boxes[1])
        if ds is not None:
            _check_dataset(ds)

    draw()
    tally.require("loaded", 0.1)
    tally.require("rejected", 0.1)


# ---------------------------------------------------------------- PySOT JSON

VIDEO_FIELDS = ["video_dir", "init_rect", "img_names", "gt_rect", "attr", "camera_motion",
                "illum_change", "motion_change", "size_change", "occlusion"]


def _good_entry():
    return {"video_dir": "seq", "init_rect": [1, 1, 5, 5],
            "img_names": ["seq/%04d.png" % i for i in (1, 2, 3)],
            "gt_rect": [[1, 1, 5, 5]] * 3, "attr": ["a"], "occlusion": [0, 1, 0]}


def _dump(obj):
    return json.dumps(obj, allow_nan=True)


def test_pysot_json_random_field_values(tmp_path, frames3):
    """One field of a valid entry replaced by a random JSON value (or removed)."""
    tally = Tally()

    @FAST
    @given(field=st.sampled_from(VIDEO_FIELDS), value=json_values | st.lists(number, max_size=9)
           | st.lists(st.lists(number, min_size=3, max_size=9), max_size=4), drop=st.booleans())
    def draw(field, value, drop):
        root = _fresh(tmp_path) / "DS"
        _link_frames(frames3, str(root / "seq"))
        entry = _good_entry()
        if drop:
            entry.pop(field, None)
        else:
            entry[field] = value
        _write(str(root / "DS.json"), _dump({"seq": entry}))
        ds = _loads_or_dataset_error(tally, load_dataset, str(root))
        if ds is not None:
            _check_dataset(ds)

    draw()
    tally.require("loaded", 0.1)
    tally.require("rejected", 0.1)


def test_pysot_json_random_documents_truncated_and_bytes(tmp_path, frames3):
    tally = Tally()

    @FAST
    @given(doc=json_values | st.dictionaries(st.text(max_size=5), json_values, max_size=3),
           cut=st.none() | st.integers(0, 400), raw=st.none() | st.binary(max_size=100),
           good=st.booleans())
    def draw(doc, cut, raw, good):
        root = _fresh(tmp_path) / "DS"
        _link_frames(frames3, str(root / "seq"))
        if good:  # the whole good document: it must load
            doc, raw = {"seq": _good_entry()}, None
            cut = None if cut is None else max(cut, len(_dump(doc)))
        text = _dump(doc) if raw is None else None
        if cut is not None and text is None:
            text = _dump({"seq": _good_entry()})
        if cut is not None:
            text = text[:cut]                               # truncated file
        _write(str(root / "DS.json"), text if raw is None else raw)
        ds = _loads_or_dataset_error(tally, load_dataset, str(root / "DS.json"))
        if good:
            assert ds is not None and [v.name for v in ds] == ["seq"]
            np.testing.assert_array_equal(ds[0].gt, [[1, 1, 5, 5]] * 3)
        if ds is not None:
            _check_dataset(ds)

    draw()
    tally.require("loaded", 0.1)
    tally.require("rejected", 0.1)


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
    ds = _loads_or_dataset_error(None, load_dataset, str(root))
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


def _default_at(key):
    node = get_default_config()
    for k in key:
        node = node[k]
    return node


def _typed_value(default):
    """Values load_config must take for a key with this default (same type)."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(-10 ** 6, 10 ** 6)
    if isinstance(default, float):
        return st.floats(allow_nan=False, allow_infinity=False)
    # letters only: yacs would literal_eval a string such as "1" or "None" into another type
    word = st.text("abcdefgXYZ_", min_size=1, max_size=8).map(lambda t: "s" + t)
    if isinstance(default, str):
        return word
    return st.lists(word, max_size=3)


def _nested(key, value):
    for k in reversed(key):
        value = {k: value}
    return value


LEAF_KEYS = [k for k in KNOWN_KEYS if not isinstance(_default_at(k), dict)]
# (key, value) pairs that must load, and load as written
typed_settings = st.sampled_from(LEAF_KEYS).flatmap(
    lambda key: st.tuples(st.just(key), _typed_value(_default_at(key))))


def _check_setting(node, setting):
    assert node is not None, setting
    key, value = setting
    got = node
    for k in key:
        got = got[k]
    assert got == value or (isinstance(value, list) and list(got) == value), (setting, got)


def _load_cfg(tally, path):
    try:
        cfg = load_config(path)
    except ConfigError as e:
        assert isinstance(e, ValueError) and str(e)
        tally("rejected")
        return None
    tally("loaded")
    return cfg


def _same_types(node, ref, where=""):
    for k, v in node.items():
        if k in ref and not isinstance(ref[k], dict):
            # load_config rejects `null` for a key whose default is not None
            ok = (type(v) is type(ref[k]) or {type(v), type(ref[k])} <= {list, tuple}
                  or (v is None and ref[k] is None))
            assert ok, "%s%s: %r (default %r)" % (where, k, v, ref[k])
        elif k in ref and isinstance(v, dict):
            _same_types(v, ref[k], where + k + ".")


def _load_and_check(tally, path, setting):
    """Load a drawn config; a well-formed draw (`setting`) must hold what it set, and any
    config that loads keeps every default's type."""
    node = _load_cfg(tally, path)
    if setting is not None:
        _check_setting(node, setting)
    if node is not None:
        _same_types(node, get_default_config())


def test_config_random_yaml_text(tmp_path):
    tally = Tally()

    @FAST
    @given(text=st.text(max_size=200) | st.binary(max_size=120), typed=st.booleans(),
           setting=typed_settings)
    def draw(text, typed, setting):
        if typed:  # now and then a well-formed file: it must load, as written
            text = yaml.safe_dump(_nested(*setting))
        else:
            setting = None
        p = str(_fresh(tmp_path) / "c.yaml")
        _write(p, text)
        _load_and_check(tally, p, setting)

    draw()
    tally.require("loaded", 0.1)
    tally.require("rejected", 0.1)


def test_config_random_values_and_unknown_keys(tmp_path):
    tally = Tally()

    @FAST
    @given(key=st.sampled_from(KNOWN_KEYS) | st.lists(st.text(max_size=6), min_size=1, max_size=3)
           .map(tuple), value=yaml_values, typed=st.booleans(), setting=typed_settings)
    def draw(key, value, typed, setting):
        if typed:  # now and then a value of the key's own type: it must load, as written
            key, value = setting
        else:
            setting = None
        p = str(_fresh(tmp_path) / "c.yaml")
        _write(p, yaml.safe_dump(_nested(key, value), allow_unicode=True))
        _load_and_check(tally, p, setting)

    draw()
    tally.require("loaded", 0.1)
    tally.require("rejected", 0.1)


# ---------------------------------------------------------------- the fused op

_DTYPE_WORDS = {"Float": "float32", "Double": "float64", "Int": "int32", "BFloat16": "bfloat16"}


def _same_spelling(msg):
    """The C++ op writes shapes as [2, 4, 3, 3] and dtypes as Float, the reference as
    2x4x3x3 and torch.float32: bring both to the reference's spelling."""
    msg = re.sub(r"\[([0-9, ]*)\]", lambda m: "x".join(m.group(1).split(", ")) or "scalar", msg)
    msg = re.sub(r"\b(%s)\b" % "|".join(_DTYPE_WORDS), lambda m: _DTYPE_WORDS[m.group(1)], msg)
    return msg.replace("torch.", "")


dims = st.integers(0, 5)


def test_op_random_shapes():
    tally = Tally()

    @FAST
    @given(bz=st.integers(0, 3), bx=st.integers(0, 3), c=st.integers(0, 4), h=dims, w=dims,
           hh=st.integers(0, 8), ww=st.integers(0, 8),
           s_shape=st.none() | st.lists(st.integers(0, 4), min_size=1, max_size=5),
           b_shape=st.none() | st.lists(st.integers(0, 4), min_size=1, max_size=5),
           channel4=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64,
                                                          torch.bfloat16, torch.int32]),
           mixed=st.booleans(), layout=st.sampled_from(["contig", "cl", "slice"]),
           seed=st.integers(0, 2 ** 16), valid=st.booleans())
    def draw(bz, bx, c, h, w, hh, ww, s_shape, b_shape, channel4, dtype, mixed, layout, seed,
             valid):
        if valid:  # the same draw made well-formed: the op must compute it
            bx, c, h, w = max(bx, 1), max(c, 1), max(h, 1), max(w, 1)
            bz = bz if bz in (1, bx) else 1
            hh, ww = max(hh, h), max(ww, 2 * w if layout == "slice" else w)
            s_shape = b_shape = None
            dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
            mixed = False
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
        ref_error = None
        try:
            ref = attention_xcorr_reference(z, x, s, b)
        except (ValueError, TypeError) as e:
            ref, ref_error = None, e
        except RuntimeError:
            ref = None  # conv2d itself declines (e.g. bf16 edge cases): the op may reject too
        try:
            out = attention_xcorr(z, x, s, b)
        except (ValueError, TypeError) as e:
            msg = _same_spelling(str(e).splitlines()[0])
            assert not valid, "the op refused well-formed inputs: " + msg
            if ref_error is not None:
                # both reject: the same check, in the same words (C++ and Python alike)
                assert type(e) is type(ref_error), (e, ref_error)
                assert msg == _same_spelling(str(ref_error)), (msg, str(ref_error))
                tally("both rejected")
            else:
                # only the op rejects: a dtype the CPU kernels do not take
                assert z.dtype not in (torch.float32, torch.float64), msg
                assert isinstance(e, TypeError) and msg.startswith(
                    "attention_xcorr: the CPU kernels take float32 or float64; got "), msg
                tally("not a CPU kernel dtype")
            return
        assert ref is not None, "op accepted inputs the reference rejects"
        assert out.shape == ref.shape and out.dtype == ref.dtype
        tol = {torch.float64: 1e-9, torch.float32: 1e-4, torch.bfloat16: 5e-2}[out.dtype]
        scale = float(ref.abs().max()) + 1 if ref.numel() else 1
        assert torch.allclose(out.double(), ref.double(), rtol=tol, atol=tol * scale)
        tally("computed")

    draw()
    tally.require("computed", 0.1)
    tally.require("both rejected", 0.1)


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
    _track_sanely(tracker, box, frames)
    return True


def _init_contract(box, shape):
    """What init must do with `box` [x, y, w, h] in an image of `shape`, by its documented
    rules: (True, None) track it; (False, regex) refuse it with a ValueError matching regex;
    (None, regex) either (w or h so extreme that the search region may under/overflow)."""
    x, y, w, h = box
    if not all(math.isfinite(v) for v in box):
        return False, r"^init box .* has NaN or inf$"
    if w <= 0 or h <= 0:
        return False, r"^init box .* is empty or has a negative size$"
    H, W = shape[:2]
    if x + w <= 0 or y + h <= 0 or x >= W or y >= H:
        return False, r"^init box .* lies entirely outside the %dx%d image$" % (W, H)
    if 1e-100 <= min(w, h) and max(w, h) <= 1e100:
        return True, None
    return None, r"^init box .* is too (large|small) to track$"


def _track_sanely(tracker, box, frames):
    for f in frames:
        out = tracker.track(f)
        b = out["bbox"]
        assert len(b) == 4 and all(math.isfinite(v) for v in b), (box, b)
        assert b[2] > 0 and b[3] > 0, (box, b)
        H, W = f.shape[:2]
        cx, cy = b[0] + (b[2] - 1) / 2, b[1] + (b[3] - 1) / 2
        assert -1e-6 <= cx <= W - 1 + 1e-6 and -1e-6 <= cy <= H - 1 + 1e-6, (box, b, f.shape)


def test_tracker_hostile_frames_and_boxes(tracker):
    """Sane result: init either raises ValueError (box not 4 finite numbers, w or h <= 0,
    box entirely outside the image, box so small/large its search region under/overflows,
    or an image that is not HxW[x1|3|4]) or every track() returns a finite box with w, h > 0
    whose centre lies inside the current frame (the tracker clamps its centre to the image
    and its size to [max(min(10 px, init), 0.2 init), 5 init], also capped by the frame
    size).  uint16 frames are scaled from 0..65535, int / bool ones taken as numbers on the
    0..255 scale, like float ones; frames of another size than the init frame are allowed."""
    tally = Tally()

    @SLOW
    @given(init=frame_spec, box=st.tuples(coord, coord, coord, coord),
           rel=st.none() | st.tuples(st.floats(-0.5, 1.2), st.floats(-0.5, 1.2),
                                     st.floats(0.0, 1.5), st.floats(0.0, 1.5))
           | st.tuples(st.floats(0.0, 0.9), st.floats(0.0, 0.9),       # well inside
                       st.floats(0.05, 1.0), st.floats(0.05, 1.0)),
           later=st.lists(frame_spec, min_size=1, max_size=2))
    def draw(init, box, rel, later):
        (size, ch, dtype, seed) = init
        img = _frame(_shape(size, ch), dtype, seed)
        if rel is not None:  # a box relative to the image: hanging over borders, 1x1, ...
            H, W = size
            box = (rel[0] * W, rel[1] * H, rel[2] * W, rel[3] * H)
        frames = [_frame(_shape(s, c), d, k) for (s, c, d, k) in later]
        box = [float(v) for v in box]
        must_track, refusal = _init_contract(box, img.shape)
        try:
            tracker.init(img, box)
        except ValueError as e:
            assert must_track is not True, "init refused %r in a %s image: %s" % (box, img.shape, e)
            assert re.search(refusal, str(e)), (refusal, str(e))
            tally("refused")
            event("refused: " + re.sub(r"^init box .* (is|has|lies) ", "", str(e)))
            return
        assert must_track is not False, "init took %r in a %s image" % (box, img.shape)
        _track_sanely(tracker, box, frames)
        tally("tracked")

    draw()
    tally.require("tracked", 0.1)
    tally.require("refused", 0.1)


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


def test_tracker_takes_16_bit_frames_at_their_full_range(tracker):
    """A uint16 frame (a 16-bit PNG read unchanged) tracks like its 8-bit version: 0..65535
    is scaled to 0..255 (taken as 0..255 itself, the network saw values 257x too large)."""
    frames8 = [_frame((48, 64, 3), np.uint8, k) for k in (1, 2, 3)]
    frames8[1][20:30, 24:36] = frames8[0][15:25, 20:32]   # the target moved
    runs = []
    for frames in (frames8, [f.astype(np.uint16) * 257 for f in frames8]):
        tracker.init(frames[0], [20, 15, 12, 10])
        runs.append([tracker.track(f) for f in frames[1:]])
    for a, b in zip(*runs):
        np.testing.assert_allclose(b["bbox"], a["bbox"], atol=1e-3)
        # (8-bit crops are rounded to integers, float ones are not)
        assert b["best_score"] == pytest.approx(a["best_score"], rel=1e-3)


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
