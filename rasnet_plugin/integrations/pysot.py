"""RASNet inside a PySOT (STVIR/pysot) checkout.

PySOT is not pip-installable; it is imported lazily and only if it is importable.
`register_pysot()` (called by `import rasnet_plugin` when `pysot` is importable):

* adds every plugin config key PySOT's global `pysot.core.config.cfg` lacks (the `RASNET`
  node, the SiamFC-3s `TRACK` keys such as SCALE_NUM, a few TRAIN keys), never overwriting
  an existing key, so that it must run BEFORE `cfg.merge_from_file` (yacs is strict);
* registers `RASNetHead` in `pysot.models.head.RPNS` (the attentions and the adjust layer;
  `forward(z_f, x_f)` returns the (B,1,17,17) response);
* registers `RASNetTracker` in `pysot.tracker.tracker_builder.TRACKS`: a tracker that takes
  PySOT's `ModelBuilder` (backbone `alexnetlegacy`, head `RASNetHead`).

PySOT's `ModelBuilder.track` unpacks `cls, loc = self.rpn_head(zf, xf)` (SiamRPN's two-output
head), so the tracker calls `model.backbone` (and `model.neck`, if any) and
`model.rpn_head.template` / `.track` itself: the attention-weighted template is still
computed once per sequence, and the scale pyramid is one backbone batch.

`convert_checkpoint_to_pysot(state_dict)` maps a plugin checkpoint to ModelBuilder keys
(`backbone.features.<i>.*`, `rpn_head.*`); grouped convolutions become block-diagonal dense
ones and AlexNetLegacy's extra BatchNorm after conv5 is set to the identity, so the converted
model computes the same function. From the shell:

    python -m rasnet_plugin.pysot_plugin rasnet_plugin/weights/rasnet.pth snapshot/rasnet_pysot.pth

(`rasnet_plugin.pysot_plugin`, this module's old home, re-exports it and runs `main`: the
package imports this module at start-up, so it cannot run cleanly as `-m` itself.)
"""
import copy
import warnings

import torch
import torch.nn as nn

from ..fileio import atomic_save
from ..models.attention import ChannelAttention, GeneralAttention, ResidualAttention
from ..models.model_load import extract_state_dict, safe_load, saved_cfg
from ..models.rasnet import SPATIAL_SQUASHES, RASNet
from ..tracker.siamese import RASNetTracker

__all__ = ["register_pysot", "RASNetHead", "PySOTRASNetTracker", "convert_checkpoint_to_pysot",
           "pysot_rasnet_settings", "pysot_available", "ADDED_KEYS"]

HEAD_NAME = "RASNetHead"
TRACKER_NAME = "RASNetTracker"
ADDED_KEYS = []  # config keys the last register_pysot() call added to PySOT's cfg

# plugin AlexNet stage -> index in AlexNetLegacy.features (conv, BN, pool, ReLU, ... order:
# ReLU and max-pooling commute, so PySOT's pool-then-ReLU equals our ReLU-then-pool)
_BACKBONE_LAYERS = [("conv1.0", 0), ("conv1.1", 1), ("conv2.0", 4), ("conv2.1", 5),
                    ("conv3.0", 8), ("conv3.1", 9), ("conv4.0", 11), ("conv4.1", 12),
                    ("conv5.0", 14)]
_FINAL_BN = 15  # AlexNetLegacy has a BatchNorm after conv5; ours is linear there
_HEAD_PREFIXES = ("general_attention.", "residual_attention.", "channel_attention.", "adjust.")


# ------------------------------------------------------------------ the head
def _rasnet_settings():
    """The RASNET node of PySOT's cfg when registered, else the plugin's defaults."""
    try:
        from pysot.core.config import cfg
        if "RASNET" in cfg:
            return cfg.RASNET
    except Exception:
        pass
    from ..config import get_default_config
    return get_default_config().RASNET


