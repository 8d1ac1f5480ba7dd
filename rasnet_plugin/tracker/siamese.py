"""RASNetTracker: SiamFC-3s tracking with a RASNet model, PySOT's tracker contract.

    tracker = RASNetTracker(model, cfg)            # cfg: a config node with a TRACK section
    tracker.init(img_bgr, [x, y, w, h])
    out = tracker.track(img_bgr)   # {'bbox': [x, y, w, h], 'best_score': s, 'failed': False}

Conventions: images are BGR (uint8, or float 0..255); a box [x, y, w, h] has its centre at
(x + (w - 1) / 2, y + (h - 1) / 2) in pixel coordinates, and the box returned by `track`
uses the same convention, so a tracker that does not move returns its init box exactly.
Grayscale frames (HxW or HxWx1) are expanded to 3 channels; a 4th (alpha) channel is
dropped. The network sees BGR float 0..255, not normalised (PySOT's convention).

The model needs two methods: `template(z)` with z (1,3,E,E), called once per sequence
(RASNet computes its attention-weighted template there), and `track(x)` with x (S,3,I,I),
the whole scale pyramid in one batch, returning responses (S,1,R,R).

A frame whose response is not finite (NaN or inf pixels in a float frame, non-finite
weights, an fp16 overflow, ...) moves nothing: `track` returns the previous box unchanged,
`failed: True` and `best_score` NaN, and the next good frame tracks from there.
"""
import math
import numbers
import time
from contextlib import nullcontext

import cv2
import numpy as np
import torch

from ..config import ConfigError
from ..hardware import resolve_precision, warn_if_emulated
from ..models.quantize import resolve_quantize
from .cores import CoreShare
from .crop import channel_mean, context_size, crop_pyramid, crop_square, search_size

__all__ = ["RASNetTracker", "PRECISIONS", "as_bgr3", "check_track_config"]

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MIN_SIZE = 10.0           # px: a box never shrinks below this (or its initial size)
SCALE_RANGE = (0.2, 5.0)  # SiamFC's bounds on the size relative to the first frame


def as_bgr3(img):
    """HxWx3 view/copy of a frame: grayscale is expanded, a 4th (alpha) channel dropped;
    uint8 is used as it is, uint16 scaled from 0..65535 to 0..255 (as read_frame does, so
    a 16-bit PNG read with IMREAD_UNCHANGED tracks like its 8-bit version), any other type
    taken as numbers on the 0..255 scale, like PySOT's float crops. None (a failed
    cv2.imread) and arrays that hold no real numbers (complex, strings, objects) are
    refused with a ValueError."""
    if img is None:
        raise ValueError("expected an image, got None (cv2.imread returns None for a file "
                         "it cannot read)")
    img = np.asarray(img)
    if img.dtype.kind not in "biuf":   # complex, strings, objects: no pixel values
        raise ValueError("expected an image of real numbers (uint8, uint16 or float), got "
                         "dtype %s" % img.dtype)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError("expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape %s"
                         % (img.shape,))
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    if img.dtype.kind == "u" and img.dtype.itemsize == 2:   # either byte order
        img = img.astype(np.float32) * np.float32(255.0 / 65535.0)
    elif img.dtype != np.uint8:
        img = img.astype(np.float32, copy=False)  # taken as 0..255, like PySOT's crops
    return np.ascontiguousarray(img)


def _number(t, key, low=None, above=None, integer=False):
    """t[key] as a finite int/float within the bound, else ConfigError naming TRACK.<key>."""
    v = t[key]
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (float(v).is_integer() or not integer)
    ok = ok and (low is None or v >= low) and (above is None or v > above)
    if not ok:
        bound = " >= %s" % low if low is not None else " > %s" % above if above is not None else ""
        raise ConfigError("TRACK.%s must be %s%s, got %r"
                          % (key, "an integer" if integer else "a number", bound, v))
    return int(v) if integer else float(v)


