"""tools/train.py end to end: a tiny run, resume from the command line, torchrun with gloo."""
import os
import subprocess
import sys

import pytest
import torch

from rasnet_plugin.config import REPO_ROOT, ConfigError
from rasnet_plugin.training import read_csv
from _images import write_textured_images, write_tiny_train_config  # noqa: E402  (tests/ is on sys.path)

TOOL = os.path.join(REPO_ROOT, "tools", "train.py")   # the shim PySOT users run


def _tool_module():
    from rasnet_plugin.cli import train   # tools/train.py's parser and main
    return train


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A config for a few steps on 6 small textured images plus 2 corrupt ones."""
    root = tmp_path_factory.mktemp("tool")
    imgs = write_textured_images(root / "images")
    (imgs / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    (imgs / "empty.png").write_bytes(b"")
    cfg = write_tiny_train_config(root / "tiny.yaml", imgs, pairs_per_epoch=4, num_workers=1)
    return cfg


def _run(args, timeout=120, **kw):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable] + args, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT, env=env, **kw)


def test_train_tool_writes_checkpoints_curves_and_resumes(tiny, tmp_path):
    out = tmp_path / "out"
    r = _run([TOOL, "--config", str(tiny), "--output", str(out), "--device", "cpu",
              "--max-steps", "3", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert "stopped at step 3" in r.stdout
    assert torch.load(out / "checkpoint_latest.pth", weights_only=True)["step"] == 3
    assert not (out / "model_final.pth").exists()

    r = _run([TOOL, "--config", str(tiny), "--output", str(out), "--device", "cpu",
              "--resume"])                       # bare --resume means auto; progress bar on
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stderr and "at step 3" in r.stderr
    assert "final weights" in r.stdout
    for name in ("checkpoint_latest.pth", "checkpoint_e1.pth", "checkpoint_e2.pth",
                 "model_final.pth", "train_log.csv", "val_log.csv", "curves.png",
                 "train.log", "config.yaml"):
        assert (out / name).is_file(), name
    final = torch.load(out / "model_final.pth", weights_only=True)
    assert set(final) == {"state_dict", "cfg", "videos", "recipe"}
    assert "adjust.weight" in final["state_dict"] and final["recipe"]["steps"] == 4
    latest = torch.load(out / "checkpoint_latest.pth", weights_only=True)
    assert latest["step"] == 4 and latest["epoch"] == 2
    train = read_csv(str(out / "train_log.csv"))
    assert [row["step"] for row in train] == [1, 2, 3, 4]      # one row per step, no duplicate
    assert [row["lr"] for row in train] == pytest.approx([1e-2, 1e-2, 1e-5, 1e-5])
    val = read_csv(str(out / "val_log.csv"))
    assert [row["step"] for row in val] == [2, 4] and all(row["val_loss"] > 0 for row in val)
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the corrupt images were met, skipped and counted, never fatal
    log = (out / "train.log").read_text()
    assert "corrupt samples skipped" in log
    assert train[-1]["skipped"] > 0 and "skipped a corrupt sample" in r.stderr


def test_train_tool_errors_and_overrides(tiny, tmp_path):
    r = _run([TOOL, "--config", str(tiny), "--output", str(tmp_path), "--device", "cpu",
              "--set", "TRAIN.NOT_A_KEY", "1"])
    assert r.returncode == 1 and "NOT_A_KEY" in r.stderr
    r = _run([TOOL, "--config", str(tiny), "--output", str(tmp_path), "--device", "cpu",
              "--data", "got10k=/nonexistent/GOT-10k"])
    assert r.returncode == 1 and "GOT-10k root not found" in r.stderr

    tool = _tool_module()
    cfg = tool.build_cfg(tool.parse_args([
        "--config", str(tiny), "--set", "TRAIN.EPOCH", "7", "TRAIN.AUG.SHIFT", "4",
        "--data", "still=skimage", "pysot=/x/crop511,/x/train.json"]))
    assert cfg.TRAIN.EPOCH == 7 and cfg.TRAIN.AUG.SHIFT == 4
    assert cfg.TRAIN.DATASETS.NAMES == ["DATA0", "DATA1"]
    assert cfg.TRAIN.DATASETS.DATA1.TYPE == "pysot"
    assert cfg.TRAIN.DATASETS.DATA1.ANNO == "/x/train.json"
    with pytest.raises(ConfigError):
        tool.build_cfg(tool.parse_args(["--config", str(tiny), "--data", "lasot=/x"]))


def test_train_tool_divergence_exits_2_and_keeps_the_checkpoint(tiny, tmp_path):
    out = tmp_path / "div"
    common = [TOOL, "--config", str(tiny), "--output", str(out), "--device", "cpu",
              "--no-progress"]
    r = _run(common + ["--max-steps", "2"])
    assert r.returncode == 0, r.stderr
    good = (out / "checkpoint_latest.pth").read_bytes()
    log = (out / "train_log.csv").read_bytes()
    r = _run(common)                     # the same command again: refused, nothing touched
    assert r.returncode == 1 and "--resume auto" in r.stderr and "--overwrite" in r.stderr
    assert (out / "checkpoint_latest.pth").read_bytes() == good
    assert (out / "train_log.csv").read_bytes() == log
    # resumed at an absurd learning rate: step 3's update wrecks the weights, step 4's loss
    # blows up, and step 3's checkpoint (due: CHECKPOINT_INTERVAL 1) is never written
    r = _run(common + ["--resume", "auto", "--set", "TRAIN.BASE_LR", "1000.0",
                       "TRAIN.END_LR", "1000.0"])
    assert r.returncode == 2, r.stdout + r.stderr
    assert "training diverged: step 4: the loss" in r.stderr
    assert "the last good checkpoint is kept: %s (step 2)" % (out / "checkpoint_latest.pth") \
        in r.stderr
    assert (out / "checkpoint_latest.pth").read_bytes() == good
    assert not (out / "model_final.pth").exists()


def test_torchrun_two_processes_gloo(tiny, tmp_path):
    out = tmp_path / "ddp"
    r = _run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", TOOL,
              "--config", str(tiny), "--output", str(out), "--device", "cpu", "--no-progress",
              "--set", "TRAIN.BATCH_SIZE", "1", "TRAIN.EPOCH", "1", "TRAIN.NUM_WORKERS", "0"],
             timeout=150)
    assert r.returncode == 0, r.stdout + r.stderr
    log = (out / "train.log").read_text()
    assert "x 1 pairs x 2 process(es)" in log            # 4 pairs = 2 steps x 1 pair x 2
    assert log.count("training rasnet") == 1             # rank 0 logs, once
    ck = torch.load(out / "checkpoint_latest.pth", weights_only=True)
    assert ck["step"] == 2 and ck["sampler"]["world_size"] == 2
    assert (out / "model_final.pth").is_file()
    assert [row["step"] for row in read_csv(str(out / "train_log.csv"))] == [1, 2]
