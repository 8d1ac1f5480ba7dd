"""RASNet model: SiamFC's AlexNet, the three attentions, and the network itself."""
from .attention import ChannelAttention, GeneralAttention, ResidualAttention
from .backbone import AlexNet
from .rasnet import BACKBONES, SPATIAL_SQUASHES, RASNet, build_model

__all__ = ["build_model", "RASNet", "AlexNet", "GeneralAttention", "ResidualAttention",
           "ChannelAttention", "BACKBONES", "SPATIAL_SQUASHES"]
