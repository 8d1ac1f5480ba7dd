"""RASNet for the `got10k` toolkit (https://github.com/got-10k/toolkit, PyPI `got10k`).

    from got10k.experiments import ExperimentOTB
    from rasnet_plugin.integrations.got10k import RASNetGOT10kTracker

    tracker = RASNetGOT10kTracker()                       # build_tracker()'s defaults
    experiment = ExperimentOTB("data/OTB", version=2015)  # result_dir="results" by default
    experiment.run(tracker)
    experiment.report([tracker.name])

The toolkit drives a `got10k.trackers.Tracker`: `init(image, box)` on the first frame,
`update(image) -> box` on the others, both with PIL RGB images and [x, y, w, h] boxes
(`Tracker.track(img_files, box)` is the loop its experiments call). `RASNetGOT10kTracker`
converts each image to a BGR numpy array for `RASNetTracker` (PySOT's convention) and
returns its boxes unchanged, as a numpy array.

got10k is an optional dependency: `pip install rasnet_plugin[got10k]` (or
`pip install got10k==0.1.3`). Note that its experiments download a dataset they do not find
complete under `root_dir` (ExperimentOTB: every sequence of the chosen OTB version).
"""
import os

import numpy as np

try:
    from got10k.trackers import Tracker as _GOT10kTracker
    from PIL import Image
except ImportError as e:  # the toolkit itself, or one of its own imports (shapely, wget...)
    raise ImportError("rasnet_plugin.integrations.got10k needs the got10k toolkit: "
                      "pip install rasnet_plugin[got10k]  (or: pip install got10k==0.1.3); "
                      "import failed with: %s" % e) from e

__all__ = ["RASNetGOT10kTracker", "to_bgr"]


def to_bgr(image):
    """A PIL image, an image file path (ExperimentVOT(read_image=False) passes paths) or an
    RGB array, as the HxWx3 BGR array RASNetTracker takes."""
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as im:
            image = im.convert("RGB")
    if hasattr(image, "mode") and hasattr(image, "convert"):  # PIL
        if image.mode != "RGB":
            image = image.convert("RGB")
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[:, :, 2::-1]  # RGB(A) -> BGR
    return np.ascontiguousarray(arr)


class RASNetGOT10kTracker(_GOT10kTracker):
    """A `got10k.trackers.Tracker` running RASNet.

    config, snapshot, device: as `rasnet_plugin.build_tracker` takes them (default: its
    config.TRACKER_CONFIG and the bundled weights that fit it, cuda when available).
    name: the tracker's name in the toolkit's result folders (`<result_dir>/<dataset>/<name>/`).
    `tracker`: a ready RASNetTracker to use instead of building one.
    After each `update`, `last_output` holds RASNetTracker.track's dict (best_score, failed).
    """

    def __init__(self, config=None, snapshot=None, device=None, name="RASNet", tracker=None):
        # SiamFC-3s tracking has no randomness: the toolkit may run it once per sequence
        super().__init__(name=name, is_deterministic=True)
        if tracker is None:
            from ..api import build_tracker
            tracker = build_tracker(config, snapshot, device)
        self.tracker = tracker
        self.last_output = None

    def init(self, image, box):
        self.tracker.init(to_bgr(image), [float(v) for v in box])
        self.last_output = None

    def update(self, image):
        self.last_output = self.tracker.track(to_bgr(image))
        return np.asarray(self.last_output["bbox"], dtype=np.float64)
