"""The training loop: SGD on the Omega-weighted balanced logistic loss, checkpoints,
exact resume, validation, curves, DistributedDataParallel and mixed precision.

Schedule: the learning rate is constant within an epoch and log-spaced over the epochs,
lr(e) = BASE_LR * (END_LR / BASE_LR) ** (e / (EPOCH - 1)), e = 0..EPOCH-1 (SiamFC's
logspace(-2, -5, EPOCH)): the first epoch runs at BASE_LR, the last at END_LR. The
adjust gain (adjust.weight) trains at lr * ADJUST_LR_SCALE without weight decay
(see config.py); every other parameter at lr with WEIGHT_DECAY, backbone layers at
lr * BACKBONE.LAYERS_LR (layers not in BACKBONE.TRAIN_LAYERS are frozen).

Steps: an epoch is PAIRS_PER_EPOCH // (BATCH_SIZE * world size) steps; BATCH_SIZE pairs
per process and step. Checkpoints (`checkpoint_latest.pth` every CHECKPOINT_INTERVAL
steps and at every epoch end, `checkpoint_e<N>.pth` after epoch N) are written by rank 0
only, atomically (temporary file + os.replace), and only with weights that are finite and
have passed the loss guard: a periodic checkpoint of step k is written during step k + 1,
once its weights gave a finite, non-exploding loss; an epoch-end one after a finite
validation loss. A kill loses at most one checkpoint interval (and a step).
"""
import copy
import logging
import math
import os
import random
import signal
import time
import warnings

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from ..config import ConfigError
from ..fileio import atomic_save, atomic_write_text, remove_stale_temps
from ..hardware import check_device, describe, resolve_precision, warn_if_emulated
from ..models import build_model
from ..models.model_load import (CheckpointError, check_finite, check_keys, extract_state_dict,
                                 load_pretrained_backbone, load_state_dict_checked, safe_load)
from ..tracker.siamese import check_track_config
from .augment import AugParams, train_search_size
from .curves import CurveLogger
from .loss import label_maps, pair_losses
from .pairs import VAL_EPOCH, DataUnusable, EpochBatches, PairDataset, omega
from .sources import build_sources

__all__ = ["Trainer", "TrainingDiverged", "LossGuard", "lr_at", "atomic_save", "rng_state",
           "set_rng_state", "init_distributed", "check_train_config", "CHECKPOINT_VERSION"]

logger = logging.getLogger("rasnet_plugin.training")
CHECKPOINT_VERSION = 1
LATEST = "checkpoint_latest.pth"
# what load_checkpoint needs of a checkpoint (state_dict writes them all)
TRAINING_KEYS = ("state_dict", "optimizer", "step", "rng", "sampler", "guard")
FINAL = "model_final.pth"
BEST = "model_best.pth"          # lowest validation loss so far (epoch ends)


class TrainingDiverged(RuntimeError):
    """The loss or the weights stopped being usable; the message names the step."""


def lr_at(epoch, base_lr, end_lr, epochs):
    """SiamFC's log-spaced schedule: BASE_LR at epoch 0, END_LR at epoch EPOCH - 1."""
    if epochs <= 1:
        return float(base_lr)
    return float(base_lr * (end_lr / base_lr) ** (min(epoch, epochs - 1) / (epochs - 1)))


class LossGuard:
    """Stops a run whose loss is not finite, or above `factor` x its running mean.

    The running mean is an exponential moving average (momentum 0.98) of the accepted
    losses, started by the first one; the factor test starts after `warmup` accepted steps
    (factor <= 0 disables it). The balanced logistic loss starts near log 2 and only
    decreases in a healthy run, so a batch 20 times the running mean is a blow-up.
    """

    def __init__(self, factor=20.0, warmup=1, momentum=0.98):
        self.factor, self.warmup, self.momentum = float(factor), int(warmup), float(momentum)
        self.mean, self.count = 0.0, 0

    def check(self, step, loss):
        if not math.isfinite(loss):
            raise TrainingDiverged("step %d: the loss is %s (not finite)" % (step, loss))
        if self.factor > 0 and self.count >= self.warmup and loss > self.factor * self.mean:
            raise TrainingDiverged("step %d: the loss exploded: %.4g is more than %g x its "
                                   "running mean %.4g" % (step, loss, self.factor, self.mean))
        self.mean = loss if self.count == 0 else \
            self.momentum * self.mean + (1 - self.momentum) * loss
        self.count += 1

    def state_dict(self):
        return {"mean": float(self.mean), "count": int(self.count)}

    def load_state_dict(self, d):
        self.mean, self.count = float(d["mean"]), int(d["count"])


# ---------------------------------------------------------------- checkpoint helpers



