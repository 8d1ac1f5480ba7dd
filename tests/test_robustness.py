"""Non-finite weights and frames: load_checkpoint refuses NaN/inf tensors; a frame whose
response is not finite keeps the previous box (`failed: True`) and the next good frame
tracks as if it had never been seen; tools/test.py counts such frames per video; the VOT
server answers them with confidence 0; the pytracking adapter passes the confidence on
under the key pytracking saves."""
import math
import os

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import rasnet_plugin
from rasnet_plugin import api
from rasnet_plugin.config import get_default_config
from rasnet_plugin.models import build_model
from rasnet_plugin.tracker import RASNetTracker
from rasnet_plugin.integrations.pytracking import RASNetParams, RASNetPyTracker

from _tools import load_tool

H, W = 160, 200
BOX = [70.0, 55.0, 40.0, 34.0]


def _frames(n, seed=0, step=(3, 2)):
    """A smooth random texture shifted by `step` px per frame (BGR uint8)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (H, W, 3)).astype(np.float32), (0, 0), 3)
    base = np.clip((base - base.mean()) / base.std() * 50 + 120, 0, 255).astype(np.uint8)
    return [np.roll(base, (step[1] * i, step[0] * i), axis=(0, 1)) for i in range(n)]


class Matcher(nn.Module):
    """A cheap stand-in network: 8x8-pooled pixels matched at stride 8 (17x17 response,
    positive, largest at the true shift). `poison` {call index: value} replaces the whole
    response of that track() call (NaN, inf, or 'overflow': finite values too large for the
    float32 post-processing)."""

    def __init__(self, poison=None):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.poison = dict(poison or {})
        self.n = 0

    def template(self, z):
        self.z = F.avg_pool2d(z.float(), 8)
        self.z2 = (self.z ** 2).sum()

    def track(self, x):
        xs = F.avg_pool2d(x.float(), 8)
        xz = F.conv2d(xs, self.z)
        x2 = F.conv2d(xs ** 2, torch.ones_like(self.z))
        resp = 1.0 / (1.0 + (x2 - 2 * xz + self.z2).clamp_min(0) / self.z.numel() / 100.0)
        value = self.poison.get(self.n)
        self.n += 1
        if value == "overflow":  # alternating +-3e38: bicubic upsampling overflows float32
            sign = torch.ones_like(resp)
            sign[..., ::2, :] = -1
            resp = sign * 3e38
        elif value is not None:
            resp = torch.full_like(resp, value)
        return resp


def _tracker(poison=None):
    return RASNetTracker(Matcher(poison), get_default_config(), device="cpu")


def _bad_frame(frame, kind):
    f = frame.astype(np.float32)
    if kind == "nan_frame":
        f[60:90, 80:120] = np.nan  # a NaN patch on the target
    elif kind == "inf_frame":
        f[:] = np.inf
    return f


# ---------------------------------------------------------------- non-finite frames

@pytest.mark.parametrize("kind", ["nan_frame", "inf_frame", "nan_response", "inf_response",
                                  "overflow_response"])
def test_nonfinite_response_keeps_the_box_then_tracks_on(kind):
    frames = _frames(8)
    bad = 4
    ref = _tracker()
    ref.init(frames[0], BOX)
    expected = {i: ref.track(frames[i]) for i in range(1, len(frames)) if i != bad}

    poison = {"nan_response": float("nan"), "inf_response": float("inf"),
              "overflow_response": "overflow"}.get(kind)
    tracker = _tracker({bad - 1: poison} if poison is not None else None)
    tracker.init(frames[0], BOX)
    got = {}
    for i in range(1, len(frames)):
        img = _bad_frame(frames[i], kind) if i == bad and poison is None else frames[i]
        got[i] = tracker.track(img)

    out = got[bad]
    assert out["failed"] is True
    assert out["bbox"] == got[bad - 1]["bbox"]  # centre and size unchanged
    assert math.isnan(out["best_score"]) or out["best_score"] <= 0
    assert all(got[i]["failed"] is False and math.isfinite(got[i]["best_score"])
               for i in got if i != bad)
    # every other frame exactly as if the bad one had never been seen
    assert {i: o["bbox"] for i, o in got.items() if i != bad} == \
        {i: o["bbox"] for i, o in expected.items()}
    assert {i: o["best_score"] for i, o in got.items() if i != bad} == \
        {i: o["best_score"] for i, o in expected.items()}
    # and the target moves meanwhile: keeping the box is not what tracking would give
    assert expected[bad + 1]["bbox"][:2] != got[bad - 1]["bbox"][:2]


def test_real_network_nan_frame():
    torch.manual_seed(0)
    model = build_model(get_default_config())  # the real RASNet (untrained), fused op
    frames = _frames(3)
    tracker = RASNetTracker(model, get_default_config(), device="cpu")
    tracker.init(frames[0], BOX)
    first = tracker.track(frames[1])
    out = tracker.track(_bad_frame(frames[2], "nan_frame"))
    assert first["failed"] is False and out["failed"] is True
    assert out["bbox"] == first["bbox"] and math.isnan(out["best_score"])
    again = tracker.track(frames[2])
    assert again["failed"] is False and math.isfinite(again["best_score"])


# ---------------------------------------------------------------- non-finite checkpoints

@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(get_default_config())


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("wrapped", [False, True])
def test_checkpoint_with_nonfinite_tensor_is_refused(model, tmp_path, value, wrapped):
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    names = [k for k, v in sd.items() if v.is_floating_point()]
    first, later = names[3], names[-1]
    sd[later].view(-1)[0] = float("nan")
    sd[first].view(-1)[-1] = value  # the first offending tensor in the file's order
    path = tmp_path / "diverged.pth"
    torch.save({"state_dict": sd, "epoch": 3} if wrapped else sd, path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError) as err:
        api.load_checkpoint(model, path)
    msg = str(err.value)
    assert str(path) in msg and first in msg and later not in msg
    for k, v in model.state_dict().items():  # nothing was loaded
        assert torch.equal(v, before[k]), k
    with pytest.raises(ValueError, match="NaN or inf"):
        rasnet_plugin.build_tracker(snapshot=path, device="cpu")


def test_finite_checkpoint_still_loads(model, tmp_path):
    sd = model.state_dict()  # int step counters (num_batches_tracked) included
    assert any(not v.is_floating_point() for v in sd.values())
    torch.save(sd, tmp_path / "ok.pth")
    torch.manual_seed(1)
    other = build_model(get_default_config())
    api.load_checkpoint(other, tmp_path / "ok.pth")
    for k, v in other.state_dict().items():
        assert torch.equal(v, sd[k]), k


# ---------------------------------------------------------------- tools/test.py

def _otb_folder(root, videos):
    """videos: {name: frames} -> OTB layout (img/%04d.png, groundtruth_rect.txt)."""
    for name, frames in videos.items():
        os.makedirs(os.path.join(root, name, "img"))
        for i, f in enumerate(frames, 1):
            cv2.imwrite(os.path.join(root, name, "img", "%04d.png" % i), f)
        with open(os.path.join(root, name, "groundtruth_rect.txt"), "w") as fh:
            fh.writelines("%d\t%d\t%d\t%d\n" % tuple(BOX) for _ in frames)
    return root


def test_test_tool_counts_nonfinite_frames_per_video(tmp_path, monkeypatch, capsys):
    tool = load_tool("test")
    data = _otb_folder(str(tmp_path / "Tiny"), {"a_bad": _frames(7, 1), "b_good": _frames(5, 2)})
    # a_bad's frames 3 and 4 (track calls 2 and 3) get a NaN response; b_good none
    monkeypatch.setattr(rasnet_plugin, "build_tracker", lambda cfg, snapshot, device: _tracker(
        {2: float("nan"), 3: float("nan")}))
    res = str(tmp_path / "results")
    assert tool.main(["--dataset", data, "--results", res, "--model-name", "m"]) == 0
    out = capsys.readouterr().out
    line = {v: next(ln for ln in out.splitlines() if "Video: " + v in ln)
            for v in ("a_bad", "b_good")}
    assert "Non-finite: 2" in line["a_bad"] and "Non-finite" not in line["b_good"]
    assert "m: 2 frame(s) with a non-finite response (box kept) in 1 video(s): a_bad 2" in out
    rows = np.loadtxt(os.path.join(res, "Tiny", "m", "a_bad.txt"), delimiter=",")
    assert len(rows) == 7
    np.testing.assert_array_equal(rows[3], rows[2])
    np.testing.assert_array_equal(rows[4], rows[2])
    assert np.abs(rows[5] - rows[4]).max() > 0  # tracks on afterwards


def test_test_tool_without_failures_prints_no_count(tmp_path, monkeypatch, capsys):
    tool = load_tool("test")
    data = _otb_folder(str(tmp_path / "Tiny"), {"clean": _frames(4, 3)})
    monkeypatch.setattr(rasnet_plugin, "build_tracker", lambda cfg, snapshot, device: _tracker())
    assert tool.main(["--dataset", data, "--results", str(tmp_path / "r")]) == 0
    assert "non-finite" not in capsys.readouterr().out.lower()


# ---------------------------------------------------------------- VOT server

class _FakeServer:
    """Plays the toolkit's side of serve(): a list of requests, the replies collected."""

    def __init__(self, requests):
        self.requests = list(requests)
        self.replies = []

    def wait(self):
        return self.requests.pop(0)

    def status(self, objects):
        self.replies.append(objects)

    def quit(self, reason=""):
        raise AssertionError("the server quit: %s" % reason)


