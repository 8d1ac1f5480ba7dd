"""RASNet: f(z, x) = adjust((spatial * channel * phi(z)) (*) phi(x))."""
import torch
import torch.nn as nn

from .. import ops
from .attention import ChannelAttention, GeneralAttention, ResidualAttention
from .backbone import AlexNet, fold_batchnorm

__all__ = ["RASNet", "build_model", "BACKBONES", "SPATIAL_SQUASHES"]

BACKBONES = {"alexnet": AlexNet}
SPATIAL_SQUASHES = ("none", "sigmoid")


def _op_dtype(t):
    # the CPU op computes in float32/float64 only; upcasting 6x6 and 22x22
    # maps is cheap next to the backbone.  CUDA keeps half/bf16.
    if t.device.type == "cpu" and t.dtype not in (torch.float32, torch.float64):
        return torch.float32
    return t.dtype


class RASNet(nn.Module):
    """Siamese tracker with general, residual and channel attention on the template.

    An attention passed as None is switched off (the ablations; all three off is
    SiamFC with a learned adjust layer).
    """

    def __init__(self, backbone, general=None, residual=None, channel=None,
                 spatial_squash="none", adjust_gain=1e-3):
        super().__init__()
        if spatial_squash not in SPATIAL_SQUASHES:
            raise ValueError("RASNET.SPATIAL_SQUASH must be one of %s, got %r"
                             % (SPATIAL_SQUASHES, spatial_squash))
        self.backbone = backbone
        self.general_attention = general
        self.residual_attention = residual
        self.channel_attention = channel
        self.spatial_squash = spatial_squash
        # the raw correlation is large (a sum over 6x6x256 products): a learned
        # gain, started small, brings it to the range of the logistic loss
        self.adjust = nn.Conv2d(1, 1, 1)
        nn.init.constant_(self.adjust.weight, adjust_gain)
        nn.init.zeros_(self.adjust.bias)
        self.clear_template()
        self.release_inference()

    # ------------------------------------------------------------ attentions
    def attentions(self, zf):
        """(spatial (B,1,h,w), channel (B,C)) for template features zf (B,C,h,w)."""
        b, c, h, w = zf.shape
        spatial = None
        if self.general_attention is not None:
            spatial = self.general_attention(zf)
        if self.residual_attention is not None:
            res = self.residual_attention(zf)
            spatial = res if spatial is None else spatial + res
        if spatial is None:
            spatial = zf.new_ones(b, 1, h, w)  # no spatial attention: plain SiamFC
        elif self.spatial_squash == "sigmoid":
            spatial = torch.sigmoid(spatial)
        if self.channel_attention is not None:
            channel = self.channel_attention(zf)
        else:
            channel = zf.new_ones(b, c)
        # the general map alone is an expanded view: the op wants dense NCHW
        return spatial.contiguous(), channel.contiguous()

    def _respond(self, zf, xf, spatial, channel):
        # any memory layout is fine for the op; channels-last features (a
        # channels-last backbone) are its fast path, so keep what we are given
        dtype = _op_dtype(xf)
        zf, xf, spatial, channel = (t.to(dtype) for t in (zf, xf, spatial, channel))
        return self._adjust(ops.attention_xcorr(zf, xf, spatial, channel))

    def _adjust(self, corr):
        # a 17x17 map costs nothing: score it at the parameters' precision even
        # under autocast, where bf16 would round a score of ~1000 to steps of 8
        with torch.autocast(corr.device.type, enabled=False):
            return self.adjust(corr.to(self.adjust.weight.dtype))

    # ------------------------------------------------------------ training
    def forward(self, z, x):
        """z (B,3,127,127), x (B,3,255,255) -> response (B,1,17,17)."""
        zf = self.backbone(z)
        xf = self.backbone(x)
        spatial, channel = self.attentions(zf)
        return self._respond(zf, xf, spatial, channel)

    # ------------------------------------------------------------ tracking
    def prepare_inference(self):
        """Build an eval-only copy of the backbone with BatchNorm folded into the
        convolutions; template() and track() use it until the model is trained,
        reloaded or released.  The tracker calls this at every init, so it
        always reflects the current weights.  Not part of the state_dict."""
        self.__dict__["_inference_backbone"] = fold_batchnorm(self.backbone)

    def release_inference(self):
        self.__dict__["_inference_backbone"] = None

    def train(self, mode=True):
        self.release_inference()  # weights are about to change
        return super().train(mode)

    def load_state_dict(self, *args, **kwargs):
        self.release_inference()
        return super().load_state_dict(*args, **kwargs)

    def features(self, x):
        """Backbone features (the BN-folded copy after prepare_inference)."""
        folded = self.__dict__.get("_inference_backbone")
        if folded is not None and not self.training:
            return folded(x)
        return self.backbone(x)

    def template(self, z):
        """Compute the template features and attentions once per sequence.

        z: (1,3,127,127), or (B,...) to track B targets with B-crop searches.
        Cached as plain attributes: not in the state_dict, not moved by .to().
        """
        zf = self.features(z)
        spatial, channel = self.attentions(zf)
        self.zf, self.spatial, self.channel = zf, spatial, channel
        self._cast = {}

    def clear_template(self):
        self.zf = self.spatial = self.channel = None
        self._cast = {}

    def _template_as(self, dtype):
        # a search batch under autocast may differ in dtype from the template:
        # cast the template once per dtype, not once per frame
        cached = (self.zf, self.spatial, self.channel)
        if all(t.dtype == dtype for t in cached):
            return cached
        if dtype not in self._cast:
            self._cast[dtype] = tuple(t.to(dtype) for t in cached)
        return self._cast[dtype]

    def track(self, x):
        """x (S,3,255,255), e.g. the scale pyramid -> response (S,1,17,17).

        One backbone call for all S crops; the template (batch 1) is broadcast
        to every crop, or paired crop by crop when template() got S targets.
        """
        if self.zf is None:
            raise RuntimeError("RASNet.track: no template; call model.template(z) first")
        return self.track_features(self.features(x))

    def track_features(self, xf):
        """The response for search features xf (S,C,H,W) against the cached
        template: track(x) == track_features(backbone(x))."""
        if self.zf is None:
            raise RuntimeError("RASNet.track: no template; call model.template(z) first")
        zf, spatial, channel = self._template_as(_op_dtype(xf))
        return self._respond(zf, xf, spatial, channel)


