"""Attention-weighted cross-correlation, RASNet's hot path.

    out[n, 0, i, j] = sum_{c,u,v} s[m,0,u,v] * b[m,c] * z[m,c,u,v] * x[n,c,i+u,j+v]

with m = n when the template batch Bz equals the search batch Bx, and m = 0
when Bz == 1 (one template against many search crops: the scale pyramid).
"""
import warnings

import torch
import torch.nn.functional as F

from .. import _extension

__all__ = ["attention_xcorr", "attention_xcorr_reference", "check_inputs", "has_fused"]

has_fused = _extension.has_fused
# Read once: the routing below runs every frame (and inside torch.compile, where a
# module constant is simply guarded on).  The extension's CUDA kernels exist only when
# it was built with a CUDA toolkit; a CUDA torch wheel built without nvcc has CPU ones.
_CUDA_KERNELS = _extension.has_cuda_kernels()
_FUSED_CPU_DTYPES = (torch.float32, torch.float64)     # what the CPU kernels take
_UPCAST_CPU_DTYPES = (torch.float16, torch.bfloat16)   # run by them in float32
_warned_no_cuda_kernels = False


def _shape(t):
    return "x".join(str(s) for s in t.shape) if t.dim() else "scalar"


def check_inputs(z, x, spatial, channel):
    """Validate shapes, dtypes and devices; return channel as (Bz, C).

    The C++ op performs the same checks with the same wording.
    """
    names = ("z", "x", "spatial", "channel")
    tensors = (z, x, spatial, channel)
    for name, t in zip(names, tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError("attention_xcorr: %s must be a Tensor, got %s" % (name, type(t).__name__))
    desc = "z %s, x %s, spatial %s, channel %s" % tuple(_shape(t) for t in tensors)
    if z.dim() != 4 or x.dim() != 4 or spatial.dim() != 4:
        raise ValueError("attention_xcorr: z, x and spatial must be 4-D (N,C,H,W); got " + desc)
    if channel.dim() not in (2, 4) or (channel.dim() == 4 and tuple(channel.shape[2:]) != (1, 1)):
        raise ValueError("attention_xcorr: channel must be (Bz,C) or (Bz,C,1,1); got " + desc)
    bz, c, h, w = z.shape
    bx, cx, hh, ww = x.shape
    if cx != c:
        raise ValueError("attention_xcorr: channel mismatch between z and x; got " + desc)
    if bz != bx and bz != 1:
        raise ValueError("attention_xcorr: template batch must be 1 or equal the search batch; got " + desc)
    if tuple(spatial.shape) != (bz, 1, h, w):
        raise ValueError("attention_xcorr: spatial must be (Bz,1,h,w) = (%d,1,%d,%d); got %s" % (bz, h, w, desc))
    if tuple(channel.shape[:2]) != (bz, c):
        raise ValueError("attention_xcorr: channel must be (Bz,C) = (%d,%d); got %s" % (bz, c, desc))
    if min(bz, c, h, w, bx) == 0 or hh == 0 or ww == 0:
        raise ValueError("attention_xcorr: empty input; got " + desc)
    if h > hh or w > ww:
        raise ValueError("attention_xcorr: template larger than search; got " + desc)
    if len({t.dtype for t in tensors}) != 1:
        raise TypeError("attention_xcorr: all inputs must share one dtype; got %s" %
                        ", ".join("%s %s" % (n, t.dtype) for n, t in zip(names, tensors)))
    if not z.is_floating_point():
        raise TypeError("attention_xcorr: inputs must be floating point; got %s" % z.dtype)
    if len({t.device for t in tensors}) != 1:
        raise ValueError("attention_xcorr: all inputs must be on one device; got %s" %
                         ", ".join("%s %s" % (n, t.device) for n, t in zip(names, tensors)))
    return channel.reshape(bz, c)


def attention_xcorr_reference(z, x, spatial, channel):
    """Pure PyTorch formula with the same semantics: weight the template, then a
    (grouped) conv2d.  Differentiable through autograd; any device and dtype."""
    channel = check_inputs(z, x, spatial, channel)
    # like the compiled op, compute in the inputs' dtype even under autocast
    with torch.autocast(x.device.type, enabled=False):
        weighted = z * spatial * channel[:, :, None, None]
        bx, c, hh, ww = x.shape
        if weighted.shape[0] == 1:
            return F.conv2d(x, weighted)
        out = F.conv2d(x.reshape(1, bx * c, hh, ww), weighted, groups=bx)
        return out.reshape(bx, 1, out.shape[-2], out.shape[-1])


def _is_compiling():
    is_compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(is_compiling()) if is_compiling is not None else False


def _warn_no_cuda_kernels():
    global _warned_no_cuda_kernels
    if _warned_no_cuda_kernels or _is_compiling():  # (warnings are not traced)
        return
    _warned_no_cuda_kernels = True
    warnings.warn(
        "rasnet_plugin: the compiled extension was built without its CUDA kernels (no CUDA "
        "toolkit was found at build time), so attention_xcorr runs CUDA tensors through the "
        "pure PyTorch reference (correct, slower). To build the CUDA kernels, rebuild with a "
        "CUDA toolkit: `RASNET_WITH_CUDA=1 CUDA_HOME=/path/to/cuda pip install "
        "--no-build-isolation -e .` (docs/op.md, \"Building it\").",
        RuntimeWarning, stacklevel=4)


def _route(z):
    """How attention_xcorr runs inputs like `z` (anything with .device and .dtype):

    "fused"     the compiled op (CPU float32/float64, CUDA with the CUDA kernels, meta:
                its fake kernel; other CPU dtypes get the op's own error);
    "upcast"    the compiled CPU kernels in float32, result cast back (CPU float16/bfloat16);
    "reference" the pure PyTorch formula: no extension, CUDA without the CUDA kernels
                (warned once), or a device the extension has no kernels for (mps, xpu, ...).
    """
    device = getattr(z, "device", None)
    if not has_fused() or device is None:  # (not a tensor: the reference's check names it)
        return "reference"
    kind = device.type
    if kind == "cpu":
        return "upcast" if z.dtype in _UPCAST_CPU_DTYPES else "fused"
    if kind == "cuda":
        if _CUDA_KERNELS:
            return "fused"
        _warn_no_cuda_kernels()
        return "reference"
    if kind == "meta":
        return "fused"
    return "reference"


def attention_xcorr(z, x, spatial, channel):
    """Fused attention-weighted cross-correlation (see module docstring).

    z: (Bz,C,h,w) template features; x: (Bx,C,H,W) search features;
    spatial: (Bz,1,h,w); channel: (Bz,C) or (Bz,C,1,1); Bz == Bx or Bz == 1.
    Returns (Bx,1,H-h+1,W-w+1) in the inputs' dtype.

    Uses the compiled op where it has kernels: on the CPU for float32/float64, and for
    float16/bfloat16 too by running the float32 kernels on upcast copies (as the CUDA
    kernels accumulate in float32; gradients flow back through the casts); on CUDA for
    float32/float64/float16/bfloat16 when the extension was built with its CUDA kernels.
    Everything else runs the reference: no extension, CUDA tensors with an extension
    built without CUDA kernels (one RuntimeWarning says how to rebuild), other devices.
    """
    if not all(isinstance(t, torch.Tensor) for t in (x, spatial, channel)):
        check_inputs(z, x, spatial, channel)  # its TypeError names the argument, where the
        # dispatcher would raise a RuntimeError that prints the whole value
    route = _route(z)
    if route == "reference":
        return attention_xcorr_reference(z, x, spatial, channel)
    if route == "upcast":
        if len({getattr(t, "dtype", None) for t in (x, spatial, channel)} | {z.dtype}) != 1:
            check_inputs(z, x, spatial, channel)  # a dtype mix is an error, not silently cast
        out = torch.ops.rasnet.attention_xcorr(*(t.to(torch.float32) for t in (z, x, spatial, channel)))
        return out.to(z.dtype)
    return torch.ops.rasnet.attention_xcorr(z, x, spatial, channel)


if has_fused():
    # Fake (meta) kernels: shape propagation for FakeTensor, torch.compile and
    # opcheck.  Written in Python so symbolic sizes flow through.
    @torch.library.register_fake("rasnet::attention_xcorr")
    def _attention_xcorr_fake(z, x, spatial, channel):
        check_inputs(z, x, spatial, channel)
        bx, _, hh, ww = x.shape
        return x.new_empty((bx, 1, hh - z.shape[2] + 1, ww - z.shape[3] + 1))

    @torch.library.register_fake("rasnet::_attention_xcorr_backward")
    def _attention_xcorr_backward_fake(grad, z, x, spatial, channel):
        # grad_x and grad_z come back channels-last for channels-last x and z, else
        # contiguous (the same rule as the kernels, so strides match)
        def layout(t):
            cl = t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)
            return torch.channels_last if cl else torch.contiguous_format
        return (torch.empty_like(z, memory_format=layout(z)), torch.empty_like(x, memory_format=layout(x)),
                spatial.new_empty(spatial.shape), channel.new_empty(channel.shape))
