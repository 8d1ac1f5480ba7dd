"""Pairs synthesised from one still image (StillImageSource): a region, a transformed copy
of the image, look-alike distractors and an occluder; scikit-image's photos as images."""
import glob
import math
import os

import cv2
import numpy as np

from ...datasets import DatasetError
from ...tracker.crop import search_size
from ..pairs import RawPair, SampleError, SampleRejected
from .base import IMAGE_EXTS, Source, logger, read_image

__all__ = ["StillImageSource", "SKIMAGE_PHOTOS"]

# scikit-image photographs that load offline and are NOT used by the RASNetBench benchmark
# (chelsea/cat, astronaut, coffee, camera, rocket, grass, gravel and brick are: training
# on them would leak into the evaluation).
SKIMAGE_PHOTOS = ("hubble_deep_field", "immunohistochemistry", "retina", "stereo_motorcycle",
                  "colorwheel", "coins", "clock", "page", "text", "moon", "cell", "logo")


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
    from ...datasets.bundled import CROPS, VIDEOS
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
            img = _skimage_photo(item[8:]) if item.startswith("skimage:") else read_image(item)
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
