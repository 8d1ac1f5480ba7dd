"""Annotated videos: GOT-10k (GOT10kSource) and PySOT's cropped training sets
(PySOTSource), both drawing two frames of one annotated track."""
import json
import math
import os

import numpy as np

from ...datasets import DatasetError, sequence_names
from ...tracker.crop import context_size
from ..pairs import RawPair, pick_frame_pair
from .base import EmptySource, Source, logger, read_image

__all__ = ["GOT10kSource", "PySOTSource"]

PYSOT_CROP_EXEMPLAR = 127  # the template size PySOT's par_crop.py scales the crops for
ROOT_PROBES = 8            # videos whose first crop is looked for when a source loads


class _TrackSource(Source):
    """Videos of annotated tracks: items are (video, [track, ...]); a pair is two frames of
    one track at most FRAME_RANGE annotation steps apart (`pick_frame_pair`)."""

    def sample(self, rng):
        video, tracks = self.items[int(rng.integers(len(self.items)))]
        track = tracks[int(rng.integers(len(tracks)))]
        i, j = pick_frame_pair(track["frames"], self.frame_range, rng)
        z_img, z_box = self._load(video, track, i)
        x_img, x_box = self._load(video, track, j)
        gap = abs(int(track["frames"][i]) - int(track["frames"][j])) * self.frame_scale
        return RawPair(z_img, z_box, x_img, x_box, float(gap),
                       {"source": self.name, "video": video,
                        "frames": (int(track["frames"][i]), int(track["frames"][j]))})

    def _load(self, video, track, k):  # pragma: no cover - abstract
        raise NotImplementedError


def _parse_box_line(line):
    fields = [t for t in line.replace(",", " ").replace("\t", " ").split(" ") if t]
    if len(fields) != 4:
        raise ValueError("expected 4 numbers, got %d" % len(fields))
    return [float(t) for t in fields]


def _box_problem(values):
    """Why a box (x, y, w, h) or size (w, h) is malformed (NaN or inf, a negative side),
    else None. An empty box (a side of 0) is not malformed: PySOT and GOT-10k write
    those for frames without the target."""
    if not all(math.isfinite(v) for v in values):
        return "NaN or inf"
    if min(values[-2:]) < 0:
        return "a negative size"
    return None


class GOT10kSource(_TrackSource):
    """GOT-10k's layout: ROOT/list.txt, ROOT/<seq>/00000001.jpg ..., groundtruth.txt with one
    `x,y,w,h` line per frame, and optional absence.label (1: target absent).

    ROOT may be the train/ folder or its parent; ANNO may name another list file. Absent
    frames and empty boxes are not used; an unparsable line drops that frame (counted).
    """
    TYPE = "got10k"

    def __init__(self, root, anno="", **kw):
        super().__init__(root, anno, **kw)
        root = self.root
        if not os.path.isdir(root):
            raise DatasetError("%s: GOT-10k root not found: %s" % (self.name, root))
        list_file = self.anno or os.path.join(root, "list.txt")
        if not self.anno and not os.path.isfile(list_file) and \
                os.path.isfile(os.path.join(root, "train", "list.txt")):
            root = os.path.join(root, "train")
            list_file = os.path.join(root, "list.txt")
        self.root = root
        names = sequence_names(root, list_file)
        for k in self._select(names):
            track = self._read_sequence(names[k])
            if track is not None:
                self.items.append((names[k], [track]))
        if not self.items:
            raise EmptySource("%s: no usable GOT-10k sequence under %s" % (self.name, root))

    def _read_sequence(self, name):
        seq = os.path.join(self.root, name)
        gt = os.path.join(seq, "groundtruth.txt")
        try:
            with open(gt, encoding="utf-8-sig") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            self._drop("sequence %s: cannot read %s (%s)" % (name, gt, e))
            return None
        absent = np.zeros(len(lines), dtype=bool)
        absence = os.path.join(seq, "absence.label")
        if os.path.isfile(absence):
            try:
                with open(absence, encoding="utf-8-sig") as f:
                    flags = [int(float(t)) for t in f.read().split()]
                n = min(len(flags), len(lines))
                absent[:n] = np.asarray(flags[:n]) != 0
            except (OSError, ValueError, UnicodeDecodeError) as e:
                self._drop("sequence %s: unreadable absence.label (%s); ignored" % (name, e))
        frames, boxes = [], []
        for k, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                x, y, w, h = _parse_box_line(line)
            except ValueError as e:
                self._drop("%s line %d: %r (%s)" % (gt, k + 1, line, e))
                continue
            if absent[k]:
                continue
            problem = _box_problem((x, y, w, h))
            if problem:
                self._drop("%s line %d: box %r has %s" % (gt, k + 1, line, problem))
                continue
            if not (w > 0 and h > 0):
                continue
            frames.append(k + 1)  # GOT-10k's image files count from 00000001.jpg
            boxes.append((x + (w - 1) / 2, y + (h - 1) / 2, w, h))
        if not frames:
            self._drop("sequence %s: no usable frame" % name)
            return None
        return {"frames": np.asarray(frames), "boxes": np.asarray(boxes, dtype=np.float64)}

    def _load(self, video, track, k):
        path = os.path.join(self.root, video, "%08d.jpg" % track["frames"][k])
        return read_image(path, int(track["frames"][k])), tuple(track["boxes"][k])


