"""Integration contracts found missing in review: what pytracking's runners call on a tracker
object besides initialize/track, and the fused op's Python layer on unusual inputs."""
import numpy as np
import pytest
import torch

from rasnet_plugin import ops
from rasnet_plugin.integrations import pytracking as P

fused = pytest.mark.skipif(not ops.has_fused(), reason="compiled extension not built")


class _FakeTracker:
    """A RASNetTracker stand-in: init/track with the PySOT contract, counts its calls."""

    def __init__(self):
        self.inits, self.tracks = [], 0

    def init(self, img, box):
        assert img.ndim == 3 and img.shape[2] == 3
        self.inits.append(list(box))

    def track(self, img):
        self.tracks += 1
        x, y, w, h = self.inits[-1]
        return {"bbox": [x + self.tracks, y, w, h], "best_score": 0.5, "failed": False}


@pytest.fixture
def built(monkeypatch):
    import rasnet_plugin.api
    calls = []

    def fake_build(config, snapshot, device):
        calls.append((config, snapshot, device))
        return _FakeTracker()
    monkeypatch.setattr(rasnet_plugin.api, "build_tracker", fake_build)
    monkeypatch.setattr(P, "_IDLE", {})
    return calls


def _rgb(h=60, w=80):
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_pytracking_vot_runner_calls(built):
    """pytracking's run_vot.py / run_vot2020 call `tracker.initialize_features()`
    unconditionally and read `tracker.params.vot_anno_conversion_type` (its
    convert_vot_anno_to_rect takes "union" or "preserve_area") before initialize()."""
    pt = P.get_tracker_class()(P.parameters(config="c.yaml", device="cpu"))
    pt.visdom = None
    pt.initialize_features()                      # loads the network, before frame 0
    assert built == [("c.yaml", None, "cpu")]
    pt.initialize_features()                      # idempotent
    assert len(built) == 1
    assert pt.params.vot_anno_conversion_type in ("union", "preserve_area")
    image = _rgb()
    pt.initialize(image, {"init_bbox": [10.0, 12.0, 20.0, 16.0]})
    out = pt.track(image)                         # run_vot: no info dict
    assert out["target_bbox"] == [11.0, 12.0, 20.0, 16.0]
    assert len(built) == 1                        # the network of initialize_features()


class _Visdom:
    def __init__(self):
        self.calls = []

    def register(self, data, mode, debug_level=0, title="Data", **kwargs):
        self.calls.append((data, mode, debug_level, title))


def test_pytracking_visdom_drawing(built):
    """With `--debug 1` and a Visdom server, pytracking calls
    `tracker.visdom_draw_tracking(image, boxes, segmentation)` for every frame: a list of
    boxes from run_sequence, a single box from run_vot, a dict per object."""
    pt = P.get_tracker_class()(P.parameters())
    pt.visdom = _Visdom()
    image, box = _rgb(), [1.0, 2.0, 3.0, 4.0]
    other = [5.0, 6.0, 7.0, 8.0]
    pt.visdom_draw_tracking(image, [box], None)                 # _track_sequence
    pt.visdom_draw_tracking(image, box)                         # run_vot / run_vot2020
    pt.visdom_draw_tracking(image, [box, other], None)
    pt.visdom_draw_tracking(image, {1: box, 2: other}, None)
    mask = np.zeros(image.shape[:2], np.uint8)
    pt.visdom_draw_tracking(image, [box], mask)
    pt.visdom_draw_tracking(image, None)
    got = pt.visdom.calls
    assert all(c[1:] == ("Tracking", 1, "Tracking") for c in got)
    assert all(c[0][0] is image for c in got)
    assert [c[0][1:] for c in got[:2]] == [(box,), (box,)]
    assert got[2][0][1:] == (box, other) and got[3][0][1:] == (box, other)
    assert got[4][0][1] == box and got[4][0][2] is mask
    assert got[5][0] == (image,)
    assert not built                                           # drawing builds nothing


# ---------------------------------------------------------------- PySOT: head settings
def _trained_with(**rasnet):
    from rasnet_plugin.config import get_default_config
    from rasnet_plugin.models import build_model
    cfg = get_default_config()
    for k, v in rasnet.items():
        cfg.RASNET[k] = v
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        if model.general_attention is not None:
            model.general_attention.weight.add_(torch.randn(1, 1, 6, 6) * 0.5)
    return model, cfg


