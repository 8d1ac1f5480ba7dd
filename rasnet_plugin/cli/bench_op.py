"""Benchmark the fused attention_xcorr op against the plain PyTorch formula.

Plain formula: w = z * s * b, then a grouped conv2d (one group per pair), or a
plain conv2d when one template serves several search crops.  Both run in the
same process on the same inputs, interleaved repetition by repetition so that
machine noise hits both alike; medians are printed with their ratio.

    python tools/bench_op.py                   # CPU, and CUDA when present
    python tools/bench_op.py --device cuda --dtype float16 bfloat16

(also installed as `rasnet-bench-op`; the timing: rasnet_plugin/ops/benchmark.py)
"""
import argparse
import sys

# the dtypes the compiled kernels take (csrc/cpu, csrc/cuda)
SUPPORTED_DTYPES = {"cpu": ("float32", "float64"),
                    "cuda": ("float32", "float16", "bfloat16", "float64")}
DEFAULT_DTYPES = {"cpu": ("float32",), "cuda": ("float32", "float16", "bfloat16")}


def main(argv=None):
    import torch
    from .. import _extension, ops
    from ..ops.benchmark import CASES, bench_case
    from ..hardware import describe

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--dtype", nargs="+", default=None, choices=SUPPORTED_DTYPES["cuda"],
                        help="dtypes to time (default: float32; on CUDA also float16 and bfloat16; "
                             "the CPU kernels take float32 and float64 only)")
    parser.add_argument("--layout", nargs="+", choices=["nchw", "channels_last"],
                        default=["nchw", "channels_last"])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1, got %d" % args.repeat)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1, got %d" % args.threads)

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = []
    if args.device in ("cpu", "all"):
        devices.append(torch.device("cpu"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    elif args.device == "cuda":
        print("error: --device cuda: CUDA is not available", file=sys.stderr)
        return 1
    # every requested dtype must run on a requested device (on one of them, with --device all)
    kinds = [d.type for d in devices]
    for dtype_name in args.dtype or ():
        if not any(dtype_name in SUPPORTED_DTYPES[k] for k in kinds):
            parser.error("--dtype %s is not supported on %s (supported: %s)" % (
                dtype_name, " or ".join(kinds),
                "; ".join("%s: %s" % (k, ", ".join(SUPPORTED_DTYPES[k])) for k in kinds)))
    if not ops.has_fused():
        print("error: the fused op is not built: nothing to compare (pip install --no-build-isolation -e .)",
              file=sys.stderr)
        return 1
    if any(d.type == "cuda" for d in devices) and not ops.has_cuda_kernels():
        # CUDA tensors would run the reference too: it would be timed against itself
        print("error: --device %s: the extension was built without its CUDA kernels "
              "(rebuild with RASNET_WITH_CUDA=1, docs/op.md)" % args.device, file=sys.stderr)
        return 1

    rows = []
    for device in devices:
        if device.type == "cuda":
            name = torch.cuda.get_device_name(device)
        else:
            name = "%s, kernels: %s" % (describe("cpu"), _extension.cpu_isa())
        supported = SUPPORTED_DTYPES[device.type]
        dtypes = [d for d in (args.dtype or DEFAULT_DTYPES[device.type]) if d in supported]
        print("# %s (torch %s)" % (name, torch.__version__))
        skipped = [d for d in (args.dtype or ()) if d not in supported]
        if skipped:
            print("# %s not timed on %s (its kernels take %s)"
                  % (", ".join(skipped), device.type, ", ".join(supported)))
        for dtype_name in dtypes:
            for layout in args.layout:
                for label, bz, bx in CASES:
                    timed = bench_case(bz, bx, device, getattr(torch, dtype_name), layout, args.repeat)
                    for mode, (fused, plain) in timed.items():
                        rows.append((device.type, dtype_name, layout, label, mode, fused, plain))
                        print("%-4s %-8s %-13s %-21s %-16s fused %8.3f ms  plain %8.3f ms  x%.1f"
                              % (device.type, dtype_name, layout, label, mode, fused, plain, plain / fused),
                              flush=True)

    print("\n| device | dtype | layout | case | pass | fused (ms) | plain (ms) | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for dev, dt, layout, label, mode, fused, plain in rows:
        print("| %s | %s | %s | %s | %s | %.3f | %.3f | %.1fx |" % (dev, dt, layout, label, mode, fused, plain, plain / fused))
    return 0
