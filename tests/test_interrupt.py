"""Interrupted runs lose nothing: tools/test.py and tools/train.py are SIGKILLed at a random
moment (the whole process group, workers included), re-run, and must end exactly where an
uninterrupted run ends -- byte-identical result files, a tensor-equal model_final.pth -- with
no temporary or partial file left behind.

Every process runs with one thread (OMP_NUM_THREADS=1), so that one and two tracking workers
compute the same floats and one uninterrupted run is the reference for both.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch

from rasnet_plugin.config import REPO_ROOT
from _files import read_tree  # noqa: E402  (tests/ is on sys.path)
from _images import write_textured_images, write_tiny_train_config  # noqa: E402  (tests/ is on sys.path)

TEST_TOOL = os.path.join(REPO_ROOT, "tools", "test.py")
TRAIN_TOOL = os.path.join(REPO_ROOT, "tools", "train.py")
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
pytestmark = pytest.mark.slow


def _start(args, cwd):
    """A tool in its own process group (so that killpg also reaches its workers)."""
    return subprocess.Popen([sys.executable] + args, cwd=cwd, env=ENV, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run(args, cwd, timeout=300):
    p = _start(args, cwd)
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out
    return out


def _kill_when(proc, ready, delay, timeout=300):
    """SIGKILL proc's process group `delay` s after ready() first holds; True if it was
    still running then (i.e. it really was interrupted)."""
    t_end = time.time() + timeout
    while not ready():
        assert proc.poll() is None, "finished before the kill point:\n" + proc.stdout.read()
        assert time.time() < t_end, "timed out waiting for the kill point"
        time.sleep(0.02)
    time.sleep(delay)
    alive = proc.poll() is None
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)
    # the group may hold spawned workers: wait until none is left
    for _ in range(200):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return alive


def _no_temp_files(folder):
    for rel in read_tree(folder):
        name = os.path.basename(rel)
        assert not name.startswith(".") and ".tmp" not in name, rel


# ---------------------------------------------------------------- tools/test.py

# long enough that a kill lands mid-run even at the int8 AlexNet trunk's ~60-80 fps
W, H, N_VIDEOS, N_FRAMES = 128, 96, 4, 48


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """PySOT-JSON dataset: 4 videos x 48 frames of a blurred texture moving 2 px/frame."""
    root = tmp_path_factory.mktemp("interrupt")
    folder = root / "TinyOPE"
    meta = {}
    for v in range(N_VIDEOS):
        rng = np.random.default_rng(v)
        base = cv2.GaussianBlur(rng.uniform(0, 255, (H, W, 3)).astype(np.float32), (0, 0), 3)
        base = np.clip((base - base.mean()) / base.std() * 50 + 120, 0, 255).astype(np.uint8)
        vid = "video%d" % v
        (folder / vid).mkdir(parents=True)
        names, gt = [], []
        for i in range(N_FRAMES):
            rel = "%s/%04d.png" % (vid, i + 1)
            cv2.imwrite(str(folder / rel), np.roll(base, (i, 2 * i), axis=(0, 1)))
            names.append(rel)
            gt.append([30 + 2 * i, 25 + i, 36, 30])
        meta[vid] = {"video_dir": vid, "init_rect": gt[0], "img_names": names, "gt_rect": gt,
                     "attr": []}
    (folder / "TinyOPE.json").write_text(json.dumps(meta))
    return str(root)


@pytest.fixture(scope="module")
def reference_results(tiny_dataset, tmp_path_factory):
    res = str(tmp_path_factory.mktemp("reference") / "results")
    _run([TEST_TOOL, "--dataset", "TinyOPE", "--dataset-root", tiny_dataset, "--results", res],
         cwd=tiny_dataset)
    files = read_tree(res)
    assert len(files) == N_VIDEOS
    return files


@pytest.mark.parametrize("workers", [1, 2])
def test_test_tool_killed_and_resumed_matches_uninterrupted(tiny_dataset, reference_results,
                                                            tmp_path, workers):
    res = str(tmp_path / "results")
    args = [TEST_TOOL, "--dataset", "TinyOPE", "--dataset-root", tiny_dataset, "--results", res,
            "--num-workers", str(workers)]
    out_dir = os.path.join(res, "TinyOPE", "rasnet")

    def first_result():
        return os.path.isdir(out_dir) and any(
            n.endswith(".txt") and not n.startswith(".") for n in os.listdir(out_dir))

    rnd = random.Random(1234 + workers)
    proc = _start(args, tiny_dataset)
    interrupted = _kill_when(proc, first_result, rnd.uniform(0.0, 0.5))
    done = [n for n in os.listdir(out_dir) if not n.startswith(".")]
    assert interrupted and len(done) < N_VIDEOS, "the run was not interrupted: %s" % done
    for name, data in read_tree(res).items():   # what survived the kill is complete
        if not os.path.basename(name).startswith("."):
            assert data == reference_results[name], name
    # a kill inside a write leaves the writer's temporary file: plant one, as it would be
    with open(os.path.join(out_dir, ".video3.txt.k1ll3d.tmp"), "w") as f:
        f.write("12.5,3")

    out = _run(args, tiny_dataset)
    assert "(skip)" in out                   # finished videos are not tracked again
    assert read_tree(res) == reference_results   # byte-identical, nothing else left
    _no_temp_files(res)


# ---------------------------------------------------------------- tools/train.py

@pytest.fixture(scope="module")
def tiny_train(tmp_path_factory):
    """A 2-epoch x 4-step run on 6 small textured still images, a checkpoint every step."""
    root = tmp_path_factory.mktemp("train")
    imgs = write_textured_images(root / "images")
    cfg = write_tiny_train_config(root / "tiny.yaml", imgs, pairs_per_epoch=8, num_workers=0)
    return str(cfg)


def _final_state(folder):
    return torch.load(os.path.join(folder, "model_final.pth"), map_location="cpu",
                      weights_only=True)["state_dict"]


def test_train_tool_killed_and_resumed_matches_uninterrupted(tiny_train, tmp_path):
    common = ["--config", tiny_train, "--device", "cpu", "--no-progress"]
    ref = str(tmp_path / "ref")
    t0 = time.time()
    _run([TRAIN_TOOL, *common, "--output", ref], cwd=REPO_ROOT)
    span = time.time() - t0

    out = str(tmp_path / "killed")
    latest = os.path.join(out, "checkpoint_latest.pth")
    rnd = random.Random(4321)
    proc = _start([TRAIN_TOOL, *common, "--output", out], REPO_ROOT)
    # the first checkpoint comes after ~1/8 of the run: kill somewhere in the rest
    interrupted = _kill_when(proc, lambda: os.path.isfile(latest), rnd.uniform(0.05, 0.4) * span)
    assert interrupted and not os.path.exists(os.path.join(out, "model_final.pth"))
    step = torch.load(latest, map_location="cpu", weights_only=True)["step"]
    assert 1 <= step < 8
    # a kill inside torch.save leaves the writer's temporary file: plant one, as it would be
    dead = os.path.join(out, ".%s.999999999.k1ll3d.tmp" % os.path.basename(latest))
    with open(dead, "wb") as f:
        f.write(b"PK\x03\x04 half a checkpoint")

    log = _run([TRAIN_TOOL, *common, "--output", out, "--resume"], cwd=REPO_ROOT)
    assert "resumed from" in log, log
    a, b = _final_state(ref), _final_state(out)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    left = [n for n in os.listdir(out) if ".tmp" in n]
    assert not left, left