def test_pysot_convert_names_the_head_settings_pysot_needs(tmp_path, capsys, monkeypatch):
    """A checkpoint trained with the residual attention off and a sigmoid squash converts,
    but PySOT's cfg gets the RASNET defaults at registration: the converter prints the
    RASNET line the PySOT config needs, and with it the PySOT head matches the weights
    exactly (load_state_dict strict) and computes the plugin model's response."""
    import importlib
    import sys

    from test_pysot_plugin import write_fake_pysot

    from rasnet_plugin.integrations import pysot as plugin_pysot
    model, cfg = _trained_with(RESIDUAL_ATTENTION=False, SPATIAL_SQUASH="sigmoid", SE_REDUCTION=4)
    src, dst = tmp_path / "trained.pth", tmp_path / "pysot.pth"
    torch.save({"state_dict": model.state_dict(), "cfg": cfg.dump()}, src)
    assert plugin_pysot.main([str(src), str(dst)]) == 0
    out = capsys.readouterr().out
    line = [ln for ln in out.splitlines() if "RASNET: {" in ln]
    assert len(line) == 1, out
    snippet = line[0].split("config: ", 1)[1]
    assert snippet == "RASNET: {RESIDUAL_ATTENTION: false, SE_REDUCTION: 4, SPATIAL_SQUASH: sigmoid}"

    # the line, pasted into a PySOT config, builds the matching head
    monkeypatch.syspath_prepend(write_fake_pysot(tmp_path / "checkout"))
    for name in [m for m in sys.modules if m == "pysot" or m.startswith("pysot.")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    try:
        from pysot.core.config import cfg as pysot_cfg
        assert plugin_pysot.register_pysot()
        yaml = tmp_path / "config.yaml"
        yaml.write_text("BACKBONE: {TYPE: alexnetlegacy}\nADJUST: {ADJUST: false}\n"
                        "RPN: {TYPE: RASNetHead}\n%s\n" % snippet)
        pysot_cfg.merge_from_file(str(yaml))
        from pysot.models.model_builder import ModelBuilder
        pysot_model = ModelBuilder().eval()
        pysot_model.load_state_dict(torch.load(dst, weights_only=True), strict=True)
        g = torch.Generator().manual_seed(1)
        z, x = torch.rand(1, 3, 127, 127, generator=g) * 255, torch.rand(2, 3, 255, 255, generator=g) * 255
        with torch.no_grad():
            want = model(z.expand(2, -1, -1, -1), x)
            got = pysot_model.rpn_head(pysot_model.backbone(z).expand(2, -1, -1, -1),
                                       pysot_model.backbone(x))
        assert ((got - want).abs().max() / want.abs().max()).item() < 1e-4
    finally:
        for name in [m for m in sys.modules if m == "pysot" or m.startswith("pysot.")]:
            del sys.modules[name]


def test_pysot_convert_default_head_prints_no_settings(tmp_path, capsys):
    from rasnet_plugin.integrations import pysot as plugin_pysot
    model, cfg = _trained_with()
    src = tmp_path / "default.pth"
    torch.save({"state_dict": model.state_dict(), "cfg": cfg.dump()}, src)
    assert plugin_pysot.main([str(src), str(tmp_path / "o.pth")]) == 0
    assert "RASNET" not in capsys.readouterr().out
    # without a saved cfg the switches still come from the tensors
    model, _ = _trained_with(CHANNEL_ATTENTION=False)
    assert plugin_pysot.pysot_rasnet_settings(model.state_dict()) == {"CHANNEL_ATTENTION": False}


# ---------------------------------------------------------------- the op's Python layer
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("which", [1, 2, 3])
def test_op_names_an_argument_that_is_no_tensor(dtype, which):
    """A list or array where a tensor belongs: the same TypeError as the reference's (the
    argument named), on every route, not the dispatcher's RuntimeError dumping the value."""
    from rasnet_plugin.ops import attention_xcorr, attention_xcorr_reference
    args = [torch.rand(1, 4, 3, 3), torch.rand(2, 4, 7, 7), torch.rand(1, 1, 3, 3), torch.rand(1, 4)]
    args = [t.to(dtype) for t in args]
    name = ("z", "x", "spatial", "channel")[which]
    args[which] = args[which].tolist()
    for fn in (attention_xcorr, attention_xcorr_reference):
        with pytest.raises(TypeError, match=r"^attention_xcorr: %s must be a Tensor, got list$" % name):
            fn(*args)


@fused
def test_op_takes_expanded_views_and_inference_tensors():
    """Stride-0 views (the general map expanded to the batch, one template expanded to
    every crop) give the dense inputs' result and gradients; inference-mode tensors work
    outside inference mode; no_grad and inference_mode give the same values."""
    from rasnet_plugin.ops import attention_xcorr, attention_xcorr_reference
    g = torch.Generator().manual_seed(0)
    z, x = torch.randn(1, 8, 4, 4, generator=g), torch.randn(3, 8, 9, 9, generator=g)
    s, b = torch.rand(1, 1, 4, 4, generator=g) + 0.5, torch.rand(1, 8, generator=g)
    dense = [t.expand(3, *t.shape[1:]).contiguous() for t in (z, s, b)]
    want = attention_xcorr_reference(dense[0].double(), x.double(), dense[1].double(), dense[2].double())
    leaves = [t.clone().requires_grad_() for t in (z, s, b)]
    got = attention_xcorr(leaves[0].expand(3, -1, -1, -1), x, leaves[1].expand(3, -1, -1, -1),
                          leaves[2].expand(3, -1))
    assert ((got - want).abs().max() / want.abs().max()).item() < 1e-5
    got.sum().backward()
    ref = [t.double().requires_grad_() for t in (z, s, b)]
    attention_xcorr_reference(ref[0].expand(3, -1, -1, -1), x.double(), ref[1].expand(3, -1, -1, -1),
                              ref[2].expand(3, -1)).sum().backward()
    for a, r in zip(leaves, ref):
        assert ((a.grad - r.grad).abs().max() / r.grad.abs().max()).item() < 1e-5
    with torch.inference_mode():
        frozen = [t.clone() for t in dense]
        inside = attention_xcorr(frozen[0], x, frozen[1], frozen[2])
    with torch.no_grad():
        plain = attention_xcorr(dense[0], x, dense[1], dense[2])
    assert torch.equal(attention_xcorr(frozen[0], x, frozen[1], frozen[2]), inside)
    assert torch.equal(inside, plain)
