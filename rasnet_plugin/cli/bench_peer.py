"""Tracker frame rate against huanglianghua/siamfc-pytorch, quiet and beside CPU load.

One process, the same decoded frames of one sequence, the same torch thread count, track
calls only, the trackers interleaved pass by pass; medians over --rounds. Then the same
again with --load busy processes running beside it: a tracker that oversubscribes the
cores loses more of its frame rate than one that does not.

    python tools/bench_peer.py --siamfc-pytorch /path/to/siamfc-pytorch
        [--config rasnet_mobilenetv2 rasnet] [--sequence Crossing] [--rounds 3] [--load 1]

--siamfc-pytorch: a checkout of github.com/huanglianghua/siamfc-pytorch (its folder with
siamfc/ inside); its weights are optional (speed does not depend on them).
Sequence: --dataset, else $RASNET_TEST_DATA/OTB-dev and VOT-dev, else the bundled benchmark.
(also installed as `rasnet-bench-peer`; the measurement: rasnet_plugin/evaluation/peer.py)
"""
import argparse
import os
import sys

from ..config import TRACKER_CONFIG, ConfigError, load_config, resolve_config
from ..datasets import DatasetError, load_dataset
from ..datasets.defaults import default_dataset_root, default_datasets

DATASET_ROOT = default_dataset_root()


def _error(msg):
    print("error: %s" % msg, file=sys.stderr, flush=True)


def main(argv=None):
    import torch
    from ..api import build_tracker
    from ..evaluation import peer, speed
    from ..hardware import describe

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--siamfc-pytorch", required=True, metavar="CHECKOUT")
    parser.add_argument("--siamfc-weights", default=None, help="its .pth (optional)")
    parser.add_argument("--config", nargs="+", default=[TRACKER_CONFIG],
                        help="our configs (default: build_tracker()'s)")
    parser.add_argument("--dataset", nargs="+", default=None)
    parser.add_argument("--sequence", default=None, help="default: the first of the datasets")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=int, default=1, help="busy processes beside (0: none)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (all trackers)")
    args = parser.parse_args(argv)
    for option, value, least in (("--rounds", args.rounds, 1), ("--load", args.load, 0),
                                 ("--threads", 1 if args.threads is None else args.threads, 1)):
        if value < least:
            parser.error("%s must be at least %d, got %d" % (option, least, value))
    # the peer's checkout first: a wrong path is found before any frame is decoded
    if not os.path.isfile(os.path.join(args.siamfc_pytorch, "siamfc", "__init__.py")):
        parser.error("--siamfc-pytorch %s: no siamfc/__init__.py there (expected a checkout "
                     "of github.com/huanglianghua/siamfc-pytorch)" % args.siamfc_pytorch)
    if args.siamfc_weights and not os.path.isfile(args.siamfc_weights):
        parser.error("--siamfc-weights %s: no such file" % args.siamfc_weights)
    if args.threads:
        torch.set_num_threads(args.threads)

    try:
        configs = [(config, load_config(resolve_config(config))) for config in args.config]
        siamfc = peer.load_siamfc_pytorch(args.siamfc_pytorch, args.siamfc_weights)
        videos = [v for d in (args.dataset or default_datasets(DATASET_ROOT))
                  for v in load_dataset(d, root=DATASET_ROOT).videos]
    except ImportError as e:
        _error("--siamfc-pytorch: %s" % e)
        return 1
    except (ConfigError, DatasetError, OSError, ValueError) as e:
        _error(e)
        return 1
    if args.sequence:
        chosen = [v for v in videos if v.name == args.sequence]
        if not chosen:
            parser.error("--sequence %s: not in %s" % (args.sequence,
                                                       ", ".join(v.name for v in videos)))
        videos = chosen
    if not videos:
        parser.error("no sequences in %s" % (args.dataset,))
    video = videos[0]
    try:
        frames, _ = speed.decode(video)
        if len(frames) < 2:
            parser.error("%s has %d frame(s): nothing to track" % (video.name, len(frames)))
        trackers = {}
        for config, cfg in configs:
            tracker = build_tracker(cfg, device="cpu")
            trackers["RASNet %s (%s%s)" % (config, tracker.precision, ", int8 backbone"
                                           if tracker.quantize == "int8" else "")] = tracker
    except (DatasetError, OSError, ValueError) as e:
        _error(e)
        return 1
    trackers[siamfc.name] = siamfc
    print("# %s; torch %s; %s, %d frames; %d rounds, then %d busy process(es)"
          % (describe("cpu"), torch.__version__, video.name,
             len(frames), args.rounds, args.load), flush=True)
    rows = peer.interleaved_fps(trackers, frames, video.init_rect, args.rounds, args.load)
    for r in rows.values():
        print("%-45s quiet %s  loaded %s" % (r.name, ", ".join("%.1f" % f for f in r.quiet),
                                              ", ".join("%.1f" % f for f in r.loaded)))
    print()
    print(peer.markdown(rows, siamfc.name, args.load))
    return 0
