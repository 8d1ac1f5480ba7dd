"""VOT toolkit integration: the TraX tracker, the workspace tool, and agreement between the
toolkit's evaluation and ours.

Runs the real toolkit (vot-toolkit 0.7.4, vot-trax 4.0.2) on a tiny local dataset: two
bundled RASNetBench videos cut to 30 frames, exported to VOT layout. The weights may be
untrained: nothing here assumes good tracking, only working plumbing and agreeing numbers.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("trax", reason="vot-trax is not installed; install the vot extra: "
                    "pip install --no-build-isolation -e '.[vot]' && "
                    "pip install --no-deps -r requirements-vot.txt")
pytest.importorskip("vot", reason="vot-toolkit is not installed; install the vot extra: "
                    "pip install --no-build-isolation -e '.[vot]' && "
                    "pip install --no-deps -r requirements-vot.txt")

import trax  # noqa: E402
from trax.client import Client  # noqa: E402

from rasnet_plugin.vot import compare as vot_compare  # noqa: E402
from rasnet_plugin.vot import workspace as vot_workspace  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# phx-class-registry 5.1 (a toolkit dependency) warns about its own deprecated API
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:class_registry")

VIDEOS = ["cat_zoom", "espresso_dash"]
FRAMES = 30
HANG_GUARD = 60  # seconds; a request that takes longer than this counts as a hang


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT  # what the toolkit's `paths = ROOT` does
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace on 2 x 30 bundled frames, with RASNet evaluated by `vot evaluate`."""
    base = tmp_path_factory.mktemp("vot")
    info = vot_workspace.write_workspace(str(base / "ws"), videos=VIDEOS, max_frames=FRAMES,
                                         dataset_root=str(base / "datasets"), timeout=120)
    t0 = time.time()
    info["evaluate_log"] = vot_workspace.evaluate(info["workspace"], ["RASNet"])
    info["evaluate_s"] = time.time() - t0
    return info


# ------------------------------------------------------------------ workspace files

def test_workspace_files(ws):
    wsdir = ws["workspace"]
    import yaml

    with open(os.path.join(wsdir, "config.yaml")) as f:
        cfg = yaml.safe_load(f)
    assert cfg["sequences"] == ws["sequences"] and os.path.isabs(cfg["sequences"])
    assert cfg["stack"] == os.path.join(wsdir, "rasnet_stack.yaml")
    assert cfg == {"stack": os.path.join(wsdir, "rasnet_stack.yaml"),
                   "registry": ["./trackers.ini"], "sequences": ws["sequences"]}
    assert ws["lengths"] == {v: FRAMES for v in VIDEOS}
    with open(cfg["stack"]) as f:
        stack = yaml.safe_load(f)
    assert "dataset" not in stack  # a dataset key would make the toolkit download
    assert stack["experiments"]["baseline"]["type"] == "supervised"
    assert stack["experiments"]["unsupervised"]["type"] == "unsupervised"
    types = [a["type"] for a in stack["experiments"]["baseline"]["analyses"]]
    assert {"supervised_average_ar", "supervised_eao_score"} <= set(types)
    low, high = ws["eao_interval"]
    assert 1 <= low <= high <= FRAMES - 1  # inside the sequence lengths, or EAO is NaN
    # two 30-frame sequences: median 30, high = min(30, longest - 1) = 29, low = 30 / 3
    assert (low, high) == (10, 29)
    assert stack == {
        "title": "RASNet local stack", "url": "",
        "experiments": {
            "baseline": {"type": "supervised", "repetitions": 1, "skip_initialize": 5,
                         "analyses": [{"type": "supervised_average_ar", "sensitivity": 30,
                                       "burnin": 10},
                                      {"type": "cumulative_failures"},
                                      {"type": "supervised_eao_score", "low": 10, "high": 29},
                                      {"type": "supervised_eao_curve"}]},
            "unsupervised": {"type": "unsupervised", "repetitions": 1,
                             "analyses": [{"type": "average_accuracy"}]}}}

    with open(os.path.join(wsdir, "trackers.ini")) as f:
        text = f.read()
    for name, config in vot_workspace.TRACKERS.items():
        assert f"[{name}]" in text
        assert f"env_RASNET_CONFIG = {os.path.join(ROOT, config)}" in text
    assert text.count("protocol = traxpython") == 2
    assert text.count("command = rasnet_plugin.vot") == 2
    assert f"paths = {ROOT}" in text
    for line in text.splitlines():  # no inline comments: the toolkit would keep them
        if "=" in line:
            assert "#" not in line and ";" not in line, line
    assert text.startswith("# RASNet trackers for the VOT toolkit (written by "
                           "tools/vot_workspace.py).\n# `paths` replaces PYTHONPATH for the "
                           "tracker process; `timeout` is per request.\n\n[RASNet]\n")
    import configparser

    cp = configparser.ConfigParser()  # the toolkit's parser, with its % interpolation
    cp.optionxform = str
    cp.read_string(text)
    for name, label, config in (("RASNet", "RASNet", "rasnet.yaml"),
                                ("SiamFC", "SiamFC (ablation)", "siamfc.yaml")):
        assert dict(cp[name]) == {"label": label, "protocol": "traxpython",
                                  "command": "rasnet_plugin.vot", "paths": ROOT,
                                  "python": sys.executable, "timeout": "120",
                                  "env_RASNET_CONFIG": os.path.join(ROOT, "experiments", config)}
    assert cp.sections() == ["RASNet", "SiamFC"]

    # the toolkit parses it and builds the command with this interpreter and our paths
    from vot.tracker import Registry

    registry = Registry([os.path.join(wsdir, "trackers.ini")], root=wsdir)
    assert set(registry.identifiers()) == {"RASNet", "SiamFC"}
    runtime = registry["RASNet"].runtime()
    assert runtime._command.split()[:3] == [sys.executable, "-m", "rasnet_plugin.vot"]
    assert runtime._command == sys.executable + " -m rasnet_plugin.vot"
    assert runtime._envvars["PYTHONPATH"] == ROOT
    assert runtime._envvars["RASNET_CONFIG"] == os.path.join(ROOT, "experiments/rasnet.yaml")


