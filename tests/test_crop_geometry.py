"""Tracker and training crop with one op: an un-augmented training pair is cut exactly as
the tracker cuts the same frames and boxes (template at init, scale-1 search crop)."""
import numpy as np
import pytest
import torch

from rasnet_plugin.config import get_default_config
from rasnet_plugin.tracker import RASNetTracker, context_size, crop_square, search_size
from rasnet_plugin.training import AugParams, RawPair, make_crops, warp_crop


class Recorder:
    """A stand-in network that keeps the crops the tracker feeds it."""

    def __init__(self, score_size):
        self.score_size, self.z, self.x = score_size, None, None

    def template(self, z):
        self.z = z.clone()

    def track(self, x):
        self.x = x.clone()
        return torch.zeros(x.shape[0], 1, self.score_size, self.score_size)


def textured(h, w, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def tracker_crops(cfg, frames, box):
    """(template, search crop at scale 1) as uint8 HxWx3, from RASNetTracker itself."""
    t = cfg.TRACK
    net = Recorder((t.INSTANCE_SIZE - t.EXEMPLAR_SIZE) // t.TOTAL_STRIDE + 1)
    tracker = RASNetTracker(net, cfg, device="cpu")
    tracker.init(frames[0], box)
    tracker.track(frames[1])
    mid = tracker.scale_num // 2
    assert tracker.scale_factors[mid] == 1.0
    as_image = lambda t: t.permute(1, 2, 0).contiguous().numpy()  # noqa: E731
    z, x = as_image(net.z[0]), as_image(net.x[mid])
    # the float crops the network saw hold whole numbers: they are uint8 crops converted
    assert np.array_equal(z, np.round(z)) and np.array_equal(x, np.round(x))
    return z.astype(np.uint8), x.astype(np.uint8)


def _pair_crops(cfg, frames, box):
    x, y, w, h = box
    center_box = (x + (w - 1) / 2, y + (h - 1) / 2, w, h)   # RawPair's (cx, cy, w, h)
    raw = RawPair(frames[0], center_box, frames[1], center_box)
    z, x_crop, offset = make_crops(raw, np.random.default_rng(0),
                                   AugParams.from_cfg(cfg, augment=False))
    assert offset.tolist() == [0.0, 0.0]
    return z, x_crop


def _inside(shape, box, side, out_size):
    """Mask of the crop pixels that sample only the image (no padding)."""
    x, y, w, h = box
    ones = np.full(shape, 255, np.uint8)
    return (crop_square(ones, (x + (w - 1) / 2, y + (h - 1) / 2), side, out_size,
                        (0, 0, 0)) == 255).all(axis=2)


@pytest.mark.parametrize("box, context", [
    ([60, 50, 40, 30], 0.5),            # inside the frame
    ([3.5, 140.25, 71, 23.5], 0.5),     # at the border: the crops are mostly padding
    ([120, 20, 17, 55], 0.3),           # another context amount
])
def test_unaugmented_training_crops_equal_the_trackers(box, context):
    cfg = get_default_config()
    cfg.TRACK.CONTEXT_AMOUNT = context
    first = textured(180, 230, 1)
    # another frame with the same channel means (its pixels moved): the tracker pads every
    # crop with the init frame's mean (PySOT's convention), training each crop with its
    # own frame's mean, so only frames of equal means share the padding too
    frames = [first, np.roll(first, (7, -11), axis=(0, 1))]
    assert np.array_equal(first.reshape(-1, 3).mean(0), frames[1].reshape(-1, 3).mean(0))
    z_track, x_track = tracker_crops(cfg, frames, box)
    z, x_crop = _pair_crops(cfg, frames, box)
    assert z.shape == z_track.shape == (127, 127, 3)
    assert x_crop.shape == x_track.shape == (255, 255, 3)
    np.testing.assert_array_equal(z, z_track)
    np.testing.assert_array_equal(x_crop, x_track)

    # frames of different means: the padding differs, every pixel from the image agrees
    frames = [first, textured(190, 240, 2)]
    z_track, x_track = tracker_crops(cfg, frames, box)
    z, x_crop = _pair_crops(cfg, frames, box)
    np.testing.assert_array_equal(z, z_track)      # the template comes from the init frame
    inside = _inside(frames[1].shape, box, search_size(*box[2:], context), 255)
    assert 0 < inside.sum()
    np.testing.assert_array_equal(x_crop[inside], x_track[inside])


def test_jitter_free_warp_is_the_tracker_crop_and_jitter_moves_it():
    img = textured(150, 200, 3)
    avg = img.reshape(-1, 3).mean(axis=0)
    side = search_size(30, 20)
    assert side == pytest.approx(context_size(30, 20) * 255 / 127)
    plain = crop_square(img, (80.5, 60.0), side, 255, avg)
    np.testing.assert_array_equal(warp_crop(img, (80.5, 60.0), side, 255, avg), plain)
    # a whole-pixel offset on a 1:1 crop is a pure translation of the same pixels
    one = crop_square(img, (80.0, 60.0), 101, 101, avg)
    moved = crop_square(img, (80.0, 60.0), 101, 101, avg, offset=(3, -2))
    np.testing.assert_array_equal(moved[10:90, 13:93], one[12:92, 10:90])
    # a stretch of 2 along x shows the centre's neighbourhood twice as wide
    wide = crop_square(img, (80.0, 60.0), 101, 101, avg, stretch=(2.0, 1.0))
    np.testing.assert_array_equal(wide[:, 50], one[:, 50])
    np.testing.assert_array_equal(wide[:, 52], one[:, 51])