def check_track_config(t):
    """Check the geometry keys of a TRACK node; ConfigError (a ValueError) names the key.

    Out of range, they fail later with no key named: a ZeroDivisionError (TOTAL_STRIDE 0),
    np.hanning's "negative dimensions" (INSTANCE_SIZE below EXEMPLAR_SIZE), a cv2.error on
    every frame (RESPONSE_UP 0), "init box is too large" (SCALE_STEP 0), NaN boxes or a
    failed frame every time (a NaN LR, WINDOW_INFLUENCE or SCALE_PENALTY).
    """
    exemplar = _number(t, "EXEMPLAR_SIZE", low=1, integer=True)
    _number(t, "INSTANCE_SIZE", integer=True)
    if t.INSTANCE_SIZE < exemplar:
        raise ConfigError("TRACK.INSTANCE_SIZE must be >= TRACK.EXEMPLAR_SIZE (%d), got %r"
                          % (exemplar, t.INSTANCE_SIZE))
    stride = _number(t, "TOTAL_STRIDE", low=1, integer=True)
    if (t.INSTANCE_SIZE - exemplar) % stride:
        # the response cells lie (EXEMPLAR_SIZE - 1) / 2 + k * TOTAL_STRIDE into the search
        # crop: only then is the map's middle on the crop's centre, where the box is
        raise ConfigError("TRACK.INSTANCE_SIZE %d: INSTANCE_SIZE - TRACK.EXEMPLAR_SIZE (%d) must "
                          "be a multiple of TRACK.TOTAL_STRIDE %d, else every box is off by "
                          "%.1f search pixels" % (t.INSTANCE_SIZE, exemplar, stride,
                                                  ((t.INSTANCE_SIZE - exemplar) % stride) / 2))
    _number(t, "RESPONSE_UP", low=1, integer=True)
    scale_num = _number(t, "SCALE_NUM", integer=True)
    if scale_num < 1 or scale_num % 2 == 0:
        raise ConfigError("TRACK.SCALE_NUM must be odd and >= 1, got %d" % scale_num)
    _number(t, "CONTEXT_AMOUNT", low=0)
    _number(t, "SCALE_STEP", above=0)
    for key in ("SCALE_PENALTY", "LR", "WINDOW_INFLUENCE"):
        _number(t, key)


def _fill_nonfinite(crop, avg):
    """NaN/inf pixels of a float template crop take the padding colour, as if they lay
    outside the image: a NaN in the template would make every later response NaN."""
    if crop.dtype.kind == "f":
        bad = ~np.isfinite(crop)
        if bad.any():
            crop[bad] = np.broadcast_to(avg.astype(crop.dtype), crop.shape)[bad]


def _check_box(bbox, img_shape):
    try:
        if isinstance(bbox, (str, bytes)):   # "1234" would read as the box [1, 2, 3, 4]
            raise TypeError
        vals = [float(v) for v in bbox]
    except (TypeError, ValueError):
        raise ValueError("init box must be 4 numbers [x, y, w, h], got %r" % (bbox,)) from None
    if len(vals) != 4:
        raise ValueError("init box must be 4 numbers [x, y, w, h], got %r" % (bbox,))
    x, y, w, h = vals
    if not all(math.isfinite(v) for v in vals):
        raise ValueError("init box %r has NaN or inf" % (vals,))
    if w <= 0 or h <= 0:
        raise ValueError("init box %r is empty or has a negative size" % (vals,))
    H, W = img_shape[:2]
    if x + w <= 0 or y + h <= 0 or x >= W or y >= H:
        raise ValueError("init box %r lies entirely outside the %dx%d image" % (vals, W, H))
    return vals