class _NegativeOnFailure:
    """A tracker reporting a failed frame with a negative score (the contract allows any
    non-positive or NaN score there): the server must still send confidence 0."""

    def __init__(self, tracker):
        self.tracker = tracker

    def init(self, img, box):
        self.tracker.init(img, box)

    def track(self, img):
        out = self.tracker.track(img)
        return dict(out, best_score=-1.0) if out["failed"] else out


@pytest.mark.parametrize("score", ["nan", "negative"])
def test_vot_server_answers_failed_frames_with_zero_confidence(tmp_path, score):
    trax = pytest.importorskip("trax", reason="vot-trax is not installed (the vot extra)")
    from trax.server import Request

    from rasnet_plugin import vot

    frames = _frames(4)
    paths = []
    for i, f in enumerate(frames):
        paths.append(str(tmp_path / ("%08d.png" % (i + 1))))
        cv2.imwrite(paths[-1], f)

    def image(i):
        return {trax.ImageChannel.COLOR: trax.FileImage.create(paths[i])}
    props = trax.Properties()
    requests = [Request(trax.TraxStatus.INITIALIZE, image(0),
                        [(trax.Rectangle.create(*BOX), trax.Properties())], props)]
    requests += [Request(trax.TraxStatus.FRAME, image(i), None, props) for i in (1, 2, 3)]
    requests.append(Request(trax.TraxStatus.QUIT, None, None, props))
    server = _FakeServer(requests)
    tracker = _tracker({1: float("nan")})  # frame 2's response
    if score == "negative":
        tracker = _NegativeOnFailure(tracker)
    assert vot.serve(tracker, server) == 0

    reply = [(list(objs[0][0].bounds()), objs[0][1]["confidence"]) for objs in server.replies]
    assert len(reply) == 4
    assert reply[2][1] == "0.000000"                        # the failed frame
    np.testing.assert_allclose(reply[2][0], reply[1][0])    # its box: the previous one
    ref = _tracker({1: float("nan")})  # the same run, directly: the scores it reports
    ref.init(cv2.imread(paths[0]), BOX)
    scores = [ref.track(cv2.imread(p))["best_score"] for p in paths[1:]]
    for i in (1, 3):
        assert reply[i][1] == "%.6f" % scores[i - 1] and scores[i - 1] > 0


