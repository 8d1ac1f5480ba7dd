"""RASNet model: geometry, attentions, ablations, tracking cache, training."""
import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import rasnet_plugin.ops
from rasnet_plugin.config import REPO_ROOT, get_default_config, load_config
from rasnet_plugin.models import AlexNet, RASNet, build_model

PREFIXES = {"backbone", "general_attention", "residual_attention", "channel_attention", "adjust"}


def _cfg(**rasnet):
    cfg = get_default_config()
    for k, v in rasnet.items():
        cfg.RASNET[k] = v
    return cfg


def _model(cfg=None, seed=0):
    torch.manual_seed(seed)
    return build_model(cfg if cfg is not None else get_default_config())


def _images(n, size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 255  # BGR 0..255, not normalised


def _prefixes(model):
    return {name.split(".")[0] for name, _ in model.named_parameters()}


def _rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


# ---------------------------------------------------------------- backbone
def test_backbone_geometry_and_stages():
    net = AlexNet().eval()
    with torch.no_grad():
        assert net(_images(1, 127, 0)).shape == (1, 256, 6, 6)
        assert net(_images(1, 255, 1)).shape == (1, 256, 22, 22)
    assert AlexNet.feature_size(127) == 6 and AlexNet.feature_size(255) == 22
    # the stages are the names cfg.BACKBONE.TRAIN_LAYERS uses
    assert [n for n, _ in net.named_children()] == list(get_default_config().BACKBONE.TRAIN_LAYERS)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert [c.stride for c in convs] == [(2, 2)] + [(1, 1)] * 4
    # BN and ReLU after every conv but the last
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 4
    assert [type(m) for m in net.conv5] == [nn.Conv2d]
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


# ---------------------------------------------------------------- shapes
def test_forward_shape():
    model = _model()
    out = model(_images(2, 127, 0), _images(2, 255, 1))
    assert out.shape == (2, 1, 17, 17)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("scales", [3, 1])
def test_template_track_shapes(scales):
    model = _model().eval()
    with torch.no_grad():
        model.template(_images(1, 127, 0))
        assert model.zf.shape == (1, 256, 6, 6)
        assert model.spatial.shape == (1, 1, 6, 6) and model.channel.shape == (1, 256)
        out = model.track(_images(scales, 255, 1))
    assert out.shape == (scales, 1, 17, 17)


def test_attention_shapes():
    model = _model()
    zf = torch.randn(3, 256, 6, 6)
    spatial, channel = model.attentions(zf)
    assert spatial.shape == (3, 1, 6, 6) and channel.shape == (3, 256)
    assert spatial.is_contiguous() and channel.is_contiguous()
    # SE output is a sigmoid; the residual map starts small next to the general ones
    assert ((channel > 0) & (channel < 1)).all()
    assert (spatial - 1).abs().max() < 0.1
    # the hourglass goes down to 1x1 and back up to one 6x6 channel
    residual = model.residual_attention
    assert residual.encoder(zf).shape[-2:] == (1, 1)
    assert residual(zf).shape == (3, 1, 6, 6)


# ---------------------------------------------------------------- tracking cache
def test_track_equals_forward():
    model = _model().eval()
    z, x = _images(1, 127, 0), _images(3, 255, 1)
    with torch.no_grad():
        ref = model(z.repeat(3, 1, 1, 1), x)
        model.template(z)
        out = model.track(x)
    assert _rel_err(out, ref) < 1e-5


def test_multi_target_template_pairs_crops():
    model = _model().eval()
    z, x = _images(2, 127, 0), _images(2, 255, 1)
    with torch.no_grad():
        ref = model(z, x)
        model.template(z)
        out = model.track(x)
    assert _rel_err(out, ref) < 1e-5
    assert _rel_err(out[1], ref[0]) > 1e-3  # the pairing matters


def test_track_without_template_raises():
    model = _model()
    with pytest.raises(RuntimeError, match="template"):
        model.track(_images(1, 255, 0))


def test_track_reuses_template_and_broadcasts(monkeypatch):
    model = _model().eval()
    with torch.no_grad():
        model.template(_images(1, 127, 0))
    calls = []
    model.backbone.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))

    def no_attention(zf):
        raise AssertionError("attentions recomputed while tracking")
    monkeypatch.setattr(model, "attentions", no_attention)

    seen = []
    real_op = rasnet_plugin.ops.attention_xcorr

    def spy(z, x, spatial, channel):
        seen.append((z.shape[0], x.shape[0], [t.is_contiguous() for t in (z, x, spatial, channel)]))
        return real_op(z, x, spatial, channel)
    monkeypatch.setattr(rasnet_plugin.ops, "attention_xcorr", spy)

    with torch.no_grad():
        for _ in range(2):
            out = model.track(_images(3, 255, 1))
    assert out.shape == (3, 1, 17, 17) and not out.requires_grad
    assert calls == [3, 3]                         # one batched backbone call per frame
    assert seen == [(1, 3, [True] * 4)] * 2        # template broadcast (Bz=1), dense NCHW


