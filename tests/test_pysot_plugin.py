"""PySOT registration and checkpoint conversion, against a stand-in `pysot` package.

The stand-in is written to tmp_path with PySOT's module paths and registry shapes:
a strict yacs `cfg` (pysot/core/config.py), `TRACKS` + `build_tracker(model)`
(pysot/tracker/tracker_builder.py), `RPNS` (pysot/models/head), `BACKBONES` with an
AlexNetLegacy laid out as PySOT's (conv, BN, max-pool, ReLU; BN after conv5 too), and a
`ModelBuilder()` that builds backbone (+ optional neck) and rpn_head from the registries.
"""
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from rasnet_plugin import pysot_plugin
from rasnet_plugin.config import REPO_ROOT, get_default_config
from rasnet_plugin.models import build_model
from rasnet_plugin.pysot_plugin import (RASNetHead, convert_checkpoint_to_pysot,
                                        register_pysot)

FAKE_PYSOT = {
    "pysot/__init__.py": "",
    "pysot/core/__init__.py": "",
    "pysot/core/config.py": """
        from yacs.config import CfgNode as CN

        __C = CN()
        cfg = __C
        __C.META_ARC = "siamrpn_r50_l234_dwxcorr"
        __C.CUDA = True
        __C.TRAIN = CN()
        __C.TRAIN.EPOCH = 20
        __C.TRAIN.BATCH_SIZE = 32
        __C.TRAIN.BASE_LR = 0.005
        __C.BACKBONE = CN()
        __C.BACKBONE.TYPE = "res50"
        __C.BACKBONE.KWARGS = CN(new_allowed=True)
        __C.BACKBONE.PRETRAINED = ""
        __C.BACKBONE.TRAIN_LAYERS = ["layer2", "layer3", "layer4"]
        __C.ADJUST = CN()
        __C.ADJUST.ADJUST = True
        __C.ADJUST.KWARGS = CN(new_allowed=True)
        __C.ADJUST.TYPE = "AdjustAllLayer"
        __C.RPN = CN()
        __C.RPN.TYPE = "MultiRPN"
        __C.RPN.KWARGS = CN(new_allowed=True)
        __C.MASK = CN()
        __C.MASK.MASK = False
        __C.TRACK = CN()
        __C.TRACK.TYPE = "SiamRPNTracker"
        __C.TRACK.PENALTY_K = 0.04
        __C.TRACK.WINDOW_INFLUENCE = 0.44
        __C.TRACK.LR = 0.4
        __C.TRACK.EXEMPLAR_SIZE = 127
        __C.TRACK.INSTANCE_SIZE = 255
        __C.TRACK.BASE_SIZE = 8
        __C.TRACK.CONTEXT_AMOUNT = 0.5
    """,
    "pysot/tracker/__init__.py": "",
    "pysot/tracker/tracker_builder.py": """
        from pysot.core.config import cfg

        TRACKS = {}


        def build_tracker(model):
            return TRACKS[cfg.TRACK.TYPE](model)
    """,
    "pysot/models/__init__.py": "",
    "pysot/models/head/__init__.py": """
        RPNS = {}


        def get_rpn_head(name, **kwargs):
            return RPNS[name](**kwargs)
    """,
    "pysot/models/neck/__init__.py": """
        import torch.nn as nn

        NECKS = {"AdjustAllLayer": lambda **kw: nn.Identity()}


        def get_neck(name, **kwargs):
            return NECKS[name](**kwargs)
    """,
    "pysot/models/backbone/__init__.py": """
        import torch.nn as nn


        class AlexNetLegacy(nn.Module):
            # PySOT's layer layout: features.0 conv1, .1 BN, .2 pool, .3 ReLU, .4 conv2,
            # .5 BN, .6 pool, .7 ReLU, .8 conv3, .9 BN, .10 ReLU, .11 conv4, .12 BN,
            # .13 ReLU, .14 conv5, .15 BN; all convolutions dense
            configs = [3, 96, 256, 384, 384, 256]

            def __init__(self, width_mult=1):
                super().__init__()
                c = [3] + [int(x * width_mult) for x in self.configs[1:]]
                self.features = nn.Sequential(
                    nn.Conv2d(c[0], c[1], 11, 2), nn.BatchNorm2d(c[1]), nn.MaxPool2d(3, 2),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(c[1], c[2], 5), nn.BatchNorm2d(c[2]), nn.MaxPool2d(3, 2),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(c[2], c[3], 3), nn.BatchNorm2d(c[3]), nn.ReLU(inplace=True),
                    nn.Conv2d(c[3], c[4], 3), nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True),
                    nn.Conv2d(c[4], c[5], 3), nn.BatchNorm2d(c[5]))
                self.feature_size = c[5]

            def forward(self, x):
                return self.features(x)


        def alexnetlegacy(**kwargs):
            return AlexNetLegacy(**kwargs)


        BACKBONES = {"alexnetlegacy": alexnetlegacy}


        def get_backbone(name, **kwargs):
            return BACKBONES[name](**kwargs)
    """,
    "pysot/models/model_builder.py": """
        import torch.nn as nn

        from pysot.core.config import cfg
        from pysot.models.backbone import get_backbone
        from pysot.models.head import get_rpn_head
        from pysot.models.neck import get_neck


        class ModelBuilder(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = get_backbone(cfg.BACKBONE.TYPE, **cfg.BACKBONE.KWARGS)
                if cfg.ADJUST.ADJUST:
                    self.neck = get_neck(cfg.ADJUST.TYPE, **cfg.ADJUST.KWARGS)
                self.rpn_head = get_rpn_head(cfg.RPN.TYPE, **cfg.RPN.KWARGS)

            def template(self, z):
                zf = self.backbone(z)
                if cfg.ADJUST.ADJUST:
                    zf = self.neck(zf)
                self.zf = zf

            def track(self, x):
                xf = self.backbone(x)
                if cfg.ADJUST.ADJUST:
                    xf = self.neck(xf)
                cls, loc = self.rpn_head(self.zf, xf)   # PySOT's two-output heads
                return {"cls": cls, "loc": loc, "mask": None}
    """,
}

