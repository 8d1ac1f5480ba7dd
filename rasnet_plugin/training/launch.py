"""What starting a training run needs besides the Trainer: the config with command-line
overrides and data sources, the log (stderr and <output>/train.log), CPU threads per process.

Used by `rasnet_plugin.cli.train` (tools/train.py, `rasnet-train`).
"""
import logging
import os
import sys

import torch
from yacs.config import CfgNode as CN

from ..config import ConfigError, load_config
from .sources import SOURCE_TYPES

__all__ = ["training_config", "apply_overrides", "apply_data_specs", "setup_logging",
           "share_cpu_threads"]

logger = logging.getLogger("rasnet_plugin")


def apply_overrides(cfg, opts):
    """Merge KEY VALUE pairs (yacs `merge_from_list`) into `cfg`; ConfigError if malformed."""
    if len(opts) % 2:
        raise ConfigError("--set needs KEY VALUE pairs, got %d words" % len(opts))
    try:
        cfg.merge_from_list(opts)
    except (KeyError, ValueError, AssertionError) as e:
        raise ConfigError("--set: %s" % (e.args[0] if e.args else e)) from None
    return cfg


def apply_data_specs(cfg, specs):
    """Replace TRAIN.DATASETS with the sources `specs` name, each TYPE=ROOT[,ANNO]
    (TYPE one of SOURCE_TYPES); they become DATA0, DATA1, ... in that order."""
    names = []
    for k, spec in enumerate(specs):
        type_, sep, rest = spec.partition("=")
        if not sep or type_.lower() not in SOURCE_TYPES:
            raise ConfigError("--data %r: expected TYPE=ROOT[,ANNO] with TYPE one of %s"
                              % (spec, ", ".join(sorted(SOURCE_TYPES))))
        root, _, anno = rest.partition(",")
        name = "DATA%d" % k
        cfg.TRAIN.DATASETS[name] = CN({"TYPE": type_.lower(), "ROOT": root, "ANNO": anno})
        names.append(name)
    cfg.TRAIN.DATASETS.NAMES = names
    return cfg


def training_config(path, opts=(), data=None):
    """The config at `path`, with `opts` (KEY VALUE ...) merged and, when given, `data`
    (TYPE=ROOT[,ANNO] specs) replacing its training sources."""
    cfg = apply_overrides(load_config(path), list(opts))
    if data:
        apply_data_specs(cfg, data)
    return cfg


class _TqdmHandler(logging.StreamHandler):
    """Log lines that do not break the progress bar."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def setup_logging(output_dir, rank):
    """The package's log to stderr (INFO on rank 0, errors only elsewhere) and, on rank 0,
    to <output_dir>/train.log."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    logger.setLevel(logging.INFO if rank == 0 else logging.ERROR)
    h = _TqdmHandler()
    h.setFormatter(fmt)
    logger.addHandler(h)
    if rank == 0:
        os.makedirs(output_dir, exist_ok=True)
        fh = logging.FileHandler(os.path.join(output_dir, "train.log"))
        fh.setFormatter(fmt)
        logger.addHandler(fh)


def share_cpu_threads(device, world):
    """Several CPU processes on one machine (torchrun, gloo): split the cores between them
    instead of letting each start one thread per core."""
    if world > 1 and (device or "cpu").startswith("cpu") and not torch.cuda.is_available():
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(
            os.environ.get("LOCAL_WORLD_SIZE", world))))
