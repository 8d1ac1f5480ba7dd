"""Training data sources: GOT-10k, PySOT's cropped sets, still images, unlabeled videos.

Each source holds a list of items (videos or images) and draws a `RawPair` (two images and
the target box in each) from a numpy Generator. Broken data never stop a run: an entry
that cannot be parsed is dropped at load time, an image that cannot be read raises
`SampleError` at sampling time; both are counted and reported (see `PairDataset`).

Sources are configured by `cfg.TRAIN.DATASETS` (see config.py): `NAMES` lists the nodes
used; each node has TYPE, ROOT, ANNO, WEIGHT, NUM_USE, FRAME_RANGE, FRAME_SCALE and the
TYPE's own keys (`Source.OPTIONS`). Each source is split into training and validation
items by a stable hash of the item's name (TRAIN.VAL_FRACTION of them held out).
"""
import glob
import json
import logging
import math
import os
import zlib

import cv2
import numpy as np

from ..config import REPO_ROOT, ConfigError
from ..datasets import DatasetError, read_frame, sequence_names
from ..tracker.crop import context_size, search_size
from .pairs import RawPair, SampleError, SampleRejected, pick_frame_pair

__all__ = ["Source", "GOT10kSource", "PySOTSource", "StillImageSource", "VideoFolderSource",
           "SOURCE_TYPES", "build_sources", "split_items", "SKIMAGE_PHOTOS", "follow_region",
           "EmptySource"]

logger = logging.getLogger("rasnet_plugin.training")

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_EXTS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv")
COMMON_KEYS = ("TYPE", "ROOT", "ANNO", "WEIGHT", "NUM_USE", "FRAME_RANGE", "FRAME_SCALE")
# scikit-image photographs that load offline and are NOT used by the RASNetBench benchmark
# (chelsea/cat, astronaut, coffee, camera, rocket, grass, gravel and brick are: training
# on them would leak into the evaluation).
SKIMAGE_PHOTOS = ("hubble_deep_field", "immunohistochemistry", "retina", "stereo_motorcycle",
                  "colorwheel", "coins", "clock", "page", "text", "moon", "cell", "logo")
PYSOT_CROP_EXEMPLAR = 127  # the template size PySOT's par_crop.py scales the crops for


class EmptySource(DatasetError):
    """A source with no usable item in its split (e.g. a one-video source's validation
    split): build_sources leaves it out of validation; for training it is an error."""


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


# ---------------------------------------------------------------- annotated videos

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
            with open(gt, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            self._drop("sequence %s: cannot read %s (%s)" % (name, gt, e))
            return None
        absent = np.zeros(len(lines), dtype=bool)
        absence = os.path.join(seq, "absence.label")
        if os.path.isfile(absence):
            try:
                with open(absence, encoding="utf-8") as f:
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
            with open(self.anno, encoding="utf-8") as f:
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


# ---------------------------------------------------------------- still images

def _skimage_photo(name):
    import skimage.data

    try:
        img = getattr(skimage.data, name)()
    except Exception as e:  # a photo that needs a download, or an unknown name
        raise DatasetError("scikit-image photo %r cannot be loaded offline (%s)" % (name, e)) \
            from None
    if isinstance(img, tuple):       # stereo_motorcycle: (left, right, disparity)
        img = img[0]
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise DatasetError("scikit-image photo %r is not an 8-bit image" % name)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, 2::-1])   # RGB(A) -> BGR


def _benchmark_photos():
    from ..datasets.bundled import CROPS, VIDEOS
    used = {photo for photo, _ in CROPS.values()} | {v["background"] for v in VIDEOS}
    return used | ({"cat"} if "chelsea" in used else set())   # skimage's cat is chelsea


