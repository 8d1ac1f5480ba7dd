"""Our VOT evaluation (rasnet_plugin.evaluation, tools/eval.py) checked against the VOT
toolkit's: the library behind `tools/vot_compare.py` (`compare`, `format_report`).

1. The toolkit's `baseline` (supervised, reset-based) trajectories in WORKSPACE/results are
   converted to PySOT's record layout, DIR/<DATASET>/<tracker>/baseline/<seq>/<seq>_NNN.txt
   (1 = initialisation, 2 = failure, 0 = skipped, else x,y,w,h), where <DATASET> is the name
   our loader gives the workspace's sequence folder. `tools/eval.py --tracker_path DIR
   --dataset <sequence folder>` reads them as they are.
2. Both evaluations score those same runs: the toolkit's (`vot analysis --format json`, run
   here with the cache off unless `analysis_file` names one) and ours
   (`rasnet_plugin.evaluation.benchmark.evaluate_vot_tracker`), and the numbers are compared:
   - failure counts, total and per sequence: must be equal (both count the `2` codes);
   - accuracy: our per-sequence accuracy averaged with the toolkit's weights (sequence
     lengths) must be within `acc_tol` of the toolkit's. Both use a 10-frame burn-in and
     image-bounded rasterised overlaps, but the rasterisers differ: the toolkit's covers a
     box's pixels trunc(x) .. trunc(x + w - 1) (w pixels), PySOT's, which ours reproduces,
     round(x) .. round(x + w) (w + 1 pixels). One pixel row or column per edge moves a
     frame's overlap by up to about 2 / (box size): 0.017 measured on 40-100 px targets,
     under 0.007 on average over a sequence. Hence the default tolerance of 0.01;
   - EAO is printed, not compared: the toolkit and PySOT cut and pad the fragments
     differently (PySOT pads to the sequence length and includes the failure frame), so
     the two EAO definitions disagree by design.
3. With `pysot_results` (tools/test.py's output for the same config on the same sequence
   folder), its records are compared frame by frame with the toolkit's: same codes at the
   same frames, boxes within `box_tol` pixels (TraX carries 4 decimals; the tracker is
   deterministic). The two runs call failures themselves, and the calls differ when a box
   barely touches the ground truth (PySOT takes a 4-value ground truth as the polygon of its
   inclusive corners, x + w - 1, the toolkit as a rectangle): a first divergence at such a
   frame (overlap <= 0.05 by either test) ends the comparison and is reported, not failed.
`compare` returns the report and the list of disagreements (empty when everything agrees).
"""
import json
import math
import os

import numpy as np

from ..datasets import load_dataset
from ..evaluation.benchmark import evaluate_vot_tracker, image_size
from ..evaluation.results import read_vot_record, write_vot_record
from .workspace import analysis, resolve_stack, stack_interval, summarize

EXPERIMENT = "baseline"


def workspace_sequences(workspace):
    import yaml

    with open(os.path.join(workspace, "config.yaml")) as f:
        cfg = yaml.safe_load(f) or {}
    seq = cfg.get("sequences", "sequences")
    return seq if os.path.isabs(seq) else os.path.normpath(os.path.join(workspace, seq))


def region_to_entry(region):
    """A toolkit region as a PySOT record entry: [code] or [x, y, w, h] (or 8 floats)."""
    from vot.region import RegionType, Special

    if isinstance(region, Special):
        return [int(region.code)]
    if region.type == RegionType.RECTANGLE:
        return [float(region.x), float(region.y), float(region.width), float(region.height)]
    if region.type == RegionType.POLYGON:
        return [float(v) for p in region.points for v in p]
    r = region.convert(RegionType.RECTANGLE)
    return [float(r.x), float(r.y), float(r.width), float(r.height)]


def toolkit_runs(workspace, tracker, sequence):
    """Paths of the toolkit's trajectories of `sequence` (binary .bin or text .txt)."""
    folder = os.path.join(workspace, "results", tracker, EXPERIMENT, sequence)
    runs = []
    for i in range(1, 1000):
        base = os.path.join(folder, "%s_%03d" % (sequence, i))
        path = next((base + ext for ext in (".bin", ".txt") if os.path.isfile(base + ext)), None)
        if path is None:
            break
        runs.append(path)
    return runs


