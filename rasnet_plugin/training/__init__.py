"""Training RASNet: data sources, pair sampling, augmentation, loss and the training loop.

    from rasnet_plugin.config import load_config
    from rasnet_plugin.training import Trainer
    Trainer(load_config("experiments/rasnet.yaml"), "snapshot/rasnet").train()

or `python tools/train.py --config experiments/rasnet.yaml` (see its --help).
"""
from .augment import AugParams, context_size, make_crops, warp_crop
from .curves import CurveLogger, plot_curves, read_csv
from .loss import balanced_logistic_loss, label_maps, pair_losses
from .pairs import (DataUnusable, EpochBatches, PairDataset, RawPair, SampleError,
                    SampleRejected, omega, pair_rng, pick_frame_pair)
from .sources import (SOURCE_TYPES, EmptySource, GOT10kSource, PySOTSource, Source,
                      StillImageSource, VideoFolderSource, build_sources, follow_region,
                      split_items)
from .trainer import (LossGuard, Trainer, TrainingDiverged, atomic_save, init_distributed,
                      lr_at)

__all__ = ["Trainer", "TrainingDiverged", "LossGuard", "lr_at", "atomic_save", "init_distributed",
           "balanced_logistic_loss", "label_maps", "pair_losses", "omega",
           "PairDataset", "DataUnusable", "EpochBatches", "RawPair", "SampleError",
           "SampleRejected", "pair_rng", "pick_frame_pair",
           "AugParams", "make_crops", "warp_crop", "context_size",
           "Source", "EmptySource", "GOT10kSource", "PySOTSource", "StillImageSource",
           "VideoFolderSource",
           "SOURCE_TYPES", "build_sources", "follow_region", "split_items",
           "CurveLogger", "plot_curves", "read_csv"]
