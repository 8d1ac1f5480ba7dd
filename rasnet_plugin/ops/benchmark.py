"""Timing the fused attention_xcorr op against the plain PyTorch formula (`tools/bench_op.py`).

Plain formula: w = z * s * b, then a grouped conv2d (one group per pair), or a plain conv2d
when one template serves several search crops. Both run in the same process on the same
inputs, interleaved repetition by repetition so that machine noise hits both alike.
"""
import statistics
import time

import torch

from .attention_xcorr import attention_xcorr, attention_xcorr_reference

__all__ = ["CASES", "MODES", "make_inputs", "timer", "bench_pair", "forward_fn", "train_fn",
           "bench_case"]

# (label, template batch, search batch): the paper's geometry, C=256, 6x6 * 22x22.
CASES = [("batch 8", 8, 8), ("batch 32", 32, 32), ("1 template x 3 crops", 1, 3)]
MODES = ("forward", "forward+backward")


def make_inputs(bz, bx, device, dtype, layout, requires_grad):
    """Seeded z, x, s, b of the paper's sizes, in `layout` (nchw or channels_last)."""
    g = torch.Generator().manual_seed(bz * 1000 + bx)
    z = torch.randn(bz, 256, 6, 6, generator=g)
    x = torch.randn(bx, 256, 22, 22, generator=g)
    s = torch.rand(bz, 1, 6, 6, generator=g) + 0.5
    b = torch.rand(bz, 256, generator=g)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    out = []
    for t in (z, x, s, b):
        t = t.to(device=device, dtype=dtype)
        if t.dim() == 4 and t.shape[1] > 1:
            t = t.contiguous(memory_format=fmt)
        out.append(t.requires_grad_(requires_grad))
    return out


def timer(device):
    """A function that runs `fn()` once and returns its milliseconds (CUDA events on CUDA)."""
    if device.type == "cuda":
        def run(fn):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
    else:
        def run(fn):
            t0 = time.perf_counter()
            fn()
            return (time.perf_counter() - t0) * 1e3
    return run


def bench_pair(fns, device, repeat, warmup=3):
    """Median milliseconds of each callable, interleaved (`repeat` >= 1: ValueError otherwise)."""
    if repeat < 1:
        raise ValueError("bench_pair needs repeat >= 1, got %d" % repeat)
    run = timer(device)
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            times[k].append(run(fn))
    return [statistics.median(t) for t in times]


def forward_fn(op, inputs):
    def fn():
        with torch.no_grad():
            op(*inputs)
    return fn


def train_fn(op, inputs):
    def fn():
        out = op(*inputs)
        out.sum().backward()
        for t in inputs:
            t.grad = None
    return fn


def bench_case(bz, bx, device, dtype, layout, repeat):
    """{mode: (fused ms, plain ms)} of one case, for forward and forward+backward."""
    fwd_in = make_inputs(bz, bx, device, dtype, layout, False)
    trn_in = make_inputs(bz, bx, device, dtype, layout, True)
    out = {}
    for mode, make in zip(MODES, (forward_fn, train_fn)):
        inputs = fwd_in if mode == "forward" else trn_in
        out[mode] = tuple(bench_pair([make(attention_xcorr, inputs),
                                      make(attention_xcorr_reference, inputs)], device, repeat))
    return out
