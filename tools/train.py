"""Train RASNet (SiamFC-style pairs, Omega-weighted balanced logistic loss).

    python tools/train.py --config experiments/rasnet.yaml [--output DIR]
        [--resume auto|CHECKPOINT] [--device cpu|cuda|cuda:N]
        [--data TYPE=ROOT[,ANNO] ...] [--set KEY VALUE ...] [--max-steps N] [--no-progress]

    torchrun --nproc_per_node N tools/train.py --config experiments/rasnet.yaml ...
        (DistributedDataParallel: NCCL on GPUs, gloo on the CPU; BATCH_SIZE per process)

--output defaults to cfg.TRAIN.SNAPSHOT_DIR. It receives checkpoint_latest.pth (every
TRAIN.CHECKPOINT_INTERVAL steps and at each epoch end), checkpoint_e<N>.pth,
model_final.pth ({'state_dict', 'cfg'}: for tools/test.py --snapshot), train_log.csv,
val_log.csv, curves.png, train.log and config.yaml (the merged config).

--resume auto continues from <output>/checkpoint_latest.pth when there is one (else starts
afresh); the resumed run continues exactly where the checkpoint was written.
--data replaces TRAIN.DATASETS with the sources given, e.g.
    --data got10k=/data/GOT-10k/train pysot=/data/vid/crop511,/data/vid/train.json
           still=skimage video=/data/videos
--set KEY VALUE pairs override the config (yacs), e.g. --set TRAIN.EPOCH 10 TRAIN.BATCH_SIZE 16.

Exit status: 0 done (or stopped by --max-steps / SIGTERM after writing a checkpoint);
1 configuration or data error (a missing dataset, or data so broken that
TRAIN.MAX_RETRIES samples in a row were unusable); 2 the run diverged (the message names
the step and the last good checkpoint, which is kept).
"""
import argparse
import logging
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "rasnet_plugin", "__init__.py")):
    sys.path.insert(0, _ROOT)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from yacs.config import CfgNode as CN  # noqa: E402

from rasnet_plugin.config import DEFAULT_CONFIG, ConfigError, load_config  # noqa: E402
from rasnet_plugin.datasets import DatasetError  # noqa: E402
from rasnet_plugin.training import (SOURCE_TYPES, DataUnusable, Trainer,  # noqa: E402
                                    TrainingDiverged, init_distributed)

logger = logging.getLogger("rasnet_plugin")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="train RASNet",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config (default %(default)s)")
    p.add_argument("--output", default=None, help="output folder (default TRAIN.SNAPSHOT_DIR)")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="auto|PATH",
                   help="resume from a checkpoint; 'auto' (or no value): the output's latest")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA if "
                   "available and cfg.CUDA, else cpu)")
    p.add_argument("--data", nargs="+", default=None, metavar="TYPE=ROOT[,ANNO]",
                   help="training sources replacing TRAIN.DATASETS (types: %s)"
                   % ", ".join(sorted(SOURCE_TYPES)))
    p.add_argument("--set", nargs="+", default=[], metavar="KEY VALUE", dest="opts",
                   help="config overrides, KEY VALUE pairs")
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop (with a checkpoint) after this global step")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def build_cfg(args):
    cfg = load_config(args.config)
    if len(args.opts) % 2:
        raise ConfigError("--set needs KEY VALUE pairs, got %d words" % len(args.opts))
    try:
        cfg.merge_from_list(args.opts)
    except (KeyError, ValueError, AssertionError) as e:
        raise ConfigError("--set: %s" % (e.args[0] if e.args else e)) from None
    if args.data:
        names = []
        for k, spec in enumerate(args.data):
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


class _TqdmHandler(logging.StreamHandler):
    """Log lines that do not break the progress bar."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def setup_logging(output_dir, rank):
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


def main(argv=None):
    args = parse_args(argv)
    rank = 0
    try:
        cfg = build_cfg(args)
        output = os.path.abspath(args.output or cfg.TRAIN.SNAPSHOT_DIR)
        rank, world, _ = init_distributed(args.device)
        if world > 1 and (args.device or "cpu").startswith("cpu") and not torch.cuda.is_available():
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(
                os.environ.get("LOCAL_WORLD_SIZE", world))))
        setup_logging(output, rank)
        trainer = Trainer(cfg, output, device=args.device, resume=args.resume,
                          progress=not args.no_progress)
        trainer.install_signal_handlers()
        final = trainer.train(max_steps=args.max_steps)
        if rank == 0:
            print("final weights: %s" % final if final else
                  "stopped at step %d; continue with --resume auto" % trainer.step)
        status = 0
    except TrainingDiverged as e:
        if rank == 0:
            print("training diverged: %s" % e, file=sys.stderr)
        status = 2
    except (ConfigError, DatasetError, DataUnusable, FileNotFoundError) as e:
        print("error: %s" % e, file=sys.stderr)
        status = 1
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return status


if __name__ == "__main__":
    sys.exit(main())
