"""Training crops and augmentation, cut by the tracker's own crop op.

Geometry: `rasnet_plugin.tracker.crop`, shared with the tracker. The template is the
context square of the template frame's box (`context_size`) resized to EXEMPLAR_SIZE, the
search crop the square `search_size` of the search frame's box resized to the training
search size, each padded with its own frame's per-channel mean: without augmentation the
pixels are exactly those the tracker crops for the same frame and box.
Augmentation, as SiamFC, perturbs the crop passed to that same op: each crop is stretched
by an independent factor per axis in 1 +- STRETCH (scale jitter), and the search crop is
translated so that the target lands at `offset` = (dx, dy), uniform in +-SHIFT pixels,
from the crop's central pixel. The label map is built from `offset` (see
loss.label_maps), so it moves with the target.

Photometric (per crop): brightness, contrast and saturation jitter of strength COLOR, a
Gaussian blur with probability BLUR; and with probability GRAY both crops of the pair
become grayscale (3 equal channels).
"""
import cv2
import numpy as np

from ..tracker.crop import channel_mean, context_size, crop_square, search_size

__all__ = ["context_size", "warp_crop", "channel_mean", "color_jitter", "make_crops",
           "AugParams", "train_search_size"]


def warp_crop(img, center, side, out_size, avg, stretch=(1.0, 1.0), offset=(0.0, 0.0)):
    """`crop_square` with training's jitter as positional arguments: the square of side
    `side` around `center`, resized to `out_size`, stretched by `stretch`, with `center`
    landing `offset` pixels from the crop's central pixel."""
    return crop_square(img, center, side, out_size, avg, stretch=stretch, offset=offset)


def color_jitter(img, rng, strength):
    """Random brightness, contrast and saturation, each a factor in 1 +- strength."""
    if strength <= 0:
        return img
    f = img.astype(np.float32)
    b, c, s = rng.uniform(1 - strength, 1 + strength, size=3)
    gray = f.mean(axis=2, keepdims=True)
    f = gray + (f - gray) * s                 # saturation
    f = f.mean() + (f - f.mean()) * c         # contrast
    f = f * b                                 # brightness
    return np.clip(f + 0.5, 0, 255).astype(np.uint8)


def _blur(img, rng):
    sigma = rng.uniform(0.5, 1.5)
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _gray(img):
    g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


def train_search_size(cfg):
    """The search crop side used in training (TRAIN.SEARCH_SIZE, 0: TRACK.INSTANCE_SIZE)."""
    return cfg.TRAIN.SEARCH_SIZE if cfg.TRAIN.SEARCH_SIZE > 0 else cfg.TRACK.INSTANCE_SIZE


class AugParams:
    """Crop sizes and augmentation strengths, from a config node (cfg.TRAIN.AUG et al.)."""

    def __init__(self, exemplar=127, instance=255, context=0.5, stretch=0.05, shift=8,
                 color=0.2, blur=0.1, gray=0.05):
        self.exemplar, self.instance, self.context = int(exemplar), int(instance), float(context)
        self.stretch, self.shift = float(stretch), float(shift)
        self.color, self.blur, self.gray = float(color), float(blur), float(gray)

    @classmethod
    def from_cfg(cls, cfg, augment=True):
        a = cfg.TRAIN.AUG
        kw = dict(exemplar=cfg.TRACK.EXEMPLAR_SIZE, instance=train_search_size(cfg),
                  context=cfg.TRACK.CONTEXT_AMOUNT)
        if augment:
            kw.update(stretch=a.STRETCH, shift=a.SHIFT, color=a.COLOR, blur=a.BLUR, gray=a.GRAY)
        else:
            kw.update(stretch=0, shift=0, color=0, blur=0, gray=0)
        return cls(**kw)


def make_crops(raw, rng, p):
    """(template 127x127x3, search 255x255x3 uint8, offset (dx, dy)) of a RawPair."""
    def jitter():
        if p.stretch <= 0:
            return (1.0, 1.0)
        return tuple(rng.uniform(1 - p.stretch, 1 + p.stretch, size=2))

    # the tracker's crops (its init template, its scale-1 search crop), jittered
    cx, cy, w, h = raw.template_box
    z = crop_square(raw.template, (cx, cy), context_size(w, h, p.context), p.exemplar,
                    channel_mean(raw.template), stretch=jitter())

    cx, cy, w, h = raw.search_box
    s_x = search_size(w, h, p.context, p.exemplar, p.instance)
    offset = tuple(rng.uniform(-p.shift, p.shift, size=2)) if p.shift > 0 else (0.0, 0.0)
    x = crop_square(raw.search, (cx, cy), s_x, p.instance, channel_mean(raw.search),
                    stretch=jitter(), offset=offset)

    gray = p.gray > 0 and rng.random() < p.gray
    out = []
    for img in (z, x):
        img = color_jitter(img, rng, p.color)
        if p.blur > 0 and rng.random() < p.blur:
            img = _blur(img, rng)
        if gray:
            img = _gray(img)
        out.append(np.ascontiguousarray(img))
    return out[0], out[1], np.asarray(offset, dtype=np.float32)
