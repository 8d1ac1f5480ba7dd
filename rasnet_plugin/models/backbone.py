"""SiamFC's AlexNet feature extractor."""
import copy

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["AlexNet", "fold_batchnorm"]


def _conv_bn_relu(in_ch, out_ch, kernel, stride=1, groups=1, pool=False):
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, groups=groups),
              nn.BatchNorm2d(out_ch),
              nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(3, 2))
    return nn.Sequential(*layers)


class AlexNet(nn.Module):
    """Fully convolutional AlexNet of SiamFC (no padding, total stride 8).

    127x127 -> 6x6x256, 255x255 -> 22x22x256.  Input: BGR float in 0..255,
    not normalised (PySOT's convention; the BatchNorms absorb the scale).
    Stages are named conv1..conv5 so that cfg.BACKBONE.TRAIN_LAYERS can name them.
    """
    total_stride = 8
    out_channels = 256

    def __init__(self):
        super().__init__()
        self.conv1 = _conv_bn_relu(3, 96, 11, stride=2, pool=True)
        self.conv2 = _conv_bn_relu(96, 256, 5, groups=2, pool=True)
        self.conv3 = _conv_bn_relu(256, 384, 3)
        self.conv4 = _conv_bn_relu(384, 384, 3, groups=2)
        # the last conv is linear: its output is correlated, not classified
        self.conv5 = nn.Sequential(nn.Conv2d(384, 256, 3, groups=2))
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def feature_size(image_size):
        """Side of the feature map for a square input of side `image_size`."""
        s = (image_size - 11) // 2 + 1   # conv1
        s = (s - 3) // 2 + 1             # pool1
        s = s - 4                        # conv2
        s = (s - 3) // 2 + 1             # pool2
        return s - 6                     # conv3, conv4, conv5

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv2(x)
        x = self.conv3(x)
        x = self.conv4(x)
        return self.conv5(x)


def fold_batchnorm(module):
    """An eval-mode copy of `module` with every Conv2d -> BatchNorm2d pair of its
    Sequentials folded into one Conv2d (same function, one pass less over the
    activations: about 13% of the fp32 backbone time on CPU).  For inference
    only: the copy shares nothing with `module` and is never trained."""
    folded = copy.deepcopy(module).eval()
    channels_last = any(p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last)
                        and not p.is_contiguous() for p in module.parameters())
    for seq in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        layers = list(seq)
        out, i = [], 0
        while i < len(layers):
            if (i + 1 < len(layers) and isinstance(layers[i], nn.Conv2d)
                    and isinstance(layers[i + 1], nn.BatchNorm2d)):
                out.append(fuse_conv_bn_eval(layers[i], layers[i + 1]))
                i += 2
            else:
                out.append(layers[i])
                i += 1
        for name in list(seq._modules):
            del seq._modules[name]
        for k, layer in enumerate(out):
            seq.add_module(str(k), layer)
    if channels_last:
        folded = folded.to(memory_format=torch.channels_last)
    return folded
