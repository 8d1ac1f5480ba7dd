"""Run RASNet on a tracking dataset and write results in PySOT's layout (PySOT's test CLI).

    python tools/test.py [--dataset NAME_OR_PATH] [--config experiments/rasnet.yaml]
        [--snapshot FILE] [--video NAME] [--vis] [--device cpu|cuda|cuda:N] [--force]
        [--num-workers N] [--dataset-root testing_dataset] [--results results]
        [--model-name NAME]

--dataset: a name under --dataset-root, or a folder in OTB, VOT or PySOT-JSON layout.
Without it, the bundled offline benchmark (RASNetBench) is built once under --dataset-root
and used. Results (each written atomically when its video finishes; existing ones are
skipped unless --force, so an interrupted run resumes):

  one-pass:            <results>/<DATASET>/<model>/<video>.txt
                       (x,y,w,h per frame, frame 0 = the init box)
  VOT (reset protocol) <results>/<DATASET>/<model>/baseline/<video>/<video>_001.txt
                       1 at (re)initialisation, 2 at a failure (overlap with the ground truth
                       <= 0), 0 for the next 4 frames, re-initialisation 5 frames after the
                       failure, exactly as PySOT's tools/test.py
  GOT-10k:             <results>/GOT-10k/<model>/<video>/<video>_001.txt and <video>_time.txt

A video that cannot be read (missing frame, ground truth of the wrong length, bad init box)
is reported and skipped; the others still run, and the exit status is 1, listing it.
"""
import argparse
import multiprocessing as mp
import os
import sys
import time
import warnings

import numpy as np

# the checkout this script belongs to comes first (an installed copy may be another version)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "rasnet_plugin", "__init__.py")):
    sys.path.insert(0, _ROOT)
import rasnet_plugin  # noqa: E402

import cv2  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from rasnet_plugin.config import DEFAULT_CONFIG, ConfigError, load_config  # noqa: E402
from rasnet_plugin.datasets import (BUNDLED_NAME, DatasetError, detect_layout, sequence_names,  # noqa: E402
                                    ensure_bundled, load_dataset)
from rasnet_plugin.evaluation.results import has_result, save_result  # noqa: E402

try:
    from rasnet_plugin.evaluation.metrics import region_overlap
except ImportError:  # evaluation package absent: axis-aligned boxes only
    region_overlap = None

SKIP_AFTER_FAILURE = 5  # PySOT: re-initialise at failure + 5


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="RASNet tracking on a dataset (PySOT-compatible)")
    p.add_argument("--dataset", default="", type=str,
                   help="dataset name under --dataset-root, or a dataset folder "
                        "(default: the bundled %s benchmark)" % BUNDLED_NAME)
    p.add_argument("--config", default=DEFAULT_CONFIG, type=str, help="config file (YAML)")
    p.add_argument("--snapshot", default="", type=str,
                   help="checkpoint (default: bundled weights if present, else untrained)")
    p.add_argument("--video", default="", type=str, help="run this video only")
    p.add_argument("--vis", action="store_true", help="show the tracking (needs a display)")
    p.add_argument("--device", default=None, type=str,
                   help="cpu, cuda, cuda:N (default: cuda if cfg.CUDA and available)")
    p.add_argument("--force", action="store_true", help="re-run videos that have results")
    p.add_argument("--num-workers", "--num_workers", dest="num_workers", default=1, type=int,
                   help="videos tracked in parallel processes (one model each)")
    p.add_argument("--dataset-root", "--dataset_root", dest="dataset_root",
                   default="testing_dataset", type=str, help="folder holding named datasets")
    p.add_argument("--results", default="results", type=str, help="results folder")
    p.add_argument("--model-name", "--model_name", dest="model_name", default="", type=str,
                   help="tracker name in the results layout (default: the config's file stem)")
    args = p.parse_args(argv)
    if args.num_workers < 1:
        p.error("--num-workers must be >= 1")
    return args


# ---------------------------------------------------------------- datasets

def _dataset_path(arg, root):
    named = os.path.join(root, arg) if root and not os.path.isabs(arg) else None
    return named if named and os.path.exists(named) else arg