class RASNetHead(RASNet):
    """RASNet's attentions + adjust layer as a PySOT head (`RPN.TYPE: RASNetHead`).

    forward(z_f, x_f) -> response (B,1,H-h+1,W-w+1). Arguments left at None come from
    cfg.RASNET; `RPN.KWARGS` may set any of them. `in_channels` and `feature_size` are the
    channels and side of the template features the head gets (alexnetlegacy: 256, 6); both
    spatial attentions are built for `feature_size`. Bad values raise a ValueError naming
    the key (`RPN.KWARGS.<argument>`, or `RASNET.<KEY>` for a value taken from there).
    """

    def __init__(self, in_channels=256, feature_size=6, general_attention=None,
                 residual_attention=None, channel_attention=None, se_reduction=None,
                 spatial_squash=None, adjust_gain=None):
        r = _rasnet_settings()
        where = {}

        def pick(value, arg, key):
            where[arg] = "RASNET." + key if value is None else "RPN.KWARGS." + arg
            return getattr(r, key) if value is None else value

        def fail(arg, problem, value):
            raise ValueError("RASNetHead: %s %s, got %r" % (where.get(arg, "RPN.KWARGS." + arg),
                                                            problem, value))

        for arg, value in (("in_channels", in_channels), ("feature_size", feature_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(arg, "must be a positive integer", value)
        squash = pick(spatial_squash, "spatial_squash", "SPATIAL_SQUASH")
        if squash not in SPATIAL_SQUASHES:
            fail("spatial_squash", "must be one of %s" % (SPATIAL_SQUASHES,), squash)
        general = pick(general_attention, "general_attention", "GENERAL_ATTENTION")
        residual = pick(residual_attention, "residual_attention", "RESIDUAL_ATTENTION")
        channel = pick(channel_attention, "channel_attention", "CHANNEL_ATTENTION")
        reduction = pick(se_reduction, "se_reduction", "SE_REDUCTION")
        gain = pick(adjust_gain, "adjust_gain", "ADJUST_GAIN_INIT")
        if residual and feature_size < 5:
            fail("feature_size", "must be at least 5 with the residual attention on (its "
                 "hourglass needs 5x5 template features)", feature_size)
        if channel and (isinstance(reduction, bool) or not isinstance(reduction, int)
                        or not 1 <= reduction <= in_channels):
            fail("se_reduction", "must be an integer in 1..%d (in_channels)" % in_channels, reduction)
        super().__init__(
            nn.Identity(),  # PySOT's ModelBuilder owns the backbone
            general=GeneralAttention(feature_size) if general else None,
            residual=ResidualAttention(in_channels, size=feature_size) if residual else None,
            channel=ChannelAttention(in_channels, reduction) if channel else None,
            spatial_squash=squash,
            adjust_gain=gain)

    def forward(self, z_f, x_f):
        return super().forward(z_f, x_f)


# ------------------------------------------------------------------ the tracker
class _ModelBuilderAdapter(nn.Module):
    """Gives a PySOT ModelBuilder the plugin model's template(z) / track(x) interface."""

    def __init__(self, model):
        super().__init__()
        self.pysot_model = model

    def _features(self, x):
        f = self.pysot_model.backbone(x)
        if isinstance(f, (list, tuple)):
            f = f[-1]
        neck = getattr(self.pysot_model, "neck", None)
        return neck(f) if neck is not None else f

    def template(self, z):
        self.pysot_model.rpn_head.template(self._features(z))

    def track(self, x):
        return self.pysot_model.rpn_head.track(self._features(x))


class PySOTRASNetTracker(RASNetTracker):
    """`TRACKS['RASNetTracker']`: built by PySOT's `build_tracker(model)` from a ModelBuilder
    with `RPN.TYPE: RASNetHead`; settings from PySOT's global cfg; runs where the model is."""

    def __init__(self, model):
        from pysot.core.config import cfg
        head = getattr(model, "rpn_head", None)
        if not isinstance(head, RASNet):
            raise ValueError("TRACK.TYPE %s needs RPN.TYPE %s (the model's head is %s)"
                             % (TRACKER_NAME, HEAD_NAME, type(head).__name__))
        super().__init__(_ModelBuilderAdapter(model), cfg)


# ------------------------------------------------------------------ registration
def _pysot_parts():
    """(cfg, TRACKS, RPNS) of an importable PySOT checkout, or None."""
    try:
        from pysot.core.config import cfg
        from pysot.models import head
        from pysot.tracker import tracker_builder
    except Exception:  # not installed, the unrelated PyPI `pysot`, or a broken checkout
        return None
    tracks, rpns = getattr(tracker_builder, "TRACKS", None), getattr(head, "RPNS", None)
    if not (isinstance(tracks, dict) and isinstance(rpns, dict) and hasattr(cfg, "TRACK")):
        return None
    return cfg, tracks, rpns


def pysot_available():
    return _pysot_parts() is not None


def _add_missing(dst, src, prefix, added):
    from yacs.config import CfgNode
    for key, value in src.items():
        if key not in dst:
            value = copy.deepcopy(value)
            if isinstance(value, CfgNode) and dst.is_frozen():
                value.freeze()
            dict.__setitem__(dst, key, value)  # also on a frozen node: adding is not changing
            added.append(prefix + key)
        elif isinstance(value, CfgNode) and isinstance(dst[key], CfgNode):
            _add_missing(dst[key], value, prefix + key + ".", added)


def _register(registry, name, obj, what):
    current = registry.get(name)
    if current is None or getattr(current, "__qualname__", None) == obj.__qualname__:
        registry[name] = obj  # ours, or a re-registration after a module reload
    elif current is not obj:
        warnings.warn("rasnet_plugin: PySOT's %s already has a different %r; left as it is"
                      % (what, name), RuntimeWarning, stacklevel=3)


def register_pysot():
    """Register RASNet with an importable PySOT; returns False (touching nothing) without it.

    Must run before `cfg.merge_from_file` of a config using the new keys.
    """
    parts = _pysot_parts()
    if parts is None:
        return False
    cfg, tracks, rpns = parts
    from ..config import get_default_config
    added = []
    _add_missing(cfg, get_default_config(), "", added)
    ADDED_KEYS[:] = added
    _register(rpns, HEAD_NAME, RASNetHead, "pysot.models.head.RPNS")
    _register(tracks, TRACKER_NAME, PySOTRASNetTracker, "pysot.tracker.tracker_builder.TRACKS")
    return True


# ------------------------------------------------------------------ checkpoints
def _block_diagonal(weight, in_channels):
    """A grouped conv weight (O, I/g, k, k) as the equivalent dense (O, I, k, k) weight."""
    out_ch, per_group = weight.shape[:2]
    if in_channels % per_group:
        raise ValueError("cannot expand a conv weight of shape %s to %d input channels"
                         % (tuple(weight.shape), in_channels))
    groups = in_channels // per_group
    if groups == 1:
        return weight.clone()
    dense = weight.new_zeros((out_ch, in_channels) + tuple(weight.shape[2:]))
    og = out_ch // groups
    for g in range(groups):
        dense[g * og:(g + 1) * og, g * per_group:(g + 1) * per_group] = weight[g * og:(g + 1) * og]
    return dense


def _trunk_and_neck(obj, src):
    """(BACKBONE.TYPE or None when unknown, why it has a neck or "") of a checkpoint: from
    its saved cfg where it has one, else from the keys of its state_dict `src`."""
    trunk, neck = None, ""
    if any(k.startswith("neck.") for k in src):
        neck = "neck.* keys"
    cfg = saved_cfg(obj) or {}
    backbone, adjust = cfg.get("BACKBONE"), cfg.get("ADJUST")
    if isinstance(backbone, dict) and isinstance(backbone.get("TYPE"), str):
        trunk = backbone["TYPE"]
    if not neck and isinstance(adjust, dict) and adjust.get("ADJUST"):
        neck = "ADJUST.ADJUST true in its cfg: a template crop / zero mean PySOT's head lacks"
    if trunk is None:
        if any(k.startswith("backbone.layer0.") for k in src):
            trunk = "mobilenetv2"
        elif any(k.startswith("backbone.conv1.") for k in src):
            trunk = "alexnet"
    return trunk, neck


def pysot_rasnet_settings(obj):
    """The `RASNET` keys a PySOT config needs for checkpoint `obj` (loaded, unconverted), as
    {key: value}: those whose value differs from the plugin's defaults, which
    `register_pysot()` gives PySOT's cfg. Attention switches come from the checkpoint's
    tensors (an attention trained off has none), the other keys from its saved cfg. Without
    them PySOT builds a head that does not match the weights: `load_pretrain` (strict=False)
    then leaves a missing attention at its random initialisation and only logs it, and a
    different SPATIAL_SQUASH changes the function with no message at all."""
    from ..config import get_default_config
    defaults = get_default_config().RASNET
    src = extract_state_dict(obj)
    saved = (saved_cfg(obj) or {}).get("RASNET")
    saved = saved if isinstance(saved, dict) else {}
    out = {}
    for key, prefix in (("GENERAL_ATTENTION", "general_attention."),
                        ("RESIDUAL_ATTENTION", "residual_attention."),
                        ("CHANNEL_ATTENTION", "channel_attention.")):
        present = any(k.startswith(prefix) for k in src)
        if present != bool(defaults[key]):
            out[key] = present
    for key in ("SE_REDUCTION", "SPATIAL_SQUASH"):
        if key == "SE_REDUCTION" and not out.get("CHANNEL_ATTENTION", defaults.CHANNEL_ATTENTION):
            continue
        if key in saved and saved[key] != defaults[key]:
            out[key] = saved[key]
    return out


def convert_checkpoint_to_pysot(state_dict, bn_eps=1e-5):
    """Plugin RASNet state_dict -> PySOT ModelBuilder state_dict (alexnetlegacy + RASNetHead).

    Accepts the same wrappers as `load_checkpoint` ({'state_dict': ...}, `module.`).
    `bn_eps` is the eps of AlexNetLegacy's last BatchNorm (PyTorch's default 1e-5).
    """
    src = extract_state_dict(state_dict)
    trunk, neck = _trunk_and_neck(state_dict, src)
    if (trunk is not None and trunk != "alexnet") or neck:
        has = []
        if trunk is not None and trunk != "alexnet":
            has.append("a %s trunk (BACKBONE.TYPE %s)" % (trunk, trunk))
        if neck:
            has.append("a neck (%s)" % neck)
        raise ValueError("only AlexNet RASNet checkpoints without a neck convert to PySOT's "
                         "alexnetlegacy (BACKBONE.TYPE alexnet, ADJUST.ADJUST false); this one "
                         "has %s" % " and ".join(has))
    out, used = {}, set()
    in_channels = 3
    for ours, idx in _BACKBONE_LAYERS:
        prefix = "backbone.%s." % ours
        keys = [k for k in src if k.startswith(prefix)]
        if not keys:
            hint = ""
            if any(k.startswith(("backbone.features.", "rpn_head.")) for k in src):
                hint = " (it looks like a PySOT ModelBuilder checkpoint already)"
            raise ValueError("not a RASNet checkpoint: no %s* keys%s" % (prefix, hint))
        for k in keys:
            name = k[len(prefix):]
            value = src[k]
            if ours.endswith(".0") and name == "weight":  # a conv
                value = _block_diagonal(value, in_channels)
                in_channels = value.shape[0]
            out["backbone.features.%d.%s" % (idx, name)] = value.clone()
            used.add(k)
    channels = in_channels  # conv5's output
    ref = out["backbone.features.14.weight"]
    bn = "backbone.features.%d." % _FINAL_BN
    out[bn + "weight"] = ref.new_ones(channels)
    out[bn + "bias"] = ref.new_zeros(channels)
    out[bn + "running_mean"] = ref.new_zeros(channels)
    out[bn + "running_var"] = ref.new_full((channels,), 1.0 - bn_eps)  # (x-0)/sqrt(1-eps+eps)
    out[bn + "num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    for k, v in src.items():
        if k.startswith(_HEAD_PREFIXES):
            out["rpn_head." + k] = v.clone()
            used.add(k)
    left = sorted(set(src) - used)
    if left:
        raise ValueError("not a RASNet checkpoint: unknown keys %s" % ", ".join(left[:5]))
    return out


def main(argv=None):
    """`python -m rasnet_plugin.pysot_plugin SRC DST`: convert a checkpoint file.

    Returns the exit status: 0, or 1 after one `error: ...` line on stderr naming the file
    and the reason (missing, not a torch file, code inside, not convertible).
    """
    import argparse
    import sys
    from ..models.model_load import CheckpointError
    p = argparse.ArgumentParser(description="convert a RASNet plugin checkpoint (AlexNet trunk, "
                                            "no neck) to PySOT ModelBuilder keys")
    p.add_argument("src")
    p.add_argument("dst")
    a = p.parse_args(argv)
    try:
        obj = safe_load(a.src)
        converted = convert_checkpoint_to_pysot(obj)
        settings = pysot_rasnet_settings(obj)
    except FileNotFoundError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except (CheckpointError, ValueError, OSError) as e:
        msg = str(e)
        if a.src not in msg:
            msg = "%s: %s" % (a.src, msg)
        print("error: %s" % msg, file=sys.stderr)
        return 1
    try:
        # a bare state_dict, as PySOT's model zoo files: its load_pretrain (test.py) takes
        # either form, but demo.py hands the file straight to a strict load_state_dict
        atomic_save(converted, a.dst)
    except OSError as e:
        print("error: cannot write %s: %s" % (a.dst, e.strerror or e), file=sys.stderr)
        return 1
    print("wrote %s (PySOT ModelBuilder keys: backbone.features.*, rpn_head.*)" % a.dst)
    if settings:
        print("note: this checkpoint's head differs from the RASNET defaults; add to the PySOT "
              "config: RASNET: {%s}" % ", ".join(
                  "%s: %s" % (k, str(v).lower() if isinstance(v, bool) else v)
                  for k, v in settings.items()))
    return 0
