"""Showing a tracking run in an OpenCV window (`tools/test.py --vis`)."""
import os
import sys

import cv2
import numpy as np

__all__ = ["display_available", "show", "close"]


def display_available():
    """(True, "") if cv2 windows can open here, else (False, why)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY is not set)"
    try:
        cv2.namedWindow("rasnet-test-probe")
        cv2.destroyWindow("rasnet-test-probe")
    except cv2.error:
        return False, "this OpenCV build has no GUI support (headless)"
    return True, ""


def show(name, img, gt, pred, idx, lost=None):
    """Draw the ground truth (green), the prediction (yellow), the frame number and the
    failure count on a copy of `img` and show it in window `name`."""
    img = img.copy()
    if gt is not None and len(gt) == 8 and np.all(np.isfinite(gt)):
        cv2.polylines(img, [np.round(np.asarray(gt)).astype(np.int32).reshape(-1, 1, 2)], True,
                      (0, 255, 0), 2)
    elif gt is not None and np.all(np.isfinite(gt)):
        x, y, w, h = (int(round(v)) for v in gt)
        cv2.rectangle(img, (x, y), (x + w, y + h), (0, 255, 0), 2)
    if pred is not None:
        x, y, w, h = (int(round(v)) for v in pred)
        cv2.rectangle(img, (x, y), (x + w, y + h), (0, 255, 255), 2)
    cv2.putText(img, str(idx), (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 255, 255), 2)
    if lost is not None:
        cv2.putText(img, str(lost), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 255), 2)
    try:
        cv2.imshow(name, img)
        cv2.waitKey(1)
    except cv2.error:
        pass


def close(name):
    try:
        cv2.destroyWindow(name)
    except cv2.error:
        pass