def test_trackers_ini_escapes_percent(tmp_path):
    text = vot_workspace.trackers_ini(snapshot=str(tmp_path / "w%1.pth"))
    assert "w%%1.pth" in text
    import configparser

    cp = configparser.ConfigParser()
    cp.read_string(text)  # the toolkit's parser, with its % interpolation
    assert cp["RASNet"]["env_RASNET_SNAPSHOT"].endswith("w%1.pth")
    for name in ("RASNet", "SiamFC"):
        assert cp[name]["env_RASNET_SNAPSHOT"] == str(tmp_path / "w%1.pth")
    assert text.count("env_RASNET_SNAPSHOT = %s\n" % str(tmp_path / "w%%1.pth")) == 2


def test_existing_workspace_keeps_its_trackers_and_config(ws, tmp_path, capsys):
    """Adding RASNet to a workspace made by `vot initialize` (here: a toolkit stack, offline)."""
    wsdir = tmp_path / "vot2016"
    wsdir.mkdir()
    (wsdir / "config.yaml").write_text("registry:\n- ./trackers.ini\nstack: vot2016/rgb\n"
                                       "report:\n  index: []\n")
    (wsdir / "trackers.ini").write_text("# mine\n[Other]\nprotocol = traxpython\n"
                                        "command = other.tracker\n\n[RASNet]\ncommand = stale\n")
    for _ in range(2):  # idempotent
        info = vot_workspace.write_workspace(str(wsdir), sequences=ws["sequences"],
                                             stack="vot2016/rgb")
    err = capsys.readouterr().err
    assert "warning" in err  # vot2016's EAO [108, 371] > 30 frames
    assert err == 2 * ("vot_workspace: warning: stack vot2016/rgb scores EAO on [108, 371] but "
                       "the longest sequence has 30 frames: its EAO will be NaN\n")
    assert info["eao_interval"] == (108, 371)
    import vot.stack
    import yaml

    cfg = yaml.safe_load((wsdir / "config.yaml").read_text())
    assert cfg["report"] == {"index": []} and cfg["registry"] == ["./trackers.ini"]
    assert cfg["stack"] == info["stack"] and cfg["stack"].endswith("rgb.yaml")
    toolkit_stack = os.path.join(os.path.dirname(vot.stack.__file__), "vot2016", "rgb.yaml")
    assert cfg == {"registry": ["./trackers.ini"], "stack": toolkit_stack,
                   "report": {"index": []}, "sequences": ws["sequences"]}
    text = (wsdir / "trackers.ini").read_text()
    assert text.count("[RASNet]") == 1 and "stale" not in text
    assert text.count("# mine") == 1 and "[Other]" in text and "[SiamFC]" in text
    assert text.count("# RASNet trackers for the VOT toolkit") == 1
    # theirs first, as it was, then ours (the stale [RASNet] section dropped)
    assert text == ("# mine\n[Other]\nprotocol = traxpython\ncommand = other.tracker\n\n"
                    + vot_workspace.trackers_ini())
    assert not os.path.exists(wsdir / "rasnet_stack.yaml")  # the toolkit's stack is used
    from vot.workspace import Workspace

    dataset = Workspace.load(str(wsdir)).dataset
    assert len(dataset) == len(VIDEOS)  # no download attempted
    assert sorted(dataset.keys()) == sorted(VIDEOS)


