"""VOT toolkit integration: the TraX tracker, the workspace tool, and agreement between the
toolkit's evaluation and ours.

Runs the real toolkit (vot-toolkit 0.7.4, vot-trax 4.0.2) on a tiny local dataset: two
bundled RASNetBench videos cut to 30 frames, exported to VOT layout. The weights may be
untrained: nothing here assumes good tracking, only working plumbing and agreeing numbers.
"""
import json
import math
import os
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import vot_compare  # noqa: E402
import vot_workspace  # noqa: E402

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
    with open(cfg["stack"]) as f:
        stack = yaml.safe_load(f)
    assert "dataset" not in stack  # a dataset key would make the toolkit download
    assert stack["experiments"]["baseline"]["type"] == "supervised"
    assert stack["experiments"]["unsupervised"]["type"] == "unsupervised"
    types = [a["type"] for a in stack["experiments"]["baseline"]["analyses"]]
    assert {"supervised_average_ar", "supervised_eao_score"} <= set(types)
    low, high = ws["eao_interval"]
    assert 1 <= low <= high <= FRAMES - 1  # inside the sequence lengths, or EAO is NaN

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

    # the toolkit parses it and builds the command with this interpreter and our paths
    from vot.tracker import Registry

    registry = Registry([os.path.join(wsdir, "trackers.ini")], root=wsdir)
    assert set(registry.identifiers()) == {"RASNet", "SiamFC"}
    runtime = registry["RASNet"].runtime()
    assert runtime._command.split()[:3] == [sys.executable, "-m", "rasnet_plugin.vot"]
    assert runtime._envvars["PYTHONPATH"] == ROOT
    assert runtime._envvars["RASNET_CONFIG"] == os.path.join(ROOT, "experiments/rasnet.yaml")


def test_trackers_ini_escapes_percent(tmp_path):
    text = vot_workspace.trackers_ini(snapshot=str(tmp_path / "w%1.pth"))
    assert "w%%1.pth" in text
    import configparser

    cp = configparser.ConfigParser()
    cp.read_string(text)  # the toolkit's parser, with its % interpolation
    assert cp["RASNet"]["env_RASNET_SNAPSHOT"].endswith("w%1.pth")


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
    assert "warning" in capsys.readouterr().err  # vot2016's EAO [108, 371] > 30 frames
    import yaml

    cfg = yaml.safe_load((wsdir / "config.yaml").read_text())
    assert cfg["report"] == {"index": []} and cfg["registry"] == ["./trackers.ini"]
    assert cfg["stack"] == info["stack"] and cfg["stack"].endswith("rgb.yaml")
    text = (wsdir / "trackers.ini").read_text()
    assert text.count("[RASNet]") == 1 and "stale" not in text
    assert text.count("# mine") == 1 and "[Other]" in text and "[SiamFC]" in text
    assert text.count("# RASNet trackers for the VOT toolkit") == 1
    from vot.workspace import Workspace

    assert len(Workspace.load(str(wsdir)).dataset) == len(VIDEOS)  # no download attempted


@pytest.mark.parametrize("lengths", [[30, 30], [40, 30], [2], [41, 100, 150, 300, 1500]])
def test_eao_interval_inside_lengths(lengths):
    low, high = vot_workspace.eao_interval(lengths)
    assert 1 <= low <= high <= max(lengths) - 1


# ------------------------------------------------------------------ TraX

def test_trax_round_trip_with_reinitialisations(ws):
    """The toolkit's own runtime: init, frames, re-inits (one process), quit."""
    from vot.dataset import load_dataset
    from vot.region import Special
    from vot.region.shapes import Rectangle
    from vot.tracker import Registry, SingleObjectTrackerRuntime

    seq = load_dataset(ws["sequences"])["cat_zoom"]
    registry = Registry([os.path.join(ws["workspace"], "trackers.ini")], root=ws["workspace"])
    runtime = SingleObjectTrackerRuntime(registry["RASNet"].runtime())
    try:
        pids = set()
        for start in (0, 6, 12, 20):  # the supervised experiment re-initialises like this
            obj, _ = runtime.initialize(seq.frame(start), seq.groundtruth(start))
            process = runtime._runtime._process
            pids.add(process._process.pid)
            for i in range(start + 1, start + 4):
                obj, elapsed = runtime.update(seq.frame(i))
                assert isinstance(obj.region, Rectangle) and not isinstance(obj.region, Special)
                box = [obj.region.x, obj.region.y, obj.region.width, obj.region.height]
                assert all(math.isfinite(v) for v in box) and box[2] > 0 and box[3] > 0
                assert math.isfinite(float(obj.properties["confidence"]))
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
    return {"color": trax.FileImage.create(os.path.join(seq_dir, "color", "%08d.jpg" % (i + 1)))}


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
    log = "".join(s.log)
    assert "Server terminated the session" in str(err.value)
    expected = {"empty": "empty", "nan": "invalid initialisation region", "outside": "outside",
                "missing_image": "not found", "corrupt_image": "cannot decode"}[case]
    assert expected in str(err.value) + log


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
    assert "RASNET_CONFIG" in "".join(s.log) + s.proc.stdout.read().decode(errors="replace")


def test_quit_exits_zero(ws):
    seq_dir = os.path.join(ws["sequences"], "espresso_dash")
    s = _Session().connect()
    try:
        objs, _ = s.client.initialize(_image(seq_dir, 0),
                                      [(trax.Rectangle.create(*_gt(seq_dir, 0)), {})], {})
        assert objs[0][1]["confidence"]
        objs, _ = s.client.frame(_image(seq_dir, 1), {}, [])
        x, y, w, h = objs[0][0].bounds()
        assert w > 0 and h > 0 and math.isfinite(float(objs[0][1]["confidence"]))
        s.client.quit()
    finally:
        rc = s.close()
    assert rc == 0 and not s.killed


# ------------------------------------------------------------------ vot evaluate / analysis

def test_vot_evaluate_and_analysis(ws):
    for exp in ("baseline", "unsupervised"):
        for video in VIDEOS:
            runs = vot_compare.toolkit_runs(ws["workspace"], "RASNet", video) if \
                exp == "baseline" else [os.path.join(ws["workspace"], "results", "RASNet", exp,
                                                     video, video + "_001.bin")]
            assert runs and all(os.path.isfile(r) for r in runs), (exp, video)
    report = vot_workspace.analysis(ws["workspace"], ["RASNet"])
    assert report["toolkit"] == "0.7.4"
    r = vot_workspace.summarize(report)["RASNet"]
    assert 0.0 <= r["accuracy"] <= 1.0
    assert 0.0 <= r["unsupervised_accuracy"] <= 1.0
    assert math.isfinite(r["robustness"]) and r["robustness"] >= 0
    assert r["failures"] == int(r["failures"]) and 0 <= r["failures"] <= len(VIDEOS) * FRAMES
    assert math.isfinite(r["eao"]) and 0.0 <= r["eao"] <= 1.0
    print("\n" + vot_workspace.format_summary({"RASNet": r}, ws["eao_interval"]))


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
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert cli.returncode == 0 and cli.stdout.strip().endswith("agree"), cli.stdout

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
                           "--sequences", ws["sequences"]], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)
    assert proc.returncode == 0 and "EAO interval" in proc.stdout, proc.stdout
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