def test_track_under_bf16_autocast_feeds_float32_op(monkeypatch):
    model = _model().eval()
    z, x = _images(1, 127, 0), _images(3, 255, 1)
    with torch.no_grad():
        model.template(z)
        ref = model.track(x)
    dtypes = []
    real_op = rasnet_plugin.ops.attention_xcorr

    def spy(*args):
        dtypes.append({t.dtype for t in args})
        return real_op(*args)
    monkeypatch.setattr(rasnet_plugin.ops, "attention_xcorr", spy)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model.template(z)
        out = model.track(x)
    assert dtypes == [{torch.float32}]
    # scores come back at full precision: bf16 would round them to steps of 8
    assert out.dtype == torch.float32 and out.shape == (3, 1, 17, 17)
    corr = torch.corrcoef(torch.stack([out.flatten(), ref.flatten()]))[0, 1]
    assert corr > 0.995


@pytest.mark.parametrize("device", ["cpu", "meta"])  # meta: any device but the CPU, e.g. CUDA
def test_the_correlation_runs_in_float32_for_16_bit_features_on_every_device(device):
    from rasnet_plugin.models.rasnet import _op_dtype
    for dtype, want in ((torch.bfloat16, torch.float32), (torch.float16, torch.float32),
                        (torch.float32, torch.float32), (torch.float64, torch.float64)):
        assert _op_dtype(torch.empty(2, 3, device=device, dtype=dtype)) == want


def test_template_cache_not_in_state_dict():
    model = _model().eval()
    with torch.no_grad():
        model.template(_images(1, 127, 0))
    keys = set(model.state_dict())
    assert not any(k.split(".")[0] in ("zf", "spatial", "channel") for k in keys)
    assert {k.split(".")[0] for k in keys} == PREFIXES


# ---------------------------------------------------------------- state_dict
def test_state_dict_round_trip():
    model = _model(seed=0).eval()
    state = model.state_dict()
    assert "general_attention.weight" in state
    fresh = _model(seed=1).eval()
    z, x = _images(1, 127, 0), _images(2, 255, 1)
    with torch.no_grad():
        ref = model(z.repeat(2, 1, 1, 1), x)
        assert not torch.allclose(fresh(z.repeat(2, 1, 1, 1), x), ref)
        fresh.load_state_dict(state)
        assert torch.equal(fresh(z.repeat(2, 1, 1, 1), x), ref)
        fresh.template(z)
        assert _rel_err(fresh.track(x), ref) < 1e-5


# ---------------------------------------------------------------- general attention
def test_general_attention_is_trained_parameter():
    model = _model()
    w = model.general_attention.weight
    assert isinstance(w, nn.Parameter) and w.shape == (1, 1, 6, 6)
    assert torch.all(w == 1)
    assert any(p is w for p in model.parameters())
    model(_images(2, 127, 0), _images(2, 255, 1)).square().mean().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    # moves (and casts) with the module
    model.double()
    assert model.general_attention.weight.dtype == torch.float64


