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
            assert api.bundled_weights(build_model(cfg_of(name)), cfg_of(name)) == path
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


# settings without tensors of their own: the shipped file's tensors would load, but it was
# trained for another function (finding: SPATIAL_SQUASH sigmoid got rasnet.pth)
OTHER_FUNCTION = [
    ("rasnet.yaml", "RASNET.SPATIAL_SQUASH", "sigmoid",
     "RASNET.SPATIAL_SQUASH ('none' there, 'sigmoid' here)"),
    ("rasnet_mobilenetv2.yaml", "ADJUST.ZERO_MEAN", False,
     "ADJUST.ZERO_MEAN (True there, False here)"),
    ("siamfc_mobilenetv2.yaml", "ADJUST.TEMPLATE_CROP", 12,
     "ADJUST.TEMPLATE_CROP (8 there, 12 here)"),
]


@pytest.mark.parametrize("name, key, value, differs", OTHER_FUNCTION + [
    ("siamfc.yaml", "TRACK.EXEMPLAR_SIZE", 135,
     "template features (TRACK.EXEMPLAR_SIZE) (6 there, 7 here)"),
])
def test_weights_trained_for_another_function_are_not_picked(name, key, value, differs):
    cfg = cfg_of(name)
    node, leaf = key.split(".")
    cfg[node][leaf] = value
    model = build_model(cfg)
    assert api.state_signature(model.state_dict()) == api.state_signature(
        api.extract_state_dict(torch.load(SHIPPED[name], weights_only=True)))  # tensors fit
    assert api.bundled_weights(model, cfg) is None
    if key != "TRACK.EXEMPLAR_SIZE":          # what the model itself records
        assert api.bundled_weights(model) is None
    cfg.BACKBONE.PRETRAINED = ""             # the UNTRAINED path without the ImageNet trunk
    with pytest.warns(UserWarning, match="UNTRAINED") as seen:
        rasnet_plugin.build_tracker(cfg, device="cpu")
    message = str(seen[0].message)
    assert "nearest shipped file, %s, differs in %s" % (os.path.basename(SHIPPED[name]),
                                                        differs) in message, message


@pytest.mark.parametrize("name, key, value", [
    ("siamfc.yaml", "RASNET.SPATIAL_SQUASH", "sigmoid"),        # no spatial attention to squash
    ("siamfc.yaml", "RASNET.SE_REDUCTION", 4),                  # no channel attention
    ("rasnet.yaml", "RASNET.ADJUST_GAIN_INIT", 0.01),           # only the init of a learned weight
    ("rasnet.yaml", "TRACK.EXEMPLAR_SIZE", 133),                # still 6x6 template features
    ("rasnet_mobilenetv2.yaml", "TRACK.WINDOW_INFLUENCE", 0.3), # tracking, not the network
    ("rasnet_mobilenetv2.yaml", "BACKBONE.PRETRAINED", ""),     # training only
])
def test_settings_that_do_not_change_the_network_keep_the_weights(name, key, value):
    cfg = cfg_of(name)
    node, leaf = key.split(".")
    cfg[node][leaf] = value
    model = build_model(cfg)
    assert api.bundled_weights(model, cfg) == SHIPPED[name]
    assert api.bundled_weights(model) == SHIPPED[name]


@pytest.mark.parametrize("name", ["rasnet.yaml", "siamfc.yaml", "rasnet_mobilenetv2.yaml",
                                  "siamfc_mobilenetv2.yaml", "siamfc_mobilenetv2_imagenet.yaml"])
def test_model_and_config_describe_the_network_alike(name):
    cfg = cfg_of(name)
    from_cfg = api.network_settings(cfg)
    from_model = api._model_settings(build_model(cfg))
    assert from_model == {k: from_cfg[k] for k in from_model}
    assert api.bundled_weights(build_model(cfg), cfg) == SHIPPED.get(name)


