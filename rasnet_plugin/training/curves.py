"""Training curves: `train_log.csv`, `val_log.csv` and a `curves.png` plot (matplotlib Agg).

A fresh run starts both CSV files anew; a resumed run keeps the rows up to the step of
its checkpoint and drops the later ones (written after that checkpoint by the run that
was interrupted), so the files always describe one consistent run.
"""
import csv
import math
import os

from ..fileio import atomic_write

__all__ = ["CurveLogger", "TRAIN_FIELDS", "VAL_FIELDS", "read_csv", "plot_curves"]

TRAIN_FIELDS = ("step", "epoch", "lr", "loss", "pairs_per_s", "skipped", "rejected")
VAL_FIELDS = ("step", "epoch", "val_loss")


def _text_rows(path):
    """(text row, float row) pairs of a CSV file, torn lines left out (missing file: none)."""
    if not os.path.isfile(path):
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows.append((row, {k: float(v) for k, v in row.items()}))
            except (TypeError, ValueError):
                continue  # a line cut short by a kill: drop it
    return rows


def read_csv(path):
    """Rows of a CSV file as dicts of floats (missing file: no rows)."""
    return [values for _, values in _text_rows(path)]


def _write_rows(path, fields, rows):
    def write(f):
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in fields})
    atomic_write(path, write, mode="w", newline="")


class CurveLogger:
    """Appends training / validation rows to CSV files in `out_dir` and plots them."""

    def __init__(self, out_dir, resume_step=None):
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.train_csv = os.path.join(out_dir, "train_log.csv")
        self.val_csv = os.path.join(out_dir, "val_log.csv")
        self.png = os.path.join(out_dir, "curves.png")
        for path, fields in ((self.train_csv, TRAIN_FIELDS), (self.val_csv, VAL_FIELDS)):
            # the kept rows as written (their text, not re-formatted floats)
            keep = [] if resume_step is None else \
                [text for text, values in _text_rows(path) if values["step"] <= resume_step]
            _write_rows(path, fields, keep)

    def _append(self, path, fields, row):
        with open(path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=fields).writerow({k: row[k] for k in fields})

    def log_train(self, **row):
        self._append(self.train_csv, TRAIN_FIELDS, row)

    def log_val(self, **row):
        self._append(self.val_csv, VAL_FIELDS, row)

    def plot(self):
        return plot_curves(self.train_csv, self.val_csv, self.png)


def plot_curves(train_csv, val_csv, png):
    """Loss (and a moving average) and validation loss against the step; lr below."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, val = read_csv(train_csv), read_csv(val_csv)
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 1]})
    if train:
        steps = [r["step"] for r in train]
        loss = [r["loss"] for r in train]
        ax.plot(steps, loss, color="tab:blue", alpha=0.35, lw=1, label="train loss")
        k = max(1, len(loss) // 20)
        smooth = [sum(loss[max(0, i - k + 1):i + 1]) / len(loss[max(0, i - k + 1):i + 1])
                  for i in range(len(loss))]
        ax.plot(steps, smooth, color="tab:blue", lw=2, label="train loss (moving mean)")
        ax_lr.plot(steps, [r["lr"] for r in train], color="tab:green", drawstyle="steps-pre")
        if all(r["lr"] > 0 for r in train):
            ax_lr.set_yscale("log")
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-",
                color="tab:red", lw=2, label="validation loss")
    ax.axhline(math.log(2), color="gray", ls=":", lw=1, label="log 2 (chance)")
    ax.set_ylabel("balanced logistic loss")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    ax_lr.set_ylabel("lr")
    ax_lr.set_xlabel("step")
    ax_lr.grid(alpha=0.3)
    fig.tight_layout()
    try:
        atomic_write(png, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)
    return png
