"""Find a dataset on disk, recognise its layout, and load it into a `Dataset`.

Layouts:
- PySOT JSON: `<NAME>/<NAME>.json` = {video: {video_dir, init_rect, img_names, gt_rect, attr,
  (VOT) camera_motion, illum_change, motion_change, size_change, occlusion}}.
- OTB: `<seq>/img/%04d.jpg` + `<seq>/groundtruth_rect.txt` (`groundtruth_rect.N.txt` for
  sequences with several targets, named `<seq>-N` as PySOT does; an empty one is skipped
  with a warning, as in OTB-100's Human4); a folder that is itself one such sequence also
  loads. The OTB-100 sequences annotated on part of their images only (`OTB_FRAME_RANGES`)
  keep the annotated frames.
- VOT toolkit: `list.txt` + `<seq>/groundtruth.txt` + images at the `sequence` file's
  `channels.color=` pattern (else `<seq>/color/` or `<seq>/` itself) + optional `*.tag` files.
  Reset protocol (`is_vot`), except for a long-term dataset (the folder's name says so:
  VOT2018-LT, VOT-LT2019, longterm), one pass as in PySOT.
- GOT-10k: `list.txt` + `<seq>/groundtruth.txt` + `<seq>/00000001.jpg ...` + `absence.label`,
  `cover.label`, `meta_info.ini` (recognised by those files, `GOT-10k_*` sequence names or
  the folder's name). One pass; a one-line ground truth (the test split: the first box only)
  loads for tracking, the other frames NaN. Tag `visible` = `cover > 0` and not `absence`:
  the frames GOT-10k scores.

Every text file is read as UTF-8, a leading byte-order mark ignored. Dot files (the `._*`
resource forks macOS leaves next to copied files) are never frames, tags or annotations.
"""
import json
import math
import os
import re
import warnings
from collections import Counter

import numpy as np

from .video import Dataset, DatasetError, Video

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VOT_JSON_TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")
# Datasets PySOT evaluates with the reset protocol; the long-term VOT20xx-LT ones are one-pass.
_VOT_RESET_NAME = re.compile(r"^VOT20(16|18|19)(?!-?LT)", re.IGNORECASE)
# A long-term dataset's name (VOT2018-LT, VOT-LT2019, ...): one pass, never the reset protocol.
_LONG_TERM_NAME = re.compile(r"(?:[-_ ]|\d)lt(?![a-z])|(?<![a-z])lt\d|long-?term",
                             re.IGNORECASE)
_OTB_GT = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")
# OTB-100 sequences whose img/ holds more images than the ground truth has lines (the
# benchmark's own frame ranges): name -> (first, last annotated frame, 1-based inclusive,
# number of images in the official download). Applied only when both counts match.
OTB_FRAME_RANGES = {
    "David": (300, 770, 770),
    "Diving": (1, 215, 231),
    "Football1": (1, 74, 81),
    "Freeman3": (1, 460, 474),
    "Freeman4": (1, 283, 297),
}
# Files of a GOT-10k sequence folder that a VOT one does not have.
_GOT10K_FILES = ("meta_info.ini", "absence.label", "cover.label")
_GOT10K_NAME = re.compile(r"GOT-?10k", re.IGNORECASE)
# *.label files that are not per-video attributes: cover.label is a visible ratio (0..8),
# non-zero in nearly every frame; `visible` is derived from it.
_NOT_ATTRIBUTES = ("cover", "visible")


def is_vot_reset_name(name):
    """True for the dataset names PySOT scores with the reset protocol (VOT2016/18/19)."""
    return bool(_VOT_RESET_NAME.match(name))


def is_long_term_name(name):
    """True for a long-term dataset's name (`VOT2018-LT`, `VOT-LT2019`, `longterm`)."""
    return bool(_LONG_TERM_NAME.search(name))


def layout_is_vot(kind, name):
    """Whether a folder of layout `kind` named `name` runs the reset protocol: a VOT folder
    does, unless its name says it is long-term; OTB and GOT-10k folders do not."""
    return kind in ("vot", "vot-seq") and not is_long_term_name(name)