def test_workspace_bad_input_is_named(ws, tmp_path, capsys):
    from rasnet_plugin.cli import vot_workspace as cli

    for flag in ("--max-frames", "--repetitions", "--timeout", "--threads"):
        with pytest.raises(SystemExit) as e:
            cli.parse_args([str(tmp_path / "w"), flag, "-5"])
        assert e.value.code == 2 and "%s must be >= 1, got -5" % flag in capsys.readouterr().err
    with pytest.raises(vot_workspace.WorkspaceError, match="max_frames must be >= 1, got -5"):
        vot_workspace.export_bundled(str(tmp_path / "w"), max_frames=-5,
                                     dataset_root=str(tmp_path / "datasets"))
    assert not os.path.exists(tmp_path / "datasets")     # refused before building anything
    # an EAO interval past every sequence warns, as a toolkit stack's does
    vot_workspace.write_workspace(str(tmp_path / "w"), sequences=ws["sequences"],
                                  eao_low=500, eao_high=600)
    assert ("warning: the EAO interval scores EAO on [500, 600] but the longest sequence has "
            "30 frames: its EAO will be NaN") in capsys.readouterr().err
    # a stack file or an existing config.yaml that is not YAML: named, not a traceback
    bad = tmp_path / "stack.yaml"
    bad.write_text("experiments: [unclosed\n")
    with pytest.raises(vot_workspace.WorkspaceError, match=r"stack\.yaml: not valid YAML"):
        vot_workspace.write_workspace(str(tmp_path / "w"), sequences=ws["sequences"], stack=str(bad))
    (tmp_path / "w" / "config.yaml").write_text("stack: {oops\n")
    assert cli.main([str(tmp_path / "w"), "--sequences", ws["sequences"]]) == 1
    err = capsys.readouterr().err
    assert "config.yaml: not valid YAML" in err and "Traceback" not in err


@pytest.mark.parametrize("lengths, expected", [
    ([30, 30], (10, 29)),                    # median 30, clipped to longest - 1 = 29
    ([40, 30], (12, 35)),                    # median 35, 35 / 3 = 11.7
    ([2], (1, 1)),                           # the shortest sequence EAO accepts
    ([41, 100, 150, 300, 1500], (50, 150)),  # median 150 (VOT-like lengths)
    ({"a": 90, "b": 300, "c": 60}, (30, 90)),  # a {sequence: length} dict, median 90
])
def test_eao_interval_inside_lengths(lengths, expected):
    low, high = vot_workspace.eao_interval(lengths)
    values = lengths.values() if isinstance(lengths, dict) else lengths
    assert 1 <= low <= high <= max(values) - 1
    assert (low, high) == expected


@pytest.mark.parametrize("lengths", [[], [1], [1, 1]])
def test_eao_interval_refuses_sequences_too_short(lengths):
    with pytest.raises(vot_workspace.WorkspaceError, match="at least one sequence of 2 frames"):
        vot_workspace.eao_interval(lengths)


# ------------------------------------------------------------------ TraX

def _frame_path(seq_dir, i):
    return os.path.join(seq_dir, "color", "%08d.jpg" % (i + 1))


def _direct_run(tracker, seq_dir, start, frames):
    """The tracker's own outputs, in this process, for an init at `start` and then `frames`:
    what the TraX server must send back."""
    from rasnet_plugin.datasets import read_frame

    tracker.init(read_frame(_frame_path(seq_dir, start)), _gt(seq_dir, start))
    return [tracker.track(read_frame(_frame_path(seq_dir, i))) for i in frames]


def _same_confidence(sent, out):
    """The `confidence` property the server sent for a track() output: its score with six
    decimals (0 for a failed frame). The server's process may use another thread count,
    so the score itself may differ in the last float digits."""
    want = 0.0 if out.get("failed") else float(out["best_score"])
    return (re.fullmatch(r"-?\d+\.\d{6}", sent) is not None
            and abs(float(sent) - want) <= 1e-5 * max(1.0, abs(want)) + 1e-6)


