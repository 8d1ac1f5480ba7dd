"""Custom ops of rasnet_plugin (compiled when available, pure PyTorch otherwise)."""
from .._extension import cpu_isa, has_cuda_kernels, has_fused
from .attention_xcorr import attention_xcorr, attention_xcorr_reference, check_inputs

__all__ = ["attention_xcorr", "attention_xcorr_reference", "check_inputs", "has_fused", "has_cuda_kernels",
           "cpu_isa"]
