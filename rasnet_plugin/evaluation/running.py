"""Running a tracker over videos: the one-pass loop, the VOT reset loop, results with resume,
and a pool of worker processes.

- `one_pass(tracker, frames, init_box)`: THE one-pass loop. A generator over any iterable of
  frames (decoded lazily from a video, or already in memory) that yields one `Step` per
  frame: its box and the seconds of `init` / `track` alone (decoding is never timed). The
  test, compare, bench and soak tools all track through it.
- `track_ope` / `track_vot`: a whole video under the one-pass or PySOT's reset protocol.
- `run_video(tracker, video, job)`: track one video unless its result exists, write the
  result atomically, return a status dict.
- `run_videos(videos, job, ...)`: `run_video` over many videos, in this process or in a
  pool of spawned workers (one tracker each), yielding the statuses as they finish;
  `RunSummary` turns them into the log lines.
"""
import multiprocessing as mp
import os
import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple

from ..datasets import DatasetError
from ..fileio import remove_stale_temps
from . import display
from .reset_protocol import SKIP_AFTER_FAILURE, annotated, gt_polygon, overlap, pysot_init_box
from .results import ResultError, check_result, has_result, save_result

__all__ = ["FrameError", "Step", "RunJob", "one_pass", "video_frames", "track_ope",
           "track_vot", "run_video", "run_videos", "worker_threads", "cpu_count",
           "remove_run_temps", "RunSummary"]


class FrameError(ValueError):
    """The tracker refused the box of a frame (e.g. an empty init box); names the frame.
    `error` is the tracker's own exception."""

    def __init__(self, index, error):
        super().__init__("frame %d: %s" % (index, error))
        self.index, self.error = index, error


class Step(NamedTuple):
    """One frame of a one-pass run: the frame, the box (frame 0: the init box), the seconds
    of `init` or `track`, and whether the response was not finite (the box was kept)."""
    index: int
    frame: object
    box: list
    seconds: float
    failed: bool


def init_tracker(tracker, img, box, index):
    try:
        tracker.init(img, box)
    except ValueError as e:
        raise FrameError(index, e) from None


def one_pass(tracker, frames, init_box):
    """Initialise on the first frame at `init_box`, track every later one; yields a `Step`
    per frame. `frames` may be a list or a lazy iterator (decoding happens outside the
    timed part, before each step)."""
    perf = time.perf_counter
    box = [float(v) for v in init_box]
    for index, img in enumerate(frames):
        tic = perf()
        if index == 0:
            init_tracker(tracker, img, box, 0)
            failed = False
        else:
            out = tracker.track(img)
            box, failed = out["bbox"], bool(out.get("failed"))
        yield Step(index, img, box, perf() - tic, failed)


def video_frames(video):
    """The frames of `video`, decoded one at a time (DatasetError names a bad file)."""
    for index in range(len(video)):
        yield video.load_frame(index)


def track_ope(tracker, video, vis=False, nonfinite=None):
    """One pass from `video.init_rect`; returns (boxes, per-frame seconds, 0). `nonfinite`:
    a one-item list that counts the frames with a non-finite response."""
    nonfinite = [0] if nonfinite is None else nonfinite
    boxes, times = [], []
    for step in one_pass(tracker, video_frames(video), video.init_rect):
        nonfinite[0] += step.failed
        times.append(step.seconds)
        boxes.append(step.box)
        if vis and step.index > 0:
            display.show(video.name, step.frame, video.gt[step.index], step.box, step.index)
    return boxes, times, 0


