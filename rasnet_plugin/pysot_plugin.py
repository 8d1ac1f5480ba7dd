"""Old home of the PySOT integration, kept so that existing imports and commands work.

It lives in `rasnet_plugin.integrations.pysot` now; this module re-exports it, and
`python -m rasnet_plugin.pysot_plugin SRC DST` still converts a checkpoint to PySOT keys.
"""
from .integrations.pysot import (ADDED_KEYS, HEAD_NAME, TRACKER_NAME, PySOTRASNetTracker,
                                 RASNetHead, convert_checkpoint_to_pysot, main, pysot_available,
                                 pysot_rasnet_settings, register_pysot)

__all__ = ["register_pysot", "RASNetHead", "PySOTRASNetTracker", "convert_checkpoint_to_pysot",
           "pysot_rasnet_settings", "pysot_available", "ADDED_KEYS", "HEAD_NAME", "TRACKER_NAME", "main"]

if __name__ == "__main__":
    import sys
    sys.exit(main())
