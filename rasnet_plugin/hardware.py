"""What the machine does fast: CPU model and ISA, and the precision `auto` resolves to.

bf16 pays off only where it is native: CUDA, or a CPU with AVX512_BF16 or AMX-BF16.
Elsewhere (AVX2-only CPUs) PyTorch emulates it, about 20x slower than fp32.
"""
import functools
import platform
import warnings

import torch

__all__ = ["cpu_info", "native_bf16", "resolve_precision", "warn_if_emulated", "describe"]

_WARNED = set()


@functools.lru_cache(maxsize=1)
def cpu_info():
    """{'model': str, 'flags': frozenset, 'isa': 'AVX-512' | 'AVX2' | ...} of this CPU."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and value.strip():
                    model = value.strip()
                elif key in ("flags", "Features"):
                    flags.update(value.split())
                if model and flags and key == "":
                    break
    except OSError:
        pass
    if "avx512f" in flags:
        isa = "AVX-512"
        if "avx512_bf16" in flags or "amx_bf16" in flags:
            isa += " + BF16" + (" + AMX" if "amx_bf16" in flags else "")
    elif "avx2" in flags:
        isa = "AVX2"
    else:
        isa = torch.backends.cpu.get_cpu_capability()
    return {"model": model, "flags": frozenset(flags), "isa": isa}


def native_bf16(device="cpu"):
    """Whether bf16 arithmetic is native on `device` (CUDA, or AVX512_BF16 / AMX)."""
    device = torch.device(device)
    if device.type == "cuda":
        return True
    flags = cpu_info()["flags"]
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision, device="cpu"):
    """'auto' -> 'bf16' where native (native_bf16), else 'fp32'; other values unchanged."""
    precision = str(precision).lower()
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def warn_if_emulated(precision, device, key):
    """Warn once per `key` (e.g. "TRACK.PRECISION") when bf16 was asked for explicitly on a
    CPU that only emulates it; returns whether it is emulated."""
    device = torch.device(device)
    emulated = str(precision).lower() == "bf16" and not native_bf16(device)
    if emulated and key not in _WARNED:
        _WARNED.add(key)
        info = cpu_info()
        warnings.warn("%s bf16 on %s (%s): this CPU has no native bfloat16 (AVX512_BF16 or "
                      "AMX), so PyTorch emulates it, about 20x slower than fp32; use auto or "
                      "fp32" % (key, info["model"], info["isa"]), RuntimeWarning, stacklevel=3)
    return emulated


def describe(device="cpu", precision=None):
    """One line for logs and benchmark headers: CPU model, ISA, threads (and precision)."""
    device = torch.device(device)
    if device.type == "cuda":
        where = "CUDA %s" % torch.cuda.get_device_name(device)
    else:
        info = cpu_info()
        where = "%s, %s, %d thread(s)" % (info["model"], info["isa"], torch.get_num_threads())
    return where if precision is None else "%s, precision %s" % (where, precision)
