"""VOT TraX server and workspace tools: behaviour checked without running the toolkit."""
import json
import os
import sys

import pytest

pytest.importorskip("trax", reason="vot-trax is not installed; install the vot extra")
pytest.importorskip("vot", reason="vot-toolkit is not installed; install the vot extra")

import trax  # noqa: E402

from rasnet_plugin.vot import server  # noqa: E402


class _Tracker:
    def __init__(self, events, fail=False):
        self.events, self.fail = events, fail

    def init(self, img, box):
        self.events.append(("init", img.shape, list(box)))
        if self.fail:
            raise RuntimeError("no kernel for this device")

    def track(self, img):
        self.events.append(("track", img.shape))
        return {"bbox": [1.0, 2.0, 3.0, 4.0], "best_score": 0.5}


def _fake_server(events):
    class _Request:
        type = trax.TraxStatus.QUIT

    class _Server:
        def __init__(self, *args, **kwargs):
            events.append(("handshake",))

        def wait(self):
            return _Request()

    return _Server


def test_tracker_is_warmed_up_before_the_handshake(monkeypatch):
    """The first init's one-off work happens at start-up (untimed), not in the first request."""
    events = []
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # main() redirects it; restored after
    monkeypatch.setattr(server, "build_from_env", lambda: _Tracker(events))
    monkeypatch.setattr(trax, "Server", _fake_server(events))
    assert server.main() == 0
    assert [e[0] for e in events] == ["init", "track", "handshake"]
    assert events[0][1] == events[1][1] and len(events[0][1]) == 3  # an HxWx3 image


def test_failed_warm_up_is_left_for_the_first_request(monkeypatch, capsys):
    """A warm-up error does not stop start-up: the first request reports it to the toolkit
    (as a TraX quit with the reason), which a start-up failure could not."""
    events = []
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(server, "build_from_env", lambda: _Tracker(events, fail=True))
    monkeypatch.setattr(trax, "Server", _fake_server(events))
    assert server.main() == 0
    assert [e[0] for e in events] == ["init", "handshake"]
    assert "warm-up failed (the first request will report it): RuntimeError: no kernel " \
           "for this device" in capsys.readouterr().err


def test_workspace_refuses_a_missing_snapshot(tmp_path, capsys):
    """A snapshot that is not there is named when the workspace is written, not left to the
    toolkit's "Unable to connect to tracker" at `vot evaluate`."""
    from rasnet_plugin.cli import vot_workspace as cli

    seqs = tmp_path / "seqs"
    seqs.mkdir()
    (seqs / "list.txt").write_text("a\n")
    (seqs / "a").mkdir()
    (seqs / "a" / "groundtruth.txt").write_text("1,1,5,5\n1,1,5,5\n1,1,5,5\n")
    missing = tmp_path / "missing.pth"
    assert cli.main([str(tmp_path / "w"), "--sequences", str(seqs),
                     "--snapshot", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "vot_workspace: error: snapshot %s: no such file" % missing in err
    assert "Traceback" not in err and not os.path.exists(tmp_path / "w")
    # an existing file is written into trackers.ini as an absolute path
    missing.write_bytes(b"x")
    assert cli.main([str(tmp_path / "w"), "--sequences", str(seqs),
                     "--snapshot", str(missing)]) == 0
    ini = (tmp_path / "w" / "trackers.ini").read_text()
    assert ini.count("env_RASNET_SNAPSHOT = %s\n" % missing) == 2


@pytest.mark.parametrize("text, expected", [
    ("{bad", "bad.json: not valid JSON (Expecting property name"),
    ("[1, 2]", "bad.json: not the output of `vot analysis --format json`"),
    ('{"trackers": {}}', "bad.json: not the output of `vot analysis --format json`"),
])
def test_vot_compare_names_a_bad_analysis_file(tmp_path, capsys, monkeypatch, text, expected):
    from rasnet_plugin.cli import vot_compare as cli
    from rasnet_plugin.vot import compare

    monkeypatch.setattr(compare, "load_dataset", lambda path: [])
    monkeypatch.setattr(compare, "convert_results", lambda *a: {})
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "config.yaml").write_text(json.dumps({"sequences": str(tmp_path)}))
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert cli.main([str(ws), "--analysis", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vot_compare: error: %s" % tmp_path) and expected in err
    assert "Traceback" not in err


def test_summary_does_not_take_multistart_measures_for_supervised_ones():
    """VOT2020+ stacks' `baseline` is a multistart experiment whose analyses have the same
    class names (AverageAccuracyRobustness, EAOScore) but other measures: its robustness
    is not a failure count. The table's columns are the supervised ones: left unset."""
    from rasnet_plugin.vot import workspace

    ms = "vot.analysis.multistart."
    report = {"trackers": {"A": {}}, "results": {
        "baseline": {"parameters": {"analyses": [
            {"type": ms + "EAOScore", "low": 115, "high": 755},
            {"type": ms + "AverageAccuracyRobustness"}]},
            "results": [[[0.3]], [[0.5, 0.8, 0.6]]]},
        "unsupervised": {"parameters": {"analyses": [
            {"type": "vot.analysis.accuracy.AverageAccuracy"}]}, "results": [[[0.55]]]}}}
    assert workspace.summarize(report) == {"A": {"unsupervised_accuracy": 0.55}}
    row = workspace.format_summary(workspace.summarize(report)).splitlines()[1].split()
    assert row == ["A", "nan", "nan", "nan", "nan", "0.550"]
