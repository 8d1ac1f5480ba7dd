"""RASNet as a TraX tracker for the VOT toolkit:  python -m rasnet_plugin.vot

Declared in a workspace's trackers.ini (`python tools/vot_workspace.py` or
`rasnet-vot-workspace` writes one; see rasnet_plugin.vot.workspace):

    [RASNet]
    label = RASNet
    protocol = traxpython
    command = rasnet_plugin.vot
    paths = /path/to/this/checkout
    env_RASNET_CONFIG = /path/to/this/checkout/experiments/rasnet.yaml

Environment (all optional):
    RASNET_CONFIG    YAML config (absolute path) or a bundled config's name such as rasnet,
                     offline/rasnet or experiments/rasnet.yaml
                     (default: build_tracker()'s rasnet_mobilenetv2)
    RASNET_SNAPSHOT  checkpoint (default: the bundled weights, else untrained with a warning)
    RASNET_DEVICE    cpu, cuda, cuda:1, ... (default: cuda when available)
    RASNET_THREADS   torch CPU threads (default: torch's choice)

The network is built, and warmed up with one init and one frame on a synthetic image,
BEFORE the TraX handshake: the toolkit gives start-up no time limit but times every
request, so a sequence's first (timed) init costs what a re-initialisation costs. One
process serves any number of (re)initialisations: the toolkit's supervised (reset)
experiment re-initialises after every failure. Each reply carries the tracker's peak
score as the object's `confidence` property; a frame whose response is not finite (the
tracker keeps its previous box and flags it `failed`) is answered with that box and
confidence 0.

A tracker error (an exception in init or track, an unreadable image, an empty or
non-finite region) is reported to the toolkit as a TraX quit carrying the reason,
and the process exits with status 1 after printing the traceback on stderr; a quit
request ends it with status 0. stdout is the TraX channel: Python's own output
(print, warnings) is sent to stderr.
"""
import math
import os
import sys
import traceback

ENV_CONFIG = "RASNET_CONFIG"
ENV_SNAPSHOT = "RASNET_SNAPSHOT"
ENV_DEVICE = "RASNET_DEVICE"
ENV_THREADS = "RASNET_THREADS"


class TrackerError(RuntimeError):
    """A request the tracker cannot serve; the message goes to the toolkit."""


def _log(msg):
    sys.stderr.write("rasnet_plugin.vot: %s\n" % msg)
    sys.stderr.flush()