def resolve_dataset_path(name_or_path, root="testing_dataset"):
    """`root/<name>` when that exists, else `name_or_path` itself; DatasetError when neither
    does (the message names both places it looked)."""
    path = os.fspath(name_or_path)
    named = os.path.join(root, path) if root and not os.path.isabs(path) else None
    if named and os.path.exists(named):
        return os.path.abspath(named)
    if not os.path.exists(path):
        looked = [os.path.abspath(p) for p in (named, path) if p]
        raise DatasetError(f"dataset {path!r} not found (looked for {' and '.join(looked)})")
    return os.path.abspath(path)


def load_dataset(name_or_path, root="testing_dataset"):
    """Load a dataset by name (`root/<NAME>/`) or by path (folder or PySOT json), any layout."""
    path = resolve_dataset_path(name_or_path, root)
    if os.path.isfile(path):
        if not path.endswith(".json"):
            raise DatasetError(f"{path}: a dataset file must be a PySOT .json annotation")
        return load_pysot_json(path)
    kind, where = detect_layout(path)
    if kind == "pysot":
        return load_pysot_json(where, name=os.path.basename(path))
    return _LOADERS[kind](where)


def detect_layout(folder):
    """Return (kind, path) for a dataset folder: kind in pysot/vot/vot-seq/got10k/got10k-seq/
    otb/otb-seq."""
    base = os.path.basename(folder)
    entries = sorted(os.listdir(folder))
    if f"{base}.json" in entries:
        return "pysot", os.path.join(folder, f"{base}.json")
    if "list.txt" in entries:
        return ("got10k" if _is_got10k(folder) else "vot"), folder
    if otb_gt_files(folder) and os.path.isdir(os.path.join(folder, "img")):
        return "otb-seq", folder
    if "groundtruth.txt" in entries:
        return ("got10k-seq" if _is_got10k_sequence(folder) else "vot-seq"), folder
    subdirs = [os.path.join(folder, e) for e in entries if os.path.isdir(os.path.join(folder, e))]
    if any(otb_gt_files(d) for d in subdirs):
        return "otb", folder
    if any(os.path.isfile(os.path.join(d, "groundtruth.txt")) for d in subdirs):
        return ("got10k" if _is_got10k(folder) else "vot"), folder
    jsons = [e for e in entries if e.endswith(".json") and not _hidden(e)]
    if len(jsons) == 1:
        return "pysot", os.path.join(folder, jsons[0])
    raise DatasetError(
        f"{folder}: not a tracking dataset. Looked for a PySOT annotation {base}.json (or a "
        f"single *.json), a VOT list.txt or <seq>/groundtruth.txt, and OTB "
        f"<seq>/groundtruth_rect.txt with <seq>/img/")


def _is_got10k_sequence(seq_dir):
    return (os.path.basename(seq_dir).startswith("GOT-10k_")
            or any(os.path.isfile(os.path.join(seq_dir, f)) for f in _GOT10K_FILES))


def _is_got10k(folder):
    """A VOT-like folder that is GOT-10k: its name, its sequences' names or their files."""
    if _GOT10K_NAME.search(os.path.basename(folder)):
        return True
    try:
        names = sequence_names(folder)
    except DatasetError:
        return False  # the loader reports the unreadable list
    return any(_is_got10k_sequence(os.path.join(folder, n)) for n in names)


# ---------------------------------------------------------------- text files

