"""Training data sources: GOT-10k, PySOT's cropped sets, still images, unlabeled videos.

Each source holds a list of items (videos or images) and draws a `RawPair` (two images and
the target box in each) from a numpy Generator. Broken data never stop a run: an entry
that cannot be parsed is dropped at load time, an image that cannot be read raises
`SampleError` at sampling time; both are counted and reported (see `PairDataset`).

Sources are configured by `cfg.TRAIN.DATASETS` (see config.py): `NAMES` lists the nodes
used; each node has TYPE, ROOT, ANNO, WEIGHT, NUM_USE, FRAME_RANGE, FRAME_SCALE and the
TYPE's own keys (`Source.OPTIONS`). `build_sources` (here) makes them; SOURCE_TYPES maps
each TYPE to its class.

Modules: base.py (Source, the common keys, split_items, EmptySource), tracks.py
(GOT10kSource, PySOTSource), still.py (StillImageSource and its pair synthesis),
video.py (follow_region, VideoFolderSource).
"""
from ...config import ConfigError
from .base import COMMON_KEYS, EmptySource, Source, split_items
from .still import SKIMAGE_PHOTOS, StillImageSource
from .tracks import GOT10kSource, PySOTSource
from .video import VideoFolderSource, follow_region

__all__ = ["Source", "GOT10kSource", "PySOTSource", "StillImageSource", "VideoFolderSource",
           "SOURCE_TYPES", "build_sources", "split_items", "SKIMAGE_PHOTOS", "follow_region",
           "EmptySource"]


SOURCE_TYPES = {c.TYPE: c for c in (GOT10kSource, PySOTSource, StillImageSource,
                                    VideoFolderSource)}


def build_sources(cfg, split="train"):
    """The sources of cfg.TRAIN.DATASETS.NAMES for `split` ("train", "val" or "all").

    Sources with no item in the split (e.g. a one-video source's validation split), and
    for validation those of WEIGHT 0 (never drawn), are left out. A missing node, an
    unknown TYPE or key, a bad WEIGHT or NUM_USE, a missing ROOT, or training sources that
    all have WEIGHT 0 raise at once.
    """
    t = cfg.TRAIN
    out = []
    for name in t.DATASETS.NAMES:
        if name not in t.DATASETS or name == "NAMES":
            raise ConfigError("TRAIN.DATASETS.NAMES names %r but TRAIN.DATASETS has no such "
                              "node" % name)
        node = dict(t.DATASETS[name])
        type_ = str(node.pop("TYPE", "")).lower()
        if type_ not in SOURCE_TYPES:
            raise ConfigError("TRAIN.DATASETS.%s.TYPE must be one of %s, got %r"
                              % (name, ", ".join(sorted(SOURCE_TYPES)), type_))
        kw = {k.lower(): node.pop(k) for k in COMMON_KEYS[1:] if k in node}
        try:
            src = SOURCE_TYPES[type_](name=name, max_frame_gap=t.MAX_FRAME_GAP, split=split,
                                      val_fraction=t.VAL_FRACTION, **kw, **node)
        except EmptySource:
            if split == "val":
                continue
            raise
        if len(src) and (split != "val" or src.weight > 0):
            out.append(src)
    if split == "train" and not out:
        raise ConfigError("TRAIN.DATASETS: no training data (NAMES = %s)" % list(t.DATASETS.NAMES))
    if out and not any(s.weight > 0 for s in out):
        raise ConfigError("TRAIN.DATASETS: every source has WEIGHT 0 (%s): no pair to draw"
                          % ", ".join(s.name for s in out))
    return out
