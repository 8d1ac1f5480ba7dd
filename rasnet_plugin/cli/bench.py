"""End-to-end tracker speed (and accuracy per precision) on real sequences.

For each precision (CPU: fp32, bf16; CUDA: fp32, fp16, bf16), and each --quantize value
(TRACK.QUANTIZE; default: the config's), it measures, in one run:
  - tracker frames/s over whole sequences, frames already decoded (decoding is timed
    separately), median over --repeat runs;
  - the backbone-only bound: the same batched backbone calls (the scale pyramid) alone;
  - the time share of each stage (crop, backbone, correlation, post-processing) from an
    instrumented run;
  - success AUC / precision@20 of that precision's boxes, so a faster precision is never
    mistaken for a free one.
Sequences: the given --dataset, else $RASNET_TEST_DATA/OTB-dev and $RASNET_TEST_DATA/VOT-dev
when the environment variable RASNET_TEST_DATA is set, else the bundled RASNetBench.

    python tools/bench.py [--dataset PATH ...] [--precision fp32 bf16] [--quantize none int8]
        [--repeat 3] [--device cpu]

(also installed as `rasnet-bench`; the measurement: rasnet_plugin/evaluation/speed.py).
"""
import argparse
import itertools
import sys

from ..config import DEFAULT_CONFIG, ConfigError, load_config
from ..datasets import DatasetError, load_dataset
from ..datasets.defaults import default_dataset_root, default_datasets

DATASET_ROOT = default_dataset_root()
PRECISION_CHOICES = ("fp32", "bf16", "fp16", "auto")


def _error(msg):
    print("error: %s" % msg, file=sys.stderr, flush=True)


def main(argv=None):
    import torch
    from ..api import build_tracker, resolve_device
    from ..evaluation import speed
    from ..hardware import describe, resolve_precision

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", nargs="+", default=None,
                        help="dataset folders/names (default: $RASNET_TEST_DATA/{OTB-dev,VOT-dev} "
                             "when RASNET_TEST_DATA is set, else the bundled RASNetBench)")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--snapshot", default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--precision", nargs="+", default=None, choices=PRECISION_CHOICES,
                        help="default: fp32 bf16 on CPU, fp32 fp16 bf16 on CUDA (fp16 needs CUDA)")
    parser.add_argument("--quantize", nargs="+", default=None, choices=["none", "int8", "auto"],
                        help="TRACK.QUANTIZE values to measure (default: the config's)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over every sequence")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1, got %d" % args.repeat)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1, got %d" % args.threads)
    # everything a flag can get wrong is checked before any frame is decoded
    try:
        device = resolve_device(args.device)     # default: cuda when available
    except (RuntimeError, ValueError) as e:
        parser.error("--device %s: %s" % (args.device, e))
    precisions = args.precision or (["fp32", "fp16", "bf16"] if device.type == "cuda" else ["fp32", "bf16"])
    if "fp16" in precisions and device.type != "cuda":
        parser.error("--precision fp16 needs a CUDA device; on %s use fp32, bf16 or auto" % device)
    if "int8" in (args.quantize or []) and device.type != "cpu":
        parser.error("--quantize int8 runs on the CPU only, not on %s (use none)" % device)
    if args.threads:
        torch.set_num_threads(args.threads)

    def build(quantize, precision):
        cfg = base.clone()
        cfg.defrost()
        cfg.TRACK.PRECISION, cfg.TRACK.QUANTIZE = precision, quantize
        return build_tracker(cfg, snapshot=args.snapshot, device=str(device))

    try:
        base = load_config(args.config)
        quantizes = args.quantize or [base.TRACK.get("QUANTIZE", "none")]
        combos = list(itertools.product(quantizes, precisions))
        datasets = [load_dataset(d, root=DATASET_ROOT)
                    for d in (args.dataset or default_datasets(DATASET_ROOT))]
        videos = [v for ds in datasets for v in ds.videos]
        if not videos:
            raise DatasetError("no sequences in %s" % ", ".join(ds.name for ds in datasets))
        # the first tracker, built before decoding: a bad --snapshot fails here, not after it
        first = build(*combos[0])
        decoded, decode_s = [], 0.0
        for v in videos:
            frames, secs = speed.decode(v)
            decoded.append(frames)
            decode_s += secs
    except (ConfigError, DatasetError, OSError, ValueError) as e:
        _error(e)
        return 1
    total_frames = sum(len(f) for f in decoded)

    print("# %s; precision auto here: %s; torch %s; %d sequences, %d frames (%s)"
          % (describe(device), resolve_precision("auto", device), torch.__version__, len(videos),
             total_frames, ", ".join(v.name for v in videos)))
    print("# decoding: %.1f ms/frame (excluded from the tracker figures)" % (1e3 * decode_s / total_frames))

    rows, labels, failed = [], set(), []
    for quantize, precision in combos:
        try:      # one combination that fails leaves the ones measured in the table
            tracker, first = first or build(quantize, precision), None
            label = tracker.precision + ("+int8" if tracker.quantize == "int8" else "")
            if label in labels:      # e.g. auto resolving to a value already measured
                continue
            labels.add(label)
            r = speed.measure_precision(tracker, label, videos, decoded, args.repeat)
        except (OSError, ValueError) as e:
            _error("--precision %s --quantize %s: %s" % (precision, quantize, e))
            failed.append((quantize, precision))
            continue
        rows.append(r)
        print("%-10s tracker %6.1f fps (runs: %s)  backbone-only %6.1f fps  ratio %.2f  AUC %.3f  P@20 %.3f"
              % (label, r.fps, ", ".join("%.1f" % f for f in r.run_fps), r.bound, r.fps / r.bound,
                 r.auc, r.precision_20), flush=True)
    if rows:
        print()
        print(speed.markdown(rows))
    return 1 if failed else 0
