"""MobileNetV2 trunk at output stride 8 (PySOT's SiamRPN++ MobileNetV2 geometry).

Layers, named as PySOT names them (`layer0` .. `layer5`; t: expansion, c: channels,
n: blocks, s: stride, d: dilation of the depthwise 3x3 convolutions):

    layer0  conv 3x3/2 32 + BN + ReLU6                 stride 2
    layer1  t1 c16  n1 s1 d1                           stride 2
    layer2  t6 c24  n2 s2 d1                           stride 4
    layer3  t6 c32  n3 s2 d1                           stride 8
    layer4  t6 c64  n4 s1 d2   (ImageNet net: s2)      stride 8, dilated
    layer5  t6 c96  n3 s1 d2                           stride 8, dilated -> 96 channels

i.e. torchvision's `mobilenet_v2().features[:14]` with the stride-16 stage made stride 1
and its depthwise convolutions (and the next stage's) dilated by 2, so the receptive
field grows as in the ImageNet net while the map keeps stride 8. Every convolution is
padded ("same"), so a side s gives ceil(s / 8): 127 -> 16x16, 255 -> 32x32, 191 -> 24x24
(96 channels each). Later stages (160/320 channels, PySOT's layer6/7) are not built: at
stride 8 they cost more than the rest of the trunk together.

Input: BGR float 0..255 (the tracker's crops); the ImageNet normalisation (RGB order,
mean/std) is the first operation of `forward`, so the network owns it.
Checkpoints in torchvision's key layout (`features.<i>.conv...`) load through
`load_pretrained_backbone` (models/model_load.py), which renames their keys to these
layers (`_from_torchvision`, by `TORCHVISION_BLOCKS`).
"""
import torch
import torch.nn as nn

__all__ = ["MobileNetV2", "TORCHVISION_BLOCKS"]

# (expansion, channels, blocks, stride, dilation) of layer1 .. layer5
STAGES = ((1, 16, 1, 1, 1), (6, 24, 2, 2, 1), (6, 32, 3, 2, 1), (6, 64, 4, 1, 2),
          (6, 96, 3, 1, 2))
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


def _conv_bn(in_ch, out_ch, kernel, stride=1, dilation=1, groups=1, act=True):
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, padding=dilation * (kernel // 2),
                        dilation=dilation, groups=groups, bias=False),
              nn.BatchNorm2d(out_ch)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when t = 1) -> depthwise 3x3 -> 1x1 linear projection, with an
    identity shortcut when shape is kept. Sub-module names follow torchvision's, so its
    checkpoints map key for key."""

    def __init__(self, in_ch, out_ch, stride, expansion, dilation):
        super().__init__()
        hidden = in_ch * expansion
        layers = [] if expansion == 1 else [_conv_bn(in_ch, hidden, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, dilation, groups=hidden),
                   nn.Conv2d(hidden, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch)]
        self.conv = nn.Sequential(*layers)
        self.use_shortcut = stride == 1 and in_ch == out_ch

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_shortcut else out


# torchvision `features` index -> (layer name, block index in it); features.0 is layer0
TORCHVISION_BLOCKS = {0: ("layer0", None)}
_i = 1
for _layer, (_t, _c, _n, _s, _d) in enumerate(STAGES, start=1):
    for _b in range(_n):
        TORCHVISION_BLOCKS[_i] = ("layer%d" % _layer, _b)
        _i += 1
del _i, _layer, _t, _c, _n, _s, _d, _b


class MobileNetV2(nn.Module):
    """The stride-8 MobileNetV2 trunk described in the module docstring."""
    total_stride = 8
    out_channels = STAGES[-1][1]
    # TRACK.QUANTIZE int8: not for this trunk. Measured on a Xeon (AVX-512 VNNI, AMX), 3x255
    # crops, 1 thread: 2036 ms int8 against 141 ms fp32 with the default engine (no fast
    # int8 kernel for dilated depthwise convolutions), 95 ms against 118 ms with oneDNN, and
    # per-tensor activations lose a third of the features (relative error 0.34)
    int8_unsupported = ("its dilated depthwise convolutions have no fast int8 kernel and "
                        "lose a third of the features in int8")

    def __init__(self):
        super().__init__()
        # BGR 0..255 -> RGB, ImageNet-normalised: x * scale + shift after the flip
        std = torch.tensor(IMAGENET_STD_RGB)
        self.register_buffer("scale", (1.0 / (255.0 * std)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", (-torch.tensor(IMAGENET_MEAN_RGB) / std).view(1, 3, 1, 1),
                             persistent=False)
        self.layer0 = _conv_bn(3, 32, 3, stride=2)
        in_ch = 32
        for k, (t, c, n, s, d) in enumerate(STAGES, start=1):
            blocks = [InvertedResidual(in_ch if b == 0 else c, c, s if b == 0 else 1, t, d)
                      for b in range(n)]
            self.add_module("layer%d" % k, nn.Sequential(*blocks))
            in_ch = c
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def feature_size(image_size):
        s = int(image_size)
        for _ in range(3):          # three stride-2 convolutions, "same" padded
            s = (s + 1) // 2
        return s

    def forward(self, x):
        x = x.flip(1) * self.scale + self.shift
        for k in range(len(STAGES) + 1):
            x = getattr(self, "layer%d" % k)(x)
        return x
