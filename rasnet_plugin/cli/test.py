"""Run RASNet on a tracking dataset and write results in PySOT's layout (PySOT's test CLI).

    python tools/test.py [--dataset NAME_OR_PATH] [--config experiments/rasnet.yaml]
        [--snapshot FILE] [--video NAME] [--vis] [--device cpu|cuda|cuda:N] [--force]
        [--num-workers N] [--threads N] [--dataset-root testing_dataset] [--results results]
        [--model-name NAME]

(also installed as `rasnet-test`). --dataset: a name under --dataset-root, or a folder in
OTB, VOT or PySOT-JSON layout. Without it, the bundled offline benchmark (RASNetBench) is
built once under --dataset-root and used. Results (each written atomically when its video
finishes; existing ones are skipped unless --force, so an interrupted run resumes):

  one-pass:            <results>/<DATASET>/<model>/<video>.txt
                       (x,y,w,h per frame, frame 0 = the init box)
  VOT (reset protocol) <results>/<DATASET>/<model>/baseline/<video>/<video>_001.txt
                       1 at (re)initialisation, 2 at a failure (overlap with the ground truth
                       <= 0), 0 for the next 4 frames, re-initialisation 5 frames after the
                       failure, exactly as PySOT's tools/test.py
  GOT-10k (a GOT-10k folder, or a PySOT JSON named GOT-10k):
                       <results>/<DATASET>/<model>/<video>/<video>_001.txt and <video>_time.txt

<model> is --model-name, else (as in PySOT) the --snapshot file's stem, else the config's
(`rasnet` for experiments/rasnet.yaml).

A video that cannot be read (missing frame, ground truth of the wrong length, bad init box)
is reported and skipped; the others still run, and the exit status is 1, listing it.
The loops, resume and worker pool: rasnet_plugin/evaluation/running.py.
"""
import argparse
import contextlib
import os
import sys
import warnings

import rasnet_plugin
from tqdm import tqdm

