"""Configuration: one yacs node, with PySOT's key names wherever PySOT has them.

The defaults are the paper's RASNet model (AlexNet trunk, no neck, all three
attentions) and SiamFC-3s tracking, so `cfg.clone()` alone builds them. They equal
configs/rasnet.yaml in every model setting and in every tracking setting but one:
TRACK.QUANTIZE is "none" here and "auto" there (the int8 trunk where the CPU pays off);
of its training settings only TRAIN.SNAPSHOT_DIR differs ("snapshot" here,
"snapshot/rasnet" there). The bundled configs ship inside the
package (`rasnet_plugin/configs/`, which a checkout also shows as `experiments/`, the
folder PySOT users look for), so an installed package finds them from any folder.
"""
import os

from yacs.config import CfgNode as CN

__all__ = ["cfg", "get_default_config", "load_config", "resolve_config", "bundled_configs",
           "ConfigError", "REPO_ROOT", "CONFIG_DIR", "DEFAULT_CONFIG", "TRACKER_CONFIG"]

# the checkout (editable install) or site-packages: only relative training-data paths use it
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
# the tools' default config (tools/test.py, train.py, ...): the paper's AlexNet RASNet
DEFAULT_CONFIG = os.path.join(CONFIG_DIR, "rasnet.yaml")
# build_tracker()'s default: the most accurate shipped RASNet (README, "Shipped weights")
TRACKER_CONFIG = os.path.join(CONFIG_DIR, "rasnet_mobilenetv2.yaml")


class ConfigError(ValueError):
    """A configuration file has an unknown, misspelt or badly typed key."""


_C = CN()
_C.META_ARC = "rasnet"
# Use CUDA when a device is available (PySOT's key; False forces the CPU).
_C.CUDA = True

# ------------------------------------------------------------------ backbone
_C.BACKBONE = CN()
# "alexnet": SiamFC's AlexNet (grouped conv2/4/5, BN after every conv but the last);
# "mobilenetv2": PySOT's stride-8 MobileNetV2 trunk, 96 channels (models/mobilenet.py).
_C.BACKBONE.TYPE = "alexnet"
_C.BACKBONE.KWARGS = CN(new_allowed=True)
# Checkpoint the trunk starts from when training (a file, or <package>/<file> of an
# installed package, models/model_load.py); "" trains it from scratch.
_C.BACKBONE.PRETRAINED = ""
# Trunk layers that train (PySOT's semantics): all of the trunk is frozen (BatchNorm
# statistics included) until epoch TRAIN_EPOCH (0-based), then these layers train at
# lr * LAYERS_LR; layers not named here stay frozen for the whole run.
_C.BACKBONE.TRAIN_LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5"]
_C.BACKBONE.LAYERS_LR = 1.0
_C.BACKBONE.TRAIN_EPOCH = 0

# ------------------------------------------------------------------ neck (PySOT's ADJUST)
_C.ADJUST = CN()
_C.ADJUST.ADJUST = False              # no neck: the trunk's features go to the head as is
_C.ADJUST.OUT_CHANNELS = 0            # 1x1 conv + BN to this many channels; 0: none
_C.ADJUST.TEMPLATE_CROP = 0           # centre crop of the template features; 0: none
_C.ADJUST.ZERO_MEAN = False           # subtract each template channel's spatial mean

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
# Arithmetic of the network while tracking: "auto" (bf16 where it is native: CUDA sm_80+,
# AVX512_BF16 or AMX CPUs; else fp32), "fp32", "bf16" (CPU or CUDA), "fp16" (CUDA).
_C.TRACK.PRECISION = "auto"
# The backbone's weights and activations while tracking: "none" (as PRECISION says),
# "int8" (CPU only: PyTorch's x86 quantisation, calibrated once on fixed photographs;
# the attention and correlation stay float; the AlexNet trunk only) or "auto" (int8 where
# the device and trunk allow it, else none). docs/configuration.md has the measured cost.
_C.TRACK.QUANTIZE = "none"
# Run each frame on at most the cores that other busy processes leave free (counted from
# /proc every 0.5 s; the torch thread count is restored after the frame): with another
# CPU-bound process beside it, oversubscribed threads wait on each other every layer.
_C.TRACK.SHARE_CORES = True

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
# search crop side in training; 0: TRACK.INSTANCE_SIZE. The net is fully convolutional,
# so a smaller crop (191: 9x9 response) learns the same filters at half the cost per pair
# on the CPU; it only has fewer negatives per pair. OUTPUT_SIZE must match it.
_C.TRAIN.SEARCH_SIZE = 0
_C.TRAIN.NUM_WORKERS = 2
_C.TRAIN.SNAPSHOT_DIR = "snapshot"
# A whole-model checkpoint (e.g. an earlier stage's model_final.pth) the run starts from
# (PySOT's key); its training-video list is carried over into this run's checkpoints.
_C.TRAIN.PRETRAINED = ""
_C.TRAIN.SEED = 0
# lr multiplier of the adjust gain (adjust.weight).  Its gradient is the raw correlation
# (~1e2), so it trains in its own group at lr * scale, the same as plain SGD on the
# normalised gain weight / ADJUST_GAIN_INIT.  -1: RASNET.ADJUST_GAIN_INIT ** 2 (1e-6).
_C.TRAIN.ADJUST_LR_SCALE = -1.0
# Arithmetic: "auto" (as TRACK.PRECISION), "fp32", "bf16" (autocast, CPU or CUDA) or
# "fp16" (CUDA only, GradScaler).
_C.TRAIN.PRECISION = "auto"
_C.TRAIN.GRAD_CLIP = 0.0              # max global grad norm; 0: no clipping
_C.TRAIN.CHECKPOINT_INTERVAL = 500    # steps between checkpoints; 0: at epoch ends only
_C.TRAIN.LOG_INTERVAL = 10            # steps per row of train_log.csv
# Stop when the loss is not finite, or above this factor times its running mean (an
# EMA from the first step).  0 disables the factor test (never the non-finite one).
_C.TRAIN.LOSS_EXPLODE_FACTOR = 20.0
_C.TRAIN.VAL_PAIRS = 256              # held-out pairs scored after every epoch; 0: none
_C.TRAIN.VAL_FRACTION = 0.05          # fraction of each source's videos/images held out
_C.TRAIN.MAX_RETRIES = 100            # consecutive unusable samples before giving up