def rng_state():
    """Python, numpy, torch (and CUDA) RNG states as tensors (loadable with weights_only)."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
             "numpy_pos": torch.tensor([int(pos), int(has_gauss)], dtype=torch.int64),
             "numpy_gauss": torch.tensor(float(gauss), dtype=torch.float64),
             "python": torch.tensor(py_state, dtype=torch.int64),
             "python_version": int(version),
             "python_gauss": torch.tensor(math.nan if py_gauss is None else py_gauss,
                                          dtype=torch.float64)}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state):
    torch.set_rng_state(state["torch"])
    pos, has_gauss = (int(v) for v in state["numpy_pos"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), pos,
                         has_gauss, float(state["numpy_gauss"])))
    g = float(state["python_gauss"])
    random.setstate((int(state["python_version"]), tuple(int(v) for v in state["python"]),
                     None if math.isnan(g) else g))
    if "cuda" in state and torch.cuda.is_available():
        cuda = list(state["cuda"])
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


# ---------------------------------------------------------------- distributed

def init_distributed(device=None):
    """Join the process group torchrun describes (WORLD_SIZE > 1): NCCL on CUDA, gloo on
    CPU. Returns (rank, world size, local rank); (0, 1, 0) when not distributed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and (device is None or "cuda" in str(device))
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return dist.get_rank(), dist.get_world_size(), local_rank


def check_train_config(cfg, device):
    """ConfigError naming the first bad TRACK/TRAIN key of `cfg` for training on `device`
    (checked by the CLI before the output folder is set up, and by every Trainer)."""
    t, tr = cfg.TRAIN, cfg.TRACK
    # TRACK first: the division below needs it, and the saved config.yaml tracks with it
    check_track_config(tr)
    if t.PRECISION.lower() not in ("auto", "fp32", "bf16", "fp16"):
        raise ConfigError("TRAIN.PRECISION must be auto, fp32, bf16 or fp16, got %r"
                          % t.PRECISION)
    if t.PRECISION.lower() == "fp16" and torch.device(device).type != "cuda":
        raise ConfigError("TRAIN.PRECISION fp16 needs CUDA (GradScaler); use bf16 on the CPU")
    size = train_search_size(cfg)
    if size < tr.EXEMPLAR_SIZE:
        raise ConfigError("TRAIN.SEARCH_SIZE %d is smaller than TRACK.EXEMPLAR_SIZE %d"
                          % (size, tr.EXEMPLAR_SIZE))
    if (size - tr.EXEMPLAR_SIZE) % tr.TOTAL_STRIDE:
        # the network's cells lie (EXEMPLAR_SIZE - 1) / 2 + k * TOTAL_STRIDE into the crop;
        # only then is the middle of the map on the crop's centre, where the labels put it
        raise ConfigError("TRAIN.SEARCH_SIZE %d: SEARCH_SIZE - TRACK.EXEMPLAR_SIZE (%d) must be "
                          "a multiple of TRACK.TOTAL_STRIDE %d, else the label map is off the "
                          "response by %.1f px" % (size, tr.EXEMPLAR_SIZE, tr.TOTAL_STRIDE,
                                                   ((size - tr.EXEMPLAR_SIZE) % tr.TOTAL_STRIDE) / 2))
    out = (size - tr.EXEMPLAR_SIZE) // tr.TOTAL_STRIDE + 1
    if out != t.OUTPUT_SIZE:
        raise ConfigError("TRAIN.OUTPUT_SIZE %d does not match the network's %dx%d response "
                          "to %dx%d search crops" % (t.OUTPUT_SIZE, out, out, size, size))
    for key in ("EPOCH", "PAIRS_PER_EPOCH", "BATCH_SIZE"):
        if t[key] < 1:
            raise ConfigError("TRAIN.%s must be >= 1, got %r" % (key, t[key]))
    if not (t.BASE_LR > 0 and t.END_LR > 0):
        raise ConfigError("TRAIN.BASE_LR and TRAIN.END_LR must be > 0")


def _dist_info():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    return 0, 1, 0


