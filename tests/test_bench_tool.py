"""tools/bench.py end to end on a short OTB-layout sequence: one row per (quantize,
precision), labelled with what actually ran, with its accuracy."""

import cv2
import numpy as np
import pytest

from rasnet_plugin.cli.bench import main
from rasnet_plugin.evaluation import speed
from rasnet_plugin.datasets import ensure_bundled, load_dataset

from _data import forbid_expensive_work, noise_otb


def _short_otb(tmp_path, frames=12):
    video = load_dataset(ensure_bundled(str(tmp_path / "bench"))).videos[0]
    seq = tmp_path / "otb" / video.name
    (seq / "img").mkdir(parents=True)
    for i in range(frames):
        cv2.imwrite(str(seq / "img" / ("%04d.jpg" % (i + 1))), video.load_frame(i))
    np.savetxt(str(seq / "groundtruth_rect.txt"), video.gt_xywh()[:frames], fmt="%.2f",
               delimiter=",")
    return str(tmp_path / "otb")


def test_bench_rows_per_quantize_and_precision(tmp_path, capsys):
    root = _short_otb(tmp_path)
    assert main(["--dataset", root, "--config", "rasnet", "--precision", "fp32",
                 "--quantize", "none", "int8", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert header.startswith("# ") and "precision auto here:" in header and "1 sequences, 12 frames" in header
    table = [l for l in out.splitlines() if l.startswith("| fp32")]
    assert [l.split(" | ")[0] for l in table] == ["| fp32", "| fp32+int8"]
    for line in table:
        auc = float(line.split(" | ")[-2])
        assert 0.3 < auc <= 1.0, line          # the shipped weights follow the target


# ---------------------------------------------------------------- bad input: clear errors, early

@pytest.fixture
def no_work(monkeypatch):
    forbid_expensive_work(monkeypatch)


def _exit_status(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def test_bench_missing_dataset_is_an_error_naming_it(tmp_path, capsys, no_work):
    typo = str(tmp_path / "typo")
    assert main(["--dataset", typo, "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and typo in err and "Traceback" not in err


def test_bench_precisions_are_checked_before_any_measurement(tmp_path, capsys, no_work):
    root = noise_otb(tmp_path)
    # a typo: refused by the parser, naming the value and the choices
    assert _exit_status(["--dataset", root, "--device", "cpu", "--precision", "fp32", "bf61"]) == 2
    err = capsys.readouterr().err
    assert "--precision" in err and "bf61" in err and "fp32" in err
    # fp16 on the CPU (after a precision that would have been measured first)
    assert _exit_status(["--dataset", root, "--device", "cpu", "--precision", "fp32", "fp16"]) == 2
    err = capsys.readouterr().err
    assert "--precision fp16 needs a CUDA device" in err


def test_bench_counts_and_device_are_checked(tmp_path, capsys, no_work):
    root = noise_otb(tmp_path)
    for flags, named in ((["--repeat", "0"], "--repeat must be >= 1, got 0"),
                         (["--threads", "0"], "--threads must be >= 1, got 0"),
                         (["--device", "bogus"], "--device bogus")):
        assert _exit_status(["--dataset", root] + flags) == 2, flags
        assert named in capsys.readouterr().err
    if not torch_cuda():
        assert _exit_status(["--dataset", root, "--device", "cuda"]) == 2
        assert "--device cuda" in capsys.readouterr().err


def torch_cuda():
    import torch
    return torch.cuda.is_available()


def test_bench_bad_snapshot_and_config_reported_before_decoding(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(speed, "decode", lambda v: pytest.fail("decoded before the snapshot "
                                                               "was checked"))
    root = noise_otb(tmp_path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    assert main(["--dataset", root, "--device", "cpu", "--config", "rasnet",
                 "--precision", "fp32", "--quantize", "none", "--snapshot", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(junk) in err and "Traceback" not in err
    assert main(["--dataset", root, "--config", str(tmp_path / "nope.yaml")]) == 1
    assert "error: config file not found: " in capsys.readouterr().err


def test_bench_keeps_the_rows_measured_before_a_failure(tmp_path, capsys, monkeypatch):
    import rasnet_plugin.api

    class Stub:
        quantize = "none"

        def __init__(self, precision):
            self.precision = precision

    def build(cfg, snapshot=None, device=None):
        if cfg.TRACK.PRECISION == "bf16":
            raise ValueError("bf16 broke")
        return Stub(cfg.TRACK.PRECISION)

    def measure(tracker, label, videos, decoded, repeat):
        return speed.SpeedRow(label, 50.0, 100.0, {k: 1.0 for k in speed.STAGES}, 0.5, 0.6,
                              [50.0] * repeat)
    monkeypatch.setattr(rasnet_plugin.api, "build_tracker", build)
    monkeypatch.setattr(speed, "measure_precision", measure)
    assert main(["--dataset", noise_otb(tmp_path), "--device", "cpu", "--config", "rasnet",
                 "--precision", "fp32", "bf16", "auto", "--quantize", "none",
                 "--repeat", "1"]) == 1
    out, err = capsys.readouterr()
    assert "error: --precision bf16 --quantize none: bf16 broke" in err
    table = [l.split(" | ")[0] for l in out.splitlines() if l.startswith("| ")]
    assert table[0] == "| precision" and "| fp32" in table   # the table is still printed


def test_measure_precision_refuses_zero_repeats():
    with pytest.raises(ValueError, match="repeat >= 1"):
        speed.measure_precision(None, "fp32", [object()], [[]], 0)
