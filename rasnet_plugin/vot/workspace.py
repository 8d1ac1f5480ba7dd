"""An offline VOT toolkit workspace for RASNet (and its SiamFC ablation), and the toolkit
runs on it: what `tools/vot_workspace.py` (`rasnet-vot-workspace`) does, as functions.

`write_workspace(WORKSPACE, ...)` writes (an existing workspace keeps its other trackers and
config keys):
  config.yaml        `stack:` (absolute path of the stack below), `registry: [./trackers.ini]`,
                     `sequences:` (absolute path of the sequence folder)
  trackers.ini       [RASNet] (experiments/rasnet.yaml) and [SiamFC] (experiments/siamfc.yaml):
                     protocol traxpython, command rasnet_plugin.vot, paths = the folder that
                     holds this package, python = this interpreter, env_RASNET_CONFIG, timeout
  rasnet_stack.yaml  a local stack: `baseline` (the reset-based supervised experiment:
                     accuracy/robustness, failures, EAO score and curve) and `unsupervised`
                     (one pass, average accuracy). It has no `dataset:` key, so the toolkit
                     never downloads; its EAO interval is computed from the sequence lengths.

Without a sequence folder the bundled RASNetBench benchmark is built (testing_dataset/) and
exported to WORKSPACE/sequences in VOT layout (`export_bundled`). A given stack (a YAML path,
or a toolkit stack such as vot2018/shortterm) replaces the local one; its own EAO interval
must fit the sequences.

`evaluate` and `analysis` run `vot evaluate` / `vot analysis --format json` with the
toolkit's update check (a web request) switched off. The toolkit's analysis cache
(WORKSPACE/cache) is never invalidated by the toolkit itself, so every run here deletes it
and sets VOT_PERSISTENT_CACHE=0. `summarize` and `format_summary` read the analysis.
"""
import configparser
import glob
import json
import math
import os
import shlex
import shutil
import subprocess
import sys

from ..fileio import atomic_write_text

# the folder that holds the rasnet_plugin package: the trackers' PYTHONPATH (`paths`), and in a
# checkout the root of experiments/ and testing_dataset/
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK_FILE = "rasnet_stack.yaml"
TRACKERS = {"RASNet": "experiments/rasnet.yaml", "SiamFC": "experiments/siamfc.yaml"}
LABELS = {"RASNet": "RASNet", "SiamFC": "SiamFC (ablation)"}
SKIP_INITIALIZE = 5     # VOT: re-initialise 5 frames after a failure
BURNIN = 10             # VOT: frames after each (re)initialisation left out of accuracy
SENSITIVITY = 30        # VOT's AR-plot robustness sensitivity (the stacks' value)

# Runs the toolkit's CLI with its update check (a request to github.com) switched off.
_VOT_MAIN = ("import sys, vot.utilities.cli as c; c.check_updates = lambda: (False, None); "
             "sys.argv[0] = 'vot'; c.main()")


class WorkspaceError(RuntimeError):
    """A workspace that cannot be written, or a toolkit run that failed."""


# ------------------------------------------------------------------ sequences

def read_list(seq_dir):
    path = os.path.join(seq_dir, "list.txt")
    if not os.path.isfile(path):
        raise WorkspaceError(f"{seq_dir}: no list.txt (not a VOT sequence folder)")
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise WorkspaceError(f"{path}: lists no sequence")
    return names


def sequence_lengths(seq_dir):
    """{sequence: frame count} of a VOT-layout folder (groundtruth.txt rows)."""
    lengths = {}
    for name in read_list(seq_dir):
        gt = os.path.join(seq_dir, name, "groundtruth.txt")
        if not os.path.isfile(gt):
            raise WorkspaceError(f"sequence {name!r}: missing {gt}")
        with open(gt) as f:
            lengths[name] = sum(1 for line in f if line.strip())
        if lengths[name] < 2:
            raise WorkspaceError(f"sequence {name!r}: fewer than 2 frames in {gt}")
    return lengths


def eao_interval(lengths):
    """(low, high) for the toolkit's EAO score from the sequence lengths.

    VOT takes the interval around the typical sequence length (VOT2018: [100, 356] for
    sequences of 41..1500 frames, median ~ 170). Here: [median / 3, median], which keeps
    that proportion, clipped to [1, longest - 1]: the toolkit's EAO curve at index i is the
    expected overlap on sequences of i + 1 frames, and it only exists up to the longest
    tracked fragment, so an interval past the sequence lengths gives NaN.
    """
    lengths = sorted(int(n) for n in (lengths.values() if isinstance(lengths, dict) else lengths))
    if not lengths or lengths[-1] < 2:
        raise WorkspaceError("EAO needs at least one sequence of 2 frames or more")
    mid = len(lengths) // 2
    median = lengths[mid] if len(lengths) % 2 else (lengths[mid - 1] + lengths[mid]) / 2.0
    high = max(1, min(int(round(median)), lengths[-1] - 1))
    low = max(1, min(int(round(median / 3.0)), high))
    return low, high