RASNET_PYSOT_YAML = """
META_ARC: rasnet
BACKBONE:
  TYPE: alexnetlegacy
ADJUST:
  ADJUST: false
RPN:
  TYPE: RASNetHead
RASNET:
  SE_REDUCTION: 16
TRACK:
  TYPE: RASNetTracker
  WINDOW_INFLUENCE: 0.176
  LR: 0.59
  SCALE_NUM: 3
  SCALE_STEP: 1.0375
  SCALE_PENALTY: 0.9745
  RESPONSE_UP: 16
  TOTAL_STRIDE: 8
  PRECISION: fp32
"""


def write_fake_pysot(root):
    for rel, text in FAKE_PYSOT.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip())
    return str(root)


def _drop_pysot_modules():
    for name in [m for m in sys.modules if m == "pysot" or m.startswith("pysot.")]:
        del sys.modules[name]


@pytest.fixture
def fake_pysot(tmp_path, monkeypatch):
    root = write_fake_pysot(tmp_path / "checkout")
    monkeypatch.syspath_prepend(root)
    _drop_pysot_modules()
    importlib.invalidate_caches()
    yield root
    _drop_pysot_modules()


def _frames(n=4, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (160, 200, 3), dtype=np.uint8)
    return [np.roll(base, (i, 2 * i), axis=(0, 1)) for i in range(n)]


def _plugin_model(seed=0):
    """An untrained plugin RASNet with non-trivial BatchNorm statistics (so that the
    conversion of every BN is actually checked)."""
    torch.manual_seed(seed)
    model = build_model(get_default_config())
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 50)
            m.running_var.copy_(torch.rand(n, generator=g) * 1e4 + 100)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g))
    with torch.no_grad():
        model.general_attention.weight.add_(torch.randn(1, 1, 6, 6, generator=g) * 0.1)
        model.adjust.bias.fill_(0.3)
    return model.eval()