def _read_text(path, what):
    """The text of a UTF-8 file (a leading byte-order mark dropped), line breaks as they
    are (`_lines` splits them); DatasetError naming `what` when it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read {what} ({e})") from None


_LINE_BREAK = re.compile(r"\r*\n|\r")


def _lines(text):
    """The lines of a text file, whatever wrote it: LF, CRLF, a lone CR, and CR CR LF (a
    CRLF text written again through a text-mode file on Windows) are each one line break,
    so a Windows file never gains empty lines between its rows."""
    return _LINE_BREAK.split(text)


def read_gt_file(path):
    """Parse a ground-truth file: one box per line, 4 or 8 numbers split by , tab or space."""
    lines = _lines(_read_text(path, "ground truth"))
    while lines and not lines[-1].strip():
        lines.pop()  # a trailing newline is normal; an empty line inside is an error below
    rows, width = [], None
    for lineno, line in enumerate(lines, 1):
        fields = [t for t in re.split(r"[,\s]+", line.strip()) if t]
        try:
            row = [float(t) for t in fields]
        except ValueError:
            raise DatasetError(f"{path}, line {lineno}: non-numeric ground truth {line!r}"
                               ) from None
        width = width or len(row)
        if len(row) not in (4, 8) or len(row) != width:
            expected = width if width in (4, 8) else "4 or 8"
            raise DatasetError(f"{path}, line {lineno}: expected {expected} numbers, "
                               f"got {len(row)}: {line!r}")
        rows.append(row)
    if not rows:
        raise DatasetError(f"{path}: empty ground truth file")
    return np.array(rows, dtype=np.float64)


def _read_tag_file(path, n):
    """Per-frame 0/1 flags; a short file (trailing zeros omitted) is padded with False."""
    lines = [ln.strip() for ln in _lines(_read_text(path, "tag file"))]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > n:
        raise DatasetError(f"{path}: {len(lines)} lines for a sequence of {n} frames")
    flags = np.zeros(n, dtype=np.bool_)
    for lineno, line in enumerate(lines, 1):
        try:
            flags[lineno - 1] = float(line or 0) != 0
        except ValueError:
            raise DatasetError(f"{path}, line {lineno}: tag value must be 0 or 1, "
                               f"got {line!r}") from None
    return flags


def _natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _hidden(name):
    """A dot file: macOS writes `._<name>` resource forks (AppleDouble) next to every file
    it copies to a FAT/exFAT disk or a network share, and into zips (`__MACOSX`); they
    carry the frame's extension but hold no image."""
    return name.startswith(".")


def _list_images(folder):
    files = [f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTS) and not _hidden(f)]
    return [os.path.join(folder, f) for f in sorted(files, key=_natural_key)]


def _numbering_gap(frames):
    """", 0001 appears as 0001.jpg and 0001.png" when a frame number has two files, else
    ", 0003.jpg is missing" when numbered frames skip a number (what a count mismatch
    usually means), else ""."""
    stems = [os.path.splitext(os.path.basename(f)) for f in frames]
    seen = {}
    for stem, ext in stems:
        key = int(stem) if stem.isdigit() else stem
        if key in seen:
            return f", {stem} appears as {seen[key]} and {stem}{ext}"
        seen[key] = stem + ext
    if len(stems) < 2 or not all(stem.isdigit() for stem, _ in stems):
        return ""
    first = int(stems[0][0])
    for k, (stem, ext) in enumerate(stems):
        if int(stem) != first + k:
            return ", %0*d%s is missing" % (len(stems[k - 1][0]), first + k, stems[k - 1][1])
    return ""


# ---------------------------------------------------------------- OTB

def otb_gt_files(seq_dir):
    try:
        return sorted(f for f in os.listdir(seq_dir) if _OTB_GT.match(f))
    except OSError:
        return []


def _otb_frames(name, frames, n_gt, gt_path, img_dir):
    """The frames that `n_gt` ground-truth lines annotate: all of them, or the known range
    of an OTB sequence annotated on part of its images (`OTB_FRAME_RANGES`)."""
    if n_gt == len(frames):
        return frames
    known = OTB_FRAME_RANGES.get(name)
    if known and len(frames) == known[2] and n_gt == known[1] - known[0] + 1:
        return frames[known[0] - 1:known[1]]
    hint = (f" (OTB's {name} has {known[2]} images, annotated on frames {known[0]}-{known[1]})"
            if known else "")
    raise DatasetError(f"{gt_path}: {n_gt} ground-truth lines but {len(frames)} images in "
                       f"{img_dir}{_numbering_gap(frames)}{hint}")


def load_otb_sequence(seq_dir):
    """Videos of one OTB sequence folder (one per groundtruth_rect[.N].txt; an empty
    groundtruth_rect.N.txt is a target that does not exist, skipped with a warning)."""
    name = os.path.basename(seq_dir)
    img_dir = os.path.join(seq_dir, "img")
    if not os.path.isdir(img_dir):
        raise DatasetError(f"{seq_dir}: OTB sequence without an img/ folder")
    frames = _list_images(img_dir)
    videos, skipped = [], []
    for gt_name in otb_gt_files(seq_dir):
        gt_path = os.path.join(seq_dir, gt_name)
        index = _OTB_GT.match(gt_name).group(1)
        if index and not _read_text(gt_path, "ground truth").strip():
            warnings.warn(f"{gt_path}: empty ground truth file, no target {name}-{index}; "
                          f"skipped", stacklevel=2)
            skipped.append(gt_name)
            continue
        gt = read_gt_file(gt_path)
        video_frames = _otb_frames(name, frames, len(gt), gt_path, img_dir)
        videos.append(Video(f"{name}-{index}" if index else name, video_frames, gt,
                            source=gt_path))
    if not videos and skipped:
        raise DatasetError(f"{seq_dir}: every ground truth file is empty ({', '.join(skipped)})")
    return videos


