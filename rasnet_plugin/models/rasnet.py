"""RASNet: f(z, x) = adjust((spatial * channel * phi(z)) (*) phi(x))."""
import inspect

import torch
import torch.nn as nn

from .. import ops
from .attention import ChannelAttention, GeneralAttention, ResidualAttention
from .backbone import AlexNet, fold_batchnorm
from .mobilenet import MobileNetV2
from .quantize import calibration_batches, int8_unsupported, quantize_int8

__all__ = ["RASNet", "Neck", "build_model", "BACKBONES", "SPATIAL_SQUASHES"]

# cfg.BACKBONE.TYPE -> trunk class (PySOT's names)
BACKBONES = {"alexnet": AlexNet, "mobilenetv2": MobileNetV2}
SPATIAL_SQUASHES = ("none", "sigmoid")


def _op_dtype(t):
    # The correlation runs in float32 under autocast too, on every device: its sums reach
    # ~1000, which a half/bf16 result would round to steps of 4-8 before the score
    # (the CPU kernels take float32/float64 only).  Upcasting 6x6 and 22x22 maps is cheap
    # next to the backbone.
    if t.dtype not in (torch.float32, torch.float64):
        return torch.float32
    return t.dtype


class Neck(nn.Module):
    """cfg.ADJUST (PySOT's AdjustLayer, plus SiamFC-style template centring):
    an optional 1x1 convolution + BN on both branches; on the template only, a centre
    crop to `template_crop` cells and/or subtracting each channel's spatial mean.

    The crop keeps the template on the target (a padded trunk's 16x16 template map at
    stride 8 covers 127 px, the target about half of that); the zero mean stops the
    correlation from rewarding bright background (the sum of the search features).
    """

    def __init__(self, in_channels, out_channels=0, template_crop=0, zero_mean=False):
        super().__init__()
        self.conv = None
        if out_channels:
            self.conv = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                      nn.BatchNorm2d(out_channels))
        self.out_channels = out_channels or in_channels
        self.template_crop = int(template_crop)
        self.zero_mean = bool(zero_mean)

    def forward(self, x):
        return x if self.conv is None else self.conv(x)

    def template(self, zf):
        c = self.template_crop
        if c and c < zf.shape[-1]:
            top, left = (zf.shape[-2] - c) // 2, (zf.shape[-1] - c) // 2
            zf = zf[:, :, top:top + c, left:left + c]
        if self.zero_mean:
            zf = zf - zf.mean(dim=(2, 3), keepdim=True)
        return zf


