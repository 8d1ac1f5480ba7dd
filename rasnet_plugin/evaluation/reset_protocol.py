"""The pieces of VOT's supervised (reset) protocol as PySOT's tools/test.py applies them:
the ground-truth polygon of a row, the box a (re)initialisation starts from, the overlap
that decides a failure, and whether a row is annotated at all (the VOT toolkit writes NaN
for frames without a visible / annotated target)."""
import numpy as np

from .metrics import region_overlap

__all__ = ["SKIP_AFTER_FAILURE", "annotated", "gt_polygon", "pysot_init_box", "overlap"]

SKIP_AFTER_FAILURE = 5  # PySOT: re-initialise at failure + 5


def annotated(row):
    """True when every value of a ground-truth row is finite. A NaN row has no overlap to
    judge (not a failure) and no box to (re)initialise from (the next annotated frame is
    used instead)."""
    return bool(np.isfinite(np.asarray(row, dtype=np.float64)).all())


def gt_polygon(row):
    """PySOT's polygon of a ground-truth row (a 4-value box becomes its corners, inclusive)."""
    row = [float(v) for v in row]
    if len(row) == 4:
        x, y, w, h = row
        return [x, y, x, y + h - 1, x + w - 1, y + h - 1, x + w - 1, y]
    return row


def pysot_init_box(row):
    """PySOT's (re)initialisation box of a ground-truth row: `get_axis_aligned_bbox` of its
    polygon (area-preserving axis-aligned box around the polygon's mean), as x, y, w, h."""
    p = np.asarray(gt_polygon(row), dtype=np.float64)
    xs, ys = p[0::2], p[1::2]
    cx, cy = xs.mean(), ys.mean()
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    a1 = np.linalg.norm(p[0:2] - p[2:4]) * np.linalg.norm(p[2:4] - p[4:6])
    a2 = (x2 - x1) * (y2 - y1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(a1 / a2)
    w, h = s * (x2 - x1) + 1, s * (y2 - y1) + 1
    return [float(cx - (w - 1) / 2), float(cy - (h - 1) / 2), float(w), float(h)]


def overlap(pred, gt_poly, bounds):
    """PySOT's `vot_overlap`: rasterised overlap within the image (width, height); NaN when
    either region is not finite."""
    return region_overlap(pred, gt_poly, bounds=bounds, method="raster")
