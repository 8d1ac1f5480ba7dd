"""The Source base class and what every source shares: the common config keys and their
checks, ROOT/ANNO path resolution, EmptySource, and the train/validation split of items.

Each source is split into training and validation items by a stable hash of the item's
name (TRAIN.VAL_FRACTION of them held out): `split_items`.
"""
import logging
import math
import os
import zlib

import numpy as np

from ...config import REPO_ROOT, ConfigError
from ...datasets import DatasetError, read_frame

__all__ = ["Source", "EmptySource", "split_items", "read_image"]

logger = logging.getLogger("rasnet_plugin.training")

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
COMMON_KEYS = ("TYPE", "ROOT", "ANNO", "WEIGHT", "NUM_USE", "FRAME_RANGE", "FRAME_SCALE")


class EmptySource(DatasetError):
    """A source with no usable item in its split (e.g. a one-video source's validation
    split): build_sources leaves it out of validation; for training it is an error."""


# one implementation of frame reading for training and evaluation: read_frame refuses a
# truncated JPEG (OpenCV would grey out its missing rows) with a DatasetError naming the
# file and frame
read_image = read_frame


def _number(name, key, value, what, integer=False, ok=None):
    """`value` as a float (an int with `integer`), else ConfigError naming the key: nodes
    added to TRAIN.DATASETS are new to yacs, which never type-checks their keys."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    good = not isinstance(value, bool) and math.isfinite(v) and (v.is_integer() or not integer)
    if not good or (ok is not None and not ok(v)):
        raise ConfigError("TRAIN.DATASETS.%s.%s must be %s, got %r" % (name, key, what, value))
    return int(v) if integer else v


def split_items(names, split, fraction):
    """Indices of `names` in `split` ("train"/"val"/"all"), by a stable hash of the name.

    About `fraction` of the items are held out for validation; with two items or more and
    fraction > 0 both splits get at least one. A single item goes to training.
    """
    n = len(names)
    if split == "all" or fraction <= 0 or n < 2:
        val = set()
    else:
        h = [zlib.crc32(str(s).encode("utf-8")) / 2.0 ** 32 for s in names]
        val = {i for i in range(n) if h[i] < fraction}
        if not val:
            val = {int(np.argmin(h))}
        if len(val) == n:
            val.discard(int(np.argmax(h)))
    if split == "val":
        return sorted(val)
    return [i for i in range(n) if i not in val]


def _resolve(path):
    """A ROOT/ANNO path: as given (absolute or relative to the current directory), else
    relative to the repository root (PySOT's convention)."""
    if not path or os.path.isabs(path) or os.path.exists(path):
        return path
    alt = os.path.join(REPO_ROOT, path)
    return alt if os.path.exists(alt) else path


class Source:
    """Base class: items (videos or images), a share of the mix, `sample(rng)`."""
    TYPE = ""
    OPTIONS = {}          # the TYPE's own config keys and their defaults

    def __init__(self, root, anno="", weight=1.0, num_use=-1, frame_range=-1, frame_scale=1,
                 max_frame_gap=100, split="train", val_fraction=0.0, name=None, **options):
        unknown = set(options) - set(self.OPTIONS)
        if unknown:
            raise ConfigError("TRAIN.DATASETS.%s (TYPE %s): unknown key(s) %s; known: %s" % (
                name or self.TYPE, self.TYPE, ", ".join(sorted(unknown)),
                ", ".join(list(COMMON_KEYS) + sorted(self.OPTIONS))))
        self.name = name or self.TYPE.upper()
        self.root, self.anno = _resolve(root), _resolve(anno)
        # a negative share would only fail at the first batch, inside a DataLoader worker
        self.weight = _number(self.name, "WEIGHT", weight, "a number >= 0", ok=lambda v: v >= 0)
        # 0 would not mean "none" (it would be all, as -1): refused
        self.num_use = _number(self.name, "NUM_USE", num_use, "-1 (all items) or an integer "
                               ">= 1", integer=True, ok=lambda v: v == -1 or v >= 1)
        self.frame_scale = max(1, _number(self.name, "FRAME_SCALE", frame_scale, "an integer",
                                          integer=True))
        # max template-search distance in annotation steps
        limit = int(max_frame_gap) // self.frame_scale
        frame_range = _number(self.name, "FRAME_RANGE", frame_range, "an integer", integer=True)
        self.frame_range = min(limit, frame_range) if frame_range >= 0 else limit
        self.split, self.val_fraction = split, float(val_fraction)
        self.opts = dict(self.OPTIONS, **options)
        self.load_skipped = 0     # corrupt entries dropped while loading
        self.items = []

    def __len__(self):
        return len(self.items)

    def share(self):
        """Unnormalised sampling share: WEIGHT * (NUM_USE if > 0 else number of items)."""
        if not self.items:
            return 0.0
        return self.weight * (self.num_use if self.num_use > 0 else len(self.items))

    def _drop(self, msg):
        self.load_skipped += 1
        if self.load_skipped <= 20:
            logger.warning("%s: skipped %s", self.name, msg)

    def _select(self, names):
        return split_items(names, self.split, self.val_fraction)

    def sample(self, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def item_names(self):
        """The names of this split's videos/images, as checkpoints record them (a video's
        name in the annotation, a file's path inside ROOT)."""
        out = []
        for item in self.items:
            name = item[0] if isinstance(item, tuple) else item
            if os.path.isabs(name) and self.root and not os.path.isfile(self.root):
                name = os.path.relpath(name, self.root)
            out.append(str(name))
        return out

    def __repr__(self):
        return "%s(%r, %s items, split=%s)" % (type(self).__name__, self.root, len(self),
                                               self.split)