# ---------------------------------------------------------------- without PySOT

def test_register_without_pysot_touches_nothing():
    if importlib.util.find_spec("pysot") is not None:
        pytest.skip("a `pysot` package is importable here")
    before = set(sys.modules)
    assert register_pysot() is False
    assert not any(m == "pysot" or m.startswith("pysot.") for m in set(sys.modules) - before)


# ---------------------------------------------------------------- with the stand-in

def test_registration_adds_keys_without_overwriting(fake_pysot, tmp_path):
    from pysot.core.config import cfg
    cfg.TRACK.CONTEXT_AMOUNT = 0.6          # a user's value, set before registration
    assert "SCALE_NUM" not in cfg.TRACK and "RASNET" not in cfg
    assert register_pysot() is True
    # PySOT's own keys keep their values, even where the plugin's defaults differ
    assert cfg.TRACK.WINDOW_INFLUENCE == 0.44 and cfg.TRACK.LR == 0.4
    assert cfg.TRACK.CONTEXT_AMOUNT == 0.6 and cfg.TRACK.TYPE == "SiamRPNTracker"
    assert cfg.BACKBONE.TYPE == "res50" and cfg.TRAIN.BATCH_SIZE == 32
    # missing keys are added with the plugin's defaults
    assert cfg.TRACK.SCALE_NUM == 3 and cfg.TRACK.SCALE_STEP == 1.0375
    assert cfg.TRACK.RESPONSE_UP == 16 and cfg.TRACK.PRECISION == "auto"
    assert cfg.RASNET.SE_REDUCTION == 16 and cfg.RASNET.SPATIAL_SQUASH == "none"
    assert "TRACK.SCALE_NUM" in pysot_plugin.ADDED_KEYS and "RASNET" in pysot_plugin.ADDED_KEYS
    assert "TRACK.LR" not in pysot_plugin.ADDED_KEYS
    from pysot.models.head import RPNS
    from pysot.tracker.tracker_builder import TRACKS
    assert RPNS["RASNetHead"] is RASNetHead
    assert TRACKS["RASNetTracker"] is pysot_plugin.PySOTRASNetTracker
    # idempotent: a second call adds nothing and changes nothing
    assert register_pysot() is True and pysot_plugin.ADDED_KEYS == []
    # the strict node now accepts a RASNet config
    yaml = tmp_path / "rasnet_pysot.yaml"
    yaml.write_text(RASNET_PYSOT_YAML.replace("SE_REDUCTION: 16", "SE_REDUCTION: 4"))
    cfg.merge_from_file(str(yaml))
    assert cfg.RASNET.SE_REDUCTION == 4 and cfg.TRACK.WINDOW_INFLUENCE == 0.176
    with pytest.raises(KeyError):  # still strict for misspelt keys
        cfg.merge_from_other_cfg(type(cfg)({"TRACK": {"SCALE_NUMM": 3}}))


def _setup_rasnet_cfg(tmp_path):
    from pysot.core.config import cfg
    assert register_pysot()
    yaml = tmp_path / "rasnet_pysot.yaml"
    yaml.write_text(RASNET_PYSOT_YAML)
    cfg.merge_from_file(str(yaml))
    cfg.CUDA = False
    return cfg


def test_pysot_build_tracker_tracks(fake_pysot, tmp_path):
    _setup_rasnet_cfg(tmp_path)
    from pysot.models.model_builder import ModelBuilder
    from pysot.tracker.tracker_builder import build_tracker
    torch.manual_seed(0)
    model = ModelBuilder()
    assert isinstance(model.rpn_head, RASNetHead)
    tracker = build_tracker(model)
    assert isinstance(tracker, pysot_plugin.PySOTRASNetTracker)
    assert tracker.window_influence == 0.176 and tracker.scale_num == 3
    frames = _frames()
    tracker.init(frames[0], [60, 50, 40, 30])
    for f in frames[1:]:
        out = tracker.track(f)
        assert len(out["bbox"]) == 4 and isinstance(out["best_score"], float)
        assert all(np.isfinite(out["bbox"])) and out["bbox"][2] > 0


