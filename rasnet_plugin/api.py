"""Public entry points: `build_tracker` and `load_checkpoint`.

    import rasnet_plugin
    tracker = rasnet_plugin.build_tracker()                     # experiments/rasnet_mobilenetv2.yaml
    tracker = rasnet_plugin.build_tracker("my.yaml", "snapshot/checkpoint_e50.pth", "cpu")
    tracker.init(frame_bgr, [x, y, w, h]); out = tracker.track(next_frame_bgr)
"""
import glob
import os
import warnings

import torch

from .config import TRACKER_CONFIG, load_config
from .hardware import check_device
from .models import build_model
# checkpoint reading lives in models.model_load; these names stay importable from here
from .models.model_load import (extract_state_dict, load_checkpoint, load_pretrained_backbone,
                                load_state_dict_checked, read_checkpoint, safe_load, saved_cfg,
                                state_signature)
from .tracker.siamese import RASNetTracker

__all__ = ["build_tracker", "load_checkpoint", "read_checkpoint", "resolve_device", "extract_state_dict",
           "bundled_weights", "BUNDLED_DIR", "BUNDLED_WEIGHTS", "BUNDLED_ABLATION",
           "SHIPPED_WEIGHTS", "network_settings"]

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
# trained offline by experiments/offline/{rasnet,siamfc}_real.yaml (docs/training.md; each
# file's cfg and recipe say so: SNAPSHOT_DIR snapshot/offline/rasnet_real / siamfc_real)
BUNDLED_WEIGHTS = os.path.join(BUNDLED_DIR, "rasnet.pth")    # experiments/rasnet.yaml
BUNDLED_ABLATION = os.path.join(BUNDLED_DIR, "siamfc.pth")   # experiments/siamfc.yaml
# experiments/<name>.yaml -> the shipped file trained for it (the recipes: experiments/
# offline/rasnet_real.yaml, siamfc_real.yaml, rasnet_mobilenetv2.yaml, siamfc_mobilenetv2.yaml)
SHIPPED_WEIGHTS = {name + ".yaml": os.path.join(BUNDLED_DIR, name + ".pth") for name in
                   ("rasnet", "siamfc", "rasnet_mobilenetv2", "siamfc_mobilenetv2")}


def _get(node, dotted, default=None):
    # a CfgNode, or the plain dict yaml.safe_load gives for a checkpoint's `cfg`
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def network_settings(cfg):
    """{key: value} of the config settings that define what build_model's network
    computes beyond its tensors' names and shapes (those `state_signature` compares):
    the trunk (BACKBONE.TYPE, .KWARGS), the template feature size that
    TRACK.EXEMPLAR_SIZE gives it, the neck (ADJUST.*, while ADJUST.ADJUST is on), which
    attentions are on and RASNET.SPATIAL_SQUASH (while a spatial attention is on).

    Left out: RASNET.SE_REDUCTION (its effect is the SE block's shapes) and
    ADJUST_GAIN_INIT (the initial value of a learned weight). `cfg` is a config node or
    the dict a checkpoint's saved `cfg` (YAML) loads to; a key it lacks takes the default.
    """
    from .config import get_default_config
    from .models import BACKBONES

    default = get_default_config()

    def get(key):
        return _get(cfg, key, _get(default, key))

    out = {"BACKBONE.TYPE": get("BACKBONE.TYPE"),
           "BACKBONE.KWARGS": dict(get("BACKBONE.KWARGS") or {})}
    trunk = BACKBONES.get(out["BACKBONE.TYPE"])
    try:
        full = int(trunk.feature_size(int(get("TRACK.EXEMPLAR_SIZE")))) if trunk else None
    except (TypeError, ValueError):
        full = None
    out["template features (TRACK.EXEMPLAR_SIZE)"] = full
    out["ADJUST.ADJUST"] = bool(get("ADJUST.ADJUST"))
    if out["ADJUST.ADJUST"]:                     # build_model reads the rest only then
        out["ADJUST.OUT_CHANNELS"] = get("ADJUST.OUT_CHANNELS")
        out["ADJUST.TEMPLATE_CROP"] = get("ADJUST.TEMPLATE_CROP")
        out["ADJUST.ZERO_MEAN"] = bool(get("ADJUST.ZERO_MEAN"))
    for key in ("GENERAL_ATTENTION", "RESIDUAL_ATTENTION", "CHANNEL_ATTENTION"):
        out["RASNET." + key] = bool(get("RASNET." + key))
    if out["RASNET.GENERAL_ATTENTION"] or out["RASNET.RESIDUAL_ATTENTION"]:
        out["RASNET.SPATIAL_SQUASH"] = get("RASNET.SPATIAL_SQUASH")
    return out


