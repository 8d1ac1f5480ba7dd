"""Side-by-side one-pass comparison of trackers (`tools/compare.py`): the built-in trackers,
OpenCV's CSRT as a peer, the protocol, the scores, and the Markdown / JSON tables.

Protocol: every tracker starts from the axis-aligned box of frame 0's ground truth (min/max
of a polygon's corners) and runs once through the sequence; frames 1.. are scored against
the axis-aligned ground truth: success AUC (IoU thresholds 0:0.05:1), precision at 20 px,
and frames per second of init + track (decoding excluded). A dataset's figure is the mean
over its sequences.
"""
import json
import os

import numpy as np

from ..config import CONFIG_DIR, load_config
from ..datasets import DatasetError
from ..fileio import atomic_write_text
from . import contamination as C, metrics, results as R
from .running import FrameError, one_pass, video_frames

__all__ = ["BUILTIN", "THRESHOLDS", "CSRT", "parse_tracker", "imagenet_weights_available",
           "make_tracker", "run_video", "score", "trained_on", "evaluate_tracker", "markdown",
           "markdown_videos", "save_table"]


def _builtin():
    from ..api import BUNDLED_DIR
    table = {name: (os.path.join(CONFIG_DIR, name + ".yaml"),
                    os.path.join(BUNDLED_DIR, name + ".pth"))
             for name in ("rasnet", "siamfc", "rasnet_mobilenetv2", "siamfc_mobilenetv2")}
    table["imagenet_mobilenetv2"] = (os.path.join(CONFIG_DIR, "siamfc_mobilenetv2_imagenet.yaml"),
                                     None)
    table["csrt"] = None
    return table


BUILTIN = _builtin()     # name -> (config, snapshot), None for CSRT
THRESHOLDS = np.arange(0, 1.05, 0.05)


class CSRT:
    """cv2.TrackerCSRT behind the tracker interface (init / track -> {'bbox'})."""

    def __init__(self):
        self.impl = None
        self.box = None

    @staticmethod
    def available():
        import cv2
        return hasattr(cv2, "TrackerCSRT") or hasattr(cv2, "TrackerCSRT_create")

    def init(self, img, box):
        import cv2
        create = getattr(cv2, "TrackerCSRT_create", None) or cv2.TrackerCSRT.create
        self.impl = create()
        x, y, w, h = (int(round(v)) for v in box)
        self.impl.init(img, (x, y, max(w, 1), max(h, 1)))
        self.box = [float(v) for v in box]

    def track(self, img):
        ok, box = self.impl.update(img)
        if ok:  # on a miss CSRT returns no box: keep the last one
            self.box = [float(v) for v in box]
        return {"bbox": list(self.box)}


def parse_tracker(spec):
    """(name, config, snapshot) of a --tracker word; config None for CSRT."""
    name, sep, rest = spec.partition("=")
    if not sep:
        if name not in BUILTIN:
            raise ValueError("--tracker %r: not one of %s; give NAME=CONFIG[,SNAPSHOT]"
                             % (spec, ", ".join(BUILTIN)))
        entry = BUILTIN[name]
        return (name, None, None) if entry is None else (name,) + entry
    config, _, snapshot = rest.partition(",")
    if not name or not config:
        raise ValueError("--tracker %r: expected NAME=CONFIG[,SNAPSHOT]" % spec)
    return name, config, snapshot or None


def imagenet_weights_available(config):
    from ..models.model_load import resolve_pretrained
    try:
        resolve_pretrained(load_config(config).BACKBONE.PRETRAINED)
        return True
    except FileNotFoundError:
        return False


def make_tracker(spec, device):
    from ..api import build_tracker
    name, config, snapshot = spec
    if config is None:
        return CSRT()
    if snapshot and not os.path.isfile(snapshot):
        raise FileNotFoundError("%s: weights not found: %s" % (name, snapshot))
    return build_tracker(config, snapshot, device)


def run_video(tracker, video):
    """One pass from the axis-aligned frame-0 ground truth; (boxes (N, 4), seconds per
    frame) with frame 0 the init box."""
    boxes, times = [], []
    try:
        for step in one_pass(tracker, video_frames(video), video.gt_xywh()[0]):
            boxes.append(step.box)
            times.append(step.seconds)
    except FrameError as e:
        raise e.error from None     # reported as the tracker's own error
    return np.asarray(boxes, dtype=np.float64), np.asarray(times)


def score(gt, boxes):
    """(success AUC, precision at 20 px) over frames 1.. (frame 0 is the given box)."""
    gt, boxes = np.asarray(gt)[1:], np.asarray(boxes)[1:]
    auc = metrics.success_auc(metrics.success_curve(gt, boxes, THRESHOLDS))
    prec = metrics.precision_curve(gt, boxes, np.arange(0, 51))[20]
    return float(auc), float(prec)


def trained_on(spec):
    """{video_key: [(source, name)]} the tracker's checkpoint was trained on ({} for CSRT
    and for checkpoints that list nothing)."""
    snapshot = spec[2] if len(spec) > 2 else None
    return C.trained_videos(snapshot) if snapshot and os.path.isfile(snapshot) else {}


