"""Tracking: RASNetTracker (PySOT's contract) and its crop geometry (`crop`: the one crop op
that training uses too). The pytracking adapter is `rasnet_plugin.integrations.pytracking`
(`rasnet_plugin.tracker.pytracking` still imports it, on demand)."""
from .crop import channel_mean, context_size, crop_pyramid, crop_square, search_size
from .siamese import PRECISIONS, RASNetTracker, as_bgr3

__all__ = ["RASNetTracker", "PRECISIONS", "as_bgr3", "crop_square", "crop_pyramid",
           "channel_mean", "context_size", "search_size"]
