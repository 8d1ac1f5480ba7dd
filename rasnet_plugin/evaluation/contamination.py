"""Contamination guard: which evaluated videos a checkpoint was trained on.

Checkpoints written by tools/train.py list every video/image they learned from (and
selected with) under `videos`: [{source, name, split}]. A result video is marked when its
name matches one of them, case-insensitively and with benchmark prefixes ignored, so
`uav_bike1` (training) matches UAV123's `bike1`, and `Jogging-1` matches `jogging-1`.
"""
import os
import re

from ..api import BUNDLED_DIR, read_checkpoint

__all__ = ["video_key", "trained_videos", "trained_matches", "shipped_snapshots", "guard_dataset",
           "BENCHMARK_PREFIXES"]

# prefixes training sets put before a benchmark's own video names
BENCHMARK_PREFIXES = ("uav123_10fps", "uav123", "uav20l", "uavdt", "uav", "dtb70", "dtb",
                      "otb100", "otb2015", "otb2013", "otb50", "otb", "vot2019", "vot2018",
                      "vot2017", "vot2016", "vot2015", "vot", "lasot", "got10k", "nfs",
                      "trackingnet", "tc128", "tc")
_PREFIX = re.compile(r"^(?:%s)[_\-.: ]+" % "|".join(BENCHMARK_PREFIXES))
_IMAGE_EXT = re.compile(r"\.(?:jpe?g|png|bmp|tiff?|webp|ppm|pgm|avi|mp4|mkv|mov)$")


def video_key(name):
    """The comparable form of a video name: last path part, lower case, no file extension,
    no benchmark prefix ("UAV_bike1" -> "bike1", "OTB100/Jogging-1" -> "jogging-1")."""
    key = os.path.basename(str(name).replace("\\", "/").rstrip("/")).strip().lower()
    key = _IMAGE_EXT.sub("", key)
    while True:
        stripped = _PREFIX.sub("", key)
        if stripped == key or not stripped:
            return key
        key = stripped


def trained_videos(snapshot):
    """{video_key: [(source, name), ...]} of a checkpoint file (empty when it lists none:
    files from before the list existed, or from elsewhere)."""
    out = {}
    for entry in read_checkpoint(snapshot).get("videos", []) or []:
        if isinstance(entry, dict) and entry.get("name"):
            out.setdefault(video_key(entry["name"]), []).append(
                (str(entry.get("source", "")), str(entry["name"])))
    return out


def trained_matches(video_names, trained):
    """{evaluated video name: [(source, training name), ...]} for the names `trained`
    (from trained_videos, or several merged) contains."""
    return {v: trained[video_key(v)] for v in video_names if video_key(v) in trained}


def shipped_snapshots():
    """The shipped weight files (tools/eval.py's default list of checkpoints to check)."""
    if not os.path.isdir(BUNDLED_DIR):
        return []
    return sorted(os.path.join(BUNDLED_DIR, f) for f in os.listdir(BUNDLED_DIR)
                  if f.endswith(".pth"))


def guard_dataset(dataset, snapshots=None, exclude=False, log=print):
    """(dataset to score, names marked as trained on) for `tools/eval.py`: logs each video
    that a checkpoint of `snapshots` (default: the shipped weights) was trained on and,
    with `exclude`, drops those videos (DatasetError when nothing is left)."""
    from ..datasets import Dataset, DatasetError

    trained = {}
    for path in (shipped_snapshots() if snapshots is None else snapshots):
        for key, sources in trained_videos(path).items():
            trained.setdefault(key, []).extend(sources)
    matches = trained_matches([v.name for v in dataset], trained)
    for name, sources in sorted(matches.items()):
        log("trained on: %s (%s)%s" % (name, ", ".join(sorted({"%s/%s" % s for s in sources})),
                                       " -- excluded" if exclude else ""))
    if not (exclude and matches):
        return dataset, set(matches)
    kept = [v for v in dataset if v.name not in matches]
    if not kept:
        raise DatasetError("%s: every video is a training video of the checkpoints; nothing "
                           "left to score with --exclude-trained" % dataset.name)
    return Dataset(dataset.name, dataset.root, kept, is_vot=dataset.is_vot), set()
