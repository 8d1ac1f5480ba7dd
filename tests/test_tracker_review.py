"""RASNetTracker edge cases found in review: the scale penalty on negative scores,
non-finite pixels in the init frame, frame dtypes and inputs that must be refused by name."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from rasnet_plugin.config import get_default_config
from rasnet_plugin.tracker import RASNetTracker, as_bgr3, channel_mean

from test_tracker import ideal_tracker, moving_sequence


class LevelScores(nn.Module):
    """A smooth bump at the centre of every pyramid level, shifted by `offsets[level]`
    (raw scores, e.g. logits: negative offsets model a weak match)."""

    def __init__(self, offsets, size=17):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        g = torch.arange(size, dtype=torch.float32) - size // 2
        self.bump = torch.exp(-(g[None, :] ** 2 + g[:, None] ** 2) / 2.0)
        self.offsets = torch.tensor(offsets, dtype=torch.float32)

    def template(self, z):
        pass

    def track(self, x):
        return (self.bump + self.offsets[:, None, None])[:, None]


def _size_after(offsets, frames=5):
    tracker = RASNetTracker(LevelScores(offsets), get_default_config(), device="cpu")
    img = np.full((300, 320, 3), 90, np.uint8)
    tracker.init(img, [100.0, 80.0, 40.0, 30.0])
    for _ in range(frames):
        out = tracker.track(img)
    return out["bbox"][2:]


@pytest.mark.parametrize("offset", [5.0, -5.0, -1.5])
def test_equal_scores_on_every_scale_keep_the_size(offset):
    # the same map on all three scales: nothing speaks for a change of scale, whatever
    # the sign of the raw scores (negative ones: weak matches, occlusion)
    np.testing.assert_allclose(_size_after([offset] * 3), [40.0, 30.0], rtol=1e-12)


def test_a_clearly_better_side_scale_still_wins_with_negative_scores():
    t = get_default_config().TRACK
    grow = (1 - t.LR) + t.LR * t.SCALE_STEP
    # side scale 10% better than the centre: more than the 2.55% penalty
    w, h = _size_after([-5.0, -5.0, -4.5], frames=1)
    np.testing.assert_allclose([w, h], [40.0 * grow, 30.0 * grow], rtol=1e-12)
    # 1% better: the penalty keeps the size
    np.testing.assert_allclose(_size_after([-5.0, -5.0, -4.95], frames=1), [40.0, 30.0])


# ---------------------------------------------------------------- non-finite init frames

def _track_all(frames, box):
    tracker, _ = ideal_tracker()
    tracker.init(frames[0], box)
    return [tracker.track(f) for f in frames[1:]]


@pytest.mark.parametrize("where", ["far from the target", "on the target"])
def test_nan_pixels_in_the_init_frame_do_not_poison_the_sequence(where):
    # a target at the left edge: its search crops are padded with the init frame's mean
    frames, boxes = moving_sequence(n=6, velocity=(2.0, 1.0), start=(30.0, 100.0))
    first = frames[0].astype(np.float32)
    if where == "on the target":
        first[98:102, 20:40] = np.nan
    else:
        first[190:, 230:] = np.nan
        first[0, 239] = np.inf
    clean = _track_all(frames, boxes[0])
    got = _track_all([first] + frames[1:], boxes[0])
    assert not any(o["failed"] for o in got)
    for g, c in zip(got, clean):
        np.testing.assert_allclose(g["bbox"], c["bbox"], atol=1.0)


def test_init_frame_without_finite_pixels_is_refused():
    frames, boxes = moving_sequence(n=2)
    tracker, _ = ideal_tracker()
    bad = frames[0].astype(np.float32)
    bad[:, :, 1] = np.nan
    with pytest.raises(ValueError, match=r"init image has no finite pixel in channel\(s\) \[1\]"):
        tracker.init(bad, boxes[0])


def test_channel_mean_skips_nonfinite_pixels():
    img = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    ref = channel_mean(img)
    img[0, 0] = [np.nan, np.inf, -np.inf]
    np.testing.assert_allclose(channel_mean(img), img.reshape(-1, 3)[1:].mean(0))
    assert channel_mean(np.arange(24, dtype=np.uint8).reshape(2, 4, 3)).dtype == np.float64
    assert not np.allclose(ref, channel_mean(img))  # the bad pixel was left out, not zeroed


# ---------------------------------------------------------------- inputs, refused by name

def test_big_endian_16_bit_frames_are_scaled_like_native_ones():
    frame = (np.arange(12, dtype=np.uint16).reshape(2, 2, 3) * 5000)
    np.testing.assert_array_equal(as_bgr3(frame.astype(">u2")), as_bgr3(frame))
    assert as_bgr3(frame.astype(">u2")).max() <= 255.0


@pytest.mark.parametrize("img,match", [
    (None, r"got None \(cv2.imread returns None"),
    (np.zeros((8, 8, 3), np.complex64), "real numbers .* got dtype complex64"),
    (np.full((8, 8, 3), "7"), "real numbers .* got dtype <U1"),
    (np.empty((8, 8, 3), object), "real numbers .* got dtype object"),
])
def test_frames_that_hold_no_pixel_values_are_refused(img, match):
    tracker, _ = ideal_tracker()
    with pytest.raises(ValueError, match=match):
        tracker.init(img, [1, 1, 4, 4])
    frames, boxes = moving_sequence(n=1)
    tracker.init(frames[0], boxes[0])
    with pytest.raises(ValueError, match=match):
        tracker.track(img)


@pytest.mark.parametrize("box", ["1234", b"1234"])
def test_a_string_is_not_a_box(box):
    tracker, _ = ideal_tracker()
    with pytest.raises(ValueError, match="init box must be 4 numbers"):
        tracker.init(np.zeros((20, 20, 3), np.uint8), box)


# ---------------------------------------------------------------- core sharing

def test_the_input_copy_runs_on_the_shared_cores_too(monkeypatch):
    """With another process busy, each frame's torch work runs on the cores left free
    (TRACK.SHARE_CORES): the uint8 -> float32 pyramid copy included. It is a parallel
    torch op: left on 2 threads beside a busy process it took 10-15 ms (0.15 ms on 1)."""
    from rasnet_plugin.tracker.cores import CoreShare, _cores

    if _cores() < 2:
        pytest.skip("needs 2 cores to share")
    tracker, model = ideal_tracker()
    tracker.cores = CoreShare(probe=lambda: _cores() - 1)    # all but one core busy
    seen = {}
    to_input, track = tracker._to_input, model.track

    def record(name, fn):
        def wrapped(*args, **kwargs):
            seen.setdefault(name, []).append(torch.get_num_threads())
            return fn(*args, **kwargs)
        return wrapped
    frames, boxes = moving_sequence(n=3)
    tracker.init(frames[0], boxes[0])
    monkeypatch.setattr(tracker, "_to_input", record("copy", to_input))
    monkeypatch.setattr(model, "track", record("network", track))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for f in frames[1:]:
            tracker.track(f)
        assert torch.get_num_threads() == 2             # the caller's setting, restored
    finally:
        torch.set_num_threads(threads)
    assert seen == {"copy": [1, 1], "network": [1, 1]}