def _recolor(patch, rng):
    """A look-alike: hue rotated, saturation and brightness changed."""
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(30, 150)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.4) + rng.uniform(20, 60), 0, 255)
    gain = rng.uniform(0.55, 0.8) if rng.random() < 0.5 else rng.uniform(1.2, 1.5)
    hsv[..., 2] = np.clip(hsv[..., 2] * gain, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def _cut(img, cx, cy, w, h, out_w=None, out_h=None):
    """The w x h region centred on (cx, cy), resized to out_w x out_h (reflect-padded)."""
    out_w, out_h = int(round(out_w or w)), int(round(out_h or h))
    ax, ay = w / out_w, h / out_h
    m = np.array([[ax, 0, cx - ax * (out_w - 1) / 2], [0, ay, cy - ay * (out_h - 1) / 2]])
    return cv2.warpAffine(img, m, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)


def _paste(img, patch, cx, cy):
    """Paste `patch` centred on (cx, cy), clipped to the image. Returns the pasted box."""
    ph, pw = patch.shape[:2]
    x0, y0 = int(round(cx - (pw - 1) / 2)), int(round(cy - (ph - 1) / 2))
    H, W = img.shape[:2]
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + pw, W), min(y0 + ph, H)
    if ix1 > ix0 and iy1 > iy0:
        img[iy0:iy1, ix0:ix1] = patch[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
    return ix0, iy0, ix1, iy1


def _overlap(a, b, margin=0.0):
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or
                a[3] + margin <= b[1] or b[3] + margin <= a[1])