def _load_lenient(arg, root):
    """Load a dataset video by video, so that one broken video does not hide the others.

    Returns (name, is_vot, videos, broken [(video, message)]), or None when the layout
    gives no per-video split (a single sequence, or an unreadable annotation file).
    """
    from rasnet_plugin.datasets import loaders
    path = os.path.abspath(_dataset_path(arg, root))
    if os.path.isfile(path):
        kind, where = "pysot", path
    elif os.path.isdir(path):
        kind, where = detect_layout(path)
    else:
        return None
    videos, broken = [], []

    def attempt(name, fn, *a):
        try:
            got = fn(*a)
            videos.extend(got if isinstance(got, list) else [got])
        except DatasetError as e:
            broken.append((name, str(e)))

    if kind == "pysot" and hasattr(loaders, "_json_video"):
        import json
        try:
            with open(where, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict):
            return None
        ds_dir = os.path.dirname(where)
        name = os.path.basename(path) if os.path.isdir(path) else os.path.splitext(
            os.path.basename(where))[0]
        for vid, entry in meta.items():
            attempt(str(vid), loaders._json_video, str(vid), entry, ds_dir, where)
        reset = getattr(loaders, "_VOT_RESET_NAME", None)
        is_vot = bool(reset and reset.match(name)) or any(v.gt.shape[1] == 8 for v in videos)
        return name, is_vot, videos, broken
    if kind == "vot":
        for n in sequence_names(where):
            attempt(n, loaders.load_vot_sequence, os.path.join(where, n))
        return os.path.basename(where), True, videos, broken
    if kind == "otb":
        for n in sorted(os.listdir(where)):
            seq = os.path.join(where, n)
            if os.path.isdir(seq) and loaders._otb_gt_files(seq):
                attempt(n, loaders.load_otb_sequence, seq)
        return os.path.basename(where), False, videos, broken
    return None


def load_videos(arg, root):
    """(dataset name, is_vot, videos, broken videos) for --dataset."""
    try:
        ds = load_dataset(arg, root=root)
        return ds.name, ds.is_vot, list(ds.videos), []
    except DatasetError:
        lenient = _load_lenient(arg, root)
        if lenient is None or not (lenient[2] or lenient[3]):
            raise
        return lenient


# ---------------------------------------------------------------- VOT protocol helpers

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
    """PySOT's `vot_overlap`: rasterised overlap within the image."""
    if region_overlap is not None:
        return region_overlap(pred, gt_poly, bounds=bounds, method="raster")
    xs, ys = gt_poly[0::2], gt_poly[1::2]  # fallback: axis-aligned IoU
    g = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    iw = max(0.0, min(pred[0] + pred[2], g[0] + g[2]) - max(pred[0], g[0]))
    ih = max(0.0, min(pred[1] + pred[3], g[1] + g[3]) - max(pred[1], g[1]))
    union = pred[2] * pred[3] + g[2] * g[3] - iw * ih
    return iw * ih / union if union > 0 else 0.0


# ---------------------------------------------------------------- visualisation

