"""RASNet's three attentions.  Each reads the template features only, so while
tracking they are constants of the sequence."""
import torch
import torch.nn as nn

__all__ = ["GeneralAttention", "ResidualAttention", "ChannelAttention"]


class GeneralAttention(nn.Module):
    """One learned spatial map shared by all targets, initialised to ones
    (= plain SiamFC).  A Parameter, so it is trained, saved and moved."""

    def __init__(self, size=6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, 1, size, size))

    def forward(self, zf):
        if zf.shape[-2:] != self.weight.shape[-2:]:
            raise ValueError("GeneralAttention: template features are %dx%d, the map is %dx%d"
                             % (*zf.shape[-2:], *self.weight.shape[-2:]))
        return self.weight.expand(zf.size(0), -1, -1, -1)


class ResidualAttention(nn.Module):
    """Target-specific spatial map: an hourglass on the s x s template features,
    s -> s-2 -> s-4 -> 1 -> s-4 -> s-2 -> s (3x3, 3x3, then a (s-4) x (s-4) convolution
    down to one cell, mirrored by transposed convolutions; for the paper's 6x6:
    6 -> 4 -> 2 -> 1 -> 2 -> 4 -> 6), one output channel, no output activation.
    Needs s >= 5."""

    def __init__(self, in_channels=256, width=64, out_std=1e-3, size=6):
        super().__init__()
        if size < 5:
            raise ValueError("ResidualAttention: template features must be at least 5x5, "
                             "got %dx%d" % (size, size))
        self.size = size
        k = size - 4
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, width, 3), nn.ReLU(inplace=True),   # s -> s-2
            nn.Conv2d(width, width, 3), nn.ReLU(inplace=True),         # s-2 -> s-4
            nn.Conv2d(width, width, k), nn.ReLU(inplace=True))         # s-4 -> 1
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(width, width, k), nn.ReLU(inplace=True),  # 1 -> s-4
            nn.ConvTranspose2d(width, width, 3), nn.ReLU(inplace=True),  # s-4 -> s-2
            nn.ConvTranspose2d(width, 1, 3))                             # s-2 -> s
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        # start as a small correction to the general map, but not exactly zero,
        # so that every layer gets a gradient from the first step
        nn.init.normal_(self.decoder[-1].weight, std=out_std)

    def forward(self, zf):
        if zf.shape[-2:] != (self.size, self.size):
            raise ValueError("ResidualAttention: expects %dx%d template features, got %dx%d"
                             % (self.size, self.size, *zf.shape[-2:]))
        return self.decoder(self.encoder(zf))


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation: one weight in (0, 1) per channel, (B, C)."""

    def __init__(self, channels=256, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, zf):
        return self.fc(self.pool(zf).flatten(1))
