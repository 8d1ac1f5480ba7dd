"""Tracking metrics, defined exactly as PySOT's toolkit computes them.

One-pass (OPE) metrics, per sequence:

* ``iou``: overlap of ``x, y, w, h`` boxes whose right/bottom edges are ``x + w`` / ``y + h``
  (PySOT's ``overlap_ratio``), clipped to [0, 1].
* ``success_curve``: for every threshold t in ``np.arange(0, 1.05, 0.05)`` (21 values), the
  fraction of frames with IoU strictly greater than t. Frames whose ground truth has
  ``w <= 0`` or ``h <= 0`` (or NaN) count as failures; every frame counts in the denominator.
  The success score (AUC) is the mean of the curve, so a perfect tracker scores 20/21.
* ``precision_curve``: centres are ``x + (w - 1) / 2``, ``y + (h - 1) / 2``; for thresholds
  0..50 px, the fraction of frames whose centre error is <= t. PySOT counts frames whose
  ground-truth centre is not strictly positive as hits (error -1); we do the same.
  Precision is the curve at 20 px.
* ``norm_precision_curve``: both centres divided by the ground truth's (w, h), thresholds
  0..0.5 step 0.01, reported at index 20 (threshold 0.20), as PySOT's LaSOT evaluation.
* ``present``: PySOT drops absent-target frames (LaSOT) before scoring but keeps dividing by
  the full frame count, i.e. such frames count as misses in all three curves.

VOT (reset protocol) metrics, a record being one entry per frame, ``[1]`` (initialised),
``[2]`` (failure), ``[0]`` (skipped) or a box / polygon:

* ``vot_overlaps``: region overlap per frame, NaN for the code frames, for ``burnin``
  frames from each ``[1]`` on (the initialisation frame included) and for frames whose
  ground truth or prediction is not finite (VOT writes NaN where no target is annotated).
* ``vot_accuracy``: NaN-mean of those overlaps (burnin 10 in PySOT's A-R benchmark).
* ``vot_failures``: the frames marked ``[2]``; ``robustness`` = failures / frames * 100,
  PySOT's printed "Robustness".
* ``eao_curve`` / ``expected_average_overlap``: PySOT's ``EAOBenchmark`` fragments (cut
  ``skipping`` = 5 frames after each failure, a failed fragment padded with zeros, a final
  one left open) and ``calculate_expected_overlap``; EAO is the mean of the curve over
  sequence lengths [low, high] (VOT2018: 100..356), clipped to the lengths available.

VOT region overlap (``vot_overlaps``) defaults to ``method="raster"``: PySOT's own
definition, which rasterises both regions to pixels within the image bounds (a w x h box
covers (w + 1) x (h + 1) pixels, so two 10x10 boxes 5 px apart overlap 0.375, not 1/3).
``method="exact"`` is true polygon geometry (Sutherland-Hodgman clipping to the image).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

SUCCESS_THRESHOLDS = np.arange(0, 1.05, 0.05)
PRECISION_THRESHOLDS = np.arange(0, 51, 1)
NORM_PRECISION_THRESHOLDS = np.arange(0, 51, 1) / 100
PRECISION_INDEX = 20  # 20 px, and 0.20 for the normalised precision

# PySOT's EAOBenchmark intervals (low, high) per dataset.
EAO_INTERVALS = {"VOT2016": (108, 371), "VOT2017": (100, 356), "VOT2018": (100, 356),
                 "VOT2019": (46, 291)}
DEFAULT_EAO_INTERVAL = (100, 356)


def _boxes(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"expected (N, 4) x,y,w,h boxes, got shape {a.shape}")
    return a


# --------------------------------------------------------------------------- one-pass


def iou(boxes1, boxes2) -> np.ndarray:
    """Per-row IoU of (N, 4) ``x, y, w, h`` boxes, PySOT's ``overlap_ratio``."""
    a, b = _boxes(boxes1), _boxes(boxes2)
    with np.errstate(invalid="ignore", divide="ignore"):
        iw = np.maximum(0, np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]))
        ih = np.maximum(0, np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]))
        inter = iw * ih
        union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
        return np.maximum(np.minimum(1, inter / union), 0)


