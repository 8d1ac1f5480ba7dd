#!/usr/bin/env python
"""End-to-end tracker speed (and accuracy per precision) on real sequences.

For each precision (CPU: fp32, bf16; CUDA: fp32, fp16, bf16) it measures, in one run:
  - tracker frames/s over whole sequences, frames already decoded (decoding is timed
    separately), median over --repeat runs;
  - the backbone-only bound: the same batched backbone calls (the scale pyramid) alone;
  - the time share of each stage (crop, backbone, correlation, post-processing) from an
    instrumented run;
  - success AUC / precision@20 of that precision's boxes, so a faster precision is never
    mistaken for a free one.
Sequences: the given --dataset, else ../shared/data (when present), else the bundled
benchmark.

    python tools/bench.py [--dataset PATH ...] [--precision fp32 bf16] [--repeat 3] [--device cpu]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from rasnet_plugin.api import build_tracker  # noqa: E402
from rasnet_plugin.config import DEFAULT_CONFIG, load_config  # noqa: E402
from rasnet_plugin.datasets import ensure_bundled, load_dataset  # noqa: E402
from rasnet_plugin.evaluation import metrics  # noqa: E402

SHARED = os.path.join(os.path.dirname(REPO), "shared", "data")
STAGES = ("crop", "backbone", "correlation", "post")


def default_datasets():
    shared = [os.path.join(SHARED, d) for d in ("OTB-dev", "VOT-dev")]
    if all(os.path.isdir(p) for p in shared):
        return shared
    return [ensure_bundled(os.path.join(REPO, "testing_dataset"))]


def decode(video):
    t0 = time.perf_counter()
    frames = [video.load_frame(i) for i in range(len(video))]
    return frames, time.perf_counter() - t0


def run_sequence(tracker, frames, init_box):
    """Track a decoded sequence; returns boxes (N,4) and seconds spent in track()."""
    tracker.init(frames[0], init_box)
    boxes = [list(init_box)]
    t0 = time.perf_counter()
    for frame in frames[1:]:
        boxes.append(tracker.track(frame)["bbox"])
    if tracker.device.type == "cuda":
        torch.cuda.synchronize(tracker.device)
    return np.asarray(boxes, dtype=np.float64), time.perf_counter() - t0


def backbone_bound(tracker, frames, count):
    """Frames/s of the backbone alone on the same batched pyramid input."""
    model = tracker.model
    tracker.init(frames[0], tracker_init_box(frames[0]))
    x = torch.rand(tracker.scale_num, 3, tracker.instance_size, tracker.instance_size,
                   device=tracker.device).mul_(255).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), tracker._autocast():
        for _ in range(3):
            model.features(x)
        t0 = tracker._tick()
        for _ in range(count):
            model.features(x)
        seconds = tracker._tick() - t0
    return count / seconds


def tracker_init_box(frame):
    h, w = frame.shape[:2]
    return [w / 4, h / 4, w / 2, h / 2]


def scores(gt, boxes):
    success = metrics.success_curve(gt, boxes, np.arange(0, 1.05, 0.05))
    precision = metrics.precision_curve(gt, boxes, np.arange(0, 51, 1))
    return metrics.success_auc(success), float(precision[20])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", nargs="+", default=None, help="dataset folders/names (default: ../shared/data)")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--snapshot", default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--precision", nargs="+", default=None,
                        help="default: fp32 bf16 on CPU, fp32 fp16 bf16 on CUDA")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over every sequence")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    datasets = [load_dataset(d, root=os.path.join(REPO, "testing_dataset")) for d in (args.dataset or default_datasets())]
    videos = [v for ds in datasets for v in ds.videos]
    decoded, decode_s = [], 0.0
    for v in videos:
        frames, secs = decode(v)
        decoded.append(frames)
        decode_s += secs
    total_frames = sum(len(f) for f in decoded)

    base = load_config(args.config)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    precisions = args.precision or (["fp32", "fp16", "bf16"] if device.type == "cuda" else ["fp32", "bf16"])
    if device.type == "cpu":
        machine = "CPU: %s, %d threads" % (_cpu_name(), torch.get_num_threads())
    else:
        machine = "GPU: %s" % torch.cuda.get_device_name(device)
    print("# %s; torch %s; %d sequences, %d frames (%s)"
          % (machine, torch.__version__, len(videos), total_frames, ", ".join(v.name for v in videos)))
    print("# decoding: %.1f ms/frame (excluded from the tracker figures)" % (1e3 * decode_s / total_frames))

    rows = []
    for precision in precisions:
        cfg = base.clone()
        cfg.defrost()
        cfg.TRACK.PRECISION = precision
        tracker = build_tracker(cfg, snapshot=args.snapshot, device=str(device))
        # accuracy and speed: every sequence, --repeat times
        run_fps, aucs, precs = [], [], []
        for rep in range(args.repeat):
            frames_done, seconds = 0, 0.0
            for video, frames in zip(videos, decoded):
                boxes, secs = run_sequence(tracker, frames, video.init_rect)
                frames_done += len(frames) - 1
                seconds += secs
                if rep == 0:
                    auc, prec = scores(video.gt_xywh(), boxes)
                    aucs.append(auc)
                    precs.append(prec)
            run_fps.append(frames_done / seconds)
        fps = statistics.median(run_fps)
        # stage shares: one instrumented pass over the first sequence
        tracker.profile = True
        for k in STAGES:
            tracker.stage_times[k].clear()
        run_sequence(tracker, decoded[0], videos[0].init_rect)
        tracker.profile = False
        stage_ms = {k: 1e3 * statistics.median(tracker.stage_times[k]) for k in STAGES}
        bound = backbone_bound(tracker, decoded[0], count=max(20, len(decoded[0]) // 2))
        rows.append((precision, fps, bound, stage_ms, float(np.mean(aucs)), float(np.mean(precs)), run_fps))
        print("%-5s tracker %6.1f fps (runs: %s)  backbone-only %6.1f fps  ratio %.2f  AUC %.3f  P@20 %.3f"
              % (precision, fps, ", ".join("%.1f" % f for f in run_fps), bound, fps / bound,
                 rows[-1][4], rows[-1][5]), flush=True)

    print("\n| precision | tracker fps | backbone-only fps | tracker / bound | crop ms | backbone ms "
          "| correlation ms | post ms | success AUC | precision@20 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for precision, fps, bound, st, auc, prec, _ in rows:
        total = sum(st.values())
        print("| %s | %.1f | %.1f | %.2f | %.1f (%d%%) | %.1f (%d%%) | %.2f (%d%%) | %.1f (%d%%) | %.3f | %.3f |"
              % (precision, fps, bound, fps / bound,
                 st["crop"], 100 * st["crop"] / total, st["backbone"], 100 * st["backbone"] / total,
                 st["correlation"], 100 * st["correlation"] / total, st["post"], 100 * st["post"] / total,
                 auc, prec))
    return 0


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