def load_otb(folder):
    videos = []
    for entry in sorted(os.listdir(folder)):
        seq_dir = os.path.join(folder, entry)
        if os.path.isdir(seq_dir) and otb_gt_files(seq_dir):
            videos += load_otb_sequence(seq_dir)
    return _dataset(folder, videos, is_vot=False, layout="otb")


def _load_otb_single(seq_dir):
    return _dataset(seq_dir, load_otb_sequence(seq_dir), is_vot=False, layout="otb")


# ---------------------------------------------------------------- VOT

def _read_sequence_file(path):
    meta = {}
    for line in _lines(_read_text(path, "sequence file")):
        key, sep, value = line.partition("=")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


def _vot_frames(seq_dir):
    """Frame paths from `channels.color=` (frames 1, 2, ... while files exist), else a folder."""
    seq_file = os.path.join(seq_dir, "sequence")
    pattern = None
    if os.path.isfile(seq_file):
        pattern = _read_sequence_file(seq_file).get("channels.color")
    if pattern:
        pattern = os.path.join(seq_dir, pattern)
        try:
            pattern % 1
        except (TypeError, ValueError):
            raise DatasetError(f"{seq_file}: bad channels.color pattern {pattern!r}") from None
        frames = []
        while os.path.isfile(pattern % (len(frames) + 1)):
            frames.append(pattern % (len(frames) + 1))
        return frames, f"{pattern} (from {seq_file}; {pattern % (len(frames) + 1)} is missing)"
    color = os.path.join(seq_dir, "color")
    folder = color if os.path.isdir(color) else seq_dir
    return _list_images(folder), folder


def load_vot_sequence(seq_dir, got10k=False):
    """One VOT sequence folder; with `got10k`, a GOT-10k one: a one-line ground truth (the
    test split's first box) is padded with NaN rows, and tag `visible` (cover > 0 and not
    absence) marks the frames GOT-10k scores."""
    name = os.path.basename(seq_dir)
    gt_path = os.path.join(seq_dir, "groundtruth.txt")
    if not os.path.isfile(gt_path):
        raise DatasetError(f"{seq_dir}: {'GOT-10k' if got10k else 'VOT'} sequence without "
                           f"groundtruth.txt")
    gt = read_gt_file(gt_path)
    frames, frames_from = _vot_frames(seq_dir)
    if got10k and len(gt) == 1 and len(frames) > 1:  # test split: the init box only
        gt = np.vstack([gt, np.full((len(frames) - 1, gt.shape[1]), np.nan)])
    if len(gt) != len(frames):
        raise DatasetError(f"{gt_path}: {len(gt)} ground-truth lines but {len(frames)} frames "
                           f"in {frames_from}{_numbering_gap(frames)}")
    tags = {}
    for f in sorted(os.listdir(seq_dir)):
        stem, ext = os.path.splitext(f)
        if ext in (".tag", ".label") and not _hidden(f):
            tags[stem] = _read_tag_file(os.path.join(seq_dir, f), len(gt))
    attr = [t for t, flags in tags.items() if flags.any()]
    if got10k:
        attr = [t for t in attr if t not in _NOT_ATTRIBUTES]
        if "absence" in tags or "cover" in tags:
            visible = np.ones(len(gt), dtype=np.bool_)
            if "absence" in tags:
                visible &= ~tags["absence"]
            if "cover" in tags:
                visible &= tags["cover"]
            tags["visible"] = visible
    return Video(name, frames, gt, attr=attr, tags=tags, source=gt_path)


def load_got10k_sequence(seq_dir):
    """One GOT-10k sequence folder (see `load_vot_sequence`)."""
    return load_vot_sequence(seq_dir, got10k=True)


def sequence_names(folder, list_file=None):
    """Sequence names of a VOT / GOT-10k style folder: the lines of `list_file`
    (default `folder/list.txt`) when it exists, else the sub-folders that hold a
    groundtruth.txt, sorted."""
    list_path = list_file or os.path.join(folder, "list.txt")
    if os.path.isfile(list_path):
        # `ls -d */ > list.txt` writes `bag/`: the name is `bag`
        names = (ln.strip().rstrip("/\\") for ln in
                 _lines(_read_text(list_path, "the sequence list")))
        return [n for n in names if n]
    return sorted(e for e in os.listdir(folder)
                  if os.path.isfile(os.path.join(folder, e, "groundtruth.txt")))


