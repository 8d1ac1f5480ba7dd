"""Evaluate a folder of tracker results (PySOT layout) against a dataset.

``evaluate(dataset, results_dir)`` reads ``<results_dir>/<dataset.name>/<tracker>/...`` and
returns a ``BenchmarkResult``: per tracker, per video and overall scores, plus per-attribute
breakdowns (OTB-style video attributes for one-pass datasets, per-frame tags for VOT).

The dataset is anything shaped like ``rasnet_plugin.datasets.Dataset``: ``name``, ``is_vot``,
iteration over videos with ``name``, ``gt``, ``gt_xywh()``, ``attr``, ``tags``, ``len()``
and, for the VOT image bounds, ``img_paths`` (or ``width`` / ``height``).
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import metrics as M
from .results import (ResultError, find_ope_result, list_trackers, read_boxes, read_vot_record,
                      result_path, tracker_dir, vot_run_paths)

# --------------------------------------------------------------------------- result types


@dataclass
class OPEScores:
    """Success / precision / normalised-precision curves of one video or averaged over several."""
    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    num_videos: int = 1

    @property
    def auc(self) -> float:
        return M.success_auc(self.success)

    @property
    def precision_20(self) -> float:
        return M.precision_at(self.precision)

    @property
    def norm_precision_20(self) -> float:
        return M.precision_at(self.norm_precision)

    def to_dict(self) -> dict:
        return {"success": self.auc, "precision": self.precision_20,
                "norm_precision": self.norm_precision_20, "num_videos": self.num_videos}

    @staticmethod
    def mean(scores: Sequence["OPEScores"]) -> "OPEScores":
        """PySOT's aggregation: curves averaged over videos (each video weighs the same)."""
        return OPEScores(np.mean([s.success for s in scores], axis=0),
                         np.mean([s.precision for s in scores], axis=0),
                         np.mean([s.norm_precision for s in scores], axis=0), len(scores))


@dataclass
class OPETrackerResult:
    name: str
    videos: Dict[str, OPEScores]
    overall: OPEScores
    attributes: Dict[str, OPEScores] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"overall": self.overall.to_dict(),
                "videos": {k: v.to_dict() for k, v in self.videos.items()},
                "attributes": {k: v.to_dict() for k, v in self.attributes.items()}}


@dataclass
class VOTVideoScores:
    accuracy: float           # NaN-mean overlap (burn-in excluded), runs averaged per frame
    failures: float           # failures, averaged over runs
    num_frames: int
    overlaps: np.ndarray      # per-frame overlap (burn-in / codes NaN), averaged over runs
    run_failures: List[int]

    @property
    def robustness(self) -> float:
        return M.robustness(self.failures, self.num_frames)

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "failures": self.failures,
                "robustness": self.robustness, "num_frames": self.num_frames,
                "runs": len(self.run_failures)}


@dataclass
class VOTTrackerResult:
    name: str
    videos: Dict[str, VOTVideoScores]
    accuracy: float
    robustness: float
    lost_number: float
    eao: float
    eao_curve: np.ndarray
    eao_interval: tuple       # (low, high) actually used, after clipping
    attributes: Dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "robustness": self.robustness,
                "lost_number": self.lost_number, "eao": self.eao,
                "eao_interval": list(self.eao_interval),
                "videos": {k: v.to_dict() for k, v in self.videos.items()},
                "attributes": self.attributes}


@dataclass
class BenchmarkResult:
    dataset: str
    protocol: str                  # "ope" or "vot"
    trackers: Dict[str, object]    # name -> OPETrackerResult | VOTTrackerResult
    attributes: Dict[str, List[str]] = field(default_factory=dict)  # OPE: attr -> videos

    def ranking(self) -> List[str]:
        """Tracker names, best first (by success AUC, or by EAO for VOT), as PySOT sorts."""
        if self.protocol == "vot":
            key = lambda n: _nan_low(self.trackers[n].eao)
        else:
            key = lambda n: _nan_low(self.trackers[n].overall.auc)
        return sorted(self.trackers, key=key, reverse=True)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "protocol": self.protocol,
                "trackers": {k: v.to_dict() for k, v in self.trackers.items()}}


def _nan_low(x: float) -> float:
    return -math.inf if x is None or math.isnan(x) else x


# --------------------------------------------------------------------------- helpers