def _model_settings(model):
    """`network_settings` as far as a built RASNet records them (no trunk arguments, no
    template feature size: pass the config to compare those too)."""
    from .models import BACKBONES

    out = {"BACKBONE.TYPE": next((n for n, c in BACKBONES.items() if type(model.backbone) is c),
                                 type(model.backbone).__name__)}
    neck = getattr(model, "neck", None)
    out["ADJUST.ADJUST"] = neck is not None
    if neck is not None:
        out["ADJUST.OUT_CHANNELS"] = 0 if neck.conv is None else neck.out_channels
        out["ADJUST.TEMPLATE_CROP"] = neck.template_crop
        out["ADJUST.ZERO_MEAN"] = neck.zero_mean
    out["RASNET.GENERAL_ATTENTION"] = model.general_attention is not None
    out["RASNET.RESIDUAL_ATTENTION"] = model.residual_attention is not None
    out["RASNET.CHANNEL_ATTENTION"] = model.channel_attention is not None
    if out["RASNET.GENERAL_ATTENTION"] or out["RASNET.RESIDUAL_ATTENTION"]:
        out["RASNET.SPATIAL_SQUASH"] = model.spatial_squash
    return out


# path -> ((mtime_ns, size), signature, settings or None): each shipped file is read once
_BUNDLED_CACHE = {}


def _bundled_file(path):
    st = os.stat(path)
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _BUNDLED_CACHE.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    obj = safe_load(path)
    signature = state_signature(extract_state_dict(obj, path))
    settings = _saved_settings(obj)
    _BUNDLED_CACHE[path] = (stamp, signature, settings)
    return signature, settings


def _saved_settings(obj):
    """`network_settings` of the cfg a loaded checkpoint was saved with, or None when it
    has none (a plain or converted state_dict)."""
    saved = saved_cfg(obj)
    return network_settings(saved) if saved is not None else None


def _differences(own, theirs):
    return ["%s (%r there, %r here)" % (k, theirs[k], v) for k, v in own.items()
            if k in theirs and theirs[k] != v]


def _load_snapshot(model, cfg, path):
    """load_checkpoint(model, path) for a snapshot given explicitly, reading the file once;
    a UserWarning when the cfg saved in it disagrees with `cfg` on `network_settings` (the
    tensors load, but they were trained for another function: the check the choice of
    shipped weights makes). A file without a saved cfg loads without one."""
    path = os.fspath(path)
    obj = safe_load(path)
    load_state_dict_checked(model, obj, path)
    theirs = _saved_settings(obj)
    diff = _differences(network_settings(cfg), theirs) if theirs is not None else []
    if diff:
        warnings.warn("rasnet_plugin: the cfg saved in snapshot %s disagrees with this config on "
                      "settings that change what the network computes (there: the snapshot's "
                      "cfg, here: this config): %s. Its tensors load, but they were trained for "
                      "another function; use the config it was trained with"
                      % (path, "; ".join(diff)), UserWarning, stacklevel=3)
    return model


def _match_bundled(model, cfg=None):
    """(the shipped file that fits, None) or (None, why the nearest one does not)."""
    own = state_signature(model.state_dict())
    settings = network_settings(cfg) if cfg is not None else _model_settings(model)
    nearest = None                                  # (rank, path, differences)
    for path in sorted(glob.glob(os.path.join(BUNDLED_DIR, "*.pth"))):
        signature, theirs = _bundled_file(path)
        same_tensors = signature == own
        # a file without a saved cfg (not one of ours) is matched on its tensors alone
        diff = _differences(settings, theirs) if theirs is not None else []
        if same_tensors and not diff:
            return path, None
        if not same_tensors:
            diff = ["its tensors (names and shapes)"] + diff
        rank = (not same_tensors, len(diff))
        if nearest is None or rank < nearest[0]:
            nearest = (rank, path, diff)
    if nearest is None:
        return None, None
    return None, "the nearest shipped file, %s, differs in %s" % (os.path.basename(nearest[1]),
                                                                 "; ".join(nearest[2][:4]))


