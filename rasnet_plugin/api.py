"""Public entry points: `build_tracker` and `load_checkpoint`.

    import rasnet_plugin
    tracker = rasnet_plugin.build_tracker()                     # experiments/rasnet_mobilenetv2.yaml
    tracker = rasnet_plugin.build_tracker("my.yaml", "snapshot/checkpoint_e50.pth", "cpu")
    tracker.init(frame_bgr, [x, y, w, h]); out = tracker.track(next_frame_bgr)
"""
import glob
import os
import pickle
import warnings

import torch

from .config import TRACKER_CONFIG, load_config
from .models import build_model
from .models.model_load import load_pretrained_backbone
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


def _names(keys, limit=5):
    keys = sorted(keys)
    more = ", ... (%d in all)" % len(keys) if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def extract_state_dict(obj, path="<checkpoint>"):
    """The state_dict inside a loaded checkpoint: a plain state_dict, {'state_dict': ...} or
    {'model': ...}, with a DataParallel `module.` prefix removed."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError("%s: not a RASNet checkpoint (expected a state_dict, or a dict with "
                         "'state_dict' or 'model'; got %s)" % (path, type(obj).__name__))
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError("%s: not a RASNet checkpoint (entries that are not named tensors: %s)"
                         % (path, _names(map(str, bad))))
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def _torch_load(path):
    if not os.path.isfile(path):
        raise FileNotFoundError("checkpoint not found: %s" % path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" in str(e) and "global" in str(e).lower():
            # a pickle naming Python callables/classes (code), not only tensors
            raise ValueError("%s: refused to unpickle code: the file holds Python objects, not "
                             "only tensors, and is loaded with weights_only=True; re-save it as "
                             "a plain state_dict (only from a source you trust)" % path) from None
        raise ValueError("%s: not a torch checkpoint file (no zip archive or pickle that "
                         "torch.load can read)" % path) from None
    except Exception as e:  # torch's legacy loader raises KeyError/EOFError/... on junk
        raise ValueError("%s: not a torch checkpoint file (%s: %s)"
                         % (path, type(e).__name__, _first_line(e))) from None


def read_checkpoint(path):
    """The whole checkpoint file as a dict (weights_only), for its metadata: `cfg`, and for
    files written by tools/train.py `videos` (what it learned from) and `recipe`."""
    obj = _torch_load(os.fspath(path))
    return obj if isinstance(obj, dict) else {}


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else "unreadable"


def load_checkpoint(model, path):
    """Load RASNet weights from `path` into `model` (strict); returns the model.

    Raises FileNotFoundError for a missing file and ValueError naming the file for
    anything that is not a RASNet checkpoint: not a torch file, a pickle holding code
    (refused by weights_only), a tensor holding NaN or inf (named), missing or unexpected
    keys, mismatched shapes.
    """
    path = os.fspath(path)
    state = extract_state_dict(_torch_load(path), path)
    for k, v in state.items():  # a NaN/inf weight would only show up as NaN scores later
        if (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all()):
            raise ValueError("%s: tensor %s holds NaN or inf values; refusing to load a "
                             "diverged checkpoint" % (path, k))
    own = model.state_dict()
    # BatchNorm's step counters do not change the function; old checkpoints may lack them
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append("missing keys: " + _names(missing))
        if unexpected:
            parts.append("unexpected keys: " + _names(unexpected))
        hint = ""
        if any(k.startswith(("rpn_head.", "backbone.features.")) for k in unexpected):
            hint = " (this looks like a PySOT ModelBuilder checkpoint)"
        raise ValueError("%s: not a RASNet checkpoint for this config%s; %s"
                         % (path, hint, "; ".join(parts)))
    shapes = ["%s %s vs model %s" % (k, tuple(state[k].shape), tuple(own[k].shape))
              for k in state if state[k].shape != own[k].shape]
    if shapes:
        raise ValueError("%s: not a RASNet checkpoint for this config; shape mismatch: %s"
                         % (path, _names(shapes, 3)))
    model.load_state_dict(state, strict=False)  # strict in effect: keys were checked above
    return model


def _signature(state):
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def bundled_weights(model):
    """The shipped weights file whose tensors fit `model` (names and shapes), or None.

    experiments/rasnet.yaml gets rasnet.pth, its attention-free ablation siamfc.pth, the
    MobileNetV2 pair rasnet_mobilenetv2.pth / siamfc_mobilenetv2.pth; a network none fits
    (other switches, another neck) gets None.
    """
    own = _signature(model.state_dict())
    for path in sorted(glob.glob(os.path.join(BUNDLED_DIR, "*.pth"))):
        if _signature(extract_state_dict(_torch_load(path), path)) == own:
            return path
    return None


def _only_trunk_and_gain(model):
    # nothing to train but the trunk and the score gain: the training-free baseline
    return all(n.startswith(("backbone.", "adjust.")) for n, _ in model.named_parameters())


def resolve_device(device=None, cfg=None):
    """`device` as a torch.device; default: cuda if cfg.CUDA and CUDA is available, else cpu."""
    if device is not None and str(device) != "":
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device %s requested but CUDA is not available" % device)
        return device
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