def build_model(cfg=None):
    """RASNet from a config node (default: the global `rasnet_plugin.config.cfg`)."""
    if cfg is None:
        from ..config import cfg
    name = cfg.BACKBONE.TYPE
    if name not in BACKBONES:
        raise ValueError("BACKBONE.TYPE: unknown backbone %r (known: %s)"
                         % (name, ", ".join(sorted(BACKBONES))))
    backbone = BACKBONES[name](**dict(cfg.BACKBONE.KWARGS))
    channels = backbone.out_channels
    size = backbone.feature_size(cfg.TRACK.EXEMPLAR_SIZE)

    r = cfg.RASNET
    if r.SPATIAL_SQUASH not in SPATIAL_SQUASHES:
        raise ValueError("RASNET.SPATIAL_SQUASH must be one of %s, got %r"
                         % (SPATIAL_SQUASHES, r.SPATIAL_SQUASH))
    if not 1 <= r.SE_REDUCTION <= channels:
        raise ValueError("RASNET.SE_REDUCTION must be in 1..%d, got %r" % (channels, r.SE_REDUCTION))
    if r.RESIDUAL_ATTENTION and size != 6:
        raise ValueError("TRACK.EXEMPLAR_SIZE %d gives %dx%d template features; the residual "
                         "attention's hourglass needs 6x6 (EXEMPLAR_SIZE 127)"
                         % (cfg.TRACK.EXEMPLAR_SIZE, size, size))
    return RASNet(
        backbone,
        general=GeneralAttention(size) if r.GENERAL_ATTENTION else None,
        residual=ResidualAttention(channels) if r.RESIDUAL_ATTENTION else None,
        channel=ChannelAttention(channels, r.SE_REDUCTION) if r.CHANNEL_ATTENTION else None,
        spatial_squash=r.SPATIAL_SQUASH,
        adjust_gain=r.ADJUST_GAIN_INIT)
