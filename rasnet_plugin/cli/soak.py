"""Long-run (soak) check of the tracker: no memory growth, no slowdown.

    python tools/soak.py [--frames 10000] [--precision fp32|bf16|fp16] [--scale-num 3]
        [--dataset RASNetBench] [--video NAME] [--dataset-root testing_dataset]
        [--config experiments/rasnet.yaml] [--snapshot FILE] [--device cpu] [--threads N]

(also installed as `rasnet-soak`; the loop: rasnet_plugin/evaluation/soak.py). One tracker
is initialised once and then tracks --frames frames of one sequence played forward and
backward in a loop (ping-pong, so the motion stays continuous). The frames are decoded once,
before timing starts (at most --max-decode of them). The sequence is a video of --dataset
(default: the bundled benchmark, when it is present under --dataset-root, else the synthetic
scene), or `--dataset synthetic`: a textured scene with a target moving on a Lissajous path.
An explicit --dataset or --video that does not load is an error, never replaced by another
sequence.

Measured per frame: the time of `track()`; and the resident memory (VmRSS of
/proc/self/status, else the peak RSS from `resource`) every 100 frames. Printed: the RSS after
frame 1,000 and after the last frame and their ratio, and the median frame time over the
first and over the last 1,000 frames (over the first and last half when --frames < 2,000).
Exit status 1 when the RSS grew by more than 5% (--max-rss-growth) or the median frame time
by more than 20% (--max-time-growth), or when a box is not finite; 0 otherwise; 2 when it
cannot run (a bad flag, config, dataset, video, snapshot or device: `error: ...`, found before
any frame is decoded).
"""
import argparse
import os
import sys
import warnings

from ..config import DEFAULT_CONFIG, ConfigError, load_config
from ..datasets import BUNDLED_NAME, DatasetError


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="RASNet tracker soak test (memory and speed)")
    p.add_argument("--frames", type=int, default=10000, help="frames to track")
    p.add_argument("--precision", default=None, choices=["fp32", "bf16", "fp16"],
                   help="TRACK.PRECISION (default: the config's)")
    p.add_argument("--scale-num", "--scale_num", dest="scale_num", type=int, default=None,
                   help="TRACK.SCALE_NUM, odd (default: the config's; 1 is fastest)")
    p.add_argument("--dataset", default=None,
                   help="dataset name/path, or 'synthetic' (default: %s under --dataset-root; "
                        "synthetic when it is not there)" % BUNDLED_NAME)
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
    if args.window < 1:
        p.error("--window must be >= 1")
    if args.max_decode < 1:
        p.error("--max-decode must be >= 1, got %d" % args.max_decode)
    if args.threads < 0:
        p.error("--threads must be >= 0 (0: torch's default), got %d" % args.threads)
    if args.scale_num is not None and (args.scale_num < 1 or args.scale_num % 2 == 0):
        p.error("--scale-num must be odd and >= 1, got %d" % args.scale_num)
    if args.dataset == "synthetic" and args.video:
        p.error("--video %s: the synthetic scene has no videos; give a real --dataset"
                % args.video)
    return args


def _error(msg):
    print("error: %s" % msg, file=sys.stderr, flush=True)


def _bundled_missing(root):
    """Whether the default dataset is absent (neither under `root` nor in the current folder)."""
    return not any(os.path.exists(p) for p in (os.path.join(root, BUNDLED_NAME), BUNDLED_NAME))


def main(argv=None):
    import numpy as np
    import torch
    import rasnet_plugin
    from ..evaluation import soak as S

    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    from ..api import resolve_device
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        _error(e)
        return 2
    try:
        resolve_device(args.device)
    except (RuntimeError, ValueError) as e:
        _error("--device %s: %s" % (args.device, e))
        return 2
    if args.precision:
        cfg.TRACK.PRECISION = args.precision
    if args.scale_num is not None:
        cfg.TRACK.SCALE_NUM = args.scale_num
    # the sequence is chosen (not decoded) first, then the tracker built, then frames decoded:
    # a bad --dataset, --video, --snapshot or --device is reported before any decoding
    video = None
    if args.dataset == "synthetic":
        frames, box, name = S.synthetic_sequence()
    elif args.dataset is None and not args.video and _bundled_missing(args.dataset_root):
        print("note: the default dataset %s is not under --dataset-root %s; using the "
              "synthetic sequence" % (BUNDLED_NAME, args.dataset_root))
        frames, box, name = S.synthetic_sequence()
    else:
        dataset = args.dataset or BUNDLED_NAME
        try:
            video, name = S.find_video(dataset, args.video, args.dataset_root)
        except DatasetError as e:
            _error("--dataset %s%s: %s" % (dataset, " --video %s" % args.video
                                            if args.video else "", e))
            return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # untrained weights: fine for a soak test
            tracker = rasnet_plugin.build_tracker(cfg, args.snapshot or None, args.device)
    except (OSError, ValueError) as e:
        _error(e)
        return 2
    if video is not None:
        try:
            frames, box = S.decode_frames(video, args.max_decode), list(video.init_rect)
        except DatasetError as e:
            _error(e)
            return 2
    h, w = frames[0].shape[:2]
    print("soak: %s, %d decoded frames (%dx%d) played forward and backward, %d frames, "
          "precision %s, %d scale(s), %s, %d thread(s)"
          % (name, len(frames), w, h, args.frames, tracker.precision, tracker.scale_num,
             tracker.device, torch.get_num_threads()), flush=True)

    win = mark = min(args.window, args.frames // 2)   # RSS reference: after frame `mark`
    times, rss_at, bad, total = S.soak(tracker, frames, box, args.frames, mark,
                                       log=lambda s: print(s, flush=True))
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