def export_bundled(workspace, videos=None, max_frames=None, dataset_root=None):
    """Build the bundled benchmark and export it (or a subset) to WORKSPACE/sequences."""
    from ..datasets import Dataset, Video, ensure_bundled, export_vot, load_dataset

    if max_frames is not None and int(max_frames) < 1:  # (a negative n would drop the last frames)
        raise WorkspaceError(f"max_frames must be >= 1, got {max_frames}")
    root = dataset_root or os.path.join(ROOT, "testing_dataset")
    ds = load_dataset(ensure_bundled(root))
    chosen = list(ds)
    if videos:
        missing = [v for v in videos if v not in ds]
        if missing:
            raise WorkspaceError("no video %s in %s (it has: %s)"
                                 % (", ".join(missing), ds.name, ", ".join(v.name for v in ds)))
        chosen = [ds[v] for v in videos]
    if max_frames is not None:
        n = int(max_frames)
        chosen = [Video(v.name, v.img_paths[:n], v.gt[:n], attr=v.attr,
                        tags={t: f[:n] for t, f in v.tags.items()}) for v in chosen]
    out = os.path.join(workspace, "sequences")
    if os.path.isdir(out):
        shutil.rmtree(out)
    export_vot(Dataset(ds.name, ds.root, chosen, is_vot=True), out)
    return out


# ------------------------------------------------------------------ files

def _ini_value(value):
    """configparser interpolates '%': write it '%%'. Values are single-line."""
    value = str(value)
    if "\n" in value or "\r" in value:
        raise WorkspaceError(f"trackers.ini values must be one line: {value!r}")
    return value.replace("%", "%%")


def _config_file(rel):
    """A tracker's config: the checkout's experiments/ file, else (an installed package has
    no experiments/ folder) the copy shipped in the package's configs/."""
    path = os.path.join(ROOT, rel)
    if os.path.isfile(path):
        return path
    return os.path.join(ROOT, "rasnet_plugin", "configs", os.path.basename(rel))


def trackers_ini(timeout=120, snapshot=None, device=None, threads=None, python=None):
    """The text of trackers.ini (no inline comments: the toolkit's parser keeps them)."""
    python = python or sys.executable
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # keep the case of env_RASNET_CONFIG
    for name, config in TRACKERS.items():
        sec = {
            "label": LABELS[name],
            "protocol": "traxpython",
            "command": "rasnet_plugin.vot",
            "paths": ROOT,
            "python": shlex.quote(python),  # the toolkit shlex-splits the command line
            "timeout": str(int(timeout)),
            "env_RASNET_CONFIG": _config_file(config),
        }
        if snapshot:
            sec["env_RASNET_SNAPSHOT"] = os.path.abspath(snapshot)
        if device:
            sec["env_RASNET_DEVICE"] = device
        if threads:
            sec["env_RASNET_THREADS"] = str(int(threads))
        cp[name] = {k: _ini_value(v) for k, v in sec.items()}
    lines = ["# RASNet trackers for the VOT toolkit (written by tools/vot_workspace.py).",
             "# `paths` replaces PYTHONPATH for the tracker process; `timeout` is per request.",
             ""]
    for name in cp.sections():
        lines.append(f"[{name}]")
        lines += [f"{k} = {v}" for k, v in cp[name].items()]
        lines.append("")
    return "\n".join(lines)


def stack_yaml(low, high, repetitions=1, title="RASNet local stack"):
    """A stack with no `dataset:` key (never downloads). The tracker is deterministic, so one
    repetition is the default (the toolkit would stop after 3 identical runs anyway)."""
    return f"""title: {title}
url: ""
experiments:
  baseline:
    type: supervised
    repetitions: {int(repetitions)}
    skip_initialize: {SKIP_INITIALIZE}
    analyses:
      - type: supervised_average_ar
        sensitivity: {SENSITIVITY}
        burnin: {BURNIN}
      - type: cumulative_failures
      - type: supervised_eao_score
        low: {int(low)}
        high: {int(high)}
      - type: supervised_eao_curve
  unsupervised:
    type: unsupervised
    repetitions: 1
    analyses:
      - type: average_accuracy
"""


def config_yaml(stack, sequences, existing=None):
    """config.yaml's text; other keys of an `existing` config (e.g. report settings) are kept."""
    cfg = dict(existing or {})
    registry = cfg.get("registry") or []
    registry = [registry] if isinstance(registry, str) else list(registry)
    if not any(os.path.normpath(str(r)) in ("trackers.ini", ".") for r in registry):
        registry.insert(0, "./trackers.ini")
    cfg.update(stack=stack, registry=registry, sequences=sequences)
    return json.dumps(cfg, indent=2) + "\n"  # JSON is YAML