# ---------------------------------------------------------------- pytracking

# the keys pytracking's Tracker._track_sequence keeps of each frame's output dict
# (visionml/pytracking, pytracking/evaluation/tracker.py); the init frame defaults to 1.0
PYTRACKING_KEYS = ("target_bbox", "time", "segmentation", "object_presence_score")


def test_pytracking_adapter_passes_the_confidence_on():
    frames = _frames(4)
    rgb = [f[:, :, ::-1].copy() for f in frames]
    direct = _tracker({1: float("nan")})
    direct.init(frames[0], BOX)
    expected = [direct.track(f) for f in frames[1:]]

    pt = RASNetPyTracker(RASNetParams(tracker=_tracker({1: float("nan")})))
    saved = {k: [] for k in PYTRACKING_KEYS}
    out = pt.initialize(rgb[0], {"init_bbox": BOX}) or {}
    defaults = {"target_bbox": BOX, "time": 0.0, "object_presence_score": 1.0}
    for outputs, dflt in [(out, defaults)] + [(pt.track(f, {}), {"time": 0.0}) for f in rgb[1:]]:
        for k in PYTRACKING_KEYS:  # what pytracking's _store_outputs does
            val = outputs.get(k, dflt.get(k))
            if k in outputs or val is not None:
                saved[k].append(val)
    assert saved["object_presence_score"] == [1.0, expected[0]["best_score"], 0.0,
                                              expected[2]["best_score"]]
    assert saved["target_bbox"][1:] == [e["bbox"] for e in expected]
    assert expected[1]["failed"] and saved["target_bbox"][2] == saved["target_bbox"][1]