# ---------------------------------------------------------------- ablations
@pytest.mark.parametrize("switch, prefix", [
    ("GENERAL_ATTENTION", "general_attention"),
    ("RESIDUAL_ATTENTION", "residual_attention"),
    ("CHANNEL_ATTENTION", "channel_attention"),
])
def test_each_ablation_switch(switch, prefix):
    full = _model()
    model = _model(_cfg(**{switch: False}))
    assert getattr(model, prefix) is None
    assert _prefixes(model) == PREFIXES - {prefix}
    removed = sum(p.numel() for p in getattr(full, prefix).parameters())
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in full.parameters()) - removed
    assert model(_images(1, 127, 0), _images(1, 255, 1)).shape == (1, 1, 17, 17)


def test_siamfc_config_is_plain_siamfc():
    cfg = load_config(os.path.join(REPO_ROOT, "experiments", "siamfc.yaml"))
    model = _model(cfg).eval()
    assert _prefixes(model) == {"backbone", "adjust"}
    spatial, channel = model.attentions(torch.randn(2, 256, 6, 6))
    assert torch.all(spatial == 1) and torch.all(channel == 1)
    with torch.no_grad():
        model.template(_images(1, 127, 0))
        assert model.track(_images(3, 255, 1)).shape == (3, 1, 17, 17)


def test_rasnet_config_writes_out_the_defaults():
    cfg = load_config(os.path.join(REPO_ROOT, "experiments", "rasnet.yaml"))
    default = get_default_config()
    assert cfg.RASNET == default.RASNET and cfg.BACKBONE == default.BACKBONE
    # the one deliberate difference: the paper's config takes the int8 trunk where it pays
    assert cfg.TRACK.QUANTIZE == "auto" and default.TRACK.QUANTIZE == "none"
    default.TRACK.QUANTIZE = "auto"
    assert cfg.TRACK == default.TRACK
    assert cfg.RASNET.GENERAL_ATTENTION and cfg.RASNET.RESIDUAL_ATTENTION and cfg.RASNET.CHANNEL_ATTENTION
    assert _prefixes(_model(cfg)) == PREFIXES


@pytest.mark.parametrize("reduction, hidden", [(16, 16), (4, 64)])
def test_se_reduction_sets_fc_widths(reduction, hidden):
    fc = _model(_cfg(SE_REDUCTION=reduction)).channel_attention.fc
    linears = [m for m in fc if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(256, hidden), (hidden, 256)]


def test_bad_se_reduction_raises():
    with pytest.raises(ValueError, match="RASNET.SE_REDUCTION"):
        build_model(_cfg(SE_REDUCTION=0))


def test_sigmoid_squash():
    plain = _model(_cfg(SPATIAL_SQUASH="none"))
    squashed = _model(_cfg(SPATIAL_SQUASH="sigmoid"))
    squashed.load_state_dict(plain.state_dict())
    zf = torch.randn(2, 256, 6, 6) * 10
    with torch.no_grad():
        squashed.general_attention.weight.normal_(0, 5)  # a spread of values
        plain.general_attention.weight.copy_(squashed.general_attention.weight)
        s, _ = squashed.attentions(zf)
        p, _ = plain.attentions(zf)
    assert ((s > 0) & (s < 1)).all()
    assert p.min() < 0 and p.max() > 1  # the unsquashed map does leave (0, 1)
    assert torch.allclose(s, torch.sigmoid(p))


def test_bad_spatial_squash_raises():
    with pytest.raises(ValueError, match=r"RASNET\.SPATIAL_SQUASH.*tanh"):
        build_model(_cfg(SPATIAL_SQUASH="tanh"))
    with pytest.raises(ValueError, match=r"RASNET\.SPATIAL_SQUASH"):
        RASNet(AlexNet(), spatial_squash="relu")


