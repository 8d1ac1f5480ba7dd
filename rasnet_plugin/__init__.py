"""RASNet (Residual Attentional Siamese Network, CVPR 2018) for PySOT, pytracking and VOT."""
__version__ = "0.1.0"

from . import ops  # noqa: F401  (loads the fused op, or warns once and falls back)
from .config import cfg, get_default_config, load_config  # noqa: F401
