"""Dataset loaders as real downloads come: truncated JPEG frames, macOS `._*` files,
list.txt written by `ls -d */`, Windows line endings, unpadded frame numbers, symlinks."""
import json
import os

import cv2
import numpy as np
import pytest

from rasnet_plugin.datasets import DatasetError, load_dataset, read_frame
from rasnet_plugin.datasets import video as video_mod

# what macOS writes as `._<name>` next to a copied file: an AppleDouble header, not UTF-8
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\xff\xfe" + bytes(64)


def _frames(folder, n, pattern="%04d.jpg", size=(40, 30)):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(n)
    for i in range(1, n + 1):
        img = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        cv2.imwrite(os.path.join(folder, pattern % i), img)


def _gt(n):
    return "".join("%d,3,10,8\n" % (2 + i) for i in range(n))


def _otb(root, name="Seq", n=3):
    seq = os.path.join(root, name)
    _frames(os.path.join(seq, "img"), n)
    with open(os.path.join(seq, "groundtruth_rect.txt"), "w") as f:
        f.write(_gt(n))
    return seq


def _cut(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])


# ---------------------------------------------------------------- truncated JPEG frames

def test_a_truncated_jpeg_frame_is_a_named_error_not_a_grey_frame(tmp_path):
    seq = _otb(str(tmp_path / "OTB"))
    cut = os.path.join(seq, "img", "0002.jpg")
    _cut(cut)
    assert cv2.imread(cut) is not None          # what OpenCV does with it: rows of grey
    video = load_dataset(str(tmp_path / "OTB"))["Seq"]
    assert video.load_frame(0).shape == (30, 40, 3)
    with pytest.raises(DatasetError, match=r"frame 1: truncated JPEG file .*0002\.jpg"):
        video.load_frame(1)
    # complete files load: bytes appended after the end-of-image marker, a PNG named .jpg
    good = os.path.join(seq, "img", "0003.jpg")
    with open(good, "ab") as f:
        f.write(b"\x00" * 1000)
    assert read_frame(good).shape == (30, 40, 3)
    ok, png = cv2.imencode(".png", np.zeros((5, 6, 3), np.uint8))
    with open(good, "wb") as f:
        f.write(png.tobytes())
    assert read_frame(good, 2).shape == (5, 6, 3)


def test_training_reads_frames_with_the_same_check():
    from rasnet_plugin.training.sources import base
    assert base.read_image is read_frame                  # one implementation


def test_the_truncation_check_reads_only_the_tail(tmp_path, monkeypatch):
    path = str(tmp_path / "big.jpg")
    img = np.random.default_rng(0).integers(0, 255, (600, 800, 3), dtype=np.uint8)
    cv2.imwrite(path, img)
    assert os.path.getsize(path) > 20 * video_mod.JPEG_TAIL
    sizes = []
    real_open = open

    class Spy:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def read(self, n=-1):
            out = self.f.read(n)
            sizes.append(len(out))
            return out

        def seek(self, *a):
            return self.f.seek(*a)

        def tell(self):
            return self.f.tell()

    monkeypatch.setattr(video_mod, "open", lambda p, m="r": Spy(real_open(p, m)), raising=False)
    assert not video_mod.truncated_jpeg(path)
    assert sum(sizes) <= video_mod.JPEG_TAIL + 2


def test_rasnet_test_reports_the_video_with_a_truncated_frame(tmp_path, capsys):
    from rasnet_plugin.cli import test as test_cli
    root = str(tmp_path / "OTB")
    _otb(root, "Good", 2)
    bad = _otb(root, "Cut", 2)
    _cut(os.path.join(bad, "img", "0002.jpg"))
    code = test_cli.main(["--dataset", root, "--config", "rasnet", "--results",
                          str(tmp_path / "res"), "--model-name", "m"])
    err = capsys.readouterr().err
    assert code != 0 and "truncated JPEG file" in err and "0002.jpg" in err, err
    assert sorted(os.listdir(tmp_path / "res" / "OTB" / "m")) == ["Good.txt"]


# ---------------------------------------------------------------- macOS `._*` files

