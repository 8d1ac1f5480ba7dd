"""Configuration: one yacs node, with PySOT's key names wherever PySOT has them.

The defaults are the RASNet settings of experiments/rasnet.yaml, so
`cfg.clone()` alone builds the paper's model and SiamFC-3s tracking.
"""
import os

from yacs.config import CfgNode as CN

__all__ = ["cfg", "get_default_config", "load_config", "ConfigError", "REPO_ROOT", "DEFAULT_CONFIG"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(REPO_ROOT, "experiments", "rasnet.yaml")


class ConfigError(ValueError):
    """A configuration file has an unknown, misspelt or badly typed key."""


_C = CN()
_C.META_ARC = "rasnet"
# Use CUDA when a device is available (PySOT's key; False forces the CPU).
_C.CUDA = True

# ------------------------------------------------------------------ backbone
_C.BACKBONE = CN()
# "alexnet": SiamFC's AlexNet (grouped conv2/4/5, BN after every conv but the last).
_C.BACKBONE.TYPE = "alexnet"
_C.BACKBONE.KWARGS = CN(new_allowed=True)
_C.BACKBONE.PRETRAINED = ""
_C.BACKBONE.TRAIN_LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5"]
_C.BACKBONE.LAYERS_LR = 1.0
_C.BACKBONE.TRAIN_EPOCH = 0

# ------------------------------------------------------------------ RASNet head
_C.RASNET = CN()
_C.RASNET.GENERAL_ATTENTION = True    # learned 6x6 map, initialised to ones
_C.RASNET.RESIDUAL_ATTENTION = True   # hourglass on the template features
_C.RASNET.CHANNEL_ATTENTION = True    # squeeze-and-excitation block
_C.RASNET.SE_REDUCTION = 16           # the paper's summaries quote 4
# How (general + residual) is squashed: "none" (paper's default reading) or "sigmoid".
_C.RASNET.SPATIAL_SQUASH = "none"
_C.RASNET.ADJUST_GAIN_INIT = 1e-3     # SiamFC's fixed gain, here the init of a learned one

# ------------------------------------------------------------------ tracking
_C.TRACK = CN()
_C.TRACK.TYPE = "RASNetTracker"
_C.TRACK.EXEMPLAR_SIZE = 127
_C.TRACK.INSTANCE_SIZE = 255
_C.TRACK.TOTAL_STRIDE = 8
_C.TRACK.CONTEXT_AMOUNT = 0.5
_C.TRACK.WINDOW_INFLUENCE = 0.176
_C.TRACK.LR = 0.59                    # scale update rate
_C.TRACK.SCALE_NUM = 3
_C.TRACK.SCALE_STEP = 1.0375
_C.TRACK.SCALE_PENALTY = 0.9745
_C.TRACK.RESPONSE_UP = 16             # 17x17 response upsampled to 272x272
# Arithmetic of the network while tracking: "fp32", "bf16" (CPU or CUDA), "fp16" (CUDA).
_C.TRACK.PRECISION = "fp32"

# ------------------------------------------------------------------ training
_C.TRAIN = CN()
_C.TRAIN.EPOCH = 50
_C.TRAIN.PAIRS_PER_EPOCH = 53200
_C.TRAIN.BATCH_SIZE = 8
_C.TRAIN.BASE_LR = 1e-2
_C.TRAIN.END_LR = 1e-5
_C.TRAIN.MOMENTUM = 0.9
_C.TRAIN.WEIGHT_DECAY = 5e-4
_C.TRAIN.MAX_FRAME_GAP = 100
_C.TRAIN.PAIR_SIGMA = 100.0           # Omega(i, j) = exp(-|i - j| / sigma)
_C.TRAIN.POSITIVE_RADIUS = 16         # pixels in the search image
_C.TRAIN.OUTPUT_SIZE = 17
_C.TRAIN.NUM_WORKERS = 2
_C.TRAIN.SNAPSHOT_DIR = "snapshot"
_C.TRAIN.SEED = 0

cfg = _C  # the global node, as in PySOT


def get_default_config():
    """A fresh copy of the defaults (never the global node)."""
    return _C.clone()


def load_config(path, base=None):
    """Merge a YAML file into a copy of `base` (default: the defaults).

    Unknown or misspelt keys, and values of the wrong type, raise ConfigError
    naming the key and the file.
    """
    node = (base if base is not None else _C).clone()
    if not os.path.isfile(path):
        raise ConfigError("config file not found: %s" % path)
    try:
        node.merge_from_file(path)
    except KeyError as e:  # yacs: "Non-existent config key: TRACK.SCALE_NUMM"
        raise ConfigError("%s: %s" % (path, e.args[0] if e.args else e)) from None
    except ValueError as e:  # yacs: type mismatch, e.g. a string for a float
        raise ConfigError("%s: %s" % (path, e)) from None
    except Exception as e:  # malformed YAML and the like
        raise ConfigError("%s: cannot read config: %s" % (path, e)) from None
    return node