# augmentation (SiamFC: stretch and translate; plus colour, blur, grayscale)
_C.TRAIN.AUG = CN()
_C.TRAIN.AUG.STRETCH = 0.05           # per-axis scale jitter of both crops: 1 +- STRETCH
_C.TRAIN.AUG.SHIFT = 8                # max target shift in the search crop (pixels, per axis)
_C.TRAIN.AUG.COLOR = 0.2              # brightness / contrast / saturation jitter strength
_C.TRAIN.AUG.BLUR = 0.1               # probability of a Gaussian blur, per crop
_C.TRAIN.AUG.GRAY = 0.05              # probability of a grayscale pair (both crops)

# data sources, mixed in proportion to WEIGHT * (NUM_USE if > 0 else number of
# videos/images).  TYPE: got10k | pysot | still | video.  Nodes of other names may be
# added in a YAML file (any key a TYPE accepts; the rest take the TYPE's defaults).
_C.TRAIN.DATASETS = CN(new_allowed=True)
_C.TRAIN.DATASETS.NAMES = ["STILL"]
# Keys of every source: TYPE; ROOT; ANNO (annotation file, where the TYPE has one);
# WEIGHT; NUM_USE (-1: all videos/images, as PySOT); FRAME_RANGE (max template-search
# distance in annotation steps, -1: TRAIN.MAX_FRAME_GAP); FRAME_SCALE (video frames per
# annotation step: Omega's |i - j| and MAX_FRAME_GAP count video frames).
# GOT-10k: ROOT = GOT-10k/train (or its parent); ANNO: a list file (default ROOT/list.txt).


def _source(type_, root, anno="", frame_range=-1, frame_scale=1):
    """A data-source node with the keys every source has."""
    node = CN(new_allowed=True)
    node.TYPE, node.ROOT, node.ANNO = type_, root, anno
    node.WEIGHT, node.NUM_USE = 1.0, -1
    node.FRAME_RANGE, node.FRAME_SCALE = frame_range, frame_scale
    return node


_C.TRAIN.DATASETS.GOT10K = _source("got10k", "training_dataset/got10k/train")
# PySOT's cropped training sets (crop511/ + JSON); FRAME_RANGE as in PySOT's configs.
_C.TRAIN.DATASETS.VID = _source("pysot", "training_dataset/vid/crop511",
                                "training_dataset/vid/train.json", frame_range=100)
# YouTube-BB is annotated at 1 frame/s: one step is 30 video frames
_C.TRAIN.DATASETS.YOUTUBEBB = _source("pysot", "training_dataset/yt_bb/crop511",
                                      "training_dataset/yt_bb/train.json", frame_range=3,
                                      frame_scale=30)
_C.TRAIN.DATASETS.COCO = _source("pysot", "training_dataset/coco/crop511",
                                 "training_dataset/coco/train2017.json", frame_range=1)
_C.TRAIN.DATASETS.DET = _source("pysot", "training_dataset/det/crop511",
                                "training_dataset/det/train.json", frame_range=1)
