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
    """Target-specific spatial map: an hourglass 6 -> 4 -> 2 -> 1 -> 2 -> 4 -> 6
    on the template features, one output channel, no output activation."""

    def __init__(self, in_channels=256, width=64, out_std=1e-3):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, width, 3), nn.ReLU(inplace=True),   # 6 -> 4
            nn.Conv2d(width, width, 3), nn.ReLU(inplace=True),         # 4 -> 2
            nn.Conv2d(width, width, 2), nn.ReLU(inplace=True))         # 2 -> 1
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(width, width, 2), nn.ReLU(inplace=True),  # 1 -> 2
            nn.ConvTranspose2d(width, width, 3), nn.ReLU(inplace=True),  # 2 -> 4
            nn.ConvTranspose2d(width, 1, 3))                             # 4 -> 6
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        # start as a small correction to the general map, but not exactly zero,
        # so that every layer gets a gradient from the first step
        nn.init.normal_(self.decoder[-1].weight, std=out_std)

    def forward(self, zf):
        if zf.shape[-2:] != (6, 6):
            raise ValueError("ResidualAttention: expects 6x6 template features, got %dx%d"
                             % tuple(zf.shape[-2:]))
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
