"""Loads the compiled extension `rasnet_plugin._C`, or falls back to pure PyTorch.

Importing `_C` registers the `torch.ops.rasnet.*` ops (schema, CPU/CUDA kernels
and autograd).  If it is missing or broken, everything still works through the
reference implementation; one warning says so.
"""
import os
import warnings

import torch  # noqa: F401  (must load first: _C links against libc10 / libtorch)

ISA_ENV = "RASNET_CPU_ISA"   # read by the C++ kernel table; checked here, where warning is easy
ISAS = ("generic", "avx2", "avx512")
if os.environ.get(ISA_ENV) and os.environ[ISA_ENV] not in ISAS:
    warnings.warn("rasnet_plugin: %s=%r is not one of %s; the widest set this CPU runs is used"
                  % (ISA_ENV, os.environ[ISA_ENV], ", ".join(ISAS)), RuntimeWarning, stacklevel=2)

_ERROR = None
try:
    from . import _C  # noqa: F401  (registers torch.ops.rasnet.*)
except Exception as e:  # ImportError, or an undefined symbol from a stale build
    _ERROR = e
    warnings.warn(
        "rasnet_plugin: the fused C++/CUDA op is unavailable (%s: %s); using the pure "
        "PyTorch reference instead (correct, slower). Rebuild with "
        "`pip install --no-build-isolation -e .`." % (type(e).__name__, e),
        RuntimeWarning,
        stacklevel=2,
    )


def has_fused():
    """True when `torch.ops.rasnet.attention_xcorr` comes from the compiled extension."""
    return _ERROR is None


def has_cuda_kernels():
    """True when the extension was built with its CUDA kernels."""
    if _ERROR is not None:
        return False
    return bool(_C.WITH_CUDA)


def cpu_isa():
    """Instruction set of the CPU kernels picked for this machine, or None."""
    return None if _ERROR is not None else _C.CPU_ISA


def load_error():
    return _ERROR