def box_centers(boxes) -> np.ndarray:
    """(N, 2) centres ``x + (w - 1) / 2, y + (h - 1) / 2`` (PySOT's pixel convention)."""
    b = _boxes(boxes)
    return np.stack([b[:, 0] + (b[:, 2] - 1) / 2, b[:, 1] + (b[:, 3] - 1) / 2], axis=1)


def _present(present, n: int) -> np.ndarray:
    if present is None:
        return np.ones(n, dtype=bool)
    p = np.asarray(present).astype(bool).reshape(-1)
    if len(p) != n:
        raise ValueError(f"present mask has {len(p)} entries for {n} frames")
    return p


def _check_pair(gt, pred):
    gt, pred = _boxes(gt), _boxes(pred)
    if len(gt) != len(pred):
        raise ValueError(f"{len(pred)} predicted boxes for {len(gt)} ground-truth boxes")
    return gt, pred


def success_curve(gt, pred, thresholds=SUCCESS_THRESHOLDS, present=None) -> np.ndarray:
    """Fraction of frames with IoU > t for each threshold t (PySOT's ``success_overlap``)."""
    gt, pred = _check_pair(gt, pred)
    n = len(gt)
    keep = _present(present, n)
    ious = np.full(n, -1.0)
    valid = keep & (np.sum(gt[:, 2:] > 0, axis=1) == 2)
    ious[valid] = iou(gt[valid], pred[valid])
    if n == 0:
        return np.zeros(len(thresholds))
    with np.errstate(invalid="ignore"):
        return (ious[None, :] > np.asarray(thresholds)[:, None]).sum(axis=1) / float(n)


def success_auc(curve) -> float:
    """Area under the success curve, PySOT's definition: the mean of the curve."""
    return float(np.mean(curve))


def _distance_curve(gt_c, pred_c, thresholds, keep) -> np.ndarray:
    n = len(gt_c)
    dist = np.full(n, -1.0)  # PySOT: frames with a non-positive GT centre count as hits
    valid = np.sum(gt_c > 0, axis=1) == 2
    with np.errstate(invalid="ignore"):
        dist[valid] = np.sqrt(np.sum((gt_c[valid] - pred_c[valid]) ** 2, axis=1))
        hits = (dist[None, :] <= np.asarray(thresholds)[:, None]) & keep[None, :]
    if n == 0:
        return np.zeros(len(thresholds))
    return hits.sum(axis=1) / float(n)


def precision_curve(gt, pred, thresholds=PRECISION_THRESHOLDS, present=None) -> np.ndarray:
    """Fraction of frames whose centre error is <= t pixels, for each t."""
    gt, pred = _check_pair(gt, pred)
    return _distance_curve(box_centers(gt), box_centers(pred), thresholds,
                           _present(present, len(gt)))


def norm_precision_curve(gt, pred, thresholds=NORM_PRECISION_THRESHOLDS, present=None) -> np.ndarray:
    """Precision with both centres divided by the ground truth's (w, h) (PySOT / LaSOT)."""
    gt, pred = _check_pair(gt, pred)
    wh = gt[:, 2:4] + 1e-16
    with np.errstate(invalid="ignore", divide="ignore"):
        gc, pc = box_centers(gt) / wh, box_centers(pred) / wh
    return _distance_curve(gc, pc, thresholds, _present(present, len(gt)))


def precision_at(curve, index: int = PRECISION_INDEX) -> float:
    """The reported precision: the curve at index 20 (20 px, or 0.20 normalised)."""
    return float(np.asarray(curve)[index])


# --------------------------------------------------------------------------- regions


def _as_polygon(region) -> list:
    r = [float(v) for v in region]
    if len(r) == 4:
        x, y, w, h = r
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    if len(r) >= 6 and len(r) % 2 == 0:
        return list(zip(r[0::2], r[1::2]))
    raise ValueError(f"a region is 4 floats (x,y,w,h) or an even number >= 6 (polygon), got {len(r)}")


