"""The one crop geometry of this package: tracking and training both crop with `crop_square`.

Context. A w x h target gets SiamFC's context, p = context * (w + h), and the template
square of side s_z = sqrt((w + p) * (h + p)) (`context_size`); the search square is
s_x = s_z * instance_size / exemplar_size (`search_size`). The tracker crops the template
(s_z -> EXEMPLAR_SIZE) at init and the scale pyramid (s_x * scale -> INSTANCE_SIZE) every
frame; training crops each frame of a pair the same way, so a network sees at training
time exactly the crops it gets while tracking (tests/test_crop_geometry.py checks it
pixel for pixel).

Crop. A square of side `size` (image pixels) centred on `center` = (cx, cy) is resized to
`out_size` x `out_size`; output pixel k (0-based) samples the image at
`c + (k - (out_size - 1) / 2) * size / out_size`, so the crop's central pixel lies exactly
on the centre, for odd and even sizes alike. (PySOT's `get_subwindow` rounds the corner to
whole pixels first, which shifts its crops by 0.5-1 px; we keep the sub-pixel centre.)
Pixels outside the image take the per-channel mean `avg` (PySOT's convention).

Training's augmentation (SiamFC's) is a perturbation of that same crop, passed to the same
op: `stretch` = (sx, sy) magnifies the content per axis (the crop side is divided by it),
and `offset` = (dx, dy) puts `center` at output pixel (o + dx, o + dy) instead of the
central pixel o. With the defaults (1, 1) and (0, 0) the affine map is exactly the
tracker's, bit for bit.

One `cv2.warpAffine` per crop does the cut, the padding and the resize at once: no padded
copy of the frame is ever built. Crops stay in the image's dtype (uint8 frames give uint8
crops, a quarter of the float bytes); the tracker converts them to float in one copy.
"""
import math

import cv2
import numpy as np

__all__ = ["context_size", "search_size", "crop_square", "crop_pyramid", "channel_mean"]


def channel_mean(img):
    """Per-channel mean of an HxWxC image (the padding value), over its finite pixels:
    a few NaN/inf pixels in a float frame must not make every padded pixel NaN.
    NaN for a channel with no finite pixel at all."""
    flat = img.reshape(-1, img.shape[-1])
    with np.errstate(invalid="ignore", divide="ignore"):   # inf - inf, 0 / 0: NaN, handled
        avg = flat.mean(axis=0)
        if flat.dtype.kind != "f" or np.isfinite(avg).all():
            return avg
        finite = np.isfinite(flat)
        return np.where(finite, flat, 0).sum(axis=0, dtype=np.float64) / finite.sum(axis=0)


def context_size(w, h, context=0.5):
    """Side of SiamFC's template square for a w x h target: sqrt((w + p) (h + p)),
    p = context * (w + h)."""
    p = context * (w + h)
    return math.sqrt((w + p) * (h + p))


def search_size(w, h, context=0.5, exemplar_size=127, instance_size=255):
    """Side of the search square for a w x h target: the template square scaled by
    instance_size / exemplar_size (the target keeps its size in both crops)."""
    return context_size(w, h, context) * instance_size / exemplar_size


def _affine(center, size, out_size, stretch, offset):
    # inverse map: output pixel (u, v) -> image point
    o = (out_size - 1) / 2.0
    ax = size / out_size / stretch[0]
    ay = size / out_size / stretch[1]
    return np.array([[ax, 0.0, center[0] - ax * (o + offset[0])],
                     [0.0, ay, center[1] - ay * (o + offset[1])]], dtype=np.float64)


def crop_square(img, center, size, out_size, avg, out=None, *, stretch=(1.0, 1.0),
                offset=(0.0, 0.0)):
    """Crop side `size` around `center`, resize to `out_size` (bilinear), pad with `avg`.

    img: HxWxC (C <= 4) uint8 or float32; center: (cx, cy) in pixel coordinates; avg: C
    values. `out` (out_size x out_size x C, img's dtype, C-contiguous) is filled in place.
    stretch, offset: training's scale and shift jitter (see the module docstring).
    Returns the crop.
    """
    size = float(size)
    if not (size > 0 and math.isfinite(size)):
        raise ValueError("crop size must be positive and finite, got %r" % (size,))
    if out is None:
        out = np.empty((out_size, out_size, img.shape[2]), dtype=img.dtype)
    border = tuple(float(v) for v in avg)
    res = cv2.warpAffine(img, _affine(center, size, out_size, stretch, offset),
                         (out_size, out_size), dst=out,
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if res is not out:  # cv2 reallocates when `out` does not fit; keep the caller's buffer
        out[...] = res
    return out


def crop_pyramid(img, center, sizes, out_size, avg, out=None):
    """One crop per side length in `sizes`, all centred on `center`: (S, out, out, C).

    `out` (S x out_size x out_size x C) is reused frame after frame. Permuted to
    (S, C, H, W), this layout is exactly PyTorch's channels_last.
    """
    if out is None:
        out = np.empty((len(sizes), out_size, out_size, img.shape[2]), dtype=img.dtype)
    for i, s in enumerate(sizes):
        crop_square(img, center, s, out_size, avg, out=out[i])
    return out
