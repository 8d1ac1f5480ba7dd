"""Speed never costs correctness: the optimised per-frame path against a plain one,
and bf16 against fp32, on a real sequence ($RASNET_TEST_DATA, else the bundled benchmark)."""
import os

import cv2
import numpy as np
import pytest
import torch

from _data import REAL_DATA
from rasnet_plugin.config import get_default_config
from rasnet_plugin.datasets import ensure_bundled, load_dataset
from rasnet_plugin.evaluation.metrics import iou
from rasnet_plugin.models import build_model
from rasnet_plugin.ops import attention_xcorr_reference
from rasnet_plugin.tracker import RASNetTracker

CROSSING = os.path.join(REAL_DATA, "OTB-dev", "Crossing") if REAL_DATA else None
FRAMES = 30


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    if CROSSING and os.path.isdir(CROSSING):
        video = load_dataset(CROSSING).videos[0]
    else:  # no real sequences: a bundled video (real photographs) instead
        video = load_dataset(ensure_bundled(str(tmp_path_factory.mktemp("bench")))).videos[0]
    return [video.load_frame(i) for i in range(FRAMES)], video.init_rect


def seeded_model():
    torch.manual_seed(0)
    return build_model(get_default_config())


class StraightforwardTracker(RASNetTracker):
    """The same tracking logic with every speed measure undone: one crop at a time by
    explicit bilinear sampling, fresh arrays, NCHW float32, the unfolded backbone called
    once per scale, and the plain PyTorch correlation formula."""

    def _crop(self, img, center, size, out_size):
        # output pixel u samples the image at centre + (u - (out-1)/2) * size/out
        # (pixel centres on integer coordinates, the tracker's documented convention)
        coords = (np.arange(out_size) - (out_size - 1) / 2.0) * (size / out_size)
        xs, ys = center[0] + coords, center[1] + coords
        h, w = img.shape[:2]
        x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
        fx, fy = (xs - x0)[None, :, None], (ys - y0)[:, None, None]
        src = img.astype(np.float64)

        def sample(yy, xx):
            inside = ((yy >= 0) & (yy < h))[:, None] & ((xx >= 0) & (xx < w))[None, :]
            vals = src[np.clip(yy, 0, h - 1)[:, None], np.clip(xx, 0, w - 1)[None, :]]
            return np.where(inside[..., None], vals, self.avg)

        top = sample(y0, x0) * (1 - fx) + sample(y0, x0 + 1) * fx
        bottom = sample(y0 + 1, x0) * (1 - fx) + sample(y0 + 1, x0 + 1) * fx
        return top * (1 - fy) + bottom * fy

    def init(self, img, bbox):
        super().init(img, bbox)
        self.model.release_inference()  # no BN folding

    def track(self, img):
        x_size = self._context_size(*self.size) * self.instance_size / self.exemplar_size
        crops = [self._crop(img, self.center, s, self.instance_size) for s in x_size * self.scale_factors]
        resp = []
        with torch.no_grad():
            for crop in crops:
                x = torch.from_numpy(crop).float().permute(2, 0, 1)[None].contiguous()
                xf = self.model.backbone(x.contiguous()).contiguous()
                m = self.model
                corr = attention_xcorr_reference(m.zf.contiguous(), xf, m.spatial, m.channel)
                resp.append(m.adjust(corr))
        stacked = torch.cat(resp)
        original = self.model.track
        self.model.track = lambda x: stacked  # reuse the parent's post-processing unchanged
        try:
            return super().track(img)
        finally:
            self.model.track = original


def run(tracker, frames, box):
    tracker.init(frames[0], box)
    return np.array([tracker.track(f)["bbox"] for f in frames[1:]])


def test_optimised_path_equals_straightforward_path(sequence):
    frames, box = sequence
    cfg = get_default_config()
    cfg.TRACK.PRECISION = "fp32"        # the plain path below is fp32 only
    fast = run(RASNetTracker(seeded_model(), cfg, device="cpu"), frames, box)
    plain = run(StraightforwardTracker(seeded_model(), cfg, device="cpu"), frames, box)
    # crops differ only by interpolation rounding (warpAffine uses fixed-point weights);
    # on a flat response that can move the argmax by one step of the 272x272 map
    # (8/16 search pixels, about 0.26 image pixels here), never further
    step = 0.5 * (np.sqrt(np.prod(np.array(box[2:]) + 0.5 * sum(box[2:]))) * 255 / 127) / 255
    diff = np.abs(fast - plain)
    assert diff.max() <= 2 * step + 1e-6, (diff.max(), step)
    assert diff.mean() < 0.5 * step, (diff.mean(), step)


def test_crop_matches_explicit_bilinear_sampling(sequence):
    frames, box = sequence
    tracker = StraightforwardTracker(seeded_model(), get_default_config(), device="cpu")
    tracker.init(frames[0], box)
    from rasnet_plugin.tracker import crop_square
    center, size = tracker.center + [3.3, -1.7], 180.4
    fast = crop_square(frames[1], center, size, 255, tracker.avg).astype(np.float64)
    plain = tracker._crop(frames[1], center, size, 255)
    # warpAffine quantises sample positions to 1/32 px: a few grey levels on sharp edges
    assert np.abs(fast - plain).mean() < 0.5 and np.abs(fast - plain).max() <= 4.0


def test_bf16_tracks_like_fp32_on_a_real_sequence(sequence):
    frames, box = sequence
    boxes = {}
    for precision in ("fp32", "bf16"):
        cfg = get_default_config()
        cfg.TRACK.PRECISION = precision
        boxes[precision] = run(RASNetTracker(seeded_model(), cfg, device="cpu"), frames, box)
    overlaps = iou(boxes["fp32"], boxes["bf16"])
    assert overlaps.min() > 0.9, overlaps.min()
    assert overlaps.mean() > 0.97, overlaps.mean()


def test_folded_backbone_is_the_same_function():
    model = seeded_model().eval()
    x = torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        plain = model.backbone(x)
        model.prepare_inference()
        folded = model.features(x)
        model.train()  # training drops the folded copy: it would go stale
        assert model.features(x) is not None and model.__dict__["_inference_backbone"] is None
    assert ((folded - plain).norm() / plain.norm()).item() < 1e-5
    assert not any("inference" in k for k in model.state_dict())
    cv2.setNumThreads(0)