def polygon_area(poly) -> float:
    """Absolute area of a simple polygon given as [(x, y), ...] (shoelace formula)."""
    if len(poly) < 3:
        return 0.0
    s = 0.0
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


def clip_polygon(subject, clip) -> list:
    """Sutherland-Hodgman: the part of polygon ``subject`` inside the CONVEX polygon ``clip``."""
    if len(clip) < 3 or len(subject) < 3:
        return []
    signed = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(clip, clip[1:] + clip[:1]))
    if signed == 0:
        return []
    orient = 1.0 if signed > 0 else -1.0
    out = list(subject)
    for (ax, ay), (bx, by) in zip(clip, clip[1:] + clip[:1]):
        if not out:
            break
        ex, ey = bx - ax, by - ay

        def side(p):
            return orient * (ex * (p[1] - ay) - ey * (p[0] - ax))

        inp, out = out, []
        prev = inp[-1]
        sp = side(prev)
        for cur in inp:
            sc = side(cur)
            if sc >= 0:
                if sp < 0:
                    t = sp / (sp - sc)
                    out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
                out.append(cur)
            elif sp >= 0:
                t = sp / (sp - sc)
                out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
            prev, sp = cur, sc
    return out


def _is_convex(poly) -> bool:
    sign = 0.0
    n = len(poly)
    for i in range(n):
        (x1, y1), (x2, y2), (x3, y3) = poly[i], poly[(i + 1) % n], poly[(i + 2) % n]
        cross = (x2 - x1) * (y3 - y2) - (y2 - y1) * (x3 - x2)
        if cross != 0:
            if sign and (cross > 0) != (sign > 0):
                return False
            sign = cross
    return True


def _undefined(region1, region2) -> bool:
    """True when there is no overlap to judge: a VOT code, or a region with NaN / inf values
    (the VOT toolkit's ground truth for a frame without annotation)."""
    if len(region1) == 1 or len(region2) == 1:
        return True
    return not (np.isfinite(np.asarray(region1, dtype=np.float64)).all()
                and np.isfinite(np.asarray(region2, dtype=np.float64)).all())


def region_overlap(region1, region2, bounds: Optional[Sequence[float]] = None,
                   method: str = "exact") -> float:
    """Overlap (intersection over union) of two regions, each ``x, y, w, h`` or a polygon.

    ``bounds = (width, height)`` limits both regions to the image ``[0, W] x [0, H]``
    (PySOT passes the image size). A one-element region (a VOT code) or a non-finite one
    (an unannotated frame) gives NaN; an empty region gives 0. ``method="exact"``: polygon
    geometry (at least one region convex, as boxes and VOT quadrilaterals are);
    ``method="raster"``: PySOT's pixel overlap (``raster_overlap``).
    """
    if method == "raster":
        return raster_overlap(region1, region2, bounds)
    if method != "exact":
        raise ValueError(f"method must be 'exact' or 'raster', got {method!r}")
    if _undefined(region1, region2):
        return float("nan")
    p1, p2 = _as_polygon(region1), _as_polygon(region2)
    if bounds is not None:
        w, h = float(bounds[0]), float(bounds[1])
        frame = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
        p1, p2 = clip_polygon(p1, frame), clip_polygon(p2, frame)
    a1, a2 = polygon_area(p1), polygon_area(p2)
    if not (a1 > 0 and a2 > 0):
        return 0.0
    if _is_convex(p2):
        inter = polygon_area(clip_polygon(p1, p2))
    elif _is_convex(p1):
        inter = polygon_area(clip_polygon(p2, p1))
    else:
        raise ValueError("region_overlap needs at least one convex region")
    union = a1 + a2 - inter
    return float(min(1.0, max(0.0, inter / union))) if union > 0 else 0.0


