"""Precision `auto` and the warning for emulated bfloat16 (rasnet_plugin.hardware), on a
pretend AVX2-only CPU and a pretend AVX-512 + BF16 one."""
import warnings

import numpy as np
import pytest

from rasnet_plugin import hardware
from rasnet_plugin.config import get_default_config
from rasnet_plugin.models import build_model
from rasnet_plugin.tracker import RASNetTracker

AVX2 = {"model": "Pretend EPYC", "flags": frozenset({"avx2", "fma"}), "isa": "AVX2"}
BF16 = {"model": "Pretend Xeon", "flags": frozenset({"avx2", "avx512f", "avx512_bf16"}),
        "isa": "AVX-512 + BF16"}


@pytest.fixture
def cpu(monkeypatch):
    monkeypatch.setattr(hardware, "_WARNED", set())
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)   # a capped run would pretend otherwise

    def pretend(info):
        monkeypatch.setattr(hardware, "cpu_info", lambda: info)
    return pretend


def _tracker(precision):
    cfg = get_default_config()
    cfg.TRACK.PRECISION = precision
    return RASNetTracker(build_model(cfg), cfg, device="cpu")


def test_auto_is_fp32_without_native_bf16_and_bf16_with_it(cpu):
    cpu(AVX2)
    assert hardware.resolve_precision("auto", "cpu") == "fp32"
    assert _tracker("auto").precision == "fp32"
    assert hardware.resolve_precision("AUTO", "cpu") == "fp32"
    cpu(BF16)
    assert hardware.resolve_precision("auto", "cpu") == "bf16"
    assert _tracker("auto").precision == "bf16"
    assert hardware.resolve_precision("fp32", "cpu") == "fp32"   # explicit values stay


def test_explicit_bf16_on_an_emulating_cpu_warns_once_and_still_runs(cpu):
    cpu(AVX2)
    with pytest.warns(RuntimeWarning, match=r"TRACK.PRECISION bf16 on Pretend EPYC \(AVX2\): "
                      r"this CPU has no native bfloat16.*20x slower than fp32"):
        t = _tracker("bf16")
    assert t.precision == "bf16"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _tracker("bf16")                        # once per key, not per tracker
        _tracker("auto")                        # auto never warns
        _tracker("fp32")
    frame = np.full((120, 160, 3), 90, np.uint8)
    frame[50:70, 70:90] = 200
    t.init(frame, [70, 50, 20, 20])
    assert np.isfinite(t.track(frame)["bbox"]).all()
    with pytest.warns(RuntimeWarning, match="TRAIN.PRECISION bf16"):
        assert hardware.warn_if_emulated("bf16", "cpu", "TRAIN.PRECISION")


def test_no_warning_where_bf16_is_native(cpu):
    cpu(BF16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _tracker("bf16").precision == "bf16"
        assert not hardware.warn_if_emulated("bf16", "cpu", "TRAIN.PRECISION")


def test_unknown_precision_is_refused_by_name(cpu):
    with pytest.raises(ValueError, match=r"TRACK.PRECISION must be auto or one of fp32, bf16, fp16, got 'int8'"):
        _tracker("int8")


def test_a_onednn_isa_cap_below_bf16_makes_it_emulated(cpu, monkeypatch):
    cpu(BF16)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert hardware.isa_cap() == "AVX2"
    assert hardware.resolve_precision("auto", "cpu") == "fp32"
    assert "capped at AVX2 (ONEDNN_MAX_CPU_ISA)" in hardware.describe("cpu")
    with pytest.warns(RuntimeWarning, match="ONEDNN_MAX_CPU_ISA=AVX2 caps away its native"):
        hardware.warn_if_emulated("bf16", "cpu", "TRACK.PRECISION")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")     # a cap that keeps bf16
    assert hardware.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")
    assert hardware.isa_cap() is None and "capped" not in hardware.describe("cpu")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert hardware.resolve_precision("auto", "cpu") == "bf16"


@pytest.mark.parametrize("capability, native", [((7, 0), False), ((7, 5), False),
                                                ((8, 0), True), ((9, 0), True)])
def test_cuda_bf16_is_native_from_ampere_on(cpu, monkeypatch, capability, native):
    """Volta (7.0) and Turing (7.5) GPUs have no bf16 units: `auto` must not pick bf16 there,
    and an explicit bf16 warns about the GPU (not about the CPU's ISA)."""
    import torch
    asked = []

    def capability_of(device=None):
        asked.append(device)
        return capability
    monkeypatch.setattr(torch.cuda, "get_device_capability", capability_of)
    cpu(BF16)     # the CPU's bf16 says nothing about the GPU's
    assert hardware.native_bf16("cuda:1") is native
    assert torch.device("cuda:1") in asked
    assert hardware.resolve_precision("auto", "cuda") == ("bf16" if native else "fp32")
    if native:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert not hardware.warn_if_emulated("bf16", "cuda", "TRACK.PRECISION")
    else:
        with pytest.warns(RuntimeWarning, match=r"TRACK.PRECISION bf16 on cuda \(compute "
                          r"capability %d\.%d\): bfloat16 needs compute capability 8\.0" % capability):
            assert hardware.warn_if_emulated("bf16", "cuda", "TRACK.PRECISION")


def test_cuda_bf16_without_a_readable_gpu_is_not_native(monkeypatch):
    import torch

    def no_cuda(device=None):
        raise AssertionError("Torch not compiled with CUDA enabled")
    monkeypatch.setattr(torch.cuda, "get_device_capability", no_cuda)
    assert hardware.native_bf16("cuda") is False
