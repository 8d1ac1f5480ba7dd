"""Long-run (soak) check of a tracker: no memory growth, no slowdown (`tools/soak.py`).

One tracker is initialised once and then tracks a sequence of decoded frames played forward
and backward in a loop (ping-pong, so the motion stays continuous), through
`running.one_pass`. Measured per frame: the time of `track()`; and the resident memory every
100 frames.
"""
import math
import resource
import sys
import time

import numpy as np

from ..datasets import DatasetError, load_dataset
from .running import one_pass

__all__ = ["rss_mib", "synthetic_sequence", "find_video", "decode_frames", "real_sequence",
           "pingpong", "soak"]


def rss_mib():
    """Current resident set size in MiB (peak RSS where /proc is not available)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def synthetic_sequence(n=200, size=(240, 320), seed=0):
    """Frames of a blurred-noise scene with a brighter textured target on a Lissajous path."""
    import cv2
    rng = np.random.default_rng(seed)
    H, W = size
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (H, W, 3)).astype(np.float32), (0, 0), 4)
    scene = np.clip((scene - scene.mean()) / scene.std() * 40 + 110, 0, 255).astype(np.uint8)
    tw, th = 40, 32
    target = cv2.GaussianBlur(rng.uniform(0, 255, (th, tw, 3)).astype(np.float32), (0, 0), 1.5)
    target = np.clip(target * 1.2 + 40, 0, 255).astype(np.uint8)
    frames, boxes = [], []
    for i in range(n):
        t = 2 * math.pi * i / n
        x = int(round((W - tw) / 2 + (W - tw) / 3 * math.sin(t)))
        y = int(round((H - th) / 2 + (H - th) / 3 * math.sin(2 * t)))
        f = scene.copy()
        f[y:y + th, x:x + tw] = target
        frames.append(f)
        boxes.append([x, y, tw, th])
    return frames, boxes[0], "synthetic"


def find_video(dataset, video, root):
    """(the Video `video` of `dataset` (default: its first), "DATASET/video"), nothing
    decoded. DatasetError when the dataset does not load, is empty, or has no such video
    (the message lists its videos)."""
    ds = load_dataset(dataset, root=root)
    if not ds.videos:
        raise DatasetError("dataset %s has no videos" % ds.name)
    if video:
        names = [v.name for v in ds.videos]
        if video not in names:
            raise DatasetError("dataset %s has no video %r (its videos: %s)"
                               % (ds.name, video, ", ".join(names)))
        v = ds[video]
    else:
        v = ds[0]
    return v, "%s/%s" % (ds.name, v.name)


def decode_frames(video, max_decode):
    """The first `max_decode` (>= 1) frames of `video`, decoded."""
    if max_decode < 1:
        raise ValueError("max_decode must be >= 1, got %d" % max_decode)
    return [video.load_frame(i) for i in range(min(len(video), max_decode))]


def real_sequence(dataset, video, root, max_decode):
    """(the first `max_decode` frames, init box, "DATASET/video") of a dataset's video
    (default: its first); DatasetError as `find_video`."""
    v, name = find_video(dataset, video, root)
    return decode_frames(v, max_decode), list(v.init_rect), name


def pingpong(n):
    """Frame indices 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ... (period 2n - 2)."""
    period = max(1, 2 * n - 2)

    def index(k):
        k %= period
        return k if k < n else period - k
    return index


def soak(tracker, frames, box, n_frames, mark, log=print):
    """Track `n_frames` frames after initialising on frames[0] at `box`.

    Returns (per-frame track seconds, {frame number: RSS MiB} every 100 frames and at
    `mark` and the last frame, count of non-finite or empty boxes, total seconds). Every
    1,000 frames `log` gets a progress line."""
    index = pingpong(len(frames))
    times = np.empty(n_frames, np.float64)
    rss_at, bad = {}, 0
    steps = one_pass(tracker, (frames[index(k)] for k in range(n_frames + 1)), box)
    next(steps)  # init: not part of the soak
    t_start = time.perf_counter()
    for k, step in enumerate(steps):
        times[k] = step.seconds
        b = step.box
        if not (all(math.isfinite(v) for v in b) and b[2] > 0 and b[3] > 0):
            bad += 1
        n = k + 1
        if n % 100 == 0 or n in (mark, n_frames):
            rss_at[n] = rss_mib()
        if n % 1000 == 0:
            log("  frame %6d  RSS %7.1f MiB  median %.1f ms (last 1000)"
                % (n, rss_at[n], 1e3 * np.median(times[max(0, n - 1000):n])))
    return times, rss_at, bad, time.perf_counter() - t_start