class RASNetTracker:
    """SiamFC-3s with a RASNet model (see the module docstring).

    cfg.TRACK keys: EXEMPLAR_SIZE, INSTANCE_SIZE, CONTEXT_AMOUNT, SCALE_NUM, SCALE_STEP,
    SCALE_PENALTY, LR (scale update rate), WINDOW_INFLUENCE, RESPONSE_UP, TOTAL_STRIDE,
    PRECISION ("auto", "fp32", "bf16", "fp16"; fp16 needs CUDA; auto is bf16 where it is
    native, CUDA sm_80+ or AVX512_BF16/AMX CPUs, else fp32), QUANTIZE ("none"; "int8": the
    backbone in int8 on the CPU, models/quantize.py; "auto": int8 where the device and
    trunk allow it, else none), SHARE_CORES (default True: each frame runs on no more
    threads than the cores other busy processes leave free, tracker/cores.py).
    `device`: where the model runs; default: where its parameters are (else the CPU).
    The model is switched to eval mode and channels_last memory format (in place).
    """

    def __init__(self, model, cfg, device=None, profile=False):
        t = cfg.TRACK
        check_track_config(t)
        self.exemplar_size = int(t.EXEMPLAR_SIZE)
        self.instance_size = int(t.INSTANCE_SIZE)
        self.context_amount = float(t.CONTEXT_AMOUNT)
        self.scale_num = int(t.SCALE_NUM)
        self.scale_step = float(t.SCALE_STEP)
        self.scale_penalty = float(t.SCALE_PENALTY)
        self.scale_lr = float(t.LR)
        self.window_influence = float(t.WINDOW_INFLUENCE)
        self.response_up = int(t.RESPONSE_UP)
        self.total_stride = int(t.TOTAL_STRIDE)
        precision = str(t.PRECISION).lower()
        if precision != "auto" and precision not in PRECISIONS:
            raise ValueError("TRACK.PRECISION must be auto or one of %s, got %r"
                             % (", ".join(PRECISIONS), t.PRECISION))

        if device is None:
            p = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
            device = p.device if p is not None else "cpu"
        self.device = torch.device(device)
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("TRACK.PRECISION fp16 needs a CUDA device (on %s use bf16 or fp32)"
                             % self.device)
        self.precision = resolve_precision(precision, self.device)
        warn_if_emulated(precision, self.device, "TRACK.PRECISION")
        self.quantize = resolve_quantize(t.get("QUANTIZE", "none"),
                                         getattr(model, "backbone", None), self.device)
        if not (hasattr(model, "backbone") and hasattr(model, "prepare_inference")):
            self.quantize = "none"   # a model without our inference copy runs as it is
        # other busy processes: run frames on the cores they leave free (tracker/cores.py)
        self.cores = CoreShare(enabled=bool(t.get("SHARE_CORES", True)))
        self.model = model
        if hasattr(model, "to"):
            # the backbone's and the fused op's fast path on CPU is channels-last
            model.to(device=self.device, memory_format=torch.channels_last)
        if hasattr(model, "eval"):
            model.eval()

        # scale pyramid: step ** {-(S//2) .. S//2}, the centre one is scale 1
        half = self.scale_num // 2
        self.scale_factors = self.scale_step ** np.arange(-half, half + 1, dtype=np.float64)
        self.penalties = np.full(self.scale_num, self.scale_penalty, dtype=np.float64)
        self.penalties[half] = 1.0
        self.score_size = (self.instance_size - self.exemplar_size) // self.total_stride + 1
        self.upscale_size = self.score_size * self.response_up
        hann = np.hanning(self.upscale_size).astype(np.float32)
        window = np.outer(hann, hann)
        self.window = window / window.sum() * self.window_influence  # pre-weighted

        # reused every frame (allocated at the first init, when the image dtype is known)
        self._crops = None      # (S, I, I, 3) image dtype
        self._x = None          # (S, 3, I, I) float32 channels_last on device
        self._up = np.empty((self.scale_num, self.upscale_size, self.upscale_size), np.float32)
        self.center = None
        # profile=True records per-frame stage times (seconds) in self.stage_times;
        # it synchronises the device between stages, so leave it off for tracking
        self.profile = profile
        self.stage_times = {k: [] for k in ("crop", "backbone", "correlation", "post")}

    # ------------------------------------------------------------ helpers
    def _autocast(self):
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def _to_input(self, crops, reuse=True):
        """(S,H,W,3) numpy crops -> (S,3,H,W) float32 channels_last tensor on the device."""
        src = torch.from_numpy(crops).permute(0, 3, 1, 2)  # a channels_last view, no copy
        if not reuse:
            return src.to(self.device, torch.float32, memory_format=torch.channels_last)
        if self._x is None or self._x.shape != src.shape:
            self._x = torch.empty(src.shape, dtype=torch.float32, device=self.device,
                                  memory_format=torch.channels_last)
        self._x.copy_(src, non_blocking=True)
        return self._x

    def _tick(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _network(self, x):
        """One batched call for the whole pyramid; timed per stage when profiling."""
        with self._autocast():
            if not (self.profile and hasattr(self.model, "track_features")):
                return self.model.track(x)
            t0 = self._tick()
            xf = self.model.features(x)
            t1 = self._tick()
            resp = self.model.track_features(xf)
            t2 = self._tick()
        self.stage_times["backbone"].append(t1 - t0)
        self.stage_times["correlation"].append(t2 - t1)
        return resp

    def _context_size(self, w, h):
        return context_size(w, h, self.context_amount)

    def _search_size(self, w, h):
        return search_size(w, h, self.context_amount, self.exemplar_size, self.instance_size)

    def _clip(self, img_shape):
        H, W = img_shape[:2]
        self.center[0] = min(max(self.center[0], 0.0), W - 1.0)
        self.center[1] = min(max(self.center[1], 0.0), H - 1.0)
        lo = np.maximum(np.minimum(MIN_SIZE, self.init_size), self.init_size * SCALE_RANGE[0])
        hi = np.maximum(self.init_size * SCALE_RANGE[1], lo)
        self.size = np.clip(self.size, lo, hi)
        self.size = np.minimum(self.size, np.maximum([W, H], lo))

    def _penalise(self, peaks):
        """Scale peaks with the change of scale penalised: a side scale loses the fraction
        1 - SCALE_PENALTY of its peak's magnitude. For positive peaks that is SiamFC's
        `peak * penalty`; multiplying a negative peak (the raw scores of a weak match,
        e.g. under occlusion) would raise it instead and favour a change of scale."""
        peaks = peaks.astype(np.float64)
        return peaks - (1.0 - self.penalties) * np.abs(peaks)

    def _box(self):
        (cx, cy), (w, h) = self.center, self.size
        return [float(cx - (w - 1) / 2), float(cy - (h - 1) / 2), float(w), float(h)]

    # ------------------------------------------------------------ PySOT contract
    @torch.inference_mode()
    def init(self, img, bbox):
        """Start tracking the box [x, y, w, h] in the BGR image `img`. NaN/inf pixels of a
        float frame are left out of the padding colour and, in the template, take it."""
        img = as_bgr3(img)
        x, y, w, h = _check_box(bbox, img.shape)
        # the search region over the whole size range the box may take must stay a finite,
        # positive number of pixels (a 1e200 px box overflows, a 1e-320 px one underflows)
        ratio = self.instance_size / self.exemplar_size
        smallest = self._context_size(w * SCALE_RANGE[0], h * SCALE_RANGE[0]) * ratio
        largest = self._context_size(w * SCALE_RANGE[1], h * SCALE_RANGE[1]) * ratio
        if not (smallest * self.scale_factors.min() > 0
                and math.isfinite(largest * self.scale_factors.max())):
            raise ValueError("init box %r is too %s to track" % ([x, y, w, h], "large" if
                             w > 1 or h > 1 else "small"))
        self.center = np.array([x + (w - 1) / 2, y + (h - 1) / 2], dtype=np.float64)
        self.size = np.array([w, h], dtype=np.float64)
        self.init_size = self.size.copy()
        self.avg = channel_mean(img)
        if not np.isfinite(self.avg).all():
            raise ValueError("init image has no finite pixel in channel(s) %s (all NaN or inf)"
                             % [int(c) for c in np.flatnonzero(~np.isfinite(self.avg))])

        z = crop_square(img, self.center, self._context_size(w, h), self.exemplar_size, self.avg)
        _fill_nonfinite(z, self.avg)
        z = self._to_input(z[None], reuse=False)
        if hasattr(self.model, "prepare_inference"):
            # BN folded into the convs (and quantised), from the current weights
            if self.quantize == "none":
                self.model.prepare_inference()
            else:
                self.model.prepare_inference(quantize=self.quantize,
                                             sizes=(self.exemplar_size, self.instance_size))
        with self._autocast():
            self.model.template(z)
        if self._crops is None or self._crops.dtype != img.dtype:
            self._crops = np.empty((self.scale_num, self.instance_size, self.instance_size, 3),
                                   dtype=img.dtype)

    def _failed(self, t2):
        """The reply for a frame whose response is not finite: the state is left as it was."""
        if self.profile:
            self.stage_times["post"].append(self._tick() - t2)
        return {"bbox": self._box(), "best_score": float("nan"), "failed": True}

    @torch.inference_mode()
    def track(self, img):
        """Locate the target in the next frame:
        {'bbox': [x, y, w, h], 'best_score': float, 'failed': bool}.

        `failed` is True when the response map is not finite: the box stays where it was
        (centre and size), `best_score` is NaN, and nothing else changes."""
        if self.center is None:
            raise RuntimeError("RASNetTracker.track called before init")
        t0 = self._tick() if self.profile else 0.0
        img = as_bgr3(img)
        if self._crops.dtype != img.dtype:
            self._crops = np.empty_like(self._crops, dtype=img.dtype)
        x_size = self._search_size(*self.size)
        sizes = x_size * self.scale_factors
        crops = crop_pyramid(img, self.center, sizes, self.instance_size, self.avg, out=self._crops)
        with self.cores.frame():
            # the float copy is a parallel torch op too: with a busy process beside it,
            # 2 threads took 10-15 ms for what 1 thread does in 0.15 ms
            x = self._to_input(crops)
            if self.profile:
                t1 = self._tick()
                self.stage_times["crop"].append(t1 - t0)
            resp = self._network(x)  # ONE batched call for the whole pyramid
        t2 = self._tick() if self.profile else 0.0
        if resp.numel() != self.scale_num * self.score_size ** 2:
            # a TOTAL_STRIDE that is not the network's own: a bare reshape error otherwise
            raise ValueError("the network's response is %s, but TRACK.INSTANCE_SIZE %d, "
                             "EXEMPLAR_SIZE %d and TOTAL_STRIDE %d make it %dx%d per scale: "
                             "TOTAL_STRIDE must be the network's stride" % (
                                 "x".join(map(str, resp.shape)), self.instance_size,
                                 self.exemplar_size, self.total_stride, self.score_size,
                                 self.score_size))
        resp = resp.detach().float().reshape(self.scale_num, self.score_size, self.score_size)
        resp = resp.cpu().numpy()
        if not np.isfinite(resp).all():  # 3 x 17 x 17 values: a negligible check
            return self._failed(t2)

        # 17 -> 272 bicubic (half-pixel centres, so the map's centre stays the centre)
        up = self._up
        for s in range(self.scale_num):
            cv2.resize(resp[s], (self.upscale_size, self.upscale_size), dst=up[s],
                       interpolation=cv2.INTER_CUBIC)
        peaks = self._penalise(up.reshape(self.scale_num, -1).max(axis=1))
        if not np.isfinite(peaks).all():  # finite but huge responses overflowed float32
            return self._failed(t2)
        best = int(np.argmax(peaks))
        best_score = float(resp[best].max())  # the network's own (pre-window) peak

        # normalise, blend with the cosine window, take the peak
        r = up[best]
        with np.errstate(over="ignore", invalid="ignore"):
            r -= r.min()
            total = float(r.sum())
        if not math.isfinite(total):
            return self._failed(t2)
        r /= total + 1e-16
        r *= 1.0 - self.window_influence
        r += self.window
        iy, ix = np.unravel_index(int(np.argmax(r)), r.shape)

        # peak -> displacement: upsampled map -> search crop -> image pixels
        disp = (np.array([ix, iy], dtype=np.float64) - (self.upscale_size - 1) / 2.0)
        disp *= self.total_stride / self.response_up                  # search-crop pixels
        disp *= sizes[best] / self.instance_size                      # image pixels
        self.center = self.center + disp

        scale = (1.0 - self.scale_lr) + self.scale_lr * self.scale_factors[best]
        self.size = self.size * scale
        self._clip(img.shape)
        if self.profile:
            self.stage_times["post"].append(self._tick() - t2)
        return {"bbox": self._box(), "best_score": best_score, "failed": False}
