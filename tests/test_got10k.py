"""The got10k toolkit adapter (rasnet_plugin.integrations.got10k): the toolkit's own
`Tracker.track` loop and `ExperimentOTB` on a real sequence, read back by tools/eval.py.

The sequence is OTB-dev/Crossing of the folder RASNET_TEST_DATA names, else the first video
of the bundled benchmark written as an OTB folder. Only its first few frames run.
"""
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from rasnet_plugin.config import REPO_ROOT

from _data import REAL_DATA

DATA = REAL_DATA or ""
CROSSING = os.path.join(DATA, "OTB-dev", "Crossing")
FRAMES = 8  # of Crossing's 120: enough to move, cheap on 2 CPU cores
MODULE = "rasnet_plugin.integrations.got10k"

needs_got10k = pytest.mark.skipif(importlib.util.find_spec("got10k") is None,
                                  reason="the got10k toolkit is not installed: "
                                  "pip install -e '.[got10k]'")


def test_import_without_got10k_names_the_extra(monkeypatch):
    # None in sys.modules makes `import got10k...` raise ImportError, as if not installed
    for name in [m for m in sys.modules if m == "got10k" or m.startswith("got10k.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "got10k", None)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    with pytest.raises(ImportError, match=r"pip install rasnet_plugin\[got10k\]"):
        importlib.import_module(MODULE)


def _adapter():
    from rasnet_plugin.integrations.got10k import RASNetGOT10kTracker

    return RASNetGOT10kTracker(device="cpu")


def _bundled_as_otb(root):
    """The bundled benchmark's first video, its first FRAMES frames, as an OTB folder named
    Crossing (JPEG frames, integer boxes: what the got10k toolkit reads)."""
    from rasnet_plugin.datasets import ensure_bundled, load_dataset

    video = load_dataset(ensure_bundled(str(root / "bundled"))).videos[0]
    seq = root / "Crossing"
    (seq / "img").mkdir(parents=True)
    for i in range(FRAMES):
        cv2.imwrite(str(seq / "img" / ("%04d.jpg" % (i + 1))), video.load_frame(i))
    np.savetxt(seq / "groundtruth_rect.txt", np.round(video.gt_xywh()[:FRAMES]), fmt="%d",
               delimiter=",")
    return str(seq)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory):
    """(img_files, ground truth, boxes of build_tracker() run directly on our BGR frames)."""
    import rasnet_plugin
    from rasnet_plugin.datasets import load_dataset

    folder = CROSSING if os.path.isdir(CROSSING) else _bundled_as_otb(tmp_path_factory.mktemp("otb"))
    video = load_dataset(folder).videos[0]
    files = sorted(os.path.join(folder, "img", f) for f in os.listdir(
        os.path.join(folder, "img")))[:FRAMES]
    tracker = rasnet_plugin.build_tracker(device="cpu")
    tracker.init(video.load_frame(0), video.init_rect)
    boxes = [list(map(float, video.init_rect))]
    boxes += [tracker.track(video.load_frame(i))["bbox"] for i in range(1, FRAMES)]
    return files, np.asarray(video.gt[:FRAMES], dtype=np.float64), np.asarray(boxes)


@needs_got10k
def test_adapter_is_a_got10k_tracker():
    from got10k.trackers import Tracker

    t = _adapter()
    assert isinstance(t, Tracker) and t.name == "RASNet" and t.is_deterministic
    from rasnet_plugin.integrations.got10k import RASNetGOT10kTracker

    assert RASNetGOT10kTracker(name="RASNet-cpu", tracker=t.tracker).name == "RASNet-cpu"


@needs_got10k
def test_toolkit_track_loop_equals_build_tracker(crossing):
    files, gt, direct = crossing
    boxes, times = _adapter().track(files, gt[0])  # got10k's own loop: PIL RGB images
    assert boxes.shape == (FRAMES, 4) and len(times) == FRAMES
    np.testing.assert_array_equal(boxes, direct)
    assert np.abs(boxes[1:] - boxes[0]).max() > 0.5  # it tracked: the box moved


def _tiny_otb(root, files, gt):
    """An OTB-2015 folder under `root` that ExperimentOTB takes without downloading: Crossing
    cut to len(files) frames, and an empty folder for every other sequence (its download
    check only looks for the folders; empty ones hold no groundtruth*.txt, so no sequence)."""
    from got10k.datasets import OTB

    os.makedirs(os.path.join(root, "Crossing", "img"))
    for f in files:
        shutil.copy(f, os.path.join(root, "Crossing", "img", os.path.basename(f)))
    np.savetxt(os.path.join(root, "Crossing", "groundtruth_rect.txt"), gt, fmt="%d",
               delimiter="\t")
    for name in OTB._OTB__version_dict[2015]:
        os.makedirs(os.path.join(root, name), exist_ok=True)
    return root


@needs_got10k
def test_experiment_otb_results_read_by_our_eval(crossing, tmp_path, monkeypatch):
    from got10k.datasets import otb as got10k_otb
    from got10k.experiments import ExperimentOTB

    def no_download(*a, **k):
        raise AssertionError("got10k tried to download %s" % (a,))
    monkeypatch.setattr(got10k_otb, "download", no_download)

    files, gt, direct = crossing
    # ExperimentOTB writes <result_dir>/OTB2015/<name>/<seq>.txt: our layout
    # <results>/<DATASET>/<model>/<video>.txt once the dataset folder is named OTB2015
    data = _tiny_otb(str(tmp_path / "OTB2015"), files, gt)
    results = tmp_path / "results"
    exp = ExperimentOTB(data, version=2015, result_dir=str(results),
                        report_dir=str(tmp_path / "reports"))
    assert exp.dataset.seq_names == ["Crossing"]
    exp.run(_adapter())
    record = results / "OTB2015" / "RASNet" / "Crossing.txt"
    np.testing.assert_allclose(np.loadtxt(record, delimiter=","), direct, atol=5e-4)  # %.3f
    perf = exp.report(["RASNet"])["RASNet"]["overall"]

    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, os.path.join(REPO_ROOT, "tools", "eval.py"),
                          "--tracker_path", str(results), "--dataset", data],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("|")
               and line.strip("|").split("|")[0].strip() == "RASNet")
    success, _, precision = (float(c) for c in row.strip().strip("|").split("|")[1:4])
    # the same boxes scored by both toolkits (21 IoU thresholds, 20 px precision)
    assert success == pytest.approx(perf["success_score"], abs=1e-3)  # table: 3 decimals
    assert precision == pytest.approx(perf["precision_score"], abs=1e-3)
