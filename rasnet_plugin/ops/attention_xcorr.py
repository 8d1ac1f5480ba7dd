"""Attention-weighted cross-correlation, RASNet's hot path.

    out[n, 0, i, j] = sum_{c,u,v} s[m,0,u,v] * b[m,c] * z[m,c,u,v] * x[n,c,i+u,j+v]

with m = n when the template batch Bz equals the search batch Bx, and m = 0
when Bz == 1 (one template against many search crops: the scale pyramid).
"""
import torch
import torch.nn.functional as F

from .. import _extension

__all__ = ["attention_xcorr", "attention_xcorr_reference", "check_inputs", "has_fused"]

has_fused = _extension.has_fused


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


def attention_xcorr(z, x, spatial, channel):
    """Fused attention-weighted cross-correlation (see module docstring).

    z: (Bz,C,h,w) template features; x: (Bx,C,H,W) search features;
    spatial: (Bz,1,h,w); channel: (Bz,C) or (Bz,C,1,1); Bz == Bx or Bz == 1.
    Returns (Bx,1,H-h+1,W-w+1).  Uses the compiled op when available (CPU:
    float32/float64; CUDA: float32/float16/bfloat16/float64), else the reference.
    """
    if not has_fused():
        return attention_xcorr_reference(z, x, spatial, channel)
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