def _present_mask(video) -> Optional[np.ndarray]:
    """Frames where the target is present, if the dataset marks them (LaSOT).

    ``video.tags["present"]`` (True = target visible) or ``video.tags["absent"]`` (True =
    target absent). PySOT keeps the frames whose LaSOT JSON ``absent`` value is 1, i.e. that
    JSON field means "present" despite its name.
    """
    tags = getattr(video, "tags", None) or {}
    if "present" in tags:
        return np.asarray(tags["present"], dtype=bool)
    if "absent" in tags:
        return ~np.asarray(tags["absent"], dtype=bool)
    return None


def _visible_mask(video) -> Optional[np.ndarray]:
    """Frames scored at all, if the dataset marks them: ``video.tags["visible"]`` (GOT-10k:
    cover > 0 and not absent). The others are left out, as the GOT-10k toolkit does, unlike
    absent LaSOT frames, which count as misses."""
    visible = (getattr(video, "tags", None) or {}).get("visible")
    return None if visible is None else np.asarray(visible, dtype=bool)


def _check_ground_truth(dataset) -> None:
    """DatasetError for videos annotated on their first frame only (the GOT-10k test split,
    whose ground truth is on the evaluation server): they cannot be scored."""
    from ..datasets.video import DatasetError
    bare = [v.name for v in dataset
            if len(v.gt) > 1 and not np.isfinite(np.asarray(v.gt, float)[1:]).all(axis=1).any()]
    if bare:
        shown = ", ".join(bare[:5]) + (", ..." if len(bare) > 5 else "")
        raise DatasetError(f"{dataset.name}: {len(bare)} video(s) have no ground truth beyond "
                           f"frame 0 ({shown}), so they cannot be scored (the GOT-10k test "
                           f"split ships only the first box: submit its results to the "
                           f"GOT-10k server)")


def _tag_flags(video, tag: str) -> np.ndarray:
    t = (getattr(video, "tags", None) or {}).get(tag)
    return np.zeros(len(video), bool) if t is None else np.asarray(t, bool)


def image_size(video) -> Optional[tuple]:
    """(width, height) of a video's frames: attributes, else the first frame's header."""
    w, h = getattr(video, "width", None), getattr(video, "height", None)
    if w and h:
        return int(w), int(h)
    paths = getattr(video, "img_paths", None) or getattr(video, "img_names", None)
    if not paths:
        return None
    import cv2
    img = cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED)
    if img is None:  # scores change without the bounds: say so rather than guess a size
        warnings.warn("%s: unreadable, so video %s is scored without clipping regions to the "
                      "image" % (paths[0], getattr(video, "name", "?")), stacklevel=2)
        return None
    return int(img.shape[1]), int(img.shape[0])


def eao_interval_for(dataset_name: str) -> tuple:
    """PySOT's (low, high) for VOT2016/17/18/19; VOT2018's for anything else."""
    return M.EAO_INTERVALS.get(dataset_name, M.DEFAULT_EAO_INTERVAL)


def detect_protocol(dataset, results_dir, trackers: Sequence[str]) -> str:
    """"vot" for a VOT dataset whose results use the ``baseline/`` layout, else "ope".

    A VOT dataset whose trackers only have one-pass results is scored one-pass on the
    polygons' axis-aligned boxes.
    """
    if not getattr(dataset, "is_vot", False):
        return "ope"
    dirs = [tracker_dir(results_dir, dataset.name, t) for t in trackers]
    if any((d / "baseline").is_dir() for d in dirs):
        return "vot"
    if any(any(d.glob("*.txt")) for d in dirs):
        return "ope"
    return "vot"


def _missing(tracker: str, video: str, expected: Path) -> ResultError:
    return ResultError(f"tracker {tracker!r} has no result for video {video!r}", expected)


def _one_error(errors: List[ResultError]) -> Optional[ResultError]:
    """All the result problems at once (so that one rerun can fix them all): the error
    itself when there is one, else one ResultError listing each."""
    flat = [one for e in errors for one in getattr(e, "errors", [e])]
    if len(flat) <= 1:
        return flat[0] if flat else None
    error = ResultError("%d results are missing or malformed:\n  %s"
                        % (len(flat), "\n  ".join(str(e) for e in flat)))
    error.errors = flat
    return error


def _read_results(dataset, read) -> Dict[str, object]:
    """{video name: read(video)} over the dataset, every ResultError collected first."""
    out, errors = {}, []
    for video in dataset:
        try:
            out[video.name] = read(video)
        except ResultError as e:
            errors.append(e)
    if errors:
        raise _one_error(errors)
    return out


# --------------------------------------------------------------------------- one-pass