def _worker_init(_):
    import cv2
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    # a terminal's Ctrl-C reaches the whole process group: a worker killed by it would fail
    # the main process's next batch before it has written its checkpoint
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cpu_copy(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj


def _collate(items):
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _batches(loader):
    """Iterate `loader`; a DataUnusable raised in a DataLoader worker comes back with its
    own message (the files at fault), not wrapped in the worker's traceback."""
    try:
        yield from loader
    except DataUnusable as e:
        text, marker = str(e), "DataUnusable: "
        if "Original Traceback" not in text or marker not in text:
            raise
        raise DataUnusable(text.rsplit(marker, 1)[1].strip()) from None


# ---------------------------------------------------------------- the trainer

class Trainer:
    """Train a RASNet from `cfg` into `output_dir`.

        trainer = Trainer(cfg, "snapshot", device="cpu", resume="auto")
        trainer.train()                  # -> path of model_final.pth

    `sources` / `val_sources` (lists of Source) replace the ones cfg.TRAIN.DATASETS
    describes. `after_step(trainer)` is called after every optimizer step (tests).
    A folder that holds an earlier run's checkpoint is refused (FileExistsError) unless
    `resume` continues it or `overwrite=True` starts afresh over it.
    """

    def __init__(self, cfg, output_dir=None, device=None, resume=None, progress=True,
                 sources=None, val_sources=None, overwrite=False):
        self.cfg = cfg.clone()
        self.rank, self.world, self.local_rank = _dist_info()
        self.is_main = self.rank == 0
        self.output_dir = os.path.abspath(output_dir or self.cfg.TRAIN.SNAPSHOT_DIR)
        self._refuse_earlier_run(resume, overwrite)
        self.progress = progress
        self.after_step = None
        self._stop_requested = False   # set by a signal, on this process
        self.stop_signal = None        # the signal that asked for it (signal.SIGINT, ...)
        self._stop_agreed = False      # the world's OR of it, updated every step
        self.device = self._device(device)
        self._check_cfg()
        self._seed()
        self._build_model()
        self._build_optimizer()
        self.net = self.model
        self._trunk_on = None              # whether the trunk trains now (_set_trainable)
        self._setup_precision()
        val_sources = self._build_data(sources, val_sources)
        self._init_counters()
        resumed = self._resume_or_start(resume)
        self.curves = CurveLogger(self.output_dir, self.step if resumed else None) \
            if self.is_main else None
        if self.is_main:
            atomic_write_text(os.path.join(self.output_dir, "config.yaml"), self.cfg.dump())
            self._log_start(val_sources)

    # ------------------------------------------------------------ setup
    def _refuse_earlier_run(self, resume, overwrite):
        """FileExistsError when the output folder holds an earlier run's checkpoint that
        `resume` does not continue and `overwrite` does not allow replacing."""
        if not resume and not overwrite and os.path.isfile(os.path.join(self.output_dir, LATEST)):
            # checked before anything is written: a fresh start would replace the logs and
            # then the checkpoints of that run
            raise FileExistsError(
                "%s holds the checkpoint of an earlier run (%s): continue it with --resume "
                "auto, or start afresh over it with --overwrite" % (self.output_dir, LATEST))

    def _seed(self):
        """Seed torch, numpy and random with TRAIN.SEED + rank (in this order)."""
        seed = int(self.cfg.TRAIN.SEED)
        torch.manual_seed(seed + self.rank)
        np.random.seed((seed + self.rank) % 2 ** 32)
        random.seed(seed + self.rank)

    def _build_model(self):
        """The network, with BACKBONE.PRETRAINED / TRAIN.PRETRAINED loaded, on the device in
        training mode."""
        t = self.cfg.TRAIN
        try:
            self.model = build_model(self.cfg)
        except ValueError as e:   # a bad BACKBONE/ADJUST/RASNET key, named in the message
            raise ConfigError(str(e)) from None
        self.inherited_videos = []         # training videos of TRAIN.PRETRAINED's run
        if self.cfg.BACKBONE.PRETRAINED:
            path = load_pretrained_backbone(self.model.backbone, self.cfg.BACKBONE.PRETRAINED)
            if self.is_main:
                logger.info("backbone initialised from %s", path)
        if t.PRETRAINED:
            self._load_whole(t.PRETRAINED)
        self.model.to(self.device).train()

    def _build_optimizer(self):
        """SGD over the parameter groups (`_param_groups`)."""
        t = self.cfg.TRAIN
        groups = self._param_groups()      # before DDP looks at them
        self.optimizer = torch.optim.SGD(groups, lr=t.BASE_LR, momentum=t.MOMENTUM,
                                         weight_decay=t.WEIGHT_DECAY)

    def _setup_precision(self):
        """TRAIN.PRECISION resolved for the device: the autocast dtype and the GradScaler."""
        t = self.cfg.TRAIN
        precision = resolve_precision(t.PRECISION, self.device)
        warn_if_emulated(t.PRECISION, self.device, "TRAIN.PRECISION")
        self.precision = precision
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")

    def _build_data(self, sources, val_sources):
        """The training and validation pair sets (from cfg.TRAIN.DATASETS where `sources` /
        `val_sources` are None); returns the validation sources."""
        t = self.cfg.TRAIN
        seed = int(t.SEED)
        if sources is None:
            sources = build_sources(self.cfg, "train")
        if val_sources is None:
            val_sources = build_sources(self.cfg, "val") if t.VAL_PAIRS > 0 else []
        self.aug = AugParams.from_cfg(self.cfg)
        self.train_set = PairDataset(sources, self.aug, seed, t.MAX_RETRIES)
        self.val_set = PairDataset(val_sources, self.aug, seed, t.MAX_RETRIES) \
            if val_sources and t.VAL_PAIRS > 0 else None
        self._val_cache = None
        return val_sources

    def _init_counters(self):
        """Steps, checkpoint bookkeeping, the loss guard and the skip counts of a fresh run."""
        t = self.cfg.TRAIN
        self.steps_per_epoch = max(1, t.PAIRS_PER_EPOCH // (t.BATCH_SIZE * self.world))
        self.total_steps = t.EPOCH * self.steps_per_epoch
        self.step = 0
        self.last_checkpoint_step = None
        self._pending = None               # (step, state) of a deferred checkpoint
        self.guard = LossGuard(t.LOSS_EXPLODE_FACTOR)
        self.best_val = math.inf
        self.counts = {"skipped": 0, "rejected": 0}
        self.load_skipped = self.train_set.load_skipped + \
            (self.val_set.load_skipped if self.val_set else 0)

    def _resume_or_start(self, resume):
        """Clear stale temporary files, resume from `resume` if given, set the learning rate
        and trainable layers for the current epoch; returns the checkpoint resumed from."""
        if self.is_main:
            remove_stale_temps(self.output_dir)
        resumed = self._resume(resume) if resume else None
        if resumed:
            self.last_checkpoint_step = self.step
        elif self.is_main and os.path.isfile(os.path.join(self.output_dir, LATEST)):
            logger.warning("%s holds a checkpoint: starting afresh over it (overwrite)",
                           self.output_dir)
        self._set_lr(self.step // self.steps_per_epoch)
        return resumed

    def _log_start(self, val_sources):
        """The start-up log line (run size, device, sources) and the load-time skip count."""
        t = self.cfg.TRAIN
        logger.info("training %s: %d epochs x %d steps x %d pairs x %d process(es), "
                    "device %s, %s; sources: %s; validation: %s; output %s",
                    self.cfg.META_ARC, t.EPOCH, self.steps_per_epoch, t.BATCH_SIZE,
                    self.world, self.device, describe(self.device, self.precision),
                    ", ".join("%s (%d items, share %.2f)" % (s.name, len(s), p)
                              for s, p in zip(self.train_set.sources, self.train_set.probs)),
                    "%d pairs from %s" % (t.VAL_PAIRS, ", ".join(s.name for s in val_sources))
                    if self.val_set else "none", self.output_dir)
        if self.load_skipped:
            logger.warning("%d corrupt annotation entries were skipped while loading",
                           self.load_skipped)

    def _device(self, spec):
        if spec:
            dev = check_device(spec)
            if dev.type == "cuda" and dev.index is None:
                dev = torch.device("cuda", self.local_rank)
            return dev
        if self.cfg.CUDA and torch.cuda.is_available():
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def _check_cfg(self):
        check_train_config(self.cfg, self.device)

    def _load_whole(self, path):
        """TRAIN.PRETRAINED: a whole-model checkpoint of this network (strict)."""
        ckpt = safe_load(path)  # read once: the weights and the videos they learned from
        load_state_dict_checked(self.model, ckpt, path)
        self.inherited_videos = list(ckpt.get("videos", []))
        if self.is_main:
            logger.info("model initialised from %s (%d training videos carried over)", path,
                        len(self.inherited_videos))

    def _param_groups(self):
        t, b = self.cfg.TRAIN, self.cfg.BACKBONE
        scale = t.ADJUST_LR_SCALE
        if scale < 0:
            scale = self.cfg.RASNET.ADJUST_GAIN_INIT ** 2
        layers = [n for n, _ in self.model.backbone.named_children()]
        unknown = [n for n in b.TRAIN_LAYERS if n not in layers]
        if unknown:
            raise ConfigError("BACKBONE.TRAIN_LAYERS: %s not layers of the %s trunk (its layers: "
                              "%s)" % (", ".join(unknown), b.TYPE, ", ".join(layers)))
        adjust, backbone, rest = [], [], []
        for name, p in self.model.named_parameters():
            if name.startswith("backbone."):
                if name.split(".")[1] not in b.TRAIN_LAYERS:
                    p.requires_grad_(False)    # never trains
                    continue
                backbone.append(p)             # trains from BACKBONE.TRAIN_EPOCH on
            elif name == "adjust.weight":
                adjust.append(p)
            else:
                rest.append(p)
        groups = [{"params": rest, "lr_scale": 1.0, "name": "head"},
                  {"params": backbone, "lr_scale": float(b.LAYERS_LR), "name": "backbone"},
                  {"params": adjust, "lr_scale": float(scale), "weight_decay": 0.0,
                   "name": "adjust_gain"}]
        return [g for g in groups if g["params"]]

    def backbone_trains(self, epoch):
        """Whether BACKBONE.TRAIN_LAYERS train in (0-based) `epoch` (PySOT: from TRAIN_EPOCH)."""
        return epoch >= int(self.cfg.BACKBONE.TRAIN_EPOCH)

    def _set_trainable(self, epoch):
        """Freeze the whole trunk before BACKBONE.TRAIN_EPOCH, then let TRAIN_LAYERS train.
        Frozen layers keep their BatchNorm statistics (eval mode). Parameters without a
        gradient are skipped by SGD, so the optimizer and its state stay the same."""
        on = self.backbone_trains(epoch)
        layers = set(self.cfg.BACKBONE.TRAIN_LAYERS)
        for name, layer in self.model.backbone.named_children():
            trains = on and name in layers
            for p in layer.parameters():
                p.requires_grad_(trains)
            layer.train(trains and self.model.training)
        if on != self._trunk_on:
            self._trunk_on = on
            self._wrap()

    def _wrap(self):
        """DDP over the parameters that train now (rebuilt when the trunk unfreezes, as
        PySOT does: DDP's reducer fixes its parameter set when it is built)."""
        if self.world <= 1:
            return
        ids = [self.device.index] if self.device.type == "cuda" else None
        # with channels-last inputs the grad of the (64,1,3,3) last deconvolution comes
        # out with channels-last strides (equivalent for its size-1 dim): DDP copies
        # those 576 numbers into its bucket and warns at every step. Harmless: silenced.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view")
        # DDP broadcasts rank 0's weights to every process
        self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def lr(self, epoch=None):
        t = self.cfg.TRAIN
        e = self.step // self.steps_per_epoch if epoch is None else epoch
        return lr_at(e, t.BASE_LR, t.END_LR, t.EPOCH)

    def _set_lr(self, epoch):
        self._set_trainable(epoch)
        base = self.lr(epoch)
        for g in self.optimizer.param_groups:
            g["lr"] = base * g["lr_scale"]

    # ------------------------------------------------------------ checkpoints
    def _resume_candidates(self):
        """checkpoint_latest.pth, then the epoch checkpoints, newest first."""
        epochs = []
        for name in os.listdir(self.output_dir) if os.path.isdir(self.output_dir) else []:
            stem = name[len("checkpoint_e"):-len(".pth")]
            if name.startswith("checkpoint_e") and name.endswith(".pth") and stem.isdigit():
                epochs.append((int(stem), name))
        names = [LATEST] + [name for _, name in sorted(epochs, reverse=True)]
        return [p for p in (os.path.join(self.output_dir, n) for n in names) if os.path.isfile(p)]

    def _resume(self, resume):
        """Load the checkpoint `resume` names (a path, or "auto": the newest one in the
        output folder that loads, with a warning for each one that does not); returns its
        path, or None when "auto" finds none."""
        if resume != "auto":
            if not os.path.isfile(resume):
                raise FileNotFoundError("checkpoint to resume from not found: %s" % resume)
            self.load_checkpoint(resume)
            return resume
        candidates = self._resume_candidates()
        if not candidates:
            if self.is_main:
                logger.info("--resume auto: no checkpoint in %s yet, starting from scratch",
                            self.output_dir)
            return None
        for path in candidates:
            try:
                self.load_checkpoint(path)
                return path
            except CheckpointError as e:
                logger.warning("--resume auto: %s; trying an older checkpoint", e)
        raise CheckpointError("--resume auto: no checkpoint in %s loads (tried %s)"
                              % (self.output_dir, ", ".join(map(os.path.basename, candidates))))

    def state_dict(self):
        epoch, pos = divmod(self.step, self.steps_per_epoch)
        t = self.cfg.TRAIN
        return {"state_dict": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
                "step": self.step, "epoch": epoch,
                "cfg": self.cfg.dump(),
                "rng": rng_state(),
                "sampler": {"epoch": epoch, "position": pos,
                            "steps_per_epoch": self.steps_per_epoch,
                            "batch_size": int(t.BATCH_SIZE), "world_size": self.world,
                            "seed": int(t.SEED)},
                "guard": self.guard.state_dict(),
                "counts": dict(self.counts),
                "videos": self.videos(), "recipe": self.recipe(),
                "best_val": float(self.best_val),
                "version": CHECKPOINT_VERSION}

    def load_checkpoint(self, path):
        """Restore the run saved in `path` (see state_dict). CheckpointError naming the file
        for one that is not a training checkpoint of this network; nothing is changed then."""
        ckpt = safe_load(path)
        missing = [k for k in TRAINING_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
        if missing:
            raise CheckpointError("%s: not a training checkpoint (no %s); weights alone "
                                  "initialise a run through TRAIN.PRETRAINED"
                                  % (path, ", ".join(repr(k) for k in missing)))
        state = extract_state_dict(ckpt, path)       # each raises, naming the file
        check_finite(state, path)
        check_keys(self.model, state, path)
        optimizer = copy.deepcopy(self.optimizer.state_dict())
        try:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        except (ValueError, KeyError, RuntimeError) as e:
            self.optimizer.load_state_dict(optimizer)
            raise CheckpointError("%s: its optimizer state does not fit this config's "
                                  "parameters (%s)" % (path, e)) from None
        self.model.load_state_dict(state, strict=False)  # strict in effect: keys checked above
        if ckpt.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(ckpt["scaler"])
        s = ckpt["sampler"]
        if (s["steps_per_epoch"], s["batch_size"], s["world_size"]) == \
                (self.steps_per_epoch, self.cfg.TRAIN.BATCH_SIZE, self.world):
            self.step = int(ckpt["step"])
        else:  # another batch size / world size: continue after the pairs already seen
            done = s["position"] * s["batch_size"] * s["world_size"]
            pos = min(done // (self.cfg.TRAIN.BATCH_SIZE * self.world), self.steps_per_epoch)
            self.step = s["epoch"] * self.steps_per_epoch + pos
            if self.is_main:
                logger.warning("resuming with a different batch/world size: epoch %d, step %d "
                               "(the run continues, but not identically)", s["epoch"], pos)
        if s["seed"] != self.cfg.TRAIN.SEED and self.is_main:
            logger.warning("resuming with TRAIN.SEED %d (checkpoint: %d): different pairs",
                           self.cfg.TRAIN.SEED, s["seed"])
        set_rng_state(ckpt["rng"])
        self.guard.load_state_dict(ckpt["guard"])
        self.best_val = float(ckpt.get("best_val", math.inf))
        self.counts.update({k: int(v) for k, v in ckpt.get("counts", {}).items()})
        if self.is_main:
            logger.info("resumed from %s at step %d (epoch %d)", path, self.step,
                        self.step // self.steps_per_epoch + 1)

    def _weights_finite(self):
        ok = all(bool(torch.isfinite(t).all()) for t in self.model.state_dict().values()
                 if t.is_floating_point())
        if self.world > 1:
            flag = torch.tensor([1.0 if ok else 0.0], device=self._comm_device())
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            ok = bool(flag.item() > 0)
        return ok

    def _check_finite(self):
        if not self._weights_finite():
            raise TrainingDiverged("step %d: the weights are not finite; checkpoint not written"
                                   % self.step)

    def save_checkpoint(self, epoch_end=False):
        """Write checkpoint_latest.pth (and checkpoint_e<N>.pth at an epoch end) now, rank 0
        only. Refuses (TrainingDiverged) when the weights are not finite: the last good
        checkpoint stays as it is."""
        self._check_finite()
        self._pending = None
        self._write(self.step, self.state_dict(), epoch_end)

    def _write(self, step, state, epoch_end=False):
        self.last_checkpoint_step = step
        if not self.is_main:
            return
        if epoch_end:
            name = "checkpoint_e%d.pth" % (step // self.steps_per_epoch)
            atomic_save(state, os.path.join(self.output_dir, name))
        atomic_save(state, os.path.join(self.output_dir, LATEST))

    def _defer_checkpoint(self):
        """The periodic checkpoint: a CPU copy of the state now, written once the next
        step's loss has passed the guard, i.e. once these weights are known to give a
        finite, non-exploding loss. A blow-up never reaches checkpoint_latest.pth."""
        self._check_finite()
        self._pending = (self.step, _cpu_copy(self.state_dict()) if self.is_main else None)

    def _flush_pending(self):
        if self._pending is not None:
            step, state = self._pending
            self._pending = None
            self._write(step, state)

    def videos(self):
        """Every video/image this run learned from or selected with: [{source, name, split}],
        those of TRAIN.PRETRAINED's run included (what the contamination guard matches)."""
        out = [dict(v) for v in self.inherited_videos]
        for split, ds in (("train", self.train_set), ("val", self.val_set)):
            for src in (ds.sources if ds is not None else []):
                out += [{"source": src.name, "name": n, "split": split} for n in src.item_names()]
        return out

    def recipe(self):
        """How these weights were made: config, steps, pairs and data sources."""
        t = self.cfg.TRAIN
        return {"config": self.cfg.dump(), "steps": int(self.step),
                "pairs": int(self.step * t.BATCH_SIZE * self.world),
                "pretrained": str(t.PRETRAINED), "backbone_pretrained": str(self.cfg.BACKBONE.PRETRAINED),
                "data": [{"source": s.name, "type": s.TYPE, "root": str(t.DATASETS[s.name].ROOT)
                          if s.name in t.DATASETS else s.root, "items": len(s),
                          "share": round(float(p), 4)}
                         for s, p in zip(self.train_set.sources, self.train_set.probs)]}

    def weights(self):
        """The shippable file: weights, config and provenance (no optimizer, no RNG)."""
        return {"state_dict": self.model.state_dict(), "cfg": self.cfg.dump(),
                "videos": self.videos(), "recipe": self.recipe()}

    def save_final(self):
        self._check_finite()
        path = os.path.join(self.output_dir, FINAL)
        if self.is_main:
            atomic_save(self.weights(), path)
        return path

    # ------------------------------------------------------------ steps
    def _comm_device(self):
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def _inputs(self, batch):
        # channels-last images: the backbone's and the fused op's fast layout (on the
        # 2-core CPU, batch 8 fp32: 9.1 pairs/s against 8.2 for contiguous NCHW)
        nb, cl = self.device.type == "cuda", torch.channels_last
        z = batch["template"].to(self.device, non_blocking=nb).float().contiguous(memory_format=cl)
        x = batch["search"].to(self.device, non_blocking=nb).float().contiguous(memory_format=cl)
        t, tr = self.cfg.TRAIN, self.cfg.TRACK
        labels, weights = label_maps(batch["offset"], t.OUTPUT_SIZE, tr.TOTAL_STRIDE,
                                     t.POSITIVE_RADIUS)
        om = omega(batch["gap"], t.PAIR_SIGMA)
        return z, x, labels.to(self.device), weights.to(self.device), om.to(self.device)

    def train_step(self, batch):
        """One SGD step on a batch; returns the global Omega-weighted batch loss."""
        z, x, labels, weights, om = self._inputs(batch)
        with self._autocast():
            response = self.net(z, x)
        per_pair = pair_losses(response, labels, weights)
        # the global batch loss is sum(omega * loss) / sum(omega) over ALL processes;
        # DDP averages the gradients over the world, hence the factor `world`
        stats = torch.stack([(om * per_pair).sum().detach(), om.sum(),
                             batch["skipped"].sum().to(om), batch["rejected"].sum().to(om),
                             torch.tensor(float(self._stop_requested), device=om.device)])
        if self.world > 1:
            stats = stats.to(self._comm_device())
            dist.all_reduce(stats)
            stats = stats.to(om.device)
        loss_sum, om_total, skipped, rejected, stop = stats.tolist()
        self.counts["skipped"] += int(skipped)
        self.counts["rejected"] += int(rejected)
        self._stop_agreed = stop > 0
        loss_value = loss_sum / om_total
        # check before the update: a poisoned loss never reaches the weights
        self.guard.check(self.step + 1, loss_value)
        loss = (om * per_pair).sum() / om_total * self.world
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.cfg.TRAIN.GRAD_CLIP > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.TRAIN.GRAD_CLIP)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        return loss_value

    def _loader(self, dataset, batches, workers):
        return DataLoader(dataset, batch_sampler=batches, num_workers=workers,
                          collate_fn=_collate, pin_memory=self.device.type == "cuda",
                          worker_init_fn=_worker_init if workers > 0 else None)

    # ------------------------------------------------------------ validation
    def _val_batches(self):
        """This process's share of the fixed validation pairs, built once (uint8)."""
        if self._val_cache is None:
            t = self.cfg.TRAIN
            idx = list(range(self.rank, t.VAL_PAIRS, self.world))
            chunks = [[(VAL_EPOCH, k) for k in idx[i:i + t.BATCH_SIZE]]
                      for i in range(0, len(idx), t.BATCH_SIZE)]
            self._val_cache = list(_batches(self._loader(self.val_set, chunks, t.NUM_WORKERS)))
        return self._val_cache

    @torch.no_grad()
    def validate(self):
        """Omega-weighted mean loss over the held-out pairs (None without a validation set)."""
        if self.val_set is None:
            return None
        self.model.eval()
        total = torch.zeros(2, dtype=torch.float64)
        try:
            for batch in self._val_batches():
                z, x, labels, weights, om = self._inputs(batch)
                with self._autocast():
                    response = self.model(z, x)
                per_pair = pair_losses(response, labels, weights)
                total += torch.stack([(om * per_pair).sum(), om.sum()]).double().cpu()
        finally:
            self.model.train()
            self._set_trainable(self.step // self.steps_per_epoch)  # frozen BNs stay eval
        if self.world > 1:
            total = total.to(self._comm_device())
            dist.all_reduce(total)
        return float(total[0] / total[1]) if total[1] > 0 else None

    # ------------------------------------------------------------ the loop
    def request_stop(self, signum=None, frame=None):
        """Finish the current step, write a checkpoint and return (the SIGTERM handler).

        Under DDP every process stops after the same step: the request travels with the
        step's all-reduce, so the processes stop one step after the first one got it.
        """
        if self.stop_signal is None:
            self.stop_signal = signum
        self._stop_requested = True

    def _interrupt(self, signum, frame):
        """The first Ctrl-C (SIGINT): as SIGTERM; a second one interrupts at once."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.is_main:
            # os.write: a print could re-enter a write the signal interrupted
            os.write(2, b"\ninterrupted: finishing the step and writing a checkpoint "
                        b"(Ctrl-C again to stop at once, losing the steps since the last one)\n")
        self.request_stop(signum, frame)

    def _stopping(self):
        return self._stop_agreed or (self.world == 1 and self._stop_requested)

    def train(self, max_steps=None):
        """Run to the end (or to global step `max_steps`, checkpointing there).

        Returns the path of model_final.pth, or None when stopped early. Raises
        TrainingDiverged (naming the step and the last good checkpoint) when the loss or the
        weights stop being finite, or the loss explodes.
        """
        try:
            return self._train(max_steps)
        except TrainingDiverged as e:
            if self.last_checkpoint_step is None:
                where = "no checkpoint was written before"
            else:
                where = "the last good checkpoint is kept: %s (step %d)" % (
                    os.path.join(self.output_dir, LATEST), self.last_checkpoint_step)
            raise TrainingDiverged("%s; %s" % (e, where)) from None

    def _train(self, max_steps):
        from tqdm import tqdm

        t = self.cfg.TRAIN
        end = self.total_steps if max_steps is None else min(self.total_steps, int(max_steps))
        interval = int(t.CHECKPOINT_INTERVAL)
        spe = self.steps_per_epoch
        window = {"loss": 0.0, "n": 0, "time": time.time()}
        while self.step < end:
            epoch, pos = divmod(self.step, spe)
            self._set_lr(epoch)
            batches = EpochBatches(epoch, min(spe, end - epoch * spe), t.BATCH_SIZE,
                                   self.rank, self.world, start=pos)
            bar = tqdm(total=spe, initial=pos, desc="epoch %d/%d" % (epoch + 1, t.EPOCH),
                       disable=not (self.is_main and self.progress), dynamic_ncols=True,
                       mininterval=1.0, leave=False)
            for batch in _batches(self._loader(self.train_set, batches, t.NUM_WORKERS)):
                loss = self.train_step(batch)     # raises before its update on a bad loss
                self._flush_pending()             # ... so the previous weights were good
                window["loss"] += loss
                window["n"] += 1
                if self.after_step is not None:
                    self.after_step(self)
                bar.update(1)
                if self.step % max(1, t.LOG_INTERVAL) == 0 or self.step % spe == 0:
                    self._log_window(window, epoch, bar)
                at_epoch_end = self.step % spe == 0
                if interval > 0 and self.step % interval == 0 and not at_epoch_end:
                    self._defer_checkpoint()
                if self._stopping() or (self.step >= end and not at_epoch_end):
                    self._log_window(window, epoch, bar)   # the CSV covers every step
                    break
            bar.close()
            stopping = self._stopping()
            if self.step % spe == 0:       # an epoch is complete
                self._end_epoch(epoch)
                window["time"] = time.time()   # pairs/s counts training, not validation
            elif self.step >= end or stopping:
                self.save_checkpoint()
            if stopping:
                if self.is_main:
                    logger.info("stop requested: checkpoint written at step %d", self.step)
                return None
        if self.step < self.total_steps:
            return None
        path = self.save_final()
        if self.is_main:
            self.curves.plot()
            logger.info("done: %d steps; %d corrupt samples skipped (+%d entries at load), "
                        "%d pairs rejected by quality checks; final weights: %s",
                        self.step, self.counts["skipped"], self.load_skipped,
                        self.counts["rejected"], path)
        return path

    def _log_window(self, window, epoch, bar):
        if not window["n"]:
            return
        now = time.time()
        pairs = window["n"] * self.cfg.TRAIN.BATCH_SIZE * self.world
        speed = pairs / max(now - window["time"], 1e-9)
        mean = window["loss"] / window["n"]
        if self.is_main:
            self.curves.log_train(step=self.step, epoch=epoch + 1, lr=self.lr(epoch), loss=mean,
                                  pairs_per_s=round(speed, 3), skipped=self.counts["skipped"],
                                  rejected=self.counts["rejected"])
            bar.set_postfix(loss="%.4f" % mean, lr="%.2e" % self.lr(epoch),
                            pairs_s="%.1f" % speed, skipped=self.counts["skipped"], refresh=False)
        window.update(loss=0.0, n=0, time=now)

    def _end_epoch(self, epoch):
        val = self.validate()
        if val is not None and not math.isfinite(val):
            raise TrainingDiverged("step %d: the validation loss after epoch %d is %s"
                                   % (self.step, epoch + 1, val))
        if self.is_main:
            if val is not None:
                self.curves.log_val(step=self.step, epoch=epoch + 1, val_loss=val)
            logger.info("epoch %d/%d done (step %d): lr %.3g, validation loss %s, "
                        "%d corrupt samples skipped so far", epoch + 1, self.cfg.TRAIN.EPOCH,
                        self.step, self.lr(epoch), "%.4f" % val if val is not None else "n/a",
                        self.counts["skipped"])
        if val is not None and val < self.best_val:
            # model selection on the held-out videos: the shippable file of the best epoch
            self._check_finite()
            self.best_val = val
            if self.is_main:
                atomic_save(dict(self.weights(), val_loss=val, epoch=epoch + 1),
                            os.path.join(self.output_dir, BEST))
        self.save_checkpoint(epoch_end=True)
        if self.is_main:
            self.curves.plot()

    def install_signal_handlers(self):
        """SIGTERM, SIGUSR1 and a first SIGINT (Ctrl-C) -> finish the step, checkpoint,
        return from train(); `stop_signal` says which."""
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, self.request_stop)
        signal.signal(signal.SIGINT, self._interrupt)
