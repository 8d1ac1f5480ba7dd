"""Pair sampling: which frames make a training pair, and how they are sharded.

Every training pair is a pure function of (seed, epoch, pair index): `pair_rng` seeds a
numpy Generator from those three numbers, and everything random about the pair (source,
video, frames, augmentation) is drawn from it. So the data do not depend on the number of
DataLoader workers, a resumed run sees exactly the pairs the interrupted one would have,
and `EpochBatches` (the DistributedSampler of this package) only has to say which pair
indices each process takes, batch by batch.
"""
import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.utils.data

from ..config import ConfigError
from .augment import make_crops

__all__ = ["omega", "RawPair", "SampleError", "SampleRejected", "DataUnusable", "pair_rng",
           "pick_frame_pair", "EpochBatches", "PairDataset", "VAL_EPOCH"]

logger = logging.getLogger("rasnet_plugin.training")

VAL_EPOCH = 2 ** 31 - 1  # the "epoch" of the validation pairs: never a training epoch


class SampleError(Exception):
    """A sample that cannot be used because its data are broken (counted, then skipped)."""


class DataUnusable(RuntimeError):
    """MAX_RETRIES samples in a row were unusable: the data, not one sample, are broken."""


class SampleRejected(Exception):
    """A sample that failed a quality check (e.g. an unreliable flow track): drawn again."""


@dataclass
class RawPair:
    """Two full images and the target in each, before cropping.

    Boxes are (cx, cy, w, h) in pixel coordinates (a box [x, y, w, h] has its centre at
    x + (w - 1) / 2, as in PySOT). `gap` is |i - j| in video frames (0 for one image).
    """
    template: np.ndarray
    template_box: tuple
    search: np.ndarray
    search_box: tuple
    gap: float = 0.0
    info: dict = field(default_factory=dict)


def omega(gaps, sigma):
    """The paper's pair weight Omega = exp(-|i - j| / sigma) for frame distances `gaps`.

    sigma <= 0 or inf switches the weighting off (every pair weighs 1).
    """
    gaps = torch.as_tensor(gaps, dtype=torch.float32).abs()
    if not 0 < sigma < math.inf:
        return torch.ones_like(gaps)
    return torch.exp(-gaps / sigma)


def pair_rng(seed, epoch, index):
    """The generator of pair `index` of `epoch` (independent streams per pair)."""
    return np.random.default_rng([int(seed), int(epoch), int(index)])


def pick_frame_pair(frames, max_gap, rng):
    """Template and search positions in the sorted frame numbers `frames`.

    The template frame is uniform; the search frame is uniform among the other frames at
    most `max_gap` frame numbers away (the template frame itself when there is none, e.g.
    a single annotated image). Returns (i, j) positions into `frames`.
    """
    frames = np.asarray(frames)
    i = int(rng.integers(len(frames)))
    near = np.flatnonzero(np.abs(frames - frames[i]) <= max_gap)
    near = near[near != i]
    j = int(rng.choice(near)) if len(near) else i
    return i, j


class EpochBatches:
    """Batches of (epoch, pair index) for one process: a deterministic, sharded sampler.

    An epoch has `steps` steps; at step s process `rank` of `world` takes pair indices
    (s * world + rank) * batch + 0..batch-1. The pairs themselves are random (see
    `pair_rng`), so no shuffling is needed: a different epoch gives different pairs.
    `start` skips the steps already done (resume in the middle of an epoch).
    """

    def __init__(self, epoch, steps, batch, rank=0, world=1, start=0):
        self.epoch, self.steps, self.batch = int(epoch), int(steps), int(batch)
        self.rank, self.world, self.start = int(rank), int(world), int(start)

    def __len__(self):
        return max(0, self.steps - self.start)

    def __iter__(self):
        for s in range(self.start, self.steps):
            first = (s * self.world + self.rank) * self.batch
            yield [(self.epoch, first + b) for b in range(self.batch)]

    def state_dict(self):
        return {"epoch": self.epoch, "position": self.start, "steps": self.steps,
                "batch": self.batch, "world": self.world}


# ---------------------------------------------------------------- the dataset

_warned = {"n": 0}


def _warn_skip(msg):
    _warned["n"] += 1
    n = _warned["n"]
    if n <= 10 or n % 100 == 0:
        logger.warning("skipped a corrupt sample (%d so far in this process): %s", n, msg)


class PairDataset(torch.utils.data.Dataset):
    """Training pairs mixed from `sources`, keyed by (epoch, pair index).

    The source of a pair is drawn with probability proportional to `Source.share()`.
    A sample whose data are broken (SampleError, DatasetError, unreadable file, cv2 error)
    is skipped with a warning and counted; one that fails a quality check (SampleRejected)
    is counted as rejected; either way another is drawn from the same generator, so the
    pair stays deterministic. After `max_retries` failures in a row the data are taken to
    be unusable and DataUnusable names the last problems.

    An item is a dict: template (3,127,127) and search (3,255,255) uint8 BGR tensors,
    offset (2,) float32 (target position in the search crop minus its centre, pixels),
    gap (frame distance |i - j|), source (index into `sources`), skipped and rejected
    (counts of unusable samples drawn before this one).
    """

    def __init__(self, sources, aug, seed=0, max_retries=100):
        if not sources:
            raise ValueError("PairDataset needs at least one source")
        self.sources, self.aug = list(sources), aug
        self.seed, self.max_retries = int(seed), int(max_retries)
        shares = np.array([s.share() for s in self.sources], dtype=np.float64)
        if not (shares.sum() > 0 and np.isfinite(shares.sum())):
            # a ConfigError: rasnet-train prints it (a bare ValueError was a traceback)
            raise ConfigError("TRAIN.DATASETS: every source (%s) has a zero share "
                              "(WEIGHT * NUM_USE): no pair to draw"
                              % ", ".join(s.name for s in self.sources))
        self.probs = shares / shares.sum()

    @property
    def load_skipped(self):
        return sum(s.load_skipped for s in self.sources)

    def __getitem__(self, key):
        epoch, index = key
        rng = pair_rng(self.seed, epoch, index)
        skipped = rejected = 0
        problems = []
        for _ in range(self.max_retries):
            which = int(rng.choice(len(self.sources), p=self.probs))
            src = self.sources[which]
            try:
                raw = src.sample(rng)
                z, x, offset = make_crops(raw, rng, self.aug)
            except SampleRejected as e:
                rejected += 1
                problems.append("%s: rejected (%s)" % (src.name, e))
                continue
            except (SampleError, ValueError, OSError, cv2.error) as e:  # DatasetError too
                skipped += 1
                problems.append("%s: %s" % (src.name, e))
                _warn_skip("%s: %s" % (src.name, e))
                continue
            return {"template": torch.from_numpy(z).permute(2, 0, 1),
                    "search": torch.from_numpy(x).permute(2, 0, 1),
                    "offset": torch.from_numpy(offset),
                    "gap": torch.tensor(float(raw.gap)), "source": torch.tensor(which),
                    "skipped": torch.tensor(skipped), "rejected": torch.tensor(rejected)}
        raise DataUnusable("no usable training pair after %d tries (epoch %d, pair %d); last "
                           "problems: %s" % (self.max_retries, epoch, index,
                                             "; ".join(problems[-3:])))