def test_trax_round_trip_with_reinitialisations(ws):
    """The toolkit's own runtime: init, frames, re-inits (one process), quit."""
    from vot.dataset import load_dataset
    from vot.region import Special
    from vot.region.shapes import Rectangle
    from vot.tracker import Registry, SingleObjectTrackerRuntime

    from rasnet_plugin.api import build_tracker

    seq = load_dataset(ws["sequences"])["cat_zoom"]
    seq_dir = os.path.join(ws["sequences"], "cat_zoom")
    starts = (0, 6, 12, 20)  # the supervised experiment re-initialises like this
    # trackers.ini's RASNet, run here; in reverse order, so that a server whose re-init kept
    # state from the run before would answer differently
    direct = build_tracker(config=os.path.join(ROOT, "experiments", "rasnet.yaml"))
    expected = {s: _direct_run(direct, seq_dir, s, range(s + 1, s + 4)) for s in starts[::-1]}
    registry = Registry([os.path.join(ws["workspace"], "trackers.ini")], root=ws["workspace"])
    runtime = SingleObjectTrackerRuntime(registry["RASNet"].runtime())
    try:
        pids = set()
        for start in starts:
            obj, _ = runtime.initialize(seq.frame(start), seq.groundtruth(start))
            # the init reply: the given region, bit for bit as TraX carried it, confidence 1
            assert [obj.region.x, obj.region.y, obj.region.width, obj.region.height] == \
                pytest.approx(_gt(seq_dir, start), abs=1e-4)
            assert obj.properties["confidence"] == "1.000000"
            process = runtime._runtime._process
            pids.add(process._process.pid)
            for i, want in zip(range(start + 1, start + 4), expected[start]):
                obj, elapsed = runtime.update(seq.frame(i))
                assert isinstance(obj.region, Rectangle) and not isinstance(obj.region, Special)
                box = [obj.region.x, obj.region.y, obj.region.width, obj.region.height]
                assert all(math.isfinite(v) for v in box) and box[2] > 0 and box[3] > 0
                assert math.isfinite(float(obj.properties["confidence"]))
                # the tracker's box (TraX carries 4 decimals) and its peak score
                assert box == pytest.approx([float(v) for v in want["bbox"]], abs=1e-3), (start, i)
                assert _same_confidence(obj.properties["confidence"], want), (start, i, obj.properties)
                assert elapsed < HANG_GUARD
        assert len(pids) == 1, "the tracker process was restarted between initialisations"
    finally:
        runtime.stop()
    assert process.returncode == 0