def test_pysot_tracker_needs_rasnet_head(fake_pysot, tmp_path):
    cfg = _setup_rasnet_cfg(tmp_path)
    from pysot.models.head import RPNS
    from pysot.models.model_builder import ModelBuilder
    RPNS["Other"] = lambda **kw: torch.nn.Identity()
    cfg.RPN.TYPE = "Other"
    with pytest.raises(ValueError, match="RASNetHead"):
        pysot_plugin.PySOTRASNetTracker(ModelBuilder())


def test_converted_checkpoint_gives_the_same_response(fake_pysot, tmp_path):
    _setup_rasnet_cfg(tmp_path)
    from pysot.models.model_builder import ModelBuilder
    from pysot.tracker.tracker_builder import build_tracker
    plugin = _plugin_model()
    wrapped = {"state_dict": {"module." + k: v for k, v in plugin.state_dict().items()}}
    converted = convert_checkpoint_to_pysot(wrapped)
    model = ModelBuilder()
    model.load_state_dict(converted, strict=True)
    model.eval()

    # grouped conv2 became block diagonal: the off-diagonal blocks are zero
    w = converted["backbone.features.4.weight"]
    assert tuple(w.shape) == (256, 96, 5, 5)
    assert w[:128, 48:].abs().sum() == 0 and w[128:, :48].abs().sum() == 0
    assert torch.equal(w[:128, :48], plugin.backbone.conv2[0].weight[:128])

    g = torch.Generator().manual_seed(3)
    z = torch.rand(1, 3, 127, 127, generator=g) * 255
    x = torch.rand(3, 3, 255, 255, generator=g) * 255
    with torch.no_grad():
        ref = plugin(z.expand(3, -1, -1, -1), x)
        zf, xf = model.backbone(z), model.backbone(x)
        assert torch.allclose(zf, plugin.backbone(z), rtol=1e-4, atol=1e-4 * zf.abs().max())
        got = model.rpn_head(zf.expand(3, -1, -1, -1), xf)
    assert got.shape == ref.shape == (3, 1, 17, 17)
    rel = ((got - ref).abs().max() / ref.abs().max()).item()
    assert rel < 1e-4, rel

    # and the two trackers agree frame by frame
    from rasnet_plugin.tracker import RASNetTracker
    pysot_tracker = build_tracker(model)
    mine = get_default_config()
    mine.TRACK.PRECISION = "fp32"          # as the PySOT config above says
    ours = RASNetTracker(plugin, mine, device="cpu")
    # same arithmetic on both sides: our tracker would otherwise fold BatchNorm into
    # the convs (a rounding-level change that can flip the argmax of a flat,
    # untrained response); the folded path is checked in test_speed_paths.py
    plugin.prepare_inference = plugin.release_inference
    frames = _frames(seed=1)
    for t in (pysot_tracker, ours):
        t.init(frames[0], [70, 60, 36, 44])
    for f in frames[1:]:
        a, b = pysot_tracker.track(f), ours.track(f)
        np.testing.assert_allclose(a["bbox"], b["bbox"], atol=1e-3)
        assert a["best_score"] == pytest.approx(b["best_score"], rel=1e-4)


def test_convert_rejects_foreign_checkpoints():
    with pytest.raises(ValueError, match="not a RASNet checkpoint"):
        convert_checkpoint_to_pysot({"backbone.features.0.weight": torch.zeros(96, 3, 11, 11)})
    sd = dict(_plugin_model().state_dict(), stray=torch.zeros(1))
    with pytest.raises(ValueError, match="stray"):
        convert_checkpoint_to_pysot(sd)


