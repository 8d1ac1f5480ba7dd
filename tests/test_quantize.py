"""TRACK.QUANTIZE int8: the quantised backbone computes the float one's features, is
built once per set of weights, and tracks like fp32 ($RASNET_TEST_DATA's Crossing with the
shipped weights, else a bundled video)."""
import os

import numpy as np
import pytest
import torch

from _data import REAL_DATA
from rasnet_plugin import build_tracker
from rasnet_plugin.config import get_default_config, load_config, resolve_config
from rasnet_plugin.datasets import ensure_bundled, load_dataset
from rasnet_plugin.evaluation.metrics import iou
from rasnet_plugin.evaluation.speed import run_sequence, scores
from rasnet_plugin.models import build_model
from rasnet_plugin.models.quantize import calibration_batches, quantize_int8, resolve_quantize
from rasnet_plugin.tracker import RASNetTracker

CROSSING = os.path.join(REAL_DATA, "OTB-dev", "Crossing") if REAL_DATA else None


def _quantised_convs(module):
    return sum(".quantized." in type(m).__module__ and "Conv" in type(m).__name__
               for m in module.modules())


def test_calibration_batches_are_tracker_crops():
    batches = calibration_batches(127, 255, photos=["hubble_deep_field", "coins"])
    assert [tuple(b.shape) for b in batches] == [(3, 3, 127, 127), (3, 3, 255, 255)] * 2
    for b in batches:
        assert b.dtype == torch.float32 and b.is_contiguous(memory_format=torch.channels_last)
        assert 0 <= b.min() and b.max() <= 255 and b.std() > 10  # real image content
    # a grey photo comes in as three equal BGR channels
    assert torch.equal(batches[2][:, 0], batches[2][:, 1])


def test_int8_trunk_computes_the_float_features():
    tracker = build_tracker("rasnet", device="cpu")
    model = tracker.model.eval()
    model.prepare_inference()
    folded = model.__dict__["_inference_backbone"]
    q = quantize_int8(folded, calibration_batches())
    assert _quantised_convs(q) == 5     # conv1..conv5, ReLUs fused in
    x = calibration_batches(photos=["retina"])[1]
    with torch.no_grad():
        ref, out = folded(x), q(x)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    rel = ((out - ref).norm() / ref.norm()).item()
    assert rel < 0.15, rel
    # the features still point the same way, channel by channel, at each position
    cos = torch.nn.functional.cosine_similarity(out, ref, dim=1)
    assert cos.mean() > 0.97, cos.mean()


def test_quantised_copy_is_built_once_per_set_of_weights():
    torch.manual_seed(0)
    model = build_model(get_default_config()).eval()
    model.prepare_inference(quantize="int8")
    first = model.__dict__["_inference_backbone"]
    assert _quantised_convs(first) == 5
    model.prepare_inference(quantize="int8")
    assert model.__dict__["_inference_backbone"] is first       # same weights: reused
    with torch.no_grad():
        model.backbone.conv1[0].weight.mul_(1.5)                # an optimizer-like step
    model.prepare_inference(quantize="int8")
    assert model.__dict__["_inference_backbone"] is not first   # rebuilt from the new weights
    model.prepare_inference()
    assert _quantised_convs(model.__dict__["_inference_backbone"]) == 0
    with pytest.raises(ValueError, match="quantize must be none or int8"):
        model.prepare_inference(quantize="int4")


def test_auto_picks_int8_only_where_it_pays():
    alexnet = load_config(resolve_config("rasnet"))
    mobilenet = load_config(resolve_config("rasnet_mobilenetv2"))
    assert alexnet.TRACK.QUANTIZE == "auto"
    for cfg in (alexnet, mobilenet):
        cfg.TRACK.PRECISION = "fp32"
    assert RASNetTracker(build_model(alexnet), alexnet, device="cpu").quantize == "int8"
    assert RASNetTracker(build_model(mobilenet), mobilenet, device="cpu").quantize == "none"
    # on a GPU auto keeps the float trunk; an explicit int8 there says why it cannot
    assert resolve_quantize("auto", build_model(alexnet).backbone, "cuda") == "none"
    with pytest.raises(ValueError, match="CPU only, not on cuda"):
        resolve_quantize("int8", build_model(alexnet).backbone, "cuda")
    mobilenet.TRACK.QUANTIZE = "int8"
    with pytest.raises(ValueError, match="MobileNetV2 trunk: its dilated depthwise"):
        RASNetTracker(build_model(mobilenet), mobilenet, device="cpu")


def test_int8_build_leaves_the_engine_and_works_on_inference_tensors(monkeypatch):
    torch.manual_seed(0)
    engine = torch.backends.quantized.engine
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")    # built on oneDNN, which honours it
    model = build_model(get_default_config()).eval()
    model.prepare_inference(quantize="int8")
    assert torch.backends.quantized.engine == engine
    with torch.inference_mode():                          # no version counters to key on
        frozen = build_model(get_default_config()).eval()
        frozen.prepare_inference(quantize="int8")
        first = frozen.__dict__["_inference_backbone"]
        frozen.prepare_inference(quantize="int8")         # so it is rebuilt, never stale
        assert frozen.__dict__["_inference_backbone"] is not first
        x = calibration_batches(photos=["moon"])[1]
        assert torch.isfinite(frozen.features(x)).all()


def test_quantize_option_is_checked():
    cfg = get_default_config()
    cfg.TRACK.QUANTIZE = "int4"
    with pytest.raises(ValueError, match="TRACK.QUANTIZE must be one of auto, none, int8"):
        RASNetTracker(build_model(cfg), cfg, device="cpu")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    if CROSSING and os.path.isdir(CROSSING):
        return load_dataset(CROSSING).videos[0]
    return load_dataset(ensure_bundled(str(tmp_path_factory.mktemp("bench")))).videos[0]


@pytest.mark.parametrize("precision", ["fp32", "auto"])    # auto: bf16 on bf16-native CPUs
def test_int8_tracks_like_fp32(video, precision):
    frames = [video.load_frame(i) for i in range(len(video))]
    gt = video.gt_xywh()
    boxes, aucs = {}, {}
    for quantize in ("none", "int8"):
        cfg = load_config(resolve_config("rasnet"))
        cfg.TRACK.PRECISION, cfg.TRACK.QUANTIZE = ("fp32", "none") if quantize == "none" \
            else (precision, "int8")
        tracker = build_tracker(cfg, device="cpu")
        boxes[quantize] = run_sequence(tracker, frames, video.init_rect)[0]
        assert _quantised_convs(tracker.model.__dict__["_inference_backbone"]) == \
            (5 if quantize == "int8" else 0)
        aucs[quantize] = scores(gt, boxes[quantize])[0]
    overlap = iou(boxes["none"], boxes["int8"])
    assert overlap.mean() > 0.85, overlap.mean()
    assert aucs["int8"] > aucs["none"] - 0.03, aucs
    assert aucs["int8"] > 0.6, aucs     # and it tracks: an untrained net scores well below