class _Session:
    """A raw TraX client on `python -m rasnet_plugin.vot`, with a watchdog against hangs."""

    def __init__(self, **env):
        self.log = []
        self.proc = subprocess.Popen([sys.executable, "-m", "rasnet_plugin.vot"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0, env=_env(**env))
        self.killed = False
        self._watchdog = threading.Timer(HANG_GUARD, self._kill)
        self._watchdog.start()
        self.client = None

    def connect(self):
        """The TraX handshake (after the tracker has loaded its network)."""
        self.client = Client(stream=(self.proc.stdin.fileno(), self.proc.stdout.fileno()),
                             log=self.log.append)
        return self

    def _kill(self):
        self.killed = True
        self.proc.kill()

    def close(self):
        self._watchdog.cancel()
        try:
            return self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def _image(seq_dir, i):
    return {"color": trax.FileImage.create(_frame_path(seq_dir, i))}


def _gt(seq_dir, i):
    with open(os.path.join(seq_dir, "groundtruth.txt")) as f:
        return [float(v) for v in f.read().splitlines()[i].split(",")]


@pytest.mark.parametrize("case", ["empty", "nan", "outside", "missing_image", "corrupt_image"])
def test_tracker_errors_are_reported_not_hung(ws, tmp_path, case):
    seq_dir = os.path.join(ws["sequences"], "cat_zoom")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    s = _Session().connect()
    t0 = time.time()
    try:
        with pytest.raises(trax.TraxException) as err:
            box = {"empty": [10, 10, 0, 0], "nan": [float("nan"), 10, 20, 20],
                   "outside": [5000, 5000, 20, 20]}.get(case, _gt(seq_dir, 0))
            s.client.initialize(_image(seq_dir, 0), [(trax.Rectangle.create(*box), {})], {})
            image = {"missing_image": {"color": trax.FileImage.create("/nonexistent/1.jpg")},
                     "corrupt_image": {"color": trax.FileImage.create(str(corrupt))}}[case]
            s.client.frame(image, {}, [])
    finally:
        rc = s.close()
    assert not s.killed and time.time() - t0 < HANG_GUARD
    assert rc != 0
    assert rc == 1
    log = "".join(s.log)
    assert "Server terminated the session" in str(err.value)
    expected = {"empty": "empty", "nan": "invalid initialisation region", "outside": "outside",
                "missing_image": "not found", "corrupt_image": "truncated JPEG file"}[case]
    assert expected in str(err.value) + log
    # the reason reaches the client in the TraX quit message, and the same line goes to stderr
    prefix = "Server terminated the session: "
    assert str(err.value).startswith(prefix)
    reason = str(err.value)[len(prefix):]
    assert expected in reason
    assert '@@TRAX:quit "trax.reason=%s"' % reason in log
    assert "rasnet_plugin.vot: error: %s\n" % reason in log
    exact = {  # the server's own checks of the region, before the tracker sees it
        "empty": "invalid initialisation region [10.0, 10.0, 0.0, 0.0]: empty",
        # TraX turns NaN coordinates into a special region
        "nan": "invalid initialisation region: Special region (code -20) (expected a rectangle)"}
    if case in exact:
        assert reason == exact[case]
    elif case == "outside":  # the tracker's own error: its type, message and traceback
        assert reason.startswith("ValueError: ") and "Traceback" in log
    else:  # an unreadable image: the path it could not read, no traceback
        assert reason.endswith({"missing_image": "/nonexistent/1.jpg",
                                "corrupt_image": str(corrupt)}[case])
        assert "Traceback" not in log


def test_startup_error_exits_cleanly(tmp_path):
    s = _Session(RASNET_CONFIG=str(tmp_path / "missing.yaml"))
    t0 = time.time()
    try:
        with pytest.raises(trax.TraxException):
            s.connect()
    finally:
        rc = s.close()
    assert not s.killed and time.time() - t0 < HANG_GUARD
    assert rc == 1
    output = "".join(s.log) + s.proc.stdout.read().decode(errors="replace")
    assert "RASNET_CONFIG" in output
    line = "rasnet_plugin.vot: cannot build the tracker: RASNET_CONFIG=%s: no such file" % (
        tmp_path / "missing.yaml")
    assert line in output.splitlines()
    assert "@@TRAX:" not in output  # it failed before the handshake


def test_quit_exits_zero(ws):
    from rasnet_plugin.api import build_tracker

    seq_dir = os.path.join(ws["sequences"], "espresso_dash")
    # the server without RASNET_CONFIG builds build_tracker()'s default tracker
    want = _direct_run(build_tracker(), seq_dir, 0, [1])[0]
    s = _Session().connect()
    try:
        objs, _ = s.client.initialize(_image(seq_dir, 0),
                                      [(trax.Rectangle.create(*_gt(seq_dir, 0)), {})], {})
        assert objs[0][1]["confidence"]
        assert objs[0][1]["confidence"] == "1.000000"
        assert list(objs[0][0].bounds()) == pytest.approx(_gt(seq_dir, 0), abs=1e-4)
        objs, _ = s.client.frame(_image(seq_dir, 1), {}, [])
        x, y, w, h = objs[0][0].bounds()
        assert w > 0 and h > 0 and math.isfinite(float(objs[0][1]["confidence"]))
        assert [x, y, w, h] == pytest.approx([float(v) for v in want["bbox"]], abs=1e-3)
        conf = objs[0][1]["confidence"]
        s.client.quit()
        assert _same_confidence(conf, want), conf
    finally:
        rc = s.close()
    assert rc == 0 and not s.killed


# ------------------------------------------------------------------ vot evaluate / analysis

def test_vot_evaluate_and_analysis(ws):
    from vot.analysis.accuracy import gather_overlaps
    from vot.analysis.supervised import compute_accuracy
    from vot.dataset import load_dataset
    from vot.region import Special
    from vot.region.io import read_trajectory

    for exp in ("baseline", "unsupervised"):
        for video in VIDEOS:
            runs = vot_compare.toolkit_runs(ws["workspace"], "RASNet", video) if \
                exp == "baseline" else [os.path.join(ws["workspace"], "results", "RASNet", exp,
                                                     video, video + "_001.bin")]
            assert runs and all(os.path.isfile(r) for r in runs), (exp, video)
            assert len(runs) == 1, (exp, video)  # the stack's one repetition
    report = vot_workspace.analysis(ws["workspace"], ["RASNet"])
    assert report["toolkit"] == "0.7.4"
    r = vot_workspace.summarize(report)["RASNet"]
    assert 0.0 <= r["accuracy"] <= 1.0
    assert 0.0 <= r["unsupervised_accuracy"] <= 1.0
    assert math.isfinite(r["robustness"]) and r["robustness"] >= 0
    assert r["failures"] == int(r["failures"]) and 0 <= r["failures"] <= len(VIDEOS) * FRAMES
    assert math.isfinite(r["eao"]) and 0.0 <= r["eao"] <= 1.0

    # the same measures straight from the trajectory files: each number summarize() returns
    # is the one of its own analysis, aggregated with the sequence lengths as weights
    sequences = load_dataset(ws["sequences"])
    failures, accuracy, unsupervised = [], [], []
    for video in VIDEOS:
        seq = sequences[video]
        traj = read_trajectory(vot_compare.toolkit_runs(ws["workspace"], "RASNet", video)[0])
        assert len(traj) == FRAMES and isinstance(traj[0], Special) and traj[0].code == 1
        failures.append(sum(1 for x in traj if isinstance(x, Special) and x.code == 2))
        accuracy.append(compute_accuracy(traj, seq, burnin=10)[0])
        one_pass = read_trajectory(os.path.join(ws["workspace"], "results", "RASNet",
                                                "unsupervised", video, video + "_001.bin"))
        overlaps, _ = gather_overlaps(one_pass, seq.groundtruth(), burnin=10, bounds=seq.size)
        unsupervised.append(float(overlaps.mean()))
    assert r["failures"] == sum(failures)
    assert r["robustness"] == pytest.approx(sum(failures) / len(VIDEOS), abs=1e-12)
    assert r["accuracy"] == pytest.approx(sum(accuracy) / len(VIDEOS), abs=1e-9)
    assert r["unsupervised_accuracy"] == pytest.approx(sum(unsupervised) / len(VIDEOS), abs=1e-9)
    # EAO: the curve's mean over the interval the stack declares, [10, 29]
    low, high = ws["eao_interval"]
    eao_spec = [a for a in report["results"]["baseline"]["parameters"]["analyses"]
                if a["type"].endswith(".EAOScore")]
    assert [(a["low"], a["high"]) for a in eao_spec] == [(low, high)] == [(10, 29)]
    assert len(r["eao_curve"]) > high
    curve = r["eao_curve"][low:high + 1]
    assert r["eao"] == pytest.approx(sum(curve) / len(curve), abs=1e-6)
    text = vot_workspace.format_summary({"RASNet": r}, ws["eao_interval"])
    assert text.splitlines()[0] == "EAO interval [10, 29]"
    print("\n" + text)


def test_first_init_is_timed_like_a_reinit(ws):
    """The toolkit starts a tracker process per sequence and times each request, the
    first init included: the tracker's one-off start-up work (the inference copy of the
    backbone, int8 calibration: seconds) must happen before the handshake, not in each
    sequence's first timed frame. A re-init takes a fraction of a second."""
    for exp in ("baseline", "unsupervised"):
        for video in VIDEOS:
            path = os.path.join(ws["workspace"], "results", "RASNet", exp, video,
                                video + "_001_time.value")
            with open(path) as f:
                times = [float(v) for v in f.read().split()]
            assert len(times) >= FRAMES - 5, (path, times)
            assert times[0] < 2.5, (exp, video, "init request took %.1f s" % times[0])


def test_summarize_reads_each_measure_from_its_analysis():
    """The layout of `vot analysis --format json` (vot-toolkit 0.7.4): per experiment, the
    `results` list follows `parameters.analyses`, one tuple per tracker in `trackers` order."""
    sup = "vot.analysis.supervised."
    report = {"trackers": {"A": {}, "B": {}}, "results": {
        "baseline": {"parameters": {"analyses": [
            {"type": "vot.analysis.failures.CumulativeFailureCount"},
            {"type": sup + "AverageAccuracyRobustness", "sensitivity": 30.0, "burnin": 10},
            {"type": sup + "EAOScore", "low": 10, "high": 29},
            {"type": sup + "EAOCurve"},
            {"type": "vot.analysis.accuracy.AverageAccuracy"}]},  # not read in `baseline`
            "results": [[[3.0], [0.0]],
                        [[0.61, 0.5, [0.9, 0.61], 30.0], [0.72, 0.0, [1.0, 0.72], 30.0]],
                        [[0.25], [0.35]],
                        [[[0.0, 0.5, 0.4]], [[0.0, 0.6, 0.5]]],
                        [[0.99], [0.98]]]},
        "unsupervised": {"parameters": {"analyses": [
            {"type": "vot.analysis.accuracy.AverageAccuracy"},
            {"type": "vot.analysis.accuracy.AverageAccuracy"}]},
            "results": [[[0.55], [0.66]], [[0.11]]]},  # a grid for one tracker only: skipped
        "realtime": {"parameters": {"analyses": [{"type": sup + "AverageAccuracyRobustness"}]},
                     "results": [[[0.1, 9.0, None, 30.0], [0.2, 8.0, None, 30.0]]]}}}
    assert vot_workspace.summarize(report) == {
        "A": {"failures": 3.0, "accuracy": 0.61, "robustness": 0.5, "eao": 0.25,
              "eao_curve": [0.0, 0.5, 0.4], "unsupervised_accuracy": 0.55},
        "B": {"failures": 0.0, "accuracy": 0.72, "robustness": 0.0, "eao": 0.35,
              "eao_curve": [0.0, 0.6, 0.5], "unsupervised_accuracy": 0.66}}
    assert vot_workspace.summarize({"trackers": {"A": {}}}) == {"A": {}}


def test_format_summary_table():
    text = vot_workspace.format_summary(
        {"RASNet": {"accuracy": 0.61234, "robustness": 0.5, "failures": 1, "eao": 0.25,
                    "unsupervised_accuracy": 0.4},
         "SiamFC": {"accuracy": float("nan"), "eao": None}}, (10, 29))
    assert text.splitlines() == [
        "EAO interval [10, 29]",
        "Tracker     Accuracy  Robustness  Failures     EAO  Unsup. acc",
        "RASNet         0.612       0.500     1.000   0.250       0.400",
        "SiamFC           nan         nan       nan     nan         nan"]
    assert vot_workspace.format_summary({}) == "Tracker     Accuracy  Robustness  Failures     EAO  Unsup. acc"


def test_our_evaluation_agrees_with_the_toolkit(ws, tmp_path):
    """The same runs scored by both: failures equal, accuracy within 0.01 (see vot_compare);
    and tools/test.py's own run of the same config matches the toolkit's run frame by frame."""
    pysot = tmp_path / "pysot"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "test.py"),
                           "--config", os.path.join(ROOT, "experiments", "rasnet.yaml"),
                           "--dataset", ws["sequences"], "--results", str(pysot),
                           "--model-name", "RASNet"],
                          cwd=str(tmp_path), env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    rep, problems = vot_compare.compare(ws["workspace"], "RASNet",
                                        out_dir=str(tmp_path / "converted"),
                                        pysot_results=str(pysot), model_name="RASNet")
    print("\n" + vot_compare.format_report(rep))
    assert problems == []
    assert rep["toolkit"]["failures"] == rep["ours"]["failures"]
    assert abs(rep["toolkit"]["accuracy"] - rep["ours"]["accuracy"]) <= 0.01

    # the CLI agrees too (on the analysis file compare() just wrote)
    cli = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "vot_compare.py"),
                          ws["workspace"], "--out", str(tmp_path / "converted_cli"),
                          "--analysis", os.path.join(ws["workspace"], "analysis",
                                                     "vot_compare.json")],
                         env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=300)
    assert cli.returncode == 0 and cli.stdout.strip().endswith("agree"), cli.stdout
    # the same report (no --pysot-results: no record comparison), then the verdict
    cli_rep = {k: v for k, v in rep.items() if k != "records"}
    cli_rep["results"] = str(tmp_path / "converted_cli")
    assert cli.stdout == vot_compare.format_report(cli_rep) + "\nagree\n"
    for video in VIDEOS:
        rel = os.path.join(rep["dataset"], "RASNet", "baseline", video, video + "_001.txt")
        with open(tmp_path / "converted" / rel) as a, open(tmp_path / "converted_cli" / rel) as b:
            assert a.read() == b.read()

    # tools/eval.py reads the converted records and prints the same lost number
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "eval.py"),
                          "--tracker_path", str(tmp_path / "converted"),
                          "--dataset", ws["sequences"]],
                         cwd=str(tmp_path), env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    row = next(line for line in out.stdout.splitlines() if "RASNet" in line)
    assert float(row.split("|")[4]) == rep["toolkit"]["failures"]  # the Lost Number column


