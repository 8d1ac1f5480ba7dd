"""RASNetBench: a small one-pass benchmark rendered offline from scikit-image's photographs,
and `export_vot`, which writes any Dataset in VOT toolkit layout.

No tracking dataset can be downloaded here, so the tests and the quick evaluation use
synthetic-but-photographic sequences: a textured target patch cut from one real photo moves
smoothly over another photo. The target is placed by an exact affine map, so the ground truth
(the axis-aligned box of the transformed patch) is exact, not hand-drawn. The build is
deterministic (fixed seeds, fixed JPEG settings): the same bytes every time on one machine.

Attributes use OTB's codes: SV scale variation, IPR in-plane rotation, MB motion blur, FM fast
motion, OCC partial occlusion, BC background clutter (here: recoloured look-alike copies of the
target moving elsewhere), IV illumination variation. Frames where the target is more than 10%
covered also carry a per-frame `occlusion` tag.
"""
import json
import os
import shutil
import tempfile

import cv2
import numpy as np

from ..fileio import atomic_write_text
from .loaders import load_dataset
from .video import DatasetError

BUNDLED_NAME = "RASNetBench"
BUNDLE_VERSION = 1  # bump whenever the rendered bytes change: existing copies are rebuilt
STAMP_FILE = "BUILD_STAMP"
FRAME_W, FRAME_H = 480, 360
JPEG_QUALITY = 90

# Photos used (all ship inside scikit-image and load offline; public domain / CC0).
# Crop boxes are (x0, y0, x1, y1) in the original photo.
CROPS = {
    "cat_face": ("chelsea", (95, 55, 365, 285)),
    "astronaut_face": ("astronaut", (150, 10, 310, 200)),
    "espresso": ("coffee", (165, 10, 435, 245)),
    "mission_badge": ("astronaut", (130, 343, 216, 429)),
    "cameraman": ("camera", (150, 60, 340, 230)),
    "shuttle": ("astronaut", (350, 0, 470, 270)),
    "flag": ("astronaut", (0, 0, 100, 300)),
    "fur": ("chelsea", (0, 140, 90, 300)),
}

# One entry per video. size: target (w, h) at scale 1; scale: max zoom factor (min = 1/scale);
# rotate: max in-plane angle (degrees); speed: path phase per frame (radians; the default 0.04
# moves at most ~12 px/frame); bursts: fast-motion episodes (frame, extra speed as a multiple);
# blur: motion blur exposure (fraction of a frame's motion); occluder: (crop, (w, h));
# distractors: number of recoloured copies; light: illumination swing.
VIDEOS = [
    dict(name="cat_zoom", frames=80, seed=101, background="rocket", target="cat_face",
         size=(70, 60), scale=1.7, attr=["SV"]),
    dict(name="face_spin", frames=80, seed=102, background="grass", target="astronaut_face",
         size=(58, 70), rotate=60, scale=1.2, attr=["IPR", "SV"]),
    dict(name="espresso_dash", frames=70, seed=103, background="gravel", target="espresso",
         size=(80, 70), bursts=((22, 2.0), (52, 2.5)), blur=1.0, attr=["FM", "MB"]),
    dict(name="badge_occluded", frames=90, seed=104, background="coffee",
         target="mission_badge", size=(64, 64), occluder=("fur", (34, 110)),
         attr=["OCC"]),
    dict(name="cat_twins", frames=80, seed=105, background="brick", target="cat_face",
         size=(60, 52), distractors=2, attr=["BC"]),
    dict(name="cameraman_dusk", frames=80, seed=106, background="astronaut",
         target="cameraman", size=(76, 68), light=0.6, attr=["IV"]),
    dict(name="shuttle_mix", frames=100, seed=107, background="rocket", target="shuttle",
         size=(40, 90), scale=1.35, rotate=25, bursts=((60, 2.0),), blur=0.8,
         occluder=("flag", (30, 120)), distractors=1, light=0.4,
         attr=["SV", "IPR", "FM", "MB", "OCC", "BC", "IV"]),
]


# ---------------------------------------------------------------- photos