def test_macos_resource_forks_are_not_frames_tags_or_annotations(tmp_path):
    # OTB: `._0001.jpg` next to every frame
    seq = _otb(str(tmp_path / "OTB"), n=3)
    for name in os.listdir(os.path.join(seq, "img")):
        with open(os.path.join(seq, "img", "._" + name), "wb") as f:
            f.write(APPLEDOUBLE)
    v = load_dataset(str(tmp_path / "OTB"))["Seq"]
    assert [os.path.basename(p) for p in v.img_paths] == ["0001.jpg", "0002.jpg", "0003.jpg"]
    # VOT (frames in the sequence folder, no `sequence` file) with a copied tag file
    vot = tmp_path / "vot"
    _frames(str(vot / "bag"), 3, "%08d.jpg")
    (vot / "bag" / "groundtruth.txt").write_text(_gt(3))
    (vot / "bag" / "occlusion.tag").write_text("0\n1\n0\n")
    (vot / "list.txt").write_text("bag\n")
    for name in ("00000001.jpg", "occlusion.tag", "groundtruth.txt"):
        (vot / "bag" / ("._" + name)).write_bytes(APPLEDOUBLE)
    v = load_dataset(str(vot))["bag"]
    assert len(v) == 3 and list(v.tags) == ["occlusion"] and v.attr == ["occlusion"]
    # GOT-10k: the same frames, and `._absence.label`
    got = tmp_path / "GOT-10k_val"
    _frames(str(got / "GOT-10k_Val_000001"), 2, "%08d.jpg")
    (got / "GOT-10k_Val_000001" / "groundtruth.txt").write_text(_gt(2))
    (got / "GOT-10k_Val_000001" / "absence.label").write_text("0\n1\n")
    (got / "GOT-10k_Val_000001" / "._absence.label").write_bytes(APPLEDOUBLE)
    (got / "GOT-10k_Val_000001" / "._00000001.jpg").write_bytes(APPLEDOUBLE)
    (got / "list.txt").write_text("GOT-10k_Val_000001\n")
    v = load_dataset(str(got))["GOT-10k_Val_000001"]
    assert len(v) == 2 and v.tags["visible"].tolist() == [True, False]
    # PySOT JSON folder whose one annotation is not named after the folder
    ds_dir = tmp_path / "testing_dataset" / "mine"
    _frames(str(ds_dir / "Car" / "img"), 2)
    meta = {"Car": {"video_dir": "Car", "init_rect": [2, 3, 10, 8], "attr": [],
                    "img_names": ["Car/img/0001.jpg", "Car/img/0002.jpg"],
                    "gt_rect": [[2, 3, 10, 8], [3, 3, 10, 8]]}}
    (ds_dir / "OTB100.json").write_text(json.dumps(meta))
    (ds_dir / "._OTB100.json").write_bytes(APPLEDOUBLE)
    assert [v.name for v in load_dataset(str(ds_dir))] == ["Car"]


# ---------------------------------------------------------------- list.txt and text files

def test_list_txt_written_by_ls_names_the_folders(tmp_path):
    vot = tmp_path / "vot"
    for name in ("ants1", "bag"):
        _frames(str(vot / name / "color"), 2, "%08d.jpg")
        (vot / name / "groundtruth.txt").write_text(_gt(2))
    (vot / "list.txt").write_bytes(b"ants1/\r\nbag/\r\n")          # ls -d */ on Windows
    ds = load_dataset(str(vot))
    assert [v.name for v in ds] == ["ants1", "bag"]


def test_crlf_written_again_on_windows_adds_no_empty_lines(tmp_path):
    # Python's text mode on Windows turns a "\r\n" it is given into "\r\r\n"
    seq = _otb(str(tmp_path / "OTB"), n=3)
    with open(os.path.join(seq, "groundtruth_rect.txt"), "wb") as f:
        f.write(_gt(3).replace("\n", "\r\r\n").encode())
    v = load_dataset(str(tmp_path / "OTB"))["Seq"]
    assert v.gt[:, 0].tolist() == [2.0, 3.0, 4.0]
    vot = tmp_path / "vot"
    _frames(str(vot / "bag" / "color"), 3, "%08d.jpg")
    (vot / "bag" / "groundtruth.txt").write_bytes(_gt(3).replace("\n", "\r\r\n").encode())
    (vot / "bag" / "occlusion.tag").write_bytes(b"0\r\r\n1\r\r\n1\r\r\n")
    (vot / "bag" / "sequence").write_bytes(b"channels.color=color/%08d.jpg\r\r\nfps=30\r\r\n")
    (vot / "list.txt").write_bytes(b"bag\r\r\n")
    v = load_dataset(str(vot))["bag"]
    assert len(v) == 3 and v.tags["occlusion"].tolist() == [False, True, True]


def test_real_download_quirks_load(tmp_path):
    """Checked while reviewing (these already worked): CRLF and tab/space separators,
    unpadded frame numbers in natural order, a symlinked sequence folder, Thumbs.db and
    .DS_Store beside the frames, errors naming file and line."""
    root = tmp_path / "OTB"
    seq = root / "Panda"
    os.makedirs(seq / "img")
    for i in range(1, 12):                                            # 1.jpg ... 11.jpg
        cv2.imwrite(str(seq / "img" / ("%d.jpg" % i)), np.full((20, 30, 3), i, np.uint8))
    (seq / "img" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (seq / "img" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    rows = ["%d\t3 10,  8" % (2 + i) for i in range(11)]
    (seq / "groundtruth_rect.txt").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    other = tmp_path / "elsewhere" / "Car"
    _frames(str(other / "img"), 2)
    (other / "groundtruth_rect.txt").write_text(_gt(2))
    os.symlink(other, root / "Car", target_is_directory=True)
    ds = load_dataset(str(root))
    panda = ds["Panda"]
    assert [os.path.basename(p) for p in panda.img_paths] == ["%d.jpg" % i for i in range(1, 12)]
    assert panda.gt[10].tolist() == [12.0, 3.0, 10.0, 8.0]
    assert len(ds["Car"]) == 2 and ds["Car"].img_paths[0].startswith(str(root / "Car"))
    rows[4] = "6\t3\tx\t8"
    (seq / "groundtruth_rect.txt").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    with pytest.raises(DatasetError, match=r"groundtruth_rect\.txt, line 5: non-numeric"):
        load_dataset(str(root))
