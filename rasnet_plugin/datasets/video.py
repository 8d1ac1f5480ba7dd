"""One tracking sequence (`Video`), a set of them (`Dataset`) and frame reading.

The loaders in `loaders.py` parse files into these objects; everything here validates
its input so that a broken annotation fails at load time with a `DatasetError` naming
the file, never later with a bare IndexError in the middle of an evaluation.
"""
import math
import os

import cv2
import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be loaded or read; the message names the file at fault."""


JPEG_TAIL = 4096      # bytes searched for a JPEG's end-of-image marker


def truncated_jpeg(path):
    """Whether `path` is a JPEG (FF D8 first, whatever its name says) without its
    end-of-image marker (FF D9) in its last JPEG_TAIL bytes: a file cut short (an
    interrupted download or copy). Outside markers an FF byte is always followed by 00 or
    a restart code, so a cut file has none there; a few writers append bytes after it,
    hence the search window. Costs one open and a read of at most JPEG_TAIL + 2 bytes."""
    with open(path, "rb") as f:
        if f.read(2) != b"\xff\xd8":
            return False
        f.seek(0, os.SEEK_END)
        f.seek(max(2, f.tell() - JPEG_TAIL))
        return b"\xff\xd9" not in f.read()


def read_frame(path, index=None):
    """Read one frame as a BGR uint8 HxWx3 array, whatever the file holds.

    Grayscale becomes 3-channel BGR, a 4th (alpha) channel is dropped, 16-bit images are
    scaled to 8 bits by value * 255 / 65535 (rounded), float images are taken as 0..1.
    A missing or undecodable file raises DatasetError naming the file and frame index,
    and so does a truncated JPEG (`truncated_jpeg`): OpenCV decodes one without an error,
    greying out the missing rows, which would track (or train on) a half-grey frame.
    Evaluation and training both read their images here.
    """
    where = f"frame {index}" if index is not None else "frame"
    if not os.path.isfile(path):
        raise DatasetError(f"{where}: image file not found: {path}")
    try:
        cut = truncated_jpeg(path)
    except OSError as e:
        raise DatasetError(f"{where}: cannot read image file {path} ({e.strerror or e})") from None
    if cut:
        raise DatasetError(f"{where}: truncated JPEG file (no end-of-image marker): {path}")
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise DatasetError(f"{where}: cannot decode image file: {path}")
    if img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.round(np.clip(np.nan_to_num(img), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise DatasetError(f"{where}: unsupported pixel type {img.dtype} in {path}")
    if img.ndim == 2 or img.shape[2] == 1:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = np.ascontiguousarray(img[:, :, :3])
    elif img.shape[2] != 3:
        raise DatasetError(f"{where}: unsupported channel count {img.shape[2]} in {path}")
    return img


def polygons_to_xywh(gt):
    """Axis-aligned (N,4) x,y,w,h boxes of (N,4) boxes or (N,8) polygons; NaN rows stay NaN."""
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 2 or gt.shape[1] not in (4, 8):
        raise ValueError(f"expected (N,4) or (N,8) ground truth, got shape {gt.shape}")
    if gt.shape[1] == 4:
        return gt.copy()
    xs, ys = gt[:, 0::2], gt[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)  # min/max propagate NaN, as wanted
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def check_init_rect(rect, where):
    """Return `rect` as 4 floats, or raise DatasetError if it is no usable first box."""
    try:
        vals = [float(v) for v in rect]
    except OverflowError:  # an int too large for a float
        raise DatasetError(f"{where}: init box has a value out of range: {rect!r}") from None
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: init box must be 4 numbers, got {rect!r}") from None
    if len(vals) != 4:
        raise DatasetError(f"{where}: init box must be 4 numbers, got {len(vals)}")
    if not all(math.isfinite(v) for v in vals):
        raise DatasetError(f"{where}: init box has NaN or inf: {vals}")
    if vals[2] <= 0 or vals[3] <= 0:
        raise DatasetError(f"{where}: init box is empty or has negative size: {vals}")
    return vals


class Video:
    """A sequence: frame paths, ground truth, the first box, attributes and per-frame tags.

    `gt` is float64 (N,4) x,y,w,h or (N,8) polygons (x1,y1,...,x4,y4). `source` names the
    annotation file in error messages.
    """

    def __init__(self, name, img_paths, gt, init_rect=None, attr=(), tags=None, source=None):
        where = f"{source or 'dataset'}: video {name!r}"
        self.name = str(name)
        self.img_paths = [os.path.abspath(p) for p in img_paths]
        gt = np.asarray(gt, dtype=np.float64)
        if gt.ndim != 2 or gt.shape[1] not in (4, 8):
            raise DatasetError(f"{where}: ground truth must be N rows of 4 or 8 numbers, "
                               f"got shape {gt.shape}")
        if len(gt) != len(self.img_paths):
            raise DatasetError(f"{where}: {len(gt)} ground-truth rows but "
                               f"{len(self.img_paths)} frames")
        if len(gt) == 0:
            raise DatasetError(f"{where}: no frames")
        self.gt = gt
        if init_rect is None:
            init_rect = polygons_to_xywh(gt[:1])[0]
        self.init_rect = check_init_rect(init_rect, where)
        self.attr = [str(a) for a in attr]
        self.tags = {}
        for tag, flags in (tags or {}).items():
            flags = np.asarray(flags).astype(np.bool_)
            if flags.shape != (len(gt),):
                raise DatasetError(f"{where}: tag {tag!r} has {flags.size} values, "
                                   f"expected {len(gt)}")
            self.tags[str(tag)] = flags

    def __len__(self):
        return len(self.img_paths)

    def __repr__(self):
        return f"Video({self.name!r}, frames={len(self)}, gt={self.gt.shape[1]}-float)"

    def gt_xywh(self):
        """Ground truth as (N,4) axis-aligned x,y,w,h (polygons -> min/max of corners)."""
        return polygons_to_xywh(self.gt)

    def load_frame(self, i):
        """Frame `i` as BGR uint8 HxWx3 (see `read_frame`)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"video {self.name!r} has {len(self)} frames, no frame {i}")
        return read_frame(self.img_paths[i], i % len(self))


class Dataset:
    """Videos sorted by name; `ds["name"]` or `ds[i]`, `len(ds)`, iteration.

    `is_vot` selects the VOT reset protocol (VOT layout except long-term, or VOT2016/2018/2019
    JSON, or polygon ground truth). `layout` is the on-disk layout it was loaded from
    ("pysot", "otb", "vot", "got10k"), None when built otherwise; `tools/test.py` runs the
    GOT-10k protocol for "got10k".
    """

    def __init__(self, name, root, videos, is_vot=False, layout=None):
        self.name = str(name)
        self.root = os.path.abspath(root)
        self.videos = sorted(videos, key=lambda v: v.name)
        self.is_vot = bool(is_vot)
        self.layout = layout
        self._by_name = {v.name: v for v in self.videos}

    def __len__(self):
        return len(self.videos)

    def __iter__(self):
        return iter(self.videos)

    def __contains__(self, name):
        return name in self._by_name

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._by_name:
                raise KeyError(f"dataset {self.name!r} has no video {key!r}")
            return self._by_name[key]
        return self.videos[key]

    def __repr__(self):
        return (f"Dataset({self.name!r}, videos={len(self)}, "
                f"frames={sum(len(v) for v in self.videos)}, is_vot={self.is_vot})")