def _photo(name):
    import skimage.data  # imported here: only the bundled build needs scikit-image

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, 2::-1])  # RGB(A) -> BGR


def _background(name):
    """The photo scaled to cover the frame, centre-cropped to FRAME_W x FRAME_H."""
    img = _photo(name)
    s = max(FRAME_W / img.shape[1], FRAME_H / img.shape[0])
    size = (max(FRAME_W, round(img.shape[1] * s)), max(FRAME_H, round(img.shape[0] * s)))
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    x0, y0 = (size[0] - FRAME_W) // 2, (size[1] - FRAME_H) // 2
    return img[y0:y0 + FRAME_H, x0:x0 + FRAME_W].astype(np.float32)


def _patch(crop, size, max_scale=1.0):
    """The crop resized to the largest size it is shown at (warping then only shrinks it)."""
    photo, (x0, y0, x1, y1) = CROPS[crop]
    w, h = round(size[0] * max_scale), round(size[1] * max_scale)
    return cv2.resize(_photo(photo)[y0:y1, x0:x1], (w, h),
                      interpolation=cv2.INTER_AREA).astype(np.float32)


# ---------------------------------------------------------------- motion

def _smooth_path(n, rng, half_extent, speed=0.04, bursts=()):
    """Centres (n, 2) on a smooth Lissajous-like path that keeps boxes of the given
    per-frame half extents (n, 2) inside the frame; bursts speed it up for a while."""
    t = np.arange(n, dtype=np.float64)
    rate = np.ones(n)
    for centre, extra in bursts:
        rate += extra * np.exp(-0.5 * ((t - centre) / 4.0) ** 2)
    phi = np.concatenate([[0.0], np.cumsum(rate[:-1])]) * speed
    p = rng.uniform(0, 2 * np.pi, 4)
    u = 0.65 * np.sin(phi + p[0]) + 0.35 * np.sin(2.3 * phi + p[1])  # both in [-1, 1]
    v = 0.65 * np.sin(0.8 * phi + p[2]) + 0.35 * np.sin(1.7 * phi + p[3])
    margin = 2.0
    amp = np.array([FRAME_W, FRAME_H]) / 2 - margin - half_extent.max(axis=0)
    if (amp <= 0).any():
        raise ValueError("target too large for the frame")
    return np.array([FRAME_W, FRAME_H]) / 2 + np.stack([u, v], axis=1) * amp


def _half_extent(size, scales, angles):
    """Half width/height of the axis-aligned box of a w x h patch, scaled and rotated."""
    w, h = size[0] * scales, size[1] * scales
    c, s = np.abs(np.cos(np.radians(angles))), np.abs(np.sin(np.radians(angles)))
    return np.stack([c * w + s * h, s * w + c * h], axis=1) / 2


def _affine(patch, centre, w, h, angle):
    """2x3 map from patch pixels to frame pixels putting the patch on the w x h box
    centred at `centre` (continuous coordinates, pixel i spans [i, i+1)), rotated by angle."""
    ph, pw = patch.shape[:2]
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lin = rot @ np.diag([w / pw, h / ph])
    # OpenCV addresses pixel centres: continuous point = index + 0.5 on both sides.
    shift = np.asarray(centre) - 0.5 - lin @ np.array([pw / 2 - 0.5, ph / 2 - 0.5])
    return np.hstack([lin, shift[:, None]])


def _box(centre, w, h, angle):
    """Axis-aligned x, y, w, h of the rotated w x h rectangle: the exact ground truth."""
    half = _half_extent((w, h), np.array([1.0]), np.array([angle]))[0]
    return [centre[0] - half[0], centre[1] - half[1], 2 * half[0], 2 * half[1]]


