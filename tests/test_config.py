"""The yacs config: shipped files load, bad files fail naming the key and the file."""
import os

import pytest

from rasnet_plugin.config import REPO_ROOT, ConfigError, get_default_config, load_config

EXPERIMENTS = os.path.join(REPO_ROOT, "experiments")


def write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


def test_shipped_configs_load_and_differ_only_in_attentions():
    rasnet = load_config(os.path.join(EXPERIMENTS, "rasnet.yaml"))
    siamfc = load_config(os.path.join(EXPERIMENTS, "siamfc.yaml"))
    assert rasnet.RASNET.GENERAL_ATTENTION and rasnet.RASNET.RESIDUAL_ATTENTION and rasnet.RASNET.CHANNEL_ATTENTION
    assert not (siamfc.RASNET.GENERAL_ATTENTION or siamfc.RASNET.RESIDUAL_ATTENTION
                or siamfc.RASNET.CHANNEL_ATTENTION)
    assert rasnet.TRACK == siamfc.TRACK
    assert (rasnet.TRACK.SCALE_NUM, rasnet.TRACK.SCALE_STEP, rasnet.TRACK.SCALE_PENALTY) == (3, 1.0375, 0.9745)
    assert (rasnet.TRACK.LR, rasnet.TRACK.WINDOW_INFLUENCE, rasnet.TRACK.RESPONSE_UP) == (0.59, 0.176, 16)


@pytest.mark.parametrize("text,key", [
    ("TRACK:\n  SCALE_NUMM: 3\n", "TRACK.SCALE_NUMM"),          # misspelt key
    ("RASNETT:\n  SE_REDUCTION: 4\n", "RASNETT"),               # unknown node
    ("TRACK:\n  SCALE_STEP: fast\n", "TRACK.SCALE_STEP"),       # wrong type
    ("TRACK:\n  SCALE_NUM: null\n", "TRACK.SCALE_NUM"),         # null for a typed key
])
def test_bad_key_names_key_and_file(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value) and path in str(info.value)


def test_malformed_yaml_and_missing_file_name_the_file(tmp_path):
    path = write(tmp_path, "TRACK: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.yaml"))


def test_load_never_touches_the_defaults(tmp_path):
    before = get_default_config().dump()
    load_config(write(tmp_path, "TRACK:\n  SCALE_NUM: 5\n"))
    assert get_default_config().dump() == before


def test_base_chain_merges_parent_first_and_resolves_relative(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "parent.yaml").write_text("TRACK:\n  SCALE_NUM: 5\n  LR: 0.3\n")
    child = tmp_path / "sub" / "child.yaml"
    child.write_text("_BASE_: ../parent.yaml\nTRACK:\n  LR: 0.4\n")
    cfg = load_config(str(child))
    assert (cfg.TRACK.SCALE_NUM, cfg.TRACK.LR) == (5, 0.4)          # the child wins
    assert cfg.TRACK.SCALE_STEP == get_default_config().TRACK.SCALE_STEP


@pytest.mark.parametrize("text,match", [
    ("_BASE_: missing.yaml\n", "not found"),
    ("_BASE_: self.yaml\n", "loops back"),
    ("_BASE_: 3\n", "_BASE_ must be a file name"),
])
def test_base_errors_name_the_problem(tmp_path, text, match):
    path = tmp_path / "self.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(str(path))


def test_base_child_errors_name_the_child(tmp_path):
    (tmp_path / "parent.yaml").write_text("TRACK:\n  LR: 0.3\n")
    child = tmp_path / "child.yaml"
    child.write_text("_BASE_: parent.yaml\nTRACK:\n  LRR: 0.4\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(child))
    assert "TRACK.LRR" in str(info.value) and "child.yaml" in str(info.value)


@pytest.mark.parametrize("rasnet_name, siamfc_name, model", [
    ("rasnet", "siamfc", "rasnet.yaml"),
    ("rasnet_real", "siamfc_real", "rasnet.yaml"),
    ("rasnet_mobilenetv2", "siamfc_mobilenetv2", "rasnet_mobilenetv2.yaml"),
])
def test_offline_recipes_differ_only_in_attentions_and_output(rasnet_name, siamfc_name, model):
    rasnet = load_config(os.path.join(EXPERIMENTS, "offline", rasnet_name + ".yaml"))
    siamfc = load_config(os.path.join(EXPERIMENTS, "offline", siamfc_name + ".yaml"))
    base = load_config(os.path.join(EXPERIMENTS, model))
    assert rasnet.TRACK == base.TRACK and rasnet.ADJUST == base.ADJUST
    assert rasnet.RASNET == base.RASNET
    assert rasnet.BACKBONE.TYPE == base.BACKBONE.TYPE
    assert not siamfc.RASNET.GENERAL_ATTENTION and not siamfc.RASNET.CHANNEL_ATTENTION
    assert not siamfc.RASNET.RESIDUAL_ATTENTION
    a, b = rasnet.TRAIN.clone(), siamfc.TRAIN.clone()
    a.SNAPSHOT_DIR = b.SNAPSHOT_DIR = ""
    # a stage 2 starts from its own network's stage 1
    assert a.PRETRAINED.replace("rasnet", "siamfc") == b.PRETRAINED
    a.PRETRAINED = b.PRETRAINED = ""
    assert a == b and rasnet.BACKBONE == siamfc.BACKBONE   # same data, schedule and budget


def test_real_data_recipes_hold_out_train_real_videos():
    for name in ("rasnet_real", "rasnet_mobilenetv2"):
        cfg = load_config(os.path.join(EXPERIMENTS, "offline", name + ".yaml"))
        # train-real's Dog1, Football1 and Jogging-2 are held out: 10% of its videos
        assert cfg.TRAIN.VAL_FRACTION == 0.1, name
        assert list(cfg.TRAIN.DATASETS.NAMES) == ["TRAIN_REAL", "SKIMAGE", "OPENCV_STILLS",
                                                  "OPENCV_VIDEOS"], name
