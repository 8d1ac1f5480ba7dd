"""Train RASNet (SiamFC-style pairs, Omega-weighted balanced logistic loss).

    python tools/train.py --config experiments/rasnet.yaml [--output DIR]
        [--resume auto|CHECKPOINT] [--overwrite] [--device cpu|cuda|cuda:N]
        [--data TYPE=ROOT[,ANNO] ...] [--set KEY VALUE ...] [--max-steps N] [--no-progress]

    torchrun --nproc_per_node N tools/train.py --config experiments/rasnet.yaml ...
        (DistributedDataParallel: NCCL on GPUs, gloo on the CPU; BATCH_SIZE per process)

--output defaults to cfg.TRAIN.SNAPSHOT_DIR. It receives checkpoint_latest.pth (every
TRAIN.CHECKPOINT_INTERVAL steps and at each epoch end), checkpoint_e<N>.pth,
model_final.pth ({'state_dict', 'cfg'}: for tools/test.py --snapshot), train_log.csv,
val_log.csv, curves.png, train.log and config.yaml (the merged config).

--resume auto continues from <output>/checkpoint_latest.pth when there is one (else starts
afresh; when it does not load, from the newest checkpoint_e<N>.pth that does, with a
warning); the resumed run continues exactly where the checkpoint was written. An output
folder holding an earlier run's checkpoint is refused without --resume or --overwrite.
--data replaces TRAIN.DATASETS with the sources given, e.g.
    --data got10k=/data/GOT-10k/train pysot=/data/vid/crop511,/data/vid/train.json
           still=skimage video=/data/videos
--set KEY VALUE pairs override the config (yacs), e.g. --set TRAIN.EPOCH 10 TRAIN.BATCH_SIZE 16.

SIGTERM, SIGUSR1 and a first Ctrl-C (SIGINT) finish the current step, write a checkpoint and
stop; a second Ctrl-C stops at once (the steps since the last checkpoint are lost).

Exit status: 0 done (or stopped by --max-steps / SIGTERM after writing a checkpoint);
1 configuration, data or checkpoint error (a missing dataset, data so broken that
TRAIN.MAX_RETRIES samples in a row were unusable, a checkpoint that does not load, an
output folder holding another run, a --device that is not there); 2 the run diverged (the
message names the step and the last good checkpoint, which is kept); 130 stopped by Ctrl-C.
"""
import argparse
import os
import signal
import sys

import torch
import torch.distributed as dist

from ..config import DEFAULT_CONFIG, ConfigError
from ..datasets import DatasetError
from ..models.model_load import CheckpointError
from ..training import (SOURCE_TYPES, DataUnusable, Trainer, TrainingDiverged,
                        init_distributed)
from ..training.launch import setup_logging, share_cpu_threads, training_config
from ..training.trainer import check_train_config
from ..hardware import check_device


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="train RASNet",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config (default %(default)s)")
    p.add_argument("--output", default=None, help="output folder (default TRAIN.SNAPSHOT_DIR)")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="auto|PATH",
                   help="resume from a checkpoint; 'auto' (or no value): the output's latest")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh in an output folder that holds an earlier run's "
                        "checkpoint (its checkpoints and logs are replaced)")
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
    return training_config(args.config, args.opts, args.data)


def main(argv=None):
    args = parse_args(argv)
    rank, trainer = 0, None
    try:
        cfg = build_cfg(args)
        # the device and the config checked before the output folder and its log are set up
        device = check_device(args.device) or ("cuda" if cfg.CUDA and torch.cuda.is_available()
                                               else "cpu")
        check_train_config(cfg, device)
        output = os.path.abspath(args.output or cfg.TRAIN.SNAPSHOT_DIR)
        rank, world, _ = init_distributed(args.device)
        share_cpu_threads(args.device, world)
        setup_logging(output, rank)
        trainer = Trainer(cfg, output, device=args.device, resume=args.resume,
                          progress=not args.no_progress, overwrite=args.overwrite)
        trainer.install_signal_handlers()
        final = trainer.train(max_steps=args.max_steps)
        if dist.is_available() and dist.is_initialized():
            # every rank done (rank 0 writes the final files last) before any tears down
            # the process group: a rank leaving early could abort in gloo's teardown
            dist.barrier()
        if rank == 0:
            print("final weights: %s" % final if final else
                  "stopped at step %d; continue with --resume auto" % trainer.step)
        # a Ctrl-C'd run is not a finished one: `rasnet-train ... && next` stops there
        status = 130 if final is None and trainer.stop_signal == signal.SIGINT else 0
    except TrainingDiverged as e:
        if rank == 0:
            print("training diverged: %s" % e, file=sys.stderr)
        status = 2
    except (ConfigError, DatasetError, DataUnusable, CheckpointError, FileNotFoundError,
            FileExistsError) as e:
        print("error: %s" % e, file=sys.stderr)
        status = 1
    except KeyboardInterrupt:     # before the handlers, or a second Ctrl-C
        if rank == 0:
            print("interrupted%s; continue with --resume auto" % (
                "" if trainer is None or trainer.last_checkpoint_step is None else
                " (last checkpoint: step %d)" % trainer.last_checkpoint_step), file=sys.stderr)
        status = 130
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return status