def test_stale_analysis_cache_is_cleared(ws, tmp_path):
    """The toolkit keeps analysis results keyed without the result files' content; our tool
    clears the cache on every run, so changed results change the analysis."""
    from vot.region.io import read_trajectory, write_trajectory
    from vot.region.shapes import Rectangle

    copy = str(tmp_path / "ws")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "vot_workspace.py"), copy,
                           "--sequences", ws["sequences"]], env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)
    assert proc.returncode == 0 and "EAO interval" in proc.stdout, proc.stdout
    assert ("workspace %s: 2 sequences (60 frames) from %s, stack %s, EAO interval (10, 29)"
            % (copy, ws["sequences"], os.path.join(copy, "rasnet_stack.yaml"))
            in proc.stdout.splitlines()), proc.stdout
    shutil.copytree(os.path.join(ws["workspace"], "results"), os.path.join(copy, "results"),
                    dirs_exist_ok=True)
    before = vot_workspace.summarize(vot_workspace.analysis(copy, ["RASNet"]))["RASNet"]

    # the pitfall itself: the toolkit with its persistent cache on
    def raw_analysis(name):
        env = dict(os.environ, VOT_PERSISTENT_CACHE="1")
        subprocess.run([sys.executable, "-c", vot_workspace._VOT_MAIN, "analysis", "--format",
                        "json", "--name", name, "--workspace", copy, "RASNet"], cwd=copy, env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(copy, "analysis", name + ".json")) as f:
            return vot_workspace.summarize(json.load(f))["RASNet"]
    raw_analysis("warm")

    for video in VIDEOS:  # move every tracked box 15 px: accuracy must drop
        path = vot_compare.toolkit_runs(copy, "RASNet", video)[0]
        traj = read_trajectory(path)
        write_trajectory(path, [Rectangle(r.x + 15, r.y, r.width, r.height)
                                if isinstance(r, Rectangle) else r for r in traj])

    stale = raw_analysis("stale")
    assert stale["accuracy"] == before["accuracy"], "vot-toolkit 0.7.4's cache pitfall is gone?"
    after = vot_workspace.summarize(vot_workspace.analysis(copy, ["RASNet"]))["RASNet"]
    assert after["accuracy"] < before["accuracy"] - 0.01
    assert not os.path.exists(os.path.join(copy, "cache"))