def test_bad_backbone_type_raises():
    cfg = get_default_config()
    cfg.BACKBONE.TYPE = "resnet50"
    with pytest.raises(ValueError, match=r"BACKBONE\.TYPE.*resnet50"):
        build_model(cfg)


def test_exemplar_size_sets_general_map_and_guards_hourglass():
    cfg = _cfg(RESIDUAL_ATTENTION=False)
    cfg.TRACK.EXEMPLAR_SIZE = 135  # 7x7 template features
    model = _model(cfg)
    assert model.general_attention.weight.shape == (1, 1, 7, 7)
    assert model(_images(1, 135, 0), _images(1, 255, 1)).shape == (1, 1, 16, 16)
    cfg.RASNET.RESIDUAL_ATTENTION = True     # the hourglass fits any size from 5x5 on
    model = _model(cfg)
    assert model.residual_attention(torch.zeros(1, 256, 7, 7)).shape == (1, 1, 7, 7)
    assert model(_images(1, 135, 0), _images(1, 255, 1)).shape == (1, 1, 16, 16)
    cfg.TRACK.EXEMPLAR_SIZE = 111  # 4x4 template features: too small for the hourglass
    with pytest.raises(ValueError, match=r"TRACK\.EXEMPLAR_SIZE 111.*at least 5x5"):
        build_model(cfg)


def test_adjust_init():
    adjust = _model().adjust
    assert adjust.weight.shape == (1, 1, 1, 1)
    assert adjust.weight.item() == pytest.approx(1e-3) and adjust.bias.item() == 0
    cfg = get_default_config()
    cfg.RASNET.ADJUST_GAIN_INIT = 0.25
    assert _model(cfg).adjust.weight.item() == pytest.approx(0.25)


# ---------------------------------------------------------------- learning
def _logistic_loss(response, radius_cells=2):
    """SiamFC's class-balanced logistic loss: positives near the centre."""
    n = response.shape[-1]
    r = torch.arange(n, dtype=torch.float32) - (n - 1) / 2
    dist = (r[:, None] ** 2 + r[None, :] ** 2).sqrt()
    label = (dist <= radius_cells).float().expand_as(response)
    pos = label.sum() / label.numel()
    weight = torch.where(label > 0, 0.5 / pos, 0.5 / (1 - pos)) / label.numel()
    return F.binary_cross_entropy_with_logits(response, label, weight, reduction="sum")


