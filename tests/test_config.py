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
