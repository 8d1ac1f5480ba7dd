"""pytracking (visionml/pytracking) adapter for RASNet.

pytracking trackers take RGB images, are built from a params object, and expose
`initialize(image, info)` (info['init_bbox'] = [x, y, w, h]) and
`track(image, info=None) -> {'target_bbox': [x, y, w, h]}`. `RASNetPyTracker` wraps
`RASNetTracker` (which wants BGR) with that interface.

Confidence: pytracking's `Tracker._track_sequence` keeps, of each frame's output dict, the
keys 'target_bbox', 'time', 'segmentation' and 'object_presence_score' (saved as
`<seq>_object_presence_scores.txt`; it writes 1.0 for the init frame itself). `track`
returns RASNet's peak score under 'object_presence_score' (and 'best_score'); a frame whose
response is not finite (`failed`, the box kept) reports 0.0 there. Note that pytracking
writes boxes as integers (`np.array(...).astype(int)`), which costs a little success
(in one run, AUC 0.747 from pytracking's file against 0.772 from the same float boxes).
More in docs/integrations.md. (`rasnet_plugin.tracker.pytracking`, its old home,
re-exports this module: the files already in pytracking checkouts keep working.)

pytracking is not pip-installable and looks trackers up inside its own folder. Two ways to
plug RASNet into a pytracking checkout (with `rasnet_plugin` installed in the same Python):

1. A `pytracking.evaluation.Tracker` entry, no file in the checkout (e.g. in your run script):

       from pytracking.evaluation import Tracker
       from rasnet_plugin.integrations.pytracking import RASNetPyTracker, parameters

       class RASNetEval(Tracker):
           def __init__(self, parameter_name="default", run_id=None, display_name="RASNet"):
               super().__init__("rasnet", parameter_name, run_id, display_name)
               self.tracker_class = RASNetPyTracker   # pytracking found no folder "rasnet"

           def get_parameters(self):
               return parameters()   # or parameters(snapshot="...", device="cuda")

       trackers = [RASNetEval()]
       # then e.g. pytracking.evaluation.running.run_dataset(dataset, trackers)

2. Two one-line files in the checkout, after which `python run_tracker.py rasnet default ...`,
   `python run_vot.py rasnet default` and `trackerlist('rasnet', 'default')` work:

       pytracking/tracker/rasnet/__init__.py:
           from rasnet_plugin.integrations.pytracking import get_tracker_class  # noqa: F401
       pytracking/parameter/rasnet/default.py:
           from rasnet_plugin.integrations.pytracking import parameters  # noqa: F401
"""
import threading
import weakref

import numpy as np

__all__ = ["RASNetPyTracker", "RASNetParams", "parameters", "get_tracker_class"]

# Built trackers no adapter holds, by (config, snapshot, device). pytracking makes a new
# tracker object (and a new params object) for every sequence and times the first
# initialize() as frame 0: without this, every sequence would build the network again
# (model, weights, about 0.25 s) inside that timing. Each live adapter holds its own
# tracker (pytracking's parallel multi-object mode runs several at once); one goes back
# here when its adapter is collected.
_IDLE = {}
_IDLE_LOCK = threading.Lock()


def _give_back(key, tracker):
    with _IDLE_LOCK:
        _IDLE.setdefault(key, []).append(tracker)


class RASNetParams:
    """A minimal stand-in for pytracking's TrackerParams: plain attributes, get() / has()."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def get(self, name, *default):
        if len(default) > 1:
            raise ValueError("get() takes one default value at most")
        return getattr(self, name, *default)

    def has(self, name):
        return hasattr(self, name)

    def __repr__(self):
        return "RASNetParams(%s)" % ", ".join("%s=%r" % kv for kv in sorted(vars(self).items()))


def parameters(config=None, snapshot=None, device=None):
    """pytracking's `parameters()` hook: what `rasnet_plugin.build_tracker` takes.

    config: YAML path (default: build_tracker's, config.TRACKER_CONFIG); snapshot:
    checkpoint (default: the bundled weights that fit the config, else untrained with a
    warning); device: default cuda when available.
    """
    # vot_anno_conversion_type: how pytracking's run_vot.py turns VOT's polygon into the
    # init box (pytracking's own trackers use "preserve_area", as PySOT's reset protocol)
    return RASNetParams(config=config, snapshot=snapshot, device=device,
                        debug=0, visualization=False, vot_anno_conversion_type="preserve_area")


class RASNetPyTracker:
    """pytracking tracker class; the network is built at the first initialize() of the
    first sequence, and reused by the next sequences' adapters (see _IDLE)."""

    multiobj_mode = "parallel"

    def __init__(self, params=None):
        self.params = params if params is not None else parameters()
        self.visdom = None
        self.tracker = getattr(self.params, "tracker", None)  # a prebuilt RASNetTracker

    def predicts_segmentation_mask(self):
        return False

    def initialize_features(self):
        """pytracking's hook to load the network before the first (timed) frame: its VOT
        runners (run_vot.py, run_vot2020) call it unconditionally, its video and webcam
        runners when present. Builds the network here (once)."""
        self._build()

    def visdom_draw_tracking(self, image, box, segmentation=None):
        """Show the frame and box(es) in pytracking's Visdom window (it calls this for every
        frame when `--debug` > 0 and a Visdom server answers). `box`: one [x, y, w, h], a
        list of them, a dict of them (multi-object), or None."""
        if box is None:
            boxes = []
        elif isinstance(box, dict):
            boxes = list(box.values())
        elif len(box) == 4 and all(np.ndim(v) == 0 for v in box):
            boxes = [box]
        else:
            boxes = list(box)
        data = (image, *boxes) if segmentation is None else (image, *boxes, segmentation)
        self.visdom.register(data, "Tracking", 1, "Tracking")

    def _build(self):
        if self.tracker is None:
            p = self.params
            key = tuple(str(getattr(p, k, None)) for k in ("config", "snapshot", "device"))
            with _IDLE_LOCK:
                idle = _IDLE.get(key)
                tracker = idle.pop() if idle else None
            if tracker is None:
                from ..api import build_tracker
                tracker = build_tracker(getattr(p, "config", None), getattr(p, "snapshot", None),
                                        getattr(p, "device", None))
            self.tracker = tracker
            weakref.finalize(self, _give_back, key, tracker)
        return self.tracker

    @staticmethod
    def _bgr(image):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[2] >= 3:
            image = image[:, :, 2::-1]  # RGB(A) -> BGR; the alpha channel is dropped
        return image

    def initialize(self, image, info):
        box = [float(v) for v in info["init_bbox"]]
        self._build().init(self._bgr(image), box)
        return {"target_bbox": box}

    def track(self, image, info=None):
        out = self._build().track(self._bgr(image))
        failed = bool(out.get("failed", False))
        score = 0.0 if failed else float(out["best_score"])
        return {"target_bbox": out["bbox"], "object_presence_score": score,
                "best_score": out["best_score"], "failed": failed}


def get_tracker_class():
    """pytracking's `get_tracker_class()` hook."""
    return RASNetPyTracker