def track_vot(tracker, video, vis=False, nonfinite=None):
    """PySOT's reset protocol: 1 at (re)initialisation, 2 at a failure (overlap with the
    ground truth <= 0), 0 for the skipped frames, re-initialisation SKIP_AFTER_FAILURE
    frames after the failure. A frame whose ground truth is NaN (VOT: not annotated) is
    never a failure, and a re-initialisation due there moves on to the next annotated
    frame (0 until then). Frame 0 is always the initialisation, as in PySOT: from its own
    ground-truth row, or from `video.init_rect` when that row is not annotated (so every
    record starts with 1, as `read_vot_record` requires). Returns (record, per-frame
    seconds, failures); `nonfinite`: as in track_ope."""
    nonfinite = [0] if nonfinite is None else nonfinite
    record, times = [], []
    frame_counter, lost = 0, 0
    for idx in range(len(video)):
        if 0 < idx == frame_counter and not annotated(video.gt[idx]):
            frame_counter += 1  # no box to re-initialise from: try the next frame
        if idx < frame_counter:  # skipped after a failure
            record.append(0)
            times.append(0.0)
            continue
        img = video.load_frame(idx)
        gt = gt_polygon(video.gt[idx])
        tic = time.perf_counter()
        if idx == frame_counter:
            row = video.gt[idx]
            box = pysot_init_box(row) if annotated(row) else list(video.init_rect)
            init_tracker(tracker, img, box, idx)
            record.append(1)
        else:
            out = tracker.track(img)
            box = out["bbox"]
            nonfinite[0] += bool(out.get("failed"))
            # no annotation, no overlap to judge: not a failure (the VOT toolkit's rule)
            if not annotated(video.gt[idx]) or overlap(box, gt, (img.shape[1], img.shape[0])) > 0:
                record.append(box)
            else:
                record.append(2)
                frame_counter = idx + SKIP_AFTER_FAILURE
                lost += 1
        times.append(time.perf_counter() - tic)
        if vis and idx > frame_counter:
            display.show(video.name, img, gt, box, idx, lost)
    return record, times, lost


@dataclass(frozen=True)
class RunJob:
    """Where and how `run_video` writes: <results>/<dataset>/<model>/... in `protocol`'s
    layout (ope, vot, got10k); `force` re-runs videos whose result exists."""
    protocol: str
    results: str
    dataset: str
    model: str
    force: bool = False
    vis: bool = False

    @property
    def folder(self):
        return os.path.join(self.results, self.dataset, self.model)


def _status(video, error=None):
    return {"video": video.name, "error": error, "skipped": False, "redone": None, "fps": 0.0,
            "lost": 0, "frames": len(video), "seconds": 0.0, "nonfinite": 0}


def run_video(tracker, video, job):
    """Track one video (unless its result exists, reads back whole, and not `job.force`)
    and write its result; returns {"video", "error", "skipped", "redone", "fps", "lost",
    "frames", "seconds", "nonfinite"}, "redone" saying why an existing result was unusable.
    A broken video or a failing tracker gives "error", never an exception."""
    status = _status(video)
    out = (job.results, job.dataset, job.model, video.name)
    if not job.force and has_result(*out, protocol=job.protocol):
        try:
            check_result(*out, len(video), protocol=job.protocol)
            status["skipped"] = True
            return status
        except ResultError as e:      # cut or edited by hand: track the video again
            status["redone"] = str(e)
    try:
        fn = track_vot if job.protocol == "vot" else track_ope
        nonfinite = [0]
        result, times, lost = fn(tracker, video, job.vis, nonfinite)
        save_result(*out, result, protocol=job.protocol, times=times)
    except (DatasetError, FrameError) as e:
        status["error"] = str(e)
        return status
    except Exception as e:  # keep the other videos going; report what broke
        status["error"] = "%s: %s" % (type(e).__name__, e)
        return status
    finally:
        if job.vis:
            display.close(video.name)
    status["seconds"] = float(sum(times))
    status["fps"] = len(video) / max(status["seconds"], 1e-9)
    status["lost"] = lost
    status["nonfinite"] = nonfinite[0]
    return status


def remove_run_temps(job):
    """Delete what writes killed mid-way left in the job's results folder (a new run calls
    this before it starts, so a resumed folder holds complete files only)."""
    return remove_stale_temps(job.folder, recursive=True)


# ---------------------------------------------------------------- workers