# Still images: ROOT = a folder of images, "skimage" (scikit-image's photos minus those
# of the RASNetBench benchmark) or "skimage:name,name". Pairs by a known random transform.
_C.TRAIN.DATASETS.STILL = _source("still", "skimage")
_C.TRAIN.DATASETS.STILL.MIN_SIZE = 0.1        # target side range, fraction of the
_C.TRAIN.DATASETS.STILL.MAX_SIZE = 0.4        # image's shorter side
_C.TRAIN.DATASETS.STILL.SCALE = 1.25          # search image zoom in [1/SCALE, SCALE]
_C.TRAIN.DATASETS.STILL.ROTATION = 10.0       # max rotation (degrees)
_C.TRAIN.DATASETS.STILL.TRANSLATE = 0.2       # max shift, fraction of the image size
_C.TRAIN.DATASETS.STILL.PHOTOMETRIC = 0.2     # colour change of the search image
_C.TRAIN.DATASETS.STILL.OCCLUDER = 0.3        # probability of an occluding patch
_C.TRAIN.DATASETS.STILL.DISTRACTORS = 2       # max recoloured copies of the target
# Unlabeled videos (files or frame folders): a textured region followed by optical
# flow, kept only when forward-backward, rigid-motion and correlation checks pass.
_C.TRAIN.DATASETS.VIDEO = _source("video", "training_dataset/videos")
_C.TRAIN.DATASETS.VIDEO.MIN_SIZE = 0.1        # region side range, fraction of the
_C.TRAIN.DATASETS.VIDEO.MAX_SIZE = 0.3        # frame's shorter side
_C.TRAIN.DATASETS.VIDEO.MAX_GAP = 10          # max frame distance followed
_C.TRAIN.DATASETS.VIDEO.FB_THRESH = 1.0       # forward-backward flow error (px)
_C.TRAIN.DATASETS.VIDEO.NCC_THRESH = 0.8      # min normalised correlation of the patches
_C.TRAIN.DATASETS.VIDEO.MIN_POINTS = 8        # min flow points inside the region

cfg = _C  # the global node, as in PySOT


def get_default_config():
    """A fresh copy of the defaults (never the global node)."""
    return _C.clone()


def bundled_configs():
    """Names of the configs shipped in the package (``offline/...`` for training recipes)."""
    names = []
    for d, _, files in os.walk(CONFIG_DIR):
        rel = os.path.relpath(d, CONFIG_DIR)
        names += [os.path.normpath(os.path.join(rel, f))[:-5] for f in files if f.endswith(".yaml")]
    return sorted(names)


def resolve_config(path):
    """A config file path: ``path`` itself when it is a file, else the bundled config of
    that name (``rasnet_mobilenetv2``, ``rasnet.yaml``, ``experiments/rasnet.yaml`` or
    ``offline/rasnet``), so the console scripts take the checkout's paths from anywhere."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    rel = path.replace(os.sep, "/")
    for prefix in ("experiments/", "rasnet_plugin/configs/"):
        rel = rel[len(prefix):] if rel.startswith(prefix) else rel
    for cand in (rel, rel + ".yaml"):
        full = os.path.join(CONFIG_DIR, cand)
        if ".." not in cand.split("/") and os.path.isfile(full):
            return full
    raise ConfigError("config file not found: %s (bundled configs: %s)"
                      % (path, ", ".join(bundled_configs())))


def load_config(path, base=None, _chain=()):
    """Merge a YAML file into a copy of `base` (default: the defaults).

    A top-level `_BASE_: other.yaml` (relative to the file) is merged first, so a
    variant config states only what it changes. Unknown or misspelt keys, and values of
    the wrong type, raise ConfigError naming the key and the file.
    """
    node = (base if base is not None else _C).clone()
    path = resolve_config(path) if not _chain else path
    if not os.path.isfile(path):
        raise ConfigError("config file not found: %s" % path)
    if os.path.realpath(path) in _chain:
        raise ConfigError("%s: _BASE_ chain loops back to itself" % path)
    try:
        with open(path) as f:
            update = CN.load_cfg(f)
    except Exception as e:  # malformed YAML and the like
        raise ConfigError("%s: cannot read config: %s" % (path, e)) from None
    parent = update.pop("_BASE_", None)
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise ConfigError("%s: _BASE_ must be a file name, got %r" % (path, parent))
        node = load_config(os.path.join(os.path.dirname(path), parent), node,
                           _chain + (os.path.realpath(path),))
    try:
        node.merge_from_other_cfg(update)
    except KeyError as e:  # yacs: "Non-existent config key: TRACK.SCALE_NUMM"
        raise ConfigError("%s: %s" % (path, e.args[0] if e.args else e)) from None
    except ValueError as e:  # yacs: type mismatch, e.g. a string for a float
        raise ConfigError("%s: %s" % (path, e)) from None
    except Exception as e:
        raise ConfigError("%s: cannot read config: %s" % (path, e)) from None
    _reject_nulls(node, base if base is not None else _C, path)
    return node


def _reject_nulls(node, ref, path, prefix=""):
    # yacs lets `null` replace a value of any type; a typed key set to null would
    # only fail later, far from the file that caused it
    for key, value in node.items():
        if key not in ref:
            continue
        if isinstance(value, CN) and isinstance(ref[key], CN):
            _reject_nulls(value, ref[key], path, prefix + key + ".")
        elif value is None and ref[key] is not None:
            raise ConfigError("%s: %s%s is null; expected a %s like the default %r"
                              % (path, prefix, key, type(ref[key]).__name__, ref[key]))
