"""Evaluate tracker results in PySOT's layout (same flags as PySOT's tools/eval.py).

    python tools/eval.py --tracker_path ./results --dataset OTB100 [--num 4]
        [--tracker_prefix rasnet] [--show_video_level]
        [--dataset_root testing_dataset] [--plot_dir DIR]
        [--snapshot PATH [PATH ...]] [--exclude-trained]

(also installed as `rasnet-eval`). Reads ``<tracker_path>/<DATASET>/<tracker>/...``, prints
one row per tracker (one-pass: Success | Norm Precision | Precision, sorted by success; VOT:
Accuracy | Robustness | Lost Number | EAO, sorted by EAO) and writes PNG plots to
``--plot_dir`` (default ``<tracker_path>/<DATASET>/plots``). Errors exit with status 1 and a
message.

Contamination guard: videos whose name matches a training video of the evaluated
checkpoints (``--snapshot``, default: every shipped weight file) are listed and marked
``*``; ``--exclude-trained`` leaves them out of every average.
"""
import argparse
import os
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="tracking evaluation (PySOT-compatible)")
    p.add_argument("--tracker_path", "-p", default="./results", type=str,
                   help="results folder holding <DATASET>/<tracker>/ (default ./results)")
    p.add_argument("--dataset", "-d", required=True, type=str,
                   help="dataset name under --dataset_root, or a dataset folder")
    p.add_argument("--num", "-n", default=1, type=int, help="number of processes")
    p.add_argument("--tracker_prefix", "-t", default="", type=str,
                   help="evaluate the trackers whose name starts with this (default: all)")
    p.add_argument("--show_video_level", "-s", action="store_true",
                   help="also print per-video scores")
    p.add_argument("--dataset_root", default="testing_dataset", type=str,
                   help="folder holding the datasets (default testing_dataset)")
    p.add_argument("--plot_dir", default=None, type=str,
                   help="where to write the PNG plots (default <tracker_path>/<DATASET>/plots)")
    p.add_argument("--snapshot", nargs="+", default=None, metavar="PATH",
                   help="checkpoints whose training videos to check the dataset against "
                        "(default: the shipped weights)")
    p.add_argument("--exclude-trained", action="store_true",
                   help="leave videos the checkpoints were trained on out of the averages")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from ..datasets import DatasetError, load_dataset
    from ..evaluation import ResultError, evaluate
    from ..evaluation.contamination import guard_dataset
    from ..evaluation.plots import plot_result
    from ..evaluation.report import format_ope, format_vot

    try:
        dataset = load_dataset(args.dataset, root=args.dataset_root)
        dataset, marked = guard_dataset(dataset, args.snapshot, args.exclude_trained)
        plot_dir = args.plot_dir or os.path.join(args.tracker_path, dataset.name, "plots")
        result = evaluate(dataset, args.tracker_path, prefix=args.tracker_prefix,
                          num_workers=args.num, exclude=[plot_dir])
    except (DatasetError, ResultError, OSError, KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 1

    if result.protocol == "vot":
        print(format_vot(result, args.show_video_level, marked))
    else:
        print(format_ope(result, args.show_video_level, marked))
    try:
        written = plot_result(result, plot_dir)
    except OSError as e:
        print(f"error: cannot write plots to {plot_dir}: {e}", file=sys.stderr)
        return 1
    print(f"plots: {len(written)} PNG files in {plot_dir}")
    return 0