def merge_trackers_ini(existing_text, ours_text):
    """`existing_text` without its RASNet / SiamFC sections, then ours: other trackers and
    comments of an existing trackers.ini stay as they are."""
    ours_header = set()
    for line in ours_text.splitlines():
        if line.startswith("["):
            break
        if line.strip():
            ours_header.add(line.strip())
    kept, skipping = [], False
    for line in existing_text.splitlines():
        head = line.strip()
        if head.startswith("[") and head.endswith("]"):
            skipping = head[1:-1].strip() in TRACKERS
        if not skipping and head not in ours_header:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return ("\n".join(kept) + "\n\n" if kept else "") + ours_text


def _read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _load_yaml(path, text=None):
    """The YAML document in `path` (or its `text`); WorkspaceError naming the file when it
    is not valid YAML."""
    import yaml

    try:
        if text is None:
            with open(path) as f:
                text = f.read()
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise WorkspaceError(f"{path}: not valid YAML ({e})".replace("\n", " ")) from None


def stack_interval(stack_path):
    """The (low, high) of the first supervised_eao_score analysis of a stack file, or None."""
    stack = _load_yaml(stack_path)
    if not isinstance(stack, dict):
        raise WorkspaceError(f"{stack_path}: not a stack (expected a mapping with 'experiments')")
    for exp in (stack.get("experiments") or {}).values():
        for a in (exp or {}).get("analyses") or []:
            if isinstance(a, dict) and a.get("type") == "supervised_eao_score":
                return int(a.get("low", 0)), int(a.get("high", 0))
    return None


def resolve_stack(stack):
    """An absolute stack path: a YAML file, or a stack that ships with the toolkit."""
    if os.path.isfile(stack):
        return os.path.abspath(stack)
    try:
        from vot.stack import resolve_stack as vot_resolve
    except ImportError:
        raise WorkspaceError(f"stack {stack!r}: not a file, and the VOT toolkit is not "
                             "installed to look it up") from None
    path = vot_resolve(stack)
    if path is None:
        raise WorkspaceError(f"stack {stack!r}: not a file and not a toolkit stack")
    return path


def write_workspace(workspace, sequences=None, stack=None, videos=None, max_frames=None,
                    eao_low=None, eao_high=None, repetitions=1, timeout=120, snapshot=None,
                    device=None, threads=None, dataset_root=None):
    """Write (or refresh) the workspace files; returns a dict describing it."""
    workspace = os.path.abspath(workspace)
    # the tracker reads the snapshot only when the toolkit starts it, where a missing file
    # shows as "Unable to connect to tracker": refuse it now, before writing anything
    if snapshot and not os.path.isfile(snapshot):
        raise WorkspaceError(f"snapshot {snapshot}: no such file")
    os.makedirs(workspace, exist_ok=True)
    if sequences:
        sequences = os.path.abspath(sequences)
    else:
        sequences = export_bundled(workspace, videos, max_frames, dataset_root)
    lengths = sequence_lengths(sequences)
    low, high = eao_interval(lengths)
    low = low if eao_low is None else int(eao_low)
    high = high if eao_high is None else int(eao_high)
    if not 1 <= low <= high:
        raise WorkspaceError(f"EAO interval [{low}, {high}] is not 1 <= low <= high")
    if stack:
        stack_path = resolve_stack(stack)
        interval = stack_interval(stack_path)
        what = f"stack {stack}"
    else:
        stack_path = os.path.join(workspace, STACK_FILE)
        atomic_write_text(stack_path, stack_yaml(low, high, repetitions))
        interval, what = (low, high), "the EAO interval"
    if interval and interval[0] >= max(lengths.values()) - 1:
        print(f"vot_workspace: warning: {what} scores EAO on [{interval[0]}, {interval[1]}] "
              f"but the longest sequence has {max(lengths.values())} frames: its EAO will "
              "be NaN", file=sys.stderr)
    config_path = os.path.join(workspace, "config.yaml")
    existing = _read_text(config_path)
    existing = _load_yaml(config_path, existing) if existing else {}
    if not isinstance(existing, dict):
        raise WorkspaceError(f"{config_path}: not a workspace config (expected a mapping)")
    atomic_write_text(os.path.join(workspace, "config.yaml"),
                      config_yaml(stack_path, sequences, existing))
    ours = trackers_ini(timeout, snapshot, device, threads)
    existing = _read_text(os.path.join(workspace, "trackers.ini"))
    atomic_write_text(os.path.join(workspace, "trackers.ini"),
                      merge_trackers_ini(existing, ours) if existing else ours)
    os.makedirs(os.path.join(workspace, "results"), exist_ok=True)
    clear_cache(workspace)
    return {"workspace": workspace, "sequences": sequences, "stack": stack_path,
            "lengths": lengths, "eao_interval": interval}