class StillImageSource(Source):
    """Pairs from ONE image: the template is a random object-sized region of the image, the
    search image a transformed copy (zoom, small rotation, translation about the region's
    centre, colour change), with look-alike distractors (recoloured copies of the target
    pasted near it) and an occluder (a patch of the image over part of the target). The
    target box in the search image is known by construction: the centre is the transformed
    centre, the size the original size times the zoom.

    ROOT: a folder (images found recursively), an image file, "skimage" (SKIMAGE_PHOTOS)
    or "skimage:name,name".
    """
    TYPE = "still"
    OPTIONS = {"MIN_SIZE": 0.1, "MAX_SIZE": 0.4, "SCALE": 1.25, "ROTATION": 10.0,
               "TRANSLATE": 0.2, "PHOTOMETRIC": 0.2, "OCCLUDER": 0.3, "DISTRACTORS": 2}
    CACHE = 16  # images kept decoded per process

    def __init__(self, root="skimage", anno="", **kw):
        super().__init__(root, anno, **kw)
        root = str(root)
        if root == "skimage" or root.startswith("skimage:"):
            names = root.split(":", 1)[1].split(",") if ":" in root else list(SKIMAGE_PHOTOS)
            names = [n.strip() for n in names if n.strip()]
            leak = sorted(set(names) & _benchmark_photos())
            if leak:
                logger.warning("%s: %s also make(s) the RASNetBench benchmark: its scores will "
                               "not be independent of the training data", self.name,
                               ", ".join(leak))
            names = ["skimage:" + n for n in names]
        elif os.path.isfile(self.root):
            names = [self.root]
        elif os.path.isdir(self.root):
            names = sorted(p for p in glob.glob(os.path.join(self.root, "**", "*"), recursive=True)
                           if p.lower().endswith(IMAGE_EXTS))
        else:
            raise DatasetError("%s: image folder not found: %s" % (self.name, self.root))
        if not names:
            raise DatasetError("%s: no image (%s) under %s" % (self.name, ", ".join(IMAGE_EXTS),
                                                              self.root))
        # split by the path inside ROOT: the same split wherever the data are mounted
        keys = [os.path.relpath(n, self.root) if os.path.isabs(n) else n for n in names]
        self.items = [names[k] for k in self._select(keys)]
        self._cache = {}

    def _image(self, item):
        img = self._cache.get(item)
        if img is None:
            img = _skimage_photo(item[8:]) if item.startswith("skimage:") else read_frame(item)
            if len(self._cache) >= self.CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[item] = img
        return img

    def sample(self, rng):
        item = self.items[int(rng.integers(len(self.items)))]
        img = self._image(item)
        H, W = img.shape[:2]
        if min(H, W) < 32:
            raise SampleError("%s: image too small (%dx%d)" % (item, W, H))
        z_box = self._pick_region(img, rng)
        search, x_box = self._transform(img, z_box, rng)
        self._add_distractors(search, x_box, rng)
        self._add_occluder(img, search, x_box, rng)
        return RawPair(img, z_box, search, x_box, 0.0, {"source": self.name, "image": item})

    def _pick_region(self, img, rng):
        """An object-sized region; the most textured of a few random tries."""
        o = self.opts
        H, W = img.shape[:2]
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        best, best_std = None, -1.0
        for _ in range(6):
            side = rng.uniform(o["MIN_SIZE"], o["MAX_SIZE"]) * min(H, W)
            ar = math.exp(rng.uniform(-math.log(2), math.log(2)))
            w, h = min(side * math.sqrt(ar), 0.9 * W), min(side / math.sqrt(ar), 0.9 * H)
            cx, cy = rng.uniform(w / 2, W - w / 2), rng.uniform(h / 2, H - h / 2)
            x0, y0 = int(cx - w / 2), int(cy - h / 2)
            std = float(gray[y0:y0 + int(h), x0:x0 + int(w)].std())
            if std > best_std:
                best, best_std = (cx, cy, w, h), std
            if std >= 20:
                break
        if best_std < 4:
            raise SampleRejected("flat region")
        return best

    def _transform(self, img, box, rng):
        o = self.opts
        H, W = img.shape[:2]
        cx, cy, w, h = box
        scale = math.exp(rng.uniform(-1, 1) * math.log(max(o["SCALE"], 1.0)))
        angle = rng.uniform(-o["ROTATION"], o["ROTATION"])
        nw, nh = w * scale, h * scale
        # the new centre: shifted, but with the whole target inside the image where possible
        t = o["TRANSLATE"]
        ncx = cx + rng.uniform(-t, t) * W
        ncy = cy + rng.uniform(-t, t) * H
        ncx = min(max(ncx, nw / 2), W - nw / 2) if nw < W else W / 2
        ncy = min(max(ncy, nh / 2), H - nh / 2) if nh < H else H / 2
        m = cv2.getRotationMatrix2D((cx, cy), angle, scale)   # about the centre: fixes it
        m[:, 2] += (ncx - cx, ncy - cy)
        search = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
        p = o["PHOTOMETRIC"]
        if p > 0:
            gain = rng.uniform(1 - p, 1 + p, size=3)
            bias = rng.uniform(-p, p) * 64
            search = np.clip(search.astype(np.float32) * gain + bias + 0.5, 0, 255).astype(np.uint8)
        return search, (ncx, ncy, nw, nh)

    def _add_distractors(self, search, box, rng):
        n = int(rng.integers(0, int(self.opts["DISTRACTORS"]) + 1))
        if n == 0:
            return
        H, W = search.shape[:2]
        cx, cy, w, h = box
        target = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        reach = search_size(w, h) / 2     # half the (default) search crop's side
        patch = _cut(search, cx, cy, w, h)
        placed = [target]
        for _ in range(n):
            s = rng.uniform(0.85, 1.15)
            copy = _recolor(cv2.resize(patch, (max(2, int(w * s)), max(2, int(h * s)))), rng)
            ph, pw = copy.shape[:2]
            for _ in range(10):
                ang = rng.uniform(0, 2 * math.pi)
                r = rng.uniform(0.5 * (w + h) * 1.1, max(reach, 0.6 * (w + h)))
                px, py = cx + r * math.cos(ang), cy + r * math.sin(ang)
                b = (px - pw / 2, py - ph / 2, px + pw / 2, py + ph / 2)
                inside = b[0] >= 0 and b[1] >= 0 and b[2] <= W and b[3] <= H
                if inside and not any(_overlap(b, q, 2.0) for q in placed):
                    _paste(search, copy, px, py)
                    placed.append(b)
                    break

    def _add_occluder(self, img, search, box, rng):
        if rng.random() >= self.opts["OCCLUDER"]:
            return
        H, W = img.shape[:2]
        cx, cy, w, h = box
        area = rng.uniform(0.1, 0.3) * w * h
        ar = math.exp(rng.uniform(-math.log(3), math.log(3)))
        ow, oh = max(2.0, math.sqrt(area * ar)), max(2.0, math.sqrt(area / ar))
        ow, oh = min(ow, W - 1), min(oh, H - 1)
        sx, sy = rng.uniform(ow / 2, W - ow / 2), rng.uniform(oh / 2, H - oh / 2)
        patch = _cut(img, sx, sy, ow, oh)
        # centred on the target's border zone: covers part of it, never all
        across, along = rng.choice([-1, 1]) * rng.uniform(0.2, 0.5), rng.uniform(-0.5, 0.5)
        if rng.random() < 0.5:
            ox, oy = cx + across * w, cy + along * h     # on the left or right edge
        else:
            ox, oy = cx + along * w, cy + across * h     # on the top or bottom edge
        _paste(search, patch, ox, oy)


