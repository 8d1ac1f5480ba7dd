"""Every CPU instruction-set build of the fused op's kernels (baseline, AVX2, AVX-512) is
correct, not only the widest one this machine picks: RASNET_CPU_ISA selects each in a
fresh process, which checks forward and all four gradients against float64."""
import json
import os
import subprocess
import sys

import pytest

from rasnet_plugin import hardware, ops

pytestmark = pytest.mark.skipif(not ops.has_fused(), reason="the compiled extension is not built")

_FLAGS = hardware.cpu_info()["flags"]
_RUNS = {"generic": True, "avx2": {"avx2", "fma"} <= _FLAGS,
         "avx512": {"avx512f", "avx512vl", "avx512bw", "avx512dq"} <= _FLAGS}

_CHECK = r"""
import json, torch
from rasnet_plugin import ops
from rasnet_plugin.ops import attention_xcorr, attention_xcorr_reference
torch.manual_seed(0)
worst = {"float32": 0.0, "float64": 0.0}
# channel counts around every vector width (4, 8, 16 float lanes) and ragged blocks
for bz, bx, c, h, w, hh, ww in [(1, 3, 256, 6, 6, 22, 22), (2, 2, 37, 3, 5, 9, 12),
                                (3, 3, 8, 4, 4, 11, 10), (1, 2, 19, 2, 7, 5, 16),
                                # a one-column map (its W stride may be anything), and a
                                # response row wider than one register tile (25 columns)
                                (2, 2, 5, 2, 1, 4, 1), (1, 1, 16, 3, 3, 6, 40)]:
    for layout in (torch.contiguous_format, torch.channels_last):
        for dtype in (torch.float32, torch.float64):
            z = torch.randn(bz, c, h, w, dtype=dtype)
            x = torch.randn(bx, c, hh, ww, dtype=dtype).contiguous(memory_format=layout)
            s = torch.rand(bz, 1, h, w, dtype=dtype) + 0.5
            b = torch.rand(bz, c, dtype=dtype)
            args = [t.requires_grad_() for t in (z, x, s, b)]
            ref = [t.detach().double().requires_grad_() for t in args]
            out, want = attention_xcorr(*args), attention_xcorr_reference(*ref)
            g = torch.randn_like(want)
            got = torch.autograd.grad(out, args, g.to(dtype))
            exp = torch.autograd.grad(want, ref, g)
            for a, r in [(out, want)] + list(zip(got, exp)):
                err = ((a.double() - r).abs().max() / r.abs().max().clamp_min(1e-12)).item()
                key = str(dtype).split(".")[1]
                worst[key] = max(worst[key], err)
print(json.dumps({"isa": ops.cpu_isa(), "worst": worst}))
"""


def _run(isa):
    env = dict(os.environ, RASNET_CPU_ISA=isa, OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", _CHECK], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.parametrize("isa", sorted(_RUNS))
def test_each_instruction_set_matches_float64(isa):
    if not _RUNS[isa]:
        pytest.skip("this CPU cannot run %s" % isa)
    res, _ = _run(isa)
    assert res["isa"] == isa
    assert res["worst"]["float64"] < 1e-12 and res["worst"]["float32"] < 1e-5, res


def test_a_set_the_cpu_lacks_is_never_chosen_and_a_typo_warns():
    widest = max((i for i in _RUNS if _RUNS[i]), key=["generic", "avx2", "avx512"].index)
    res, _ = _run("avx512")
    assert res["isa"] == widest
    res, err = _run("sse9")
    assert res["isa"] == widest
    assert "RASNET_CPU_ISA='sse9' is not one of generic, avx2, avx512" in err