def _blur_kernel(velocity, exposure):
    """Normalised line kernel along the motion, as long as the distance covered while exposed."""
    length = float(np.hypot(*velocity)) * exposure
    if length < 1.5:
        return None
    k = 2 * int(np.ceil(length / 2)) + 1
    line = np.zeros((k, k), np.float32)
    c = k // 2
    line[c, c - int(length // 2):c + int(length // 2) + 1] = 1.0
    rot = cv2.getRotationMatrix2D((c, c), -np.degrees(np.arctan2(velocity[1], velocity[0])), 1.0)
    line = cv2.warpAffine(line, rot, (k, k), flags=cv2.INTER_LINEAR)
    return line / line.sum()


def _draw(canvas, patch, M, kernel=None):
    """Alpha-composite the warped patch onto canvas (in place); return its coverage map.
    Only the patch's bounding region (plus the blur's reach) is warped and blended."""
    ph, pw = patch.shape[:2]
    corners = M @ np.array([[-0.5, -0.5, 1], [pw - 0.5, -0.5, 1],
                            [-0.5, ph - 0.5, 1], [pw - 0.5, ph - 0.5, 1]]).T
    pad = 2 + (kernel.shape[0] // 2 if kernel is not None else 0)
    x0, y0 = np.maximum(np.floor(corners.min(axis=1)).astype(int) - pad, 0)
    x1, y1 = np.ceil(corners.max(axis=1)).astype(int) + pad + 1
    x1, y1 = min(x1, FRAME_W), min(y1, FRAME_H)
    coverage = np.zeros((FRAME_H, FRAME_W), np.float32)
    if x0 >= x1 or y0 >= y1:
        return coverage  # entirely outside the frame
    M = M - np.array([[0, 0, x0], [0, 0, y0]])  # into region coordinates
    size = (int(x1 - x0), int(y1 - y0))
    layer = cv2.warpAffine(patch, M, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = cv2.warpAffine(np.ones((ph, pw), np.float32), M, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if kernel is not None:  # blur colour and coverage alike: the layer stays premultiplied
        layer, alpha = cv2.filter2D(layer, -1, kernel), cv2.filter2D(alpha, -1, kernel)
    roi = canvas[y0:y1, x0:x1]
    roi *= 1.0 - alpha[:, :, None]
    roi += layer
    coverage[y0:y1, x0:x1] = alpha
    return coverage


def _recolour(patch, rng):
    """A look-alike: the same texture with slightly shifted colour balance and brightness."""
    gains = rng.uniform(0.8, 1.2, 3).astype(np.float32)
    return np.clip(patch * gains, 0, 255)


def _light(n, rng, strength):
    """Per-frame illumination map i -> (H, W): a global dimming swing times a soft spotlight
    sweeping left to right."""
    t = np.arange(n) / n
    gain = 1.0 - 0.9 * strength * np.sin(np.pi * t * rng.uniform(1.5, 2.0)) ** 2
    ys, xs = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)

    def light(i):
        x_light = FRAME_W * (0.1 + 0.8 * t[i])
        spot = np.exp(-((xs - x_light) ** 2 + (ys - FRAME_H / 2) ** 2) / (2 * 150.0 ** 2))
        return (gain[i] * (1.0 - strength / 2 + strength * spot)).astype(np.float32)
    return light


# ---------------------------------------------------------------- rendering

def render_video(spec):
    """Yield (frame BGR uint8, gt [x,y,w,h], visible fraction of the target) per frame."""
    n, rng = spec["frames"], np.random.default_rng(spec["seed"])
    t = np.arange(n) / n
    size, max_scale = spec["size"], spec.get("scale", 1.0)
    scales = np.exp(np.log(max_scale) * np.sin(2 * np.pi * t * 1.3 + rng.uniform(0, 2 * np.pi)))
    angles = spec.get("rotate", 0.0) * np.sin(2 * np.pi * t * 1.1 + rng.uniform(0, 2 * np.pi))
    centres = _smooth_path(n, rng, _half_extent(size, scales, angles), spec.get("speed", 0.04),
                           spec.get("bursts", ()))
    background = _background(spec["background"])
    patch = _patch(spec["target"], size, max_scale)

    twins = []  # (patch, centres): recoloured copies on their own paths, drawn below the target
    for _ in range(spec.get("distractors", 0)):
        path = _smooth_path(n, rng, _half_extent(size, np.ones(n), np.zeros(n)), 0.035)
        twins.append((_recolour(patch, rng), path))

    occluder = None  # a patch crossing in front of the target at a constant velocity
    if "occluder" in spec:
        crop, occ_size = spec["occluder"]
        t_cross = int(n * rng.uniform(0.4, 0.6))
        velocity = np.array([rng.choice([-1.0, 1.0]) * rng.uniform(3.0, 4.0), 0.0])
        offset = np.array([0.0, 0.55 * size[1] * rng.choice([-1.0, 1.0])])  # partial cover
        start = centres[t_cross] + offset
        occ_path = start + velocity * (np.arange(n) - t_cross)[:, None]
        occluder = (_patch(crop, occ_size), occ_size, occ_path)

    lights = _light(n, rng, spec["light"]) if "light" in spec else None
    exposure = spec.get("blur", 0.0)
    noise = rng.normal(0.0, 2.0, (2 * FRAME_H, 2 * FRAME_W, 3)).astype(np.float32)
    for i in range(n):
        canvas = background.copy()
        for twin, path in twins:
            _draw(canvas, twin, _affine(twin, path[i], size[0], size[1], 0.0))
        w, h = size[0] * scales[i], size[1] * scales[i]
        velocity = centres[min(i + 1, n - 1)] - centres[max(i - 1, 0)]
        kernel = _blur_kernel(velocity / 2, exposure) if exposure else None
        alpha = _draw(canvas, patch, _affine(patch, centres[i], w, h, angles[i]), kernel)
        visible = 1.0
        if occluder is not None:
            occ_patch, (ow, oh), path = occluder
            cover = _draw(canvas, occ_patch, _affine(occ_patch, path[i], ow, oh, 0.0))
            visible = float((alpha * (1 - cover)).sum() / max(alpha.sum(), 1e-6))
        if lights is not None:
            canvas *= lights(i)[:, :, None]
        dy, dx = rng.integers(0, FRAME_H), rng.integers(0, FRAME_W)
        canvas += noise[dy:dy + FRAME_H, dx:dx + FRAME_W]  # sensor noise, a fresh window each frame
        frame = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
        yield frame, _box(centres[i], w, h, angles[i]), visible


def _write_benchmark(folder, name):
    meta = {}
    for spec in VIDEOS:
        vid = spec["name"]
        os.makedirs(os.path.join(folder, vid, "img"))
        names, gts, occluded = [], [], []
        for i, (frame, box, visible) in enumerate(render_video(spec), 1):
            rel = f"{vid}/img/{i:04d}.jpg"
            cv2.imwrite(os.path.join(folder, rel), frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            names.append(rel)
            gts.append([round(float(v), 2) for v in box])
            occluded.append(int(visible < 0.9))
        meta[vid] = {"video_dir": vid, "init_rect": gts[0], "img_names": names,
                     "gt_rect": gts, "attr": spec["attr"]}
        if "occluder" in spec:
            meta[vid]["occlusion"] = occluded
    with open(os.path.join(folder, f"{name}.json"), "w") as f:
        json.dump(meta, f, sort_keys=True, separators=(",", ":"))
    with open(os.path.join(folder, "README.txt"), "w") as f:
        f.write(f"{name}: rendered by rasnet_plugin.datasets.bundled (format {BUNDLE_VERSION}) "
                "from photographs shipped with scikit-image.\nOne-pass benchmark, PySOT JSON "
                "layout. Ground truth is exact (affine placement of the target patch).\n")
        for spec in VIDEOS:
            f.write(f"{spec['name']}: {spec['frames']} frames, {' '.join(spec['attr'])}\n")


def _stamp(name):
    return f"{name} format {BUNDLE_VERSION} videos {len(VIDEOS)}\n"


def _is_complete(folder, name):
    try:
        with open(os.path.join(folder, STAMP_FILE)) as f:
            return f.read() == _stamp(name)
    except OSError:
        return False


def ensure_bundled(root="testing_dataset", name=BUNDLED_NAME):
    """Build `root/<name>/` (PySOT JSON layout) once and return its absolute path.

    A finished build carries a stamp file with the format version; a missing, partial or
    outdated copy is rebuilt. The build happens in a temporary sibling folder that is renamed
    into place at the end, so an interrupted build never leaves a half dataset behind.
    """
    out = os.path.abspath(os.path.join(root, name))
    if _is_complete(out, name):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}.building-", dir=os.path.dirname(out))
    old = tmp + ".old"
    try:
        os.chmod(tmp, 0o755)
        _write_benchmark(tmp, name)
        with open(os.path.join(tmp, STAMP_FILE), "w") as f:
            f.write(_stamp(name))  # written last: its presence means "complete"
        if os.path.exists(out):
            os.rename(out, old)  # an outdated or partial copy
        try:
            os.rename(tmp, out)
        except OSError:
            if not _is_complete(out, name):  # else a concurrent build finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return out


# ---------------------------------------------------------------- VOT export

def export_vot(dataset, out_dir):
    """Write `dataset` (a Dataset, or anything `load_dataset` accepts) in VOT toolkit layout.

    `list.txt`; per sequence a `sequence` file (`channels.color=color/%08d.jpg`), frames
    `color/00000001.jpg`..., `groundtruth.txt` as x,y,w,h rectangles (polygons become their
    axis-aligned boxes; a row that is not finite becomes `nan,nan,nan,nan`, the VOT
    toolkit's "not annotated", which `read_gt_file` and the reset protocol read back as
    such), and `<tag>.tag` files. JPEG frames are copied byte for byte, other formats
    re-encoded. A sequence exported again replaces its frames and `.tag` files (none of an
    earlier, longer export is left); the text files are written atomically. Returns out_dir.
    """
    if not hasattr(dataset, "videos"):
        dataset = load_dataset(dataset)
    os.makedirs(out_dir, exist_ok=True)
    for video in dataset:
        seq = os.path.join(out_dir, video.name)
        os.makedirs(seq, exist_ok=True)
        _export_frames(video, seq)
        boxes = video.gt_xywh()
        lines = ("nan,nan,nan,nan" if not np.isfinite(row).all()
                 else ",".join(f"{v:.4f}" for v in row) for row in boxes)
        atomic_write_text(os.path.join(seq, "groundtruth.txt"), "".join(f"{ln}\n" for ln in lines))
        atomic_write_text(os.path.join(seq, "sequence"), "channels.color=color/%08d.jpg\nfps=30\n")
        for name in os.listdir(seq):  # the tags of an earlier export that this one lacks
            if name.endswith(".tag") and name[:-4] not in video.tags:
                os.remove(os.path.join(seq, name))
        for tag, flags in video.tags.items():
            atomic_write_text(os.path.join(seq, f"{tag}.tag"), "".join(f"{int(v)}\n" for v in flags))
    atomic_write_text(os.path.join(out_dir, "list.txt"), "".join(f"{v.name}\n" for v in dataset))
    return out_dir


def _export_frames(video, seq):
    """Write the frames into a fresh folder, then put it in place of `seq/color`: frames of
    an earlier, longer export do not survive, and exporting a VOT folder into itself works
    (its frames are copied before the old folder goes)."""
    color = os.path.join(seq, "color")
    tmp = tempfile.mkdtemp(prefix=".color.%d." % os.getpid(), suffix=".tmp", dir=seq)
    old = None
    try:
        for i, src in enumerate(video.img_paths):
            dst = os.path.join(tmp, f"{i + 1:08d}.jpg")
            if src.lower().endswith((".jpg", ".jpeg")):
                if not os.path.isfile(src):
                    raise DatasetError(f"frame {i}: image file not found: {src}")
                shutil.copyfile(src, dst)
            else:
                cv2.imwrite(dst, video.load_frame(i), [cv2.IMWRITE_JPEG_QUALITY, 95])
        os.chmod(tmp, 0o755)
        if os.path.lexists(color):
            old = tempfile.mkdtemp(prefix=".color.%d." % os.getpid(), suffix=".old", dir=seq)
            os.rename(color, os.path.join(old, "color"))
        try:
            os.rename(tmp, color)
        except BaseException:
            if old is not None:  # put the earlier frames back
                os.rename(os.path.join(old, "color"), color)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
