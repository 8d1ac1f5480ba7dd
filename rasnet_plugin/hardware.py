"""What the machine does fast: CPU model and ISA, and the precision `auto` resolves to.

bf16 pays off only where it is native: a CUDA GPU of compute capability 8.0 (Ampere) or
later, or a CPU with AVX512_BF16 or AMX-BF16.
Elsewhere (AVX2-only CPUs) PyTorch emulates it, about 20x slower than fp32. oneDNN's
ONEDNN_MAX_CPU_ISA cap counts: capped below AVX512_CORE_BF16, bf16 is emulated there too
(and benchmark headers say the cap, so a capped run is never taken for the real CPU).
"""
import functools
import os
import platform
import warnings

import torch

__all__ = ["cpu_info", "isa_cap", "native_bf16", "resolve_precision", "warn_if_emulated", "describe",
           "check_device"]

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


# oneDNN ISA caps below its first bf16 one (AVX512_CORE_BF16)
_CAPS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE",
                      "AVX512_CORE_VNNI")


def isa_cap():
    """The ONEDNN_MAX_CPU_ISA cap asked for in the environment (upper case), or None.
    oneDNN reads the variable once, at its first use: set it before the process starts."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return cap if cap and cap not in ("ALL", "DEFAULT") else None


def _cuda_capability(device):
    """(major, minor) compute capability of a CUDA device, or None where it cannot be read."""
    try:
        return tuple(torch.cuda.get_device_capability(device))
    except (AssertionError, RuntimeError, ValueError):  # no CUDA in this torch or machine
        return None


def native_bf16(device="cpu"):
    """Whether bf16 arithmetic is native on `device` (a CUDA GPU of compute capability 8.0
    (Ampere) or later, or AVX512_BF16 / AMX, not capped away by ONEDNN_MAX_CPU_ISA).
    Volta and Turing GPUs (7.x) have no bf16 units: PyTorch emulates it there, or fails."""
    device = torch.device(device)
    if device.type == "cuda":
        cap = _cuda_capability(device)
        return cap is not None and cap >= (8, 0)
    if isa_cap() in _CAPS_WITHOUT_BF16:
        return False
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
    if emulated and key not in _WARNED and device.type == "cuda":
        _WARNED.add(key)
        cap = _cuda_capability(device)
        what = "compute capability %d.%d" % cap if cap else "compute capability unknown"
        warnings.warn("%s bf16 on %s (%s): bfloat16 needs compute capability 8.0 (Ampere) or "
                      "later, so PyTorch emulates it (or fails); use auto, fp16 or fp32"
                      % (key, device, what), RuntimeWarning, stacklevel=3)
    elif emulated and key not in _WARNED:
        _WARNED.add(key)
        info = cpu_info()
        why = ("ONEDNN_MAX_CPU_ISA=%s caps away its native bfloat16" % isa_cap()
               if isa_cap() in _CAPS_WITHOUT_BF16 else
               "this CPU has no native bfloat16 (AVX512_BF16 or AMX)")
        warnings.warn("%s bf16 on %s (%s): %s, so PyTorch emulates it, about 20x slower than "
                      "fp32; use auto or fp32" % (key, info["model"], info["isa"], why),
                      RuntimeWarning, stacklevel=3)
    return emulated


def describe(device="cpu", precision=None):
    """One line for logs and benchmark headers: CPU model, ISA, threads (and precision)."""
    device = torch.device(device)
    if device.type == "cuda":
        where = "CUDA %s" % torch.cuda.get_device_name(device)
    else:
        info = cpu_info()
        isa = info["isa"] + (", capped at %s (ONEDNN_MAX_CPU_ISA)" % isa_cap() if isa_cap() else "")
        where = "%s, %s, %d thread(s)" % (info["model"], isa, torch.get_num_threads())
    return where if precision is None else "%s, precision %s" % (where, precision)


def check_device(spec, name="--device"):
    """`spec` as a torch.device (None for none given), or ConfigError (a ValueError) naming
    `name` and the value: a device type other than cpu/cuda, or CUDA this torch or machine
    lacks (found before any work, where torch would fail later, or with its own
    RuntimeError)."""
    from .config import ConfigError

    if spec is None or str(spec) == "":
        return None
    try:
        dev = torch.device(spec)
    except (RuntimeError, TypeError, ValueError):  # torch: "Expected one of cpu, cuda, ..."
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ConfigError("%s must be cpu, cuda or cuda:N, got %r" % (name, str(spec)))
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch (%s) is built without CUDA" % torch.__version__ \
                if torch.version.cuda is None and not getattr(torch.version, "hip", None) \
                else "no CUDA device is visible"
            raise ConfigError("%s %s: %s; use %s" % (name, spec, why, "%s cpu" % name
                                                     if name.startswith("--") else "cpu"))
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise ConfigError("%s %s: there are only %d CUDA device(s), cuda:0 to cuda:%d"
                              % (name, spec, n, n - 1))
    return dev