class RASNet(nn.Module):
    """Siamese tracker with general, residual and channel attention on the template.

    An attention passed as None is switched off (the ablations; all three off is
    SiamFC with a learned adjust layer).
    """

    def __init__(self, backbone, general=None, residual=None, channel=None,
                 spatial_squash="none", adjust_gain=1e-3, neck=None):
        super().__init__()
        if spatial_squash not in SPATIAL_SQUASHES:
            raise ValueError("RASNET.SPATIAL_SQUASH must be one of %s, got %r"
                             % (SPATIAL_SQUASHES, spatial_squash))
        self.backbone = backbone
        self.neck = neck
        self._response_margin = 0   # set with each template (see _template_features)
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
        corr = ops.attention_xcorr(zf, xf, spatial, channel)
        m = self._response_margin
        if m:  # a cropped template: keep the positions the uncropped one would have
            corr = corr[:, :, m:corr.shape[-2] - m, m:corr.shape[-1] - m]
        return self._adjust(corr)

    def _template_features(self, zf):
        """Template branch after the trunk (and the neck): cropped/centred as cfg.ADJUST
        says; remembers the crop margin for the response."""
        if self.neck is None:
            self._response_margin = 0
            return zf
        out = self.neck.template(zf)
        self._response_margin = (zf.shape[-1] - out.shape[-1]) // 2
        return out

    def _adjust(self, corr):
        # a 17x17 map costs nothing: score it at the parameters' precision even
        # under autocast, where bf16 would round a score of ~1000 to steps of 8
        with torch.autocast(corr.device.type, enabled=False):
            return self.adjust(corr.to(self.adjust.weight.dtype))

    # ------------------------------------------------------------ training
    def embed(self, x):
        """Trunk, then neck (training path; tracking uses `features`)."""
        x = self.backbone(x)
        return x if self.neck is None else self.neck(x)

    def forward(self, z, x):
        """z (B,3,127,127), x (B,3,255,255) -> response (B,1,17,17)."""
        zf = self._template_features(self.embed(z))
        xf = self.embed(x)
        spatial, channel = self.attentions(zf)
        return self._respond(zf, xf, spatial, channel)

    # ------------------------------------------------------------ tracking
    def prepare_inference(self, quantize="none", sizes=(127, 255)):
        """Build an eval-only copy of the backbone with BatchNorm folded into the
        convolutions (quantize="int8": then quantised, calibrated on crops of the
        template/search `sizes`, see models/quantize.py); template() and track() use it
        until the model is trained, reloaded or released. The tracker calls this at every
        init, so it reflects the current weights: the copy is rebuilt when a parameter or
        buffer was replaced or changed in place since (edits through `.data` bypass
        PyTorch's version counters: call release_inference() after those).
        Not part of the state_dict."""
        if quantize not in ("none", "int8"):
            raise ValueError("quantize must be none or int8, got %r" % (quantize,))
        trunk = self.backbone if self.neck is None else nn.Sequential(self.backbone, self.neck)
        if quantize == "int8":
            why = int8_unsupported(self.backbone, next(trunk.parameters()).device)
            if why:
                raise ValueError("quantize int8: %s" % why)
        key = self._weights_key(trunk, (quantize, tuple(sizes)))
        cached = self.__dict__.get("_inference_key")
        if key is not None and cached is not None and self.__dict__.get("_inference_backbone") \
                is not None and cached[0] == key[0] and len(cached[1]) == len(key[1]) and \
                all(a is b and va == vb for (a, va), (b, vb) in zip(cached[1], key[1])):
            return
        folded = fold_batchnorm(trunk)
        if quantize == "int8":
            folded = quantize_int8(folded, calibration_batches(*sizes))
        self.__dict__["_inference_backbone"] = folded
        self.__dict__["_inference_key"] = key

    @staticmethod
    def _weights_key(trunk, mode):
        """(mode, [(tensor, version)]): each in-place change of a tensor (optimizer step,
        load_state_dict) bumps its _version; holding the tensors keeps their identity
        meaningful. None where versions are not tracked (inference tensors)."""
        try:
            return mode, [(t, t._version) for t in (*trunk.parameters(), *trunk.buffers())]
        except RuntimeError:
            return None

    def release_inference(self):
        self.__dict__["_inference_backbone"] = None
        self.__dict__["_inference_key"] = None

    def train(self, mode=True):
        self.release_inference()  # weights are about to change
        return super().train(mode)

    def load_state_dict(self, *args, **kwargs):
        self.release_inference()
        return super().load_state_dict(*args, **kwargs)

    def features(self, x):
        """Trunk + neck features (the BN-folded copy after prepare_inference)."""
        folded = self.__dict__.get("_inference_backbone")
        if folded is not None and not self.training:
            return folded(x)
        return self.embed(x)

    def template(self, z):
        """Compute the template features and attentions once per sequence.

        z: (1,3,127,127), or (B,...) to track B targets with B-crop searches.
        Cached as plain attributes: not in the state_dict, not moved by .to().
        """
        zf = self._template_features(self.features(z))
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
        template: track(x) == track_features(features(x)), i.e. xf is the trunk's output
        after the neck (BN-folded after prepare_inference), not `backbone(x)` alone."""
        if self.zf is None:
            raise RuntimeError("RASNet.track: no template; call model.template(z) first")
        zf, spatial, channel = self._template_as(_op_dtype(xf))
        return self._respond(zf, xf, spatial, channel)


# cfg.ADJUST keys that only the neck reads, with their "off" values (config.py's defaults)
_NECK_KEYS = ("OUT_CHANNELS", "TEMPLATE_CROP", "ZERO_MEAN")
_NECK_DEFAULTS = {"OUT_CHANNELS": 0, "TEMPLATE_CROP": 0, "ZERO_MEAN": False}


def _min_exemplar(backbone, side, limit=4096):
    """The smallest exemplar (image) side that gives `side` x `side` template features."""
    for size in range(1, limit + 1):
        if backbone.feature_size(size) >= side:
            return size
    return limit


def build_model(cfg=None):
    """RASNet from a config node (default: the global `rasnet_plugin.config.cfg`)."""
    if cfg is None:
        from ..config import cfg
    name = cfg.BACKBONE.TYPE
    if name not in BACKBONES:
        raise ValueError("BACKBONE.TYPE: unknown backbone %r (known: %s)"
                         % (name, ", ".join(sorted(BACKBONES))))
    kwargs = dict(cfg.BACKBONE.KWARGS)
    known = [k for k, p in inspect.signature(BACKBONES[name]).parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(k for k in kwargs if k not in known)
    if unknown:  # (the node takes any key: each trunk has its own arguments)
        raise ValueError("BACKBONE.KWARGS.%s: not an argument of the %s trunk (its arguments: "
                         "%s)" % (unknown[0], name, ", ".join(known) or "none"))
    backbone = BACKBONES[name](**kwargs)
    exemplar = cfg.TRACK.EXEMPLAR_SIZE
    full = backbone.feature_size(exemplar)
    if full < 1:
        raise ValueError("TRACK.EXEMPLAR_SIZE %d gives %dx%d template features with the %s "
                         "trunk; it needs TRACK.EXEMPLAR_SIZE >= %d (1x1 features)"
                         % (exemplar, full, full, name, _min_exemplar(backbone, 1)))
    a = cfg.ADJUST
    neck = None
    if not a.ADJUST:
        # a contradictory config, refused rather than built without the crop / zero mean
        # (no bundled config sets these without ADJUST.ADJUST)
        ignored = ["ADJUST.%s %r" % (k, a.get(k)) for k in _NECK_KEYS
                   if a.get(k, _NECK_DEFAULTS[k]) != _NECK_DEFAULTS[k]]
        if ignored:
            raise ValueError("%s: no effect while ADJUST.ADJUST is false (no neck is built); set "
                             "ADJUST.ADJUST: true to use the neck, or leave ADJUST.OUT_CHANNELS, "
                             "TEMPLATE_CROP and ZERO_MEAN at 0, 0, false" % ", ".join(ignored))
    else:
        if a.TEMPLATE_CROP < 0 or a.TEMPLATE_CROP > full or (full - a.TEMPLATE_CROP) % 2:
            raise ValueError("ADJUST.TEMPLATE_CROP must be 0 (none) or a size <= the %dx%d "
                             "template features with an even margin, got %d"
                             % (full, full, a.TEMPLATE_CROP))
        neck = Neck(backbone.out_channels, a.OUT_CHANNELS, a.TEMPLATE_CROP, a.ZERO_MEAN)
    channels = neck.out_channels if neck is not None else backbone.out_channels
    size = neck.template_crop if neck is not None and neck.template_crop else full

    r = cfg.RASNET
    if r.SPATIAL_SQUASH not in SPATIAL_SQUASHES:
        raise ValueError("RASNET.SPATIAL_SQUASH must be one of %s, got %r"
                         % (SPATIAL_SQUASHES, r.SPATIAL_SQUASH))
    if not 1 <= r.SE_REDUCTION <= channels:
        raise ValueError("RASNET.SE_REDUCTION must be in 1..%d, got %r" % (channels, r.SE_REDUCTION))
    if r.RESIDUAL_ATTENTION and size < 5:
        if size == full:  # (no template crop: the exemplar size alone decides)
            raise ValueError("TRACK.EXEMPLAR_SIZE %d gives %dx%d template features; the residual "
                             "attention's hourglass needs at least 5x5 (TRACK.EXEMPLAR_SIZE >= %d "
                             "with the %s trunk)" % (exemplar, size, size, _min_exemplar(backbone, 5),
                                                     name))
        raise ValueError("ADJUST.TEMPLATE_CROP %d leaves %dx%d template features (of the %dx%d that "
                         "TRACK.EXEMPLAR_SIZE %d gives); the residual attention's hourglass needs "
                         "at least 5x5" % (size, size, size, full, full, exemplar))
    return RASNet(
        backbone,
        general=GeneralAttention(size) if r.GENERAL_ATTENTION else None,
        residual=ResidualAttention(channels, size=size) if r.RESIDUAL_ATTENTION else None,
        channel=ChannelAttention(channels, r.SE_REDUCTION) if r.CHANNEL_ATTENTION else None,
        spatial_squash=r.SPATIAL_SQUASH,
        adjust_gain=r.ADJUST_GAIN_INIT,
        neck=neck)