def _env_path(name):
    """The file named by environment variable `name`, or None when unset or empty.

    The toolkit starts trackers in a temporary working directory, so a relative path is
    refused with a hint rather than silently resolved against that directory."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not os.path.isabs(value) and not os.path.exists(value):
        raise TrackerError("%s=%s: not found (relative paths resolve against the tracker's "
                           "working directory %s, a temporary folder under the VOT toolkit; "
                           "use an absolute path)" % (name, value, os.getcwd()))
    if not os.path.isfile(value):
        raise TrackerError("%s=%s: no such file" % (name, value))
    return value


def _env_config():
    """RASNET_CONFIG as a file: an absolute path, a relative one that exists in the working
    directory (see _env_path), or else a bundled config's name in any of the forms
    config.resolve_config takes (``rasnet``, ``offline/rasnet``, ``experiments/rasnet.yaml``),
    the same from any working directory."""
    from ..config import ConfigError, bundled_configs, resolve_config

    value = os.environ.get(ENV_CONFIG, "").strip()
    if not value or os.path.isabs(value) or os.path.exists(value):
        return _env_path(ENV_CONFIG)
    try:
        return resolve_config(value)
    except ConfigError:
        if "/" in value or os.sep in value:
            return _env_path(ENV_CONFIG)        # a relative path: "use an absolute path"
        raise TrackerError("%s=%s: not a file nor a bundled config (bundled: %s; give a "
                           "file as an absolute path)" % (ENV_CONFIG, value,
                                                           ", ".join(bundled_configs()))) from None


def build_from_env():
    """The tracker configured by RASNET_CONFIG / RASNET_SNAPSHOT / RASNET_DEVICE / RASNET_THREADS."""
    import torch

    from ..api import build_tracker

    threads = os.environ.get(ENV_THREADS, "").strip()
    if threads:
        try:
            torch.set_num_threads(max(1, int(threads)))
        except ValueError:
            raise TrackerError("%s=%r is not an integer" % (ENV_THREADS, threads)) from None
    config = _env_config()
    snapshot = _env_path(ENV_SNAPSHOT)
    device = os.environ.get(ENV_DEVICE, "").strip() or None
    return build_tracker(config=config, snapshot=snapshot, device=device)


def warm_up(tracker):
    """One init and one frame on a synthetic image, before the TraX handshake.

    A fresh tracker's first init pays one-off costs (the BatchNorm-folded and, by default,
    int8-calibrated inference copy of the backbone, first-call allocations): seconds, where
    a re-initialisation takes a fraction of one. The toolkit times every request, starts a
    new process for each sequence and gives start-up no time limit, so that work belongs
    here, not in each sequence's timed first frame. The real init that follows replaces
    all the tracker's state (as any re-initialisation does). A failure here is logged and
    left for the first request, which reports it to the toolkit with its reason."""
    import numpy as np

    try:
        img = np.random.default_rng(0).integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
        tracker.init(img, [130.0, 90.0, 60.0, 60.0])
        tracker.track(img)
    except Exception as e:  # noqa: BLE001 -- the first request reports it
        _log("warm-up failed (the first request will report it): %s: %s"
             % (type(e).__name__, e))


def region_to_xywh(region):
    """[x, y, w, h] of a TraX rectangle (or the bounding box of a polygon); raises TrackerError
    for anything else and for empty or non-finite boxes."""
    import trax

    kind = getattr(region, "type", None)
    if kind == trax.Region.RECTANGLE:
        # TraX carries 4 decimals and the C library parses them into float32: round back to
        # the transmitted values, so the box equals the ground truth file's (bit for bit)
        box = [round(float(v), 4) for v in region.bounds()]
    elif kind == trax.Region.POLYGON:
        pts = [region.get(i) for i in range(region.size())]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    else:
        # TraX turns a region it cannot parse (e.g. NaN coordinates) into a special region
        raise TrackerError("invalid initialisation region: %s (expected a rectangle)" % (region,))
    if not all(math.isfinite(v) for v in box):
        raise TrackerError("invalid initialisation region %s: not finite" % (box,))
    if box[2] <= 0 or box[3] <= 0:
        raise TrackerError("invalid initialisation region %s: empty" % (box,))
    return box


def _image_path(request):
    import trax

    image = (request.image or {}).get(trax.ImageChannel.COLOR)
    if image is None:
        raise TrackerError("request has no color image")
    if image.type() != trax.Image.PATH:
        raise TrackerError("expected an image path, got a %s image" % image.type())
    return image.path()


def _read(path):
    from ..datasets import DatasetError, read_frame

    try:
        return read_frame(path)
    except DatasetError as e:
        raise TrackerError(str(e)) from None


def _reply(server, box, confidence):
    import trax

    if not all(math.isfinite(v) for v in box):
        raise TrackerError("tracker produced a non-finite box %s" % (box,))
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        confidence = 0.0
    if not math.isfinite(confidence):
        confidence = 0.0
    server.status([(trax.Rectangle.create(*box), {"confidence": "%.6f" % confidence})])


def serve(tracker, server):
    """Answer requests until the client quits (returns 0) or a request fails (returns 1)."""
    import trax

    frames = inits = failed = 0
    while True:
        try:
            request = server.wait()
        except trax.TraxException as e:  # a malformed message, or the client went away
            _log("protocol error: %s" % e)
            return 1
        if request.type == trax.TraxStatus.QUIT:
            _log("quit after %d initialisations and %d frames (%d with a non-finite "
                 "response, box kept)" % (inits, frames, failed))
            return 0
        try:
            if request.type == trax.TraxStatus.INITIALIZE:
                if not request.objects:
                    raise TrackerError("initialisation request without a region")
                box = region_to_xywh(request.objects[0][0])
                tracker.init(_read(_image_path(request)), box)
                inits += 1
                _reply(server, box, 1.0)
            elif request.type == trax.TraxStatus.FRAME:
                if inits == 0:
                    raise TrackerError("frame request before any initialisation")
                out = tracker.track(_read(_image_path(request)))
                frames += 1
                if out.get("failed"):
                    failed += 1
                confidence = 0.0 if out.get("failed") else out.get("best_score", 0.0)
                _reply(server, [float(v) for v in out["bbox"]], confidence)
            else:
                raise TrackerError("unexpected TraX request %r" % (request.type,))
        except Exception as e:  # noqa: BLE001 -- every failure is reported to the client
            if not isinstance(e, TrackerError):
                traceback.print_exc(file=sys.stderr)
            reason = str(e) if isinstance(e, TrackerError) else "%s: %s" % (type(e).__name__, e)
            reason = " ".join(reason.replace('"', "'").split())  # one line for the protocol
            _log("error: " + reason)
            try:
                server.quit(reason=reason[:1000])
            except Exception as q:  # noqa: BLE001 -- the client may be gone already
                _log("could not send quit: %s" % q)
            return 1


def main():
    # stdout is the TraX channel (the C library writes to fd 1): keep Python's output off it
    sys.stdout = sys.stderr
    try:
        import trax
    except ImportError:
        _log("the `trax` module is missing: pip install vot-trax==4.0.2 "
             "(or pip install -e \".[vot]\")")
        return 2
    try:
        tracker = build_from_env()  # before the handshake: start-up has no timeout
        warm_up(tracker)
    except Exception as e:  # noqa: BLE001
        if not isinstance(e, TrackerError):
            traceback.print_exc(file=sys.stderr)
        _log("cannot build the tracker: %s" % e)
        return 1
    server = trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], [trax.ImageChannel.COLOR],
                         tracker_name="RASNet", tracker_family="rasnet_plugin",
                         tracker_description="Residual Attentional Siamese Network (CVPR 2018)")
    return serve(tracker, server)


if __name__ == "__main__":
    sys.exit(main())
