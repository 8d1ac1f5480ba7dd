"""Old home of the pytracking adapter, kept so that existing imports work.

It lives in `rasnet_plugin.integrations.pytracking` now. Files already in pytracking
checkouts (`pytracking/tracker/rasnet/__init__.py` importing `get_tracker_class`,
`pytracking/parameter/rasnet/default.py` importing `parameters`) import it from here.
"""
from ..integrations.pytracking import (RASNetParams, RASNetPyTracker, get_tracker_class,
                                       parameters)

__all__ = ["RASNetPyTracker", "RASNetParams", "parameters", "get_tracker_class"]
