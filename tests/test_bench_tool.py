"""tools/bench.py end to end on a short OTB-layout sequence: one row per (quantize,
precision), labelled with what actually ran, with its accuracy."""
import os

import cv2
import numpy as np

from rasnet_plugin.cli.bench import main
from rasnet_plugin.datasets import ensure_bundled, load_dataset


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