def bundled_weights(model, cfg=None):
    """The shipped weights file that fits `model`, or None.

    A file fits when its tensors fit (names and shapes) and the settings its training
    config saved (`cfg` in the file) agree with `network_settings(cfg)`, e.g. a
    SPATIAL_SQUASH or ZERO_MEAN the file was not trained with gets None, though its tensors
    would load. Without `cfg`, what the model itself records is compared (all but the trunk's
    arguments and the template feature size).

    experiments/rasnet.yaml gets rasnet.pth, its attention-free ablation siamfc.pth, the
    MobileNetV2 pair rasnet_mobilenetv2.pth / siamfc_mobilenetv2.pth; a network none fits
    (other switches, another neck) gets None. Each file is read once (cached by path, mtime
    and size).
    """
    return _match_bundled(model, cfg)[0]


def _only_trunk_and_gain(model):
    # nothing to train but the trunk and the score gain: the training-free baseline
    return all(n.startswith(("backbone.", "adjust.")) for n, _ in model.named_parameters())


def resolve_device(device=None, cfg=None):
    """`device` as a torch.device; default: cuda if cfg.CUDA and CUDA is available, else cpu."""
    if device is not None and str(device) != "":
        return check_device(device, "device")  # ValueError naming a device that is not there
    use_cuda = bool(getattr(cfg, "CUDA", True)) if cfg is not None else True
    return torch.device("cuda" if use_cuda and torch.cuda.is_available() else "cpu")


def build_tracker(config=None, snapshot=None, device=None):
    """A ready RASNetTracker.

    config: a YAML path or a config node (default config.TRACKER_CONFIG: the most accurate
    shipped RASNet, experiments/rasnet_mobilenetv2.yaml);
    snapshot: a checkpoint path (a UserWarning when the cfg saved in it disagrees with this
    config on `network_settings`; default: the shipped weights that fit the config's network,
    `bundled_weights`: its tensors and the network settings it was trained with; rasnet.pth
    for RASNet, siamfc.pth for the ablation; else the model keeps its random
    initialisation, with a warning naming how the nearest shipped file differs; it is seeded with
    cfg.TRAIN.SEED, so untrained runs are reproducible);
    device: "cpu", "cuda", "cuda:1", ... (default: cuda when cfg.CUDA and available).
    """
    if config is None:
        config = TRACKER_CONFIG
    cfg = load_config(os.fspath(config)) if isinstance(config, (str, os.PathLike)) else config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(cfg.TRAIN.SEED) if "TRAIN" in cfg else 0)
        model = build_model(cfg)
    why, explicit = None, snapshot not in (None, "")
    if not explicit:
        snapshot, why = _match_bundled(model, cfg)
    nearest = " (%s)" % why if why else ""
    if snapshot in (None, "") and cfg.BACKBONE.PRETRAINED:
        load_pretrained_backbone(model.backbone, cfg.BACKBONE.PRETRAINED)
        if not _only_trunk_and_gain(model):
            warnings.warn("rasnet_plugin: no snapshot given and no bundled weights fit this "
                          "config's network%s: the trunk is BACKBONE.PRETRAINED, the head is "
                          "UNTRAINED (random initialisation)" % nearest, UserWarning, stacklevel=2)
    elif snapshot in (None, ""):
        warnings.warn("rasnet_plugin: no snapshot given and no bundled weights in %s fit this "
                      "config's network%s: running UNTRAINED weights (random initialisation); "
                      "results are meaningless for accuracy" % (BUNDLED_DIR, nearest), UserWarning,
                      stacklevel=2)
    elif explicit:
        _load_snapshot(model, cfg, snapshot)
    else:                                         # the shipped file whose settings agree
        load_checkpoint(model, snapshot)
    return RASNetTracker(model, cfg, device=resolve_device(device, cfg))
