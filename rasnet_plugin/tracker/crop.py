"""Square crops around the target, resized to the network's input size.

Geometry: a crop of side `size` (image pixels) centred on `center` = (cx, cy) is resized
to `out_size` x `out_size`; output pixel k (0-based) samples the image at
`c + (k - (out_size - 1) / 2) * size / out_size`, so the crop's central pixel lies exactly
on the centre, for odd and even sizes alike. (PySOT's `get_subwindow` rounds the corner to
whole pixels first, which shifts its crops by 0.5-1 px; we keep the sub-pixel centre.)
Pixels outside the image take the per-channel mean `avg` (PySOT's convention).

One `cv2.warpAffine` per crop does the cut, the padding and the resize at once: no padded
copy of the frame is ever built. Crops stay in the image's dtype (uint8 frames give uint8
crops, a quarter of the float bytes); the tracker converts them to float in one copy.
"""
import cv2
import numpy as np

__all__ = ["crop_square", "crop_pyramid", "channel_mean"]


def channel_mean(img):
    """Per-channel mean of an HxWxC image, as float64 (the padding value)."""
    return img.reshape(-1, img.shape[-1]).mean(axis=0)


def _affine(center, size, out_size):
    # inverse map: output pixel (u, v) -> image point
    a = float(size) / out_size
    off = (out_size - 1) / 2.0
    return np.array([[a, 0.0, center[0] - a * off],
                     [0.0, a, center[1] - a * off]], dtype=np.float64)


def crop_square(img, center, size, out_size, avg, out=None):
    """Crop side `size` around `center`, resize to `out_size` (bilinear), pad with `avg`.

    img: HxWxC (C <= 4) uint8 or float32; center: (cx, cy) in pixel coordinates; avg: C
    values. `out` (out_size x out_size x C, img's dtype, C-contiguous) is filled in place.
    Returns the crop.
    """
    if size <= 0 or not np.isfinite(size):
        raise ValueError("crop size must be positive and finite, got %r" % (size,))
    if out is None:
        out = np.empty((out_size, out_size, img.shape[2]), dtype=img.dtype)
    border = tuple(float(v) for v in avg)
    res = cv2.warpAffine(img, _affine(center, size, out_size), (out_size, out_size), dst=out,
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