def test_import_registers_when_pysot_importable(tmp_path):
    root = write_fake_pysot(tmp_path / "checkout")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO_ROOT, root]))
    code = ("import rasnet_plugin\n"
            "from pysot.core.config import cfg\n"
            "from pysot.tracker.tracker_builder import TRACKS\n"
            "from pysot.models.head import RPNS\n"
            "print('RASNetTracker' in TRACKS, 'RASNetHead' in RPNS, cfg.TRACK.SCALE_NUM)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "3"]


# ---------------------------------------------------------------- head arguments
def test_head_builds_both_spatial_attentions_for_feature_size():
    """RPN.KWARGS feature_size (another trunk, a cropped template) sizes the residual
    attention too, not only the general map."""
    torch.manual_seed(0)
    head = RASNetHead(in_channels=16, feature_size=8, se_reduction=4).eval()
    assert head.general_attention.weight.shape == (1, 1, 8, 8)
    assert head.residual_attention.size == 8
    g = torch.Generator().manual_seed(1)
    z, x = torch.randn(1, 16, 8, 8, generator=g), torch.randn(2, 16, 24, 24, generator=g)
    with torch.no_grad():
        out = head(z.expand(2, -1, -1, -1), x)
        assert out.shape == (2, 1, 17, 17) and torch.isfinite(out).all()
        head.template(z)
        assert torch.allclose(head.track(x), out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, key", [
    ({"se_reduction": 0}, "RPN.KWARGS.se_reduction"),
    ({"se_reduction": 300}, "RPN.KWARGS.se_reduction"),
    ({"feature_size": 4}, "RPN.KWARGS.feature_size"),
    ({"feature_size": 0, "residual_attention": False}, "RPN.KWARGS.feature_size"),
    ({"in_channels": 0}, "RPN.KWARGS.in_channels"),
    ({"spatial_squash": "tanh"}, "RPN.KWARGS.spatial_squash"),
])
def test_head_arguments_are_checked(kwargs, key):
    with pytest.raises(ValueError, match=r"^RASNetHead: %s " % re.escape(key)):
        RASNetHead(**kwargs)


def test_head_arguments_that_do_not_apply_are_not_checked():
    # no residual attention: a 4x4 template is fine; no channel attention: no reduction
    head = RASNetHead(in_channels=8, feature_size=4, residual_attention=False,
                      channel_attention=False, se_reduction=0)
    assert head.residual_attention is None and head.channel_attention is None
    assert head.general_attention.weight.shape == (1, 1, 4, 4)


def test_head_names_the_cfg_key_a_bad_value_came_from(fake_pysot, tmp_path):
    cfg = _setup_rasnet_cfg(tmp_path)
    cfg.RASNET.SE_REDUCTION = 0
    with pytest.raises(ValueError, match=r"^RASNetHead: RASNET\.SE_REDUCTION must be"):
        RASNetHead()
    from pysot.models.model_builder import ModelBuilder
    cfg.RASNET.SE_REDUCTION = 16
    cfg.RPN.KWARGS.feature_size = 4
    with pytest.raises(ValueError, match=r"RPN\.KWARGS\.feature_size must be at least 5"):
        ModelBuilder()