def evaluate_ope_tracker(dataset, results_dir, tracker: str) -> OPETrackerResult:
    base = tracker_dir(results_dir, dataset.name, tracker)

    def read(video):
        path = find_ope_result(base, video.name)
        if path is None:
            raise _missing(tracker, video.name, base / f"{video.name}.txt")
        return read_boxes(path, num_frames=len(video))

    preds = _read_results(dataset, read)
    videos = {}
    for video in dataset:
        pred = preds[video.name]
        gt = video.gt_xywh()
        present = _present_mask(video)
        visible = _visible_mask(video)
        if visible is not None:
            gt, pred = gt[visible], pred[visible]
            present = None if present is None else present[visible]
        videos[video.name] = OPEScores(M.success_curve(gt, pred, present=present),
                                       M.precision_curve(gt, pred, present=present),
                                       M.norm_precision_curve(gt, pred, present=present))
    attributes = {}
    for attr, names in _ope_attributes(dataset).items():
        attributes[attr] = OPEScores.mean([videos[n] for n in names])
    return OPETrackerResult(tracker, videos, OPEScores.mean(list(videos.values())), attributes)


def _ope_attributes(dataset) -> Dict[str, List[str]]:
    attrs: Dict[str, List[str]] = {}
    for video in dataset:
        for a in getattr(video, "attr", None) or []:
            attrs.setdefault(a, []).append(video.name)
    return dict(sorted(attrs.items()))


# --------------------------------------------------------------------------- VOT


def evaluate_vot_tracker(dataset, results_dir, tracker: str, eao_low: Optional[int] = None,
                         eao_high: Optional[int] = None, burnin: int = 10,
                         skipping: int = 5, overlap_method: str = "raster") -> VOTTrackerResult:
    """A-R and EAO of one tracker, as PySOT's ``AccuracyRobustnessBenchmark`` / ``EAOBenchmark``.

    Accuracy uses image bounds (W, H) and ``burnin``; EAO uses bounds (W - 1, H - 1), no
    burn-in, fragments restarting ``skipping`` frames after each failure. All run files
    ``<video>_NNN.txt`` are used (runs averaged per frame for accuracy, failures averaged,
    each run weighted 1 / runs in EAO).
    """
    low, high = eao_interval_for(dataset.name)
    low = low if eao_low is None else eao_low
    high = high if eao_high is None else eao_high
    videos: Dict[str, VOTVideoScores] = {}
    eao_ov, eao_fail, eao_w, eao_video = [], [], [], []

    def read(video):
        runs = vot_run_paths(results_dir, dataset.name, tracker, video.name)
        if not runs:
            raise _missing(tracker, video.name,
                           result_path(results_dir, dataset.name, tracker, video.name, "vot"))
        return [read_vot_record(path, num_frames=len(video)) for path in runs]

    records = _read_results(dataset, read)
    for video in dataset:
        runs = records[video.name]
        size = image_size(video)
        ar_bounds = size
        eao_bounds = None if size is None else (size[0] - 1, size[1] - 1)
        per_run_ov, fails = [], []
        for rec in runs:
            n_fail, fail_idx = M.vot_failures(rec)
            fails.append(n_fail)
            per_run_ov.append(M.vot_overlaps(rec, video.gt, burnin=burnin, bounds=ar_bounds,
                                              method=overlap_method))
            eao_ov.append(M.vot_overlaps(rec, video.gt, burnin=0, bounds=eao_bounds,
                                          method=overlap_method))
            eao_fail.append(fail_idx)
            eao_w.append(1.0 / len(runs))
            eao_video.append(video)
        stack = np.vstack(per_run_ov)
        with np.errstate(invalid="ignore"):
            valid = ~np.isnan(stack)
            cnt = valid.sum(axis=0)
            ov = np.where(cnt > 0, np.where(valid, stack, 0).sum(axis=0) / np.maximum(cnt, 1), np.nan)
        good = ~np.isnan(ov)
        acc = float(ov[good].mean()) if good.any() else float("nan")
        videos[video.name] = VOTVideoScores(acc, float(np.mean(fails)), len(video), ov, fails)

    all_ov = np.concatenate([v.overlaps for v in videos.values()])
    good = ~np.isnan(all_ov)
    accuracy = float(all_ov[good].mean()) if good.any() else float("nan")
    total_frames = sum(v.num_frames for v in videos.values())
    lost = float(sum(v.failures for v in videos.values()))
    curve = M.eao_curve(eao_ov, eao_fail, weights=eao_w, skipping=skipping)
    interval = M.eao_interval(low, high, len(curve))
    eao = M.eao_from_curve(curve, *interval)

    attributes = _vot_tag_breakdown(dataset, videos, eao_ov, eao_fail, eao_w, eao_video,
                                    skipping, interval)
    return VOTTrackerResult(tracker, videos, accuracy, M.robustness(lost, total_frames), lost,
                            eao, curve, interval, attributes)