def test_rasnet_config_takes_a_bundled_name_from_any_folder(tmp_path, monkeypatch):
    from rasnet_plugin import config as C
    from rasnet_plugin.vot import server

    monkeypatch.chdir(tmp_path)  # the toolkit's temporary working directory
    monkeypatch.setenv("RASNET_CONFIG", "rasnet")
    assert os.path.samefile(server._env_config(), os.path.join(C.CONFIG_DIR, "rasnet.yaml"))
    monkeypatch.setenv("RASNET_CONFIG", "rasnet_mobilenetv2")
    assert os.path.samefile(server._env_config(), C.TRACKER_CONFIG)
    # every form the error message and --config use: offline/..., experiments/..., .yaml
    for value, name in [("offline/rasnet", "offline/rasnet.yaml"),
                        ("offline/siamfc_real.yaml", "offline/siamfc_real.yaml"),
                        ("experiments/rasnet.yaml", "rasnet.yaml"),
                        ("experiments/offline/rasnet_real", "offline/rasnet_real.yaml"),
                        ("rasnet.yaml", "rasnet.yaml")]:
        monkeypatch.setenv("RASNET_CONFIG", value)
        assert os.path.samefile(server._env_config(), os.path.join(C.CONFIG_DIR, name)), value
    # a misspelt name lists the bundled ones; a relative path that is neither is still refused
    monkeypatch.setenv("RASNET_CONFIG", "rasnett")
    with pytest.raises(server.TrackerError, match=r"RASNET_CONFIG=rasnett: not a file nor a "
                                                  r"bundled config \(bundled: .*offline/rasnet.*"
                                                  r"rasnet_mobilenetv2"):
        server._env_config()
    for value in ("experiments/rasnett.yaml", "configs/mine.yaml", "offline/../../rasnet"):
        monkeypatch.setenv("RASNET_CONFIG", value)
        with pytest.raises(server.TrackerError, match="use an absolute path"):
            server._env_config()
    # a file of that name in the working directory is still taken as the file
    (tmp_path / "rasnet").write_text("TRACK:\n  SCALE_NUM: 3\n")
    monkeypatch.setenv("RASNET_CONFIG", "rasnet")
    assert server._env_config() == "rasnet"
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "rasnet.yaml").write_text("TRACK:\n  SCALE_NUM: 3\n")
    monkeypatch.setenv("RASNET_CONFIG", "experiments/rasnet.yaml")
    assert server._env_config() == "experiments/rasnet.yaml"
    # an absolute path is a file or an error, never a bundled name
    monkeypatch.setenv("RASNET_CONFIG", str(tmp_path / "offline" / "rasnet"))
    with pytest.raises(server.TrackerError, match="no such file"):
        server._env_config()
