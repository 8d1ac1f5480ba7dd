"""load_pretrained_backbone (BACKBONE.PRETRAINED) makes the checks load_checkpoint makes:
the same unwrapping, named tensors only, no NaN/inf, BatchNorm step counters optional;
every refusal a CheckpointError naming the file."""
import pytest
import torch

from rasnet_plugin.config import get_default_config
from rasnet_plugin.models import AlexNet, build_model
from rasnet_plugin.models.model_load import (CheckpointError, load_checkpoint,
                                             load_pretrained_backbone)


def trunk_state(seed=3):
    torch.manual_seed(seed)
    net = AlexNet()
    for p in net.parameters():
        p.data.uniform_(-1, 1)
    return {k: v.clone() for k, v in net.state_dict().items()}


def assert_loaded(target, state):
    own = target.state_dict()
    for k, v in state.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(own[k], v), k


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "model", "module", "rasnet"])
def test_the_wrappers_load_checkpoint_takes_load_here_too(tmp_path, wrap):
    state = trunk_state()
    obj = {"plain": state,
           "state_dict": {"state_dict": state, "epoch": 3},
           "model": {"model": state},
           "module": {"model": {"module." + k: v for k, v in state.items()}},
           "rasnet": {"state_dict": {"backbone." + k: v for k, v in state.items()},
                      "cfg": "TRACK: {}"}}[wrap]
    path = tmp_path / "trunk.pth"
    torch.save(obj, path)
    target = AlexNet()
    assert load_pretrained_backbone(target, str(path)) == str(path)
    assert_loaded(target, state)


def test_batchnorm_step_counters_may_be_missing(tmp_path):
    state = {k: v for k, v in trunk_state().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    target = AlexNet()
    load_pretrained_backbone(target, str(tmp_path / "old.pth"))
    assert_loaded(target, state)


def test_nan_in_a_trunk_tensor_is_refused_naming_it(tmp_path):
    state = trunk_state()
    state["conv1.0.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "diverged.pth"
    torch.save(state, path)
    target = AlexNet()
    before = target.conv1[0].weight.clone()
    with pytest.raises(CheckpointError, match=r"diverged\.pth: tensor conv1\.0\.weight holds NaN"):
        load_pretrained_backbone(target, str(path))
    assert torch.equal(target.conv1[0].weight, before)          # nothing was copied
    state = trunk_state()
    state["conv5.0.bias"][0] = float("inf")
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match="conv5.0.bias holds NaN or inf"):
        load_pretrained_backbone(AlexNet(), str(path))


@pytest.mark.parametrize("case", ["int_keys", "tensor_and_int_keys", "non_tensor_value",
                                  "non_tensor_trunk_value", "list", "empty"])
def test_files_that_are_not_state_dicts_are_refused_naming_the_file(tmp_path, case):
    state = trunk_state()
    obj = {"int_keys": {i: v for i, v in enumerate(state.values())},
           "tensor_and_int_keys": {**state, 0: torch.zeros(1)},
           "non_tensor_value": {**state, "note": "hello"},
           "non_tensor_trunk_value": {**state, "conv1.0.weight": [1.0, 2.0]},
           "list": [torch.zeros(1)],
           "empty": {}}[case]
    path = tmp_path / ("%s.pth" % case)
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match=r"%s\.pth: not a trunk checkpoint" % case):
        load_pretrained_backbone(AlexNet(), str(path))
    # load_checkpoint refuses the same file the same way
    with pytest.raises(CheckpointError, match=r"%s\.pth: not a RASNet checkpoint" % case):
        load_checkpoint(build_model(get_default_config()), str(path))


def test_missing_and_mismatched_trunk_tensors_are_named(tmp_path):
    state = trunk_state()
    del state["conv3.1.running_var"]
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(CheckpointError, match=r"short\.pth: does not fit the AlexNet trunk; "
                                              r"missing 1 tensors, e\.g\. conv3\.1\.running_var"):
        load_pretrained_backbone(AlexNet(), str(tmp_path / "short.pth"))
    state = trunk_state()
    state["conv5.0.bias"] = torch.zeros(3)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match=r"shape\.pth: shape mismatch for the AlexNet "
                                              r"trunk: conv5\.0\.bias \(3,\) vs \(256,\)"):
        load_pretrained_backbone(AlexNet(), str(tmp_path / "shape.pth"))
