"""Tracking: RASNetTracker (PySOT's contract), its crops, and the pytracking adapter
(`rasnet_plugin.tracker.pytracking`, imported on demand)."""
from .crop import channel_mean, crop_pyramid, crop_square
from .siamese import PRECISIONS, RASNetTracker, as_bgr3

__all__ = ["RASNetTracker", "PRECISIONS", "as_bgr3", "crop_square", "crop_pyramid",
           "channel_mean"]