def cpu_count():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def worker_threads(workers, threads=None):
    """Torch threads per worker: `threads` when given, else an even share of the cores
    (at least 1), so that the workers together never oversubscribe the machine; an
    OMP_NUM_THREADS set by the user caps the share (it is the user's own limit)."""
    if threads:
        return threads
    share = max(1, cpu_count() // workers)
    try:
        return max(1, min(share, int(os.environ.get("OMP_NUM_THREADS", ""))))
    except ValueError:
        return share


_WORKER = {}


def _init_worker(build_args, threads):
    """A pool worker's start: its own tracker. It must not raise: CPython replaces a worker
    whose initializer raised with a new one, which raises again, forever (the run would
    hang). A failure is kept instead, and every video given to this worker reports it."""
    _WORKER.clear()
    try:
        import torch
        import rasnet_plugin
        torch.set_num_threads(threads)
        warnings.simplefilter("ignore")  # the main process already warned (untrained weights...)
        _WORKER["tracker"] = rasnet_plugin.build_tracker(*build_args)
    except Exception as e:  # CUDA out of memory, a snapshot gone since the main process read it...
        _WORKER["error"] = "worker could not build the tracker: %s: %s" % (type(e).__name__, e)


def _worker_run(item):
    video, job = item
    if "tracker" not in _WORKER:
        return _status(video, _WORKER.get("error", "worker could not build the tracker"))
    return run_video(_WORKER["tracker"], video, job)


def run_videos(videos, job, build_args, workers=1, threads=None, tracker=None):
    """Yield `run_video`'s status of every video as it finishes.

    One worker: in this process, with `tracker` (built from `build_args` when None).
    Several: a pool of spawned processes, each with its own tracker built from
    `build_args` = (cfg, snapshot, device) and `worker_threads(workers, threads)` threads;
    statuses come in completion order. Close the generator (or let it end) to stop the pool.
    """
    if workers == 1:
        if tracker is None:
            import rasnet_plugin
            tracker = rasnet_plugin.build_tracker(*build_args)
        for video in videos:
            yield run_video(tracker, video, job)
        return
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, _init_worker, (build_args, worker_threads(workers, threads))) as pool:
        yield from pool.imap_unordered(_worker_run, [(v, job) for v in videos])


class RunSummary:
    """Tallies `run_video` statuses into PySOT-style log lines and the final report."""

    def __init__(self, protocol, model, broken=()):
        self.protocol, self.model = protocol, model
        self.failed = list(broken)          # [(video, message)]
        self.done, self.lost, self.nonfinite = 0, 0, []

    def add(self, st):
        """(line, is_error) for one status."""
        if st["error"]:
            self.failed.append((st["video"], st["error"]))
            return "error: video %s: %s" % (st["video"], st["error"]), True
        if st["skipped"]:
            return "(skip) %s: result exists (--force re-runs it)" % st["video"], False
        self.done += 1
        self.lost += st["lost"]
        extra = " Lost: %d" % st["lost"] if self.protocol == "vot" else ""
        if st["nonfinite"]:
            self.nonfinite.append((st["video"], st["nonfinite"]))
            extra += " Non-finite: %d" % st["nonfinite"]
        if st.get("redone"):
            extra += " (re-run: the result there was unusable: %s)" % st["redone"]
        return ("(%3d) Video: %-16s Time: %5.1fs Speed: %5.1ffps%s"
                % (self.done, st["video"], st["seconds"], st["fps"], extra)), False

    def report(self):
        """The lines printed after the run (total lost, non-finite frames)."""
        lines = []
        if self.protocol == "vot":
            lines.append("%s total lost: %d" % (self.model, self.lost))
        if self.nonfinite:
            lines.append("%s: %d frame(s) with a non-finite response (box kept) in %d video(s): "
                         "%s" % (self.model, sum(n for _, n in self.nonfinite), len(self.nonfinite),
                                 ", ".join("%s %d" % v for v in sorted(self.nonfinite))))
        return lines

    def failure(self):
        """The closing error message, or None when every video ran."""
        if not self.failed:
            return None
        return "%d video(s) failed: %s" % (len(self.failed),
                                           ", ".join(sorted(v for v, _ in self.failed)))
