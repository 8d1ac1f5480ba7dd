"""Long-run (soak) check of the tracker: no memory growth, no slowdown.

    python tools/soak.py [--frames 10000] [--precision fp32|bf16|fp16] [--scale-num 3]
        [--dataset RASNetBench] [--video NAME] [--dataset-root testing_dataset]
        [--config experiments/rasnet.yaml] [--snapshot FILE] [--device cpu] [--threads N]

One tracker is initialised once and then tracks --frames frames of one sequence played
forward and backward in a loop (ping-pong, so the motion stays continuous). The frames are
decoded once, before timing starts (at most --max-decode of them). The sequence is a video
of --dataset (default: the bundled benchmark, when it is present under --dataset-root), or
`--dataset synthetic`: a textured scene with a target moving on a Lissajous path.

Measured per frame: the time of `track()`; and the resident memory (VmRSS of
/proc/self/status, else the peak RSS from `resource`) every 100 frames. Printed: the RSS after
frame 1,000 and after the last frame and their ratio, and the median frame time over the
first and over the last 1,000 frames (over the first and last half when --frames < 2,000).
Exit status 1 when the RSS grew by more than 5% (--max-rss-growth) or the median frame time
by more than 20% (--max-time-growth), or when a box is not finite; 0 otherwise.
"""
import argparse
import math
import os
import resource
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import torch  # noqa: E402

import rasnet_plugin  # noqa: E402
from rasnet_plugin.config import DEFAULT_CONFIG, ConfigError, load_config  # noqa: E402
from rasnet_plugin.datasets import BUNDLED_NAME, DatasetError, load_dataset  # noqa: E402


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


def real_sequence(dataset, video, root, max_decode):
    ds = load_dataset(dataset, root=root)
    v = ds[video] if video else ds[0]
    n = min(len(v), max_decode)
    return [v.load_frame(i) for i in range(n)], list(v.init_rect), "%s/%s" % (ds.name, v.name)


def pingpong(n):
    """Frame indices 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ... (period 2n - 2)."""
    period = max(1, 2 * n - 2)

    def index(k):
        k %= period
        return k if k < n else period - k
    return index


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="RASNet tracker soak test (memory and speed)")
    p.add_argument("--frames", type=int, default=10000, help="frames to track")
    p.add_argument("--precision", default=None, choices=["fp32", "bf16", "fp16"],
                   help="TRACK.PRECISION (default: the config's)")
    p.add_argument("--scale-num", "--scale_num", dest="scale_num", type=int, default=None,
                   help="TRACK.SCALE_NUM, odd (default: the config's; 1 is fastest)")
    p.add_argument("--dataset", default=BUNDLED_NAME,
                   help="dataset name/path, or 'synthetic' (default %(default)s; synthetic "
                        "when it is not there)")
    p.add_argument("--video", default="", help="video of --dataset (default: the first)")
    p.add_argument("--dataset-root", "--dataset_root", dest="dataset_root",
                   default="testing_dataset")
    p.add_argument("--max-decode", type=int, default=400, help="frames decoded at most")
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.add_argument("--snapshot", default="")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--window", type=int, default=1000, help="frames per timing window")
    p.add_argument("--max-rss-growth", type=float, default=0.05)
    p.add_argument("--max-time-growth", type=float, default=0.20)
    args = p.parse_args(argv)
    if args.frames < 2:
        p.error("--frames must be >= 2")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if args.precision:
        cfg.TRACK.PRECISION = args.precision
    if args.scale_num is not None:
        cfg.TRACK.SCALE_NUM = args.scale_num
    if args.dataset == "synthetic":
        frames, box, name = synthetic_sequence()
    else:
        try:
            frames, box, name = real_sequence(args.dataset, args.video, args.dataset_root,
                                              args.max_decode)
        except (DatasetError, KeyError) as e:
            print("note: %s; using the synthetic sequence" % (e.args[0] if e.args else e))
            frames, box, name = synthetic_sequence()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # untrained weights: fine for a soak test
        tracker = rasnet_plugin.build_tracker(cfg, args.snapshot or None, args.device)
    h, w = frames[0].shape[:2]
    print("soak: %s, %d decoded frames (%dx%d) played forward and backward, %d frames, "
          "precision %s, %d scale(s), %s, %d thread(s)"
          % (name, len(frames), w, h, args.frames, tracker.precision, tracker.scale_num,
             tracker.device, torch.get_num_threads()), flush=True)

    index = pingpong(len(frames))
    win = min(args.window, args.frames // 2)
    mark = min(args.window, args.frames // 2)   # RSS reference: after frame `mark`
    times = np.empty(args.frames, np.float64)
    rss_at = {}
    bad = 0
    tracker.init(frames[0], box)
    t_start = time.perf_counter()
    for k in range(args.frames):
        img = frames[index(k + 1)]
        t0 = time.perf_counter()
        out = tracker.track(img)
        times[k] = time.perf_counter() - t0
        b = out["bbox"]
        if not (all(math.isfinite(v) for v in b) and b[2] > 0 and b[3] > 0):
            bad += 1
        n = k + 1
        if n % 100 == 0 or n in (mark, args.frames):
            rss_at[n] = rss_mib()
        if n % 1000 == 0:
            print("  frame %6d  RSS %7.1f MiB  median %.1f ms (last 1000)"
                  % (n, rss_at[n], 1e3 * np.median(times[max(0, n - 1000):n])), flush=True)
    total = time.perf_counter() - t_start

    rss0, rss1 = rss_at[mark], rss_at[args.frames]
    t_first, t_last = np.median(times[:win]), np.median(times[-win:])
    rss_ratio, time_ratio = rss1 / rss0, t_last / t_first
    print("RSS after frame %d: %.1f MiB; after frame %d: %.1f MiB; ratio %.4f (max %.2f)"
          % (mark, rss0, args.frames, rss1, rss_ratio, 1 + args.max_rss_growth))
    print("median frame time, first %d frames: %.2f ms; last %d frames: %.2f ms; ratio %.3f "
          "(max %.2f)" % (win, 1e3 * t_first, win, 1e3 * t_last, time_ratio,
                          1 + args.max_time_growth))
    print("total %.1f s, %.1f fps; non-finite/empty boxes: %d" % (total, args.frames / total, bad))
    failed = []
    if rss_ratio > 1 + args.max_rss_growth:
        failed.append("RSS grew by %.1f%%" % (100 * (rss_ratio - 1)))
    if time_ratio > 1 + args.max_time_growth:
        failed.append("median frame time grew by %.1f%%" % (100 * (time_ratio - 1)))
    if bad:
        failed.append("%d non-finite or empty boxes" % bad)
    if failed:
        print("soak: FAILED: " + "; ".join(failed))
        return 1
    print("soak: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
