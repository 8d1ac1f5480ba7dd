"""Evaluate tracker results in PySOT's layout (same flags as PySOT's tools/eval.py).

    python tools/eval.py --tracker_path ./results --dataset OTB100 [--num 4]
        [--tracker_prefix rasnet] [--show_video_level]
        [--dataset_root testing_dataset] [--plot_dir DIR]
        [--snapshot PATH [PATH ...]] [--exclude-trained]

Reads ``<tracker_path>/<DATASET>/<tracker>/...``, prints one row per tracker (one-pass:
Success | Norm Precision | Precision, sorted by success; VOT: Accuracy | Robustness |
Lost Number | EAO, sorted by EAO) and writes PNG plots to ``--plot_dir``
(default ``<tracker_path>/<DATASET>/plots``). Errors exit with status 1 and a message.

Contamination guard: videos whose name matches a training video of the evaluated
checkpoints (``--snapshot``, default: every shipped weight file) are listed and marked
``*``; ``--exclude-trained`` leaves them out of every average.
"""
import argparse
import math
import os
import sys
import warnings

with warnings.catch_warnings():
    # evaluation never runs the network: the "fused op unavailable" notice is noise here
    warnings.simplefilter("ignore", RuntimeWarning)
    try:
        import rasnet_plugin  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import rasnet_plugin  # noqa: F401


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


def _f(x, spec):
    return format(x, spec) if x is not None and not math.isnan(x) else "nan"


def _table(header, rows, widths):
    line = "|" + "|".join(f"{h:^{w}}" for h, w in zip(header, widths)) + "|"
    bar = "-" * len(line)
    out = [bar, line, bar]
    for row in rows:
        out.append("|" + "|".join(f"{c:^{w}}" for c, w in zip(row, widths)) + "|")
    out.append(bar)
    return "\n".join(out)


def _video_table(result, names, metric_names, cells, marked=()):
    """Per-video table: one row per video, `cells(scores)` columns per tracker; videos in
    `marked` (trained on) get a '*'."""
    videos = list(result.trackers[names[0]].videos)
    label = {v: v + " *" if v in marked else v for v in videos}
    vw = max(max(len(v) for v in label.values()) + 2, 12)
    header = ["Video name"] + [f"{n} {m}" for n in names for m in metric_names]
    widths = [vw] + [max(len(h) + 2, 9) for h in header[1:]]
    rows = [[label[v]] + [c for n in names for c in cells(result.trackers[n].videos[v])]
            for v in videos]
    return _table(header, rows, widths)


def format_ope(result, show_video_level=False, marked=()):
    names = result.ranking()
    nw = max(max(len(n) for n in names) + 2, 14)
    rows = [(n, _f(t.overall.auc, ".3f"), _f(t.overall.norm_precision_20, ".3f"),
             _f(t.overall.precision_20, ".3f"))
            for n, t in ((n, result.trackers[n]) for n in names)]
    text = [_table(("Tracker name", "Success", "Norm Precision", "Precision"), rows,
                   (nw, 9, 16, 11))]
    if show_video_level:
        text.append(_video_table(result, names, ("success", "prec@20"),
                                 lambda s: (_f(s.auc, ".3f"), _f(s.precision_20, ".3f")),
                                 marked))
    return "\n\n".join(text)


def format_vot(result, show_video_level=False, marked=()):
    names = result.ranking()
    nw = max(max(len(n) for n in names) + 2, 14)
    rows = [(n, _f(t.accuracy, ".3f"), _f(t.robustness, ".3f"), _f(t.lost_number, ".1f"),
             _f(t.eao, ".3f"))
            for n, t in ((n, result.trackers[n]) for n in names)]
    text = [_table(("Tracker Name", "Accuracy", "Robustness", "Lost Number", "EAO"), rows,
                   (nw, 10, 12, 13, 7))]
    low, high = result.trackers[names[0]].eao_interval
    text.append(f"EAO over sequence lengths [{low}, {high}]; robustness = failures per 100 frames; "
                f"accuracy burn-in 10 frames")
    if show_video_level:
        text.append(_video_table(result, names, ("Acc", "LN"),
                                 lambda s: (_f(s.accuracy, ".3f"), _f(s.failures, ".1f")),
                                 marked))
    return "\n\n".join(text)


def guard(dataset, snapshots, exclude):
    """(dataset to score, names marked as trained on): prints what matched and, with
    `exclude`, drops those videos (DatasetError when nothing is left)."""
    from rasnet_plugin.datasets import DatasetError
    from rasnet_plugin.datasets.video import Dataset
    from rasnet_plugin.evaluation import contamination as C

    trained = {}
    for path in (C.shipped_snapshots() if snapshots is None else snapshots):
        for key, sources in C.trained_videos(path).items():
            trained.setdefault(key, []).extend(sources)
    matches = C.trained_matches([v.name for v in dataset], trained)
    for name, sources in sorted(matches.items()):
        print("trained on: %s (%s)%s" % (name, ", ".join(sorted({"%s/%s" % s for s in sources})),
                                         " -- excluded" if exclude else ""))
    if not (exclude and matches):
        return dataset, set(matches)
    kept = [v for v in dataset if v.name not in matches]
    if not kept:
        raise DatasetError("%s: every video is a training video of the checkpoints; nothing "
                           "left to score with --exclude-trained" % dataset.name)
    return Dataset(dataset.name, dataset.root, kept, is_vot=dataset.is_vot), set()


def main(argv=None):
    args = parse_args(argv)
    from rasnet_plugin.datasets import DatasetError, load_dataset
    from rasnet_plugin.evaluation import ResultError, evaluate
    from rasnet_plugin.evaluation.plots import plot_result

    try:
        dataset = load_dataset(args.dataset, root=args.dataset_root)
        dataset, marked = guard(dataset, args.snapshot, args.exclude_trained)
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


if __name__ == "__main__":
    sys.exit(main())
