"""The fused attention_xcorr op: values, gradients, registration, layouts, errors."""
import os
import re
import subprocess
import sys
import textwrap

import pytest
import torch

from rasnet_plugin import ops
from rasnet_plugin.ops import attention_xcorr, attention_xcorr_reference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fused = pytest.mark.skipif(not ops.has_fused(), reason="compiled extension not built")
cuda = pytest.mark.skipif(not (ops.has_fused() and torch.cuda.is_available() and ops.has_cuda_kernels()),
                          reason="needs CUDA and the CUDA kernels")


def make(bz, bx, c, h, w, hh, ww, dtype=torch.float64, device="cpu", seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    tensors = (torch.randn(bz, c, h, w, generator=g), torch.randn(bx, c, hh, ww, generator=g),
               torch.rand(bz, 1, h, w, generator=g) + 0.5, torch.rand(bz, c, generator=g))
    return [t.to(device=device, dtype=dtype).requires_grad_(requires_grad) for t in tensors]


def naive(z, x, s, b):
    """The formula written out with explicit sums, in float64."""
    z, x, s, b = (t.detach().double().cpu() for t in (z, x, s, b))
    b = b.reshape(z.shape[0], z.shape[1])
    bx, _, hh, ww = x.shape
    h, w = z.shape[-2:]
    out = torch.zeros(bx, 1, hh - h + 1, ww - w + 1, dtype=torch.float64)
    for n in range(bx):
        m = 0 if z.shape[0] == 1 else n
        weighted = s[m, 0] * b[m][:, None, None] * z[m]
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                out[n, 0, i, j] = (weighted * x[n, :, i:i + h, j:j + w]).sum()
    return out


def rel_err(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


# ------------------------------------------------------------------ values
SHAPES = [  # (Bz, Bx, C, h, w, H, W): broadcast, odd sizes, batch 1..32
    (1, 1, 3, 2, 2, 4, 5),
    (1, 3, 17, 3, 5, 9, 8),
    (2, 2, 20, 6, 6, 22, 22),
    (1, 5, 33, 1, 1, 3, 7),
    (4, 4, 7, 5, 3, 5, 3),        # template as large as the search: 1x1 response
    (32, 32, 16, 6, 6, 10, 10),
    (1, 32, 40, 4, 4, 11, 13),
]


def test_reference_matches_explicit_sums():
    for shape in SHAPES[:4]:
        args = make(*shape)
        assert rel_err(attention_xcorr_reference(*args), naive(*args)) < 1e-12


@fused
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_fused_matches_float64_reference(shape, dtype, tol):
    args = make(*shape, dtype=dtype, seed=sum(shape))
    ref = attention_xcorr_reference(*[t.double() for t in args])
    out = attention_xcorr(*args)
    assert out.dtype == dtype and out.shape == ref.shape
    assert torch.isfinite(out).all()
    assert rel_err(out, ref) < tol


@fused
@pytest.mark.parametrize("seed", range(6))
def test_fused_random_shapes(seed):
    g = torch.Generator().manual_seed(100 + seed)
    r = lambda lo, hi: int(torch.randint(lo, hi + 1, (1,), generator=g))  # noqa: E731
    bx, c, h, w = r(1, 32), r(1, 70), r(1, 7), r(1, 7)
    bz = 1 if seed % 2 else bx
    args = make(bz, bx, c, h, w, h + r(0, 12), w + r(0, 12), dtype=torch.float32, seed=seed)
    ref = attention_xcorr_reference(*[t.double() for t in args])
    assert rel_err(attention_xcorr(*args), ref) < 1e-5


@fused
def test_channel_as_4d_and_every_output_written():
    z, x, s, b = make(3, 3, 19, 4, 4, 12, 9, dtype=torch.float32)
    out2 = attention_xcorr(z, x, s, b)
    out4 = attention_xcorr(z, x, s, b[:, :, None, None])
    assert torch.equal(out2, out4)
    # the output buffer is fresh memory: NaN-free output means every element was written
    for _ in range(3):
        torch.empty(10_000_000).fill_(float("nan"))
        assert torch.isfinite(attention_xcorr(z, x, s, b)).all()


@fused
@pytest.mark.parametrize("layout", ["channels_last", "transposed", "sliced"])
def test_non_contiguous_and_channels_last_inputs(layout):
    z, x, s, b = make(2, 2, 24, 5, 5, 13, 14, dtype=torch.float32, seed=3)
    ref = attention_xcorr_reference(z.double(), x.double(), s.double(), b.double())
    if layout == "channels_last":
        args = (z.contiguous(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last),
                s, b)
    elif layout == "transposed":  # H and W swapped twice: same values, odd strides
        args = (z.transpose(2, 3).contiguous().transpose(2, 3), x.transpose(2, 3).contiguous().transpose(2, 3),
                s.transpose(2, 3).contiguous().transpose(2, 3), b.t().contiguous().t())
    else:  # every other channel of a wider tensor
        wide = torch.zeros(2, 48, 13, 14)
        wide[:, ::2] = x
        args = (z, wide[:, ::2], s, b)
    assert not all(t.is_contiguous() for t in args)
    assert rel_err(attention_xcorr(*args), ref) < 1e-5


# ------------------------------------------------------------------ gradients
@fused
@pytest.mark.parametrize("bz,bx", [(3, 3), (1, 4)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gradcheck_all_inputs(bz, bx, channels_last):
    z, x, s, b = make(bz, bx, 5, 3, 2, 6, 5, requires_grad=True, seed=bz + bx)
    if channels_last:
        x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    assert torch.autograd.gradcheck(attention_xcorr, (z, x, s, b), eps=1e-6, atol=1e-7)


@fused
def test_gradcheck_channel_4d():
    z, x, s, b = make(2, 2, 4, 2, 3, 5, 6, requires_grad=True)
    b4 = b.detach().reshape(2, 4, 1, 1).requires_grad_()
    assert torch.autograd.gradcheck(attention_xcorr, (z, x, s, b4), eps=1e-6, atol=1e-7)


@fused
@pytest.mark.parametrize("shape", [(8, 8, 64, 6, 6, 22, 22), (1, 3, 70, 6, 6, 22, 22)])
def test_gradients_match_reference_at_model_size(shape):
    args = make(*shape, dtype=torch.float32, requires_grad=True, seed=7)
    ref_args = [t.detach().double().requires_grad_() for t in args]
    gout = torch.randn(shape[1], 1, 17, 17)
    got = torch.autograd.grad(attention_xcorr(*args), args, gout)
    ref = torch.autograd.grad(attention_xcorr_reference(*ref_args), ref_args, gout.double())
    for name, a, r in zip("zxsb", got, ref):
        assert a.shape == r.shape, name
        assert rel_err(a, r) < 1e-5, name


# ------------------------------------------------------------------ registration
@fused
@pytest.mark.parametrize("bz,bx", [(2, 2), (1, 3)])
def test_opcheck(bz, bx):
    # opcheck compares the fake kernel's strides with the real ones: every mix of layouts
    layouts = (torch.contiguous_format, torch.channels_last)
    for z_layout in layouts:
        for x_layout in layouts:
            z, x, s, b = make(bz, bx, 6, 3, 3, 7, 8, requires_grad=True)
            z = z.detach().contiguous(memory_format=z_layout).requires_grad_()
            x = x.detach().contiguous(memory_format=x_layout).requires_grad_()
            torch.library.opcheck(torch.ops.rasnet.attention_xcorr.default, (z, x, s, b))
            # the backward op on its own: its fake kernel's strides against the kernel's
            grad = torch.randn(bx, 1, 5, 6)
            torch.library.opcheck(torch.ops.rasnet._attention_xcorr_backward.default,
                                  (grad, z.detach(), x.detach(), s.detach(), b.detach()))


def _cropped_channels_last(t, margin=1):
    """A centre crop of a channels-last map with `margin` more cells a side: strides in
    channels-last order, yet dense in neither layout (the neck's template crop)."""
    bigger = torch.nn.functional.pad(t.detach(), (margin,) * 4).contiguous(memory_format=torch.channels_last)
    crop = bigger[:, :, margin:-margin, margin:-margin]
    assert not crop.is_contiguous() and not crop.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(crop, t.detach())
    return crop


def _backward_strides_match_fake(device, dtype):
    z, x, s, b = make(2, 2, 6, 3, 3, 7, 8, dtype=dtype, device=device, seed=5)
    z, x = _cropped_channels_last(z), _cropped_channels_last(x)
    grad = torch.randn(2, 1, 5, 6, device=device).to(dtype)
    torch.library.opcheck(torch.ops.rasnet._attention_xcorr_backward.default, (grad, z, x, s, b),
                          test_utils=("test_schema", "test_faketensor"))


@fused
def test_backward_strides_match_fake_for_cropped_maps():
    _backward_strides_match_fake("cpu", torch.float32)


@fused
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_grads_come_back_in_the_inputs_layouts(layout):
    """grad_z and grad_x follow z's and x's layouts (a channels-last model's autograd then
    copies neither), and stay correct."""
    z, x, s, b = make(2, 2, 40, 6, 6, 22, 22, dtype=torch.float64, requires_grad=True, seed=11)
    zl, xl = [t.detach().contiguous(memory_format=layout).requires_grad_() for t in (z, x)]
    out = attention_xcorr(zl, xl, s, b)
    g = torch.randn_like(out)
    gz, gx = torch.autograd.grad(out, (zl, xl), g)
    assert gz.is_contiguous(memory_format=layout) and gx.is_contiguous(memory_format=layout)
    rz, rx = torch.autograd.grad(attention_xcorr_reference(z, x, s, b), (z, x), g)
    assert rel_err(gz, rz) < 1e-12 and rel_err(gx, rx) < 1e-12


@fused
def test_torch_compile_fullgraph(monkeypatch):
    torch._dynamo.reset()
    # a cached graph from an older build would carry that build's output strides
    import torch._inductor.config as inductor_config
    monkeypatch.setattr(inductor_config, "fx_graph_cache", False)

    def head(z, x, s, b):
        return torch.sigmoid(attention_xcorr(z, x, s * 2.0, b)) + 1.0

    compiled = torch.compile(head, fullgraph=True)
    args = make(1, 3, 8, 3, 3, 9, 9, dtype=torch.float32, requires_grad=True)
    out = compiled(*args)
    assert torch.allclose(out, head(*args), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref_args = [t.detach().clone().requires_grad_() for t in args]
    head(*ref_args).sum().backward()
    for a, r in zip(args, ref_args):
        assert torch.allclose(a.grad, r.grad, rtol=1e-4, atol=1e-6)


@fused
def test_registered_as_torch_op():
    assert ops.has_fused()
    schema = str(torch.ops.rasnet.attention_xcorr.default._schema)
    assert "attention_xcorr(Tensor z, Tensor x, Tensor spatial, Tensor channel) -> Tensor" in schema
    assert hasattr(torch.ops.rasnet, "_attention_xcorr_backward")


def test_fused_is_required_where_asked():
    """CI sets RASNET_REQUIRE_FUSED=1: there a missing extension is a failure, not a skip."""
    if os.environ.get("RASNET_REQUIRE_FUSED") == "1":
        from rasnet_plugin import _extension
        assert ops.has_fused(), "the compiled extension did not load: %r" % (_extension.load_error(),)


# ------------------------------------------------------------------ bad input
def _bad_cases():
    """case: (args, exception, the problem as the op words it, the tensor it is about)."""
    ok = make(2, 2, 4, 3, 3, 8, 8, dtype=torch.float32)
    z, x, s, b = ok
    return {
        "rank": ((z[0], x, s, b), ValueError,
                 "z, x and spatial must be 4-D (N,C,H,W)", "z 4x3x3"),
        "channel-mismatch": ((z, x[:, :3], s, b), ValueError,
                             "channel mismatch between z and x", "x 2x3x8x8"),
        "batch": ((z, torch.cat([x, x[:1]]), s, b), ValueError,
                  "template batch must be 1 or equal the search batch", "x 3x4x8x8"),
        "template-larger": ((z, x[..., :2, :], s, b), ValueError,
                            "template larger than search", "x 2x4x2x8"),
        "spatial-shape": ((z, x, s[:, :, :2], b), ValueError,
                          "spatial must be (Bz,1,h,w) = (2,1,3,3)", "spatial 2x1x2x3"),
        "channel-shape": ((z, x, s, b[:, :3]), ValueError,
                          "channel must be (Bz,C) = (2,4)", "channel 2x3"),
        "channel-rank": ((z, x, s, b[:, :, None]), ValueError,
                         "channel must be (Bz,C) or (Bz,C,1,1)", "channel 2x4x1"),
        "empty": ((z[:, :0], x[:, :0], s, b[:, :0]), ValueError, "empty input", "z 2x0x3x3"),
        "dtype": ((z, x.double(), s, b), TypeError,
                  "all inputs must share one dtype", "x float64"),
        "integer": ((z.int(), x.int(), s.int(), b.int()), TypeError,
                    "inputs must be floating point", "int32"),
        "device": ((z.to("meta"), x, s, b), ValueError,
                   "all inputs must be on one device", "z meta"),
    }


_DTYPE_WORDS = {"Float": "float32", "Double": "float64", "Int": "int32"}


def _normalised(msg):
    """The C++ op writes shapes as [2, 4, 3, 3] and dtypes as Float, the reference as
    2x4x3x3 and torch.float32: bring both to the reference's spelling."""
    msg = re.sub(r"\[([0-9, ]*)\]", lambda m: "x".join(m.group(1).split(", ")), msg)
    msg = re.sub(r"\b(%s)\b" % "|".join(_DTYPE_WORDS), lambda m: _DTYPE_WORDS[m.group(1)], msg)
    return msg.replace("torch.", "")


def _described(args):
    """What every shape error ends with: each tensor named with its own shape."""
    return "; got " + ", ".join("%s %s" % (n, "x".join(map(str, t.shape)))
                                for n, t in zip(("z", "x", "spatial", "channel"), args))


@pytest.mark.parametrize("case", sorted(_bad_cases()))
@pytest.mark.parametrize("impl", ["op", "reference"])
def test_bad_input_names_the_shapes(case, impl):
    args, exc, problem, culprit = _bad_cases()[case]
    fn = attention_xcorr if impl == "op" else attention_xcorr_reference
    if impl == "op" and not ops.has_fused():
        pytest.skip("compiled extension not built")
    with pytest.raises(exc) as info:
        fn(*args)
    msg = _normalised(str(info.value).splitlines()[0])
    # the problem, in the op's words, right after the op's name
    assert msg.startswith("attention_xcorr: " + problem + "; got "), msg
    # the offending tensor with its own shape / dtype / device
    assert re.search(r"(^|[ ,])%s($|,)" % re.escape(culprit), msg.split("; got ", 1)[1]), msg
    if exc is ValueError and case != "device":
        assert msg.endswith(_described(args)), msg  # and every other tensor's shape
    elif case == "dtype":
        assert msg.endswith("; got z float32, x float64, spatial float32, channel float32"), msg
    elif case == "device":
        assert msg.endswith("; got z meta, x cpu, spatial cpu, channel cpu"), msg
    else:
        assert msg.endswith("; got int32"), msg


@fused
def test_cpu_half_is_rejected_clearly():
    args = make(1, 1, 4, 3, 3, 5, 5, dtype=torch.float16)
    with pytest.raises(TypeError, match="float32 or float64"):
        torch.ops.rasnet.attention_xcorr(*args)


# ------------------------------------------------------------------ fallback
def test_fallback_without_extension_warns_once_and_works():
    code = textwrap.dedent("""
        import sys, warnings, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "rasnet_plugin._C":
                    raise ImportError("blocked for the test")
        sys.meta_path.insert(0, Block())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import rasnet_plugin
            from rasnet_plugin import ops
            import rasnet_plugin.models
        msgs = [str(w.message) for w in caught if "fused" in str(w.message)]
        assert len(msgs) == 1, msgs
        assert "reference" in msgs[0]
        assert not ops.has_fused()
        import torch
        z, x, s, b = torch.randn(1, 4, 3, 3), torch.randn(2, 4, 7, 7), torch.ones(1, 1, 3, 3), torch.ones(1, 4)
        out = ops.attention_xcorr(z, x, s, b)
        assert out.shape == (2, 1, 5, 5)
        try:
            ops.attention_xcorr(z, x[:, :3], s, b)
        except ValueError as e:
            assert "channel mismatch" in str(e)
        else:
            raise AssertionError("no error")
        print("FALLBACK-OK")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "FALLBACK-OK" in res.stdout, res.stdout + res.stderr


# ------------------------------------------------------------------ CUDA
@cuda
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5),
                                       (torch.float16, 2e-3), (torch.bfloat16, 1e-2)])
@pytest.mark.parametrize("shape", [SHAPES[1], SHAPES[2], SHAPES[5], SHAPES[6]])
def test_cuda_matches_reference(shape, dtype, tol):
    args = make(*shape, dtype=dtype, device="cuda", seed=sum(shape))
    ref = attention_xcorr_reference(*[t.double().cpu() for t in args])
    out = attention_xcorr(*args)
    assert out.dtype == dtype and out.device.type == "cuda"
    assert rel_err(out, ref) < tol


@cuda
@pytest.mark.parametrize("bz,bx", [(3, 3), (1, 4)])
@pytest.mark.parametrize("layout", ["nchw", "channels_last", "channel_4d"])
def test_cuda_gradcheck(bz, bx, layout):
    z, x, s, b = make(bz, bx, 5, 3, 2, 6, 5, device="cuda", requires_grad=True, seed=bz + bx)
    if layout == "channels_last":  # every gradient, with x and z read through their strides
        z, x = [t.detach().contiguous(memory_format=torch.channels_last).requires_grad_() for t in (z, x)]
    elif layout == "channel_4d":
        b = b.detach().reshape(bz, 5, 1, 1).requires_grad_()
    assert torch.autograd.gradcheck(attention_xcorr, (z, x, s, b), eps=1e-6, atol=1e-7)


@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cuda_backward_strides_match_fake_for_cropped_maps(dtype):
    _backward_strides_match_fake("cuda", dtype)


@cuda
@pytest.mark.parametrize("bz,bx", [(2, 2), (1, 3)])
def test_cuda_channels_last_in_place_and_grad_layout(bz, bx):
    """Channels-last x is read through its strides; grad_x (and grad_z) come back in
    their input's layout, as the fake kernel promises (opcheck compares the strides)."""
    z, x, s, b = make(bz, bx, 6, 3, 3, 7, 8, device="cuda", requires_grad=True, seed=bz + bx)
    for layout in (torch.contiguous_format, torch.channels_last):
        xl = x.detach().contiguous(memory_format=layout).requires_grad_()
        zl = z.detach().contiguous(memory_format=layout).requires_grad_()
        torch.library.opcheck(torch.ops.rasnet.attention_xcorr.default, (z, xl, s, b))
        torch.library.opcheck(torch.ops.rasnet.attention_xcorr.default, (zl, xl, s, b))
        grad = torch.randn(bx, 1, 5, 6, device="cuda")
        torch.library.opcheck(torch.ops.rasnet._attention_xcorr_backward.default,
                              (grad, zl.detach(), xl.detach(), s.detach(), b.detach()))
        out = attention_xcorr(z, xl, s, b)
        ref = attention_xcorr_reference(*[t.detach().double() for t in (z, xl, s, b)])
        assert rel_err(out, ref) < 1e-10
        (gx,) = torch.autograd.grad(out, xl, torch.ones_like(out))
        assert gx.is_contiguous(memory_format=layout)
        (gref,) = torch.autograd.grad(attention_xcorr_reference(z, xl, s, b), xl, torch.ones_like(out))
        assert rel_err(gx, gref) < 1e-10


@cuda
@pytest.mark.parametrize("bz,bx", [(2, 2), (1, 3)])
def test_cuda_opcheck_and_half_grads(bz, bx):
    args = make(bz, bx, 6, 3, 3, 7, 8, device="cuda", requires_grad=True)
    torch.library.opcheck(torch.ops.rasnet.attention_xcorr.default, args)
    for dtype in (torch.float16, torch.bfloat16):
        half = [t.detach().to(dtype).requires_grad_() for t in args]
        ref = [t.detach().double().requires_grad_() for t in args]
        g = torch.randn(bx, 1, 5, 6, device="cuda")
        got = torch.autograd.grad(attention_xcorr(*half), half, g.to(dtype))
        want = torch.autograd.grad(attention_xcorr_reference(*ref), ref, g.double())
        for a, r in zip(got, want):
            assert rel_err(a, r) < 2e-2


# ------------------------------------------------------------------ routing
def _xcorr_module():
    import importlib
    return importlib.import_module("rasnet_plugin.ops.attention_xcorr")  # (the package
    # attribute of that name is the function)


class _Like:
    """What the routing reads of a tensor: a CUDA one can be described without a GPU."""

    def __init__(self, device, dtype=torch.float32):
        self.device, self.dtype = torch.device(device), dtype


@fused
def test_cuda_tensors_without_the_cuda_kernels_use_the_reference(monkeypatch):
    """An extension built without nvcc (a CUDA torch wheel, no toolkit) has CPU kernels
    only: CUDA inputs must not reach the op (NotImplementedError there), and one warning
    says why and how to rebuild."""
    import warnings
    mod = _xcorr_module()
    # without the CUDA kernels: the reference, one warning; with them: the op, no warning
    for kernels, want in ((False, "reference"), (True, "fused")):
        monkeypatch.setattr(mod, "_CUDA_KERNELS", kernels)
        monkeypatch.setattr(mod, "_warned_no_cuda_kernels", False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
                assert mod._route(_Like("cuda", dtype)) == want
            assert mod._route(_Like("cuda:1")) == want
            assert mod._route(_Like("cpu")) == "fused"          # the CPU kernels still run
        msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        if kernels:
            assert not caught
            continue
        assert len(msgs) == 1, msgs
        assert "built without its CUDA kernels" in msgs[0] and "reference" in msgs[0]
        assert "RASNET_WITH_CUDA=1" in msgs[0] and "pip install" in msgs[0]


@fused
def test_routing_by_device_and_dtype():
    mod = _xcorr_module()
    assert mod._route(_Like("cpu", torch.float32)) == "fused"
    assert mod._route(_Like("cpu", torch.float64)) == "fused"
    assert mod._route(_Like("cpu", torch.float16)) == "upcast"
    assert mod._route(_Like("cpu", torch.bfloat16)) == "upcast"
    assert mod._route(_Like("cpu", torch.int32)) == "fused"     # the op's own TypeError
    assert mod._route(_Like("meta", torch.float16)) == "fused"  # its fake kernel
    assert mod._route(_Like("mps")) == "reference"              # no kernels there
    assert mod._route([1, 2]) == "reference"                    # the check names it
    # the module's flag is what the extension says
    assert mod._CUDA_KERNELS == ops.has_cuda_kernels()


@fused
@pytest.mark.parametrize("dtype,tol", [(torch.float16, 2e-3), (torch.bfloat16, 1e-2)])
def test_cpu_16_bit_inputs_run_in_float32_with_gradients(dtype, tol):
    """CPU float16/bfloat16 (which the CPU kernels refuse) run the float32 kernels on
    upcast copies: the result in the inputs' dtype, gradients through the casts."""
    args = [t.to(dtype).requires_grad_() for t in make(2, 2, 20, 6, 6, 12, 12, dtype=torch.float32, seed=4)]
    out = attention_xcorr(*args)
    assert out.dtype == dtype and out.shape == (2, 1, 7, 7)
    exact = [t.detach().double().requires_grad_() for t in args]
    ref = attention_xcorr_reference(*exact)
    assert rel_err(out, ref) < tol
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(5))
    got = torch.autograd.grad(out, args, g.to(dtype))
    want = torch.autograd.grad(ref, exact, g.double())
    for a, r in zip(got, want):
        assert a.dtype == dtype
        assert rel_err(a, r) < 2 * tol
    # one template against many crops, channel as (Bz,C,1,1)
    z, x, s, b = [t.to(dtype) for t in make(1, 3, 5, 3, 3, 7, 8, dtype=torch.float32, seed=6)]
    out = attention_xcorr(z, x, s, b.reshape(1, 5, 1, 1))
    assert out.dtype == dtype and rel_err(out, naive(z, x, s, b)) < tol
    # a dtype mix is still an error, in the op's words (not silently cast to float32)
    with pytest.raises(TypeError, match="all inputs must share one dtype"):
        attention_xcorr(z, x.float(), s, b)


@fused
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_torch_compile_graph_keeps_the_registered_op(dtype):
    """Under torch.compile the routing is resolved at trace time: the graph still calls
    torch.ops.rasnet.attention_xcorr (float32 as is, bfloat16 through float32 casts)."""
    torch._dynamo.reset()
    targets = []

    def backend(gm, example_inputs):
        targets.extend(n.target for n in gm.graph.nodes if n.op == "call_function")
        return gm.forward

    compiled = torch.compile(attention_xcorr, backend=backend, fullgraph=True)
    args = make(1, 3, 8, 3, 3, 9, 9, dtype=dtype)
    out = compiled(*args)
    op = torch.ops.rasnet.attention_xcorr
    assert any(t is op or t is op.default for t in targets), targets
    assert out.dtype == dtype and torch.equal(out, attention_xcorr(*args))
    torch._dynamo.reset()