def test_training_step_decreases_loss():
    model = _model().train()
    x = _images(2, 255, 0)
    z = x[:, :, 64:191, 64:191].clone()  # the target sits at the centre of the search image
    # The adjust gain starts at 1e-3 and its gradient is the raw correlation
    # (~1e3 times the others): at SiamFC's lr 1e-2 one step sends it to ~-3 and
    # training diverges.  Scale its lr by gain**2 so its relative steps match.
    gain = model.adjust.weight
    rest = [p for p in model.parameters() if p is not gain]
    opt = torch.optim.SGD([{"params": rest}, {"params": [gain], "lr": 1e-2 * 1e-6}],
                          lr=1e-2, momentum=0.9)
    losses = []
    for _ in range(6):
        loss = _logistic_loss(model(z, x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
    # every attention was trained
    for name in ("general_attention", "residual_attention", "channel_attention"):
        before = getattr(_model(), name).state_dict()
        after = getattr(model, name).state_dict()
        assert any(not torch.equal(before[k], after[k]) for k in before), name
    assert model.adjust.weight.item() != 1e-3 and model.adjust.bias.item() != 0


def test_adjust_gain_at_siamfc_lr_diverges():
    # Documents why the trainer needs a small lr on adjust.weight (see above):
    # plain SGD at lr 1e-2 moves the gain by orders of magnitude in one step.
    model = _model().train()
    x = _images(2, 255, 0)
    z = x[:, :, 64:191, 64:191].clone()
    _logistic_loss(model(z, x)).backward()
    step = 1e-2 * model.adjust.weight.grad.abs().item()
    assert step > 100 * model.adjust.weight.item()


# ---------------------------------------------------------------- config checks
@pytest.mark.parametrize("rasnet", [{"RESIDUAL_ATTENTION": False},
                                    {"GENERAL_ATTENTION": False, "RESIDUAL_ATTENTION": False,
                                     "CHANNEL_ATTENTION": False}])
def test_exemplar_size_too_small_for_the_trunk_names_the_size_it_needs(rasnet):
    cfg = _cfg(**rasnet)
    cfg.TRACK.EXEMPLAR_SIZE = 63  # AlexNet: -2x-2 template features
    with pytest.raises(ValueError, match=r"TRACK\.EXEMPLAR_SIZE 63 gives -2x-2 template features "
                                         r"with the alexnet trunk; it needs TRACK\.EXEMPLAR_SIZE >= 87"):
        build_model(cfg)
    cfg.TRACK.EXEMPLAR_SIZE = 86  # 0x0
    with pytest.raises(ValueError, match=r"EXEMPLAR_SIZE 86 gives 0x0 .*>= 87"):
        build_model(cfg)
    cfg.TRACK.EXEMPLAR_SIZE = 87  # the smallest that works: 1x1
    model = _model(cfg)
    assert model(_images(1, 87, 0), _images(1, 255, 1)).shape == (1, 1, 22, 22)


def test_residual_attention_too_small_names_the_exemplar_size_it_needs():
    cfg = get_default_config()
    cfg.TRACK.EXEMPLAR_SIZE = 118  # 4x4
    with pytest.raises(ValueError, match=r"EXEMPLAR_SIZE 118 gives 4x4 .*at least 5x5 "
                                         r"\(TRACK\.EXEMPLAR_SIZE >= 119 with the alexnet trunk\)"):
        build_model(cfg)
    cfg.TRACK.EXEMPLAR_SIZE = 119
    assert _model(cfg).residual_attention.size == 5
    # a template crop that leaves too little is named as such
    cfg.TRACK.EXEMPLAR_SIZE = 127
    cfg.ADJUST.ADJUST, cfg.ADJUST.TEMPLATE_CROP = True, 4
    with pytest.raises(ValueError, match=r"ADJUST\.TEMPLATE_CROP 4 leaves 4x4 template features "
                                         r"\(of the 6x6 that TRACK\.EXEMPLAR_SIZE 127 gives\)"):
        build_model(cfg)


@pytest.mark.parametrize("key, value", [("TEMPLATE_CROP", 4), ("ZERO_MEAN", True),
                                        ("OUT_CHANNELS", 128)])
def test_neck_settings_without_the_neck_are_refused(key, value):
    cfg = _cfg(RESIDUAL_ATTENTION=False)  # (a 4x4 crop is too small for the hourglass)
    assert not cfg.ADJUST.ADJUST
    cfg.ADJUST[key] = value
    with pytest.raises(ValueError, match=r"ADJUST\.%s %r: no effect while ADJUST\.ADJUST is false"
                                         % (key, value)):
        build_model(cfg)
    cfg.ADJUST.ADJUST = True  # with the neck the same setting is used
    model = _model(cfg)
    assert model.neck is not None
    assert (model.neck.template_crop, model.neck.zero_mean, model.neck.conv is not None) == \
        (4 if key == "TEMPLATE_CROP" else 0, key == "ZERO_MEAN", key == "OUT_CHANNELS")


def test_neck_settings_refusal_names_every_ignored_key():
    cfg = get_default_config()
    cfg.ADJUST.TEMPLATE_CROP, cfg.ADJUST.ZERO_MEAN = 4, True
    with pytest.raises(ValueError, match=r"ADJUST\.TEMPLATE_CROP 4, ADJUST\.ZERO_MEAN True: no effect"):
        build_model(cfg)


def test_every_bundled_config_builds():
    """The checks above refuse no shipped config."""
    from rasnet_plugin.config import bundled_configs
    names = bundled_configs()
    assert "rasnet" in names and "offline/rasnet_mobilenetv2" in names
    for name in names:
        build_model(load_config(name))