# ---------------------------------------------------------------- unlabeled videos

def follow_region(img_i, img_j, rng, min_size=0.1, max_size=0.3, fb_thresh=1.0,
                  ncc_thresh=0.8, min_points=8):
    """Pick a textured region in frame i and follow it to frame j, or raise SampleRejected.

    The rule (every step must pass, else the pair is discarded):
    1. corners (Shi-Tomasi) of frame i, tracked i -> j -> i by pyramidal Lucas-Kanade;
       points whose forward-backward error is above `fb_thresh` px are dropped;
    2. a region (side MIN_SIZE..MAX_SIZE of the shorter side, aspect 1/2..2) around one
       consistent point, chosen with weight 1 + its motion (moving things are preferred);
    3. at least `min_points` consistent points inside, and 70% of the region's corners
       consistent;
    4. their motion fits translation + scale (least squares about their centroid) with a
       median residual below max(1, 2% of the region side) and a scale in [0.8, 1.25];
    5. the region's patch in frame i and the moved region's patch in frame j (resampled to
       one size) correlate with a normalised cross-correlation >= `ncc_thresh`, and
       the moved region lies inside frame j.
    Returns (box_i, box_j) as (cx, cy, w, h).
    """
    gi = cv2.cvtColor(img_i, cv2.COLOR_BGR2GRAY)
    gj = cv2.cvtColor(img_j, cv2.COLOR_BGR2GRAY)
    H, W = gi.shape
    p0 = cv2.goodFeaturesToTrack(gi, maxCorners=400, qualityLevel=0.01, minDistance=4)
    if p0 is None or len(p0) < min_points:
        raise SampleRejected("too few corners")
    lk = dict(winSize=(21, 21), maxLevel=3,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(gi, gj, p0, None, **lk)
    pb, st2, _ = cv2.calcOpticalFlowPyrLK(gj, gi, p1, None, **lk)
    p0, p1, pb = p0.reshape(-1, 2), p1.reshape(-1, 2), pb.reshape(-1, 2)
    good = (st1.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm(pb - p0, axis=1) < fb_thresh)
    if good.sum() < min_points:
        raise SampleRejected("flow not consistent")
    motion = np.linalg.norm(p1 - p0, axis=1)
    cand = np.flatnonzero(good)
    prob = (1.0 + motion[cand]) / (1.0 + motion[cand]).sum()
    ax, ay = p0[int(rng.choice(cand, p=prob))]
    side = rng.uniform(min_size, max_size) * min(H, W)
    ar = math.exp(rng.uniform(-math.log(2), math.log(2)))
    w, h = min(side * math.sqrt(ar), W - 2), min(side / math.sqrt(ar), H - 2)
    cx = min(max(ax + rng.uniform(-0.25, 0.25) * w, w / 2), W - 1 - w / 2)
    cy = min(max(ay + rng.uniform(-0.25, 0.25) * h, h / 2), H - 1 - h / 2)
    inside = (np.abs(p0[:, 0] - cx) <= w / 2) & (np.abs(p0[:, 1] - cy) <= h / 2)
    ok = inside & good
    if ok.sum() < min_points or ok.sum() < 0.7 * inside.sum():
        raise SampleRejected("region not followed reliably")
    a, b = p0[ok], p1[ok]
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    da, db = a - ca, b - cb
    scale = float((da * db).sum() / max((da * da).sum(), 1e-9))
    resid = np.linalg.norm(db - scale * da, axis=1)
    if not 0.8 <= scale <= 1.25 or np.median(resid) > max(1.0, 0.02 * side):
        raise SampleRejected("motion is not rigid")
    ncx, ncy = cb + scale * (np.array([cx, cy]) - ca)
    nw, nh = w * scale, h * scale
    if ncx - nw / 2 < 0 or ncy - nh / 2 < 0 or ncx + nw / 2 > W - 1 or ncy + nh / 2 > H - 1:
        raise SampleRejected("region leaves the frame")
    size = (max(8, int(round(w))), max(8, int(round(h))))
    pi = _cut(img_i, cx, cy, w, h, *size)
    pj = _cut(img_j, ncx, ncy, nw, nh, *size)
    if float(cv2.cvtColor(pi, cv2.COLOR_BGR2GRAY).std()) < 4:
        raise SampleRejected("flat region")
    ncc = float(cv2.matchTemplate(pj, pi, cv2.TM_CCOEFF_NORMED)[0, 0])
    if not ncc >= ncc_thresh:
        raise SampleRejected("patches differ (ncc %.2f)" % ncc)
    return (cx, cy, w, h), (float(ncx), float(ncy), nw, nh)


class VideoFolderSource(Source):
    """Unlabeled videos: video files and/or frame folders under ROOT, no annotation.

    A pair: frame i uniform, frame j = i +- 1..MAX_GAP (and within FRAME_RANGE /
    TRAIN.MAX_FRAME_GAP), then `follow_region` picks a textured region in frame i and
    follows it to frame j; the pair is discarded (and another drawn) when any of its
    checks fails, so every pair kept is the same image content in both frames.
    """
    TYPE = "video"
    OPTIONS = {"MIN_SIZE": 0.1, "MAX_SIZE": 0.3, "MAX_GAP": 10, "FB_THRESH": 1.0,
               "NCC_THRESH": 0.8, "MIN_POINTS": 8}

    def __init__(self, root, anno="", **kw):
        super().__init__(root, anno, **kw)
        if not os.path.exists(self.root):
            raise DatasetError("%s: video folder not found: %s" % (self.name, self.root))
        found = self._scan(self.root)
        # split by the path inside ROOT: the same split wherever the data are mounted
        names = [os.path.relpath(f[0], self.root) for f in found]
        for k in self._select(names):
            name, frames = found[k]
            n = len(frames) if isinstance(frames, list) else self._count(name)
            if n >= 2:
                self.items.append((name, frames, n))
            else:
                self._drop("video %s: fewer than 2 readable frames" % name)
        if not self.items:
            raise EmptySource("%s: no usable video (%s or a folder of frames) under %s"
                              % (self.name, ", ".join(VIDEO_EXTS), self.root))

    @staticmethod
    def _scan(root):
        """[(name, frame paths or None for a video file)], sorted."""
        if os.path.isfile(root):
            return [(root, None)] if root.lower().endswith(VIDEO_EXTS) else []
        found = []
        for d, _, files in sorted(os.walk(root)):
            files = sorted(files)
            imgs = [os.path.join(d, f) for f in files if f.lower().endswith(IMAGE_EXTS)]
            if len(imgs) >= 2:
                found.append((d, imgs))
            found += [(os.path.join(d, f), None) for f in files if f.lower().endswith(VIDEO_EXTS)]
        return found

    @staticmethod
    def _count(path):
        cap = cv2.VideoCapture(path)
        try:
            return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        finally:
            cap.release()

    def _read(self, name, frames, i, j):
        if frames is not None:
            return read_frame(frames[i], i), read_frame(frames[j], j)
        cap = cv2.VideoCapture(name)
        try:
            lo, hi = min(i, j), max(i, j)
            if not cap.isOpened() or not cap.set(cv2.CAP_PROP_POS_FRAMES, lo):
                raise SampleError("%s: cannot open or seek" % name)
            got = {}
            for k in range(lo, hi + 1):
                ok, img = cap.read()
                if not ok or img is None:
                    raise SampleError("%s: cannot decode frame %d" % (name, k))
                if k in (i, j):
                    got[k] = img
            return got[i], got[j]
        finally:
            cap.release()

    def sample(self, rng):
        o = self.opts
        name, frames, n = self.items[int(rng.integers(len(self.items)))]
        reach = max(1, min(int(o["MAX_GAP"]), self.frame_range))
        i = int(rng.integers(n))
        j = min(max(i + int(rng.choice([-1, 1])) * int(rng.integers(1, reach + 1)), 0), n - 1)
        if i == j:
            j = i + 1 if i + 1 < n else i - 1
        img_i, img_j = self._read(name, frames, i, j)
        box_i, box_j = follow_region(img_i, img_j, rng, o["MIN_SIZE"], o["MAX_SIZE"],
                                     o["FB_THRESH"], o["NCC_THRESH"], int(o["MIN_POINTS"]))
        return RawPair(img_i, box_i, img_j, box_j, float(abs(i - j) * self.frame_scale),
                       {"source": self.name, "video": name, "frames": (i, j)})


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
