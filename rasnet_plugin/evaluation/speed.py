"""End-to-end tracker speed, and the accuracy it comes with, per precision (`tools/bench.py`).

For one precision `measure_precision` gives, in one run:
  - tracker frames/s over whole sequences, frames already decoded, median over `repeat`
    passes (only the `track` calls are timed, through `running.one_pass`);
  - the backbone-only bound: the same batched backbone calls (the scale pyramid) alone;
  - the time share of each stage (crop, backbone, correlation, post-processing) from an
    instrumented pass over the first sequence;
  - success AUC / precision@20 of that precision's boxes, so a faster precision is never
    mistaken for a free one.
"""
import statistics
import time
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import torch

from . import metrics
from .running import one_pass

__all__ = ["STAGES", "SpeedRow", "decode", "run_sequence", "backbone_bound", "scores",
           "measure_precision", "markdown"]

STAGES = ("crop", "backbone", "correlation", "post")


@dataclass
class SpeedRow:
    precision: str
    fps: float                  # median over the passes
    bound: float                # backbone-only frames/s
    stage_ms: Dict[str, float]  # median ms per stage
    auc: float
    precision_20: float
    run_fps: List[float]        # every pass


def decode(video):
    """(every frame of `video`, seconds spent decoding them)."""
    t0 = time.perf_counter()
    frames = [video.load_frame(i) for i in range(len(video))]
    return frames, time.perf_counter() - t0


def run_sequence(tracker, frames, init_box):
    """Track a decoded sequence; returns boxes (N,4) and seconds spent in track() (init
    excluded; on CUDA up to the device's last kernel)."""
    steps = one_pass(tracker, frames, init_box)
    boxes = [next(steps).box]          # init: not timed
    t0 = time.perf_counter()
    boxes += [step.box for step in steps]
    if tracker.device.type == "cuda":
        torch.cuda.synchronize(tracker.device)
    return np.asarray(boxes, dtype=np.float64), time.perf_counter() - t0


def _centre_box(frame):
    h, w = frame.shape[:2]
    return [w / 4, h / 4, w / 2, h / 2]


def backbone_bound(tracker, frames, count):
    """Frames/s of the backbone alone on the same batched pyramid input."""
    model = tracker.model
    tracker.init(frames[0], _centre_box(frames[0]))
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


def scores(gt, boxes):
    """(success AUC, precision at 20 px) over all frames."""
    success = metrics.success_curve(gt, boxes, np.arange(0, 1.05, 0.05))
    precision = metrics.precision_curve(gt, boxes, np.arange(0, 51, 1))
    return metrics.success_auc(success), float(precision[20])


def measure_precision(tracker, precision, videos, decoded, repeat):
    """A `SpeedRow` for `tracker` (built at `precision`) over `videos` whose frames are
    `decoded`; accuracy from the first pass. `repeat` >= 1 (ValueError otherwise)."""
    if repeat < 1 or not videos:
        raise ValueError("measure_precision needs repeat >= 1 (got %d) and at least one "
                         "sequence (got %d)" % (repeat, len(videos)))
    run_fps, aucs, precs = [], [], []
    for rep in range(repeat):
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
    # stage shares: one instrumented pass over the first sequence
    tracker.profile = True
    for k in STAGES:
        tracker.stage_times[k].clear()
    run_sequence(tracker, decoded[0], videos[0].init_rect)
    tracker.profile = False
    stage_ms = {k: 1e3 * statistics.median(tracker.stage_times[k]) for k in STAGES}
    bound = backbone_bound(tracker, decoded[0], count=max(20, len(decoded[0]) // 2))
    return SpeedRow(precision, statistics.median(run_fps), bound, stage_ms,
                    float(np.mean(aucs)), float(np.mean(precs)), run_fps)


def markdown(rows):
    """The summary table of `SpeedRow`s."""
    lines = ["| precision | tracker fps | backbone-only fps | tracker / bound | crop ms | backbone ms "
             "| correlation ms | post ms | success AUC | precision@20 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        st, total = r.stage_ms, sum(r.stage_ms.values())
        lines.append("| %s | %.1f | %.1f | %.2f | %.1f (%d%%) | %.1f (%d%%) | %.2f (%d%%) | %.1f (%d%%) "
                     "| %.3f | %.3f |"
                     % (r.precision, r.fps, r.bound, r.fps / r.bound,
                        st["crop"], 100 * st["crop"] / total, st["backbone"],
                        100 * st["backbone"] / total, st["correlation"],
                        100 * st["correlation"] / total, st["post"], 100 * st["post"] / total,
                        r.auc, r.precision_20))
    return "\n".join(lines)
