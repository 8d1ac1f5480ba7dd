"""Unlabeled videos (VideoFolderSource): a textured region followed from one frame to
another by optical flow (follow_region)."""
import math
import os

import cv2
import numpy as np

from ...datasets import DatasetError
from ..pairs import RawPair, SampleError, SampleRejected
from .base import IMAGE_EXTS, EmptySource, Source, read_image
from .still import _cut

__all__ = ["VideoFolderSource", "follow_region"]

VIDEO_EXTS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv")


def follow_region(img_i, img_j, rng, min_size=0.1, max_size=0.3, fb_thresh=1.0,
                  ncc_thresh=0.8, min_points=8):
    """Pick a textured region in frame i and follow it to frame j, or raise SampleRejected.

    The rule (every step must pass, else the pair is discarded):
    1. corners (Shi-Tomasi) of frame i, tracked i -> j -> i by pyramidal Lucas-Kanade;
       points whose forward-backward error is above `fb_thresh` px are dropped;
    2. a region (side MIN_SIZE..MAX_SIZE of the shorter side, aspect 1/2..2) around one
       consistent point, chosen with weight 1 + its motion (moving things are preferred);
    3. at least `min_points` consistent points inside, and 70% of the region's corners
       consistent;
    4. their motion fits translation + scale (least squares about their centroid) with a
       median residual below max(1, 2% of the region side) and a scale in [0.8, 1.25];
    5. the region's patch in frame i and the moved region's patch in frame j (resampled to
       one size) correlate with a normalised cross-correlation >= `ncc_thresh`, and
       the moved region lies inside frame j.
    Returns (box_i, box_j) as (cx, cy, w, h).
    """
    gi = cv2.cvtColor(img_i, cv2.COLOR_BGR2GRAY)
    gj = cv2.cvtColor(img_j, cv2.COLOR_BGR2GRAY)
    H, W = gi.shape
    p0 = cv2.goodFeaturesToTrack(gi, maxCorners=400, qualityLevel=0.01, minDistance=4)
    if p0 is None or len(p0) < min_points:
        raise SampleRejected("too few corners")
    lk = dict(winSize=(21, 21), maxLevel=3,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(gi, gj, p0, None, **lk)
    pb, st2, _ = cv2.calcOpticalFlowPyrLK(gj, gi, p1, None, **lk)
    p0, p1, pb = p0.reshape(-1, 2), p1.reshape(-1, 2), pb.reshape(-1, 2)
    good = (st1.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm(pb - p0, axis=1) < fb_thresh)
    if good.sum() < min_points:
        raise SampleRejected("flow not consistent")
    motion = np.linalg.norm(p1 - p0, axis=1)
    cand = np.flatnonzero(good)
    prob = (1.0 + motion[cand]) / (1.0 + motion[cand]).sum()
    ax, ay = p0[int(rng.choice(cand, p=prob))]
    side = rng.uniform(min_size, max_size) * min(H, W)
    ar = math.exp(rng.uniform(-math.log(2), math.log(2)))
    w, h = min(side * math.sqrt(ar), W - 2), min(side / math.sqrt(ar), H - 2)
    cx = min(max(ax + rng.uniform(-0.25, 0.25) * w, w / 2), W - 1 - w / 2)
    cy = min(max(ay + rng.uniform(-0.25, 0.25) * h, h / 2), H - 1 - h / 2)
    inside = (np.abs(p0[:, 0] - cx) <= w / 2) & (np.abs(p0[:, 1] - cy) <= h / 2)
    ok = inside & good
    if ok.sum() < min_points or ok.sum() < 0.7 * inside.sum():
        raise SampleRejected("region not followed reliably")
    a, b = p0[ok], p1[ok]
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    da, db = a - ca, b - cb
    scale = float((da * db).sum() / max((da * da).sum(), 1e-9))
    resid = np.linalg.norm(db - scale * da, axis=1)
    if not 0.8 <= scale <= 1.25 or np.median(resid) > max(1.0, 0.02 * side):
        raise SampleRejected("motion is not rigid")
    ncx, ncy = cb + scale * (np.array([cx, cy]) - ca)
    nw, nh = w * scale, h * scale
    if ncx - nw / 2 < 0 or ncy - nh / 2 < 0 or ncx + nw / 2 > W - 1 or ncy + nh / 2 > H - 1:
        raise SampleRejected("region leaves the frame")
    size = (max(8, int(round(w))), max(8, int(round(h))))
    pi = _cut(img_i, cx, cy, w, h, *size)
    pj = _cut(img_j, ncx, ncy, nw, nh, *size)
    if float(cv2.cvtColor(pi, cv2.COLOR_BGR2GRAY).std()) < 4:
        raise SampleRejected("flat region")
    ncc = float(cv2.matchTemplate(pj, pi, cv2.TM_CCOEFF_NORMED)[0, 0])
    if not ncc >= ncc_thresh:
        raise SampleRejected("patches differ (ncc %.2f)" % ncc)
    return (cx, cy, w, h), (float(ncx), float(ncy), nw, nh)


class VideoFolderSource(Source):
    """Unlabeled videos: video files and/or frame folders under ROOT, no annotation.

    A pair: frame i uniform, frame j = i +- 1..MAX_GAP (and within FRAME_RANGE /
    TRAIN.MAX_FRAME_GAP), then `follow_region` picks a textured region in frame i and
    follows it to frame j; the pair is discarded (and another drawn) when any of its
    checks fails, so every pair kept is the same image content in both frames.
    """
    TYPE = "video"
    OPTIONS = {"MIN_SIZE": 0.1, "MAX_SIZE": 0.3, "MAX_GAP": 10, "FB_THRESH": 1.0,
               "NCC_THRESH": 0.8, "MIN_POINTS": 8}

    def __init__(self, root, anno="", **kw):
        super().__init__(root, anno, **kw)
        if not os.path.exists(self.root):
            raise DatasetError("%s: video folder not found: %s" % (self.name, self.root))
        found = self._scan(self.root)
        # split by the path inside ROOT: the same split wherever the data are mounted
        names = [os.path.relpath(f[0], self.root) for f in found]
        for k in self._select(names):
            name, frames = found[k]
            n = len(frames) if isinstance(frames, list) else self._count(name)
            if n >= 2:
                self.items.append((name, frames, n))
            else:
                self._drop("video %s: fewer than 2 readable frames" % name)
        if not self.items:
            raise EmptySource("%s: no usable video (%s or a folder of frames) under %s"
                              % (self.name, ", ".join(VIDEO_EXTS), self.root))

    @staticmethod
    def _scan(root):
        """[(name, frame paths or None for a video file)], sorted."""
        if os.path.isfile(root):
            return [(root, None)] if root.lower().endswith(VIDEO_EXTS) else []
        found = []
        for d, _, files in sorted(os.walk(root)):
            files = sorted(files)
            imgs = [os.path.join(d, f) for f in files if f.lower().endswith(IMAGE_EXTS)]
            if len(imgs) >= 2:
                found.append((d, imgs))
            found += [(os.path.join(d, f), None) for f in files if f.lower().endswith(VIDEO_EXTS)]
        return found

    @staticmethod
    def _count(path):
        cap = cv2.VideoCapture(path)
        try:
            return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        finally:
            cap.release()

    def _read(self, name, frames, i, j):
        if frames is not None:
            return read_image(frames[i], i), read_image(frames[j], j)
        cap = cv2.VideoCapture(name)
        try:
            lo, hi = min(i, j), max(i, j)
            if not cap.isOpened() or not cap.set(cv2.CAP_PROP_POS_FRAMES, lo):
                raise SampleError("%s: cannot open or seek" % name)
            got = {}
            for k in range(lo, hi + 1):
                ok, img = cap.read()
                if not ok or img is None:
                    raise SampleError("%s: cannot decode frame %d" % (name, k))
                if k in (i, j):
                    got[k] = img
            return got[i], got[j]
        finally:
            cap.release()

    def sample(self, rng):
        o = self.opts
        name, frames, n = self.items[int(rng.integers(len(self.items)))]
        reach = max(1, min(int(o["MAX_GAP"]), self.frame_range))
        i = int(rng.integers(n))
        j = min(max(i + int(rng.choice([-1, 1])) * int(rng.integers(1, reach + 1)), 0), n - 1)
        if i == j:
            j = i + 1 if i + 1 < n else i - 1
        img_i, img_j = self._read(name, frames, i, j)
        box_i, box_j = follow_region(img_i, img_j, rng, o["MIN_SIZE"], o["MAX_SIZE"],
                                     o["FB_THRESH"], o["NCC_THRESH"], int(o["MIN_POINTS"]))
        return RawPair(img_i, box_i, img_j, box_j, float(abs(i - j) * self.frame_scale),
                       {"source": self.name, "video": name, "frames": (i, j)})
