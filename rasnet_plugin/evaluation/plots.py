"""Success / precision / EAO plots as PNG files (matplotlib, Agg backend, no display)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .. import fileio
from . import metrics as M

_STYLES = ["-", "--", ":", "-."]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "attr"


def _style(i: int) -> dict:
    import matplotlib
    return {"color": matplotlib.colormaps["tab10"](i % 10), "linestyle": _STYLES[(i // 10) % 4]}


def plot_curves(curves: Dict[str, np.ndarray], scores: Dict[str, float], thresholds,
                path, title: str, xlabel: str, ylabel: str, legend_loc: str,
                order: Optional[List[str]] = None) -> Path:
    """One curve per tracker, best score first, ``[score] name`` in the legend.

    ``order`` (e.g. the overall ranking) fixes each tracker's colour across plots.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    slot = {n: i for i, n in enumerate(order or sorted(curves))}
    ranked = sorted(curves, key=lambda n: (-np.nan_to_num(scores[n], nan=-1.0), slot.get(n, 0)))
    for name in ranked:
        ax.plot(thresholds, curves[name], linewidth=2, label=f"[{scores[name]:.3f}] {name}",
                **_style(slot.get(name, len(slot))))
    ax.set_xlim(float(thresholds[0]), float(thresholds[-1]))
    ax.set_ylim(0, 1.03)
    ax.grid(True, alpha=0.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc=legend_loc, labelspacing=0.2, fontsize=9)
    fig.tight_layout()
    try:
        return fileio.atomic_write(path, lambda f: fig.savefig(f, format="png"))
    finally:
        plt.close(fig)


def plot_ope(result, out_dir, attributes: bool = True) -> List[Path]:
    """Success, precision and normalised-precision plots of a one-pass ``BenchmarkResult``.

    Writes ``success_ALL.png``, ``precision_ALL.png``, ``norm_precision_ALL.png`` and, per
    video attribute, ``success_<attr>.png`` and ``precision_<attr>.png``.
    """
    out_dir = Path(out_dir)
    groups = {"ALL": {n: t.overall for n, t in result.trackers.items()}}
    if attributes:
        for attr in result.attributes:
            groups[attr] = {n: t.attributes[attr] for n, t in result.trackers.items()}
    written = []
    order = result.ranking()
    for group, scores in groups.items():
        where = f"OPE on {result.dataset}" if group == "ALL" else f"OPE - {group}"
        tag = _safe(group)
        written.append(plot_curves(
            {n: s.success for n, s in scores.items()}, {n: s.auc for n, s in scores.items()},
            M.SUCCESS_THRESHOLDS, out_dir / f"success_{tag}.png", f"Success plots of {where}",
            "Overlap threshold", "Success rate", "lower left", order))
        written.append(plot_curves(
            {n: s.precision for n, s in scores.items()},
            {n: s.precision_20 for n, s in scores.items()},
            M.PRECISION_THRESHOLDS, out_dir / f"precision_{tag}.png", f"Precision plots of {where}",
            "Location error threshold (px)", "Precision", "lower right", order))
        if group == "ALL":
            written.append(plot_curves(
                {n: s.norm_precision for n, s in scores.items()},
                {n: s.norm_precision_20 for n, s in scores.items()},
                M.NORM_PRECISION_THRESHOLDS, out_dir / f"norm_precision_{tag}.png",
                f"Normalized precision plots of {where}",
                "Normalized location error threshold", "Precision", "lower right", order))
    return written


def plot_eao(result, out_dir) -> List[Path]:
    """Expected-overlap curves of a VOT ``BenchmarkResult``, the EAO interval shaded."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    low, high = None, None
    for i, name in enumerate(result.ranking()):
        t = result.trackers[name]
        lengths = np.arange(1, len(t.eao_curve) + 1)
        ax.plot(lengths, t.eao_curve, linewidth=2, label=f"[{t.eao:.3f}] {name}", **_style(i))
        low, high = t.eao_interval
    if low is not None:
        ax.axvspan(low, high, color="0.85", zorder=0, label=f"EAO interval [{low}, {high}]")
    ax.set_ylim(0, 1.03)
    ax.grid(True, alpha=0.4)
    ax.set_xlabel("Sequence length (frames)")
    ax.set_ylabel("Expected overlap")
    ax.set_title(f"Expected overlap curves on {result.dataset}")
    ax.legend(loc="upper right", labelspacing=0.2, fontsize=9)
    fig.tight_layout()
    try:
        return [fileio.atomic_write(out_dir / "eao_curve.png", lambda f: fig.savefig(f, format="png"))]
    finally:
        plt.close(fig)


def plot_result(result, out_dir, attributes: bool = True) -> List[Path]:
    """All plots for a ``BenchmarkResult`` (one-pass or VOT) under ``out_dir``."""
    if result.protocol == "vot":
        return plot_eao(result, out_dir)
    return plot_ope(result, out_dir, attributes)