def _listed_sequences(folder):
    names = sequence_names(folder)
    for n in names:
        if not os.path.isdir(os.path.join(folder, n)):
            raise DatasetError(f"{os.path.join(folder, 'list.txt')}: sequence {n!r} is listed "
                               f"but {os.path.join(folder, n)} is not a folder")
    return [os.path.join(folder, n) for n in names]


def load_vot(folder):
    videos = [load_vot_sequence(d) for d in _listed_sequences(folder)]
    return _dataset(folder, videos, is_vot=layout_is_vot("vot", os.path.basename(folder)),
                    layout="vot")


def _load_vot_single(seq_dir):
    return _dataset(seq_dir, [load_vot_sequence(seq_dir)],
                    is_vot=layout_is_vot("vot-seq", os.path.basename(seq_dir)), layout="vot")


def load_got10k(folder):
    """A GOT-10k folder (val or test split): one pass, never the reset protocol."""
    videos = [load_got10k_sequence(d) for d in _listed_sequences(folder)]
    return _dataset(folder, videos, is_vot=False, layout="got10k")


def _load_got10k_single(seq_dir):
    return _dataset(seq_dir, [load_got10k_sequence(seq_dir)], is_vot=False, layout="got10k")


# ---------------------------------------------------------------- PySOT JSON