# ------------------------------------------------------------------ running the toolkit

def clear_cache(workspace):
    """Delete the toolkit's analysis cache: it is keyed without the results' content."""
    shutil.rmtree(os.path.join(workspace, "cache"), ignore_errors=True)


def vot_env():
    env = dict(os.environ)
    env["VOT_PERSISTENT_CACHE"] = "0"
    return env


def run_vot(args, workspace, timeout=None):
    """Run `vot ARGS --workspace WORKSPACE` (update check off, no analysis cache).

    Returns the CompletedProcess; its combined output is in .stdout."""
    clear_cache(workspace)
    cmd = [sys.executable, "-c", _VOT_MAIN] + list(args) + ["--workspace", workspace]
    return subprocess.run(cmd, cwd=workspace, env=vot_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def _check(proc, what):
    out = proc.stdout or ""
    # the toolkit logs a tracker error and still exits 0
    bad = [line for line in out.splitlines()
           if "interrupted by tracker error" in line or "Traceback" in line]
    if proc.returncode != 0 or bad:
        raise WorkspaceError(f"{what} failed (exit {proc.returncode}):\n{out[-4000:]}")
    return out


def evaluate(workspace, trackers=("RASNet",), force=False, timeout=None):
    args = ["evaluate"] + list(trackers) + (["--force"] if force else [])
    return _check(run_vot(args, workspace, timeout), "vot evaluate")


def analysis(workspace, trackers=("RASNet",), name="rasnet", timeout=None):
    """Run `vot analysis --format json --name NAME`; returns the parsed JSON."""
    path = os.path.join(workspace, "analysis", name + ".json")
    if os.path.exists(path):
        os.remove(path)
    _check(run_vot(["analysis", "--format", "json", "--name", name] + list(trackers),
                   workspace, timeout), "vot analysis")
    if not os.path.isfile(path):
        found = glob.glob(os.path.join(workspace, "analysis", "**", name + ".json"), recursive=True)
        if not found:
            raise WorkspaceError(f"vot analysis wrote no {path}")
        path = found[0]
    with open(path) as f:
        return json.load(f)


def _finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


def summarize(report):
    """{tracker: {...}} from the JSON of `vot analysis --format json`.

    In that file each experiment's `results` list follows its `parameters.analyses` list,
    and each entry holds one tuple of measures per tracker, in the order of `trackers`.
    Only the supervised (reset) `baseline` and the `unsupervised` experiment are read; other
    experiments' measures (multistart, long-term) stay in the JSON.
    Keys: accuracy, robustness (the toolkit's Robustness: failures per sequence, averaged
    with the sequence lengths as weights), failures (the total count, cumulative_failures),
    eao, eao_curve, unsupervised_accuracy.
    """
    # keyed by module and class: vot.analysis.multistart (the VOT2020+ stacks' `baseline`)
    # has classes of the same names whose robustness is another measure (not failures)
    fields = {
        ("baseline", "supervised.AverageAccuracyRobustness"): ("accuracy", "robustness"),
        ("baseline", "failures.CumulativeFailureCount"): ("failures",),
        ("baseline", "supervised.EAOScore"): ("eao",),
        ("baseline", "supervised.EAOCurve"): ("eao_curve",),
        ("unsupervised", "accuracy.AverageAccuracy"): ("unsupervised_accuracy",),
    }
    trackers = list(report.get("trackers") or {})
    out = {t: {} for t in trackers}
    for exp_name, exp in (report.get("results") or {}).items():
        analyses = (exp.get("parameters") or {}).get("analyses") or []
        for spec, grid in zip(analyses, exp.get("results") or []):
            kind = ".".join(str(spec.get("type", "")).split(".")[-2:])
            names = fields.get((exp_name, kind))
            if not names or not isinstance(grid, list) or len(grid) != len(trackers):
                continue
            for tracker, values in zip(trackers, grid):
                for name, value in zip(names, values or []):
                    out[tracker][name] = value
    return out


def format_summary(summary, interval=None):
    lines = []
    if interval:
        lines.append(f"EAO interval [{interval[0]}, {interval[1]}]")
    lines.append(f"{'Tracker':<10} {'Accuracy':>9} {'Robustness':>11} {'Failures':>9} {'EAO':>7} "
                 f"{'Unsup. acc':>11}")

    def f(x):
        return f"{x:.3f}" if _finite(x) else "nan"
    for t, r in summary.items():
        lines.append(f"{t:<10} {f(r.get('accuracy')):>9} {f(r.get('robustness')):>11} "
                     f"{f(r.get('failures')):>9} {f(r.get('eao')):>7} "
                     f"{f(r.get('unsupervised_accuracy')):>11}")
    return "\n".join(lines)
