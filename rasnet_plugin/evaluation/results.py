"""Tracker result files in PySOT's layout: paths, atomic writers and strict readers.

Layouts (``<results>/<DATASET>/<model>/...``):

* ``"ope"`` (OTB, UAV, LaSOT, NFS, ...): ``<video>.txt``, one ``x,y,w,h`` line per frame,
  frame 0 included;
* ``"vot"`` (reset protocol): ``baseline/<video>/<video>_001.txt``, one line per frame:
  ``1`` (initialised), ``2`` (failure), ``0`` (skipped) or a ``%.4f`` box / polygon;
* ``"got10k"``: ``<video>/<video>_001.txt`` (boxes) and ``<video>/<video>_time.txt``
  (seconds per frame, ``%.6f``).

Every file is written atomically (temporary file in the same folder, flush, fsync,
``os.replace``), so a result file that exists is complete: ``has_result`` only checks
existence. For GOT-10k the time file is written before the box file for the same reason.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, List, Optional, Union

import numpy as np

from .. import fileio

PROTOCOLS = ("ope", "vot", "got10k")
PathLike = Union[str, os.PathLike]

_SEP = re.compile(r"[,\s]+")


class ResultError(ValueError):
    """A missing or malformed result file; the message names the file (and line)."""

    def __init__(self, message: str, path: Optional[PathLike] = None, line: Optional[int] = None):
        self.path = None if path is None else str(path)
        self.line = line
        where = "" if path is None else (f"{path}:{line}: " if line is not None else f"{path}: ")
        super().__init__(where + message)


# --------------------------------------------------------------------------- paths


def tracker_dir(results_dir: PathLike, dataset: str, model: str) -> Path:
    return Path(results_dir) / dataset / model


def result_path(results_dir: PathLike, dataset: str, model: str, video: str,
                protocol: str = "ope", run: int = 1) -> Path:
    """Where PySOT puts (or looks for) the result of ``model`` on ``video``."""
    base = tracker_dir(results_dir, dataset, model)
    if protocol == "ope":
        return base / f"{video}.txt"
    if protocol == "vot":
        return base / "baseline" / video / f"{video}_{run:03d}.txt"
    if protocol == "got10k":
        return base / video / f"{video}_{run:03d}.txt"
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")


def time_path(results_dir: PathLike, dataset: str, model: str, video: str) -> Path:
    """GOT-10k's per-frame timing file, ``<video>/<video>_time.txt``."""
    return tracker_dir(results_dir, dataset, model) / video / f"{video}_time.txt"


def has_result(results_dir: PathLike, dataset: str, model: str, video: str,
               protocol: str = "ope", run: int = 1) -> bool:
    """True if the (complete, atomically written) result exists."""
    if not result_path(results_dir, dataset, model, video, protocol, run).is_file():
        return False
    if protocol == "got10k":
        return time_path(results_dir, dataset, model, video).is_file()
    return True


def check_result(results_dir: PathLike, dataset: str, model: str, video: str, num_frames: int,
                 protocol: str = "ope", run: int = 1) -> None:
    """Read an existing result back: ResultError naming the file (and line) when it is
    malformed or holds another number of frames than ``num_frames`` (a file edited or cut by
    hand, or left by another version of the dataset)."""
    path = result_path(results_dir, dataset, model, video, protocol, run)
    if protocol == "vot":
        read_vot_record(path, num_frames)
        return
    read_boxes(path, num_frames)
    if protocol == "got10k":
        times = time_path(results_dir, dataset, model, video)
        n = len(read_times(times))
        if n != num_frames:
            raise ResultError(f"{n} time lines but the ground truth has {num_frames} frames", times)


def vot_run_paths(results_dir: PathLike, dataset: str, model: str, video: str) -> List[Path]:
    """All run files ``<video>_NNN.txt`` of a VOT result, sorted by run number."""
    folder = tracker_dir(results_dir, dataset, model) / "baseline" / video
    if not folder.is_dir():
        return []
    pat = re.compile(re.escape(video) + r"_(\d{3})\.txt$")
    runs = [(int(m.group(1)), p) for p in folder.iterdir() if (m := pat.match(p.name))]
    return [p for _, p in sorted(runs)]


# --------------------------------------------------------------------------- writers


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (ASCII, as every result format is) atomically; see `rasnet_plugin.fileio`."""
    return fileio.atomic_write_text(path, text, encoding="ascii")


def _fmt_float(v: float) -> str:
    return repr(float(v))  # shortest exact round-trip text, like PySOT's str(float)


def write_boxes(path: PathLike, boxes) -> Path:
    """One-pass / GOT-10k result: one ``x,y,w,h`` line per frame (full precision)."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4) x,y,w,h, got shape {arr.shape}")
    return atomic_write_text(path, "".join(",".join(_fmt_float(v) for v in row) + "\n" for row in arr))


def write_vot_record(path: PathLike, record) -> Path:
    """VOT reset-protocol record: ints 1/2/0 (or ``[1]``...) and ``%.4f`` boxes / polygons."""
    lines = []
    for i, entry in enumerate(record):
        vals = [entry] if np.isscalar(entry) else list(entry)
        if len(vals) == 1:
            code = int(vals[0])
            if code not in (0, 1, 2) or code != vals[0]:
                raise ValueError(f"frame {i}: a VOT code is 0, 1 or 2, got {vals[0]!r}")
            lines.append(f"{code:d}\n")
        elif len(vals) == 4 or (len(vals) >= 6 and len(vals) % 2 == 0):
            lines.append(",".join("%.4f" % float(v) for v in vals) + "\n")
        else:
            raise ValueError(f"frame {i}: a region has 4 or an even number >= 6 values, got {len(vals)}")
    return atomic_write_text(path, "".join(lines))


