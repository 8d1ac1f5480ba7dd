"""RASNet (Residual Attentional Siamese Network, CVPR 2018) for PySOT, pytracking and VOT.

    import rasnet_plugin
    tracker = rasnet_plugin.build_tracker()        # PySOT contract: init(img, box) / track(img)

Importing the package registers RASNet with PySOT when `pysot` is importable (see
`rasnet_plugin.integrations.pysot`); without PySOT nothing else is touched. The PySOT,
pytracking and got10k adapters live in `rasnet_plugin.integrations`.
"""
__version__ = "0.1.0"
__all__ = ["build_tracker", "load_checkpoint", "register_pysot", "RASNetTracker", "cfg",
           "get_default_config", "load_config"]

import torch  # noqa: F401  (loads libc10 & co. before the compiled extension needs them)

from . import ops  # noqa: F401  (loads the fused op, or warns once and falls back)
from .config import cfg, get_default_config, load_config  # noqa: F401
from .api import build_tracker, load_checkpoint  # noqa: F401
from .integrations.pysot import register_pysot  # noqa: F401
from .tracker import RASNetTracker  # noqa: F401


def _pysot_available():
    import importlib.util
    try:
        return importlib.util.find_spec("pysot") is not None
    except (ImportError, ValueError):
        return False


if _pysot_available():
    try:
        register_pysot()
    except Exception as _e:  # a broken PySOT checkout must not break this package
        import warnings as _w
        _w.warn("rasnet_plugin: could not register with PySOT (%s: %s)" % (type(_e).__name__, _e),
                RuntimeWarning, stacklevel=2)