def convert_results(workspace, tracker, out_dir, dataset):
    """Write the toolkit's baseline trajectories in PySOT's layout; returns {seq: [records]}."""
    from vot.region.io import read_trajectory

    converted = {}
    for video in dataset:
        runs = toolkit_runs(workspace, tracker, video.name)
        if not runs:
            raise FileNotFoundError("no toolkit results for %s on %s in %s" % (
                tracker, video.name, os.path.join(workspace, "results", tracker, EXPERIMENT)))
        converted[video.name] = []
        for i, path in enumerate(runs, 1):
            record = [region_to_entry(r) for r in read_trajectory(path)]
            dst = os.path.join(out_dir, dataset.name, tracker, EXPERIMENT, video.name,
                               "%s_%03d.txt" % (video.name, i))
            write_vot_record(dst, record)
            converted[video.name].append(record)
    return converted


def borderline_overlap(box, gt_row, bounds):
    """The larger of the two failure tests' overlaps of `box` with a ground-truth row: the
    toolkit's (its rasteriser, the row as a rectangle) and PySOT's tools/test.py's (our
    rasteriser, a 4-value row as the polygon of its inclusive corners, x + w - 1)."""
    from vot.region import calculate_overlap
    from vot.region.shapes import Polygon, Rectangle

    from ..evaluation.metrics import region_overlap

    g = [float(v) for v in gt_row]
    if len(g) == 4:
        x, y, w, h = g
        pysot_gt = [x, y, x, y + h - 1, x + w - 1, y + h - 1, x + w - 1, y]
        toolkit_gt = Rectangle(x, y, w, h)
    else:
        pysot_gt = g
        toolkit_gt = Polygon(list(zip(g[0::2], g[1::2])))
    theirs = calculate_overlap(Rectangle(*box), toolkit_gt, tuple(bounds))
    ours = region_overlap(list(box), pysot_gt, bounds=tuple(bounds), method="raster")
    return max(float(theirs), float(ours))


def compare_records(ours, theirs, box_tol, gt=None, bounds=None, border=0.05):
    """Disagreements (strings) between tools/test.py's record (`ours`) and the toolkit's.

    The two runs make their own failure calls, with different rasterisers (see the module
    docstring), so when a box barely touches the ground truth one may call a failure that the
    other does not; from there on the runs legitimately differ. With `gt` and `bounds`, a first
    divergence of that kind (a failure on one side where the other side's box overlaps by at
    most `border`) ends the comparison without a disagreement."""
    if len(ours) != len(theirs):
        return ["%d frames vs %d" % (len(ours), len(theirs))]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if len(a) == 1 and len(b) == 1:
            if int(a[0]) != int(b[0]):
                return ["frame %d: %s vs %s" % (i, a, b)]
        elif len(a) == 1 or len(b) == 1:
            code, box = (a, b) if len(a) == 1 else (b, a)
            if gt is not None and int(code[0]) == 2 and len(box) == 4:
                ov = borderline_overlap(box, gt[i], bounds)
                if ov <= border:
                    return []  # a borderline failure call: the runs part here
                return ["frame %d: %s vs %s (overlap %.3f: not borderline)" % (i, a, b, ov)]
            return ["frame %d: %s vs %s" % (i, a, b)]
        elif len(a) != len(b) or np.max(np.abs(np.subtract(a, b))) > box_tol:
            return ["frame %d: box %s vs %s" % (i, a, b)]
    return []


def first_divergence(ours, theirs):
    """The first frame where two records differ by their codes, or None."""
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if (len(a) == 1) != (len(b) == 1) or (len(a) == 1 and int(a[0]) != int(b[0])):
            return i
    return None


