"""Check our VOT evaluation (rasnet_plugin.evaluation, tools/eval.py) against the VOT toolkit's.

    python tools/vot_compare.py WORKSPACE [--tracker RASNet] [--out DIR]
        [--analysis FILE.json] [--pysot-results DIR --model-name NAME]
        [--acc-tol 0.01] [--box-tol 0.001]

(also installed as `rasnet-vot-compare`). What is compared, and why the accuracy has a
tolerance: see rasnet_plugin/vot/compare.py. The toolkit's baseline runs are converted to
PySOT's record layout in --out (default WORKSPACE/pysot_results); --analysis reuses an
existing `vot analysis --format json` file; --pysot-results compares tools/test.py's records
for the same config frame by frame with the toolkit's (boxes within --box-tol pixels).
Exit status 0 when everything agrees, 1 otherwise (each disagreement is printed).
"""
import argparse
import json
import sys

from ..vot.compare import compare, format_report
from ..vot.workspace import WorkspaceError


def main(argv=None):
    p = argparse.ArgumentParser(description="compare our VOT evaluation with the VOT toolkit's")
    p.add_argument("workspace")
    p.add_argument("--tracker", default="RASNet")
    p.add_argument("--out", help="where to write the converted records "
                   "(default WORKSPACE/pysot_results)")
    p.add_argument("--analysis", help="an existing `vot analysis --format json` file "
                   "(default: run the analysis now, cache off)")
    p.add_argument("--pysot-results", help="tools/test.py's --results folder, same sequences")
    p.add_argument("--model-name", help="tools/test.py's --model-name (default: --tracker)")
    p.add_argument("--acc-tol", type=float, default=0.01)
    p.add_argument("--box-tol", type=float, default=1e-3)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    try:
        rep, problems = compare(args.workspace, args.tracker, args.out, args.analysis,
                                args.pysot_results, args.model_name, args.acc_tol, args.box_tol)
    except (OSError, ValueError, WorkspaceError) as e:
        print("vot_compare: error: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(rep, indent=2, default=float) if args.json else format_report(rep))
    for msg in problems:
        print("MISMATCH: " + msg)
    print("agree" if not problems else "%d mismatch(es)" % len(problems))
    return 0 if not problems else 1
