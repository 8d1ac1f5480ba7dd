"""Load a dataset video by video, so that one broken video does not hide the others.

`load_dataset` refuses a whole dataset when any of its videos is broken (a missing frame,
ground truth of the wrong length, a bad first box): right for evaluation, which must score
every video. A tracking run wants the opposite: track what can be tracked and report the
rest. `load_dataset_lenient` gives both the loadable videos and the broken ones, each with
the message that names the file and the reason.
"""
import os

from .loaders import (detect_layout, is_vot_reset_name, layout_is_vot, load_dataset,
                      load_got10k_sequence, load_json_video, load_otb_sequence,
                      load_vot_sequence, otb_gt_files, read_pysot_json, resolve_dataset_path,
                      sequence_names)
from .video import Dataset, DatasetError

__all__ = ["load_dataset_lenient"]


def load_dataset_lenient(name_or_path, root="testing_dataset"):
    """(dataset, broken): the dataset of every video that loads, and [(video name, message)]
    for those that do not, in the order the annotation lists them.

    A dataset that loads whole comes back as `load_dataset` gives it, with broken == [].
    The DatasetError of `load_dataset` is raised when the dataset cannot be split into
    videos (not found, unreadable annotation file or list, a single-sequence folder) or
    when it has no video at all.
    """
    try:
        return load_dataset(name_or_path, root=root), []
    except DatasetError as e:
        error = e
    try:
        split = _split(resolve_dataset_path(name_or_path, root))
    except DatasetError:
        split = None
    if split is None:
        raise error
    name, folder, kind, parts = split
    videos, broken = [], []
    for video_name, load in parts:
        try:
            videos.extend(load())
        except DatasetError as e:
            broken.append((video_name, str(e)))
    if not videos and not broken:
        raise error
    if kind == "pysot":
        is_vot = is_vot_reset_name(name) or any(v.gt.shape[1] == 8 for v in videos)
    else:
        is_vot = layout_is_vot(kind, name)
    return Dataset(name, folder, videos, is_vot=is_vot, layout=kind), broken


def _split(path):
    """(name, folder, layout, [(video name, load() -> [Video])]) of a dataset path, or None
    for a layout without videos to split (a single sequence)."""
    if os.path.isfile(path):
        kind, where = "pysot", path
    else:
        kind, where = detect_layout(path)
    if kind == "pysot":
        meta = read_pysot_json(where)
        ds_dir = os.path.dirname(where)
        name = (os.path.basename(path) if os.path.isdir(path)
                else os.path.splitext(os.path.basename(where))[0])
        parts = [(str(k), _bind(load_json_video, str(k), entry, ds_dir, where))
                 for k, entry in meta.items()]
        return name, ds_dir, kind, parts
    if kind in ("vot", "got10k"):
        load = load_vot_sequence if kind == "vot" else load_got10k_sequence
        parts = [(n, _bind(load, os.path.join(where, n))) for n in sequence_names(where)]
        return os.path.basename(where), where, kind, parts
    if kind == "otb":
        seqs = [n for n in sorted(os.listdir(where))
                if os.path.isdir(os.path.join(where, n)) and otb_gt_files(os.path.join(where, n))]
        parts = [(n, _bind(load_otb_sequence, os.path.join(where, n))) for n in seqs]
        return os.path.basename(where), where, kind, parts
    return None


def _bind(fn, *args):
    """A loader call for later that always returns a list of videos."""
    def load():
        got = fn(*args)
        return got if isinstance(got, list) else [got]
    return load