def _nan0(x):
    return 0.0 if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def compare(workspace, tracker="RASNet", out_dir=None, analysis_file=None, pysot_results=None,
            model_name=None, acc_tol=0.01, box_tol=1e-3):
    """Run the comparison; returns (report dict, list of disagreements)."""
    workspace = os.path.abspath(workspace)
    out_dir = out_dir or os.path.join(workspace, "pysot_results")
    dataset = load_dataset(workspace_sequences(workspace))
    converted = convert_results(workspace, tracker, out_dir, dataset)

    if analysis_file:
        with open(analysis_file) as f:
            try:
                report = json.load(f)
            except ValueError as e:
                raise ValueError("%s: not valid JSON (%s)" % (analysis_file, e)) from None
        if not isinstance(report, dict) or "results" not in report:
            raise ValueError("%s: not the output of `vot analysis --format json` (no "
                             "'results' mapping)" % analysis_file)
    else:
        report = analysis(workspace, [tracker], name="vot_compare")
    theirs = summarize(report).get(tracker)
    if not theirs:
        raise ValueError("the toolkit's analysis has no results for %s" % tracker)
    stack_eao = stack_interval(resolve_stack(_stack_of(workspace)))
    low, high = stack_eao if stack_eao else (None, None)
    # the toolkit's curve index i is our sequence length i + 1
    ours = evaluate_vot_tracker(dataset, out_dir, tracker,
                                eao_low=None if low is None else low + 1,
                                eao_high=None if high is None else high + 1)

    weights = np.array([len(v) for v in dataset], dtype=np.float64)
    acc_seq = np.array([_nan0(ours.videos[v.name].accuracy) for v in dataset])
    fail_seq = np.array([ours.videos[v.name].failures for v in dataset])
    ours_acc = float((acc_seq * weights).sum() / weights.sum())
    ours_rob = float((fail_seq * weights).sum() / weights.sum())
    rep = {
        "tracker": tracker, "dataset": dataset.name, "results": out_dir,
        "toolkit": {k: theirs.get(k) for k in ("accuracy", "robustness", "failures", "eao")},
        "ours": {"accuracy": ours_acc, "robustness": ours_rob, "failures": float(ours.lost_number),
                 "eao": ours.eao, "pysot_accuracy": ours.accuracy,
                 "pysot_robustness": ours.robustness},
        "per_sequence": {v.name: {"accuracy": float(acc_seq[i]), "failures": float(fail_seq[i])}
                         for i, v in enumerate(dataset)},
        "tolerance": {"accuracy": acc_tol, "box_px": box_tol},
    }
    problems = []
    if theirs.get("failures") is None or float(theirs["failures"]) != float(ours.lost_number):
        problems.append("total failures: toolkit %s, ours %s" % (theirs.get("failures"), ours.lost_number))
    if theirs.get("robustness") is None or abs(float(theirs["robustness"]) - ours_rob) > 1e-9:
        problems.append("robustness (failures/sequence, length-weighted): toolkit %s, ours %.6f"
                        % (theirs.get("robustness"), ours_rob))
    if theirs.get("accuracy") is None or abs(float(theirs["accuracy"]) - ours_acc) > acc_tol:
        problems.append("accuracy: toolkit %s, ours %.6f (tolerance %g)"
                        % (theirs.get("accuracy"), ours_acc, acc_tol))

    if pysot_results:
        rep["records"] = {}
        for video in dataset:
            path = os.path.join(pysot_results, dataset.name, model_name or tracker, EXPERIMENT,
                                video.name, "%s_001.txt" % video.name)
            if not os.path.isfile(path):
                problems.append("%s: no tools/test.py record %s" % (video.name, path))
                continue
            mine, toolkit = read_vot_record(path, len(video)), converted[video.name][0]
            size = image_size(video)
            diff = compare_records(mine, toolkit, box_tol, video.gt, size)
            split = first_divergence(mine, toolkit)
            if diff:
                rep["records"][video.name] = diff
            elif split is None:
                rep["records"][video.name] = "identical"
            else:
                rep["records"][video.name] = ("identical up to frame %d, where a failure was called "
                                              "at a borderline overlap" % split)
            problems += ["%s: tools/test.py vs toolkit, %s" % (video.name, d) for d in diff]
    return rep, problems


def _stack_of(workspace):
    import yaml

    with open(os.path.join(workspace, "config.yaml")) as f:
        return (yaml.safe_load(f) or {}).get("stack")


def format_report(rep):
    t, o = rep["toolkit"], rep["ours"]

    def f(x):
        return "%.4f" % x if isinstance(x, (int, float)) and math.isfinite(x) else "nan"
    lines = ["%s on %s (results converted to %s)" % (rep["tracker"], rep["dataset"], rep["results"]),
             "%-36s %10s %10s" % ("", "toolkit", "ours"),
             "%-36s %10s %10s" % ("accuracy (length-weighted)", f(t["accuracy"]), f(o["accuracy"])),
             "%-36s %10s %10s" % ("robustness (failures/seq, weighted)", f(t["robustness"]),
                                  f(o["robustness"])),
             "%-36s %10s %10s" % ("failures (total)", f(t["failures"]), f(o["failures"])),
             "%-36s %10s %10s" % ("EAO (not compared: definitions differ)", f(t["eao"]),
                                  f(o["eao"])),
             "ours, PySOT's aggregation: accuracy %s, robustness %s (failures per 100 frames)"
             % (f(o["pysot_accuracy"]), f(o["pysot_robustness"]))]
    for name, s in rep["per_sequence"].items():
        lines.append("  %-20s accuracy %s failures %g" % (name, f(s["accuracy"]), s["failures"]))
    for name, r in (rep.get("records") or {}).items():
        lines.append("  tools/test.py vs toolkit, %s: %s" % (name, r if isinstance(r, str)
                                                             else "; ".join(r)))
    return "\n".join(lines)
