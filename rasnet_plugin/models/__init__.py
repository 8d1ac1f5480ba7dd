"""RASNet model: the trunks (SiamFC's AlexNet, PySOT's stride-8 MobileNetV2), the neck
(cfg.ADJUST), the three attentions, and the network itself (`build_model(cfg)`)."""
from .attention import ChannelAttention, GeneralAttention, ResidualAttention
from .backbone import AlexNet
from .mobilenet import MobileNetV2
from .rasnet import BACKBONES, SPATIAL_SQUASHES, Neck, RASNet, build_model

__all__ = ["build_model", "RASNet", "AlexNet", "MobileNetV2", "Neck", "GeneralAttention",
           "ResidualAttention", "ChannelAttention", "BACKBONES", "SPATIAL_SQUASHES"]
