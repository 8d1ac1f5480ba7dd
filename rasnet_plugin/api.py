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
                                read_checkpoint, safe_load, state_signature)
from .tracker.siamese import RASNetTracker

__all__ = ["build_tracker", "load_checkpoint", "read_checkpoint", "resolve_device", "extract_state_dict",
           "bundled_weights", "BUNDLED_DIR", "BUNDLED_WEIGHTS", "BUNDLED_ABLATION",
           "SHIPPED_WEIGHTS"]

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
# trained offline by experiments/offline/{rasnet,siamfc}.yaml (README, "Shipped weights")
BUNDLED_WEIGHTS = os.path.join(BUNDLED_DIR, "rasnet.pth")    # experiments/rasnet.yaml
BUNDLED_ABLATION = os.path.join(BUNDLED_DIR, "siamfc.pth")   # experiments/siamfc.yaml
# experiments/<name>.yaml -> the shipped file trained for it (experiments/offline/<name>.yaml)
SHIPPED_WEIGHTS = {name + ".yaml": os.path.join(BUNDLED_DIR, name + ".pth") for name in
                   ("rasnet", "siamfc", "rasnet_mobilenetv2", "siamfc_mobilenetv2")}


def bundled_weights(model):
    """The shipped weights file whose tensors fit `model` (names and shapes), or None.

    experiments/rasnet.yaml gets rasnet.pth, its attention-free ablation siamfc.pth, the
    MobileNetV2 pair rasnet_mobilenetv2.pth / siamfc_mobilenetv2.pth; a network none fits
    (other switches, another neck) gets None.
    """
    own = state_signature(model.state_dict())
    for path in sorted(glob.glob(os.path.join(BUNDLED_DIR, "*.pth"))):
        if state_signature(extract_state_dict(safe_load(path), path)) == own:
            return path
    return None


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
    snapshot: a checkpoint path (default: the shipped weights that fit the config's network,
    `bundled_weights`: rasnet.pth for RASNet, siamfc.pth for the ablation; else the model
    keeps its random initialisation, with a warning; the random init is seeded with
    cfg.TRAIN.SEED, so untrained runs are reproducible);
    device: "cpu", "cuda", "cuda:1", ... (default: cuda when cfg.CUDA and available).
    """
    if config is None:
        config = TRACKER_CONFIG
    cfg = load_config(os.fspath(config)) if isinstance(config, (str, os.PathLike)) else config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(cfg.TRAIN.SEED) if "TRAIN" in cfg else 0)
        model = build_model(cfg)
    if snapshot in (None, ""):
        snapshot = bundled_weights(model)
    if snapshot in (None, "") and cfg.BACKBONE.PRETRAINED:
        load_pretrained_backbone(model.backbone, cfg.BACKBONE.PRETRAINED)
        if not _only_trunk_and_gain(model):
            warnings.warn("rasnet_plugin: no snapshot given and no bundled weights fit this "
                          "config's network: the trunk is BACKBONE.PRETRAINED, the head is "
                          "UNTRAINED (random initialisation)", UserWarning, stacklevel=2)
    elif snapshot in (None, ""):
        warnings.warn("rasnet_plugin: no snapshot given and no bundled weights in %s fit this "
                      "config's network: running UNTRAINED weights (random initialisation); "
                      "results are meaningless for accuracy" % BUNDLED_DIR, UserWarning,
                      stacklevel=2)
    else:
        load_checkpoint(model, snapshot)
    return RASNetTracker(model, cfg, device=resolve_device(device, cfg))