def write_times(path: PathLike, times) -> Path:
    """GOT-10k timing file: seconds per frame, ``%.6f``."""
    return atomic_write_text(path, "".join("%.6f\n" % float(t) for t in np.asarray(times).reshape(-1)))


def save_result(results_dir: PathLike, dataset: str, model: str, video: str, result,
                protocol: str = "ope", times=None, run: int = 1) -> Path:
    """Write a result in the layout of ``protocol``; returns the result file's path.

    ``result`` is an (N, 4) box array for "ope" / "got10k" and a record for "vot".
    GOT-10k needs ``times`` (one per frame); it is written first so that the box file's
    existence implies both files are complete.
    """
    path = result_path(results_dir, dataset, model, video, protocol, run)
    if protocol == "vot":
        return write_vot_record(path, result)
    if protocol == "got10k":
        if times is None:
            raise ValueError("GOT-10k results need per-frame times")
        write_times(time_path(results_dir, dataset, model, video), times)
    return write_boxes(path, result)


# --------------------------------------------------------------------------- readers


def _read_lines(path: PathLike) -> List[str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultError("result file not found", path) from None
    except UnicodeDecodeError as e:
        raise ResultError(f"not a text file ({e.reason})", path) from None
    lines = text.rstrip().splitlines()
    return lines


def _parse(path, lineno: int, line: str) -> List[float]:
    s = line.strip()
    if not s:
        raise ResultError("empty line", path, lineno)
    try:
        return [float(t) for t in _SEP.split(s)]
    except ValueError:
        raise ResultError(f"not a comma-separated list of numbers: {s[:80]!r}", path, lineno) from None


def read_boxes(path: PathLike, num_frames: Optional[int] = None) -> np.ndarray:
    """Read a one-pass / GOT-10k result as an (N, 4) float64 array.

    Values may be separated by commas, tabs or spaces. With ``num_frames`` the line count
    must match (the error names both counts).
    """
    rows = []
    for i, line in enumerate(_read_lines(path), start=1):
        vals = _parse(path, i, line)
        if len(vals) != 4:
            raise ResultError(f"expected 4 values x,y,w,h, got {len(vals)}", path, i)
        rows.append(vals)
    if num_frames is not None and len(rows) != num_frames:
        raise ResultError(f"{len(rows)} result lines but the ground truth has {num_frames} frames", path)
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def read_vot_record(path: PathLike, num_frames: Optional[int] = None) -> List[List[float]]:
    """Read a VOT record: a list with ``[1]``, ``[2]``, ``[0]`` or a region per frame."""
    record = []
    for i, line in enumerate(_read_lines(path), start=1):
        vals = _parse(path, i, line)
        if len(vals) == 1:
            if vals[0] not in (0.0, 1.0, 2.0):
                raise ResultError(f"a one-value line must be 0, 1 or 2, got {vals[0]:g}", path, i)
            record.append([int(vals[0])])
        elif len(vals) == 4 or (len(vals) >= 6 and len(vals) % 2 == 0):
            record.append(vals)
        else:
            raise ResultError(f"expected 1, 4 or an even number >= 6 values, got {len(vals)}", path, i)
    if record and record[0] != [1]:
        raise ResultError("a VOT record must start with 1 (initialisation)", path, 1)
    if num_frames is not None and len(record) != num_frames:
        raise ResultError(f"{len(record)} result lines but the ground truth has {num_frames} frames", path)
    return record


def read_times(path: PathLike) -> np.ndarray:
    """Read a GOT-10k ``_time.txt`` file (one number per line)."""
    out = []
    for i, line in enumerate(_read_lines(path), start=1):
        vals = _parse(path, i, line)
        if len(vals) != 1:
            raise ResultError(f"expected one time value, got {len(vals)}", path, i)
        out.append(vals[0])
    return np.array(out, dtype=np.float64)


def find_ope_result(tracker_path: PathLike, video: str) -> Optional[Path]:
    """A one-pass result of a tracker folder: ``<video>.txt`` or GOT-10k's ``<video>/<video>_001.txt``."""
    base = Path(tracker_path)
    for p in (base / f"{video}.txt", base / video / f"{video}_001.txt"):
        if p.is_file():
            return p
    return None


def list_trackers(results_dir: PathLike, dataset: str, prefix: str = "",
                  exclude: Iterable[PathLike] = ()) -> List[str]:
    """Tracker folders under ``<results>/<dataset>`` whose name starts with ``prefix``.

    Folders without any ``.txt`` file within three levels (e.g. a ``plots`` folder) and the
    folders in ``exclude`` are skipped.
    """
    root = Path(results_dir) / dataset
    if not root.is_dir():
        return []
    excl = {Path(e).resolve() for e in exclude}
    names = []
    for d in sorted(root.iterdir()):
        if not d.is_dir() or not d.name.startswith(prefix) or d.resolve() in excl:
            continue
        if any(d.glob("*.txt")) or any(d.glob("*/*.txt")) or any(d.glob("*/*/*.txt")):
            names.append(d.name)
    return names
