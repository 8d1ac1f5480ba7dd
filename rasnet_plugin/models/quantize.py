"""Int8 inference copies of a trunk (`TRACK.QUANTIZE: int8`).

The backbone is about 95% of a tracked frame on a CPU. PyTorch's x86 quantisation
(FX graph mode, fbgemm / oneDNN kernels; per-channel int8 weights, per-tensor uint8
activations) runs SiamFC's AlexNet several times faster than fp32 where the CPU has
VNNI and about 1.8x on AVX2. Only the trunk (and neck) is quantised: its float output
feeds the fused attention/correlation op in float32, as before.

Activation ranges are calibrated once, on a fixed set of crops of scikit-image's camera
photographs (ones training may use, none of the bundled benchmark's), cut the way the
tracker cuts templates and search regions, at the tracker's sizes. A fixed set keeps results
reproducible: they do not depend on which sequence a run starts with.
"""
import copy
import warnings

import numpy as np
import torch

__all__ = ["QUANTIZE_MODES", "int8_unsupported", "resolve_quantize", "calibration_batches",
           "quantize_int8"]

# auto: int8 where it is measured to pay (a CPU device, a trunk that supports it), else none
QUANTIZE_MODES = ("auto", "none", "int8")
# camera photographs (not the microscopy, astronomy or drawn ones): 18 crops, enough for
# the ranges to settle, and a tracker is ready in about 2 s
CALIBRATION_PHOTOS = ("stereo_motorcycle", "clock", "coins")


def int8_unsupported(trunk, device="cpu"):
    """Why `trunk` cannot run in int8 on `device`, or None when it can."""
    if torch.device(device).type != "cpu":
        return "int8 inference runs on the CPU only, not on %s" % device
    if torch.backends.quantized.engine in (None, "none"):
        return "this PyTorch build has no quantised engine"
    return getattr(trunk, "int8_unsupported", None) and \
        "the %s trunk: %s" % (type(trunk).__name__, trunk.int8_unsupported)


def resolve_quantize(mode, trunk, device="cpu"):
    """"auto" -> "int8" or "none" for `trunk` on `device`; an explicit "int8" that cannot
    run raises ValueError saying why."""
    if not isinstance(mode, str) or mode.lower() not in QUANTIZE_MODES:
        raise ValueError("TRACK.QUANTIZE must be one of %s, got %r"
                         % (", ".join(QUANTIZE_MODES), mode))
    mode = mode.lower()
    why = int8_unsupported(trunk, device) if mode != "none" else None
    if mode == "int8" and why:
        raise ValueError("TRACK.QUANTIZE int8: %s (use none)" % why)
    return "none" if mode == "none" or why else "int8"

# target boxes (cx, cy, side) as fractions of a photo's short side, cut at template and
# search size the way the tracker does (search = template side * instance / exemplar)
_CALIBRATION_BOXES = ((0.5, 0.5, 0.25), (0.35, 0.4, 0.15), (0.65, 0.6, 0.35))


def calibration_batches(exemplar_size=127, instance_size=255, photos=None):
    """Float32 BGR 0..255 channels-last batches: for each photo, one (3,3,E,E) batch of
    templates and one (3,3,I,I) batch of search regions around the same boxes."""
    from ..tracker.crop import channel_mean, crop_square
    from ..training.sources.still import _skimage_photo

    batches = []
    for name in photos or CALIBRATION_PHOTOS:
        img = _skimage_photo(name)
        avg = channel_mean(img)
        short = min(img.shape[:2])
        for out_size in (exemplar_size, instance_size):
            crops = []
            for fx, fy, fs in _CALIBRATION_BOXES:
                side = fs * short * 2.0 * out_size / exemplar_size  # context as tracked
                crops.append(crop_square(img, (fx * img.shape[1], fy * img.shape[0]), side,
                                         out_size, avg))
            x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()
            batches.append(x.contiguous(memory_format=torch.channels_last))
    return batches


def quantize_int8(module, batches):
    """An int8 copy of the eval-mode float `module` (BatchNorm already folded), its
    activation ranges calibrated on `batches` (see calibration_batches). CPU only; the input and output stay
    float32. Uses the quantisation engine PyTorch has selected for this CPU (oneDNN's
    under a ONEDNN_MAX_CPU_ISA cap; the process-wide setting is left as it was)."""
    from ..hardware import isa_cap

    selected = torch.backends.quantized.engine
    engine = selected
    if isa_cap() and "onednn" in torch.backends.quantized.supported_engines:
        # fbgemm ignores ONEDNN_MAX_CPU_ISA; under a cap (timing a smaller CPU on this one)
        # oneDNN's int8 kernels are the ones that honour it
        engine = "onednn"
    if engine == "none" or engine not in torch.backends.quantized.supported_engines:
        raise RuntimeError("int8 inference needs a quantised engine; this PyTorch build "
                           "has %s" % (torch.backends.quantized.supported_engines,))
    torch.backends.quantized.engine = engine   # weights are packed for the engine in force
    try:
        return _prepare_calibrate_convert(module, batches, engine)
    finally:
        torch.backends.quantized.engine = selected


def _prepare_calibrate_convert(module, batches, engine):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    # observers update their buffers in place: build outside any inference_mode (the
    # tracker's init runs in one), without autograd
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the API used here is stable
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning))
        float_module = copy.deepcopy(module).cpu().float().eval()
        prepared = prepare_fx(float_module, get_default_qconfig_mapping(engine),
                              (batches[0],))
        for x in batches:
            prepared(x.clone())
        return convert_fx(prepared).eval()
