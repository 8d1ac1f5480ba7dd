"""Write a ready VOT toolkit workspace for RASNet (and its SiamFC ablation), offline.

    python tools/vot_workspace.py WORKSPACE [--sequences DIR] [--stack FILE_OR_NAME]
        [--videos a,b] [--max-frames N] [--dataset-root DIR] [--eao-low N --eao-high N] [--repetitions N]
        [--timeout S] [--snapshot FILE] [--device DEV] [--threads N]
        [--run [TRACKER ...]] [--force]

(also installed as `rasnet-vot-workspace`). The files it writes, and how: see
rasnet_plugin/vot/workspace.py. Without --sequences the bundled RASNetBench benchmark is
built (testing_dataset/) and exported to WORKSPACE/sequences in VOT layout (--videos /
--max-frames pick a subset). --stack uses an existing stack instead (a YAML path, or a
toolkit stack such as vot2018/shortterm; its own EAO interval must fit the sequences).

--run evaluates the named trackers (default: RASNet) with `vot evaluate`, then runs
`vot analysis --format json` and prints accuracy / robustness / EAO. Every run here deletes
the toolkit's analysis cache (WORKSPACE/cache: the toolkit never invalidates it) and sets
VOT_PERSISTENT_CACHE=0; `--force` re-runs trackers that already have results. The toolkit's
update check (a web request) is switched off in these runs.

Afterwards, by hand:
    vot evaluate --workspace WORKSPACE RASNet
    VOT_PERSISTENT_CACHE=0 vot analysis --workspace WORKSPACE --format json
    vot report --workspace WORKSPACE --format html
"""
import argparse
import os
import subprocess
import sys

from ..vot.workspace import (TRACKERS, WorkspaceError, analysis, evaluate, format_summary,
                             summarize, write_workspace)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="write an offline VOT toolkit workspace for RASNet")
    p.add_argument("workspace", help="workspace folder (created; existing results are kept)")
    p.add_argument("--sequences", help="VOT-layout sequence folder (list.txt, <seq>/sequence, "
                   "<seq>/color/, <seq>/groundtruth.txt); default: export the bundled benchmark")
    p.add_argument("--stack", help="use this stack (YAML file or toolkit stack name) instead of "
                   "writing the local one")
    p.add_argument("--videos", help="bundled export only: comma-separated video names")
    p.add_argument("--max-frames", type=int, help="bundled export only: first N frames")
    p.add_argument("--dataset-root", help="bundled export only: where the benchmark is built "
                   "(default: testing_dataset/ in this checkout)")
    p.add_argument("--eao-low", type=int, help="override the computed EAO interval start")
    p.add_argument("--eao-high", type=int, help="override the computed EAO interval end")
    p.add_argument("--repetitions", type=int, default=1,
                   help="supervised runs per sequence (default 1: the tracker is deterministic)")
    p.add_argument("--timeout", type=int, default=120, help="seconds per TraX request")
    p.add_argument("--snapshot", help="checkpoint (env_RASNET_SNAPSHOT); default bundled weights")
    p.add_argument("--device", help="env_RASNET_DEVICE (cpu, cuda, ...)")
    p.add_argument("--threads", type=int, help="env_RASNET_THREADS (torch CPU threads)")
    p.add_argument("--run", nargs="*", metavar="TRACKER",
                   help="then run vot evaluate + vot analysis for these trackers "
                        "(default RASNet) and print the scores")
    p.add_argument("--force", action="store_true", help="with --run: re-run existing results")
    args = p.parse_args(argv)
    for flag, value in (("--max-frames", args.max_frames), ("--repetitions", args.repetitions),
                        ("--timeout", args.timeout), ("--threads", args.threads)):
        if value is not None and value < 1:
            p.error("%s must be >= 1, got %d" % (flag, value))
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        info = write_workspace(args.workspace, args.sequences, args.stack,
                               args.videos.split(",") if args.videos else None, args.max_frames,
                               args.eao_low, args.eao_high, args.repetitions, args.timeout,
                               args.snapshot, args.device, args.threads, args.dataset_root)
        n = len(info["lengths"])
        print(f"workspace {info['workspace']}: {n} sequences "
              f"({sum(info['lengths'].values())} frames) from {info['sequences']}, stack "
              f"{info['stack']}, EAO interval {info['eao_interval']}")
        if args.run is not None:
            trackers = args.run or ["RASNet"]
            unknown = [t for t in trackers if t not in TRACKERS]
            if unknown:
                raise WorkspaceError(f"unknown tracker {', '.join(unknown)} "
                                     f"(trackers.ini declares {', '.join(TRACKERS)})")
            evaluate(info["workspace"], trackers, args.force)
            report = analysis(info["workspace"], trackers)
            print(format_summary(summarize(report), info["eao_interval"]))
            print(f"analysis: {os.path.join(info['workspace'], 'analysis', 'rasnet.json')}")
    except (WorkspaceError, OSError, subprocess.SubprocessError) as e:
        print(f"vot_workspace: error: {e}", file=sys.stderr)
        return 1
    return 0