def test_shipped_files_are_read_once(monkeypatch, tmp_path):
    import shutil
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(SHIPPED["siamfc.yaml"], folder / "siamfc.pth")
    shutil.copy(SHIPPED["rasnet.yaml"], folder / "rasnet.pth")
    monkeypatch.setattr(api, "BUNDLED_DIR", str(folder))
    reads = []
    real = api.safe_load
    monkeypatch.setattr(api, "safe_load", lambda p: reads.append(p) or real(p))
    model = build_model(cfg_of("siamfc.yaml"))
    for _ in range(3):
        assert api.bundled_weights(model) == str(folder / "siamfc.pth")
    assert sorted(reads) == [str(folder / "rasnet.pth"), str(folder / "siamfc.pth")]
    # a file that changes is read again
    st = os.stat(folder / "siamfc.pth")
    os.utime(folder / "siamfc.pth", ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    assert api.bundled_weights(model) == str(folder / "siamfc.pth")
    assert reads[-1] == str(folder / "siamfc.pth") and len(reads) == 3


def test_a_weights_file_without_a_saved_cfg_is_matched_by_its_tensors(monkeypatch, tmp_path):
    cfg = cfg_of("rasnet.yaml")
    cfg.RASNET.SPATIAL_SQUASH = "sigmoid"
    model = build_model(cfg)
    torch.save({"state_dict": model.state_dict()}, tmp_path / "mine.pth")   # no cfg in it
    monkeypatch.setattr(api, "BUNDLED_DIR", str(tmp_path))
    assert api.bundled_weights(model, cfg) == str(tmp_path / "mine.pth")


# a snapshot given explicitly gets the check the choice of shipped weights makes: the same
# settings, the same comparison (finding: SPATIAL_SQUASH sigmoid with rasnet.pth given as
# --snapshot tracked silently with weights trained for the unsquashed function)
@pytest.mark.parametrize("name, key, value, differs", OTHER_FUNCTION)
def test_an_explicit_snapshot_trained_for_another_function_warns_once(tmp_path, name, key,
                                                                      value, differs):
    import shutil
    snap = str(tmp_path / "mine.pth")                        # not a shipped file's path
    shutil.copy(SHIPPED[name], snap)
    cfg = cfg_of(name)
    node, leaf = key.split(".")
    cfg[node][leaf] = value
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        tracker = rasnet_plugin.build_tracker(cfg, snapshot=snap, device="cpu")
    mine = [w for w in seen if issubclass(w.category, UserWarning) and snap in str(w.message)]
    assert len(mine) == 1, [str(w.message) for w in seen]
    assert differs in str(mine[0].message) and mine[0].filename == __file__
    # it still loads what it was asked to
    shipped = api.extract_state_dict(torch.load(snap, weights_only=True))
    assert torch.equal(tracker.model.adjust.weight, shipped["adjust.weight"])


def test_an_explicit_snapshot_that_agrees_or_has_no_cfg_loads_without_a_word(tmp_path):
    snap = str(tmp_path / "plain.pth")
    cfg = cfg_of("rasnet.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rasnet_plugin.build_tracker(cfg, snapshot=SHIPPED["rasnet.yaml"], device="cpu")
        cfg.TRACK.WINDOW_INFLUENCE = 0.3                      # tracking, not the network
        rasnet_plugin.build_tracker(cfg, snapshot=SHIPPED["rasnet.yaml"], device="cpu")
        # a converted checkpoint (no saved cfg) is taken at its word, as before
        cfg.RASNET.SPATIAL_SQUASH = "sigmoid"
        torch.save(api.extract_state_dict(torch.load(SHIPPED["rasnet.yaml"], weights_only=True)),
                   snap)
        rasnet_plugin.build_tracker(cfg, snapshot=snap, device="cpu")


def test_rasnet_test_names_the_snapshot_trained_for_another_function(tmp_path, capsys):
    import shutil
    import cv2
    import numpy as np
    from rasnet_plugin.cli import test as test_cli
    seq = tmp_path / "tiny" / "Seq"
    os.makedirs(seq / "img")
    for i in range(1, 3):
        cv2.imwrite(str(seq / "img" / ("%04d.jpg" % i)), np.full((48, 64, 3), 40 * i, np.uint8))
    (seq / "groundtruth_rect.txt").write_text("10,10,20,16\n11,10,20,16\n")
    cfg_file = tmp_path / "sigmoid.yaml"
    cfg_file.write_text("_BASE_: %s\nRASNET:\n  SPATIAL_SQUASH: sigmoid\nTRACK:\n  QUANTIZE: none\n"
                        % os.path.join(REPO_ROOT, "experiments", "rasnet.yaml"))
    snap = str(tmp_path / "rasnet.pth")
    shutil.copy(SHIPPED["rasnet.yaml"], snap)
    code = test_cli.main(["--dataset", str(tmp_path / "tiny"), "--config", str(cfg_file),
                          "--snapshot", snap, "--results", str(tmp_path / "res")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if snap in ln and "SPATIAL_SQUASH" in ln]
    assert len(lines) == 1 and "('none' there, 'sigmoid' here)" in lines[0], err
