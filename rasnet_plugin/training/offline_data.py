"""Training data that exist without internet, gathered into one folder.

* scikit-image's photographs are read in place by the trainer (ROOT "skimage");
* Debian's opencv-doc (`apt-get install opencv-doc`): its photographs (examples/ and the
  JPEG figures of the HTML manual) are copied to <output>/stills/, and its videos
  (VIDEO_NAMES) are decoded to <output>/videos/<name>/%05d.jpg, which the trainer reads by
  random access (seeking in a compressed video is slow).

Every step is idempotent: files already present are kept, each copy lands atomically
(rasnet_plugin.fileio), and a video folder counts as done only once its `.complete`
marker exists, so a rerun after a crash finishes the job.
Used by `rasnet_plugin.cli.prepare_offline_data` (tools/prepare_offline_data.py).
"""
import gzip
import hashlib
import os
import shutil
import tempfile

import cv2

from ..fileio import atomic_write, atomic_write_bytes, remove_stale_temps

__all__ = ["IMAGE_EXTS", "VIDEO_NAMES", "find_files", "still_name", "copy_stills",
           "decode_video", "gather_opencv_doc"]

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_NAMES = ("vtest.avi", "Megamind.avi", "tree.avi", "box.mp4.gz", "cup.mp4.gz")


def find_files(root, names=None, exts=None):
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if (names and f in names) or (exts and f.lower().endswith(exts)):
                yield os.path.join(d, f)


def still_name(path, root):
    """A flat, unique, stable file name for an image found under root."""
    rel = os.path.relpath(path, root)
    stem, ext = os.path.splitext(os.path.basename(rel))
    tag = hashlib.sha1(rel.encode()).hexdigest()[:8]
    return "%s_%s%s" % (stem, tag, ext.lower())


def _copy_from(path):
    def write(f):
        with open(path, "rb") as src:
            shutil.copyfileobj(src, f)
    return write


def copy_stills(doc_root, out_dir, min_side):
    """Copy the photographs of opencv-doc; returns (kept, skipped)."""
    os.makedirs(out_dir, exist_ok=True)
    remove_stale_temps(out_dir)  # what a killed earlier run left half-copied
    kept = skipped = 0
    html = os.path.join(doc_root, "opencv4", "html")
    for path in find_files(doc_root, exts=IMAGE_EXTS):
        # the HTML manual's PNGs are diagrams and plots; its JPEGs are photographs
        if path.startswith(html) and not path.lower().endswith((".jpg", ".jpeg")):
            continue
        dst = os.path.join(out_dir, still_name(path, doc_root))
        if os.path.exists(dst):
            kept += 1
            continue
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < min_side:
            skipped += 1
            continue
        atomic_write(dst, _copy_from(path))
        kept += 1
    return kept, skipped


def decode_video(path, out_dir):
    """Write every frame of a (possibly gzipped) video as JPEG; returns the frame count."""
    done = os.path.join(out_dir, ".complete")
    if os.path.exists(done):
        return len([f for f in os.listdir(out_dir) if f.endswith(".jpg")])
    os.makedirs(out_dir, exist_ok=True)
    tmp = None
    try:
        if path.endswith(".gz"):
            fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path[:-3])[1])
            with os.fdopen(fd, "wb") as f, gzip.open(path, "rb") as g:
                shutil.copyfileobj(g, f)
            path = tmp
        cap = cv2.VideoCapture(path)
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            cv2.imwrite(os.path.join(out_dir, "%05d.jpg" % n), frame,
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            n += 1
        cap.release()
    finally:
        if tmp:
            os.remove(tmp)
    if n < 2:
        raise RuntimeError("%s: fewer than 2 frames decoded" % path)
    atomic_write_bytes(done, b"")
    return n


def gather_opencv_doc(doc_root, output, min_side, say=print):
    """Copy the stills and decode the videos of opencv-doc at `doc_root` into `output`;
    `say` gets one line per step (counts, missing or undecodable videos)."""
    stills = os.path.join(output, "stills")
    kept, skipped = copy_stills(doc_root, stills, min_side)
    say("stills: %d images in %s (%d skipped: unreadable or smaller than %d px)"
        % (kept, stills, skipped, min_side))
    found = {os.path.basename(f): f for f in find_files(doc_root, names=VIDEO_NAMES)}
    for name in VIDEO_NAMES:
        if name not in found:
            say("warning: video %s not found under %s" % (name, doc_root))
            continue
        stem = name.split(".")[0]
        try:
            n = decode_video(found[name], os.path.join(output, "videos", stem))
        except (RuntimeError, OSError, cv2.error) as e:
            say("warning: %s skipped: %s" % (name, e))
            continue
        say("video %s: %d frames" % (stem, n))
