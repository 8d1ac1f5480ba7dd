"""Result files: PySOT layout, atomic writes, strict readers."""
import os

import numpy as np
import pytest

from rasnet_plugin.evaluation import results as R
from rasnet_plugin.evaluation.results import ResultError


def _files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_paths_follow_pysot_layout(tmp_path):
    assert R.result_path(tmp_path, "OTB100", "m", "Basketball") == tmp_path / "OTB100/m/Basketball.txt"
    assert R.result_path(tmp_path, "VOT2018", "m", "ants1", "vot") == \
        tmp_path / "VOT2018/m/baseline/ants1/ants1_001.txt"
    assert R.result_path(tmp_path, "VOT2018", "m", "ants1", "vot", run=3).name == "ants1_003.txt"
    assert R.result_path(tmp_path, "GOT-10k", "m", "GOT-10k_Test_000001", "got10k") == \
        tmp_path / "GOT-10k/m/GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt"
    assert R.time_path(tmp_path, "GOT-10k", "m", "v") == tmp_path / "GOT-10k/m/v/v_time.txt"
    with pytest.raises(ValueError, match="unknown protocol"):
        R.result_path(tmp_path, "D", "m", "v", "mot")


def test_ope_round_trip_is_exact(tmp_path):
    boxes = np.array([[1.0, 2.5, 30.25, 40.125], [0.1 + 0.2, 1e-7, 123456.789, np.nan],
                      [-3.0, 7.0, 1 / 3, 2 / 3]])
    path = R.save_result(tmp_path, "OTB100", "m", "v", boxes)
    assert path == tmp_path / "OTB100/m/v.txt"
    assert path.read_text().splitlines()[0] == "1.0,2.5,30.25,40.125"
    np.testing.assert_array_equal(R.read_boxes(path, num_frames=3), boxes)
    assert _files(tmp_path) == ["v.txt"]  # no temp file left behind


def test_reader_accepts_tabs_and_spaces(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("1\t2\t3\t4\n5 6 7 8\n9, 10, 11, 12\n\n")
    np.testing.assert_array_equal(R.read_boxes(p), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])


