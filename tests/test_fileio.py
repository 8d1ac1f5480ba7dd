"""The one atomic writer and the one stale-temp cleaner (rasnet_plugin.fileio)."""
import os
import subprocess
import sys

import pytest
import torch

from rasnet_plugin import fileio


def test_text_round_trip_with_unix_line_ends(tmp_path):
    p = fileio.atomic_write_text(tmp_path / "sub" / "a.txt", "1,2\r\n3\n")
    assert p.read_bytes() == b"1,2\r\n3\n"
    assert sorted(os.listdir(tmp_path / "sub")) == ["a.txt"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.bin"
    fileio.atomic_write_bytes(p, b"old")

    def half(f):
        f.write(b"ne")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write(p, half)
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_torch_save_round_trip(tmp_path):
    p = fileio.atomic_save({"w": torch.arange(3)}, tmp_path / "ck.pth")
    assert torch.equal(torch.load(p, weights_only=True)["w"], torch.arange(3))


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_dead_writers_go_live_ones_stay(tmp_path):
    (tmp_path / "deep").mkdir()
    dead = ".r.txt.%d.ab_c.tmp" % _dead_pid()
    live = ".r.txt.%d.xyz.tmp" % os.getpid()
    legacy = ".video3.txt.k1ll3d.tmp"                     # no pid: nobody can own it
    keep = ["r.txt", "notes.tmp", ".hidden"]              # not temporaries
    for n in [dead, live, legacy] + keep:
        (tmp_path / n).write_text("x")
        (tmp_path / "deep" / n).write_text("x")
    removed = fileio.remove_stale_temps(tmp_path)
    assert sorted(os.path.basename(p) for p in removed) == sorted([dead, legacy])
    assert sorted(os.listdir(tmp_path)) == sorted([live, "deep"] + keep)
    assert len(os.listdir(tmp_path / "deep")) == 6           # not recursive by default
    fileio.remove_stale_temps(tmp_path, recursive=True)
    assert sorted(os.listdir(tmp_path / "deep")) == sorted([live] + keep)


def test_temp_names_of_the_writer_are_recognised(tmp_path):
    seen = []

    def spy(f):
        seen.extend(os.listdir(tmp_path))
    fileio.atomic_write(tmp_path / "ck.pth", spy)
    (name,) = seen
    assert fileio.is_temp_name(name)
    assert fileio._TEMP.match(name).group("pid") == str(os.getpid())


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_new_files_get_the_mode_open_would_give(tmp_path, umask):
    """Not mkstemp's 0600: results, checkpoints and trackers.ini are as readable as any file
    the user writes (0666 & ~umask)."""
    old = os.umask(umask)
    try:
        text = fileio.atomic_write_text(tmp_path / "a.txt", "x")
        data = fileio.atomic_write_bytes(tmp_path / "b.bin", b"x")
        ckpt = fileio.atomic_save({"w": torch.zeros(1)}, tmp_path / "c.pth")
        with open(tmp_path / "plain.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(old)
    for p in (text, data, ckpt, tmp_path / "plain.txt"):
        assert oct(os.stat(p).st_mode & 0o777) == oct(0o666 & ~umask), p


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o664])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    p = tmp_path / "results.txt"
    p.write_text("old")
    os.chmod(p, mode)
    old = os.umask(0o077)            # the umask does not decide an existing file's mode
    try:
        fileio.atomic_write_text(p, "new")
    finally:
        os.umask(old)
    assert p.read_text() == "new"
    assert oct(os.stat(p).st_mode & 0o777) == oct(mode)
    assert os.listdir(tmp_path) == ["results.txt"]
