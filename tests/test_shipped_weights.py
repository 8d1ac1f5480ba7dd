"""The shipped weights: small, tensor-only, the defaults of build_tracker, and they track
real video (Crossing from RASNET_TEST_DATA when set, else a bundled video) far better than
the untrained network."""
import os
import warnings

import pytest
import torch

import rasnet_plugin
from rasnet_plugin import api
from rasnet_plugin.config import REPO_ROOT, TRACKER_CONFIG, load_config
from rasnet_plugin.models import build_model

from _data import check_video


SHIPPED = api.SHIPPED_WEIGHTS
# measured with tools/compare.py's protocol (AUC / precision@20, trained and untrained):
# Crossing: AlexNet RASNet 0.757 / 1.000, MobileNetV2 RASNet 0.743 / 1.000 (README);
# the bundled stand-in cameraman_dusk: AlexNet 0.807 / 1.000 (untrained 0.101),
# MobileNetV2 0.822 / 1.000 (untrained 0.125)
AUC_FLOOR, PREC_FLOOR = 0.65, 0.9
AUC_FLOOR_MOBILENET = 0.65


def cfg_of(name):
    return load_config(os.path.join(REPO_ROOT, "experiments", name))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_file_is_small_tensor_only_and_finite(name):
    path = SHIPPED[name]
    assert os.path.getsize(path) < 20 * 2 ** 20
    ckpt = torch.load(path, map_location="cpu", weights_only=True)   # no code in it
    state = api.extract_state_dict(ckpt, path)
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert "TRAIN" in ckpt["cfg"]                                    # the recipe travels along
    # provenance: what it learned from (the contamination guard reads it) and how
    assert ckpt["videos"] and all(set(v) == {"source", "name", "split"} for v in ckpt["videos"])
    assert ckpt["recipe"]["pairs"] > 0 and ckpt["recipe"]["data"]
    # every shipped network learned from the real labeled videos, and knows which
    trained = {v["name"] for v in ckpt["videos"] if v["split"] == "train"}
    assert {"Car1", "uav_bike1"} <= trained, name
    assert "Dog1" not in trained                                     # held out for validation
    model = api.load_checkpoint(build_model(cfg_of(name)), path)
    # trained, not the seeded initialisation: the adjust gain moved away from its init
    assert model.adjust.weight.item() != pytest.approx(cfg_of(name).RASNET.ADJUST_GAIN_INIT)


def test_defaults_pick_the_weights_that_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)          # no "UNTRAINED" warning
        for name, path in SHIPPED.items():
            assert api.bundled_weights(build_model(cfg_of(name))) == path
            tracker = rasnet_plugin.build_tracker(os.path.join(REPO_ROOT, "experiments", name),
                                                  device="cpu")
            shipped = api.extract_state_dict(torch.load(path, weights_only=True))
            assert torch.equal(tracker.model.adjust.weight, shipped["adjust.weight"])
    # the default is the most accurate shipped RASNet: the MobileNetV2 one
    assert os.path.basename(TRACKER_CONFIG) == "rasnet_mobilenetv2.yaml"
    assert api.bundled_weights(rasnet_plugin.build_tracker(device="cpu").model) == \
        SHIPPED["rasnet_mobilenetv2.yaml"]
    cfg = cfg_of("rasnet.yaml")
    cfg.RASNET.RESIDUAL_ATTENTION = False                      # a network none fits
    assert api.bundled_weights(build_model(cfg)) is None
    with pytest.warns(UserWarning, match="UNTRAINED"):
        rasnet_plugin.build_tracker(cfg, device="cpu")


@pytest.mark.parametrize("name, auc_floor", [("rasnet.yaml", AUC_FLOOR),
                                             ("rasnet_mobilenetv2.yaml", AUC_FLOOR_MOBILENET)])
def test_shipped_rasnet_tracks_real_video(monkeypatch, tmp_path, name, auc_floor):
    """Shipped vs untrained RASNet (trunk too), one pass over a real sequence (tools/compare.py's
    protocol); floors set well under the measured figures (README, "Accuracy")."""
    from rasnet_plugin.evaluation import compare
    video = check_video(tmp_path / "data")
    config = os.path.join(REPO_ROOT, "experiments", name)
    trained = rasnet_plugin.build_tracker(config, device="cpu")
    monkeypatch.setattr(api, "BUNDLED_DIR", str(tmp_path))                # no weights
    cfg = cfg_of(name)
    cfg.BACKBONE.PRETRAINED = ""                                          # nothing trained
    with pytest.warns(UserWarning, match="UNTRAINED"):
        untrained = rasnet_plugin.build_tracker(cfg, device="cpu")
    auc_t, prec_t = compare.score(video.gt_xywh(), compare.run_video(trained, video)[0])
    auc_u, _ = compare.score(video.gt_xywh(), compare.run_video(untrained, video)[0])
    assert auc_t > auc_floor and prec_t > PREC_FLOOR, (auc_t, prec_t)
    assert auc_t > auc_u + 0.1, (auc_t, auc_u)
