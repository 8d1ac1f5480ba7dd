"""Annotated videos: GOT-10k (GOT10kSource) and PySOT's cropped training sets
(PySOTSource), both drawing two frames of one annotated track."""
import json
import math
import os

import numpy as np

from ...datasets import DatasetError, read_frame, sequence_names
from ...tracker.crop import context_size
from ..pairs import RawPair, pick_frame_pair
from .base import EmptySource, Source

__all__ = ["GOT10kSource", "PySOTSource"]

PYSOT_CROP_EXEMPLAR = 127  # the template size PySOT's par_crop.py scales the crops for


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
            if absent[k] or not (w > 0 and h > 0) or not all(map(math.isfinite, (x, y, w, h))):
                continue
            frames.append(k + 1)  # GOT-10k's image files count from 00000001.jpg
            boxes.append((x + (w - 1) / 2, y + (h - 1) / 2, w, h))
        if not frames:
            self._drop("sequence %s: no usable frame" % name)
            return None
        return {"frames": np.asarray(frames), "boxes": np.asarray(boxes, dtype=np.float64)}

    def _load(self, video, track, k):
        path = os.path.join(self.root, video, "%08d.jpg" % track["frames"][k])
        return read_frame(path, int(track["frames"][k])), tuple(track["boxes"][k])


class PySOTSource(_TrackSource):
    """PySOT's training layout (VID, YouTube-BB, COCO, DET after par_crop.py / gen_json.py).

    ROOT/<video>/<frame:06d>.<track>.x.jpg are 511x511 crops centred on the target:
    par_crop.py maps the square of side s_x = s_z * 511 / 127 around the target (s_z: its
    SiamFC context square, context 0.5) onto pixels 0..510, so the target's centre is pixel
    255 and its size is (w, h) * 510 / s_x. ANNO is the JSON
    {video: {track: {frame: [x1, y1, x2, y2] (or [w, h])}}} with boxes in the ORIGINAL
    frame; only the size is used, the centre is the crop's centre. Non-digit frame keys
    are ignored and empty boxes dropped (as PySOT does); malformed boxes are counted.
    """
    TYPE = "pysot"

    def __init__(self, root, anno="", **kw):
        super().__init__(root, anno, **kw)
        if not os.path.isdir(self.root):
            raise DatasetError("%s: crop folder not found: %s" % (self.name, self.root))
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
        for k in self._select(names):
            tracks = self._tracks(names[k], meta[names[k]])
            if tracks:
                self.items.append((names[k], tracks))
        if not self.items:
            raise EmptySource("%s: no usable track in %s" % (self.name, self.anno))

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
                    box = [float(v) for v in box]
                    if len(box) == 4:
                        w, h = box[2] - box[0], box[3] - box[1]
                    elif len(box) == 2:
                        w, h = box
                    else:
                        raise ValueError("%d numbers" % len(box))
                except (TypeError, ValueError) as e:
                    self._drop("video %s track %s frame %s: bad box %r (%s)"
                               % (video, track, frame, box, e))
                    continue
                if w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h):
                    nums.append(int(frame))
                    sizes.append((w, h))
            if nums:
                order = np.argsort(nums)
                out.append({"track": str(track), "frames": np.asarray(nums)[order],
                            "sizes": np.asarray(sizes, dtype=np.float64)[order]})
        return out

    def _load(self, video, track, k):
        frame = int(track["frames"][k])
        path = os.path.join(self.root, video, "%06d.%s.x.jpg" % (frame, track["track"]))
        img = read_frame(path, frame)
        H, W = img.shape[:2]
        w, h = track["sizes"][k]
        s_z = context_size(w, h, 0.5)
        # par_crop: the s_x = s_z * W / 127 square around the target -> pixels 0 .. W - 1
        ax = (W - 1) / (s_z * W / PYSOT_CROP_EXEMPLAR)
        ay = (H - 1) / (s_z * H / PYSOT_CROP_EXEMPLAR)
        return img, ((W - 1) / 2.0, (H - 1) / 2.0, w * ax, h * ay)
