"""Pool workers whose tracker cannot be built (CUDA out of memory, a snapshot gone since the
main process checked it, ...): every video they get reports that, and the run ends. (A
Pool initializer that raises is replaced by CPython with a new worker, forever: a hang.)"""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import warnings

import cv2
import numpy as np
import pytest
import torch

from rasnet_plugin.config import REPO_ROOT
from rasnet_plugin.datasets import load_dataset
from rasnet_plugin.evaluation import running

WHY = "worker could not build the tracker"


def _otb(root, names, frames=4):
    """An OTB folder of tiny noise sequences (each starts at the same box)."""
    rng = np.random.default_rng(0)
    for name in names:
        (root / name / "img").mkdir(parents=True)
        for i in range(frames):
            cv2.imwrite(str(root / name / "img" / ("%04d.jpg" % (i + 1))),
                        rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
        np.savetxt(str(root / name / "groundtruth_rect.txt"), [[20, 15, 16, 12]] * frames,
                   fmt="%d", delimiter=",")
    return str(root)


def test_a_worker_that_cannot_build_reports_each_video(tmp_path):
    video = load_dataset(_otb(tmp_path / "otb", ["a"]))["a"]
    job = running.RunJob("ope", str(tmp_path / "results"), "otb", "m")
    gone = str(tmp_path / "gone.yaml")
    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():
            running._init_worker((gone, None, "cpu"), 1)  # must not raise
        st = running._worker_run((video, job))
        st2 = running._worker_run((video, job))
    finally:
        running._WORKER.clear()
        torch.set_num_threads(threads)
    assert st == st2
    assert st["video"] == "a" and st["error"].startswith(WHY + ": ") and gone in st["error"]
    ok = running._status(video)
    assert set(st) == set(ok) and {k: v for k, v in st.items() if k != "error"} == \
        {k: v for k, v in ok.items() if k != "error"}
    assert not os.path.exists(job.folder)  # nothing written


WRAPPER = textwrap.dedent("""
    import os, sys
    from rasnet_plugin.cli import test as cli

    real = cli.run_videos

    def run_videos(videos, job, build_args, *args, **kwargs):
        os.remove(build_args[1])  # the snapshot goes after the main process checked it
        return real(videos, job, build_args, *args, **kwargs)

    if __name__ == "__main__":  # (spawned workers import this file as __mp_main__)
        cli.run_videos = run_videos
        sys.exit(cli.main(sys.argv[1:]))
""")


def test_tools_test_ends_when_no_worker_can_build(tmp_path):
    """tools/test.py --num-workers 2 (spawned workers): the snapshot is deleted after the
    main process loaded it, so each worker fails to build. The run must end, name each
    video's failure and exit 1."""
    names = ["a", "b", "c"]
    data = _otb(tmp_path / "otb", names)
    snapshot = str(tmp_path / "snap.pth")
    shutil.copyfile(os.path.join(REPO_ROOT, "rasnet_plugin", "weights", "rasnet.pth"), snapshot)
    (tmp_path / "wrapper.py").write_text(WRAPPER)
    res = str(tmp_path / "results")
    cmd = [sys.executable, str(tmp_path / "wrapper.py"), "--dataset", data, "--results", res,
           "--snapshot", snapshot, "--device", "cpu", "--num-workers", "2", "--threads", "1"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO_ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the tool and its pool workers
        out, err = proc.communicate()
        pytest.fail("tools/test.py hung with workers that cannot build the tracker:\n"
                    + err[-3000:])
    assert not os.path.exists(snapshot)
    assert proc.returncode == 1, err
    for name in names:
        assert ("error: video %s: %s: FileNotFoundError" % (name, WHY)) in err, err
    assert "3 video(s) failed: a, b, c" in err
    assert not [f for _, _, files in os.walk(res) for f in files]  # no result written