def test_vot_round_trip(tmp_path):
    record = [1, [10.5, 20.25, 30.0, 40.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 2,
              0, 0, 0, 0, [1], [0.1235, 0.5, 1.0, 2.0]]
    path = R.save_result(tmp_path, "VOT2018", "m", "ants1", record, "vot")
    lines = path.read_text().splitlines()
    assert lines[:4] == ["1", "10.5000,20.2500,30.0000,40.0000",
                         "1.0000,2.0000,3.0000,4.0000,5.0000,6.0000,7.0000,8.0000", "2"]
    back = R.read_vot_record(path, num_frames=10)
    assert back == [[1], [10.5, 20.25, 30.0, 40.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                    [2], [0], [0], [0], [0], [1], [0.1235, 0.5, 1.0, 2.0]]
    assert R.vot_run_paths(tmp_path, "VOT2018", "m", "ants1") == [path]
    assert R.has_result(tmp_path, "VOT2018", "m", "ants1", "vot")


def test_vot_writer_rejects_bad_codes(tmp_path):
    with pytest.raises(ValueError, match="frame 1"):
        R.write_vot_record(tmp_path / "x.txt", [1, 3])
    with pytest.raises(ValueError, match="frame 1"):
        R.write_vot_record(tmp_path / "x.txt", [1, [1, 2, 3]])
    assert not (tmp_path / "x.txt").exists()


def test_got10k_writes_boxes_and_times(tmp_path):
    boxes = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    assert not R.has_result(tmp_path, "GOT-10k", "m", "v", "got10k")
    with pytest.raises(ValueError, match="times"):
        R.save_result(tmp_path, "GOT-10k", "m", "v", boxes, "got10k")
    path = R.save_result(tmp_path, "GOT-10k", "m", "v", boxes, "got10k", times=[0.01, 0.0234567])
    assert path == tmp_path / "GOT-10k/m/v/v_001.txt"
    np.testing.assert_array_equal(R.read_boxes(path), boxes)
    tpath = R.time_path(tmp_path, "GOT-10k", "m", "v")
    assert tpath.read_text() == "0.010000\n0.023457\n"
    np.testing.assert_allclose(R.read_times(tpath), [0.01, 0.023457])
    assert R.has_result(tmp_path, "GOT-10k", "m", "v", "got10k")
    os.remove(tpath)
    assert not R.has_result(tmp_path, "GOT-10k", "m", "v", "got10k")


def test_has_result(tmp_path):
    assert not R.has_result(tmp_path, "OTB100", "m", "v")
    R.save_result(tmp_path, "OTB100", "m", "v", np.zeros((2, 4)))
    assert R.has_result(tmp_path, "OTB100", "m", "v")


def test_check_result_reads_back_every_protocol(tmp_path):
    R.save_result(tmp_path, "D", "m", "o", np.zeros((3, 4)))
    R.save_result(tmp_path, "D", "m", "v", [[1], [0.0, 0, 2, 2], [2]], "vot")
    R.save_result(tmp_path, "D", "m", "g", np.zeros((3, 4)), "got10k", times=[0.1, 0.1, 0.1])
    for video, protocol in (("o", "ope"), ("v", "vot"), ("g", "got10k")):
        R.check_result(tmp_path, "D", "m", video, 3, protocol)         # whole: no error
        with pytest.raises(ResultError, match="3 result lines but the ground truth has 4"):
            R.check_result(tmp_path, "D", "m", video, 4, protocol)
    tpath = R.time_path(tmp_path, "D", "m", "g")
    tpath.write_text("0.1\n0.1\n")
    with pytest.raises(ResultError, match="g_time.txt: 2 time lines but the ground truth has 3"):
        R.check_result(tmp_path, "D", "m", "g", 3, "got10k")
    (tmp_path / "D/m/o.txt").write_text("0,0,1,1\n0,0,x,1\n0,0,1,1\n")
    with pytest.raises(ResultError, match="o.txt:2"):
        R.check_result(tmp_path, "D", "m", "o", 3)


def test_existing_file_is_replaced(tmp_path):
    p = tmp_path / "OTB100/m/v.txt"
    R.write_boxes(p, np.ones((3, 4)))
    R.write_boxes(p, np.full((2, 4), 7.0))
    np.testing.assert_array_equal(R.read_boxes(p), np.full((2, 4), 7.0))
    assert _files(tmp_path) == ["v.txt"]


def test_interrupted_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "v.txt"
    R.write_boxes(p, np.ones((3, 4)))

    def crash(fd):
        raise OSError("disk unplugged")

    monkeypatch.setattr(R.os, "fsync", crash)
    with pytest.raises(OSError, match="disk unplugged"):
        R.write_boxes(p, np.zeros((5, 4)))
    monkeypatch.undo()
    np.testing.assert_array_equal(R.read_boxes(p), np.ones((3, 4)))  # old content, complete
    assert _files(tmp_path) == ["v.txt"]
    # an interrupted first write leaves no result at all
    monkeypatch.setattr(R.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        R.save_result(tmp_path, "OTB100", "m", "w", np.ones((2, 4)))
    monkeypatch.undo()
    assert not R.has_result(tmp_path, "OTB100", "m", "w")
    assert _files(tmp_path) == ["v.txt"]


def test_malformed_line_names_file_and_line(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("1,2,3,4\n5,6,7,8\n1,2,abc,4\n")
    with pytest.raises(ResultError) as e:
        R.read_boxes(p)
    assert str(p) in str(e.value) and ":3:" in str(e.value) and "abc" in str(e.value)
    assert e.value.line == 3 and e.value.path == str(p)


def test_wrong_value_count_and_blank_line(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ResultError, match=r"v\.txt:2: expected 4 values"):
        R.read_boxes(p)
    p.write_text("1,2,3,4\n\n1,2,3,4\n")
    with pytest.raises(ResultError, match=r"v\.txt:2: empty line"):
        R.read_boxes(p)


def test_line_count_mismatch_names_both_counts(tmp_path):
    p = tmp_path / "v.txt"
    R.write_boxes(p, np.ones((3, 4)))
    with pytest.raises(ResultError, match="3 result lines but the ground truth has 5 frames"):
        R.read_boxes(p, num_frames=5)


def test_malformed_vot_records(tmp_path):
    p = tmp_path / "v_001.txt"
    p.write_text("1\n3\n")
    with pytest.raises(ResultError, match=r"v_001\.txt:2: a one-value line must be 0, 1 or 2"):
        R.read_vot_record(p)
    p.write_text("1\n1,2,3,4,5\n")
    with pytest.raises(ResultError, match=r":2: expected 1, 4 or an even number"):
        R.read_vot_record(p)
    p.write_text("5,5,5,5\n")
    with pytest.raises(ResultError, match=r":1: a VOT record must start with 1"):
        R.read_vot_record(p)


def test_missing_file(tmp_path):
    with pytest.raises(ResultError, match="not found"):
        R.read_boxes(tmp_path / "nope.txt")


def test_list_trackers_skips_folders_without_results(tmp_path):
    R.save_result(tmp_path, "OTB100", "siamfc", "v", np.ones((1, 4)))
    R.save_result(tmp_path, "OTB100", "rasnet_e50", "v", np.ones((1, 4)))
    R.save_result(tmp_path, "OTB100", "rasnet_e10", "v", [1], "vot")
    (tmp_path / "OTB100/plots").mkdir()
    (tmp_path / "OTB100/plots/success.png").write_bytes(b"png")
    assert R.list_trackers(tmp_path, "OTB100") == ["rasnet_e10", "rasnet_e50", "siamfc"]
    assert R.list_trackers(tmp_path, "OTB100", prefix="rasnet") == ["rasnet_e10", "rasnet_e50"]
    assert R.list_trackers(tmp_path, "OTB100", exclude=[tmp_path / "OTB100/siamfc"]) == \
        ["rasnet_e10", "rasnet_e50"]
    assert R.list_trackers(tmp_path, "NOPE") == []
