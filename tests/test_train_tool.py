"""tools/train.py end to end: a tiny run, resume from the command line, torchrun with gloo."""
import logging
import os
import re
import signal
import subprocess
import sys
import time

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


# ---------------------------------------------------------------- bad input, named

def _main(args, capsys):
    """tools/train.py's main in this process: (exit status, stderr); the log handlers it
    adds are removed again."""
    log = logging.getLogger("rasnet_plugin")
    handlers, level = list(log.handlers), log.level
    try:
        status = _tool_module().main(args)
    finally:
        for h in [h for h in log.handlers if h not in handlers]:
            log.removeHandler(h)
            h.close()
        log.setLevel(level)
    return status, capsys.readouterr().err


def test_train_tool_refuses_a_device_that_is_not_there(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    common = ["--config", str(tiny), "--output", str(out), "--no-progress", "--device"]
    status, err = _main(common + ["gpu"], capsys)
    assert status == 1 and "error: --device must be cpu, cuda or cuda:N, got 'gpu'" in err
    if not torch.cuda.is_available():
        for device in ("cuda", "cuda:0"):
            status, err = _main(common + [device], capsys)
            assert status == 1 and "error: --device %s: " % device in err, err
            assert "use --device cpu" in err
    assert not out.exists()           # refused before the output folder is set up


@pytest.mark.parametrize("key,value,match", [
    ("TRACK.TOTAL_STRIDE", "0", "TRACK.TOTAL_STRIDE must be an integer >= 1, got 0"),
    ("TRACK.RESPONSE_UP", "0", "TRACK.RESPONSE_UP must be an integer >= 1, got 0"),
    ("TRACK.EXEMPLAR_SIZE", "0", "TRACK.EXEMPLAR_SIZE must be an integer >= 1, got 0"),
    ("TRACK.INSTANCE_SIZE", "100", "TRACK.INSTANCE_SIZE must be >= TRACK.EXEMPLAR_SIZE (127)"),
    ("TRACK.CONTEXT_AMOUNT", "-1.0", "TRACK.CONTEXT_AMOUNT must be a number >= 0, got -1.0"),
    ("BACKBONE.TYPE", "resnet", "BACKBONE.TYPE: unknown backbone 'resnet'"),
])
def test_train_tool_names_a_bad_config_key(tiny, tmp_path, capsys, key, value, match):
    out = tmp_path / "out"
    status, err = _main(["--config", str(tiny), "--output", str(out), "--device", "cpu",
                         "--no-progress", "--max-steps", "1", "--set", key, value], capsys)
    assert status == 1 and "error: " + match in err, err
    assert not (out / "checkpoint_latest.pth").exists()
    if key.startswith("TRACK."):      # checked before the output folder (and its log) is made
        assert not out.exists()


def _config_with_extra_source(tiny, tmp_path, extra):
    images = tiny.parent / "images"
    path = tmp_path / "extra.yaml"
    path.write_text(tiny.read_text().replace("    NAMES: [STILL]\n", "    NAMES: [STILL, EXTRA]\n"
                                             "    EXTRA: {TYPE: still, ROOT: %s, %s}\n"
                                             % (images, extra)))
    return path


@pytest.mark.parametrize("extra,match", [
    ("WEIGHT: heavy", "TRAIN.DATASETS.EXTRA.WEIGHT must be a number >= 0, got 'heavy'"),
    ("WEIGHT: -1.0", "TRAIN.DATASETS.EXTRA.WEIGHT must be a number >= 0, got -1.0"),
    ("NUM_USE: 0", "TRAIN.DATASETS.EXTRA.NUM_USE must be -1 (all items) or an integer >= 1, "
                   "got 0"),
    ("NUM_USE: lots", "TRAIN.DATASETS.EXTRA.NUM_USE must be -1 (all items) or an integer >= 1, "
                      "got 'lots'"),
    ("WEIGHT: 0.0", "TRAIN.DATASETS: every source has WEIGHT 0 (STILL, EXTRA)"),
])
def test_train_tool_names_a_bad_source_share(tiny, tmp_path, capsys, extra, match):
    cfg = _config_with_extra_source(tiny, tmp_path, extra)
    args = ["--config", str(cfg), "--output", str(tmp_path / "out"), "--device", "cpu",
            "--no-progress", "--max-steps", "1"]
    if "every source" in match:
        args += ["--set", "TRAIN.DATASETS.STILL.WEIGHT", "0.0"]
    status, err = _main(args, capsys)
    assert status == 1 and "error: " + match in err, err


def test_train_tool_ctrl_c_checkpoints_and_resumes(tiny, tmp_path):
    out = tmp_path / "int"
    # 100 steps an epoch, checkpoints at its end only: a Ctrl-C that is not handled loses
    # every step so far
    common = [TOOL, "--config", str(tiny), "--output", str(out), "--device", "cpu",
              "--no-progress", "--set", "TRAIN.PAIRS_PER_EPOCH", "200",
              "TRAIN.CHECKPOINT_INTERVAL", "0"]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    p = subprocess.Popen([sys.executable] + common, cwd=REPO_ROOT, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)     # its own group: killpg = the terminal
    try:
        log, deadline = out / "train_log.csv", time.time() + 120
        while not (log.is_file() and log.read_text().count("\n") >= 3):   # 2 steps done
            assert p.poll() is None, p.communicate()
            assert time.time() < deadline, "no step in 120 s"
            time.sleep(0.05)
        # what Ctrl-C in a terminal does: SIGINT to the group, the DataLoader worker too
        os.killpg(p.pid, signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert p.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "interrupted: finishing the step" in stderr
    step = int(re.search(r"stopped at step (\d+); continue with --resume auto", stdout).group(1))
    assert 2 <= step < 100
    assert torch.load(out / "checkpoint_latest.pth", weights_only=True)["step"] == step
    r = _run(common + ["--resume", "auto", "--max-steps", str(step + 1)])
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stderr and "at step %d" % step in r.stderr
    assert torch.load(out / "checkpoint_latest.pth", weights_only=True)["step"] == step + 1