def reusable(results, dataset, name, video, log=print):
    """Whether the result already on disk for `video` can be scored as it is: present and
    read back whole (one cut or edited by hand, or left by another version of the dataset,
    is logged and tracked again)."""
    if not R.has_result(results, dataset, name, video.name, "got10k"):
        return False
    try:
        R.check_result(results, dataset, name, video.name, len(video), "got10k")
    except R.ResultError as e:
        log("  %-8s %-10s %-14s result unusable, tracking it again: %s"
            % (name, dataset, video.name, e))
        return False
    return True


def evaluate_tracker(spec, datasets, results, device, force=False, log=print,
                     exclude_trained=False):
    """{dataset: {"videos": {video: {...}}, "auc", "precision", "fps", "excluded"}} for one
    tracker; a video it was trained on has "trained": true and, with `exclude_trained`,
    stays out of the means. Results are written per video (got10k layout) and reused
    unless `force`; the tracker is built only when a video needs running. A video that
    cannot be tracked (an unreadable frame, a bad box) gets {"error": message} and stays
    out of the means; the other videos still run."""
    name, tracker, out = spec[0], None, {}
    trained = trained_on(spec)
    for ds in datasets:
        per_video = {}
        for video in ds.videos:
            seen = bool(C.trained_matches([video.name], trained))
            run = force or not reusable(results, ds.name, name, video, log)
            if run and tracker is None:
                tracker = make_tracker(spec, device)  # one that cannot be built fails as a whole
            try:
                if run:
                    boxes, times = run_video(tracker, video)
                    R.save_result(results, ds.name, name, video.name, boxes, "got10k", times)
                boxes = R.read_boxes(R.result_path(results, ds.name, name, video.name, "got10k"),
                                     len(video))
                times = R.read_times(R.time_path(results, ds.name, name, video.name))
            except (DatasetError, ValueError, OSError) as e:
                per_video[video.name] = {"error": str(e), "frames": len(video), "trained": seen}
                log("  %-8s %-10s %-14s error: %s" % (name, ds.name, video.name, e))
                continue
            auc, prec = score(video.gt_xywh(), boxes)
            fps = len(times) / max(float(times.sum()), 1e-9)
            per_video[video.name] = {"auc": auc, "precision": prec, "fps": fps,
                                     "frames": len(video), "trained": seen}
            log("  %-8s %-10s %-14s AUC %.3f  P@20 %.3f  %6.1f fps%s"
                % (name, ds.name, video.name, auc, prec, fps,
                   "  * trained on" if seen else ""))
        vals = [v for v in per_video.values()
                if "error" not in v and not (exclude_trained and v["trained"])]
        excluded = sorted(k for k, v in per_video.items() if exclude_trained and v["trained"])
        out[ds.name] = {"videos": per_video, "excluded": excluded,
                        **{k: float(np.mean([v[k] for v in vals])) if vals else float("nan")
                           for k in ("auc", "precision", "fps")}}
    return out


def markdown(table, dataset_names):
    """One row per tracker: AUC / P@20 / fps per dataset."""
    head = "| tracker | " + " | ".join("%s AUC / P@20 / fps" % d for d in dataset_names) + " |"
    lines = [head, "|---" * (len(dataset_names) + 1) + "|"]
    for name, per_ds in table.items():
        cells = ["%.3f / %.3f / %.1f" % (per_ds[d]["auc"], per_ds[d]["precision"], per_ds[d]["fps"])
                 for d in dataset_names]
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    return "\n".join(lines)


def markdown_videos(table, dataset_names):
    """Per-sequence success AUC / precision of every tracker, and the mean over all
    sequences ('*': the tracker was trained on that video)."""
    trackers = list(table)
    head = "| sequence | " + " | ".join(trackers) + " |"
    lines = [head, "|---" * (len(trackers) + 1) + "|"]
    rows, means = [], {t: [] for t in trackers}
    for d in dataset_names:
        for v in table[trackers[0]][d]["videos"]:
            rows.append((d, v))
    for d, v in rows:
        cells = []
        for t in trackers:
            s = table[t][d]["videos"][v]
            if "error" in s:
                cells.append("error")
                continue
            cells.append("%.3f / %.3f%s" % (s["auc"], s["precision"], " *" if s["trained"] else ""))
            if v not in table[t][d].get("excluded", []):
                means[t].append((s["auc"], s["precision"], s["fps"]))
        lines.append("| %s | %s |" % (v, " | ".join(cells)))
    cells = ["%.3f / %.3f / %.1f fps" % tuple(np.mean(means[t], axis=0)) if means[t] else "n/a"
             for t in trackers]
    lines.append("| **mean** | %s |" % " | ".join(cells))
    return "\n".join(lines)


def save_table(path, table):
    """Merge `table` into the JSON at `path` (runs on other datasets keep their rows)."""
    merged = {}
    if os.path.isfile(path):
        try:
            with open(path) as f:
                merged = json.load(f)
        except ValueError:
            merged = {}     # a damaged summary is rebuilt from this run
    for name, per_ds in table.items():
        merged.setdefault(name, {}).update(per_ds)
    atomic_write_text(path, json.dumps(merged, indent=1, sort_keys=True) + "\n")