def _pysot_size(box):
    """(w, h) of a PySOT box, [x1, y1, x2, y2] or [w, h]; ValueError (TypeError) saying
    what is wrong with a malformed one."""
    if not isinstance(box, (list, tuple)):
        raise ValueError("not a list of numbers")
    values = [float(v) for v in box]
    if len(values) == 4:
        w, h = values[2] - values[0], values[3] - values[1]
    elif len(values) == 2:
        w, h = values
    else:
        raise ValueError("%d numbers" % len(values))
    problem = _box_problem(values + [w, h])
    if problem:
        raise ValueError(problem)
    return w, h


class PySOTSource(_TrackSource):
    """PySOT's training layout (VID, YouTube-BB, COCO, DET after par_crop.py / gen_json.py).

    ROOT/<video>/<frame:06d>.<track>.x.jpg are 511x511 crops centred on the target:
    par_crop.py maps the square of side s_x = s_z * 511 / 127 around the target (s_z: its
    SiamFC context square, context 0.5) onto pixels 0..510, so the target's centre is pixel
    255 and its size is (w, h) * 510 / s_x. ANNO is the JSON
    {video: {track: {frame: [x1, y1, x2, y2] (or [w, h])}}} with boxes in the ORIGINAL
    frame; only the size is used, the centre is the crop's centre. Non-digit frame keys
    are ignored and empty boxes dropped (as PySOT does); malformed boxes (not 2 or 4
    numbers, NaN or inf, a negative size, e.g. [x, y, w, h] written where [x1, y1, x2,
    y2] belongs) are dropped, counted and named. Videos left with no box are named in a
    warning. A ROOT that holds none of the first crops of a few videos is refused.
    """
    TYPE = "pysot"

    def __init__(self, root, anno="", **kw):
        super().__init__(root, anno, **kw)
        if not os.path.isdir(self.root):
            raise DatasetError("%s: crop folder not found: %s" % (self.name, self.root))
        if not self.anno:
            raise DatasetError("%s: no ANNO: a pysot source needs the JSON annotation of "
                               "its crops (TYPE=ROOT,ANNO on the command line)" % self.name)
        try:
            with open(self.anno, encoding="utf-8-sig") as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            raise DatasetError("%s: cannot read annotation %s (%s)" % (self.name, self.anno, e)) \
                from None
        if not isinstance(meta, dict):
            raise DatasetError("%s: %s is not a {video: {track: {frame: box}}} JSON"
                               % (self.name, self.anno))
        names = sorted(meta)
        empty = []
        for k in self._select(names):
            tracks = self._tracks(names[k], meta[names[k]])
            if tracks:
                self.items.append((names[k], tracks))
            else:
                empty.append(names[k])
        if empty:
            logger.warning("%s: %d video(s) of %s have no usable box and are left out: %s%s",
                           self.name, len(empty), self.anno, ", ".join(empty[:5]),
                           ", ..." if len(empty) > 5 else "")
        if not self.items:
            raise EmptySource("%s: no usable track in %s" % (self.name, self.anno))
        self._check_root()

    def _crop_path(self, video, track, k):
        return os.path.join(self.root, video, "%06d.%s.x.jpg" % (int(track["frames"][k]),
                                                                  track["track"]))

    def _check_root(self):
        """DatasetError when ROOT holds none of the first crops of ROOT_PROBES videos
        spread over the list: a ROOT that is not this annotation's crop folder would
        otherwise fail every sample, deep in a DataLoader worker."""
        picks = np.unique(np.linspace(0, len(self.items) - 1, ROOT_PROBES).astype(int))
        paths = [self._crop_path(self.items[k][0], self.items[k][1][0], 0) for k in picks]
        if not any(os.path.isfile(p) for p in paths):
            raise DatasetError("%s: ROOT %s holds none of the crops %s names (looked for %s): "
                               "ROOT must be the crop folder of that annotation"
                               % (self.name, self.root, self.anno, ", ".join(paths[:3])))

    def _tracks(self, video, tracks):
        out = []
        if not isinstance(tracks, dict):
            self._drop("video %s: not a {track: {frame: box}} entry" % video)
            return out
        for track, frames in sorted(tracks.items()):
            if not isinstance(frames, dict):
                self._drop("video %s track %s: not a {frame: box} entry" % (video, track))
                continue
            nums, sizes = [], []
            for frame, box in frames.items():
                if not str(frame).isdigit():
                    continue
                try:
                    w, h = _pysot_size(box)
                except (TypeError, ValueError) as e:
                    self._drop("video %s track %s frame %s: bad box %r (%s)"
                               % (video, track, frame, box, e))
                    continue
                if w > 0 and h > 0:
                    nums.append(int(frame))
                    sizes.append((w, h))
            if nums:
                order = np.argsort(nums)
                out.append({"track": str(track), "frames": np.asarray(nums)[order],
                            "sizes": np.asarray(sizes, dtype=np.float64)[order]})
        return out

    def _load(self, video, track, k):
        frame = int(track["frames"][k])
        img = read_image(self._crop_path(video, track, k), frame)
        H, W = img.shape[:2]
        w, h = track["sizes"][k]
        s_z = context_size(w, h, 0.5)
        # par_crop: the s_x = s_z * W / 127 square around the target -> pixels 0 .. W - 1
        ax = (W - 1) / (s_z * W / PYSOT_CROP_EXEMPLAR)
        ay = (H - 1) / (s_z * H / PYSOT_CROP_EXEMPLAR)
        return img, ((W - 1) / 2.0, (H - 1) / 2.0, w * ax, h * ay)