def _bounded_box_overlaps(pred: np.ndarray, gt: np.ndarray, bounds) -> np.ndarray:
    """Vectorised exact ``region_overlap`` for (N, 4) box pairs."""
    def corners(b):
        x1, x2 = np.minimum(b[:, 0], b[:, 0] + b[:, 2]), np.maximum(b[:, 0], b[:, 0] + b[:, 2])
        y1, y2 = np.minimum(b[:, 1], b[:, 1] + b[:, 3]), np.maximum(b[:, 1], b[:, 1] + b[:, 3])
        if bounds is not None:
            x1, x2 = np.clip(x1, 0, bounds[0]), np.clip(x2, 0, bounds[0])
            y1, y2 = np.clip(y1, 0, bounds[1]), np.clip(y2, 0, bounds[1])
        return x1, y1, x2, y2

    ax1, ay1, ax2, ay2 = corners(pred)
    bx1, by1, bx2, by2 = corners(gt)
    a1, a2 = (ax2 - ax1) * (ay2 - ay1), (bx2 - bx1) * (by2 - by1)
    inter = (np.maximum(0, np.minimum(ax2, bx2) - np.maximum(ax1, bx1))
             * np.maximum(0, np.minimum(ay2, by2) - np.maximum(ay1, by1)))
    union = a1 + a2 - inter
    ok = (a1 > 0) & (a2 > 0) & (union > 0)
    out = np.zeros(len(pred))
    out[ok] = np.clip(inter[ok] / union[ok], 0, 1)
    return out


# ----------------------------------------------------------------- VOT pixel rasterisation
#
# PySOT (and the VOT toolkit) score VOT regions by rasterising them to pixels: vertices are
# stored as float32 and rounded half away from zero; a row y of the mask gets the pixels
# between the sorted crossings of the polygon's edges with y, both ends included (so a
# w x h box covers (w + 1) x (h + 1) pixels); the mask spans the union of the two regions'
# rounded bounding boxes, intersected with the bounds (which is why a bound of (W, H) admits
# column W). Overlap = |A and B| / |A or B| in float32. The code below reproduces that
# definition (the "raster" method); "exact" is true polygon geometry.

_F32 = np.float32


def _round_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _raster_window(lo_x, hi_x, lo_y, hi_y, bounds):
    """Rounded bounding box of a region, intersected with the bounds: (left, top, right, bottom)."""
    left, top = np.floor(lo_x), np.floor(lo_y)
    right, bottom = np.ceil(hi_x), np.ceil(hi_y)
    if bounds is not None:
        left, top = np.maximum(left, 0.0), np.maximum(top, 0.0)
        right, bottom = np.minimum(right, float(bounds[0])), np.minimum(bottom, float(bounds[1]))
    return left, top, right, bottom


def _raster_prelude(w1, w2):
    """Mask origin / size and PySOT's early exits. Returns (x0, y0, width, height, zero)."""
    l1, t1, r1, b1 = w1
    l2, t2, r2, b2 = w2
    x0, y0 = np.minimum(l1, l2), np.minimum(t1, t2)
    width = np.trunc(np.maximum(r1, r2) - x0) + 1
    height = np.trunc(np.maximum(b1, b2) - y0) + 1
    a1, a2 = (r1 - l1) * (b1 - t1), (r2 - l2) * (b2 - t2)
    with np.errstate(invalid="ignore", divide="ignore"):
        zero = (a1 / a2 < 1e-10) | (a2 / a1 < 1e-10) | (width < 1) | (height < 1)
        inter = (np.minimum(r1, r2) - np.maximum(l1, l2)) * (np.minimum(b1, b2) - np.maximum(t1, t2))
        bo = inter / (a1 + a2 - inter)
    bo = np.where(0 > bo, 0.0, bo)  # C's MAX(0, v): NaN passes through
    zero = zero | (bo == 0)
    return x0, y0, width, height, zero


