#!/usr/bin/env python
"""Benchmark the fused attention_xcorr op against the plain PyTorch formula.

Plain formula: w = z * s * b, then a grouped conv2d (one group per pair), or a
plain conv2d when one template serves several search crops.  Both run in the
same process on the same inputs, interleaved repetition by repetition so that
machine noise hits both alike; medians are printed with their ratio.

    python tools/bench_op.py                   # CPU, and CUDA when present
    python tools/bench_op.py --device cuda --dtype float16 bfloat16
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rasnet_plugin import ops  # noqa: E402
from rasnet_plugin import _extension  # noqa: E402

# (label, template batch, search batch): the paper's geometry, C=256, 6x6 * 22x22.
CASES = [("batch 8", 8, 8), ("batch 32", 32, 32), ("1 template x 3 crops", 1, 3)]


def make_inputs(bz, bx, device, dtype, layout, requires_grad):
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
    """Median milliseconds of each callable, interleaved."""
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--dtype", nargs="+", default=None,
                        help="dtypes to time (default: float32; on CUDA also float16 and bfloat16)")
    parser.add_argument("--layout", nargs="+", choices=["nchw", "channels_last"],
                        default=["nchw", "channels_last"])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    if not ops.has_fused():
        print("the fused op is not built: nothing to compare (pip install --no-build-isolation -e .)")
        return 1
    devices = []
    if args.device in ("cpu", "all"):
        devices.append(torch.device("cpu"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    elif args.device == "cuda":
        print("CUDA is not available")
        return 1

    rows = []
    for device in devices:
        if device.type == "cuda":
            name = torch.cuda.get_device_name(device)
            dtypes = args.dtype or ["float32", "float16", "bfloat16"]
        else:
            name = "CPU, %d threads, kernels: %s" % (torch.get_num_threads(), _extension.cpu_isa())
            dtypes = [d for d in (args.dtype or ["float32"]) if d in ("float32", "float64")]
        print("# %s (torch %s)" % (name, torch.__version__))
        for dtype_name in dtypes:
            dtype = getattr(torch, dtype_name)
            for layout in args.layout:
                for label, bz, bx in CASES:
                    fwd_in = make_inputs(bz, bx, device, dtype, layout, False)
                    trn_in = make_inputs(bz, bx, device, dtype, layout, True)
                    for mode, make in (("forward", forward_fn), ("forward+backward", train_fn)):
                        inputs = fwd_in if mode == "forward" else trn_in
                        fused, plain = bench_pair(
                            [make(ops.attention_xcorr, inputs), make(ops.attention_xcorr_reference, inputs)],
                            device, args.repeat)
                        rows.append((device.type, dtype_name, layout, label, mode, fused, plain))
                        print("%-4s %-8s %-13s %-21s %-16s fused %8.3f ms  plain %8.3f ms  x%.1f"
                              % (device.type, dtype_name, layout, label, mode, fused, plain, plain / fused),
                              flush=True)

    print("\n| device | dtype | layout | case | pass | fused (ms) | plain (ms) | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for dev, dt, layout, label, mode, fused, plain in rows:
        print("| %s | %s | %s | %s | %s | %.3f | %.3f | %.1fx |" % (dev, dt, layout, label, mode, fused, plain, plain / fused))
    return 0


if __name__ == "__main__":
    sys.exit(main())