def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _as_float(v):
    """A JSON number as float; an integer too large for a float becomes +-inf (as 1e999
    does in JSON text) instead of an OverflowError."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _field(entry, key, types, where, required=True):
    if key not in entry:
        if required:
            raise DatasetError(f"{where}: missing field {key!r}")
        return None
    if not isinstance(entry[key], types):
        raise DatasetError(f"{where}: field {key!r} must be {types[0].__name__}, "
                           f"got {type(entry[key]).__name__}")
    return entry[key]


def _resolve_images(names, ds_dir, where):
    """Absolute frame paths. Relative names resolve against the dataset folder, else its
    parent; one that climbs out with `..` is rejected (a JSON must not reach other files)."""
    for k, n in enumerate(names):
        if not isinstance(n, str) or not n:
            raise DatasetError(f"{where}: img_names[{k}] must be a non-empty string, got {n!r}")
        norm = os.path.normpath(n)
        if not os.path.isabs(n) and (norm == os.pardir or norm.startswith(os.pardir + os.sep)):
            raise DatasetError(f"{where}: img_names[{k}] {n!r} escapes the dataset folder "
                               f"{ds_dir} (use an absolute path)")
    base = ds_dir
    rel = [n for n in names if not os.path.isabs(n)]
    if rel and not os.path.exists(os.path.join(ds_dir, rel[0])):
        parent = os.path.dirname(ds_dir)
        if os.path.exists(os.path.join(parent, rel[0])):
            base = parent
    return [n if os.path.isabs(n) else os.path.normpath(os.path.join(base, n)) for n in names]


def _json_gt(rows, where):
    for k, row in enumerate(rows):
        if not isinstance(row, list) or not all(_is_number(v) for v in row):
            raise DatasetError(f"{where}: gt_rect[{k}] must be a list of numbers, got {row!r}")
        if len(row) not in (4, 8) or len(row) != len(rows[0]):
            raise DatasetError(f"{where}: gt_rect[{k}] has {len(row)} numbers, expected "
                               f"{len(rows[0]) if len(rows[0]) in (4, 8) else '4 or 8'}")
    return np.array([[_as_float(v) for v in row] for row in rows],
                    dtype=np.float64).reshape(len(rows), -1)


def load_json_video(name, entry, ds_dir, json_path):
    where = f"{json_path}: video {name!r}"
    if not isinstance(entry, dict):
        raise DatasetError(f"{where}: entry must be an object, got {type(entry).__name__}")
    names = _field(entry, "img_names", (list,), where)
    rows = _field(entry, "gt_rect", (list,), where)
    init = _field(entry, "init_rect", (list,), where)
    _field(entry, "video_dir", (str,), where, required=False)
    attr = _field(entry, "attr", (list,), where, required=False) or []
    if not all(isinstance(a, str) for a in attr):
        raise DatasetError(f"{where}: field 'attr' must be a list of strings")
    if len(rows) != len(names):
        raise DatasetError(f"{where}: {len(rows)} gt_rect rows but {len(names)} img_names")
    if not names:
        raise DatasetError(f"{where}: no frames (img_names and gt_rect are empty)")
    if len(init) != 4 or not all(_is_number(v) for v in init):
        raise DatasetError(f"{where}: field 'init_rect' must be 4 numbers, got {init!r}")
    init = [_as_float(v) for v in init]
    gt = _json_gt(rows, where)
    tags = {}
    for tag in VOT_JSON_TAGS:
        flags = _field(entry, tag, (list,), where, required=False)
        if flags is None:
            continue
        if not all(_is_number(v) or isinstance(v, bool) for v in flags):
            raise DatasetError(f"{where}: field {tag!r} must be a list of 0/1 values")
        if len(flags) > len(names):
            raise DatasetError(f"{where}: field {tag!r} has {len(flags)} values for "
                               f"{len(names)} frames")
        tags[tag] = np.array(list(flags) + [0] * (len(names) - len(flags))) != 0
    # LaSOT's per-frame visibility; in PySOT's LaSOT JSON, absent == 1 means the target
    # is *present* (its evaluation keeps those frames), whatever the name says
    absent = _field(entry, "absent", (list,), where, required=False)
    if absent is not None:
        if not all((_is_number(v) or isinstance(v, bool)) and v in (0, 1) for v in absent):
            raise DatasetError(f"{where}: field 'absent' must be a list of 0/1 values")
        if len(absent) != len(names):
            raise DatasetError(f"{where}: field 'absent' has {len(absent)} values for "
                               f"{len(names)} frames")
        tags["present"] = np.array(absent) == 1
    paths = _resolve_images(names, ds_dir, where)
    return Video(name, paths, gt, init_rect=init, attr=attr, tags=tags, source=json_path)


def read_pysot_json(json_path):
    """The {video: entry} object of a PySOT annotation file (DatasetError when unreadable)."""
    try:
        with open(json_path, encoding="utf-8-sig") as f:
            meta = json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{json_path}, line {e.lineno}: invalid JSON ({e.msg})") from None
    except RecursionError:
        raise DatasetError(f"{json_path}: invalid JSON (nested too deeply)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{json_path}: cannot read ({e})") from None
    if not isinstance(meta, dict):
        raise DatasetError(f"{json_path}: top level must be an object {{video: {{...}}}}, "
                           f"got {type(meta).__name__}")
    return meta


def load_pysot_json(json_path, name=None):
    ds_dir = os.path.dirname(os.path.abspath(json_path))
    name = name or os.path.splitext(os.path.basename(json_path))[0]
    meta = read_pysot_json(json_path)
    videos = [load_json_video(str(k), v, ds_dir, json_path) for k, v in meta.items()]
    is_vot = bool(is_vot_reset_name(name)) or any(v.gt.shape[1] == 8 for v in videos)
    return _dataset(ds_dir, videos, is_vot=is_vot, name=name, source=json_path, layout="pysot")


# ----------------------------------------------------------------

def _dataset(folder, videos, is_vot, name=None, source=None, layout=None):
    if not videos:
        raise DatasetError(f"{source or folder}: dataset has no videos")
    dup = [n for n, c in Counter(v.name for v in videos).items() if c > 1]
    if dup:
        raise DatasetError(f"{source or folder}: duplicate video names {sorted(dup)}")
    return Dataset(name or os.path.basename(folder), folder, videos, is_vot=is_vot,
                   layout=layout)


_LOADERS = {"vot": load_vot, "vot-seq": _load_vot_single,
            "got10k": load_got10k, "got10k-seq": _load_got10k_single,
            "otb": load_otb, "otb-seq": _load_otb_single}

__all__ = ["load_dataset", "resolve_dataset_path", "detect_layout", "read_gt_file",
           "read_pysot_json", "load_pysot_json", "load_json_video", "load_otb", "load_vot",
           "load_got10k", "load_otb_sequence", "load_vot_sequence", "load_got10k_sequence",
           "otb_gt_files", "is_vot_reset_name", "is_long_term_name", "layout_is_vot",
           "OTB_FRAME_RANGES", "IMAGE_EXTS"]