def _vot_tag_breakdown(dataset, videos, eao_ov, eao_fail, eao_w, eao_video, skipping, interval):
    """Per-tag breakdown (VOT per-frame tags) for `evaluate_vot_tracker`: {tag: {"accuracy",
    "failures", "frames", "eao"}}.

    Accuracy is over the tagged frames, failures those on tagged frames (each run weighted
    as in EAO), and EAO uses PySOT's tag-weighted fragments. `videos` are the per-video
    scores; `eao_ov`, `eao_fail`, `eao_w` and `eao_video` the per-run overlaps, failure
    indices, weights and videos that the EAO curve was computed from, with `skipping` and
    the EAO `interval`.
    """
    attributes = {}
    for tag in sorted({t for v in dataset for t in (getattr(v, "tags", None) or {})}):
        tag_ov = np.concatenate([videos[v.name].overlaps[_tag_flags(v, tag)] for v in dataset])
        tag_ov = tag_ov[~np.isnan(tag_ov)]
        flags = [_tag_flags(v, tag) for v in eao_video]
        tag_fail = sum(w * int(np.count_nonzero(f[idx])) for w, f, idx in zip(eao_w, flags, eao_fail))
        tcurve = M.eao_curve(eao_ov, eao_fail, tags=[f.astype(np.float64) for f in flags],
                             weights=eao_w, skipping=skipping)
        attributes[tag] = {"accuracy": float(tag_ov.mean()) if len(tag_ov) else float("nan"),
                           "failures": float(tag_fail),
                           "frames": int(sum(_tag_flags(v, tag).sum() for v in dataset)),
                           "eao": M.eao_from_curve(tcurve, *interval)}
    return attributes


# --------------------------------------------------------------------------- entry point


def _evaluate_one(tracker, dataset, results_dir, protocol, eao_low, eao_high, overlap_method):
    """The tracker's result, or the ResultError of its results (returned, not raised, so
    that the errors of every tracker are reported together)."""
    try:
        if protocol == "vot":
            return evaluate_vot_tracker(dataset, results_dir, tracker, eao_low, eao_high,
                                        overlap_method=overlap_method)
        return evaluate_ope_tracker(dataset, results_dir, tracker)
    except ResultError as e:
        return e


def evaluate(dataset, results_dir, trackers: Optional[Sequence[str]] = None, prefix: str = "",
             num_workers: int = 1, protocol: Optional[str] = None,
             eao_low: Optional[int] = None, eao_high: Optional[int] = None,
             exclude: Sequence = (), overlap_method: str = "raster") -> BenchmarkResult:
    """Score every tracker of ``<results_dir>/<dataset.name>/`` on ``dataset``.

    ``trackers``: names to evaluate (default: all folders starting with ``prefix`` that hold
    result files, except those in ``exclude``). ``protocol``: "ope" or "vot" (default:
    ``detect_protocol``). ``num_workers > 1`` evaluates trackers in parallel processes.
    Raises ``ResultError`` (naming the file) on a missing or malformed result, listing every
    one of them when there are several.
    """
    if trackers is None:
        trackers = list_trackers(results_dir, dataset.name, prefix, exclude=exclude)
    trackers = list(trackers)
    if not trackers:
        raise ResultError(f"no tracker results found (prefix {prefix!r})",
                          Path(results_dir) / dataset.name)
    protocol = protocol or detect_protocol(dataset, results_dir, trackers)
    if protocol not in ("ope", "vot"):
        raise ValueError(f"protocol must be 'ope' or 'vot', got {protocol!r}")
    _check_ground_truth(dataset)
    job = functools.partial(_evaluate_one, dataset=dataset, results_dir=results_dir,
                            protocol=protocol, eao_low=eao_low, eao_high=eao_high,
                            overlap_method=overlap_method)
    num_workers = max(1, min(int(num_workers), len(trackers)))
    if num_workers == 1:
        outs = [job(t) for t in trackers]
    else:
        import multiprocessing
        with multiprocessing.Pool(processes=num_workers) as pool:
            outs = pool.map(job, trackers)
    error = _one_error([r for r in outs if isinstance(r, ResultError)])
    if error is not None:
        raise error
    attrs = _ope_attributes(dataset) if protocol == "ope" else {}
    return BenchmarkResult(dataset.name, protocol, {r.name: r for r in outs}, attrs)