def display_available():
    """(True, "") if cv2 windows can open here, else (False, why)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY is not set)"
    try:
        cv2.namedWindow("rasnet-test-probe")
        cv2.destroyWindow("rasnet-test-probe")
    except cv2.error:
        return False, "this OpenCV build has no GUI support (headless)"
    return True, ""


def show(name, img, gt, pred, idx, lost=None):
    img = img.copy()
    if gt is not None and len(gt) == 8 and np.all(np.isfinite(gt)):
        cv2.polylines(img, [np.round(np.asarray(gt)).astype(np.int32).reshape(-1, 1, 2)], True,
                      (0, 255, 0), 2)
    elif gt is not None and np.all(np.isfinite(gt)):
        x, y, w, h = (int(round(v)) for v in gt)
        cv2.rectangle(img, (x, y), (x + w, y + h), (0, 255, 0), 2)
    if pred is not None:
        x, y, w, h = (int(round(v)) for v in pred)
        cv2.rectangle(img, (x, y), (x + w, y + h), (0, 255, 255), 2)
    cv2.putText(img, str(idx), (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 255, 255), 2)
    if lost is not None:
        cv2.putText(img, str(lost), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 255), 2)
    try:
        cv2.imshow(name, img)
        cv2.waitKey(1)
    except cv2.error:
        pass


# ---------------------------------------------------------------- tracking

class FrameError(RuntimeError):
    pass


def _frame(video, idx):
    return video.load_frame(idx)  # DatasetError names the file and the frame


def _init(tracker, img, box, idx):
    try:
        tracker.init(img, box)
    except ValueError as e:
        raise FrameError("frame %d: %s" % (idx, e)) from None


def _track(tracker, img, nonfinite):
    """tracker.track(img)'s box; counts the frames whose response was not finite (the
    tracker kept its previous box) in nonfinite[0]."""
    out = tracker.track(img)
    if out.get("failed"):
        nonfinite[0] += 1
    return out["bbox"]


def track_ope(tracker, video, vis=False, nonfinite=None):
    """One pass; returns (boxes, per-frame seconds, 0). `nonfinite`: a one-item list that
    counts the frames with a non-finite response."""
    nonfinite = [0] if nonfinite is None else nonfinite
    boxes, times = [], []
    for idx in range(len(video)):
        img = _frame(video, idx)
        tic = time.perf_counter()
        if idx == 0:
            box = [float(v) for v in video.init_rect]
            _init(tracker, img, box, idx)
        else:
            box = _track(tracker, img, nonfinite)
        times.append(time.perf_counter() - tic)
        boxes.append(box)
        if vis and idx > 0:
            show(video.name, img, video.gt[idx], box, idx)
    return boxes, times, 0


def track_vot(tracker, video, vis=False, nonfinite=None):
    """PySOT's reset protocol; returns (record, per-frame seconds, failures). `nonfinite`:
    as in track_ope."""
    nonfinite = [0] if nonfinite is None else nonfinite
    record, times = [], []
    frame_counter, lost = 0, 0
    for idx in range(len(video)):
        if idx < frame_counter:  # skipped after a failure
            record.append(0)
            times.append(0.0)
            continue
        img = _frame(video, idx)
        gt = gt_polygon(video.gt[idx])
        tic = time.perf_counter()
        if idx == frame_counter:
            box = pysot_init_box(video.gt[idx])
            _init(tracker, img, box, idx)
            record.append(1)
        else:
            box = _track(tracker, img, nonfinite)
            if overlap(box, gt, (img.shape[1], img.shape[0])) > 0:
                record.append(box)
            else:
                record.append(2)
                frame_counter = idx + SKIP_AFTER_FAILURE
                lost += 1
        times.append(time.perf_counter() - tic)
        if vis and idx > frame_counter:
            show(video.name, img, gt, box, idx, lost)
    return record, times, lost


def run_video(tracker, video, job):
    """Track one video (unless its result exists) and write its result; a status dict."""
    status = {"video": video.name, "error": None, "skipped": False, "fps": 0.0, "lost": 0,
              "frames": len(video), "seconds": 0.0, "nonfinite": 0}
    protocol = job["protocol"]
    out = (job["results"], job["dataset"], job["model"], video.name)
    if not job["force"] and has_result(*out, protocol=protocol):
        status["skipped"] = True
        return status
    try:
        fn = track_vot if protocol == "vot" else track_ope
        nonfinite = [0]
        result, times, lost = fn(tracker, video, job["vis"], nonfinite)
        save_result(*out, result, protocol=protocol, times=times)
    except (DatasetError, FrameError) as e:
        status["error"] = str(e)
        return status
    except Exception as e:  # keep the other videos going; report what broke
        status["error"] = "%s: %s" % (type(e).__name__, e)
        return status
    finally:
        if job["vis"]:
            try:
                cv2.destroyWindow(video.name)
            except cv2.error:
                pass
    status["seconds"] = float(sum(times))
    status["fps"] = len(video) / max(status["seconds"], 1e-9)
    status["lost"] = lost
    status["nonfinite"] = nonfinite[0]
    return status


# ---------------------------------------------------------------- workers

_WORKER = {}


def _init_worker(build_args, threads):
    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")  # the main process already warned (untrained weights...)
    _WORKER["tracker"] = rasnet_plugin.build_tracker(*build_args)


def _worker_run(item):
    video, job = item
    return run_video(_WORKER["tracker"], video, job)


def _remove_stale_temps(folder):
    """A run killed inside an atomic write leaves its temporary file (.<name>.<random>.tmp)
    next to the results; a new run removes them before it starts."""
    for d, _, names in os.walk(folder):
        for n in names:
            if n.startswith(".") and n.endswith(".tmp"):
                try:
                    os.remove(os.path.join(d, n))
                except OSError:
                    pass


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ---------------------------------------------------------------- main

def _warning(message, category, filename, lineno, file=None, line=None):
    print("warning: %s" % message, file=sys.stderr, flush=True)


def _error(msg):
    print("error: %s" % msg, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    warnings.showwarning = _warning
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        _error(e)
        return 1
    model = args.model_name or os.path.splitext(os.path.basename(args.config))[0]

    try:
        if args.dataset:
            name, is_vot, videos, broken = load_videos(args.dataset, args.dataset_root)
        else:
            path = ensure_bundled(root=args.dataset_root)
            name, is_vot, videos, broken = load_videos(path, "")
    except DatasetError as e:
        _error(e)
        return 1
    if args.video:
        videos = [v for v in videos if v.name == args.video]
        broken = [b for b in broken if b[0] == args.video]
        if not videos and not broken:
            _error("dataset %s has no video %r" % (name, args.video))
            return 1
    protocol = "vot" if is_vot else ("got10k" if name == "GOT-10k" else "ope")

    vis = args.vis
    if vis:
        ok, why = display_available()
        if not ok:
            warnings.warn("--vis ignored: %s; tracking continues without display" % why)
            vis = False
        elif args.num_workers > 1:
            warnings.warn("--vis ignored with --num-workers > 1")
            vis = False

    build_args = (cfg, args.snapshot or None, args.device)
    try:
        tracker = rasnet_plugin.build_tracker(*build_args)  # also validates the snapshot
    except (OSError, ValueError) as e:
        _error(e)
        return 1
    build_args = (cfg, args.snapshot or None, str(tracker.device))

    job = {"protocol": protocol, "results": args.results, "dataset": name, "model": model,
           "force": args.force, "vis": vis}
    _remove_stale_temps(os.path.join(args.results, name, model))
    failed = list(broken)
    for vid, msg in broken:
        _error("video %s: %s" % (vid, msg))

    workers = min(args.num_workers, max(1, len(videos)))
    print("%s: %d videos (%s protocol), model %r, %s, %d worker(s), results in %s"
          % (name, len(videos), protocol, model, tracker.device, workers,
             os.path.join(args.results, name, model)), flush=True)
    bar = tqdm(total=len(videos), unit="video", dynamic_ncols=True)
    total_lost, n_done, nonfinite = 0, 0, []

    def report(st):
        nonlocal total_lost, n_done
        if st["error"]:
            failed.append((st["video"], st["error"]))
            bar.write("error: video %s: %s" % (st["video"], st["error"]), file=sys.stderr)
        elif st["skipped"]:
            bar.write("(skip) %s: result exists (--force re-runs it)" % st["video"])
        else:
            n_done += 1
            total_lost += st["lost"]
            bar.set_postfix(video=st["video"], fps="%.1f" % st["fps"])
            lost = " Lost: %d" % st["lost"] if protocol == "vot" else ""
            if st["nonfinite"]:
                nonfinite.append((st["video"], st["nonfinite"]))
                lost += " Non-finite: %d" % st["nonfinite"]
            bar.write("(%3d) Video: %-16s Time: %5.1fs Speed: %5.1ffps%s"
                      % (n_done, st["video"], st["seconds"], st["fps"], lost))
        bar.update(1)

    try:
        if workers == 1:
            for video in videos:
                report(run_video(tracker, video, job))
        else:
            del tracker
            threads = max(1, torch.get_num_threads() // workers)
            threads = min(threads, max(1, _cpu_count() // workers))
            ctx = mp.get_context("spawn")
            with ctx.Pool(workers, _init_worker, (build_args, threads)) as pool:
                for st in pool.imap_unordered(_worker_run, [(v, job) for v in videos]):
                    report(st)
    except KeyboardInterrupt:
        bar.close()
        _error("interrupted; finished videos are saved, re-run to resume")
        return 130
    bar.close()
    if protocol == "vot":
        print("%s total lost: %d" % (model, total_lost))
    if nonfinite:
        print("%s: %d frame(s) with a non-finite response (box kept) in %d video(s): %s"
              % (model, sum(n for _, n in nonfinite), len(nonfinite),
                 ", ".join("%s %d" % v for v in sorted(nonfinite))))
    if failed:
        _error("%d video(s) failed: %s" % (len(failed), ", ".join(sorted(v for v, _ in failed))))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
