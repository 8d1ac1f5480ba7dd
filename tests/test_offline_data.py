"""tools/prepare_offline_data.py on a small fake opencv-doc tree, and the trainer reading it."""
import gzip
import os

import cv2
import numpy as np

from rasnet_plugin.cli import prepare_offline_data as prep  # tools/prepare_offline_data.py
from rasnet_plugin.training.sources import StillImageSource, VideoFolderSource


def _img(h, w, seed):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def _video(path, n, fourcc="MJPG"):
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 10, (96, 64))
    assert vw.isOpened()
    for k in range(n):
        vw.write(_img(64, 96, k))
    vw.release()


def fake_doc(root):
    ex, html = root / "examples" / "data", root / "opencv4" / "html" / "d1"
    ex.mkdir(parents=True)
    html.mkdir(parents=True)
    cv2.imwrite(str(ex / "photo.jpg"), _img(200, 240, 0))
    cv2.imwrite(str(ex / "icon.png"), _img(40, 40, 1))          # too small
    (ex / "broken.jpg").write_bytes(b"not a jpeg")              # undecodable
    cv2.imwrite(str(html / "figure.png"), _img(300, 300, 2))    # a manual's diagram: left out
    cv2.imwrite(str(html / "photo.jpg"), _img(300, 300, 3))     # a manual's photograph
    _video(str(ex / "vtest.avi"), 5)
    _video(str(ex / "Megamind_bugy.avi"), 5)                    # not in the list: left out
    tmp = str(root / "cup.avi")
    _video(tmp, 4)
    with open(tmp, "rb") as f, gzip.open(str(html / "cup.mp4.gz"), "wb") as g:
        g.write(f.read())
    os.remove(tmp)


def test_prepare_collects_photos_and_decodes_videos(tmp_path, capsys):
    fake_doc(tmp_path / "doc")
    out = tmp_path / "out"
    argv = ["--output", str(out), "--opencv-doc", str(tmp_path / "doc")]
    assert prep.main(argv) == 0
    stills = sorted(os.listdir(out / "stills"))
    assert len(stills) == 2 and all(s.startswith("photo_") for s in stills)
    assert sorted(os.listdir(out / "videos")) == ["cup", "vtest"]
    assert len([f for f in os.listdir(out / "videos" / "vtest") if f.endswith(".jpg")]) == 5
    assert len([f for f in os.listdir(out / "videos" / "cup") if f.endswith(".jpg")]) == 4
    text = capsys.readouterr().out
    assert "2 skipped" in text and "Megamind.avi not found" in text
    # a rerun keeps what is there and reports the same
    before = {p: os.path.getmtime(out / "stills" / p) for p in stills}
    assert prep.main(argv) == 0
    assert {p: os.path.getmtime(out / "stills" / p) for p in stills} == before
    # the trainer's sources read the folders
    assert len(StillImageSource(str(out / "stills"), split="all")) == 2
    assert len(VideoFolderSource(str(out / "videos"), split="all")) == 2


def test_prepare_without_opencv_doc_says_how_to_get_it(tmp_path, capsys):
    assert prep.main(["--output", str(tmp_path / "o"), "--opencv-doc", str(tmp_path / "no")]) == 1
    assert "apt-get install opencv-doc" in capsys.readouterr().err
