"""Training crops (SiamFC geometry) and augmentation.

Geometry. A target box (cx, cy, w, h) gets SiamFC's context, p = 0.5 * (w + h),
s_z = sqrt((w + p) * (h + p)); the template is the s_z x s_z square around the centre
resized to 127, the search crop the s_x = s_z * 255 / 127 square resized to 255, each
measured on its own frame's box and padded with that frame's per-channel mean.
Augmentation, as SiamFC: each crop is stretched by an independent factor per axis in
1 +- STRETCH (scale jitter), and the search crop is translated so that the target lands
at `offset` = (dx, dy), uniform in +-SHIFT pixels, from the crop's central pixel. One
affine warp per crop does cut, stretch, shift, padding and resize; the label map is built
from `offset` (see loss.label_maps), so it moves with the target.

Photometric (per crop): brightness, contrast and saturation jitter of strength COLOR, a
Gaussian blur with probability BLUR; and with probability GRAY both crops of the pair
become grayscale (3 equal channels).
"""
import math

import cv2
import numpy as np

__all__ = ["context_size", "warp_crop", "channel_mean", "color_jitter", "make_crops",
           "AugParams", "train_search_size"]


def channel_mean(img):
    return img.reshape(-1, img.shape[-1]).mean(axis=0)


def context_size(w, h, context=0.5):
    """Side of SiamFC's template square for a w x h target: sqrt((w + p) (h + p))."""
    p = context * (w + h)
    return math.sqrt((w + p) * (h + p))


def warp_crop(img, center, side, out_size, avg, stretch=(1.0, 1.0), offset=(0.0, 0.0)):
    """Square crop of side `side` around `center`, resized to `out_size`, padded with `avg`.

    Output pixel q samples the image at center + (q - o - offset) * side / out_size /
    stretch, o = (out_size - 1) / 2: `center` lands on pixel o + offset, and content
    appears `stretch` (sx, sy) times larger.
    """
    if not (side > 0 and math.isfinite(side)):
        raise ValueError("crop side must be positive and finite, got %r" % (side,))
    o = (out_size - 1) / 2.0
    ax = side / out_size / stretch[0]
    ay = side / out_size / stretch[1]
    m = np.array([[ax, 0.0, center[0] - ax * (o + offset[0])],
                  [0.0, ay, center[1] - ay * (o + offset[1])]], dtype=np.float64)
    return cv2.warpAffine(img, m, (out_size, out_size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(float(v) for v in avg))


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

    cx, cy, w, h = raw.template_box
    s_z = context_size(w, h, p.context)
    z = warp_crop(raw.template, (cx, cy), s_z, p.exemplar, channel_mean(raw.template), jitter())

    cx, cy, w, h = raw.search_box
    s_x = context_size(w, h, p.context) * p.instance / p.exemplar
    offset = tuple(rng.uniform(-p.shift, p.shift, size=2)) if p.shift > 0 else (0.0, 0.0)
    x = warp_crop(raw.search, (cx, cy), s_x, p.instance, channel_mean(raw.search), jitter(),
                  offset)

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
