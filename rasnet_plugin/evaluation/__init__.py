"""Evaluation of tracker results in PySOT's layout: result files, metrics, benchmark, plots.

Running trackers over datasets (the one-pass and VOT reset loops, resume, worker pool) is
``rasnet_plugin.evaluation.running``; the tools' other logic: ``compare`` (tracker
comparison), ``speed`` (tracker speed per precision), ``soak`` (long runs), ``report``
(eval tables). Plots are imported lazily (``rasnet_plugin.evaluation.plots``) so that
importing this package does not import matplotlib.
"""
from .metrics import (DEFAULT_EAO_INTERVAL, EAO_INTERVALS, NORM_PRECISION_THRESHOLDS,
                      PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS, box_centers, eao_curve,
                      eao_from_curve, expected_average_overlap, iou, norm_precision_curve,
                      precision_at, precision_curve, region_overlap, robustness, success_auc,
                      success_curve, vot_accuracy, vot_failures, vot_overlaps)
from .results import (PROTOCOLS, ResultError, atomic_write_text, check_result, has_result,
                      list_trackers,
                      read_boxes, read_times, read_vot_record, result_path, save_result,
                      time_path, vot_run_paths, write_boxes, write_times, write_vot_record)
from .benchmark import (BenchmarkResult, OPEScores, OPETrackerResult, VOTTrackerResult,
                        VOTVideoScores, evaluate)

__all__ = [
    "SUCCESS_THRESHOLDS", "PRECISION_THRESHOLDS", "NORM_PRECISION_THRESHOLDS", "EAO_INTERVALS",
    "DEFAULT_EAO_INTERVAL", "iou", "box_centers", "success_curve", "success_auc",
    "precision_curve", "norm_precision_curve", "precision_at", "region_overlap",
    "vot_overlaps", "vot_accuracy", "vot_failures", "robustness", "eao_curve",
    "eao_from_curve", "expected_average_overlap",
    "PROTOCOLS", "ResultError", "atomic_write_text", "result_path", "time_path", "has_result",
    "check_result",
    "vot_run_paths", "list_trackers", "write_boxes", "write_vot_record", "write_times",
    "save_result", "read_boxes", "read_vot_record", "read_times",
    "BenchmarkResult", "OPEScores", "OPETrackerResult", "VOTTrackerResult", "VOTVideoScores",
    "evaluate",
]