from ..config import DEFAULT_CONFIG, ConfigError, load_config
from ..datasets import BUNDLED_NAME, DatasetError, ensure_bundled, load_dataset_lenient
from ..evaluation import display
from ..evaluation.running import RunJob, RunSummary, remove_run_temps, run_videos


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="RASNet tracking on a dataset (PySOT-compatible)")
    p.add_argument("--dataset", default="", type=str,
                   help="dataset name under --dataset-root, or a dataset folder "
                        "(default: the bundled %s benchmark)" % BUNDLED_NAME)
    p.add_argument("--config", default=DEFAULT_CONFIG, type=str, help="config file (YAML)")
    p.add_argument("--snapshot", default="", type=str,
                   help="checkpoint (default: bundled weights if present, else untrained)")
    p.add_argument("--video", default="", type=str, help="run this video only")
    p.add_argument("--vis", action="store_true", help="show the tracking (needs a display)")
    p.add_argument("--device", default=None, type=str,
                   help="cpu, cuda, cuda:N (default: cuda if cfg.CUDA and available)")
    p.add_argument("--force", action="store_true", help="re-run videos that have results")
    p.add_argument("--num-workers", "--num_workers", dest="num_workers", default=1, type=int,
                   help="videos tracked in parallel processes (one model each)")
    p.add_argument("--threads", default=None, type=int,
                   help="torch threads per worker (default: torch's own with one worker, "
                        "else an even share of the cores)")
    p.add_argument("--dataset-root", "--dataset_root", dest="dataset_root",
                   default="testing_dataset", type=str, help="folder holding named datasets")
    p.add_argument("--results", default="results", type=str, help="results folder")
    p.add_argument("--model-name", "--model_name", dest="model_name", default="", type=str,
                   help="tracker name in the results layout (default, as in PySOT: the "
                        "--snapshot file's stem; without --snapshot, the config's file stem)")
    args = p.parse_args(argv)
    if args.num_workers < 1:
        p.error("--num-workers must be >= 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def default_model_name(config, snapshot=""):
    """The tracker folder of the results: as PySOT's tools/test.py, the snapshot's file stem
    (so runs of several checkpoints never share, and skip, each other's results); without a
    snapshot, the config's file stem (``rasnet`` for experiments/rasnet.yaml)."""
    if snapshot:  # PySOT: args.snapshot.split('/')[-1].split('.')[0]
        return os.path.basename(os.path.normpath(snapshot)).split(".")[0] or "tracker"
    return os.path.splitext(os.path.basename(config))[0]


def _warning(message, category, filename, lineno, file=None, line=None):
    print("warning: %s" % message, file=sys.stderr, flush=True)


def _error(msg):
    print("error: %s" % msg, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(argv)
    warnings.showwarning = _warning
    try:
        cfg = load_config(args.config)
        dataset, broken = load_dataset_lenient(
            args.dataset or ensure_bundled(root=args.dataset_root),
            root=args.dataset_root if args.dataset else "")
    except (ConfigError, DatasetError) as e:
        _error(e)
        return 1
    model = args.model_name or default_model_name(args.config, args.snapshot)
    videos, name = list(dataset.videos), dataset.name
    if args.video:
        videos = [v for v in videos if v.name == args.video]
        broken = [b for b in broken if b[0] == args.video]
        if not videos and not broken:
            _error("dataset %s has no video %r (its videos: %s)"
                   % (name, args.video, ", ".join(sorted(v.name for v in dataset.videos))))
            return 1
    got10k = name == "GOT-10k" or getattr(dataset, "layout", None) == "got10k"
    protocol = "vot" if dataset.is_vot else ("got10k" if got10k else "ope")

    vis = args.vis
    if vis:
        ok, why = display.display_available()
        if not ok:
            warnings.warn("--vis ignored: %s; tracking continues without display" % why)
            vis = False
        elif args.num_workers > 1:
            warnings.warn("--vis ignored with --num-workers > 1")
            vis = False

    if args.threads and args.num_workers == 1:
        import torch
        torch.set_num_threads(args.threads)
    try:  # also validates the snapshot before any video runs
        tracker = rasnet_plugin.build_tracker(cfg, args.snapshot or None, args.device)
    except (OSError, ValueError) as e:
        _error(e)
        return 1
    build_args = (cfg, args.snapshot or None, str(tracker.device))

    job = RunJob(protocol, args.results, name, model, force=args.force, vis=vis)
    try:  # before any video is tracked: an unwritable folder would lose every result
        os.makedirs(job.folder, exist_ok=True)
        if not os.access(job.folder, os.W_OK):
            raise PermissionError("not writable")
    except OSError as e:
        _error("cannot write results to %s: %s" % (job.folder, e.strerror or e))
        return 1
    remove_run_temps(job)
    summary = RunSummary(protocol, model, broken)
    for vid, msg in broken:
        _error("video %s: %s" % (vid, msg))

    workers = min(args.num_workers, max(1, len(videos)))
    print("%s: %d videos (%s protocol), model %r, %s, %d worker(s), results in %s"
          % (name, len(videos), protocol, model, tracker.device, workers, job.folder), flush=True)
    bar = tqdm(total=len(videos), unit="video", dynamic_ncols=True)
    statuses = run_videos(videos, job, build_args, workers, args.threads,
                          tracker if workers == 1 else None)
    del tracker  # the workers build their own
    try:
        with contextlib.closing(statuses):
            for st in statuses:
                line, is_error = summary.add(st)
                bar.write(line, file=sys.stderr if is_error else None)
                if not (is_error or st["skipped"]):
                    bar.set_postfix(video=st["video"], fps="%.1f" % st["fps"])
                bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        _error("interrupted; finished videos are saved, re-run to resume")
        return 130
    bar.close()
    for line in summary.report():
        print(line)
    if summary.failure():
        _error(summary.failure())
        return 1
    return 0
