"""The text tables `tools/eval.py` prints for a `BenchmarkResult` (PySOT's layout)."""
import math

__all__ = ["format_ope", "format_vot"]


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
    """Success | Norm Precision | Precision per tracker, best success first."""
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
    """Accuracy | Robustness | Lost Number | EAO per tracker, best EAO first."""
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