# ---------------------------------------------------------------- the converter's CLI
def _cli(capsys, *argv):
    status = pysot_plugin.main([str(a) for a in argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def _one_error_line(err):
    assert err.startswith("error: ") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_cli_missing_file(tmp_path, capsys):
    status, out, err = _cli(capsys, tmp_path / "nope.pth", tmp_path / "o.pth")
    assert status == 1 and not out
    msg = _one_error_line(err)
    assert str(tmp_path / "nope.pth") in msg and "not found" in msg
    assert not (tmp_path / "o.pth").exists()


def test_cli_not_a_torch_file(tmp_path, capsys):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all\n" * 10)
    status, _, err = _cli(capsys, junk, tmp_path / "o.pth")
    assert status == 1
    msg = _one_error_line(err)
    assert msg.startswith("error: %s: " % junk) and "not a torch checkpoint file" in msg


def test_cli_converts_and_returns_0(tmp_path, capsys):
    src, dst = tmp_path / "plugin.pth", tmp_path / "pysot.pth"
    torch.save({"state_dict": _plugin_model().state_dict(),
                "cfg": get_default_config().dump()}, src)
    status, out, err = _cli(capsys, src, dst)
    assert status == 0 and not err and "wrote %s" % dst in out
    assert "rpn_head.adjust.weight" in torch.load(dst, weights_only=True)


def test_cli_cannot_write(tmp_path, capsys):
    src = tmp_path / "plugin.pth"
    torch.save(_plugin_model().state_dict(), src)
    (tmp_path / "file").write_text("x")
    status, _, err = _cli(capsys, src, tmp_path / "file" / "o.pth")
    assert status == 1
    assert _one_error_line(err).startswith("error: cannot write %s" % (tmp_path / "file" / "o.pth"))


def _alexnet_with(**adjust):
    cfg = get_default_config()
    cfg.ADJUST.ADJUST = True
    for k, v in adjust.items():
        cfg.ADJUST[k] = v
    torch.manual_seed(0)
    return build_model(cfg), cfg


@pytest.mark.parametrize("adjust, why", [
    ({"OUT_CHANNELS": 64}, "a neck (neck.* keys)"),
    # no neck tensors, yet the crop / zero mean is part of the function: its cfg says so
    ({"ZERO_MEAN": True}, "a neck (ADJUST.ADJUST true in its cfg"),
])
def test_cli_alexnet_with_a_neck_names_the_neck(tmp_path, capsys, adjust, why):
    model, cfg = _alexnet_with(**adjust)
    src = tmp_path / "neck.pth"
    torch.save({"state_dict": model.state_dict(), "cfg": cfg.dump()}, src)
    status, _, err = _cli(capsys, src, tmp_path / "o.pth")
    assert status == 1
    msg = _one_error_line(err)
    assert msg.startswith("error: %s: only AlexNet RASNet checkpoints without a neck convert to "
                          "PySOT's alexnetlegacy" % src), msg
    assert why in msg and "trunk" not in msg.split("this one has", 1)[1]
    assert "unknown keys" not in msg and not (tmp_path / "o.pth").exists()


def test_convert_names_the_trunk_without_a_saved_cfg():
    cfg = get_default_config()
    cfg.BACKBONE.TYPE = "mobilenetv2"
    cfg.ADJUST.ADJUST, cfg.ADJUST.OUT_CHANNELS = True, 128
    torch.manual_seed(0)
    state = build_model(cfg).state_dict()   # keys only: backbone.layer0.*, neck.*
    with pytest.raises(ValueError, match=r"this one has a mobilenetv2 trunk \(BACKBONE\.TYPE "
                                         r"mobilenetv2\) and a neck \(neck\.\* keys\)"):
        convert_checkpoint_to_pysot(state)
    # an already converted (PySOT) checkpoint is named as such
    pysot_state = convert_checkpoint_to_pysot(_plugin_model().state_dict())
    with pytest.raises(ValueError, match="looks like a PySOT ModelBuilder checkpoint"):
        convert_checkpoint_to_pysot(pysot_state)


def test_cli_shipped_mobilenet_checkpoint_from_the_shell(tmp_path):
    """build_tracker()'s default weights: refused with the real limit, exit status 1."""
    src = os.path.join(REPO_ROOT, "rasnet_plugin", "weights", "rasnet_mobilenetv2.pth")
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    r = subprocess.run([sys.executable, "-m", "rasnet_plugin.pysot_plugin", src,
                        str(tmp_path / "o.pth")], env=env, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr)
    msg = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(msg) == 1 and "Traceback" not in r.stderr, r.stderr
    assert msg[0].startswith("error: %s: only AlexNet RASNet checkpoints without a neck" % src)
    assert "a mobilenetv2 trunk (BACKBONE.TYPE mobilenetv2) and a neck" in msg[0]
    assert "not a RASNet checkpoint" not in r.stderr
    assert not (tmp_path / "o.pth").exists()
