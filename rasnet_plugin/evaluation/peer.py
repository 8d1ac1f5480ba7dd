"""Tracker frame rate against a peer tracker, quiet and under CPU load (`tools/bench_peer.py`).

Fair by construction: one process, the same decoded frames, the same torch thread count,
tracker calls only (init untimed), and the trackers interleaved pass by pass (the order
rotates each round), so drift of a shared or throttled CPU hits all of them alike. The
medians over rounds are compared. Under load, `load` other CPU-bound processes (a pure
Python loop each: one busy core apiece, no threads) run beside the whole measurement.

A peer is wrapped in `PeerTracker` (any object with `init(img, box)` and `update(img)` or
`track(img)`);
`load_siamfc_pytorch` adapts huanglianghua/siamfc-pytorch from a checkout the user has
(nothing of it ships here). Speed does not depend on its weights: without a weights file
its network keeps its random initialisation.
"""
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List

import numpy as np

__all__ = ["PeerTracker", "load_siamfc_pytorch", "cpu_load", "timed_pass", "interleaved_fps",
           "PeerRow", "markdown"]

_BUSY_LOOP = "while True:\n    pass\n"


class PeerTracker:
    """A foreign tracker behind our `init`/`track` calls. `rgb`: it wants RGB frames (the
    frames handed to `init`/`track` are then converted beforehand, outside the timing,
    by `prepare`); `one_based`: its boxes count pixels from 1 (OTB's convention)."""

    def __init__(self, tracker, name, rgb=False, one_based=False):
        self.tracker, self.name, self.rgb = tracker, name, rgb
        self.offset = np.array([1.0, 1.0, 0.0, 0.0]) if one_based else np.zeros(4)
        self._step = getattr(tracker, "update", None) or tracker.track

    def prepare(self, frames):
        return [np.ascontiguousarray(f[:, :, ::-1]) for f in frames] if self.rgb else frames

    def init(self, img, box):
        self.tracker.init(img, np.asarray(box, dtype=np.float64) + self.offset)

    def track(self, img):
        return self._step(img)


def load_siamfc_pytorch(checkout, weights=None):
    """huanglianghua/siamfc-pytorch's TrackerSiamFC from the folder `checkout` (the one
    holding its `siamfc/` package), on the CPU, as a PeerTracker."""
    package = os.path.join(checkout, "siamfc")
    if not os.path.isfile(os.path.join(package, "__init__.py")):
        raise FileNotFoundError("%s: no siamfc/__init__.py (expected a siamfc-pytorch checkout)"
                                % checkout)
    if weights and not os.path.isfile(weights):
        raise FileNotFoundError("siamfc-pytorch weights %s: no such file" % weights)
    import importlib

    import torch

    root = os.path.abspath(checkout)
    for name in [m for m in sys.modules if m == "siamfc" or m.startswith("siamfc.")]:
        del sys.modules[name]          # another siamfc imported before must not answer
    sys.path.insert(0, root)
    try:
        module = importlib.import_module("siamfc")
    except ImportError as e:
        raise ImportError("siamfc-pytorch at %s cannot be imported: %s (it needs got10k: "
                          "pip install -e \".[got10k]\")" % (checkout, e)) from None
    finally:
        sys.path.remove(root)
    if not os.path.abspath(module.__file__).startswith(root + os.sep):
        raise ImportError("siamfc was imported from %s, not from %s" % (module.__file__, root))
    tracker = module.TrackerSiamFC(net_path=weights)
    # it picks cuda:0 whenever CUDA exists; the comparison is CPU against CPU
    tracker.device, tracker.cuda = torch.device("cpu"), False
    tracker.net = tracker.net.to("cpu").eval()
    return PeerTracker(tracker, "siamfc-pytorch", rgb=True, one_based=True)


@contextmanager
def cpu_load(processes):
    """Run `processes` busy-looping Python processes for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", _BUSY_LOOP], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(processes)]
    try:
        time.sleep(0.5 if procs else 0)   # let them reach their loop
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def timed_pass(tracker, frames, box):
    """Frames/s of `tracker` over `frames` (track calls only; init untimed)."""
    import torch

    tracker.init(frames[0], box)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for f in frames[1:]:
            tracker.track(f)
    return (len(frames) - 1) / (time.perf_counter() - t0)


@dataclass
class PeerRow:
    name: str
    quiet: List[float] = field(default_factory=list)    # fps per round
    loaded: List[float] = field(default_factory=list)

    @property
    def quiet_fps(self):
        return statistics.median(self.quiet)

    @property
    def loaded_fps(self):
        return statistics.median(self.loaded) if self.loaded else float("nan")

    @property
    def kept(self):
        """Share of the quiet frame rate kept under load."""
        return self.loaded_fps / self.quiet_fps


def interleaved_fps(trackers, frames, box, rounds=3, load=1, warmup=True):
    """{name: PeerRow} for the `trackers` ({name: tracker}) over the decoded BGR `frames`:
    `rounds` interleaved passes quiet, then `rounds` under `load` busy processes (none
    when load is 0)."""
    if rounds < 1 or load < 0 or len(frames) < 2:
        raise ValueError("need rounds >= 1 (got %d), load >= 0 (got %d) and a sequence of at "
                         "least 2 frames (got %d)" % (rounds, load, len(frames)))
    inputs = {n: (t.prepare(frames) if hasattr(t, "prepare") else frames)
              for n, t in trackers.items()}
    rows = {n: PeerRow(n) for n in trackers}
    names = list(trackers)
    if warmup:   # first calls pay for allocations, kernel selection, calibration
        for n in names:
            timed_pass(trackers[n], inputs[n][:min(len(frames), 5)], box)
    phases = [("quiet", 0)] + ([("loaded", load)] if load else [])
    for phase, processes in phases:
        with cpu_load(processes):
            for r in range(rounds):
                for n in names[r % len(names):] + names[:r % len(names)]:
                    getattr(rows[n], phase).append(timed_pass(trackers[n], inputs[n], box))
    return rows


def markdown(rows, peer, load):
    """The table of `rows` ({name: PeerRow}); ratios against the row named `peer`."""
    ref = rows[peer]
    if not load:
        lines = ["| tracker | fps quiet | x %s |" % peer, "|---|---|---|"]
        lines += ["| %s | %.1f | %.2f |" % (r.name, r.quiet_fps, r.quiet_fps / ref.quiet_fps)
                  for r in rows.values()]
        return "\n".join(lines)
    lines = ["| tracker | fps quiet | x %s | fps with %d busy process%s | x %s | kept under load |"
             % (peer, load, "" if load == 1 else "es", peer),
             "|---|---|---|---|---|---|"]
    for r in rows.values():
        lines.append("| %s | %.1f | %.2f | %.1f | %.2f | %.0f%% |"
                     % (r.name, r.quiet_fps, r.quiet_fps / ref.quiet_fps, r.loaded_fps,
                        r.loaded_fps / ref.loaded_fps, 100 * r.kept))
    return "\n".join(lines)