def _raster_mask(xs, ys, width: int, height: int) -> np.ndarray:
    """Scan-line rasterisation (see above) of a polygon already offset to the mask origin."""
    xs = _round_away(xs.astype(np.float64))
    ys = _round_away(ys.astype(np.float64))
    xj, yj = np.roll(xs, 1), np.roll(ys, 1)            # edge from vertex j = i - 1 to vertex i
    r, k = yj - ys, xj - xs
    rows = np.arange(height, dtype=np.float64)[:, None]
    valid = (np.minimum(ys, yj) <= rows) & (rows <= np.maximum(ys, yj)) & (r != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        nodes = np.trunc(xs + (rows - ys) / np.where(r == 0, 1.0, r) * k)
    nodes = np.sort(np.where(valid, nodes, np.inf), axis=1)
    count = valid.sum(axis=1)
    diff = np.zeros((height, width + 1), dtype=np.int32)
    idx = np.zeros(height, dtype=np.int64)
    live = np.ones(height, dtype=bool)
    row_ids = np.arange(height)
    last = nodes.shape[1] - 1
    for _ in range(nodes.shape[1]):
        live &= idx < count - 1
        if not live.any():
            break
        a = nodes[row_ids, np.minimum(idx, last)]
        b = nodes[row_ids, np.minimum(idx + 1, last)]
        same = live & (a == b)
        stop = live & ~same & (a >= width)
        fill = live & ~same & ~stop & (b >= 0)
        fr = row_ids[fill]
        diff[fr, np.maximum(a[fill], 0).astype(np.int64)] += 1
        diff[fr, np.minimum(b[fill], width - 1).astype(np.int64) + 1] -= 1
        idx = np.where(same, idx + 1, idx + 2)
        live &= ~stop
    return np.cumsum(diff[:, :width], axis=1) > 0


def raster_overlap(region1, region2, bounds: Optional[Sequence[float]] = None) -> float:
    """Pixel-rasterised overlap of two regions, as PySOT's ``vot_overlap`` computes it
    (NaN for a VOT code or a non-finite region, as ``region_overlap``)."""
    if _undefined(region1, region2):  # NaN would not even give a mask size
        return float("nan")
    p1 = np.asarray(_as_polygon(region1), dtype=_F32)
    p2 = np.asarray(_as_polygon(region2), dtype=_F32)
    wins = [_raster_window(p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max(), bounds)
            for p in (p1, p2)]
    x0, y0, width, height, zero = _raster_prelude(*wins)
    if zero:
        return 0.0
    width, height = int(width), int(height)
    off = np.array([x0, y0], dtype=_F32)
    m1 = _raster_mask(*(p1 - off).T, width, height)
    m2 = _raster_mask(*(p2 - off).T, width, height)
    inter = np.count_nonzero(m1 & m2)
    union = np.count_nonzero(m1 | m2)
    if union == 0:
        return float("nan")
    return float(_F32(inter) / _F32(union))


def _raster_box_overlaps(pred: np.ndarray, gt: np.ndarray, bounds) -> np.ndarray:
    """Vectorised ``raster_overlap`` for (N, 4) box pairs (closed form of the scan line)."""
    def region(b):
        x1, y1 = b[:, 0].astype(_F32), b[:, 1].astype(_F32)
        x2, y2 = (b[:, 0] + b[:, 2]).astype(_F32), (b[:, 1] + b[:, 3]).astype(_F32)
        lo_x, hi_x = np.minimum(x1, x2).astype(np.float64), np.maximum(x1, x2).astype(np.float64)
        lo_y, hi_y = np.minimum(y1, y2).astype(np.float64), np.maximum(y1, y2).astype(np.float64)
        return (lo_x, hi_x, lo_y, hi_y), _raster_window(lo_x, hi_x, lo_y, hi_y, bounds)

    (ax, bx) = region(pred), region(gt)
    x0, y0, width, height, zero = _raster_prelude(ax[1], bx[1])

    def span(lo, hi, origin, size):
        # a box covers rounded lo..hi (inclusive) when they differ, clipped to the mask
        rlo = _round_away((lo - origin).astype(_F32).astype(np.float64))
        rhi = _round_away((hi - origin).astype(_F32).astype(np.float64))
        s, e = np.maximum(rlo, 0), np.minimum(rhi, size - 1)
        empty = (rlo == rhi) | (e < s)
        return np.where(empty, 0, s), np.where(empty, -1, e)

    def extent(c):
        (lo_x, hi_x, lo_y, hi_y), _ = c
        return span(lo_x, hi_x, x0, width), span(lo_y, hi_y, y0, height)

    (axs, axe), (ays, aye) = extent(ax)
    (bxs, bxe), (bys, bye) = extent(bx)
    n1 = (axe - axs + 1) * (aye - ays + 1)
    n2 = (bxe - bxs + 1) * (bye - bys + 1)
    inter = (np.maximum(0, np.minimum(axe, bxe) - np.maximum(axs, bxs) + 1)
             * np.maximum(0, np.minimum(aye, bye) - np.maximum(ays, bys) + 1))
    union = n1 + n2 - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (inter.astype(_F32) / union.astype(_F32)).astype(np.float64)
    out[zero] = 0.0
    return out


# --------------------------------------------------------------------------- VOT


def vot_failures(record) -> tuple:
    """``(count, frame indices)`` of the frames marked ``[2]`` (PySOT's ``calculate_failures``)."""
    idx = [i for i, e in enumerate(record) if len(e) == 1 and e[0] == 2]
    return len(idx), idx


def vot_overlaps(record, gt, burnin: int = 0, bounds=None, method: str = "raster") -> np.ndarray:
    """Per-frame overlap of a VOT record with the ground truth (N, 4) or (N, 8).

    Code frames ([1], [2], [0]) are NaN; with ``burnin > 0`` the ``burnin`` frames starting at
    each ``[1]`` are NaN too; so are frames whose ground truth or region is not finite. The
    record and ground truth are compared over their common length. ``method``: "raster"
    (PySOT's pixel overlap, default) or "exact" (geometry).
    """
    if method not in ("raster", "exact"):
        raise ValueError(f"method must be 'raster' or 'exact', got {method!r}")
    gt = np.asarray(gt, dtype=np.float64)
    n = min(len(record), len(gt))
    out = np.full(n, np.nan)
    is_region = np.array([len(record[i]) > 1 for i in range(n)], dtype=bool)
    if burnin > 0:
        for i in range(n):
            if len(record[i]) == 1 and record[i][0] == 1:
                is_region[i:i + burnin] = False
    idx = np.flatnonzero(is_region)
    if len(idx) == 0:
        return out
    if gt.ndim == 2 and gt.shape[1] == 4 and all(len(record[i]) == 4 for i in idx):
        pred = np.array([record[i] for i in idx], dtype=np.float64)
        # non-finite rows (unannotated frames) stay NaN, as in region_overlap
        ok = np.isfinite(pred).all(axis=1) & np.isfinite(gt[idx]).all(axis=1)
        fn = _raster_box_overlaps if method == "raster" else _bounded_box_overlaps
        out[idx[ok]] = fn(pred[ok], gt[idx[ok]], bounds)
    else:
        for i in idx:
            out[i] = region_overlap(record[i], gt[i], bounds, method)
    return out


def vot_accuracy(record, gt, burnin: int = 10, bounds=None, method: str = "raster") -> tuple:
    """``(accuracy, overlaps)``: NaN-mean overlap excluding codes and burn-in frames."""
    ov = vot_overlaps(record, gt, burnin=burnin, bounds=bounds, method=method)
    good = ~np.isnan(ov)
    return (float(ov[good].mean()) if good.any() else float("nan")), ov


def robustness(failures: float, num_frames: int) -> float:
    """PySOT's printed robustness: failures per frame, times 100."""
    return float(failures) / num_frames * 100 if num_frames else float("nan")


def eao_fragments(overlaps: Sequence[np.ndarray], failures: Sequence[Sequence[int]],
                  tags: Optional[Sequence[Optional[np.ndarray]]] = None,
                  weights: Optional[Sequence[float]] = None, skipping: int = 5) -> tuple:
    """Cut each run into fragments as PySOT's ``EAOBenchmark._calculate_eao``.

    ``overlaps[k]``: per-frame overlaps of run k (burn-in 0, NaN on code frames);
    ``failures[k]``: its failure frames; ``tags[k]``: optional per-frame 0/1 tag (default all
    ones); ``weights[k]``: sequence weight (default 1; PySOT uses 1 / runs per sequence).
    Returns ``(fragments, lengths, fweights)``: rows of overlaps with NaN read as 0, each
    row's defined length (a failed fragment is defined, as zeros, to the end), and weights.
    """
    nseq = len(overlaps)
    tags = [None] * nseq if tags is None else tags
    weights = [1.0] * nseq if weights is None else weights
    max_len = max((len(o) for o in overlaps), default=0)
    rows, lengths, fw = [], [], []
    for ov, fails, tag, sw in zip(overlaps, failures, tags, weights):
        ov = np.nan_to_num(np.asarray(ov, dtype=np.float64), nan=0.0)
        n = len(ov)
        tag = np.ones(n) if tag is None else np.asarray(tag, dtype=np.float64)[:n]
        points = [0] + [f + skipping for f in fails if f + skipping <= n]
        for j, start in enumerate(points):
            row = np.zeros(max_len)
            if j < len(points) - 1:  # failed fragment: up to and including the restart frame
                stop = points[j + 1] + 1
                frag = ov[start:stop]
                lengths.append(max_len)
                w = tag[start:stop].sum() / (points[j + 1] - start + 1)
            else:  # last fragment, open-ended
                frag = ov[start:]
                lengths.append(len(frag))
                w = tag[start:].sum() / (n - start) if n > start else 0.0
            row[:len(frag)] = frag
            rows.append(row)
            fw.append(sw * w)
    frags = np.array(rows).reshape(len(rows), max_len)
    return frags, np.array(lengths, dtype=np.int64), np.array(fw, dtype=np.float64)


def eao_curve(overlaps, failures, tags=None, weights=None, skipping: int = 5) -> np.ndarray:
    """Expected overlap for every sequence length (PySOT's ``calculate_expected_overlap``).

    ``curve[i]`` (sequence length i + 1) is the weighted mean, over the fragments defined at
    frame i, of their average overlap on frames 1..i (frame 0, the initialisation, excluded);
    ``curve[0] = 1``. Lengths no fragment reaches stay 0, as in PySOT.
    """
    frags, lengths, fw = eao_fragments(overlaps, failures, tags, weights, skipping)
    max_len = frags.shape[1]
    curve = np.zeros(max_len)
    if max_len == 0:
        return curve
    curve[0] = 1.0
    if max_len == 1:
        return curve
    csum = np.cumsum(frags[:, 1:], axis=1)                 # csum[:, i-1] = sum(frags[:, 1:i+1])
    i = np.arange(1, max_len)
    defined = lengths[:, None] > i[None, :]                # fragment defined at frame i
    wsum = (defined * fw[:, None]).sum(axis=0)
    num = (defined * fw[:, None] * csum / i[None, :]).sum(axis=0)
    anyd = defined.any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve[1:] = np.where(anyd, num / wsum, 0.0)
    return curve


def eao_interval(low: int, high: int, max_len: int) -> tuple:
    """[low, high] clipped to the sequence lengths available (1..max_len)."""
    high = max(1, min(int(high), max_len))
    low = max(1, min(int(low), high))
    return low, high


def eao_from_curve(curve, low: int = 100, high: int = 356) -> float:
    """Mean of ``curve`` over sequence lengths low..high (1-based, inclusive), clipped."""
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) == 0:
        return float("nan")
    lo, hi = eao_interval(low, high, len(curve))
    seg = curve[lo - 1:hi]
    seg = seg[~np.isnan(seg)]
    return float(seg.mean()) if len(seg) else float("nan")


def expected_average_overlap(overlaps, failures, low: int = 100, high: int = 356,
                             tags=None, weights=None, skipping: int = 5) -> float:
    """EAO over sequence lengths [low, high] (PySOT's VOT2018 defaults), clipped to the data."""
    return eao_from_curve(eao_curve(overlaps, failures, tags, weights, skipping), low, high)
